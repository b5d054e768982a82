/* test_gpu_eval.c — the program's nodes on a device context against the
 * CPU evaluator: every node kind and type gpu.h computes (arithmetic,
 * comparisons, logic, conversions, math, ?:, reductions, list masks, with
 * missing values), flat and jagged, over columns holding NaN, infinities,
 * -0, the integers' extremes and empty lists.  Each query runs on a CPU
 * state and on a state whose nodes and fills go to the context (min 1
 * point); every node's values, their validity and the histograms must be
 * the same bits, and the device must have computed nodes.  Nodes the
 * device does not compute to the bit (exp, pow, ...) must stay on the CPU.
 * Also: a device fault sends the nodes back to the CPU (same values), and
 * gpu_eval_*() refuse bad arguments.  The context is the host emulation
 * on a machine without a GPU, the device where there is one (--device:
 * exit 77 without one). */
#include "eval_int.h"
#include "gpu.h"
#include "hist.h"
#include "ql.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum { C_X, C_Y, C_FL, C_K, C_KK, C_I32, C_B, C_NJ, C_JPT, C_JETA, C_JQ, C_JOK, NCOLS };

#define J(name, t) {name, t, true, "nJ", 0, true}
#define S(name, t) {name, t, false, NULL, 0, true}
static const struct ql_column columns[NCOLS] = {
	[C_X] = S("x", QL_FLOAT),      [C_Y] = S("y", QL_FLOAT),      [C_FL] = S("fl", QL_FLOAT),
	[C_K] = S("k", QL_INT),        [C_KK] = S("kk", QL_INT),      [C_I32] = S("i32", QL_INT),
	[C_B] = S("b", QL_BOOL),       [C_NJ] = S("nJ", QL_INT),      [C_JPT] = J("J_pt", QL_FLOAT),
	[C_JETA] = J("J_eta", QL_FLOAT), [C_JQ] = J("J_q", QL_INT),    [C_JOK] = J("J_ok", QL_BOOL),
};
static const struct ql_schema schema = {columns, NCOLS};

#define NEV 5000
static struct rootio_column cols[NCOLS];
static double x[NEV], y[NEV];
static float fl[NEV];
static int64_t k[NEV], kk[NEV], off[NEV + 1];
static int32_t i32[NEV], nj[NEV];
static uint8_t b[NEV];
static float *jpt;
static double *jeta;
static int32_t *jq;
static uint8_t *jok;

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double uniform(double lo, double hi)
{
	return lo + (hi - lo) * (double)(next() >> 11) / 9007199254740992.0;
}

/* A number, now and then one of the special values. */
static double number(void)
{
	static const double special[] = {0.0, -0.0, NAN, INFINITY, -INFINITY, 1e308, -1e-310, 3.0, 1.5};
	return next() % 10 == 0 ? special[next() % 9] : uniform(-100, 200);
}

static int64_t integer(void)
{
	static const int64_t special[] = {0, -1, 1, INT64_MAX, INT64_MIN, 3, 7};
	return next() % 8 == 0 ? special[next() % 7] : (int64_t)(next() % 41) - 20;
}

static void make_data(void)
{
	size_t total = 0;
	off[0] = 0;
	for (int e = 0; e < NEV; e++) {
		nj[e] = (int32_t)(next() % 5 == 0 ? 0 : next() % 7);
		total += (size_t)nj[e];
		off[e + 1] = (int64_t)total;
	}
	jpt = malloc(total * sizeof(*jpt) + 8);
	jeta = malloc(total * sizeof(*jeta) + 8);
	jq = malloc(total * sizeof(*jq) + 8);
	jok = malloc(total + 8);
	for (size_t i = 0; i < total; i++) {
		jpt[i] = (float)(next() % 16 == 0 ? number() : uniform(0, 120));
		jeta[i] = next() % 16 == 0 ? number() : uniform(-3, 3);
		jq[i] = (int32_t)integer();
		jok[i] = next() % 2;
	}
	for (int e = 0; e < NEV; e++) {
		x[e] = number();
		y[e] = number();
		fl[e] = (float)number();
		k[e] = integer();
		kk[e] = integer();
		i32[e] = (int32_t)integer();
		b[e] = next() % 2;
	}
	struct {
		int c;
		enum rootio_type t;
		void *v;
		bool jag;
	} d[] = {{C_X, ROOTIO_F64, x, 0},    {C_Y, ROOTIO_F64, y, 0},       {C_FL, ROOTIO_F32, fl, 0},
		 {C_K, ROOTIO_I64, k, 0},    {C_KK, ROOTIO_I64, kk, 0},     {C_I32, ROOTIO_I32, i32, 0},
		 {C_B, ROOTIO_BOOL, b, 0},   {C_NJ, ROOTIO_I32, nj, 0},     {C_JPT, ROOTIO_F32, jpt, 1},
		 {C_JETA, ROOTIO_F64, jeta, 1}, {C_JQ, ROOTIO_I32, jq, 1},   {C_JOK, ROOTIO_BOOL, jok, 1}};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		cols[d[i].c] = (struct rootio_column){.type = d[i].t, .first = 0, .nentries = NEV,
						      .nvalues = d[i].jag ? total : NEV, .values = d[i].v,
						      .offsets = d[i].jag ? off : NULL};
}

