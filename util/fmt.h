/* fmt.h — numbers as people read them in one-line summaries: counts with
 * k/M/G, durations as h:mm:ss, ages as "3m".  Each writes a NUL-terminated
 * string of at most cap bytes into out.  Pure functions: thread-safe. */
#ifndef ANAFS_FMT_H
#define ANAFS_FMT_H

#include <stddef.h>

/* 1234567 as "1.23M" (k, M, G); below 1000 as it is; negative or NaN as 0. */
void fmt_count(char *out, size_t cap, double v);

/* Seconds as "0:01:05"; "-:--:--" when unknown (negative, NaN, past 1e7). */
void fmt_eta(char *out, size_t cap, double secs);

/* An age in seconds as "12s", "3m", "2h" or "5d" (whole units, rounded down). */
void fmt_age(char *out, size_t cap, double secs);

#endif
