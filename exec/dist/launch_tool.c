/* launch_tool.c — running a batch system's tools, pilot files and log
 * lines for the batch launchers (launch_tool.h). */
#include "launch_tool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

double launch_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool executable(const char *path)
{
	struct stat st;
	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

int launch_tool_find(const struct dist_conf *c, const char *name, char *path, size_t cap)
{
	int n;
	if (c->tools[0]) {
		n = snprintf(path, cap, "%s/%s", c->tools, name);
		if (n > 0 && (size_t)n < cap && executable(path))
			return 0;
	}
	const char *p = getenv("PATH");
	if (!p || !*p)
		p = "/usr/local/bin:/usr/bin:/bin";
	while (*p) {
		size_t len = strcspn(p, ":");
		if (len) {
			n = snprintf(path, cap, "%.*s/%s", (int)len, p, name);
			if (n > 0 && (size_t)n < cap && executable(path))
				return 0;
		}
		p += len + (p[len] == ':');
	}
	return -ENOENT;
}

/* Descriptors of the daemon (the FUSE device, its sockets, the store)
 * must not outlive it in the programs it starts, so every one above 2 is
 * closed in the child (launch_tool.h says why posix_spawn). */
int launch_spawn(const char *path, char *const argv[], int in, int out, int err, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc)
		return -rc;
	if ((rc = posix_spawnattr_init(&at))) {
		posix_spawn_file_actions_destroy(&fa);
		return -rc;
	}
	int fds[3] = {in, out, err};
	for (int i = 0; i < 3 && !rc; i++)
		if (fds[i] != i)
			rc = posix_spawn_file_actions_adddup2(&fa, fds[i], i);
	if (!rc)
		rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	sigset_t none, dfl;
	sigemptyset(&none);
	sigemptyset(&dfl);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaddset(&dfl, s);
	if (!rc)
		rc = posix_spawnattr_setsigmask(&at, &none);
	if (!rc)
		rc = posix_spawnattr_setsigdefault(&at, &dfl);
	if (!rc)
		rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (!rc)
		rc = posix_spawn(pid, path, &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return -rc;
}

/* Read what fd has into buf (len so far, cap bytes kept, the rest read
 * and dropped).  Returns false at end of file or error. */
static bool drain(int fd, char *buf, size_t *len, size_t cap)
{
	char tmp[8192];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	size_t room = cap - 1 - *len, take = (size_t)n < room ? (size_t)n : room;
	memcpy(buf + *len, tmp, take);
	*len += take;
	buf[*len] = 0;
	return true;
}

/* Collect both pipes until the child exits or the deadline passes.  A
 * tool's own child may keep the pipes open after the tool is gone (a
 * double that starts a job in the background), so the tool's exit, not
 * the pipes' end, ends the wait. */
static int collect(pid_t pid, int outfd, int errfd, double timeout, struct launch_run *r)
{
	size_t errlen = 0;
	bool outopen = true, erropen = true, exited = false, lost = false;
	int st = 0;
	double end = launch_now() + timeout;
	for (;;) {
		struct pollfd p[2] = {{outopen ? outfd : -1, POLLIN, 0},
				      {erropen ? errfd : -1, POLLIN, 0}};
		double left = end - launch_now();
		int wait_ms = exited ? 0 : left > 0.05 ? 50 : left > 0 ? (int)(left * 1000) : 0;
		int n = (outopen || erropen) ? poll(p, 2, wait_ms) : 0;
		if (!outopen && !erropen && !exited)
			usleep((useconds_t)wait_ms * 1000);
		if (n > 0) {
			if (p[0].revents && !drain(outfd, r->out, &r->out_len, LAUNCH_TOOL_OUT + 1))
				outopen = false;
			if (p[1].revents && !drain(errfd, r->err, &errlen, sizeof(r->err)))
				erropen = false;
		}
		if (exited) { /* read until the pipes are quiet, within the deadline */
			if (n <= 0 || launch_now() >= end)
				break;
			continue;
		}
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR)) {
			lost = w != pid; /* reaped by someone else: no status */
			exited = true;
			continue; /* one last look at what the pipes hold */
		}
		if (launch_now() >= end) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			r->timed_out = true;
			break;
		}
	}
	if (lost)
		return -ECHILD;
	if (WIFEXITED(st))
		r->status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		r->status = 128 + WTERMSIG(st);
	if (r->timed_out)
		return -ETIMEDOUT;
	return r->status == 0 ? 0 : -EIO;
}