struct run {
	struct gpu_ctx *g; /* where the nodes went (NULL: the CPU) */
	struct ql_query *q;
	struct eval_prog *p;
	struct eval_state *s;
};

/* The CPU's run and the device's, closed together. */
static void runs_close(struct run *c, struct run *d)
{
	struct run *both[2] = {c, d};
	for (int i = 0; i < 2; i++) {
		eval_state_free(both[i]->s);
		eval_prog_free(both[i]->p);
		ql_free(both[i]->q);
		memset(both[i], 0, sizeof(*both[i]));
	}
}

/* text compiled and run over the columns, on g (NULL: the CPU); 0 or -1. */
static int run_query(const char *text, struct gpu_ctx *g, struct run *r)
{
	memset(r, 0, sizeof(*r));
	struct ql_error err;
	memset(&err, 0, sizeof(err));
	if (ql_parse(text, strlen(text), "t.query", &r->q, &err) || ql_check(r->q, &schema, &err) ||
	    eval_compile(r->q, &r->p) || eval_state_new(r->p, &r->s)) {
		check(0, "query refused: %s\n%s", text, err.text);
		return -1;
	}
	r->g = g;
	eval_set_gpu(r->s, g, 1);
	const struct rootio_column *cp[NCOLS];
	for (size_t i = 0; i < eval_ninputs(r->p); i++)
		cp[i] = &cols[eval_input_column(r->p, (size_t)i)];
	const char *why = NULL;
	int rc = eval_run(r->s, NEV, cp, &why);
	check(rc == 0, "eval_run: %d (%s): %s", rc, why ? why : "", text);
	return rc ? -1 : 0;
}

/* n doubles the same bits, or both NaN (any NaN: the device makes NaNs of
 * its own payload, which no comparison, bin or sum tells apart). */
static bool same_f64(const double *p, const double *q, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(&p[i], &q[i], 8) && !(isnan(p[i]) && isnan(q[i])))
			return false;
	return true;
}

/* Value i of a FLOAT val as a double: widened from its floats when it
 * holds only those (val.no_f64: the CPU's float32 path, off while a
 * device computes). */
static double widened(const struct val *v, size_t i)
{
	return v->no_f64 ? (double)v->f32[i] : ((const double *)v->data)[i];
}

static bool same_widened(const struct val *a, const struct val *v, size_t n)
{
	if (a->t != QL_FLOAT || (a->no_f64 && !a->f32) || (v->no_f64 && !v->f32))
		return false;
	for (size_t i = 0; i < n; i++) {
		double p = widened(a, i), q = widened(v, i);
		if (memcmp(&p, &q, 8) && !(isnan(p) && isnan(q)))
			return false;
	}
	return true;
}

/* Every node's values and validity, and every histogram, the same bits. */
static void same_values(const char *text, const struct run *c, const struct run *d)
{
	for (int i = 0; i < c->p->nnodes; i++) {
		const struct val *a = &c->s->vals[i], *v = &d->s->vals[i];
		size_t size = a->t == QL_BOOL ? 1 : 8;
		/* A literal may hold its first value only (eval_prog.lit_one); a
		 * float32 value only its floats (val.no_f64). */
		size_t n = a->is_const && a->n ? 1 : a->n;
		bool ok = a->t == v->t && a->n == v->n && a->has_valid == v->has_valid &&
			  (!n || (a->no_f64 || v->no_f64 ? same_widened(a, v, n)
				: a->t == QL_FLOAT ? same_f64(a->data, v->data, n)
						   : !memcmp(a->data, v->data, n * size))) &&
			  (!a->has_valid || !memcmp(a->valid, v->valid, NEV));
		check(ok, "node %d of \"%s\": the device's values differ from the CPU's", i, text);
		if (!ok)
			break;
	}
	for (size_t h = 0; h < eval_nhists(c->s); h++) {
		struct hist_raw ra, rb;
		bool ok = hist_raw(eval_hist(c->s, h), &ra) && hist_raw(eval_hist(d->s, h), &rb);
		size_t cells = 1;
		for (int a = 0; ok && a < ra.ndim; a++)
			cells *= (size_t)ra.nbins[a] + 2;
		ok = ok && *ra.entries == *rb.entries && *ra.skipped == *rb.skipped &&
		     (!ra.cnt || !memcmp(ra.cnt, rb.cnt, cells * sizeof(int64_t)));
		check(ok, "histogram %zu of \"%s\": the device's counts differ", h, text);
	}
}

