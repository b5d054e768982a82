/* test_plot.c — plot_csv() bytes for small histograms, and plot_svg()
 * structure, text, escaping and size for ordinary and extreme ones.
 *
 * Usage: test_plot [OUTDIR].  With OUTDIR, every SVG is also written there
 * (NAME.svg), for plot_render_check.py to render. */
#include "hist.h"
#include "plot.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "plot_test.h"

static const char *outdir;

static struct hist *reg1(const char *name, const char *title, const char *label, int n,
			 double lo, double hi, bool weighted)
{
	struct hist_def d = { .name = name, .title = title, .ndim = 1, .weighted = weighted,
			      .axes = { { .nbins = n, .lo = lo, .hi = hi, .label = label } } };
	return make(&d);
}

static struct hist *reg2(const char *name, const char *title, int nx, int ny, bool weighted)
{
	struct hist_def d = { .name = name, .title = title, .ndim = 2, .weighted = weighted,
			      .axes = { { .nbins = nx, .lo = -2.5, .hi = 2.5, .label = "\xce\xb7" },
					{ .nbins = ny, .lo = -3.2, .hi = 3.2, .label = "\xcf\x86 [rad]" } } };
	return make(&d);
}

static void csv_is(const struct hist *h, const char *want)
{
	char *s = NULL;
	size_t len = 0;
	CHECK_EQ_I(plot_csv(h, &s, &len), 0);
	CHECK_EQ_I(len, s ? strlen(s) : 0);
	CHECK_STR(s, want);
	free(s);
}

/* The SVG of h: an XML document whose root is a 640x480 svg element, that
 * contains each of the texts in want (NULL-terminated), no NaN or infinity,
 * and at most max bytes.  Written to OUTDIR/NAME.svg when given. */
static void svg_has(const struct hist *h, size_t max, const char *const *want)
{
	char *s = NULL;
	size_t len = 0;
	CHECK_EQ_I(plot_svg(h, &s, &len), 0);
	if (!s)
		return;
	CHECK_EQ_I(len, strlen(s));
	CHECK(strncmp(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 44) == 0);
	CHECK(strstr(s, "width=\"640\" height=\"480\" viewBox=\"0 0 640 480\"") != NULL);
	CHECK(strstr(s, "font-family=\"sans-serif\"") != NULL);
	CHECK(len > 7 && strcmp(s + len - 7, "</svg>\n") == 0);
	CHECK(strstr(s, "nan") == NULL && strstr(s, "inf") == NULL);
	if (len > max)
		fprintf(stderr, "%s: %zu bytes of SVG, at most %zu expected\n", hist_name(h), len, max);
	CHECK(len <= max);
	for (; *want; want++) {
		if (!strstr(s, *want))
			fprintf(stderr, "%s: no \"%s\" in the SVG\n", hist_name(h), *want);
		CHECK(strstr(s, *want) != NULL);
	}
	if (outdir) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s.svg", outdir, hist_name(h));
		FILE *f = fopen(path, "w");
		CHECK(f != NULL);
		if (f) {
			CHECK(fwrite(s, 1, len, f) == len);
			CHECK(fclose(f) == 0);
		}
	}
	free(s);
}

