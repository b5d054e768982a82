/* xrd_load.c — the calls of xrd.h, each passed on to the XRootD module
 * (anafs-xrd.so, built from xrd.cc), which is loaded at the first of them.
 *
 * Where the module is looked for, first found wins (docs/install.md):
 *   1. $ANAFS_XRD_MODULE, a path (a test's, or a site's own build);
 *   2. BINDIR/../lib/anafs/anafs-xrd.so, beside an installed program
 *      (/usr/bin/anafs and /usr/lib/anafs/anafs-xrd.so in the package);
 *   3. BINDIR/anafs-xrd.so, beside the program in a build tree;
 *   4. the build tree's own path, compiled in (ANAFS_XRD_BUILD_MODULE), for
 *      the test and bench programs that live in its subfolders.
 * BINDIR is the folder of /proc/self/exe.  A module that cannot be loaded
 * fails each call with -EPROTONOSUPPORT and a message that names every
 * place tried and why, so that `anafs ls root://...` says what is wrong.
 *
 * ANAFS_XRD_TRACE=1 writes a line to stderr for every call that reached
 * the server: when it began (ms since the first), how long it took, the
 * thread, the call, its bytes or URL and its result (docs/cache.md). */
#include "xrd.h"
#include "xrd_api.h"

#include <dlfcn.h>
#include <sys/syscall.h>
#include <time.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MODULE_NAME "anafs-xrd.so"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const struct xrd_api *api;
static char why[1024]; /* what loading said, when api is NULL */

/* The client's fork handlers off from the start: ours start programs
 * with posix_spawn and never use the client in a forked child, and the
 * handler stops the client's threads at every fork(), which hung the
 * daemon for good when a planning thread was in a call.  XrdCl reads
 * RunForkHandler once before each fork() and once after, and locks its
 * list of file systems only when the first read says 1 and unlocks it only
 * when the second does.  xrd.cc turned it off at the first call; a fork()
 * by another thread at that moment saw it on before and off after, and the
 * list stayed locked: every later call hung in the FileSystem constructor
 * (test_src_xrd's fork test, about one run in ten under TSan).  Set in the
 * environment before main(), while no other thread exists, the client
 * reads it off at every fork.  XrdCl imports XRD_* variables; a value the
 * user set is kept. */
__attribute__((constructor)) static void no_fork_handler(void)
{
	setenv("XRD_RUNFORKHANDLER", "0", 0);
}

static bool tracing;
static double t0;

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* When tracing: the time now, for traced(). */
static double start(void)
{
	return tracing ? now_ms() : 0;
}

/* Returns rc; when tracing, first one line: what (a call), about (URL or
 * "bytes") and n, begun at t. */
static long traced(const char *what, const char *about, unsigned long long n, double t, long rc)
{
	if (!tracing)
		return rc;
	double end = now_ms();
	fprintf(stderr, "xrd-trace %.3f ms +%.3f ms tid %ld %s %s %llu rc %ld\n", t - t0, end - t,
		(long)syscall(SYS_gettid), what, about, n, rc);
	return rc;
}

/* Add "path: err" to why. */
static void add_why(const char *path, const char *err)
{
	size_t used = strlen(why);
	snprintf(why + used, sizeof(why) - used, "%s%s: %s", used ? "; " : "", path, err);
}

/* Try the module at path: true when it is loaded and its table taken. */
static bool try_path(const char *path)
{
	if (access(path, F_OK) != 0) {
		add_why(path, "not there");
		return false;
	}
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *err = dlerror();
		add_why(path, err ? err : "cannot be loaded");
		return false;
	}
	const struct xrd_api *(*getter)(void) =
		(const struct xrd_api *(*)(void))dlsym(h, XRD_API_SYMBOL);
	const struct xrd_api *a = getter ? getter() : NULL;
	if (a && a->version == XRD_API_VERSION && a->size == sizeof(*a)) {
		api = a; /* kept loaded for the life of the process */
		return true;
	}
	add_why(path, getter ? "another version of anafs's module" : "not anafs's module");
	dlclose(h);
	return false;
}

