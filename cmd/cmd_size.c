/* cmd_size.c — sizes on the command line (--hist-memory 8G). */
#include "cmd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int cmd_parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || !(v > 0))
		return -1;
	const char *units = "KMGTP";
	double mult = 1;
	if (*end) {
		const char *u = strchr(units, *end == 'k' ? 'K' : *end);
		if (!u || !*u)
			return -1;
		mult = pow(1024, (double)(u - units + 1));
		end++;
		if (*end == 'B' || *end == 'b')
			end++;
	}
	if (*end || v * mult > 1e19)
		return -1;
	*out = (uint64_t)(v * mult);
	return 0;
}
