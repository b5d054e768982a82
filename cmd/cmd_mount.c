/* cmd_mount.c — `anafs mount`, `anafs umount`, `anafs submit`. */
#include "cmd.h"
#include "fs.h"
#include "coord.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* $XDG_STATE_HOME/anafs, else ~/.local/state/anafs. */
static void default_state(char *out, size_t cap)
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

/* Wait until no daemon holds the lock of state dir (at most secs). */
static bool wait_unlocked(const char *lockpath, int secs)
{
	for (int i = 0; i < secs * 10; i++) {
		int fd = open(lockpath, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return true;
		bool free_now = flock(fd, LOCK_EX | LOCK_NB) == 0;
		close(fd);
		if (free_now)
			return true;
		usleep(100000);
	}
	return false;
}

/* Whether path is a mount point of an anafs daemon already. */
static bool anafs_mounted(const char *path)
{
	FILE *f = fopen("/proc/self/mounts", "r");
	if (!f)
		return false;
	char line[8192], dev[4096], mnt[4096], type[256];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%4095s %4095s %255s", dev, mnt, type) == 3 &&
		    !strcmp(mnt, path) && !strncmp(type, "fuse", 4) && strstr(dev, "anafs"))
			found = true;
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
	fprintf(stderr, "usage: anafs mount DIR [--state DIR] [--workers N] [--foreground] "
			"[--allow-other] [--hist-memory SIZE]\n");
	return 2;
}

int cmd_mount(int argc, char **argv)
{
	const char *dir = NULL, *state = NULL;
	int workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
	bool fg = false, other = false;
	uint64_t memory = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--state") && i + 1 < argc)
			state = argv[++i];
		else if (!strcmp(argv[i], "--workers") && i + 1 < argc) {
			char *end;
			long n = strtol(argv[++i], &end, 10);
			if (*end || n < 1 || n > 1024)
				return mount_usage();
			workers = (int)n;
		} else if (!strcmp(argv[i], "--hist-memory") && i + 1 < argc) {
			if (cmd_parse_size(argv[++i], &memory))
				return mount_usage();
		} else if (!strcmp(argv[i], "--foreground") || !strcmp(argv[i], "-f"))
			fg = true;
		else if (!strcmp(argv[i], "--allow-other"))
			other = true;
		else if (argv[i][0] == '-' || dir)
			return mount_usage();
		else
			dir = argv[i];
	}
	if (!dir)
		return mount_usage();
	char mnt[PATH_MAX], st_dir[PATH_MAX], cwd[PATH_MAX], db[PATH_MAX + 16], lock[PATH_MAX + 16];
	struct stat sb;
	/* A daemon killed hard leaves its mount behind: clear it first. */
	if (stat(dir, &sb) && errno == ENOTCONN)
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
		default_state(st_dir, sizeof(st_dir));
	int rc = mkdirs(st_dir);
	char abs_state[PATH_MAX];
	if (!rc && !realpath(st_dir, abs_state))
		rc = -errno;
	if (rc) {
		fprintf(stderr, "anafs mount: state directory %s: %s\n", st_dir, strerror(-rc));
		return 1;
	}
	/* The daemon runs in "/": every path it keeps must be absolute. */
	snprintf(st_dir, sizeof(st_dir), "%s", abs_state);
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "/");
	snprintf(db, sizeof(db), "%s/anafs.db", st_dir);
	snprintf(lock, sizeof(lock), "%s/daemon.lock", st_dir);
	/* One daemon per state directory. */
	int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB)) {
		fprintf(stderr, "anafs mount: another anafs daemon uses %s\n", st_dir);
		return 1;
	}
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
	 * by the inherited descriptor. */
	struct coord *sc = NULL;
	if ((rc = store_open(db, &store, msg, sizeof(msg))) ||
	    (rc = coord_start(&(struct coord_opts){.st = store, .workers = workers,
						    .check_access = other, .resume = true,
						    .hist_memory = memory,
						    .base_desc = "the folder anafs mount ran in"},
			      &sc, msg, sizeof(msg)))) {
		fprintf(stderr, "anafs mount: %s\n", *msg ? msg : strerror(-rc));
		fs_unmount(m);
		store_close(store);
		return 1;
	}
	rc = fs_loop(m, store, sc);
	coord_stop(sc);
	fs_unmount(m);
	store_close(store);
	close(lfd);
	return rc ? 1 : 0;
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
	if (run_fusermount(dir, false)) {
		fprintf(stderr, "anafs umount: %s: fusermount3 -u failed\n", dir);
		return 1;
	}
	char st_dir[PATH_MAX], lock[PATH_MAX + 16];
	if (state)
		snprintf(st_dir, sizeof(st_dir), "%s", state);
	else
		default_state(st_dir, sizeof(st_dir));
	snprintf(lock, sizeof(lock), "%s/daemon.lock", st_dir);
	if (!wait_unlocked(lock, 30)) {
		fprintf(stderr, "anafs umount: the daemon of %s has not stopped yet\n", st_dir);
		return 1;
	}
	return 0;
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
	if (close(fd) && !err)
		err = errno;
	char target[64] = "";
	ssize_t tl = readlink(link, target, sizeof(target) - 1);
	if (tl > 0)
		target[tl] = 0;
	if (err == EINVAL && tl > 0) { /* the query's error, as the mount says it */
		char epath[PATH_MAX + 80];
		snprintf(epath, sizeof(epath), "%s/jobs/%s/error", mnt, target);
		FILE *e = fopen(epath, "r");
		if (e) {
			while ((n = fread(buf, 1, sizeof(buf), e)) > 0)
				fwrite(buf, 1, n, stderr);
			fclose(e);
		}
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
