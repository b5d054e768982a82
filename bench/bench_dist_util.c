/* bench_dist_util.c — the pieces bench_dist's parts share (bench_dist.h):
 * the clock, a watched backend that times the tasks it hands out, links
 * to one file, and a coordinator over a real store. */
#include "bench_dist.h"

#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double bd_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

double bd_peak_mb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024.0;
}

void bd_sleep(double secs)
{
	struct timespec t = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
	while (nanosleep(&t, &t) && errno == EINTR)
		;
}

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* ---- the watched backend ---- */

struct bd_watch bd_w;

void bd_watch_reset(void)
{
	atomic_store(&bd_w.handed, 0);
	atomic_store(&bd_w.back, 0);
	atomic_store(&bd_w.t_first_ns, 0);
	atomic_store(&bd_w.t_last_ns, 0);
	atomic_store(&bd_w.t_back_ns, 0);
}

double bd_watch_first(void)
{
	return (double)atomic_load(&bd_w.t_first_ns) * 1e-9;
}

double bd_watch_last_back(void)
{
	return (double)atomic_load(&bd_w.t_back_ns) * 1e-9;
}

/* The backend the coordinator sees: the inner one's, and the env it got
 * with our done, pull and log in front of the coordinator's. */
struct wrap {
	struct backend *inner;
};
static const struct backend_ops *w_inner;
static struct backend_ops w_ops;
static struct backend_env w_env;
static void (*w_done)(void *ctx, struct btask *t);
static struct btask *(*w_pull)(void *ctx);
static void (*w_log)(void *ctx, const char *line);

static void handed(void)
{
	long long t = now_ns(), zero = 0;
	atomic_fetch_add(&bd_w.handed, 1);
	atomic_compare_exchange_strong(&bd_w.t_first_ns, &zero, t);
	atomic_store(&bd_w.t_last_ns, t);
}

static void on_done(void *ctx, struct btask *t)
{
	atomic_fetch_add(&bd_w.back, 1);
	atomic_store(&bd_w.t_back_ns, now_ns());
	w_done(ctx, t);
}

static struct btask *on_pull(void *ctx)
{
	struct btask *t = w_pull(ctx);
	if (t)
		handed();
	return t;
}

static void on_log(void *ctx, const char *line)
{
	atomic_fetch_add(&bd_w.log_lines, 1);
	if (strstr(line, " joined: ")) {
		atomic_fetch_add(&bd_w.log_joined, 1);
		if (bd_w.quiet_log)
			return;
	}
	if (strstr(line, " is leaving"))
		atomic_fetch_add(&bd_w.log_leaving, 1);
	if (w_log)
		w_log(ctx, line);
	else
		fprintf(stderr, "anafs: %s\n", line);
}

static int w_start(const struct backend_env *env, struct backend **out)
{
	struct wrap *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w_env = *env;
	w_done = env->done;
	w_pull = env->pull;
	w_log = env->log;
	w_env.done = on_done;
	w_env.pull = env->pull ? on_pull : NULL;
	w_env.log = on_log;
	int rc = w_inner->start(&w_env, &w->inner);
	if (rc) {
		free(w);
		return rc;
	}
	*out = (struct backend *)w;
	return 0;
}

static void w_stop(struct backend *b)
{
	struct wrap *w = (struct wrap *)b;
	w_inner->stop(w->inner);
	free(w);
}

static int w_dispatch(struct backend *b, struct btask *t)
{
	int rc = w_inner->dispatch(((struct wrap *)b)->inner, t);
	if (!rc)
		handed();
	return rc;
}

static int w_poll(struct backend *b)
{
	return w_inner->poll(((struct wrap *)b)->inner);
}

static void w_describe(struct backend *b, struct strbuf *out)
{
	w_inner->describe(((struct wrap *)b)->inner, out);
}

static int w_control(struct backend *b, const char *cmd, size_t len, char *msg, size_t cap)
{
	if (!w_inner->control) {
		snprintf(msg, cap, "this backend takes no command");
		return -ENOTSUP;
	}
	return w_inner->control(((struct wrap *)b)->inner, cmd, len, msg, cap);
}

static int w_live(struct backend *b)
{
	return w_inner->live ? w_inner->live(((struct wrap *)b)->inner) : w_env.workers;
}

const struct backend_ops *bd_watched(const struct backend_ops *inner)
{
	w_inner = inner;
	w_ops = (struct backend_ops){.name = inner->name, .start = w_start, .stop = w_stop,
				     .dispatch = w_dispatch, .poll = w_poll,
				     .describe = w_describe, .control = w_control,
				     .live = w_live};
	return &w_ops;
}

/* ---- links ---- */

/* A copy of file at path (so that the shared file's own link count,
 * which ext4 caps at 65,000, is not ours to use up). */
