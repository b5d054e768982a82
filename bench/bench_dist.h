/* bench_dist.h — what the parts of bench_dist share: a clock, a folder of
 * links to one file, a coordinator whose backend is watched, and the
 * simulation of many workers (bench_dist_sim.c). */
#ifndef ANAFS_BENCH_DIST_H
#define ANAFS_BENCH_DIST_H

#include "backend.h"
#include "coord.h"
#include "dist.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef SHARED_DIR
#define SHARED_DIR "../shared"
#endif

/* Monotonic seconds. */
double bd_now(void);
/* Peak resident memory of this process, MB (getrusage). */
double bd_peak_mb(void);
/* Sleep this many seconds. */
void bd_sleep(double secs);

/* What the watched backend saw, reset by bd_watch_reset(): tasks handed
 * out (dispatched by the coordinator's thread, or pulled by a worker
 * that gave one back), given back, and when the first was handed out and
 * the last given back (0 when none). */
struct bd_watch {
	atomic_llong handed, back;
	atomic_llong t_first_ns, t_last_ns, t_back_ns;
	atomic_llong log_lines, log_joined, log_leaving;
	bool quiet_log;       /* keep "joined" lines off stderr */
};
extern struct bd_watch bd_w;
void bd_watch_reset(void);
double bd_watch_first(void);    /* seconds (bd_now() clock) */
double bd_watch_last_back(void);

/* A backend that runs inner and counts into bd_w; one at a time. */
const struct backend_ops *bd_watched(const struct backend_ops *inner);

/* dir/f%06d.root for 0 <= i < n, each a hard link to file (a symlink
 * where a hard link fails).  0, or -1 with a message on stderr. */
int bd_links(const char *dir, const char *file, long n, bool *symlinks);
/* Remove what bd_links made and dir (bounded by n). */
void bd_links_remove(const char *dir, long n);
/* rm of a folder the bench made: its files, one level of folders. */
void bd_rmtree(const char *dir);

/* A coordinator over the store at dbpath.  backend NULL: threads. */
struct bd_run {
	struct store *st;
	struct coord *c;
	struct dist_conf conf;
};
int bd_start(struct bd_run *r, const char *dbpath, const char *statedir,
	     const struct backend_ops *backend, int slots, int64_t task_events);
void bd_stop(struct bd_run *r);

/* Submit text as a job; *id.  0 or -1 (message on stderr). */
int bd_submit(struct bd_run *r, const char *text, int64_t *id);
/* Wait for job id to be planned (polling), then to end, within timeout
 * seconds of now: 0 with its status and the times (bd_now() clock), or
 * -ETIMEDOUT. */
int bd_wait(struct bd_run *r, int64_t id, double timeout, double *t_planned,
	    enum job_status *status);
/* Wait until n workers are connected and ready, within timeout s: 0 or -1. */
int bd_wait_live(struct bd_run *r, int n, double timeout);

/* The simulation (part 3): options and entry point. */
struct bd_sim_opts {
	const char *tmp;      /* where its temp folder goes */
	const char *file;     /* the ROOT file linked */
	long files;
	int workers;
	double timeout;       /* seconds for everything */
	bool keep;            /* leave the temp folder */
};
int bd_sim(const struct bd_sim_opts *o);

#endif
