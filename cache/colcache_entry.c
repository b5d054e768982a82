/* colcache_entry.c — the column cache's entries: DIR/XX/HASH.c holds a
 * header (magic, version, header length, key length, entries, data
 * length, offsets, an XXH3 checksum of key, offsets and data), the key,
 * the offsets (int32, the node's byte order) and the data.
 *
 * A lookup takes no lock: an entry is written to a temporary file and
 * linked into place only if none is there, so a name always holds a
 * whole entry, and one evicted while read is read to its end.  What is
 * read back is checked before a byte is handed out; a wrong entry is
 * deleted.  Linking in and dropping hold DIR/lock shared, eviction holds
 * it exclusively: the shared count of bytes used is then exact (a process
 * killed between link and count leaves it short, until the next eviction
 * counts the folder again). */
#include "colcache_int.h"
#include "dcache_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "le.h"
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include "xxh3.h"

/* DIR/XX/HASH.c (cap bytes); *slash the length of DIR/XX. */
static void entry_path(const struct colcache *c, const void *key, size_t klen, char *out,
		       size_t cap, size_t *slash)
{
	XXH128_hash_t h = XXH3_128bits(key, klen);
	int n = snprintf(out, cap, "%s/%02x", c->dir, (unsigned)(h.high64 >> 56));
	*slash = (size_t)n;
	snprintf(out + n, cap - (size_t)n, "/%016llx%016llx.c", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
}

static uint64_t checksum(const void *key, size_t klen, const int32_t *off, size_t noff,
			 const uint8_t *data, size_t len)
{
	XXH3_state_t s;
	XXH3_64bits_reset(&s);
	XXH3_64bits_update(&s, key, klen);
	XXH3_64bits_update(&s, off, noff * sizeof(*off));
	XXH3_64bits_update(&s, data, len);
	return XXH3_64bits_digest(&s);
}

/* *p holds *cap elements of size each: at least need.  What it held is
 * not kept (a get writes all of it), so a larger buffer is a new one,
 * not a realloc() that would copy the old bytes first. */
static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (*cap >= need)
		return 0;
	free(*p);
	*p = malloc(need * size);
	*cap = *p ? need : 0;
	return *p ? 0 : -ENOMEM;
}

/* Offsets into len bytes: none decreasing, the first not negative, the
 * last the end (so that every one lies in [0, len]).  One loop without
 * branches, which the compiler vectorizes. */
static bool offsets_ok(const int32_t *o, size_t n, size_t len)
{
	if (n == 0)
		return true;
	if (o[0] < 0 || (size_t)o[n - 1] != len)
		return false;
	uint32_t bad = 0;
	for (size_t i = 1; i < n; i++)
		bad |= o[i] < o[i - 1];
	return !bad;
}

