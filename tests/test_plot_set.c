/* test_plot_set.c — the plots a query's options and an analysis's
 * samples make: log axes, density, points with sqrt(N) errors, a size,
 * the experiment label line; stacks with data, a band and a ratio panel;
 * overlays; a 2-D log colour scale.  Checks the markup that each feature
 * writes; with OUTDIR, writes each SVG there (NAME.svg) for
 * plot_render_check.py to render and check as pictures.
 *
 * Usage: test_plot_set [OUTDIR] */
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
static const struct hist_plot cms = {.label = "CMS Open Data", .lumi = "11.6 fb^{-1} (13 TeV)"};

static struct hist *mll(const char *name, bool weighted, const struct hist_plot *o)
{
	struct hist_def d = {.name = name, .title = "Z#rightarrow#mu#mu", .ndim = 1, .weighted = weighted,
			     .plot = o, .axes = {{.nbins = 40, .lo = 70, .hi = 110, .label = "m_{#mu#mu} [GeV]"}}};
	return make(&d);
}

/* Write s (len bytes) as OUTDIR/name.svg, and check it contains each of want. */
static void keep(const char *name, const char *s, size_t len, const char *const *want)
{
	CHECK(s && len == strlen(s));
	CHECK(s && !strstr(s, "nan") && !strstr(s, "inf") && !strstr(s, "e+"));
	for (; s && *want; want++) {
		if (!strstr(s, *want))
			fprintf(stderr, "%s: no \"%s\" in the SVG\n", name, *want);
		CHECK(strstr(s, *want) != NULL);
	}
	if (!outdir || !s)
		return;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.svg", outdir, name);
	FILE *f = fopen(path, "w");
	CHECK(f && fwrite(s, 1, len, f) == len);
	CHECK(f && fclose(f) == 0);
}

static void svg_of(const struct hist *h, const char *const *want)
{
	char *s = NULL;
	size_t len = 0;
	CHECK_EQ_I(plot_svg(h, &s, &len), 0);
	keep(hist_name(h), s, len, want);
	free(s);
}

static void set_of(const char *name, const struct plot_set *set, const char *const *want)
{
	char *s = NULL;
	size_t len = 0;
	CHECK_EQ_I(plot_svg_set(set, &s, &len), 0);
	keep(name, s, len, want);
	free(s);
}

/* Drell-Yan, top pairs and W+jets in m(mumu), scaled by weight w. */
static void fill_dy(struct hist *h, int n, double w)
{
	for (int i = 0; i < n; i++) {
		double x = 91.19 + 2.5 * normal() * (uniform() < 0.8 ? 1 : 2.2);
		hist_fill1(h, &x, &w, 1);
	}
}

static void fill_falling(struct hist *h, int n, double w, double slope)
{
	for (int i = 0; i < n; i++) {
		double x = 70 - slope * log(uniform());
		hist_fill1(h, &x, &w, 1);
	}
}

