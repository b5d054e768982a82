/* test_src.c — the byte sources: local files (pread, short reads at the
 * end, readv, views), memory sources, bad URLs, what is not a regular file
 * (a FIFO, a device, a directory, a socket), and files that shrink while
 * they are read, by hand and through the ROOT reader.
 *
 * Usage: test_src DATA   (DATA holds bench/ and root/ of the shared data)
 *
 * Temporary files live in a fresh directory under $TMPDIR (or /tmp) and
 * are removed at the end.  Every case that could hang runs under alarm().
 * Exit status: 0 when every check passed, 1 when one failed, 2 on bad
 * usage or missing files. */
#include "check.h"
#include "ana_err.h"
#include "rootio.h"
#include "src.h"
#include "src_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MB (1u << 20)

static const char *data_dir;
static char tmp_dir[256];


/* The byte at offset i of every test file: it depends on the offset, so
 * that a read from the wrong place shows. */
static uint8_t pattern(uint64_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13);
}

static int pattern_at(const uint8_t *p, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(off + i))
			return 0;
	return 1;
}

/* Open url or stop the test: every check after it would read a stale
 * pointer. */
static struct src *must_open(const char *url)
{
	struct src *s;
	int rc = src_open(url, &s);
	if (rc) {
		fprintf(stderr, "FAIL: open %s: %s\n", url, ana_strerror(rc));
		exit(1);
	}
	return s;
}

static void tmp_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", tmp_dir, name);
}

/* Write a file of size pattern bytes under the temporary directory. */
static void make_file(const char *name, size_t size, char *path, size_t cap)
{
	tmp_path(path, cap, name);
	uint8_t *buf = malloc(size);
	for (size_t i = 0; i < size; i++)
		buf[i] = pattern(i);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, size) != (ssize_t)size || close(fd)) {
		fprintf(stderr, "test_src: cannot write %s: %s\n", path, strerror(errno));
		exit(2);
	}
	free(buf);
}

static void truncate_to(const char *path, off_t size)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	check(fd >= 0 && ftruncate(fd, size) == 0, "truncate %s to %lld", path, (long long)size);
	if (fd >= 0)
		close(fd);
}

/* Touch every byte of len at p and give their sum: a read the compiler
 * may not leave out, which faults where the file has lost the page. */
static uint64_t touch(const uint8_t *p, size_t len)
{
	const volatile uint8_t *v = p;
	uint64_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += v[i];
	return sum;
}

/* ---- SIGBUS that is not ours still does what it did ---- */

/* In a child: map a file without a source, cut it and touch the lost page. */
static void foreign_fault(void)
{
	char path[512];
	make_file("foreign", 64 * 1024, path, sizeof(path));
	int fd = open(path, O_RDWR | O_CLOEXEC);
	const uint8_t *m = mmap(NULL, 64 * 1024, PROT_READ, MAP_SHARED, fd, 0);
	if (fd < 0 || m == MAP_FAILED || ftruncate(fd, 0))
		_exit(3);
	(void)touch(m + 32 * 1024, 1);
	_exit(0); /* not reached: the fault kills or the handler exits */
}

static void on_bus_exit42(int sig)
{
	(void)sig;
	_exit(42);
}

/* Run fn in a child that first installs (or not) its own SIGBUS handler,
 * then the guard (a source mapped), and return its wait status. */
static int in_child(void (*fn)(void), int own_handler)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(20);
		setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0}); /* it dies on purpose */
		if (own_handler) {
			struct sigaction sa = {.sa_handler = on_bus_exit42};
			sigaction(SIGBUS, &sa, NULL);
		}
		char path[512];
		make_file("guarded", 8192, path, sizeof(path));
		struct src *s;
		if (src_open(path, &s) || !src_view(s, 0, 1))
			_exit(4); /* the guard was not installed */
		fn();
		_exit(0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return st;
}

static void raise_bus(void)
{
	raise(SIGBUS);
}

/* in_child() exits 4 by itself when the file it opens is not mapped. */
static void nothing(void)
{
}

