/* test_colcache.c — the column cache alone: an entry back byte for byte,
 * keys that differ by a byte, an entry under another key's name, a
 * corrupt, cut or wrong-offset entry dropped (never served), eviction to
 * the limit keeping the newest, two processes filling one folder at once
 * (the folder within its limit, its count exact, every hit right), and
 * folders refused (open to others, another user's). */
#include "check.h"
#include "colcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

/* A basket of n entries of 4 bytes each, its bytes made from seed. */
struct basket {
	uint8_t data[64 << 10];
	int32_t offsets[16385]; /* nev <= 16384 */
	struct colcache_val v;
};

static void make(struct basket *b, int nev, unsigned seed)
{
	size_t len = (size_t)nev * 4;
	for (size_t i = 0; i < len; i++)
		b->data[i] = (uint8_t)(seed * 131 + i * 7);
	for (int i = 0; i <= nev; i++)
		b->offsets[i] = 4 * i;
	b->v = (struct colcache_val){.data = b->data, .len = len, .offsets = b->offsets,
				     .noffsets = (size_t)nev + 1, .nevbuf = nev};
}

static void key_of(char *k, size_t cap, int i)
{
	snprintf(k, cap, "/data/file.root|size|mtime|fp|Jet_pt|basket %d", i);
}

/* 1: a hit equal to b; 0: a miss; -1: a hit that differs. */
static int get_same(struct colcache *c, const char *key, const struct basket *b)
{
	struct colcache_val v = {0};
	int rc = colcache_get(c, key, strlen(key), &v);
	int same = rc ? 0 : v.len == b->v.len && v.noffsets == b->v.noffsets &&
				    v.nevbuf == b->v.nevbuf && !memcmp(v.data, b->data, v.len) &&
				    !memcmp(v.offsets, b->offsets, 4 * v.noffsets) ? 1 : -1;
	free(v.data);
	free(v.offsets);
	return same;
}

/* Entry files in the folder and their bytes; into last (may be NULL) the
 * path of the last one that is not skip (may be NULL). */
static uint64_t folder_files(size_t *n, char *last, size_t cap, const char *skip)
{
	uint64_t total = 0;
	*n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strlen(e->d_name) != 2 || e->d_name[0] == '.')
			continue;
		char sub[512];
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		DIR *s = opendir(sub);
		struct dirent *x;
		while (s && (x = readdir(s))) {
			char p[1024];
			struct stat st;
			snprintf(p, sizeof(p), "%s/%s", sub, x->d_name);
			if (x->d_name[0] == '.' || stat(p, &st))
				continue;
			total += (uint64_t)st.st_size;
			(*n)++;
			if (last && (!skip || strcmp(p, skip)))
				snprintf(last, cap, "%s", p);
		}
		if (s)
			closedir(s);
	}
	if (d)
		closedir(d);
	return total;
}

static struct colcache *open_cache(uint64_t limit)
{
	struct colcache_conf conf = {.dir = dir, .limit = limit};
	char msg[512];
	struct colcache *c = NULL;
	int rc = colcache_open(&conf, &c, msg, sizeof(msg));
	check(rc == 0, "open %s: %s", dir, msg);
	return c;
}

static uint64_t counter(struct colcache *c, enum colcache_counter k)
{
	struct colcache_stats st;
	return colcache_stats(c, &st) ? 0 : st.node[k];
}

