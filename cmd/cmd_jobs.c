/* cmd_jobs.c — a mount's jobs read from its files (cmd_jobs.h), and
 * `anafs status [--mount DIR] [--json]`: one line per job. */
#include "cmd.h"
#include "cmd_jobs.h"
#include "fmt.h"
#include "jsonr.h"
#include "jsonw.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* progress.json is small; one listing every skipped task of a huge job
 * is the largest it gets.  Past this, it is not ours. */
#define JOBS_MAX_FILE ((size_t)16 << 20)

bool cmd_job_over(const char *s)
{
	return !strcmp(s, "done") || !strcmp(s, "failed") || !strcmp(s, "cancelled") ||
	       !strcmp(s, "invalid");
}

int cmd_job_exit_code(const char *s)
{
	if (!strcmp(s, "done"))
		return CMD_EXIT_DONE;
	if (!strcmp(s, "cancelled"))
		return CMD_EXIT_CANCELLED;
	if (!strcmp(s, "invalid"))
		return CMD_EXIT_INVALID;
	return CMD_EXIT_FAILED;
}

/* The whole of path, NUL-terminated, at most JOBS_MAX_FILE bytes. */
static int read_file(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int rc = buf ? 0 : -ENOMEM;
	while (!rc) {
		if (n + 1 >= cap) {
			char *nb = cap < JOBS_MAX_FILE ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				rc = cap < JOBS_MAX_FILE ? -ENOMEM : -EFBIG;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = -errno;
		else if (r == 0)
			break;
		else
			n += (size_t)r;
	}
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

static void copy_str(char *out, size_t cap, const struct jsonr_val *v)
{
	const char *s = jsonr_str(v, NULL);
	snprintf(out, cap, "%s", s ? s : "");
}

static int64_t get_int(const struct jsonr_val *v)
{
	double d = jsonr_num(v);
	return isfinite(d) && fabs(d) < 9e18 ? (int64_t)d : 0;
}

int cmd_job_read(const char *mnt, int64_t id, struct cmd_job *out, char *why, size_t cap)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/jobs/%lld/progress.json", mnt, (long long)id);
	char *text = NULL;
	size_t len = 0;
	int rc = read_file(path, &text, &len);
	if (rc) {
		snprintf(why, cap, "%s: %s", path, strerror(-rc));
		return rc;
	}
	struct jsonr_doc *doc = NULL;
	char jwhy[160];
	rc = jsonr_parse(text, len, &doc, jwhy, sizeof(jwhy));
	free(text);
	if (rc) {
		snprintf(why, cap, "%s: %s", path, jwhy);
		return -EINVAL;
	}
	const struct jsonr_val *r = jsonr_root(doc);
	const char *st = jsonr_str(jsonr_get(r, "status"), NULL);
	if (jsonr_type(r) != JSONR_OBJ || !st || strlen(st) >= sizeof(out->status)) {
		snprintf(why, cap, "%s: not a job's progress (no status)", path);
		jsonr_free(doc);
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	out->id = id;
	snprintf(out->status, sizeof(out->status), "%s", st);
	copy_str(out->name, sizeof(out->name), jsonr_get(r, "name"));
	copy_str(out->note, sizeof(out->note), jsonr_get(r, "note"));
	double pct = jsonr_num(jsonr_get(r, "percent"));
	out->percent = isfinite(pct) ? fmin(fmax(pct, 0), 100) : 0;
	out->events_done = get_int(jsonr_get(r, "events_done"));
	out->events_total = get_int(jsonr_get(r, "events_total"));
	out->tasks_done = (int)get_int(jsonr_get(r, "tasks_done"));
	out->tasks_total = (int)get_int(jsonr_get(r, "tasks_total"));
	out->workers = (int)get_int(jsonr_get(r, "workers"));
	out->retrying = (int)get_int(jsonr_get(r, "retrying"));
	out->skipped = (int)jsonr_len(jsonr_get(r, "skipped"));
	double rate = jsonr_num(jsonr_get(r, "rate"));
	out->rate = isfinite(rate) && rate > 0 ? rate : 0;
	double eta = jsonr_num(jsonr_get(r, "eta_seconds"));
	out->eta = isfinite(eta) && eta >= 0 ? eta : -1;
	double sub = jsonr_num(jsonr_get(r, "submitted"));
	out->submitted = isfinite(sub) && sub > 0 ? sub : 0;
	jsonr_free(doc);
	if (!out->submitted) { /* an older daemon: the folder's time is the submission's */
		struct stat sb;
		snprintf(path, sizeof(path), "%s/jobs/%lld", mnt, (long long)id);
		if (!stat(path, &sb))
			out->submitted = (double)sb.st_mtime;
	}
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* A job folder's name: digits only, no leading zero, fits int64. */
static bool job_number(const char *s, int64_t *id)
{
	if (!*s || *s == '0' || strlen(s) > 18)
		return false;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	*id = strtoll(s, NULL, 10);
	return true;
}

int cmd_job_list(const char *mnt, int64_t **ids, size_t *n)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/jobs", mnt);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	size_t cap = 0, len = 0;
	int64_t *v = NULL;
	int rc = 0;
	struct dirent *e;
	while (!rc && (e = readdir(d))) {
		int64_t id;
		if (!job_number(e->d_name, &id))
			continue;
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 64;
			int64_t *nv = realloc(v, nc * sizeof(*v));
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		v[len++] = id;
	}
	closedir(d);
	if (rc) {
		free(v);
		return rc;
	}
	if (len)
		qsort(v, len, sizeof(*v), cmp_id);
	*ids = v;
	*n = len;
	return 0;
}

int cmd_job_resolve(const char *mnt, const char *arg, int64_t *id)
{
	char path[PATH_MAX];
	struct stat sb;
	int64_t n;
	if (!*arg || strchr(arg, '/') || !strcmp(arg, ".") || !strcmp(arg, ".."))
		return -ENOENT;
	if (job_number(arg, &n)) {
		snprintf(path, sizeof(path), "%s/jobs/%s", mnt, arg);
		if (stat(path, &sb))
			return -errno;
		*id = n;
		return 0;
	}
	/* jobs/NAME -> N: the newest job of that name. */
	char target[64];
	snprintf(path, sizeof(path), "%s/jobs/%s", mnt, arg);
	ssize_t l = readlink(path, target, sizeof(target) - 1);
	if (l < 0)
		return errno == EINVAL ? -ENOENT : -errno;
	target[l] = 0;
	if (!job_number(target, &n))
		return -ENOENT;
	*id = n;
	return 0;
}

size_t cmd_width(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += (*p & 0xC0) != 0x80;
	return n;
}

size_t cmd_fit(char *out, size_t cap, const char *s, size_t cols)
{
	size_t w = cmd_width(s);
	size_t keep = w <= cols ? w : (cols ? cols - 1 : 0), o = 0, chars = 0;
	if (!cap)
		return 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p && chars < keep) {
		size_t len = 1; /* one character: its lead byte and continuation bytes */
		while (p[len] && (p[len] & 0xC0) == 0x80)
			len++;
		if (o + len + 4 > cap)
			break;
		memcpy(out + o, p, len);
		o += len;
		p += len;
		chars++;
	}
	if (w > cols && cols && o + 4 <= cap) {
		memcpy(out + o, "\xe2\x80\xa6", 3); /* … */
		o += 3;
		chars++;
	}
	out[o] = 0;
	return chars;
}

/* ---- anafs status ---- */

static int status_usage(void)
{
	fprintf(stderr, "usage: anafs status [--mount DIR] [--json]\n"
			"(the mount is --mount DIR, or $ANAFS_MOUNT)\n");
	return CMD_EXIT_USAGE;
}

static void print_json_job(const struct cmd_job *j, double now, bool first)
{
	/* Both strings come from progress.json, untrusted: escaped. */
	struct jsonw w, ws;
	jsonw_init(&w);
	jsonw_str(&w, j->name);
	jsonw_init(&ws);
	jsonw_str(&ws, j->status);
	size_t n = 0;
	char *name = jsonw_finish(&w, &n), *status = jsonw_finish(&ws, &n);
	printf("%s{\"job\": %lld, \"name\": %s, \"status\": %s, \"percent\": %.1f, "
	       "\"events_done\": %lld, \"events_total\": %lld, \"submitted\": %.3f, "
	       "\"age_seconds\": %.0f}",
	       first ? "\n  " : ",\n  ", (long long)j->id, name ? name : "null",
	       status ? status : "null", j->percent, (long long)j->events_done,
	       (long long)j->events_total, j->submitted, j->submitted ? fmax(now - j->submitted, 0) : 0);
	free(name);
	free(status);
}

int cmd_status(int argc, char **argv)
{
	const char *mnt = getenv("ANAFS_MOUNT");
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mount") && i + 1 < argc)
			mnt = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else
			return status_usage();
	}
	if (!mnt || !*mnt)
		return status_usage();
	int64_t *ids = NULL;
	size_t n = 0;
	int rc = cmd_job_list(mnt, &ids, &n);
	if (rc) {
		fprintf(stderr, "anafs status: %s/jobs: %s (is anafs mounted on %s?)\n", mnt,
			strerror(-rc), mnt);
		return 1;
	}
	struct cmd_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
	if (!jobs) {
		free(ids);
		fprintf(stderr, "anafs status: out of memory\n");
		return 1;
	}
	size_t got = 0, namew = 4;
	int status = 0;
	for (size_t i = 0; i < n; i++) {
		char why[PATH_MAX + 200];
		int r = cmd_job_read(mnt, ids[i], &jobs[got], why, sizeof(why));
		if (r == -ENOENT)
			continue; /* gone between the listing and the read */
		if (r) {
			fprintf(stderr, "anafs status: %s\n", why);
			status = 1;
			continue;
		}
		size_t w = cmd_width(jobs[got].name);
		namew = w > namew ? w : namew;
		got++;
	}
	free(ids);
	namew = namew > 32 ? 32 : namew;
	double now = (double)time(NULL);
	if (json)
		printf("{\"jobs\": [");
	else if (got)
		printf("%6s  %-*s  %-9s  %8s  %6s\n", "job", (int)namew, "name", "status", "progress",
		       "age");
	for (size_t i = 0; i < got; i++) {
		const struct cmd_job *j = &jobs[i];
		if (json) {
			print_json_job(j, now, i == 0);
			continue;
		}
		char name[200], age[16];
		size_t w = cmd_fit(name, sizeof(name), j->name, namew);
		fmt_age(age, sizeof(age), j->submitted ? now - j->submitted : 0);
		/* %-*s pads bytes: pad by characters, for names beyond ASCII. */
		printf("%6lld  %s%*s  %-9s  %7.1f%%  %6s\n", (long long)j->id, name,
		       (int)(namew - w), "", j->status, j->percent, age);
	}
	if (json)
		printf("]}\n");
	else if (!got && !status)
		printf("no jobs (submit one: cp NAME.query %s/jobs/)\n", mnt);
	free(jobs);
	return status;
}
