/* src_xrd.c — root:// sources through the XRootD client: not built yet. */
#include "src.h"
#include "src_int.h"

#include <errno.h>
#include <stdio.h>

int src_xrd_open(const char *url, struct src **out, char *msg, size_t cap)
{
	snprintf(msg, cap, "%s: root:// is not built in", url);
	return -EPROTONOSUPPORT;
}

int src_xrd_stat(const char *url, struct src_info *info, char *msg, size_t cap)
{
	snprintf(msg, cap, "%s: root:// is not built in", url);
	return -EPROTONOSUPPORT;
}

int src_xrd_list(const char *dir_url,
		 int (*each)(void *ctx, const char *name, const struct src_info *info), void *ctx,
		 char *msg, size_t cap)
{
	snprintf(msg, cap, "%s: root:// is not built in", dir_url);
	return -EPROTONOSUPPORT;
}
