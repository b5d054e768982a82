/* launch_local.c — the local launcher (launch.h): `anafs worker`
 * processes on this machine, restarted when they die.
 *
 * Each process is started as
 *   anafs worker --connect URL --secret-file STATE/secret --backend local
 *                --pilot local-TAG-K --slots S --linger L --quiet
 * with stdin from /dev/null and stdout and stderr the daemon's stderr (a
 * crash stays visible), every other descriptor closed.  No
 * PR_SET_PDEATHSIG: a worker outlives a daemon killed with kill -9 and
 * delivers its results to the next one.
 *
 * Restarts are bounded: in any minute at most as many starts as are
 * wanted plus restart_burst; past that it waits, and says so once. */
#include "launch.h"
#include "launch_tool.h"

#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOCAL_MAX 4096          /* processes at most */
/* From SIGTERM to SIGKILL at stop.  Short: the daemon is stopping, so
 * nothing a worker hands back or delivers now can be taken (the tasks
 * run again at the next start), and a daemon given SIGTERM must be gone
 * within a second (docs/mount.md). */
#define LOCAL_GRACE_MS 300

struct lproc {
	pid_t pid;              /* 0: the slot is free */
	int k;                  /* its number in the pilot tag */
	time_t started;         /* wall clock, for describe */
	int restarts;           /* times its slot was started again */
};

struct launcher {
	struct launch_env env;
	char tag[17];           /* random, per start: local-TAG-K */
	struct lproc *p;
	int n;                  /* slots in p */
	int next_k;
	double *starts;         /* times of the recent starts, a ring */
	int nstarts, cap_starts, head;
	bool waiting;           /* the "keep dying" line is logged */
	int devnull;
};

/* A line for the daemon's log, through the launchers' one writer. */
#define say(l, ...) launch_log(&(l)->env, "workers: local: " __VA_ARGS__)