static void test_csv(void)
{
	struct hist *h = reg1("small", NULL, NULL, 4, 0, 2, false);
	double x[] = { -1, 0.1, 0.6, 0.7, 1.9, 5 };
	hist_fill1(h, x, NULL, 6);
	csv_is(h, "xlo,xhi,value,variance\n"
		  "-inf,0,1,1\n0,0.5,1,1\n0.5,1,2,2\n1,1.5,0,0\n1.5,2,1,1\n2,inf,1,1\n");
	hist_free(h);

	h = reg1("weighted", NULL, NULL, 2, 0, 1, true);
	double xw[] = { 0.25, 0.25, 0.75, -3 }, w[] = { 0.5, -1.25, 0.1, 0.5 };
	hist_fill1(h, xw, w, 4);
	csv_is(h, "xlo,xhi,value,variance\n"
		  "-inf,0,0.5,0.25\n0,0.5,-0.75,1.8125\n0.5,1,0.1,0.010000000000000002\n1,inf,0,0\n");
	hist_free(h);

	double e[] = { 0, 0.5, 3 };
	struct hist_def d = { .name = "var", .ndim = 1, .axes = { { .nbins = 2, .edges = e } } };
	h = make(&d);
	double xv[] = { 0.25, 2.9, 3 };
	hist_fill1(h, xv, NULL, 3);
	csv_is(h, "xlo,xhi,value,variance\n-inf,0,0,0\n0,0.5,1,1\n0.5,3,1,1\n3,inf,1,1\n");
	hist_free(h);

	struct hist_def d2 = { .name = "two", .ndim = 2,
			       .axes = { { .nbins = 2, .lo = 0, .hi = 2 }, { .nbins = 1, .lo = 0, .hi = 1 } } };
	h = make(&d2);
	double x2[] = { 0.5, 1.5, 3, 0.5 }, y2[] = { 0.5, 0.2, 0.5, -1 };
	hist_fill2(h, x2, y2, NULL, 4);
	csv_is(h, "xlo,xhi,ylo,yhi,value,variance\n"
		  "-inf,0,-inf,0,0,0\n-inf,0,0,1,0,0\n-inf,0,1,inf,0,0\n"
		  "0,1,-inf,0,1,1\n0,1,0,1,1,1\n0,1,1,inf,0,0\n"
		  "1,2,-inf,0,0,0\n1,2,0,1,1,1\n1,2,1,inf,0,0\n"
		  "2,inf,-inf,0,0,0\n2,inf,0,1,1,1\n2,inf,1,inf,0,0\n");
	hist_free(h);
}

/* The README example: a Z peak on a falling background. */
static void test_physics(void)
{
	struct hist *h = reg1("hist-example", "Dimuon invariant mass", "m(\xce\xbc\xce\xbc) [GeV]",
			      60, 60, 120, false);
	for (int i = 0; i < 30000; i++) {
		double x = 91.19 + 2.5 * normal();
		hist_fill1(h, &x, NULL, 1);
	}
	for (int i = 0; i < 40000; i++) {
		double x = 55 - 25 * log(uniform());
		hist_fill1(h, &x, NULL, 1);
	}
	const char *want[] = { ">Dimuon invariant mass</text>", ">m(\xce\xbc\xce\xbc) [GeV]</text>",
			       ">Entries / 1 GeV</text>", ">Entries 70000, underflow ", ">80</text>",
			       "fill=\"#cadcf0\"", NULL };
	svg_has(h, 64 * 1024, want);
	hist_free(h);
}

static void test_escaping(void)
{
	double e[] = { 0, 1, 2, 5, 10, 20, 50, 100 };
	struct hist_def d = { .name = "variable", .title = "Jet p_T & friends <\"test\">\x01\xff",
			      .ndim = 1, .axes = { { .nbins = 7, .edges = e,
						     .label = "p_T <'lead'> [GeV]" } } };
	struct hist *h = make(&d);
	for (int i = 0; i < 5000; i++) {
		double x = -15 * log(uniform());
		hist_fill1(h, &x, NULL, 1);
	}
	/* p_T: a subscript (plot_tex.c), the rest escaped. */
	const char *want[] = { ">Jet p<tspan font-size=\"11.9\" dy=\"3.7\">T</tspan><tspan dy=\"-3.7\" dx=\"5.1\">"
			       "&amp; friends &lt;&quot;test&quot;&gt; \xef\xbf\xbd</tspan></text>",
			       "&lt;&apos;lead&apos;&gt; [GeV]</tspan></text>", ">Entries per bin</text>", NULL };
	svg_has(h, 64 * 1024, want);
	hist_free(h);
}

/* A value label (ylabel= of a 1-D histogram) is the y axis title, in
 * place of "Entries / 1 GeV"; on 2-D it titles the colour bar. */
