/* colcache.c — the column cache's folder: opening it (owner and mode
 * checked, the shared counters mapped), the process's default cache from
 * the environment, the counters, the text of `anafs cache stat`, purge. */
#include "colcache_int.h"
#include "dcache_int.h"

#include "jsonw.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static const char *const counter_names[CC_NCOUNTERS] = {
	"hits", "misses", "bytes_hit", "stores", "bytes_stored", "evictions", "bytes_evicted",
	"corrupt", "not_kept",
};

const char *colcache_counter_name(enum colcache_counter k)
{
	return (unsigned)k < CC_NCOUNTERS ? counter_names[k] : "?";
}

/* The folder exists (made when create), is a folder, is ours and is
 * closed to others: the entries are handed to the reader as its own. */
static int check_dir(const char *dir, bool create, char *msg, size_t cap)
{
	struct stat st;
	int rc = 0;
	if (stat(dir, &st) < 0) {
		rc = -errno;
		if (rc == -ENOENT && create && !(rc = dc_make_dirs(dir)) && stat(dir, &st) < 0)
			rc = -errno;
		if (rc) {
			snprintf(msg, cap, "%s: %s", dir,
				 rc == -ENOENT ? "no such column cache folder" : strerror(-rc));
			return rc;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(msg, cap, "%s: not a folder", dir);
		return -ENOTDIR;
	}
	if (st.st_uid != getuid() || (st.st_mode & 077)) {
		snprintf(msg, cap, "%s: %s", dir,
			 st.st_uid != getuid() ? "owned by another user"
					       : "open to other users (it must be mode 0700)");
		return -EPERM;
	}
	if (access(dir, W_OK | X_OK) < 0) {
		rc = -errno;
		snprintf(msg, cap, "%s: %s", dir, strerror(errno));
	}
	return rc;
}

/* Map DIR/stats, made and stamped by the first process (under its flock). */
static int map_stats(struct colcache *c, char *msg, size_t cap)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/stats", c->dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int rc = -errno;
		snprintf(msg, cap, "%s: %s", path, strerror(errno));
		return rc;
	}
	int rc = flock(fd, LOCK_EX) < 0 ? -errno : 0;
	struct stat st;
	if (!rc && fstat(fd, &st) < 0)
		rc = -errno;
	if (!rc && st.st_size == 0 && ftruncate(fd, CC_STATS_LEN) < 0)
		rc = -errno;
	void *m = MAP_FAILED;
	if (!rc && (st.st_size == 0 || st.st_size == CC_STATS_LEN))
		m = mmap(NULL, CC_STATS_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!rc && m == MAP_FAILED)
		rc = st.st_size == 0 || st.st_size == CC_STATS_LEN ? -errno : -EBADMSG;
	if (!rc) {
		struct cc_shared *sh = m;
		if (st.st_size == 0) {
			sh->version = CC_VERSION;
			sh->len = sizeof(*sh);
			memcpy(sh->magic, CC_STATS_MAGIC, 8);
		} else if (memcmp(sh->magic, CC_STATS_MAGIC, 8) || sh->version != CC_VERSION ||
			   sh->len != sizeof(*sh)) {
			rc = -EBADMSG;
		}
		if (rc)
			munmap(m, CC_STATS_LEN);
		else
			c->sh = sh;
	}
	if (rc)
		snprintf(msg, cap, "%s: %s", path,
			 rc == -EBADMSG ? "not a column cache's counters (delete the folder)"
					: strerror(-rc));
	flock(fd, LOCK_UN); /* the mapping holds the open file, so close() would not */
	close(fd);
	return rc;
}

/* 1/8 of the memory, at most half of what the folder's file system has free. */
static uint64_t default_limit(const char *dir)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	uint64_t limit = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize / 8 : 1ull << 30;
	struct statvfs vfs;
	if (statvfs(dir, &vfs) == 0) {
		uint64_t half = (uint64_t)vfs.f_bavail * vfs.f_frsize / 2;
		if (half < limit)
			limit = half;
	}
	return limit;
}

