/* fs_ops.c — the FUSE operations of the mount.
 *
 * Paths: /README /workers /cache /jobs/ /jobs/N/... /jobs/NAME -> N, and
 * files being written under /jobs/ (drafts).  A file's content is a
 * snapshot taken at open(); st_size is the size of what open() would take
 * now.  Files whose content changes are served with direct_io; the log is
 * append-only, so reads past the snapshot see what was appended since
 * (tail -f). */
#define FUSE_USE_VERSION 35
#include "fs.h"

#include <ctype.h>
#include <errno.h>
#include <fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct draft {
	bool used;
	char name[256];
	char *buf;
	size_t len, cap;
	uid_t uid;
	gid_t gid;
	int opens;
	bool submitted;
	bool toobig;     /* a write went past FS_MAX_QUERY: never submitted */
	double mtime;
};

struct name_map {
	char name[256];
	int64_t id;
};

struct fs_mount {
	struct fs_ctx ctx;
	struct fs_opts o;
	char mountpoint[4096], basedir[4096];
	struct fuse *fuse;
	pthread_mutex_t lock;
	struct draft drafts[FS_MAX_DRAFTS];
	struct name_map *names;
	size_t nnames, capnames;
};

struct handle {
	enum fs_file f;
	int64_t job;
	char hname[256];
	char *buf;
	size_t len;
	struct draft *d;
	bool served; /* wait: answered already */
};

static struct fs_mount *me(void)
{
	return fuse_get_context()->private_data;
}

/* ---- paths ---- */

enum kind { K_NONE, K_ROOT, K_JOBS, K_JOBDIR, K_HISTDIR, K_LINK, K_DRAFT, K_FILE };

struct where {
	enum kind k;
	enum fs_file f;
	int64_t job;
	char name[256];  /* draft or link name, histogram name */
	struct draft *d;
};

static const struct {
	const char *name;
	enum fs_file f;
} job_files[] = {
	{"query", FF_QUERY},       {"status", FF_STATUS},    {"error", FF_ERROR},
	{"progress", FF_PROGRESS}, {"progress.json", FF_PROGRESS_JSON},
	{"hist.json", FF_HIST_JSON}, {"cutflow", FF_CUTFLOW}, {"log", FF_LOG},
	{"ctl", FF_CTL},           {"wait", FF_WAIT},
};
#define NJOBFILES (sizeof(job_files) / sizeof(job_files[0]))

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Under m->lock. */
static struct draft *find_draft(struct fs_mount *m, const char *name)
{
	for (int i = 0; i < FS_MAX_DRAFTS; i++)
		if (m->drafts[i].used && !strcmp(m->drafts[i].name, name))
			return &m->drafts[i];
	return NULL;
}

/* Under m->lock: the newest job named name, or 0. */
static int64_t find_name(struct fs_mount *m, const char *name)
{
	for (size_t i = m->nnames; i-- > 0;)
		if (!strcmp(m->names[i].name, name))
			return m->names[i].id;
	return 0;
}

static void note_name(struct fs_mount *m, const char *name, int64_t id)
{
	pthread_mutex_lock(&m->lock);
	if (m->nnames == m->capnames) {
		size_t cap = m->capnames ? 2 * m->capnames : 64;
		struct name_map *v = realloc(m->names, cap * sizeof(*v));
		if (!v) {
			pthread_mutex_unlock(&m->lock);
			return;
		}
		m->names = v;
		m->capnames = cap;
	}
	snprintf(m->names[m->nnames].name, sizeof(m->names[0].name), "%s", name);
	m->names[m->nnames++].id = id;
	pthread_mutex_unlock(&m->lock);
}

