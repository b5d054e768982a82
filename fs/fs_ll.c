/* fs_ll.c — names and attributes: lookup, getattr, readlink, forget,
 * directories, statfs and the one extended attribute.
 *
 * What the kernel may cache (docs/mount.md, "Caching"): the names and
 * attributes of things that never change (/, README, jobs/N and its
 * query, ctl, hist/) for a day; jobs/ and the jobs/NAME links for a day
 * too, invalidated by the notifier when a job is made.  Everything else
 * is never cached: each stat asks the daemon. */
#include "fs_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

static const char *const job_file_names[] = {
	[FF_STATUS] = "status", [FF_ERROR] = "error", [FF_PROGRESS] = "progress",
	[FF_PROGRESS_JSON] = "progress.json", [FF_HIST_JSON] = "hist.json",
	[FF_CUTFLOW] = "cutflow", [FF_LOG] = "log", [FF_SUMMARY] = "summary",
};

double fs_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int fs_ident_of(struct fs_mount *m, fuse_ino_t ino, struct fs_ident *id)
{
	memset(id, 0, sizeof(*id));
	if (ino < FS_INO_NODE) {
		static const enum fs_what jk[FS_JK_N] = {W_JOBDIR, W_QUERY, W_CTL, W_WAIT, W_HISTDIR};
		if (ino <= FS_INO_JOBS) {
			id->what = ino == FS_INO_ROOT ? W_ROOT : ino == FS_INO_README ? W_README : W_JOBS;
			return 0;
		}
		id->job = (int64_t)(ino >> 8);
		if (id->job < 1 || (ino & 0xff) >= FS_JK_N)
			return -ENOENT;
		id->what = jk[ino & 0xff];
		return 0;
	}
	pthread_mutex_lock(&m->lock);
	struct fs_node *n = fs_node_get(m, ino);
	int rc = n ? 0 : -ENOENT;
	if (n) {
		id->what = n->what;
		id->job = n->job;
		id->f = n->f;
		snprintf(id->name, sizeof(id->name), "%s", n->name ? n->name : "");
		id->bound = n->bound;
		id->len = n->bound_len;
		id->mtime = n->bound_mtime;
	}
	if (n && n->sc) {
		id->len = n->sc->len;
		id->mtime = n->sc->mtime;
		id->uid = n->sc->uid;
		id->gid = n->sc->gid;
		id->mode = n->sc->mode;
	}
	struct fs_name *nm = n && n->name && (n->what == W_QFILE || n->what == W_LINK)
				     ? fs_name_find(m, n->name) : NULL;
	if (nm) {
		id->named = true;
		id->name_job = nm->job;
		id->uid = nm->uid;
		id->gid = nm->gid;
		if (!id->bound)
			id->mtime = nm->mtime;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static void set_time(struct stat *st, double t)
{
	st->st_mtim.tv_sec = (time_t)t;
	st->st_mtim.tv_nsec = (long)((t - (double)(time_t)t) * 1e9);
	st->st_ctim = st->st_atim = st->st_mtim;
}

static void set_dir(struct stat *st, mode_t mode)
{
	st->st_mode = S_IFDIR | mode;
	st->st_nlink = 2;
}

/* The size and time of what an open() of a snapshot file would take now. */
static int fresh_size(struct fs_mount *m, int64_t job, enum fs_file f, const char *hname,
		      off_t *size, double *mtime)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = fs_render(&m->ctx, job, f, hname, &buf, &len, mtime);
	free(buf);
	*size = (off_t)len;
	return rc;
}

/* The size of a job's query text. */
static int text_size(struct fs_mount *m, int64_t job, off_t *size)
{
	size_t len = 0;
	int rc = store_job_text(m->ctx.st, job, NULL, &len, NULL, NULL);
	*size = (off_t)len;
	return rc;
}

/* Attributes of the job-numbered inodes. */
static int stat_job(struct fs_mount *m, const struct fs_ident *id, struct stat *st, double *ttl)
{
	struct job_info info;
	int rc = coord_job(m->ctx.sc, id->job, &info);
	if (rc)
		return rc;
	st->st_uid = info.uid;
	double mt = info.created;
	switch (id->what) {
	case W_JOBDIR:
	case W_HISTDIR:
		set_dir(st, 0555);
		break;
	case W_QUERY: {
		if ((rc = text_size(m, id->job, &st->st_size)))
			return rc;
		st->st_mode = S_IFREG | 0444;
		break;
	}
	case W_CTL:
		st->st_mode = S_IFREG | 0644;
		break;
	case W_WAIT: /* what a read gives once the job is over */
		st->st_mode = S_IFREG | 0444;
		*ttl = FS_TTL_NONE; /* a reply racing the job's end must not stick */
		if (job_status_terminal(info.status))
			st->st_size = (off_t)strlen(job_status_name(info.status)) + 1;
		break;
	default: /* W_SNAP */
		st->st_mode = S_IFREG | 0444;
		*ttl = FS_TTL_NONE;
		if (id->bound && id->f != FF_LOG) {
			st->st_size = (off_t)id->len;
			mt = id->mtime;
		} else if ((rc = fresh_size(m, id->job, id->f, id->name, &st->st_size, &mt))) {
			return rc;
		}
		break;
	}
	set_time(st, mt);
	return 0;
}

/* jobs/NAME.query: a draft's or a snapshot's size once opened, else the
 * newest job's text. */
static int stat_qfile(struct fs_mount *m, const struct fs_ident *id, struct stat *st)
{
	if (!id->named)
		return -ENOENT;
	st->st_mode = S_IFREG | 0644;
	st->st_uid = id->uid;
	st->st_gid = id->gid;
	set_time(st, id->mtime);
	if (id->bound) {
		st->st_size = (off_t)id->len;
		return 0;
	}
	if (id->name_job)
		text_size(m, id->name_job, &st->st_size);
	return 0;
}

/* Attributes of what is not a job's: /, README, jobs/, workers, cache,
 * the links and the scratch files.  *mt: the time to show. */
static int stat_other(struct fs_mount *m, const struct fs_ident *id, struct stat *st, double *mt,
		      double *ttl)
{
	switch (id->what) {
	case W_ROOT:
		set_dir(st, 0555);
		return 0;
	case W_README:
		st->st_mode = S_IFREG | 0444;
		return fresh_size(m, 0, FF_README, NULL, &st->st_size, mt);
	case W_JOBS:
		pthread_mutex_lock(&m->lock);
		*mt = m->jobs_mtime > *mt ? m->jobs_mtime : *mt;
		pthread_mutex_unlock(&m->lock);
		set_dir(st, m->o.allow_other ? 01777 : 0755);
		return 0;
	case W_SNAP: /* workers (its owner writes "scale N"), cache */
		*ttl = FS_TTL_NONE;
		st->st_mode = S_IFREG | (id->f == FF_WORKERS ? 0644 : 0444);
		if (!id->bound)
			return fresh_size(m, 0, id->f, NULL, &st->st_size, mt);
		st->st_size = (off_t)id->len;
		*mt = id->mtime;
		return 0;
	case W_LINK:
		if (!id->named || !id->name_job)
			return -ENOENT;
		st->st_mode = S_IFLNK | 0777;
		st->st_uid = id->uid;
		st->st_size = snprintf(NULL, 0, "%lld", (long long)id->name_job);
		*mt = id->mtime;
		return 0;
	case W_SCRATCH:
		*ttl = FS_TTL_NONE;
		st->st_mode = S_IFREG | id->mode;
		st->st_uid = id->uid;
		st->st_gid = id->gid;
		st->st_size = (off_t)id->len;
		*mt = id->mtime;
		return 0;
	default:
		return -ENOENT;
	}
}

int fs_stat_ino(struct fs_mount *m, fuse_ino_t ino, const struct fs_handle *h, struct stat *st,
		double *ttl)
{
	struct fs_ident id;
	int rc = fs_ident_of(m, ino, &id);
	if (rc)
		return rc;
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = m->o.uid;
	st->st_gid = m->o.gid;
	st->st_nlink = 1;
	st->st_blksize = 4096;
	*ttl = FS_TTL_STATIC;
	double mt = m->ctx.started;
	bool of_job = id.job && (id.what == W_SNAP || (id.what >= W_JOBDIR && id.what <= W_HISTDIR));
	if (of_job || id.what == W_QFILE) {
		rc = of_job ? stat_job(m, &id, st, ttl) : stat_qfile(m, &id, st);
		*ttl = of_job ? *ttl : FS_TTL_NONE;
		mt = (double)st->st_mtim.tv_sec + (double)st->st_mtim.tv_nsec * 1e-9;
	} else {
		rc = stat_other(m, &id, st, &mt, ttl);
	}
	if (rc)
		return rc;
	if (h && (h->kind == H_SNAP || h->kind == H_STATIC) && h->f != FF_LOG) {
		pthread_mutex_lock(&m->lock); /* status swaps its snapshot */
		st->st_size = (off_t)h->len; /* the kernel named the handle: its snapshot */
		pthread_mutex_unlock(&m->lock);
	}
	set_time(st, mt);
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

void fs_reply_attr_of(fuse_req_t req, fuse_ino_t ino)
{
	struct stat st;
	double ttl;
	int rc = fs_stat_ino(fs_me(req), ino, NULL, &st, &ttl);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, ttl);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	double ttl;
	const struct fs_handle *h = fi ? (const struct fs_handle *)(uintptr_t)fi->fh : NULL;
	int rc = fs_stat_ino(fs_me(req), ino, h, &st, &ttl);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, ttl);
}

