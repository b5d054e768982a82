/* plot_tex.c — TeX-like labels as SVG text: super- and subscripts as
 * tspans that shift the baseline (dy) and shrink the font, Greek letters
 * and common symbols by name as Unicode glyphs, #sqrt{} with an overline.
 *
 * Both spellings physicists use are read:
 *   ROOT:       m_{#mu#mu}, p_{T}^{miss}, #sqrt{s}, #Delta#phi, #bar{t}
 *   matplotlib: $m_{\mu\mu}$, $p_T^{miss}$, $\sqrt{s}$ (commands in $...$,
 *               whose Latin letters are italic but in \mathrm{} and the like)
 * Outside $...$, ^ and _ start a script when a brace group follows
 * (x^{2}), or one character that ends a word (p_T, 10^6), _ only after a
 * one-letter base: so that names like jet_pt, n_jets and single_top_t
 * stay as they are.  An unknown command is shown
 * as written.  Text without markup comes out byte for byte as sb_text()
 * writes it: no tspan at all. */
#include "plot_int.h"

#include <string.h>

struct tex {
	struct strbuf *b;        /* NULL: measure only */
	double base;             /* font size of the text element */
	double at_shift;         /* baseline offset (px, down) where the output stands */
	double width;            /* px so far */
	size_t used;             /* source bytes shown: at most PLOT_MAX_TEXT */
	bool cut, open;          /* text cut short; a tspan is open */
	double run_size, run_shift;
	int run_style;
	int depth;               /* brace nesting of the parse, bounded */
	const char *src;
	double dx;               /* to move before the next glyph (stacked scripts) */
	const char *script_end;  /* where the last script ended, its kind and width: */
	char script_kind;        /* p_{T}^{miss} puts the second over the first */
	double script_w;
};

/* ST_UPRIGHT: \mathrm{} and its kind, whose letters stay upright in $...$. */
enum { ST_OVERLINE = 1, ST_ITALIC = 2, ST_BOLD = 4, ST_UPRIGHT = 8 };

struct sym {
	const char *name, *utf8;
};

/* Greek letters (ROOT's and TeX's names; upper case by capital), then
 * the symbols labels use. */
static const struct sym syms[] = {
	{"alpha", "α"}, {"beta", "β"}, {"gamma", "γ"}, {"delta", "δ"}, {"epsilon", "ε"},
	{"varepsilon", "ε"}, {"zeta", "ζ"}, {"eta", "η"}, {"theta", "θ"}, {"vartheta", "ϑ"},
	{"iota", "ι"}, {"kappa", "κ"}, {"lambda", "λ"}, {"mu", "μ"}, {"nu", "ν"}, {"xi", "ξ"},
	{"omicron", "ο"}, {"pi", "π"}, {"rho", "ρ"}, {"sigma", "σ"}, {"tau", "τ"},
	{"upsilon", "υ"}, {"phi", "φ"}, {"varphi", "ϕ"}, {"chi", "χ"}, {"psi", "ψ"},
	{"omega", "ω"}, {"Alpha", "Α"}, {"Beta", "Β"}, {"Gamma", "Γ"}, {"Delta", "Δ"},
	{"Epsilon", "Ε"}, {"Zeta", "Ζ"}, {"Eta", "Η"}, {"Theta", "Θ"}, {"Iota", "Ι"},
	{"Kappa", "Κ"}, {"Lambda", "Λ"}, {"Mu", "Μ"}, {"Nu", "Ν"}, {"Xi", "Ξ"},
	{"Omicron", "Ο"}, {"Pi", "Π"}, {"Rho", "Ρ"}, {"Sigma", "Σ"}, {"Tau", "Τ"},
	{"Upsilon", "Υ"}, {"Phi", "Φ"}, {"Chi", "Χ"}, {"Psi", "Ψ"}, {"Omega", "Ω"},
	{"pm", "±"}, {"times", "×"}, {"cdot", "·"}, {"to", "→"},
	{"rightarrow", "→"}, {"leftarrow", "←"}, {"leftrightarrow", "↔"}, {"leq", "≤"},
	{"le", "≤"}, {"geq", "≥"}, {"ge", "≥"}, {"neq", "≠"}, {"ne", "≠"}, {"approx", "≈"},
	{"sim", "∼"}, {"infty", "∞"}, {"ell", "ℓ"}, {"prime", "′"}, {"partial", "∂"},
	{"circ", "°"}, {"degree", "°"}, {"hbar", "ℏ"}, {"nabla", "∇"}, {"propto", "∝"},
	{"in", "∈"}, {"sum", "∑"}, {"int", "∫"}, {"langle", "⟨"}, {"rangle", "⟩"},
	{"dagger", "†"}, {"oplus", "⊕"}, {"otimes", "⊗"}, {"mp", "∓"}, {"ast", "∗"}, {"perp", "⊥"}, {"parallel", "∥"},
	{",", " "}, {";", " "}, {":", " "}, {" ", " "}, {"!", ""}, {"quad", "  "},
	{"left", ""}, {"right", ""}, {"$", "$"}, {"#", "#"}, {"%", "%"}, {"_", "_"},
	{"{", "{"}, {"}", "}"}, {"&", "&"},
};

