/* dcache.c — the disk cache's configuration: opening a cache folder,
 * closing it, the process's default cache from the environment, and what
 * the commands ask of it (stats, the stat text, listing, purging). */
#include "dcache_int.h"

#include "jsonw.h"
#include "src.h"
#include "src_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

int64_t dc_now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int dcache_parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !(v >= 0))
		return -EINVAL;
	static const char units[] = "KMGTP";
	double mult = 1;
	if (*end) {
		const char *u = strchr(units, *end == 'k' ? 'K' : *end);
		if (!u || !*u)
			return -EINVAL;
		mult = pow(1024, (double)(u - units + 1));
		end++;
		if (*end == 'B' || *end == 'b' || *end == 'i')
			end += *end == 'i' && end[1] == 'B' ? 2 : 1;
	}
	if (*end || v * mult > 1.8e19)
		return -EINVAL;
	*out = (uint64_t)(v * mult);
	return 0;
}

void dcache_default_dir(char *out, size_t cap)
{
	const char *d = getenv("ANAFS_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"),
		   *h = getenv("HOME");
	if (d && *d)
		snprintf(out, cap, "%s", d);
	else if (x && *x == '/')
		snprintf(out, cap, "%s/anafs", x);
	else if (h && *h == '/')
		snprintf(out, cap, "%s/.cache/anafs", h);
	else
		snprintf(out, cap, "/var/tmp/anafs-cache-%u", (unsigned)getuid());
}

/* mkdir -p with mode 0700 for what it creates. */
int dc_make_dirs(const char *dir)
{
	char p[4096];
	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(p, 0700) < 0 && errno != EEXIST)
				return -errno;
			*s = '/';
		}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The folder, blocks/ and the lock file, usable by this process. */
