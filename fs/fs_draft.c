/* fs_draft.c — writing under jobs/: drafts of NAME.query, scratch files,
 * submitting, renaming, deleting, and the attributes a writer may set.
 *
 * Each open of NAME.query for writing has its own draft: empty with
 * O_TRUNC (cp, a shell's >, Python's "w"), else a copy of the newest
 * job's text.  A draft is submitted at each close() (FUSE flush) or
 * fsync() of a descriptor that wrote since its last submission, with
 * exactly the bytes written through it; a descriptor that did not write
 * (a reader, or a shell's duplicate closed before the write) submits
 * nothing.  Submitting at flush, not at the last release, is what lets
 * close() return EINVAL for a bad query and a script read jobs/NAME on
 * its next line. */
#include "fs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Submit text as a job called stem.  *id: the job (0 when none was
 * recorded).  Returns 0, -EINVAL for a query refused (the job is then
 * recorded as invalid) or another negative errno. */
static int submit_text(struct fs_mount *m, const char *stem, const char *text, size_t len,
		       uid_t uid, gid_t gid, int64_t *id)
{
	char fname[FS_MAX_NAME + 8];
	snprintf(fname, sizeof(fname), "%s.query", stem);
	struct ql_error err = {0};
	struct coord_submission sub = {.name = stem, .filename = fname, .uid = uid, .gid = gid,
				       .text = text ? text : "", .len = len, .basedir = m->basedir};
	*id = 0;
	int rc = coord_submit(m->ctx.sc, &sub, id, &err);
	if (*id) {
		pthread_mutex_lock(&m->lock);
		fs_name_job(m, stem, *id, uid, fs_now());
		pthread_mutex_unlock(&m->lock);
	}
	if (rc && rc != -EINVAL)
		fs_log("jobs/%s not submitted: %s", fname, *err.text ? err.text : strerror(-rc));
	return rc;
}