/* Commands with one argument: a style, or a combining accent after it. */
struct cmd1 {
	const char *name;
	int style;
	const char *accent;      /* UTF-8 of a combining mark, or NULL */
	const char *before;      /* glyph before the argument */
};

static const struct cmd1 cmds1[] = {
	{"sqrt", ST_OVERLINE, NULL, "√"}, {"bar", 0, "\xcc\x84", NULL},
	{"overline", ST_OVERLINE, NULL, NULL}, {"hat", 0, "\xcc\x82", NULL},
	{"tilde", 0, "\xcc\x83", NULL}, {"vec", 0, "\xe2\x83\x97", NULL},
	{"dot", 0, "\xcc\x87", NULL}, {"mathrm", ST_UPRIGHT, NULL, NULL},
	{"text", ST_UPRIGHT, NULL, NULL}, {"textrm", ST_UPRIGHT, NULL, NULL},
	{"rm", ST_UPRIGHT, NULL, NULL}, {"mathsf", ST_UPRIGHT, NULL, NULL},
	{"operatorname", ST_UPRIGHT, NULL, NULL}, {"it", ST_ITALIC, NULL, NULL},
	{"mathit", ST_ITALIC, NULL, NULL}, {"textit", ST_ITALIC, NULL, NULL},
	{"bf", ST_BOLD, NULL, NULL}, {"mathbf", ST_BOLD, NULL, NULL},
	{"textbf", ST_BOLD, NULL, NULL}, {"boldsymbol", ST_BOLD, NULL, NULL},
};

static void close_run(struct tex *t)
{
	if (t->open && t->b)
		strbuf_puts(t->b, "</tspan>");
	t->open = false;
}

/* One glyph (n bytes of valid UTF-8, or a replacement) at size and
 * shift; a new tspan when the look changes. */
static void glyph(struct tex *t, const char *g, size_t n, double size, double shift, int style)
{
	style &= ~ST_UPRIGHT;
	bool plain = size == t->base && shift == t->at_shift && style == 0 && shift == 0 && t->dx == 0;
	bool same = t->open && size == t->run_size && shift == t->run_shift && style == t->run_style &&
		    t->dx == 0;
	if (!same && !(plain && !t->open)) {
		bool after = t->open;
		close_run(t);
		/* Renderers drop a space that starts a tspan or follows one
		 * (librsvg even a no-break space): it moves the next glyph. */
		if (n == 1 && g[0] == ' ' && (after || !plain)) {
			t->dx += 0.3 * size;
			t->width += 0.6 * size;
			return;
		}
		if (!plain) {
			if (t->b) {
				strbuf_puts(t->b, "<tspan");
				if (size != t->base)
					sb_printf(t->b, " font-size=\"%.1f\"", size);
				if (shift != t->at_shift)
					sb_printf(t->b, " dy=\"%.1f\"", shift - t->at_shift);
				if (t->dx != 0)
					sb_printf(t->b, " dx=\"%.1f\"", t->dx);
				if (style & ST_OVERLINE)
					strbuf_puts(t->b, " text-decoration=\"overline\"");
				if (style & ST_ITALIC)
					strbuf_puts(t->b, " font-style=\"italic\"");
				if (style & ST_BOLD)
					strbuf_puts(t->b, " font-weight=\"bold\"");
				strbuf_puts(t->b, ">");
			}
			t->open = true;
			t->dx = 0;
			t->at_shift = shift;
			t->run_size = size;
			t->run_shift = shift;
			t->run_style = style;
		}
	}
	/* Combining marks take no width. */
	bool combining = n == 2 && (unsigned char)g[0] == 0xcc;
	t->width += combining ? 0 : 0.6 * size;
	if (!t->b)
		return;
	unsigned char c = (unsigned char)g[0];
	const char *r = n == 1 ? (c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" :
				  c == '"' ? "&quot;" : c == '\'' ? "&apos;" :
				  c < 0x20 || c == 0x7f ? " " : NULL) : NULL;
	if (r)
		strbuf_puts(t->b, r);
	else
		strbuf_put(t->b, g, n);
}

