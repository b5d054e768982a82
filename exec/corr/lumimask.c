/* lumimask.c — the golden JSON of lumimask.h: runs sorted, each run's
 * ranges sorted and merged at load; a point costs a binary search over the
 * runs (skipped while the run stays the same, as it does along a file) and
 * one over that run's ranges. */
#include "lumimask.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corr_int.h"

struct range {
	int64_t first, last; /* inclusive */
};

struct lumimask {
	size_t nruns;
	int64_t *runs;       /* sorted */
	size_t *start;       /* nruns + 1: run r's ranges are ranges[start[r] .. start[r + 1]) */
	struct range *ranges;
	int64_t nlumis;
};

/* A run number: decimal digits, no sign, no leading zero, at least 1. */
static bool run_number(const char *s, size_t len, int64_t *run)
{
	if (len == 0 || len > 18 || s[0] == '0')
		return false;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*run = v;
	return true;
}

static int by_first(const void *x, const void *y)
{
	const struct range *a = x, *b = y;
	return a->first < b->first ? -1 : a->first > b->first;
}

struct run_at {
	int64_t run;
	size_t member;
};

static int by_run(const void *x, const void *y)
{
	const struct run_at *a = x, *b = y;
	return a->run < b->run ? -1 : a->run > b->run;
}