static void test_value_label(void)
{
	struct hist_def d = { .name = "value-label", .value_label = "Muons <per> event",
			      .ndim = 1, .axes = { { .nbins = 60, .lo = 60, .hi = 120,
						     .label = "m [GeV]" } } };
	struct hist *h = make(&d);
	for (int i = 0; i < 1000; i++) {
		double x = 91.19 + 2.5 * normal();
		hist_fill1(h, &x, NULL, 1);
	}
	const char *want[] = { "rotate(-90 ", ">Muons &lt;per&gt; event</text>", ">m [GeV]</text>", NULL };
	svg_has(h, 64 * 1024, want);
	char *s = NULL;
	size_t len = 0;
	CHECK_EQ_I(plot_svg(h, &s, &len), 0);
	CHECK(s && !strstr(s, "Entries / "));
	free(s);
	hist_free(h);

	struct hist_def d2 = { .name = "value-label-2d", .value_label = "Jets", .ndim = 2,
			       .axes = { { .nbins = 4, .lo = 0, .hi = 1 }, { .nbins = 4, .lo = 0, .hi = 1 } } };
	h = make(&d2);
	const char *want2[] = { ">Jets</text>", ">x</text>", ">y</text>", NULL };
	svg_has(h, 64 * 1024, want2);
	hist_free(h);
}

static void test_weighted(void)
{
	struct hist *h = reg1("weighted-negative", "Signal minus background", "x", 20, -5, 5, true);
	for (int i = 0; i < 4000; i++) {
		double x = 1.5 * normal(), w = x < 0 ? -0.8 : 1.3;
		hist_fill1(h, &x, &w, 1);
	}
	const char *want[] = { ">Sum of weights / 0.5</text>", "<circle", ">-", "stroke-dasharray", NULL };
	svg_has(h, 64 * 1024, want);
	hist_free(h);

	/* Sums near the largest doubles (the squared weights overflow). */
	h = reg1("weighted-huge", "huge", NULL, 10, 0, 10, true);
	double x[] = { 1.5, 2.5, 2.5, 7.5 }, w[] = { 1e300, -1e300, -1e300, 1e308 };
	hist_fill1(h, x, w, 4);
	const char *want2[] = { ">10<tspan font-size=\"8.4\" dy=\"-4.6\">300</tspan></text>",
				">5\xc3\x97" "10<tspan", NULL };
	svg_has(h, 64 * 1024, want2);
	hist_free(h);

	h = reg1("weighted-tiny", "tiny", NULL, 10, 0, 1e-9, true);
	double xt[] = { 1e-10, 5e-10 }, wt[] = { 3e-7, 1e-7 };
	hist_fill1(h, xt, wt, 2);
	const char *want3[] = { ">10<tspan font-size=\"8.4\" dy=\"-4.6\">\xe2\x88\x92" "9</tspan></text>",
				">6\xc3\x97" "10<tspan font-size=\"8.4\" dy=\"-4.6\">\xe2\x88\x92" "7</tspan></text>", NULL };
	svg_has(h, 64 * 1024, want3);
	hist_free(h);

	/* Large weighted flows in the corner: 2.975×10⁶, never 2.975e+06. */
	h = reg1("weighted-flow", "flow", NULL, 10, 0, 10, true);
	double xf[] = { 20, 20, -5 }, wf[] = { 2e6, 975e3, 1.25e-5 };
	hist_fill1(h, xf, wf, 3);
	const char *want4[] = { "overflow 2.975\xc3\x97" "10\xe2\x81\xb6",
				"underflow 1.25\xc3\x97" "10\xe2\x81\xbb\xe2\x81\xb5", NULL };
	svg_has(h, 64 * 1024, want4);
	char *svg = NULL;
	size_t n = 0;
	CHECK(plot_svg(h, &svg, &n) == 0 && svg && !strstr(svg, "e+") && !strstr(svg, "e-0"));
	free(svg);
	hist_free(h);
}

