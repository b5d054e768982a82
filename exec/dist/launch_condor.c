/* launch_condor.c — HTCondor pilots (launch.h): each pilot is one job of
 * the vanilla universe running `anafs worker --connect URL --backend
 * htcondor --pilot CLUSTER.PROC --secret-file secret`, submitted with
 * condor_submit from a generated description, watched with condor_q,
 * withdrawn with condor_rm.
 *
 * The secret never goes into the description: a job's ClassAd (its
 * arguments and environment among it) is readable by every user of the
 * pool.  It travels instead as an input file: STATE/pilots/secret, a
 * 0600 copy named in transfer_input_files, which HTCondor copies into the
 * job's scratch folder, where the worker reads it (`--secret-file
 * secret`, relative to that folder).
 *
 * condor_q is asked at most every CONDOR_POLL seconds.  A job that has
 * left the queue, or is removed (3) or completed (4), is forgotten; a
 * held one (5) is logged with its HoldReason and removed, since it will
 * not run again by itself.  Failing tools and pilots that fail at once
 * back off as in launch_slurm.c. */
#include "launch_tool.h"
#include "wire.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CONDOR_POLL 2.0
#define CONDOR_BURST 4         /* pilots per condor_submit (queue N) */
#define CONDOR_BACKOFF_MAX 300
#define CONDOR_SHORT_LIFE 10

struct pilot {
	char id[48];      /* CLUSTER.PROC */
	int status;       /* JobStatus: 1 idle, 2 running, 3 removed, 4 completed, 5 held,
			     6 transferring output, 7 suspended; 0 before the first poll */
	double submitted, ran;
	bool cancelling;  /* condor_rm sent */
	bool ended;
};

struct launcher {
	struct launch_env env;
	char submit_tool[PATH_MAX], q[PATH_MAX], rm[PATH_MAX];
	char dir[PATH_MAX];
	struct pilot *p;
	int n;
	double next_poll, retry_at, backoff, quiet_until;
};

/* Keys the launcher writes itself: htcondor.extra may not change them. */
static const char *const own_keys[] = {
	"universe", "executable", "transfer_executable", "arguments", "args", "initialdir",
	"should_transfer_files", "when_to_transfer_output", "transfer_input_files", "output",
	"error", "log", "batch_name", "request_memory", "request_cpus", "queue", NULL};

/* Check one extra line ("key = value", trimmed): a key of letters,
 * digits, _ and . (a leading + for a custom attribute), =, a value. */
static int check_extra(const char *line, char *msg, size_t cap)
{
	char key[64];
	size_t k = line[0] == '+';
	while (line[k] && (isalnum((unsigned char)line[k]) || line[k] == '_' || line[k] == '.'))
		k++;
	const char *v = line + k;
	while (*v == ' ' || *v == '\t')
		v++;
	bool ok = k > (size_t)(line[0] == '+') && k < sizeof(key) && *v == '=';
	if (ok) {
		for (v++; *v == ' ' || *v == '\t'; v++)
			;
		ok = *v != 0;
	}
	if (!ok) {
		snprintf(msg, cap, "htcondor.extra: \"%.64s\" is not a key = value line", line);
		return -EINVAL;
	}
	memcpy(key, line, k);
	key[k] = 0;
	for (int i = 0; own_keys[i]; i++)
		if (!strcasecmp(key, own_keys[i])) {
			snprintf(msg, cap, "htcondor.extra: \"%s\" is set by anafs itself (see"
				 " docs/workers-admin.md)", key);
			return -EINVAL;
		}
	return 0;
}

/* The extra lines: htcondor.extra split on ';', each trimmed.  Calls
 * fn(line) for each; stops at the first nonzero. */
