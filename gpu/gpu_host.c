/* gpu_host.c — the host emulation of the device's operations: gpu_kern.h
 * run on the CPU with the device's chunking, so that a weighted fill has
 * the bits it has on the device.  What ANAFS_GPU_EMULATE=1 runs, and what
 * the unit tests compare with hist_fill(). */
#include "gpu_int.h"
#include "gpu_kern.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t gpu_hist_cells(const struct gpu_hist *h)
{
	size_t c = (size_t)h->ax[0].nbins + 2;
	if (h->ndim == 2)
		c *= (size_t)h->ax[1].nbins + 2;
	return c;
}

static struct gpu_k_axis kaxis(const struct gpu_axis *a)
{
	return (struct gpu_k_axis){a->nbins, a->lo, a->hi, a->edges};
}

int gpu_host_bins(const struct gpu_axis *a, const double *x, size_t n, int32_t *bins)
{
	struct gpu_k_axis k = kaxis(a);
	for (size_t i = 0; i < n; i++)
		bins[i] = gpu_k_bin(&k, x[i]);
	return 0;
}

/* Counts: exact in any order; into a scratch copy first (all or nothing). */
static int host_count(struct gpu_hist *h, const struct gpu_k_axis *ax, const double *x,
		      const double *y, size_t n)
{
	size_t ncells = gpu_hist_cells(h);
	int64_t *c = calloc(ncells, sizeof(*c));
	if (!c)
		return -ENOMEM;
	uint64_t skipped = 0;
	for (size_t i = 0; i < n; i++) {
		int cell = gpu_k_cell(ax, h->ndim, x, y, i);
		if (cell < 0)
			skipped++;
		else
			c[cell]++;
	}
	for (size_t k = 0; k < ncells; k++)
		h->cnt[k] += c[k];
	h->skipped += skipped;
	h->entries += n - skipped;
	free(c);
	return 0;
}

/* Weighted sums: each chunk summed in point order into its partial, the
 * partials added in chunk order (gpu_k_reduce()'s order), then into h.
 * Chunk by chunk, so that only two partials are held. */
static int host_sum(struct gpu_hist *h, const struct gpu_k_axis *ax, const double *x,
		    const double *y, const double *w, size_t n)
{
	size_t ncells = gpu_hist_cells(h), chunk = gpu_k_chunk(n, ncells);
	size_t nchunks = (n + chunk - 1) / chunk;
	double *buf = calloc(4 * ncells, sizeof(double));
	if (!buf)
		return -ENOMEM;
	double *psw = buf, *psw2 = buf + ncells, *acc = buf + 2 * ncells, *acc2 = buf + 3 * ncells;
	uint64_t skipped = 0;
	for (size_t k = 0; k < nchunks; k++) {
		memset(psw, 0, 2 * ncells * sizeof(double));
		skipped += gpu_k_chunk_sum(ax, h->ndim, x, y, w, n, k, nchunks, psw, psw2, 1);
		for (size_t c = 0; c < ncells; c++) {
			acc[c] += psw[c];
			acc2[c] += psw2[c];
		}
	}
	for (size_t c = 0; c < ncells; c++) {
		h->sw[c] += acc[c];
		h->sw2[c] += acc2[c];
	}
	h->skipped += skipped;
	h->entries += n - skipped;
	free(buf);
	return 0;
}

int gpu_host_fill(struct gpu_hist *h, const double *x, const double *y, const double *w,
		  size_t n)
{
	struct gpu_k_axis ax[2] = {kaxis(&h->ax[0]), kaxis(&h->ax[h->ndim == 2])};
	if (h->sw)
		return host_sum(h, ax, x, y, w, n);
	return host_count(h, ax, x, y, n);
}

int gpu_host_compact(const double *x, const uint8_t *mask, size_t n, double *out, size_t *kept)
{
	size_t at = 0;
	for (size_t from = 0; from < n; from += GPU_K_COMPACT_CHUNK) {
		size_t to = n - from < GPU_K_COMPACT_CHUNK ? n : from + GPU_K_COMPACT_CHUNK;
		gpu_k_compact_write(x, mask, from, to, out + at);
		at += gpu_k_compact_count(mask, from, to);
	}
	*kept = at;
	return 0;
}
