/* eval_gpu_ops.c — the program's nodes on the device: a node whose values
 * the device computes to the CPU's bit (gpu.h's ops: + - * / % of numbers
 * and integers, comparisons, && || ! without missing values, - abs sqrt
 * floor ceil min max delta_phi, ?: without missing values, the
 * reductions sum count len min max any all, masks of lists) goes to the
 * state's context when it computes at least the state's min_points
 * values; every other node (exp, log, trigonometry, pow, hypot, lookups,
 * random numbers, combinations, ...) stays on the CPU, whose libm the
 * device's math library does not match to the last bit.  Missing values
 * are joined on the host, as the CPU's kernels join them.  A device error
 * sends the node, and the rest of the task, back to the CPU. */
#include "eval_int.h"
#include "gpu.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

/* Epochs, unique in the process: a state's values between two changes in
 * place (a new batch, a cut at a filter) are one epoch, in which the
 * device keeps what it was sent and computed. */
static _Atomic uint64_t epochs;

static enum gpu_vt vt_of(enum ql_type t)
{
	return t == QL_BOOL ? GPU_VT_U8 : t == QL_FLOAT ? GPU_VT_F64 : GPU_VT_I64;
}

/* v as an argument of a node over list L (-1: per event) computed in ct:
 * a literal as one value, a per-event value under a list broadcast on the
 * host (eval_as_*(), scratch slot), else as stored (the kernel converts
 * as eval_as_*() do, and may keep it for the epoch: a node's values do
 * not change within it).  0, 1 when the device would convert in a way C
 * does not define (a number to an integer), or -ENOMEM. */
static int operand(struct eval_state *s, const struct val *v, int L, enum gpu_vt ct, int slot,
		   struct gpu_operand *o)
{
	enum gpu_vt t = vt_of(v->t);
	if ((ct == GPU_VT_I64 && t == GPU_VT_F64) || (ct == GPU_VT_U8 && t != GPU_VT_U8))
		return 1;
	if (v->is_const && v->n) {
		*o = (struct gpu_operand){t, v->data, true, false};
		return 0;
	}
	if (L >= 0 && !v->jagged) {
		const void *d = ct == GPU_VT_F64   ? (const void *)eval_as_f64(s, v, L, slot)
				: ct == GPU_VT_I64 ? (const void *)eval_as_i64(s, v, L, slot)
						   : (const void *)eval_as_u8(s, v, L, slot);
		if (!d)
			return -ENOMEM;
		*o = (struct gpu_operand){ct, d, false, false}; /* scratch: not kept */
		return 0;
	}
	*o = (struct gpu_operand){t, v->data, false, true};
	return 0;
}

/* A device error: the state's device off until the next eval_set_gpu();
 * a node the device does not compute (-EINVAL: a type or an arity gpu.h
 * refuses) only goes to the CPU. */
static int device_failed(struct eval_state *s, int rc)
{
	if (rc == -EINVAL)
		return 1;
	s->gpu_err = rc;
	s->gpu = NULL;
	return 1;
}

/* The gpu.h op of node n, or -1 when it stays on the CPU; *ct the type it
 * computes in. */
static int op_of(const struct ql_node *n, struct val **args, enum gpu_vt *ct)
{
	bool anyv = false;
	for (int i = 0; i < n->nargs && i < 3; i++)
		anyv |= args[i]->has_valid;
	bool fl = n->type == QL_FLOAT;
	*ct = vt_of(n->type);
	if (n->kind == QN_UNARY)
		return n->op == '!' ? GPU_OP_NOT : GPU_OP_NEG;
	if (n->kind == QN_COND)
		return anyv ? -1 : GPU_OP_COND;
	if (n->kind == QN_BINARY) {
		if (n->op == QB_AND || n->op == QB_OR)
			return anyv ? -1 : n->op == QB_AND ? GPU_OP_AND : GPU_OP_OR;
		if (n->op >= QB_EQ && n->op <= QB_GE) {
			*ct = args[0]->t == QL_FLOAT || args[1]->t == QL_FLOAT ? GPU_VT_F64 : GPU_VT_I64;
			return GPU_OP_EQ + (n->op - QB_EQ);
		}
		switch (n->op) {
		case QB_ADD: return GPU_OP_ADD;
		case QB_SUB: return GPU_OP_SUB;
		case QB_MUL: return GPU_OP_MUL;
		case QB_DIV: return fl ? GPU_OP_DIV : -1;
		case QB_MOD: return GPU_OP_MOD;
		default: return -1; /* pow: libm's */
		}
	}
	if (n->kind != QN_CALL)
		return -1;
	switch (n->op) {
	case QF_ABS: return GPU_OP_ABS;
	case QF_MIN2: return GPU_OP_MIN2;
	case QF_MAX2: return GPU_OP_MAX2;
	case QF_SQRT: return fl ? GPU_OP_SQRT : -1;
	case QF_FLOOR: return fl ? GPU_OP_FLOOR : -1;
	case QF_CEIL: return fl ? GPU_OP_CEIL : -1;
	case QF_DELTA_PHI: return fl ? GPU_OP_DELTA_PHI : -1;
	default: return -1;
	}
}

