/* store.h — the job store: one sqlite database (WAL) holding jobs, their
 * tasks, merged results, cutflows and logs, with a schema version and
 * migrations.  A task's result is merged and the task marked done in one
 * transaction, so a daemon killed at any moment resumes from its last
 * merged task with nothing counted twice or lost.
 *
 * Thread safety: a struct store may be used from several threads; calls
 * are serialized inside.
 *
 * Errors.  Every call returns 0 (or the count it documents) on success
 * and a negative code on failure; a call that fails changes nothing (its
 * transaction is rolled back whole) and writes none of its out-params.
 * Besides the errors each call lists, any call may return:
 *   -ENOSPC       no space left in the state directory (disk full, or a
 *                 quota); the store works again once space is freed
 *   -ENOMEM       out of memory
 *   -EIO          a read or write of the database failed
 *   -EROFS        the database cannot be written
 *   -EAGAIN       another process held the database locked for more than
 *                 5 s (one daemon per state directory: not expected)
 *   ANA_EDAMAGED  the rows the call reads or writes are on a damaged page
 *                 of the database (ana_err.h)
 * ana_strerror() gives the text of each. */
#ifndef ANAFS_STORE_H
#define ANAFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 6

enum job_status {
	JOB_QUEUED = 0,
	JOB_RUNNING,
	JOB_PAUSED,
	JOB_DONE,
	JOB_FAILED,
	JOB_CANCELLED,
	JOB_INVALID,
};

/* "queued", "running", "paused", "done", "failed", "cancelled", "invalid". */
const char *job_status_name(enum job_status s);
bool job_status_terminal(enum job_status s); /* done, failed, cancelled, invalid */

struct store;

/* Open (creating and migrating as needed) the database at path
 * (":memory:": a database in memory, gone at store_close(), for `anafs
 * run`).  *out is new: store_close().  Returns 0, or an error with msg
 * (cap bytes) saying why:
 *   -errno from creating or opening the file (-ENOENT: no such
 *   directory, -EACCES), -EPROTO for a database that is not anafs's or
 *   has a schema version this anafs does not know, ANA_EDAMAGED for a
 *   file that is not a database or is damaged beyond use (msg: "PATH is
 *   not a database or is damaged beyond use: ..."), or the errors above.
 *
 * The database file and its -wal and -shm files are made readable and
 * writable by their owner only (0600), whatever the umask and the
 * directory's mode: the file is created 0600 before sqlite opens it
 * (sqlite gives -wal and -shm the database's mode), and files left looser
 * are tightened.  The directory's own mode is the caller's.
 *
 * Damage.  Every open runs PRAGMA quick_check, which reads every page:
 * its cost grows with the database's size, about 25 ms (55 ms for the
 * first open) for 1,000 jobs with 100,000 tasks and 16 KB results, a
 * 20 MB file in the page cache; from a cold disk add reading the file
 * once (test_store_open --bench).  When it finds damage the open still
 * succeeds: the jobs whose rows cannot all be read are found (reading
 * every row of every job), marked failed where their record can be
 * written, with the error "the job's record in the state database is
 * damaged (...); its results may be lost" and a log line, and
 * store_damaged() lists them. */
int store_open(const char *path, struct store **out, char *msg, size_t cap);
void store_close(struct store *st);

/* What store_open()'s check found: *ids (new, free(); ascending) the jobs
 * a damaged page affects, and summary (cap bytes, may be NULL) one line
 * for the daemon's log naming the file, the problem and the jobs; ""
 * and no ids when the check passed.  Returns 0 or -ENOMEM. */
int store_damaged(struct store *st, int64_t **ids, size_t *n, char *summary, size_t cap);

