/* fs_render.c — the content of every file of the mount, rendered from the
 * store and the scheduler.  Results (hist.json and what derives from it)
 * are cached per job and result version, so that many readers looping on
 * hist.json cost one rendering per merge. */
#include "fs_int.h"

#include "dcache.h"
#include "fmt.h"

#include "anafs_version.h"
#include "plot.h"
#include "result.h"
#include "strbuf.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int finish(struct strbuf *b, char **out, size_t *len)
{
	return strbuf_finish(b, out, len);
}

/* ---- the result cache ---- */

#define CACHE_SLOTS 32

struct cached {
	int64_t job, version;
	struct result *r;
	char *json;
	size_t jlen;
	uint64_t used;
};

static struct cached cache[CACHE_SLOTS];
static uint64_t cache_clock;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* Under cache_lock: the result of job at its current version. */
static struct cached *cached_result(struct fs_ctx *c, int64_t job, int *err)
{
	struct job_info info;
	if ((*err = coord_job(c->sc, job, &info)))
		return NULL;
	struct cached *slot = NULL, *oldest = &cache[0];
	for (int i = 0; i < CACHE_SLOTS; i++) {
		if (cache[i].r && cache[i].job == job) {
			slot = &cache[i];
			break;
		}
		if (cache[i].used < oldest->used)
			oldest = &cache[i];
	}
	if (slot && slot->version == info.result_version) {
		slot->used = ++cache_clock;
		return slot;
	}
	char *q = NULL;
	size_t qlen = 0, blen = 0;
	void *blob = NULL;
	int64_t version = 0;
	struct result *r = NULL;
	*err = store_job_text(c->st, job, &q, &qlen, NULL, NULL);
	if (!*err)
		*err = store_job_result(c->st, job, &blob, &blen, &version);
	if (!*err)
		*err = result_load(q, qlen, blob, blen, &r);
	free(q);
	free(blob);
	if (*err)
		return NULL;
	char *json = NULL;
	size_t jlen = 0;
	if ((*err = result_json(r, ANAFS_VERSION, &json, &jlen))) {
		result_free(r);
		return NULL;
	}
	if (!slot)
		slot = oldest;
	result_free(slot->r);
	free(slot->json);
	*slot = (struct cached){job, version, r, json, jlen, ++cache_clock};
	return slot;
}

static int render_result(struct fs_ctx *c, int64_t job, enum fs_file f, const char *hname,
			 char **out, size_t *len)
{
	int err = 0;
	pthread_mutex_lock(&cache_lock);
	struct cached *e = cached_result(c, job, &err);
	if (e && f == FF_HIST_JSON) {
		*out = malloc(e->jlen + 2);
		if (*out) {
			memcpy(*out, e->json, e->jlen);
			(*out)[e->jlen] = '\n';
			*len = e->jlen + 1;
		} else {
			err = -ENOMEM;
		}
	} else if (e && (f == FF_CUTFLOW || f == FF_SUMMARY)) {
		*out = f == FF_CUTFLOW ? result_cutflow(e->r) : result_summary(e->r);
		*len = *out ? strlen(*out) : 0;
		err = *out ? 0 : -ENOMEM;
	} else if (e) {
		err = -ENOENT;
		for (size_t j = 0; f == FF_SVG && j < e->r->nplots; j++)
			if (!strcmp(e->r->plots[j].name, hname))
				err = result_overlay_svg(e->r, j, out, len);
		for (size_t i = 0; err == -ENOENT && i < result_nnamed(e->r); i++)
			if (!strcmp(result_hist_name(e->r, i), hname)) {
				if (f == FF_SVG) {
					err = result_plot_svg(e->r, i, out, len);
					break;
				}
				struct hist *h = result_plot_hist(e->r, i);
				err = !h ? -ENOMEM : plot_csv(h, out, len);
				hist_free(h);
				break;
			}
	}
	pthread_mutex_unlock(&cache_lock);
	return err;
}