/* Whether local files are mapped here: not when a sanitizer keeps SIGBUS
 * to itself (ASAN_OPTIONS=handle_sigbus=2).  Asked in a child, so that
 * this process installs the guard only after test_foreign_sigbus(). */
static int mapping_works(void)
{
	int st = in_child(nothing, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* How a child killed by a SIGBUS that is not ours ends: by the signal, or
 * through a sanitizer's handler, which reports and exits (ASan: 1, TSan:
 * 66, its exit code for a report). */
static bool died_of_bus(int st)
{
	return (WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS) ||
	       (WIFEXITED(st) && (WEXITSTATUS(st) == 1 || WEXITSTATUS(st) == 66));
}

static void test_foreign_sigbus(void)
{
	printf("test_src: two children now die of SIGBUS on purpose (a sanitizer reports "
	       "them)\n");
	int st = in_child(foreign_fault, 0);
	check(died_of_bus(st), "a fault outside our mappings still kills with SIGBUS (status %#x)",
	      st);
	st = in_child(raise_bus, 0);
	check(died_of_bus(st), "a SIGBUS sent to the process still kills it (status %#x)", st);
	st = in_child(foreign_fault, 1);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 42,
	      "a fault outside our mappings reaches the handler installed before (status %#x)", st);
	st = in_child(raise_bus, 1);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 42,
	      "a sent SIGBUS reaches the handler installed before (status %#x)", st);
}

/* ---- local files, memory, bad URLs ---- */

static void test_local(int mapped)
{
	const size_t size = 3 * MB + 123;
	char path[512];
	make_file("local", size, path, sizeof(path));
	struct src *s = must_open(path);
	check(src_size(s) == size, "size %llu", (unsigned long long)src_size(s));
	check(!strcmp(src_url(s), path), "url %s", src_url(s));
	uint8_t *buf = malloc(size + 100);
	check(src_pread(s, buf, size, 0) == (ssize_t)size && pattern_at(buf, 0, size),
	      "pread of the whole file");
	check(src_pread(s, buf, 100, size - 10) == 10 && pattern_at(buf, size - 10, 10),
	      "pread across the end is short");
	check(src_pread(s, buf, 100, size) == 0, "pread at the end reads 0");
	check(src_pread(s, buf, 100, size + 4096) == 0, "pread past the end reads 0");
	uint8_t a[1000], b[5000], c[1];
	struct src_iov iov[] = {{2 * MB, sizeof(a), a}, {17, sizeof(b), b}, {size - 1, 1, c}};
	check(src_readv(s, iov, 3) == 0 && pattern_at(a, 2 * MB, sizeof(a)) &&
		      pattern_at(b, 17, sizeof(b)) && pattern_at(c, size - 1, 1),
	      "readv of three ranges");
	struct src_iov past = {size - 10, 11, buf};
	check(src_readv(s, &past, 1) == -EIO, "readv past the end is -EIO");
	const uint8_t *v = src_view(s, MB, 1000);
	if (mapped)
		check(v && pattern_at(v, MB, 1000), "view of a mapped file");
	else
		check(!v, "no view with ANAFS_NO_MMAP=1");
	check(!src_view(s, size - 10, 11), "no view past the end");
	check(src_check(s) == 0, "check of an untouched file is 0");
	src_close(s);
	free(buf);

	char url[600];
	snprintf(url, sizeof(url), "file://%s", path);
	s = must_open(url);
	check(src_size(s) == size, "size of %s", url);
	src_close(s);
	unlink(path);
}

