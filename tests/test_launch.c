/* test_launch.c — the batch launchers driven directly, as the server
 * drives them (start, tick about every quarter second here, count, owns,
 * describe, stop), with a hand-made launch_env whose "anafs" is a fake
 * worker: a shell script that records its arguments, where its secret
 * came from, and a SIGTERM, then waits to be told to exit.
 *
 *   test_launch tool              running tools: timeouts, output caps,
 *                                 descriptors, a tool's lingering child
 *   test_launch htcondor TOOLS    against the HTCondor test double (TOOLS:
 *                                 tests/condor): the description, submit,
 *                                 poll, hold, remove, scale, backoff
 *   test_launch slurm             against a running Slurm (SLURM_CONF set:
 *                                 slurm_check.py starts one): the script,
 *                                 the secret never on a command line,
 *                                 scale, withdraw pending, stop */
#include "check.h"
#include "launch_tool.h"
#include "wire.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmp[64], state[128], fake[160];
static uint8_t secret[WIRE_SECRET];
static char hex[2 * WIRE_SECRET + 1];
static struct strbuf logs = STRBUF_INIT;

static void log_line(void *ctx, const char *line)
{
	(void)ctx;
	strbuf_printf(&logs, "%s\n", line);
	fprintf(stderr, "  log: %s\n", line);
}

