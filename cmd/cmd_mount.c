/* cmd_mount.c — `anafs mount`, `anafs umount`, `anafs submit`. */
#include "cmd.h"
#include "fs.h"
#include "coord.h"
#include "gpu.h"
#include "dist.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* $XDG_STATE_HOME/anafs, else ~/.local/state/anafs. */
void cmd_default_state(char *out, size_t cap)
{
	const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	if (x && *x)
		snprintf(out, cap, "%s/anafs", x);
	else
		snprintf(out, cap, "%s/.local/state/anafs", home && *home ? home : ".");
}

static int mkdirs(const char *path)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(p, 0700) && errno != EEXIST)
				return -errno;
			*s = '/';
		}
	return mkdir(p, 0700) && errno != EEXIST ? -errno : 0;
}

static int run_fusermount(const char *dir, bool lazy)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0 && lazy)
			dup2(null, 2);
		execlp("fusermount3", "fusermount3", "-u", lazy ? "-z" : "-u", dir, (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* The daemon's pid, from the lock file it wrote it into; 0 if none. */
static pid_t daemon_pid(const char *lockpath)
{
	char buf[32] = "";
	int fd = open(lockpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	long pid = strtol(buf, NULL, 10);
	return pid > 1 ? (pid_t)pid : 0;
}

/* Whether process pid is gone: no such process, or a zombie (the daemon
 * is not our child: init reaps it). */
static bool pid_gone(pid_t pid)
{
	char path[64], stat[512] = "";
	if (pid <= 0 || (kill(pid, 0) && errno == ESRCH))
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	bool zombie = fgets(stat, sizeof(stat), f) && strrchr(stat, ')') &&
		      strrchr(stat, ')')[1] == ' ' && strrchr(stat, ')')[2] == 'Z';
	fclose(f);
	return zombie;
}

/* Wait (at most secs) until no daemon holds the lock of the state folder
 * and the daemon's process has exited. */
static bool wait_daemon_gone(const char *lockpath, pid_t pid, int secs)
{
	for (int i = 0; i < secs * 50; i++) {
		int fd = open(lockpath, O_RDWR | O_CLOEXEC);
		bool free_now = fd < 0 || flock(fd, LOCK_EX | LOCK_NB) == 0;
		if (fd >= 0)
			close(fd);
		if (free_now && pid_gone(pid))
			return true;
		usleep(20000);
	}
	return false;
}

/* /proc/self/mounts writes a space as \040, a tab \011, a newline \012
 * and a backslash \134: decode a field in place. */
static void unescape_mount_field(char *s)
{
	char *out = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = 0;
}

/* Whether path is a mount point of an anafs daemon already. */
static bool anafs_mounted(const char *path)
{
	FILE *f = fopen("/proc/self/mounts", "r");
	if (!f)
		return false;
	char line[8192], dev[4096], mnt[4096], type[256];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%4095s %4095s %255s", dev, mnt, type) != 3)
			continue;
		unescape_mount_field(mnt);
		found = !strcmp(mnt, path) && !strncmp(type, "fuse", 4) && strstr(dev, "anafs");
	}
	fclose(f);
	return found;
}

/* What the store's check at open found, told before the daemon leaves the
 * terminal (the jobs affected say it again in their error). */
static void say_damage(struct store *st)
{
	int64_t *ids = NULL;
	size_t n = 0;
	char summary[1024] = "";
	if (store_damaged(st, &ids, &n, summary, sizeof(summary)) == 0 && *summary)
		fprintf(stderr, "anafs mount: %s\n", summary);
	free(ids);
}

static int mount_usage(void)
{
	fprintf(stderr, "usage: anafs mount DIR [--state DIR] [--workers N] [--backend NAME] "
			"[--set KEY=VALUE]... [--foreground] [--allow-other] [--hist-memory SIZE] [--no-reuse] "
			"[--gpu auto|on|off]\n");
	return 2;
}

/* Why the state folder cannot be written, as the user should read it. */
static void state_error(const char *dir, int err)
{
	if (err == EROFS)
		fprintf(stderr, "anafs mount: state directory %s is read-only\n", dir);
	else if (err == EACCES || err == EPERM)
		fprintf(stderr, "anafs mount: state directory %s is not writable: %s\n", dir,
			strerror(err));
	else
		fprintf(stderr, "anafs mount: state directory %s: %s\n", dir, strerror(err));
}

/* Make the state folder private (0700, its files 0600) and take its lock:
 * *lfd holds it for the daemon's life.  Returns 0 or prints why and 1. */
static int take_state(const char *st_dir, const char *lock, const char *db, int *lfd)
{
	/* The database holds every query and dataset path: whatever the
	 * folder's mode was, only its owner reads it. */
	umask(077);
	if (chmod(st_dir, 0700) && errno != EPERM) {
		state_error(st_dir, errno);
		return 1;
	}
	const char *sfx[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		char p[PATH_MAX + 32];
		snprintf(p, sizeof(p), "%s%s", db, sfx[i]);
		chmod(p, 0600); /* files of an older anafs: ENOENT is fine */
	}
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		state_error(st_dir, errno);
		return 1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			fprintf(stderr, "anafs mount: another anafs daemon uses %s\n", st_dir);
		else
			state_error(st_dir, e);
		return 1;
	}
	fchmod(fd, 0600);
	if (access(st_dir, W_OK)) { /* the lock may be old, the folder not writable now */
		state_error(st_dir, errno);
		close(fd);
		return 1;
	}
	*lfd = fd;
	return 0;
}

/* What the caller's stdout and stderr were when anafs mount started. */
static struct stat caller_out[2];
static bool caller_out_known[2];

/* In the daemon: its pid into the lock file (anafs umount waits for it),
 * its messages into STATE/daemon.log when it runs in the background. */
static void daemon_files(int lfd, const char *st_dir, bool fg)
{
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(lfd, 0) == 0 && pwrite(lfd, pid, (size_t)n, 0) != n)
		fprintf(stderr, "anafs mount: cannot record the daemon's pid\n");
	if (fg)
		return;
	char log[PATH_MAX + 16];
	snprintf(log, sizeof(log), "%s/daemon.log", st_dir);
	int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	/* Libraries that copied stderr when they were loaded (the XRootD
	 * client's logger dup()s it) would keep the caller's stderr open for
	 * the daemon's life, and a caller that waits for it to close (a shell
	 * $(...), Python's capture_output) would wait forever: every copy of
	 * the old stderr now points at the log as well. */
	struct stat st;
	for (int i = 3; i < 256; i++) {
		if (i == fd || i == lfd || fstat(i, &st) || S_ISCHR(st.st_mode))
			continue;
		for (int k = 0; k < 2; k++)
			if (caller_out_known[k] && st.st_dev == caller_out[k].st_dev &&
			    st.st_ino == caller_out[k].st_ino)
				dup2(fd, i);
	}
	dup2(fd, 2);
	close(fd);
}

