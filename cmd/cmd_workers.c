/* cmd_workers.c — `anafs workers [--mount DIR] [--scale N]`: the mount's
 * workers from the shell.  It reads and writes the mount's top-level
 * `workers` file, so it works wherever the mount is visible and needs no
 * other channel to the daemon. */
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: anafs workers [--mount DIR] [--scale N]\n"
			"(the mount is --mount DIR, or $ANAFS_MOUNT)\n");
	return 2;
}

int cmd_workers(int argc, char **argv)
{
	const char *mnt = getenv("ANAFS_MOUNT"), *scale = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mount") && i + 1 < argc)
			mnt = argv[++i];
		else if (!strcmp(argv[i], "--scale") && i + 1 < argc)
			scale = argv[++i];
		else
			return usage();
	}
	if (!mnt || !*mnt)
		return usage();
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/workers", mnt);
	if (scale) {
		char *end;
		long n = strtol(scale, &end, 10);
		if (*end || end == scale || n < 0 || n > 100000)
			return usage();
		int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		char line[64];
		int len = snprintf(line, sizeof(line), "scale %ld\n", n);
		if (fd < 0 || write(fd, line, (size_t)len) != len) {
			int e = errno;
			fprintf(stderr, "anafs workers: %s: %s%s\n", path, strerror(e),
				e == EINVAL ? " (the daemon's log says why)" : "");
			if (fd >= 0)
				close(fd);
			return 1;
		}
		close(fd);
		return 0;
	}
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "anafs workers: %s: %s (is anafs mounted on %s?)\n", path,
			strerror(errno), mnt);
		return 1;
	}
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(f);
	return 0;
}