static void test_keys_and_corruption(struct colcache *c)
{
	static struct basket b, b2;
	char k[128], k2[128], path[1024];
	make(&b, 1000, 1);
	key_of(k, sizeof(k), 1);
	key_of(k2, sizeof(k2), 2);
	CHECK_EQ_I(get_same(c, k, &b), 0);
	CHECK_EQ_I(colcache_put(c, k, strlen(k), &b.v), 0);
	CHECK_EQ_I(colcache_put(c, k, strlen(k), &b.v), 0); /* already there: kept */
	CHECK_EQ_I(get_same(c, k, &b), 1);
	CHECK_EQ_I(get_same(c, k2, &b), 0);
	size_t n;
	uint64_t bytes = folder_files(&n, path, sizeof(path), NULL);
	struct colcache_stats st;
	CHECK(colcache_stats(c, &st) == 0 && st.used == bytes && st.entries == 1 && n == 1);

	/* The file of k put where k2's would be: its key is not k2, so no hit. */
	CHECK_EQ_I(colcache_put(c, k2, strlen(k2), &b.v), 0);
	char path2[1024] = "";
	folder_files(&n, NULL, 0, NULL);
	CHECK_EQ_I(n, 2);
	folder_files(&n, path2, sizeof(path2), path); /* k2's: the one that is not k's */
	char cmd[2200];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", path, path2);
	CHECK(path2[0] && system(cmd) == 0);
	uint64_t corrupt = counter(c, CC_CORRUPT);
	CHECK_EQ_I(get_same(c, k2, &b), 0);
	CHECK_EQ_I(counter(c, CC_CORRUPT), corrupt + 1);
	CHECK(access(path2, F_OK) != 0); /* dropped */

	/* A byte of the data flipped: the checksum fails, the entry goes. */
	int fd = open(path, O_RDWR);
	struct stat fs;
	CHECK(fd >= 0 && fstat(fd, &fs) == 0);
	uint8_t x;
	CHECK(pread(fd, &x, 1, fs.st_size - 10) == 1);
	x ^= 0x40;
	CHECK(pwrite(fd, &x, 1, fs.st_size - 10) == 1);
	close(fd);
	CHECK_EQ_I(get_same(c, k, &b), 0);
	CHECK(access(path, F_OK) != 0);

	/* Cut short by one byte. */
	CHECK_EQ_I(colcache_put(c, k, strlen(k), &b.v), 0);
	CHECK(truncate(path, fs.st_size - 1) == 0);
	CHECK_EQ_I(get_same(c, k, &b), 0);
	CHECK(access(path, F_OK) != 0);

	/* A header that claims more entries than its offsets. */
	CHECK_EQ_I(colcache_put(c, k, strlen(k), &b.v), 0);
	fd = open(path, O_RDWR);
	int32_t nev = 5000;
	CHECK(fd >= 0 && pwrite(fd, &nev, 4, 20) == 4);
	close(fd);
	CHECK_EQ_I(get_same(c, k, &b), 0);

	/* Offsets out of order (stored so, checksum right): never served. */
	make(&b2, 100, 2);
	b2.offsets[50] = 300;
	CHECK_EQ_I(colcache_put(c, k, strlen(k), &b2.v), 0);
	CHECK_EQ_I(get_same(c, k, &b2), 0);
	b2.offsets[50] = 200;
	/* The first offset before the data, the rest in order: never served. */
	b2.offsets[0] = -4;
	CHECK_EQ_I(colcache_put(c, k, strlen(k), &b2.v), 0);
	CHECK_EQ_I(get_same(c, k, &b2), 0);
	b2.offsets[0] = 0;
	/* The last offset short of the data's end, or past it. */
	b2.offsets[100] = 396;
	CHECK_EQ_I(colcache_put(c, k, strlen(k), &b2.v), 0);
	CHECK_EQ_I(get_same(c, k, &b2), 0);
	b2.offsets[100] = 404;
	CHECK_EQ_I(colcache_put(c, k, strlen(k), &b2.v), 0);
	CHECK_EQ_I(get_same(c, k, &b2), 0);
	b2.offsets[100] = 400;
	CHECK_EQ_I(colcache_put(c, k, strlen(k), &b2.v), 0);
	CHECK_EQ_I(get_same(c, k, &b2), 1);
	CHECK(counter(c, CC_CORRUPT) >= corrupt + 8);
	/* The entry cut by hand was counted a byte longer than it was dropped;
	 * a purge (an eviction) counts the folder again. */
	CHECK(colcache_stats(c, &st) == 0 && st.used == folder_files(&n, NULL, 0, NULL) + 1 &&
	      st.entries == n);
	uint64_t purged;
	CHECK(colcache_purge(c, &purged) == 0 && purged == n);
	CHECK(colcache_stats(c, &st) == 0 && st.used == 0 && st.entries == 0 &&
	      folder_files(&n, NULL, 0, NULL) == 0 && n == 0);
}

