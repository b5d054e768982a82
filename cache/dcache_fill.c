/* dcache_fill.c — filling blocks: the table of blocks in flight (threads
 * of one process wait for the one filling), the byte-range locks on
 * DIR/lock that do the same across processes, storing a fetched block,
 * and the background threads (the flusher, the prefetchers).
 *
 * A fill takes its block in the table, then its byte of DIR/lock (an OFD
 * lock on a descriptor of its own, so that two fills of one process never
 * share a lock), then looks for the block file again: another process may
 * have filled it meanwhile, and then the read is a hit that waited. */
#include "dcache_int.h"

#include "src.h"
#include "src_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int dc_lock(int fd, uint64_t off, bool wait)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)off,
			   .l_len = 1};
	while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
		if (errno != EINTR)
			return errno == EACCES ? -EAGAIN : -errno;
	}
	return 0;
}

/* Take k in the table of blocks in flight: true when this thread is now
 * its filler; false when another was (then it waited for it to end when
 * wait, and *waited says so), or when the thread was asked to stop while
 * it waited (*stopped; src_stopping(), looked at every 0.1 s; stopped may
 * be NULL without wait). */
static bool fly_take(struct dcache *c, struct dc_key k, bool wait, bool *waited, bool *stopped)
{
	pthread_mutex_lock(&c->fly_mu);
	for (;;) {
		struct dc_fly *f = c->fly;
		while (f && (f->k.fid != k.fid || f->k.block != k.block))
			f = f->next;
		if (!f)
			break;
		if (!wait || (*stopped = src_stopping())) {
			pthread_mutex_unlock(&c->fly_mu);
			return false;
		}
		*waited = true;
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 100 * 1000 * 1000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&c->fly_cv, &c->fly_mu, &t);
	}
	bool took = false;
	if (!*waited) {
		struct dc_fly *f = malloc(sizeof(*f));
		if (f) {
			*f = (struct dc_fly){k, c->fly};
			c->fly = f;
			took = true;
		}
	}
	pthread_mutex_unlock(&c->fly_mu);
	return took;
}

static void fly_drop(struct dcache *c, struct dc_key k)
{
	pthread_mutex_lock(&c->fly_mu);
	for (struct dc_fly **p = &c->fly; *p; p = &(*p)->next)
		if ((*p)->k.fid == k.fid && (*p)->k.block == k.block) {
			struct dc_fly *f = *p;
			*p = f->next;
			free(f);
			break;
		}
	pthread_cond_broadcast(&c->fly_cv);
	pthread_mutex_unlock(&c->fly_mu);
}

/* Open DIR/lock and take k's byte: the descriptor (close it to unlock),
 * or -1 when the lock cannot be had (without wait: someone holds it; or
 * the file is unusable, and the fill goes on unlocked). */