/* The names of job's histograms, or of its plot statements' plots. */
static char **names_of(struct fs_ctx *c, int64_t job, bool plots)
{
	int err = 0;
	char **v = NULL;
	struct job_info info;
	if (coord_job(c->sc, job, &info))
		return NULL;
	if (info.status == JOB_INVALID)
		return calloc(1, sizeof(*v)); /* an invalid job has no results */
	pthread_mutex_lock(&cache_lock);
	struct cached *e = cached_result(c, job, &err);
	size_t n = !e ? 0 : plots ? e->r->nplots : result_nnamed(e->r);
	if (e && (v = calloc(n + 1, sizeof(*v))))
		for (size_t i = 0; i < n; i++)
			v[i] = strdup(plots ? e->r->plots[i].name : result_hist_name(e->r, i));
	pthread_mutex_unlock(&cache_lock);
	return v;
}

char **fs_hist_names(struct fs_ctx *c, int64_t job)
{
	return names_of(c, job, false);
}

char **fs_plot_names(struct fs_ctx *c, int64_t job)
{
	return names_of(c, job, true);
}

/* ---- the small files ---- */

/* s as a JSON string: quoted, with what JSON must escape escaped. */
static void json_string(struct strbuf *b, const char *s)
{
	strbuf_printf(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_printf(b, "\\%c", *p);
		else if (*p < 0x20)
			strbuf_printf(b, "\\u%04x", *p);
		else
			strbuf_printf(b, "%c", *p);
	}
	strbuf_printf(b, "\"");
}