static const char *logged(void)
{
	return logs.buf ? logs.buf : "";
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void put(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
	chmod(path, mode);
}

static void nap(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

/* The fake worker: its arguments, where its secret came from (env:HEX,
 * file:HEX or none), its folder; "term" on SIGTERM; exits when
 * TMP/exit-PILOT appears, or after ten minutes. */
static void write_fake(void)
{
	char text[4096];
	snprintf(text, sizeof(text),
		 "#!/bin/sh\n"
		 "pilot=none; prev=\n"
		 "for a in \"$@\"; do [ \"$prev\" = --pilot ] && pilot=\"$a\"; prev=\"$a\"; done\n"
		 "out=%s/fake-$pilot.txt\n"
		 "if [ -n \"$ANAFS_SECRET\" ]; then s=\"env:$ANAFS_SECRET\"\n"
		 "elif [ -f secret ]; then s=\"file:$(od -An -tx1 secret | tr -d ' \\n')\"\n"
		 "else s=none; fi\n"
		 "trap 'echo term >> \"$out\"; exit 0' TERM\n"
		 "{ echo \"$*\"; echo \"$s\"; echo \"cwd $(pwd)\"; } > \"$out.tmp\"; mv \"$out.tmp\" \"$out\"\n"
		 "i=0\n"
		 "while [ $i -lt 600 ] && [ ! -e %s/exit-$pilot ]; do sleep 1 & wait $!; i=$((i+1)); done\n",
		 tmp, tmp);
	snprintf(fake, sizeof(fake), "%s/fake-anafs", tmp);
	put(fake, text, 0755);
}

static struct launch_env make_env(const struct dist_conf *c)
{
	struct launch_env e = {.anafs = fake, .url = "tcp://127.0.0.1:5555", .statedir = state,
			       .secret_path = NULL, .secret = secret, .conf = c,
			       .log = log_line, .ctx = NULL};
	return e;
}

/* Tick with want until pred() holds, at most secs; returns pred(). */
static bool tick_until(const struct launch_ops *ops, struct launcher *l, int want,
		       bool (*pred)(struct launcher *), double secs)
{
	double end = launch_now() + secs;
	for (;;) {
		ops->tick(l, want);
		if (pred(l))
			return true;
		if (launch_now() > end)
			return false;
		nap(0.25);
	}
}

static const struct launch_ops *cur;
static int want_q, want_r;
static bool counts_are(struct launcher *l)
{
	int q, r;
	cur->count(l, &q, &r);
	return q == want_q && r == want_r;
}

/* The fake's record of pilot id (NULL until it started). */
static const char *record(const char *pilot)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/fake-%s.txt", tmp, pilot);
	return slurp(p);
}

static bool wait_record(const char *pilot, const char *needle, double secs)
{
	double end = launch_now() + secs;
	do {
		const char *r = record(pilot);
		if (r && strstr(r, needle))
			return true;
		nap(0.1);
	} while (launch_now() < end);
	return false;
}

/* Whether any process's command line holds s: the secret must not. */
static bool on_a_command_line(const char *s)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool found = false;
	while (d && (e = readdir(d)) && !found) {
		char p[300], buf[8192];
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/cmdline", e->d_name);
		int fd = open(p, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		for (ssize_t i = 0; i < n; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[n > 0 ? n : 0] = 0;
		found = strstr(buf, s) != NULL;
	}
	if (d)
		closedir(d);
	return found;
}

static void touch_exit(const char *pilot)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/exit-%s", tmp, pilot);
	put(p, "", 0644);
}

static int leftover_scripts(void)
{
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/pilots", state);
	DIR *d = opendir(p);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		n += !strncmp(e->d_name, "pilot-", 6);
	if (d)
		closedir(d);
	return n;
}

/* ---- running tools ---- */

static void test_tool(void)
{
	struct launch_run r;
	char *err3[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	CHECK_EQ_I(launch_tool_run(err3, 10, &r), -EIO);
	CHECK_EQ_I(r.status, 3);
	CHECK_STR(r.out, "out\n");
	CHECK_STR(r.err, "err\n");
	launch_run_free(&r);

	double t = launch_now();
	char *slow[] = {"/bin/sleep", "30", NULL};
	CHECK_EQ_I(launch_tool_run(slow, 0.5, &r), -ETIMEDOUT);
	check(r.timed_out && launch_now() - t < 10, "a tool past its timeout is killed at once");
	launch_run_free(&r);

	/* Output past the cap is read and dropped, never stored. */
	char *big[] = {"/bin/sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x", NULL};
	CHECK_EQ_I(launch_tool_run(big, 30, &r), 0);
	CHECK_EQ_I(r.out_len, LAUNCH_TOOL_OUT);
	launch_run_free(&r);

	/* A child of the tool keeping the pipes open does not hold the call. */
	t = launch_now();
	char *bg[] = {"/bin/sh", "-c", "sleep 20 & echo started", NULL};
	CHECK_EQ_I(launch_tool_run(bg, 15, &r), 0);
	CHECK_STR(r.out, "started\n");
	check(launch_now() - t < 10, "a tool's lingering child does not hold the call (%.1f s)",
	      launch_now() - t);
	launch_run_free(&r);

	/* The daemon's descriptors do not reach the tool; stdin is /dev/null. */
	int fd = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "test -e /proc/self/fd/%d && echo leaked; cat", fd);
	char *leak[] = {"/bin/sh", "-c", cmd, NULL};
	CHECK_EQ_I(launch_tool_run(leak, 10, &r), 0);
	CHECK_STR(r.out, "");
	launch_run_free(&r);
	close(fd);

	char *none[] = {"/nonexistent/tool", NULL};
	CHECK_EQ_I(launch_tool_run(none, 10, &r), -EIO);
	CHECK_EQ_I(r.status, 127);
	launch_run_free(&r);

	struct dist_conf c;
	dist_conf_defaults(&c);
	char path[PATH_MAX];
	CHECK_EQ_I(launch_tool_find(&c, "sh", path, sizeof(path)), 0);
	CHECK_EQ_I(launch_tool_find(&c, "no-such-tool-anywhere", path, sizeof(path)), -ENOENT);
	snprintf(c.tools, sizeof(c.tools), "%s", tmp);
	char mine[PATH_MAX + 8];
	snprintf(mine, sizeof(mine), "%s/sh", tmp);
	put(mine, "#!/bin/sh\n", 0755);
	CHECK_EQ_I(launch_tool_find(&c, "sh", path, sizeof(path)), 0);
	CHECK_STR(path, mine);
}

/* Configurations a launcher must refuse at start, with a message. */
static void refused(const struct launch_ops *ops, const struct dist_conf *c, const char *why)
{
	struct launch_env e = make_env(c);
	struct launcher *l = NULL;
	char msg[512] = "";
	int rc = ops->start(&e, &l, msg, sizeof(msg));
	check(rc < 0 && msg[0], "%s: %s is refused (rc %d, \"%s\")", ops->name, why, rc, msg);
	if (!rc)
		ops->stop(l);
}

/* A tool that fails: logged with its stderr, not called again before the backoff. */
static void broken(const struct launch_ops *ops, struct dist_conf *c, const char *tool,
		   const char *others)
{
	char dir[128], p[PATH_MAX + 64], text[1024];
	snprintf(dir, sizeof(dir), "%s/broken", tmp);
	mkdir(dir, 0755);
	snprintf(p, sizeof(p), "%s/%s", dir, tool);
	snprintf(text, sizeof(text),
		 "#!/bin/sh\necho call >> %s/broken.calls\n"
		 "echo '%s: error: Batch job submission failed: Invalid account' >&2\nexit 1\n",
		 tmp, tool);
	put(p, text, 0755);
	/* The others from where they are (the double's tools). */
	for (const char *o = others; o && *o;) {
		size_t n = strcspn(o, " ");
		char src[PATH_MAX + 64], dst[PATH_MAX + 64];
		snprintf(src, sizeof(src), "%s/%.*s", c->tools, (int)n, o);
		snprintf(dst, sizeof(dst), "%s/%.*s", dir, (int)n, o);
		if (symlink(src, dst) && errno != EEXIST)
			fprintf(stderr, "symlink %s: %s\n", dst, strerror(errno));
		o += n + (o[n] == ' ');
	}
	struct dist_conf bc = *c;
	snprintf(bc.tools, sizeof(bc.tools), "%s", dir);
	struct launch_env e = make_env(&bc);
	struct launcher *l = NULL;
	char msg[512] = "";
	int rc = ops->start(&e, &l, msg, sizeof(msg));
	check(rc == 0, "%s: start with a broken %s (%s)", ops->name, tool, msg);
	if (rc)
		return;
	size_t before = logs.len;
	for (int i = 0; i < 12; i++) {
		ops->tick(l, 2);
		nap(0.25);
	}
	int q, r;
	ops->count(l, &q, &r);
	CHECK_EQ_I(q + r, 0);
	snprintf(p, sizeof(p), "%s/broken.calls", tmp);
	const char *calls = slurp(p);
	check(calls && !strcmp(calls, "call\n"), "%s: a failing %s is called once in 3 s, not "
	      "every tick (%s)", ops->name, tool, calls ? calls : "never");
	check(logs.buf && strstr(logs.buf + before, "Invalid account"),
	      "%s: the failure is logged with the tool's stderr", ops->name);
	ops->stop(l);
	unlink(p);
}

/* ---- HTCondor, against the test double ---- */

static char dbl[128];

static void dbl_put(const char *name, const char *text)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", dbl, name);
	put(p, text, 0644);
}