static int lock_open(struct colcache *c, int how)
{
	int fd = open(c->lock_path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (flock(fd, how) < 0) {
		if (errno != EINTR) {
			int rc = -errno;
			close(fd);
			return rc;
		}
	}
	return fd;
}

/* Delete the wrong entry at path (the file of inode ino) and count it. */
static void drop(struct colcache *c, const char *path, ino_t ino)
{
	int fd = lock_open(c, LOCK_SH);
	struct stat st;
	if (fd >= 0 && lstat(path, &st) == 0 && st.st_ino == ino && unlink(path) == 0) {
		atomic_fetch_sub(&c->sh->used, (uint64_t)st.st_size);
		atomic_fetch_sub(&c->sh->entries, 1);
	}
	if (fd >= 0)
		close(fd);
	cc_count(c, CC_CORRUPT, 1);
}

/* Read and check the entry open as fd (st) into v: 0, -EBADMSG, -ENOMEM. */
static int load(int fd, const struct stat *st, const void *key, size_t klen,
		struct colcache_val *v)
{
	uint8_t h[CC_HDR_LEN + COLCACHE_KEY_MAX];
	if (!S_ISREG(st->st_mode) || (uint64_t)st->st_size < CC_HDR_LEN + klen ||
	    dc_read_full(fd, h, CC_HDR_LEN + klen, 0))
		return -EBADMSG;
	uint64_t len = le_get64(h + 24);
	uint32_t noff = le_get32(h + 32);
	int32_t nevbuf = (int32_t)le_get32(h + 20);
	if (memcmp(h, CC_MAGIC, 8) || le_get32(h + 8) != CC_VERSION ||
	    le_get32(h + 12) != CC_HDR_LEN || le_get32(h + 16) != klen || le_get32(h + 36) ||
	    memcmp(h + CC_HDR_LEN, key, klen) || nevbuf < 0 || len > CC_MAX_ENTRY ||
	    (noff && noff != (uint32_t)nevbuf + 1) ||
	    (uint64_t)st->st_size != CC_HDR_LEN + klen + 4ull * noff + len)
		return -EBADMSG;
	if (grow((void **)&v->data, &v->cap_data, len + 8, 1) ||
	    grow((void **)&v->offsets, &v->cap_offsets, noff ? noff : 1, sizeof(int32_t)))
		return -ENOMEM;
	/* One call for both; a short read (never on tmpfs) is finished piecewise. */
	off_t at = (off_t)(CC_HDR_LEN + klen);
	struct iovec iov[2] = {{v->offsets, 4ull * noff}, {v->data, len}};
	ssize_t r = preadv(fd, iov, 2, at);
	if (r != (ssize_t)(4ull * noff + len) &&
	    (dc_read_full(fd, v->offsets, 4ull * noff, at) ||
	     dc_read_full(fd, v->data, len, at + (off_t)(4ull * noff))))
		return -EBADMSG;
	if (checksum(key, klen, v->offsets, noff, v->data, len) != le_get64(h + 40) ||
	    !offsets_ok(v->offsets, noff, len))
		return -EBADMSG;
	v->len = len;
	v->noffsets = noff;
	v->nevbuf = nevbuf;
	return 0;
}

int colcache_get(struct colcache *c, const void *key, size_t klen, struct colcache_val *v)
{
	if (klen > COLCACHE_KEY_MAX)
		return -ENOENT;
	char path[4096];
	size_t slash;
	entry_path(c, key, klen, path, sizeof(path), &slash);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	int rc = fd < 0 || fstat(fd, &st) < 0 ? -ENOENT : 0;
	if (!rc)
		rc = load(fd, &st, key, klen, v);
	if (!rc) {
		/* The entry's last use, for eviction: its access time. */
		struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
		(void)futimens(fd, ts);
	}
	if (fd >= 0)
		close(fd);
	if (rc == -EBADMSG)
		drop(c, path, st.st_ino);
	if (rc) {
		cc_count(c, CC_MISSES, 1);
		return rc == -ENOMEM ? rc : -ENOENT;
	}
	cc_count(c, CC_HITS, 1);
	cc_count(c, CC_BYTES_HIT, v->len);
	return 0;
}

/* Room for size more bytes, under the shared lock: 0, or -ENOSPC when
 * they do not fit even so. */
static int reserve(struct colcache *c, uint64_t size)
{
	uint64_t u = atomic_load(&c->sh->used);
	while (u + size <= c->limit)
		if (atomic_compare_exchange_weak(&c->sh->used, &u, u + size))
			return 0;
	return -ENOSPC;
}

/* Link tmp in as path, counting its size: what fits under the shared
 * lock; otherwise eviction under the exclusive one first. */
static int link_in(struct colcache *c, const char *tmp, const char *path, uint64_t size)
{
	int fd = lock_open(c, LOCK_SH);
	if (fd < 0)
		return fd;
	int rc = reserve(c, size);
	if (rc) {
		/* Evict to 90 % of the limit, so that eviction runs once per many stores. */
		if (flock(fd, LOCK_EX) == 0) {
			uint64_t target = c->limit - c->limit / 10;
			cc_evict_to(c, target > size ? target - size : 0);
			rc = reserve(c, size);
		}
	}
	if (!rc) {
		if (link(tmp, path) == 0) {
			atomic_fetch_add(&c->sh->entries, 1);
		} else {
			rc = errno == EEXIST ? 0 : -errno; /* another process stored it first */
			atomic_fetch_sub(&c->sh->used, size);
		}
	}
	close(fd);
	return rc;
}

int colcache_put(struct colcache *c, const void *key, size_t klen, const struct colcache_val *v)
{
	uint64_t size = CC_HDR_LEN + klen + 4ull * v->noffsets + v->len;
	if (klen > COLCACHE_KEY_MAX || v->len > CC_MAX_ENTRY || v->nevbuf < 0 ||
	    size > c->limit / 4) {
		cc_count(c, CC_NOT_KEPT, 1);
		return -EFBIG;
	}
	char path[4096], tmp[4160];
	size_t slash;
	entry_path(c, key, klen, path, sizeof(path), &slash);
	if (access(path, F_OK) == 0)
		return 0;
	path[slash] = 0;
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		cc_count(c, CC_NOT_KEPT, 1);
		return -errno;
	}
	path[slash] = '/';
	static _Atomic unsigned seq;
	snprintf(tmp, sizeof(tmp), "%.*s/.tmp.%ld.%u", (int)slash, path, (long)getpid(),
		 atomic_fetch_add(&seq, 1));
	uint8_t h[CC_HDR_LEN] = {0};
	memcpy(h, CC_MAGIC, 8);
	le_put32(h + 8, CC_VERSION);
	le_put32(h + 12, CC_HDR_LEN);
	le_put32(h + 16, (uint32_t)klen);
	le_put32(h + 20, (uint32_t)v->nevbuf);
	le_put64(h + 24, v->len);
	le_put32(h + 32, (uint32_t)v->noffsets);
	le_put64(h + 40, checksum(key, klen, v->offsets, v->noffsets, v->data, v->len));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = fd < 0 ? -errno : dc_write_full(fd, h, sizeof(h));
	if (!rc)
		rc = dc_write_full(fd, key, klen);
	if (!rc)
		rc = dc_write_full(fd, v->offsets, 4 * v->noffsets);
	if (!rc)
		rc = dc_write_full(fd, v->data, v->len);
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc)
		rc = link_in(c, tmp, path, size);
	if (fd >= 0)
		unlink(tmp);
	if (rc) {
		cc_count(c, CC_NOT_KEPT, 1);
		return rc;
	}
	cc_count(c, CC_STORES, 1);
	cc_count(c, CC_BYTES_STORED, size);
	return 0;
}

