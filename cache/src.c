/* src.c — dispatch of byte-source calls to the transport of each source,
 * and the failed state a source enters when its file changes under it. */
#include "src.h"

#include "src_int.h"

#include "ana_err.h"

#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct src {
	const struct src_ops *ops;
	char *url;
	uint64_t size;
	int64_t mtime_ns;
	atomic_int failed;  /* 0, or the code every later call returns */
	pthread_mutex_t err_mu;
	char err[512];      /* the last failure in words, under err_mu */
	max_align_t priv[]; /* the transport's state */
};

struct src *src_alloc(const struct src_ops *ops, const char *url, uint64_t size,
		      size_t priv_size)
{
	struct src *s = calloc(1, sizeof(*s) + priv_size);
	if (!s)
		return NULL;
	s->url = strdup(url);
	if (!s->url) {
		free(s);
		return NULL;
	}
	s->ops = ops;
	s->size = size;
	pthread_mutex_init(&s->err_mu, NULL);
	return s;
}

void *src_priv(struct src *s)
{
	return s->priv;
}

bool src_is_xrd(const char *url)
{
	return strncmp(url, "root://", 7) == 0 || strncmp(url, "xroot://", 8) == 0;
}

bool src_url_remote(const char *url)
{
	return src_is_xrd(url);
}

int src_open_msg(const char *url, struct src **out, char *msg, size_t cap)
{
	int rc;
	if (!url || !*url) {
		snprintf(msg, cap, "an empty file name");
		return -EINVAL;
	}
	if (src_is_xrd(url)) {
		struct src *inner;
		if ((rc = src_xrd_open(url, &inner, msg, cap)))
			return rc;
		struct dcache *c = src_cache_default();
		if (!c) {
			*out = inner;
			return 0;
		}
		return dcache_wrap(c, inner, out, msg, cap);
	}
	const char *path = strncmp(url, "file://", 7) == 0 ? url + 7 : url;
	if (path == url && strstr(url, "://")) {
		snprintf(msg, cap, "%s: this kind of URL is not supported (root:// and local files are)",
			 url);
		return -EPROTONOSUPPORT;
	}
	if ((rc = src_local_open(path, url, out)))
		snprintf(msg, cap, "%s: %s", url, ana_strerror(rc));
	return rc;
}

int src_open_known(const char *url, uint64_t size, int64_t mtime_ns, struct src **out, char *msg,
		   size_t cap)
{
	if (!url || !src_is_xrd(url))
		return src_open_msg(url, out, msg, cap);
	struct src *inner;
	int rc = src_xrd_open_known(url, size, mtime_ns, &inner, msg, cap);
	if (rc)
		return rc;
	struct dcache *c = src_cache_default();
	if (!c) {
		*out = inner;
		return 0;
	}
	return dcache_wrap(c, inner, out, msg, cap);
}

int src_open(const char *url, struct src **out)
{
	char msg[512];
	return src_open_msg(url, out, msg, sizeof(msg));
}

int src_stat(const char *url, struct src_info *info, char *msg, size_t cap)
{
	memset(info, 0, sizeof(*info));
	if (src_is_xrd(url))
		return src_xrd_stat(url, info, msg, cap);
	const char *path = strncmp(url, "file://", 7) == 0 ? url + 7 : url;
	struct stat st;
	if (stat(path, &st)) {
		int rc = -errno;
		snprintf(msg, cap, "%s: %s", url, strerror(errno));
		return rc;
	}
	info->size = (uint64_t)st.st_size;
	info->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	info->regular = S_ISREG(st.st_mode);
	return 0;
}

/* ---- src_glob() of a remote folder ---- */

struct glob_entry {
	char *name;
	struct src_info info;
};

struct glob_names {
	struct glob_entry *v;
	size_t n, cap;
	const char *pat;
};

static int glob_take(void *ctx, const char *name, const struct src_info *info)
{
	struct glob_names *g = ctx;
	if (!info->regular || fnmatch(g->pat, name, FNM_PERIOD) != 0)
		return 0;
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 64;
		struct glob_entry *v = realloc(g->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		g->v = v;
		g->cap = cap;
	}
	if (!(g->v[g->n].name = strdup(name)))
		return -ENOMEM;
	g->v[g->n++].info = *info;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct glob_entry *)a)->name, ((const struct glob_entry *)b)->name);
}

