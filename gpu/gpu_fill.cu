/* gpu_fill.cu — bin indices and histogram fills on the device.  Counts:
 * per-block counts in shared memory (or global atomics for histograms too
 * large for it), exact in any order.  Weighted sums: one thread per chunk
 * of gpu_kern.h's chunking summing its points in order into its partial,
 * then one thread per cell adding the partials in chunk order — no
 * dependence on atomic ordering, the emulation's bits. */
#include "gpu_cuda.h"

#include <errno.h>
#include <string.h>

/* Cells up to which a block counts in shared memory (4 bytes a cell). */
#define GPU_SHARED_CELLS 12000

struct kaxes {
	struct gpu_k_axis ax[2];
	int ndim;
};

__global__ static void k_bins(struct gpu_k_axis a, const double *x, size_t n, int32_t *bins)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		bins[i] = gpu_k_bin(&a, x[i]);
}

__global__ static void k_count(struct kaxes k, const double *x, const double *y, size_t n,
			       unsigned long long *cnt, int ncells, unsigned long long *skipped)
{
	extern __shared__ unsigned int sh[]; /* ncells + 1, the last the skipped */
	bool shared = ncells <= GPU_SHARED_CELLS;
	if (shared) {
		for (int c = threadIdx.x; c <= ncells; c += blockDim.x)
			sh[c] = 0;
		__syncthreads();
	}
	unsigned int skip = 0;
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x) {
		int c = gpu_k_cell(k.ax, k.ndim, x, y, i);
		if (c < 0)
			skip++;
		else if (shared)
			atomicAdd(&sh[c], 1u);
		else
			atomicAdd(&cnt[c], 1ull);
	}
	if (shared) {
		if (skip)
			atomicAdd(&sh[ncells], skip);
		__syncthreads();
		for (int c = threadIdx.x; c < ncells; c += blockDim.x)
			if (sh[c])
				atomicAdd(&cnt[c], (unsigned long long)sh[c]);
		if (threadIdx.x == 0 && sh[ncells])
			atomicAdd(skipped, (unsigned long long)sh[ncells]);
	} else if (skip) {
		atomicAdd(skipped, (unsigned long long)skip);
	}
}

__global__ static void k_chunks(struct kaxes k, const double *x, const double *y, const double *w,
				size_t n, size_t nchunks, double *part, double *part2,
				unsigned long long *skipped)
{
	size_t c = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= nchunks)
		return;
	uint64_t s = gpu_k_chunk_sum(k.ax, k.ndim, x, y, w, n, c, nchunks, part + c, part2 + c,
				     nchunks);
	if (s)
		atomicAdd(skipped, (unsigned long long)s);
}

__global__ static void k_reduce(const double *part, const double *part2, size_t nchunks,
				size_t ncells, double *out)
{
	size_t c = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= ncells)
		return;
	out[c] = gpu_k_reduce(part + c * nchunks, nchunks);
	out[ncells + c] = gpu_k_reduce(part2 + c * nchunks, nchunks);
}

/* Points and weights to the device; the axes' edges too (into kx). */
static int upload(struct gpu_dev *d, const struct gpu_hist *h, struct kaxes *kx, const double *x,
		  const double *y, const double *w, size_t n, double **dx, double **dy, double **dw)
{
	size_t ne = 0;
	for (int a = 0; a < h->ndim; a++)
		ne += h->ax[a].edges ? (size_t)h->ax[a].nbins + 1 : 0;
	double *de = NULL;
	int rc = 0;
	if (ne && (rc = gpu_cuda_buf(d, GPU_B_EDGES, ne * sizeof(double), (void **)&de)))
		return rc;
	kx->ndim = h->ndim;
	for (int a = 0; a < 2; a++) {
		const struct gpu_axis *s = &h->ax[a < h->ndim ? a : 0];
		kx->ax[a] = (struct gpu_k_axis){s->nbins, s->lo, s->hi, NULL};
	}
	for (int a = 0; a < h->ndim; a++) {
		if (!h->ax[a].edges)
			continue;
		size_t k = (size_t)h->ax[a].nbins + 1;
		if ((rc = gpu_cuda_rc(cudaMemcpyAsync(de, h->ax[a].edges, k * sizeof(double),
						      cudaMemcpyHostToDevice, d->s))))
			return rc;
		kx->ax[a].edges = de;
		de += k;
	}
	if (h->ndim == 1)
		kx->ax[1] = kx->ax[0];
	if (!x) /* the points are on the device already */
		return 0;
	size_t bytes = n * sizeof(double);
	*dy = *dw = NULL;
	if ((rc = gpu_cuda_buf(d, GPU_B_X, bytes, (void **)dx)) ||
	    (rc = gpu_cuda_rc(cudaMemcpyAsync(*dx, x, bytes, cudaMemcpyHostToDevice, d->s))))
		return rc;
	if (h->ndim == 2 &&
	    ((rc = gpu_cuda_buf(d, GPU_B_Y, bytes, (void **)dy)) ||
	     (rc = gpu_cuda_rc(cudaMemcpyAsync(*dy, y, bytes, cudaMemcpyHostToDevice, d->s)))))
		return rc;
	if (h->sw && w &&
	    ((rc = gpu_cuda_buf(d, GPU_B_W, bytes, (void **)dw)) ||
	     (rc = gpu_cuda_rc(cudaMemcpyAsync(*dw, w, bytes, cudaMemcpyHostToDevice, d->s)))))
		return rc;
	return 0;
}