static int copy_file(const char *file, const char *path)
{
	int in = open(file, O_RDONLY | O_CLOEXEC);
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char buf[65536];
	ssize_t n = 0;
	int rc = in < 0 || out < 0 ? -1 : 0;
	while (!rc && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			rc = -1;
	if (n < 0)
		rc = -1;
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out))
		rc = -1;
	return rc;
}

int bd_links(const char *dir, const char *file, long n, bool *symlinks)
{
	char src[4200], path[4200];
	int copies = 0;
	*symlinks = false;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "bench_dist: mkdir %s: %s\n", dir, strerror(errno));
		return -1;
	}
	snprintf(src, sizeof(src), "%s/.src%d", dir, copies);
	if (copy_file(file, src)) {
		fprintf(stderr, "bench_dist: copying %s: %s\n", file, strerror(errno));
		return -1;
	}
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%06ld.root", dir, i);
		if (!*symlinks && !link(src, path))
			continue;
		if (!*symlinks && errno == EMLINK && copies < 100) {
			/* The file has all the links it may: link to a new copy. */
			snprintf(src, sizeof(src), "%s/.src%d", dir, ++copies);
			if (!copy_file(file, src) && !link(src, path))
				continue;
		}
		*symlinks = true;
		if (symlink(file, path) && errno != EEXIST) {
			fprintf(stderr, "bench_dist: %s: %s\n", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

void bd_links_remove(const char *dir, long n)
{
	char path[4200];
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%06ld.root", dir, i);
		unlink(path);
	}
	for (int k = 0; k <= 100; k++) {
		snprintf(path, sizeof(path), "%s/.src%d", dir, k);
		if (unlink(path))
			break;
	}
	rmdir(dir);
}

static void rmtree(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char path[4200];
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct stat s;
		if (!lstat(path, &s) && S_ISDIR(s.st_mode)) {
			if (depth < 3)
				rmtree(path, depth + 1);
		} else {
			unlink(path);
		}
	}
	closedir(d);
	rmdir(dir);
}

void bd_rmtree(const char *dir)
{
	rmtree(dir, 0);
}

/* ---- a coordinator ---- */

int bd_start(struct bd_run *r, const char *dbpath, const char *statedir,
	     const struct backend_ops *backend, int slots, int64_t task_events)
{
	char msg[512] = "";
	r->st = NULL;
	r->c = NULL;
	if (store_open(dbpath, &r->st, msg, sizeof(msg))) {
		fprintf(stderr, "bench_dist: the store %s: %s\n", dbpath, msg);
		return -1;
	}
	struct coord_opts o = {.st = r->st, .workers = slots, .task_events = task_events,
			       .backend = bd_watched(backend ? backend : &backend_local),
			       .backend_conf = backend ? &r->conf : NULL, .statedir = statedir};
	if (coord_start(&o, &r->c, msg, sizeof(msg))) {
		fprintf(stderr, "bench_dist: the coordinator: %s\n", msg);
		store_close(r->st);
		r->st = NULL;
		return -1;
	}
	return 0;
}

void bd_stop(struct bd_run *r)
{
	if (r->c)
		coord_stop(r->c);
	if (r->st)
		store_close(r->st);
	r->c = NULL;
	r->st = NULL;
}

int bd_submit(struct bd_run *r, const char *text, int64_t *id)
{
	struct ql_error err;
	struct coord_submission s = {.name = "bench", .filename = "bench.query", .uid = getuid(),
				     .gid = getgid(), .text = text, .len = strlen(text),
				     .basedir = "/"};
	if (coord_submit(r->c, &s, id, &err)) {
		fprintf(stderr, "bench_dist: the query is refused:\n%s\n", err.text);
		return -1;
	}
	return 0;
}

int bd_wait(struct bd_run *r, int64_t id, double timeout, double *t_planned,
	    enum job_status *status)
{
	double end = bd_now() + timeout;
	*t_planned = 0;
	for (long k = 0;; k++) {
		struct coord_live l;
		coord_live(r->c, id, &l);
		if (l.planned)
			break;
		if (k % 100 == 0) {
			struct job_info info;
			if (coord_job(r->c, id, &info) || job_status_terminal(info.status))
				break;
		}
		if (bd_now() > end)
			return -ETIMEDOUT;
		bd_sleep(0.001);
	}
	*t_planned = bd_now();
	double left = end - bd_now();
	int rc = coord_wait(r->c, id, left > 0 ? (int)(left * 1000) : 0, status);
	return rc;
}

int bd_wait_live(struct bd_run *r, int n, double timeout)
{
	double end = bd_now() + timeout;
	while (coord_workers_live(r->c) < n) {
		if (bd_now() > end)
			return -1;
		bd_sleep(0.01);
	}
	return 0;
}
