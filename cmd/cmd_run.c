/* cmd_run.c — `anafs run QUERY [-j N] [--cutflow] [-o FILE]`: run one query
 * without a mount and print hist.json (or the cutflow).  It is the
 * daemon's coordinator over a job store in memory: the same planning, the
 * same merge in task order, the same bytes as jobs/N/hist.json. */
#include "anafs_version.h"
#include "cmd.h"
#include "coord.h"
#include "gpu.h"
#include "hist.h"
#include "result.h"
#include "store.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct bar {
	int64_t start_ns;
	int64_t last_ns;
	bool tty;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void draw(struct bar *b, int64_t done, int64_t total, int64_t t)
{
	double frac = total ? (double)done / (double)total : 1.0;
	double secs = (double)(t - b->start_ns) / 1e9;
	double rate = secs > 0 ? (double)done / secs : 0;
	double eta = rate > 0 ? (double)(total - done) / rate : 0;
	char bar[31];
	int fill = (int)(frac * 30);
	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = 0;
	fprintf(stderr, "\r[%s] %5.1f%%  %lld/%lld events  %.3g ev/s  ETA %d:%02d ", bar, 100 * frac,
		(long long)done, (long long)total, rate, (int)eta / 60, (int)eta % 60);
}

/* The job's progress on the terminal, at most five times a second. */
static void show(struct bar *b, struct coord *c, int64_t id, bool last)
{
	int64_t t = now_ns();
	if (!b->tty || (!last && t - b->last_ns < 200000000))
		return;
	b->last_ns = t;
	struct job_info info;
	struct coord_live live;
	if (coord_job(c, id, &info))
		return;
	coord_live(c, id, &live);
	int64_t done = info.status == JOB_DONE ? info.events_total
					       : info.events_done + live.events_pending;
	draw(b, done > info.events_total ? info.events_total : done, info.events_total, t);
}

