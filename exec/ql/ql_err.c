/* ql_err.c — query errors: the place, the line with a caret under it, a
 * hint; and the closest names for a hint about a misspelt one. */
#include "ql.h"
#include "ql_int.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ql_fail(struct ql_error *err, const char *filename, const char *text, int line, int col,
	     int len, const char *hint, const char *fmt, ...)
{
	if (!err)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	snprintf(err->hint, sizeof(err->hint), "%s", hint ? hint : "");
	err->line = line;
	err->col = col;
	const char *file = filename ? filename : "query";
	size_t n = 0, cap = sizeof(err->text);
	if (line > 0)
		n += (size_t)snprintf(err->text, cap, "%s:%d:%d: error: %s\n", file, line, col, err->msg);
	else
		n += (size_t)snprintf(err->text, cap, "%s: error: %s\n", file, err->msg);
	/* The line, then a caret under the spot. */
	const char *p = text;
	for (int l = 1; p && l < line && *p; p++)
		if (*p == '\n')
			l++;
	if (p && line > 0 && n < cap) {
		const char *e = strchr(p, '\n');
		int w = e ? (int)(e - p) : (int)strlen(p);
		/* A line is shown 200 bytes at most: from its start, or around a
		 * spot so far along that the caret line would not fit. */
		int from = col > 1000 ? col - 100 : 1;
		if (from > w)
			from = w > 0 ? w : 1;
		const char *cut = from > 1 ? "..." : "";
		w -= from - 1;
		if (w > 200)
			w = 200;
		n += (size_t)snprintf(err->text + n, cap - n, "  %s%.*s\n  %s", cut, w, p + from - 1,
				      from > 1 ? "   " : "");
		for (int i = from; i < col && n + 2 < cap; i++)
			err->text[n++] = p[i - 1] == '\t' ? '\t' : ' ';
		if (n + 2 < cap)
			err->text[n++] = '^';
		for (int i = 1; i < len && i < 80 && n + 2 < cap; i++)
			err->text[n++] = '~';
		if (n + 1 < cap)
			err->text[n++] = '\n';
		err->text[n < cap ? n : cap - 1] = 0;
	}
	if (hint && *hint && n < cap)
		snprintf(err->text + n, cap - n, "  hint: %s\n", hint);
}

/* Edit distance, bounded: names far apart are not suggestions anyway. */
static int distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 99;
	int row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int prev = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int cur = row[j];
			int sub = prev + ((a[i - 1] | 32) != (b[j - 1] | 32));
			int best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
			row[j] = sub < best ? sub : best;
			prev = cur;
		}
	}
	return row[lb];
}

/* Whether name is among the first n of kept (which may hold NULLs). */
static bool kept(const char *const *keep, int n, const char *name)
{
	for (int k = 0; k < n; k++)
		if (keep[k] && !strcmp(keep[k], name))
			return true;
	return false;
}

void ql_suggest(const char *name, const char *const *cands, size_t n, char *out, size_t cap)
{
	enum { KEEP = 3 };
	const char *best[KEEP] = {0};
	int bestd[KEEP] = {99, 99, 99};
	int limit = (int)strlen(name) / 3 + 2;
	for (size_t i = 0; i < n; i++) {
		/* One name may be a candidate twice (min and max have two
		 * arities; a tree may list a branch twice): an equal name is
		 * at an equal distance, so the first one kept stands for both. */
		if (kept(best, KEEP, cands[i]))
			continue;
		int d = distance(name, cands[i]);
		/* A name that contains the other is close too: "pt" -> "Muon_pt". */
		if (d > limit && strlen(name) >= 2 && strstr(cands[i], name))
			d = limit;
		if (d > limit)
			continue;
		for (int k = 0; k < KEEP; k++)
			if (d < bestd[k]) {
				for (int m = KEEP - 1; m > k; m--) {
					best[m] = best[m - 1];
					bestd[m] = bestd[m - 1];
				}
				best[k] = cands[i];
				bestd[k] = d;
				break;
			}
	}
	out[0] = 0;
	if (!best[0])
		return;
	size_t len = (size_t)snprintf(out, cap, "did you mean %s", best[0]);
	for (int k = 1; k < KEEP && best[k] && len < cap; k++)
		len += (size_t)snprintf(out + len, cap - len, "%s%s", k == KEEP - 1 || !best[k + 1] ? " or " : ", ", best[k]);
	if (len < cap)
		snprintf(out + len, cap - len, "?");
}
