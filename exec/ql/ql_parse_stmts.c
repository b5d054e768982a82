/* ql_parse_stmts.c — the statements that make one query an analysis of
 * several samples: sample, lumi, weight, region and vary.  The statements
 * of one sample's data (dataset, tree, define, filter, hist) are in
 * ql_parse.c. */
#include "ql_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool number_word(const char *s, double *v)
{
	char *end;
	*v = strtod(s, &end);
	return end != s && !*end && isfinite(*v);
}

static bool names_taken(struct parser *p, const struct token *at, const char *what, const char *name,
			char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name)) {
			char msg[200];
			snprintf(msg, sizeof(msg), "a %s '%.*s' already exists", what, 100, name);
			ql_fail_tok(p, at, "give each its own name", msg);
			return true;
		}
	return false;
}

/* sample NAME [data] [xsec=X] [sumw=S|auto] [lumi=L] FILES... */
bool ql_parse_sample(struct parser *p, const struct token *kw)
{
	static const char *const opts[] = {"xsec", "sumw", "lumi"};
	struct ql_query *q = p->q;
	if (q->nsamples == QL_MAX_SAMPLES) {
		ql_fail_tok(p, kw, NULL, "too many samples (at most 256)");
		return false;
	}
	if (!q->samples && !(q->samples = arena_alloc(q->arena, QL_MAX_SAMPLES * sizeof(*q->samples))))
		return false;
	struct ql_sample *sm = &q->samples[q->nsamples];
	*sm = (struct ql_sample){.line = kw->line};
	struct token t, name = {0}, kind_at = {0}, scale_at = {0};
	bool quoted, given[3] = {false};
	char *files[4096]; /* copied to the arena, as many as there are, at the end */
	int rc;
	while ((rc = ql_lex_word(p, &t, &quoted)) > 0) {
		char *w = arena_strndup(q->arena, t.s + quoted, (size_t)t.len - 2 * quoted);
		if (!w)
			return false;
		if (!name.s) {
			name = t;
			bool ok = !quoted && t.len <= QL_MAX_NAME;
			for (int i = 0; ok && w[i]; i++)
				ok = (w[i] >= 'a' && w[i] <= 'z') || (w[i] >= 'A' && w[i] <= 'Z') ||
				     (w[i] >= '0' && w[i] <= '9') || w[i] == '_';
			if (!ok) {
				ql_fail_tok(p, &t, "sample ttbar xsec=729.84 sumw=auto data/ttbar_*.root",
					    "a sample's name is letters, digits and '_'");
				return false;
			}
			char *names[QL_MAX_SAMPLES];
			for (int i = 0; i < q->nsamples; i++)
				names[i] = q->samples[i].name;
			if (names_taken(p, &t, "sample", w, names, q->nsamples))
				return false;
			sm->name = w;
			continue;
		}
		char *eq = quoted ? NULL : strchr(w, '=');
		if (!quoted && (!strcmp(w, "data") || !strcmp(w, "simulation"))) {
			if (kind_at.s) {
				ql_fail_tok(p, &t, "a sample is data or simulation (the default)",
					    "data or simulation is given twice");
				return false;
			}
			kind_at = t;
			sm->is_data = w[0] == 'd';
			continue;
		}
		if (!eq || (strchr(w, '/') && strchr(w, '/') < eq)) {
			if (sm->nfiles == 4096) {
				ql_fail_tok(p, &t, NULL, "too many paths on one line");
				return false;
			}
			files[sm->nfiles++] = w;
			continue;
		}
		*eq = 0;
		const char *val = eq + 1;
		double v;
		int k = -1;
		for (int i = 0; i < 3; i++)
			if (!strcmp(w, opts[i]))
				k = i;
		if (k < 0) {
			char hint[512];
			ql_suggest(w, opts, 3, hint, sizeof(hint));
			size_t n = strlen(hint);
			snprintf(hint + n, sizeof(hint) - n,
				 "%sa sample takes data, xsec=, sumw= and lumi=, then its files (put a "
				 "path that holds '=' in double quotes)",
				 n ? " " : "");
			ql_fail_tok(p, &t, hint, "unknown sample option");
			return false;
		}
		if (given[k]) {
			char msg[64];
			snprintf(msg, sizeof(msg), "%s= is given twice", opts[k]);
			ql_fail_tok(p, &t, "keep one", msg);
			return false;
		}
		given[k] = true;
		if (!scale_at.s)
			scale_at = t;
		if (k == 1 && !strcmp(val, "auto")) {
			sm->has_sumw = sm->sumw_auto = true;
			continue;
		}
		if (!number_word(val, &v) || v <= 0) {
			ql_fail_tok(p, &t, k == 1 ? "sumw=auto, or the sum of generator weights" : NULL,
				    "expected a positive number after '='");
			return false;
		}
		if (k == 0)
			sm->has_xsec = true, sm->xsec = v;
		else if (k == 1)
			sm->has_sumw = true, sm->sumw = v;
		else
			sm->has_lumi = true, sm->lumi = v;
	}
	if (rc < 0)
		return false;
	if (!sm->name || !sm->nfiles) {
		ql_fail_tok(p, kw, "sample ttbar xsec=729.84 sumw=auto data/ttbar_*.root",
			    sm->name ? "the sample names no file" : "expected the sample's name");
		return false;
	}
	if (sm->is_data && (sm->has_xsec || sm->has_sumw || sm->has_lumi)) {
		ql_fail_tok(p, &scale_at, "data are not scaled: leave xsec=, sumw= and lumi= out",
			    "a data sample takes no cross section, sum of weights or luminosity");
		return false;
	}
	/* A cross section is divided by the sum of generator weights: the
	 * files' own unless one is given. */
	if (sm->has_xsec && !sm->has_sumw)
		sm->has_sumw = sm->sumw_auto = true;
	if (!(sm->files = arena_alloc(q->arena, (size_t)sm->nfiles * sizeof(*files))))
		return false;
	memcpy(sm->files, files, (size_t)sm->nfiles * sizeof(*files));
	if ((sm->name_id = ql_intern_string(q, sm->name)) < 0)
		return false;
	q->nsamples++;
	ql_lex(p);
	return true;
}

