/* gpu_none.c — the device side of a build without CUDA (ANAFS_CUDA=OFF or
 * no toolkit): no device; every operation -ENODEV.  The host emulation
 * (ANAFS_GPU_EMULATE=1) still works. */
#include "gpu_int.h"

#include <errno.h>

int gpu_dev_count(void)
{
	return 0;
}

int gpu_dev_info(int dev, struct gpu_info *out)
{
	return -ENODEV;
}

void gpu_dev_close(struct gpu_dev *d)
{
}

int gpu_dev_bins(struct gpu_ctx *g, const struct gpu_axis *a, const double *x, size_t n,
		 int32_t *bins)
{
	return -ENODEV;
}

int gpu_dev_fill(struct gpu_ctx *g, struct gpu_hist *h, const double *x, const double *y,
		 const double *w, size_t n)
{
	return -ENODEV;
}

int gpu_dev_compact(struct gpu_ctx *g, const double *x, const uint8_t *mask, size_t n,
		    double *out, size_t *kept)
{
	return -ENODEV;
}

int gpu_dev_alloc(struct gpu_ctx *g, size_t bytes, void **out)
{
	return -ENODEV;
}

void gpu_dev_free(struct gpu_ctx *g, void *p)
{
}

int gpu_dev_put(struct gpu_ctx *g, void *dev, const void *host, size_t bytes)
{
	return -ENODEV;
}

int gpu_dev_get(struct gpu_ctx *g, void *host, const void *dev, size_t bytes)
{
	return -ENODEV;
}

int gpu_dev_kmap(struct gpu_ctx *g, int op, int ct, const struct gpu_operand *dargs, size_t n,
		 void *dout)
{
	return -ENODEV;
}

int gpu_dev_kreduce(struct gpu_ctx *g, int r, int t, const void *dx, const int64_t *doff,
		    size_t nev, void *dout)
{
	return -ENODEV;
}

int gpu_dev_kmcount(struct gpu_ctx *g, const uint8_t *dkeep, const int64_t *doff, size_t nev,
		    size_t nchunks, uint64_t *dcnt)
{
	return -ENODEV;
}

int gpu_dev_kmwrite(struct gpu_ctx *g, size_t size, const void *dx, const uint8_t *dkeep,
		    const int64_t *doff, size_t nev, size_t nchunks, const uint64_t *dstart,
		    void *dout, int64_t *dnoff)
{
	return -ENODEV;
}