/* The calls log of the double (its JSON lines). */
static const char *dbl_calls(void)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/calls.log", dbl);
	const char *s = slurp(p);
	return s ? s : "";
}

static void condor_description(const char *calls)
{
	/* The description as the double recorded it, JSON-escaped. */
	char want[PATH_MAX * 2];
	const char *keys[] = {
		"universe = vanilla\\n", "transfer_executable = false\\n",
		"--backend htcondor --pilot $(Cluster).$(Process) --secret-file secret",
		"arguments = \\\"worker --connect tcp://127.0.0.1:5555 ",
		"should_transfer_files = YES\\n", "when_to_transfer_output = ON_EXIT\\n",
		"transfer_input_files = secret\\n", "output = condor-$(Cluster).$(Process).out\\n",
		"error = condor-$(Cluster).$(Process).err\\n", "log = condor.log\\n",
		"request_memory = 1GB\\n", "request_cpus = 2\\n", "batch_name = anafs-pilot\\n",
		"+ProjectName = \\\"anafs\\\"\\n", "requirements = (OpSys == \\\"LINUX\\\")\\n",
		"queue 2\\n", NULL};
	for (int i = 0; keys[i]; i++)
		check(strstr(calls, keys[i]) != NULL, "the description has %s", keys[i]);
	snprintf(want, sizeof(want), "executable = %s\\n", fake);
	check(strstr(calls, want) != NULL, "the description has %s", want);
	snprintf(want, sizeof(want), "initialdir = %s/pilots\\n", state);
	check(strstr(calls, want) != NULL, "the description has %s", want);
	check(!strstr(calls, hex), "the secret is nowhere in the description nor any call");
}

