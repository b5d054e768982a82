/* gpu_eval_mem.c — the evaluation's device memory: what a context keeps
 * on the device within an epoch (copies of host buffers, keyed by their
 * address), scratch for what it does not keep, copies counted in the
 * context's traffic; and the kernels' launches.  The host emulation has
 * the same memory in host allocations of its own, and runs gpu_ekern.h's
 * functions in loops over them: what it keeps, sends and reads back is
 * what a device would, so a copy kept too long shows in the emulated
 * tests as a wrong value. */
#include "gpu_int.h"
#include "gpu_ekern.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int mem_alloc(struct gpu_ctx *g, size_t bytes, void **out)
{
	if (!g->emulated)
		return gpu_dev_alloc(g, bytes, out);
	*out = malloc(bytes ? bytes : 8);
	return *out ? 0 : -ENOMEM;
}

static void mem_free(struct gpu_ctx *g, void *p)
{
	if (g->emulated)
		free(p);
	else
		gpu_dev_free(g, p);
}

/* *p of at least bytes (its contents lost when it grows). */
static int mem_grow(struct gpu_ctx *g, void **p, size_t *cap, size_t bytes)
{
	if (bytes <= *cap && *p)
		return 0;
	mem_free(g, *p);
	*p = NULL;
	*cap = 0;
	size_t want = bytes + bytes / 4;
	int rc = mem_alloc(g, want, p);
	if (!rc)
		*cap = want;
	else
		*p = NULL;
	return rc;
}

int gpu_mem_put(struct gpu_ctx *g, void *dev, const void *host, size_t bytes)
{
	g->tr.to_dev += bytes;
	if (!g->emulated)
		return gpu_dev_put(g, dev, host, bytes);
	if (bytes)
		memcpy(dev, host, bytes);
	return 0;
}

int gpu_mem_get(struct gpu_ctx *g, void *host, const void *dev, size_t bytes)
{
	g->tr.from_dev += bytes;
	if (!g->emulated)
		return gpu_dev_get(g, host, dev, bytes);
	if (bytes)
		memcpy(host, dev, bytes);
	return 0;
}

/* ---- what an epoch keeps ---- */

void gpu_eval_epoch(struct gpu_ctx *g, uint64_t epoch)
{
	if (epoch == g->epoch)
		return;
	for (int i = 0; i < GPU_RES_MAX; i++)
		g->res[i].host = NULL; /* the buffers stay, for the next copies */
	g->epoch = epoch;
}

void gpu_eval_drop(struct gpu_ctx *g, const void *host)
{
	for (int i = 0; i < GPU_RES_MAX; i++)
		if (g->res[i].host == host)
			g->res[i].host = NULL;
}

void gpu_eval_release(struct gpu_ctx *g)
{
	for (int i = 0; i < GPU_RES_MAX; i++)
		mem_free(g, g->res[i].dev);
	for (int i = 0; i < GPU_TMP_MAX; i++)
		mem_free(g, g->tmp[i]);
	memset(g->res, 0, sizeof(g->res));
	memset(g->tmp, 0, sizeof(g->tmp));
	memset(g->tmp_cap, 0, sizeof(g->tmp_cap));
	g->res_bytes = 0;
}

/* An entry for host's bytes: a free one whose buffer is large enough, else
 * a free one grown, else the next in turn; NULL when keeping it would pass
 * GPU_RES_BYTES or the device has no memory for it (the caller then uses
 * scratch: memory for copies is not worth failing for); *rc another error. */
static struct gpu_res *res_take(struct gpu_ctx *g, const void *host, size_t bytes, int *rc)
{
	*rc = 0;
	gpu_eval_drop(g, host);
	struct gpu_res *pick = NULL;
	for (int i = 0; i < GPU_RES_MAX; i++) {
		struct gpu_res *e = &g->res[i];
		if (e->host)
			continue;
		if (e->cap >= bytes && (!pick || pick->cap < bytes || e->cap < pick->cap))
			pick = e;
		else if (!pick)
			pick = e;
	}
	for (int i = 0; !pick && i < GPU_RES_MAX; i++) { /* none free: the next in turn */
		struct gpu_res *e = &g->res[g->res_next];
		g->res_next = (g->res_next + 1) % GPU_RES_MAX;
		if (e->used != g->tr.ops) /* not an argument of this operation */
			pick = e;
	}
	if (!pick)
		return NULL;
	if (pick->cap < bytes) {
		if (g->res_bytes - pick->cap + bytes + bytes / 4 > GPU_RES_BYTES)
			return NULL;
		g->res_bytes -= pick->cap;
		*rc = mem_grow(g, &pick->dev, &pick->cap, bytes);
		g->res_bytes += pick->cap;
		if (*rc == -ENOMEM)
			*rc = 0;
		if (*rc || !pick->dev)
			return NULL;
	}
	pick->host = host;
	pick->bytes = bytes;
	pick->used = g->tr.ops;
	return pick;
}

