/* gpu_select.c — where the fills run: the process's mode (--gpu, or
 * $ANAFS_GPU for a worker) and what it means on this machine. */
#include "gpu.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int mode_set = -1; /* -1: not set, read $ANAFS_GPU */

int gpu_mode_parse(const char *s, enum gpu_mode *out)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "auto"))
		*out = GPU_AUTO;
	else if (!strcmp(s, "on"))
		*out = GPU_ON;
	else if (!strcmp(s, "off"))
		*out = GPU_OFF;
	else
		return -EINVAL;
	return 0;
}

const char *gpu_mode_name(enum gpu_mode m)
{
	return m == GPU_ON ? "on" : m == GPU_OFF ? "off" : "auto";
}

enum gpu_mode gpu_mode_get(void)
{
	int m = atomic_load(&mode_set);
	if (m >= 0)
		return (enum gpu_mode)m;
	enum gpu_mode e;
	return gpu_mode_parse(getenv("ANAFS_GPU"), &e) ? GPU_AUTO : e;
}

void gpu_mode_set(enum gpu_mode m)
{
	atomic_store(&mode_set, (int)m);
}

size_t gpu_min_points(enum gpu_mode m)
{
	return m == GPU_ON ? 0 : GPU_AUTO_MIN_POINTS;
}

bool gpu_choose(enum gpu_mode m, int *dev, char *text, size_t cap)
{
	if (m == GPU_OFF) {
		snprintf(text, cap, "fills on the CPU (--gpu off)");
		return false;
	}
	struct gpu_info info;
	if (gpu_device_count() < 1 || gpu_device_info(0, &info)) {
		snprintf(text, cap, "fills on the CPU: no device (--gpu %s)", gpu_mode_name(m));
		return false;
	}
	*dev = 0;
	if (m == GPU_ON)
		snprintf(text, cap, "fills on GPU %s (--gpu on: every fill and operation)", info.name);
	else
		snprintf(text, cap, "fills on GPU %s (--gpu auto: fills and operations of %d values or more)",
			 info.name, GPU_AUTO_MIN_POINTS);
	return true;
}