/* ---- eviction ---- */

struct cc_ent {
	int64_t use; /* access time, ns */
	uint64_t size;
	char name[40]; /* XX/HASH.c */
};

static int by_use(const void *x, const void *y)
{
	const struct cc_ent *a = x, *b = y;
	return a->use < b->use ? -1 : a->use > b->use;
}

static bool hex2(const char *s)
{
	return strlen(s) == 2 && strspn(s, "0123456789abcdef") == 2;
}

/* Add the entries of DIR/XX to *v (*n of *cap); old temporary files go. */
static void scan_sub(int dfd, const char *xx, struct cc_ent **v, size_t *n, size_t *cap,
		     uint64_t *total)
{
	int sfd = openat(dfd, xx, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	DIR *d = sfd >= 0 ? fdopendir(sfd) : NULL;
	if (!d) {
		if (sfd >= 0)
			close(sfd);
		return;
	}
	time_t now = time(NULL);
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.' && strncmp(e->d_name, ".tmp.", 5))
			continue;
		if (fstatat(sfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (e->d_name[0] == '.') {
			if (now - st.st_mtime > CC_TMP_AGE_S)
				unlinkat(sfd, e->d_name, 0); /* left by a process that died */
			continue;
		}
		if (strlen(e->d_name) != 34 || *n >= CC_SCAN_MAX)
			continue;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 1024;
			struct cc_ent *p = realloc(*v, nc * sizeof(*p));
			if (!p)
				break;
			*v = p;
			*cap = nc;
		}
		struct cc_ent *x = &(*v)[(*n)++];
		x->use = (int64_t)st.st_atim.tv_sec * 1000000000 + st.st_atim.tv_nsec;
		x->size = (uint64_t)st.st_size;
		snprintf(x->name, sizeof(x->name), "%.2s/%.34s", xx, e->d_name);
		*total += x->size;
	}
	closedir(d);
}

void cc_evict_to(struct colcache *c, uint64_t target)
{
	int dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	struct cc_ent *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0, evicted = 0, bytes = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (hex2(e->d_name))
			scan_sub(dfd, e->d_name, &v, &n, &cap, &total);
	if (n)
		qsort(v, n, sizeof(*v), by_use);
	for (size_t i = 0; i < n && total > target; i++) {
		if (unlinkat(dfd, v[i].name, 0) < 0)
			continue;
		total -= v[i].size;
		evicted++;
		bytes += v[i].size;
	}
	atomic_store(&c->sh->used, total);
	atomic_store(&c->sh->entries, n - evicted);
	cc_count(c, CC_EVICTIONS, evicted);
	cc_count(c, CC_BYTES_EVICTED, bytes);
	free(v);
	closedir(d);
}
