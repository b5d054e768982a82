/* fs_dir.c — directory listings, and the operations that are refused
 * everywhere (mknod, mkfifo, mkdir, symlink, link, rmdir).
 *
 * A listing is taken at opendir() and again when it is read from its
 * start (rewinddir), so that one `ls` sees one consistent directory.
 * jobs/ lists the job numbers ascending, then every other name in byte
 * order. */
#include "fs_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct list {
	struct fs_dirent *v;
	size_t n, cap;
	bool oom;
};

static void add(struct list *l, const char *name, uint64_t ino, mode_t mode)
{
	if (l->oom)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		struct fs_dirent *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			l->oom = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n].name = strdup(name))) {
		l->oom = true;
		return;
	}
	/* readdir's inode numbers are only hints (stat gives the real one);
	 * a snapshot file's changes at each open, so give a stable stand-in. */
	if (!ino) {
		uint64_t h = 1469598103934665603ULL;
		for (const char *p = name; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		ino = (1ULL << 61) | (h >> 4);
	}
	l->v[l->n].ino = ino;
	l->v[l->n++].mode = mode;
}

static void free_list(struct fs_dirent *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct fs_dirent *)a)->name, ((const struct fs_dirent *)b)->name);
}

static void list_jobs(struct fs_mount *m, struct list *l)
{
	int64_t *ids = NULL;
	size_t n = 0;
	if (!store_jobs(m->ctx.st, &ids, &n))
		for (size_t i = 0; i < n; i++) { /* ascending: numeric order */
			char name[32];
			snprintf(name, sizeof(name), "%lld", (long long)ids[i]);
			add(l, name, FS_INO_JOB(ids[i], FS_JK_DIR), S_IFDIR);
		}
	free(ids);
	size_t first = l->n;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nnames; i++) {
		struct fs_name *nm = m->names[i];
		char q[FS_MAX_NAME + 8];
		snprintf(q, sizeof(q), "%s.query", nm->name);
		if (nm->job)
			add(l, nm->name, nm->link_ino, S_IFLNK);
		add(l, q, 0, S_IFREG);
	}
	for (int i = 0; i < m->nscratch; i++)
		add(l, m->scratch[i]->name, m->scratch[i]->node->ino, S_IFREG);
	pthread_mutex_unlock(&m->lock);
	if (!l->oom)
		qsort(l->v + first, l->n - first, sizeof(*l->v), by_name);
}

static void list_job(int64_t job, struct list *l)
{
	static const char *const files[] = {"query", "status", "error", "progress",
					    "progress.json", "hist.json", "cutflow", "summary",
					    "log", "ctl", "wait"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		uint64_t ino = !strcmp(files[i], "query") ? FS_INO_JOB(job, FS_JK_QUERY)
			       : !strcmp(files[i], "ctl") ? FS_INO_JOB(job, FS_JK_CTL)
			       : !strcmp(files[i], "wait") ? FS_INO_JOB(job, FS_JK_WAIT) : 0;
		add(l, files[i], ino, S_IFREG);
	}
	add(l, "hist", FS_INO_JOB(job, FS_JK_HIST), S_IFDIR);
}

static void list_hist(struct fs_mount *m, int64_t job, struct list *l)
{
	char **names = fs_hist_names(&m->ctx, job);
	for (size_t i = 0; names && names[i]; i++) {
		char f[NAME_MAX + 8];
		snprintf(f, sizeof(f), "%s.svg", names[i]);
		add(l, f, 0, S_IFREG);
		snprintf(f, sizeof(f), "%s.csv", names[i]);
		add(l, f, 0, S_IFREG);
		free(names[i]);
	}
	free(names);
	names = fs_plot_names(&m->ctx, job);
	for (size_t i = 0; names && names[i]; i++) {
		char f[NAME_MAX + 8];
		snprintf(f, sizeof(f), "%s.svg", names[i]);
		add(l, f, 0, S_IFREG);
		free(names[i]);
	}
	free(names);
}

