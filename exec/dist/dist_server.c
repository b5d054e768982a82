/* dist_server.c — the worker-process backend (dist.h).  STUB: being written. */
#include "dist.h"

#include <errno.h>
#include <stdio.h>

static int start(const struct backend_env *env, struct backend **out)
{
	(void)env, (void)out;
	return -ENOSYS;
}
static void stop(struct backend *b) { (void)b; }
static int dispatch(struct backend *b, struct btask *t)
{
	(void)b, (void)t;
	return -EAGAIN;
}
static int poll_(struct backend *b)
{
	(void)b;
	return 0;
}
static void describe(struct backend *b, struct strbuf *out) { (void)b, (void)out; }

const struct backend_ops backend_workers = {
	.name = "workers", .start = start, .stop = stop, .dispatch = dispatch,
	.poll = poll_, .describe = describe,
};

void dist_ipc_url(const char *statedir, char *out, size_t cap)
{
	snprintf(out, cap, "ipc://%s/workers.sock", statedir);
}
