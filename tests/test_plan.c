/* test_plan.c — planning: datasets expanded into clean paths in order,
 * tasks on basket boundaries covering every entry once, each file's
 * identity, every refusal with a message that names the file (a pattern
 * matching nothing, a FIFO, a folder, a missing branch or tree, a branch
 * of another type, a file the submitter may not read), and a recorded plan
 * taken up again: unchanged, grown, touched, its tree rewritten.
 *
 * Usage: test_plan SHARED_DATA_ROOT */
#include "check.h"

#include "ana_err.h"
#include "plan.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static char data[PATH_MAX], tmp[256];

static struct plan *plan_ok(int line, const char *text, const struct plan_opts *o)
{
	struct plan *p = NULL;
	struct ql_error err;
	int rc = plan_new(text, strlen(text), o, &p, &err);
	if (rc) {
		fprintf(stderr, "%s:%d: plan_new gave %d: %s\n", __FILE__, line, rc, err.text);
		failures++;
	}
	return p;
}

/* plan_new refuses text with -EINVAL and an error holding each of words. */
static void plan_refused(int line, const char *text, const struct plan_opts *o,
			 const char *const *words, const char *absent)
{
	struct plan *p = NULL;
	struct ql_error err;
	int rc = plan_new(text, strlen(text), o, &p, &err);
	bool ok = rc == -EINVAL && !p;
	for (const char *const *w = words; ok && *w; w++)
		ok = strstr(err.text, *w) != NULL;
	if (ok && absent)
		ok = strstr(err.text, absent) == NULL;
	if (!ok) {
		fprintf(stderr, "%s:%d: plan_new gave %d, error:\n%s\n", __FILE__, line, rc,
			rc ? err.text : "(none)");
		failures++;
	}
	plan_unref(p);
}

static void run(const char *cmd)
{
	if (system(cmd)) {
		fprintf(stderr, "failed: %s\n", cmd);
		failures++;
	}
}

static const char *hist = "hist met = MET_pt bins=10 range=0,200\n";