static int locate(struct fs_mount *m, const char *path, struct where *w)
{
	memset(w, 0, sizeof(*w));
	w->f = FF_NONE;
	if (!strcmp(path, "/")) {
		w->k = K_ROOT;
		return 0;
	}
	if (!strcmp(path, "/README") || !strcmp(path, "/workers") || !strcmp(path, "/cache")) {
		w->k = K_FILE;
		w->f = path[1] == 'R' ? FF_README : path[1] == 'w' ? FF_WORKERS : FF_CACHE;
		return 0;
	}
	if (strncmp(path, "/jobs", 5))
		return -ENOENT;
	if (!path[5]) {
		w->k = K_JOBS;
		return 0;
	}
	if (path[5] != '/')
		return -ENOENT;
	const char *rest = path + 6, *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
	if (n == 0 || n >= sizeof(w->name))
		return -ENOENT;
	memcpy(w->name, rest, n);
	w->name[n] = 0;
	if (!all_digits(w->name)) {
		if (slash)
			return -ENOENT;
		pthread_mutex_lock(&m->lock);
		w->d = find_draft(m, w->name);
		int64_t id = w->d ? 0 : find_name(m, w->name);
		pthread_mutex_unlock(&m->lock);
		if (w->d) {
			w->k = K_DRAFT;
			return 0;
		}
		if (id) {
			w->k = K_LINK;
			w->job = id;
			return 0;
		}
		return -ENOENT;
	}
	w->job = strtoll(w->name, NULL, 10);
	struct job_info info;
	if (store_job_get(m->ctx.st, w->job, &info))
		return -ENOENT;
	if (!slash || !slash[1]) {
		w->k = K_JOBDIR;
		return 0;
	}
	const char *file = slash + 1;
	if (!strcmp(file, "hist")) {
		w->k = K_HISTDIR;
		return 0;
	}
	if (!strncmp(file, "hist/", 5)) {
		const char *h = file + 5;
		size_t hl = strlen(h);
		bool svg = hl > 4 && !strcmp(h + hl - 4, ".svg"), csv = hl > 4 && !strcmp(h + hl - 4, ".csv");
		if ((!svg && !csv) || hl - 4 >= sizeof(w->name) || strchr(h, '/'))
			return -ENOENT;
		memcpy(w->name, h, hl - 4);
		w->name[hl - 4] = 0;
		w->k = K_FILE;
		w->f = svg ? FF_SVG : FF_CSV;
		return 0;
	}
	for (size_t i = 0; i < NJOBFILES; i++)
		if (!strcmp(file, job_files[i].name)) {
			w->k = K_FILE;
			w->f = job_files[i].f;
			return 0;
		}
	return -ENOENT;
}

/* ---- attributes ---- */

static bool dynamic(enum fs_file f)
{
	return f != FF_QUERY && f != FF_README;
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct fs_mount *m = me();
	struct where w;
	int rc = locate(m, path, &w);
	if (rc)
		return rc;
	memset(st, 0, sizeof(*st));
	st->st_uid = m->o.uid;
	st->st_gid = m->o.gid;
	double mt = m->ctx.started;
	struct job_info info;
	if (w.job && !store_job_get(m->ctx.st, w.job, &info)) {
		st->st_uid = info.uid;
		mt = info.created;
	}
	switch (w.k) {
	case K_ROOT:
	case K_JOBDIR:
	case K_HISTDIR:
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		break;
	case K_JOBS:
		st->st_mode = S_IFDIR | (m->o.allow_other ? 01777 : 0755);
		st->st_nlink = 2;
		st->st_uid = m->o.uid;
		break;
	case K_LINK:
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		st->st_size = snprintf(NULL, 0, "%lld", (long long)w.job);
		break;
	case K_DRAFT:
		pthread_mutex_lock(&m->lock);
		st->st_mode = S_IFREG | 0644;
		st->st_nlink = 1;
		st->st_size = (off_t)w.d->len;
		st->st_uid = w.d->uid;
		st->st_gid = w.d->gid;
		mt = w.d->mtime;
		pthread_mutex_unlock(&m->lock);
		break;
	case K_FILE: {
		st->st_nlink = 1;
		st->st_mode = S_IFREG | (w.f == FF_CTL ? 0644 : 0444);
		struct handle *h = fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
		if (h && h->buf && w.f != FF_LOG) {
			st->st_size = (off_t)h->len;
			break;
		}
		if (w.f == FF_CTL)
			break;
		if (w.f == FF_WAIT) { /* what a read gives once the job is over */
			struct job_info ji;
			if (!store_job_get(m->ctx.st, w.job, &ji) && job_status_terminal(ji.status))
				st->st_size = (off_t)strlen(job_status_name(ji.status)) + 1;
			break;
		}
		char *buf = NULL;
		size_t len = 0;
		rc = fs_render(&m->ctx, w.job, w.f, w.name, &buf, &len, &mt);
		free(buf);
		if (rc)
			return rc;
		st->st_size = (off_t)len;
		break;
	}
	default:
		return -ENOENT;
	}
	st->st_mtim.tv_sec = (time_t)mt;
	st->st_mtim.tv_nsec = (long)((mt - (double)(time_t)mt) * 1e9);
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
	st->st_blksize = 4096;
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
	struct where w;
	int rc = locate(me(), path, &w);
	if (rc)
		return rc;
	if (w.k != K_LINK)
		return -EINVAL;
	snprintf(buf, size, "%lld", (long long)w.job);
	return 0;
}