/* The daemon: store, coordinator, the mount's loop; then stop in order
 * (the mount goes first, so users see it go at once). */
/* Serve the mount with a coordinator of options o (its store and events
 * filled in here) until it is unmounted or signalled. */
static int serve(struct fs_mount *m, const char *db, struct coord_opts o)
{
	struct store *store = NULL;
	struct coord *sc = NULL;
	char msg[512] = "";
	int rc = store_open(db, &store, msg, sizeof(msg));
	o.st = store;
	o.on_event = fs_on_event;
	o.event_ctx = m;
	if (!rc)
		rc = coord_start(&o, &sc, msg, sizeof(msg));
	if (rc) {
		fprintf(stderr, "anafs mount: %s\n", *msg ? msg : strerror(-rc));
		fs_unmount(m);
		store_close(store);
		return 1;
	}
	rc = fs_loop(m, store, sc);
	if (fs_stop_signal(m))
		fprintf(stderr, "anafs: stopped by signal %d (%s)\n", fs_stop_signal(m),
			strsignal(fs_stop_signal(m)));
	coord_stop(sc);
	fs_unmount(m);
	store_close(store);
	return rc ? 1 : 0;
}

/* The workers' configuration: STATE/workers.conf, then the options
 * (--workers N, --backend NAME, --set KEY=VALUE, in their order).  It
 * lives as long as the daemon.  0, or prints why and returns 1. */
