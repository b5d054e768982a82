/* coord_plan.c — the planner thread: it plans submitted jobs (the dataset
 * expanded, every file checked, the tasks cut and recorded) and takes up
 * the jobs a daemon left unfinished (their recorded files checked, their
 * merged result loaded), one job at a time, oldest first, so that no
 * caller ever waits for a dataset to be read. */
#include "coord_int.h"

#include "ana_err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the planner takes from a job while it works on it unlocked. */
struct todo {
	int64_t id;
	bool resume;
	uid_t uid;
	gid_t gid;
	char filename[300];
	struct coord *c;
};

/* What planning gave. */
struct outcome {
	int rc;
	struct plan *plan;
	size_t merged;          /* tasks merged already (resumed) */
	void *saved;            /* their result */
	size_t len;
	int64_t reused_from;    /* the job whose result it took (0: none) */
	enum job_status fail_as; /* JOB_INVALID or JOB_FAILED */
	char why[2300];
};

/* Planning's progress: the job's note, and whether to stop. */
static int on_files(void *ctx, size_t done, size_t total)
{
	struct todo *td = ctx;
	struct coord *c = td->c;
	pthread_mutex_lock(&c->lock);
	struct cjob *j = coord_find(c, td->id);
	bool stop = c->stopping || !j || job_status_terminal(j->status);
	if (j)
		snprintf(j->note, sizeof(j->note), "%s: %zu of %zu files",
			 td->resume ? "checking files" : "planning", done, total);
	pthread_mutex_unlock(&c->lock);
	return stop;
}

static struct plan_opts opts_for(const struct coord *c, struct todo *td, const char *basedir)
{
	return (struct plan_opts){.basedir = basedir, .base_desc = c->o.base_desc,
				  .filename = td->filename, .task_events = c->o.task_events,
				  .check_access = c->o.check_access,
				  .uid = td->uid, .gid = td->gid, .progress = on_files, .ctx = td};
}

/* Record p's files and tasks with the job. */
static int record_plan(struct coord *c, int64_t id, const struct plan *p)
{
	size_t nf = plan_nfiles(p), nt = plan_ntasks(p);
	struct store_file *f = calloc(nf + 1, sizeof(*f));
	struct store_task *t = calloc(nt + 1, sizeof(*t));
	int rc = f && t ? 0 : -ENOMEM;
	for (size_t i = 0; !rc && i < nf; i++) {
		const struct plan_file *pf = plan_file(p, i);
		f[i] = (struct store_file){(char *)pf->url, (char *)pf->tree, pf->entries, pf->size,
					   pf->mtime_ns, pf->fingerprint};
	}
	for (size_t i = 0; !rc && i < nt; i++) {
		const struct plan_task *pt = plan_task(p, i);
		t[i] = (struct store_task){pt->file, pt->first, pt->last, false};
	}
	if (!rc)
		rc = store_job_plan(c->o.st, id, f, nf, t, nt, plan_events(p));
	free(f);
	free(t);
	return rc;
}

/* Job td->id, just planned: its reuse key recorded and, unless it must
 * run afresh, the result of the newest done job of its owner with that
 * key taken (every task of it merged then).  Nothing here fails the job:
 * without a result to take it runs. */
static void try_reuse(struct coord *c, struct todo *td, struct outcome *out)
{
	char key[40];
	struct job_info ji;
	int64_t from = 0;
	if (plan_reuse_key(out->plan, key, sizeof(key)) ||
	    store_job_set_reuse_key(c->o.st, td->id, key) || c->o.no_reuse ||
	    store_job_get(c->o.st, td->id, &ji) || ji.fresh ||
	    store_job_find_reuse(c->o.st, key, ji.uid, td->id, &from) || !from)
		return;
	void *blob = NULL;
	size_t len = 0;
	int64_t version;
	struct result *r = NULL;
	/* The bytes must be a whole result of this query's shape. */
	int rc = store_job_result(c->o.st, from, &blob, &len, &version);
	if (!rc && !len)
		rc = -ENOENT;
	if (!rc)
		rc = result_new(plan_query(out->plan), &r);
	if (!rc)
		rc = result_decode(r, blob, len);
	if (!rc && r->events != plan_events(out->plan))
		rc = ANA_ECORRUPT;
	result_free(r);
	if (!rc)
		rc = store_job_reuse(c->o.st, td->id, from, blob, len);
	if (rc) {
		free(blob);
		return;
	}
	out->merged = plan_ntasks(out->plan);
	out->saved = blob;
	out->len = len;
	out->reused_from = from;
}

static void plan_fresh(struct coord *c, struct todo *td, const char *text, size_t len,
		       const char *basedir, struct outcome *out)
{
	struct plan_opts o = opts_for(c, td, basedir);
	struct ql_error err;
	out->rc = plan_new(text, len, &o, &out->plan, &err);
	if (out->rc == -EINVAL) {
		out->fail_as = JOB_INVALID;
		snprintf(out->why, sizeof(out->why), "%s", err.text);
	} else if (out->rc && out->rc != -ECANCELED) {
		snprintf(out->why, sizeof(out->why), "planning failed: %s", ana_strerror(out->rc));
	} else if (!out->rc && (out->rc = record_plan(c, td->id, out->plan))) {
		snprintf(out->why, sizeof(out->why), "cannot record the plan in the job store: %s",
			 ana_strerror(out->rc));
	} else if (!out->rc) {
		try_reuse(c, td, out);
	}
}

