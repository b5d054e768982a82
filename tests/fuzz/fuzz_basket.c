/* fuzz_basket.c — libFuzzer target over the two basket decoders:
 * rootio_decode_basket_record() (a TKey header with the TBasket fields,
 * then the payload) and rootio_unzip() (ROOT's compressed blocks).
 *
 * The first byte chooses: even, the rest is a basket record; odd, the next
 * three bytes are the uncompressed size asked of rootio_unzip (little-
 * endian, below 1 MiB) and what follows is the compressed record.  Inputs
 * are copied into buffers of their exact size so that ASan sees any read
 * past them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rootio.h"

#define MAX_DST (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(int rc, const struct rootio_err *err, const char *what)
{
	if (rc < 0 && (!memchr(err->msg, 0, sizeof(err->msg)) || err->msg[0] == 0 ||
		       (unsigned char)err->msg[0] == 0xa5)) {
		fprintf(stderr, "fuzz_basket: %s failed (%d) without a message\n", what, rc);
		abort();
	}
}

static void touch(const uint8_t *p, size_t n)
{
	volatile uint8_t sink = 0;
	for (size_t k = 0; k < n; k++)
		sink ^= p[k];
	(void)sink;
}

static void fuzz_record(const uint8_t *in, size_t len)
{
	struct rootio_err err;
	memset(err.msg, 0xa5, sizeof(err.msg));
	uint8_t *out = NULL;
	size_t outlen = 0;
	int rc = rootio_decode_basket_record(in, len, &out, &outlen, &err);
	check_err(rc, &err, "rootio_decode_basket_record");
	if (rc == 0) {
		touch(out, outlen);
		free(out);
	}
}

static void fuzz_unzip(const uint8_t *in, size_t len)
{
	if (len < 3)
		return;
	size_t dstlen = ((size_t)in[0] | (size_t)in[1] << 8 | (size_t)in[2] << 16) % MAX_DST;
	uint8_t *dst = malloc(dstlen ? dstlen : 1);
	uint8_t *src = malloc(len - 3 ? len - 3 : 1);
	if (!dst || !src)
		goto out;
	memcpy(src, in + 3, len - 3);
	struct rootio_err err;
	memset(err.msg, 0xa5, sizeof(err.msg));
	int rc = rootio_unzip(src, len - 3, dst, dstlen, &err);
	check_err(rc, &err, "rootio_unzip");
	if (rc == 0)
		touch(dst, dstlen);
out:
	free(dst);
	free(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t *in = malloc(size - 1 ? size - 1 : 1);
	if (!in)
		return 0;
	memcpy(in, data + 1, size - 1);
	if (data[0] & 1)
		fuzz_unzip(in, size - 1);
	else
		fuzz_record(in, size - 1);
	free(in);
	return 0;
}
