/* store_cache.c — what the disk cache did for each job's reads: five
 * sums per job, grown as its tasks come back. */
#include "store_int.h"

#include <string.h>

/* Counters are sums of byte counts: kept below 2^63 in sqlite's integers. */
static int64_t clamp(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

int store_job_cache_add(struct store *st, int64_t id, const struct store_cache *d)
{
	pthread_mutex_lock(&st->mu);
	sqlite3_stmt *s = NULL;
	int b = SQLITE_OK, rc = st_job_exists(st, id);
	if (!rc && !(rc = st_prep_id(st, S_CACHE_ADD, id, &s))) {
		st_bind_i64(s, 2, clamp(d->hits), &b);
		st_bind_i64(s, 3, clamp(d->misses), &b);
		st_bind_i64(s, 4, clamp(d->bytes_hit), &b);
		st_bind_i64(s, 5, clamp(d->bytes_fetched), &b);
		st_bind_i64(s, 6, clamp(d->bytes_prefetched), &b);
		rc = (rc = st_bound(st, s, b)) ? rc : st_exec(st, s);
	}
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int store_job_cache(struct store *st, int64_t id, struct store_cache *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&st->mu);
	sqlite3_stmt *s = NULL;
	int rc = st_job_exists(st, id);
	if (!rc && !(rc = st_prep_id(st, S_CACHE_GET, id, &s))) {
		int r = sqlite3_step(s);
		if (r == SQLITE_ROW) {
			uint64_t *f[] = {&out->hits, &out->misses, &out->bytes_hit,
					 &out->bytes_fetched, &out->bytes_prefetched};
			for (int i = 0; i < 5; i++) {
				int64_t v = sqlite3_column_int64(s, i);
				*f[i] = v > 0 ? (uint64_t)v : 0;
			}
		} else if (r != SQLITE_DONE) {
			rc = st_errno(st->db, r);
		}
		st_unprep(s);
	}
	pthread_mutex_unlock(&st->mu);
	return rc;
}