static void test_mem_and_urls(void)
{
	uint8_t data[5000], buf[6000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = pattern(i);
	struct src *s;
	if (src_mem_open(data, sizeof(data), "mem:test", &s)) {
		check(0, "memory source");
		return;
	}
	check(src_size(s) == sizeof(data) && !strcmp(src_url(s), "mem:test"), "memory size, name");
	check(src_pread(s, buf, sizeof(buf), 1000) == 4000 && pattern_at(buf, 1000, 4000),
	      "memory pread is short at the end");
	const uint8_t *v = src_view(s, 10, 100);
	check(v == data + 10, "memory view is the buffer");
	check(!src_view(s, 4990, 11), "no memory view past the end");
	check(src_check(s) == 0, "memory check");
	src_close(s);
	src_close(NULL);

	check(src_open("", &s) == -EINVAL, "empty url");
	/* A port with nothing listening, the client's retries short: a
	 * connection error within seconds (the server tests: src_xrd). */
	setenv("ANAFS_XRD_TIMEOUT", "2", 1);
	char msg[512];
	const char *dead = "root://127.0.0.1:1//data/x.root";
	int rc = src_open_msg(dead, &s, msg, sizeof(msg));
	check((rc == -ECONNREFUSED || rc == -ETIMEDOUT) && strstr(msg, dead),
	      "root:// with nothing listening: %d: %s", rc, msg);
	unsetenv("ANAFS_XRD_TIMEOUT");
	check(src_open("http://x/y", &s) == -EPROTONOSUPPORT, "http:// refused");
	char path[512];
	tmp_path(path, sizeof(path), "missing.root");
	check(src_open(path, &s) == -ENOENT, "missing file");
}

static void expect_notreg(const char *what, const char *path)
{
	struct src *s = NULL;
	int rc = src_open(path, &s);
	check(rc == ANA_ENOTREG, "%s %s refused with ANA_ENOTREG (got %d)", what, path, rc);
	if (!rc)
		src_close(s);
}

static void test_not_regular(void)
{
	alarm(10); /* a FIFO opened for reading without a writer would block */
	char path[512];
	tmp_path(path, sizeof(path), "fifo");
	check(mkfifo(path, 0600) == 0, "mkfifo %s", path);
	expect_notreg("a FIFO", path);
	unlink(path);
	expect_notreg("a device", "/dev/null");
	expect_notreg("a directory", tmp_dir);
	tmp_path(path, sizeof(path), "sock");
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if (len < sizeof(sa.sun_path))
		memcpy(sa.sun_path, path, len + 1);
	if (fd >= 0 && len < sizeof(sa.sun_path) && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		expect_notreg("a socket", path);
	if (fd >= 0)
		close(fd);
	unlink(path);
	check(!strcmp(ana_strerror(ANA_ENOTREG), "not a regular file"), "ANA_ENOTREG text");
	alarm(0);
}

/* ---- files that shrink ---- */

struct reader {
	struct src *s;
	size_t size;
	atomic_int stop;
	long rounds, bad;
};

/* Keep reading views of a file nobody cuts, checking every byte. */
static void *keep_reading(void *arg)
{
	struct reader *r = arg;
	uint64_t off = 0;
	while (!atomic_load(&r->stop) || r->rounds < 20) {
		size_t len = 64 * 1024;
		off = (off + 1234567) % (r->size - len);
		const uint8_t *v = src_view(r->s, off, len);
		if (!v || !pattern_at(v, off, len) || src_check(r->s) != 0)
			r->bad++;
		r->rounds++;
	}
	return NULL;
}

struct faulter {
	const uint8_t *p;
	size_t len;
	pthread_barrier_t *go;
	uint64_t sum;
};

static void *fault_it(void *arg)
{
	struct faulter *f = arg;
	pthread_barrier_wait(f->go);
	f->sum = touch(f->p, f->len);
	return NULL;
}

static int zeros(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Cut a mapped file under its views while two threads read the lost part
 * and a third reads another file: the process lives, the cut source fails
 * with ANA_ECHANGED for good, the other one never notices. */
static void test_truncate_views(void)
{
	const size_t size = 4 * MB, cut = MB;
	char path[512], other[512];
	make_file("cut", size, path, sizeof(path));
	make_file("other", size, other, sizeof(other));
	struct src *s = must_open(path), *o = must_open(other);
	const uint8_t *v = src_view(s, 0, size);
	check(v && pattern_at(v, 0, size), "the whole file through a view");
	if (!v) {
		src_close(s);
		src_close(o);
		return;
	}
	struct reader r = {.s = o, .size = size};
	pthread_t rt;
	pthread_create(&rt, NULL, keep_reading, &r);

	truncate_to(path, (off_t)cut);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, 2);
	struct faulter f1 = {v + 2 * MB, MB, &go, 0}, f2 = {v + cut, 2 * MB, &go, 0};
	pthread_t t1, t2;
	pthread_create(&t1, NULL, fault_it, &f1);
	pthread_create(&t2, NULL, fault_it, &f2);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	pthread_barrier_destroy(&go);
	check(f1.sum == 0 && f2.sum == 0, "bytes past the cut read as zeros");
	check(pattern_at(v, 0, cut), "bytes before the cut are still the file's");
	check(src_check(s) == ANA_ECHANGED, "check after the cut is ANA_ECHANGED");
	uint8_t buf[100];
	check(src_pread(s, buf, sizeof(buf), 0) == ANA_ECHANGED, "pread of a failed source");
	check(!src_view(s, 0, 100), "no view of a failed source");
	struct src_iov iov = {0, sizeof(buf), buf};
	check(src_readv(s, &iov, 1) == ANA_ECHANGED, "readv of a failed source");
	check(src_check(s) == ANA_ECHANGED, "the failure stays");

	atomic_store(&r.stop, 1);
	pthread_join(rt, NULL);
	check(r.bad == 0 && r.rounds >= 20, "the other file read right meanwhile (%ld bad of %ld)",
	      r.bad, r.rounds);
	check(src_check(o) == 0, "the other file's check is 0");
	src_close(s);
	src_close(o);

	/* Cut inside a page: the rest of that page reads zeros without a fault;
	 * fstat() in the check is what sees it. */
	make_file("cut", size, path, sizeof(path));
	s = must_open(path);
	v = src_view(s, 0, size);
	check(v && pattern_at(v + MB, MB, 4096), "view before the cut");
	if (!v) {
		src_close(s);
		return;
	}
	truncate_to(path, (off_t)(MB + 100));
	check(zeros(v + MB + 200, 1000), "the rest of the cut page reads zeros");
	check(src_check(s) == ANA_ECHANGED, "a cut inside a page is seen too");
	src_close(s);
	unlink(path);
	unlink(other);
}

/* Without a mapping the short read itself tells. */
static void test_truncate_pread(void)
{
	char path[512];
	make_file("cutp", 4 * MB, path, sizeof(path));
	setenv("ANAFS_NO_MMAP", "1", 1);
	struct src *s = must_open(path);
	unsetenv("ANAFS_NO_MMAP");
	check(!src_view(s, 0, 10), "open %s without a mapping", path);
	truncate_to(path, MB);
	uint8_t buf[4096];
	check(src_pread(s, buf, sizeof(buf), 0) == sizeof(buf) && pattern_at(buf, 0, sizeof(buf)),
	      "pread before the cut, before any failure");
	check(src_check(s) == 0, "no failure seen yet");
	check(src_pread(s, buf, sizeof(buf), 2 * MB) == ANA_ECHANGED, "pread past the cut");
	check(src_pread(s, buf, sizeof(buf), MB - 100) == ANA_ECHANGED, "pread across the cut");
	check(src_pread(s, buf, 10, 0) == ANA_ECHANGED, "the failure stays for pread");
	check(src_check(s) == ANA_ECHANGED, "and for check");
	src_close(s);
	unlink(path);
}

/* More files than the guard has slots: the rest are read with pread. */
static void test_registry_full(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rlim_t need = SRC_MAX_MAPPED + 64;
	if (rl.rlim_cur < need && rl.rlim_max >= need) {
		rl.rlim_cur = need;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need) {
		printf("test_src: registry case skipped: %llu descriptors allowed, %llu needed\n",
		       (unsigned long long)rl.rlim_cur, (unsigned long long)need);
		return;
	}
	char path[512];
	make_file("many", 8192, path, sizeof(path));
	size_t n = SRC_MAX_MAPPED + 8, mapped = 0, good = 0;
	struct src **v = calloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		uint8_t b[16];
		if (src_open(path, &v[i]))
			break;
		mapped += src_view(v[i], 0, 16) != NULL;
		good += src_pread(v[i], b, 16, 4000) == 16 && pattern_at(b, 4000, 16);
	}
	check(mapped == SRC_MAX_MAPPED && good == n,
	      "%zu files: %zu mapped (want %d), %zu read right", n, mapped, SRC_MAX_MAPPED, good);
	for (size_t i = 0; i < n; i++)
		src_close(v[i]);
	free(v);
	struct src *s = must_open(path);
	check(src_view(s, 0, 16) != NULL, "slots are free again after close");
	src_close(s);
	unlink(path);
}

/* ---- through the ROOT reader ---- */

static int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char buf[1 << 16];
	ssize_t n = 0;
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	int ok = in >= 0 && out >= 0 && n == 0;
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out))
		ok = 0;
	return ok ? 0 : -1;
}

