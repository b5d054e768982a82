/* plan_open.c — a plan's files open for its runners, shared: workers on
 * tasks of one file read it through one descriptor and one mapping, so its
 * pages are faulted in once and its header read once, and the files open
 * at any moment are at most those some worker reads. */
#include "plan_int.h"

#include "src.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int plan_rootio_open(const struct plan_file *pf, struct rootio_file **out, char *why, size_t cap)
{
	struct rootio_err e;
	int rc;
	*out = NULL;
	if (src_url_remote(pf->url) && (pf->size || pf->mtime_ns)) {
		struct src *s;
		if ((rc = src_open_known(pf->url, pf->size, pf->mtime_ns, &s, why, cap)))
			return rc;
		rc = rootio_open_src(s, out, &e);
	} else {
		rc = rootio_open(pf->url, out, &e);
	}
	if (rc)
		snprintf(why, cap, "%s", e.msg);
	return rc;
}

int plan_file_open(struct plan *p, size_t i, struct rootio_file **out, char *msg, size_t cap)
{
	if (i >= p->nfiles)
		return -EINVAL;
	int rc = 0;
	pthread_mutex_lock(&p->open_mu);
	if (!p->open && !(p->open = calloc(p->nfiles, sizeof(*p->open))))
		rc = -ENOMEM;
	struct plan_open *po = rc ? NULL : &p->open[i];
	if (po && !po->f) {
		/* Opened under the lock: a second worker on the same file waits for
		 * the first instead of opening it again. */
		struct plan_opts o = {0};
		const struct plan_file *pf = &p->files[i];
		/* A remote file's identity is checked by its first read from
		 * the server (none while the disk cache has its blocks):
		 * plan_rootio_open() gives its source the planned one. */
		rc = src_url_remote(pf->url) ? 0 : plan_file_unchanged(pf, &o, msg, cap);
		if (!rc)
			rc = plan_rootio_open(pf, &po->f, msg, cap);
	}
	if (!rc) {
		po->users++;
		*out = po->f;
	} else if (rc == -ENOMEM) {
		snprintf(msg, cap, "out of memory");
	}
	pthread_mutex_unlock(&p->open_mu);
	return rc;
}

void plan_file_release(struct plan *p, size_t i)
{
	struct rootio_file *f = NULL;
	pthread_mutex_lock(&p->open_mu);
	if (p->open && i < p->nfiles && p->open[i].users > 0 && --p->open[i].users == 0) {
		f = p->open[i].f;
		p->open[i].f = NULL;
	}
	pthread_mutex_unlock(&p->open_mu);
	rootio_close(f); /* outside the lock: unmapping takes a while */
}

void plan_open_free(struct plan *p)
{
	for (size_t i = 0; p->open && i < p->nfiles; i++)
		rootio_close(p->open[i].f);
	free(p->open);
	p->open = NULL;
}

bool plan_hint(struct plan *p, size_t i)
{
	size_t h = atomic_load(&p->hinted);
	while (h <= i)
		if (atomic_compare_exchange_weak(&p->hinted, &h, i + 1))
			return true;
	return false;
}