static void test_condor(const char *tools)
{
	cur = &launch_htcondor;
	snprintf(dbl, sizeof(dbl), "%s/double", tmp);
	mkdir(dbl, 0755);
	setenv("ANAFS_CONDOR_DOUBLE", dbl, 1);
	dbl_put("run", "");
	struct dist_conf c;
	dist_conf_defaults(&c);
	strcpy(c.backend, "htcondor");
	snprintf(c.tools, sizeof(c.tools), "%s", tools);
	strcpy(c.condor_memory, "1GB");
	c.condor_cpus = 2;
	strcpy(c.condor_extra, "+ProjectName = \"anafs\"; requirements = (OpSys == \"LINUX\")");

	struct dist_conf bad = c;
	strcpy(bad.condor_extra, "queue 5");
	refused(cur, &bad, "an extra line that is not key = value");
	strcpy(bad.condor_extra, "executable = /bin/sh");
	refused(cur, &bad, "an extra line setting a key anafs writes");
	strcpy(bad.condor_extra, "novalue =");
	refused(cur, &bad, "an extra line with no value");
	bad = c;
	strcpy(bad.condor_memory, "2 GB");
	refused(cur, &bad, "a memory with a blank");
	bad = c;
	snprintf(bad.tools, sizeof(bad.tools), "%s/none", tmp);
	char *path = getenv("PATH");
	setenv("PATH", "/nonexistent", 1);
	refused(cur, &bad, "missing tools");
	setenv("PATH", path, 1);

	struct launch_env e = make_env(&c);
	struct launcher *l = NULL;
	char msg[512] = "";
	CHECK_EQ_I(cur->start(&e, &l, msg, sizeof(msg)), 0);
	if (!l) {
		fprintf(stderr, "start: %s\n", msg);
		return;
	}
	char p[PATH_MAX + 64];
	struct stat st;
	snprintf(p, sizeof(p), "%s/pilots/secret", state);
	check(!stat(p, &st) && (st.st_mode & 0777) == 0600 && st.st_size == WIRE_SECRET,
	      "STATE/pilots/secret is the secret, mode 0600");
	snprintf(p, sizeof(p), "%s/pilots", state);
	check(!stat(p, &st) && (st.st_mode & 0777) == 0700, "STATE/pilots is 0700");

	/* Two pilots: one submit of two jobs; they run here; each got the secret as a file. */
	want_q = 0, want_r = 2;
	check(tick_until(cur, l, 2, counts_are, 30), "htcondor: two pilots run");
	condor_description(dbl_calls());
	CHECK_EQ_I(leftover_scripts(), 0);
	char fhex[80];
	snprintf(fhex, sizeof(fhex), "file:");
	for (int i = 0; i < WIRE_SECRET; i++)
		snprintf(fhex + 5 + 2 * i, 3, "%02x", secret[i]);
	for (int i = 0; i < 2; i++) {
		char id[8];
		snprintf(id, sizeof(id), "1.%d", i);
		check(wait_record(id, fhex, 30), "pilot %s read its secret from its scratch folder",
		      id);
		const char *r = record(id);
		check(r && strstr(r, "worker --connect tcp://127.0.0.1:5555 --backend htcondor "
				  "--pilot ") && strstr(r, id),
		      "pilot %s has the arguments (%s)", id, r ? r : "none");
		check(cur->owns(l, id), "owns(%s)", id);
	}
	check(!cur->owns(l, "1") && !cur->owns(l, "9.0") && !cur->owns(l, ""),
	      "owns() knows only its own pilots");

	/* Scale to four: the two new ones stay idle (played back); back to two: withdrawn. */
	dbl_put("states.json", "{\"2.*\": [1]}");
	want_q = 2, want_r = 2;
	check(tick_until(cur, l, 4, counts_are, 30), "htcondor: two more pilots queued");
	struct strbuf d = STRBUF_INIT;
	cur->describe(l, &d);
	check(d.buf && strstr(d.buf, "htcondor 2.1 ") && strstr(d.buf, "htcondor 1.0 RUNNING\n"),
	      "describe lists the pilots (%s)", d.buf ? d.buf : "");
	strbuf_free(&d);
	cur->tick(l, 2);
	int q, r;
	cur->count(l, &q, &r);
	check(q == 0 && r == 2, "htcondor: idle pilots beyond want are withdrawn (%d, %d)", q, r);
	check(strstr(dbl_calls(), "\"tool\": \"condor_rm\", \"argv\": [\"2.1\", \"2.0\"]") != NULL,
	      "condor_rm 2.1 2.0");

	/* A held pilot: logged with its reason, removed, replaced after the backoff. */
	dbl_put("states.json", "{\"2.*\": [1], \"1.1\": [5]}");
	want_q = 0, want_r = 1;
	check(tick_until(cur, l, 2, counts_are, 20), "htcondor: the held pilot is dropped");
	check(strstr(logged(), "pilot 1.1 is held (Test double: the job was put on hold)") != NULL,
	      "the hold is logged with its reason");
	check(wait_record("1.1", "term", 20), "the held pilot's worker got SIGTERM");
	check(strstr(dbl_calls(), "\"argv\": [\"1.1\"]") != NULL, "condor_rm 1.1");
	want_q = 0, want_r = 2;
	check(tick_until(cur, l, 2, counts_are, 30), "htcondor: a new pilot replaces the held one");

	/* A worker that exits: its job leaves the queue, and is replaced. */
	touch_exit("1.0");
	for (int i = 0; i < 80 && cur->owns(l, "1.0"); i++) {
		cur->tick(l, 2);
		nap(0.25);
	}
	check(!cur->owns(l, "1.0"), "htcondor: a pilot whose worker exited is forgotten");
	want_q = 0, want_r = 2;
	check(tick_until(cur, l, 2, counts_are, 30), "htcondor: and replaced");

	/* A pilot removed by someone else (condor_rm by the user, a policy):
	 * noticed at the next poll, and replaced. */
	dbl_put("states.json", "{\"2.*\": [1], \"1.1\": [5], \"3.0\": [3]}");
	for (int i = 0; i < 80 && cur->owns(l, "3.0"); i++) {
		cur->tick(l, 2);
		nap(0.25);
	}
	check(!cur->owns(l, "3.0"), "htcondor: a pilot removed by someone else is forgotten");
	check(wait_record("3.0", "term", 20), "its worker got SIGTERM");
	want_q = 0, want_r = 2;
	check(tick_until(cur, l, 2, counts_are, 30), "htcondor: and replaced");

	cur->stop(l);
	check(wait_record("4.0", "term", 20), "stop: condor_rm ended the running pilots");
	snprintf(p, sizeof(p), "%s/pilots/secret", state);
	check(access(p, F_OK) != 0, "stop removes STATE/pilots/secret");
	broken(cur, &c, "condor_submit", "condor_q condor_rm");
}