int gpu_eval_in(struct gpu_ctx *g, const void *host, size_t bytes, bool keep, int slot,
		const void **dev)
{
	int rc;
	if (keep && g->epoch) {
		for (int i = 0; i < GPU_RES_MAX; i++)
			if (g->res[i].host == host && g->res[i].bytes >= bytes) {
				g->res[i].used = g->tr.ops;
				*dev = g->res[i].dev;
				return 0;
			}
		struct gpu_res *e = res_take(g, host, bytes, &rc);
		if (rc)
			return rc;
		if (e) {
			if ((rc = gpu_mem_put(g, e->dev, host, bytes)))
				e->host = NULL;
			*dev = e->dev;
			return rc;
		}
	}
	if ((rc = mem_grow(g, &g->tmp[slot], &g->tmp_cap[slot], bytes)))
		return rc;
	*dev = g->tmp[slot];
	return gpu_mem_put(g, g->tmp[slot], host, bytes);
}

int gpu_eval_out(struct gpu_ctx *g, const void *host, size_t bytes, int slot, void **dev)
{
	int rc;
	if (g->epoch && host) {
		struct gpu_res *e = res_take(g, host, bytes, &rc);
		if (rc)
			return rc;
		if (e) {
			*dev = e->dev;
			return 0;
		}
	}
	if ((rc = mem_grow(g, &g->tmp[slot], &g->tmp_cap[slot], bytes)))
		return rc;
	*dev = g->tmp[slot];
	return 0;
}

/* ---- the kernels, on the device or in loops ---- */

int gpu_run_map(struct gpu_ctx *g, int op, int ct, const struct gpu_operand *dargs, size_t n,
		void *dout)
{
	if (!g->emulated)
		return gpu_dev_kmap(g, op, ct, dargs, n, dout);
	for (size_t i = 0; i < n; i++)
		gpu_k_map(op, ct, dargs, i, dout);
	return 0;
}

int gpu_run_reduce(struct gpu_ctx *g, int r, int t, const void *dx, const int64_t *doff,
		   size_t nev, void *dout)
{
	if (!g->emulated)
		return gpu_dev_kreduce(g, r, t, dx, doff, nev, dout);
	for (size_t e = 0; e < nev; e++)
		gpu_k_reduce_event(r, t, dx, doff, e, dout);
	return 0;
}

int gpu_run_mcount(struct gpu_ctx *g, const uint8_t *dkeep, const int64_t *doff, size_t nev,
		   size_t nchunks, uint64_t *dcnt)
{
	if (!g->emulated)
		return gpu_dev_kmcount(g, dkeep, doff, nev, nchunks, dcnt);
	for (size_t c = 0; c < nchunks; c++) {
		size_t from = c * GPU_K_MASK_CHUNK, to = from + GPU_K_MASK_CHUNK;
		dcnt[c] = gpu_k_mask_count(dkeep, doff, from, to < nev ? to : nev);
	}
	return 0;
}

int gpu_run_mwrite(struct gpu_ctx *g, size_t size, const void *dx, const uint8_t *dkeep,
		   const int64_t *doff, size_t nev, size_t nchunks, const uint64_t *dstart,
		   void *dout, int64_t *dnoff)
{
	if (!g->emulated)
		return gpu_dev_kmwrite(g, size, dx, dkeep, doff, nev, nchunks, dstart, dout, dnoff);
	for (size_t c = 0; c < nchunks; c++) {
		size_t from = c * GPU_K_MASK_CHUNK, to = from + GPU_K_MASK_CHUNK;
		gpu_k_mask_write(size, dx, dkeep, doff, from, to < nev ? to : nev, dstart[c], dout,
				 dnoff);
	}
	return 0;
}
