/* src_local.c — the byte source for local files: pread(2) on one fd. */
#include "src.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct local {
	int fd;
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

static void local_close(struct src *s)
{
	struct local *l = src_priv(s);
	close(l->fd);
}

static const struct src_ops local_ops = {
	.scheme = "file",
	.pread = local_pread,
	.readv = NULL,
	.close = local_close,
};

int src_local_open(const char *path, const char *url, struct src **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	struct src *s = src_alloc(&local_ops, url, (uint64_t)st.st_size, sizeof(struct local));
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	((struct local *)src_priv(s))->fd = fd;
	*out = s;
	return 0;
}

/* In-memory sources: the same interface over a borrowed buffer. */
struct mem {
	const unsigned char *data;
};

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
