/* gpu_int.h — what gpu/'s files share: the context's body and the device
 * side's functions, made by the .cu files (gpu_dev.cu, gpu_fill.cu,
 * gpu_compact.cu) or, without CUDA, by gpu_none.c.  Not part of the
 * module's contract. */
#ifndef ANAFS_GPU_INT_H
#define ANAFS_GPU_INT_H

#include "gpu.h"

#include <errno.h>

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
	struct gpu_traffic tr; /* what the evaluation moved (gpu_eval.c) */
};

/* The injected fault of g's operations, or 0. */
static inline int gpu_ctx_fault(const struct gpu_ctx *g)
{
	return g->fault == GPU_FAULT_OOM ? -ENOMEM : g->fault == GPU_FAULT_ERROR ? -EIO : 0;
}

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

/* Evaluation on the device (gpu_eval.cu): gpu_eval_*()'s, arguments checked. */
int gpu_dev_map(struct gpu_ctx *g, enum gpu_op op, enum gpu_vt ct, const struct gpu_operand *args,
		int nargs, size_t n, void *out);
int gpu_dev_reduce(struct gpu_ctx *g, enum gpu_red r, enum gpu_vt t, const void *x,
		   const int64_t *off, size_t nev, void *out);
int gpu_dev_mask(struct gpu_ctx *g, size_t size, const void *x, const uint8_t *keep,
		 const int64_t *off, size_t nev, void *out, int64_t *noff, size_t *kept);

/* Bytes a value of storage t takes. */
static inline size_t gpu_vt_size(enum gpu_vt t)
{
	return t == GPU_VT_U8 ? 1 : 8;
}

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