/* ---- Slurm, against a real one ---- */

static bool pilots_active(int n)
{
	FILE *f = popen("squeue --noheader --me --name=anafs-pilot -t PENDING,RUNNING,CONFIGURING"
			" -o %i", "r");
	char line[64];
	int k = 0;
	while (f && fgets(line, sizeof(line), f))
		k++;
	if (f)
		pclose(f);
	if (k != n)
		fprintf(stderr, "  squeue lists %d active pilots, not %d\n", k, n);
	return k == n;
}

static void slurm_script(const char *id)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "scontrol write batch_script %s - 2>&1", id);
	FILE *f = popen(cmd, "r");
	static char text[16384];
	size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	text[n] = 0;
	if (f)
		pclose(f);
	char want[PATH_MAX + 64];
	const char *lines[] = {"#SBATCH --job-name=anafs-pilot\n", "#SBATCH --mem=100M\n",
			       "#SBATCH --time=10:00\n", "#SBATCH --comment=anafs-test\n",
			       "#SBATCH --nice=0\n", "export ANAFS_SECRET\n",
			       "root only", NULL};
	for (int i = 0; lines[i]; i++)
		check(strstr(text, lines[i]) != NULL, "the script has %s", lines[i]);
	snprintf(want, sizeof(want), "#SBATCH --output=\"%s/pilots/slurm-%%j.out\"\n", state);
	check(strstr(text, want) != NULL, "the script has %s", want);
	snprintf(want, sizeof(want), "ANAFS_SECRET=%s\n", hex);
	check(strstr(text, want) != NULL, "the script exports the secret");
	snprintf(want, sizeof(want), "exec '%s' worker --connect 'tcp://127.0.0.1:5555' --backend "
		 "slurm --pilot \"$SLURM_JOB_ID\" --time-limit 540 --linger 60\n", fake);
	check(strstr(text, want) != NULL, "the script execs the worker: %s\n(script: %s)", want,
	      text);
}