/* lumi X: the integrated luminosity simulation is scaled to, in the
 * inverse of the cross sections' unit (pb^-1 for xsec in pb). */
bool ql_parse_lumi(struct parser *p, const struct token *kw)
{
	struct ql_query *q = p->q;
	ql_lex(p);
	double v;
	if (q->has_lumi) {
		ql_fail_tok(p, kw, "keep one lumi line", "lumi is given twice");
		return false;
	}
	struct token at = p->tok;
	if (at.t == T_NL || at.t == T_EOF) {
		ql_fail_tok(p, kw, "lumi 3378: the integrated luminosity, in the inverse of the cross "
			    "sections' unit (pb^-1 for xsec in pb)", "lumi takes a number");
		return false;
	}
	if (!ql_parse_number(p, &v) || !(v > 0) || !isfinite(v)) {
		if (!p->failed)
			ql_fail_tok(p, &at, "lumi 3378", "lumi takes a positive number");
		return false;
	}
	q->lumi = v;
	q->has_lumi = true;
	q->lumi_line = kw->line;
	return true;
}

/* weight [NAME =] EXPR: a define that is the event weight. */
bool ql_parse_weight(struct parser *p, const struct token *kw)
{
	struct ql_query *q = p->q;
	ql_lex(p);
	if (q->weight) {
		ql_fail_tok(p, kw, "keep one weight line; give a histogram its own with weight=",
			    "weight is given twice");
		return false;
	}
	if (q->nhists) {
		ql_fail_tok(p, kw, "move the weight line above the first hist",
			    "the weight must be given before the histograms");
		return false;
	}
	struct ql_stmt *s = ql_new_stmt(p, QS_DEFINE, kw->line);
	if (!s) {
		ql_fail_tok(p, kw, NULL, "too many statements");
		return false;
	}
	char *name = "(weight)"; /* unnamed: nothing can refer to it */
	if (p->tok.t == T_IDENT) {
		struct parser save = *p;
		struct token t = p->tok;
		ql_lex(p);
		if (p->tok.t == T_ASSIGN && t.len <= QL_MAX_NAME) {
			name = ql_tok_str(p, &t);
			ql_lex(p);
		} else {
			*p = save;
		}
	}
	s->u.define.name = name;
	if (!(s->u.define.expr = ql_parse_expr(p)))
		return false;
	q->weight = &s->u.define;
	q->weight_line = kw->line;
	return true;
}

/* "NAME:" of a region or a variation, new among names[0..n): the name
 * (arena), or NULL with the error set. */
static char *label_colon(struct parser *p, const char *what, const char *example, char *const *names,
			 int n, struct token *where)
{
	struct token name;
	char msg[80];
	if (!ql_lex_label(p, &name) || name.len > QL_MAX_NAME || p->tok.t != T_COLON) {
		snprintf(msg, sizeof(msg), name.len ? "expected ':' after the %s's name" : "expected the %s's name",
			 what);
		ql_fail_tok(p, name.len ? &p->tok : &name, example, msg);
		return NULL;
	}
	ql_lex(p);
	char *nm = ql_tok_str(p, &name);
	if (where)
		*where = name;
	return nm && !names_taken(p, &name, what, nm, names, n) ? nm : NULL;
}