static struct dist_conf conf;

static int load_conf(const char *st_dir, char **sets, int nsets)
{
	char path[PATH_MAX + 16], msg[768];
	snprintf(path, sizeof(path), "%s/workers.conf", st_dir);
	dist_conf_defaults(&conf);
	if (dist_conf_load(path, &conf, msg, sizeof(msg))) {
		fprintf(stderr, "anafs mount: %s\n", msg);
		return 1;
	}
	for (int i = 0; i < nsets; i++) {
		char key[128];
		const char *eq = strchr(sets[i], '=');
		if (!eq || eq == sets[i] || (size_t)(eq - sets[i]) >= sizeof(key)) {
			fprintf(stderr, "anafs mount: '%s': expected KEY=VALUE\n", sets[i]);
			return 1;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - sets[i]), sets[i]);
		if (dist_conf_set(&conf, key, eq + 1, msg, sizeof(msg))) {
			fprintf(stderr, "anafs mount: %s\n", msg);
			return 1;
		}
	}
	return 0;
}

/* The coordinator's options for the configured backend: the slots it
 * offers at most (the window of tasks in flight follows them). */
static struct coord_opts backend_opts(const char *st_dir)
{
	struct coord_opts o = {.statedir = st_dir, .retries = conf.retries,
			       .retry_backoff = conf.retry_backoff};
	int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	int n = conf.workers > 0 ? conf.workers : cores;
	int slots = conf.slots > 0 ? conf.slots : 1;
	if (!strcmp(conf.backend, "threads")) {
		o.workers = n;
		return o;
	}
	o.backend = &backend_workers;
	o.backend_conf = &conf;
	o.workers = strcmp(conf.backend, "local") ? conf.max_workers * slots : n * slots;
	if (o.workers < 1)
		o.workers = 1;
	return o;
}

