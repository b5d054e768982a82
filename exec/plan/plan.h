/* plan.h — a job planned into tasks.
 *
 * Planning parses the query, expands its dataset (globs; relative paths
 * start at the base folder), checks every file (a regular file, readable
 * by the submitter when access is checked, holding the tree and every
 * branch the query reads with the types and shapes it was checked with),
 * records each file's identity (size, modification time, the tree's
 * fingerprint), checks the query against the first file's branches,
 * compiles it, and cuts each file's entries into tasks that end on basket
 * boundaries.  Files are opened one at a time while planning and closed
 * again: a task opens its file when it runs (worker/runner.h).
 *
 * Thread safety: a plan is immutable once made, but for its table of files
 * open for the runners (plan_file_open(), under a lock of its own);
 * threads share it by reference (plan_ref(), plan_unref()). */
#ifndef ANAFS_PLAN_H
#define ANAFS_PLAN_H

#include "eval.h"
#include "ql.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PLAN_MAX_FILES 100000
#define PLAN_BATCH 8192 /* events per evaluation batch */

/* A file of the dataset, with the identity it had when planned. */
struct plan_file {
	const char *url;      /* as opened: a clean absolute path, or a URL */
	const char *tree;     /* the tree read in it */
	int64_t entries;
	uint64_t size;        /* 0 together with fingerprint 0: not recorded */
	int64_t mtime_ns;
	uint64_t fingerprint; /* rootio_tree_fingerprint() */
	int sample;           /* its sample (0 when the query names none): found from the
			       * URL by plan_resume(), so not recorded */
};

/* Entries [first, last) of file. */
struct plan_task {
	int file;
	int64_t first, last;
};

struct plan_opts {
	const char *basedir;   /* where relative dataset paths start ("." if NULL) */
	const char *base_desc; /* what basedir is, for hints ("the query's folder") */
	const char *filename;  /* the query's name in errors ("dimuon.query") */
	int64_t task_events;   /* events per task, about; 0: a default */
	bool check_access;     /* a file must be readable by uid/gid, not only by us */
	/* plan_resume(): do not ask the server whether a remote file is still
	 * the one recorded; its source checks that at the first read the disk
	 * cache cannot serve (src_open_known()).  A worker's plan, so that a
	 * task whose data its node's cache holds sends the server nothing. */
	bool remote_lazy;
	uid_t uid;
	gid_t gid;
	/* Called after each file is checked; a non-zero return stops planning
	 * with -ECANCELED.  May be NULL. */
	int (*progress)(void *ctx, size_t done, size_t total);
	void *ctx;
};

struct plan;

/* Plan query text (len bytes).  Returns 0 with *out (new: plan_unref());
 * -EINVAL with err filled for anything wrong with the query or its
 * dataset (a syntax error, no file matching a pattern, a file that is not
 * a regular file, cannot be read or lacks a branch, a branch unknown to
 * the first file): err->text is file:line:col, the line, a caret and a
 * hint; -ECANCELED when progress said stop; -ENOMEM. */
int plan_new(const char *text, size_t len, const struct plan_opts *o, struct plan **out,
	     struct ql_error *err);

/* Plan a job again from what was recorded: the same files (not expanded
 * again) and tasks.  Each file's size and modification time are compared
 * with the recorded ones, and the first file's tree (read for its
 * branches) with its fingerprint; the others' fingerprints are compared
 * when a task opens them.  Returns 0 with *out; ANA_ECHANGED with why
 * (cap bytes) naming the file and what changed; -EINVAL with why for a
 * query or file that no longer checks; -ENOMEM. */
int plan_resume(const char *text, size_t len, const struct plan_opts *o,
		const struct plan_file *files, size_t nfiles, const struct plan_task *tasks,
		size_t ntasks, struct plan **out, char *why, size_t cap);

/* Another reference to p (returned); plan_unref() drops one and frees the
 * plan with the last.  NULL is allowed. */
struct plan *plan_ref(struct plan *p);
void plan_unref(struct plan *p);

const struct ql_query *plan_query(const struct plan *p);
const struct eval_prog *plan_prog(const struct plan *p);
/* The program of sample s (each sample's is checked against its own
 * files: conditions on is_data and the sample are decided there), NULL
 * when this plan has no file of it; and what its input i must be. */
const struct eval_prog *plan_sample_prog(const struct plan *p, int s);
const struct ql_column *plan_sample_input(const struct plan *p, int s, size_t i);
size_t plan_ntasks(const struct plan *p);
const struct plan_task *plan_task(const struct plan *p, size_t i);
size_t plan_nfiles(const struct plan *p);
const struct plan_file *plan_file(const struct plan *p, size_t i);
int64_t plan_events(const struct plan *p); /* in every task together */
/* The query's text (*len bytes) and the base folder it was planned with:
 * what a worker in another process plans its task from (borrowed). */
const char *plan_text(const struct plan *p, size_t *len);
const char *plan_basedir(const struct plan *p);
/* What task i is: a hash of the query's text, its file's URL and identity
 * (size, modification time, fingerprint) and its entries.  The same task
 * has the same digest in every plan of it (a worker's plan of that one
 * file, a resumed job's), so a result is matched to the very task it was
 * computed for. */
uint64_t plan_task_digest(const struct plan *p, size_t i);
/* The digest of entries t of one of p's files (t->file must be one), as
 * plan_task_digest() gives it for a task of those entries. */
uint64_t plan_digest_of(const struct plan *p, const struct plan_task *t);
/* The key a result of p is reused by (plan_key.c): 32 hex digits into out
 * (cap >= 33).  -ENOENT when p cannot have one (a file without a recorded
 * identity, a correction file gone), -EINVAL for a text that does not lex,
 * -ENOMEM. */
int plan_reuse_key(const struct plan *p, char *out, size_t cap);
/* What program input i must be in every file: the schema column the
 * query was checked with (borrowed). */
const struct ql_column *plan_input(const struct plan *p, size_t i);

/* The tree the query means in file f: `tree` if given, else Events, else
 * the file's only tree. */
struct rootio_file;
const char *plan_pick_tree(const struct ql_query *q, struct rootio_file *f);

/* File i opened for reading, shared by every runner of the plan (one
 * mapping, one descriptor, whatever the number of workers on it): the
 * first open checks it is still a regular file of the size and
 * modification time planned.  *out is borrowed until plan_file_release();
 * the file is closed once its last user lets it go.  Returns 0,
 * ANA_ECHANGED or another negative code, with msg naming the file. */
struct rootio_file;
int plan_file_open(struct plan *p, size_t i, struct rootio_file **out, char *msg, size_t cap);
void plan_file_release(struct plan *p, size_t i);

/* Prefetching ahead, shared by the plan's runners in one process: claim
 * task i's hint to the disk cache; true for the first to ask (every task
 * is hinted once, by whichever runner's window reaches it first). */
bool plan_hint(struct plan *p, size_t i);

/* The sum of genEventSumw over the Runs tree of file f into *sum (NULL:
 * only whether there is one): 0, or -ENOENT when f has none. */
int plan_runs_sumw(struct rootio_file *f, double *sum);

/* Whether branch b of a file has the shape and type column c was checked
 * with (the same test planning makes of every file). */
struct rootio_tree;
bool plan_column_matches(const struct rootio_tree *t, int b, const struct ql_column *c);

#endif
