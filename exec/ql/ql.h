/* ql.h — the analysis query language: parse, check against the branches
 * of a tree, and the checked syntax tree the evaluator compiles.
 *
 *   dataset  data/run1.root root://host//store/x.root
 *   tree     Events
 *   on_error skip
 *   define   good = Muon_pt > 5 && abs(Muon_eta) < 2.4
 *   filter   twomu: sum(good) == 2
 *   hist     mass = inv_mass(Muon_pt[good], Muon_eta[good], Muon_phi[good], \
 *                            Muon_mass[good]) bins=60 range=60,120 label="m [GeV]"
 *
 * An analysis adds sample, lumi, weight, region and vary lines
 * (docs/analysis.md); a query with samples is checked once per sample
 * (ql_check_sample()).
 *
 * Every error carries a line and column, the line with a caret under the
 * spot, and a hint.  Nothing half-checked runs: ql_check() must succeed
 * before a query is compiled.  See docs/query.md.
 *
 * Thread safety: a checked query is immutable and may be shared. */
#ifndef ANAFS_QL_H
#define ANAFS_QL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QL_MAX_TEXT (1u << 20)  /* bytes of query text */
#define QL_MAX_DEPTH 200        /* nesting of an expression */
#define QL_MAX_STATEMENTS 4096
#define QL_MAX_NAME 128

/* A parse or check error. */
struct ql_error {
	int line, col;     /* 1-based; 0 when not about a place */
	char msg[256];     /* "unknown branch 'Muon_ptt'" */
	char hint[512];    /* "did you mean Muon_pt, Muon_phi?" ("" when none) */
	char text[2048];   /* file:line:col: error: msg, the line, a caret, hint */
};

/* QL_STR: a string literal, a sample's name or a choice between them; held
 * as an index into ql_query.strings, and only compared, chosen with ?: or
 * filled into a category axis. */
enum ql_type { QL_BOOL = 1, QL_INT, QL_FLOAT, QL_STR };

/* What the query may read: one entry per column of the tree. */
struct ql_column {
	const char *name;
	enum ql_type type;
	bool jagged;          /* a list per event */
	const char *counter;  /* jagged: its counter branch; NULL for fixed arrays */
	int fixed_len;        /* fixed arrays: elements per event; else 0 */
	bool readable;        /* false: listed but not readable (unsupported) */
};

struct ql_schema {
	const struct ql_column *cols;
	size_t ncols;
};

/* Syntax tree nodes. */
enum ql_kind {
	QN_INT, QN_FLOAT, QN_BOOL, /* literals */
	QN_NAME,    /* a branch or a define */
	QN_UNARY,   /* op: '-', '!' */
	QN_BINARY,  /* op: see enum ql_binop */
	QN_COND,    /* a ? b : c */
	QN_CALL,    /* fn(args) */
	QN_INDEX,   /* a[b]: an index (b integer), a mask (b boolean list) or
		     * a gather (b a list of integer indices) */
	QN_SLICE,   /* a[lo:hi]: args a, lo, hi (omitted bounds: 0, INT64_MAX) */
	QN_STR,     /* "text": ival is its index in ql_query.strings */
};

/* What a QN_NAME of a sample's value is (ql_node.op after check, with
 * column -1 and no define): the same for every event of a task. */
enum ql_sample_value { QL_SV_IS_DATA = 1, QL_SV_SAMPLE, QL_SV_XSEC, QL_SV_LUMI, QL_SV_SUMW };

enum ql_binop {
	QB_ADD = 1, QB_SUB, QB_MUL, QB_DIV, QB_MOD, QB_POW,
	QB_EQ, QB_NE, QB_LT, QB_LE, QB_GT, QB_GE,
	QB_AND, QB_OR,
};

struct ql_define;

/* Where something is written: for errors about it. */
struct ql_place {
	int line, col, len;
};