static int lock_block(struct dcache *c, struct dc_key k, bool wait)
{
	int fd = open(c->lock_path, O_RDWR | O_CLOEXEC);
	if (fd >= 0 && dc_lock(fd, dc_lock_off(k), wait) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static bool disk_full(int rc)
{
	return rc == -ENOSPC || rc == -EDQUOT;
}

void dc_store(struct dsrc *d, struct dc_key k, const uint8_t *data, uint32_t len,
	      bool prefetched)
{
	struct dcache *c = d->c;
	dc_make_room(c, d, len);
	int rc = dc_block_write(c, k, data, len);
	if (disk_full(rc)) {
		dc_evict_more(c, d, 4ull * len);
		rc = dc_block_write(c, k, data, len);
	}
	if (!rc) {
		rc = dc_index_block(c, k, len, prefetched);
		if (disk_full(rc)) {
			dc_evict_more(c, d, 4ull * len);
			rc = dc_index_block(c, k, len, prefetched);
		}
		if (rc) {
			char path[4096];
			dc_block_path(c, k, path, sizeof(path));
			unlink(path);
		}
	}
	if (rc)
		dc_count(c, d, DC_NOT_KEPT, 1);
}

int dc_fill(struct dsrc *d, uint64_t b, uint32_t len, uint8_t *data)
{
	struct dcache *c = d->c;
	struct dc_key k = {d->fid, b};
	bool waited = false, stopped = false;
	for (;;) {
		if (fly_take(c, k, true, &waited, &stopped))
			break;
		if (stopped)
			return -ECANCELED;
		if (!waited)
			goto direct; /* out of memory for the table: no sharing */
		if (dc_block_load(c, k, len, data) == 0)
			goto hit;
		waited = false; /* its filler failed or did not keep it: fill it here */
	}
	int fd = lock_block(c, k, true);
	int rc = dc_block_load(c, k, len, data);
	if (rc == 0) {
		waited = true;
	} else {
		if (rc == -EBADMSG)
			dc_count(c, d, DC_CORRUPT, 1);
		ssize_t r = src_pread(d->inner, data, len, b * c->block_size);
		rc = r < 0 ? (int)r : (size_t)r == len ? 0 : -EIO;
		if (!rc) {
			dc_count(c, d, DC_MISSES, 1);
			dc_count(c, d, DC_BYTES_FETCHED, len);
			dc_store(d, k, data, len, false);
		}
	}
	if (fd >= 0)
		close(fd);
	fly_drop(c, k);
	if (rc || !waited)
		return rc;
hit:
	dc_count(c, d, DC_WAITED, 1);
	dc_count(c, d, DC_HITS, 1);
	return 1;
direct:;
	ssize_t r = src_pread(d->inner, data, len, b * c->block_size);
	if (r >= 0 && (size_t)r == len) {
		dc_count(c, d, DC_MISSES, 1);
		dc_count(c, d, DC_BYTES_FETCHED, len);
	}
	return r < 0 ? (int)r : (size_t)r == len ? 0 : -EIO;
}

/* ---- prefetch ---- */

void dc_prefetch_queue(struct dsrc *d, const uint64_t (*blocks)[2], size_t n)
{
	struct dcache *c = d->c;
	pthread_mutex_lock(&c->pf_mu);
	for (size_t i = 0; i < n; i++) {
		struct dc_pfjob *j = malloc(sizeof(*j));
		if (!j)
			break;
		*j = (struct dc_pfjob){d, blocks[i][0], blocks[i][1], NULL};
		if (c->pf_tail)
			c->pf_tail->next = j;
		else
			c->pf_head = j;
		c->pf_tail = j;
		c->pf_bytes += (j->last - j->first + 1) * c->block_size;
		/* Beyond the bound, the oldest hints go: the reads have likely
		 * passed them already. */
		while (c->pf_bytes > DC_PF_QUEUE_MAX && c->pf_head != j) {
			struct dc_pfjob *o = c->pf_head;
			c->pf_head = o->next;
			c->pf_bytes -= (o->last - o->first + 1) * c->block_size;
			free(o);
		}
	}
	pthread_cond_signal(&c->pf_cv);
	pthread_mutex_unlock(&c->pf_mu);
}

void dc_prefetch_cancel(struct dsrc *d)
{
	struct dcache *c = d->c;
	/* A prefetch retrying against a server that is down gives up at its
	 * next look (src_stop_when()), not at ANAFS_XRD_TIMEOUT. */
	atomic_store(&d->closing, true);
	pthread_mutex_lock(&c->pf_mu);
	struct dc_pfjob **p = &c->pf_head, *prev = NULL;
	while (*p) {
		struct dc_pfjob *j = *p;
		if (j->d == d) {
			*p = j->next;
			c->pf_bytes -= (j->last - j->first + 1) * c->block_size;
			free(j);
		} else {
			prev = j;
			p = &j->next;
		}
	}
	c->pf_tail = prev;
	while (d->pf_busy)
		pthread_cond_wait(&c->idle_cv, &c->pf_mu);
	pthread_mutex_unlock(&c->pf_mu);
}

/* The blocks one prefetch call fetches: each taken in the table and
 * locked, with its lock descriptor. */
struct pf_block {
	uint64_t b;
	uint32_t len;
	int fd;
};

/* Take the head job and every queued job of the same source (their
 * blocks merged), up to DC_PF_CALL_MAX bytes: the blocks missing from
 * the cache, sorted, each claimed (others are left to whoever has them). */
static size_t pf_claim(struct dcache *c, struct dsrc *d, uint64_t first, uint64_t last,
		       struct pf_block *v, size_t n, size_t cap)
{
	for (uint64_t b = first; b <= last && b < d->nblocks && n < cap; b++) {
		struct dc_key k = {d->fid, b};
		bool dup = false, waited = false;
		for (size_t i = 0; i < n && !dup; i++)
			dup = v[i].b == b;
		if (dup || dc_block_exists(c, k) || !fly_take(c, k, false, &waited, NULL))
			continue;
		int fd = lock_block(c, k, false);
		if (fd < 0 || dc_block_exists(c, k)) {
			if (fd >= 0)
				close(fd);
			fly_drop(c, k);
			continue;
		}
		v[n++] = (struct pf_block){b, dc_block_len(c, d->size, b), fd};
	}
	return n;
}

static int by_block(const void *a, const void *b)
{
	uint64_t x = ((const struct pf_block *)a)->b, y = ((const struct pf_block *)b)->b;
	return x < y ? -1 : x > y;
}

/* Fetch the claimed blocks with one vectored read (runs of neighbours
 * merged into one range each), store them (marked fetched ahead in the
 * index), release them.  Prefetched blocks are also marked in d, so that
 * its reads' tallies count them as prefetched and used; warmed ones are
 * for other sources' reads.  0, or the read's error. */
static int pf_fetch(struct dsrc *d, struct pf_block *v, size_t n, bool warm)
{
	struct dcache *c = d->c;
	qsort(v, n, sizeof(*v), by_block);
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += v[i].len;
	uint8_t *buf = malloc(total ? total : 1);
	struct src_iov *iov = malloc((n ? n : 1) * sizeof(*iov));
	size_t niov = 0;
	uint64_t at = 0;
	for (size_t i = 0; buf && iov && i < n; i++) {
		uint64_t off = v[i].b * c->block_size;
		if (niov && i && v[i - 1].b + 1 == v[i].b)
			iov[niov - 1].len += v[i].len;
		else
			iov[niov++] = (struct src_iov){off, v[i].len, buf + at};
		at += v[i].len;
	}
	int rc = buf && iov ? src_readv(d->inner, iov, niov) : -ENOMEM;
	at = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		dc_store(d, (struct dc_key){d->fid, v[i].b}, buf + at, v[i].len, true);
		dc_count(c, d, warm ? DC_BYTES_WARMED : DC_BYTES_PREFETCHED, v[i].len);
		pthread_mutex_lock(&d->mu);
		if (!warm && d->pf_state && !d->pf_state[v[i].b])
			d->pf_state[v[i].b] = 1;
		pthread_mutex_unlock(&d->mu);
		at += v[i].len;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].fd >= 0)
			close(v[i].fd);
		fly_drop(c, (struct dc_key){d->fid, v[i].b});
	}
	free(iov);
	free(buf);
	return rc < 0 ? rc : 0;
}

