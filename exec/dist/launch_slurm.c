/* launch_slurm.c — Slurm pilots (launch.h): each pilot is one batch job
 * running `anafs worker --connect URL --backend slurm --pilot JOBID`,
 * submitted with sbatch, watched with squeue, withdrawn with scancel.
 *
 * A pilot's batch script is written 0600 under STATE/pilots/ and removed
 * as soon as sbatch has read it (Slurm keeps its own copy).  The script
 * exports ANAFS_SECRET, so the secret is never on a command line.  The
 * worker is told a time limit a margin short of the job's, so it hands
 * its tasks back before Slurm ends it; Slurm's SIGTERM at the limit is
 * handled by the worker as well.
 *
 * squeue is asked at most every SLURM_POLL seconds; a pilot it no longer
 * lists, or lists as ended, is forgotten.  A failing tool is logged with
 * its stderr and tried again after a backoff that doubles up to a few
 * minutes, so a broken sbatch is not hammered; so are pilots that end
 * within seconds of starting (a worker that cannot run there). */
#include "launch_tool.h"
#include "wire.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLURM_POLL 2.0        /* seconds between squeue calls */
#define SLURM_BURST 4         /* pilots submitted per tick at most */
#define SLURM_BACKOFF_MAX 300 /* seconds */
#define SLURM_SHORT_LIFE 10   /* a pilot that ran less than this counts as failing */

struct pilot {
	char id[24];      /* the job id: digits */
	char state[24];   /* squeue's %T, or SUBMITTED before the first poll */
	char reason[64];  /* squeue's %r (why it waits) */
	double submitted; /* launch_now() */
	double ran;       /* when first seen running, 0 before */
	bool cancelling;  /* scancel sent: no longer counted */
};

struct launcher {
	struct launch_env env;
	char sbatch[PATH_MAX], squeue[PATH_MAX], scancel[PATH_MAX];
	char dir[PATH_MAX];  /* STATE/pilots */
	long limit;          /* the job's time limit in seconds, 0: none */
	struct pilot *p;
	int n;
	double next_poll;
	double retry_at, backoff; /* after a failure: no sbatch before retry_at */
	double quiet_until;       /* the next log of a failing squeue */
};

/* Slurm's time forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S; INFINITE or
 * UNLIMITED (no limit).  Seconds, 0 for none, -1 when s is none of them. */
static long parse_time(const char *s)
{
	if (!*s || !strcmp(s, "INFINITE") || !strcmp(s, "UNLIMITED"))
		return 0;
	long v[4] = {0}, days = 0;
	int n = 0;
	const char *p = s, *dash = strchr(s, '-');
	if (dash) {
		char *end;
		days = strtol(s, &end, 10);
		if (end != dash || days < 0 || days > 365)
			return -1;
		p = dash + 1;
	}
	for (;;) {
		char *end;
		if (*p < '0' || *p > '9' || n == 3)
			return -1;
		v[n++] = strtol(p, &end, 10);
		if (v[n - 1] > 100000)
			return -1;
		if (!*end)
			break;
		if (*end != ':')
			return -1;
		p = end + 1;
	}
	long secs;
	if (dash) /* D-H, D-H:M, D-H:M:S */
		secs = v[0] * 3600 + (n > 1 ? v[1] * 60 : 0) + (n > 2 ? v[2] : 0);
	else if (n == 1) /* M */
		secs = v[0] * 60;
	else if (n == 2) /* M:S */
		secs = v[0] * 60 + v[1];
	else /* H:M:S */
		secs = v[0] * 3600 + v[1] * 60 + v[2];
	return days * 86400 + secs;
}

/* The worker's own limit: the job's less a margin (a tenth, from 10 s to
 * 5 min, never more than half) in which it hands its tasks back. */
static long worker_limit(long limit)
{
	if (limit <= 0)
		return 0;
	long margin = limit / 10;
	margin = margin < 10 ? 10 : margin > 300 ? 300 : margin;
	if (margin > limit / 2)
		margin = limit / 2;
	return limit - margin > 1 ? limit - margin : 1;
}

/* A path that goes on a #SBATCH line inside double quotes. */
static bool quotable(const char *s)
{
	return !strpbrk(s, "\"\\%\n\r$`");
}