static void progress(struct fs_ctx *c, const struct job_info *j, struct strbuf *b, bool json)
{
	struct coord_live live;
	coord_live(c->sc, j->id, &live);
	int64_t done = j->events_done + live.events_pending;
	if (j->status == JOB_DONE)
		done = j->events_total;
	if (done > j->events_total)
		done = j->events_total;
	double pct = j->events_total ? 100.0 * (double)done / (double)j->events_total
				     : (j->status == JOB_DONE ? 100.0 : 0.0);
	/* A finished job's rate is its average over its run. */
	if (job_status_terminal(j->status) && j->finished > j->started && j->started > 0)
		live.rate = (double)j->events_done / (j->finished - j->started);
	double eta = live.rate > 0 ? (double)(j->events_total - done) / live.rate : -1;
	if (job_status_terminal(j->status) || j->status == JOB_PAUSED)
		eta = -1;
	/* A job that is over was planned unless planning is what ended it. */
	bool planned = live.active ? live.planned : j->tasks_total > 0 || j->status == JOB_DONE;
	live.note[sizeof(live.note) - 1] = 0;
	struct store_skip *skips = NULL; /* on_error skip: the tasks left out */
	size_t nskips = 0;
	if (store_job_skipped(c->st, j->id, &skips, &nskips))
		nskips = 0;
	if (json) {
		strbuf_printf(b, "{\"job\": %lld, \"status\": \"%s\", \"percent\": %.3f, \"events_done\": %lld, "
			   "\"events_total\": %lld, \"tasks_done\": %d, \"tasks_total\": %d, "
			   "\"workers\": %d, \"rate\": %.6g, \"eta_seconds\": ",
			(long long)j->id, job_status_name(j->status), pct, (long long)done,
			(long long)j->events_total, j->tasks_done, j->tasks_total, live.workers,
			live.rate);
		if (eta >= 0)
			strbuf_printf(b, "%.3f", eta);
		else
			strbuf_printf(b, "null");
		/* Bytes are counted while the daemon runs the job; after, unknown. */
		if (live.active)
			strbuf_printf(b, ", \"bytes_read\": %llu", (unsigned long long)live.bytes);
		else
			strbuf_printf(b, ", \"bytes_read\": null");
		/* The disk cache for this job's reads, on whatever nodes they ran:
		 * what the store holds and what came back since. */
		struct store_cache jc;
		if (store_job_cache(c->st, j->id, &jc))
			memset(&jc, 0, sizeof(jc));
		store_cache_sum(&jc, &live.cache);
		if (jc.hits + jc.misses)
			strbuf_printf(b, ", \"cache_hit_ratio\": %.6g",
				      (double)jc.hits / (double)(jc.hits + jc.misses));
		else
			strbuf_printf(b, ", \"cache_hit_ratio\": null");
		strbuf_printf(b, ", \"job_cache\": {\"hits\": %llu, \"misses\": %llu, "
			      "\"bytes_hit\": %llu, \"bytes_fetched\": %llu, \"bytes_prefetched\": %llu}",
			      (unsigned long long)jc.hits, (unsigned long long)jc.misses,
			      (unsigned long long)jc.bytes_hit, (unsigned long long)jc.bytes_fetched,
			      (unsigned long long)jc.bytes_prefetched);
		/* The node's disk cache, all its processes, now. */
		struct dcache *dc = src_cache_default();
		struct dcache_stats cs;
		if (dc && !dcache_stats(dc, &cs)) {
			strbuf_printf(b, ", \"cache\": {\"scope\": \"node\"");
			for (int k = 0; k < DC_NCOUNTERS; k++)
				strbuf_printf(b, ", \"%s\": %llu", dcache_counter_name(k),
					      (unsigned long long)cs.node[k]);
			strbuf_printf(b, ", \"used\": %llu, \"limit\": %llu, \"unread\": %llu}",
				      (unsigned long long)cs.used, (unsigned long long)cs.limit,
				      (unsigned long long)cs.unread);
		} else {
			strbuf_printf(b, ", \"cache\": null");
		}
		if (j->reused_from)
			strbuf_printf(b, ", \"reused_from\": %lld", (long long)j->reused_from);
		else
			strbuf_printf(b, ", \"reused_from\": null");
		strbuf_printf(b, ", \"planned\": %s, \"note\": ", planned ? "true" : "false");
		json_string(b, live.note);
		strbuf_printf(b, ", \"gpu\": "); /* where this daemon's fills go (docs/gpu.md) */
		json_string(b, live.gpu);
		/* Workers connected now (on any job) and tasks waiting to be tried again. */
		strbuf_printf(b, ", \"workers_live\": %d, \"retrying\": %d, \"skipped\": [",
			      live.workers_live, live.retrying);
		for (size_t i = 0; i < nskips; i++) {
			strbuf_printf(b, "%s{\"task\": %d, \"file\": ", i ? ", " : "", skips[i].idx);
			json_string(b, skips[i].url);
			strbuf_printf(b, ", \"first\": %lld, \"last\": %lld, \"reason\": ",
				      (long long)skips[i].first, (long long)skips[i].last);
			json_string(b, skips[i].why);
			strbuf_printf(b, "}");
		}
		/* The name it was submitted as and when: what `anafs status` and
		 * `anafs watch` show, readable from one file. */
		strbuf_printf(b, "], \"name\": ");
		json_string(b, j->name);
		strbuf_printf(b, ", \"submitted\": %.3f}\n", j->created);
		store_skips_free(skips, nskips);
		return;
	}
	store_skips_free(skips, nskips);
	char d[32], t[32], r[32], e[32];
	fmt_count(d, sizeof(d), (double)done);
	fmt_count(t, sizeof(t), (double)j->events_total);
	fmt_count(r, sizeof(r), live.rate);
	fmt_eta(e, sizeof(e), eta);
	char extra[96] = "";
	if (j->reused_from)
		snprintf(extra, sizeof(extra), "  reused the result of job %lld", (long long)j->reused_from);
	else if (nskips)
		snprintf(extra, sizeof(extra), "  %zu tasks left out (progress.json lists them)", nskips);
	else if (live.retrying)
		snprintf(extra, sizeof(extra), "  %d tasks to retry", live.retrying);
	strbuf_printf(b, "%6.1f%%  %s/%s events  %d/%d tasks  %d workers  %s ev/s  ETA %s  %s%s%s%s\n",
		      pct, d, t, j->tasks_done, j->tasks_total, live.workers, r, e,
		      job_status_name(j->status), *live.note ? "  " : "", live.note, extra);
}

