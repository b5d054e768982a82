/* cmd_run.c — `anafs run QUERY [-j N] [--cutflow] [-o FILE]`: run one query
 * on local threads, no mount, and print hist.json (or the cutflow). */
#include "anafs_version.h"
#include "cmd.h"
#include "hist.h"
#include "run.h"

#include <errno.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct bar {
	atomic_llong done;
	atomic_llong last_ns;
	int64_t total;
	int64_t start_ns;
	bool tty;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void draw(struct bar *b, int64_t done, int64_t t)
{
	double frac = b->total ? (double)done / (double)b->total : 1.0;
	double secs = (double)(t - b->start_ns) / 1e9;
	double rate = secs > 0 ? (double)done / secs : 0;
	double eta = rate > 0 ? (double)(b->total - done) / rate : 0;
	char bar[31];
	int fill = (int)(frac * 30);
	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = 0;
	fprintf(stderr, "\r[%s] %5.1f%%  %lld/%lld events  %.3g ev/s  ETA %d:%02d ", bar, 100 * frac,
		(long long)done, (long long)b->total, rate, (int)eta / 60, (int)eta % 60);
}

static int progress(void *ctx, int64_t events)
{
	struct bar *b = ctx;
	int64_t done = atomic_fetch_add(&b->done, events) + events;
	if (!b->tty)
		return 0;
	int64_t t = now_ns(), last = atomic_load(&b->last_ns);
	if (t - last > 200000000 && atomic_compare_exchange_strong(&b->last_ns, &last, t))
		draw(b, done, t);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: anafs run QUERY [-j N] [--cutflow] [-o FILE]\n");
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

int cmd_run(int argc, char **argv)
{
	const char *query = NULL, *outpath = NULL;
	int threads = (int)sysconf(_SC_NPROCESSORS_ONLN), cutflow = 0;
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
	size_t len;
	char *text = read_file(query, &len);
	if (!text) {
		fprintf(stderr, "anafs run: %s: %s\n", query, strerror(errno ? errno : EIO));
		return 1;
	}
	char *dir = strdup(strcmp(query, "-") ? query : "./-");
	struct ql_error err = {0};
	struct run_plan *plan = NULL;
	int rc = run_plan_new(text, len, query, dir ? dirname(dir) : ".", 0, &plan, &err);
	free(text);
	free(dir);
	if (rc) {
		fputs(err.text[0] ? err.text : "anafs run: out of memory\n", stderr);
		return 1;
	}
	struct bar b = {.total = run_plan_events(plan), .start_ns = now_ns(), .tty = isatty(2)};
	struct eval_state *st = NULL;
	char msg[1024] = "";
	rc = run_all(plan, threads, progress, &b, &st, msg, sizeof(msg));
	if (b.tty) {
		draw(&b, atomic_load(&b.done), now_ns());
		fputc('\n', stderr);
	}
	if (rc) {
		fprintf(stderr, "anafs run: %s\n", msg);
		run_plan_free(plan);
		return 1;
	}
	size_t nh = eval_nhists(st);
	struct hist **hs = calloc(nh + 1, sizeof(*hs));
	char *json = NULL;
	size_t jlen = 0;
	for (size_t i = 0; hs && i < nh; i++)
		hs[i] = eval_hist(st, i);
	rc = hs ? hist_to_json(hs, nh, ANAFS_VERSION, &json, &jlen) : -ENOMEM;
	free(hs);
	if (!rc && (outpath || !cutflow)) {
		FILE *f = outpath ? fopen(outpath, "w") : stdout;
		if (!f || fwrite(json, 1, jlen, f) != jlen || fputc('\n', f) == EOF ||
		    (outpath && fclose(f))) {
			fprintf(stderr, "anafs run: %s: %s\n", outpath ? outpath : "stdout", strerror(errno));
			rc = -EIO;
		}
	}
	if (!rc && cutflow) {
		char *c = run_cutflow_text(plan, st);
		if (c)
			fputs(c, stdout);
		free(c);
	}
	free(json);
	eval_state_free(st);
	run_plan_free(plan);
	if (fflush(stdout))
		rc = -EIO;
	return rc ? 1 : 0;
}
