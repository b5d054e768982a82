/* bench_dist.c — what worker processes cost (issue 9), measured against
 * the thread backend in the same run.
 *
 *   dispatch  tasks/s a real coordinator and store sustain with many tiny
 *             tasks and 64 `anafs worker --fake 0` processes (they answer
 *             each task at once with an empty result), against the same
 *             job on 2 threads;
 *   cost      events/s of bench_query's query on 2 local worker processes
 *             (backend_workers, real work) against 2 threads, A/B pairs;
 *   sim       100,000 files and 1,000 simulated workers (threads of this
 *             process speaking wire.h; bench_dist_sim.c): planning time,
 *             dispatch rate, store size, peak memory.
 *
 * Each part runs in a child process of its own, so that its peak memory
 * is its own.  The local launcher starts workers from this program's own
 * path (/proc/self/exe): started as `bench_dist worker ...`, it becomes
 * the anafs binary (exec), which the parent names in BENCH_DIST_ANAFS.
 * Every wait is bounded; the workers the bench starts are ended by pid. */
#include "bench_dist.h"

#include "store.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct opts {
	const char *part;       /* dispatch, cost, sim, all */
	const char *tmp;
	char anafs[PATH_MAX];
	/* dispatch */
	int fakes;
	long tiny_files;
	int64_t task_events;
	int local_workers;
	const char *launcher;   /* the conf's backend: local or manual */
	int rounds;
	/* cost */
	double seconds;
	int pairs;
	int copies;
	/* sim */
	struct bd_sim_opts sim;
	double timeout;
	bool keep;
};

