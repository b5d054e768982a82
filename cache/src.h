/* src.h — byte sources: the one interface through which anafs reads data.
 *
 * A source is opened from a URL (a local path now; root:// and the disk
 * cache slot in behind the same calls later).  The reader never touches a
 * file descriptor itself, so a new transport changes nothing above here.
 *
 * Thread safety: a struct src may be used from several threads at once;
 * src_pread() and src_readv() carry their own offsets.  src_close() must
 * wait until no other thread uses the source.
 *
 * Files that change while they are read.  A source's size is the one
 * fstat(2) gave at open and does not move.  When the file then shrinks
 * (someone truncates or rewrites it), reading it never brings the process
 * down; instead:
 * - src_pread() and src_readv() of bytes the file no longer holds return
 *   ANA_ECHANGED (util/ana_err.h);
 * - bytes read through a view (src_view()) that the file no longer holds
 *   read as zeros, and src_check() returns ANA_ECHANGED afterwards: a caller
 *   that used a view calls src_check() once it is done with the bytes and
 *   fails if it is not 0;
 * - from then on the source stays failed: every src_pread(), src_readv()
 *   and src_check() returns the error and src_view() returns NULL (a
 *   mapped page that faulted although the file kept its size, an I/O
 *   error, fails the source the same way with -EIO).
 * A file rewritten in place without shrinking is not detected here (the
 * planner's fingerprint is what notices that).
 *
 * Mapped files and SIGBUS.  Local files are mapped, so that baskets are
 * decoded in place.  To survive truncation, the first mapping installs a
 * process-wide SIGBUS handler (cache/src_guard.c) that turns a fault inside
 * one of our mappings into zeros and the source's error, and hands every
 * other SIGBUS to the handler installed before it.  What this asks of the
 * rest of the process: do not block SIGBUS in a thread that reads sources
 * (a synchronous SIGBUS that is blocked kills the process), and a handler
 * installed later must chain to the one it replaces.  At most
 * SRC_MAX_MAPPED (4096) files are mapped at once; the others, and every
 * file when ANAFS_NO_MMAP=1 is in the environment or the handler cannot be
 * installed (ASan with handle_sigbus=2), are read with pread(2). */
#ifndef ANAFS_SRC_H
#define ANAFS_SRC_H

#include <stdbool.h>
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

/* A range of a source, for prefetching. */
struct src_range {
	uint64_t off;
	uint64_t len;
};

/* What a source is, without reading it: for planning and for the cache. */
struct src_info {
	uint64_t size;
	int64_t mtime_ns; /* modification time; 0 when the transport has none */
	bool regular;     /* a plain file (not a folder, device, FIFO...) */
};

/* What the disk cache did for a source (all zero for a source without
 * one): counted since it was opened. */
struct src_stats {
	uint64_t hits, misses;        /* blocks read from the cache / fetched for a read */
	uint64_t bytes_hit;           /* bytes read from cached blocks */
	uint64_t bytes_fetched;       /* bytes fetched from the remote for reads */
	uint64_t bytes_prefetched;    /* bytes fetched ahead of the reads (src_prefetch()) */
	uint64_t evictions;           /* blocks this source's fills evicted */
	uint64_t corrupt;             /* blocks found corrupt or cut short, dropped, fetched again */
	uint64_t waited;              /* reads that waited for another filler of their block */
	uint64_t bytes_warmed;        /* bytes fetched by src_warm() */
};

/* What a transport implements.  Each call returns >= 0 or a negative code. */
struct src_ops {
	const char *scheme; /* "file", "root", ... */
	ssize_t (*pread)(struct src *s, void *buf, size_t len, uint64_t off);
	/* May be NULL: src_readv() then issues one pread per range. */
	int (*readv)(struct src *s, const struct src_iov *iov, size_t n);
	/* May be NULL: the source holds no bytes in memory. */
	const void *(*view)(struct src *s, uint64_t off, size_t len);
	/* Whether a view may have to read its bytes first (the disk cache maps
	 * and checks a block file): then src_view_free() is false. */
	bool view_reads;
	/* May be NULL: views never go bad.  0, or the code src_check() gives. */
	int (*check)(struct src *s);
	void (*close)(struct src *s);
	/* May be NULL: a no-op.  Start fetching ranges in the background and
	 * return at once (the disk cache in front of a remote source). */
	void (*prefetch)(struct src *s, const struct src_range *r, size_t n);
	/* May be NULL: -ENOTSUP.  Fetch ranges into the cache now, on the
	 * calling thread; *bytes: what was fetched. */
	int (*warm)(struct src *s, const struct src_range *r, size_t n, uint64_t *bytes);
	/* May be NULL: all zero. */
	void (*stats)(struct src *s, struct src_stats *st);
};

/* Open url: a plain path or file://path now.  On success *out is new:
 * release it with src_close().  Returns 0 or a negative code: -errno
 * (-ENOENT, -EACCES, -EPROTONOSUPPORT for a scheme that is not built in),
 * or ANA_ENOTREG for anything but a regular file (a FIFO, device, socket
 * or directory), refused without blocking and without reading it. */
int src_open(const char *url, struct src **out) SRC_WARN_UNUSED;

/* src_open() with a message (cap bytes) on failure naming the URL and the
 * reason, the server's own words for a remote one.  root:// and xroot://
 * URLs are read through the XRootD client (src_xrd.c), behind the
 * process's disk cache (src_cache_default()) unless it is off. */
int src_open_msg(const char *url, struct src **out, char *msg, size_t cap) SRC_WARN_UNUSED;