int cmd_mount(int argc, char **argv)
{
	for (int k = 0; k < 2; k++)
		caller_out_known[k] = fstat(k + 1, &caller_out[k]) == 0;
	const char *dir = NULL, *state = NULL;
	bool fg = false, other = false, no_reuse = false;
	uint64_t memory = 0;
	char *sets[64], workers_set[64], backend_set[64];
	int nsets = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--state") && i + 1 < argc)
			state = argv[++i];
		else if (!strcmp(argv[i], "--workers") && i + 1 < argc && nsets < 64) {
			char *end;
			long n = strtol(argv[++i], &end, 10);
			if (*end || n < 1 || n > 1024)
				return mount_usage();
			snprintf(workers_set, sizeof(workers_set), "workers=%ld", n);
			sets[nsets++] = workers_set;
		} else if (!strcmp(argv[i], "--backend") && i + 1 < argc && nsets < 64) {
			snprintf(backend_set, sizeof(backend_set), "backend=%.50s", argv[++i]);
			sets[nsets++] = backend_set;
		} else if (!strcmp(argv[i], "--set") && i + 1 < argc && nsets < 64) {
			sets[nsets++] = argv[++i];
		} else if (!strcmp(argv[i], "--hist-memory") && i + 1 < argc) {
			if (cmd_parse_size(argv[++i], &memory))
				return mount_usage();
		} else if (!strcmp(argv[i], "--gpu") && i + 1 < argc) { /* docs/gpu.md */
			enum gpu_mode m;
			if (gpu_mode_parse(argv[++i], &m))
				return mount_usage();
			gpu_mode_set(m);
			setenv("ANAFS_GPU", gpu_mode_name(m), 1); /* the worker processes' */
		} else if (!strcmp(argv[i], "--foreground") || !strcmp(argv[i], "-f"))
			fg = true;
		else if (!strcmp(argv[i], "--allow-other"))
			other = true;
		else if (!strcmp(argv[i], "--no-reuse"))
			no_reuse = true;
		else if (argv[i][0] == '-' || dir)
			return mount_usage();
		else
			dir = argv[i];
	}
	if (!dir)
		return mount_usage();
	char mnt[PATH_MAX], st_dir[PATH_MAX], cwd[PATH_MAX], db[PATH_MAX + 16], lock[PATH_MAX + 16];
	struct stat sb;
	/* A daemon killed hard leaves its mount behind: clear it first.
	 * statfs, not stat: the kernel may answer stat from its cache. */
	struct statfs sf;
	if (statfs(dir, &sf) && errno == ENOTCONN)
		run_fusermount(dir, true);
	if (!realpath(dir, mnt) || stat(mnt, &sb) || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "anafs mount: %s: not a directory\n", dir);
		return 1;
	}
	if (anafs_mounted(mnt)) {
		fprintf(stderr, "anafs mount: %s: anafs is already mounted there\n", mnt);
		return 1;
	}
	if (state)
		snprintf(st_dir, sizeof(st_dir), "%s", state);
	else
		cmd_default_state(st_dir, sizeof(st_dir));
	int rc = mkdirs(st_dir);
	char abs_state[PATH_MAX];
	if (!rc && !realpath(st_dir, abs_state))
		rc = -errno;
	if (rc) {
		state_error(st_dir, -rc);
		return 1;
	}
	/* The daemon runs in "/": every path it keeps must be absolute. */
	snprintf(st_dir, sizeof(st_dir), "%s", abs_state);
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "/");
	snprintf(db, sizeof(db), "%s/anafs.db", st_dir);
	snprintf(lock, sizeof(lock), "%s/daemon.lock", st_dir);
	int lfd = -1; /* one daemon per state folder; never closed: exit releases it */
	if (take_state(st_dir, lock, db, &lfd) || load_conf(st_dir, sets, nsets))
		return 1;
	/* Check the store opens before going to the background. */
	struct store *store = NULL;
	char msg[512] = "";
	if ((rc = store_open(db, &store, msg, sizeof(msg)))) {
		fprintf(stderr, "anafs mount: %s: %s\n", db, msg);
		return 1;
	}
	say_damage(store);
	store_close(store);
	struct fs_opts o = {.mountpoint = mnt, .basedir = cwd, .allow_other = other,
			    .foreground = fg, .uid = getuid(), .gid = getgid()};
	struct fs_mount *m = NULL;
	if ((rc = fs_mount(&o, &m, msg, sizeof(msg)))) {
		fprintf(stderr, "anafs mount: %s\n", msg);
		return 1;
	}
	/* In the daemon now (or the foreground process): the lock stays held
	 * by the inherited descriptor until the process exits. */
	daemon_files(lfd, st_dir, fg);
	static char state_path[PATH_MAX];
	snprintf(state_path, sizeof(state_path), "%s", st_dir);
	struct coord_opts co = backend_opts(state_path);
	co.check_access = other;
	co.resume = true;
	co.hist_memory = memory;
	co.no_reuse = no_reuse;
	co.base_desc = "the folder anafs mount ran in";
	return serve(m, db, co);
}

int cmd_umount(int argc, char **argv)
{
	const char *dir = NULL, *state = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--state") && i + 1 < argc)
			state = argv[++i];
		else if (argv[i][0] == '-' || dir) {
			fprintf(stderr, "usage: anafs umount DIR [--state DIR]\n");
			return 2;
		} else
			dir = argv[i];
	}
	if (!dir) {
		fprintf(stderr, "usage: anafs umount DIR [--state DIR]\n");
		return 2;
	}
	char st_dir[PATH_MAX], lock[PATH_MAX + 16];
	if (state)
		snprintf(st_dir, sizeof(st_dir), "%s", state);
	else
		cmd_default_state(st_dir, sizeof(st_dir));
	snprintf(lock, sizeof(lock), "%s/daemon.lock", st_dir);
	pid_t pid = daemon_pid(lock);
	if (run_fusermount(dir, false)) {
		fprintf(stderr, "anafs umount: %s: fusermount3 -u failed\n", dir);
		return 1;
	}
	/* Return only once the daemon has exited: a script may mount again,
	 * or read the state folder, on its next line. */
	if (!wait_daemon_gone(lock, pid, 30)) {
		fprintf(stderr, "anafs umount: the daemon of %s (pid %d) has not stopped yet\n",
			st_dir, (int)pid);
		return 1;
	}
	return 0;
}

/* ---- anafs submit ---- */