struct job_info {
	int64_t id;
	char name[256];          /* from the submitted file name, without .query */
	uint32_t uid;            /* who submitted it */
	enum job_status status;
	double created, started, finished; /* Unix seconds; 0: not yet */
	double status_changed;   /* when status last changed */
	double result_changed;   /* when the merged result last changed */
	int64_t events_total, events_done;
	int tasks_total, tasks_done;
	int64_t result_version;  /* +1 at each merge */
	uint32_t gid;            /* the submitter's group */
	bool planned;            /* its files and tasks are recorded */
	int64_t reused_from;     /* the job whose result it took (0: none) */
	bool fresh;              /* never takes another job's result (`rerun`) */
};

/* A bit set of statuses, for store_job_transition(). */
#define JOB_MASK(s) (1u << (s))
#define JOB_MASK_ACTIVE (JOB_MASK(JOB_QUEUED) | JOB_MASK(JOB_RUNNING) | JOB_MASK(JOB_PAUSED))

/* A new job.  error may be NULL (a job that is invalid gets its error
 * here; cut to 8 KB).  basedir: where relative dataset paths start.  *id:
 * the new id.  The name is cut to 255 bytes.  -EINVAL for no name or a
 * bad status, -EFBIG for a query over 1 MiB. */
int store_job_create(struct store *st, const char *name, uint32_t uid, uint32_t gid,
		     const char *query, size_t len, const char *basedir, enum job_status status,
		     const char *error, int64_t *id);

/* Fill *out for job id; -ENOENT when there is none. */
int store_job_get(struct store *st, int64_t id, struct job_info *out);

/* The job's query text, base directory and error ("" when none); each new
 * (malloc), NULL allowed for what is not wanted; *len is the query's
 * length, also when query is NULL (nothing is copied then).  -ENOENT for
 * no such job. */
int store_job_text(struct store *st, int64_t id, char **query, size_t *len, char **basedir,
		   char **error);

/* Every job id, ascending.  *ids is new (free()).  Pages of the jobs table
 * that cannot be read are stepped over: the ids that can be read, with
 * those of the jobs store_damaged() lists or whose record is now found
 * damaged (reading those may then fail with ANA_EDAMAGED). */
int store_jobs(struct store *st, int64_t **ids, size_t *n);

/* Move job id to status to (and set its error when not NULL, cut to 8 KB),
 * stamping started/finished as the status implies, provided its status
 * now is in from (a JOB_MASK() set): else -EBUSY and nothing changes.
 * -ENOENT for no such job, -EINVAL for a bad status. */
int store_job_transition(struct store *st, int64_t id, unsigned from, enum job_status to,
			 const char *error);

/* A file a job planned, with the identity it had then. */
struct store_file {
	char *url;            /* as opened */
	char *tree;           /* the tree read in it ("" when not recorded) */
	int64_t entries;
	uint64_t size;        /* bytes; 0 with fingerprint 0: not recorded */
	int64_t mtime_ns;
	uint64_t fingerprint; /* rootio_tree_fingerprint() */
};

/* A task: entries [first, last) of file (an index into the job's files). */
struct store_task {
	int file;
	int64_t first, last;
	bool done;
};

/* Record the planned files and tasks of job id (once; in one
 * transaction), with the events they hold together; the job is then
 * planned.  -EEXIST when it was planned already, -ENOENT for no such job,
 * -EINVAL for a file without a url, a task whose file is not one of f or
 * whose range is backwards, or negative events. */
int store_job_plan(struct store *st, int64_t id, const struct store_file *f, size_t nf,
		   const struct store_task *t, size_t nt, int64_t events_total);

/* The files and the tasks recorded for job id, in their order: *f, *t
 * are new (store_files_free(), free()); none before it is planned.
 * -ENOENT for no such job. */
int store_job_files(struct store *st, int64_t id, struct store_file **f, size_t *n);
void store_files_free(struct store_file *f, size_t n);
int store_job_tasks(struct store *st, int64_t id, struct store_task **t, size_t *n);