struct ql_node {
	enum ql_kind kind;
	int op;               /* unary/binary operator, or function id after check */
	int line, col, len;   /* where it is written (len: bytes on that line) */
	int height;           /* 1 + the tallest argument's: bounded by QL_MAX_DEPTH */
	struct ql_node **args;
	int nargs;
	char *name;           /* QN_NAME, QN_CALL */
	int64_t ival;
	double fval;
	/* Filled by ql_check(): */
	enum ql_type type;
	bool jagged;
	int list;             /* jagged: which list it has one value per (ql_list_name) */
	int column;           /* QN_NAME of a branch: index in the schema, else -1 */
	struct ql_define *define; /* QN_NAME of a define */
	bool is_mask;         /* QN_INDEX: b is a mask */
	bool is_gather;       /* QN_INDEX: b is a list of indices into a */
	int id;               /* index in evaluation order (set by the compiler) */
	const struct ql_lookup *lookup; /* correction() and lumi_mask(): what they read */
};

/* A loaded correction (correction("f.json", "name", inputs...)) or
 * certified-luminosity mask (lumi_mask("golden.json", run, lumi)), owned
 * by the query.  For each string input k of a correction, strmap[k] turns
 * a query string's index into the correction's (-1: no such key). */
struct corr;
struct lumimask;
struct ql_lookup {
	const struct corr *corr;
	const struct lumimask *mask;
	int **strmap;
};

enum ql_stmt_kind { QS_DEFINE = 1, QS_FILTER, QS_HIST, QS_REGION, QS_VARY };

struct ql_axis {
	int nbins;
	double lo, hi;
	double *edges;        /* variable binning (nbins + 1), or NULL */
	char *label;
	/* A category axis (categories=): nbins categories, integers or strings
	 * (cat_str), values not listed going to an "other" bin. */
	bool is_cat, cat_str;
	int64_t *cat_int;
	char **cat_strs;
};

#define QL_MAX_DIM 3          /* value axes of a histogram */
#define QL_MAX_SAMPLES 256
#define QL_MAX_VARIES 256
#define QL_MAX_REGIONS 64
#define QL_MAX_PLOTS 64         /* plot statements */
#define QL_MAX_PLOT_HISTS 10    /* histograms of one plot */
#define QL_VROOTS 5           /* a histogram's roots: x, y, z, weight, profiled value */

struct ql_define {
	char *name;
	struct ql_node *expr;
};

struct ql_filter {
	char *name;           /* given name, or the expression's text */
	struct ql_node *expr;
	int index;            /* 0, 1, ... in order */
	/* After check, with variations: per variation v (0..nvaries-1) the
	 * expression in that variation (expr itself where nothing it reads
	 * is varied). */
	struct ql_node **vexpr;
};

/* region NAME: EXPR — a selection histograms may be filled under. */
struct ql_region {
	char *name;
	struct ql_node *expr;
	int index;
	int nfilters;         /* filters written before it */
	struct ql_node **vexpr; /* as ql_filter's */
};

/* vary NAME: TARGET = EXPR, ...: in variation NAME, each target (a branch
 * or a define) is replaced by its expression, and everything that reads
 * it is computed again for that variation only. */
struct ql_vary_target {
	char *name;
	struct ql_node *expr;
	int line, col, len;
	int column;           /* after check: the branch, or -1 */
	struct ql_define *define; /* or the define */
};

struct ql_vary {
	char *name;
	int index;
	struct ql_vary_target *targets;
	int ntargets;
};

/* sample NAME [data] [xsec=X] [sumw=S|auto] [lumi=L] FILES... */
struct ql_sample {
	char *name;
	int line;
	char **files;         /* as written (globs unexpanded) */
	int nfiles;
	bool is_data;
	bool has_xsec, has_sumw, sumw_auto, has_lumi;
	double xsec, sumw, lumi;
	int name_id;          /* its name's index in ql_query.strings */
};

/* How the histogram is drawn (hist.h's struct hist_plot): logx=, logy=,
 * logz=, density=, points= (true or false), size=W,H, plot_label= and
 * plot_lumi=; zero and NULL when not given. */
