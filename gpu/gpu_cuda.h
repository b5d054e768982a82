/* gpu_cuda.h — what the .cu files share (CUDA types: included only by
 * gpu/*.cu): the device side's state and its helpers, in gpu_dev.cu. */
#ifndef ANAFS_GPU_CUDA_H
#define ANAFS_GPU_CUDA_H

#include "gpu_int.h"
#include "gpu_kern.h"

#include <cuda_runtime.h>

/* Device buffers of a context, each grown to the largest batch seen. */
enum { GPU_B_X, GPU_B_Y, GPU_B_W, GPU_B_OUT, GPU_B_PART, GPU_B_EDGES, GPU_B_SMALL, GPU_NBUF };

struct gpu_dev {
	int dev;
	cudaStream_t s;
	void *buf[GPU_NBUF];
	size_t cap[GPU_NBUF];
	void *host;            /* host scratch for results copied back */
	size_t host_cap;
};

/* A CUDA error as this module's code: -ENOMEM for allocation, else -EIO;
 * the error is cleared so that the context stays usable. */
int gpu_cuda_rc(cudaError_t e);
/* g's device state, made at the first call (device set for this thread).
 * 0 or a negative code. */
int gpu_cuda_get(struct gpu_ctx *g, struct gpu_dev **out);
/* Device buffer slot of at least bytes. */
int gpu_cuda_buf(struct gpu_dev *d, int slot, size_t bytes, void **out);
/* Host scratch of at least bytes. */
int gpu_cuda_host(struct gpu_dev *d, size_t bytes, void **out);
/* Threads per block, and blocks for n threads (at least 1). */
#define GPU_THREADS 256
static inline unsigned gpu_blocks(size_t n)
{
	size_t b = (n + GPU_THREADS - 1) / GPU_THREADS;
	return b ? (unsigned)(b > 0x7fffffff ? 0x7fffffff : b) : 1;
}

#endif
