/* test_dist_local.c — the worker-process backend's configuration and its
 * local launcher.
 *
 * workers.conf: every key read and range-checked, errors naming the file
 * and the line, a refused file changing nothing.  The local launcher with
 * shell scripts standing in for anafs: the command line each worker gets,
 * the daemon's descriptors closed in it, a killed process reaped, logged
 * and started again, at most want + restart_burst starts a minute (said
 * once), SIGTERM then SIGKILL at stop.
 *
 * Usage: test_dist_local */
#include "check.h"

#include "dist.h"
#include "launch.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char logbuf[65536];
static size_t loglen;

static void on_log(void *ctx, const char *line)
{
	(void)ctx;
	pthread_mutex_lock(&mu);
	int n = snprintf(logbuf + loglen, sizeof(logbuf) - loglen, "%s\n", line);
	if (n > 0 && (size_t)n < sizeof(logbuf) - loglen)
		loglen += (size_t)n;
	pthread_mutex_unlock(&mu);
	fprintf(stderr, "  log: %s\n", line);
}

static bool logged(const char *what)
{
	pthread_mutex_lock(&mu);
	bool yes = strstr(logbuf, what) != NULL;
	pthread_mutex_unlock(&mu);
	return yes;
}

static int lines_with(const char *what)
{
	int n = 0;
	pthread_mutex_lock(&mu);
	for (const char *p = logbuf; (p = strstr(p, what)); p++)
		n++;
	pthread_mutex_unlock(&mu);
	return n;
}

/* ---- the configuration ---- */

static int load_text(const char *text, struct dist_conf *c, char *msg, size_t cap)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/workers.conf", dir);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	dist_conf_defaults(c);
	return dist_conf_load(path, c, msg, cap);
}