struct ql_plot {
	bool logx, logy, logz, density, points;
	int width, height;
	char *label, *lumi;
};

/* plot NAME = H1, H2, ... OPTIONS: 1-D histograms of the query, written
 * above it, drawn in one frame as lines (hist/NAME.svg); title= and the
 * plot options of struct ql_plot, the defaults line's first. */
struct ql_plotdef {
	char *name, *title;
	char **hists;
	int nhists;
	struct ql_plot plot;
	int line;
};

struct ql_hist {
	char *name;
	char *title;
	int ndim;
	struct ql_node *expr[QL_MAX_DIM];
	struct ql_node *weight;   /* NULL: unweighted (after check: the `weight` statement's
				   * define when the histogram gives none) */
	struct ql_node *value;    /* profile: the value averaged per bin; else NULL */
	bool profile;
	struct ql_axis axes[QL_MAX_DIM]; /* label=/xlabel= the first's, ylabel= the second's */
	char *value_label;        /* ylabel= of a 1-D histogram: its values' (y) axis; or NULL */
	int nfilters;         /* filters written before it: they select its events */
	/* region=NAME: filled only where that region holds (region >= 0);
	 * regions=A,B: a category axis of regions. */
	int region;
	char **region_names;      /* as written, resolved by check into regions[] */
	int nregion_names;
	int *regions;
	int nregions;
	struct ql_place *region_at; /* where each name of region(s)= is written */
	/* After check, with variations: per variation v the roots (x, y, z,
	 * weight, value) in that variation: vroots[v * QL_VROOTS + k]. */
	struct ql_node **vroots;
	struct ql_plot plot;
};

struct ql_stmt {
	enum ql_stmt_kind kind;
	int line;
	union {
		struct ql_define define;
		struct ql_filter filter;
		struct ql_hist hist;
		struct ql_region region;
		struct ql_vary vary;
	} u;
};

struct ql_query {
	char *filename;
	char *text;           /* a copy of the source */
	char **datasets;      /* as written (globs unexpanded) */
	int ndatasets;
	int dataset_line;
	char *tree;           /* NULL: not given */
	bool on_error_skip;   /* on_error skip: a task failing past its retries is left out */
	int on_error_line;    /* 0: no on_error line */
	struct ql_stmt *stmts;
	int nstmts;
	int nfilters, nhists;
	char **lists;         /* names of the lists jagged values are over */
	int nlists;
	/* Samples: none (the dataset lines, one unnamed sample), or several. */
	struct ql_sample *samples;
	int nsamples;
	struct ql_plotdef *plots; /* plot statements, in order */
	int nplots;
	double lumi;          /* lumi X: for every simulation sample without its own */
	bool has_lumi;
	int lumi_line;
	/* weight [NAME =] EXPR: the event weight (a define; NULL when none). */
	struct ql_define *weight;
	int weight_line;
	struct ql_region **regions;
	int nregions;
	struct ql_vary **varies;
	int nvaries;
	char **strings;       /* string literals and sample names, each once */
	int nstrings;
	int nrandom;          /* random_normal calls, numbered 1.. in text order */
	void *lookups;        /* the files correction() and lumi_mask() loaded (ql_check_corr.c) */
	bool checked;
	struct arena *arena;
};

/* Parse text (len bytes; need not be NUL-terminated) written in filename
 * (used in errors; may be NULL).  On success *out is new: ql_free().
 * Returns 0, or -EINVAL with err filled, or -EFBIG past QL_MAX_TEXT. */
int ql_parse(const char *text, size_t len, const char *filename, struct ql_query **out,
	     struct ql_error *err);
void ql_free(struct ql_query *q);

/* Resolve names against schema, type every expression, check jagged
 * lists agree and every statement makes sense.  Returns 0 or -EINVAL. */
