/* fs_int.h — the mount's private parts, shared by the files of fs/.
 *
 * Locks (never two at once, and none held across a call into the store,
 * the coordinator or libfuse's reply and notify functions):
 *   m->lock       the inode table, the names, scratch files, draft counts
 *   m->wait_lock  the deferred reads of wait files and the poll handles
 *   m->ev_lock    the event queue between fs_on_event() and the notifier
 * The one nesting is libfuse's: an interrupt callback runs under the
 * request's own lock and takes m->wait_lock inside it. */
#ifndef ANAFS_FS_INT_H
#define ANAFS_FS_INT_H

#define FUSE_USE_VERSION 35
#include "fs.h"

#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

/* Kernel cache timeouts, in seconds (docs/mount.md, "Caching"). */
#define FS_TTL_STATIC 86400.0 /* names and attributes that never change */
#define FS_TTL_NONE 0.0       /* anything that changes: always asked */

/* ---- what each file shows (fs_render.c) ---- */

enum fs_file {
	FF_QUERY, FF_STATUS, FF_ERROR, FF_PROGRESS, FF_PROGRESS_JSON, FF_HIST_JSON, FF_CUTFLOW,
	FF_LOG, FF_CTL, FF_WAIT, FF_SVG, FF_CSV, FF_SUMMARY,
	FF_README, FF_WORKERS, FF_CACHE, /* top level */
	FF_NONE,
};

struct fs_ctx {
	struct store *st;
	struct coord *sc;
	double started;
};

/* Render file f of job (hname: the histogram for FF_SVG/FF_CSV) into a
 * new buffer.  *mtime: when that content last changed.  Returns 0,
 * -ENOENT (no such job or histogram) or -ENOMEM. */
int fs_render(struct fs_ctx *c, int64_t job, enum fs_file f, const char *hname, char **out,
	      size_t *len, double *mtime);

/* The histogram names of a job (for hist/), NULL-terminated; free each
 * and the array.  NULL when there is no such job. */
char **fs_hist_names(struct fs_ctx *c, int64_t job);
/* The names of job's plot statements (hist/NAME.svg only); the same ownership. */
char **fs_plot_names(struct fs_ctx *c, int64_t job);

/* ---- inode numbers ----
 * Fixed ones are computed from what they name, so they need no memory:
 * 1 /, 2 README, 3 jobs/, and (job << 8 | kind) for jobs/N and its files
 * that never change.  Everything else is a node of the table, numbered
 * from FS_INO_NODE up and never reused. */
#define FS_INO_ROOT 1
#define FS_INO_README 2
#define FS_INO_JOBS 3
enum { FS_JK_DIR = 0, FS_JK_QUERY, FS_JK_CTL, FS_JK_WAIT, FS_JK_HIST, FS_JK_N };
#define FS_INO_JOB(j, k) (((uint64_t)(j) << 8) | (uint64_t)(k))
#define FS_INO_NODE (1ULL << 62)
#define FS_MAX_JOB (1LL << 50)

/* What an inode is. */
enum fs_what {
	W_NONE, W_ROOT, W_README, W_JOBS, W_JOBDIR, W_QUERY, W_CTL, W_WAIT, W_HISTDIR,
	W_SNAP,    /* a file whose content changes: a snapshot at each open */
	W_QFILE,   /* jobs/NAME.query */
	W_LINK,    /* jobs/NAME -> N */
	W_SCRATCH, /* an editor's scratch file under jobs/ */
};

struct fs_scratch;

/* A node of the table.  Snapshot files and NAME.query get a new node once
 * the current one has been opened ("bound"): the kernel then keeps one
 * inode per open file, and fstat() of a descriptor reports the size of
 * the very snapshot (or draft) that descriptor reads. */
struct fs_node {
	uint64_t ino;
	uint64_t nlookup;       /* the kernel's references (lookup counts) */
	int opens;              /* open handles */
	enum fs_what what;      /* W_SNAP, W_QFILE, W_LINK or W_SCRATCH */
	int64_t job;            /* W_SNAP: the job (0 for workers, cache) */
	enum fs_file f;         /* W_SNAP */
	char *name;             /* W_SNAP: histogram; W_QFILE, W_LINK: NAME */
	struct fs_scratch *sc;  /* W_SCRATCH: owned */
	bool current;           /* what a lookup of its name returns now */
	bool pinned;            /* kept without references (links, scratch files) */
	bool bound;             /* opened: bound_len is its content's size */
	size_t bound_len;
	double bound_mtime;
	struct fs_node *next_ino, *next_key;
	uint64_t key;
};

/* An editor's scratch file: a plain file kept in memory, shared by every
 * descriptor, until it is deleted, renamed onto NAME.query (which submits
 * it) or the daemon stops. */
struct fs_scratch {
	char name[NAME_MAX + 1];
	char *buf;
	size_t len, cap;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	double mtime;
	bool linked;             /* still has its name under jobs/ */
	struct fs_node *node;
};

