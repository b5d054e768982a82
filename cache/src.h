/* src.h — byte sources: the one interface through which anafs reads data.
 *
 * A source is opened from a URL (a local path now; root:// and the disk
 * cache slot in behind the same calls later).  The reader never touches a
 * file descriptor itself, so a new transport changes nothing above here.
 *
 * Thread safety: a struct src may be used from several threads at once;
 * src_pread() and src_readv() carry their own offsets. */
#ifndef ANAFS_SRC_H
#define ANAFS_SRC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SRC_WARN_UNUSED __attribute__((warn_unused_result))

struct src;

/* One range of a vectored read: len bytes at off into buf (borrowed). */
struct src_iov {
	uint64_t off;
	size_t len;
	void *buf;
};

/* What a transport implements.  Each call returns >= 0 or -errno. */
struct src_ops {
	const char *scheme; /* "file", "root", ... */
	ssize_t (*pread)(struct src *s, void *buf, size_t len, uint64_t off);
	/* May be NULL: src_readv() then issues one pread per range. */
	int (*readv)(struct src *s, const struct src_iov *iov, size_t n);
	/* May be NULL: the source holds no bytes in memory. */
	const void *(*view)(struct src *s, uint64_t off, size_t len);
	void (*close)(struct src *s);
};

/* Open url: a plain path or file://path now.  On success *out is new:
 * release it with src_close().  Returns 0 or a negative code: -errno
 * (-ENOENT, -EACCES, -EPROTONOSUPPORT for a scheme that is not built in),
 * or ANA_ENOTREG for anything but a regular file (a FIFO, device, socket
 * or directory), refused without blocking and without reading it. */
int src_open(const char *url, struct src **out) SRC_WARN_UNUSED;

/* Close s and free it.  NULL is allowed. */
void src_close(struct src *s);

/* Size of the source in bytes, fixed at open. */
uint64_t src_size(const struct src *s);

/* The URL s was opened with (borrowed, valid until src_close()). */
const char *src_url(const struct src *s);

/* Read len bytes at off into buf (borrowed).  Returns the bytes read,
 * short only at the end of the source, or -errno. */
ssize_t src_pread(struct src *s, void *buf, size_t len, uint64_t off) SRC_WARN_UNUSED;

/* The len bytes at off when the source keeps them in memory (a mapped
 * local file, a memory source), valid until src_close(); NULL otherwise
 * or when the range runs past the end: then use src_pread(). */
const void *src_view(struct src *s, uint64_t off, size_t len);

/* Read every range of iov (n ranges) completely.  Returns 0, -EIO when a
 * range runs past the end of the source, or another -errno. */
int src_readv(struct src *s, const struct src_iov *iov, size_t n) SRC_WARN_UNUSED;

/* For transports: allocate the common part of a source with priv_size
 * extra bytes for the transport's own state, reachable by src_priv(). */
struct src *src_alloc(const struct src_ops *ops, const char *url, uint64_t size,
		      size_t priv_size);
void *src_priv(struct src *s);

/* Transports built in. */
int src_local_open(const char *path, const char *url, struct src **out);
/* A source over len bytes at data (borrowed: they must outlive the
 * source), for tests and fuzzers. */
int src_mem_open(const void *data, size_t len, const char *name, struct src **out);

#endif
