/* eval_int.h — what the evaluator's files share: values, state, kernels. */
#ifndef ANAFS_EVAL_INT_H
#define ANAFS_EVAL_INT_H

#include "eval.h"
#include "result.h"

#include <stdbool.h>

/* The kernels' loops compiled twice, for AVX2 and for any x86-64, chosen
 * when the program loads (no FMA either way, so every result is the same
 * to the bit).  ThreadSanitizer cannot run the chooser, so its build
 * (ANAFS_NO_CLONES) has one version. */
#ifdef ANAFS_NO_CLONES
#define EVAL_CLONES
#else
#define EVAL_CLONES __attribute__((target_clones("avx2", "default")))
#endif

/* The values of one node for the current batch. */
struct val {
	enum ql_type t;       /* storage: BOOL uint8_t, INT int64_t, FLOAT double */
	bool jagged;
	int list;
	size_t n;             /* values: events, or elements of the list */
	void *data;
	size_t cap;
	bool borrowed;        /* data points into an input column */
	bool is_const;        /* a literal: every value is the same */
	bool has_valid;       /* valid[] holds per-event validity */
	uint8_t *valid;
	size_t vcap;
	/* FLOAT values that are float32 numbers (a float32 branch, abs() of
	 * one) may come with them as floats too, this batch: f32, or NULL.
	 * no_f64: only the floats were made (the node's every use takes
	 * them, eval_prog.f32_ok), data holds no value. */
	const float *f32;
	bool no_f64;
	float *fbuf;          /* owned floats f32 may point to */
	size_t fcap;
};

struct eval_prog {
	const struct ql_query *q;
	struct ql_node **nodes; /* evaluation order */
	int nnodes;
	int *inputs;            /* schema column of each input */
	int ninputs;
	int *input_of;          /* per node: input index for column loads, else -1 */
	int *phase;             /* per node: the filters its events have passed */
	int *last;              /* per node: the last phase that uses its values */
	int *counts;            /* per node: the list a counter branch counts, or -1 */
	/* Per node: every use takes its floats when it has them (a
	 * comparison with a literal, abs()), so that a float32 branch need
	 * not be widened to doubles. */
	bool *f32_ok;
	/* Per node: a literal whose every use reads only its first value
	 * (the right side of a comparison, the index of x[i]). */
	bool *lit_one;
	struct ql_filter **filters;
	int nfilters;
	struct ql_hist **hists;
	int nhists;
	int nlists;
	bool has_comb;          /* makes combinations: batches are cut to EVAL_COMB_EVENTS */
	/* An analysis: 1 + the variations; the event weight (nominal) for the
	 * weighted cutflow, or NULL; the regions; per histogram its cells in
	 * the result and, per axis of string categories, the category of each
	 * string of the query (-1: none). */
	int nvar;
	const struct ql_node *weight;
	struct ql_region **regions;
	int nregions;
	int **str_cat;          /* [hist * QL_MAX_DIM + axis], or NULL */
};

/* Events per evaluation pass of a program that makes combinations: with at
 * most QL_MAX_COMB_EVENT combinations an event, a combination's values
 * take at most 80 MB. */
#define EVAL_COMB_EVENTS 1024

#define EVAL_SCRATCH 8

struct eval_state {
	const struct eval_prog *p;
	struct val *vals;       /* per node */
	int64_t **lists;        /* per list: nevents + 1 offsets, this batch */
	size_t *list_cap;
	bool *list_ready;
	struct result *res;     /* histograms and cutflow so far */
	int64_t *idx;           /* current event -> event of the batch */
	size_t idx_cap;
	bool have_idx;          /* false: the identity */
	bool *checked;          /* per node: counter compared with its list */
	uint8_t *mask;          /* events passing the filters not compacted away */
	size_t mask_cap;
	bool has_mask;          /* false: every current event passes */
	void *scratch[EVAL_SCRATCH];
	size_t scratch_cap[EVAL_SCRATCH];
	double *fill[QL_VROOTS + 1]; /* x, y, z, w, value gathered for a histogram */
	size_t fill_cap[QL_VROOTS + 1];
	uint8_t *fmask;         /* the events a histogram's cell is filled with */
	size_t fmask_cap;
	uint8_t *fill_ok;       /* those of them where every value is present */
	size_t fill_ok_cap;
	/* Variations: per variation v >= 1, whether its events are still the
	 * nominal's (same[v]), else its own mask (vmask[v], vhas[v]). */
	uint8_t **vmask;
	size_t *vmask_cap;
	bool *vhas, *same;
	uint8_t *pass_u;        /* events passing a filter in some variation */
	size_t pass_u_cap;
	/* The task's source: its sample, the file's fingerprint (seeds
	 * random_normal) and the batch's first entry. */
	int sample;
	uint64_t seed;
	int64_t first_entry;
	int64_t nev;            /* events still in the batch */
	int64_t orig;           /* events the batch started with */
	/* The device for large fills (eval_set_gpu()), the least points a fill
	 * needs for it, the error that sent the fills back to the CPU, and the
	 * fills it made. */
	struct gpu_ctx *gpu;
	size_t gpu_min;
	int gpu_err;
	uint64_t gpu_fills;
	uint64_t gpu_nodes;     /* nodes it computed (eval_gpu_ops.c) */
	uint64_t gpu_epoch;     /* what the device may keep (gpu_eval_epoch()); 0:
				 * a new one, from where the values change */
	const char *why;        /* error text of the batch */
	char why_buf[512];      /* room for one that is not static (a lookup's) */
};