/* A message with the file, the place in it and what is wrong. */
static int bad(char *why, size_t cap, const char *name, const struct jsonr_val *at, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int bad(char *why, size_t cap, const char *name, const struct jsonr_val *at, const char *fmt, ...)
{
	unsigned line, col;
	jsonr_where(at, &line, &col);
	char what[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(why, cap, "%s: line %u, column %u: %s", name, line, col, what);
	return -EINVAL;
}

/* Check run r's ranges (the JSON array v) into m->ranges from *nr on,
 * sorted and merged. */
static int read_ranges(struct lumimask *m, size_t *nr, const struct jsonr_val *v, const char *key,
		       const char *name, char *why, size_t cap)
{
	if (jsonr_type(v) != JSONR_ARR)
		return bad(why, cap, name, v, "run %s: expected an array of [first, last] ranges", key);
	size_t base = *nr;
	for (size_t i = 0; i < jsonr_len(v); i++) {
		const struct jsonr_val *r = jsonr_at(v, i);
		int64_t a = 0, b = 0;
		if (jsonr_type(r) != JSONR_ARR || jsonr_len(r) != 2 || !jsonr_int64(jsonr_at(r, 0), &a) ||
		    !jsonr_int64(jsonr_at(r, 1), &b))
			return bad(why, cap, name, r, "run %s: range %zu must be [first, last], two integers", key, i);
		if (a < 1 || b < a)
			return bad(why, cap, name, r, "run %s: range %zu must have 1 <= first <= last", key, i);
		m->ranges[(*nr)++] = (struct range){a, b};
	}
	struct range *rs = m->ranges + base;
	size_t n = *nr - base, k = 0;
	qsort(rs, n, sizeof(*rs), by_first);
	for (size_t i = 0; i < n; i++) {
		/* Overlapping or touching ranges become one (a >= 1, so a - 1 cannot overflow). */
		if (k > 0 && rs[i].first - 1 <= rs[k - 1].last) {
			if (rs[i].last > rs[k - 1].last)
				rs[k - 1].last = rs[i].last;
		} else {
			rs[k++] = rs[i];
		}
	}
	*nr = base + k;
	for (size_t i = 0; i < k; i++) {
		int64_t d = rs[i].last - rs[i].first + 1; /* >= 1, no overflow: first >= 1 */
		m->nlumis = m->nlumis > INT64_MAX - d ? INT64_MAX : m->nlumis + d;
	}
	return 0;
}

int lumimask_load_text(const char *text, size_t len, const char *name, struct lumimask **out,
		       char *why, size_t cap)
{
	struct jsonr_doc *doc = NULL;
	struct lumimask *m = NULL;
	struct run_at *order = NULL;
	int rc = corr_parse_json(text, len, name, &doc, why, cap);
	if (rc)
		return rc;
	const struct jsonr_val *root = jsonr_root(doc);
	if (jsonr_type(root) != JSONR_OBJ) {
		rc = bad(why, cap, name, root, "expected an object of runs, {\"run\": [[first, last], ...]}");
		goto out;
	}
	size_t nruns = jsonr_len(root), nranges = 0;
	for (size_t i = 0; i < nruns; i++)
		nranges += jsonr_len(jsonr_at(root, i));
	m = calloc(1, sizeof(*m));
	order = malloc((nruns + 1) * sizeof(*order));
	if (m) {
		m->runs = malloc((nruns + 1) * sizeof(*m->runs));
		m->start = malloc((nruns + 1) * sizeof(*m->start));
		m->ranges = malloc((nranges + 1) * sizeof(*m->ranges));
	}
	if (!m || !order || !m->runs || !m->start || !m->ranges) {
		rc = -ENOMEM;
		snprintf(why, cap, "%s: out of memory", name);
		goto out;
	}
	for (size_t i = 0; i < nruns; i++) {
		size_t klen = 0;
		const char *key = jsonr_key_at(root, i, &klen);
		if (!run_number(key, klen, &order[i].run)) {
			rc = bad(why, cap, name, jsonr_at(root, i), "the key \"%.40s\" is not a run number "
				 "(decimal, from 1, no leading zero)", key);
			goto out;
		}
		order[i].member = i;
	}
	/* Keys are unique (jsonr refuses duplicates, and no leading zeros
	 * means one spelling per number), so the sorted runs are too. */
	qsort(order, nruns, sizeof(*order), by_run);
	size_t nr = 0;
	for (size_t i = 0; i < nruns; i++) {
		m->runs[i] = order[i].run;
		m->start[i] = nr;
		const char *key = jsonr_key_at(root, order[i].member, NULL);
		if ((rc = read_ranges(m, &nr, jsonr_at(root, order[i].member), key, name, why, cap)))
			goto out;
	}
	m->start[nruns] = nr;
	m->nruns = nruns;
out:
	free(order);
	jsonr_free(doc);
	if (rc) {
		lumimask_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int lumimask_load(const char *path, struct lumimask **out, char *why, size_t cap)
{
	char *text = NULL;
	size_t len = 0;
	int rc = corr_read_file(path, &text, &len, why, cap);
	if (!rc)
		rc = lumimask_load_text(text, len, path, out, why, cap);
	free(text);
	return rc;
}

void lumimask_free(struct lumimask *m)
{
	if (!m)
		return;
	free(m->runs);
	free(m->start);
	free(m->ranges);
	free(m);
}

/* The index of run in m->runs, or -1. */
static long find_run(const struct lumimask *m, int64_t run)
{
	size_t lo = 0, hi = m->nruns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->runs[mid] == run)
			return (long)mid;
		if (m->runs[mid] < run)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Whether lumi is in one of the sorted, disjoint ranges rs[0..n). */
static bool in_ranges(const struct range *rs, size_t n, int64_t lumi)
{
	size_t lo = 0, hi = n; /* the first range with first > lumi */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (rs[mid].first <= lumi)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && lumi <= rs[lo - 1].last;
}

void lumimask_eval(const struct lumimask *m, const int64_t *run, const int64_t *lumi, size_t n,
		   uint8_t *out)
{
	const struct range *rs = NULL;
	size_t nrs = 0;
	int64_t last_run = 0; /* no run is 0, so the first point always searches */
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || run[i] != last_run) {
			long r = find_run(m, run[i]);
			last_run = run[i];
			rs = r < 0 ? NULL : m->ranges + m->start[r];
			nrs = r < 0 ? 0 : m->start[r + 1] - m->start[r];
		}
		out[i] = nrs && in_ranges(rs, nrs, lumi[i]);
	}
}

size_t lumimask_nruns(const struct lumimask *m)
{
	return m->nruns;
}

int64_t lumimask_nlumis(const struct lumimask *m)
{
	return m->nlumis;
}