static void test_slurm(void)
{
	cur = &launch_slurm;
	struct dist_conf c;
	dist_conf_defaults(&c);
	strcpy(c.backend, "slurm");
	strcpy(c.slurm_mem, "100M");
	strcpy(c.slurm_time, "10:00");
	strcpy(c.slurm_extra, "--comment=anafs-test --nice=0");

	struct dist_conf bad = c;
	strcpy(bad.slurm_extra, "--comment=x nope");
	refused(cur, &bad, "an extra flag without --");
	bad = c;
	strcpy(bad.slurm_time, "1:2:3:4");
	refused(cur, &bad, "a time of four fields");
	strcpy(bad.slurm_time, "soon");
	refused(cur, &bad, "a time that is no time");
	bad = c;
	strcpy(bad.slurm_partition, "a b");
	refused(cur, &bad, "a partition with a blank");

	struct launch_env e = make_env(&c);
	struct launcher *l = NULL;
	char msg[512] = "";
	CHECK_EQ_I(cur->start(&e, &l, msg, sizeof(msg)), 0);
	if (!l) {
		fprintf(stderr, "start: %s\n", msg);
		return;
	}
	/* Two pilots run (the node has two CPUs). */
	want_q = 0, want_r = 2;
	check(tick_until(cur, l, 2, counts_are, 60), "slurm: two pilots run");
	CHECK_EQ_I(leftover_scripts(), 0);
	struct strbuf d = STRBUF_INIT;
	cur->describe(l, &d);
	char ids[2][24] = {"", ""};
	if (d.buf)
		sscanf(d.buf, "slurm %23s RUNNING\nslurm %23s RUNNING\n", ids[0], ids[1]);
	strbuf_free(&d);
	char env_hex[80];
	snprintf(env_hex, sizeof(env_hex), "env:%s", hex);
	for (int i = 0; i < 2; i++) {
		check(ids[i][0] && cur->owns(l, ids[i]), "describe names pilot %d (%s)", i, ids[i]);
		check(wait_record(ids[i], env_hex, 30), "pilot %s got the secret in ANAFS_SECRET",
		      ids[i]);
	}
	check(!on_a_command_line(hex), "the secret is on no process's command line");
	if (ids[0][0])
		slurm_script(ids[0]);

	/* Four wanted: two wait for CPUs; back to two: those are withdrawn, not the running. */
	want_q = 2, want_r = 2;
	check(tick_until(cur, l, 4, counts_are, 30), "slurm: two more pilots pending");
	d = (struct strbuf)STRBUF_INIT;
	cur->describe(l, &d);
	check(d.buf && (strstr(d.buf, " PENDING") || strstr(d.buf, " SUBMITTED")),
	      "describe shows the pending (%s)",
	      d.buf ? d.buf : "");
	strbuf_free(&d);
	cur->tick(l, 2);
	int q, r;
	cur->count(l, &q, &r);
	check(q == 0 && r == 2, "slurm: pending pilots beyond want are cancelled (%d, %d)", q, r);
	want_q = 0, want_r = 2;
	check(tick_until(cur, l, 2, counts_are, 5) && pilots_active(2),
	      "slurm: squeue shows the two running only");

	/* A pilot whose worker exits is forgotten and replaced. */
	touch_exit(ids[0]);
	want_q = 0, want_r = 2;
	for (int i = 0; i < 120 && cur->owns(l, ids[0]); i++) {
		cur->tick(l, 2);
		nap(0.25);
	}
	check(!cur->owns(l, ids[0]), "slurm: a pilot that ended is forgotten");
	check(tick_until(cur, l, 2, counts_are, 30), "slurm: and replaced");

	cur->stop(l);
	check(wait_record(ids[1], "term", 30), "stop: scancel sent SIGTERM to a running pilot");
	double end = launch_now() + 30;
	while (!pilots_active(0) && launch_now() < end)
		nap(0.5);
	check(pilots_active(0), "stop: no pilot is left in the queue");
	c.tools[0] = 0;
	snprintf(c.tools, sizeof(c.tools), "/usr/bin");
	broken(cur, &c, "sbatch", "");
}


int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_launch tool | htcondor TOOLS | slurm\n");
		return 2;
	}
	snprintf(tmp, sizeof(tmp), "/tmp/anafs-launch-XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	chmod(tmp, 0755);
	snprintf(state, sizeof(state), "%s/state", tmp);
	mkdir(state, 0700);
	for (int i = 0; i < WIRE_SECRET; i++)
		secret[i] = (uint8_t)(0xa0 + i);
	wire_secret_hex(secret, hex);
	write_fake();
	if (!strcmp(argv[1], "tool"))
		test_tool();
	else if (!strcmp(argv[1], "htcondor") && argc == 3)
		test_condor(argv[2]);
	else if (!strcmp(argv[1], "slurm"))
		test_slurm();
	else
		return 2;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (!failures && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	strbuf_free(&logs);
	printf("%d checks, %d failed%s%s\n", nchecks, failures, failures ? "; left: " : "",
	       failures ? tmp : "");
	return failures ? 1 : 0;
}
