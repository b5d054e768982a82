/* gpu.c — detection, contexts and the operations' dispatch: to the device
 * side (gpu_dev.cu and the kernels, or gpu_none.c) or, for the emulated
 * device, to gpu_host.c; fault injection for the tests of the fallback. */
#include "gpu_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool emulate(void)
{
	const char *e = getenv("ANAFS_GPU_EMULATE");
	return e && !strcmp(e, "1");
}

int gpu_device_count(void)
{
	int n = gpu_dev_count();
	return n > 0 ? n : emulate() ? 1 : 0;
}

int gpu_device_info(int dev, struct gpu_info *out)
{
	if (gpu_dev_count() > 0)
		return gpu_dev_info(dev, out);
	if (dev != 0 || !emulate())
		return -ENODEV;
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "host emulation");
	out->emulated = true;
	return 0;
}

static int fault_of_env(void)
{
	const char *f = getenv("ANAFS_GPU_FAULT");
	if (!f)
		return GPU_FAULT_NONE;
	if (!strcmp(f, "oom"))
		return GPU_FAULT_OOM;
	if (!strcmp(f, "error"))
		return GPU_FAULT_ERROR;
	return GPU_FAULT_NONE;
}

int gpu_ctx_open(int dev, struct gpu_ctx **out)
{
	struct gpu_info info;
	int rc = gpu_device_info(dev, &info);
	if (rc)
		return rc;
	struct gpu_ctx *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->dev = dev;
	g->emulated = info.emulated;
	g->fault = fault_of_env();
	snprintf(g->name, sizeof(g->name), "%s", info.name);
	*out = g;
	return 0;
}

void gpu_ctx_close(struct gpu_ctx *g)
{
	if (!g)
		return;
	gpu_eval_release(g);
	if (g->d)
		gpu_dev_close(g->d);
	free(g);
}

const char *gpu_ctx_name(const struct gpu_ctx *g)
{
	return g->name;
}


static bool axis_ok(const struct gpu_axis *a)
{
	return a->nbins > 0 && a->nbins <= 1000000 && (a->edges || a->lo < a->hi);
}

int gpu_bins(struct gpu_ctx *g, const struct gpu_axis *a, const double *x, size_t n,
	     int32_t *bins)
{
	if (!axis_ok(a))
		return -EINVAL;
	int rc = gpu_ctx_fault(g);
	if (rc || !n)
		return rc;
	return g->emulated ? gpu_host_bins(a, x, n, bins) : gpu_dev_bins(g, a, x, n, bins);
}

int gpu_fill(struct gpu_ctx *g, struct gpu_hist *h, const double *x, const double *y,
	     const double *w, size_t n)
{
	return gpu_fill_kept(g, h, x, y, w, n, 0);
}

int gpu_fill_kept(struct gpu_ctx *g, struct gpu_hist *h, const double *x, const double *y,
		  const double *w, size_t n, unsigned stable)
{
	if ((h->ndim != 1 && h->ndim != 2) || !axis_ok(&h->ax[0]) ||
	    (h->ndim == 2 && (!axis_ok(&h->ax[1]) || !y)) || (h->sw ? !h->sw2 : !h->cnt))
		return -EINVAL;
	int rc = gpu_ctx_fault(g);
	if (rc || !n)
		return rc;
	/* The points (and weights) on the device, the epoch's copies where it
	 * has them (counted in the traffic as they go), the cells back. */
	g->tr.ops++;
	const void *dx, *dy = NULL, *dw = NULL;
	size_t bytes = n * sizeof(double);
	rc = gpu_eval_in(g, x, bytes, stable & GPU_STABLE_X, 0, &dx);
	if (!rc && h->ndim == 2)
		rc = gpu_eval_in(g, y, bytes, stable & GPU_STABLE_Y, 1, &dy);
	if (!rc && h->sw && w)
		rc = gpu_eval_in(g, w, bytes, stable & GPU_STABLE_W, 2, &dw);
	if (rc)
		return rc;
	g->tr.from_dev += gpu_hist_cells(h) * (h->sw ? 2 * sizeof(double) : sizeof(int64_t));
	return g->emulated ? gpu_host_fill(h, dx, dy, dw, n) : gpu_dev_fill(g, h, dx, dy, dw, n);
}

int gpu_compact(struct gpu_ctx *g, const double *x, const uint8_t *mask, size_t n, double *out,
		size_t *kept)
{
	int rc = gpu_ctx_fault(g);
	if (rc)
		return rc;
	if (!n) {
		*kept = 0;
		return 0;
	}
	return g->emulated ? gpu_host_compact(x, mask, n, out, kept)
			   : gpu_dev_compact(g, x, mask, n, out, kept);
}

const char *gpu_strerror(int rc)
{
	switch (rc) {
	case 0:
		return "no error";
	case -ENODEV:
		return "no device";
	case -ENOMEM:
		return "device out of memory";
	case -EINVAL:
		return "a histogram the device does not fill";
	default:
		return "device error";
	}
}
