/* fs_file.c — opening, reading, polling and closing files.
 *
 * A file's content is a snapshot taken at open() and held by its handle;
 * the node the descriptor was opened through is bound to it, so fstat()
 * reports that snapshot's size.  Two exceptions, both for readers that
 * follow a file: a read past the end of a log's snapshot takes a new one
 * (tail -f), and a read of status from offset 0 after a first read takes
 * a new one when the status changed (the sysfs way: poll, lseek to 0,
 * read again).  wait has
 * no snapshot: its reads are answered by fs_wait.c. */
#include "fs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

struct fs_mount *fs_me(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static enum job_status status_of_text(const char *buf, size_t len)
{
	for (int s = JOB_QUEUED; s <= JOB_INVALID; s++) {
		const char *n = job_status_name((enum job_status)s);
		if (len == strlen(n) + 1 && !memcmp(buf, n, len - 1))
			return (enum job_status)s;
	}
	return JOB_QUEUED;
}

/* Bind node ino to a snapshot of len bytes and count the handle's open. */
static int bind(struct fs_mount *m, fuse_ino_t ino, struct fs_handle *h, double mtime)
{
	pthread_mutex_lock(&m->lock);
	struct fs_node *n = fs_node_get(m, ino);
	if (n) {
		fs_node_bind(m, n, h->len, mtime);
		n->opens++;
		h->node = n;
	}
	pthread_mutex_unlock(&m->lock);
	return n ? 0 : -ENOENT;
}

/* A snapshot of a file whose content changes. */
static int open_snap(struct fs_mount *m, fuse_ino_t ino, const struct fs_ident *id,
		     struct fs_handle *h)
{
	double mt = 0;
	int rc;
	h->kind = H_SNAP;
	h->job = id->job;
	h->f = id->f;
	if (id->what == W_QFILE) { /* a reader of NAME.query: the newest job's text */
		h->f = FF_QUERY;
		h->job = 0;
		mt = id->mtime;
		if (id->name_job) {
			rc = store_job_text(m->ctx.st, id->name_job, &h->buf, &h->len, NULL, NULL);
			if (rc)
				return rc;
		}
	} else if ((rc = fs_render(&m->ctx, id->job, id->f, id->name, &h->buf, &h->len, &mt))) {
		return rc;
	}
	if (h->f == FF_STATUS)
		h->status = status_of_text(h->buf, h->len);
	return bind(m, ino, h, mt);
}

static int open_scratch(struct fs_mount *m, fuse_ino_t ino, int flags, struct fs_handle *h)
{
	pthread_mutex_lock(&m->lock);
	struct fs_node *n = fs_node_get(m, ino);
	if (n && n->sc) {
		h->kind = H_SCRATCH;
		h->sc = n->sc;
		h->node = n;
		n->opens++;
		if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY) {
			n->sc->len = 0;
			n->sc->mtime = fs_now();
		}
	}
	pthread_mutex_unlock(&m->lock);
	return n && n->sc ? 0 : -ENOENT;
}

static int open_handle(struct fs_mount *m, fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi, struct fs_handle *h)
{
	struct fs_ident id;
	int rc = fs_ident_of(m, ino, &id);
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	if (rc)
		return rc;
	fi->direct_io = 1;
	switch (id.what) {
	case W_README:
	case W_QUERY: { /* never change: the page cache may keep them */
		double mt;
		if (writing)
			return -EACCES;
		h->kind = H_STATIC;
		h->f = id.what == W_README ? FF_README : FF_QUERY;
		fi->direct_io = 0;
		fi->keep_cache = 1;
		if (id.what == W_README)
			return fs_render(&m->ctx, 0, FF_README, NULL, &h->buf, &h->len, &mt);
		return store_job_text(m->ctx.st, id.job, &h->buf, &h->len, NULL, NULL);
	}
	case W_CTL:
	case W_WAIT:
		if (writing && id.what == W_WAIT)
			return -EACCES;
		h->kind = id.what == W_CTL ? H_CTL : H_WAIT;
		h->job = id.job;
		return 0;
	case W_SNAP:
		if (writing && !id.job && id.f == FF_WORKERS) {
			/* echo scale 8 > workers: the mount's owner (or root) only */
			const struct fuse_ctx *ctx = fuse_req_ctx(req);
			if (ctx->uid != m->o.uid && ctx->uid != 0)
				return -EACCES;
			h->kind = H_WCTL;
			return 0;
		}
		return writing ? -EACCES : open_snap(m, ino, &id, h);
	case W_QFILE:
		if (writing)
			return fs_draft_open(m, req, ino, fi->flags, h);
		return id.named ? open_snap(m, ino, &id, h) : -ENOENT;
	case W_SCRATCH:
		return open_scratch(m, ino, fi->flags, h);
	case W_LINK:
		return -ELOOP;
	default:
		return -EISDIR;
	}
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_mount *m = fs_me(req);
	struct fs_handle *h = fs_handle_new(m);
	int rc = h ? open_handle(m, req, ino, fi, h) : -ENOMEM;
	if (rc) {
		if (h)
			fs_handle_free(m, h);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)h;
	if (fuse_reply_open(req, fi) == -ENOENT) /* the open was interrupted */
		fs_handle_free(m, h);
}

/* ---- reading ---- */

/* A slice of a handle's snapshot, sent from a copy: once the kernel has
 * the reply the reader may close, and the release free the snapshot,
 * while this thread is still in writev() (AddressSanitizer then checks
 * the freed buffer). */
