/* store_check.c — a damaged database: the check store_open() runs, which
 * jobs a damaged page affects (marked failed, best effort), and listing
 * the jobs past pages that cannot be read.
 *
 * sqlite reads a page when a statement reaches it, and a page that
 * contradicts its format makes that read fail with SQLITE_CORRUPT
 * (ANA_EDAMAGED here).  So the jobs a damaged page affects are found by
 * reading every row of every job: those whose reads fail.  This runs only
 * when PRAGMA quick_check finds damage. */
#include "store_int.h"

#include "ana_err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LISTED 20 /* ids named in the summary */

struct idvec {
	int64_t *v;
	size_t n, cap;
};

static int push(struct idvec *a, int64_t id)
{
	if (a->n == a->cap) {
		size_t c = a->cap ? 2 * a->cap : 64;
		int64_t *nv = realloc(a->v, c * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		a->v = nv;
		a->cap = c;
	}
	a->v[a->n++] = id;
	return 0;
}

/* ---- listing past damage ---- */

/* The highest job id any table knows, 0 when none can say.  Each is only
 * a hint: a table that cannot be read says nothing. */
static int64_t max_known_id(struct store *st)
{
	static const enum stmt_id ids[] = { S_MAX_SEQ, S_MAX_TASK_JOB, S_MAX_FILE_JOB,
					    S_MAX_LOG_JOB };
	int64_t max = 0;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		sqlite3_stmt *s;
		if (st_prep(st, ids[i], &s) != 0)
			continue;
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) > max)
			max = sqlite3_column_int64(s, 0);
		st_unprep(s);
	}
	return max;
}

/* The ids after *last into a, to the end (0) or an error; *last: the
 * last id read. */
static int scan_from(struct store *st, int64_t *last, struct idvec *a)
{
	sqlite3_stmt *s;
	int rc = st_prep_id(st, S_JOB_IDS, *last, &s);
	if (rc != 0)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		if ((rc = push(a, id)) != 0)
			goto out;
		*last = id;
	}
	rc = rc == SQLITE_DONE ? 0 : st_errno(st->db, rc);
out:
	st_unprep(s);
	return rc;
}

/* A scan stopped by a damaged page after *last: look ids up one at a time
 * (each lookup finds its own way down the tree) until one reads again.
 * 1 with *last that id, pushed to ok; 0 when none up to upper does. */
static int probe_past(struct store *st, int64_t *last, int64_t upper, struct idvec *ok,
		      struct idvec *bad)
{
	for (int64_t k = *last + 1; k <= upper; k++) {
		int rc = st_job_exists(st, k);
		if (rc == -ENOENT)
			continue;
		if (rc == 0) {
			*last = k;
			return (rc = push(ok, k)) ? rc : 1;
		}
		if (rc != ANA_EDAMAGED || (rc = push(bad, k)) != 0)
			return rc;
	}
	return 0;
}

/* Ids start at 1 (AUTOINCREMENT), so the scan starts after 0.  Every
 * round ends with *last past where it began, so the loop ends. */
int st_list_jobs(struct store *st, int64_t **ids, size_t *n, int64_t **bad, size_t *nbad)
{
	struct idvec ok = { 0 }, dmg = { 0 };
	int64_t last = 0, upper = -1;
	int rc;
	while ((rc = scan_from(st, &last, &ok)) == ANA_EDAMAGED) {
		if (upper < 0)
			upper = max_known_id(st);
		if ((rc = probe_past(st, &last, upper, &ok, &dmg)) <= 0)
			break;
	}
	if (rc != 0) {
		free(ok.v);
		free(dmg.v);
		return rc;
	}
	*ids = ok.v;
	*n = ok.n;
	*bad = dmg.v;
	*nbad = dmg.n;
	return 0;
}

/* ---- which jobs are affected ---- */

struct damaged {
	int64_t id;
	char what[200]; /* which of its rows, and sqlite's words */
};