/* Element i of v, whatever its storage, as T. */
#define GET(T, v, i)                                                                    \
	((v)->no_f64 ? (T)(v)->f32[i]                                                    \
	 : (v)->t == QL_FLOAT ? (T)((const double *)(v)->data)[i]                        \
	 : (v)->t == QL_INT ? (T)((const int64_t *)(v)->data)[i]                         \
			    : (T)((const uint8_t *)(v)->data)[i])

/* Fill out (a histogram) from n points x, y (2-D), weights w (NULL: 1)
 * on the state's device (eval_gpu.c): 0 when done there; else out is
 * unchanged and the caller fills on the CPU. */
int eval_gpu_fill(struct eval_state *s, struct hist *out, const double *x, const double *y,
		  const double *w, size_t n);

/* Before an operation on the state's device: the epoch its copies belong
 * to (eval_gpu_ops.c). */
void eval_gpu_begin(struct eval_state *s);

/* Compute node n (arguments args) on the state's device when it is one
 * the device computes to the CPU's bit and large enough (eval_gpu_ops.c):
 * 0 when done there, 1 when the CPU is to compute it, or -ENOMEM. */
int eval_gpu_node(struct eval_state *s, const struct ql_node *n, struct val *out, struct val **args);

/* Grow *buf to hold bytes; 0 or -ENOMEM. */
int eval_reserve(void **buf, size_t *cap, size_t bytes);

/* Whether node id's values are made as floats only (eval_prog.f32_ok):
 * not while the state's device computes, which takes doubles. */
static inline bool eval_f32_only(const struct eval_state *s, int id)
{
	return s->p->f32_ok[id] && !s->gpu;
}

/* v as doubles (or int64s) shaped for list (-1: one per event), converting
 * and broadcasting into scratch slot when needed.  NULL on ENOMEM. */
const double *eval_as_f64(struct eval_state *s, const struct val *v, int list, int slot);
const int64_t *eval_as_i64(struct eval_state *s, const struct val *v, int list, int slot);
const uint8_t *eval_as_u8(struct eval_state *s, const struct val *v, int list, int slot);

/* out shaped and sized for node n (its list must be ready); 0 or -ENOMEM. */
int eval_prepare(struct eval_state *s, const struct ql_node *n, struct val *out);
/* out's validity: the events where every one of args[0..k) is valid. */
int eval_join_valid(struct eval_state *s, struct val *out, struct val **args, int k);
/* out's validity: every event valid (then cleared where needed). */
int eval_set_valid(struct eval_state *s, struct val *out);

static inline int64_t eval_wrap_add(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

/* min/max that give NaN when either is NaN; phi1 - phi2 in [-pi, pi). */
double eval_nan_min(double a, double b);
double eval_nan_max(double a, double b);
double eval_delta_phi(double a, double b);
/* Four-vectors: add (pt, eta, phi, m) into p (px, py, pz, E); the mass of
 * p, negative when space-like (as ROOT's TLorentzVector::M()). */
void eval_add_p4(double *p, double pt, double eta, double phi, double m);
double eval_mass_of(double px, double py, double pz, double en);

/* The element loop of jagged masks (eval_pack.c): the elements x[i] with
 * keep[i] set, in order, into o (o may be x), and before[i] (0 <= i <= n)
 * the kept elements before i; their count.  Doubles (or any 8 bytes) and
 * floats. */
size_t eval_pack64(uint64_t *o, const uint64_t *x, const uint8_t *keep, size_t n, int64_t *before);
size_t eval_pack32(float *o, const float *x, const uint8_t *keep, size_t n, int64_t *before);

/* o[i] = (double)x[i] for n integers, without a call or a branch per
 * value where every |x[i]| < 2^51. */
void eval_i64_to_f64(double *o, const int64_t *x, size_t n);

/* o[i] = ((double)x[i] OP c) for the k floats x (op: QB_EQ ... QB_GE),
 * computed on the floats against the floats nearest c. */
void eval_compare_f32(uint8_t *o, const float *x, size_t k, int op, double c);

/* The list kernels (eval_lists.c): x[lo:hi], x[indices], and calls with
 * op >= QF_ARGMAX. */
int eval_slice(struct eval_state *s, const struct ql_node *n, struct val *out, struct val **args);
int eval_gather(struct eval_state *s, const struct ql_node *n, struct val *out, struct val *x,
		struct val *ix);
int eval_list_call(struct eval_state *s, const struct ql_node *n, struct val *out,
		   struct val **args);

/* random_normal (eval_random.c); the standard normal number drawn for
 * (fingerprint, site, entry, element). */
int eval_random_normal(struct eval_state *s, const struct ql_node *n, struct val *out,
		       struct val **args);
double eval_normal_at(uint64_t fingerprint, int64_t site, int64_t entry, int64_t element);

/* correction() and lumi_mask() (eval_lookup.c). */
int eval_lookup(struct eval_state *s, const struct ql_node *n, struct val *out, struct val **args);

/* Load column c (the batch's, for input node n) into v (eval_load.c):
 * 0, -ENOMEM, or -EINVAL with s->why when the column does not fit the
 * batch or its list. */
int eval_load_column(struct eval_state *s, const struct ql_node *n, struct val *v,
		     const struct rootio_column *c);

/* Compute node n's values into its struct val (eval_ops.c). */
int eval_node(struct eval_state *s, const struct ql_node *n, struct val *out);

/* The struct val a (possibly define-aliased) argument node evaluates to. */
struct val *eval_arg(struct eval_state *s, const struct ql_node *n);

/* Elements in list l this batch. */
static inline size_t eval_list_size(const struct eval_state *s, int l)
{
	return (size_t)s->lists[l][s->nev];
}

#endif
