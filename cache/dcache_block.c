/* dcache_block.c — block files: DIR/blocks/<2 hex>/<file id>.<block>,
 * the data, then a trailer (magic, version, trailer length, file id,
 * block, length, XXH3-64 of the data): the data starts at offset 0, so a
 * block file can be mapped where its block lies in a view of the whole
 * file (dc_block_map()).  A block is written to a temporary file and
 * renamed into place, so a reader sees a whole block or none, and a block
 * file is never written again once in place (a mapping of it stays the
 * bytes that were checked).  Everything read back is untrusted: a trailer
 * that does not match what was asked for, a length that is not the
 * block's, a file cut short or a checksum that fails make the block
 * corrupt; it is deleted and never handed to a reader. */
#include "dcache_int.h"

#include "le.h"
#include "xxh3.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void dc_block_path(const struct dcache *c, struct dc_key k, char *out, size_t cap)
{
	snprintf(out, cap, "%s/blocks/%02x/%016llx.%llu", c->dir, (unsigned)(k.fid & 0xff),
		 (unsigned long long)k.fid, (unsigned long long)k.block);
}

bool dc_block_exists(const struct dcache *c, struct dc_key k)
{
	char path[4096];
	dc_block_path(c, k, path, sizeof(path));
	return access(path, F_OK) == 0;
}

int dc_read_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EBADMSG; /* cut short */
		done += (size_t)r;
	}
	return 0;
}

/* Whether hdr describes exactly block k of len bytes. */
static bool header_ok(const unsigned char *h, struct dc_key k, uint32_t len)
{
	return memcmp(h, DC_MAGIC, 8) == 0 && le_get32(h + 8) == DC_VERSION &&
	       le_get32(h + 12) == DC_HDR_LEN && le_get64(h + 16) == k.fid &&
	       le_get64(h + 24) == k.block && le_get32(h + 32) == len && le_get32(h + 36) == 0;
}

/* Open block file k and check its size and trailer: the descriptor with
 * *sum the data's checksum, -ENOENT (no such file) or -EBADMSG. */
static int open_checked(const struct dcache *c, struct dc_key k, uint32_t len, uint64_t *sum)
{
	char path[4096];
	dc_block_path(c, k, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT; /* evicted, never filled, or unreadable: a miss */
	unsigned char h[DC_HDR_LEN];
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != (uint64_t)DC_HDR_LEN + len)
		rc = -EBADMSG;
	if (!rc)
		rc = dc_read_full(fd, h, sizeof(h), len);
	if (!rc && !header_ok(h, k, len))
		rc = -EBADMSG;
	if (rc) {
		close(fd);
		return rc == -EBADMSG ? rc : -ENOENT;
	}
	*sum = le_get64(h + 40);
	return fd;
}

/* A block found corrupt: forget it (its file goes). */
static int corrupt(struct dcache *c, struct dc_key k)
{
	dc_forget_block(c, k);
	return -EBADMSG;
}

int dc_block_load(struct dcache *c, struct dc_key k, uint32_t len, uint8_t *data)
{
	uint64_t sum;
	int fd = open_checked(c, k, len, &sum);
	if (fd < 0)
		return fd == -EBADMSG ? corrupt(c, k) : fd;
	int rc = dc_read_full(fd, data, len, 0);
	close(fd);
	if (!rc && XXH3_64bits(data, len) != sum)
		rc = -EBADMSG;
	if (rc == -EBADMSG)
		return corrupt(c, k);
	return rc ? -ENOENT : 0;
}

int dc_block_map(struct dcache *c, struct dc_key k, uint32_t len, void *addr)
{
	uint64_t sum;
	int fd = open_checked(c, k, len, &sum);
	if (fd < 0)
		return fd == -EBADMSG ? corrupt(c, k) : fd;
	void *m = len ? mmap(addr, len, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) : addr;
	int rc = m == MAP_FAILED ? -errno : 0;
	close(fd);
	if (!rc && XXH3_64bits(addr, len) == sum)
		return 0;
	/* Back to the reservation's PROT_NONE, whatever mmap left there. */
	if (len)
		(void)mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
			   -1, 0);
	return rc ? rc : corrupt(c, k);
}

int dc_write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, (const char *)buf + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		done += (size_t)w;
	}
	return 0;
}

int dc_block_write(struct dcache *c, struct dc_key k, const uint8_t *data, uint32_t len)
{
	char path[4096], tmp[4160];
	dc_block_path(c, k, path, sizeof(path));
	char *slash = strrchr(path, '/');
	*slash = 0;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	*slash = '/';
	static _Atomic unsigned seq;
	snprintf(tmp, sizeof(tmp), "%.*s/.tmp.%ld.%u", (int)(slash - path), path, (long)getpid(),
		 atomic_fetch_add(&seq, 1));
	unsigned char h[DC_HDR_LEN] = {0};
	memcpy(h, DC_MAGIC, 8);
	le_put32(h + 8, DC_VERSION);
	le_put32(h + 12, DC_HDR_LEN);
	le_put64(h + 16, k.fid);
	le_put64(h + 24, k.block);
	le_put32(h + 32, len);
	le_put64(h + 40, XXH3_64bits(data, len));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = dc_write_full(fd, data, len);
	if (!rc)
		rc = dc_write_full(fd, h, sizeof(h));
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}
