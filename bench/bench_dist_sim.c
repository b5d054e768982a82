/* bench_dist_sim.c — bench_dist's simulation: many files, many workers
 * that are threads of this process (bench_dist.h).
 *
 * The coordinator and its store are the real ones (backend_workers over a
 * store file in a temp state folder, conf backend "manual": no launcher).
 * Each simulated worker is a thread with its own nng pair1 socket dialing
 * STATE/workers.sock, speaking wire.h as `anafs worker` does: HELLO,
 * CHALLENGE, AUTH with the state folder's secret, WELCOME (whose proof it
 * checks), then PROGRESS every progress period as its heartbeat and, for
 * each TASK, at once a RESULT holding the empty result of the query (made
 * once: the codec's bytes of result_new() of the planned query).  No file
 * is read by the workers; the planner reads every file's header. */
#include "bench_dist.h"

#include "plan.h"
#include "result.h"
#include "store.h"
#include "wire.h"

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct sim {
	char url[PATH_MAX + 16];
	uint8_t secret[WIRE_SECRET];
	const void *blob;
	size_t blob_len;
	atomic_bool stop;
	atomic_int ready, failed, byes;
	atomic_llong tasks, bad_frames, heartbeats;
	atomic_llong cpu_ns;  /* the worker threads' own CPU, summed as they end */
	pthread_mutex_t mu;
	char first_err[300];
};

struct simw {
	struct sim *s;
	int i;
	pthread_t tid;
	bool started;
};

static void sim_err(struct sim *s, const char *fmt, const char *a, const char *b)
{
	pthread_mutex_lock(&s->mu);
	if (!s->first_err[0])
		snprintf(s->first_err, sizeof(s->first_err), fmt, a, b);
	pthread_mutex_unlock(&s->mu);
}

static int send_msg(nng_socket sock, struct wire_session *sess, const struct wire_msg *m)
{
	void *buf = NULL;
	size_t len = 0;
	int rc = wire_encode(sess, m, &buf, &len);
	if (!rc && nng_send(sock, buf, len, 0))
		rc = -EIO;
	free(buf);
	return rc;
}

/* A frame within ms: 0, -ETIMEDOUT, -EIO, or wire_decode()'s error. */
static int recv_msg(struct sim *s, nng_socket sock, struct wire_session *sess, int ms,
		    struct wire_msg *m)
{
	char *buf = NULL;
	size_t len = 0;
	nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, ms < 1 ? 1 : ms);
	int rv = nng_recv(sock, &buf, &len, NNG_FLAG_ALLOC);
	if (rv)
		return rv == NNG_ETIMEDOUT ? -ETIMEDOUT : -EIO;
	char why[256] = "";
	int rc = wire_decode(sess, buf, len, m, why, sizeof(why));
	nng_free(buf, len);
	if (rc) {
		atomic_fetch_add(&s->bad_frames, 1);
		sim_err(s, "a frame from the coordinator does not decode: %s%s", why, "");
	}
	return rc;
}