static void test_conf(void)
{
	struct dist_conf c;
	char msg[1024] = "";
	dist_conf_defaults(&c);
	check(!strcmp(c.backend, "local") && c.workers == 0 && c.slots == 1 && c.lease == 10 &&
		      c.max_workers == 10 && c.restart_burst == 10,
	      "the defaults");
	check(dist_conf_load("/nonexistent/workers.conf", &c, msg, sizeof(msg)) == 0,
	      "a missing file is no error");
	int rc = load_text("# every key\n"
			   "backend = slurm\n"
			   "workers = 3   # a comment after a blank\n"
			   "slots=2\n"
			   "  min_workers = 1\n"
			   "max_workers = 7\n"
			   "idle_timeout = 30.5\n"
			   "lease = 4\n"
			   "progress = 0.25\n"
			   "retries = 5\n"
			   "retry_backoff = 0.5\n"
			   "restart_burst = 20\n"
			   "linger = 120\n"
			   "listen = tcp://127.0.0.1:0\n"
			   "slurm.partition = debug\n"
			   "slurm.time = 00:10:00\n"
			   "slurm.mem = 1G\n"
			   "slurm.account = phys\n"
			   "slurm.extra = --qos=short --exclusive\n"
			   "htcondor.request_memory = 1GB\n"
			   "htcondor.request_cpus = 4\n"
			   "htcondor.extra = +Experiment = \"cms\"\n"
			   "tools = /opt/batch/bin\n"
			   "\n",
			   &c, msg, sizeof(msg));
	check(rc == 0, "a file with every key loads: %s", msg);
	check(!strcmp(c.backend, "slurm") && c.workers == 3 && c.slots == 2 && c.min_workers == 1 &&
		      c.max_workers == 7 && c.idle_timeout == 30.5 && c.lease == 4 &&
		      c.progress == 0.25 && c.retries == 5 && c.retry_backoff == 0.5 &&
		      c.restart_burst == 20 && c.linger == 120,
	      "every number is read");
	check(!strcmp(c.listen, "tcp://127.0.0.1:0") && !strcmp(c.slurm_partition, "debug") &&
		      !strcmp(c.slurm_time, "00:10:00") && !strcmp(c.slurm_mem, "1G") &&
		      !strcmp(c.slurm_account, "phys") &&
		      !strcmp(c.slurm_extra, "--qos=short --exclusive") &&
		      !strcmp(c.condor_memory, "1GB") && c.condor_cpus == 4 &&
		      !strcmp(c.condor_extra, "+Experiment = \"cms\"") &&
		      !strcmp(c.tools, "/opt/batch/bin"),
	      "every string is read (an = in a value kept): extra=[%s] condor=[%s]", c.slurm_extra,
	      c.condor_extra);
	static const struct {
		const char *text;
		const char *want; /* in msg */
	} bad[] = {
		{"workers = 2\n\nbogus = 1\n", "workers.conf:3: unknown key \"bogus\""},
		{"slots = 0\n", ":1: slots"},
		{"slots = 257\n", ":1: slots"},
		{"workers = -1\n", ":1: workers"},
		{"workers = 2x\n", ":1: workers"},
		{"lease = 0.1\n", ":1: lease"},
		{"lease = nan\n", ":1: lease"},
		{"progress = \n", ":1: progress"},
		{"# c\nbackend = pbs\n", ":2: backend: \"pbs\" is not one of"},
		{"just words\n", ":1: expected key = value"},
		{"= 3\n", ":1: a line with = but no key"},
		{"listen = http://x:1\n", ":1: listen"},
		{"min_workers = 5\nmax_workers = 2\n", "min_workers (5) is above max_workers (2)"},
		{"htcondor.request_cpus = 0\n", ":1: htcondor.request_cpus"},
		{"slurm.partition = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		 ":1: slurm.partition"},
		{"slurm.extra = a\tb\x01\n", ":1: slurm.extra"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = 0;
		rc = load_text(bad[i].text, &c, msg, sizeof(msg));
		check(rc == -EINVAL && strstr(msg, bad[i].want), "\"%s\" refused with \"%s\": %d %s",
		      bad[i].text, bad[i].want, rc, msg);
		check(!strcmp(c.backend, "local") && c.slots == 1, "a refused file changes nothing");
	}
	/* A NUL inside a line. */
	char path[128];
	snprintf(path, sizeof(path), "%s/nul.conf", dir);
	FILE *f = fopen(path, "w");
	fwrite("slots = 1\0 9\n", 1, 13, f);
	fclose(f);
	dist_conf_defaults(&c);
	rc = dist_conf_load(path, &c, msg, sizeof(msg));
	check(rc == -EINVAL && strstr(msg, "nul.conf:1: a NUL byte"), "a NUL byte refused: %s", msg);
	check(dist_conf_set(&c, "slurm.partition", "gpu", msg, sizeof(msg)) == 0 &&
		      !strcmp(c.slurm_partition, "gpu"),
	      "dist_conf_set of a dotted key");
	check(dist_conf_set(&c, "workers", "4096", msg, sizeof(msg)) == 0 && c.workers == 4096,
	      "the top of a range is allowed");
	check(dist_conf_set(&c, "nope", "1", msg, sizeof(msg)) == -EINVAL &&
		      strstr(msg, "known: backend"),
	      "an unknown key lists the known ones: %s", msg);
}

/* ---- the local launcher ---- */

static void script(const char *name, const char *body)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0700);
}

static bool gone(pid_t pid)
{
	return kill(pid, 0) && errno == ESRCH;
}

/* The pids the launcher's describe lists. */
static int launched(struct launcher *l, pid_t *pids, int cap, char *tag, size_t tagcap)
{
	struct strbuf sb = STRBUF_INIT;
	launch_local.describe(l, &sb);
	int n = 0;
	for (const char *p = sb.buf; p && (p = strstr(p, "process ")) && n < cap; p++) {
		int pid;
		char pilot[64];
		if (sscanf(p, "process %d %63s", &pid, pilot) == 2) {
			pids[n++] = pid;
			char *dash = strrchr(pilot, '-');
			if (dash && tag) {
				*dash = 0;
				snprintf(tag, tagcap, "%s", pilot);
			}
		}
	}
	strbuf_free(&sb);
	return n;
}