static const char readme[] =
	"anafs — analysis jobs as files\n"
	"\n"
	"Submit:   cp dimuon.query jobs/          (or write jobs/NAME.query any way you like)\n"
	"Watch:    cat jobs/dimuon/progress       (jobs/NAME points at the newest job NAME)\n"
	"Results:  jobs/N/hist.json  hist/*.svg  hist/*.csv  cutflow  summary  (partial while running)\n"
	"Wait:     cat jobs/N/wait                (blocks until the job is over)\n"
	"Control:  echo cancel > jobs/N/ctl       (or pause, resume)\n"
	"Errors:   jobs/N/status says invalid or failed; jobs/N/error says why\n"
	"Log:      tail -f jobs/N/log\n"
	"Workers:  cat workers  (echo scale 8 > workers);  the data cache: cat cache\n"
	"Jobs belong to the daemon: closing the notebook or the terminal changes nothing.\n"
	"The query language: docs/query.md; the mount: docs/mount.md.\n";

int fs_render(struct fs_ctx *c, int64_t job, enum fs_file f, const char *hname, char **out,
	      size_t *len, double *mtime)
{
	struct strbuf b = STRBUF_INIT;
	*mtime = c->started;
	if (f == FF_README) {
		strbuf_printf(&b, "%s", readme);
		return finish(&b, out, len);
	}
	if (f == FF_WORKERS) {
		char *w = coord_workers_text(c->sc);
		if (!w)
			return -ENOMEM;
		*out = w;
		*len = strlen(w);
		*mtime = (double)time(NULL);
		return 0;
	}
	if (f == FF_CACHE) {
		uint64_t bytes, events;
		coord_io(c->sc, &bytes, &events);
		struct dcache *dc = src_cache_default();
		strbuf_printf(&b, "sources:        local files (read in place), root:// through %s\n",
			      dc ? "the node's disk cache" : "no cache (ANAFS_CACHE=off, or unusable)");
		if (dc && dcache_stat_text(dc, &b, false))
			strbuf_printf(&b, "disk cache:     its index could not be read now\n");
		strbuf_printf(&b, "bytes read:     %llu (by this daemon's jobs)\nevents read:    %llu\n",
			      (unsigned long long)bytes, (unsigned long long)events);
		*mtime = (double)time(NULL);
		return finish(&b, out, len);
	}
	struct job_info j;
	int rc = coord_job(c->sc, job, &j); /* the coordinator knows status better */
	if (rc)
		return rc;
	*mtime = j.created;
	switch (f) {
	case FF_QUERY: {
		char *q = NULL;
		size_t ql = 0;
		if ((rc = store_job_text(c->st, job, &q, &ql, NULL, NULL)))
			return rc;
		*out = q;
		*len = ql;
		return 0;
	}
	case FF_STATUS:
		*mtime = j.status_changed;
		strbuf_printf(&b, "%s\n", job_status_name(j.status));
		return finish(&b, out, len);
	case FF_ERROR: {
		char *e = NULL;
		if ((rc = coord_job_error(c->sc, job, &e)))
			return rc;
		*mtime = j.status_changed;
		strbuf_printf(&b, "%s%s", e, *e && e[strlen(e) - 1] != '\n' ? "\n" : "");
		free(e);
		return finish(&b, out, len);
	}
	case FF_PROGRESS:
	case FF_PROGRESS_JSON:
		*mtime = (double)time(NULL);
		progress(c, &j, &b, f == FF_PROGRESS_JSON);
		return finish(&b, out, len);
	case FF_LOG: {
		char *t = NULL;
		size_t tl = 0;
		double last = 0;
		if ((rc = store_job_log(c->st, job, &t, &tl, &last)))
			return rc;
		*out = t;
		*len = tl;
		*mtime = last ? last : j.created;
		return 0;
	}
	case FF_CTL:
		strbuf_printf(&b, "%s", "");
		return finish(&b, out, len);
	case FF_HIST_JSON:
	case FF_CUTFLOW:
	case FF_SUMMARY:
	case FF_SVG:
	case FF_CSV:
		if (j.status == JOB_INVALID)
			return f == FF_HIST_JSON ? (strbuf_printf(&b, "{}\n"), finish(&b, out, len)) : -ENOENT;
		*mtime = j.result_changed ? j.result_changed : j.created;
		return render_result(c, job, f, hname, out, len);
	default:
		return -ENOENT;
	}
}
