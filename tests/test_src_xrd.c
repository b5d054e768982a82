/* test_src_xrd.c — root:// sources against a real xrootd server, which
 * tests/src_xrd_check.py starts (in a private network namespace), fills
 * and stops or starts again when this program asks.
 *
 * Usage: test_src_xrd CTL_R CTL_W DIR_URL DIR_PATH NANO
 *   CTL_R, CTL_W  descriptors of the driver's control pipe: this program
 *                 writes "stop", "start" or "start-in SECONDS" and waits
 *                 for "ok" (start-in answers at once, starts later)
 *   DIR_URL       root://127.0.0.1:PORT//data, the server's folder of copies
 *   DIR_PATH      the same folder on the local disk (the export folder)
 *   NANO          the name of a NanoAOD file in it, read with rootio
 *
 * Checks, for every *.root file of DIR_PATH: stat and open give its size
 * and mtime (seconds: the protocol's resolution); random preads, vector
 * reads of more than 1024 ranges and of ranges over 2 MiB, and preads
 * from 4 threads give its bytes.  src_glob() lists the folder as the disk
 * does.  Errors: a missing file, a folder, a port with nothing listening.
 * The server stopped under an open source and started again (the read
 * waits and succeeds), or not (the read fails by the deadline); the file
 * replaced while the server was down (ANA_ECHANGED).  rootio over root://.
 * Exit status: 0 when every check passed, 1 otherwise, 2 on bad usage. */
#include "check.h"
#include "ana_err.h"
#include "rootio.h"
#include "src.h"
#include "src_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MB (1u << 20)

static int ctl_r, ctl_w;
static const char *dir_url, *dir_path;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* Ask the driver to act on the server; stop the test when it cannot. */
static void ctl(const char *cmd)
{
	char buf[64];
	size_t len = strlen(cmd);
	ssize_t n;
	if (write(ctl_w, cmd, len) != (ssize_t)len || write(ctl_w, "\n", 1) != 1 ||
	    (n = read(ctl_r, buf, sizeof(buf) - 1)) <= 0) {
		fprintf(stderr, "FAIL: control pipe, %s: %s\n", cmd, strerror(errno));
		exit(1);
	}
	buf[n] = 0;
	if (strncmp(buf, "ok", 2)) {
		fprintf(stderr, "FAIL: the driver could not %s: %s\n", cmd, buf);
		exit(1);
	}
}

/* The whole local file, or exit. */
static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "test_src_xrd: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	uint8_t *p = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	ssize_t n;
	while (p && got < (size_t)st.st_size && (n = read(fd, p + got, st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (!p || got != (size_t)st.st_size) {
		fprintf(stderr, "test_src_xrd: cannot read %s\n", path);
		exit(2);
	}
	*len = got;
	return p;
}

static void write_file(const char *path, size_t size, uint8_t seed)
{
	uint8_t *p = malloc(size);
	for (size_t i = 0; i < size; i++)
		p[i] = (uint8_t)((i * 2654435761u >> 13) + seed);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, p, size) != (ssize_t)size || close(fd)) {
		fprintf(stderr, "test_src_xrd: cannot write %s: %s\n", path, strerror(errno));
		exit(2);
	}
	free(p);
}

static struct src *must_open(const char *url)
{
	struct src *s;
	char msg[512];
	int rc = src_open_msg(url, &s, msg, sizeof(msg));
	if (rc) {
		fprintf(stderr, "FAIL: open %s: %d %s\n", url, rc, msg);
		exit(1);
	}
	return s;
}

