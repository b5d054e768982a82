/* gpu_dev.cu — the device side's detection and context: device count and
 * properties through the CUDA runtime (no driver or no device reads as 0
 * devices), a stream and grown buffers per context. */
#include "gpu_cuda.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gpu_cuda_rc(cudaError_t e)
{
	if (e == cudaSuccess)
		return 0;
	(void)cudaGetLastError();
	return e == cudaErrorMemoryAllocation ? -ENOMEM : -EIO;
}

extern "C" int gpu_dev_count(void)
{
	int n = 0;
	if (cudaGetDeviceCount(&n) != cudaSuccess) {
		(void)cudaGetLastError();
		return 0;
	}
	return n;
}

extern "C" int gpu_dev_info(int dev, struct gpu_info *out)
{
	if (dev < 0 || dev >= gpu_dev_count())
		return -ENODEV;
	cudaDeviceProp p;
	if (cudaGetDeviceProperties(&p, dev) != cudaSuccess) {
		(void)cudaGetLastError();
		return -ENODEV;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", p.name);
	out->mem_total = p.totalGlobalMem;
	out->cc_major = p.major;
	out->cc_minor = p.minor;
	return 0;
}

int gpu_cuda_get(struct gpu_ctx *g, struct gpu_dev **out)
{
	int rc = gpu_cuda_rc(cudaSetDevice(g->dev));
	if (rc)
		return rc;
	if (!g->d) {
		struct gpu_dev *d = (struct gpu_dev *)calloc(1, sizeof(*d));
		if (!d)
			return -ENOMEM;
		d->dev = g->dev;
		if ((rc = gpu_cuda_rc(cudaStreamCreateWithFlags(&d->s, cudaStreamNonBlocking)))) {
			free(d);
			return rc;
		}
		g->d = d;
	}
	*out = g->d;
	return 0;
}

int gpu_cuda_buf(struct gpu_dev *d, int slot, size_t bytes, void **out)
{
	if (bytes > d->cap[slot]) {
		if (d->buf[slot])
			(void)cudaFree(d->buf[slot]);
		d->buf[slot] = NULL;
		d->cap[slot] = 0;
		size_t want = bytes + bytes / 4; /* room to grow without a free each batch */
		int rc = gpu_cuda_rc(cudaMalloc(&d->buf[slot], want));
		if (rc)
			return rc;
		d->cap[slot] = want;
	}
	*out = d->buf[slot];
	return 0;
}

int gpu_cuda_host(struct gpu_dev *d, size_t bytes, void **out)
{
	if (bytes > d->host_cap) {
		void *p = realloc(d->host, bytes);
		if (!p)
			return -ENOMEM;
		d->host = p;
		d->host_cap = bytes;
	}
	*out = d->host;
	return 0;
}

extern "C" void gpu_dev_close(struct gpu_dev *d)
{
	if (!d)
		return;
	(void)cudaSetDevice(d->dev);
	for (int i = 0; i < GPU_NBUF; i++)
		if (d->buf[i])
			(void)cudaFree(d->buf[i]);
	(void)cudaStreamDestroy(d->s);
	(void)cudaGetLastError();
	free(d->host);
	free(d);
}