static void reply_slice(fuse_req_t req, const char *buf, size_t len, size_t size, off_t off)
{
	size_t n = off >= 0 && (size_t)off < len ? len - (size_t)off : 0;
	n = n < size ? n : size;
	char *copy = n ? malloc(n) : NULL;
	if (n && !copy) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (n)
		memcpy(copy, buf + off, n);
	fuse_reply_buf(req, copy, n);
	free(copy);
}

/* A slice of a buffer that may change, copied under m->lock. */
static void reply_locked(struct fs_mount *m, fuse_req_t req, char *const *buf,
			 const size_t *len, size_t size, off_t off)
{
	pthread_mutex_lock(&m->lock);
	size_t n = off >= 0 && (size_t)off < *len ? *len - (size_t)off : 0;
	n = n < size ? n : size;
	char *copy = n ? malloc(n) : NULL;
	if (copy)
		memcpy(copy, *buf + off, n);
	pthread_mutex_unlock(&m->lock);
	if (n && !copy)
		fuse_reply_err(req, ENOMEM);
	else
		fuse_reply_buf(req, copy, n);
	free(copy);
}

/* A new snapshot for h (log past its end, status that changed). */
static void refresh(struct fs_mount *m, struct fs_handle *h)
{
	char *fresh = NULL;
	size_t len = 0;
	double mt;
	if (h->f == FF_STATUS) {
		struct job_info info;
		if (coord_job(m->ctx.sc, h->job, &info) || info.status == h->status)
			return;
	}
	if (fs_render(&m->ctx, h->job, h->f, NULL, &fresh, &len, &mt))
		return;
	pthread_mutex_lock(&m->lock);
	char *old = h->buf;
	h->buf = fresh;
	h->len = len;
	if (h->f == FF_STATUS)
		h->status = status_of_text(fresh, len);
	if (h->node)
		fs_node_bind(m, h->node, len, mt);
	pthread_mutex_unlock(&m->lock);
	free(old);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs_mount *m = fs_me(req);
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	switch (h->kind) {
	case H_WAIT:
		fs_wait_read(m, req, h->job, size, off);
		return;
	case H_SNAP:
		if (h->f == FF_LOG || h->f == FF_STATUS) {
			pthread_mutex_lock(&m->lock);
			bool past = off >= 0 && (size_t)off >= h->len;
			/* A status read again from the start (after a poll) is new; the
			 * first read is the snapshot fstat has reported since open. */
			bool again = h->f == FF_STATUS && !off && h->was_read;
			h->was_read = true;
			pthread_mutex_unlock(&m->lock);
			if ((h->f == FF_LOG && past) || again)
				refresh(m, h);
			reply_locked(m, req, &h->buf, &h->len, size, off);
			return;
		}
		/* fall through - the snapshot never changes */
	case H_STATIC:
		reply_slice(req, h->buf, h->len, size, off);
		return;
	case H_DRAFT:
		reply_locked(m, req, &h->d->buf, &h->d->len, size, off);
		return;
	case H_SCRATCH:
		reply_locked(m, req, &h->sc->buf, &h->sc->len, size, off);
		return;
	default: /* ctl reads empty */
		fuse_reply_buf(req, NULL, 0);
	}
	(void)ino;
}

/* ---- poll: wait is ready once the job is over; status once it changed ---- */

static bool poll_ready(struct fs_mount *m, struct fs_handle *h)
{
	struct job_info info;
	if (coord_job(m->ctx.sc, h->job, &info))
		return true; /* a read will say what is wrong */
	if (h->kind == H_WAIT)
		return job_status_terminal(info.status);
	return info.status != h->status;
}

static void op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	struct fs_mount *m = fs_me(req);
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	unsigned rev = POLLIN | POLLRDNORM;
	if (h->kind == H_WAIT || (h->kind == H_SNAP && h->f == FF_STATUS)) {
		/* Keep the handle before looking, so that no change is missed. */
		if (ph)
			fs_poll_keep(m, h, ph);
		if (poll_ready(m, h))
			fs_poll_drop(m, h);
		else
			rev = 0;
	} else {
		if (ph)
			fuse_pollhandle_destroy(ph);
		if (h->kind == H_DRAFT || h->kind == H_SCRATCH || h->kind == H_CTL || h->kind == H_WCTL)
			rev |= POLLOUT | POLLWRNORM;
	}
	fuse_reply_poll(req, rev);
	(void)ino;
}

/* ---- closing ---- */

struct fs_handle *fs_handle_new(struct fs_mount *m)
{
	struct fs_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	pthread_mutex_lock(&m->lock);
	h->hnext = m->handles;
	if (m->handles)
		m->handles->hprev = h;
	m->handles = h;
	pthread_mutex_unlock(&m->lock);
	return h;
}

void fs_handle_free(struct fs_mount *m, struct fs_handle *h)
{
	fs_poll_drop(m, h);
	if (h->d)
		fs_draft_close(m, h);
	pthread_mutex_lock(&m->lock);
	if (h->node) {
		h->node->opens--;
		fs_node_maybe_free(m, h->node);
	}
	if (h->hprev)
		h->hprev->hnext = h->hnext;
	else
		m->handles = h->hnext;
	if (h->hnext)
		h->hnext->hprev = h->hprev;
	pthread_mutex_unlock(&m->lock);
	for (size_t i = 0; i < h->nents; i++)
		free(h->ents[i].name);
	free(h->ents);
	free(h->buf);
	free(h);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fs_handle_free(fs_me(req), (struct fs_handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
	(void)ino;
}

void fs_file_ops(struct fuse_lowlevel_ops *ops)
{
	ops->open = op_open;
	ops->read = op_read;
	ops->poll = op_poll;
	ops->release = op_release;
}