static void test_edges(void)
{
	struct hist *h = reg1("empty", "Nothing yet", NULL, 10, 0, 1, false);
	const char *want[] = { ">Nothing yet</text>", ">empty</text>", ">0.2</text>", ">1</text>",
			       ">Entries 0</text>", NULL };
	svg_has(h, 16 * 1024, want);
	hist_free(h);

	/* A million bins and two million entries in one of them. */
	h = reg1("million", "A million bins", "t [s]", 1000000, 0, 1, false);
	size_t n = 2000000;
	double *x = malloc(n * sizeof(*x));
	for (size_t i = 0; i < n; i++)
		x[i] = i % 2 ? 0.3 : uniform();
	hist_fill1(h, x, NULL, n);
	free(x);
	const char *want2[] = { ">10<tspan font-size=\"8.4\" dy=\"-4.6\">6</tspan></text>", ">0.2</text>",
				"drawn 926 bins per step", NULL };
	svg_has(h, 200 * 1024, want2);
	hist_free(h);
}

/* Axes at the limits of doubles: still finite coordinates and labels. */
static void test_extreme_axes(void)
{
	double e[] = { -1e308, 0, 1e308 };
	struct hist_def d = { .name = "widest", .ndim = 1, .axes = { { .nbins = 2, .edges = e } } };
	struct hist *h = make(&d);
	double x[] = { -1, 1, 1 };
	hist_fill1(h, x, NULL, 3);
	const char *want[] = { "10<tspan font-size=\"8.4\" dy=\"-4.6\">30", NULL };
	svg_has(h, 64 * 1024, want);
	hist_free(h);

	h = reg1("narrow", NULL, NULL, 8, 1e15, 1e15 + 0.125, false);
	double xn[] = { 1e15 + 0.0625 };
	hist_fill1(h, xn, NULL, 1);
	const char *want2[] = { "10<tspan font-size=\"8.4\" dy=\"-4.6\">15</tspan></text>", NULL };
	svg_has(h, 64 * 1024, want2);
	hist_free(h);

	h = reg1("subnormal", NULL, NULL, 4, 0, 1e-310, true);
	double xs[] = { 3e-311 }, ws[] = { 5e-324 };
	hist_fill1(h, xs, ws, 1);
	const char *want3[] = { ">1</text>", NULL };
	svg_has(h, 64 * 1024, want3);
	hist_free(h);
}

static void test_2d(void)
{
	struct hist *h = reg2("eta-phi", "Jets: \xce\xb7 vs \xcf\x86", 50, 40, false);
	for (int i = 0; i < 50000; i++) {
		double x = 0.8 * normal(), y = 1.2 * normal() + 0.5 * x;
		hist_fill2(h, &x, &y, NULL, 1);
	}
	const char *want[] = { ">Jets: \xce\xb7 vs \xcf\x86</text>", ">\xcf\x86 [rad]</text>",
			       "url(#cmap)", ">Entries</text>", "out of range", NULL };
	svg_has(h, 512 * 1024, want);
	hist_free(h);

	h = reg2("dense-2d", "1000 x 1000 bins", 1000, 1000, false);
	for (int i = 0; i < 1000000; i++) {
		double x = normal(), y = normal();
		hist_fill2(h, &x, &y, NULL, 1);
	}
	const char *want2[] = { "drawn 5x5 bins per cell", NULL };
	svg_has(h, 2 * 1024 * 1024, want2);
	hist_free(h);

	h = reg2("weighted-2d", "Weighted, negative", 20, 20, true);
	for (int i = 0; i < 5000; i++) {
		double x = normal(), y = normal(), w = x * y;
		hist_fill2(h, &x, &y, &w, 1);
	}
	const char *want3[] = { ">Sum of weights</text>", NULL };
	svg_has(h, 512 * 1024, want3);
	hist_free(h);
}

/* Category axes: one CSV line per category, "other" empty; bars with
 * their labels under them. */