static int each_extra(const char *extra, int (*fn)(char *, void *), void *arg)
{
	char buf[sizeof(((struct dist_conf *)0)->condor_extra)];
	snprintf(buf, sizeof(buf), "%s", extra);
	for (char *save = NULL, *t = strtok_r(buf, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		size_t n = strlen(t);
		while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
			t[--n] = 0;
		int rc;
		if (*t && (rc = fn(t, arg)))
			return rc;
	}
	return 0;
}

struct msgbuf {
	char *msg;
	size_t cap;
};

static int check_one(char *line, void *arg)
{
	struct msgbuf *m = arg;
	return check_extra(line, m->msg, m->cap);
}

static int put_one(char *line, void *arg)
{
	strbuf_printf(arg, "%s\n", line);
	return 0;
}

static int check_conf(const struct launch_env *env, char *msg, size_t cap)
{
	const struct dist_conf *c = env->conf;
	if (c->condor_memory[0] && !launch_safe_word(c->condor_memory, "")) {
		snprintf(msg, cap, "htcondor.request_memory \"%s\" is not a size such as 2GB",
			 c->condor_memory);
		return -EINVAL;
	}
	struct msgbuf m = {msg, cap};
	int rc = each_extra(c->condor_extra, check_one, &m);
	if (rc)
		return rc;
	if (!launch_safe_word(env->url, "._-+:,=@/[]") || strncmp(env->url, "tcp://", 6)) {
		snprintf(msg, cap, "the URL pilots dial (%.128s) is not tcp://HOST:PORT", env->url);
		return -EINVAL;
	}
	if (strpbrk(env->anafs, "\n\r\"") || strpbrk(env->statedir, "\n\r\"")) {
		snprintf(msg, cap, "the anafs binary's or the state folder's path holds a quote or "
			 "a newline, which a submit description cannot carry");
		return -EINVAL;
	}
	return 0;
}

/* STATE/pilots/secret: the copy of the secret HTCondor hands each pilot. */
static int write_secret(struct launcher *l, char *msg, size_t cap)
{
	char tmp[PATH_MAX + 32], final[PATH_MAX + 16];
	snprintf(tmp, sizeof(tmp), "%s/.secret-XXXXXX", l->dir);
	snprintf(final, sizeof(final), "%s/secret", l->dir);
	int rc = launch_write_private(tmp, 0, (const char *)l->env.secret, WIRE_SECRET);
	if (!rc && rename(tmp, final)) {
		rc = -errno;
		unlink(tmp);
	}
	if (rc)
		snprintf(msg, cap, "%s: %s", final, strerror(-rc));
	return rc;
}

static int start(const struct launch_env *env, struct launcher **out, char *msg, size_t cap)
{
	int rc = check_conf(env, msg, cap);
	if (rc)
		return rc;
	struct launcher *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->env = *env;
	const char *names[] = {"condor_submit", "condor_q", "condor_rm"};
	char *paths[] = {l->submit_tool, l->q, l->rm};
	for (int i = 0; i < 3 && !rc; i++)
		if (launch_tool_find(env->conf, names[i], paths[i], PATH_MAX)) {
			snprintf(msg, cap, "%s is not in %s%sPATH", names[i], env->conf->tools,
				 env->conf->tools[0] ? " nor on " : "");
			rc = -ENOENT;
		}
	if (!rc)
		rc = launch_pilot_dir(env->statedir, l->dir, sizeof(l->dir), msg, cap);
	if (!rc)
		rc = write_secret(l, msg, cap);
	if (!rc && !(l->p = calloc(LAUNCH_MAX_PILOTS, sizeof(*l->p))))
		rc = -ENOMEM;
	if (rc) {
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

/* The submit description of n pilots. */
static void description(struct launcher *l, int n, struct strbuf *b)
{
	const struct dist_conf *c = l->env.conf;
	strbuf_printf(b,
		      "# anafs pilots: workers of the daemon of %s.\n"
		      "# The secret is not in here (a job's ClassAd is readable by every user of\n"
		      "# the pool): it travels as the 0600 input file `secret`.\n"
		      "universe = vanilla\n"
		      "executable = %s\n"
		      "transfer_executable = false\n"
		      "arguments = \"worker --connect %s --backend htcondor --pilot $(Cluster).$(Process)"
		      " --secret-file secret --linger %.0f\"\n"
		      "initialdir = %s\n"
		      "should_transfer_files = YES\n"
		      "when_to_transfer_output = ON_EXIT\n"
		      "transfer_input_files = secret\n"
		      "output = condor-$(Cluster).$(Process).out\n"
		      "error = condor-$(Cluster).$(Process).err\n"
		      "log = condor.log\n"
		      "batch_name = anafs-pilot\n",
		      l->env.statedir, l->env.anafs, l->env.url, c->linger, l->dir);
	if (c->condor_memory[0])
		strbuf_printf(b, "request_memory = %s\n", c->condor_memory);
	strbuf_printf(b, "request_cpus = %d\n", c->condor_cpus > 0 ? c->condor_cpus : 1);
	each_extra(c->condor_extra, put_one, b);
	strbuf_printf(b, "queue %d\n", n);
}

static void fail_later(struct launcher *l)
{
	l->backoff = l->backoff ? l->backoff * 2 : 5;
	if (l->backoff > CONDOR_BACKOFF_MAX)
		l->backoff = CONDOR_BACKOFF_MAX;
	l->retry_at = launch_now() + l->backoff;
}

/* "C.P" at s: the cluster and proc, and the length read; 0 when none. */
static size_t job_id(const char *s, long *cluster, long *proc)
{
	char *end;
	if (*s < '0' || *s > '9')
		return 0;
	*cluster = strtol(s, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9' || *cluster > 1000000000L)
		return 0;
	*proc = strtol(end + 1, &end, 10);
	if (*proc > 100000)
		return 0;
	return (size_t)(end - s);
}

/* Submit n pilots at once: the number submitted (logged on failure). */
static int submit(struct launcher *l, int n)
{
	if (n > LAUNCH_MAX_PILOTS - l->n)
		n = LAUNCH_MAX_PILOTS - l->n;
	if (n <= 0)
		return 0;
	struct strbuf b = STRBUF_INIT;
	description(l, n, &b);
	char *text, file[PATH_MAX + 32];
	size_t len;
	int rc = strbuf_finish(&b, &text, &len);
	if (rc)
		return 0;
	snprintf(file, sizeof(file), "%s/pilot-XXXXXX.sub", l->dir);
	rc = launch_write_private(file, 4, text, len);
	free(text);
	if (rc) {
		launch_log(&l->env, "htcondor: cannot write a submit description in %s: %s",
			   l->dir, strerror(-rc));
		fail_later(l);
		return 0;
	}
	char *argv[] = {l->submit_tool, "-terse", file, NULL};
	struct launch_run r;
	rc = launch_tool_run(argv, LAUNCH_TOOL_TIMEOUT, &r);
	unlink(file);
	/* -terse prints "C.P - C.Q": the first and last job submitted. */
	long c0 = 0, p0 = 0, c1 = 0, p1 = 0;
	size_t k = rc ? 0 : job_id(r.out, &c0, &p0);
	if (!rc && (!k || strncmp(r.out + k, " - ", 3) || !job_id(r.out + k + 3, &c1, &p1) ||
		    c1 != c0 || p1 < p0 || p1 - p0 + 1 != n)) {
		snprintf(r.err, sizeof(r.err), "not the %d jobs asked for in its output \"%.200s\"",
			 n, r.out);
		r.status = 0;
		rc = -EPROTO;
	}
	if (rc) {
		launch_log_failure(&l->env, "htcondor: condor_submit", rc, &r);
		launch_run_free(&r);
		fail_later(l);
		return 0;
	}
	for (long p = p0; p <= p1; p++) {
		struct pilot *pl = &l->p[l->n++];
		memset(pl, 0, sizeof(*pl));
		snprintf(pl->id, sizeof(pl->id), "%ld.%ld", c0, p);
		pl->submitted = launch_now();
	}
	launch_run_free(&r);
	return n;
}

static struct pilot *find(struct launcher *l, const char *id)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->p[i].id, id))
			return &l->p[i];
	return NULL;
}

/* condor_rm the pilots ps[0..n-1]: 0 or -errno (logged). */
static int remove_pilots(struct launcher *l, struct pilot **ps, int n)
{
	const char *ids[n > 0 ? n : 1];
	for (int i = 0; i < n; i++)
		ids[i] = ps[i]->id;
	return launch_tool_each(&l->env, l->rm, "htcondor: condor_rm", ids, n);
}

/* A pilot is gone.  condor_q does not say how a job that left the queue
 * ended (that is in the history), and a worker released with BYE may
 * have lived only seconds, so only a pilot that ended without ever being
 * seen running counts as failing (a worker that cannot start there): it
 * is logged with where its output is and holds back new ones. */
static void ended(struct launcher *l, struct pilot *p, const char *how)
{
	double now = launch_now();
	p->ended = true;
	if (p->cancelling)
		return;
	if (!p->ran && now - p->submitted < CONDOR_SHORT_LIFE) {
		launch_log(&l->env, "htcondor: pilot %s ended before it was seen running, after "
			   "%.0f s (%s); its output: %s/condor-%s.out and .err", p->id,
			   now - p->submitted, how, l->dir, p->id);
		fail_later(l);
	} else if (p->ran) {
		l->backoff = 0;
	}
}

/* One condor_q line: "CLUSTER PROC STATUS HOLDREASON...". */
static void take_line(struct launcher *l, char *line, bool *seen, struct pilot **held, int *nheld)
{
	long c, p;
	int status, off = 0;
	if (sscanf(line, "%ld %ld %d %n", &c, &p, &status, &off) < 3)
		return;
	char id[48];
	snprintf(id, sizeof(id), "%ld.%ld", c, p);
	struct pilot *pl = find(l, id);
	if (!pl || pl->ended)
		return;
	seen[pl - l->p] = true;
	pl->status = status;
	if ((status == 2 || status == 6 || status == 7) && !pl->ran)
		pl->ran = launch_now();
	if (status == 3 || status == 4) {
		ended(l, pl, status == 3 ? "removed" : "completed");
	} else if (status == 5 && !pl->cancelling) {
		launch_log(&l->env, "htcondor: pilot %s is held (%.300s): removing it", pl->id,
			   off ? line + off : "");
		fail_later(l);
		held[(*nheld)++] = pl;
	}
}

/* Ask condor_q about our pilots' clusters.  0 or -errno (states unchanged). */
static int poll_queue(struct launcher *l)
{
	/* The clusters first: -af takes every later word as an attribute. */
	char *argv[64 + 8], clusters[64][24];
	int k = 0, nc = 0;
	argv[k++] = l->q;
	for (int i = 0; i < l->n && nc < 64; i++) {
		char cl[24];
		snprintf(cl, sizeof(cl), "%.*s", (int)strcspn(l->p[i].id, "."), l->p[i].id);
		bool dup = false;
		for (int j = 0; j < nc && !dup; j++)
			dup = !strcmp(clusters[j], cl);
		if (!dup) {
			strcpy(clusters[nc], cl);
			argv[k++] = clusters[nc++];
		}
	}
	const char *tail[] = {"-af", "ClusterId", "ProcId", "JobStatus", "HoldReason", NULL};
	for (int i = 0; tail[i]; i++)
		argv[k++] = (char *)tail[i];
	argv[k] = NULL;
	struct launch_run r;
	int rc = launch_tool_run(argv, LAUNCH_TOOL_TIMEOUT, &r);
	if (rc) {
		if (launch_now() >= l->quiet_until) {
			launch_log_failure(&l->env, "htcondor: condor_q", rc, &r);
			l->quiet_until = launch_now() + 60;
		}
		launch_run_free(&r);
		return rc;
	}
	bool *seen = calloc((size_t)l->n + 1, sizeof(bool));
	struct pilot **held = calloc((size_t)l->n + 1, sizeof(*held));
	int nheld = 0;
	if (!seen || !held) {
		free(seen);
		free(held);
		launch_run_free(&r);
		return -ENOMEM;
	}
	for (char *save = NULL, *line = strtok_r(r.out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		take_line(l, line, seen, held, &nheld);
	if (nheld && !remove_pilots(l, held, nheld))
		for (int i = 0; i < nheld; i++)
			held[i]->cancelling = true;
	/* Only the clusters asked about can be missing; a pilot of a cluster
	 * past the 64 asked about waits for the next poll. */
	for (int i = 0; i < l->n; i++) {
		struct pilot *pl = &l->p[i];
		char cl[24];
		snprintf(cl, sizeof(cl), "%.*s", (int)strcspn(pl->id, "."), pl->id);
		bool asked = false;
		for (int j = 0; j < nc && !asked; j++)
			asked = !strcmp(clusters[j], cl);
		if (asked && !seen[i] && !pl->ended)
			ended(l, pl, "left the queue");
	}
	int keep = 0;
	for (int i = 0; i < l->n; i++)
		if (!l->p[i].ended)
			l->p[keep++] = l->p[i];
	l->n = keep;
	free(seen);
	free(held);
	launch_run_free(&r);
	return 0;
}

static void count(struct launcher *l, int *queued, int *running)
{
	*queued = *running = 0;
	for (int i = 0; i < l->n; i++) {
		const struct pilot *p = &l->p[i];
		if (p->ended || p->cancelling || p->status == 5)
			continue;
		if (p->status == 0 || p->status == 1)
			(*queued)++;
		else
			(*running)++;
	}
}

static void tick(struct launcher *l, int want)
{
	double now = launch_now();
	if (want < 0)
		want = 0;
	if (l->n && now >= l->next_poll) {
		l->next_poll = now + CONDOR_POLL;
		if (poll_queue(l))
			return;
	}
	int queued, running;
	count(l, &queued, &running);
	int have = queued + running;
	if (have < want && now >= l->retry_at) {
		int n = want - have > CONDOR_BURST ? CONDOR_BURST : want - have;
		if (submit(l, n) == n)
			l->next_poll = 0;
		return;
	}
	if (have <= want || !queued)
		return;
	/* Withdraw idle pilots, the newest first; running ones are released
	 * by the server (BYE). */
	struct pilot *drop[64];
	int n = 0;
	for (int i = l->n - 1; i >= 0 && have > want && n < 64; i--) {
		struct pilot *p = &l->p[i];
		if (!p->cancelling && !p->ended && (p->status == 0 || p->status == 1)) {
			drop[n++] = p;
			have--;
		}
	}
	if (n && !remove_pilots(l, drop, n))
		for (int i = 0; i < n; i++)
			drop[i]->cancelling = true;
}

static void stop(struct launcher *l)
{
	if (!l)
		return;
	struct pilot **all = calloc((size_t)l->n + 1, sizeof(*all));
	int n = 0;
	for (int i = 0; all && i < l->n; i++) /* not twice: condor_rm fails on those */
		if (!l->p[i].ended && !l->p[i].cancelling)
			all[n++] = &l->p[i];
	if (n)
		remove_pilots(l, all, n);
	free(all);
	char secret[PATH_MAX + 16];
	snprintf(secret, sizeof(secret), "%s/secret", l->dir);
	unlink(secret);
	free(l->p);
	free(l);
}

static bool owns(struct launcher *l, const char *pilot)
{
	return pilot && *pilot && find(l, pilot) != NULL;
}

static void describe(struct launcher *l, struct strbuf *out)
{
	static const char *const names[] = {"SUBMITTED", "IDLE", "RUNNING", "REMOVED",
					    "COMPLETED", "HELD", "TRANSFERRING_OUTPUT",
					    "SUSPENDED"};
	for (int i = 0; i < l->n; i++) {
		const struct pilot *p = &l->p[i];
		int s = p->status;
		strbuf_printf(out, "htcondor %s %s\n", p->id,
			      p->cancelling ? "REMOVING" : s >= 0 && s <= 7 ? names[s] : "UNKNOWN");
	}
}

const struct launch_ops launch_htcondor = {
	.name = "htcondor", .start = start, .tick = tick, .count = count, .stop = stop,
	.owns = owns, .describe = describe,
};