int colcache_open(const struct colcache_conf *conf, struct colcache **out, char *msg, size_t cap)
{
	if (!conf->dir || !*conf->dir) {
		snprintf(msg, cap, "the column cache's folder is not set");
		return -EINVAL;
	}
	struct colcache *c = calloc(1, sizeof(*c));
	size_t plen = strlen(conf->dir) + sizeof("/lock");
	if (!c || !(c->dir = strdup(conf->dir)) || !(c->lock_path = malloc(plen))) {
		snprintf(msg, cap, "out of memory");
		colcache_close(c);
		return -ENOMEM;
	}
	snprintf(c->lock_path, plen, "%s/lock", c->dir);
	int rc = check_dir(c->dir, !conf->no_create, msg, cap);
	if (!rc)
		rc = map_stats(c, msg, cap);
	int fd = rc ? -1 : open(c->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (!rc && fd < 0) {
		rc = -errno;
		snprintf(msg, cap, "%s: %s", c->lock_path, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	if (rc) {
		colcache_close(c);
		return rc;
	}
	c->limit = conf->limit ? conf->limit : default_limit(c->dir);
	*out = c;
	return 0;
}

void colcache_close(struct colcache *c)
{
	if (!c)
		return;
	if (c->sh)
		munmap(c->sh, CC_STATS_LEN);
	free(c->lock_path);
	free(c->dir);
	free(c);
}

/* ---- the process's default cache ---- */

void colcache_env_conf(struct colcache_conf *conf, char *dir, size_t cap)
{
	memset(conf, 0, sizeof(*conf));
	const char *d = getenv("ANAFS_COLCACHE_DIR");
	if (d && *d)
		snprintf(dir, cap, "%s", d);
	else
		snprintf(dir, cap, "/dev/shm/anafs-columns-%u", (unsigned)getuid());
	conf->dir = dir;
	const char *v = getenv("ANAFS_COLCACHE_SIZE");
	if (v && *v && dcache_parse_size(v, &conf->limit))
		fprintf(stderr, "anafs: ANAFS_COLCACHE_SIZE=%s is not a size; using the default\n",
			v);
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static struct colcache *default_cache;

static void default_open(void)
{
	const char *off = getenv("ANAFS_COLCACHE");
	if (off && (!strcmp(off, "off") || !strcmp(off, "0")))
		return;
	char dir[4096], msg[512];
	struct colcache_conf conf;
	colcache_env_conf(&conf, dir, sizeof(dir));
	if (colcache_open(&conf, &default_cache, msg, sizeof(msg)))
		fprintf(stderr, "anafs: the column cache is off (baskets are decoded each time): %s\n",
			msg);
}

struct colcache *colcache_default(void)
{
	pthread_once(&default_once, default_open);
	return default_cache;
}

/* ---- what the commands ask ---- */

int colcache_stats(struct colcache *c, struct colcache_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < CC_NCOUNTERS; i++)
		st->node[i] = atomic_load(&c->sh->node[i]);
	st->used = atomic_load(&c->sh->used);
	st->entries = atomic_load(&c->sh->entries);
	st->limit = c->limit;
	return 0;
}

int colcache_stat_text(struct colcache *c, struct strbuf *b, bool json)
{
	struct colcache_stats st;
	int rc = colcache_stats(c, &st);
	if (rc)
		return rc;
	uint64_t looks = st.node[CC_HITS] + st.node[CC_MISSES];
	double ratio = looks ? (double)st.node[CC_HITS] / (double)looks : 0;
	if (!json) {
		char u[32], l[32];
		dc_human(u, sizeof(u), st.used);
		dc_human(l, sizeof(l), st.limit);
		strbuf_printf(b, "columns     %s\n", c->dir);
		strbuf_printf(b, "columns_used %s of %s (%llu of %llu bytes, %llu entries)\n", u, l,
			      (unsigned long long)st.used, (unsigned long long)st.limit,
			      (unsigned long long)st.entries);
		strbuf_printf(b, "columns_hit_ratio %.1f%%\n", 100 * ratio);
		for (int i = 0; i < CC_NCOUNTERS; i++)
			strbuf_printf(b, "columns_%-16s %llu\n", colcache_counter_name(i),
				      (unsigned long long)st.node[i]);
		return b->err;
	}
	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "dir");
	jsonw_str(&w, c->dir);
	const char *keys[] = {"used", "limit", "entries"};
	uint64_t vals[] = {st.used, st.limit, st.entries};
	for (size_t i = 0; i < 3; i++) {
		jsonw_key(&w, keys[i]);
		jsonw_uint(&w, vals[i]);
	}
	for (int i = 0; i < CC_NCOUNTERS; i++) {
		jsonw_key(&w, colcache_counter_name(i));
		jsonw_uint(&w, st.node[i]);
	}
	jsonw_key(&w, "hit_ratio");
	jsonw_double(&w, ratio);
	jsonw_obj_end(&w);
	size_t len;
	char *s = jsonw_finish(&w, &len);
	if (s)
		strbuf_put(b, s, len);
	else
		b->err = -ENOMEM;
	free(s);
	return b->err;
}

int colcache_purge(struct colcache *c, uint64_t *n)
{
	int fd = open(c->lock_path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uint64_t before = atomic_load(&c->sh->node[CC_EVICTIONS]);
	int rc = flock(fd, LOCK_EX) < 0 ? -errno : 0;
	if (!rc)
		cc_evict_to(c, 0);
	close(fd);
	if (n)
		*n = atomic_load(&c->sh->node[CC_EVICTIONS]) - before;
	return rc;
}
