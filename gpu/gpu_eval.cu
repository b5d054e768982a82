/* gpu_eval.cu — the evaluator's nodes on the device: the arguments copied
 * in, one thread a value (maps), an event (reductions) or a chunk of
 * GPU_K_MASK_CHUNK events (masks: counts, offsets from the counts on the
 * host, then the writes), the result copied back.  The logic is
 * gpu_ekern.h's, the emulation's; --fmad=false keeps every value the
 * CPU's. */
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

/* bytes of host src into device slot (*dst). */
static int put(struct gpu_dev *d, int slot, const void *src, size_t bytes, void **dst)
{
	int rc = gpu_cuda_buf(d, slot, bytes ? bytes : 8, dst);
	if (rc || !bytes)
		return rc;
	return gpu_cuda_rc(cudaMemcpyAsync(*dst, src, bytes, cudaMemcpyHostToDevice, d->s));
}

/* The kernel just launched, then bytes of device src to host dst. */
static int get(struct gpu_dev *d, void *dst, const void *src, size_t bytes)
{
	int rc = gpu_cuda_rc(cudaGetLastError());
	if (!rc && bytes)
		rc = gpu_cuda_rc(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, d->s));
	return rc ? rc : gpu_cuda_rc(cudaStreamSynchronize(d->s));
}

extern "C" int gpu_dev_map(struct gpu_ctx *g, enum gpu_op op, enum gpu_vt ct,
			   const struct gpu_operand *args, int nargs, size_t n, void *out)
{
	struct gpu_dev *d;
	int rc = gpu_cuda_get(g, &d);
	if (rc)
		return rc;
	struct kargs k;
	memset(&k, 0, sizeof(k));
	for (int a = 0; a < nargs; a++) {
		void *p;
		size_t bytes = (args[a].scalar ? 1 : n) * gpu_vt_size(args[a].t);
		if ((rc = put(d, GPU_B_E0 + a, args[a].data, bytes, &p)))
			return rc;
		k.a[a] = args[a];
		k.a[a].data = p;
	}
	size_t osize = op >= GPU_OP_EQ && op <= GPU_OP_NOT ? 1 : gpu_vt_size(ct);
	void *dout;
	if ((rc = gpu_cuda_buf(d, GPU_B_EOUT, n * osize, &dout)))
		return rc;
	k_map<<<gpu_blocks(n), GPU_THREADS, 0, d->s>>>((int)op, (int)ct, k, n, dout);
	return get(d, out, dout, n * osize);
}

extern "C" int gpu_dev_reduce(struct gpu_ctx *g, enum gpu_red r, enum gpu_vt t, const void *x,
			      const int64_t *off, size_t nev, void *out)
{
	struct gpu_dev *d;
	int rc = gpu_cuda_get(g, &d);
	if (rc)
		return rc;
	size_t total = (size_t)off[nev];
	bool wide = r == GPU_RED_COUNT || (r == GPU_RED_SUM && t == GPU_VT_U8);
	size_t osize = wide ? 8 : gpu_vt_size(t);
	void *dx = NULL, *doff, *dout;
	if ((r != GPU_RED_COUNT && (rc = put(d, GPU_B_E0, x, total * gpu_vt_size(t), &dx))) ||
	    (rc = put(d, GPU_B_EOFF, off, (nev + 1) * sizeof(int64_t), &doff)) ||
	    (rc = gpu_cuda_buf(d, GPU_B_EOUT, nev * osize, &dout)))
		return rc;
	k_reduce_ev<<<gpu_blocks(nev), GPU_THREADS, 0, d->s>>>((int)r, (int)t, dx,
								(const int64_t *)doff, nev, dout);
	return get(d, out, dout, nev * osize);
}

extern "C" int gpu_dev_mask(struct gpu_ctx *g, size_t size, const void *x, const uint8_t *keep,
			    const int64_t *off, size_t nev, void *out, int64_t *noff, size_t *kept)
{
	struct gpu_dev *d;
	int rc = gpu_cuda_get(g, &d);
	if (rc)
		return rc;
	size_t total = (size_t)off[nev], nchunks = (nev + GPU_K_MASK_CHUNK - 1) / GPU_K_MASK_CHUNK;
	void *dx, *dk, *doff, *dout, *dnoff, *dcnt;
	uint64_t *hcnt;
	if ((rc = put(d, GPU_B_E0, x, total * size, &dx)) ||
	    (rc = put(d, GPU_B_E1, keep, total, &dk)) ||
	    (rc = put(d, GPU_B_EOFF, off, (nev + 1) * sizeof(int64_t), &doff)) ||
	    (rc = gpu_cuda_buf(d, GPU_B_EOUT, total * size + 8, &dout)) ||
	    (rc = gpu_cuda_buf(d, GPU_B_ENOFF, (nev + 1) * sizeof(int64_t), &dnoff)) ||
	    (rc = gpu_cuda_buf(d, GPU_B_E2, nchunks * sizeof(uint64_t), &dcnt)) ||
	    (rc = gpu_cuda_host(d, nchunks * sizeof(uint64_t), (void **)&hcnt)))
		return rc;
	k_mcount<<<gpu_blocks(nchunks), GPU_THREADS, 0, d->s>>>((const uint8_t *)dk,
							     (const int64_t *)doff, nev, nchunks,
							     (uint64_t *)dcnt);
	if ((rc = get(d, hcnt, dcnt, nchunks * sizeof(uint64_t))))
		return rc;
	uint64_t at = 0;
	for (size_t c = 0; c < nchunks; c++) { /* counts to the chunks' starts, in place */
		uint64_t k = hcnt[c];
		hcnt[c] = at;
		at += k;
	}
	if ((rc = put(d, GPU_B_E2, hcnt, nchunks * sizeof(uint64_t), &dcnt)))
		return rc;
	k_mwrite<<<gpu_blocks(nchunks), GPU_THREADS, 0, d->s>>>(size, dx, (const uint8_t *)dk,
							     (const int64_t *)doff, nev, nchunks,
							     (const uint64_t *)dcnt, dout,
							     (int64_t *)dnoff);
	if ((rc = gpu_cuda_rc(cudaGetLastError())) ||
	    (rc = gpu_cuda_rc(cudaMemcpyAsync(noff + 1, (int64_t *)dnoff + 1, nev * sizeof(int64_t),
					      cudaMemcpyDeviceToHost, d->s))) ||
	    (rc = get(d, out, dout, (size_t)at * size)))
		return rc;
	noff[0] = 0;
	*kept = (size_t)at;
	return 0;
}
