/* launch.h — how the worker-process backend gets workers: launchers.
 *
 * A launcher starts workers (`anafs worker --connect URL`) somewhere and
 * ends them; the backend tells it, about once a second, how many it wants
 * (tick) and it submits or withdraws to match: local processes restarted
 * when they die (at most restart_burst a minute), Slurm pilots through
 * sbatch/squeue/scancel, HTCondor pilots through condor_submit/condor_q/
 * condor_rm.  A pilot's worker says which pilot it is in its HELLO
 * (`pilot`), so the backend can match connections to pilots.  Releasing
 * an idle worker that is connected is the backend's (it sends BYE and the
 * worker exits, which ends its pilot); a launcher withdraws only pilots
 * that have not started.
 *
 * Thread safety: a launcher's calls come from the backend's one thread. */
#ifndef ANAFS_LAUNCH_H
#define ANAFS_LAUNCH_H

#include "dist.h"
#include "strbuf.h"

#include <stdbool.h>
#include <stdint.h>

struct launch_env {
	const char *anafs;            /* the anafs binary workers run */
	const char *url;              /* what workers dial */
	const char *statedir;         /* the state folder (pilot scripts, their output) */
	const char *secret_path;      /* STATE/secret */
	const uint8_t *secret;        /* its WIRE_SECRET bytes, for pilots' scripts */
	const struct dist_conf *conf;
	void (*log)(void *ctx, const char *line); /* the daemon's log */
	void *ctx;
};

struct launcher;

struct launch_ops {
	const char *name;             /* "local", "slurm", "htcondor" */
	/* *out is new: stop().  0 or a negative errno with msg (cap bytes). */
	int (*start)(const struct launch_env *env, struct launcher **out, char *msg, size_t cap);
	/* Make the workers started and not ended (queued or running) about
	 * want: start more, or withdraw pilots that have not started; reap the
	 * dead and (local) restart them within the burst limit. */
	void (*tick)(struct launcher *l, int want);
	/* Workers started and not ended: queued (not yet running) and running. */
	void (*count)(struct launcher *l, int *queued, int *running);
	/* End every worker it started (SIGTERM then SIGKILL after a grace;
	 * scancel; condor_rm) and free l. */
	void (*stop)(struct launcher *l);
	/* Whether a worker whose HELLO said pilot is one this launcher
	 * started (a worker of an earlier daemon is not: it is told BYE once
	 * it has given its results back). */
	bool (*owns)(struct launcher *l, const char *pilot);
	/* A line per pilot or process: its id and state (may write nothing). */
	void (*describe)(struct launcher *l, struct strbuf *out);
};

extern const struct launch_ops launch_local;
extern const struct launch_ops launch_slurm;
extern const struct launch_ops launch_htcondor;

/* The launcher named by conf->backend, or NULL. */
const struct launch_ops *launch_find(const char *name);

#endif
