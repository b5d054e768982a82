/* gpu_kern.h — the kernels' logic, one copy for both sides: under nvcc
 * these are __host__ __device__ functions the .cu kernels call per thread;
 * in C they are static inline functions the host emulation (gpu_host.c)
 * and the unit tests call in loops.  The device and the emulation split
 * the points into the same chunks (gpu_k_chunk()), so a weighted sum has
 * the same bits on either.  Private to gpu/. */
#ifndef ANAFS_GPU_KERN_H
#define ANAFS_GPU_KERN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __CUDACC__
#define GPU_FN __host__ __device__ static inline
#else
#define GPU_FN static inline
#endif

/* An axis as the kernels see it: edges (variable axes) where the caller's
 * side can read them (device memory on the device). */
struct gpu_k_axis {
	int nbins;
	double lo, hi;
	const double *edges;
};

/* Weighted fills: the points in chunks of at least GPU_K_CHUNK_MIN, more
 * when the chunks' partial histograms (chunks x cells doubles per sum)
 * would pass GPU_K_PARTIAL_MAX.  The partials are cell-major: cell c of
 * chunk k at c * nchunks + k. */
#define GPU_K_CHUNK_MIN 256
#define GPU_K_PARTIAL_MAX ((size_t)1 << 22)
/* Compaction: the points in chunks of this many. */
#define GPU_K_COMPACT_CHUNK 256

/* Bin of x on a variable axis with flow: hist_fill.c's var_bin(). */
GPU_FN int gpu_k_var_bin(const double *e, int nbins, double x)
{
	int lo = 0, hi = nbins;
	if (x < e[0])
		return 0;
	if (x >= e[hi])
		return hi + 1;
	while (hi - lo > 1) { /* e[lo] <= x < e[hi] */
		int mid = lo + (hi - lo) / 2;
		if (x >= e[mid])
			lo = mid;
		else
			hi = mid;
	}
	return lo + 1;
}

/* Bin of x on a regular or variable axis, flow bins included, or -1 for
 * NaN: hist_fill.c's axis_bin(), the same expression in the same order
 * (no fused multiply-add: the .cu files build with --fmad=false). */
GPU_FN int gpu_k_bin(const struct gpu_k_axis *a, double x)
{
	if (x != x)
		return -1;
	if (a->edges)
		return gpu_k_var_bin(a->edges, a->nbins, x);
	if (x < a->lo)
		return 0;
	if (x >= a->hi)
		return a->nbins + 1;
	double t = a->nbins * (x - a->lo) / (a->hi - a->lo);
	int b = (int)t; /* 0 <= t <= nbins: hist.c's check_axis() */
	return b < a->nbins ? b + 1 : a->nbins;
}

/* Cell of point i of a 1-D (y unused) or 2-D histogram, or -1. */
GPU_FN int gpu_k_cell(const struct gpu_k_axis *ax, int ndim, const double *x, const double *y,
		      size_t i)
{
	int bx = gpu_k_bin(&ax[0], x[i]);
	if (ndim == 1 || bx < 0)
		return bx;
	int by = gpu_k_bin(&ax[1], y[i]);
	return by < 0 ? -1 : bx * (ax[1].nbins + 2) + by;
}

/* A weight that can go into a sum: finite (w - w is NaN otherwise). */
GPU_FN int gpu_k_good_weight(double w)
{
	return w - w == 0.0;
}

/* The chunk length of a weighted fill of n points into ncells cells; a
 * function of (n, ncells) only, so that the device and the emulation cut
 * alike. */
GPU_FN size_t gpu_k_chunk(size_t n, size_t ncells)
{
	size_t chunk = GPU_K_CHUNK_MIN;
	while (chunk < n && ((n + chunk - 1) / chunk) * ncells > GPU_K_PARTIAL_MAX)
		chunk *= 2;
	return chunk;
}

/* Chunk k of nchunks holds points k, k + nchunks, k + 2 nchunks, ... (so
 * that the device's threads, one a chunk, read neighbouring points): its
 * partial sums into psw[c * pstride], psw2[c * pstride] for cell c (zero
 * at first), in point order; the points skipped. */
GPU_FN uint64_t gpu_k_chunk_sum(const struct gpu_k_axis *ax, int ndim, const double *x,
				const double *y, const double *w, size_t n, size_t k,
				size_t nchunks, double *psw, double *psw2, size_t pstride)
{
	uint64_t skipped = 0;
	for (size_t i = k; i < n; i += nchunks) {
		int c = gpu_k_cell(ax, ndim, x, y, i);
		double wi = w ? w[i] : 1.0;
		if (c < 0 || !gpu_k_good_weight(wi)) {
			skipped++;
			continue;
		}
		psw[(size_t)c * pstride] += wi;
		psw2[(size_t)c * pstride] += wi * wi;
	}
	return skipped;
}

/* The sum of a cell's nchunks partials p[0..nchunks), in chunk order. */
GPU_FN double gpu_k_reduce(const double *p, size_t nchunks)
{
	double s = 0;
	for (size_t k = 0; k < nchunks; k++)
		s += p[k];
	return s;
}

/* Compaction: the points of [from, to) with mask set, and their copy to
 * out (the chunk's first place). */
GPU_FN size_t gpu_k_compact_count(const uint8_t *mask, size_t from, size_t to)
{
	size_t k = 0;
	for (size_t i = from; i < to; i++)
		k += mask[i] != 0;
	return k;
}

GPU_FN void gpu_k_compact_write(const double *x, const uint8_t *mask, size_t from, size_t to,
				double *out)
{
	size_t k = 0;
	for (size_t i = from; i < to; i++)
		if (mask[i])
			out[k++] = x[i];
}

#endif
