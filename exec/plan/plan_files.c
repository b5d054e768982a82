/* plan_files.c — a query's dataset as files: paths joined to the base
 * folder and cleaned, globs expanded, and every file checked before a byte
 * of it is read: a regular file (a FIFO would block, a device never ends),
 * readable by the submitter when the mount is shared (--allow-other), so
 * that no message ever carries the size or the bytes of a file its reader
 * may not read.
 *
 * The submitter's rights are checked from the mode bits of the file and of
 * every folder above it, with the submitter's groups (POSIX ACLs are not
 * read; docs/mount.md says so).  A pattern's matches also need the right
 * to list each folder whose entries the pattern matched. */
#include "plan_int.h"

#include "ana_err.h"
#include "src.h"

#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_GROUPS 256

/* ---- paths ---- */

static bool is_url(const char *s)
{
	return strstr(s, "://") != NULL;
}

static bool has_wildcard(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '*' || s[i] == '?' || s[i] == '[')
			return true;
	return false;
}

/* Clean absolute path p in place, lexically: "//" and "/./" collapse,
 * "x/.." goes.  Only for what is shown and for patterns: files are made
 * clean through realpath() of their folder (clean_file()). */
static void clean_lexically(char *p)
{
	char *out = p, *in = p;
	while (*in) {
		while (*in == '/')
			in++;
		const char *seg = in;
		while (*in && *in != '/')
			in++;
		size_t n = (size_t)(in - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > p && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, n);
		out += n;
	}
	if (out == p)
		*out++ = '/';
	*out = '\0';
}

/* basedir/word (word when absolute), cleaned lexically. */
void plan_display_path(const char *basedir, const char *word, char *out, size_t cap)
{
	char base[PATH_MAX];
	if (word[0] == '/' || is_url(word)) {
		snprintf(out, cap, "%s", word);
	} else {
		if (!basedir || !*basedir)
			basedir = ".";
		if (basedir[0] != '/' && realpath(basedir, base))
			basedir = base;
		snprintf(out, cap, "%s/%s", basedir, word);
	}
	if (!is_url(out) && out[0] == '/')
		clean_lexically(out);
}

/* path with its folder resolved (symbolic links, "." and ".."), as the
 * kernel would; path itself when its folder does not resolve. */
static void clean_file(const char *path, char *out, size_t cap)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash = strrchr(path, '/');
	snprintf(out, cap, "%s", path);
	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (!realpath(dir[0] ? dir : "/", real))
		return;
	size_t a = strcmp(real, "/") ? strlen(real) : 0, b = strlen(slash);
	if (a + b < cap) { /* slash + 1 is the name: b counts the slash */
		memcpy(out, real, a);
		memcpy(out + a, slash, b + 1);
	}
}

/* ---- the submitter's rights ---- */

struct who {
	bool check;
	uid_t uid;
	gid_t gids[MAX_GROUPS];
	int ngids;
};

static void who_init(struct who *w, const struct plan_opts *o)
{
	memset(w, 0, sizeof(*w));
	w->check = o->check_access && o->uid != 0;
	w->uid = o->uid;
	w->gids[0] = o->gid;
	w->ngids = 1;
	if (!w->check)
		return;
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwuid_r(o->uid, &pw, buf, sizeof(buf), &res) == 0 && res) {
		int n = MAX_GROUPS - 1;
		if (getgrouplist(pw.pw_name, o->gid, w->gids + 1, &n) >= 0)
			w->ngids = 1 + n;
	}
}

/* Whether w may use st's permission bit of class want (4 read, 1 search). */
static bool allowed(const struct who *w, const struct stat *st, unsigned want)
{
	if (!w->check)
		return true;
	if (st->st_uid == w->uid)
		return (st->st_mode >> 6 & want) == want;
	for (int i = 0; i < w->ngids; i++)
		if (st->st_gid == w->gids[i])
			return (st->st_mode >> 3 & want) == want;
	return (st->st_mode & want) == want;
}

