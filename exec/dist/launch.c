/* launch.c — finding a launcher by name (launch.h). */
#include "launch.h"

#include <string.h>

const struct launch_ops *launch_find(const char *name)
{
	static const struct launch_ops *const all[] = {&launch_local, &launch_slurm,
						       &launch_htcondor};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	return NULL;
}