/* Value by value (eval_arith(), eval_compare(), ...). */
static int gpu_map(struct eval_state *s, const struct ql_node *n, struct val *out, struct val **args)
{
	enum gpu_vt ct;
	int op = op_of(n, args, &ct), L = n->jagged ? n->list : -1, rc;
	if (op < 0 || n->nargs > 3)
		return 1;
	size_t k = n->jagged ? eval_list_size(s, n->list) : (size_t)s->nev;
	if (k < s->gpu_min || !k)
		return 1;
	struct gpu_operand o[3];
	for (int i = 0; i < n->nargs; i++)
		if ((rc = operand(s, args[i], L, ct, i, &o[i])))
			return rc;
	if (eval_prepare(s, n, out))
		return -ENOMEM;
	if ((rc = gpu_eval_map(s->gpu, (enum gpu_op)op, ct, o, n->nargs, k, out->data)))
		return device_failed(s, rc);
	s->gpu_nodes++;
	return op == GPU_OP_AND || op == GPU_OP_OR || op == GPU_OP_COND
		       ? 0 /* no missing value among the arguments */
		       : eval_join_valid(s, out, args, n->nargs);
}

/* Per event over a list (eval_reduce()). */
static int gpu_reduce(struct eval_state *s, const struct ql_node *n, struct val *out, struct val *x)
{
	const int64_t *off = s->lists[x->list];
	size_t nev = (size_t)s->nev, total = (size_t)off[nev];
	int fn = n->op;
	enum gpu_red r;
	enum gpu_vt t = vt_of(x->t);
	switch (fn) {
	case QF_COUNT:
	case QF_LEN: r = GPU_RED_COUNT; break;
	case QF_ANY: r = GPU_RED_ANY; break;
	case QF_ALL: r = GPU_RED_ALL; break;
	case QF_SUM: r = GPU_RED_SUM; break;
	case QF_MIN: r = GPU_RED_MIN; break;
	case QF_MAX: r = GPU_RED_MAX; break;
	default: return 1;
	}
	bool typed = r == GPU_RED_COUNT || (r == GPU_RED_SUM && t == GPU_VT_U8 && n->type == QL_INT) ||
		     vt_of(n->type) == t;
	if (!typed || !x->jagged || (total > nev ? total : nev) < s->gpu_min || !nev)
		return 1;
	if (eval_prepare(s, n, out))
		return -ENOMEM;
	int rc = gpu_eval_reduce(s->gpu, r, t, x->data, off, nev, out->data);
	if (rc)
		return device_failed(s, rc);
	s->gpu_nodes++;
	if (eval_join_valid(s, out, &x, 1))
		return -ENOMEM;
	if (r != GPU_RED_MIN && r != GPU_RED_MAX)
		return 0;
	if (!out->has_valid && eval_set_valid(s, out)) /* min, max: missing for an empty list */
		return -ENOMEM;
	for (size_t e = 0; e < nev; e++)
		if (off[e + 1] == off[e])
			out->valid[e] = 0;
	return 0;
}

/* x[m] for a boolean list m (eval_mask()). */
static int gpu_mask(struct eval_state *s, const struct ql_node *n, struct val *out, struct val *x,
		    struct val *m)
{
	const int64_t *off = s->lists[x->list];
	int L = n->list;
	size_t nev = (size_t)s->nev, total = (size_t)off[nev], size = x->t == QL_BOOL ? 1 : 8, kept;
	if (out->borrowed || !m->jagged || m->t != QL_BOOL || (total > nev ? total : nev) < s->gpu_min ||
	    !nev)
		return 1;
	if (eval_reserve((void **)&s->lists[L], &s->list_cap[L], (nev + 1) * 8) ||
	    eval_reserve(&out->data, &out->cap, (total + 1) * size))
		return -ENOMEM;
	int rc = gpu_eval_mask(s->gpu, size, x->data, m->data, off, nev, out->data, s->lists[L], &kept);
	if (rc)
		return device_failed(s, rc);
	s->gpu_nodes++;
	s->list_ready[L] = true;
	out->t = n->type;
	out->jagged = true;
	out->list = L;
	out->n = kept;
	out->has_valid = false;
	out->is_const = false;
	struct val *args[2] = {x, m};
	return eval_join_valid(s, out, args, 2);
}

void eval_gpu_begin(struct eval_state *s)
{
	if (!s->gpu_epoch)
		s->gpu_epoch = atomic_fetch_add(&epochs, 1) + 1;
	gpu_eval_epoch(s->gpu, s->gpu_epoch);
}

int eval_gpu_node(struct eval_state *s, const struct ql_node *n, struct val *out, struct val **args)
{
	if (!s->gpu)
		return 1;
	eval_gpu_begin(s);
	switch (n->kind) {
	case QN_UNARY:
	case QN_BINARY:
	case QN_COND:
		return gpu_map(s, n, out, args);
	case QN_INDEX:
		return n->is_mask ? gpu_mask(s, n, out, args[0], args[1]) : 1;
	case QN_CALL:
		if (n->op >= QF_SUM && n->op <= QF_ALL)
			return gpu_reduce(s, n, out, args[0]);
		return n->op < QF_SUM ? gpu_map(s, n, out, args) : 1;
	default:
		return 1;
	}
}

uint64_t eval_gpu_nodes(const struct eval_state *s)
{
	return s->gpu_nodes;
}