/* HELLO .. WELCOME: 0 with sess ready, else -1. */
static int handshake(struct simw *w, nng_socket sock, struct wire_session *sess, int *hb_ms)
{
	struct sim *s = w->s;
	struct wire_msg h = {.type = WIRE_HELLO}, m;
	if (wire_random(h.u.hello.nonce, WIRE_NONCE))
		return -1;
	snprintf(h.u.hello.name, sizeof(h.u.hello.name), "sim-%d", w->i);
	snprintf(h.u.hello.host, sizeof(h.u.hello.host), "sim");
	snprintf(h.u.hello.backend, sizeof(h.u.hello.backend), "manual");
	h.u.hello.pid = (int32_t)getpid();
	h.u.hello.slots = 1;
	if (send_msg(sock, NULL, &h))
		return -1;
	if (recv_msg(s, sock, NULL, 10000, &m) || m.type != WIRE_CHALLENGE) {
		sim_err(s, "no CHALLENGE%s%s", "", "");
		return -1;
	}
	uint8_t cnonce[WIRE_NONCE];
	memcpy(cnonce, m.u.challenge.nonce, WIRE_NONCE);
	wire_msg_free(&m);
	struct wire_msg a = {.type = WIRE_AUTH};
	wire_proof_worker(s->secret, &h.u.hello, cnonce, a.u.auth.proof);
	if (send_msg(sock, NULL, &a))
		return -1;
	if (recv_msg(s, sock, NULL, 10000, &m) || m.type != WIRE_WELCOME) {
		sim_err(s, "no WELCOME%s%s", "", "");
		return -1;
	}
	uint8_t want[WIRE_MAC];
	wire_proof_coord(s->secret, h.u.hello.nonce, cnonce, want);
	bool good = wire_proof_equal(want, m.u.welcome.proof);
	*hb_ms = (int)m.u.welcome.progress_ms;
	wire_msg_free(&m);
	if (!good) {
		sim_err(s, "the coordinator's proof is wrong%s%s", "", "");
		return -1;
	}
	wire_session_init(sess, s->secret, cnonce, h.u.hello.nonce, false);
	return 0;
}

static long long thread_cpu_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static double process_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static void *sim_worker(void *arg)
{
	struct simw *w = arg;
	struct sim *s = w->s;
	nng_socket sock;
	struct wire_session sess = {0};
	int hb_ms = 500;
	if (nng_pair1_open(&sock)) {
		atomic_fetch_add(&s->failed, 1);
		atomic_fetch_add(&s->cpu_ns, thread_cpu_ns());
		return NULL;
	}
	nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, 4u << 20);
	nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, 5000);
	int rv = -1;
	for (int k = 0; k < 200 && !atomic_load(&s->stop); k++) {
		if (!(rv = nng_dial(sock, s->url, NULL, 0)))
			break;
		bd_sleep(0.05);
	}
	if (rv || handshake(w, sock, &sess, &hb_ms)) {
		if (rv)
			sim_err(s, "dialing %.200s: %s", s->url, nng_strerror(rv));
		atomic_fetch_add(&s->failed, 1);
		nng_close(sock);
		atomic_fetch_add(&s->cpu_ns, thread_cpu_ns());
		return NULL;
	}
	atomic_fetch_add(&s->ready, 1);
	double period = hb_ms / 1000.0, next_hb = 0;
	while (!atomic_load(&s->stop)) {
		double now = bd_now();
		if (now >= next_hb) {
			struct wire_msg p = {.type = WIRE_PROGRESS};
			if (send_msg(sock, &sess, &p)) {
				sim_err(s, "sending PROGRESS failed%s%s", "", "");
				break;
			}
			atomic_fetch_add(&s->heartbeats, 1);
			next_hb = now + period;
		}
		struct wire_msg m;
		int rc = recv_msg(s, sock, &sess, (int)((next_hb - bd_now()) * 1000) + 1, &m);
		if (rc == -ETIMEDOUT)
			continue;
		if (rc)
			break; /* out of step: a real worker would start a new session */
		if (m.type == WIRE_TASK) {
			struct wire_msg r = {.type = WIRE_RESULT};
			r.u.result.key = m.u.task.key;
			r.u.result.events = m.u.task.last - m.u.task.first;
			r.u.result.blob = s->blob;
			r.u.result.blob_len = s->blob_len;
			atomic_fetch_add(&s->tasks, 1);
			wire_msg_free(&m);
			if (send_msg(sock, &sess, &r)) {
				sim_err(s, "sending a RESULT failed%s%s", "", "");
				break;
			}
			continue;
		}
		bool bye = m.type == WIRE_BYE;
		if (bye) {
			atomic_fetch_add(&s->byes, 1);
			sim_err(s, "told BYE: %s%s", m.u.bye.why, "");
		}
		wire_msg_free(&m); /* ACK, CANCEL (the result went already) */
		if (bye)
			break;
	}
	nng_close(sock);
	atomic_fetch_add(&s->cpu_ns, thread_cpu_ns());
	return NULL;
}

