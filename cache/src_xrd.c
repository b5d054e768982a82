/* src_xrd.c — root:// sources through the XRootD client (xrd.h): the
 * retries, deadlines and reopening on top of its single calls.
 *
 * Every call (open, stat, list, one src_pread() or src_readv()) has a
 * deadline of ANAFS_XRD_TIMEOUT seconds (default 120) from its start.  A
 * transient failure (server unreachable, connection lost, timeout, server
 * busy) is retried after 0.2 s, then 0.4, 0.8, ... at most 5 s apart until
 * the deadline; a permanent one (not found, not authorised, a folder)
 * fails at once.  After a failure that may have cost the file's handle,
 * the file is opened again (one thread at a time: the others wait for it
 * and use the new handle, counted by a generation) and must have the size
 * and modification time it had at open, or the call returns ANA_ECHANGED,
 * as does every later one: never bytes of another file.
 *
 * Handles are reference counted, so that a thread still reading through
 * the old one when it is replaced keeps it alive until it returns.
 *
 * A source made with src_xrd_open_known() has no handle until its first
 * read: that read opens the file as a reopen does, checked against the
 * identity it was given (a disk cache in front that holds every block
 * read never contacts the server at all). */
#include "src.h"
#include "src_int.h"
#include "xrd.h"

#include "ana_err.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XS_DEFAULT_TIMEOUT 120.0
#define XS_BACKOFF_FIRST 0.2
#define XS_BACKOFF_MAX 5.0
#define XS_CLOSE_TIMEOUT 5 /* seconds a close may wait for the server */

/* ---- deadlines and backoff ---- */

struct retry {
	double deadline; /* CLOCK_MONOTONIC seconds */
	double backoff;
	bool stopped;    /* the thread was asked to stop (src_stop_when()) */
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ANAFS_XRD_TIMEOUT, in seconds: the deadline of one call. */
static double total_timeout(void)
{
	const char *e = getenv("ANAFS_XRD_TIMEOUT");
	char *end;
	double t = e && *e ? strtod(e, &end) : 0;
	return e && *e && !*end && t > 0 ? t : XS_DEFAULT_TIMEOUT;
}

static void retry_init(struct retry *r)
{
	r->deadline = now_s() + total_timeout();
	r->backoff = XS_BACKOFF_FIRST;
	r->stopped = false;
}

/* The code to return for the last failure rc: -ECANCELED when the thread
 * was asked to stop. */
static int last_code(const struct retry *r, int rc)
{
	return r->stopped ? -ECANCELED : rc;
}

/* The timeout to give one client call: what is left of the deadline,
 * rounded up, at least 1 s. */
static unsigned retry_left(const struct retry *r)
{
	double left = r->deadline - now_s();
	return left < 1 ? 1 : (unsigned)(left + 0.999);
}

/* After a failure rc: whether to try again; if so, sleeps the backoff
 * first (at most until the deadline, for a last try there).  Not when rc
 * is permanent, the deadline has passed or the thread is asked to stop
 * (r->stopped; looked at every 0.1 s of the backoff). */
static bool retry_again(struct retry *r, int rc)
{
	double left = r->deadline - now_s();
	if (!xrd_transient(rc) || left < 0.05 || (r->stopped = src_stopping()))
		return false;
	double end = now_s() + (r->backoff < left ? r->backoff : left);
	for (double wait; (wait = end - now_s()) > 0;) {
		if ((r->stopped = src_stopping()))
			return false;
		wait = wait < 0.1 ? wait : 0.1;
		struct timespec t = {0, (long)(wait * 1e9)};
		nanosleep(&t, NULL);
	}
	r->backoff = r->backoff * 2 > XS_BACKOFF_MAX ? XS_BACKOFF_MAX : r->backoff * 2;
	return true;
}

/* The code a caller sees for the last failure rc: what src.h promises
 * (-ENOENT, -EACCES, -EISDIR, -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -ENXIO,
 * ANA_ECHANGED...), -EIO for the client's other transient states. */
static int public_code(int rc)
{
	return rc == -ECONNRESET || rc == -EBUSY || rc == -EAGAIN || rc == XRD_ESTALE ? -EIO : rc;
}

/* ---- the source ---- */

struct handle {
	struct xrd_file *f;
	int refs; /* under xsrc.mu: the source's own, and one per call using it */
};

struct xsrc {
	pthread_mutex_t mu;        /* cur, gen, refs */
	pthread_mutex_t reopen_mu; /* one reopen at a time */
	struct handle *cur; /* NULL until the first read of a lazy source */
	unsigned gen; /* bumped at each reopen */
	uint64_t size;
	int64_t mtime_s;
	bool planned; /* the identity came from a listing or stat, not an open */
	atomic_int changed; /* the file on the server is another one now */
};

static struct handle *acquire(struct xsrc *x, unsigned *gen)
{
	pthread_mutex_lock(&x->mu);
	struct handle *h = x->cur;
	if (h)
		h->refs++;
	*gen = x->gen;
	pthread_mutex_unlock(&x->mu);
	return h;
}

static void release(struct xsrc *x, struct handle *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&x->mu);
	int last = --h->refs == 0;
	pthread_mutex_unlock(&x->mu);
	if (last) {
		xrd_close(h->f, 1); /* a replaced handle: its connection is gone */
		free(h);
	}
}

