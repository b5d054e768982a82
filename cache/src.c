/* src.c — dispatch of byte-source calls to the transport of each source,
 * and the failed state a source enters when its file changes under it. */
#include "src.h"

#include "ana_err.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct src {
	const struct src_ops *ops;
	char *url;
	uint64_t size;
	atomic_int failed;  /* 0, or the code every later call returns */
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
	return s;
}

void *src_priv(struct src *s)
{
	return s->priv;
}

int src_open(const char *url, struct src **out)
{
	if (!url || !*url)
		return -EINVAL;
	if (strncmp(url, "file://", 7) == 0)
		return src_local_open(url + 7, url, out);
	if (strstr(url, "://"))
		return -EPROTONOSUPPORT;
	return src_local_open(url, url, out);
}

void src_close(struct src *s)
{
	if (!s)
		return;
	s->ops->close(s);
	free(s->url);
	free(s);
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
