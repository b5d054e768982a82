/* plot.h — a histogram as a picture and as a table: SVG that a physicist
 * would put on a slide (axes, ticks, labels, title, error bars for
 * weighted histograms, a colour map for 2-D), and CSV with bin edges,
 * values and variances.  Pure functions of the histogram. */
#ifndef ANAFS_PLOT_H
#define ANAFS_PLOT_H

#include "hist.h"

#include <stddef.h>

/* SVG of h; *out is new (free()), *len its length.  0 or -ENOMEM.  A
 * category axis is drawn with a labelled bin per category ("other"
 * included): bars in 1-D, rows or columns of a colour map in 2-D.  A
 * profile is drawn as points with the error of the mean (1-D) or a
 * colour map of means (2-D).  A 3-D histogram is not drawn: the SVG says
 * so in words. */
int plot_svg(const struct hist *h, char **out, size_t *len);

/* CSV of h: a header line, then one line per cell including flow bins,
 * x outermost.  Per axis two columns of edges (flow bins reach to -inf /
 * +inf; "xlo,xhi", "ylo,yhi", "zlo,zhi"), or for a category axis one
 * column ("x") with the category, quoted as RFC 4180 has it, empty for
 * the "other" bin.  Then "value,variance"; for a profile
 * "count,value,variance", or "sum_of_weights,sum_of_weights_squared,
 * value,variance" when weighted (hist_cell_value() and friends).  *out
 * is new (free()). */
int plot_csv(const struct hist *h, char **out, size_t *len);

#endif