int src_glob(const char *pattern,
	     int (*each)(void *ctx, const char *url, const struct src_info *info), void *ctx,
	     char *msg, size_t cap)
{
	if (!src_is_xrd(pattern)) {
		snprintf(msg, cap, "%s: only root:// patterns are listed here", pattern);
		return -EPROTONOSUPPORT;
	}
	const char *host = strstr(pattern, "://") + 3;
	const char *path = strchr(host, '/');
	const char *slash = strrchr(pattern, '/');
	if (!path || slash <= path) {
		snprintf(msg, cap, "%s: not the URL of a file (root://host//folder/name)", pattern);
		return -EINVAL;
	}
	for (const char *p = pattern; p < slash; p++)
		if (*p == '*' || *p == '?' || *p == '[') {
			snprintf(msg, cap, "%s: wildcards are allowed in the file name only, "
				 "not in the folders above it", pattern);
			return -EINVAL;
		}
	size_t dirlen = (size_t)(slash - pattern);
	char *dir = strndup(pattern, dirlen);
	if (!dir)
		return -ENOMEM;
	struct glob_names g = {.pat = slash + 1};
	int rc = src_xrd_list(dir, glob_take, &g, msg, cap);
	if (rc == -ENOMEM)
		snprintf(msg, cap, "out of memory");
	if (!rc && g.n)
		qsort(g.v, g.n, sizeof(*g.v), by_name);
	for (size_t i = 0; !rc && i < g.n; i++) {
		char *url = NULL;
		if (asprintf(&url, "%s/%s", dir, g.v[i].name) < 0) {
			snprintf(msg, cap, "out of memory");
			rc = -ENOMEM;
			break;
		}
		rc = each(ctx, url, &g.v[i].info);
		free(url);
	}
	for (size_t i = 0; i < g.n; i++)
		free(g.v[i].name);
	free(g.v);
	free(dir);
	return rc;
}

void src_close(struct src *s)
{
	if (!s)
		return;
	s->ops->close(s);
	pthread_mutex_destroy(&s->err_mu);
	free(s->url);
	free(s);
}

int64_t src_mtime_ns(const struct src *s)
{
	return s->mtime_ns;
}

void src_set_mtime_ns(struct src *s, int64_t mtime_ns)
{
	s->mtime_ns = mtime_ns;
}

void src_prefetch(struct src *s, const struct src_range *r, size_t n)
{
	if (s->ops->prefetch && n && !atomic_load_explicit(&s->failed, memory_order_relaxed))
		s->ops->prefetch(s, r, n);
}

static _Thread_local bool (*stop_fn)(void *ctx);
static _Thread_local void *stop_ctx;

void src_stop_when(bool (*stopped)(void *ctx), void *ctx)
{
	stop_fn = stopped;
	stop_ctx = ctx;
}

bool src_stopping(void)
{
	return stop_fn && stop_fn(stop_ctx);
}

int src_warm(struct src *s, const struct src_range *r, size_t n, uint64_t *bytes)
{
	*bytes = 0;
	if (!s->ops->warm)
		return -ENOTSUP;
	return n ? s->ops->warm(s, r, n, bytes) : 0;
}

void src_stats(struct src *s, struct src_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (s->ops->stats)
		s->ops->stats(s, st);
}

void src_error(struct src *s, char *buf, size_t cap)
{
	pthread_mutex_lock(&s->err_mu);
	snprintf(buf, cap, "%s", s->err);
	pthread_mutex_unlock(&s->err_mu);
}

void src_set_error(struct src *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&s->err_mu);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	pthread_mutex_unlock(&s->err_mu);
	va_end(ap);
}

uint64_t src_size(const struct src *s)
{
	return s->size;
}

const char *src_url(const struct src *s)
{
	return s->url;
}

/* Mark s failed with code, for good; the first failure wins. */
static void src_fail(struct src *s, int code)
{
	int none = 0;
	atomic_compare_exchange_strong(&s->failed, &none, code);
}

int src_check(struct src *s)
{
	int rc = atomic_load_explicit(&s->failed, memory_order_acquire);
	if (rc || !s->ops->check)
		return rc;
	if ((rc = s->ops->check(s)) != 0) {
		src_fail(s, rc);
		rc = atomic_load(&s->failed);
	}
	return rc;
}

ssize_t src_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	int failed = atomic_load_explicit(&s->failed, memory_order_acquire);
	if (failed)
		return failed;
	if (off >= s->size || len == 0)
		return 0;
	if (len > s->size - off)
		len = (size_t)(s->size - off);
	ssize_t r = s->ops->pread(s, buf, len, off);
	/* Short before the size fixed at open: the file has shrunk. */
	if (r >= 0 && (size_t)r < len)
		r = ANA_ECHANGED;
	if (r == ANA_ECHANGED)
		src_fail(s, (int)r);
	return r;
}

const void *src_view(struct src *s, uint64_t off, size_t len)
{
	if (!s->ops->view || off > s->size || len > s->size - off ||
	    atomic_load_explicit(&s->failed, memory_order_relaxed))
		return NULL;
	return s->ops->view(s, off, len);
}

bool src_view_free(const struct src *s)
{
	return s->ops->view && !s->ops->view_reads;
}

int src_readv(struct src *s, const struct src_iov *iov, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (iov[i].off > s->size || iov[i].len > s->size - iov[i].off)
			return -EIO;
	int failed = atomic_load_explicit(&s->failed, memory_order_acquire);
	if (failed)
		return failed;
	if (s->ops->readv) {
		int rc = s->ops->readv(s, iov, n);
		if (rc == ANA_ECHANGED)
			src_fail(s, rc);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		ssize_t r = src_pread(s, iov[i].buf, iov[i].len, iov[i].off);
		if (r < 0)
			return (int)r;
		if ((size_t)r != iov[i].len)
			return -EIO;
	}
	return 0;
}
