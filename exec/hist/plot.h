/* plot.h — a histogram as a picture and as a table: SVG that a physicist
 * would put on a slide (axes, ticks, labels, title, error bars for
 * weighted histograms, a colour map for 2-D), and CSV with bin edges,
 * values and variances.  Pure functions of the histogram. */
#ifndef ANAFS_PLOT_H
#define ANAFS_PLOT_H

#include "hist.h"

#include <stddef.h>

/* SVG of h; *out is new (free()), *len its length.  0 or -ENOMEM. */
int plot_svg(const struct hist *h, char **out, size_t *len);

/* CSV of h: a header line, then one line per bin including flow bins
 * (edges -inf / +inf): "xlo,xhi,value,variance" (1-D) or
 * "xlo,xhi,ylo,yhi,value,variance" (2-D).  *out is new (free()). */
int plot_csv(const struct hist *h, char **out, size_t *len);

#endif