static void test_categories(void)
{
	const char *cats[] = { "ee", "mu,mu", "e\"mu" };
	struct hist_def d = { .name = "channels", .ndim = 1,
			      .axes = { { .kind = HIST_AXIS_CAT_STR, .nbins = 3, .cat_str = cats, .flow = true,
					  .label = "channel" } } };
	struct hist *h = make(&d);
	double c[] = { 0, 0, 1, 2, 2, 2, 7 };
	hist_fill1(h, c, NULL, 7);
	csv_is(h, "x,value,variance\nee,2,2\n\"mu,mu\",1,1\n\"e\"\"mu\",3,3\n,1,1\n");
	const char *want[] = { ">ee</text>", ">mu,mu</text>", ">e&quot;mu</text>", ">other</text>",
			       ">channel</text>", ">Entries</text>", "fill=\"#cadcf0\"", NULL };
	svg_has(h, 64 * 1024, want);
	hist_free(h);

	const int64_t pdg[] = { 11, -11, 13 };
	struct hist_def di = { .name = "pdg", .ndim = 1, .weighted = true,
			       .axes = { { .kind = HIST_AXIS_CAT_INT, .nbins = 3, .cat_int = pdg } } };
	h = make(&di);
	double x[] = { 11, 13, 13 }, w[] = { 0.5, 2, 1 };
	hist_fill1(h, x, w, 3);
	csv_is(h, "x,value,variance\n11,0.5,0.25\n-11,0,0\n13,3,5\n");
	const char *wanti[] = { ">-11</text>", ">Sum of weights</text>", NULL };
	svg_has(h, 64 * 1024, wanti);
	hist_free(h);

	/* Many categories: labels thinned, the SVG bounded. */
	enum { N = 100000 };
	int64_t *many = malloc(N * sizeof(*many));
	for (int i = 0; i < N; i++)
		many[i] = 1000000 + i;
	di.name = "many-categories";
	di.axes[0].cat_int = many;
	di.axes[0].nbins = N;
	h = make(&di);
	free(many);
	for (int i = 0; i < N; i += 7) {
		double v = 1000000 + i, one = 1;
		hist_fill1(h, &v, &one, 1);
	}
	const char *wantm[] = { ">1000000</text>", "drawn 93 bins per step", NULL };
	svg_has(h, 256 * 1024, wantm);
	hist_free(h);

	/* A 2-D colour map with a category axis: labelled rows. */
	const char *samples[] = { "ttbar", "wjets", "data" };
	struct hist_def d2 = { .name = "pt-by-sample", .ndim = 2,
			       .axes = { { .nbins = 10, .lo = 0, .hi = 100, .label = "p_T [GeV]" },
					 { .kind = HIST_AXIS_CAT_STR, .nbins = 3, .cat_str = samples } } };
	h = make(&d2);
	for (int i = 0; i < 3000; i++) {
		double pt = 30 + 20 * normal(), s = i % 3;
		hist_fill2(h, &pt, &s, NULL, 1);
	}
	const char *want2[] = { ">ttbar</text>", ">wjets</text>", ">data</text>", "url(#cmap)",
				">p<tspan font-size=\"9.8\" dy=\"3.1\">T</tspan><tspan dy=\"-3.1\" dx=\"4.2\">[GeV]</tspan></text>",
				"out of range", NULL };
	svg_has(h, 256 * 1024, want2);
	hist_free(h);
}

/* Profiles: count (or sums of weights), mean and variance per cell in
 * CSV; points with the error of the mean in SVG. */
