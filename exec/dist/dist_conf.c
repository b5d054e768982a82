/* dist_conf.c — the worker configuration (dist.h).  STUB: being written. */
#include "dist.h"

#include <errno.h>
#include <string.h>

void dist_conf_defaults(struct dist_conf *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->backend, "local");
}
int dist_conf_load(const char *path, struct dist_conf *c, char *msg, size_t cap)
{
	(void)path, (void)c, (void)msg, (void)cap;
	return 0;
}
int dist_conf_set(struct dist_conf *c, const char *key, const char *value, char *msg, size_t cap)
{
	(void)c, (void)key, (void)value, (void)msg, (void)cap;
	return -EINVAL;
}
