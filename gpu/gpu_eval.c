/* gpu_eval.c — the evaluator's nodes on a context: the arguments checked,
 * the traffic counted (what a device moves, emulated or not), then the
 * device side (gpu_eval.cu) or, for the host emulation, gpu_ekern.h's
 * functions in loops in the device's order (per value; per event; per
 * chunk of GPU_K_MASK_CHUNK events for masks). */
#include "gpu_int.h"
#include "gpu_ekern.h"

#include <errno.h>

/* The arguments op takes. */
static int op_nargs(enum gpu_op op)
{
	if (op == GPU_OP_COND)
		return 3;
	if (op == GPU_OP_NOT || (op >= GPU_OP_NEG && op <= GPU_OP_CEIL))
		return 1;
	return 2;
}

/* Whether op computes in ct. */
static bool op_type_ok(enum gpu_op op, enum gpu_vt ct)
{
	if (op >= GPU_OP_EQ && op <= GPU_OP_GE)
		return ct != GPU_VT_U8;
	if (op >= GPU_OP_AND && op <= GPU_OP_NOT)
		return ct == GPU_VT_U8;
	if (op == GPU_OP_COND)
		return true;
	if (ct == GPU_VT_F64)
		return true;
	return ct == GPU_VT_I64 && op != GPU_OP_DIV && op != GPU_OP_SQRT && op != GPU_OP_FLOOR &&
	       op != GPU_OP_CEIL && op != GPU_OP_DELTA_PHI;
}

static size_t out_size(enum gpu_op op, enum gpu_vt ct)
{
	return op >= GPU_OP_EQ && op <= GPU_OP_NOT ? 1 : gpu_vt_size(ct);
}

int gpu_eval_map(struct gpu_ctx *g, enum gpu_op op, enum gpu_vt ct, const struct gpu_operand *args,
		 int nargs, size_t n, void *out)
{
	if ((int)op < 0 || op >= GPU_OP_COUNT_ || (int)ct < 0 || ct > GPU_VT_F64 ||
	    nargs != op_nargs(op) || !op_type_ok(op, ct))
		return -EINVAL;
	for (int k = 0; k < nargs; k++)
		if ((int)args[k].t < 0 || args[k].t > GPU_VT_F64 || !args[k].data)
			return -EINVAL;
	int rc = gpu_ctx_fault(g);
	if (rc || !n)
		return rc;
	for (int k = 0; k < nargs; k++)
		g->tr.to_dev += args[k].scalar ? 8 : n * gpu_vt_size(args[k].t);
	g->tr.from_dev += n * out_size(op, ct);
	g->tr.ops++;
	if (!g->emulated)
		return gpu_dev_map(g, op, ct, args, nargs, n, out);
	for (size_t i = 0; i < n; i++)
		gpu_k_map(op, ct, args, i, out);
	return 0;
}

int gpu_eval_reduce(struct gpu_ctx *g, enum gpu_red r, enum gpu_vt t, const void *x,
		    const int64_t *off, size_t nev, void *out)
{
	if ((int)r < 0 || r > GPU_RED_COUNT || (int)t < 0 || t > GPU_VT_F64 || !off ||
	    (!x && r != GPU_RED_COUNT) || ((r == GPU_RED_ANY || r == GPU_RED_ALL) && t != GPU_VT_U8))
		return -EINVAL;
	int rc = gpu_ctx_fault(g);
	if (rc || !nev)
		return rc;
	size_t total = (size_t)off[nev];
	bool wide = r == GPU_RED_COUNT || (r == GPU_RED_SUM && t == GPU_VT_U8);
	g->tr.to_dev += (nev + 1) * 8 + (r == GPU_RED_COUNT ? 0 : total * gpu_vt_size(t));
	g->tr.from_dev += nev * (wide ? 8 : gpu_vt_size(t));
	g->tr.ops++;
	if (!g->emulated)
		return gpu_dev_reduce(g, r, t, x, off, nev, out);
	for (size_t e = 0; e < nev; e++)
		gpu_k_reduce_event(r, t, x, off, e, out);
	return 0;
}

int gpu_eval_mask(struct gpu_ctx *g, size_t size, const void *x, const uint8_t *keep,
		  const int64_t *off, size_t nev, void *out, int64_t *noff, size_t *kept)
{
	if ((size != 1 && size != 8) || !off || !noff)
		return -EINVAL;
	int rc = gpu_ctx_fault(g);
	if (rc)
		return rc;
	noff[0] = 0;
	*kept = 0;
	if (!nev)
		return 0;
	size_t total = (size_t)off[nev];
	g->tr.to_dev += (nev + 1) * 8 + total * (size + 1);
	g->tr.ops++;
	if (!g->emulated)
		rc = gpu_dev_mask(g, size, x, keep, off, nev, out, noff, kept);
	else {
		uint64_t at = 0;
		for (size_t from = 0; from < nev; from += GPU_K_MASK_CHUNK) {
			size_t to = nev - from < GPU_K_MASK_CHUNK ? nev : from + GPU_K_MASK_CHUNK;
			uint64_t k = gpu_k_mask_count(keep, off, from, to);
			gpu_k_mask_write(size, x, keep, off, from, to, at, out, noff);
			at += k;
		}
		*kept = (size_t)at;
	}
	if (!rc)
		g->tr.from_dev += *kept * size + (nev + 1) * 8;
	return rc;
}

void gpu_ctx_traffic(const struct gpu_ctx *g, struct gpu_traffic *out)
{
	*out = g->tr;
}