static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) ? 0 : (long long)st.st_size;
}

/* The codec's bytes of the query's empty result, planned on one file. */
static int empty_blob(const char *data, const char *hists, void **blob, size_t *len)
{
	char q[PATH_MAX + 512];
	snprintf(q, sizeof(q), "dataset %s/f000000.root\n%s", data, hists);
	struct plan *p;
	struct result *res = NULL;
	struct ql_error err;
	if (plan_new(q, strlen(q), &(struct plan_opts){.basedir = "/", .filename = "sim.query"},
		     &p, &err)) {
		fprintf(stderr, "bench_dist: %s\n", err.text);
		return -1;
	}
	int rc = result_new(plan_query(p), &res);
	if (!rc)
		rc = result_encode(res, blob, len);
	result_free(res);
	plan_unref(p);
	return rc ? -1 : 0;
}

static void stop_workers(struct sim *s, struct simw *ws, int n)
{
	atomic_store(&s->stop, true);
	for (int i = 0; i < n; i++)
		if (ws[i].started)
			pthread_join(ws[i].tid, NULL);
}

int bd_sim(const struct bd_sim_opts *o)
{
	static const char hists[] = "hist met = MET_pt bins=20 range=0,200\n"
				    "hist mupt = Muon_pt bins=20 range=0,100\n";
	char state[PATH_MAX], data[PATH_MAX + 8], db[PATH_MAX + 16], wal[PATH_MAX + 32];
	char q[PATH_MAX + 512], msg[256];
	double deadline = bd_now() + o->timeout;
	snprintf(state, sizeof(state), "%s/bench-dist-XXXXXX", o->tmp);
	if (!mkdtemp(state)) {
		fprintf(stderr, "bench_dist: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(data, sizeof(data), "%s/data", state);
	snprintf(db, sizeof(db), "%s/anafs.db", state);
	snprintf(wal, sizeof(wal), "%s/anafs.db-wal", state);
	printf("== sim: %ld files, %d simulated workers (threads speaking wire.h) ==\n", o->files,
	       o->workers);
	double t0 = bd_now();
	bool sym;
	if (bd_links(data, o->file, o->files, &sym))
		return 1;
	printf("dataset: %ld %s links to %s (%.1f s to make)\n", o->files,
	       sym ? "symbolic" : "hard", o->file, bd_now() - t0);

	struct bd_run r = {0};
	dist_conf_defaults(&r.conf);
	if (dist_conf_set(&r.conf, "backend", "manual", msg, sizeof(msg))) {
		fprintf(stderr, "bench_dist: %s\n", msg);
		return 1;
	}
	bd_w.quiet_log = true;
	if (bd_start(&r, db, state, &backend_workers, o->workers, 0))
		return 1;
	struct sim *s = calloc(1, sizeof(*s));
	struct simw *ws = calloc((size_t)o->workers, sizeof(*ws));
	void *blob = NULL;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/secret", state);
	dist_ipc_url(state, s->url, sizeof(s->url));
	pthread_mutex_init(&s->mu, NULL);
	int rc = 1;
	double cpu0 = 0;
	if (wire_secret_load(path, false, s->secret, msg, sizeof(msg))) {
		fprintf(stderr, "bench_dist: the secret: %s\n", msg);
		goto out;
	}
	if (empty_blob(data, hists, &blob, &s->blob_len))
		goto out;
	s->blob = blob;
	cpu0 = process_cpu();
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	t0 = bd_now();
	for (int i = 0; i < o->workers; i++) {
		ws[i] = (struct simw){.s = s, .i = i};
		ws[i].started = !pthread_create(&ws[i].tid, &attr, sim_worker, &ws[i]);
	}
	pthread_attr_destroy(&attr);
	double left = deadline - bd_now();
	if (bd_wait_live(&r, o->workers, left < 120 ? left : 120))
		fprintf(stderr, "bench_dist: %d of %d simulated workers connected (%d failed): %s\n",
			coord_workers_live(r.c), o->workers, atomic_load(&s->failed),
			s->first_err);
	int live0 = coord_workers_live(r.c);
	printf("workers connected: %d of %d in %.2f s\n", live0, o->workers, bd_now() - t0);

	snprintf(q, sizeof(q), "dataset %s/*.root\n%s", data, hists);
	int64_t id;
	enum job_status status = JOB_FAILED;
	double t_planned = 0;
	bd_watch_reset();
	double t_sub = bd_now();
	if (bd_submit(&r, q, &id))
		goto out;
	int wrc = bd_wait(&r, id, deadline - bd_now(), &t_planned, &status);
	double t_end = bd_now();
	if (wrc == -ETIMEDOUT) {
		fprintf(stderr, "bench_dist: --timeout %.0f s passed: the job is cancelled\n",
			o->timeout);
		coord_control(r.c, id, "cancel", 6);
	}
	struct job_info info = {0};
	coord_job(r.c, id, &info);
	double first = bd_watch_first(), last = bd_watch_last_back();
	long long dbsz = file_size(db), walsz = file_size(wal);
	int live1 = coord_workers_live(r.c);
	int byes = atomic_load(&s->byes);
	printf("job: %s, %d of %d tasks, %lld events\n", job_status_name(status), info.tasks_done,
	       info.tasks_total, (long long)info.events_done);
	if (t_planned > 0)
		printf("planning (submission to planned):   %9.2f s   (%.0f files/s)\n",
		       t_planned - t_sub, (double)o->files / (t_planned - t_sub));
	if (first > 0 && last > first)
		printf("dispatch (first task out to last back): %6.2f s = %.0f tasks/s\n",
		       last - first, (double)info.tasks_done / (last - first));
	printf("total (submission to done):         %9.2f s\n", t_end - t_sub);
	printf("tasks handed out %lld, given back %lld, answered by the workers %lld\n",
	       (long long)atomic_load(&bd_w.handed), (long long)atomic_load(&bd_w.back),
	       (long long)atomic_load(&s->tasks));
	printf("workers live at the end: %d of %d; told BYE during the job: %d; heartbeats %lld;"
	       " bad frames %lld\n",
	       live1, o->workers, byes, (long long)atomic_load(&s->heartbeats),
	       (long long)atomic_load(&s->bad_frames));
	if (s->first_err[0])
		printf("first worker trouble: %s\n", s->first_err);
	printf("store at the job's end: anafs.db %.1f MB + anafs.db-wal %.1f MB\n", dbsz / 1e6,
	       walsz / 1e6);
	rc = status == JOB_DONE ? 0 : 1;
out:
	bd_stop(&r);
	stop_workers(s, ws, o->workers);
	double wcpu = (double)atomic_load(&s->cpu_ns) * 1e-9, pcpu = process_cpu() - cpu0;
	printf("CPU from the workers' start to their end: %.1f s in the %d worker threads,"
	       " %.1f s in the rest (coordinator, store, nng's threads of both ends)\n", wcpu,
	       o->workers, pcpu - wcpu);
	printf("store after closing: anafs.db %.1f MB + anafs.db-wal %.1f MB\n",
	       file_size(db) / 1e6, file_size(wal) / 1e6);
	printf("peak RSS of the bench process (coordinator, store, %d worker threads): %.0f MB\n",
	       o->workers, bd_peak_mb());
	free(blob);
	free(ws);
	pthread_mutex_destroy(&s->mu);
	free(s);
	if (!o->keep) {
		bd_links_remove(data, o->files);
		bd_rmtree(state);
	}
	return rc;
}