int launch_tool_run(char *const argv[], double timeout, struct launch_run *r)
{
	int out[2] = {-1, -1}, err[2] = {-1, -1}, rc;
	memset(r, 0, sizeof(*r));
	r->status = -1;
	r->out = calloc(1, LAUNCH_TOOL_OUT + 1);
	if (!r->out)
		return -ENOMEM;
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		rc = -errno;
		goto out;
	}
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid_t pid;
	rc = nul < 0 ? -errno : launch_spawn(argv[0], argv, nul, out[1], err[1], &pid);
	if (nul >= 0)
		close(nul);
	if (rc == -ENOENT || rc == -EACCES || rc == -ENOEXEC) {
		r->status = 127;
		snprintf(r->err, sizeof(r->err), "%s could not be run: %s", argv[0], strerror(-rc));
		rc = -EIO;
		goto out;
	}
	if (rc)
		goto out;
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	rc = collect(pid, out[0], err[0], timeout, r);
	if (r->status == 127 && !r->out_len && !r->err[0])
		snprintf(r->err, sizeof(r->err), "%s could not be run", argv[0]);
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return rc;
}

void launch_run_free(struct launch_run *r)
{
	free(r->out);
	r->out = NULL;
}

/* Copy s into the line: control characters (a tool's newlines, escape
 * sequences) become blanks, runs of blanks one. */
static void clean(char *dst, size_t cap, const char *s)
{
	size_t n = 0;
	for (; *s && n + 1 < cap; s++) {
		char c = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
		if (c == ' ' && (!n || dst[n - 1] == ' '))
			continue;
		dst[n++] = c;
	}
	while (n && dst[n - 1] == ' ')
		n--;
	dst[n] = 0;
}

void launch_log(const struct launch_env *env, const char *fmt, ...)
{
	char raw[1200], line[1100];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	clean(line, sizeof(line), raw);
	if (env->log)
		env->log(env->ctx, line);
}

void launch_log_failure(const struct launch_env *env, const char *what, int rc,
			const struct launch_run *r)
{
	const char *text = r->err[0] ? r->err : r->out ? r->out : "";
	char cut[600];
	snprintf(cut, sizeof(cut), "%.*s", (int)sizeof(cut) - 1, text);
	if (rc == -ETIMEDOUT)
		launch_log(env, "%s: no answer in %.0f s, killed: %s", what, LAUNCH_TOOL_TIMEOUT,
			   cut);
	else if (r->status >= 0)
		launch_log(env, "%s failed (exit status %d): %s", what, r->status, cut);
	else
		launch_log(env, "%s could not be run: %s", what, strerror(-rc));
}

int launch_pilot_dir(const char *statedir, char *out, size_t cap, char *msg, size_t msgcap)
{
	int n = snprintf(out, cap, "%s/pilots", statedir);
	if (n < 0 || (size_t)n >= cap) {
		snprintf(msg, msgcap, "the state folder's path is too long");
		return -ENAMETOOLONG;
	}
	if (mkdir(out, 0700) && errno != EEXIST) {
		int rc = -errno;
		snprintf(msg, msgcap, "%s: %s", out, strerror(errno));
		return rc;
	}
	struct stat st;
	if (lstat(out, &st) || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		snprintf(msg, msgcap, "%s: not a folder of this user", out);
		return -ENOTDIR;
	}
	if ((st.st_mode & 077) && chmod(out, 0700)) {
		int rc = -errno;
		snprintf(msg, msgcap, "%s: %s", out, strerror(errno));
		return rc;
	}
	return 0;
}

int launch_write_private(char *template, int suffixlen, const char *text, size_t len)
{
	int fd = mkostemps(template, suffixlen, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (fchmod(fd, 0600))
		rc = -errno;
	for (size_t done = 0; !rc && done < len;) {
		ssize_t n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = n < 0 ? -errno : -EIO;
		else
			done += (size_t)n;
	}
	if (close(fd) && !rc)
		rc = -errno;
	if (rc)
		unlink(template);
	return rc;
}

void launch_sh_quote(struct strbuf *b, const char *s)
{
	strbuf_putc(b, '\'');
	for (; *s; s++)
		if (*s == '\'')
			strbuf_puts(b, "'\\''");
		else
			strbuf_putc(b, *s);
	strbuf_putc(b, '\'');
}

bool launch_safe_word(const char *s, const char *allowed)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(allowed, *s)))
			return false;
	return true;
}

int launch_tool_each(const struct launch_env *env, const char *tool, const char *what,
		     const char *const *ids, int n)
{
	int rc = 0;
	for (int at = 0; at < n;) {
		char *argv[2 + 64];
		int k = 0;
		argv[k++] = (char *)tool;
		for (; at < n && k < 1 + 64; at++)
			argv[k++] = (char *)ids[at];
		argv[k] = NULL;
		struct launch_run r;
		int one = launch_tool_run(argv, LAUNCH_TOOL_TIMEOUT, &r);
		if (one) {
			launch_log_failure(env, what, one, &r);
			rc = one;
		}
		launch_run_free(&r);
	}
	return rc;
}
