/* ana_err.h — error codes.  Every fallible call returns >= 0 on success
 * and a negative code on failure: -errno where an errno says it, and the
 * project codes below -4096 for what no errno says.  ana_strerror() gives
 * the text of either. */
#ifndef ANAFS_ANA_ERR_H
#define ANAFS_ANA_ERR_H

enum ana_err {
	ANA_ECORRUPT = -4097,     /* bytes that contradict their format (ROOT data, a saved result) */
	ANA_EUNSUPPORTED = -4098, /* valid ROOT that anafs does not decode */
	ANA_ETOOBIG = -4099,      /* a size over one of anafs's caps */
	ANA_ECHANGED = -4100,     /* an input file changed since the job was planned, or
				   * shrank while it was read */
	ANA_EDAMAGED = -4101,     /* the job store's database is damaged */
	ANA_ENOTREG = -4102,      /* an input is not a regular file: a FIFO, device,
				   * socket or directory */
	ANA_ELOST = -4103,        /* a task's worker went silent past its lease or away */
	ANA_EGIVENBACK = -4104,   /* a worker handed a task back unrun (it is ending) */
};

/* The text of code (negative errno or ANA_E*), static storage. */
const char *ana_strerror(int code);

#endif