/* pf_fetch() of warmed blocks, adding their bytes to *bytes. */
static int warm_fetch(struct dsrc *d, struct pf_block *v, size_t n, uint64_t *bytes)
{
	uint64_t got = 0;
	for (size_t k = 0; k < n; k++)
		got += v[k].len;
	int rc = pf_fetch(d, v, n, true);
	if (!rc)
		*bytes += got;
	return rc;
}

int dc_warm(struct dsrc *d, const uint64_t (*blocks)[2], size_t n, uint64_t *bytes)
{
	struct dcache *c = d->c;
	size_t cap = DC_PF_CALL_MAX / c->block_size;
	struct pf_block *v = malloc(cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	int rc = 0;
	size_t m = 0;
	*bytes = 0;
	for (size_t i = 0; i < n && !rc; i++)
		for (uint64_t b = blocks[i][0]; b <= blocks[i][1] && b < d->nblocks && !rc; b++) {
			if ((m = pf_claim(c, d, b, b, v, m, cap)) < cap)
				continue;
			rc = warm_fetch(d, v, m, bytes);
			m = 0;
		}
	if (m)
		rc = warm_fetch(d, v, m, bytes);
	free(v);
	return rc;
}

/* For src_stop_when() on a prefetch thread: d is being closed. */
static bool pf_closing(void *arg)
{
	struct dsrc *d = arg;
	return atomic_load(&d->closing);
}

static void *pf_main(void *arg)
{
	struct dcache *c = arg;
	size_t cap = DC_PF_CALL_MAX / c->block_size;
	struct pf_block *v = malloc(cap * sizeof(*v));
	pthread_mutex_lock(&c->pf_mu);
	while (v && !c->stop) {
		struct dc_pfjob *j = c->pf_head;
		if (!j) {
			pthread_cond_wait(&c->pf_cv, &c->pf_mu);
			continue;
		}
		struct dsrc *d = j->d;
		d->pf_busy++;
		c->pf_running++;
		/* Every queued job of d, taken at once (so that no other thread
		 * splits them), while the call has room. */
		struct dc_pfjob *mine = NULL, **tail = &mine;
		uint64_t room = cap;
		for (struct dc_pfjob **p = &c->pf_head; *p && room;) {
			j = *p;
			uint64_t nb = j->last - j->first + 1;
			if (j->d != d || (nb > room && mine)) {
				p = &j->next;
				continue;
			}
			*p = j->next;
			j->next = NULL;
			*tail = j;
			tail = &j->next;
			c->pf_bytes -= nb * c->block_size;
			room = nb > room ? 0 : room - nb;
		}
		c->pf_tail = NULL;
		for (struct dc_pfjob *t = c->pf_head; t; t = t->next)
			c->pf_tail = t;
		pthread_mutex_unlock(&c->pf_mu);
		size_t n = 0;
		while (mine) {
			j = mine;
			mine = j->next;
			n = pf_claim(c, d, j->first, j->last, v, n, cap);
			free(j);
		}
		if (n) {
			src_stop_when(pf_closing, d);
			pf_fetch(d, v, n, false);
			src_stop_when(NULL, NULL);
		}
		pthread_mutex_lock(&c->pf_mu);
		d->pf_busy--;
		c->pf_running--;
		pthread_cond_broadcast(&c->idle_cv);
	}
	pthread_mutex_unlock(&c->pf_mu);
	free(v);
	return NULL;
}

int dcache_prefetch_idle(struct dcache *c, int timeout_ms)
{
	struct timespec end;
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	int rc = 0;
	pthread_mutex_lock(&c->pf_mu);
	while ((c->pf_head && c->npf) || c->pf_running)
		if (pthread_cond_timedwait(&c->idle_cv, &c->pf_mu, &end) == ETIMEDOUT) {
			rc = -ETIMEDOUT;
			break;
		}
	pthread_mutex_unlock(&c->pf_mu);
	return rc;
}

/* ---- the flusher ---- */

static void *flush_main(void *arg)
{
	struct dcache *c = arg;
	pthread_mutex_lock(&c->pf_mu);
	while (!c->stop) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += DC_FLUSH_MS / 1000;
		pthread_cond_timedwait(&c->flush_cv, &c->pf_mu, &t);
		if (c->stop)
			break;
		pthread_mutex_unlock(&c->pf_mu);
		dc_index_flush(c);
		pthread_mutex_lock(&c->pf_mu);
	}
	pthread_mutex_unlock(&c->pf_mu);
	return NULL;
}

int dc_threads_start(struct dcache *c, int nprefetch)
{
	int rc = pthread_create(&c->flusher, NULL, flush_main, c);
	if (rc)
		return -rc;
	c->flusher_started = true;
	for (int i = 0; i < nprefetch && i < DC_PF_THREADS_MAX; i++) {
		if (pthread_create(&c->pf[i], NULL, pf_main, c))
			break;
		c->npf++;
	}
	return 0;
}

void dc_threads_stop(struct dcache *c)
{
	pthread_mutex_lock(&c->pf_mu);
	c->stop = true;
	pthread_cond_broadcast(&c->pf_cv);
	pthread_cond_broadcast(&c->flush_cv);
	pthread_mutex_unlock(&c->pf_mu);
	for (int i = 0; i < c->npf; i++)
		pthread_join(c->pf[i], NULL);
	if (c->flusher_started)
		pthread_join(c->flusher, NULL);
	while (c->pf_head) {
		struct dc_pfjob *j = c->pf_head;
		c->pf_head = j->next;
		free(j);
	}
}