static void glyphs(struct tex *t, const char *s, double size, double shift, int style)
{
	while (*s) {
		size_t k = utf8_len((const unsigned char *)s, strlen(s));
		glyph(t, s, k ? k : 1, size, shift, style);
		s += k ? k : 1;
	}
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The end of the brace group that opens at s ('{'), or NULL. */
static const char *group_end(const char *s, const char *end)
{
	int level = 0;
	for (const char *p = s; p < end; p++) {
		if (*p == '\\' && p + 1 < end) {
			p++;
			continue;
		}
		level += *p == '{';
		level -= *p == '}';
		if (level == 0)
			return p;
	}
	return NULL;
}

/* A command's name after its # or \: letters, or one other character. */
static size_t cmd_len(const char *s, const char *end)
{
	size_t n = 0;
	while (s + n < end && is_alpha(s[n]))
		n++;
	return n ? n : (s < end ? 1 : 0);
}

static void run(struct tex *t, const char *s, const char *end, double size, double shift,
		int style, bool math);

/* One argument at s: a brace group, a command or one character; returns
 * where it ends. */
static const char *arg(struct tex *t, const char *s, const char *end, double size, double shift,
		       int style, bool math)
{
	if (s >= end)
		return s;
	const char *e = *s == '{' ? group_end(s, end) : NULL;
	if (e) {
		run(t, s + 1, e, size, shift, style, math);
		return e + 1;
	}
	if ((*s == '#' || (*s == '\\' && math)) && s + 1 < end && is_alpha(s[1])) {
		e = s + 1 + cmd_len(s + 1, end);
		run(t, s, e, size, shift, style, math);
		return e;
	}
	size_t k = utf8_len((const unsigned char *)s, (size_t)(end - s));
	run(t, s, s + (k ? k : 1), size, shift, style, math);
	return s + (k ? k : 1);
}

/* Whether ^ or _ at s starts a script (see the file comment); start:
 * where the text begins.  Without braces, _ needs a base of one letter
 * (p_T, E_T, m_W): single_top_t and jet1_pt are names. */
static bool script_at(const char *start, const char *s, const char *end, bool math)
{
	if (s + 1 >= end || s[1] == ' ')
		return false;
	if (math || s[1] == '{' || s[1] == '#')
		return true;
	if (*s == '_' && (s == start || !is_alpha(s[-1]) || (s - 1 > start && (is_alnum(s[-2]) || s[-2] == '_'))))
		return false;
	size_t k = utf8_len((const unsigned char *)s + 1, (size_t)(end - s - 1));
	const char *after = s + 1 + (k ? k : 1);
	return k && (after >= end || (!is_alnum(*after) && *after != '_'));
}

static bool has_closing_dollar(const char *s, const char *end)
{
	for (; s < end; s++) {
		if (*s == '\\' && s + 1 < end)
			s++;
		else if (*s == '$')
			return true;
	}
	return false;
}

static void run(struct tex *t, const char *s, const char *end, double size, double shift,
		int style, bool math)
{
	if (++t->depth > 16) {  /* nesting this deep is no label: show it as it is */
		for (; s < end; s++)
			glyph(t, s, 1, size, shift, style);
		t->depth--;
		return;
	}
	while (s < end && !t->cut) {
		if ((size_t)(s - t->src) >= PLOT_MAX_TEXT) {
			t->cut = true;
			break;
		}
		char c = *s;
		if (c == '$' && (math || has_closing_dollar(s + 1, end))) {
			math = !math;
			s++;
		} else if (c == '{') {
			const char *e = group_end(s, end);
			if (!e) {
				glyph(t, s++, 1, size, shift, style);
				continue;
			}
			run(t, s + 1, e, size, shift, style, math);
			s = e + 1;
		} else if (c == '}') {
			s++;
		} else if ((c == '^' || c == '_') && script_at(t->src, s, end, math)) {
			double sz = size * 0.7 < t->base * 0.5 ? t->base * 0.5 : size * 0.7;
			double sh = c == '^' ? shift - size * 0.38 : shift + size * 0.22;
			bool over = t->script_end == s && t->script_kind != c;
			double w0 = t->width, wprev = t->script_w;
			if (over) {  /* back over the script before: one above the other */
				t->dx -= wprev;
				t->width -= wprev;
			}
			s = arg(t, s + 1, end, sz, sh, style & ~ST_OVERLINE, math);
			double w = t->width - (over ? w0 - wprev : w0);
			if (over && w < wprev) {
				t->dx += wprev - w;
				t->width += wprev - w;
			}
			t->script_end = over ? NULL : s;
			t->script_kind = c;
			t->script_w = w;
		} else if ((c == '#' || (c == '\\' && math)) && s + 1 < end) {
			size_t n = cmd_len(s + 1, end);
			const char *name = s + 1, *after = name + n;
			/* "# jets": after #, only letters, # and braces make a command */
			bool done = c == '#' && !is_alpha(*name) && !strchr("#{}", *name);
			if (done)
				glyph(t, s++, 1, size, shift, style);
			for (size_t i = 0; !done && i < sizeof(syms) / sizeof(syms[0]); i++) {
				if (strlen(syms[i].name) == n && !strncmp(syms[i].name, name, n)) {
					glyphs(t, syms[i].utf8, size, shift, style);
					s = after;
					/* \mu m: TeX eats the space after a command */
					if (math && c == '\\' && is_alpha(*name) && s < end && *s == ' ')
						s++;
					done = true;
				}
			}
			for (size_t i = 0; !done && i < sizeof(cmds1) / sizeof(cmds1[0]); i++) {
				if (strlen(cmds1[i].name) == n && !strncmp(cmds1[i].name, name, n)) {
					if (cmds1[i].before)
						glyphs(t, cmds1[i].before, size, shift, style);
					s = arg(t, after, end, size, shift, style | cmds1[i].style, math);
					if (cmds1[i].accent)
						glyphs(t, cmds1[i].accent, size, shift, style);
					done = true;
				}
			}
			if (!done && n == 4 && !strncmp(name, "frac", 4)) {
				s = arg(t, after, end, size, shift, style, math);
				glyph(t, "/", 1, size, shift, style);
				s = arg(t, s, end, size, shift, style, math);
				done = true;
			}
			if (!done)  /* unknown: as written */
				glyph(t, s++, 1, size, shift, style);
		} else {
			size_t k = utf8_len((const unsigned char *)s, (size_t)(end - s));
			/* Letters in $...$ are italic, as TeX sets variables. */
			int st = style & ~ST_UPRIGHT;
			if (math && is_alpha(c) && !(style & ST_UPRIGHT))
				st |= ST_ITALIC;
			glyph(t, k ? s : "\xef\xbf\xbd", k ? k : 3, size, shift, st);
			s += k ? k : 1;
		}
	}
	t->depth--;
}

static double tex(struct strbuf *b, const char *s, double px)
{
	struct tex t = {.b = b, .base = px, .src = s};
	/* Past PLOT_MAX_TEXT bytes nothing is shown: nothing is scanned
	 * either (a $ looks ahead for its closing one). */
	size_t n = strnlen(s, PLOT_MAX_TEXT + 1);
	run(&t, s, s + n, px, 0, 0, false);
	close_run(&t);
	t.cut |= n > PLOT_MAX_TEXT;
	if (t.cut) {
		if (b)
			strbuf_puts(b, "\xe2\x80\xa6");
		t.width += 0.6 * px;
	}
	return t.width;
}

double plot_tex(struct strbuf *b, const char *s, double px)
{
	return tex(b, s, px);
}

double plot_tex_width(const char *s, double px)
{
	return tex(NULL, s, px);
}