static void test_eviction(void)
{
	uint64_t limit = 1 << 20;
	struct colcache *c = open_cache(limit);
	if (!c)
		return;
	uint64_t purged;
	CHECK_EQ_I(colcache_purge(c, &purged) == 0, 1);
	static struct basket b;
	char k[128];
	for (int i = 0; i < 100; i++) {
		make(&b, 7000, (unsigned)i); /* 56 KB each: 5.6 MB in all */
		key_of(k, sizeof(k), 100 + i);
		CHECK_EQ_I(colcache_put(c, k, strlen(k), &b.v), 0);
		size_t n;
		uint64_t bytes = folder_files(&n, NULL, 0, NULL);
		check(bytes <= limit, "after %d puts the folder holds %llu bytes (limit %llu)", i + 1,
		      (unsigned long long)bytes, (unsigned long long)limit);
	}
	size_t n;
	struct colcache_stats st;
	uint64_t bytes = folder_files(&n, NULL, 0, NULL);
	CHECK(colcache_stats(c, &st) == 0 && st.used == bytes && st.entries == n);
	check(st.node[CC_EVICTIONS] > 0 && bytes >= limit / 2, "evictions %llu, %zu entries left", (unsigned long long)st.node[CC_EVICTIONS], n);
	make(&b, 7000, 99);
	key_of(k, sizeof(k), 199);
	CHECK_EQ_I(get_same(c, k, &b), 1); /* the newest stays */
	make(&b, 7000, 0);
	key_of(k, sizeof(k), 100);
	CHECK_EQ_I(get_same(c, k, &b), 0); /* the oldest went */
	/* An entry bigger than a quarter of the limit is not kept. */
	static struct basket big;
	make(&big, 1024, 3);
	big.v.len = sizeof(big.data);
	big.v.noffsets = 0;
	uint64_t nk = st.node[CC_NOT_KEPT];
	struct colcache_conf small = {.dir = dir, .limit = 200 << 10};
	char msg[512];
	struct colcache *cs;
	CHECK(colcache_open(&small, &cs, msg, sizeof(msg)) == 0);
	CHECK(colcache_put(cs, "big", 3, &big.v) == -EFBIG);
	CHECK_EQ_I(counter(c, CC_NOT_KEPT), nk + 1);
	colcache_close(cs);
	colcache_close(c);
}

/* Two processes put and get the same 60 keys at once under a limit
 * smaller than them: every hit right, the folder within the limit. */
static void test_two_processes(void)
{
	uint64_t limit = 1 << 20;
	struct colcache *c = open_cache(limit);
	if (!c)
		return;
	uint64_t purged;
	CHECK(colcache_purge(c, &purged) == 0);
	pid_t pid[2];
	for (int p = 0; p < 2; p++) {
		if ((pid[p] = fork()) == 0) {
			struct colcache *cc = open_cache(limit);
			static struct basket b;
			char k[128];
			int bad = !cc;
			for (int round = 0; round < 3 && cc; round++)
				for (int i = 0; i < 60; i++) {
					int j = p ? 59 - i : i;
					make(&b, 5000, (unsigned)j);
					key_of(k, sizeof(k), 300 + j);
					int got = get_same(cc, k, &b);
					bad |= got < 0;
					if (got == 0 && colcache_put(cc, k, strlen(k), &b.v) != 0)
						bad = 1;
				}
			colcache_close(cc);
			_exit(bad);
		}
	}
	for (int p = 0; p < 2; p++) {
		int status = 0;
		waitpid(pid[p], &status, 0);
		check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "process %d: a wrong hit or a failed store", p);
	}
	size_t n;
	struct colcache_stats st;
	uint64_t bytes = folder_files(&n, NULL, 0, NULL);
	CHECK(colcache_stats(c, &st) == 0);
	check(bytes <= limit && st.used == bytes && st.entries == n,
	      "two processes: folder %llu bytes in %zu entries, counted %llu in %llu (limit %llu)",
	      (unsigned long long)bytes, n, (unsigned long long)st.used,
	      (unsigned long long)st.entries, (unsigned long long)limit);
	CHECK(st.node[CC_HITS] > 0 && st.node[CC_EVICTIONS] > 0);
	colcache_close(c);
}

static void test_refused(void)
{
	char other[300];
	snprintf(other, sizeof(other), "%s/open", dir);
	CHECK(mkdir(other, 0755) == 0 && chmod(other, 0755) == 0);
	struct colcache_conf conf = {.dir = other};
	char msg[512];
	struct colcache *c = NULL;
	CHECK_EQ_I(colcache_open(&conf, &c, msg, sizeof(msg)), -EPERM);
	CHECK(strstr(msg, "open to other users") != NULL);
	if (getuid() == 0) {
		CHECK(chmod(other, 0700) == 0 && chown(other, 65534, 65534) == 0);
		CHECK_EQ_I(colcache_open(&conf, &c, msg, sizeof(msg)), -EPERM);
		CHECK(strstr(msg, "owned by another user") != NULL);
	}
	rmdir(other);
	snprintf(other, sizeof(other), "%s/missing", dir);
	conf.no_create = true;
	CHECK_EQ_I(colcache_open(&conf, &c, msg, sizeof(msg)), -ENOENT);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/test_colcache.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	struct colcache *c = open_cache(64 << 20);
	if (c) {
		test_keys_and_corruption(c);
		colcache_close(c);
	}
	test_eviction();
	test_two_processes();
	test_refused();
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	printf("%d checks, %d failures\n", nchecks, failures);
	return failures ? 1 : 0;
}