static void test_stack(void)
{
	/* Simulation weighted (3x the data's statistics), data unweighted. */
	struct hist *dy = mll("dy", true, &cms), *tt = mll("tt", true, &cms), *wj = mll("wj", true, &cms);
	struct hist *data = mll("data", false, &cms);
	fill_dy(dy, 60000, 1.0 / 3);
	fill_falling(tt, 9000, 1.0 / 3, 60);
	fill_falling(wj, 6000, 1.0 / 3, 15);
	fill_dy(data, 21000, 1);
	fill_falling(data, 3100, 1, 60);
	fill_falling(data, 1900, 1, 15);
	/* Variations of the total: a 4% scale up, 3% down, and a tilt. */
	struct hist *vars[3];
	for (int v = 0; v < 3; v++) {
		vars[v] = hist_new_like(dy);
		CHECK(!hist_merge(vars[v], dy) && !hist_merge(vars[v], tt) && !hist_merge(vars[v], wj));
	}
	CHECK(!hist_scale(vars[0], 1.04) && !hist_scale(vars[1], 0.97));
	struct hist *tilt = mll("tilt", true, NULL);
	fill_falling(tilt, 3000, 1.0 / 3, 30);
	CHECK(!hist_merge(vars[2], tilt));
	struct plot_layer layers[] = {{wj, "W+jets", PLOT_STACK}, {tt, "t#bar{t}", PLOT_STACK},
				      {dy, "Z/#gamma*#rightarrow#mu#mu", PLOT_STACK}, {data, "Data", PLOT_DATA}};
	struct plot_set set = {.layers = layers, .n = 4, .vars = (const struct hist *const *)vars,
			       .nvar = 3, .style = dy};
	const char *want[] = {"class=\"stack\"", "class=\"band\"", "class=\"ratio\"", "Data / Sim.",
			      ">CMS</tspan>", ">11.6 fb<tspan", "t\xcc\x84", "url(#hatch)",
			      "Stat. \xe2\x8a\x95 syst. unc.", "fill=\"#3f90da\"", NULL};
	set_of("stack", &set, want);

	/* The same on a log scale: decades as 10^{n}. */
	struct hist_plot lg = cms;
	lg.logy = true;
	struct hist *style = mll("style", true, &lg);
	set.style = style;
	const char *want_log[] = {"class=\"stack\"", ">10<tspan font-size=\"8.4\" dy=\"-4.6\">", NULL};
	set_of("stack-logy", &set, want_log);

	/* Data that is the stack's sum: its points sit on the stack's top
	 * and on 1 in the ratio (plot_render_check.py measures both). */
	struct hist *sum = hist_new_like(dy);
	CHECK(!hist_merge(sum, wj) && !hist_merge(sum, tt) && !hist_merge(sum, dy));
	layers[3].h = sum;
	set.style = dy;
	set.nvar = 0;
	const char *want_sum[] = {"Stat. unc.", NULL};
	set_of("stack-sum", &set, want_sum);

	/* No data: no ratio panel; a note for the region. */
	set.n = 3;
	set.note = "region 4j2b";
	const char *want_nod[] = {">CMS</tspan>", NULL};
	set_of("stack-nodata", &set, want_nod);
	char *s = NULL;
	size_t len = 0;
	CHECK_EQ_I(plot_svg_set(&set, &s, &len), 0);
	CHECK(s && !strstr(s, "class=\"ratio\"") && !strstr(s, "Data / Sim."));
	free(s);

	for (int v = 0; v < 3; v++)
		hist_free(vars[v]);
	hist_free(tilt);
	hist_free(sum);
	hist_free(style);
	hist_free(dy);
	hist_free(tt);
	hist_free(wj);
	hist_free(data);
}

/* Overlays: shapes of two histograms of a job as lines. */
static void test_overlay(void)
{
	struct hist_plot o = {.density = true};
	struct hist_def d = {.name = "met-sig", .title = "p_{T}^{miss}", .ndim = 1, .weighted = true, .plot = &o,
			     .axes = {{.nbins = 30, .lo = 0, .hi = 300, .label = "p_{T}^{miss} [GeV]"}}};
	struct hist *a = make(&d);
	d.name = "met-bkg";
	struct hist *b = make(&d);
	for (int i = 0; i < 20000; i++) {
		double x = 120 + 40 * normal(), y = -35 * log(uniform()), w = 1e-3;
		hist_fill1(a, &x, &w, 1);
		hist_fill1(b, &y, &w, 1);
	}
	struct plot_layer layers[] = {{a, "Signal (m_{#chi} = 100 GeV)", PLOT_LINE}, {b, "Background", PLOT_LINE}};
	struct plot_set set = {.layers = layers, .n = 2, .style = a};
	const char *want[] = {"class=\"line\"", "stroke=\"#ffa90e\"", "Events / GeV", NULL};
	set_of("overlay", &set, want);
	hist_free(a);
	hist_free(b);
}