/* Submit h's draft if it was written since its last submission. */
static int submit_draft(struct fs_mount *m, struct fs_handle *h)
{
	struct fs_draft *d = h->d;
	pthread_mutex_lock(&m->lock);
	bool go = d->dirty, big = d->toobig;
	d->dirty = false;
	char *text = go && !big && d->len ? malloc(d->len) : NULL;
	size_t len = d->len;
	if (text)
		memcpy(text, d->buf, len);
	pthread_mutex_unlock(&m->lock);
	if (!go)
		return 0;
	if (big)
		return -EFBIG; /* what was cut short never runs */
	if (len && !text)
		return -ENOMEM;
	int64_t id;
	int rc = submit_text(m, d->name, text, len, d->uid, d->gid, &id);
	free(text);
	pthread_mutex_lock(&m->lock);
	if (id) {
		d->job = id;
		h->node->job = id; /* user.anafs.job of the descriptor */
	} else {
		d->dirty = true; /* nothing recorded: the next close tries again */
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static struct fs_draft *draft_new(const char *stem, fuse_req_t req, char *text, size_t len)
{
	struct fs_draft *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	snprintf(d->name, sizeof(d->name), "%.*s", FS_MAX_NAME, stem);
	d->buf = text;
	d->len = d->cap = len;
	d->uid = ctx->uid;
	d->gid = ctx->gid;
	d->mtime = fs_now();
	return d;
}

/* Under m->lock: the draft d of name nm goes on handle h, through node n. */
static int draft_attach(struct fs_mount *m, struct fs_name *nm, struct fs_node *n,
			struct fs_draft *d, struct fs_handle *h)
{
	if (m->nwriting >= FS_MAX_DRAFTS) {
		fs_log("jobs/%s.query refused: %d files are being written under jobs/ already",
		       d->name, FS_MAX_DRAFTS);
		return -ENOSPC;
	}
	nm->writers++;
	m->nwriting++;
	fs_node_bind(m, n, d->len, d->mtime);
	n->opens++;
	h->kind = H_DRAFT;
	h->node = n;
	h->d = d;
	return 0;
}

int fs_draft_open(struct fs_mount *m, fuse_req_t req, fuse_ino_t ino, int flags,
		  struct fs_handle *h)
{
	struct fs_ident id;
	int rc = fs_ident_of(m, ino, &id);
	if (!rc && (id.what != W_QFILE || !id.named))
		rc = -ENOENT;
	char *text = NULL;
	size_t len = 0;
	if (!rc && !(flags & O_TRUNC) && id.name_job) /* written in place: start from the text */
		rc = store_job_text(m->ctx.st, id.name_job, &text, &len, NULL, NULL);
	struct fs_draft *d = rc ? NULL : draft_new(id.name, req, text, len);
	if (!rc && !d)
		rc = -ENOMEM;
	if (rc) {
		free(text);
		return rc;
	}
	pthread_mutex_lock(&m->lock);
	struct fs_name *nm = fs_name_find(m, id.name);
	struct fs_node *n = fs_node_get(m, ino);
	rc = nm && n ? draft_attach(m, nm, n, d, h) : -ENOENT;
	pthread_mutex_unlock(&m->lock);
	if (rc) {
		free(d->buf);
		free(d);
	}
	return rc;
}

void fs_draft_close(struct fs_mount *m, struct fs_handle *h)
{
	struct fs_draft *d = h->d;
	pthread_mutex_lock(&m->lock);
	struct fs_name *nm = fs_name_find(m, d->name);
	if (nm)
		fs_name_unwrite(m, nm);
	m->nwriting--;
	pthread_mutex_unlock(&m->lock);
	free(d->buf);
	free(d);
	h->d = NULL;
}

/* ---- create ---- */

static int create_query(struct fs_mount *m, fuse_req_t req, const char *stem, int flags,
			struct fs_handle *h, fuse_ino_t *ino)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fs_draft *d = draft_new(stem, req, NULL, 0);
	if (!d)
		return -ENOMEM;
	int rc = 0;
	pthread_mutex_lock(&m->lock);
	struct fs_name *nm = fs_name_find(m, stem);
	if (nm && (flags & O_EXCL))
		rc = -EEXIST;
	else if (nm && nm->job && ctx->uid && ctx->uid != nm->uid)
		rc = -EACCES; /* made by another user between our lookup and now */
	else if (!(nm = fs_name_add(m, stem, ctx->uid, ctx->gid)))
		rc = -ENOMEM;
	struct fs_node *n = rc ? NULL : fs_node_new(m, W_QFILE, 0, FF_NONE, stem);
	if (!rc && !n)
		rc = -ENOMEM;
	if (!rc && (rc = draft_attach(m, nm, n, d, h)) == 0) {
		n->nlookup = 1;
		*ino = n->ino;
	}
	if (rc && n)
		fs_node_maybe_free(m, n);
	if (rc && nm && !nm->writers && !nm->job) { /* the entry made for nothing */
		nm->writers = 1;
		fs_name_unwrite(m, nm);
	}
	pthread_mutex_unlock(&m->lock);
	if (rc)
		free(d);
	return rc;
}

static int create_scratch(struct fs_mount *m, fuse_req_t req, const char *name, mode_t mode,
			  int flags, struct fs_handle *h, fuse_ino_t *ino)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	int rc = 0;
	pthread_mutex_lock(&m->lock);
	struct fs_scratch *s = fs_scratch_find(m, name);
	if (s && (flags & O_EXCL))
		rc = -EEXIST;
	else if (!s && !(s = fs_scratch_new(m, name, ctx->uid, ctx->gid, mode)))
		rc = m->nwriting >= FS_MAX_DRAFTS ? -ENOSPC : -ENOMEM;
	else if (flags & O_TRUNC)
		s->len = 0;
	if (!rc) {
		s->node->nlookup++;
		s->node->opens++;
		h->kind = H_SCRATCH;
		h->sc = s;
		h->node = s->node;
		*ino = s->node->ino;
	}
	pthread_mutex_unlock(&m->lock);
	if (rc == -ENOSPC)
		fs_log("jobs/%s refused: %d files are being written under jobs/ already", name,
		       FS_MAX_DRAFTS);
	return rc;
}