int ql_check(struct ql_query *q, const struct ql_schema *schema, struct ql_error *err);
/* The same for one sample of the query (an index into its samples):
 * conditions on is_data and the sample's name are then known, and only
 * the side taken is checked and compiled, so that `is_data ? 1 :
 * genWeight` reads genWeight only where there is one.  ql_check() is
 * sample 0's. */
int ql_check_sample(struct ql_query *q, const struct ql_schema *schema, int sample,
		    struct ql_error *err);
/* The same, with relative paths of correction files starting at basedir
 * (NULL: the current folder). */
int ql_check_in(struct ql_query *q, const struct ql_schema *schema, int sample, const char *basedir,
		struct ql_error *err);
/* All of it: name_sample makes every error end "(in sample NAME)", for an
 * error that is that sample's own (the caller has seen another pass). */
struct ql_check_opts {
	int sample;
	const char *basedir;
	bool name_sample;
};
int ql_check_opts(struct ql_query *q, const struct ql_schema *schema, const struct ql_check_opts *o,
		  struct ql_error *err);

/* The normal text of a query (len bytes of text that parses): its tokens
 * without comments, blanks or continuations, one statement a line, the
 * defines sorted after the others (kept in place when random_normal()
 * numbers calls in text order).  Two queries with one normal text compute
 * the same result over the same files.  *out is new (free()).  Returns 0,
 * -EINVAL for a text that does not lex, or -ENOMEM. */
int ql_normal_text(const char *text, size_t len, char **out, size_t *outlen);

/* The files correction() and lumi_mask() of checked query q read, as the
 * query names them (relative ones start at the basedir it was checked
 * in): n of them, path(i) borrowed until ql_free(). */
size_t ql_lookup_count(const struct ql_query *q);
const char *ql_lookup_path(const struct ql_query *q, size_t i);

/* The name a list is shown by in messages ("nJet", "Muon_pt[good]"). */
const char *ql_list_name(const struct ql_query *q, int list);

/* Function ids (struct ql_node.op of a checked QN_CALL). */
enum ql_fn {
	QF_ABS = 1, QF_SQRT, QF_EXP, QF_LOG, QF_SIN, QF_COS, QF_TAN, QF_ATAN2,
	QF_SINH, QF_COSH, QF_TANH, QF_HYPOT, QF_POW, QF_FLOOR, QF_CEIL,
	QF_MIN2, QF_MAX2,     /* min(a, b), max(a, b): element-wise */
	QF_DELTA_PHI, QF_DELTA_R, QF_INV_MASS,
	QF_SUM, QF_COUNT, QF_LEN, QF_MIN, QF_MAX, QF_ANY, QF_ALL, /* reductions */
	/* Lists (ql_check_lists.c, eval_lists.c): */
	QF_ARGMAX, QF_ARGMIN, QF_ARGSORT, QF_SORT, QF_FIRST, QF_LAST, QF_LOCAL_INDEX,
	QF_TAKE, QF_MIN_DR, QF_NEAREST,
	QF_COMBINATIONS, QF_COMB_SUM, QF_COMB_MIN, QF_COMB_MAX,
	QF_COMB_PT, QF_COMB_ETA, QF_COMB_PHI, QF_COMB_MASS,
	QF_P4_PT, QF_P4_ETA, QF_P4_PHI, QF_P4_MASS, QF_MT,
	QF_RANDOM_NORMAL,     /* ival: its call site, 1.. in text order */
	QF_CORRECTION, QF_LUMI_MASK, /* lookups (ql_node.lookup) */
};

/* The index of string s in q->strings, or -1. */
int ql_string_id(const struct ql_query *q, const char *s);

/* Combinations: n objects at most per combination, and at most this many
 * combinations in one event (an event past it fails its task: docs/query.md). */
#define QL_MAX_COMB_N 8
#define QL_MAX_COMB_EVENT 10000

/* Format an error at (line, col, len) of q's text into err (internal). */
void ql_fail(struct ql_error *err, const char *filename, const char *text, int line, int col,
	     int len, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

#endif
