/* plan_int.h — what the planner's files share. */
#ifndef ANAFS_PLAN_INT_H
#define ANAFS_PLAN_INT_H

#include "plan.h"

#include "arena.h"
#include "rootio.h"

#include <pthread.h>
#include <stdatomic.h>

struct plan {
	atomic_int refs;
	struct ql_query *q;
	struct eval_prog *prog;
	struct arena *arena;       /* file names, the schema */
	struct plan_file *files;
	size_t nfiles, capf;
	struct ql_column *cols;    /* schema of the first file */
	size_t ncols;
	/* Per sample (one without samples; [0] is q, prog, cols): the query
	 * checked and compiled for that sample against the schema of its
	 * first file here (no program for a sample with no file here). */
	int nq;
	struct ql_query **qs;
	struct eval_prog **progs;
	struct ql_column **scols;
	size_t *nscols;
	struct plan_task *tasks;
	size_t ntasks, capt;
	int64_t events;
	const char *text;          /* the query (arena), text_len bytes */
	size_t text_len;
	const char *basedir;       /* where relative paths start (arena) */
	/* Files open for the runners, shared (plan_open.c), under open_mu. */
	pthread_mutex_t open_mu;
	struct plan_open *open;    /* per file, made at the first open; NULL before */
	atomic_size_t hinted;      /* tasks below it hinted to the disk cache (plan_hint()) */
};

struct plan_open {
	struct rootio_file *f;
	int users;
};

/* Close what is still open (at the plan's end). */
void plan_open_free(struct plan *p);

/* Fail planning with msg at the query's dataset line: -EINVAL. */
int plan_fail(struct ql_error *err, const struct ql_query *q, const char *hint, const char *fmt,
	      ...) __attribute__((format(printf, 4, 5)));

/* plan_fail() at the line of file i's sample (the dataset line without
 * samples). */
int plan_file_fail(struct plan *p, struct ql_error *err, size_t i, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- the dataset (plan_files.c) ---- */

/* Expand q's dataset words into p->files (url, size, mtime): URLs as
 * written; paths joined to o->basedir, globs expanded (matches in order),
 * each made a clean absolute path; every file checked to be a regular file
 * that the submitter may read (o->check_access).  -EINVAL with err. */
int plan_expand(struct plan *p, const struct plan_opts *o, struct ql_error *err);

/* The sample of the file called url: the first whose dataset words name
 * it (0 for a query without samples), -1 when none does. */
int plan_sample_of(const struct ql_query *q, const struct plan_opts *o, const char *url);

/* Check that recorded file f is still what it was: a regular file the
 * submitter may read, of the recorded size and modification time.
 * Returns 0, ANA_ECHANGED or -EINVAL / -EACCES with why. */
int plan_file_unchanged(const struct plan_file *f, const struct plan_opts *o, char *why,
			size_t cap);

/* Open pf's file for reading its trees: a remote one whose identity the
 * plan holds through src_open_known() (nothing is sent while the disk
 * cache has what is read; the first read from the server checks size and
 * time), anything else with rootio_open().  0, or a code with why. */
int plan_rootio_open(const struct plan_file *pf, struct rootio_file **out, char *why, size_t cap);

/* Whether file f's recorded size and modification time are now's:
 * 0, or ANA_ECHANGED with why naming the file. */
int plan_same_identity(const struct plan_file *f, const struct plan_file *now, char *why,
		       size_t cap);

/* The path shown in messages for a dataset word: joined to basedir and
 * cleaned of "." and ".." (lexically), into out. */
void plan_display_path(const char *basedir, const char *word, char *out, size_t cap);

#endif