/* Each expression: its define histogrammed (booleans through ?:). */
static const char *const exprs[] = {
	/* flat numbers */
	"x + y", "x - y", "x * y", "x / y", "x % y", "-x", "abs(x)", "sqrt(x)", "floor(x)", "ceil(x)",
	"min(x, y)", "max(x, y)", "delta_phi(x, y)", "x + 1.5", "2.5 * x - y / 3", "fl * x + fl",
	"k + 0.5", "x / 0.0", "i32 * 0.25", "b ? x : y", "(x > y) ? 1.5 : -1.5",
	/* flat integers */
	"k + kk", "k - kk", "k * kk", "k % kk", "k % 0", "-k", "abs(k)", "min(k, kk)", "max(k, i32)",
	"nJ + k", "b ? k : kk",
	/* comparisons and logic, flat */
	"x > y", "x == y", "x != 1.5", "x <= fl", "k < kk", "k >= 3", "k == x", "b && x > y",
	"b || k > 0", "!b", "!(x < y) && (k != kk || b)", "b == (k > 0)",
	/* lists */
	"J_pt * 2", "J_pt + x", "J_pt > x", "J_eta < 1.5", "abs(J_eta) < 2.4 && J_pt > 30",
	"J_ok || J_pt > 50", "!J_ok", "J_q * k", "J_q % 3", "J_ok ? J_pt : J_eta", "sqrt(J_pt)",
	"delta_phi(J_eta, x)", "min(J_pt, 40.0)", "b ? J_pt : 0.5", "J_q > k",
	/* reductions */
	"sum(J_pt)", "sum(J_q)", "sum(J_ok)", "sum(J_pt > 30)", "count(J_pt)", "len(J_q)",
	"min(J_pt)", "max(J_eta)", "min(J_q)", "max(J_q)", "min(J_ok)", "max(J_ok)", "any(J_ok)",
	"all(J_ok)", "any(J_pt > 100)", "all(J_eta > -2)",
	/* masks */
	"J_pt[J_pt > 30]", "J_q[J_ok]", "J_ok[J_pt > 20]", "sum(J_pt[J_eta > 0])",
	"J_eta[J_ok && J_pt > 10] * 2", "count(J_pt[abs(J_eta) < 2.4])",
	/* missing values */
	"J_pt[0] + x", "J_pt[1] > 10 && b", "J_pt[0] * J_eta[1]", "min(J_pt) + 1",
	"max(J_pt[J_pt > 1000]) - x", "J_q[0] + k", "b || J_pt[2] > 5", "b ? J_pt[0] + 1 : x",
	"sum(J_pt[J_pt > 30]) > 100 || min(J_q) < 0",
};

static bool is_bool(const struct eval_prog *p)
{
	return p->nhists > 0 && p->hists[0]->expr[0]->type == QL_BOOL;
}

static void test_exprs(struct gpu_ctx *g)
{
	for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text), "dataset t.root\ndefine e = %s\nhist h = e bins=20 range=-50,150\n",
			 exprs[i]);
		struct run c = {0}, d = {0};
		if (run_query(text, NULL, &c)) {
			runs_close(&c, &d);
			continue;
		}
		if (is_bool(c.p)) { /* booleans are histogrammed as numbers */
			runs_close(&c, &d);
			snprintf(text, sizeof(text),
				 "dataset t.root\ndefine e = %s\nhist h = e ? 1.5 : 0.5 bins=2 range=0,2\n", exprs[i]);
			if (run_query(text, NULL, &c)) {
				runs_close(&c, &d);
				continue;
			}
		}
		if (run_query(text, g, &d) == 0) {
			same_values(exprs[i], &c, &d);
			check(eval_gpu_nodes(d.s) > 0, "\"%s\": no node ran on the device", exprs[i]);
			check(eval_gpu_failed(d.s) == 0, "\"%s\": the device failed: %d", exprs[i],
			      eval_gpu_failed(d.s));
		}
		runs_close(&c, &d);
	}
}