static void test_profiles(void)
{
	struct hist_def d = { .name = "profile", .title = "Mean response", .ndim = 1, .profile = true,
			      .axes = { { .nbins = 2, .lo = 0, .hi = 2, .label = "p_T" } } };
	struct hist *h = make(&d);
	double x[] = { 0.5, 0.5, 0.5, 1.5 }, s[] = { 1, 2, 6, 4 };
	const double *xs[1] = { x };
	hist_fill(h, xs, NULL, s, 4);
	csv_is(h, "xlo,xhi,count,value,variance\n-inf,0,0,0,0\n0,1,3,3,7\n1,2,1,4,0\n2,inf,0,0,0\n");
	/* Bin 1: 3 +- sqrt(7 / 3) = 1.53; bin 2: 4, no error bar. */
	const char *want[] = { ">Mean</text>", ">Mean response</text>", "<circle", NULL };
	svg_has(h, 64 * 1024, want);
	hist_free(h);

	d.weighted = true;
	d.name = "weighted-profile";
	h = make(&d);
	double w[] = { 1, 3, 0, 2 }, s2[] = { 1, 5, 100, 7 };
	hist_fill(h, xs, w, s2, 4);
	csv_is(h, "xlo,xhi,sum_of_weights,sum_of_weights_squared,value,variance\n"
		  "-inf,0,0,0,0,0\n0,1,4,10,4,8\n1,2,2,4,7,0\n2,inf,0,0,0,0\n");
	svg_has(h, 64 * 1024, want);
	hist_free(h);

	/* A million bins: spans, bounded. */
	d.name = "profile-dense";
	d.weighted = false;
	d.axes[0].nbins = 1000000;
	h = make(&d);
	for (int i = 0; i < 200000; i++) {
		double xi = 2 * uniform(), si = xi * xi + normal();
		const double *xp[1] = { &xi };
		hist_fill(h, xp, NULL, &si, 1);
	}
	const char *wantd[] = { "drawn 926 bins per step", NULL };
	svg_has(h, 512 * 1024, wantd);
	hist_free(h);

	/* 2-D: a colour map of means. */
	struct hist_def d2 = { .name = "profile-2d", .ndim = 2, .profile = true,
			       .axes = { { .nbins = 5, .lo = 0, .hi = 1 }, { .nbins = 4, .lo = 0, .hi = 1 } } };
	h = make(&d2);
	for (int i = 0; i < 2000; i++) {
		double xi = uniform(), yi = uniform(), si = xi + yi;
		const double *xy[2] = { &xi, &yi };
		hist_fill(h, xy, NULL, &si, 1);
	}
	const char *want2[] = { ">Mean</text>", "url(#cmap)", NULL };
	svg_has(h, 256 * 1024, want2);
	hist_free(h);
}

/* 3-D: not drawn, said in words; CSV one line per cell. */
static void test_3d(void)
{
	const char *cats[] = { "a", "b" };
	struct hist_def d = { .name = "three", .ndim = 3,
			      .axes = { { .nbins = 1, .lo = 0, .hi = 1 },
					{ .kind = HIST_AXIS_CAT_STR, .nbins = 2, .cat_str = cats },
					{ .nbins = 1, .lo = 0, .hi = 1 } } };
	struct hist *h = make(&d);
	double x[] = { 0.5, 0.5 }, c[] = { 1, 0 }, z[] = { 0.5, 3 };
	const double *xyz[3] = { x, c, z };
	hist_fill(h, xyz, NULL, NULL, 2);
	csv_is(h, "xlo,xhi,y,zlo,zhi,value,variance\n"
		  "-inf,0,a,-inf,0,0,0\n-inf,0,a,0,1,0,0\n-inf,0,a,1,inf,0,0\n"
		  "-inf,0,b,-inf,0,0,0\n-inf,0,b,0,1,0,0\n-inf,0,b,1,inf,0,0\n"
		  "0,1,a,-inf,0,0,0\n0,1,a,0,1,0,0\n0,1,a,1,inf,1,1\n"
		  "0,1,b,-inf,0,0,0\n0,1,b,0,1,1,1\n0,1,b,1,inf,0,0\n"
		  "1,inf,a,-inf,0,0,0\n1,inf,a,0,1,0,0\n1,inf,a,1,inf,0,0\n"
		  "1,inf,b,-inf,0,0,0\n1,inf,b,0,1,0,0\n1,inf,b,1,inf,0,0\n");
	const char *want[] = { ">3-D histograms are not drawn.</text>", "hist.json", ">Entries 2</text>", NULL };
	svg_has(h, 8 * 1024, want);
	hist_free(h);
}

int main(int argc, char **argv)
{
	outdir = argc > 1 ? argv[1] : NULL;
	test_csv();
	test_physics();
	test_escaping();
	test_value_label();
	test_weighted();
	test_edges();
	test_extreme_axes();
	test_2d();
	test_categories();
	test_profiles();
	test_3d();
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