static void load(void)
{
	const char *tr = getenv("ANAFS_XRD_TRACE");
	tracing = tr && *tr == '1';
	t0 = now_ms();
	const char *env = getenv("ANAFS_XRD_MODULE");
	if (env && *env) {
		try_path(env); /* a named module and no other */
		return;
	}
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
		snprintf(path, sizeof(path), "%s/../lib/anafs/" MODULE_NAME, exe);
		if (try_path(path))
			return;
		snprintf(path, sizeof(path), "%s/" MODULE_NAME, exe);
		if (try_path(path))
			return;
	}
#ifdef ANAFS_XRD_BUILD_MODULE
	try_path(ANAFS_XRD_BUILD_MODULE);
#endif
}

/* The module's table, or NULL with msg saying why. */
static const struct xrd_api *get(char *msg, size_t cap)
{
	pthread_once(&once, load);
	if (!api && msg && cap)
		snprintf(msg, cap, "the XRootD client module could not be loaded (%s)", why);
	return api;
}

bool xrd_transient(int rc)
{
	const struct xrd_api *a = get(NULL, 0);
	return a && a->transient(rc);
}

int xrd_open(const char *url, unsigned timeout_s, struct xrd_file **out, char *msg, size_t cap)
{
	const struct xrd_api *a = get(msg, cap);
	if (!a)
		return -EPROTONOSUPPORT;
	double t = start();
	return (int)traced("open", url, 0, t, a->open(url, timeout_s, out, msg, cap));
}

int xrd_fstat(struct xrd_file *f, unsigned timeout_s, struct xrd_info *info, char *msg,
	      size_t cap)
{
	const struct xrd_api *a = get(msg, cap);
	return a ? a->fstat(f, timeout_s, info, msg, cap) : -EPROTONOSUPPORT;
}

int xrd_stat(const char *url, unsigned timeout_s, struct xrd_info *info, char *msg, size_t cap)
{
	const struct xrd_api *a = get(msg, cap);
	if (!a)
		return -EPROTONOSUPPORT;
	double t = start();
	return (int)traced("stat", url, 0, t, a->stat(url, timeout_s, info, msg, cap));
}

ssize_t xrd_read(struct xrd_file *f, void *buf, uint32_t len, uint64_t off, unsigned timeout_s,
		 char *msg, size_t cap)
{
	const struct xrd_api *a = get(msg, cap);
	if (!a)
		return -EPROTONOSUPPORT;
	double t = start();
	char at[40] = "";
	if (tracing)
		snprintf(at, sizeof(at), "at %llu bytes", (unsigned long long)off);
	return traced("read", at, len, t, a->read(f, buf, len, off, timeout_s, msg, cap));
}

int xrd_readv(struct xrd_file *f, const struct xrd_chunk *c, size_t n, unsigned timeout_s,
	      char *msg, size_t cap)
{
	const struct xrd_api *a = get(msg, cap);
	if (!a)
		return -EPROTONOSUPPORT;
	double t = start();
	int rc = a->readv(f, c, n, timeout_s, msg, cap);
	unsigned long long bytes = 0;
	for (size_t i = 0; tracing && i < n; i++)
		bytes += c[i].len;
	return (int)traced("readv", "bytes", bytes, t, rc);
}

int xrd_dirlist(const char *url, unsigned timeout_s,
		int (*each)(void *ctx, const char *name, const struct xrd_info *info), void *ctx,
		char *msg, size_t cap)
{
	const struct xrd_api *a = get(msg, cap);
	if (!a)
		return -EPROTONOSUPPORT;
	double t = start();
	return (int)traced("dirlist", url, 0, t, a->dirlist(url, timeout_s, each, ctx, msg, cap));
}

void xrd_close(struct xrd_file *f, unsigned timeout_s)
{
	const struct xrd_api *a = f ? get(NULL, 0) : NULL;
	if (a)
		a->close(f, timeout_s);
}