/* Nodes whose libm result the device could round otherwise stay on the
 * CPU (and the values stay the CPU's). */
static void test_cpu_only(struct gpu_ctx *g)
{
	static const char *const cpu[] = {"exp(x)", "log(x)", "sin(x)", "cos(J_eta)", "tan(x)",
					  "x ** 2", "pow(x, y)", "hypot(x, y)", "atan2(x, y)",
					  "sinh(x)", "tanh(J_eta)"};
	for (size_t i = 0; i < sizeof(cpu) / sizeof(cpu[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), "dataset t.root\ndefine e = %s\nhist h = e bins=20 range=-5,5\n", cpu[i]);
		struct run c = {0}, d = {0};
		if (!run_query(text, NULL, &c) && !run_query(text, g, &d))
			same_values(cpu[i], &c, &d);
		/* the fill may go to the device; no node may */
		check(d.s && eval_gpu_nodes(d.s) == 0, "\"%s\": ran on the device", cpu[i]);
		runs_close(&c, &d);
	}
}

/* A device that fails: the nodes fall back, the values are the CPU's. */
static void test_fault(void)
{
	setenv("ANAFS_GPU_FAULT", "oom", 1);
	struct gpu_ctx *g;
	check(gpu_ctx_open(0, &g) == 0, "gpu_ctx_open with a fault");
	unsetenv("ANAFS_GPU_FAULT");
	const char *text = "dataset t.root\n"
			   "define good = J_pt > 30 && abs(J_eta) < 2.4\n"
			   "hist h = J_pt[good] bins=20 range=0,150\nhist n = sum(good) bins=8 range=0,8\n";
	struct run c = {0}, d = {0};
	if (!run_query(text, NULL, &c) && !run_query(text, g, &d)) {
		same_values("fault", &c, &d);
		check(eval_gpu_failed(d.s) == -ENOMEM, "the fault shows: %d", eval_gpu_failed(d.s));
		check(eval_gpu_nodes(d.s) == 0, "no node on a failed device");
	}
	runs_close(&c, &d);
	gpu_ctx_close(g);
}

static void test_args(struct gpu_ctx *g)
{
	double v[4] = {1, 2, 3, 4}, o[4];
	int64_t offs[3] = {0, 2, 4}, io[2];
	struct gpu_operand a[3] = {{GPU_VT_F64, v, false, false}, {GPU_VT_F64, v, false, false},
				   {GPU_VT_F64, v, true, false}};
	check(gpu_eval_map(g, GPU_OP_COUNT_, GPU_VT_F64, a, 2, 4, o) == -EINVAL, "a bad op");
	check(gpu_eval_map(g, GPU_OP_ADD, GPU_VT_F64, a, 3, 4, o) == -EINVAL, "too many arguments");
	check(gpu_eval_map(g, GPU_OP_SQRT, GPU_VT_I64, a, 1, 4, o) == -EINVAL, "sqrt of integers");
	check(gpu_eval_map(g, GPU_OP_AND, GPU_VT_F64, a, 2, 4, o) == -EINVAL, "&& of numbers");
	check(gpu_eval_map(g, GPU_OP_ADD, GPU_VT_F64, a + 1, 2, 4, o) == 0 && o[3] == 5, "x + scalar");
	check(gpu_eval_reduce(g, GPU_RED_ANY, GPU_VT_F64, v, offs, 2, io) == -EINVAL, "any of numbers");
	check(gpu_eval_reduce(g, GPU_RED_SUM, GPU_VT_F64, v, offs, 2, o) == 0 && o[0] == 3 && o[1] == 7,
	      "sums");
	uint8_t keep[4] = {1, 0, 0, 1};
	int64_t noff[3];
	size_t kept;
	check(gpu_eval_mask(g, 4, v, keep, offs, 2, o, noff, &kept) == -EINVAL, "a bad size");
	check(gpu_eval_mask(g, 8, v, keep, offs, 2, o, noff, &kept) == 0 && kept == 2 && o[1] == 4 &&
	      noff[1] == 1 && noff[2] == 2, "a mask");
	struct gpu_traffic t;
	gpu_ctx_traffic(g, &t);
	check(t.ops >= 3 && t.to_dev > 0 && t.from_dev > 0, "traffic counted");
}