static int check_conf(const struct launch_env *env, long *limit, char *msg, size_t cap)
{
	const struct dist_conf *c = env->conf;
	if (c->slurm_partition[0] && !launch_safe_word(c->slurm_partition, "._-+,")) {
		snprintf(msg, cap, "slurm.partition \"%s\": letters, digits and ._-+, only",
			 c->slurm_partition);
		return -EINVAL;
	}
	if (c->slurm_account[0] && !launch_safe_word(c->slurm_account, "._-+")) {
		snprintf(msg, cap, "slurm.account \"%s\": letters, digits and ._-+ only",
			 c->slurm_account);
		return -EINVAL;
	}
	if (c->slurm_mem[0] && !launch_safe_word(c->slurm_mem, "")) {
		snprintf(msg, cap, "slurm.mem \"%s\" is not a size such as 2G or 500M",
			 c->slurm_mem);
		return -EINVAL;
	}
	if ((*limit = parse_time(c->slurm_time)) < 0) {
		snprintf(msg, cap,
			 "slurm.time \"%s\" is not a Slurm time (M, M:S, H:M:S, D-H, D-H:M, D-H:M:S)",
			 c->slurm_time);
		return -EINVAL;
	}
	/* Each extra flag becomes its own #SBATCH line: an option, not a command. */
	char extra[sizeof(c->slurm_extra)];
	snprintf(extra, sizeof(extra), "%s", c->slurm_extra);
	for (char *save = NULL, *t = strtok_r(extra, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save))
		if (strncmp(t, "--", 2) || strlen(t) < 3 || strpbrk(t, "\n\r")) {
			snprintf(msg, cap, "slurm.extra: \"%.64s\" is not a --flag or --flag=value",
				 t);
			return -EINVAL;
		}
	if (!launch_safe_word(env->url, "._-+:,=@/[]") || strncmp(env->url, "tcp://", 6)) {
		snprintf(msg, cap, "the URL pilots dial (%.128s) is not tcp://HOST:PORT", env->url);
		return -EINVAL;
	}
	if (!quotable(env->statedir)) {
		snprintf(msg, cap, "the state folder's path holds one of \" \\ %% $ ` or a newline,"
			 " which a #SBATCH line cannot carry");
		return -EINVAL;
	}
	return 0;
}

static int start(const struct launch_env *env, struct launcher **out, char *msg, size_t cap)
{
	long limit;
	int rc = check_conf(env, &limit, msg, cap);
	if (rc)
		return rc;
	struct launcher *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->env = *env;
	l->limit = limit;
	const char *names[] = {"sbatch", "squeue", "scancel"};
	char *paths[] = {l->sbatch, l->squeue, l->scancel};
	for (int i = 0; i < 3; i++)
		if (launch_tool_find(env->conf, names[i], paths[i], PATH_MAX)) {
			snprintf(msg, cap, "%s is not in %s%sPATH", names[i], env->conf->tools,
				 env->conf->tools[0] ? " nor on " : "");
			free(l);
			return -ENOENT;
		}
	if ((rc = launch_pilot_dir(env->statedir, l->dir, sizeof(l->dir), msg, cap))) {
		free(l);
		return rc;
	}
	l->p = calloc(LAUNCH_MAX_PILOTS, sizeof(*l->p));
	if (!l->p) {
		free(l);
		return -ENOMEM;
	}
	*out = l;
	return 0;
}

/* The batch script of one pilot (the secret inside: the caller writes it 0600). */
static void script(struct launcher *l, struct strbuf *b)
{
	const struct dist_conf *c = l->env.conf;
	char hex[2 * WIRE_SECRET + 1];
	wire_secret_hex(l->env.secret, hex);
	strbuf_puts(b, "#!/bin/sh\n#SBATCH --job-name=anafs-pilot\n");
	if (c->slurm_partition[0])
		strbuf_printf(b, "#SBATCH --partition=%s\n", c->slurm_partition);
	if (l->limit > 0)
		strbuf_printf(b, "#SBATCH --time=%s\n", c->slurm_time);
	if (c->slurm_mem[0])
		strbuf_printf(b, "#SBATCH --mem=%s\n", c->slurm_mem);
	if (c->slurm_account[0])
		strbuf_printf(b, "#SBATCH --account=%s\n", c->slurm_account);
	strbuf_printf(b, "#SBATCH --output=\"%s/slurm-%%j.out\"\n", l->dir);
	char extra[sizeof(c->slurm_extra)];
	snprintf(extra, sizeof(extra), "%s", c->slurm_extra);
	for (char *save = NULL, *t = strtok_r(extra, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save))
		strbuf_printf(b, "#SBATCH %s\n", t);
	strbuf_printf(b,
		      "# An anafs pilot: one worker of the daemon of %s.\n"
		      "# The secret is exported here, never put on a command line: Slurm keeps\n"
		      "# this script readable by its owner and root only, and the worker unsets\n"
		      "# the variable as soon as it has read it.\n"
		      "ANAFS_SECRET=%s\nexport ANAFS_SECRET\nexec ",
		      l->env.statedir, hex);
	launch_sh_quote(b, l->env.anafs);
	strbuf_puts(b, " worker --connect ");
	launch_sh_quote(b, l->env.url);
	strbuf_printf(b, " --backend slurm --pilot \"$SLURM_JOB_ID\" --time-limit %ld --linger %.0f\n",
		      worker_limit(l->limit), c->linger);
	memset(hex, 0, sizeof(hex));
}