static int prepare_dir(struct dcache *c, bool create, char *msg, size_t cap)
{
	struct stat st;
	int rc = 0;
	if (stat(c->dir, &st) < 0) {
		rc = -errno;
		if (rc == -ENOENT && create)
			rc = dc_make_dirs(c->dir);
		if (rc) {
			snprintf(msg, cap, "%s: %s", c->dir,
				 rc == -ENOENT ? "no such cache folder" : strerror(-rc));
			return rc;
		}
	} else if (!S_ISDIR(st.st_mode)) {
		snprintf(msg, cap, "%s: not a folder", c->dir);
		return -ENOTDIR;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/blocks", c->dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(msg, cap, "%s: %s", path, strerror(errno));
		return rc;
	}
	int fd = open(c->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || access(path, W_OK) < 0) {
		rc = -errno;
		snprintf(msg, cap, "%s: %s", fd < 0 ? c->lock_path : path, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* 10G, at most half the file system holding dir. */
static uint64_t default_limit(const char *dir)
{
	uint64_t limit = DCACHE_SIZE_DEFAULT;
	struct statvfs vfs;
	if (statvfs(dir, &vfs) == 0) {
		uint64_t half = (uint64_t)vfs.f_blocks * vfs.f_frsize / 2;
		if (half && half < limit)
			limit = half;
	}
	return limit;
}

int dcache_open(const struct dcache_conf *conf, struct dcache **out, char *msg, size_t cap)
{
	uint32_t bs = conf->block_size ? conf->block_size : DCACHE_BLOCK_DEFAULT;
	if (bs < DCACHE_BLOCK_MIN || bs > DCACHE_BLOCK_MAX || !conf->dir || !*conf->dir) {
		snprintf(msg, cap, "the cache's block size must be 64K..16M and its folder set");
		return -EINVAL;
	}
	struct dcache *c = calloc(1, sizeof(*c));
	size_t plen = strlen(conf->dir) + sizeof("/lock");
	if (!c || !(c->dir = strdup(conf->dir)) || !(c->lock_path = malloc(plen)) ||
	    !(c->touch = malloc(DC_TOUCH_MAX * sizeof(*c->touch)))) {
		snprintf(msg, cap, "out of memory");
		dcache_close(c);
		return -ENOMEM;
	}
	snprintf(c->lock_path, plen, "%s/lock", conf->dir);
	c->block_size = bs;
	pthread_mutex_init(&c->db_mu, NULL);
	pthread_mutex_init(&c->fly_mu, NULL);
	pthread_cond_init(&c->fly_cv, NULL);
	pthread_mutex_init(&c->touch_mu, NULL);
	pthread_mutex_init(&c->pf_mu, NULL);
	pthread_cond_init(&c->pf_cv, NULL);
	pthread_cond_init(&c->idle_cv, NULL);
	pthread_cond_init(&c->flush_cv, NULL);
	int rc = prepare_dir(c, !conf->no_create, msg, cap);
	if (!rc)
		rc = dc_index_open(c, msg, cap);
	if (!rc) {
		c->limit = conf->limit ? conf->limit : default_limit(c->dir);
		rc = dc_threads_start(c, conf->prefetch_threads < 0 ? 0
				      : conf->prefetch_threads ? conf->prefetch_threads : 16);
		if (rc)
			snprintf(msg, cap, "cannot start the cache's threads: %s", strerror(-rc));
	}
	if (rc) {
		dcache_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void dcache_flush(struct dcache *c)
{
	dc_index_flush(c);
}

void dcache_close(struct dcache *c)
{
	if (!c)
		return;
	if (c->touch) {
		dc_threads_stop(c);
		if (c->db)
			dc_index_flush(c);
		dc_index_close(c);
		pthread_mutex_destroy(&c->db_mu);
		pthread_mutex_destroy(&c->fly_mu);
		pthread_cond_destroy(&c->fly_cv);
		pthread_mutex_destroy(&c->touch_mu);
		pthread_mutex_destroy(&c->pf_mu);
		pthread_cond_destroy(&c->pf_cv);
		pthread_cond_destroy(&c->idle_cv);
		pthread_cond_destroy(&c->flush_cv);
	}
	free(c->touch);
	free(c->lock_path);
	free(c->dir);
	free(c);
}

/* ---- the process's default cache ---- */

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static struct dcache *default_cache;

void dcache_env_conf(struct dcache_conf *conf, char *dir, size_t cap)
{
	memset(conf, 0, sizeof(*conf));
	dcache_default_dir(dir, cap);
	conf->dir = dir;
	const char *v = getenv("ANAFS_CACHE_SIZE");
	if (v && *v && dcache_parse_size(v, &conf->limit))
		fprintf(stderr, "anafs: ANAFS_CACHE_SIZE=%s is not a size; using the default\n", v);
	uint64_t bs;
	if ((v = getenv("ANAFS_CACHE_BLOCK")) && *v && dcache_parse_size(v, &bs) == 0 &&
	    bs >= DCACHE_BLOCK_MIN && bs <= DCACHE_BLOCK_MAX)
		conf->block_size = (uint32_t)bs;
	if ((v = getenv("ANAFS_PREFETCH")) && !strcmp(v, "0"))
		conf->prefetch_threads = -1;
	else if (v && *v) {
		char *end;
		long n = strtol(v, &end, 10);
		if (*end || n < 1 || n > DC_PF_THREADS_MAX)
			fprintf(stderr, "anafs: ANAFS_PREFETCH=%s is not 0 or a count of threads "
				"(1 to %d); using the default\n", v, DC_PF_THREADS_MAX);
		else
			conf->prefetch_threads = (int)n;
	}
}

static void default_open(void)
{
	const char *off = getenv("ANAFS_CACHE");
	if (off && (!strcmp(off, "off") || !strcmp(off, "0")))
		return;
	char dir[4096], msg[512];
	struct dcache_conf conf;
	dcache_env_conf(&conf, dir, sizeof(dir));
	if (dcache_open(&conf, &default_cache, msg, sizeof(msg)))
		fprintf(stderr, "anafs: the disk cache is off (remote files are read directly): %s\n",
			msg);
}

struct dcache *src_cache_default(void)
{
	pthread_once(&default_once, default_open);
	return default_cache;
}

/* ---- what the commands ask ---- */

int dcache_stats(struct dcache *c, struct dcache_stats *st)
{
	memset(st, 0, sizeof(*st));
	dc_index_flush(c);
	for (int i = 0; i < DC_NCOUNTERS; i++)
		st->proc[i] = atomic_load(&c->proc[i]);
	st->limit = c->limit;
	st->block_size = c->block_size;
	return dc_index_node(c, st);
}

int dcache_list(struct dcache *c, int (*each)(void *ctx, const struct dcache_file *f),
		void *ctx)
{
	dc_index_flush(c);
	return dc_index_each_file(c, each, ctx);
}

int dcache_purge(struct dcache *c, const char *url, uint64_t *blocks)
{
	dc_index_flush(c);
	return dc_drop(c, url, 0, blocks);
}

static void stat_json(struct strbuf *b, const struct dcache_stats *st, const char *dir)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "dir");
	jsonw_str(&w, dir);
	const char *keys[] = {"used", "limit", "files", "blocks", "block_size", "unread"};
	uint64_t vals[] = {st->used, st->limit, st->files, st->blocks, st->block_size, st->unread};
	for (size_t i = 0; i < 6; i++) {
		jsonw_key(&w, keys[i]);
		jsonw_uint(&w, vals[i]);
	}
	jsonw_key(&w, "node");
	jsonw_obj_begin(&w);
	for (int i = 0; i < DC_NCOUNTERS; i++) {
		jsonw_key(&w, dcache_counter_name(i));
		jsonw_uint(&w, st->node[i]);
	}
	uint64_t reads = st->node[DC_HITS] + st->node[DC_MISSES];
	jsonw_key(&w, "hit_ratio");
	jsonw_double(&w, reads ? (double)st->node[DC_HITS] / (double)reads : 0);
	jsonw_obj_end(&w);
	jsonw_obj_end(&w);
	size_t len;
	char *s = jsonw_finish(&w, &len);
	if (s) {
		strbuf_put(b, s, len);
		strbuf_putc(b, '\n');
	} else {
		b->err = -ENOMEM;
	}
	free(s);
}

/* 1.5G, 12M, 300K, 17 (cap bytes). */
void dc_human(char *out, size_t cap, uint64_t v)
{
	const char *u = "KMGTP";
	double x = (double)v;
	int i = -1;
	while (x >= 1024 && i < 4) {
		x /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(out, cap, "%llu", (unsigned long long)v);
	else
		snprintf(out, cap, "%.*f%c", x < 10 ? 1 : 0, x, u[i]);
}

int dcache_stat_text(struct dcache *c, struct strbuf *b, bool json)
{
	struct dcache_stats st;
	int rc = dcache_stats(c, &st);
	if (rc)
		return rc;
	if (json) {
		stat_json(b, &st, c->dir);
		return b->err;
	}
	char u[32], l[32], bs[32];
	dc_human(u, sizeof(u), st.used);
	dc_human(l, sizeof(l), st.limit);
	dc_human(bs, sizeof(bs), st.block_size);
	uint64_t reads = st.node[DC_HITS] + st.node[DC_MISSES];
	strbuf_printf(b, "cache       %s\n", c->dir);
	strbuf_printf(b, "used        %s of %s (%llu of %llu bytes)\n", u, l,
		      (unsigned long long)st.used, (unsigned long long)st.limit);
	strbuf_printf(b, "files       %llu\nblocks      %llu of %s\n",
		      (unsigned long long)st.files, (unsigned long long)st.blocks, bs);
	dc_human(u, sizeof(u), st.unread);
	strbuf_printf(b, "unread      %s fetched ahead, not read yet\n", u);
	strbuf_printf(b, "hit ratio   %.1f%%\n",
		      reads ? 100.0 * (double)st.node[DC_HITS] / (double)reads : 0.0);
	for (int i = 0; i < DC_NCOUNTERS; i++)
		strbuf_printf(b, "%-16s %llu\n", dcache_counter_name(i),
			      (unsigned long long)st.node[i]);
	return b->err;
}
