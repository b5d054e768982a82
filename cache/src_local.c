/* src_local.c — the byte source for local files: the file mapped into
 * memory when it can be (no copy per read, as uproot does), pread(2) on
 * its descriptor otherwise.  Every mapping is registered with the SIGBUS
 * guard (src_guard.c), so that a file truncated by someone else while it
 * is mapped reads as zeros and fails its source instead of killing the
 * process; ANAFS_NO_MMAP=1 in the environment turns mapping off. */
#include "src.h"
#include "src_int.h"

#include "ana_err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct local {
	int fd;
	const unsigned char *map; /* the whole file, or NULL */
	size_t maplen;
	int slot;                 /* the mapping's slot in the guard, or -1 */
	off_t size;               /* at open */
};

static ssize_t local_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	struct local *l = src_priv(s);
	size_t done = 0;
	while (done < len) {
		ssize_t r = pread(l->fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* A read through the mapping is the file's unless the file has shrunk (a
 * page past the new end faulted and reads zeros, and the rest of the page
 * holding the new end reads zeros without a fault) or a page faulted for
 * another reason, an I/O error.  pread() reports shrinking by itself. */
static int local_check(struct src *s)
{
	struct local *l = src_priv(s);
	if (!l->map)
		return 0;
	struct stat st;
	if (fstat(l->fd, &st) == 0 && st.st_size < l->size)
		return ANA_ECHANGED;
	return src_guard_faulted(l->slot) ? -EIO : 0;
}

static void local_close(struct src *s)
{
	struct local *l = src_priv(s);
	if (l->map) {
		src_guard_remove(l->slot);
		munmap((void *)l->map, l->maplen);
	}
	close(l->fd);
}

static const void *local_view(struct src *s, uint64_t off, size_t len)
{
	struct local *l = src_priv(s);
	(void)len; /* src_view() checked the range */
	return l->map ? l->map + off : NULL;
}

static const struct src_ops local_ops = {
	.scheme = "file",
	.pread = local_pread,
	.readv = NULL,
	.view = local_view,
	.check = local_check,
	.close = local_close,
};

/* Map the file when it may be and the guard has room for it; otherwise
 * it is read with pread(). */
static void local_map(struct local *l)
{
	if (l->size <= 0 || (uint64_t)l->size > SIZE_MAX || src_no_mmap())
		return;
	size_t len = (size_t)l->size;
	void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, l->fd, 0);
	if (m == MAP_FAILED)
		return;
	int slot = src_guard_add(m, len);
	if (slot < 0) {
		munmap(m, len);
		return;
	}
	l->map = m;
	l->maplen = len;
	l->slot = slot;
}

/* Open path for reading, never blocking, and only when it is a regular
 * file.  The stat() before open() spares a FIFO or a device an open() at
 * all (opening some devices does something); O_NONBLOCK covers a path
 * swapped for a FIFO in between, and fstat() of what was opened is the
 * check that counts.  Returns the descriptor, or a negative code. */
static int open_regular(const char *path, struct stat *st)
{
	if (stat(path, st) < 0)
		return -errno;
	if (!S_ISREG(st->st_mode))
		return ANA_ENOTREG;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = 0, fl;
	if (fstat(fd, st) < 0)
		rc = -errno;
	else if (!S_ISREG(st->st_mode))
		rc = ANA_ENOTREG;
	else if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		rc = -errno;
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

int src_local_open(const char *path, const char *url, struct src **out)
{
	struct stat st;
	int fd = open_regular(path, &st);
	if (fd < 0)
		return fd;
	struct src *s = src_alloc(&local_ops, url, (uint64_t)st.st_size, sizeof(struct local));
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	struct local *l = src_priv(s);
	l->fd = fd;
	l->slot = -1;
	l->size = st.st_size;
	local_map(l);
	*out = s;
	return 0;
}

/* In-memory sources: the same interface over a borrowed buffer. */
struct mem {
	const unsigned char *data;
};

static const void *mem_view(struct src *s, uint64_t off, size_t len)
{
	(void)len;
	return ((struct mem *)src_priv(s))->data + off;
}

static ssize_t mem_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	struct mem *m = src_priv(s);
	memcpy(buf, m->data + off, len); /* src_pread() clipped len */
	return (ssize_t)len;
}

static void mem_close(struct src *s)
{
	(void)s;
}

static const struct src_ops mem_ops = {
	.scheme = "mem",
	.pread = mem_pread,
	.readv = NULL,
	.view = mem_view,
	.check = NULL, /* the caller's bytes do not change under it */
	.close = mem_close,
};

int src_mem_open(const void *data, size_t len, const char *name, struct src **out)
{
	struct src *s = src_alloc(&mem_ops, name, len, sizeof(struct mem));
	if (!s)
		return -ENOMEM;
	((struct mem *)src_priv(s))->data = data;
	*out = s;
	return 0;
}
