/* xrd.h — a thin C face over the XRootD client library (XrdCl), for
 * src_xrd.c: one synchronous call each, no retries, no C++ type in sight.
 * Retries, backoff, deadlines and reopening live in src_xrd.c.
 *
 * Every call returns 0 (or bytes read) or a negative errno, and on failure
 * writes the client's own words for it into msg (cap bytes), e.g.
 * "[ERROR] Server responded with an error: [3011] No such file or
 * directory".  timeout_s bounds the call (at least 1 s; XrdCl's request
 * timeout).  xrd_transient() tells the codes worth retrying.
 *
 * Thread safety: every call may run in several threads at once, also on
 * one struct xrd_file (XrdCl's synchronous calls are thread-safe);
 * xrd_close() must wait until no other thread uses the file.
 *
 * The client's logging stays quiet (level NoMsg) unless XRD_LOGLEVEL is
 * set, and its own read recovery (which would reopen a file by name after
 * a lost connection, without checking it is the same file) is turned off
 * unless XRD_READRECOVERY is set: src_xrd.c reopens and checks itself.
 * Credentials come from the client's usual environment (X509_USER_PROXY,
 * BEARER_TOKEN_FILE, ...), untouched. */
#ifndef ANAFS_XRD_H
#define ANAFS_XRD_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The server's limits on one vector read (XProtocol.hh: XrdProto::maxRvecsz
 * chunks, each at most the server's buffer less one request item,
 * 2097136 bytes); xrd.cc checks them against the headers. */
#define XRD_MAX_CHUNKS 1024
#define XRD_MAX_CHUNK_LEN 2097136u

/* The largest single xrd_read(); src_xrd.c splits longer reads. */
#define XRD_MAX_READ (8u << 20)

/* A code for "this file handle is no longer usable" (the connection it
 * was opened on is gone): close it, open the file again. */
#define XRD_ESTALE (-ESTALE)

struct xrd_file;

/* What a stat says.  mtime_s has seconds resolution (the protocol's). */
struct xrd_info {
	uint64_t size;
	int64_t mtime_s;
	bool is_dir;
	bool regular; /* neither a folder nor "other" */
};

/* One range of xrd_readv(): len (<= XRD_MAX_CHUNK_LEN) bytes at off into buf. */
struct xrd_chunk {
	uint64_t off;
	uint32_t len;
	void *buf;
};

/* Whether rc is a failure worth retrying: the server unreachable, the
 * connection lost, a timeout, the server busy or asking to wait, a stale
 * handle (XRD_ESTALE). */
bool xrd_transient(int rc);

/* Open url (root://host[:port]//path) for reading.  *out is new: release
 * with xrd_close(). */
int xrd_open(const char *url, unsigned timeout_s, struct xrd_file **out, char *msg, size_t cap);

/* Stat of the open file f: what the server answered to the open (no
 * round trip of its own). */
int xrd_fstat(struct xrd_file *f, unsigned timeout_s, struct xrd_info *info, char *msg,
	      size_t cap);

/* Stat of url without opening it. */
int xrd_stat(const char *url, unsigned timeout_s, struct xrd_info *info, char *msg, size_t cap);

/* Read at most len (<= XRD_MAX_READ) bytes at off into buf: the bytes read
 * (fewer at the end of the file), or a negative errno. */
ssize_t xrd_read(struct xrd_file *f, void *buf, uint32_t len, uint64_t off, unsigned timeout_s,
		 char *msg, size_t cap);

/* Read n (<= XRD_MAX_CHUNKS) chunks in one vector read: 0 when every chunk
 * came back whole, -EIO when one came back short (past the end), or a
 * negative errno. */
int xrd_readv(struct xrd_file *f, const struct xrd_chunk *c, size_t n, unsigned timeout_s,
	      char *msg, size_t cap);

/* List the folder at url with stat information: each() for every entry,
 * in the server's order, with its name; a non-zero return stops the
 * listing and is returned. */
int xrd_dirlist(const char *url, unsigned timeout_s,
		int (*each)(void *ctx, const char *name, const struct xrd_info *info), void *ctx,
		char *msg, size_t cap);

/* Close f and free it: the close is sent and not waited for (f is freed
 * when the server answers, or after timeout_s).  NULL is allowed. */
void xrd_close(struct xrd_file *f, unsigned timeout_s);

#ifdef __cplusplus
}
#endif

#endif