static void test_expansion(void)
{
	char cmd[3 * PATH_MAX], q[3 * PATH_MAX];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/d/sub && for f in c a b; do cp %s/nano_dimuon.root "
		 "%s/d/$f.root; done", tmp, data, tmp);
	run(cmd);
	struct plan_opts o = {.basedir = tmp, .filename = "t.query", .task_events = 10};
	/* A pattern expands in order; a path written with ./ and ../ is clean. */
	snprintf(q, sizeof(q), "dataset d/*.root ./d/sub/../a.root\n%s", hist);
	struct plan *p = plan_ok(__LINE__, q, &o);
	if (p) {
		CHECK_EQ_I(plan_nfiles(p), 4);
		const char *want[] = {"/d/a.root", "/d/b.root", "/d/c.root", "/d/a.root"};
		for (size_t i = 0; i < 4 && i < plan_nfiles(p); i++) {
			const struct plan_file *f = plan_file(p, i);
			CHECK(strncmp(f->url, tmp, strlen(tmp)) == 0 && !strcmp(f->url + strlen(tmp),
										 want[i]));
			CHECK(!strstr(f->url, "/./") && !strstr(f->url, "/../"));
			CHECK_STR(f->tree, "Events");
			CHECK_EQ_I(f->entries, 40);
			struct stat st;
			CHECK(stat(f->url, &st) == 0 && f->size == (uint64_t)st.st_size &&
			      f->mtime_ns == (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
			CHECK(f->fingerprint != 0);
		}
		/* The same bytes give the same fingerprint. */
		CHECK(plan_file(p, 0)->fingerprint == plan_file(p, 1)->fingerprint);
		/* Tasks cover every entry once, in order, file by file. */
		int64_t next = 0;
		int file = 0;
		for (size_t i = 0; i < plan_ntasks(p); i++) {
			const struct plan_task *t = plan_task(p, i);
			if (t->file != file) {
				CHECK_EQ_I(next, 40);
				CHECK_EQ_I(t->file, file + 1);
				file = t->file;
				next = 0;
			}
			CHECK_EQ_I(t->first, next);
			CHECK(t->last > t->first);
			next = t->last;
		}
		CHECK_EQ_I(plan_events(p), 160);
		CHECK(plan_ref(p) == p);
		plan_unref(p);
	}
	plan_unref(p);
}

/* Tasks end on basket boundaries: no basket is decoded by two tasks. */
static void test_baskets(void)
{
	char q[2 * PATH_MAX];
	snprintf(q, sizeof(q), "dataset %s/../bench/nano_like_zstd_500k.root\n%s", data, hist);
	struct plan_opts o = {.basedir = tmp, .filename = "t.query", .task_events = 30000};
	struct plan *p = plan_ok(__LINE__, q, &o);
	if (!p)
		return;
	CHECK(plan_ntasks(p) > 2);
	int64_t covered = 0;
	for (size_t i = 0; i < plan_ntasks(p); i++) {
		const struct plan_task *t = plan_task(p, i);
		covered += t->last - t->first;
		CHECK(t->last - t->first >= 30000 || i + 1 == plan_ntasks(p));
	}
	CHECK_EQ_I(covered, 500000);
	/* Every cut is a basket start of the first column read (MET_pt). */
	struct rootio_file *f = NULL;
	struct rootio_tree *t = NULL;
	struct rootio_err e;
	if (!rootio_open(plan_file(p, 0)->url, &f, &e) && !rootio_tree_open(f, "Events", &t, &e)) {
		const int64_t *starts = NULL;
		size_t n = 0;
		int c = rootio_tree_find(t, "MET_pt");
		CHECK(c >= 0 && rootio_tree_baskets(t, (size_t)c, &starts, &n) == 0);
		for (size_t i = 0; c >= 0 && i + 1 < plan_ntasks(p); i++) {
			bool found = false;
			for (size_t k = 0; k <= n && !found; k++)
				found = starts[k] == plan_task(p, i)->last;
			CHECK(found);
		}
	} else {
		failures++;
	}
	rootio_tree_close(t);
	rootio_close(f);
	plan_unref(p);
}

static void test_refusals(void)
{
	char q[3 * PATH_MAX], path[3 * PATH_MAX];
	struct plan_opts o = {.basedir = tmp, .filename = "t.query", .base_desc = "the test's folder"};
	/* A pattern matching nothing: the resolved pattern and the base folder. */
	snprintf(path, sizeof(path), "%s/nothing/*.root", tmp);
	plan_refused(__LINE__, "dataset nothing/*.root\nhist met = MET_pt bins=10 range=0,200\n", &o,
		     (const char *[]){"t.query:1:1: error:", "matches no file", path,
				      "relative paths start at", "the test's folder", NULL},
		     "/./");
	/* A missing file. */
	plan_refused(__LINE__, "dataset nothere.root\nhist met = MET_pt bins=10 range=0,200\n", &o,
		     (const char *[]){"nothere.root", "No such file", NULL}, NULL);
	/* A FIFO and a folder: refused, never opened. */
	snprintf(path, sizeof(path), "mkdir -p %s/odd/dir.root && mkfifo %s/odd/fifo.root", tmp, tmp);
	run(path);
	alarm(30);
	plan_refused(__LINE__, "dataset odd/fifo.root\nhist met = MET_pt bins=10 range=0,200\n", &o,
		     (const char *[]){"fifo.root", "FIFO", NULL}, NULL);
	alarm(0);
	plan_refused(__LINE__, "dataset odd/dir.root\nhist met = MET_pt bins=10 range=0,200\n", &o,
		     (const char *[]){"dir.root", "folder", NULL}, NULL);
	/* A file lacking a branch the query reads; a tree it does not hold. */
	snprintf(q, sizeof(q), "dataset %s/nano_dimuon.root %s/uproot-HZZ-zlib.root\n%s", data, data,
		 hist);
	plan_refused(__LINE__, q, &o,
		     (const char *[]){"uproot-HZZ-zlib.root", "MET_pt", "missing", NULL}, NULL);
	snprintf(q, sizeof(q), "dataset %s/nano_dimuon.root\ntree nosuch\n%s", data, hist);
	plan_refused(__LINE__, q, &o, (const char *[]){"nosuch", NULL}, NULL);
	/* An unknown branch of the first file: the checker's error and hint. */
	snprintf(q, sizeof(q), "dataset %s/nano_dimuon.root\nhist met = MET_ptt bins=10 range=0,1\n",
		 data);
	plan_refused(__LINE__, q, &o, (const char *[]){"t.query:2:12:", "MET_ptt", "hint:", NULL},
		     NULL);
	/* A file the submitter may not read: permission denied, nothing else. */
	snprintf(path, sizeof(path), "cp %s/nano_dimuon.root %s/secret.root && chmod 600 "
		 "%s/secret.root", data, tmp, tmp);
	run(path);
	struct plan_opts shared = o;
	shared.check_access = true;
	shared.uid = 65534;
	shared.gid = 65534;
	struct stat st;
	snprintf(path, sizeof(path), "%s/secret.root", tmp);
	stat(path, &st);
	char size[32];
	snprintf(size, sizeof(size), "%lld", (long long)st.st_size);
	plan_refused(__LINE__, "dataset secret.root\nhist met = MET_pt bins=10 range=0,200\n",
		     &shared, (const char *[]){"secret.root", "permission denied", NULL}, size);
	/* Listing a folder the submitter may not read is refused too. */
	snprintf(path, sizeof(path), "mkdir -p %s/closed && cp %s/nano_dimuon.root %s/closed/x.root "
		 "&& chmod 644 %s/closed/x.root && chmod 711 %s/closed", tmp, data, tmp, tmp, tmp);
	run(path);
	plan_refused(__LINE__, "dataset closed/*.root\nhist met = MET_pt bins=10 range=0,200\n",
		     &shared, (const char *[]){"permission denied", NULL}, NULL);
	/* ...while naming the file there (search, no listing) is allowed. */
	struct plan *p = plan_ok(__LINE__, "dataset closed/x.root\nhist met = MET_pt bins=10 "
					    "range=0,200\n", &shared);
	plan_unref(p);
	/* A server that does not answer: refused naming the URL, once the
	 * (here short) deadline for a server to come back has passed. */
	setenv("ANAFS_XRD_TIMEOUT", "2", 1);
	setenv("XRD_CONNECTIONWINDOW", "1", 1);
	setenv("XRD_CONNECTIONRETRY", "1", 1);
	plan_refused(__LINE__, "dataset root://localhost//x.root\nhist met = MET_pt bins=10 "
			       "range=0,200\n", &o, (const char *[]){"root://localhost//x.root", NULL},
		     NULL);
}

/* A recorded plan taken up: the same; then each way a file may change. */
static void test_resume(void)
{
	char q[3 * PATH_MAX], file[512], cmd[3 * PATH_MAX], why[1024];
	snprintf(file, sizeof(file), "%s/r.root", tmp);
	snprintf(cmd, sizeof(cmd), "cp %s/nano_dimuon.root %s", data, file);
	run(cmd);
	snprintf(q, sizeof(q), "dataset %s %s\n%s", file, file, hist);
	struct plan_opts o = {.basedir = tmp, .filename = "t.query", .task_events = 10};
	struct plan *p = plan_ok(__LINE__, q, &o);
	if (!p)
		return;
	size_t nf = plan_nfiles(p), nt = plan_ntasks(p);
	struct plan_file files[2];
	struct plan_task tasks[64];
	CHECK(nf == 2 && nt < 64);
	for (size_t i = 0; i < nf; i++)
		files[i] = *plan_file(p, i);
	for (size_t i = 0; i < nt && i < 64; i++)
		tasks[i] = *plan_task(p, i);
	struct plan *r = NULL;
	CHECK_EQ_I(plan_resume(q, strlen(q), &o, files, nf, tasks, nt, &r, why, sizeof(why)), 0);
	if (r) {
		CHECK_EQ_I(plan_ntasks(r), nt);
		CHECK_EQ_I(plan_events(r), plan_events(p));
		plan_unref(r);
	}
	/* Touched: the same size, another time. */
	struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
	CHECK_EQ_I(utimes(file, tv), 0);
	r = NULL;
	CHECK_EQ_I(plan_resume(q, strlen(q), &o, files, nf, tasks, nt, &r, why, sizeof(why)),
		   ANA_ECHANGED);
	CHECK(!r && strstr(why, "r.root") && strstr(why, "modified"));
	/* Grown. */
	FILE *f = fopen(file, "a");
	CHECK(f && fputs("more", f) >= 0);
	if (f)
		fclose(f);
	CHECK_EQ_I(plan_resume(q, strlen(q), &o, files, nf, tasks, nt, &r, why, sizeof(why)),
		   ANA_ECHANGED);
	CHECK(strstr(why, "bytes then") != NULL);
	/* Rewritten to the same size and time, another tree: the fingerprint. */
	snprintf(cmd, sizeof(cmd), "cp %s/nano_dimuon.root %s", data, file);
	run(cmd);
	struct stat st;
	CHECK_EQ_I(stat(file, &st), 0);
	for (size_t i = 0; i < nf; i++) {
		files[i].size = (uint64_t)st.st_size;
		files[i].mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		files[i].fingerprint ^= 1;
	}
	CHECK_EQ_I(plan_resume(q, strlen(q), &o, files, nf, tasks, nt, &r, why, sizeof(why)),
		   ANA_ECHANGED);
	CHECK(strstr(why, "tree") != NULL);
	/* Gone. */
	CHECK_EQ_I(unlink(file), 0);
	CHECK_EQ_I(plan_resume(q, strlen(q), &o, files, nf, tasks, nt, &r, why, sizeof(why)),
		   -ENOENT);
	CHECK(strstr(why, "r.root") != NULL);
	plan_unref(p);
}

int main(int argc, char **argv)
{
	if (argc != 2 || !realpath(argv[1], data)) {
		fprintf(stderr, "usage: test_plan SHARED_DATA_ROOT\n");
		return 2;
	}
	snprintf(tmp, sizeof(tmp), "/tmp/anafs-test-plan-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	chmod(tmp, 0755);
	test_expansion();
	test_baskets();
	test_refusals();
	test_resume();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	run(cmd);
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
