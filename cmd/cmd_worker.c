/* cmd_worker.c — `anafs worker --connect URL`.  STUB: being written. */
#include "cmd.h"
#include "wclient.h"

#include <stdio.h>

int cmd_worker(int argc, char **argv)
{
	(void)argc, (void)argv;
	fprintf(stderr, "anafs worker: not built yet\n");
	return 1;
}
