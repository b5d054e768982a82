/* plan_key.c — the reuse key of a plan: what its result is made of, as
 * one hash.  Two plans with one key give the same result bytes: the same
 * anafs, the query's normal text (ql_normal_text()), the base folder, every
 * file with its identity (URL, tree, entries, size, modification time,
 * fingerprint), the tasks (a result is merged task by task) and the
 * correction and luminosity files the query reads, with their size and
 * modification time. */
#include "plan_int.h"

#include "ql.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

static void put_u64(XXH3_state_t *h, uint64_t v)
{
	XXH3_128bits_update(h, &v, sizeof(v));
}

static void put_str(XXH3_state_t *h, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	put_u64(h, n);
	XXH3_128bits_update(h, s ? s : "", n);
}

/* The lookup files of every sample's query, with their identity. */
static int put_lookups(XXH3_state_t *h, const struct plan *p)
{
	for (int s = 0; s < p->nq; s++) {
		const struct ql_query *q = p->qs[s];
		size_t n = q ? ql_lookup_count(q) : 0;
		put_u64(h, n);
		for (size_t i = 0; i < n; i++) {
			const char *path = ql_lookup_path(q, i);
			char full[PATH_MAX];
			int w = path[0] == '/' ? snprintf(full, sizeof(full), "%s", path)
					       : snprintf(full, sizeof(full), "%s/%s", p->basedir, path);
			struct stat st;
			if (w < 0 || (size_t)w >= sizeof(full) || stat(full, &st))
				return -ENOENT; /* no identity: nothing to compare */
			put_str(h, full);
			put_u64(h, (uint64_t)st.st_size);
			put_u64(h, (uint64_t)st.st_mtim.tv_sec * 1000000000ull +
					   (uint64_t)st.st_mtim.tv_nsec);
		}
	}
	return 0;
}

int plan_reuse_key(const struct plan *p, char *out, size_t cap)
{
	if (cap < 33)
		return -ENOSPC;
	for (size_t i = 0; i < p->nfiles; i++)
		if (!p->files[i].size && !p->files[i].fingerprint)
			return -ENOENT; /* a file without a recorded identity */
	char *norm;
	size_t nlen;
	int rc = ql_normal_text(p->text, p->text_len, &norm, &nlen);
	if (rc)
		return rc;
	XXH3_state_t *h = XXH3_createState();
	if (!h) {
		free(norm);
		return -ENOMEM;
	}
	XXH3_128bits_reset(h);
	put_str(h, "anafs reuse key 1 " ANAFS_VERSION_STR);
	put_u64(h, nlen);
	XXH3_128bits_update(h, norm, nlen);
	free(norm);
	put_str(h, p->basedir);
	put_u64(h, p->nfiles);
	for (size_t i = 0; i < p->nfiles; i++) {
		const struct plan_file *f = &p->files[i];
		put_str(h, f->url);
		put_str(h, f->tree);
		put_u64(h, (uint64_t)f->entries);
		put_u64(h, f->size);
		put_u64(h, (uint64_t)f->mtime_ns);
		put_u64(h, f->fingerprint);
	}
	put_u64(h, p->ntasks);
	for (size_t i = 0; i < p->ntasks; i++) {
		put_u64(h, (uint64_t)p->tasks[i].file);
		put_u64(h, (uint64_t)p->tasks[i].first);
		put_u64(h, (uint64_t)p->tasks[i].last);
	}
	rc = put_lookups(h, p);
	XXH128_hash_t d = XXH3_128bits_digest(h);
	XXH3_freeState(h);
	if (rc)
		return rc;
	snprintf(out, cap, "%016llx%016llx", (unsigned long long)d.high64,
		 (unsigned long long)d.low64);
	return 0;
}
