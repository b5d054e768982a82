/* gpu_eval.c — the evaluator's nodes on a context: the arguments checked,
 * sent to the device unless the epoch holds them (gpu_eval_mem.c), the
 * kernel run (per value; per event; per chunk of GPU_K_MASK_CHUNK events
 * for masks), the result read back and kept for the epoch.  The same code
 * drives the device and the host emulation. */
#include "gpu_int.h"
#include "gpu_ekern.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

/* Scratch slots of a call: its arguments 0..2, then these. */
enum { SLOT_OFF = 3, SLOT_OUT = 4, SLOT_CNT = 5 };

/* n values of out computed on the device into dout: read back, the copy
 * forgotten when that fails. */
static int read_back(struct gpu_ctx *g, void *out, const void *dout, size_t bytes, int rc)
{
	if (!rc)
		rc = gpu_mem_get(g, out, dout, bytes);
	if (rc)
		gpu_eval_drop(g, out);
	return rc;
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
	g->tr.ops++;
	struct gpu_operand d[3];
	memset(d, 0, sizeof(d));
	for (int k = 0; k < nargs && !rc; k++) {
		size_t bytes = (args[k].scalar ? 1 : n) * gpu_vt_size(args[k].t);
		d[k] = args[k];
		rc = gpu_eval_in(g, args[k].data, bytes, args[k].stable && !args[k].scalar, k, &d[k].data);
	}
	size_t bytes = n * out_size(op, ct);
	void *dout = NULL;
	if (!rc)
		rc = gpu_eval_out(g, out, bytes, SLOT_OUT, &dout);
	if (!rc)
		rc = gpu_run_map(g, op, ct, d, n, dout);
	return read_back(g, out, dout, bytes, rc);
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
	g->tr.ops++;
	size_t total = (size_t)off[nev];
	bool wide = r == GPU_RED_COUNT || (r == GPU_RED_SUM && t == GPU_VT_U8);
	size_t bytes = nev * (wide ? 8 : gpu_vt_size(t));
	const void *dx = NULL, *doff = NULL;
	void *dout = NULL;
	if (r != GPU_RED_COUNT)
		rc = gpu_eval_in(g, x, total * gpu_vt_size(t), true, 0, &dx);
	if (!rc)
		rc = gpu_eval_in(g, off, (nev + 1) * sizeof(int64_t), true, SLOT_OFF, &doff);
	if (!rc)
		rc = gpu_eval_out(g, out, bytes, SLOT_OUT, &dout);
	if (!rc)
		rc = gpu_run_reduce(g, r, t, dx, doff, nev, dout);
	return read_back(g, out, dout, bytes, rc);
}

/* The device's chunk counts of a mask into its chunks' starts (on the
 * host, then back to the device); *kept the total. */
static int mask_starts(struct gpu_ctx *g, uint64_t *dcnt, size_t nchunks, size_t *kept)
{
	uint64_t *h = malloc((nchunks + 1) * sizeof(*h));
	if (!h)
		return -ENOMEM;
	int rc = gpu_mem_get(g, h, dcnt, nchunks * sizeof(*h));
	uint64_t at = 0;
	for (size_t c = 0; !rc && c < nchunks; c++) {
		uint64_t k = h[c];
		h[c] = at;
		at += k;
	}
	if (!rc)
		rc = gpu_mem_put(g, dcnt, h, nchunks * sizeof(*h));
	free(h);
	*kept = (size_t)at;
	return rc;
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
	g->tr.ops++;
	size_t total = (size_t)off[nev], nchunks = (nev + GPU_K_MASK_CHUNK - 1) / GPU_K_MASK_CHUNK;
	const void *dx = NULL, *dk = NULL, *doff = NULL;
	void *dcnt = NULL, *dout = NULL, *dnoff = NULL;
	if (!(rc = gpu_eval_in(g, x, total * size, true, 0, &dx)) &&
	    !(rc = gpu_eval_in(g, keep, total, true, 1, (const void **)&dk)) &&
	    !(rc = gpu_eval_in(g, off, (nev + 1) * sizeof(int64_t), true, SLOT_OFF, &doff)) &&
	    !(rc = gpu_eval_out(g, NULL, nchunks * sizeof(uint64_t), SLOT_CNT, &dcnt)) &&
	    !(rc = gpu_run_mcount(g, dk, doff, nev, nchunks, dcnt)) &&
	    !(rc = mask_starts(g, dcnt, nchunks, kept)) &&
	    !(rc = gpu_eval_out(g, out, *kept * size, SLOT_OUT, &dout)) &&
	    !(rc = gpu_eval_out(g, noff, (nev + 1) * sizeof(int64_t), 2, &dnoff)))
		rc = gpu_run_mwrite(g, size, dx, dk, doff, nev, nchunks, dcnt, dout, dnoff);
	rc = read_back(g, noff, dnoff, (nev + 1) * sizeof(int64_t), rc);
	if (rc)
		gpu_eval_drop(g, out);
	return read_back(g, out, dout, *kept * size, rc);
}

void gpu_ctx_traffic(const struct gpu_ctx *g, struct gpu_traffic *out)
{
	*out = g->tr;
}