static const char *tiny_file = SHARED_DIR "/data/root/uproot-small-dy-nooffsets.root";
static const char *bench_file = SHARED_DIR "/data/bench/nano_like_zstd_500k.root";

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_dist [--part dispatch|cost|sim|all] [--anafs PATH] [--tmp DIR]\n"
		"  [--quick] [--timeout S] [--keep]\n"
		"  dispatch: [--fakes N] [--tiny-files N] [--task-events N] [--local-workers N]\n"
		"            [--launcher local|manual] [--rounds N]\n"
		"  cost:     [--seconds S] [--pairs N] [--copies N]\n"
		"  sim:      [--files N] [--workers N] [--sim-file F]\n");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int make_state(const struct opts *o, char *out, size_t cap)
{
	snprintf(out, cap, "%s/bench-dist-XXXXXX", o->tmp);
	if (!mkdtemp(out)) {
		fprintf(stderr, "bench_dist: mkdtemp %s: %s\n", out, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- fake workers: anafs worker processes ---- */

static int spawn_fakes(const struct opts *o, const char *state, pid_t *pids, int n)
{
	char url[PATH_MAX + 16], secret[PATH_MAX + 16];
	dist_ipc_url(state, url, sizeof(url));
	snprintf(secret, sizeof(secret), "%s/secret", state);
	for (int i = 0; i < n; i++) {
		char *argv[] = {(char *)o->anafs, "worker", "--connect", url, "--secret-file",
				secret, "--backend", "manual", "--fake", "0", "--linger", "10",
				"--quiet", NULL};
		int rc = posix_spawn(&pids[i], o->anafs, NULL, NULL, argv, environ);
		if (rc) {
			fprintf(stderr, "bench_dist: starting %s: %s\n", o->anafs, strerror(rc));
			pids[i] = 0;
			return -1;
		}
	}
	return 0;
}

/* Those of pids still running (reaping the others). */
static int fakes_alive(pid_t *pids, int n, int *exited_ok)
{
	int alive = 0;
	for (int i = 0; i < n; i++) {
		if (pids[i] <= 0)
			continue;
		int st;
		pid_t r = waitpid(pids[i], &st, WNOHANG);
		if (r == 0) {
			alive++;
		} else {
			if (r == pids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
				(*exited_ok)++;
			pids[i] = 0;
		}
	}
	return alive;
}

/* SIGTERM, up to 5 s, then SIGKILL: only our own children, by pid. */
static void end_fakes(pid_t *pids, int n)
{
	int dummy = 0;
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	double end = bd_now() + 5;
	while (fakes_alive(pids, n, &dummy) && bd_now() < end)
		bd_sleep(0.02);
	for (int i = 0; i < n; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
			pids[i] = 0;
		}
}

/* Tasks done per backend, from the workers file's lines (the tasks column
 * is the sixth from the end: tasks, events, events/s, "N.N s ago"). */
static void tasks_by_backend(const char *text, long *manual, long *other)
{
	*manual = *other = 0;
	for (const char *l = text; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		char line[512], *tok[32];
		int nt = 0;
		snprintf(line, sizeof(line), "%.*s", (int)(len < 511 ? len : 511), l);
		for (char *sv, *t = strtok_r(line, " ", &sv); t && nt < 32;
		     t = strtok_r(NULL, " ", &sv))
			tok[nt++] = t;
		if (nt >= 10 && tok[0][0] >= '0' && tok[0][0] <= '9') {
			long tasks = atol(tok[nt - 6]);
			if (!strcmp(tok[3], "manual"))
				*manual += tasks;
			else
				*other += tasks;
		}
		l = nl ? nl + 1 : NULL;
	}
}

/* ---- part 1: dispatch rate ---- */

/* CPU seconds of this process (who RUSAGE_SELF) or of its reaped
 * children (RUSAGE_CHILDREN). */
static double cpu_secs(int who)
{
	struct rusage ru;
	getrusage(who, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

struct one_job {
	double rate;        /* tasks/s, first task handed out to the job's end */
	double secs;
	int tasks;
	long long handed;
	double t_plan;      /* submission to planned */
	bool ok;
};

static struct one_job run_tiny(struct bd_run *r, const char *q, double timeout)
{
	struct one_job j = {0};
	int64_t id;
	enum job_status status = JOB_FAILED;
	double t_planned;
	bd_watch_reset();
	double t0 = bd_now();
	if (bd_submit(r, q, &id))
		return j;
	int rc = bd_wait(r, id, timeout, &t_planned, &status);
	double t_end = bd_now();
	struct job_info info = {0};
	coord_job(r->c, id, &info);
	j.tasks = info.tasks_done;
	j.handed = atomic_load(&bd_w.handed);
	j.t_plan = t_planned - t0;
	j.secs = t_end - bd_watch_first();
	j.rate = j.secs > 0 ? info.tasks_done / j.secs : 0;
	j.ok = !rc && status == JOB_DONE;
	if (!j.ok)
		fprintf(stderr, "bench_dist: the job ended %s (%s)\n", job_status_name(status),
			rc ? strerror(-rc) : "waited");
	return j;
}

static int part_dispatch(const struct opts *o)
{
	char state[PATH_MAX], data[PATH_MAX + 8], q[PATH_MAX + 256], db[PATH_MAX + 32];
	bool sym;
	if (make_state(o, state, sizeof(state)))
		return 1;
	snprintf(data, sizeof(data), "%s/data", state);
	double t0 = bd_now();
	if (bd_links(data, tiny_file, o->tiny_files, &sym))
		return 1;
	bd_w.quiet_log = true;
	printf("== dispatch: tiny tasks, %d fake workers (anafs worker --fake 0) ==\n", o->fakes);
	printf("dataset: %ld %s links to %s (%.1f s to make)\n", o->tiny_files,
	       sym ? "symbolic" : "hard", tiny_file, bd_now() - t0);
	snprintf(q, sizeof(q),
		 "dataset %s/*.root\nhist met = MET_pt bins=20 range=0,200\n"
		 "hist mupt = Muon_pt bins=20 range=0,100\n", data);
	printf("query:\n%s", q);
	printf("task_events %lld (tasks cut at baskets: about 3 a file); workers backend:"
	       " conf backend %s, conf workers %d, plus %d fakes; the store: a file in %s\n",
	       (long long)o->task_events, o->launcher, o->local_workers, o->fakes, state);
	double ra[16], rb[16], ca[16], cb[16];
	int na = 0, nb = 0, bad = 0;
	pid_t *pids = calloc((size_t)o->fakes, sizeof(*pids));
	for (int round = 0; round < o->rounds && round < 16; round++) {
		struct bd_run r = {0};
		snprintf(db, sizeof(db), "%s/threads-%d.db", state, round);
		if (bd_start(&r, db, state, NULL, 2, o->task_events))
			return 1;
		double c0 = cpu_secs(RUSAGE_SELF);
		struct one_job a = run_tiny(&r, q, o->timeout);
		double ccpu = cpu_secs(RUSAGE_SELF) - c0;
		bd_stop(&r);
		bad += !a.ok;
		printf("  round %d  threads (2):   %6d tasks in %7.3f s = %9.0f tasks/s"
		       "  (planning %.2f s, %lld handed out)\n",
		       round + 1, a.tasks, a.secs, a.rate, a.t_plan, a.handed);
		printf("           the process's CPU during the job: %.2f s = %.0f us a task\n", ccpu,
		       a.tasks ? 1e6 * ccpu / a.tasks : 0);
		if (a.ok) {
			ca[na] = a.tasks ? ccpu / a.tasks : 0;
			ra[na++] = a.rate;
		}

		dist_conf_defaults(&r.conf);
		char msg[256];
		char nw[16];
		snprintf(nw, sizeof(nw), "%d", o->local_workers);
		if (dist_conf_set(&r.conf, "backend", o->launcher, msg, sizeof(msg)) ||
		    dist_conf_set(&r.conf, "workers", nw, msg, sizeof(msg))) {
			fprintf(stderr, "bench_dist: %s\n", msg);
			return 1;
		}
		int local = strcmp(o->launcher, "manual") ? o->local_workers : 0;
		snprintf(db, sizeof(db), "%s/workers-%d.db", state, round);
		atomic_store(&bd_w.log_leaving, 0);
		if (bd_start(&r, db, state, &backend_workers, o->fakes + local, o->task_events))
			return 1;
		double tw = bd_now();
		if (spawn_fakes(o, state, pids, o->fakes)) {
			bd_stop(&r);
			end_fakes(pids, o->fakes);
			return 1;
		}
		if (bd_wait_live(&r, o->fakes + local, 60))
			fprintf(stderr, "bench_dist: only %d of %d workers came within 60 s\n",
				coord_workers_live(r.c), o->fakes + local);
		int live0 = coord_workers_live(r.c);
		tw = bd_now() - tw;
		c0 = cpu_secs(RUSAGE_SELF);
		double k0 = cpu_secs(RUSAGE_CHILDREN);
		struct one_job b = run_tiny(&r, q, o->timeout);
		ccpu = cpu_secs(RUSAGE_SELF) - c0;
		bad += !b.ok;
		int exited_ok = 0;
		int alive = fakes_alive(pids, o->fakes, &exited_ok);
		char *text = coord_workers_text(r.c);
		long by_fake, by_other;
		tasks_by_backend(text, &by_fake, &by_other);
		free(text);
		int live1 = coord_workers_live(r.c);
		bd_stop(&r);
		end_fakes(pids, o->fakes);
		double kcpu = cpu_secs(RUSAGE_CHILDREN) - k0;
		printf("  round %d  workers (%d):  %6d tasks in %7.3f s = %9.0f tasks/s"
		       "  (planning %.2f s, %lld handed out; %d live after %.1f s, %d at the end;"
		       " tasks by the fakes %ld, by the launcher's %ld)\n",
		       round + 1, live0, b.tasks, b.secs, b.rate, b.t_plan, b.handed, live0, tw,
		       live1, by_fake, by_other);
		if (alive < o->fakes)
			printf("  !! %d of %d fake workers exited during the job (%d with status 0);"
			       " 'is leaving' log lines: %lld\n",
			       o->fakes - alive, o->fakes, exited_ok,
			       (long long)atomic_load(&bd_w.log_leaving));
		else
			printf("  all %d fake workers stayed (none was told BYE)\n", o->fakes);
		printf("           the coordinator's CPU during the job: %.2f s = %.0f us a task;"
		       " the worker processes' (start to end): %.2f s\n", ccpu,
		       b.tasks ? 1e6 * ccpu / b.tasks : 0, kcpu);
		if (b.ok) {
			cb[nb] = b.tasks ? ccpu / b.tasks : 0;
			rb[nb++] = b.rate;
		}
	}
	free(pids);
	if (na && nb) {
		double ma = median(ra, na), mb = median(rb, nb);
		printf("dispatch, workers backend (median):    %9.0f tasks/s   (goal >= 10,000)\n", mb);
		printf("dispatch, thread backend (baseline):   %9.0f tasks/s\n", ma);
		printf("ratio workers / threads:               %9.2f\n", mb / ma);
		double cpa = median(ca, na), cpb = median(cb, nb);
		printf("coordinator CPU a task, workers:       %9.0f us  (tasks/s one core of"
		       " coordinator allows: %.0f)\n", 1e6 * cpb, cpb > 0 ? 1 / cpb : 0);
		printf("process CPU a task, threads (reading): %9.0f us\n", 1e6 * cpa);
	}
	printf("peak RSS of the coordinator's process:  %.0f MB\n", bd_peak_mb());
	if (!o->keep)
		bd_rmtree(state);
	return bad ? 1 : 0;
}

/* ---- part 2: the cost of distribution ---- */

struct cost_round {
	double tasks_rate;  /* events / (planned -> done) */
	double job_rate;    /* events / (submission -> done) */
	double cpu_per_m;   /* CPU seconds per million events: this process while
			       its jobs ran, and the worker processes' whole lives */
	int jobs;
	bool ok;
};

static struct cost_round cost_round(const struct opts *o, const char *state, const char *q,
				    bool workers, int k)
{
	struct cost_round cr = {0};
	struct bd_run r = {0};
	char db[PATH_MAX + 32];
	snprintf(db, sizeof(db), "%s/cost-%s-%d.db", state, workers ? "w" : "t", k);
	if (workers) {
		char msg[256];
		dist_conf_defaults(&r.conf);
		if (dist_conf_set(&r.conf, "backend", "local", msg, sizeof(msg)) ||
		    dist_conf_set(&r.conf, "workers", "2", msg, sizeof(msg))) {
			fprintf(stderr, "bench_dist: %s\n", msg);
			return cr;
		}
	}
	if (bd_start(&r, db, state, workers ? &backend_workers : NULL, 2, 0))
		return cr;
	if (workers && bd_wait_live(&r, 2, 60)) {
		fprintf(stderr, "bench_dist: the 2 local workers did not come within 60 s\n");
		bd_stop(&r);
		return cr;
	}
	int64_t events = 0;
	double t_tasks = 0, t_jobs = 0, t0 = bd_now();
	double c0 = cpu_secs(RUSAGE_SELF), k0 = cpu_secs(RUSAGE_CHILDREN);
	cr.ok = true;
	do {
		int64_t id;
		enum job_status status = JOB_FAILED;
		double t_planned, ts = bd_now();
		if (bd_submit(&r, q, &id) ||
		    bd_wait(&r, id, o->timeout, &t_planned, &status) || status != JOB_DONE) {
			fprintf(stderr, "bench_dist: a job of the cost part ended %s\n",
				job_status_name(status));
			cr.ok = false;
			break;
		}
		double te = bd_now();
		struct job_info info = {0};
		coord_job(r.c, id, &info);
		events += info.events_done;
		t_tasks += te - t_planned;
		t_jobs += te - ts;
		cr.jobs++;
	} while (bd_now() - t0 < o->seconds && bd_now() - t0 < o->timeout);
	double cpu = cpu_secs(RUSAGE_SELF) - c0;
	bd_stop(&r); /* reaps the worker processes: their CPU counts from here */
	cpu += cpu_secs(RUSAGE_CHILDREN) - k0;
	cr.cpu_per_m = events ? cpu / ((double)events / 1e6) : 0;
	cr.tasks_rate = t_tasks > 0 ? (double)events / t_tasks : 0;
	cr.job_rate = t_jobs > 0 ? (double)events / t_jobs : 0;
	return cr;
}

static int part_cost(const struct opts *o)
{
	char state[PATH_MAX];
	if (make_state(o, state, sizeof(state)))
		return 1;
	size_t cap = 1024 + (size_t)o->copies * (strlen(bench_file) + 1);
	char *q = malloc(cap);
	size_t n = (size_t)snprintf(q, cap, "dataset");
	for (int i = 0; i < o->copies; i++)
		n += (size_t)snprintf(q + n, cap - n, " %s", bench_file);
	snprintf(q + n, cap - n,
		 "\ndefine goodjet = Jet_pt > 30 && abs(Jet_eta) < 2.4\n"
		 "filter trig: HLT_IsoMu24\n"
		 "filter twojets: sum(goodjet) >= 2\n"
		 "hist met = MET_pt bins=50 range=0,200\n"
		 "hist jetpt = Jet_pt[goodjet] bins=50 range=0,300\n"
		 "hist dphi = delta_phi(MET_phi, Jet_phi[goodjet][0]) bins=32 range=-pi,pi\n");
	bd_w.quiet_log = true;
	printf("== cost: bench_query's query, %d copies of %s a job, jobs for %.1f s a round ==\n",
	       o->copies, bench_file, o->seconds);
	printf("A: thread backend, 2 workers; B: worker processes (conf backend local,"
	       " workers 2); %d pairs A B\n", o->pairs);
	double ta[16], tb[16], ja[16], jb[16], ratio[16], cratio[16];
	int np = 0, bad = 0;
	for (int k = 0; k < o->pairs && k < 16; k++) {
		struct cost_round a = cost_round(o, state, q, false, k);
		struct cost_round b = cost_round(o, state, q, true, k);
		printf("  pair %d  A threads: %6.3g M events/s (tasks), %6.3g M (whole job), %d jobs,"
		       " %.3f CPU s per M events\n"
		       "          B workers: %6.3g M events/s (tasks), %6.3g M (whole job), %d jobs,"
		       " %.3f CPU s per M events   B/A %.3f, cpu A/B %.3f\n",
		       k + 1, a.tasks_rate / 1e6, a.job_rate / 1e6, a.jobs, a.cpu_per_m,
		       b.tasks_rate / 1e6, b.job_rate / 1e6, b.jobs, b.cpu_per_m,
		       a.tasks_rate > 0 ? b.tasks_rate / a.tasks_rate : 0,
		       b.cpu_per_m > 0 ? a.cpu_per_m / b.cpu_per_m : 0);
		if (!a.ok || !b.ok) {
			bad++;
			continue;
		}
		ta[np] = a.tasks_rate;
		tb[np] = b.tasks_rate;
		ja[np] = a.job_rate;
		jb[np] = b.job_rate;
		ratio[np] = b.tasks_rate / a.tasks_rate;
		cratio[np] = b.cpu_per_m > 0 ? a.cpu_per_m / b.cpu_per_m : 0;
		np++;
	}
	if (np) {
		double mr = median(ratio, np);
		double mta = median(ta, np), mtb = median(tb, np);
		double mja = median(ja, np), mjb = median(jb, np);
		printf("events/s, threads (2), planned to done:       %8.3g M\n", mta / 1e6);
		printf("events/s, 2 worker processes, planned to done: %8.3g M\n", mtb / 1e6);
		printf("events/s, whole job (submission to done):      %8.3g M threads, %.3g M workers\n",
		       mja / 1e6, mjb / 1e6);
		printf("ratio workers / threads (median of pairs):     %8.3f   (goal >= 0.95)\n", mr);
		printf("cpu ratio, threads' CPU / workers' per event:  %8.3f   (median of pairs)\n",
		       median(cratio, np));
	}
	free(q);
	if (!o->keep)
		bd_rmtree(state);
	return bad ? 1 : 0;
}

/* ---- main ---- */

static int run_part(const char *name, int (*fn)(const struct opts *), const struct opts *o)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		perror("bench_dist: fork");
		return 1;
	}
	if (pid == 0) {
		/* A backstop past every bounded wait of the part. */
		alarm((unsigned)(o->timeout * 2 + 120));
		int rc = fn(o);
		fflush(stdout);
		_exit(rc);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(st)) {
		printf("!! part %s ended by signal %d\n", name, WTERMSIG(st));
		return 1;
	}
	return WEXITSTATUS(st);
}

static int part_sim(const struct opts *o)
{
	return bd_sim(&o->sim);
}

static int find_anafs(struct opts *o, const char *argv0)
{
	if (!o->anafs[0]) {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			snprintf(self, sizeof(self), "%s", argv0);
		else
			self[n] = 0;
		snprintf(o->anafs, sizeof(o->anafs), "%s/../anafs", dirname(self));
	}
	char real[PATH_MAX];
	if (!realpath(o->anafs, real) || access(real, X_OK)) {
		fprintf(stderr, "bench_dist: no anafs binary at %s (--anafs PATH)\n", o->anafs);
		return -1;
	}
	snprintf(o->anafs, sizeof(o->anafs), "%s", real);
	return 0;
}

int main(int argc, char **argv)
{
	/* Started by the local launcher as a worker: become anafs. */
	if (argc > 1 && !strcmp(argv[1], "worker")) {
		const char *anafs = getenv("BENCH_DIST_ANAFS");
		if (!anafs || !*anafs) {
			fprintf(stderr, "bench_dist worker: BENCH_DIST_ANAFS is not set\n");
			return 1;
		}
		argv[0] = (char *)anafs;
		execv(anafs, argv);
		fprintf(stderr, "bench_dist worker: %s: %s\n", anafs, strerror(errno));
		return 1;
	}
	struct opts o = {.part = "all", .tmp = "/tmp", .fakes = 64, .tiny_files = 10000,
			 .task_events = 100, .local_workers = 1, .launcher = "local", .rounds = 1,
			 .seconds = 3, .pairs = 3, .copies = 4, .timeout = 600,
			 .sim = {.file = tiny_file, .files = 100000, .workers = 1000}};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has = i + 1 < argc;
		if (!strcmp(a, "--part") && has)
			o.part = argv[++i];
		else if (!strcmp(a, "--anafs") && has)
			snprintf(o.anafs, sizeof(o.anafs), "%s", argv[++i]);
		else if (!strcmp(a, "--tmp") && has)
			o.tmp = argv[++i];
		else if (!strcmp(a, "--fakes") && has)
			o.fakes = atoi(argv[++i]);
		else if (!strcmp(a, "--tiny-files") && has)
			o.tiny_files = atol(argv[++i]);
		else if (!strcmp(a, "--task-events") && has)
			o.task_events = atoll(argv[++i]);
		else if (!strcmp(a, "--local-workers") && has)
			o.local_workers = atoi(argv[++i]);
		else if (!strcmp(a, "--launcher") && has)
			o.launcher = argv[++i];
		else if (!strcmp(a, "--rounds") && has)
			o.rounds = atoi(argv[++i]);
		else if (!strcmp(a, "--seconds") && has)
			o.seconds = atof(argv[++i]);
		else if (!strcmp(a, "--pairs") && has)
			o.pairs = atoi(argv[++i]);
		else if (!strcmp(a, "--copies") && has)
			o.copies = atoi(argv[++i]);
		else if (!strcmp(a, "--files") && has)
			o.sim.files = atol(argv[++i]);
		else if (!strcmp(a, "--workers") && has)
			o.sim.workers = atoi(argv[++i]);
		else if (!strcmp(a, "--sim-file") && has)
			o.sim.file = argv[++i];
		else if (!strcmp(a, "--timeout") && has)
			o.timeout = atof(argv[++i]);
		else if (!strcmp(a, "--keep"))
			o.keep = true;
		else if (!strcmp(a, "--quick")) {
			o.tiny_files = 1000;
			o.fakes = 16;
			o.pairs = 1;
			o.seconds = 1;
			o.sim.files = 2000;
			o.sim.workers = 50;
		} else {
			usage();
			return 2;
		}
	}
	if (o.fakes < 1 || o.fakes > 1024 || o.tiny_files < 1 || o.tiny_files > 1000000 ||
	    o.task_events < 1 || o.local_workers < 0 || o.local_workers > 64 || o.rounds < 1 ||
	    o.rounds > 16 || o.seconds <= 0 || o.pairs < 1 || o.pairs > 16 || o.copies < 1 ||
	    o.copies > 1000 || o.sim.files < 1 || o.sim.files > 100000 || o.sim.workers < 1 ||
	    o.sim.workers > 5000 || !(o.timeout > 0) ||
	    (strcmp(o.launcher, "local") && strcmp(o.launcher, "manual"))) {
		fprintf(stderr, "bench_dist: an option is out of its range\n");
		usage();
		return 2;
	}
	o.sim.tmp = o.tmp;
	o.sim.timeout = o.timeout;
	o.sim.keep = o.keep;
	if (find_anafs(&o, argv[0]))
		return 1;
	setenv("BENCH_DIST_ANAFS", o.anafs, 1);
	bool all = !strcmp(o.part, "all");
	int rc = 0;
	double load[3] = {0};
	getloadavg(load, 3);
	printf("bench_dist: anafs %s, %ld cores, load average %.2f %.2f %.2f\n", o.anafs,
	       sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2]);
	if (all || !strcmp(o.part, "dispatch"))
		rc |= run_part("dispatch", part_dispatch, &o);
	if (all || !strcmp(o.part, "cost"))
		rc |= run_part("cost", part_cost, &o);
	if (all || !strcmp(o.part, "sim"))
		rc |= run_part("sim", part_sim, &o);
	if (!all && strcmp(o.part, "dispatch") && strcmp(o.part, "cost") && strcmp(o.part, "sim")) {
		usage();
		return 2;
	}
	return rc;
}