/* ---- directories ---- */

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fs_mount *m = me();
	struct where w;
	int rc = locate(m, path, &w);
	if (rc)
		return rc;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	switch (w.k) {
	case K_ROOT:
		fill(buf, "README", NULL, 0, 0);
		fill(buf, "jobs", NULL, 0, 0);
		fill(buf, "workers", NULL, 0, 0);
		fill(buf, "cache", NULL, 0, 0);
		return 0;
	case K_JOBS: {
		int64_t *ids = NULL;
		size_t n = 0;
		if (!store_jobs(m->ctx.st, &ids, &n))
			for (size_t i = 0; i < n; i++) {
				char name[32];
				snprintf(name, sizeof(name), "%lld", (long long)ids[i]);
				fill(buf, name, NULL, 0, 0);
			}
		free(ids);
		pthread_mutex_lock(&m->lock);
		for (size_t i = 0; i < m->nnames; i++) {
			bool newest = true; /* one link per name */
			for (size_t k = i + 1; k < m->nnames; k++)
				if (!strcmp(m->names[k].name, m->names[i].name))
					newest = false;
			if (newest && !find_draft(m, m->names[i].name))
				fill(buf, m->names[i].name, NULL, 0, 0);
		}
		for (int i = 0; i < FS_MAX_DRAFTS; i++)
			if (m->drafts[i].used)
				fill(buf, m->drafts[i].name, NULL, 0, 0);
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	case K_JOBDIR:
		for (size_t i = 0; i < NJOBFILES; i++)
			fill(buf, job_files[i].name, NULL, 0, 0);
		fill(buf, "hist", NULL, 0, 0);
		return 0;
	case K_HISTDIR: {
		char **names = fs_hist_names(&m->ctx, w.job);
		for (size_t i = 0; names && names[i]; i++) {
			char f[300];
			snprintf(f, sizeof(f), "%s.svg", names[i]);
			fill(buf, f, NULL, 0, 0);
			snprintf(f, sizeof(f), "%s.csv", names[i]);
			fill(buf, f, NULL, 0, 0);
			free(names[i]);
		}
		free(names);
		return 0;
	}
	default:
		return -ENOTDIR;
	}
	(void)off;
	(void)fi;
	(void)flags;
}

/* ---- reading ---- */

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	struct fs_mount *m = me();
	struct where w;
	int rc = locate(m, path, &w);
	if (rc)
		return rc;
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	if (w.k == K_DRAFT) {
		struct handle *h = calloc(1, sizeof(*h));
		if (!h)
			return -ENOMEM;
		pthread_mutex_lock(&m->lock);
		h->d = w.d;
		w.d->opens++;
		if (fi->flags & O_TRUNC) {
			w.d->len = 0;
			w.d->toobig = false;
		}
		pthread_mutex_unlock(&m->lock);
		h->f = FF_NONE;
		fi->fh = (uintptr_t)h;
		fi->direct_io = 1;
		return 0;
	}
	if (w.k != K_FILE)
		return w.k == K_NONE ? -ENOENT : -EISDIR;
	if (writing && w.f != FF_CTL)
		return -EACCES;
	struct handle *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->f = w.f;
	h->job = w.job;
	snprintf(h->hname, sizeof(h->hname), "%s", w.name);
	if (w.f != FF_WAIT && w.f != FF_CTL) {
		double mt;
		if ((rc = fs_render(&m->ctx, w.job, w.f, w.name, &h->buf, &h->len, &mt))) {
			free(h);
			return rc;
		}
	}
	fi->fh = (uintptr_t)h;
	fi->direct_io = dynamic(w.f);
	fi->keep_cache = !dynamic(w.f);
	return 0;
}