/* One histogram with options. */
static void test_options(void)
{
	/* Variable bins and density: values per GeV, a falling spectrum on log y. */
	double e[] = {30, 40, 50, 60, 80, 100, 150, 200, 300, 500, 1000};
	struct hist_plot o = {.density = true, .logy = true, .label = "CMS Simulation", .lumi = "(13 TeV)"};
	struct hist_def d = {.name = "jet-pt-density", .title = "Leading jet", .ndim = 1, .plot = &o,
			     .axes = {{.nbins = 10, .edges = e, .label = "p_{T}^{jet} [GeV]"}}};
	struct hist *h = make(&d);
	for (int i = 0; i < 200000; i++) {
		double x = 30 * pow(uniform(), -1 / 2.5);
		hist_fill1(h, &x, NULL, 1);
	}
	const char *want[] = {">Entries / GeV</text>", ">10<tspan font-size=\"8.4\" dy=\"-4.6\">", ">CMS</tspan>",
			      "Simulation", NULL};
	svg_of(h, want);
	hist_free(h);

	/* Unweighted as points: sqrt(N) error bars; log x with size. */
	struct hist_plot p = {.points = true, .width = 800, .height = 600};
	struct hist_def dp = {.name = "points-sqrtn", .title = "#sqrt{N} errors", .ndim = 1, .plot = &p,
			      .axes = {{.nbins = 20, .lo = 0, .hi = 10, .label = "N_{jets}"}}};
	h = make(&dp);
	for (int i = 0; i < 400; i++) {
		double x = 3 + 1.5 * normal();
		hist_fill1(h, &x, NULL, 1);
	}
	const char *wantp[] = {"width=\"800\" height=\"600\" viewBox=\"0 0 800 600\"", "<circle", NULL};
	svg_of(h, wantp);
	/* A bin of N entries has a bar of 2 sqrt(N) (checked in pixels). */
	hist_free(h);

	/* Log y with empty and negative bins: no point or step below the frame. */
	struct hist_plot ly = {.logy = true};
	struct hist_def dn = {.name = "logy-negative", .title = "Zero and negative bins", .ndim = 1,
			      .weighted = true, .plot = &ly, .axes = {{.nbins = 10, .lo = 0, .hi = 10}}};
	h = make(&dn);
	double x[] = {0.5, 1.5, 2.5, 5.5, 6.5}, w[] = {1000, 10, -5, 0.5, 3};
	hist_fill1(h, x, w, 5);
	const char *wantn[] = {">10<tspan font-size=\"8.4\" dy=\"-4.6\">3</tspan>", NULL};
	svg_of(h, wantn);
	hist_free(h);

	/* Log x: decades of energy. */
	struct hist_plot lx = {.logx = true, .logy = true};
	double ee[41];
	for (int i = 0; i <= 40; i++)
		ee[i] = pow(10, 1 + i * 0.075);
	/* matplotlib's spelling of the labels */
	struct hist_def dx = {.name = "logx", .title = "Photons at $\\sqrt{s}$ = 13 TeV", .ndim = 1, .plot = &lx,
			      .axes = {{.nbins = 40, .edges = ee, .label = "$E_{\\gamma}$ [GeV]"}}};
	h = make(&dx);
	for (int i = 0; i < 50000; i++) {
		double xe = 10 * pow(uniform(), -1 / 1.7);
		hist_fill1(h, &xe, NULL, 1);
	}
	const char *wantx[] = {">10<tspan font-size=\"8.4\" dy=\"-4.6\">2</tspan>",
			       "<tspan font-style=\"italic\">E</tspan>", "\xe2\x88\x9a<tspan", NULL};
	svg_of(h, wantx);
	hist_free(h);
}

/* 2-D with a log colour scale: decades on the colour bar. */
static void test_logz(void)
{
	struct hist_plot o = {.logz = true};
	struct hist_def d = {.name = "logz", .title = "#eta vs #phi of jets", .ndim = 2, .plot = &o,
			     .axes = {{.nbins = 50, .lo = -2.5, .hi = 2.5, .label = "#eta"},
				      {.nbins = 50, .lo = -3.2, .hi = 3.2, .label = "#phi [rad]"}}};
	struct hist *h = make(&d);
	for (int i = 0; i < 300000; i++) {
		double x = 0.7 * normal(), y = 0.9 * normal();
		hist_fill2(h, &x, &y, NULL, 1);
	}
	const char *want[] = {"url(#cmap)", ">10<tspan font-size=\"8.4\" dy=\"-4.6\">3</tspan>", ">\xce\xb7</text>",
			      NULL};
	svg_of(h, want);
	hist_free(h);
}

int main(int argc, char **argv)
{
	outdir = argc > 1 ? argv[1] : NULL;
	test_stack();
	test_overlay();
	test_options();
	test_logz();
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