static int local_start(const struct launch_env *env, struct launcher **out, char *msg, size_t cap)
{
	struct launcher *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(msg, cap, "out of memory");
		return -ENOMEM;
	}
	l->env = *env;
	uint8_t r[8];
	if (wire_random(r, sizeof(r))) {
		free(l);
		snprintf(msg, cap, "no random bytes for the workers' tag");
		return -EIO;
	}
	for (int i = 0; i < 8; i++)
		snprintf(l->tag + 2 * i, 3, "%02x", r[i]);
	l->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (l->devnull < 0) {
		int rc = -errno;
		snprintf(msg, cap, "/dev/null: %s", strerror(errno));
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

static int spawn(struct launcher *l, struct lproc *p)
{
	char pilot[64], slots[16], linger[32];
	snprintf(pilot, sizeof(pilot), "local-%s-%d", l->tag, p->k);
	snprintf(slots, sizeof(slots), "%d", l->env.conf->slots > 0 ? l->env.conf->slots : 1);
	snprintf(linger, sizeof(linger), "%g", l->env.conf->linger);
	char *argv[] = {(char *)l->env.anafs, "worker", "--connect", (char *)l->env.url,
			"--secret-file", (char *)l->env.secret_path, "--backend", "local",
			"--pilot", pilot, "--slots", slots, "--linger", linger, "--quiet", NULL};
	/* Its stdout joins the daemon's stderr (the log); every other
	 * descriptor closed, whatever its O_CLOEXEC: the daemon's FUSE device
	 * and database must not stay open in workers. */
	pid_t pid;
	int rc = launch_spawn(l->env.anafs, argv, l->devnull, 2, 2, &pid);
	if (rc) {
		say(l, "cannot start a worker: %s", strerror(-rc));
		return rc;
	}
	p->pid = pid;
	p->started = time(NULL);
	if (l->cap_starts) {
		l->starts[(l->head + l->nstarts) % l->cap_starts] = launch_now();
		if (l->nstarts < l->cap_starts)
			l->nstarts++;
		else
			l->head = (l->head + 1) % l->cap_starts;
	}
	return 0;
}

/* Starts in the last minute. */
static int recent_starts(struct launcher *l)
{
	double now = launch_now();
	while (l->nstarts && now - l->starts[l->head] > 60.0) {
		l->head = (l->head + 1) % l->cap_starts;
		l->nstarts--;
	}
	return l->nstarts;
}

static void reap(struct launcher *l)
{
	for (int i = 0; i < l->n; i++) {
		struct lproc *p = &l->p[i];
		int st;
		if (!p->pid || waitpid(p->pid, &st, WNOHANG) != p->pid)
			continue;
		if (WIFSIGNALED(st))
			say(l, "worker process %d (local-%s-%d) was killed by signal %d", (int)p->pid,
			    l->tag, p->k, WTERMSIG(st));
		else if (WEXITSTATUS(st))
			say(l, "worker process %d (local-%s-%d) exited with status %d", (int)p->pid,
			    l->tag, p->k, WEXITSTATUS(st));
		p->pid = 0;
	}
}

static int running(const struct launcher *l)
{
	int n = 0;
	for (int i = 0; i < l->n; i++)
		n += l->p[i].pid != 0;
	return n;
}

/* Room for want processes and want + burst recent starts. */
static int grow(struct launcher *l, int want)
{
	if (want > l->n) {
		struct lproc *p = realloc(l->p, (size_t)want * sizeof(*p));
		if (!p)
			return -ENOMEM;
		memset(p + l->n, 0, (size_t)(want - l->n) * sizeof(*p));
		l->p = p;
		l->n = want;
	}
	int cap = want + l->env.conf->restart_burst;
	if (cap > l->cap_starts) {
		double *s = malloc((size_t)cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		for (int i = 0; i < l->nstarts; i++)
			s[i] = l->starts[(l->head + i) % l->cap_starts];
		free(l->starts);
		l->starts = s;
		l->head = 0;
		l->cap_starts = cap;
	}
	return 0;
}

static void local_tick(struct launcher *l, int want)
{
	reap(l);
	if (want > LOCAL_MAX)
		want = LOCAL_MAX;
	if (want < 0)
		want = 0;
	int run = running(l);
	if (run >= want || grow(l, want))
		return;
	int allowed = want + l->env.conf->restart_burst;
	for (int i = 0; i < l->n && run < want; i++) {
		struct lproc *p = &l->p[i];
		if (p->pid)
			continue;
		int recent = recent_starts(l);
		if (recent >= allowed) {
			if (!l->waiting)
				say(l, "workers keep dying: %d restarts in the last minute; waiting",
				    recent - want > 0 ? recent - want : recent);
			l->waiting = true;
			return;
		}
		bool again = p->k != 0;
		if (!again)
			p->k = ++l->next_k;
		if (spawn(l, p))
			return;
		p->restarts += again;
		run++;
	}
	l->waiting = false;
}

static void local_count(struct launcher *l, int *queued, int *running_)
{
	*queued = 0;
	*running_ = running(l);
}

static void local_stop(struct launcher *l)
{
	if (!l)
		return;
	reap(l);
	for (int i = 0; i < l->n; i++)
		if (l->p[i].pid)
			kill(l->p[i].pid, SIGTERM);
	/* A worker exits on SIGTERM; give it a moment, then end what is
	 * left. */
	for (int ms = 0; ms < LOCAL_GRACE_MS && running(l); ms += 20) {
		usleep(20 * 1000);
		reap(l);
	}
	for (int i = 0; i < l->n; i++)
		if (l->p[i].pid) {
			kill(l->p[i].pid, SIGKILL);
			waitpid(l->p[i].pid, NULL, 0);
			l->p[i].pid = 0;
		}
	close(l->devnull);
	free(l->p);
	free(l->starts);
	free(l);
}

static bool local_owns(struct launcher *l, const char *pilot)
{
	size_t n = strlen(l->tag);
	return !strncmp(pilot, "local-", 6) && !strncmp(pilot + 6, l->tag, n) && pilot[6 + n] == '-';
}

static void local_describe(struct launcher *l, struct strbuf *out)
{
	for (int i = 0; i < l->n; i++) {
		const struct lproc *p = &l->p[i];
		if (!p->pid)
			continue;
		struct tm tm;
		char when[32];
		localtime_r(&p->started, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		strbuf_printf(out, "process %d local-%s-%d started %s restarts %d\n", (int)p->pid,
			      l->tag, p->k, when, p->restarts);
	}
	if (l->waiting)
		strbuf_puts(out, "local workers keep dying: waiting before starting more\n");
}

const struct launch_ops launch_local = {
	.name = "local",
	.start = local_start,
	.tick = local_tick,
	.count = local_count,
	.stop = local_stop,
	.owns = local_owns,
	.describe = local_describe,
};