static bool interrupted(void)
{
	return fuse_interrupted() != 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs_mount *m = me();
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (h->d) {
		pthread_mutex_lock(&m->lock);
		size_t n = (size_t)off < h->d->len ? h->d->len - (size_t)off : 0;
		n = n < size ? n : size;
		if (n)
			memcpy(buf, h->d->buf + off, n);
		pthread_mutex_unlock(&m->lock);
		return (int)n;
	}
	if (h->f == FF_WAIT) {
		if (h->served || off > 0)
			return 0;
		enum job_status s;
		int rc;
		while ((rc = coord_wait(m->ctx.sc, h->job, 200, &s)) == -ETIMEDOUT)
			if (interrupted())
				return -EINTR;
		if (rc)
			return rc;
		h->served = true;
		return snprintf(buf, size, "%s\n", job_status_name(s));
	}
	if (h->f == FF_LOG && (size_t)off >= h->len) { /* appended since open */
		char *fresh;
		size_t len;
		double mt;
		if (!fs_render(&m->ctx, h->job, FF_LOG, NULL, &fresh, &len, &mt)) {
			free(h->buf);
			h->buf = fresh;
			h->len = len;
		}
	}
	if ((size_t)off >= h->len)
		return 0;
	size_t n = h->len - (size_t)off < size ? h->len - (size_t)off : size;
	memcpy(buf, h->buf + off, n);
	return (int)n;
	(void)path;
}

/* ---- writing: queries and ctl ---- */

static bool valid_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 200 || name[0] == '.' || all_digits(name))
		return false;
	/* "12.query" would make a job named 12, which jobs/12 cannot show. */
	if (n > 6 && !strcmp(name + n - 6, ".query")) {
		char stem[256];
		snprintf(stem, sizeof(stem), "%.*s", (int)(n - 6), name);
		if (all_digits(stem))
			return false;
	}
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.' && *c != '~' &&
		    *c != '+')
			return false;
	return true;
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct fs_mount *m = me();
	if (strncmp(path, "/jobs/", 6) || strchr(path + 6, '/'))
		return -EACCES;
	const char *name = path + 6;
	if (!valid_name(name) && !(name[0] == '.' && strlen(name) < 200))
		return -EINVAL;
	struct handle *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	struct draft *d = find_draft(m, name);
	for (int i = 0; !d && i < FS_MAX_DRAFTS; i++)
		if (!m->drafts[i].used) {
			d = &m->drafts[i];
			memset(d, 0, sizeof(*d));
			d->used = true;
			snprintf(d->name, sizeof(d->name), "%s", name);
			d->uid = fuse_get_context()->uid;
			d->gid = fuse_get_context()->gid;
		}
	if (d) {
		d->len = 0;
		d->opens++;
		/* Nothing to submit before a write: a shell's `> file` closes a
		 * duplicate of the descriptor before it writes anything. */
		d->submitted = true;
		d->toobig = false;
		d->mtime = (double)time(NULL);
	}
	pthread_mutex_unlock(&m->lock);
	if (!d) {
		free(h);
		return -ENOSPC;
	}
	h->d = d;
	h->f = FF_NONE;
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	return 0;
	(void)mode;
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs_mount *m = me();
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (h->f == FF_CTL) {
		int rc = coord_control(m->ctx.sc, h->job, buf, size);
		return rc == -EBUSY ? -EINVAL : rc ? rc : (int)size;
	}
	if (!h->d)
		return -EACCES;
	if ((size_t)off + size > FS_MAX_QUERY) {
		pthread_mutex_lock(&m->lock);
		h->d->toobig = true;
		pthread_mutex_unlock(&m->lock);
		return -EFBIG;
	}
	pthread_mutex_lock(&m->lock);
	struct draft *d = h->d;
	size_t end = (size_t)off + size;
	if (end > d->cap) {
		size_t cap = d->cap ? d->cap : 4096;
		while (cap < end)
			cap *= 2;
		char *p = realloc(d->buf, cap);
		if (!p) {
			pthread_mutex_unlock(&m->lock);
			return -ENOMEM;
		}
		d->buf = p;
		d->cap = cap;
	}
	if ((size_t)off > d->len)
		memset(d->buf + d->len, 0, (size_t)off - d->len);
	memcpy(d->buf + off, buf, size);
	if (end > d->len)
		d->len = end;
	d->submitted = false;
	d->mtime = (double)time(NULL);
	pthread_mutex_unlock(&m->lock);
	return (int)size;
	(void)path;
}

static bool is_query_name(const char *name)
{
	size_t n = strlen(name);
	return n > 6 && !strcmp(name + n - 6, ".query");
}

