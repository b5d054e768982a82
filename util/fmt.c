/* fmt.c — numbers for one-line summaries (fmt.h). */
#include "fmt.h"

#include <math.h>
#include <stdio.h>

void fmt_count(char *out, size_t cap, double v)
{
	if (!(v >= 0))
		v = 0;
	if (v >= 1e9)
		snprintf(out, cap, "%.2fG", fmin(v / 1e9, 1e6));
	else if (v >= 1e6)
		snprintf(out, cap, "%.2fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(out, cap, "%.2fk", v / 1e3);
	else
		snprintf(out, cap, "%.0f", v);
}

void fmt_eta(char *out, size_t cap, double secs)
{
	if (!(secs >= 0) || secs > 1e7) {
		snprintf(out, cap, "-:--:--");
		return;
	}
	long s = lround(secs);
	snprintf(out, cap, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

void fmt_age(char *out, size_t cap, double secs)
{
	if (!(secs >= 0))
		secs = 0;
	if (secs < 60)
		snprintf(out, cap, "%.0fs", floor(secs));
	else if (secs < 3600)
		snprintf(out, cap, "%.0fm", floor(secs / 60));
	else if (secs < 86400)
		snprintf(out, cap, "%.0fh", floor(secs / 3600));
	else
		snprintf(out, cap, "%.0fd", fmin(floor(secs / 86400), 99999));
}