/* The recorded plan back: files, tasks, the merged prefix and its result. */
static void plan_again(struct coord *c, struct todo *td, const char *text, size_t len,
		       const char *basedir, struct outcome *out)
{
	struct store_file *sf = NULL;
	struct store_task *st = NULL;
	size_t nf = 0, nt = 0;
	int64_t version;
	int rc = store_job_files(c->o.st, td->id, &sf, &nf);
	if (!rc)
		rc = store_job_tasks(c->o.st, td->id, &st, &nt);
	if (!rc)
		rc = store_job_result(c->o.st, td->id, &out->saved, &out->len, &version);
	struct plan_file *pf = calloc(nf + 1, sizeof(*pf));
	struct plan_task *pt = calloc(nt + 1, sizeof(*pt));
	if (!rc && (!pf || !pt))
		rc = -ENOMEM;
	if (rc)
		snprintf(out->why, sizeof(out->why), "cannot resume: reading the job store: %s",
			 ana_strerror(rc));
	size_t merged = 0;
	for (size_t i = 0; !rc && i < nf; i++)
		pf[i] = (struct plan_file){sf[i].url, sf[i].tree, sf[i].entries, sf[i].size,
					   sf[i].mtime_ns, sf[i].fingerprint, 0};
	while (!rc && merged < nt && st[merged].done)
		merged++;
	for (size_t i = 0; !rc && i < nt; i++) {
		pt[i] = (struct plan_task){st[i].file, st[i].first, st[i].last};
		if (i >= merged && st[i].done) { /* merges happen in order */
			rc = ANA_ECORRUPT;
			snprintf(out->why, sizeof(out->why), "cannot resume: the recorded tasks are "
							     "not merged in order");
		}
	}
	if (!rc) {
		struct plan_opts o = opts_for(c, td, basedir);
		char why[2000] = "";
		if ((rc = plan_resume(text, len, &o, pf, nf, pt, nt, &out->plan, why, sizeof(why))))
			snprintf(out->why, sizeof(out->why), "cannot resume: %s", why);
	}
	out->rc = rc;
	out->merged = merged;
	store_files_free(sf, nf);
	free(st);
	free(pf);
	free(pt);
}

static void plan_job(struct coord *c, struct todo *td, struct outcome *out)
{
	char *text = NULL, *basedir = NULL;
	size_t len = 0;
	memset(out, 0, sizeof(*out));
	out->fail_as = JOB_FAILED;
	int rc = store_job_text(c->o.st, td->id, &text, &len, &basedir, NULL);
	if (rc) {
		out->rc = rc;
		snprintf(out->why, sizeof(out->why), "cannot read the job from the store: %s",
			 ana_strerror(rc));
	} else if (td->resume) {
		plan_again(c, td, text, len, basedir, out);
	} else {
		plan_fresh(c, td, text, len, basedir, out);
	}
	free(text);
	free(basedir);
}

/* Under c->lock: a planned job joins the running; a plan that failed ends it. */
static void apply(struct coord *c, struct cjob *j, struct outcome *out)
{
	j->note[0] = '\0';
	if (job_status_terminal(j->status) || out->rc == -ECANCELED)
		return; /* cancelled, or the daemon stops */
	if (!out->rc)
		out->rc = coord_attach(c, j, out->plan, out->merged, out->saved, out->len);
	if (out->rc) {
		if (!*out->why)
			snprintf(out->why, sizeof(out->why), "%s%s", j->resume ? "cannot resume: " : "",
				 out->rc == ANA_ECORRUPT ? "the saved result is damaged"
							 : ana_strerror(out->rc));
		if (!coord_transition(c, j, out->fail_as, out->why))
			coord_log(c, j->id, "%s: %s", job_status_name(out->fail_as), out->why);
		return;
	}
	const struct plan *p = j->plan;
	if (out->reused_from)
		coord_log(c, j->id, "reused the result of job %lld (the same query over the same "
				    "files): %zu tasks, %lld events; echo rerun > ctl runs it afresh",
			  (long long)out->reused_from, j->ntasks, (long long)plan_events(p));
	else if (j->resume)
		coord_log(c, j->id, "resumed at task %zu of %zu", j->merged, j->ntasks);
	else
		coord_log(c, j->id, "planned: %zu tasks, %lld events in %zu file(s)", j->ntasks,
			  (long long)plan_events(p), plan_nfiles(p));
	if (j->merged == j->ntasks && !coord_transition(c, j, JOB_DONE, NULL))
		coord_log(c, j->id, "done: %zu tasks, %lld events", j->ntasks,
			  (long long)plan_events(p));
	coord_emit(c, j->id, COORD_EV_STATUS);
	pthread_cond_broadcast(&c->run_cv);
}

/* Under c->lock: the oldest job waiting to be planned. */
static struct cjob *next_todo(struct coord *c)
{
	for (struct cjob *j = c->jobs; j; j = j->next_job)
		if (!j->planned && !j->planning && !job_status_terminal(j->status))
			return j;
	return NULL;
}

void *coord_planner(void *arg)
{
	struct coord *c = arg;
	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		struct cjob *j = next_todo(c);
		if (!j) {
			pthread_cond_wait(&c->plan_cv, &c->lock);
			continue;
		}
		struct todo td = {.id = j->id, .resume = j->resume, .uid = j->uid, .gid = j->gid, .c = c};
		snprintf(td.filename, sizeof(td.filename), "%s", j->filename ? j->filename : "query");
		j->planning = true;
		snprintf(j->note, sizeof(j->note), "%s", j->resume ? "checking files" : "planning");
		pthread_mutex_unlock(&c->lock);
		struct outcome out;
		plan_job(c, &td, &out);
		pthread_mutex_lock(&c->lock);
		j = coord_find(c, td.id); /* held: planning keeps it in the table */
		j->planning = false;
		apply(c, j, &out);
		plan_unref(out.plan);
		free(out.saved);
		coord_retire(c, j);
		coord_unlock(c);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}