/* Submit draft d as a job; under no lock.  Returns 0 or -EINVAL. */
static int submit(struct fs_mount *m, struct draft *d, const char *as)
{
	char name[256];
	snprintf(name, sizeof(name), "%.*s", (int)(strlen(as) - 6), as);
	pthread_mutex_lock(&m->lock);
	char *text = malloc(d->len + 1);
	size_t len = d->len;
	uid_t uid = d->uid;
	gid_t gid = d->gid;
	if (text)
		memcpy(text, d->buf ? d->buf : "", len);
	d->submitted = true;
	pthread_mutex_unlock(&m->lock);
	if (!text)
		return -ENOMEM;
	int64_t id = 0;
	struct ql_error err = {0};
	char fname[300];
	snprintf(fname, sizeof(fname), "%s.query", name);
	struct coord_submission sub = {.name = name, .filename = fname, .uid = uid, .gid = gid,
				       .text = text, .len = len, .basedir = m->basedir};
	int rc = coord_submit(m->ctx.sc, &sub, &id, &err);
	free(text);
	if (id)
		note_name(m, name, id);
	return rc;
}

static void drop_draft(struct fs_mount *m, struct draft *d)
{
	free(d->buf);
	memset(d, 0, sizeof(*d));
	(void)m;
}

static int fs_flush(const char *path, struct fuse_file_info *fi)
{
	struct fs_mount *m = me();
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (!h || !h->d)
		return 0;
	pthread_mutex_lock(&m->lock);
	bool go = is_query_name(h->d->name) && !h->d->submitted;
	bool big = h->d->toobig;
	if (go && big)
		h->d->submitted = true; /* what was cut short never runs */
	char name[256];
	snprintf(name, sizeof(name), "%s", h->d->name);
	pthread_mutex_unlock(&m->lock);
	return go && big ? -EFBIG : go ? submit(m, h->d, name) : 0;
	(void)path;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	struct fs_mount *m = me();
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (h->d) {
		pthread_mutex_lock(&m->lock);
		if (--h->d->opens == 0 && (h->d->submitted || is_query_name(h->d->name)))
			drop_draft(m, h->d);
		pthread_mutex_unlock(&m->lock);
	}
	free(h->buf);
	free(h);
	return 0;
	(void)path;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct fs_mount *m = me();
	struct where w;
	int rc = locate(m, path, &w);
	if (rc)
		return rc;
	if (w.k == K_FILE && w.f == FF_CTL)
		return 0; /* echo cancel > ctl truncates first */
	if (w.k != K_DRAFT)
		return -EACCES;
	if ((size_t)size > FS_MAX_QUERY)
		return -EFBIG;
	pthread_mutex_lock(&m->lock);
	if ((size_t)size <= w.d->len)
		w.d->len = (size_t)size;
	if (size == 0)
		w.d->toobig = false;
	pthread_mutex_unlock(&m->lock);
	return 0;
	(void)fi;
}

static int fs_rename(const char *from, const char *to, unsigned int flags)
{
	struct fs_mount *m = me();
	struct where w;
	int rc = locate(m, from, &w);
	if (rc)
		return rc;
	if (w.k != K_DRAFT || strncmp(to, "/jobs/", 6) || strchr(to + 6, '/'))
		return -EACCES;
	const char *name = to + 6;
	if (!valid_name(name))
		return -EINVAL;
	if (is_query_name(name)) { /* an editor's save: the renamed file is the query */
		rc = w.d->toobig ? -EFBIG : submit(m, w.d, name);
		pthread_mutex_lock(&m->lock);
		if (!w.d->opens)
			drop_draft(m, w.d);
		pthread_mutex_unlock(&m->lock);
		return rc;
	}
	pthread_mutex_lock(&m->lock);
	struct draft *old = find_draft(m, name);
	if (old && old != w.d && !old->opens)
		drop_draft(m, old);
	snprintf(w.d->name, sizeof(w.d->name), "%s", name);
	pthread_mutex_unlock(&m->lock);
	return 0;
	(void)flags;
}

static int fs_unlink(const char *path)
{
	struct fs_mount *m = me();
	struct where w;
	int rc = locate(m, path, &w);
	if (rc)
		return rc;
	if (w.k != K_DRAFT)
		return -EACCES;
	pthread_mutex_lock(&m->lock);
	if (w.d->opens)
		w.d->submitted = true; /* dropped at its last close */
	else
		drop_draft(m, w.d);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int fs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct where w;
	int rc = locate(me(), path, &w);
	return rc ? rc : w.k == K_DRAFT ? 0 : -EACCES;
	(void)tv;
	(void)fi;
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct where w;
	int rc = locate(me(), path, &w);
	return rc ? rc : w.k == K_DRAFT ? 0 : -EPERM;
	(void)mode;
	(void)fi;
}

