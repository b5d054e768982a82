/* gpu_compact.cu — compaction by a mask on the device: one thread per
 * chunk of gpu_kern.h counts its kept points, the host turns the counts
 * into offsets, one thread per chunk writes its points there. */
#include "gpu_cuda.h"

#include <errno.h>

__global__ static void k_ccount(const uint8_t *mask, size_t n, size_t nchunks, uint64_t *cnt)
{
	size_t c = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= nchunks)
		return;
	size_t from = c * GPU_K_COMPACT_CHUNK, to = from + GPU_K_COMPACT_CHUNK;
	cnt[c] = gpu_k_compact_count(mask, from, to < n ? to : n);
}

__global__ static void k_cwrite(const double *x, const uint8_t *mask, size_t n, size_t nchunks,
				const uint64_t *off, double *out)
{
	size_t c = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= nchunks)
		return;
	size_t from = c * GPU_K_COMPACT_CHUNK, to = from + GPU_K_COMPACT_CHUNK;
	gpu_k_compact_write(x, mask, from, to < n ? to : n, out + off[c]);
}

extern "C" int gpu_dev_compact(struct gpu_ctx *g, const double *x, const uint8_t *mask, size_t n,
			       double *out, size_t *kept)
{
	struct gpu_dev *d;
	int rc = gpu_cuda_get(g, &d);
	if (rc)
		return rc;
	size_t nchunks = (n + GPU_K_COMPACT_CHUNK - 1) / GPU_K_COMPACT_CHUNK;
	double *dx, *dout;
	uint8_t *dm;
	uint64_t *dcnt, *hcnt;
	if ((rc = gpu_cuda_buf(d, GPU_B_X, n * sizeof(double), (void **)&dx)) ||
	    (rc = gpu_cuda_buf(d, GPU_B_W, n, (void **)&dm)) ||
	    (rc = gpu_cuda_buf(d, GPU_B_OUT, n * sizeof(double), (void **)&dout)) ||
	    (rc = gpu_cuda_buf(d, GPU_B_SMALL, nchunks * sizeof(uint64_t), (void **)&dcnt)) ||
	    (rc = gpu_cuda_host(d, nchunks * sizeof(uint64_t), (void **)&hcnt)) ||
	    (rc = gpu_cuda_rc(cudaMemcpyAsync(dx, x, n * sizeof(double), cudaMemcpyHostToDevice, d->s))) ||
	    (rc = gpu_cuda_rc(cudaMemcpyAsync(dm, mask, n, cudaMemcpyHostToDevice, d->s))))
		return rc;
	k_ccount<<<gpu_blocks(nchunks), GPU_THREADS, 0, d->s>>>(dm, n, nchunks, dcnt);
	if ((rc = gpu_cuda_rc(cudaGetLastError())) ||
	    (rc = gpu_cuda_rc(cudaMemcpyAsync(hcnt, dcnt, nchunks * sizeof(uint64_t),
					      cudaMemcpyDeviceToHost, d->s))) ||
	    (rc = gpu_cuda_rc(cudaStreamSynchronize(d->s))))
		return rc;
	uint64_t at = 0;
	for (size_t c = 0; c < nchunks; c++) { /* counts to offsets, in place */
		uint64_t k = hcnt[c];
		hcnt[c] = at;
		at += k;
	}
	if ((rc = gpu_cuda_rc(cudaMemcpyAsync(dcnt, hcnt, nchunks * sizeof(uint64_t),
					      cudaMemcpyHostToDevice, d->s))))
		return rc;
	k_cwrite<<<gpu_blocks(nchunks), GPU_THREADS, 0, d->s>>>(dx, dm, n, nchunks, dcnt, dout);
	if ((rc = gpu_cuda_rc(cudaGetLastError())) ||
	    (rc = gpu_cuda_rc(cudaMemcpyAsync(out, dout, at * sizeof(double),
					      cudaMemcpyDeviceToHost, d->s))) ||
	    (rc = gpu_cuda_rc(cudaStreamSynchronize(d->s))))
		return rc;
	*kept = (size_t)at;
	return 0;
}