/* A name that has jobs, or a NAME.query being written. */
struct fs_name {
	char name[FS_MAX_NAME + 1];
	int64_t job;             /* the newest job of that name, 0: none yet */
	uid_t uid;               /* its owner (the first writer's before a job) */
	gid_t gid;
	double mtime;
	int writers;             /* drafts open on NAME.query */
	uint64_t link_ino;       /* the node of jobs/NAME, 0 before the first job */
};

/* One open for writing of NAME.query: its own text, submitted at close. */
struct fs_draft {
	char name[FS_MAX_NAME + 1];
	char *buf;
	size_t len, cap;
	uid_t uid;
	gid_t gid;
	bool dirty;              /* written since its last submission */
	bool toobig;             /* a write went past FS_MAX_QUERY: never submitted */
	int64_t job;             /* what its last submission made */
	double mtime;
};

/* H_WCTL: the top-level workers file opened for writing ("scale N"). */
enum fs_hkind { H_SNAP, H_STATIC, H_WAIT, H_CTL, H_WCTL, H_DRAFT, H_SCRATCH, H_DIR };

/* An entry of a directory listing, taken at opendir() and rewinddir(). */
struct fs_dirent {
	char *name;
	uint64_t ino;
	mode_t mode;
};

struct fs_handle {
	enum fs_hkind kind;
	struct fs_node *node;    /* a table node, or NULL for a fixed inode */
	int64_t job;
	enum fs_file f;
	char *buf;               /* H_SNAP, H_STATIC, H_DIR: the snapshot */
	size_t len;
	enum job_status status;  /* FF_STATUS: the status of the snapshot */
	bool was_read;           /* FF_STATUS: a read was answered (m->lock) */
	struct fs_draft *d;      /* H_DRAFT */
	struct fs_scratch *sc;   /* H_SCRATCH */
	struct fs_dirent *ents;  /* H_DIR */
	size_t nents;
	/* Poll (m->wait_lock): the handle is on m->polls while ph is set. */
	struct fuse_pollhandle *ph;
	struct fs_handle *pnext, *pprev;
	struct fs_handle *hnext, *hprev; /* m->handles (m->lock) */
};

/* A read of a wait file that waits for its job (fs_wait.c). */
struct fs_waiter;

struct fs_ev {
	int64_t job;
	unsigned events;
};

struct fs_mount {
	struct fs_ctx ctx;
	struct fs_opts o;
	char mountpoint[PATH_MAX], basedir[PATH_MAX];
	struct fuse_session *se;
	bool mounted;
	pthread_t main_tid, notifier, sigthread;
	bool notifier_up, sigthread_up;
	atomic_bool loop_done;
	atomic_int stop_signal;

	pthread_mutex_t lock;
	struct fs_node **by_ino, **by_key; /* hash tables, nbuckets each */
	size_t nbuckets, nnodes;
	uint64_t next_ino;
	struct fs_name **names;  /* sorted by name */
	size_t nnames, capnames;
	struct fs_scratch *scratch[FS_MAX_DRAFTS];
	int nscratch;
	int nwriting;            /* drafts and scratch files, at most FS_MAX_DRAFTS */
	struct fs_handle *handles; /* every open handle, freed at the end if the kernel did not */
	double jobs_mtime;       /* jobs/: the newest submission */

	pthread_mutex_t wait_lock;
	struct fs_waiter *waiters;
	size_t nwaiters;
	uint64_t next_waiter;
	struct fs_handle *polls;

	pthread_mutex_t ev_lock;
	pthread_cond_t ev_cond;
	struct fs_ev *evq;
	size_t nev, capev;
	bool ev_stop;
	bool ev_lost;            /* an event could not be queued: look at every waiter */
};

/* ---- fs_names.c: the rules for names under jobs/ ---- */

enum fs_class { FS_C_JOB, FS_C_QUERY, FS_C_LINK, FS_C_SCRATCH };

/* Classify name (one path component under jobs/).  Returns 0 with *cls
 * set, or -EINVAL / -ENAMETOOLONG with *why saying which rule it breaks.
 * For FS_C_QUERY, stem (FS_MAX_NAME + 1 bytes) receives NAME. */
int fs_name_class(const char *name, enum fs_class *cls, char *stem, const char **why);

/* A line on the daemon's stderr (its log file in the background), rate
 * limited so that a hostile client cannot fill the disk. */
void fs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- fs_node.c: the inode table, names, scratch files (m->lock) ---- */

int fs_nodes_init(struct fs_mount *m);
void fs_nodes_free(struct fs_mount *m);
struct fs_node *fs_node_get(struct fs_mount *m, uint64_t ino);
/* The current node for (what, job, f, name), made if there is none; its
 * lookup count is raised by one.  NULL: out of memory. */
struct fs_node *fs_node_current(struct fs_mount *m, enum fs_what what, int64_t job,
				enum fs_file f, const char *name);
/* A new node, not current; lookup count one. */
struct fs_node *fs_node_new(struct fs_mount *m, enum fs_what what, int64_t job, enum fs_file f,
			    const char *name);