/* Whether the failure rc may have left the handle unusable: then open the
 * file again before the next try. */
static bool handle_lost(int rc)
{
	return rc == XRD_ESTALE || rc == -ECONNRESET || rc == -ECONNREFUSED ||
	       rc == -EHOSTUNREACH || rc == -ETIMEDOUT;
}

/* Open url once and stat what was opened. */
static int open_once(const char *url, unsigned t, struct xrd_file **out, struct xrd_info *info,
		     char *msg, size_t cap)
{
	struct xrd_file *f;
	int rc = xrd_open(url, t, &f, msg, cap);
	if (rc)
		return rc;
	if ((rc = xrd_fstat(f, t, info, msg, cap))) {
		xrd_close(f, 1);
		return rc;
	}
	*out = f;
	return 0;
}

/* Open the file of s again, unless another thread did since generation
 * gen; the new handle must be the same file (size, mtime).  0, a failure
 * to retry, ANA_ECHANGED, or another code; what failed in msg. */
static int reopen(struct src *s, unsigned gen, const struct retry *r, char *msg, size_t cap)
{
	struct xsrc *x = src_priv(s);
	int rc = 0;
	pthread_mutex_lock(&x->reopen_mu);
	pthread_mutex_lock(&x->mu);
	bool done = x->gen != gen;
	pthread_mutex_unlock(&x->mu);
	if (done || atomic_load(&x->changed))
		goto out;
	struct xrd_file *f;
	struct xrd_info info;
	if ((rc = open_once(src_url(s), retry_left(r), &f, &info, msg, cap)))
		goto out;
	/* ANAFS_XRD_IDENTITY=size: the sizes alone (behind a caching proxy
	 * such as XCache, which answers an open, and a stat once it holds the
	 * file, with the time of its own copy). */
	const char *id = getenv("ANAFS_XRD_IDENTITY");
	if (id && !strcmp(id, "size"))
		info.mtime_s = x->mtime_s;
	if (info.size != x->size || info.mtime_s != x->mtime_s) {
		snprintf(msg, cap, "the file changed on the server since it was %s "
			 "(size %llu, mtime %lld s then; %llu, %lld s now)",
			 x->planned ? "listed" : "opened", (unsigned long long)x->size,
			 (long long)x->mtime_s,
			 (unsigned long long)info.size, (long long)info.mtime_s);
		xrd_close(f, 1);
		atomic_store(&x->changed, 1);
		rc = ANA_ECHANGED;
		goto out;
	}
	struct handle *h = malloc(sizeof(*h));
	if (!h) {
		xrd_close(f, 1);
		snprintf(msg, cap, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	*h = (struct handle){.f = f, .refs = 1};
	pthread_mutex_lock(&x->mu);
	struct handle *old = x->cur;
	x->cur = h;
	x->gen++;
	pthread_mutex_unlock(&x->mu);
	release(x, old);
out:
	pthread_mutex_unlock(&x->reopen_mu);
	return atomic_load(&x->changed) ? ANA_ECHANGED : rc;
}

/* One read operation on a handle, for call(). */
typedef ssize_t (*xop)(struct xrd_file *f, void *arg, unsigned t, char *msg, size_t cap);

/* Run op on the source's handle, retrying and reopening under r; sets
 * the source's error ("URL: what: reason") when it fails for good. */
static ssize_t call(struct src *s, struct retry *r, const char *what, xop op, void *arg)
{
	struct xsrc *x = src_priv(s);
	char msg[400] = "";
	bool lost = false;
	unsigned gen = 0; /* of the handle the last try used */
	ssize_t rc;
	for (;;) {
		rc = atomic_load(&x->changed) ? ANA_ECHANGED : 0;
		/* After a lost handle, gen stays the failed try's: reopen()
		 * skips the open when another thread has made a new one since. */
		struct handle *h = rc || lost ? NULL : acquire(x, &gen);
		if (!rc && (lost || !h)) {
			release(x, h);
			h = NULL;
			if ((rc = reopen(s, gen, r, msg, sizeof(msg))) == 0) {
				lost = false;
				h = acquire(x, &gen);
			}
		}
		if (!rc && h)
			rc = op(h->f, arg, retry_left(r), msg, sizeof(msg));
		release(x, h);
		if (rc >= 0)
			return rc;
		if (rc == ANA_ECHANGED || !retry_again(r, (int)rc))
			break;
		lost = lost || handle_lost((int)rc);
	}
	if (r->stopped) {
		src_set_error(s, "%s: %s: stopped while waiting for the server (%s)", src_url(s),
			      what, msg);
		return -ECANCELED;
	}
	src_set_error(s, "%s: %s: %s", src_url(s), what, msg);
	return public_code((int)rc);
}

struct read_arg {
	void *buf;
	uint32_t len;
	uint64_t off;
};

static ssize_t op_read(struct xrd_file *f, void *arg, unsigned t, char *msg, size_t cap)
{
	struct read_arg *a = arg;
	return xrd_read(f, a->buf, a->len, a->off, t, msg, cap);
}

static ssize_t xs_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	struct retry r;
	retry_init(&r);
	size_t done = 0;
	while (done < len) {
		size_t n = len - done < XRD_MAX_READ ? len - done : XRD_MAX_READ;
		struct read_arg a = {(char *)buf + done, (uint32_t)n, off + done};
		ssize_t got = call(s, &r, "read", op_read, &a);
		if (got < 0)
			return got;
		if (got == 0)
			break; /* the end of the file: src_pread() tells the file shrank */
		done += (size_t)got;
	}
	return (ssize_t)done;
}

struct readv_arg {
	const struct xrd_chunk *c;
	size_t n;
};

static ssize_t op_readv(struct xrd_file *f, void *arg, unsigned t, char *msg, size_t cap)
{
	struct readv_arg *a = arg;
	return xrd_readv(f, a->c, a->n, t, msg, cap);
}

/* Whether [off, off + len) overlaps one of the n chunks of c.  Chunks that
 * overlap must go in different vector reads: xrootd 5.5.3 answers some
 * vector reads of overlapping chunks with a response XrdCl rejects
 * ("[FATAL] Invalid response"; seen in tests/src_xrd_check.py). */
static bool overlaps(const struct xrd_chunk *c, size_t n, uint64_t off, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (off < c[i].off + c[i].len && c[i].off < off + len)
			return true;
	return false;
}

/* The ranges cut into chunks of at most XRD_MAX_CHUNK_LEN, sent in vector
 * reads of at most XRD_MAX_CHUNKS, none of them overlapping another of
 * its read. */
static int xs_readv(struct src *s, const struct src_iov *iov, size_t n)
{
	struct retry r;
	retry_init(&r);
	struct xrd_chunk *c = malloc(XRD_MAX_CHUNKS * sizeof(*c));
	if (!c)
		return -ENOMEM;
	size_t nc = 0;
	ssize_t rc = 0;
	for (size_t i = 0; i < n && rc >= 0; i++) {
		for (size_t done = 0; done < iov[i].len && rc >= 0;) {
			size_t len = iov[i].len - done;
			if (len > XRD_MAX_CHUNK_LEN)
				len = XRD_MAX_CHUNK_LEN;
			uint64_t off = iov[i].off + done;
			if (nc == XRD_MAX_CHUNKS || overlaps(c, nc, off, len)) {
				rc = call(s, &r, "vector read", op_readv, &(struct readv_arg){c, nc});
				nc = 0;
				if (rc < 0)
					break;
			}
			c[nc++] = (struct xrd_chunk){off, (uint32_t)len, (char *)iov[i].buf + done};
			done += len;
		}
	}
	if (rc >= 0 && nc)
		rc = call(s, &r, "vector read", op_readv, &(struct readv_arg){c, nc});
	free(c);
	return rc < 0 ? (int)rc : 0;
}

static void xs_close(struct src *s)
{
	struct xsrc *x = src_priv(s);
	if (x->cur)
		xrd_close(x->cur->f, XS_CLOSE_TIMEOUT);
	free(x->cur);
	pthread_mutex_destroy(&x->mu);
	pthread_mutex_destroy(&x->reopen_mu);
}

static const struct src_ops xrd_ops = {
	.scheme = "root",
	.pread = xs_pread,
	.readv = xs_readv,
	.view = NULL,
	.check = NULL,
	.close = xs_close,
};

/* ---- what src_int.h offers ---- */

/* Fail with msg "URL: what: reason" and the public code of rc. */
static int say_failed(int rc, const char *url, const char *what, const char *why, char *msg,
		      size_t cap)
{
	snprintf(msg, cap, "%s: %s: %s", url, what, why);
	return public_code(rc);
}

/* A source of url with that identity and no handle yet (NULL: out of
 * memory, msg says so). */
static struct src *xsrc_new(const char *url, uint64_t size, int64_t mtime_s, bool planned,
			    char *msg, size_t cap)
{
	struct src *s = src_alloc(&xrd_ops, url, size, sizeof(struct xsrc));
	if (!s) {
		snprintf(msg, cap, "%s: open: out of memory", url);
		return NULL;
	}
	struct xsrc *x = src_priv(s);
	pthread_mutex_init(&x->mu, NULL);
	pthread_mutex_init(&x->reopen_mu, NULL);
	x->size = size;
	x->mtime_s = mtime_s;
	x->planned = planned;
	src_set_mtime_ns(s, mtime_s * 1000000000);
	return s;
}

int src_xrd_open(const char *url, struct src **out, char *msg, size_t cap)
{
	struct retry r;
	retry_init(&r);
	char why[400];
	struct xrd_file *f;
	struct xrd_info info;
	int rc;
	while ((rc = open_once(url, retry_left(&r), &f, &info, why, sizeof(why))))
		if (!retry_again(&r, rc))
			return say_failed(last_code(&r, rc), url, "open", why, msg, cap);
	if (!info.regular) {
		xrd_close(f, XS_CLOSE_TIMEOUT);
		snprintf(msg, cap, "%s: open: %s", url,
			 info.is_dir ? "is a folder, not a file" : "not a regular file");
		return info.is_dir ? -EISDIR : ANA_ENOTREG;
	}
	struct handle *h = malloc(sizeof(*h));
	struct src *s = h ? xsrc_new(url, info.size, info.mtime_s, false, msg, cap) : NULL;
	if (!s) {
		xrd_close(f, XS_CLOSE_TIMEOUT);
		free(h);
		snprintf(msg, cap, "%s: open: out of memory", url);
		return -ENOMEM;
	}
	*h = (struct handle){.f = f, .refs = 1};
	((struct xsrc *)src_priv(s))->cur = h;
	*out = s;
	return 0;
}

int src_xrd_open_known(const char *url, uint64_t size, int64_t mtime_ns, struct src **out,
		       char *msg, size_t cap)
{
	struct src *s = xsrc_new(url, size, mtime_ns / 1000000000, true, msg, cap);
	if (!s)
		return -ENOMEM;
	*out = s;
	return 0;
}

int src_xrd_stat(const char *url, struct src_info *info, char *msg, size_t cap)
{
	struct retry r;
	retry_init(&r);
	char why[400];
	struct xrd_info xi;
	int rc;
	while ((rc = xrd_stat(url, retry_left(&r), &xi, why, sizeof(why))))
		if (!retry_again(&r, rc))
			return say_failed(last_code(&r, rc), url, "stat", why, msg, cap);
	info->size = xi.size;
	info->mtime_ns = xi.mtime_s * 1000000000;
	info->regular = xi.regular;
	return 0;
}

struct list_ctx {
	int (*each)(void *ctx, const char *name, const struct src_info *info);
	void *ctx;
	int rc; /* what each() returned, kept apart from the client's codes */
};

static int list_one(void *arg, const char *name, const struct xrd_info *xi)
{
	struct list_ctx *l = arg;
	struct src_info info = {xi->size, xi->mtime_s * 1000000000, xi->regular};
	l->rc = l->each(l->ctx, name, &info);
	return l->rc ? 1 : 0;
}

int src_xrd_list(const char *dir_url,
		 int (*each)(void *ctx, const char *name, const struct src_info *info), void *ctx,
		 char *msg, size_t cap)
{
	struct retry r;
	retry_init(&r);
	char why[400];
	struct list_ctx l = {each, ctx, 0};
	int rc;
	/* The client hands over the whole listing or nothing, so each() has
	 * not been called when a try fails. */
	while ((rc = xrd_dirlist(dir_url, retry_left(&r), list_one, &l, why, sizeof(why))) &&
	       !l.rc)
		if (!retry_again(&r, rc))
			return say_failed(last_code(&r, rc), dir_url, "list", why, msg, cap);
	return l.rc;
}
