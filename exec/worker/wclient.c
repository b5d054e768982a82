/* wclient.c — the worker process (wclient.h).  STUB: being written. */
#include "wclient.h"

#include <stdio.h>

int wclient_run(const struct wclient_opts *o)
{
	(void)o;
	fprintf(stderr, "anafs worker: not built yet\n");
	return 1;
}
