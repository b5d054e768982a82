/* test_plot_tex.c — TeX-like labels as SVG text (plot_tex.c): the
 * markup ROOT and matplotlib users write, as tspans and glyphs, and the
 * plain names that must stay as they are. */
#include "plot_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* The markup of s at 10 px. */
static void tex_is(const char *s, const char *want)
{
	struct strbuf b = STRBUF_INIT;
	plot_tex(&b, s, 10);
	char *got = NULL;
	CHECK_EQ_I(strbuf_finish(&b, &got, NULL), 0);
	if (strcmp(got, want))
		fprintf(stderr, "plot_tex(\"%s\"):\n  got  %s\n  want %s\n", s, got, want);
	CHECK(!strcmp(got, want));
	free(got);
}

#define SUB(x) "<tspan font-size=\"7.0\" dy=\"2.2\">" x "</tspan>"

static void test_plain(void)
{
	/* No markup: the text as sb_text() writes it, without a tspan. */
	tex_is("Dimuon invariant mass", "Dimuon invariant mass");
	tex_is("jet_pt", "jet_pt");
	tex_is("single_top_t", "single_top_t");
	tex_is("top_t", "top_t");
	tex_is("ht_4j1b", "ht_4j1b");
	tex_is("n_jets > 4 & <x>", "n_jets &gt; 4 &amp; &lt;x&gt;");
	tex_is("# jets", "# jets");
	tex_is("#unknown", "#unknown");
	tex_is("10 $", "10 $");
	tex_is("bad \xff byte", "bad \xef\xbf\xbd byte");
	tex_is("\xce\xb7 [rad]", "\xce\xb7 [rad]");
}

static void test_root(void)
{
	tex_is("m_{#mu#mu} [GeV]", "m" SUB("\xce\xbc\xce\xbc") "<tspan dy=\"-2.2\" dx=\"3.0\">[GeV]</tspan>");
	tex_is("p_T", "p" SUB("T"));
	tex_is("p_{T}^{miss}", "p" SUB("T") "<tspan font-size=\"7.0\" dy=\"-6.0\" dx=\"-4.2\">miss</tspan>");
	tex_is("#sqrt{s} = 13 TeV",
	       "\xe2\x88\x9a<tspan text-decoration=\"overline\">s</tspan><tspan dx=\"3.0\">= 13 TeV</tspan>");
	tex_is("#Delta#phi", "\xce\x94\xcf\x86");
	tex_is("#alpha#omega#Omega#Sigma", "\xce\xb1\xcf\x89\xce\xa9\xce\xa3");
	tex_is("t#bar{t}", "tt\xcc\x84");
	tex_is("x^{2}", "x<tspan font-size=\"7.0\" dy=\"-3.8\">2</tspan>");
	tex_is("10^6", "10<tspan font-size=\"7.0\" dy=\"-3.8\">6</tspan>");
	tex_is("Z#rightarrow#mu#mu", "Z\xe2\x86\x92\xce\xbc\xce\xbc");
	tex_is("##", "#");
	/* A superscript over a longer subscript: the text goes on after both. */
	tex_is("X_{abc}^{d}x", "X<tspan font-size=\"7.0\" dy=\"2.2\">abc</tspan>"
			       "<tspan font-size=\"7.0\" dy=\"-6.0\" dx=\"-12.6\">d</tspan>"
			       "<tspan dy=\"3.8\" dx=\"8.4\">x</tspan>");
	/* A script in a script: smaller, further up, and back down after. */
	tex_is("e^{x^{2}}", "e<tspan font-size=\"7.0\" dy=\"-3.8\">x</tspan>"
			    "<tspan font-size=\"5.0\" dy=\"-2.7\">2</tspan>");
	tex_is("#it{CMS}", "<tspan font-style=\"italic\">CMS</tspan>");
}

#define IT(x) "<tspan font-style=\"italic\">" x "</tspan>"

/* In $...$ Latin letters are italic, as TeX sets variables. */
static void test_matplotlib(void)
{
	tex_is("$m_{\\mu\\mu}$ [GeV]",
	       IT("m") SUB("\xce\xbc\xce\xbc") "<tspan dy=\"-2.2\" dx=\"3.0\">[GeV]</tspan>");
	tex_is("$p_T^{miss}$", IT("p") "<tspan font-size=\"7.0\" dy=\"2.2\" font-style=\"italic\">T</tspan>"
			       "<tspan font-size=\"7.0\" dy=\"-6.0\" dx=\"-4.2\" font-style=\"italic\">miss</tspan>");
	tex_is("$\\sqrt{s}$", "\xe2\x88\x9a<tspan text-decoration=\"overline\" font-style=\"italic\">s</tspan>");
	tex_is("$\\eta$", "\xce\xb7");
	tex_is("$\\mathrm{GeV}$", "GeV");
	tex_is("$\\mu$m", "\xce\xbcm");
	tex_is("$E_{\\mathrm{T}}$", IT("E") SUB("T"));
	/* Outside $...$ a backslash is text. */
	tex_is("a\\b", "a\\b");
	tex_is("$\\frac{1}{2}$", "1/2");
}

static void test_width_and_bounds(void)
{
	/* Scripts are narrower than the text they follow. */
	double w1 = plot_tex_width("pT", 10), w2 = plot_tex_width("p_T", 10);
	CHECK(w1 > w2 && w2 > plot_tex_width("p", 10));
	CHECK(plot_tex_width("#mu", 10) == plot_tex_width("m", 10));
	/* Deep nesting and long labels stay bounded. */
	char deep[400];
	size_t n = 0;
	for (int i = 0; i < 100; i++)
		deep[n++] = '{';
	deep[n++] = 'x';
	for (int i = 0; i < 100; i++)
		deep[n++] = '}';
	deep[n] = 0;
	struct strbuf b = STRBUF_INIT;
	plot_tex(&b, deep, 10);
	CHECK(b.err == 0 && b.len < 2000);
	strbuf_free(&b);
	char lng[1000];
	for (int i = 0; i < 999; i++)
		lng[i] = i % 2 ? '^' : 'x';
	lng[999] = 0;
	plot_tex(&b, lng, 10);
	CHECK(b.err == 0 && b.len < 20000);
	CHECK(b.len >= 3 && !memcmp(b.buf + b.len - 3, "\xe2\x80\xa6", 3));
	strbuf_free(&b);
	/* A megabyte of dollars and braces: 161 bytes read, an ellipsis. */
	size_t big = 1 << 20;
	char *many = malloc(big + 1);
	for (size_t i = 0; many && i < big; i++)
		many[i] = "${}_^#"[i % 6];
	if (many) {
		many[big] = 0;
		plot_tex(&b, many, 10);
		CHECK(b.err == 0 && b.len < 20000);
		strbuf_free(&b);
		free(many);
	}
}

int main(void)
{
	test_plain();
	test_root();
	test_matplotlib();
	test_width_and_bounds();
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