/* Task idx of job id is merged: in one transaction, the task is marked
 * done, the job's result becomes result (len bytes) and its counts grow by
 * events; with job_done the job becomes done (finished stamped) in the
 * same transaction.  Returns 0; 1 when the task was done already (nothing
 * changes: a late duplicate); -EBUSY while the job is not queued, running
 * or paused (a job that is over never changes); -ENOENT for no such job
 * or task; -EINVAL for a negative idx or events; -EFBIG for a result
 * over sqlite's limit (1e9 bytes); -ENOSPC when the state directory is
 * full: the job keeps its previous result, whole. */
int store_task_commit(struct store *st, int64_t id, int idx, const void *result, size_t len,
		      int64_t events, bool job_done);

/* Task idx of job id is left out (its query says on_error skip and it
 * kept failing): as store_task_commit() with no events, the result
 * (len bytes: the job's merged result, unchanged) written again, and why
 * recorded (cut to 4 KB) for store_job_skipped().  The same returns. */
int store_task_skip(struct store *st, int64_t id, int idx, const void *result, size_t len,
		    const char *why, bool job_done);

/* A task left out: its index, file, entries and why. */
struct store_skip {
	int idx;
	char *url;
	int64_t first, last;
	char *why;
};
/* The tasks job id left out, by index: *out new (store_skips_free()).
 * -ENOENT for no such job. */
int store_job_skipped(struct store *st, int64_t id, struct store_skip **out, size_t *n);
void store_skips_free(struct store_skip *v, size_t n);

/* What the disk cache did for a job's reads, summed over its tasks' tries
 * (src_tally() on the workers). */
struct store_cache {
	uint64_t hits, misses;       /* block reads served by the cache / fetched */
	uint64_t bytes_hit, bytes_fetched;
	uint64_t bytes_prefetched;   /* of blocks prefetched ahead, used by the reads */
};
/* to += d, field by field. */
static inline void store_cache_sum(struct store_cache *to, const struct store_cache *d)
{
	to->hits += d->hits;
	to->misses += d->misses;
	to->bytes_hit += d->bytes_hit;
	to->bytes_fetched += d->bytes_fetched;
	to->bytes_prefetched += d->bytes_prefetched;
}
/* Add d to job id's figures.  -ENOENT for no such job. */
int store_job_cache_add(struct store *st, int64_t id, const struct store_cache *d);
/* Job id's figures (all zero before any was added).  -ENOENT for no such
 * job. */
int store_job_cache(struct store *st, int64_t id, struct store_cache *out);

/* Reusing results (store_reuse.c).  A job planned records its reuse key
 * (what makes its result: the query's normal text, its files' identities,
 * its tasks); a later job of the same owner and key takes the result of
 * the newest such job that is done with every task merged and none left
 * out.  A job marked fresh never takes one. */
int store_job_set_fresh(struct store *st, int64_t id);
int store_job_set_reuse_key(struct store *st, int64_t id, const char *key);
/* The newest done job of uid with key, other than id: *from (0: none). */
int store_job_find_reuse(struct store *st, const char *key, uint32_t uid, int64_t id,
			 int64_t *from);
/* Job id (planned, not over) takes result (len bytes, job from's): in one
 * transaction every task done, the result stored, its counts complete and
 * reused_from set; the caller then makes it done.  -EBUSY when it is over
 * or not planned, -ENOENT for no such job. */
int store_job_reuse(struct store *st, int64_t id, int64_t from, const void *result, size_t len);

/* The job's merged result (NULL, 0 before the first merge). *data is new.
 * -ENOENT for no such job. */
int store_job_result(struct store *st, int64_t id, void **data, size_t *len,
		     int64_t *version);

/* Append a line to the job's log (timestamped now; newlines become
 * spaces, cut to 4 KB).  -ENOENT for no such job; a full disk is
 * -ENOSPC, as for any write: what to do then is the caller's choice. */
int store_log(struct store *st, int64_t id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The job's log as text, one "YYYY-MM-DDTHH:MM:SSZ message" line per entry.
 * *text is new. *last: time of the last line (0 when none).  -ENOENT for
 * no such job. */
int store_job_log(struct store *st, int64_t id, char **text, size_t *len, double *last);

#endif
