/* cmd_jobs.h — a mount's jobs as `anafs status` and `anafs watch` read
 * them: from the files of the mount only (jobs/, jobs/N/progress.json), so
 * both work wherever the mount is visible.  Everything read is untrusted:
 * sizes are bounded, a file that does not parse is an error naming it.
 * Not thread-safe state: none; each call stands alone. */
#ifndef ANAFS_CMD_JOBS_H
#define ANAFS_CMD_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes of `anafs watch` (docs/cli.md). */
#define CMD_EXIT_DONE 0
#define CMD_EXIT_FAILED 1
#define CMD_EXIT_USAGE 2      /* also: no such job, no mount */
#define CMD_EXIT_CANCELLED 3
#define CMD_EXIT_INVALID 4
#define CMD_EXIT_LOST 5       /* the mount stopped answering while watched */
#define CMD_EXIT_INTERRUPTED 130

/* One job, as its progress.json says. */
struct cmd_job {
	int64_t id;
	char name[256];
	char status[16];       /* queued running paused done failed cancelled invalid */
	char note[160];        /* what it waits for, or "" */
	double percent;
	int64_t events_done, events_total;
	int tasks_done, tasks_total;
	int workers, retrying, skipped;
	double rate;           /* events per second, 0 when unknown */
	double eta;            /* seconds, < 0 when unknown */
	double submitted;      /* Unix seconds; 0 when unknown */
};

/* Whether status names a job that is over. */
bool cmd_job_over(const char *status);

/* The exit code for a job that ended with status (CMD_EXIT_*). */
int cmd_job_exit_code(const char *status);

/* Read MNT/jobs/ID/progress.json into *out.  Returns 0, -errno when it
 * cannot be read, -EINVAL when it is not what anafs writes (why, cap
 * bytes, says so). */
int cmd_job_read(const char *mnt, int64_t id, struct cmd_job *out, char *why, size_t cap);

/* The job numbers under MNT/jobs, ascending: *ids is new (free() it),
 * *n its length.  Returns 0 or -errno (-ENOMEM). */
int cmd_job_list(const char *mnt, int64_t **ids, size_t *n);

/* arg as a job: a number N with a folder MNT/jobs/N, or a NAME with the
 * link MNT/jobs/NAME.  Returns 0 and *id, -ENOENT when there is none,
 * other -errno when the mount cannot be read. */
int cmd_job_resolve(const char *mnt, const char *arg, int64_t *id);

/* Copy s into out (cap bytes), at most cols characters (UTF-8 code
 * points) of it; a longer s ends in "…" within those cols.  Returns the
 * characters written. */
size_t cmd_fit(char *out, size_t cap, const char *s, size_t cols);

/* The characters (UTF-8 code points) of s. */
size_t cmd_width(const char *s);

#endif