/* src_open_msg() of a file whose identity a fresh answer of its server
 * gave (a listing or a stat: size, modification time).  A remote source
 * sends nothing until a read the disk cache cannot serve; that read opens
 * the file and fails with ANA_ECHANGED (and every later one) when the file
 * no longer has that size and time.  So a job whose blocks are all in the
 * cache does not touch the network.  A local path is opened at once, as
 * src_open_msg() does (the caller checks its identity). */
int src_open_known(const char *url, uint64_t size, int64_t mtime_ns, struct src **out, char *msg,
		   size_t cap) SRC_WARN_UNUSED;

/* Whether url names a remote file (root://, xroot://): read through the
 * XRootD client and the disk cache. */
bool src_url_remote(const char *url);

/* What url is (size, modification time, a plain file or not) without
 * opening it.  0, or a negative code with msg as src_open_msg(). */
int src_stat(const char *url, struct src_info *info, char *msg, size_t cap) SRC_WARN_UNUSED;

/* Expand pattern, a URL whose last component may hold the wildcards * ?
 * and [...] (fnmatch(3)), by listing its folder: each() is called for
 * every plain file that matches, in byte order of the names, with its URL
 * and what src_stat() would say; a non-zero return stops the listing and
 * is returned.  0 (also when nothing matched: then each() was never
 * called), or a negative code with msg (-ENOENT: no such folder). */
int src_glob(const char *pattern,
	     int (*each)(void *ctx, const char *url, const struct src_info *info), void *ctx,
	     char *msg, size_t cap) SRC_WARN_UNUSED;

/* Close s and free it.  NULL is allowed. */
void src_close(struct src *s);

/* Size of the source in bytes, fixed at open. */
uint64_t src_size(const struct src *s);

/* The URL s was opened with (borrowed, valid until src_close()). */
const char *src_url(const struct src *s);

/* The modification time of the source at open, in ns since the epoch (0
 * when unknown).  With its size and URL, the identity the disk cache keys
 * its blocks by. */
int64_t src_mtime_ns(const struct src *s);
void src_set_mtime_ns(struct src *s, int64_t mtime_ns); /* for transports, at open */

/* Ask for ranges (n) to be fetched ahead of the reads that will need
 * them; returns at once.  A hint: a no-op for local files. */
void src_prefetch(struct src *s, const struct src_range *r, size_t n);

/* Fetch ranges (n) into the disk cache before any read wants them, and
 * return when they are there: the blocks of a task that has not started,
 * for whatever worker of the node will run it (its reads come through
 * another source, later).  Blocks already cached, or being fetched by
 * another filler, are not fetched again; *bytes is what was, counted as
 * bytes_warmed, and, like prefetched blocks, waste only if evicted before
 * a read used them.  0, -ENOTSUP (no disk cache in front of s), or the
 * error of the fetch (src_error() says it). */
int src_warm(struct src *s, const struct src_range *r, size_t n, uint64_t *bytes);

/* Count what the disk cache does for the reads of the calling thread into
 * t (zeroed here) until src_tally(NULL): a task's own figures, whatever
 * other threads read from the same sources meanwhile.  t keeps hits,
 * misses, bytes_hit, bytes_fetched, corrupt and waited, and as
 * bytes_prefetched the bytes of blocks its source prefetched that these
 * reads used; the other fields stay zero.  Not for sources without a
 * disk cache (nothing is counted). */
void src_tally(struct src_stats *t);

/* Make the calling thread's reads of remote files give up with
 * -ECANCELED once stopped(ctx) returns true: checked between a call's
 * retries, during their backoff, and while waiting for another thread's
 * fill of the same block (a request the server is answering is not cut
 * short).  NULL stops checking.  A task's thread sets its stop flag here,
 * so that a cancel or a pause does not wait out ANAFS_XRD_TIMEOUT
 * against a server that is down. */
void src_stop_when(bool (*stopped)(void *ctx), void *ctx);

/* What the disk cache did for s so far (all zero without one). */
void src_stats(struct src *s, struct src_stats *st);

/* The last failure of s in words (cap bytes): its URL and the reason, the
 * server's for a remote source; "" when nothing failed.  Transports set
 * it with src_set_error() when a call fails. */
void src_error(struct src *s, char *buf, size_t cap);
void src_set_error(struct src *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Read len bytes at off into buf (borrowed).  Returns the bytes read,
 * short only at the end of the source (its size at open), ANA_ECHANGED
 * when the file is now shorter, or -errno. */
ssize_t src_pread(struct src *s, void *buf, size_t len, uint64_t off) SRC_WARN_UNUSED;

/* The len bytes at off when the source keeps them in memory (a mapped
 * local file, a memory source, blocks of the disk cache), valid until
 * src_close(); NULL otherwise,
 * when the range runs past the end or when the source has failed: then
 * use src_pread().  Bytes of a view are trusted only after src_check(). */
const void *src_view(struct src *s, uint64_t off, size_t len);

/* Whether src_view() costs nothing but the pointer (a mapped local file,
 * a memory source), so that a caller with another place to take decoded
 * bytes from (the column cache) may look at the view first.  False for
 * the disk cache, whose views map and check block files. */
bool src_view_free(const struct src *s);

/* Whether what was read from s so far, views included, is the file's:
 * 0, ANA_ECHANGED when the file has shrunk since open (bytes of a view
 * past its new end read as zeros), or -EIO when a mapped page could not
 * be read although the file kept its size.  Cheap enough to call after
 * every batch of reads (an atomic load, and one fstat(2) for a mapped
 * file, which catches the zeros of the page holding the new end, where no
 * fault happens). */
int src_check(struct src *s) SRC_WARN_UNUSED;

/* Read every range of iov (n ranges) completely.  Returns 0, -EIO when a
 * range runs past the end of the source, ANA_ECHANGED as src_pread(), or
 * another -errno. */
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