/* region NAME: EXPR */
bool ql_parse_region(struct parser *p, const struct token *kw)
{
	struct ql_query *q = p->q;
	if (q->nregions == QL_MAX_REGIONS) {
		ql_fail_tok(p, kw, NULL, "too many regions (at most 64)");
		return false;
	}
	char *names[QL_MAX_REGIONS];
	for (int i = 0; i < q->nregions; i++)
		names[i] = q->regions[i]->name;
	char *nm = label_colon(p, "region", "region 4j2b: nbtag >= 2", names, q->nregions, NULL);
	if (!nm)
		return false;
	struct ql_stmt *s = ql_new_stmt(p, QS_REGION, kw->line);
	if (!s) {
		ql_fail_tok(p, kw, NULL, "too many statements");
		return false;
	}
	struct ql_region *r = &s->u.region;
	r->name = nm;
	r->nfilters = q->nfilters;
	if (!(r->expr = ql_parse_expr(p)))
		return false;
	if (!q->regions && !(q->regions = arena_alloc(q->arena, QL_MAX_REGIONS * sizeof(*q->regions))))
		return false;
	r->index = q->nregions;
	q->regions[q->nregions++] = r;
	return true;
}

/* vary NAME: TARGET = EXPR [, TARGET = EXPR ...] */
bool ql_parse_vary(struct parser *p, const struct token *kw)
{
	struct ql_query *q = p->q;
	if (q->nvaries == QL_MAX_VARIES) {
		ql_fail_tok(p, kw, NULL, "too many variations (at most 256)");
		return false;
	}
	char *names[QL_MAX_VARIES];
	for (int i = 0; i < q->nvaries; i++)
		names[i] = q->varies[i]->name;
	struct token at;
	char *nm = label_colon(p, "variation", "vary jes_up: Jet_pt = Jet_pt * 1.03", names, q->nvaries,
			       &at);
	if (!nm)
		return false;
	if (!strcmp(nm, "nominal")) {
		ql_fail_tok(p, &at, "give the variation another name",
			    "'nominal' names the values that are not varied");
		return false;
	}
	struct ql_stmt *s = ql_new_stmt(p, QS_VARY, kw->line);
	if (!s) {
		ql_fail_tok(p, kw, NULL, "too many statements");
		return false;
	}
	struct ql_vary *v = &s->u.vary;
	v->name = nm;
	struct ql_vary_target tg[16];
	for (;;) {
		struct token t = p->tok;
		if (t.t != T_IDENT || t.len > QL_MAX_NAME) {
			ql_fail_tok(p, &t, "vary jes_up: Jet_pt = Jet_pt * 1.03",
				    "expected the name of the branch or define varied");
			return false;
		}
		if (v->ntargets == 16) {
			ql_fail_tok(p, &t, NULL, "a variation replaces at most 16 values");
			return false;
		}
		ql_lex(p);
		if (p->tok.t != T_ASSIGN) {
			ql_fail_tok(p, &p->tok, "vary jes_up: Jet_pt = Jet_pt * 1.03", "expected '='");
			return false;
		}
		ql_lex(p);
		struct ql_vary_target *g = &tg[v->ntargets++];
		*g = (struct ql_vary_target){.name = ql_tok_str(p, &t), .line = t.line, .col = t.col,
					     .len = t.len, .column = -1};
		if (!g->name || !(g->expr = ql_parse_expr(p)))
			return false;
		if (p->tok.t != T_COMMA)
			break;
		ql_lex(p);
	}
	if (!(v->targets = arena_alloc(q->arena, (size_t)v->ntargets * sizeof(*tg))))
		return false;
	memcpy(v->targets, tg, (size_t)v->ntargets * sizeof(*tg));
	if (!q->varies && !(q->varies = arena_alloc(q->arena, QL_MAX_VARIES * sizeof(*q->varies))))
		return false;
	v->index = q->nvaries;
	q->varies[q->nvaries++] = v;
	return true;
}

/* After the last line: a lumi needs samples to scale.  (A scaled sample
 * without one is scaled to a luminosity of 1: cross section per bin.) */
void ql_check_scales(struct parser *p)
{
	struct ql_query *q = p->q;
	if (q->has_lumi && !q->nsamples) {
		ql_fail(p->err, q->filename, q->text, q->lumi_line, 1, 4,
			"write the files on sample lines with their cross sections",
			"lumi scales samples, and the query has none");
		p->failed = true;
	}
}