extern "C" int gpu_dev_bins(struct gpu_ctx *g, const struct gpu_axis *a, const double *x,
			    size_t n, int32_t *bins)
{
	struct gpu_dev *d;
	int rc = gpu_cuda_get(g, &d);
	if (rc)
		return rc;
	struct gpu_hist h;
	memset(&h, 0, sizeof(h));
	h.ndim = 1;
	h.ax[0] = *a;
	struct kaxes kx;
	double *dx, *dy, *dw;
	int32_t *db;
	if ((rc = upload(d, &h, &kx, x, NULL, NULL, n, &dx, &dy, &dw)) ||
	    (rc = gpu_cuda_buf(d, GPU_B_OUT, n * sizeof(int32_t), (void **)&db)))
		return rc;
	k_bins<<<gpu_blocks(n), GPU_THREADS, 0, d->s>>>(kx.ax[0], dx, n, db);
	if ((rc = gpu_cuda_rc(cudaGetLastError())) ||
	    (rc = gpu_cuda_rc(cudaMemcpyAsync(bins, db, n * sizeof(int32_t), cudaMemcpyDeviceToHost,
					      d->s))))
		return rc;
	return gpu_cuda_rc(cudaStreamSynchronize(d->s));
}

/* Counts into h->cnt: through host scratch, so that h changes only when
 * every step went well. */
static int fill_counts(struct gpu_dev *d, struct gpu_hist *h, struct kaxes *kx, const double *dx,
		       const double *dy, size_t n)
{
	size_t ncells = gpu_hist_cells(h), bytes = (ncells + 1) * sizeof(unsigned long long);
	unsigned long long *dc, *hc;
	int rc;
	if ((rc = gpu_cuda_buf(d, GPU_B_OUT, bytes, (void **)&dc)) ||
	    (rc = gpu_cuda_host(d, bytes, (void **)&hc)) ||
	    (rc = gpu_cuda_rc(cudaMemsetAsync(dc, 0, bytes, d->s))))
		return rc;
	/* Enough blocks to fill the device, each over many points, so that
	 * the shared counts are added out once per block. */
	unsigned blocks = gpu_blocks(n / 16 + 1);
	if (blocks > 2048)
		blocks = 2048;
	size_t shm = ncells <= GPU_SHARED_CELLS ? (ncells + 1) * sizeof(unsigned int) : 0;
	k_count<<<blocks, GPU_THREADS, shm, d->s>>>(*kx, dx, dy, n, dc, (int)ncells, dc + ncells);
	if ((rc = gpu_cuda_rc(cudaGetLastError())) ||
	    (rc = gpu_cuda_rc(cudaMemcpyAsync(hc, dc, bytes, cudaMemcpyDeviceToHost, d->s))) ||
	    (rc = gpu_cuda_rc(cudaStreamSynchronize(d->s))))
		return rc;
	for (size_t c = 0; c < ncells; c++)
		h->cnt[c] += (int64_t)hc[c];
	h->skipped += hc[ncells];
	h->entries += n - hc[ncells];
	return 0;
}

static int fill_sums(struct gpu_dev *d, struct gpu_hist *h, struct kaxes *kx, const double *dx,
		     const double *dy, const double *dw, size_t n)
{
	size_t ncells = gpu_hist_cells(h), chunk = gpu_k_chunk(n, ncells);
	size_t nchunks = (n + chunk - 1) / chunk, pbytes = nchunks * ncells * sizeof(double);
	size_t obytes = 2 * ncells * sizeof(double) + sizeof(unsigned long long);
	double *part, *dout, *hout;
	int rc;
	if ((rc = gpu_cuda_buf(d, GPU_B_PART, 2 * pbytes, (void **)&part)) ||
	    (rc = gpu_cuda_buf(d, GPU_B_OUT, obytes, (void **)&dout)) ||
	    (rc = gpu_cuda_host(d, obytes, (void **)&hout)) ||
	    (rc = gpu_cuda_rc(cudaMemsetAsync(part, 0, 2 * pbytes, d->s))) ||
	    (rc = gpu_cuda_rc(cudaMemsetAsync(dout, 0, obytes, d->s))))
		return rc;
	double *part2 = part + nchunks * ncells;
	unsigned long long *dskip = (unsigned long long *)(dout + 2 * ncells);
	k_chunks<<<gpu_blocks(nchunks), GPU_THREADS, 0, d->s>>>(*kx, dx, dy, dw, n, nchunks, part,
								 part2, dskip);
	k_reduce<<<gpu_blocks(ncells), GPU_THREADS, 0, d->s>>>(part, part2, nchunks, ncells, dout);
	if ((rc = gpu_cuda_rc(cudaGetLastError())) ||
	    (rc = gpu_cuda_rc(cudaMemcpyAsync(hout, dout, obytes, cudaMemcpyDeviceToHost, d->s))) ||
	    (rc = gpu_cuda_rc(cudaStreamSynchronize(d->s))))
		return rc;
	unsigned long long skipped;
	memcpy(&skipped, hout + 2 * ncells, sizeof(skipped));
	for (size_t c = 0; c < ncells; c++) {
		h->sw[c] += hout[c];
		h->sw2[c] += hout[ncells + c];
	}
	h->skipped += skipped;
	h->entries += n - skipped;
	return 0;
}

extern "C" int gpu_dev_fill(struct gpu_ctx *g, struct gpu_hist *h, const double *x,
			    const double *y, const double *w, size_t n)
{
	struct gpu_dev *d;
	int rc = gpu_cuda_get(g, &d);
	if (rc)
		return rc;
	struct kaxes kx;
	double *dx, *dy, *dw;
	if ((rc = upload(d, h, &kx, NULL, NULL, NULL, n, &dx, &dy, &dw)))
		return rc;
	return h->sw ? fill_sums(d, h, &kx, x, y, w, n) : fill_counts(d, h, &kx, x, y, n);
}
