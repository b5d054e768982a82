/* gpu_eval.cu — the evaluation's device side: device memory and copies on
 * the context's stream, and the kernels — one thread a value (maps), an
 * event (reductions) or a chunk of GPU_K_MASK_CHUNK events (masks: counts,
 * then the writes from the chunks' starts).  gpu_eval.c decides what is
 * sent and kept; the logic is gpu_ekern.h's, the emulation's, and
 * --fmad=false keeps every value the CPU's. */
#include "gpu_cuda.h"
#include "gpu_ekern.h"

#include <errno.h>
#include <string.h>

struct kargs {
	struct gpu_operand a[3];
};

__global__ static void k_map(int op, int ct, struct kargs k, size_t n, void *out)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		gpu_k_map(op, ct, k.a, i, out);
}

__global__ static void k_reduce_ev(int r, int t, const void *x, const int64_t *off, size_t nev,
				   void *out)
{
	size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (e < nev)
		gpu_k_reduce_event(r, t, x, off, e, out);
}

__global__ static void k_mcount(const uint8_t *keep, const int64_t *off, size_t nev,
				size_t nchunks, uint64_t *cnt)
{
	size_t c = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= nchunks)
		return;
	size_t from = c * GPU_K_MASK_CHUNK, to = from + GPU_K_MASK_CHUNK;
	cnt[c] = gpu_k_mask_count(keep, off, from, to < nev ? to : nev);
}

__global__ static void k_mwrite(size_t size, const void *x, const uint8_t *keep,
				const int64_t *off, size_t nev, size_t nchunks, const uint64_t *at,
				void *out, int64_t *noff)
{
	size_t c = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= nchunks)
		return;
	size_t from = c * GPU_K_MASK_CHUNK, to = from + GPU_K_MASK_CHUNK;
	gpu_k_mask_write(size, x, keep, off, from, to < nev ? to : nev, at[c], out, noff);
}

extern "C" int gpu_dev_alloc(struct gpu_ctx *g, size_t bytes, void **out)
{
	struct gpu_dev *d;
	int rc = gpu_cuda_get(g, &d);
	return rc ? rc : gpu_cuda_rc(cudaMalloc(out, bytes ? bytes : 8));
}

extern "C" void gpu_dev_free(struct gpu_ctx *g, void *p)
{
	struct gpu_dev *d;
	if (p && !gpu_cuda_get(g, &d))
		(void)cudaFree(p);
	(void)cudaGetLastError();
}

extern "C" int gpu_dev_put(struct gpu_ctx *g, void *dev, const void *host, size_t bytes)
{
	struct gpu_dev *d;
	int rc = gpu_cuda_get(g, &d);
	if (rc || !bytes)
		return rc;
	return gpu_cuda_rc(cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, d->s));
}

extern "C" int gpu_dev_get(struct gpu_ctx *g, void *host, const void *dev, size_t bytes)
{
	struct gpu_dev *d;
	int rc = gpu_cuda_get(g, &d);
	if (!rc)
		rc = gpu_cuda_rc(cudaGetLastError()); /* the kernel launched before */
	if (!rc && bytes)
		rc = gpu_cuda_rc(cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, d->s));
	return rc ? rc : gpu_cuda_rc(cudaStreamSynchronize(d->s));
}

extern "C" int gpu_dev_kmap(struct gpu_ctx *g, int op, int ct, const struct gpu_operand *dargs,
			    size_t n, void *dout)
{
	struct gpu_dev *d;
	int rc = gpu_cuda_get(g, &d);
	if (rc)
		return rc;
	struct kargs k;
	memset(&k, 0, sizeof(k));
	for (int a = 0; a < 3; a++)
		k.a[a] = dargs[a];
	k_map<<<gpu_blocks(n), GPU_THREADS, 0, d->s>>>(op, ct, k, n, dout);
	return gpu_cuda_rc(cudaGetLastError());
}

extern "C" int gpu_dev_kreduce(struct gpu_ctx *g, int r, int t, const void *dx,
			       const int64_t *doff, size_t nev, void *dout)
{
	struct gpu_dev *d;
	int rc = gpu_cuda_get(g, &d);
	if (rc)
		return rc;
	k_reduce_ev<<<gpu_blocks(nev), GPU_THREADS, 0, d->s>>>(r, t, dx, doff, nev, dout);
	return gpu_cuda_rc(cudaGetLastError());
}

extern "C" int gpu_dev_kmcount(struct gpu_ctx *g, const uint8_t *dkeep, const int64_t *doff,
			       size_t nev, size_t nchunks, uint64_t *dcnt)
{
	struct gpu_dev *d;
	int rc = gpu_cuda_get(g, &d);
	if (rc)
		return rc;
	k_mcount<<<gpu_blocks(nchunks), GPU_THREADS, 0, d->s>>>(dkeep, doff, nev, nchunks, dcnt);
	return gpu_cuda_rc(cudaGetLastError());
}

extern "C" int gpu_dev_kmwrite(struct gpu_ctx *g, size_t size, const void *dx,
			       const uint8_t *dkeep, const int64_t *doff, size_t nev,
			       size_t nchunks, const uint64_t *dstart, void *dout, int64_t *dnoff)
{
	struct gpu_dev *d;
	int rc = gpu_cuda_get(g, &d);
	if (rc)
		return rc;
	k_mwrite<<<gpu_blocks(nchunks), GPU_THREADS, 0, d->s>>>(size, dx, dkeep, doff, nev, nchunks,
							     dstart, dout, dnoff);
	return gpu_cuda_rc(cudaGetLastError());
}
