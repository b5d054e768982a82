/* launch_tool.h — what the batch launchers share (private to exec/dist):
 * running a batch system's tool (sbatch, condor_q, ...) as a child with a
 * timeout, its output captured and bounded; where the tool is; pilot
 * files; text made safe for a log line.
 *
 * Tools are run with posix_spawn from argv arrays (no shell), stdin from
 * /dev/null, every other descriptor of the daemon closed, the signal mask
 * and dispositions reset, and killed by PID past their timeout.  The
 * caller's thread waits for its own child only (waitpid of that PID).
 *
 * Thread safety: every function is safe from any thread; a struct
 * launch_run belongs to its caller. */
#ifndef ANAFS_LAUNCH_TOOL_H
#define ANAFS_LAUNCH_TOOL_H

#include "launch.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define LAUNCH_TOOL_OUT (256 * 1024) /* stdout kept (condor_q of many pilots) */
#define LAUNCH_TOOL_ERR 2048         /* stderr kept: what a log line shows */
#define LAUNCH_TOOL_TIMEOUT 20.0     /* seconds before a tool is killed */
#define LAUNCH_MAX_PILOTS 4096       /* pilots one launcher tracks at most */

/* What one run of a tool gave. */
struct launch_run {
	char *out;      /* stdout, NUL-terminated, at most LAUNCH_TOOL_OUT bytes (malloc'd) */
	size_t out_len;
	char err[LAUNCH_TOOL_ERR]; /* stderr's start, NUL-terminated */
	int status;     /* the exit status, 128 + the signal, or -1 */
	bool timed_out; /* killed past the timeout */
};

/* The tool name: c->tools/name when c->tools is set and it is executable
 * there, else the first executable name on PATH.  0 with path (cap
 * bytes) filled, or -ENOENT. */
int launch_tool_find(const struct dist_conf *c, const char *name, char *path, size_t cap);

/* Run argv (argv[0] a path, NULL-terminated) for at most timeout seconds.
 * Returns 0 when it exited with status 0; -ETIMEDOUT when it was killed;
 * -EIO for another status; or -errno of a pipe or fork.  r is filled in
 * every case (release r->out with launch_run_free()). */
int launch_tool_run(char *const argv[], double timeout, struct launch_run *r);

void launch_run_free(struct launch_run *r);

/* Start path with argv, its stdin, stdout and stderr from in, out and err,
 * every other descriptor closed, the signal mask empty and every signal's
 * disposition the default.  posix_spawn, not fork: no atfork handler runs
 * in the daemon (the XRootD client's stops its threads and can hang for
 * good when another thread is in one of its calls).  0 with *pid set, or
 * -errno (-ENOENT: path cannot be run). */
int launch_spawn(const char *path, char *const argv[], int in, int out, int err, pid_t *pid);

/* Run tool with ids[0..n-1] as its arguments, 64 at a time (scancel,
 * condor_rm); a failure is logged as what.  0 or the last failure. */
int launch_tool_each(const struct launch_env *env, const char *tool, const char *what,
		     const char *const *ids, int n);

/* Log through env->log: "NAME: " then the formatted text, control
 * characters replaced and the whole cut to about 1 KiB. */
void launch_log(const struct launch_env *env, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Log that a tool failed: its name, status or timeout, and its stderr's
 * first lines (or stdout's when stderr is empty). */
void launch_log_failure(const struct launch_env *env, const char *what, int rc,
			const struct launch_run *r);

/* STATE/pilots (cap bytes), made 0700 if missing and kept so: pilots'
 * scripts and their output live there.  0 or -errno with msg. */
int launch_pilot_dir(const char *statedir, char *out, size_t cap, char *msg, size_t msgcap);

/* Write len bytes to a new file made from template (ending in XXXXXX
 * followed by suffixlen bytes of suffix, as mkstemps wants), mode 0600.
 * 0 (template now the name) or -errno; nothing is left on failure. */
int launch_write_private(char *template, int suffixlen, const char *text, size_t len);

/* The monotonic clock in seconds. */
double launch_now(void);

/* Append s to b single-quoted for sh ('...' with ' written '\''). */
void launch_sh_quote(struct strbuf *b, const char *s);

/* Whether s is non-empty and every character is a letter, a digit or one
 * of allowed: what goes on a #SBATCH line or into a submit file unquoted. */
bool launch_safe_word(const char *s, const char *allowed);

#endif