struct damage {
	struct damaged *v;
	size_t n, cap;
};

static int add_damaged(struct damage *d, int64_t id, const char *part, const char *why)
{
	if (d->n == d->cap) {
		size_t c = d->cap ? 2 * d->cap : 16;
		struct damaged *nv = realloc(d->v, c * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		d->v = nv;
		d->cap = c;
	}
	d->v[d->n].id = id;
	snprintf(d->v[d->n].what, sizeof(d->v[d->n].what), "%s: %s", part, why);
	d->n++;
	return 0;
}

/* Read every row and column statement id yields for job: 0, or the
 * error with sqlite's words in why. */
static int read_rows(struct store *st, enum stmt_id id, int64_t job, char *why, size_t cap)
{
	sqlite3_stmt *s;
	int rc = st_prep_id(st, id, job, &s);
	if (rc != 0)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (int c = 0; c < sqlite3_column_count(s); c++) {
			const void *p;
			size_t len;
			if ((rc = st_column(s, c, true, &p, &len)) != 0)
				goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		snprintf(why, cap, "%s", sqlite3_errmsg(st->db));
		rc = st_errno(st->db, rc);
	} else {
		rc = 0;
	}
out:
	st_unprep(s);
	return rc;
}

/* Every row of job id read: added to d when one is damaged. */
static int check_job(struct store *st, int64_t id, struct damage *d)
{
	static const struct {
		enum stmt_id stmt;
		const char *what;
	} parts[] = {
		{ S_JOB_GET, "its record" },  { S_JOB_TEXT, "its query text" },
		{ S_JOB_RESULT, "its result" }, { S_FILES, "its files" },
		{ S_TASKS, "its tasks" },     { S_LOG, "its log" },
	};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		char why[128] = "";
		int rc = read_rows(st, parts[i].stmt, id, why, sizeof(why));
		if (rc == ANA_EDAMAGED)
			return add_damaged(d, id, parts[i].what, why);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int cmp_damaged(const void *a, const void *b)
{
	int64_t x = ((const struct damaged *)a)->id, y = ((const struct damaged *)b)->id;
	return (x > y) - (x < y);
}

/* The jobs whose rows cannot all be read, ascending. */
static int find_damaged(struct store *st, struct damage *d)
{
	int64_t *ids = NULL, *bad = NULL;
	size_t n = 0, nbad = 0;
	int rc = st_list_jobs(st, &ids, &n, &bad, &nbad);
	for (size_t i = 0; rc == 0 && i < nbad; i++)
		rc = add_damaged(d, bad[i], "its record", "cannot be found");
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = check_job(st, ids[i], d);
	free(ids);
	free(bad);
	if (rc == 0 && d->n > 1)
		qsort(d->v, d->n, sizeof(*d->v), cmp_damaged);
	return rc;
}

/* Job j failed, with an error and a log line saying why: best effort, as
 * the writes may land on the damaged page.  Returns whether the status
 * could be written. */
static bool mark_failed(struct store *st, const struct damaged *j)
{
	char error[400];
	snprintf(error, sizeof(error),
		 "the job's record in the state database is damaged (%s); its results may be lost",
		 j->what);
	bool marked = st_set_status(st, j->id, JOB_FAILED, error) == 0;
	(void)st_log_line(st, j->id, error); /* its log may be what is damaged */
	return marked;
}

/* ---- the check ---- */

/* PRAGMA quick_check: 0 when it passes, 1 with the first problem in
 * problem (one line) when it does not, or an error other than damage. */
static int quick_check(struct store *st, char *problem, size_t cap)
{
	sqlite3_stmt *s;
	int nproblems = 0, rc = st_prep(st, S_QUICK_CHECK, &s);
	if (rc != 0)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const void *p;
		size_t n;
		if ((rc = st_column(s, 0, false, &p, &n)) != 0)
			goto out;
		if (p && strcmp(p, "ok") == 0)
			continue;
		if (nproblems++ == 0)
			snprintf(problem, cap, "%s", p ? (const char *)p : "");
	}
	if (rc != SQLITE_DONE && (rc = st_errno(st->db, rc)) != ANA_EDAMAGED)
		goto out;
	if (rc == ANA_EDAMAGED && nproblems++ == 0)
		snprintf(problem, cap, "%s", sqlite3_errmsg(st->db));
	for (char *c = problem; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	rc = nproblems > 0;
out:
	st_unprep(s);
	return rc;
}

/* The summary: which file, what the check said, which jobs. */
static char *summarize(const char *path, const char *problem, const struct damage *d,
		       const bool *marked)
{
	char *out = malloc(STORE_MAX_SUMMARY);
	size_t nmarked = 0, len;
	if (!out)
		return NULL;
	len = (size_t)snprintf(out, STORE_MAX_SUMMARY, "%s is damaged (quick_check: %s); ", path,
			       problem);
	if (d->n == 0 && len < STORE_MAX_SUMMARY)
		snprintf(out + len, STORE_MAX_SUMMARY - len, "no job's rows are affected");
	for (size_t i = 0; i < d->n && len < STORE_MAX_SUMMARY; i++) {
		nmarked += marked[i];
		if (i < MAX_LISTED)
			len += (size_t)snprintf(out + len, STORE_MAX_SUMMARY - len, "%s%lld",
						i ? ", " : "jobs affected: ", (long long)d->v[i].id);
		else if (i == MAX_LISTED)
			len += (size_t)snprintf(out + len, STORE_MAX_SUMMARY - len, " and %zu more",
						d->n - MAX_LISTED);
	}
	if (d->n && len < STORE_MAX_SUMMARY)
		snprintf(out + len, STORE_MAX_SUMMARY - len, "; %zu of %zu marked failed", nmarked,
			 d->n);
	return out;
}

int st_check(struct store *st, const char *path, char *msg, size_t cap)
{
	char problem[300] = "";
	struct damage d = { 0 };
	bool *marked = NULL;
	int rc = quick_check(st, problem, sizeof(problem));
	if (rc <= 0) {
		if (rc < 0 && msg && cap)
			snprintf(msg, cap, "checking %s: %s", path, ana_strerror(rc));
		return rc;
	}
	if ((rc = find_damaged(st, &d)) != 0 ||
	    !(marked = calloc(d.n ? d.n : 1, sizeof(*marked))) ||
	    !(st->damaged = malloc((d.n ? d.n : 1) * sizeof(*st->damaged)))) {
		rc = rc ? rc : -ENOMEM;
		if (msg && cap)
			snprintf(msg, cap, "%s is damaged (quick_check: %s); finding the jobs affected: %s",
				 path, problem, ana_strerror(rc));
		goto out;
	}
	for (size_t i = 0; i < d.n; i++) {
		st->damaged[i] = d.v[i].id;
		marked[i] = mark_failed(st, &d.v[i]);
	}
	st->ndamaged = d.n;
	if (!(st->summary = summarize(path, problem, &d, marked)))
		rc = -ENOMEM;
out:
	free(marked);
	free(d.v);
	return rc;
}

int store_damaged(struct store *st, int64_t **ids, size_t *n, char *summary, size_t cap)
{
	pthread_mutex_lock(&st->mu);
	int64_t *v = malloc((st->ndamaged ? st->ndamaged : 1) * sizeof(*v));
	size_t nv = st->ndamaged;
	if (v) {
		if (nv)
			memcpy(v, st->damaged, nv * sizeof(*v));
		if (summary && cap)
			snprintf(summary, cap, "%s", st->summary ? st->summary : "");
	}
	pthread_mutex_unlock(&st->mu);
	if (!v)
		return -ENOMEM;
	*ids = v;
	*n = nv;
	return 0;
}
