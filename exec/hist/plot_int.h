/* plot_int.h — what the files of the plot module share (not its
 * contract, which is plot.h): markup helpers and TeX-like text
 * (plot_axes.c, plot_tex.c), numbers, ticks, frames and axes
 * (plot_axes.c), and the drawings of plot_1d.c, plot_2d.c and
 * plot_stack.c.
 *
 * Numbers in the markup never depend on LC_NUMERIC: sb_printf() turns a
 * decimal comma back into a point, so its formats carry no literal commas;
 * text goes through sb_text() or plot_tex(), which escape XML and repair
 * bad UTF-8. */
#ifndef ANAFS_PLOT_INT_H
#define ANAFS_PLOT_INT_H

#include "plot.h"
#include "strbuf.h"

#include <stdbool.h>

#define PLOT_W 640
#define PLOT_H 480
#define PLOT_MAX_TICKS 24
#define PLOT_MAX_CELLS 200      /* per axis, drawn cells of a 2-D histogram */
#define PLOT_NCOLOURS 64
#define PLOT_BIG 1e300          /* larger magnitudes are drawn at this value */
#define PLOT_TINY 1e-280        /* smaller magnitudes count as 0 for ranges */
#define PLOT_MAX_TEXT 160       /* bytes of a label or title shown */
#define PLOT_CAT_CHARS 16       /* bytes of a category's tick label shown */

/* ---- text (plot_axes.c, plot_tex.c) ---- */

void fix_comma(char *s);
void sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as XML character data, as it is: no TeX. */
void sb_text(struct strbuf *b, const char *s);
/* s, TeX-like (plot_tex.c's comment), as character data and tspans for
 * a text element of font size px; returns its estimated width in px.
 * plot_tex_width() measures without writing. */
double plot_tex(struct strbuf *b, const char *s, double px);
double plot_tex_width(const char *s, double px);

/* A text element; anchor "start", "middle" or "end"; rot -90 or 0;
 * text_at() reads s as TeX, text_raw() as it is; weight "bold" or NULL. */
void text_at(struct strbuf *b, double x, double y, int size, const char *anchor, int rot,
	     const char *s);
void text_raw(struct strbuf *b, double x, double y, int size, const char *anchor, int rot,
	      const char *s);

/* A point's marker (radius 3, 2 when narrow, none under 5 px of bin
 * width bw) into dots; dots_end() closes the error bars' path in b, puts
 * the markers after it in a group (attrs: more attributes) and frees dots. */
void dot(struct strbuf *dots, double x, double y, double bw);
void dots_end(struct strbuf *b, struct strbuf *dots, const char *attrs);

/* ---- numbers, ticks, frames (plot_axes.c) ---- */

double clampv(double v);
double frac(double v, double lo, double hi);

struct ticks {
	int n, mant;             /* mant: the step is mant * 10^k, mant 1, 2 or 5 */
	double step, v[PLOT_MAX_TICKS];
	char s[PLOT_MAX_TICKS][40]; /* TeX-like: 10^{3}, 2.5#times10^{6} */
	double maxw;             /* px of the widest label at 12 px */
	bool cat;                /* labels of categories at their centres: no minor ticks */
	bool log;                /* decades; minor ticks at 2..9 times them */
};

void nice_step(struct ticks *t, double lo, double hi, int target);
void ticks_make(struct ticks *t, double lo, double hi);
void ticks_fit(struct ticks *t, double lo, double hi, double px);
/* Ticks at decades 10^n in [lo, hi] (lo > 0), every k-th when there are
 * many; at least two labels, adding 2 and 5 times them on a short span. */
void ticks_log(struct ticks *t, double lo, double hi, double px);
/* y from 0 (or below) to hi grown to whole steps, with linear ticks. */
void ticks_linear_y(struct ticks *t, double *lo, double *hi);
/* A log range for values in (minpos, max]: from a whole decade, to one
 * too when headroom is 0, else with that part of the axis left above max. */
void range_log(double minpos, double max, double headroom, double *lo, double *hi);
void fmt_amount(char *buf, double v, bool weighted);

struct frame {
	double x0, x1, y0, y1;   /* pixels: left, right, top, bottom */
	double xlo, xhi, ylo, yhi;
	bool logx, logy;
};

/* Pixel coordinates of x and y; on a log axis values <= 0 sit at the
 * low edge. */
double fx(const struct frame *f, double x);
double fy(const struct frame *f, double y);

/* Ticks pointing inward on all four sides, tick labels left and below
 * (none below when xlabel is NULL: a ratio panel takes them), the frame,
 * and the axis labels. */
void axes(struct strbuf *b, const struct frame *f, const struct ticks *tx, const struct ticks *ty,
	  const char *xlabel, const char *ylabel);

/* The canvas of one plot: its size, and the options it is drawn with. */
struct canvas {
	struct strbuf *b;
	double w, h;
	struct hist_plot o;
	const char *title;       /* "" for none */
};

void canvas_init(struct canvas *c, struct strbuf *b, const struct hist *h);
/* The title over the frame, and either the experiment label line (the
 * options' label, bold first word, and lumi right) or the statistics
 * (Entries N, then extra) right-aligned above the frame. */
void heading(const struct canvas *c, const struct hist *h, const struct frame *f, const char *extra);
/* "Entries / 0.5 GeV" for a regular axis whose label ends in "[GeV]";
 * with density, "Entries / GeV" (or "/ unit"); else "Entries per bin". */
void y_title(char *buf, size_t cap, const struct hist *h, const char *what, bool density);
/* The unit in a label's trailing [brackets] into u (cap bytes); "" when none. */
void label_unit(char *u, size_t cap, const char *label);

/* ---- category axes (plot_axes.c) ---- */

bool is_cat(const struct hist *h, int axis);
int dbins(const struct hist *h, int axis);
int dcell(const struct hist *h, int axis, int k);
double dedge(const struct hist *h, int axis, int k);
void cat_ticks(struct ticks *t, const struct hist *h, int axis, double px, bool vertical);
bool drawn(const struct hist *h, int axis, int i);

/* ---- drawings ---- */

void plot1(struct canvas *c, const struct hist *h);   /* plot_1d.c */
void plot1x(struct canvas *c, const struct hist *h);  /* plot_1d.c: categories, profiles */
void plot2(struct canvas *c, const struct hist *h);   /* plot_2d.c */
void plot3(struct canvas *c, const struct hist *h);   /* plot_2d.c */
/* The SVG head and tail around a drawing. */
void svg_begin(struct strbuf *b, double w, double h);
void svg_end(struct strbuf *b);

#endif