static void fail_later(struct launcher *l)
{
	l->backoff = l->backoff ? l->backoff * 2 : 5;
	if (l->backoff > SLURM_BACKOFF_MAX)
		l->backoff = SLURM_BACKOFF_MAX;
	l->retry_at = launch_now() + l->backoff;
}

/* Submit one pilot: 0, or -errno (logged, backoff armed). */
static int submit(struct launcher *l)
{
	if (l->n >= LAUNCH_MAX_PILOTS)
		return -ENOSPC;
	struct strbuf b = STRBUF_INIT;
	script(l, &b);
	char *text;
	size_t len;
	char file[PATH_MAX + 32];
	snprintf(file, sizeof(file), "%s/pilot-XXXXXX.sh", l->dir);
	int rc = strbuf_finish(&b, &text, &len);
	if (rc)
		return rc;
	rc = launch_write_private(file, 3, text, len);
	memset(text, 0, len);
	free(text);
	if (rc) {
		launch_log(&l->env, "slurm: cannot write a pilot's script in %s: %s", l->dir,
			   strerror(-rc));
		fail_later(l);
		return rc;
	}
	char *argv[] = {l->sbatch, "--parsable", file, NULL};
	struct launch_run r;
	rc = launch_tool_run(argv, LAUNCH_TOOL_TIMEOUT, &r);
	unlink(file);
	/* --parsable prints "ID" or "ID;CLUSTER". */
	size_t digits = r.out ? strspn(r.out, "0123456789") : 0;
	if (!rc && (digits == 0 || digits >= sizeof(l->p[0].id) ||
		    (r.out[digits] && !strchr(";\n", r.out[digits])))) {
		snprintf(r.err, sizeof(r.err), "no job id in its output \"%.200s\"", r.out);
		rc = -EPROTO;
		r.status = 0;
	}
	if (rc) {
		launch_log_failure(&l->env, "slurm: sbatch", rc, &r);
		launch_run_free(&r);
		fail_later(l);
		return rc;
	}
	struct pilot *p = &l->p[l->n++];
	memset(p, 0, sizeof(*p));
	memcpy(p->id, r.out, digits);
	strcpy(p->state, "SUBMITTED");
	p->submitted = launch_now();
	launch_run_free(&r);
	return 0;
}

enum phase { PH_QUEUED, PH_RUNNING, PH_ENDED };

static enum phase phase(const struct pilot *p)
{
	static const char *const queued[] = {"SUBMITTED", "PENDING", "REQUEUED", "REQUEUE_HOLD",
					     "REQUEUE_FED", "RESV_DEL_HOLD", NULL};
	static const char *const running[] = {"CONFIGURING", "RUNNING", "SUSPENDED", "STOPPED",
					      "RESIZING", "SIGNALING", NULL};
	for (int i = 0; queued[i]; i++)
		if (!strcmp(p->state, queued[i]))
			return PH_QUEUED;
	for (int i = 0; running[i]; i++)
		if (!strcmp(p->state, running[i]))
			return PH_RUNNING;
	return PH_ENDED;
}

static struct pilot *find(struct launcher *l, const char *id)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->p[i].id, id))
			return &l->p[i];
	return NULL;
}

/* A pilot is gone.  One that failed within seconds of starting (the
 * worker cannot run there: a missing binary, a URL it cannot reach) is
 * logged with where its output is, and holds back new ones; a worker
 * that exits 0 (released with BYE, its time limit) is healthy. */
static void ended(struct launcher *l, struct pilot *p, const char *how)
{
	double now = launch_now();
	double life = p->ran ? now - p->ran : now - p->submitted;
	if (p->cancelling)
		return;
	if (strcmp(how, "COMPLETED") && life < SLURM_SHORT_LIFE) {
		launch_log(&l->env, "slurm: pilot %s ended %s after %.0f s (%s); its output: "
			   "%s/slurm-%s.out", p->id, p->ran ? "running" : "before it ran", life,
			   how, l->dir, p->id);
		fail_later(l);
	} else if (!strcmp(how, "COMPLETED")) {
		l->backoff = 0;
	}
}

/* Forget the pilots that ended (keeping the order: newest last). */
static void compact(struct launcher *l)
{
	int k = 0;
	for (int i = 0; i < l->n; i++)
		if (phase(&l->p[i]) != PH_ENDED)
			l->p[k++] = l->p[i];
	l->n = k;
}

