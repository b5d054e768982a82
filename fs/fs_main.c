/* fs_main.c — mounting, serving and stopping the mount.
 *
 * The design (docs/mount.md has the user's side):
 *   - libfuse's low-level API, in its multithreaded loop (at most ten
 *     workers).  No request handler ever blocks: a read of
 *     jobs/N/wait on a job that is not over is parked on a list and
 *     answered later (fs_wait.c), so a thousand waiters hold no thread
 *     and every other request is served as if they were not there.
 *   - Inode numbers are computed from what they name where that never
 *     changes; files whose content changes get a node per open
 *     (fs_node.c), so that fstat() tells the size of the very snapshot a
 *     descriptor reads.
 *   - One notifier thread turns the coordinator's events into answers to
 *     the parked reads, cache invalidations and poll wake-ups.
 *   - Stopping: SIGINT, SIGTERM and SIGHUP are blocked in every thread
 *     (fs_mount blocks them before there is any other thread); a signal
 *     thread takes them with sigtimedwait(), marks the session exited and
 *     pokes the thread in the loop with SIGUSR1 until the loop returns
 *     (libfuse's loop sleeps on a semaphore that only a signal handler or
 *     a finishing worker wakes).  fusermount3 -u ends the loop by itself.
 *     Then every parked read is answered, the notifier stops and the mount
 *     goes, all within milliseconds. */
#include "fs_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Workers kept idle: libfuse makes at most 10; none ever blocks. */
#define FS_IDLE_THREADS 10

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	/* open(O_TRUNC) in one request: each open for writing gets a fresh
	 * draft without a separate truncate of the shared inode. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	(void)userdata;
}

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

static void fail(struct fs_mount *m)
{
	if (m->se) {
		if (m->mounted)
			fuse_session_unmount(m->se);
		fuse_session_destroy(m->se);
	}
	fs_nodes_free(m);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->wait_lock);
	pthread_mutex_destroy(&m->ev_lock);
	pthread_cond_destroy(&m->ev_cond);
	free(m);
}

int fs_mount(const struct fs_opts *o, struct fs_mount **out, char *msg, size_t cap)
{
	sigset_t set;
	stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct fs_mount *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->o = *o;
	snprintf(m->mountpoint, sizeof(m->mountpoint), "%s", o->mountpoint);
	snprintf(m->basedir, sizeof(m->basedir), "%s", o->basedir ? o->basedir : ".");
	m->o.mountpoint = m->mountpoint;
	m->o.basedir = m->basedir;
	m->ctx.started = fs_now();
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->wait_lock, NULL);
	pthread_mutex_init(&m->ev_lock, NULL);
	pthread_cond_init(&m->ev_cond, NULL);
	if (fs_nodes_init(m)) {
		fail(m);
		return -ENOMEM;
	}
	struct fuse_lowlevel_ops ops = {.init = fs_init};
	fs_ll_ops(&ops);
	fs_dir_ops(&ops);
	fs_file_ops(&ops);
	fs_draft_ops(&ops);
	char opts[256];
	snprintf(opts, sizeof(opts), "fsname=anafs,subtype=anafs,default_permissions%s",
		 o->allow_other ? ",allow_other" : "");
	char *argv[] = {"anafs", "-o", opts, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	m->se = fuse_session_new(&args, &ops, sizeof(ops), m);
	fuse_opt_free_args(&args);
	const char *why = NULL;
	if (!m->se)
		why = "cannot set up FUSE";
	else if (fuse_session_mount(m->se, m->mountpoint))
		why = "cannot mount (is /dev/fuse there, and fusermount3?)";
	else if ((m->mounted = true) && fuse_daemonize(o->foreground ? 1 : 0))
		why = "cannot go to the background";
	if (why) {
		snprintf(msg, cap, "%s: %s", m->mountpoint, why);
		fail(m);
		return -EIO;
	}
	*out = m;
	return 0;
}

int fs_stop_signal(const struct fs_mount *m)
{
	return atomic_load(&m->stop_signal);
}

/* ---- stopping ---- */

static void on_poke(int sig)
{
	(void)sig; /* only to interrupt the loop's sem_wait() */
}

static void *sig_main(void *arg)
{
	struct fs_mount *m = arg;
	sigset_t set;
	stop_signals(&set);
	while (!atomic_load(&m->loop_done)) {
		struct timespec t = {0, 50 * 1000 * 1000};
		int sig = sigtimedwait(&set, NULL, &t);
		if (sig <= 0)
			continue;
		atomic_store(&m->stop_signal, sig);
		fuse_session_exit(m->se);
		while (!atomic_load(&m->loop_done)) {
			struct timespec poke = {0, 20 * 1000 * 1000};
			pthread_kill(m->main_tid, SIGUSR1);
			nanosleep(&poke, NULL);
		}
	}
	return NULL;
}

/* The names of existing jobs, oldest first, for the jobs/NAME links. */
static void load_names(struct fs_mount *m)
{
	int64_t *ids = NULL;
	size_t n = 0;
	if (store_jobs(m->ctx.st, &ids, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		struct job_info info;
		if (coord_job(m->ctx.sc, ids[i], &info))
			continue;
		pthread_mutex_lock(&m->lock);
		fs_name_job(m, info.name, ids[i], info.uid, info.created);
		pthread_mutex_unlock(&m->lock);
	}
	free(ids);
}

int fs_loop(struct fs_mount *m, struct store *st, struct coord *sc)
{
	m->ctx.st = st;
	m->ctx.sc = sc;
	load_names(m);
	m->main_tid = pthread_self();
	struct sigaction sa = {.sa_handler = on_poke}, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, &old);
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	/* With FUSE_USE_VERSION 35 this is the 3.2 struct (libfuse's default
	 * of at most 10 workers): fuse_loop_cfg_create() makes the 3.12 one,
	 * which the 3.2 loop would misread (a new thread per request). */
	struct fuse_loop_config cfg = {.clone_fd = 0, .max_idle_threads = FS_IDLE_THREADS};
	int rc = fs_notifier_start(m);
	if (!rc && !(rc = -pthread_create(&m->sigthread, NULL, sig_main, m))) {
		rc = fuse_session_loop_mt(m->se, &cfg);
		atomic_store(&m->loop_done, true);
		pthread_join(m->sigthread, NULL);
	}
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	sigaction(SIGUSR1, &old, NULL);
	fs_notifier_stop(m);
	fs_wait_shutdown(m);
	fuse_session_unmount(m->se);
	m->mounted = false;
	return rc < 0 ? rc : 0;
}

void fs_unmount(struct fs_mount *m)
{
	if (!m)
		return;
	/* Handles the kernel never released (files open when the daemon was
	 * stopped): free what they hold. */
	for (struct fs_handle *h = m->handles, *next; h; h = next) {
		next = h->hnext;
		if (h->d) {
			free(h->d->buf);
			free(h->d);
		}
		for (size_t i = 0; i < h->nents; i++)
			free(h->ents[i].name);
		free(h->ents);
		free(h->buf);
		free(h);
	}
	free(m->evq);
	fail(m);
}