static void print_error(const char *mnt, const char *job)
{
	char path[PATH_MAX + 80], buf[4096];
	snprintf(path, sizeof(path), "%s/jobs/%s/error", mnt, job);
	FILE *e = fopen(path, "r");
	size_t n;
	if (!e)
		return;
	while ((n = fread(buf, 1, sizeof(buf), e)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(e);
}

/* Wait (at most 60 s) until job is planned or over, as its progress.json
 * says: its dataset's errors arrive after the submission.  Returns the
 * status then (JOB_QUEUED when it cannot tell). */
static enum job_status wait_planned(const char *mnt, const char *job)
{
	char path[PATH_MAX + 80], buf[8192];
	snprintf(path, sizeof(path), "%s/jobs/%s/progress.json", mnt, job);
	for (int i = 0; i < 60 * 20; i++) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = 0;
		for (int s = JOB_DONE; s <= JOB_INVALID; s++) {
			char want[64];
			snprintf(want, sizeof(want), "\"status\": \"%s\"", job_status_name(s));
			if (strstr(buf, want))
				return (enum job_status)s;
		}
		if (strstr(buf, "\"planned\": true") || !f)
			return JOB_QUEUED;
		usleep(50000);
	}
	return JOB_QUEUED;
}

int cmd_submit(int argc, char **argv)
{
	const char *file = NULL, *mnt = getenv("ANAFS_MOUNT"), *name = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mount") && i + 1 < argc)
			mnt = argv[++i];
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if ((argv[i][0] == '-' && argv[i][1]) || file) {
			fprintf(stderr, "usage: anafs submit FILE [--mount DIR] [--name NAME]\n");
			return 2;
		} else
			file = argv[i];
	}
	if (!file || !mnt) {
		fprintf(stderr, "usage: anafs submit FILE [--mount DIR] [--name NAME]\n"
				"(the mount is --mount DIR, or $ANAFS_MOUNT)\n");
		return 2;
	}
	char base[256];
	if (!name && !strcmp(file, "-")) {
		fprintf(stderr, "anafs submit: give --name NAME when the query comes on stdin\n");
		return 2;
	}
	if (!name) {
		const char *b = strrchr(file, '/');
		b = b ? b + 1 : file;
		snprintf(base, sizeof(base), "%s", b);
		char *dot = strstr(base, ".query");
		if (dot && !dot[6])
			*dot = 0;
		name = base;
	}
	FILE *in = strcmp(file, "-") ? fopen(file, "rb") : stdin;
	if (!in) {
		fprintf(stderr, "anafs submit: %s: %s\n", file, strerror(errno));
		return 1;
	}
	char path[PATH_MAX], link[PATH_MAX];
	snprintf(path, sizeof(path), "%s/jobs/%s.query", mnt, name);
	snprintf(link, sizeof(link), "%s/jobs/%s", mnt, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "anafs submit: %s: %s\n", path, strerror(errno));
		return 1;
	}
	char buf[65536];
	size_t n;
	int err = 0;
	while (!err && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (write(fd, buf, n) != (ssize_t)n)
			err = errno;
	if (in != stdin)
		fclose(in);
	/* fsync submits (as close would) and leaves the descriptor open to
	 * ask which job it made: exact even if others submit NAME meanwhile. */
	char target[64] = "";
	if (!err && fsync(fd))
		err = errno;
	ssize_t tl = fgetxattr(fd, "user.anafs.job", target, sizeof(target) - 1);
	if (close(fd) && !err)
		err = errno;
	if (tl <= 0)
		tl = readlink(link, target, sizeof(target) - 1);
	target[tl > 0 ? tl : 0] = 0;
	if (!err && tl > 0 && wait_planned(mnt, target) == JOB_INVALID)
		err = EINVAL;
	if (err == EINVAL && tl > 0) { /* the query's error, as the mount says it */
		print_error(mnt, target);
		fprintf(stderr, "anafs submit: job %s is invalid\n", target);
		return 1;
	}
	if (err) {
		fprintf(stderr, "anafs submit: %s: %s\n", path, strerror(err));
		return 1;
	}
	printf("%s\n", target);
	return 0;
}