static uint64_t rnd(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* A length from 1 byte to 6 MiB, small ones as likely as large ones. */
static size_t rnd_len(uint64_t *st)
{
	return (size_t)1 + rnd(st) % ((size_t)1 << (rnd(st) % 23 + 1));
}

/* pread of len at off against the local bytes; what should come back is
 * the part before the end. */
static int pread_ok(struct src *s, const uint8_t *ref, size_t size, uint64_t off, size_t len,
		    uint8_t *buf)
{
	size_t want = off >= size ? 0 : len < size - off ? len : size - off;
	ssize_t r = src_pread(s, buf, len, off);
	if (r != (ssize_t)want || (want && memcmp(buf, ref + off, want))) {
		char err[512];
		src_error(s, err, sizeof(err));
		fprintf(stderr, "  %s: pread %zu at %llu gave %zd (want %zu%s) %s\n", src_url(s), len,
			(unsigned long long)off, r, want, r == (ssize_t)want ? ", other bytes" : "",
			err);
		return 0;
	}
	return 1;
}

struct thread_arg {
	struct src *s;
	const uint8_t *ref;
	size_t size;
	uint64_t seed;
	int bad;
};

static void *reader(void *p)
{
	struct thread_arg *a = p;
	uint8_t *buf = malloc(8 * MB);
	for (int i = 0; i < 60; i++) {
		size_t len = rnd_len(&a->seed);
		uint64_t off = rnd(&a->seed) % (a->size + 1);
		a->bad += !pread_ok(a->s, a->ref, a->size, off, len, buf);
	}
	free(buf);
	return NULL;
}

static void test_readv(struct src *s, const uint8_t *ref, size_t size, uint64_t *st)
{
	size_t n = 3000;
	struct src_iov *iov = calloc(n, sizeof(*iov));
	uint8_t *buf = malloc(n * 4096);
	for (size_t i = 0; i < n; i++) {
		iov[i].len = 1 + rnd(st) % 4096 % size;
		iov[i].off = rnd(st) % (size - iov[i].len + 1);
		iov[i].buf = buf + i * 4096;
	}
	int rc = src_readv(s, iov, n);
	int same = 1;
	for (size_t i = 0; i < n && !rc; i++)
		same &= !memcmp(iov[i].buf, ref + iov[i].off, iov[i].len);
	check(rc == 0 && same, "%s: readv of %zu ranges: rc %d, bytes %s", src_url(s), n, rc,
	      same ? "same" : "differ");
	free(buf);
	free(iov);
	if (size <= 2 * MB + 1)
		return;
	/* Ranges over the chunk limit: the whole file in 3 ranges, and one of
	 * 2 MiB + 1 at the end. */
	uint8_t *big = malloc(size + 2 * MB + 1);
	size_t third = size / 3;
	struct src_iov v[4] = {{0, third, big},
			       {third, third, big + third},
			       {2 * third, size - 2 * third, big + 2 * third},
			       {size - 2 * MB - 1, 2 * MB + 1, big + size}};
	rc = src_readv(s, v, 4);
	check(rc == 0 && !memcmp(big, ref, size) && !memcmp(big + size, ref + size - 2 * MB - 1,
							     2 * MB + 1),
	      "%s: readv of ranges over 2 MiB (%zu bytes each): rc %d", src_url(s), third, rc);
	struct src_iov past = {size - 10, 11, big};
	check(src_readv(s, &past, 1) == -EIO, "%s: readv past the end is -EIO", src_url(s));
	free(big);
}

/* 1. Every file: stat, open, preads, readv, threads. */
static void test_file(const char *name, uint64_t seed)
{
	char url[1024], path[1024], msg[512];
	snprintf(url, sizeof(url), "%s/%s", dir_url, name);
	snprintf(path, sizeof(path), "%s/%s", dir_path, name);
	size_t size;
	uint8_t *ref = slurp(path, &size);
	struct stat st;
	stat(path, &st);
	struct src_info info;
	int rc = src_stat(url, &info, msg, sizeof(msg));
	check(rc == 0 && info.size == size && info.regular &&
		      info.mtime_ns == (int64_t)st.st_mtime * 1000000000,
	      "%s: stat %d: size %llu (want %zu), mtime %lld s (want %lld; seconds resolution) %s",
	      url, rc, (unsigned long long)info.size, size, (long long)(info.mtime_ns / 1000000000),
	      (long long)st.st_mtime, rc ? msg : "");
	struct src *s = must_open(url);
	check(src_size(s) == size && src_mtime_ns(s) == (int64_t)st.st_mtime * 1000000000,
	      "%s: open: size %llu (want %zu), mtime %lld", url, (unsigned long long)src_size(s),
	      size, (long long)src_mtime_ns(s));
	check(src_view(s, 0, 1) == NULL, "%s: no view of a remote file", url);
	uint8_t *buf = malloc(8 * MB);
	int bad = 0, n = 0;
	for (int i = 0; i < 40; i++, n++) {
		size_t len = rnd_len(&seed);
		bad += !pread_ok(s, ref, size, rnd(&seed) % size, len, buf);
	}
	size_t ends[] = {1, 100, 65536, 3 * MB};
	for (size_t i = 0; i < sizeof(ends) / sizeof(*ends); i++, n += 3) {
		size_t len = ends[i] < size ? ends[i] : size;
		bad += !pread_ok(s, ref, size, size - len, len, buf);     /* at the end */
		bad += !pread_ok(s, ref, size, size - len, len + 7, buf); /* across it */
		bad += !pread_ok(s, ref, size, size + i, len, buf);       /* past it */
	}
	free(buf);
	check(bad == 0, "%s: %d of %d preads gave other bytes", url, bad, n);
	test_readv(s, ref, size, &seed);
	struct thread_arg ta[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		ta[i] = (struct thread_arg){s, ref, size, seed + 77 * (uint64_t)i + 1, 0};
		pthread_create(&t[i], NULL, reader, &ta[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		check(ta[i].bad == 0, "%s: thread %d: %d of 60 preads wrong", url, i, ta[i].bad);
	}
	check(src_check(s) == 0, "%s: check after the reads", url);
	src_close(s);
	free(ref);
}

/* 2. src_glob() against the local listing. */
struct listing {
	char names[256][256];
	uint64_t sizes[256];
	int n;
};

static int take(void *ctx, const char *url, const struct src_info *info)
{
	struct listing *l = ctx;
	if (l->n < 256) {
		snprintf(l->names[l->n], sizeof(l->names[0]), "%s", url);
		l->sizes[l->n++] = info->size;
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int local_names(char **v, int cap)
{
	DIR *d = opendir(dir_path);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)) && n < cap)
		if (!fnmatch("*.root", e->d_name, FNM_PERIOD))
			v[n++] = strdup(e->d_name);
	if (d)
		closedir(d);
	qsort(v, (size_t)n, sizeof(*v), by_name);
	return n;
}

static void test_glob(char **names, int n)
{
	char pat[1024], msg[512];
	static struct listing l;
	snprintf(pat, sizeof(pat), "%s/*.root", dir_url);
	int rc = src_glob(pat, take, &l, msg, sizeof(msg));
	check(rc == 0 && l.n == n, "glob %s: rc %d, %d files (want %d) %s", pat, rc, l.n, n,
	      rc ? msg : "");
	for (int i = 0; i < n && i < l.n; i++) {
		char url[1024], path[1024];
		struct stat st;
		snprintf(url, sizeof(url), "%s/%s", dir_url, names[i]);
		snprintf(path, sizeof(path), "%s/%s", dir_path, names[i]);
		stat(path, &st);
		check(!strcmp(l.names[i], url) && l.sizes[i] == (uint64_t)st.st_size,
		      "glob entry %d: %s, %llu bytes (want %s, %lld)", i, l.names[i],
		      (unsigned long long)l.sizes[i], url, (long long)st.st_size);
	}
	l.n = 0;
	snprintf(pat, sizeof(pat), "%s/*.nothing", dir_url);
	rc = src_glob(pat, take, &l, msg, sizeof(msg));
	check(rc == 0 && l.n == 0, "glob %s matching nothing: rc %d, %d calls", pat, rc, l.n);
	snprintf(pat, sizeof(pat), "%s/no-such-folder/*.root", dir_url);
	rc = src_glob(pat, take, &l, msg, sizeof(msg));
	check(rc == -ENOENT && strstr(msg, "no-such-folder"),
	      "glob in a missing folder: rc %d (want -ENOENT), message naming it: %s", rc, msg);
	printf("test_src_xrd: glob of a missing folder: %s\n", msg);
}

/* 3. Errors. */
static void test_errors(void)
{
	char url[1024], msg[512];
	struct src *s = NULL;
	struct src_info info;
	snprintf(url, sizeof(url), "%s/missing.root", dir_url);
	int rc = src_open_msg(url, &s, msg, sizeof(msg));
	check(rc == -ENOENT && strstr(msg, url) && strstr(msg, "3011"),
	      "open of a missing file: %d (want -ENOENT), message with the URL and the server's "
	      "reason: %s", rc, msg);
	printf("test_src_xrd: missing file: %s\n", msg);
	rc = src_stat(url, &info, msg, sizeof(msg));
	check(rc == -ENOENT && strstr(msg, url), "stat of a missing file: %d: %s", rc, msg);
	rc = src_open_msg(dir_url, &s, msg, sizeof(msg));
	check(rc == -EISDIR && strstr(msg, dir_url), "open of a folder: %d (want -EISDIR): %s", rc,
	      msg);
	printf("test_src_xrd: a folder: %s\n", msg);
	rc = src_stat(dir_url, &info, msg, sizeof(msg));
	check(rc == 0 && !info.regular, "stat of a folder: %d, regular %d", rc, info.regular);

	setenv("ANAFS_XRD_TIMEOUT", "3", 1);
	const char *dead = "root://127.0.0.1:1//data/x.root";
	double t0 = now();
	rc = src_open_msg(dead, &s, msg, sizeof(msg));
	double dt = now() - t0;
	check((rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == -EHOSTUNREACH) && dt < 8 &&
		      strstr(msg, dead),
	      "nothing listening: %d (want a connection error) after %.1f s: %s", rc, dt, msg);
	printf("test_src_xrd: nothing listening (%.1f s): %s\n", dt, msg);
	setenv("ANAFS_XRD_TIMEOUT", "30", 1);

	/* A host name that does not resolve (a typo) fails at once, not at
	 * the end of the deadline. */
	const char *typo = "root://no-such-host.invalid//data/x.root";
	t0 = now();
	rc = src_open_msg(typo, &s, msg, sizeof(msg));
	dt = now() - t0;
	check(rc == -ENXIO && dt < 10 && strstr(msg, typo),
	      "a host name that does not resolve: %d (want -ENXIO) after %.1f s: %s", rc, dt, msg);
	printf("test_src_xrd: a host name that does not resolve (%.1f s): %s\n", dt, msg);
}

/* 4. The server stopped under an open source: started again 2 s later
 * (the read waits, then gives the bytes), or not (the read fails by the
 * deadline). */
static void test_restart(void)
{
	char url[1024], path[1024];
	snprintf(url, sizeof(url), "%s/scratch-a.bin", dir_url);
	snprintf(path, sizeof(path), "%s/scratch-a.bin", dir_path);
	write_file(path, 5 * MB, 1);
	size_t size;
	uint8_t *ref = slurp(path, &size);
	uint8_t *buf = malloc(MB);
	setenv("ANAFS_XRD_TIMEOUT", "30", 1);
	struct src *s = must_open(url);
	check(pread_ok(s, ref, size, 0, MB, buf), "%s: read before the stop", url);
	ctl("stop");
	ctl("start-in 2");
	double t0 = now();
	int ok = pread_ok(s, ref, size, 2 * MB, MB, buf);
	double dt = now() - t0;
	check(ok && dt > 1.0, "%s: a read while the server is down for 2 s waits (%.1f s) and gives "
	      "the bytes", url, dt);
	printf("test_src_xrd: read across a 2 s restart: %.1f s, %s\n", dt, ok ? "right" : "wrong");
	int rc = src_readv(s, &(struct src_iov){4 * MB, 100, buf}, 1);
	check(rc == 0 && !memcmp(buf, ref + 4 * MB, 100), "%s: readv after the restart: %d", url,
	      rc);

	ctl("stop");
	setenv("ANAFS_XRD_TIMEOUT", "3", 1);
	t0 = now();
	ssize_t r = src_pread(s, buf, 100, 3 * MB);
	dt = now() - t0;
	char err[512];
	src_error(s, err, sizeof(err));
	check(r < 0 && dt > 2 && dt < 7 && strstr(err, url),
	      "%s: a read with the server gone fails by the deadline (3 s): %zd after %.1f s: %s",
	      url, r, dt, err);
	printf("test_src_xrd: server gone: %zd after %.1f s: %s\n", r, dt, err);
	setenv("ANAFS_XRD_TIMEOUT", "30", 1);
	ctl("start");
	check(pread_ok(s, ref, size, 3 * MB, 100, buf), "%s: reads again once the server is back",
	      url);
	src_close(s);
	free(buf);
	free(ref);
}

/* After the file under the open source s was replaced (ref: its bytes
 * when s was opened), a read of len at off must give ANA_ECHANGED or the
 * bytes s was opened on (a block the disk cache held from before): never
 * a byte of the new file.  want_changed: only ANA_ECHANGED will do. */
static void check_replaced_read(struct src *s, const uint8_t *ref, uint64_t off, size_t len,
				bool want_changed, const char *what)
{
	uint8_t buf[4096];
	memset(buf, 0xee, sizeof(buf));
	ssize_t r = src_pread(s, buf, len, off);
	char err[512];
	src_error(s, err, sizeof(err));
	bool untouched = true;
	for (size_t i = 0; i < len; i++)
		untouched &= buf[i] == 0xee;
	bool changed = r == ANA_ECHANGED && strstr(err, src_url(s)) && untouched;
	bool old = r == (ssize_t)len && !memcmp(buf, ref + off, len);
	check(changed || (old && !want_changed),
	      "%s: %s at %llu after the file was replaced: %zd (want ANA_ECHANGED%s), "
	      "buffer %s: %s", src_url(s), what, (unsigned long long)off, r,
	      want_changed ? "" : " or the bytes it was opened on",
	      untouched ? "untouched" : old ? "the old bytes" : "other bytes", err);
}

/* 5. The file replaced while the server was down, under an open source:
 * ANA_ECHANGED, never the new bytes.  Through the plain source (no disk
 * cache: every read goes to the server), and through src_open_msg()'s
 * cached one, where a block read before the change may still be served
 * from the cache (it holds the bytes the source was opened on). */
static void test_replaced(bool cached)
{
	char url[1024], path[1024];
	snprintf(url, sizeof(url), "%s/scratch-%c.bin", dir_url, cached ? 'c' : 'b');
	snprintf(path, sizeof(path), "%s/scratch-%c.bin", dir_path, cached ? 'c' : 'b');
	write_file(path, 4 * MB, 2);
	size_t size;
	uint8_t *ref = slurp(path, &size);
	uint8_t buf[4096];
	struct src *s;
	char msg[512];
	int rc = cached ? src_open_msg(url, &s, msg, sizeof(msg))
			: src_xrd_open(url, &s, msg, sizeof(msg));
	if (rc) {
		fprintf(stderr, "FAIL: open %s: %d %s\n", url, rc, msg);
		exit(1);
	}
	check(pread_ok(s, ref, size, 1000, sizeof(buf), buf), "%s: read before the change", url);
	ctl("stop");
	write_file(path, 3 * MB, 9);
	ctl("start");
	check_replaced_read(s, ref, 1000, sizeof(buf), !cached, "a read of a block read before");
	check_replaced_read(s, ref, 2 * MB + 1000, sizeof(buf), true, "a read of a new block");
	check_replaced_read(s, ref, 1000, 100, !cached, "a read again");
	src_close(s);
	free(ref);
}

/* 5b. The ROOT reader over root://: the same trees as the local file. */
static void test_rootio(const char *name)
{
	char url[1024], path[1024];
	snprintf(url, sizeof(url), "%s/%s", dir_url, name);
	snprintf(path, sizeof(path), "%s/%s", dir_path, name);
	struct rootio_file *fr = NULL, *fl = NULL;
	struct rootio_err e;
	int rc = rootio_open(url, &fr, &e);
	check(rc == 0, "rootio_open %s: %s", url, rc ? e.msg : "");
	if (rc || rootio_open(path, &fl, &e)) {
		rootio_close(fr);
		return;
	}
	size_t n = rootio_ntrees(fr);
	check(n == rootio_ntrees(fl) && n > 0, "%s: %zu trees (want %zu)", url, n,
	      rootio_ntrees(fl));
	for (size_t i = 0; i < n && i < rootio_ntrees(fl); i++)
		check(!strcmp(rootio_tree_at(fr, i)->path, rootio_tree_at(fl, i)->path),
		      "%s: tree %zu is %s (want %s)", url, i, rootio_tree_at(fr, i)->path,
		      rootio_tree_at(fl, i)->path);
	struct rootio_tree *t;
	if (!rootio_tree_open(fr, NULL, &t, &e)) {
		check(rootio_tree_ncolumns(t) > 0, "%s: the first tree has columns", url);
		struct rootio_column c;
		rootio_column_init(&c);
		int64_t entries = rootio_tree_entries(t);
		check(rootio_read(t, 0, 0, entries, &c, &e) == 0, "%s: read a column: %s", url, e.msg);
		rootio_column_free(&c);
		rootio_tree_close(t);
	} else {
		check(0, "%s: open the first tree: %s", url, e.msg);
	}
	printf("test_src_xrd: rootio over root://: %s, %zu trees\n", name, n);
	rootio_close(fr);
	rootio_close(fl);
}

/* 6. fork() while other threads are in the client's first calls: the
 * program goes on.  The client's fork handler (off in xrd.cc) stopped its
 * threads at each fork and could hang for good; the daemon forked its
 * local workers while it planned over root://.  Run in a fresh process
 * (test_src_xrd --fork URL), so that the forks meet the client starting
 * up, as in the daemon. */
static const char *fork_url;
static atomic_bool fork_stop;
static atomic_long fork_stats;

static void *stat_loop(void *arg)
{
	(void)arg;
	while (!atomic_load(&fork_stop)) {
		struct src_info info;
		char msg[512];
		if (src_stat(fork_url, &info, msg, sizeof(msg)) == 0)
			atomic_fetch_add(&fork_stats, 1);
	}
	return NULL;
}

/* The fresh process: 8 threads stat url while it forks and runs
 * /bin/true 100 times.  0 when every fork came back. */
static int fork_main(const char *url)
{
	fork_url = url;
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, stat_loop, NULL);
	int bad = 0;
	for (int i = 0; i < 100; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		int st;
		bad += pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st);
	}
	atomic_store(&fork_stop, true);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	printf("test_src_xrd --fork: 100 forks, %d failed, %ld stats\n", bad,
	       atomic_load(&fork_stats));
	return bad || !atomic_load(&fork_stats);
}