/* Check name may be made under jobs/: 0 with *cls and stem, or -errno
 * (and the reason logged: FUSE can only return the errno). */
static int creatable(const char *what, const char *name, enum fs_class *cls, char *stem)
{
	const char *why;
	int rc = fs_name_class(name, cls, stem, &why);
	if (!rc && *cls == FS_C_JOB) {
		why = "a name of digits only is a job's number: jobs/N is made by submitting";
		rc = -EINVAL;
	} else if (!rc && *cls == FS_C_LINK) {
		why = "jobs/NAME is the link to the newest job NAME: write NAME.query to submit";
		rc = -EINVAL;
	}
	if (rc)
		fs_log("%s jobs/%s refused (%s): %s", what, name, strerror(-rc), why);
	return rc;
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fs_mount *m = fs_me(req);
	enum fs_class cls;
	char stem[FS_MAX_NAME + 1];
	fuse_ino_t ino = 0;
	struct fs_handle *h = fs_handle_new(m);
	int rc = h ? fs_parent_is_jobs(m, parent) : -ENOMEM;
	if (!rc && !(rc = creatable("create", name, &cls, stem)))
		rc = cls == FS_C_QUERY ? create_query(m, req, stem, fi->flags, h, &ino)
				       : create_scratch(m, req, name, mode, fi->flags, h, &ino);
	struct fuse_entry_param e = {.ino = ino};
	if (!rc)
		rc = fs_stat_ino(m, ino, NULL, &e.attr, &e.attr_timeout);
	if (rc) {
		if (h && ino) {
			pthread_mutex_lock(&m->lock);
			fs_node_forget(m, ino, 1);
			pthread_mutex_unlock(&m->lock);
		}
		if (h)
			fs_handle_free(m, h);
		fuse_reply_err(req, -rc);
		return;
	}
	e.entry_timeout = FS_TTL_NONE;
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	if (fuse_reply_create(req, &e, fi) == -ENOENT) { /* interrupted: undo it */
		pthread_mutex_lock(&m->lock);
		fs_node_forget(m, ino, 1);
		pthread_mutex_unlock(&m->lock);
		fs_handle_free(m, h);
	}
}

/* ---- write, flush, fsync ---- */

/* Write size bytes at off into a buffer (under m->lock). */
static int put(char **buf, size_t *len, size_t *cap, const char *src, size_t size, off_t off)
{
	if (off < 0 || (size_t)off > FS_MAX_QUERY || size > FS_MAX_QUERY - (size_t)off)
		return -EFBIG;
	size_t end = (size_t)off + size;
	int rc = fs_buf_reserve(buf, cap, end);
	if (rc)
		return rc;
	if ((size_t)off > *len)
		memset(*buf + *len, 0, (size_t)off - *len);
	memcpy(*buf + off, src, size);
	if (end > *len)
		*len = end;
	return 0;
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct fs_mount *m = fs_me(req);
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	int rc = -EBADF;
	if (h->kind == H_CTL) {
		rc = coord_control(m->ctx.sc, h->job, buf, size);
		if (rc == -EBUSY)
			rc = -EINVAL; /* the job is over: nothing to control */
	} else if (h->kind == H_WCTL) {
		char msg[512] = "";
		rc = coord_workers_control(m->ctx.sc, buf, size, msg, sizeof(msg));
		if (rc && *msg)
			fprintf(stderr, "anafs: workers: %s\n", msg);
	} else if (h->kind == H_DRAFT || h->kind == H_SCRATCH) {
		pthread_mutex_lock(&m->lock);
		if (h->kind == H_DRAFT) {
			struct fs_draft *d = h->d;
			rc = put(&d->buf, &d->len, &d->cap, buf, size, off);
			d->toobig = d->toobig || rc == -EFBIG;
			d->dirty = true;
			d->mtime = fs_now();
			fs_node_bind(m, h->node, d->len, d->mtime);
		} else {
			struct fs_scratch *s = h->sc;
			rc = put(&s->buf, &s->len, &s->cap, buf, size, off);
			s->mtime = fs_now();
		}
		pthread_mutex_unlock(&m->lock);
	}
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
	(void)ino;
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	fuse_reply_err(req, h->kind == H_DRAFT ? -submit_draft(fs_me(req), h) : 0);
	(void)ino;
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	op_flush(req, ino, fi); /* editors fsync before close: the same submission */
	(void)datasync;
}