static int usage(void)
{
	fprintf(stderr, "usage: anafs run QUERY [-j N] [--cutflow] [-o FILE] [--hist-memory SIZE] "
			"[--gpu auto|on|off]\n");
	return 2;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n < cap)
			break;
		if (cap > QL_MAX_TEXT) { /* let the parser say it is too big */
			break;
		}
		char *nb = realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	if (ferror(f)) {
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

/* "dimuon" for "path/to/dimuon.query". */
static void job_name(const char *path, char *out, size_t cap)
{
	const char *b = strrchr(path, '/');
	snprintf(out, cap, "%s", b ? b + 1 : path);
	size_t n = strlen(out);
	if (n > 6 && !strcmp(out + n - 6, ".query"))
		out[n - 6] = '\0';
}

/* hist.json or the cutflow of job id, from the store as the mount renders
 * them. */
static int write_results(struct store *st, int64_t id, const char *outpath, bool cutflow)
{
	char *q = NULL, *json = NULL;
	void *blob = NULL;
	size_t qlen = 0, blen = 0, jlen = 0;
	int64_t version;
	struct result *r = NULL;
	int rc = store_job_text(st, id, &q, &qlen, NULL, NULL);
	if (!rc)
		rc = store_job_result(st, id, &blob, &blen, &version);
	if (!rc)
		rc = result_load(q, qlen, blob, blen, &r);
	if (!rc)
		rc = result_json(r, ANAFS_VERSION, &json, &jlen);
	if (rc)
		fprintf(stderr, "anafs run: reading the result: %s\n", strerror(-rc));
	if (!rc && (outpath || !cutflow)) {
		FILE *f = outpath ? fopen(outpath, "w") : stdout;
		if (!f || fwrite(json, 1, jlen, f) != jlen || fputc('\n', f) == EOF ||
		    (outpath && fclose(f))) {
			fprintf(stderr, "anafs run: %s: %s\n", outpath ? outpath : "stdout", strerror(errno));
			rc = -EIO;
		}
	}
	if (!rc && cutflow) {
		char *text = result_cutflow(r);
		if (text)
			fputs(text, stdout);
		rc = text ? 0 : -ENOMEM;
		free(text);
	}
	result_free(r);
	free(json);
	free(blob);
	free(q);
	return rc;
}

/* Run the job to its end; its final status, or a negative errno. */
static int run_job(struct coord *c, int64_t id, bool tty)
{
	struct bar b = {.start_ns = now_ns(), .tty = tty};
	enum job_status status = JOB_QUEUED;
	int rc;
	while ((rc = coord_wait(c, id, 200, &status)) == -ETIMEDOUT)
		show(&b, c, id, false);
	if (tty) {
		show(&b, c, id, true);
		fputc('\n', stderr);
	}
	return rc ? rc : (int)status;
}

/* Why job id is not done, on stderr. */
static void say_why(struct coord *c, int64_t id, enum job_status status)
{
	char *e = NULL;
	if (coord_job_error(c, id, &e) || !e || !*e) {
		fprintf(stderr, "anafs run: the job is %s\n", job_status_name(status));
	} else if (status == JOB_INVALID) {
		fputs(e, stderr); /* file:line:col: error: ..., the line, a caret, a hint */
		if (e[strlen(e) - 1] != '\n')
			fputc('\n', stderr);
	} else {
		fprintf(stderr, "anafs run: %s\n", e);
	}
	free(e);
}

int cmd_run(int argc, char **argv)
{
	const char *query = NULL, *outpath = NULL;
	int threads = (int)sysconf(_SC_NPROCESSORS_ONLN), cutflow = 0;
	uint64_t memory = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-j") && i + 1 < argc) {
			char *end;
			long j = strtol(argv[++i], &end, 10);
			if (*end || j < 1 || j > 1024)
				return usage();
			threads = (int)j;
		} else if (!strncmp(argv[i], "-j", 2) && argv[i][2]) {
			threads = atoi(argv[i] + 2);
			if (threads < 1 || threads > 1024)
				return usage();
		} else if (!strcmp(argv[i], "--cutflow")) {
			cutflow = 1;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			outpath = argv[++i];
		} else if (!strcmp(argv[i], "--hist-memory") && i + 1 < argc) {
			if (cmd_parse_size(argv[++i], &memory))
				return usage();
		} else if (!strcmp(argv[i], "--gpu") && i + 1 < argc) { /* docs/gpu.md */
			enum gpu_mode m;
			if (gpu_mode_parse(argv[++i], &m))
				return usage();
			gpu_mode_set(m);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage();
		} else if (!query) {
			query = argv[i];
		} else {
			return usage();
		}
	}
	if (!query)
		return usage();
	char gpu_text[256];
	int gpu_dev;
	if (!gpu_choose(gpu_mode_get(), &gpu_dev, gpu_text, sizeof(gpu_text)) && gpu_mode_get() == GPU_ON)
		fprintf(stderr, "anafs run: --gpu on: %s\n", gpu_text); /* and runs on */
	size_t len;
	char *text = read_file(query, &len);
	if (!text) {
		fprintf(stderr, "anafs run: %s: %s\n", query, strerror(errno ? errno : EIO));
		return 1;
	}
	char *dir = strdup(strcmp(query, "-") ? query : "./-"), name[256], msg[512] = "";
	job_name(query, name, sizeof(name));
	struct store *st = NULL;
	struct coord *c = NULL;
	int rc = store_open(":memory:", &st, msg, sizeof(msg));
	if (!rc)
		rc = coord_start(&(struct coord_opts){.st = st, .workers = threads, .hist_memory = memory,
						      .base_desc = "the query's folder"},
				 &c, msg, sizeof(msg));
	if (rc) {
		fprintf(stderr, "anafs run: %s\n", msg);
		store_close(st);
		free(text);
		free(dir);
		return 1;
	}
	struct coord_submission sub = {.name = name, .filename = query, .uid = getuid(),
				       .gid = getgid(), .text = text, .len = len,
				       .basedir = dir ? dirname(dir) : "."};
	struct ql_error err;
	int64_t id = 0;
	rc = coord_submit(c, &sub, &id, &err);
	free(text);
	free(dir);
	if (rc) {
		fputs(rc == -EINVAL ? err.text : "anafs run: out of memory\n", stderr);
	} else if ((rc = run_job(c, id, isatty(2))) != JOB_DONE) {
		if (rc < 0)
			fprintf(stderr, "anafs run: %s\n", strerror(-rc));
		else
			say_why(c, id, (enum job_status)rc);
		rc = 1;
	} else {
		rc = write_results(st, id, outpath, cutflow);
	}
	coord_stop(c);
	store_close(st);
	if (fflush(stdout))
		rc = -EIO;
	return rc ? 1 : 0;
}
