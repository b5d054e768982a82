/* eval_gpu.c — the evaluator's fills on the device (gpu.h): a large
 * enough fill of a 1-D or 2-D histogram goes to the state's context, and
 * a device error sends it, and the fills after it, back to the CPU. */
#include "eval_int.h"
#include "gpu.h"

/* Whether the points p of a fill are a node's values, which do not change
 * within the epoch, rather than fill_cell()'s gathered or converted copies
 * (s->fill[], scratch), which the next histogram overwrites. */
static bool kept(const struct eval_state *s, const double *p)
{
	for (int i = 0; i <= QL_VROOTS; i++)
		if (p == s->fill[i])
			return false;
	for (int i = 0; i < EVAL_SCRATCH; i++)
		if ((const void *)p == s->scratch[i])
			return false;
	return p != NULL;
}

/* Fill out from n points on the device when it is on and the fill large
 * enough: 0 when done there; else nothing changed and the caller fills on
 * the CPU (a device error also turns the device off for the state). */
int eval_gpu_fill(struct eval_state *s, struct hist *out, const double *x, const double *y,
		  const double *w, size_t n)
{
	struct hist_raw r;
	if (!s->gpu || n < s->gpu_min || !n || !hist_raw(out, &r))
		return 1;
	struct gpu_hist g = {.ndim = r.ndim, .cnt = r.cnt, .sw = r.sw, .sw2 = r.sw2};
	for (int a = 0; a < r.ndim; a++)
		g.ax[a] = (struct gpu_axis){r.nbins[a], r.lo[a], r.hi[a], r.edges[a]};
	eval_gpu_begin(s);
	unsigned stable = (kept(s, x) ? GPU_STABLE_X : 0) | (kept(s, y) ? GPU_STABLE_Y : 0) |
			  (kept(s, w) ? GPU_STABLE_W : 0);
	int rc = gpu_fill_kept(s->gpu, &g, x, r.ndim == 2 ? y : NULL, w, n, stable);
	if (rc) {
		s->gpu_err = rc;
		s->gpu = NULL;
		return rc;
	}
	*r.skipped += g.skipped;
	*r.entries += g.entries;
	s->gpu_fills++;
	return 0;
}

void eval_set_gpu(struct eval_state *s, struct gpu_ctx *g, size_t min_points)
{
	s->gpu = g;
	s->gpu_min = min_points;
	s->gpu_err = 0;
	s->gpu_fills = 0;
	s->gpu_nodes = 0;
	s->gpu_epoch = 0;
}

int eval_gpu_failed(const struct eval_state *s)
{
	return s->gpu_err;
}

uint64_t eval_gpu_fills(const struct eval_state *s)
{
	return s->gpu_fills;
}