/* ---- lookup ---- */

static bool parse_job(const char *s, int64_t *job)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*end || v < 1 || v >= FS_MAX_JOB || s[0] == '0')
		return false;
	*job = v;
	return true;
}

/* A current node (lookup count +1): *ino, or -ENOMEM. */
static int current(struct fs_mount *m, enum fs_what what, int64_t job, enum fs_file f,
		   const char *name, fuse_ino_t *ino)
{
	pthread_mutex_lock(&m->lock);
	struct fs_node *n = fs_node_current(m, what, job, f, name);
	if (n)
		*ino = n->ino;
	pthread_mutex_unlock(&m->lock);
	return n ? 0 : -ENOMEM;
}

static int lookup_jobs(struct fs_mount *m, const char *name, fuse_ino_t *ino)
{
	enum fs_class cls;
	char stem[FS_MAX_NAME + 1];
	const char *why;
	int64_t job;
	if (fs_name_class(name, &cls, stem, &why))
		return -ENOENT;
	if (cls == FS_C_JOB) {
		struct job_info info;
		if (!parse_job(name, &job) || coord_job(m->ctx.sc, job, &info))
			return -ENOENT;
		*ino = FS_INO_JOB(job, FS_JK_DIR);
		return 0;
	}
	int rc = -ENOENT;
	pthread_mutex_lock(&m->lock);
	if (cls == FS_C_QUERY) {
		struct fs_name *nm = fs_name_find(m, stem);
		struct fs_node *n = nm ? fs_node_current(m, W_QFILE, 0, FF_NONE, stem) : NULL;
		rc = !nm ? -ENOENT : n ? 0 : -ENOMEM;
		if (n)
			*ino = n->ino;
	} else if (cls == FS_C_LINK) {
		struct fs_name *nm = fs_name_find(m, name);
		struct fs_node *n = nm && nm->job ? fs_node_get(m, nm->link_ino) : NULL;
		if (n) {
			n->nlookup++;
			*ino = n->ino;
			rc = 0;
		}
	} else {
		struct fs_scratch *s = fs_scratch_find(m, name);
		if (s) {
			s->node->nlookup++;
			*ino = s->node->ino;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int lookup_jobdir(struct fs_mount *m, int64_t job, const char *name, fuse_ino_t *ino)
{
	if (!strcmp(name, "query") || !strcmp(name, "ctl") || !strcmp(name, "wait") ||
	    !strcmp(name, "hist")) {
		int k = name[0] == 'q' ? FS_JK_QUERY : name[0] == 'c' ? FS_JK_CTL
					: name[0] == 'w' ? FS_JK_WAIT : FS_JK_HIST;
		*ino = FS_INO_JOB(job, k);
		return 0;
	}
	for (size_t f = 0; f < sizeof(job_file_names) / sizeof(job_file_names[0]); f++)
		if (job_file_names[f] && !strcmp(name, job_file_names[f]))
			return current(m, W_SNAP, job, (enum fs_file)f, NULL, ino);
	return -ENOENT;
}

static int lookup_hist(struct fs_mount *m, int64_t job, const char *name, fuse_ino_t *ino)
{
	size_t n = strlen(name);
	bool svg = n > 4 && !strcmp(name + n - 4, ".svg"), csv = n > 4 && !strcmp(name + n - 4, ".csv");
	if (!svg && !csv)
		return -ENOENT;
	char hname[NAME_MAX + 1];
	snprintf(hname, sizeof(hname), "%.*s", (int)(n - 4), name);
	char **names = fs_hist_names(&m->ctx, job);
	bool found = false;
	for (size_t i = 0; names && names[i]; i++) {
		found = found || !strcmp(names[i], hname);
		free(names[i]);
	}
	free(names);
	names = svg && !found ? fs_plot_names(&m->ctx, job) : NULL;
	for (size_t i = 0; names && names[i]; i++) {
		found = found || !strcmp(names[i], hname);
		free(names[i]);
	}
	free(names);
	return found ? current(m, W_SNAP, job, svg ? FF_SVG : FF_CSV, hname, ino) : -ENOENT;
}

int fs_entry(struct fs_mount *m, fuse_ino_t parent, const char *name, struct fuse_entry_param *e)
{
	struct fs_ident p;
	fuse_ino_t ino = 0;
	int rc = fs_ident_of(m, parent, &p);
	if (rc)
		return rc;
	memset(e, 0, sizeof(*e));
	if (p.what == W_ROOT) {
		if (!strcmp(name, "README"))
			ino = FS_INO_README;
		else if (!strcmp(name, "jobs"))
			ino = FS_INO_JOBS;
		else if (!strcmp(name, "workers") || !strcmp(name, "cache"))
			rc = current(m, W_SNAP, 0, name[0] == 'w' ? FF_WORKERS : FF_CACHE, NULL, &ino);
		else
			rc = -ENOENT;
	} else if (p.what == W_JOBS) {
		rc = lookup_jobs(m, name, &ino);
	} else if (p.what == W_JOBDIR) {
		rc = lookup_jobdir(m, p.job, name, &ino);
	} else if (p.what == W_HISTDIR) {
		rc = lookup_hist(m, p.job, name, &ino);
	} else {
		rc = p.what == W_NONE ? -ENOENT : -ENOTDIR;
	}
	double ttl = 0;
	if (!rc && (rc = fs_stat_ino(m, ino, NULL, &e->attr, &ttl)) && ino >= FS_INO_NODE) {
		pthread_mutex_lock(&m->lock);
		fs_node_forget(m, ino, 1); /* the reply that would have counted it fails */
		pthread_mutex_unlock(&m->lock);
	}
	if (rc)
		return rc;
	e->ino = ino;
	e->attr_timeout = ttl;
	/* A table node other than a link is replaced once opened: its name
	 * must be looked up again each time. */
	e->entry_timeout = ino >= FS_INO_NODE && !S_ISLNK(e->attr.st_mode) ? FS_TTL_NONE
									 : FS_TTL_STATIC;
	return 0;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int rc = fs_entry(fs_me(req), parent, name, &e);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_entry(req, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs_mount *m = fs_me(req);
	pthread_mutex_lock(&m->lock);
	fs_node_forget(m, ino, nlookup);
	pthread_mutex_unlock(&m->lock);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct fs_mount *m = fs_me(req);
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < count; i++)
		fs_node_forget(m, forgets[i].ino, forgets[i].nlookup);
	pthread_mutex_unlock(&m->lock);
	fuse_reply_none(req);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs_ident id;
	int rc = fs_ident_of(fs_me(req), ino, &id);
	if (!rc && (id.what != W_LINK || !id.named || !id.name_job))
		rc = id.what == W_LINK ? -ENOENT : -EINVAL;
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", (long long)id.name_job);
	fuse_reply_readlink(req, buf);
}

/* ---- xattr: user.anafs.job, the job a file belongs to ---- */

#define FS_XATTR_JOB "user.anafs.job"

/* The job of ino for the attribute: a draft's last submission, the
 * newest job of a name, the job of a job's file; 0: none. */
static int64_t xattr_job(struct fs_mount *m, fuse_ino_t ino)
{
	struct fs_ident id;
	if (fs_ident_of(m, ino, &id) || id.what == W_SCRATCH || id.what <= W_JOBS)
		return 0;
	if (id.what == W_QFILE && id.bound && id.job)
		return id.job;
	if (id.what == W_QFILE || id.what == W_LINK)
		return id.name_job;
	return id.job;
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	int64_t job = strcmp(name, FS_XATTR_JOB) ? 0 : xattr_job(fs_me(req), ino);
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld", (long long)job);
	if (!job)
		fuse_reply_err(req, ENODATA);
	else if (!size)
		fuse_reply_xattr(req, (size_t)n);
	else if (size < (size_t)n)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	size_t n = xattr_job(fs_me(req), ino) ? sizeof(FS_XATTR_JOB) : 0;
	if (!size)
		fuse_reply_xattr(req, n);
	else if (size < n)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, FS_XATTR_JOB, n);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	fuse_reply_err(req, ENOTSUP);
	(void)ino, (void)name, (void)value, (void)size, (void)flags;
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, ENOTSUP);
	(void)ino, (void)name;
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv = {.f_bsize = 4096, .f_frsize = 4096, .f_namemax = NAME_MAX};
	fuse_reply_statfs(req, &sv);
	(void)ino;
}

/* The operations of this file, for the table in fs_main.c. */
void fs_ll_ops(struct fuse_lowlevel_ops *ops)
{
	ops->lookup = op_lookup;
	ops->forget = op_forget;
	ops->forget_multi = op_forget_multi;
	ops->getattr = op_getattr;
	ops->readlink = op_readlink;
	ops->getxattr = op_getxattr;
	ops->listxattr = op_listxattr;
	ops->setxattr = op_setxattr;
	ops->removexattr = op_removexattr;
	ops->statfs = op_statfs;
}