static int fs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	return -EPERM;
	(void)path, (void)uid, (void)gid, (void)fi;
}

static int fs_mkdir(const char *path, mode_t mode)
{
	return -EPERM;
	(void)path, (void)mode;
}

static int fs_rmdir(const char *path)
{
	return -EPERM;
	(void)path;
}

static int fs_symlink(const char *to, const char *from)
{
	return -EPERM;
	(void)to, (void)from;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->attr_timeout = 0;
	cfg->entry_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->intr = 1;
	cfg->hard_remove = 1;
	(void)conn;
	return fuse_get_context()->private_data;
}

static const struct fuse_operations ops = {
	.init = fs_init,
	.getattr = fs_getattr,
	.readlink = fs_readlink,
	.readdir = fs_readdir,
	.open = fs_open,
	.read = fs_read,
	.create = fs_create,
	.write = fs_write,
	.flush = fs_flush,
	.release = fs_release,
	.truncate = fs_truncate,
	.rename = fs_rename,
	.unlink = fs_unlink,
	.utimens = fs_utimens,
	.chmod = fs_chmod,
	.chown = fs_chown,
	.mkdir = fs_mkdir,
	.rmdir = fs_rmdir,
	.symlink = fs_symlink,
};

/* ---- mounting ---- */

int fs_mount(const struct fs_opts *o, struct fs_mount **out, char *msg, size_t cap)
{
	struct fs_mount *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->o = *o;
	snprintf(m->mountpoint, sizeof(m->mountpoint), "%s", o->mountpoint);
	snprintf(m->basedir, sizeof(m->basedir), "%s", o->basedir ? o->basedir : ".");
	m->o.mountpoint = m->mountpoint;
	m->o.basedir = m->basedir;
	pthread_mutex_init(&m->lock, NULL);
	char opts[256];
	snprintf(opts, sizeof(opts), "fsname=anafs,subtype=anafs,default_permissions%s",
		 o->allow_other ? ",allow_other" : "");
	char *argv[] = {"anafs", "-o", opts, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	m->fuse = fuse_new(&args, &ops, sizeof(ops), m);
	fuse_opt_free_args(&args);
	if (!m->fuse) {
		snprintf(msg, cap, "cannot set up FUSE");
		free(m);
		return -EIO;
	}
	if (fuse_mount(m->fuse, m->mountpoint)) {
		snprintf(msg, cap, "cannot mount on %s (is /dev/fuse there, and fusermount3?)",
			 m->mountpoint);
		fuse_destroy(m->fuse);
		free(m);
		return -EIO;
	}
	if (fuse_daemonize(o->foreground ? 1 : 0)) {
		snprintf(msg, cap, "cannot go to the background");
		fuse_unmount(m->fuse);
		fuse_destroy(m->fuse);
		free(m);
		return -EIO;
	}
	*out = m;
	return 0;
}

static void on_intr_signal(int sig)
{
	(void)sig;
}

int fs_loop(struct fs_mount *m, struct store *st, struct coord *sc)
{
	m->ctx = (struct fs_ctx){.st = st, .sc = sc, .started = (double)time(NULL)};
	/* The names of existing jobs, oldest first, for the jobs/NAME links. */
	int64_t *ids = NULL;
	size_t n = 0;
	if (!store_jobs(st, &ids, &n))
		for (size_t i = 0; i < n; i++) {
			struct job_info info;
			if (!store_job_get(st, ids[i], &info))
				note_name(m, info.name, ids[i]);
		}
	free(ids);
	struct fuse_session *se = fuse_get_session(m->fuse);
	if (fuse_set_signal_handlers(se))
		return -EIO;
	/* libfuse interrupts a request's thread with SIGUSR1 (cfg->intr): a
	 * handler that does nothing lets `cat wait` be stopped with Ctrl-C
	 * without the default action ending the daemon. */
	struct sigaction sa = {.sa_handler = on_intr_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	struct fuse_loop_config cfg = {.clone_fd = 0, .max_idle_threads = 16};
	int rc = fuse_loop_mt(m->fuse, &cfg);
	fuse_remove_signal_handlers(se);
	return rc < 0 ? -EIO : 0;
}

void fs_unmount(struct fs_mount *m)
{
	if (!m)
		return;
	fuse_unmount(m->fuse);
	fuse_destroy(m->fuse);
	for (int i = 0; i < FS_MAX_DRAFTS; i++)
		free(m->drafts[i].buf);
	free(m->names);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