/* Whether w may search every folder above absolute path p, and list the
 * folder at level j (0: "/") where listed[j] (j < nlisted) is true. */
static int may_reach(const struct who *w, const char *p, const bool *listed, int nlisted)
{
	if (!w->check)
		return 0;
	char dir[PATH_MAX];
	int level = 0;
	for (const char *s = p; s; s = strchr(s + 1, '/'), level++) {
		size_t n = (size_t)(s - p);
		snprintf(dir, sizeof(dir), "%.*s", (int)(n ? n : 1), n ? p : "/");
		struct stat st;
		if (stat(dir, &st))
			return -errno;
		unsigned want = 1 | (level < nlisted && listed[level] ? 4 : 0);
		if (!allowed(w, &st, want))
			return -EACCES;
	}
	return 0;
}

/* ---- one file ---- */

static const char *kind_name(mode_t m)
{
	return S_ISDIR(m) ? "a folder" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device"
	       : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

/* Check file path (clean, absolute) and fill its identity; 0, or an error
 * code with why (cap bytes) that never tells more than w may know. */
static int check_path(const struct who *w, const char *path, const bool *listed, int nlisted,
		      struct plan_file *f, char *why, size_t cap)
{
	int rc = may_reach(w, path, listed, nlisted);
	if (rc == -EACCES) {
		snprintf(why, cap, "%s: permission denied (uid %u may not read it)", path,
			 (unsigned)w->uid);
		return rc;
	}
	struct stat st;
	if (rc || stat(path, &st)) {
		rc = rc ? rc : -errno;
		snprintf(why, cap, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (!allowed(w, &st, 4)) {
		snprintf(why, cap, "%s: permission denied (uid %u may not read it)", path,
			 (unsigned)w->uid);
		return -EACCES;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, cap, "%s: %s, not a ROOT file", path, kind_name(st.st_mode));
		return -EINVAL;
	}
	f->size = (uint64_t)st.st_size;
	f->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return 0;
}

static int add_file(struct plan *p, const char *url, const struct plan_file *id)
{
	if (p->nfiles == PLAN_MAX_FILES)
		return -E2BIG;
	if (p->nfiles == p->capf) {
		size_t cap = p->capf ? 2 * p->capf : 16;
		struct plan_file *v = realloc(p->files, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->files = v;
		p->capf = cap;
	}
	struct plan_file *f = &p->files[p->nfiles];
	*f = *id;
	if (!(f->url = arena_strndup(p->arena, url, strlen(url))))
		return -ENOMEM;
	p->nfiles++;
	return 0;
}

/* ---- the dataset ---- */

/* Per level of the components of pattern (from the root), whether it
 * holds a wildcard: its folder's entries are listed to match it. */
static int pattern_levels(const char *pattern, bool *listed, int max)
{
	int n = 0;
	for (const char *s = pattern; *s && n < max;) {
		while (*s == '/')
			s++;
		const char *e = s;
		while (*e && *e != '/')
			e++;
		if (e == s)
			break;
		listed[n++] = has_wildcard(s, (size_t)(e - s));
		s = e;
	}
	return n;
}

/* "relative paths start at /home/u/analysis (the folder anafs mount ran in)" */
static void base_hint(const struct plan_opts *o, char *out, size_t cap)
{
	char base[PATH_MAX];
	plan_display_path(o->basedir, ".", base, sizeof(base));
	snprintf(out, cap, "check the path; relative paths start at %s (%s)", base,
		 o->base_desc ? o->base_desc : "the base folder");
}

/* One file from a word: checked, cleaned, added.  -EINVAL with err. */
static int take_file(struct plan *p, const struct plan_opts *o, const struct who *w,
		     const char *path, const bool *listed, int nlisted, struct ql_error *err)
{
	char clean[PATH_MAX], why[PATH_MAX + 128];
	struct plan_file id = {0};
	clean_file(path, clean, sizeof(clean));
	int rc = check_path(w, clean, listed, nlisted, &id, why, sizeof(why));
	if (!rc)
		rc = add_file(p, clean, &id);
	if (rc == -E2BIG)
		return plan_fail(err, p->q, "split the dataset into several jobs",
				 "more than %d files", PLAN_MAX_FILES);
	if (rc && rc != -ENOMEM) {
		char hint[PATH_MAX + 128];
		base_hint(o, hint, sizeof(hint));
		return plan_fail(err, p->q, rc == -ENOENT ? hint : NULL, "%s", why);
	}
	return rc;
}

static int expand_glob(struct plan *p, const struct plan_opts *o, const struct who *w,
		       const char *word, const char *pattern, struct ql_error *err)
{
	bool listed[PATH_MAX / 2];
	int nlisted = pattern_levels(pattern, listed, (int)(sizeof(listed) / sizeof(listed[0])));
	glob_t g;
	int gr = glob(pattern, 0, NULL, &g);
	if (gr == GLOB_NOMATCH || (gr == 0 && g.gl_pathc == 0)) {
		if (gr == 0)
			globfree(&g);
		char hint[PATH_MAX + 128];
		base_hint(o, hint, sizeof(hint));
		return plan_fail(err, p->q, hint, "dataset pattern '%s' matches no file (%s)", word,
				 pattern);
	}
	if (gr)
		return plan_fail(err, p->q, NULL, "cannot expand dataset pattern '%s' (%s)", word,
				 gr == GLOB_NOSPACE ? "out of memory" : "a folder could not be read");
	int rc = 0;
	for (size_t k = 0; !rc && k < g.gl_pathc; k++)
		rc = take_file(p, o, w, g.gl_pathv[k], listed, nlisted, err);
	globfree(&g);
	return rc;
}

/* ---- remote files ---- */

struct remote_ctx {
	struct plan *p;
	int added;
};

static int add_remote(void *ctx, const char *url, const struct src_info *info)
{
	struct remote_ctx *r = ctx;
	r->added++;
	return add_file(r->p, url, &(struct plan_file){.size = info->size,
							 .mtime_ns = info->mtime_ns});
}

/* One dataset word that is a root:// URL, with wildcards in its file name
 * or not: every file it names added with its identity (size, time). */
static int take_remote(struct plan *p, const char *d, struct ql_error *err)
{
	char msg[1024];
	struct remote_ctx r = {.p = p};
	int rc;
	if (has_wildcard(d, strlen(d))) {
		rc = src_glob(d, add_remote, &r, msg, sizeof(msg));
		if (!rc && !r.added)
			return plan_fail(err, p->q, "check the folder on the server (xrdfs HOST ls DIR)",
					 "dataset pattern '%s' matches no file", d);
	} else {
		struct src_info info;
		rc = src_stat(d, &info, msg, sizeof(msg));
		if (!rc && !info.regular) {
			snprintf(msg, sizeof(msg), "%s: not a plain file on the server", d);
			rc = -EINVAL;
		}
		if (!rc)
			rc = add_remote(&r, d, &info);
	}
	if (rc == -E2BIG)
		return plan_fail(err, p->q, "split the dataset into several jobs", "more than %d files",
				 PLAN_MAX_FILES);
	if (rc && rc != -ENOMEM)
		return plan_fail(err, p->q, NULL, "%s", msg);
	return rc;
}

/* The files of dataset words w[0..n) added to p. */
static int expand_words(struct plan *p, const struct plan_opts *o, const struct who *w,
			char *const *words, int n, struct ql_error *err)
{
	const struct ql_query *q = p->q;
	for (int i = 0; i < n; i++) {
		const char *d = words[i];
		char path[PATH_MAX];
		int rc;
		if (src_url_remote(d)) {
			if ((rc = take_remote(p, d, err)))
				return rc;
			continue;
		}
		if (is_url(d)) {
			if ((rc = add_file(p, d, &(struct plan_file){0})))
				return rc == -E2BIG ? plan_fail(err, q, NULL, "more than %d files",
								PLAN_MAX_FILES)
						    : rc;
			continue;
		}
		plan_display_path(o->basedir, d, path, sizeof(path));
		rc = has_wildcard(d, strlen(d)) ? expand_glob(p, o, w, d, path, err)
						: take_file(p, o, w, path, NULL, 0, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Whether dataset word d names file url (as plan_expand() wrote it). */
static bool word_names(const struct plan_opts *o, const char *d, const char *url)
{
	bool wild = has_wildcard(d, strlen(d));
	if (src_url_remote(d) || is_url(d))
		return wild ? fnmatch(d, url, FNM_PATHNAME) == 0 : !strcmp(d, url);
	char path[PATH_MAX], clean[PATH_MAX];
	plan_display_path(o->basedir, d, path, sizeof(path));
	clean_file(path, clean, sizeof(clean));
	if (!wild)
		return !strcmp(clean, url) || !strcmp(path, url);
	return fnmatch(clean, url, FNM_PATHNAME | FNM_PERIOD) == 0 ||
	       fnmatch(path, url, FNM_PATHNAME | FNM_PERIOD) == 0;
}

int plan_sample_of(const struct ql_query *q, const struct plan_opts *o, const char *url)
{
	for (int s = 0; s < q->nsamples; s++)
		for (int i = 0; i < q->samples[s].nfiles; i++)
			if (word_names(o, q->samples[s].files[i], url))
				return s;
	return q->nsamples ? -1 : 0;
}

int plan_expand(struct plan *p, const struct plan_opts *o, struct ql_error *err)
{
	struct ql_query *q = p->q;
	struct who w;
	who_init(&w, o);
	if (!q->nsamples)
		return expand_words(p, o, &w, q->datasets, q->ndatasets, err);
	for (int s = 0; s < q->nsamples; s++) {
		const struct ql_sample *sm = &q->samples[s];
		size_t from = p->nfiles;
		q->dataset_line = sm->line; /* where a file's error points */
		int rc = expand_words(p, o, &w, sm->files, sm->nfiles, err);
		if (rc)
			return rc;
		/* A file's sample is found again from its name alone when a job
		 * is taken up or a worker plans its task: it must be one. */
		for (size_t i = from; i < p->nfiles; i++) {
			p->files[i].sample = s;
			int k = plan_sample_of(q, o, p->files[i].url);
			if (k != s)
				return plan_fail(err, q, "list each file in one sample",
						 k < 0 ? "cannot tell the sample of %s from its name"
						       : "%s is in samples %s and %s",
						 p->files[i].url, k < 0 ? "" : q->samples[k].name, sm->name);
		}
	}
	return 0;
}

int plan_same_identity(const struct plan_file *f, const struct plan_file *now, char *why,
			 size_t cap)
{
	if (now->size != f->size) {
		snprintf(why, cap, "%s changed since the job was planned: %llu bytes then, %llu now",
			 f->url, (unsigned long long)f->size, (unsigned long long)now->size);
		return ANA_ECHANGED;
	}
	if (now->mtime_ns != f->mtime_ns) {
		snprintf(why, cap, "%s changed since the job was planned: it was modified again",
			 f->url);
		return ANA_ECHANGED;
	}
	return 0;
}

int plan_file_unchanged(const struct plan_file *f, const struct plan_opts *o, char *why,
			size_t cap)
{
	struct plan_file now = {0};
	int rc;
	if (src_url_remote(f->url)) {
		struct src_info info;
		if ((rc = src_stat(f->url, &info, why, cap)))
			return rc;
		now.size = info.size;
		now.mtime_ns = info.mtime_ns;
	} else if (is_url(f->url)) {
		return 0;
	} else {
		struct who w;
		who_init(&w, o);
		if ((rc = check_path(&w, f->url, NULL, 0, &now, why, cap)))
			return rc;
	}
	if (!f->size && !f->fingerprint)
		return 0; /* not recorded (a job of an older anafs) */
	return plan_same_identity(f, &now, why, cap);
}
