/* corr_file.c — reading a correction or luminosity file: whole, bounded,
 * regular files only, gzip refused with a message that says what to do. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ana_err.h"
#include "corr_int.h"

int corr_read_file(const char *path, char **text, size_t *len, char *why, size_t cap)
{
	char *buf = NULL;
	size_t n = 0;
	int rc = 0;
	/* O_NONBLOCK so that a FIFO given by mistake does not hang the open. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		snprintf(why, cap, "%s: %s", path, strerror(errno));
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st)) {
		rc = -errno;
		snprintf(why, cap, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = ANA_ENOTREG;
		snprintf(why, cap, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > CORR_MAX_FILE) {
		rc = ANA_ETOOBIG;
		snprintf(why, cap, "%s: %lld bytes, more than the %zu MiB anafs reads", path,
			 (long long)st.st_size, CORR_MAX_FILE >> 20);
		goto out;
	}
	/* One byte more than the size, to see a file that grew since fstat. */
	size_t want = (size_t)st.st_size + 1;
	if (!(buf = malloc(want))) {
		rc = -ENOMEM;
		snprintf(why, cap, "%s: out of memory", path);
		goto out;
	}
	while (n < want) {
		ssize_t r = read(fd, buf + n, want - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			snprintf(why, cap, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == want) {
		rc = ANA_ECHANGED;
		snprintf(why, cap, "%s: the file grew while it was read", path);
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	*text = buf;
	*len = n;
	return 0;
}

int corr_parse_json(const char *text, size_t len, const char *name, struct jsonr_doc **doc,
		    char *why, size_t cap)
{
	if (len >= 2 && (unsigned char)text[0] == 0x1f && (unsigned char)text[1] == 0x8b) {
		snprintf(why, cap, "%s: a gzip file; anafs reads plain JSON (gunzip it first)", name);
		return -EINVAL;
	}
	char msg[256];
	int rc = jsonr_parse(text, len, doc, msg, sizeof(msg));
	if (rc)
		snprintf(why, cap, "%s: %s", name, msg);
	return rc;
}