static void test_fork(const char *name)
{
	char url[1024];
	snprintf(url, sizeof(url), "%s/%s", dir_url, name);
	char *argv[] = {"test_src_xrd", "--fork", url, NULL};
	pid_t pid;
	fflush(stdout);
	int rc = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ);
	check(rc == 0, "the fork test starts: %s", strerror(rc));
	if (rc)
		return;
	int st = 0;
	double end = now() + 60;
	pid_t got = 0;
	while ((got = waitpid(pid, &st, WNOHANG)) == 0 && now() < end)
		usleep(50 * 1000);
	if (got == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	check(got == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "100 forks while 8 threads make their first calls to %s: %s", url,
	      got == 0 ? "hung for 60 s" : "failed");
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--fork"))
		return fork_main(argv[2]);
	if (argc != 6) {
		fprintf(stderr, "usage: test_src_xrd CTL_R CTL_W DIR_URL DIR_PATH NANO\n");
		return 2;
	}
	ctl_r = atoi(argv[1]);
	ctl_w = atoi(argv[2]);
	dir_url = argv[3];
	dir_path = argv[4];
	alarm(240);
	double t0 = now();
	char *names[256];
	int n = local_names(names, 256);
	if (n == 0) {
		fprintf(stderr, "test_src_xrd: no *.root files in %s\n", dir_path);
		return 2;
	}
	for (int i = 0; i < n; i++)
		test_file(names[i], 0x9e3779b97f4a7c15ull + (uint64_t)i);
	printf("test_src_xrd: %d files read in %.1f s\n", n, now() - t0);
	test_glob(names, n);
	test_errors();
	test_rootio(argv[5]);
	test_restart();
	test_replaced(false);
	test_replaced(true);
	test_fork(argv[5]);
	for (int i = 0; i < n; i++)
		free(names[i]);
	printf("test_src_xrd: %d checks, %d failed (%.1f s)\n", nchecks, failures, now() - t0);
	return failures ? 1 : 0;
}