/* Ask squeue for our pilots' states.  0, or -errno (states unchanged). */
static int poll_queue(struct launcher *l)
{
	char *argv[] = {l->squeue, "--noheader", "--me", "--name=anafs-pilot", "--states=all",
			"-o", "%i %T %r",
			NULL};
	struct launch_run r;
	int rc = launch_tool_run(argv, LAUNCH_TOOL_TIMEOUT, &r);
	if (rc) {
		if (launch_now() >= l->quiet_until) {
			launch_log_failure(&l->env, "slurm: squeue", rc, &r);
			l->quiet_until = launch_now() + 60;
		}
		launch_run_free(&r);
		return rc;
	}
	bool *seen = calloc((size_t)l->n + 1, sizeof(bool));
	if (!seen) {
		launch_run_free(&r);
		return -ENOMEM;
	}
	for (char *save = NULL, *line = strtok_r(r.out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char id[32], state[32];
		int off = 0;
		if (sscanf(line, "%31s %31s %n", id, state, &off) < 2)
			continue;
		struct pilot *p = find(l, id);
		if (!p)
			continue; /* a pilot of another daemon of this user */
		seen[p - l->p] = true;
		snprintf(p->state, sizeof(p->state), "%.23s", state);
		snprintf(p->reason, sizeof(p->reason), "%s", off ? line + off : "");
		if (phase(p) == PH_RUNNING && !p->ran)
			p->ran = launch_now();
		if (phase(p) == PH_ENDED)
			ended(l, p, p->state);
	}
	/* A pilot squeue does not list has left the queue: it ended (a job
	 * just submitted is listed at once: sbatch returns once slurmctld
	 * has it). */
	for (int i = 0; i < l->n; i++)
		if (!seen[i] && phase(&l->p[i]) != PH_ENDED) {
			ended(l, &l->p[i], "no longer queued");
			strcpy(l->p[i].state, "GONE");
		}
	free(seen);
	launch_run_free(&r);
	compact(l);
	return 0;
}

/* scancel the pilots ids[0..n-1]: 0 or -errno (logged). */
static int cancel(struct launcher *l, struct pilot **ps, int n)
{
	const char *ids[n > 0 ? n : 1];
	for (int i = 0; i < n; i++)
		ids[i] = ps[i]->id;
	return launch_tool_each(&l->env, l->scancel, "slurm: scancel", ids, n);
}

static void counts(struct launcher *l, int *queued, int *running)
{
	*queued = *running = 0;
	for (int i = 0; i < l->n; i++) {
		enum phase ph = phase(&l->p[i]);
		if (l->p[i].cancelling || ph == PH_ENDED)
			continue;
		if (ph == PH_QUEUED)
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
		l->next_poll = now + SLURM_POLL;
		if (poll_queue(l))
			return; /* nothing known: neither submit nor withdraw blind */
	}
	int queued, running;
	counts(l, &queued, &running);
	int have = queued + running;
	for (int i = 0; i < SLURM_BURST && have < want && launch_now() >= l->retry_at; i++) {
		if (submit(l))
			break;
		have++;
		l->next_poll = 0; /* look at the new one next tick */
	}
	if (have <= want || !queued)
		return;
	/* Withdraw pending pilots, the newest first; running ones are the
	 * server's to release (BYE to an idle worker). */
	struct pilot *drop[64];
	int n = 0;
	for (int i = l->n - 1; i >= 0 && have > want && n < 64; i--)
		if (!l->p[i].cancelling && phase(&l->p[i]) == PH_QUEUED) {
			drop[n++] = &l->p[i];
			have--;
		}
	if (n && !cancel(l, drop, n))
		for (int i = 0; i < n; i++)
			drop[i]->cancelling = true;
}

static void count(struct launcher *l, int *queued, int *running)
{
	counts(l, queued, running);
}

static void stop(struct launcher *l)
{
	if (!l)
		return;
	struct pilot **all = calloc((size_t)l->n + 1, sizeof(*all));
	int n = 0;
	for (int i = 0; all && i < l->n; i++) /* not twice: scancel complains */
		if (phase(&l->p[i]) != PH_ENDED && !l->p[i].cancelling)
			all[n++] = &l->p[i];
	if (n)
		cancel(l, all, n);
	free(all);
	free(l->p);
	free(l);
}

static bool owns(struct launcher *l, const char *pilot)
{
	return pilot && *pilot && find(l, pilot) != NULL;
}

static void describe(struct launcher *l, struct strbuf *out)
{
	for (int i = 0; i < l->n; i++) {
		const struct pilot *p = &l->p[i];
		strbuf_printf(out, "slurm %s %s", p->id, p->cancelling ? "CANCELLING" : p->state);
		if (phase(p) == PH_QUEUED && p->reason[0] && strcmp(p->reason, "None"))
			strbuf_printf(out, " (%s)", p->reason);
		strbuf_putc(out, '\n');
	}
}

const struct launch_ops launch_slurm = {
	.name = "slurm", .start = start, .tick = tick, .count = count, .stop = stop, .owns = owns,
	.describe = describe,
};