/* The listing of directory ino into h (replacing what it had). */
static int list(struct fs_mount *m, fuse_ino_t ino, struct fs_handle *h)
{
	struct stat st;
	double ttl;
	int rc = fs_stat_ino(m, ino, NULL, &st, &ttl);
	if (rc)
		return rc;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	struct list l = {0};
	add(&l, ".", ino, S_IFDIR);
	add(&l, "..", 0, S_IFDIR);
	int64_t job = (int64_t)(ino >> 8);
	if (ino == FS_INO_ROOT) {
		add(&l, "README", FS_INO_README, S_IFREG);
		add(&l, "jobs", FS_INO_JOBS, S_IFDIR);
		add(&l, "workers", 0, S_IFREG);
		add(&l, "cache", 0, S_IFREG);
	} else if (ino == FS_INO_JOBS) {
		list_jobs(m, &l);
	} else if ((ino & 0xff) == FS_JK_DIR) {
		list_job(job, &l);
	} else {
		list_hist(m, job, &l);
	}
	if (l.oom) {
		free_list(l.v, l.n);
		return -ENOMEM;
	}
	free_list(h->ents, h->nents);
	h->ents = l.v;
	h->nents = l.n;
	return 0;
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_mount *m = fs_me(req);
	struct fs_handle *h = fs_handle_new(m);
	int rc = h ? list(m, ino, h) : -ENOMEM;
	if (rc) {
		if (h)
			fs_handle_free(m, h);
		fuse_reply_err(req, -rc);
		return;
	}
	h->kind = H_DIR;
	fi->fh = (uintptr_t)h;
	if (fuse_reply_open(req, fi) == -ENOENT)
		fs_handle_free(m, h);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct fs_mount *m = fs_me(req);
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	int rc = off == 0 ? list(m, ino, h) : 0;
	char *buf = rc ? NULL : malloc(size);
	if (rc || !buf) {
		fuse_reply_err(req, rc ? -rc : ENOMEM);
		return;
	}
	size_t used = 0;
	for (size_t i = (size_t)off; off >= 0 && i < h->nents; i++) {
		struct stat st = {.st_ino = h->ents[i].ino, .st_mode = h->ents[i].mode};
		size_t need = fuse_add_direntry(req, buf + used, size - used, h->ents[i].name, &st,
						(off_t)i + 1);
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fs_handle_free(fs_me(req), (struct fs_handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
	(void)ino;
}

int fs_parent_is_jobs(struct fs_mount *m, fuse_ino_t parent)
{
	struct stat st;
	double ttl;
	int rc = fs_stat_ino(m, parent, NULL, &st, &ttl);
	return rc ? rc : parent == FS_INO_JOBS ? 0 : -EACCES;
}

/* ---- refused everywhere: nothing but files are made under jobs/ ---- */

static void refuse(fuse_req_t req, const char *what, fuse_ino_t parent, const char *name)
{
	fs_log("refused %s of %s under inode %llu: only files can be made, under jobs/", what,
	       name, (unsigned long long)parent);
	fuse_reply_err(req, EPERM);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	refuse(req, S_ISFIFO(mode) ? "mkfifo" : "mknod", parent, name);
	(void)rdev;
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	refuse(req, "mkdir", parent, name);
	(void)mode;
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	refuse(req, "symlink", parent, name);
	(void)link;
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	refuse(req, "link", newparent, newname);
	(void)ino;
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EPERM); /* jobs cannot be deleted */
	(void)parent, (void)name;
}

void fs_dir_ops(struct fuse_lowlevel_ops *ops)
{
	ops->opendir = op_opendir;
	ops->readdir = op_readdir;
	ops->releasedir = op_releasedir;
	ops->mknod = op_mknod;
	ops->mkdir = op_mkdir;
	ops->symlink = op_symlink;
	ops->link = op_link;
	ops->rmdir = op_rmdir;
}
