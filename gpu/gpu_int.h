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

#define GPU_RES_MAX 48 /* copies an epoch keeps */
#define GPU_TMP_MAX 6  /* scratch buffers of one evaluation call */

struct gpu_ctx {
	int dev;
	bool emulated;
	int fault;             /* GPU_FAULT_*, read at the opening */
	char name[GPU_NAME_MAX];
	struct gpu_dev *d;     /* made at the first operation on a device */
	struct gpu_traffic tr; /* what the evaluation moved (gpu_eval.c) */
	/* The evaluation's device memory (gpu_eval.c): copies of host buffers
	 * kept within the epoch, and scratch for those not kept. */
	uint64_t epoch;
	struct gpu_res {
		const void *host; /* NULL: free */
		size_t bytes;
		void *dev;
		size_t cap;
		uint64_t used;    /* the operation (tr.ops) that last used it */
	} res[GPU_RES_MAX];
	size_t res_bytes;      /* the caps of res[] together */
	unsigned res_next;     /* the entry to take when none is free */
	void *tmp[GPU_TMP_MAX];
	size_t tmp_cap[GPU_TMP_MAX];
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
/* x, y, w already on the device (gpu_fill_kept() sent them). */
int gpu_dev_fill(struct gpu_ctx *g, struct gpu_hist *h, const double *x, const double *y,
		 const double *w, size_t n);
int gpu_dev_compact(struct gpu_ctx *g, const double *x, const uint8_t *mask, size_t n,
		    double *out, size_t *kept);

/* The evaluation's device side (gpu_eval.cu): memory and copies on the
 * context's stream (gets wait for it), and the kernels' launches over
 * device pointers (arguments checked by gpu_eval.c). */
int gpu_dev_alloc(struct gpu_ctx *g, size_t bytes, void **out);
void gpu_dev_free(struct gpu_ctx *g, void *p);
int gpu_dev_put(struct gpu_ctx *g, void *dev, const void *host, size_t bytes);
int gpu_dev_get(struct gpu_ctx *g, void *host, const void *dev, size_t bytes);
int gpu_dev_kmap(struct gpu_ctx *g, int op, int ct, const struct gpu_operand *dargs, size_t n,
		 void *dout);
int gpu_dev_kreduce(struct gpu_ctx *g, int r, int t, const void *dx, const int64_t *doff,
		    size_t nev, void *dout);
int gpu_dev_kmcount(struct gpu_ctx *g, const uint8_t *dkeep, const int64_t *doff, size_t nev,
		    size_t nchunks, uint64_t *dcnt);
int gpu_dev_kmwrite(struct gpu_ctx *g, size_t size, const void *dx, const uint8_t *dkeep,
		    const int64_t *doff, size_t nev, size_t nchunks, const uint64_t *dstart,
		    void *dout, int64_t *dnoff);
/* The evaluation's device memory (gpu_eval_mem.c).  gpu_eval_in(): host's
 * bytes on the device at *dev: the epoch's copy when keep and it has one,
 * else sent (kept when keep, else into scratch slot).  gpu_eval_out(): a
 * device buffer for a result that will be read back into host (kept for
 * the epoch, else scratch slot).  gpu_eval_drop(): forget host's copy.
 * gpu_mem_put/get: copies, counted in the traffic (get waits for the
 * stream).  gpu_run_*(): the kernels over device pointers. */
int gpu_eval_in(struct gpu_ctx *g, const void *host, size_t bytes, bool keep, int slot,
		const void **dev);
int gpu_eval_out(struct gpu_ctx *g, const void *host, size_t bytes, int slot, void **dev);
void gpu_eval_drop(struct gpu_ctx *g, const void *host);
void gpu_eval_release(struct gpu_ctx *g);
int gpu_mem_put(struct gpu_ctx *g, void *dev, const void *host, size_t bytes);
int gpu_mem_get(struct gpu_ctx *g, void *host, const void *dev, size_t bytes);
int gpu_run_map(struct gpu_ctx *g, int op, int ct, const struct gpu_operand *dargs, size_t n,
		void *dout);
int gpu_run_reduce(struct gpu_ctx *g, int r, int t, const void *dx, const int64_t *doff,
		   size_t nev, void *dout);
int gpu_run_mcount(struct gpu_ctx *g, const uint8_t *dkeep, const int64_t *doff, size_t nev,
		   size_t nchunks, uint64_t *dcnt);
int gpu_run_mwrite(struct gpu_ctx *g, size_t size, const void *dx, const uint8_t *dkeep,
		   const int64_t *doff, size_t nev, size_t nchunks, const uint64_t *dstart,
		   void *dout, int64_t *dnoff);

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
