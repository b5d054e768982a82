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

int gpu_dev_map(struct gpu_ctx *g, enum gpu_op op, enum gpu_vt ct, const struct gpu_operand *args,
		int nargs, size_t n, void *out)
{
	return -ENODEV;
}

int gpu_dev_reduce(struct gpu_ctx *g, enum gpu_red r, enum gpu_vt t, const void *x,
		   const int64_t *off, size_t nev, void *out)
{
	return -ENODEV;
}

int gpu_dev_mask(struct gpu_ctx *g, size_t size, const void *x, const uint8_t *keep,
		 const int64_t *off, size_t nev, void *out, int64_t *noff, size_t *kept)
{
	return -ENODEV;
}