static void test_launch(void)
{
	char anafs[128], secret_path[128], marker[128];
	snprintf(marker, sizeof(marker), "%s/marker", dir);
	int open_fd = open(marker, O_WRONLY | O_CREAT, 0600); /* no O_CLOEXEC on purpose */
	script("ok.sh", "echo \"$@\" > \"$0.args.$$\"; ls -l /proc/$$/fd/ > \"$0.fds.$$\"; "
			"trap '' TERM; exec sleep 30");
	snprintf(anafs, sizeof(anafs), "%s/ok.sh", dir);
	snprintf(secret_path, sizeof(secret_path), "%s/secret", dir);
	struct dist_conf conf;
	dist_conf_defaults(&conf);
	conf.slots = 2;
	conf.linger = 7;
	conf.restart_burst = 3;
	uint8_t secret[WIRE_SECRET] = {0};
	struct launch_env env = {.anafs = anafs, .url = "ipc:///x/workers.sock", .statedir = dir,
				 .secret_path = secret_path, .secret = secret, .conf = &conf,
				 .log = on_log};
	struct launcher *l = NULL;
	char msg[256] = "";
	int rc = launch_local.start(&env, &l, msg, sizeof(msg));
	check(rc == 0, "the local launcher starts: %s", msg);
	if (rc)
		return;
	launch_local.tick(l, 2);
	pid_t pids[8];
	char tag[64] = "";
	int n = launched(l, pids, 8, tag, sizeof(tag));
	int q = -1, r = -1;
	launch_local.count(l, &q, &r);
	check(n == 2 && q == 0 && r == 2, "two processes are started (%d, %d running)", n, r);
	char pilot[80];
	snprintf(pilot, sizeof(pilot), "%s-1", tag);
	check(launch_local.owns(l, pilot) && !launch_local.owns(l, "local-0000000000000000-1") &&
		      !launch_local.owns(l, "slurm-17") && !launch_local.owns(l, ""),
	      "it owns its own pilots only (%s)", pilot);
	/* What each was started with. */
	for (int i = 0; i < n; i++) {
		char path[200], want[400], got[400] = "", fds[4096] = "";
		snprintf(path, sizeof(path), "%s.args.%d", anafs, (int)pids[i]);
		for (int k = 0; k < 300 && access(path, R_OK); k++)
			usleep(10 * 1000);
		usleep(50 * 1000);
		FILE *f = fopen(path, "r");
		if (f) {
			if (!fgets(got, sizeof(got), f))
				got[0] = 0;
			fclose(f);
		}
		snprintf(want, sizeof(want),
			 "worker --connect ipc:///x/workers.sock --secret-file %s --backend local "
			 "--pilot %s-%d --slots 2 --linger 7 --quiet\n",
			 secret_path, tag, i + 1);
		check(!strcmp(got, want), "process %d runs `%s`, not `%s`", i + 1, want, got);
		snprintf(path, sizeof(path), "%s.fds.%d", anafs, (int)pids[i]);
		f = fopen(path, "r");
		size_t len = f ? fread(fds, 1, sizeof(fds) - 1, f) : 0;
		fds[len] = 0;
		if (f)
			fclose(f);
		check(len > 0 && !strstr(fds, marker), "the daemon's descriptors are closed in it:\n%s",
		      fds);
	}
	/* One dies: it is started again. */
	kill(pids[0], SIGKILL);
	for (int k = 0; k < 200 && !gone(pids[0]); k++) {
		launch_local.tick(l, 2);
		usleep(10 * 1000);
	}
	launch_local.tick(l, 2);
	pid_t again[8];
	n = launched(l, again, 8, NULL, 0);
	check(n == 2 && again[0] != pids[0] && again[1] == pids[1] && logged("killed by signal 9"),
	      "a process killed is reaped, logged and started again");
	/* Stop: SIGTERM, ignored here, then SIGKILL. */
	double t0 = now();
	launch_local.stop(l);
	check(gone(again[0]) && gone(again[1]), "stop ends them all");
	check(now() - t0 >= 0.25, "after a grace for SIGTERM (%.1f s)", now() - t0);

	/* Processes that die at once: at most want + restart_burst starts a minute. */
	script("die.sh", "exit 3");
	snprintf(anafs, sizeof(anafs), "%s/die.sh", dir);
	rc = launch_local.start(&env, &l, msg, sizeof(msg));
	int before = lines_with("exited with status 3");
	for (int k = 0; k < 100 && !logged("keep dying"); k++) {
		launch_local.tick(l, 2);
		usleep(20 * 1000);
	}
	usleep(200 * 1000);
	launch_local.tick(l, 2);
	int died = lines_with("exited with status 3") - before;
	check(logged("workers keep dying") && died == 5,
	      "past 2 + 3 starts it waits and says so (%d died)", died);
	check(lines_with("keep dying") == 1, "once");
	launch_local.stop(l);
	close(open_fd);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_dist_local.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	test_conf();
	test_launch();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	if (failures)
		fprintf(stderr, "%d of %d checks failed\n", failures, nchecks);
	return failures ? 1 : 0;
}
