/* gpu_int.h — what gpu/'s files share: the context's body and the device
 * side's functions, made by the .cu files (gpu_dev.cu, gpu_fill.cu,
 * gpu_compact.cu) or, without CUDA, by gpu_none.c.  Not part of the
 * module's contract. */
#ifndef ANAFS_GPU_INT_H
#define ANAFS_GPU_INT_H

#include "gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fault injection: $ANAFS_GPU_FAULT. */
#define GPU_FAULT_NONE 0
#define GPU_FAULT_OOM 1
#define GPU_FAULT_ERROR 2

struct gpu_dev; /* the device side's state: stream, buffers (gpu_dev.cu) */

struct gpu_ctx {
	int dev;
	bool emulated;
	int fault;             /* GPU_FAULT_*, read at the opening */
	char name[GPU_NAME_MAX];
	struct gpu_dev *d;     /* made at the first operation on a device */
};

/* The device side; every function returns 0 or a negative code. */
int gpu_dev_count(void);
int gpu_dev_info(int dev, struct gpu_info *out);
void gpu_dev_close(struct gpu_dev *d);
int gpu_dev_bins(struct gpu_ctx *g, const struct gpu_axis *a, const double *x, size_t n,
		 int32_t *bins);
int gpu_dev_fill(struct gpu_ctx *g, struct gpu_hist *h, const double *x, const double *y,
		 const double *w, size_t n);
int gpu_dev_compact(struct gpu_ctx *g, const double *x, const uint8_t *mask, size_t n,
		    double *out, size_t *kept);

/* The host emulation (gpu_host.c): the same operations on the CPU with
 * the device's chunking. */
int gpu_host_bins(const struct gpu_axis *a, const double *x, size_t n, int32_t *bins);
int gpu_host_fill(struct gpu_hist *h, const double *x, const double *y, const double *w,
		  size_t n);
int gpu_host_compact(const double *x, const uint8_t *mask, size_t n, double *out,
		     size_t *kept);

/* Cells of h: the product of (nbins + 2) over its axes. */
size_t gpu_hist_cells(const struct gpu_hist *h);

#ifdef __cplusplus
}
#endif

#endif