/* Within an epoch a result or a stable argument is not sent again; a new
 * epoch sends it again. */
static void test_residency(struct gpu_ctx *g)
{
	double v[4] = {1, 2, 3, 4}, o1[4], o2[4];
	struct gpu_traffic t0, t1, t2;
	gpu_eval_epoch(g, 12345);
	struct gpu_operand a[2] = {{GPU_VT_F64, v, false, true}, {GPU_VT_F64, v, false, true}};
	check(gpu_eval_map(g, GPU_OP_ADD, GPU_VT_F64, a, 2, 4, o1) == 0 && o1[3] == 8, "v + v");
	gpu_ctx_traffic(g, &t0);
	struct gpu_operand p2[2] = {{GPU_VT_F64, o1, false, true}, {GPU_VT_F64, v, false, true}};
	check(gpu_eval_map(g, GPU_OP_MUL, GPU_VT_F64, p2, 2, 4, o2) == 0 && o2[3] == 32, "(v + v) * v");
	gpu_ctx_traffic(g, &t1);
	check(t1.to_dev == t0.to_dev, "a result and a stable argument are not sent again (%llu bytes)",
	      (unsigned long long)(t1.to_dev - t0.to_dev));
	gpu_eval_epoch(g, 12346);
	v[3] = 5;
	o1[3] = 10; /* as if the host computed them again */
	check(gpu_eval_map(g, GPU_OP_MUL, GPU_VT_F64, p2, 2, 4, o2) == 0 && o2[3] == 50,
	      "a new epoch reads the host's values");
	gpu_ctx_traffic(g, &t2);
	check(t2.to_dev - t1.to_dev == 64, "a new epoch sends them again");
	gpu_eval_epoch(g, 0);
}

/* The same host buffers holding other values in the next batch, and
 * values cut down in place at a filter: no copy the device kept may
 * outlive them. */
static void test_batches(struct gpu_ctx *g)
{
	const char *text = "dataset t.root\n"
			   "define good = J_pt > 20 && abs(J_eta) < 2\n"
			   "define s = sum(J_pt[good]) + x\n"
			   "hist a = s bins=30 range=-50,250\n"
			   "filter f: k > 0\n"
			   "define t = J_pt[good] * 2 - x\n"
			   "hist b = t bins=30 range=-200,300\n"
			   "hist c = sum(good) + min(J_q) bins=20 range=-20,20\n"
			   "filter f2: x < 100\n"
			   "hist d = (J_pt[J_ok] + x) / 2 bins=30 range=-100,200\n";
	struct run c = {0}, d = {0};
	if (!run_query(text, NULL, &c) && !run_query(text, g, &d)) {
		for (int round = 0; round < 3; round++) { /* new values in the same buffers */
			for (int e = 0; e < NEV; e++) {
				x[e] = number();
				k[e] = integer();
			}
			for (int64_t i = 0; i < off[NEV]; i++)
				jpt[i] = (float)uniform(0, 120);
			const struct rootio_column *cp[NCOLS];
			for (size_t i = 0; i < eval_ninputs(c.p); i++)
				cp[i] = &cols[eval_input_column(c.p, i)];
			check(eval_run(c.s, NEV, cp, NULL) == 0 && eval_run(d.s, NEV, cp, NULL) == 0,
			      "the next batch runs");
		}
		same_values("batches", &c, &d);
		check(eval_gpu_nodes(d.s) > 0 && !eval_gpu_failed(d.s), "batches: on the device");
	}
	runs_close(&c, &d);
}

int main(int argc, char **argv)
{
	bool device = argc > 1 && !strcmp(argv[1], "--device");
	if (!device)
		setenv("ANAFS_GPU_EMULATE", "1", 1);
	if (gpu_device_count() == 0) {
		printf("test_gpu_eval: no device: skipped\n");
		return 77;
	}
	struct gpu_ctx *g;
	if (gpu_ctx_open(0, &g)) {
		fprintf(stderr, "test_gpu_eval: gpu_ctx_open failed\n");
		return 1;
	}
	printf("test_gpu_eval: on %s\n", gpu_ctx_name(g));
	make_data();
	test_args(g);
	test_residency(g);
	test_exprs(g);
	test_batches(g);
	test_cpu_only(g);
	gpu_ctx_close(g);
	test_fault();
	free(jpt);
	free(jeta);
	free(jq);
	free(jok);
	printf("test_gpu_eval: %d checks, %d failures\n", nchecks, failures);
	return failures ? 1 : 0;
}
