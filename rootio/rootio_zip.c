/* rootio_zip.c — ROOT compressed records: a sequence of blocks, each with
 * a 9-byte header ("ZL", "XZ", "L4" or "ZS", a method byte, then the
 * compressed and uncompressed sizes as 24-bit little-endian numbers).
 *
 * Decoders: libdeflate for zlib (about twice zlib's speed), liblz4 with the
 * xxhash64 checksum ROOT puts before each block verified, libzstd, liblzma.
 * Decoder state is kept per thread and reused, and freed when the thread
 * ends. */
#include "rootio_int.h"

#include <pthread.h>
#include <stdlib.h>

#include <libdeflate.h>
#include <lz4.h>
#include <lzma.h>
#include <xxhash.h>
#include <zstd.h>

#define BLOCK_HEADER 9

static _Thread_local struct libdeflate_decompressor *tl_deflate;
static _Thread_local ZSTD_DCtx *tl_zstd;

/* A thread-specific key whose destructor frees this thread's decoders. */
static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;

struct decoders {
	struct libdeflate_decompressor *deflate;
	ZSTD_DCtx *zstd;
};

static void free_decoders(void *p)
{
	struct decoders *d = p;
	libdeflate_free_decompressor(d->deflate);
	ZSTD_freeDCtx(d->zstd);
	free(d);
}

static void make_key(void)
{
	(void)pthread_key_create(&tl_key, free_decoders);
}

/* Register this thread's decoders for freeing at its exit. */
static void track_decoders(void)
{
	pthread_once(&tl_once, make_key);
	struct decoders *d = pthread_getspecific(tl_key);
	if (!d && (d = calloc(1, sizeof(*d))))
		pthread_setspecific(tl_key, d);
	if (d) {
		d->deflate = tl_deflate;
		d->zstd = tl_zstd;
	}
}

static uint32_t le24(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static int unzip_zlib(const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen)
{
	if (!tl_deflate) {
		if (!(tl_deflate = libdeflate_alloc_decompressor()))
			return -1;
		track_decoders();
	}
	size_t got = 0;
	enum libdeflate_result r;
	/* ROOT writes zlib streams; very old files may hold raw deflate. */
	if (inlen >= 2 && (in[0] & 0x0f) == 8 && ((in[0] << 8) | in[1]) % 31 == 0)
		r = libdeflate_zlib_decompress(tl_deflate, in, inlen, out, outlen, &got);
	else
		r = libdeflate_deflate_decompress(tl_deflate, in, inlen, out, outlen, &got);
	return r == LIBDEFLATE_SUCCESS && got == outlen ? 0 : -1;
}

static int unzip_lz4(const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen)
{
	if (inlen < 8 || inlen - 8 > INT32_MAX || outlen > INT32_MAX)
		return -1;
	if (XXH64(in + 8, inlen - 8, 0) != be64(in))
		return -2;
	int n = LZ4_decompress_safe((const char *)in + 8, (char *)out, (int)(inlen - 8),
				    (int)outlen);
	return n >= 0 && (size_t)n == outlen ? 0 : -1;
}

static int unzip_zstd(const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen)
{
	if (!tl_zstd) {
		if (!(tl_zstd = ZSTD_createDCtx()))
			return -1;
		track_decoders();
	}
	size_t n = ZSTD_decompressDCtx(tl_zstd, out, outlen, in, inlen);
	return !ZSTD_isError(n) && n == outlen ? 0 : -1;
}

static int unzip_xz(const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen)
{
	uint64_t memlimit = 256u << 20;
	size_t inpos = 0, outpos = 0;
	lzma_ret r = lzma_stream_buffer_decode(&memlimit, 0, NULL, in, &inpos, inlen, out,
					       &outpos, outlen);
	return r == LZMA_OK && outpos == outlen ? 0 : -1;
}

int rootio_unzip(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstlen,
		 struct rootio_err *err)
{
	size_t in = 0, out = 0;
	for (int block = 0; out < dstlen; block++) {
		if (srclen - in < BLOCK_HEADER)
			return rootio_fail(err, ROOTIO_ECORRUPT,
					   "compressed block %d at byte %zu: truncated header", block,
					   in);
		const uint8_t *h = src + in;
		uint32_t clen = le24(h + 3), ulen = le24(h + 6);
		if (clen > srclen - in - BLOCK_HEADER || ulen > dstlen - out || ulen == 0)
			return rootio_fail(err, ROOTIO_ECORRUPT,
					   "compressed block %d at byte %zu: sizes %u -> %u do not fit "
					   "the record (%zu -> %zu bytes)",
					   block, in, clen, ulen, srclen, dstlen);
		const uint8_t *p = h + BLOCK_HEADER;
		int r;
		if (h[0] == 'Z' && h[1] == 'L')
			r = unzip_zlib(p, clen, dst + out, ulen);
		else if (h[0] == 'L' && h[1] == '4')
			r = unzip_lz4(p, clen, dst + out, ulen);
		else if (h[0] == 'Z' && h[1] == 'S')
			r = unzip_zstd(p, clen, dst + out, ulen);
		else if (h[0] == 'X' && h[1] == 'Z')
			r = unzip_xz(p, clen, dst + out, ulen);
		else if (h[0] == 'C' && h[1] == 'S')
			return rootio_fail(err, ROOTIO_EUNSUPPORTED,
					   "compressed block %d: ROOT's old 'CS' algorithm is not "
					   "supported", block);
		else
			return rootio_fail(err, ROOTIO_ECORRUPT,
					   "compressed block %d at byte %zu: unknown algorithm "
					   "0x%02x%02x", block, in, h[0], h[1]);
		if (r == -2)
			return rootio_fail(err, ROOTIO_ECORRUPT,
					   "LZ4 block %d at byte %zu: checksum mismatch", block, in);
		if (r)
			return rootio_fail(err, ROOTIO_ECORRUPT,
					   "%c%c block %d at byte %zu: does not decompress to %u bytes",
					   h[0], h[1], block, in, ulen);
		in += BLOCK_HEADER + clen;
		out += ulen;
	}
	return 0;
}