/* ---- setattr: sizes for writers, modes and times for scratch files ---- */

static int set_size(struct fs_mount *m, const struct fs_ident *id, struct fs_handle *h,
		    fuse_ino_t ino, off_t size)
{
	if (id->what == W_CTL || (id->what == W_SNAP && !id->job && id->f == FF_WORKERS))
		return 0; /* echo cancel > ctl, echo scale 8 > workers may truncate first */
	if (size < 0 || (size_t)size > FS_MAX_QUERY)
		return -EFBIG;
	int rc = -EACCES;
	pthread_mutex_lock(&m->lock);
	struct fs_node *n = fs_node_get(m, ino);
	char **buf = NULL;
	size_t *len = NULL, *cap = NULL;
	if (h && h->kind == H_DRAFT) {
		buf = &h->d->buf, len = &h->d->len, cap = &h->d->cap;
		h->d->toobig = h->d->toobig && size != 0;
	} else if (n && n->sc) {
		buf = &n->sc->buf, len = &n->sc->len, cap = &n->sc->cap;
	}
	if (buf && !(rc = fs_buf_reserve(buf, cap, (size_t)size))) {
		if ((size_t)size > *len)
			memset(*buf + *len, 0, (size_t)size - *len);
		*len = (size_t)size;
		if (h && h->kind == H_DRAFT)
			fs_node_bind(m, h->node, *len, fs_now());
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* chmod, chown, utime: kept for a scratch file; accepted and ignored for
 * NAME.query (its mode and times are its job's), so that cp -p and
 * shutil.copy work; refused for everything else. */
static int set_meta(struct fs_mount *m, const struct fs_ident *id, fuse_ino_t ino,
		    const struct stat *attr, int to_set)
{
	bool own = to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID);
	bool times = to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
			       FUSE_SET_ATTR_MTIME_NOW);
	if (own && (((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != id->uid) ||
		    ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != id->gid) ||
		    (id->what != W_SCRATCH && id->what != W_QFILE)))
		return -EPERM;
	if (id->what == W_QFILE)
		return 0;
	if (id->what != W_SCRATCH)
		return (to_set & FUSE_SET_ATTR_MODE) ? -EPERM : times ? -EACCES : 0;
	pthread_mutex_lock(&m->lock);
	struct fs_node *n = fs_node_get(m, ino);
	if (n && n->sc && (to_set & FUSE_SET_ATTR_MODE))
		n->sc->mode = attr->st_mode & 0777;
	if (n && n->sc && (to_set & FUSE_SET_ATTR_MTIME_NOW))
		n->sc->mtime = fs_now();
	else if (n && n->sc && (to_set & FUSE_SET_ATTR_MTIME))
		n->sc->mtime = (double)attr->st_mtim.tv_sec + (double)attr->st_mtim.tv_nsec * 1e-9;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct fs_mount *m = fs_me(req);
	struct fs_handle *h = fi ? (struct fs_handle *)(uintptr_t)fi->fh : NULL;
	struct fs_ident id;
	int rc = fs_ident_of(m, ino, &id);
	if (!rc && (id.what == W_QFILE || id.what == W_LINK) && !id.named)
		rc = -ENOENT;
	if (!rc && (to_set & FUSE_SET_ATTR_SIZE))
		rc = set_size(m, &id, h, ino, attr->st_size);
	if (!rc && (to_set & ~FUSE_SET_ATTR_SIZE))
		rc = set_meta(m, &id, ino, attr, to_set);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	struct stat st;
	double ttl;
	if ((rc = fs_stat_ino(m, ino, h, &st, &ttl)))
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, ttl);
}

/* ---- rename and unlink: only scratch files move or go ---- */

