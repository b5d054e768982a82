/* launch_slurm.c — the slurm launcher (launch.h).  STUB: being written. */
#include "launch.h"

#include <errno.h>

static int start(const struct launch_env *env, struct launcher **out, char *msg, size_t cap)
{
	(void)env, (void)out, (void)msg, (void)cap;
	return -ENOSYS;
}
static void tick(struct launcher *l, int want) { (void)l, (void)want; }
static void count(struct launcher *l, int *queued, int *running)
{
	(void)l;
	*queued = *running = 0;
}
static void stop(struct launcher *l) { (void)l; }
static bool owns(struct launcher *l, const char *pilot)
{
	(void)l, (void)pilot;
	return false;
}
static void describe(struct launcher *l, struct strbuf *out) { (void)l, (void)out; }

const struct launch_ops launch_slurm = {
	.name = "slurm", .start = start, .tick = tick, .count = count, .stop = stop, .owns = owns,
	.describe = describe,
};