static size_t value_bytes(const struct rootio_column *c)
{
	return c->nvalues * rootio_type_size(c->type);
}

/* Copy a shared file, open its tree, cut the copy to half and read every
 * column window by window, beside the same read of the original: a read
 * either gives the original's values or fails with ANA_ECHANGED or a
 * corrupt-data error naming the copy; and the cut is noticed. */
static void test_truncate_rootio(const char *name, int mapped)
{
	if (!mapped)
		setenv("ANAFS_NO_MMAP", "1", 1);
	char orig[1024], copy[512];
	snprintf(orig, sizeof(orig), "%s/%s", data_dir, name);
	tmp_path(copy, sizeof(copy), "copy.root");
	if (copy_file(orig, copy)) {
		check(0, "copy %s to %s", orig, copy);
		unsetenv("ANAFS_NO_MMAP");
		return;
	}
	struct rootio_file *fo, *fc;
	struct rootio_tree *to, *tc;
	struct rootio_err e;
	if (rootio_open(orig, &fo, &e) || rootio_open(copy, &fc, &e) ||
	    rootio_tree_open(fo, NULL, &to, &e) || rootio_tree_open(fc, NULL, &tc, &e)) {
		check(0, "open %s: %s", name, e.msg);
		unsetenv("ANAFS_NO_MMAP");
		return;
	}
	struct rootio_column a, b;
	rootio_column_init(&a);
	rootio_column_init(&b);
	size_t ncol = rootio_tree_ncolumns(tc);
	int64_t n = rootio_tree_entries(tc), w = 30000;
	/* The first window of every column before the cut: baskets cached. */
	for (size_t i = 0; i < ncol; i++)
		if (rootio_tree_column(tc, i)->kind != ROOTIO_UNSUPPORTED)
			check(rootio_read(tc, i, 0, w < n ? w : n, &b, &e) == 0, "%s: %s", name, e.msg);
	struct stat st;
	stat(copy, &st);
	truncate_to(copy, st.st_size / 2);
	int good = 0, changed = 0, corrupt = 0;
	for (int64_t x = 0; x < n; x += w) {
		int64_t y = x + w < n ? x + w : n;
		for (size_t i = 0; i < ncol; i++) {
			if (rootio_tree_column(tc, i)->kind == ROOTIO_UNSUPPORTED)
				continue;
			int ro = rootio_read(to, i, x, y, &a, &e);
			check(ro == 0, "%s: original: %s", name, e.msg);
			int rc = rootio_read(tc, i, x, y, &b, &e);
			if (rc == 0) {
				good++;
				check(ro == 0 && value_bytes(&a) == value_bytes(&b) &&
					      !memcmp(a.values, b.values, value_bytes(&a)),
				      "%s: column %zu [%lld, %lld): a read that succeeds gives the file's "
				      "values", name, i, (long long)x, (long long)y);
				continue;
			}
			if (rc == ANA_ECHANGED && !changed)
				printf("test_src: %s%s: first error: %s\n", name,
				       mapped ? "" : " (pread)", e.msg);
			changed += rc == ANA_ECHANGED;
			corrupt += rc == ANA_ECORRUPT;
			check((rc == ANA_ECHANGED || rc == ANA_ECORRUPT) && strstr(e.msg, copy),
			      "%s: column %zu: error %d names the copy: %s", name, i, rc, e.msg);
		}
	}
	/* Read with pread, baskets copied before the cut stay the file's bytes:
	 * a small file read whole at first has nothing left to notice. */
	check(changed > 0 || (!mapped && !corrupt),
	      "%s: the cut is reported as ANA_ECHANGED (%d good, %d changed, %d corrupt)", name,
	      good, changed, corrupt);
	printf("test_src: %s%s cut in half: %d reads good, %d ANA_ECHANGED, %d corrupt\n", name,
	       mapped ? "" : " (pread)", good, changed, corrupt);
	rootio_column_free(&a);
	rootio_column_free(&b);
	rootio_tree_close(to);
	rootio_tree_close(tc);
	rootio_close(fo);
	rootio_close(fc);
	/* Reopened, the cut file fails cleanly too. */
	struct rootio_file *f2 = NULL;
	int rc = rootio_open(copy, &f2, &e);
	if (!rc && !(rc = rootio_tree_open(f2, NULL, &tc, &e))) {
		for (size_t i = 0; i < rootio_tree_ncolumns(tc) && !rc; i++)
			if (rootio_tree_column(tc, i)->kind != ROOTIO_UNSUPPORTED)
				rc = rootio_read(tc, i, 0, rootio_tree_entries(tc), &b, &e);
		rootio_tree_close(tc);
	}
	check(rc != 0 && strstr(e.msg, copy), "%s: the cut copy opened again fails: %s", name,
	      rc ? e.msg : "(no error)");
	rootio_close(f2);
	rootio_column_free(&b);
	unlink(copy);
	unsetenv("ANAFS_NO_MMAP");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_src DATA\n");
		return 2;
	}
	data_dir = argv[1];
	/* The XRootD client's own retries short (read when it starts). */
	setenv("XRD_CONNECTIONWINDOW", "1", 0);
	setenv("XRD_CONNECTIONRETRY", "1", 0);
	setenv("XRD_TIMEOUTRESOLUTION", "1", 0);
	const char *t = getenv("TMPDIR");
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/test_src.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmp_dir)) {
		fprintf(stderr, "test_src: mkdtemp %s: %s\n", tmp_dir, strerror(errno));
		return 2;
	}
	/* First, before this process installs the guard: the children must. */
	int mapped = mapping_works();
	if (mapped)
		test_foreign_sigbus();
	else
		printf("test_src: files are not mapped here (a sanitizer keeps SIGBUS to itself?): "
		       "the cases of mapped files are skipped\n");
	test_local(mapped);
	setenv("ANAFS_NO_MMAP", "1", 1);
	test_local(0);
	unsetenv("ANAFS_NO_MMAP");
	test_mem_and_urls();
	test_not_regular();
	if (mapped) {
		test_truncate_views();
		test_registry_full();
	}
	test_truncate_pread();
	test_truncate_rootio("bench/nano_like_lz4_200k.root", mapped); /* raw baskets used in place */
	test_truncate_rootio("bench/nano_like_lz4_200k.root", 0);
	test_truncate_rootio("bench/nano_like_zstd_500k.root", mapped);
	test_truncate_rootio("root/uproot-HZZ-uncompressed.root", mapped);
	char path[512];
	tmp_path(path, sizeof(path), "foreign");
	unlink(path);
	tmp_path(path, sizeof(path), "guarded");
	unlink(path);
	rmdir(tmp_dir);
	printf("test_src: %d checks, %d failed\n", nchecks, failures);
	return failures ? 1 : 0;
}