/* Scratch file s (under m->lock, released here) becomes the job stem. */
static int rename_submit(struct fs_mount *m, fuse_req_t req, struct fs_scratch *s,
			 const char *stem)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	size_t len = s->len;
	char *text = len ? malloc(len) : NULL;
	if (text)
		memcpy(text, s->buf, len);
	char name[NAME_MAX + 1];
	snprintf(name, sizeof(name), "%s", s->name);
	pthread_mutex_unlock(&m->lock);
	if (len && !text)
		return -ENOMEM;
	int64_t id;
	int rc = submit_text(m, stem, text, len, ctx->uid, ctx->gid, &id);
	free(text);
	pthread_mutex_lock(&m->lock);
	if (id && (s = fs_scratch_find(m, name))) /* it became the query: it leaves */
		fs_scratch_unlink(m, s);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int rename_to(struct fs_mount *m, fuse_req_t req, const char *from, const char *to,
		     unsigned int flags)
{
	enum fs_class cls;
	char stem[FS_MAX_NAME + 1];
	const char *why;
	int64_t job;
	if (!fs_name_class(to, &cls, stem, &why) && (cls == FS_C_LINK || cls == FS_C_JOB)) {
		pthread_mutex_lock(&m->lock);
		struct fs_name *nm = cls == FS_C_LINK ? fs_name_find(m, to) : NULL;
		bool taken = nm && nm->job;
		pthread_mutex_unlock(&m->lock);
		struct job_info info;
		char *end;
		taken = taken || (cls == FS_C_JOB && (job = strtoll(to, &end, 10)) > 0 && !*end &&
				  !coord_job(m->ctx.sc, job, &info));
		if (taken) {
			fs_log("rename onto jobs/%s refused: a job and its link are never replaced", to);
			return -EEXIST;
		}
	}
	int rc = creatable("rename to", to, &cls, stem);
	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	struct fs_scratch *s = fs_scratch_find(m, from), *old = fs_scratch_find(m, to);
	struct fs_name *nm = cls == FS_C_QUERY ? fs_name_find(m, stem) : NULL;
	if (!s)
		rc = -ENOENT;
	else if ((flags & RENAME_NOREPLACE) && (old || nm))
		rc = -EEXIST;
	else if (cls == FS_C_QUERY)
		return rename_submit(m, req, s, stem); /* unlocks */
	else if (old != s) {
		if (old)
			fs_scratch_unlink(m, old);
		snprintf(s->name, sizeof(s->name), "%s", to);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct fs_mount *m = fs_me(req);
	enum fs_class cls;
	char stem[FS_MAX_NAME + 1];
	const char *why;
	int rc = fs_parent_is_jobs(m, parent);
	if (!rc)
		rc = fs_parent_is_jobs(m, newparent);
	if (!rc && (flags & ~RENAME_NOREPLACE))
		rc = -EINVAL;
	if (!rc && (fs_name_class(name, &cls, stem, &why) || cls != FS_C_SCRATCH)) {
		fs_log("rename of jobs/%s refused: jobs, their links and their queries stay", name);
		rc = -EACCES;
	}
	if (!rc)
		rc = rename_to(m, req, name, newname, flags);
	fuse_reply_err(req, -rc);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs_mount *m = fs_me(req);
	int rc = fs_parent_is_jobs(m, parent);
	if (!rc) {
		pthread_mutex_lock(&m->lock);
		struct fs_scratch *s = fs_scratch_find(m, name);
		rc = s ? 0 : -EACCES; /* jobs, links and queries cannot be deleted */
		if (s)
			fs_scratch_unlink(m, s);
		pthread_mutex_unlock(&m->lock);
	}
	fuse_reply_err(req, -rc);
}

void fs_draft_ops(struct fuse_lowlevel_ops *ops)
{
	ops->create = op_create;
	ops->write = op_write;
	ops->flush = op_flush;
	ops->fsync = op_fsync;
	ops->setattr = op_setattr;
	ops->rename = op_rename;
	ops->unlink = op_unlink;
}