/* The node is opened: it is no longer what lookups return. */
void fs_node_bind(struct fs_mount *m, struct fs_node *n, size_t len, double mtime);
/* Drop the node if nothing refers to it any more. */
void fs_node_maybe_free(struct fs_mount *m, struct fs_node *n);
void fs_node_forget(struct fs_mount *m, uint64_t ino, uint64_t nlookup);

struct fs_name *fs_name_find(struct fs_mount *m, const char *name);
/* The entry for name, made if missing (with uid/gid as its owner). */
struct fs_name *fs_name_add(struct fs_mount *m, const char *name, uid_t uid, gid_t gid);
/* A job of that name was made: it becomes the newest. */
void fs_name_job(struct fs_mount *m, const char *name, int64_t job, uid_t uid, double when);
/* A draft of NAME.query was closed: drop the entry if it has no job. */
void fs_name_unwrite(struct fs_mount *m, struct fs_name *nm);

struct fs_scratch *fs_scratch_find(struct fs_mount *m, const char *name);
struct fs_scratch *fs_scratch_new(struct fs_mount *m, const char *name, uid_t uid, gid_t gid,
				  mode_t mode);
/* Remove it from jobs/ (it lives on while open). */
void fs_scratch_unlink(struct fs_mount *m, struct fs_scratch *s);
/* Grow a buffer of *cap bytes to hold end bytes (end <= FS_MAX_QUERY). */
int fs_buf_reserve(char **buf, size_t *cap, size_t end);

/* ---- the operations: each file fills in its part of the table ---- */

void fs_ll_ops(struct fuse_lowlevel_ops *ops);    /* fs_ll.c: names, attributes, xattr */
void fs_dir_ops(struct fuse_lowlevel_ops *ops);   /* fs_dir.c: listings, what is refused */
void fs_file_ops(struct fuse_lowlevel_ops *ops);  /* fs_file.c: open, read, poll, release */
void fs_draft_ops(struct fuse_lowlevel_ops *ops); /* fs_draft.c: create, write, submit, rename */

struct fs_mount *fs_me(fuse_req_t req);
double fs_now(void);

/* What an inode is, copied out of the table so that no lock is needed
 * after (fs_ident_of: 0 or -ENOENT). */
struct fs_ident {
	enum fs_what what;
	int64_t job;             /* the job; W_QFILE: its draft's last submission */
	enum fs_file f;
	char name[NAME_MAX + 1]; /* histogram (W_SNAP), NAME (W_QFILE, W_LINK) */
	bool bound;
	size_t len;              /* bound: its size; scratch: its size */
	double mtime;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	bool named;              /* W_QFILE, W_LINK: the name still exists */
	int64_t name_job;        /* ... and its newest job */
};
int fs_ident_of(struct fs_mount *m, fuse_ino_t ino, struct fs_ident *id);
/* Attributes of ino (h: the handle the kernel named, or NULL); *ttl: how
 * long the kernel may keep them.  0 or -errno. */
int fs_stat_ino(struct fs_mount *m, fuse_ino_t ino, const struct fs_handle *h, struct stat *st,
		double *ttl);
void fs_reply_attr_of(fuse_req_t req, fuse_ino_t ino);
/* The entry of name in parent, its node's lookup count raised. */
int fs_entry(struct fs_mount *m, fuse_ino_t parent, const char *name, struct fuse_entry_param *e);
/* Whether parent is jobs/ (0), or -ENOENT / -EACCES for anything else. */
int fs_parent_is_jobs(struct fs_mount *m, fuse_ino_t parent);

/* Open NAME.query (node ino) for writing: a new draft on h.  0 or -errno. */
int fs_draft_open(struct fs_mount *m, fuse_req_t req, fuse_ino_t ino, int flags,
		  struct fs_handle *h);
/* The draft of h is closed for good. */
void fs_draft_close(struct fs_mount *m, struct fs_handle *h);
/* A new handle, on m->handles; fs_handle_free() releases what it holds. */
struct fs_handle *fs_handle_new(struct fs_mount *m);
void fs_handle_free(struct fs_mount *m, struct fs_handle *h);

/* ---- fs_wait.c: deferred replies, events, the notifier, poll ---- */

/* Answer a read of jobs/N/wait now if the job is over, else later. */
void fs_wait_read(struct fs_mount *m, fuse_req_t req, int64_t job, size_t size, off_t off);
/* Whether job is over (*st: its status).  -ENOENT for no such job. */
int fs_job_over(struct fs_mount *m, int64_t job, enum job_status *st, bool *over);
int fs_notifier_start(struct fs_mount *m);
void fs_notifier_stop(struct fs_mount *m);
/* Answer every waiter (status or EINTR) and drop every poll handle. */
void fs_wait_shutdown(struct fs_mount *m);
/* Keep ph on handle h (replacing an older one) until its file changes. */
void fs_poll_keep(struct fs_mount *m, struct fs_handle *h, struct fuse_pollhandle *ph);
void fs_poll_drop(struct fs_mount *m, struct fs_handle *h);

#endif
