/* gpu_ekern.h — the evaluation kernels' logic (gpu_eval()), one copy for
 * both sides as gpu_kern.h: per value, per event or per chunk of events,
 * __host__ __device__ under nvcc, static inline in C.  Every formula is
 * exec/eval's (eval_ops.c) in the same order, and uses only operations
 * that IEEE 754 rounds exactly on both sides (+ - * / sqrt fmod floor ceil
 * fabs, compares, integer wrap-around, conversions): the .cu files build
 * with --fmad=false, so the device's values are the CPU's to the bit.
 * Private to gpu/. */
#ifndef ANAFS_GPU_EKERN_H
#define ANAFS_GPU_EKERN_H

#include "gpu.h"
#include "gpu_kern.h"

#include <math.h>

/* Events a thread of a list mask handles, in order. */
#define GPU_K_MASK_CHUNK 32

/* pi as eval_ops.c has it (M_PI), here for nvcc and strict C alike. */
#define GPU_K_PI 3.14159265358979323846

/* Value i of operand o as double / int64 / uint8: the C conversions the
 * evaluator's eval_as_f64() etc. make. */
GPU_FN double gpu_k_f64(const struct gpu_operand *o, size_t i)
{
	size_t j = o->scalar ? 0 : i;
	return o->t == GPU_VT_F64   ? ((const double *)o->data)[j]
	       : o->t == GPU_VT_I64 ? (double)((const int64_t *)o->data)[j]
				    : (double)((const uint8_t *)o->data)[j];
}

GPU_FN int64_t gpu_k_i64(const struct gpu_operand *o, size_t i)
{
	size_t j = o->scalar ? 0 : i;
	return o->t == GPU_VT_F64   ? (int64_t)((const double *)o->data)[j]
	       : o->t == GPU_VT_I64 ? ((const int64_t *)o->data)[j]
				    : (int64_t)((const uint8_t *)o->data)[j];
}

GPU_FN uint8_t gpu_k_u8(const struct gpu_operand *o, size_t i)
{
	size_t j = o->scalar ? 0 : i;
	return o->t == GPU_VT_F64   ? (uint8_t)((const double *)o->data)[j]
	       : o->t == GPU_VT_I64 ? (uint8_t)((const int64_t *)o->data)[j]
				    : ((const uint8_t *)o->data)[j];
}

GPU_FN int64_t gpu_k_wrap(uint64_t v)
{
	return (int64_t)v;
}

/* eval_nan_min/max and eval_delta_phi. */
GPU_FN double gpu_k_nan_min(double a, double b)
{
	return a != a || b != b ? (double)NAN : a < b ? a : b;
}

GPU_FN double gpu_k_nan_max(double a, double b)
{
	return a != a || b != b ? (double)NAN : a > b ? a : b;
}

GPU_FN double gpu_k_delta_phi(double a, double b)
{
	double d = fmod(a - b + GPU_K_PI, 2 * GPU_K_PI);
	if (d < 0)
		d += 2 * GPU_K_PI;
	return d - GPU_K_PI;
}

/* Value i of op over args a[0..) computed in ct, into out (ct's storage, or
 * uint8 for comparisons and logic). */
GPU_FN void gpu_k_map(int op, int ct, const struct gpu_operand *a, size_t i, void *out)
{
	if (op >= GPU_OP_EQ && op <= GPU_OP_GE) {
		int r;
		if (ct == GPU_VT_F64) {
			double x = gpu_k_f64(&a[0], i), y = gpu_k_f64(&a[1], i);
			r = op == GPU_OP_EQ ? x == y : op == GPU_OP_NE ? x != y : op == GPU_OP_LT ? x < y
			  : op == GPU_OP_LE ? x <= y : op == GPU_OP_GT ? x > y : x >= y;
		} else {
			int64_t x = gpu_k_i64(&a[0], i), y = gpu_k_i64(&a[1], i);
			r = op == GPU_OP_EQ ? x == y : op == GPU_OP_NE ? x != y : op == GPU_OP_LT ? x < y
			  : op == GPU_OP_LE ? x <= y : op == GPU_OP_GT ? x > y : x >= y;
		}
		((uint8_t *)out)[i] = (uint8_t)r;
		return;
	}
	if (op == GPU_OP_AND || op == GPU_OP_OR || op == GPU_OP_NOT) {
		uint8_t x = gpu_k_u8(&a[0], i);
		((uint8_t *)out)[i] = op == GPU_OP_NOT ? !x
				      : op == GPU_OP_AND ? (uint8_t)(x & gpu_k_u8(&a[1], i))
							 : (uint8_t)(x | gpu_k_u8(&a[1], i));
		return;
	}
	if (op == GPU_OP_COND) {
		uint8_t c = gpu_k_u8(&a[0], i);
		if (ct == GPU_VT_F64)
			((double *)out)[i] = c ? gpu_k_f64(&a[1], i) : gpu_k_f64(&a[2], i);
		else if (ct == GPU_VT_I64)
			((int64_t *)out)[i] = c ? gpu_k_i64(&a[1], i) : gpu_k_i64(&a[2], i);
		else
			((uint8_t *)out)[i] = c ? gpu_k_u8(&a[1], i) : gpu_k_u8(&a[2], i);
		return;
	}
	if (ct == GPU_VT_I64) {
		int64_t x = gpu_k_i64(&a[0], i), y = op >= GPU_OP_ADD && op <= GPU_OP_MOD ? gpu_k_i64(&a[1], i)
					       : op == GPU_OP_MIN2 || op == GPU_OP_MAX2 ? gpu_k_i64(&a[1], i) : 0;
		int64_t r;
		switch (op) {
		case GPU_OP_ADD: r = gpu_k_wrap((uint64_t)x + (uint64_t)y); break;
		case GPU_OP_SUB: r = gpu_k_wrap((uint64_t)x - (uint64_t)y); break;
		case GPU_OP_MUL: r = gpu_k_wrap((uint64_t)x * (uint64_t)y); break;
		case GPU_OP_MOD: r = y == 0 || y == -1 ? 0 : x % y; break;
		case GPU_OP_NEG: r = gpu_k_wrap(0 - (uint64_t)x); break;
		case GPU_OP_ABS: r = x < 0 ? gpu_k_wrap(0 - (uint64_t)x) : x; break;
		case GPU_OP_MIN2: r = x < y ? x : y; break;
		default: r = x > y ? x : y; break; /* GPU_OP_MAX2 */
		}
		((int64_t *)out)[i] = r;
		return;
	}
	double x = gpu_k_f64(&a[0], i), y = 0, r;
	if ((op >= GPU_OP_ADD && op <= GPU_OP_MOD) || op == GPU_OP_MIN2 || op == GPU_OP_MAX2 ||
	    op == GPU_OP_DELTA_PHI)
		y = gpu_k_f64(&a[1], i);
	switch (op) {
	case GPU_OP_ADD: r = x + y; break;
	case GPU_OP_SUB: r = x - y; break;
	case GPU_OP_MUL: r = x * y; break;
	case GPU_OP_DIV: r = x / y; break;
	case GPU_OP_MOD: r = fmod(x, y); break;
	case GPU_OP_NEG: r = -x; break;
	case GPU_OP_ABS: r = fabs(x); break;
	case GPU_OP_SQRT: r = sqrt(x); break;
	case GPU_OP_FLOOR: r = floor(x); break;
	case GPU_OP_CEIL: r = ceil(x); break;
	case GPU_OP_MIN2: r = gpu_k_nan_min(x, y); break;
	case GPU_OP_MAX2: r = gpu_k_nan_max(x, y); break;
	default: r = gpu_k_delta_phi(x, y); break; /* GPU_OP_DELTA_PHI */
	}
	((double *)out)[i] = r;
}

/* Event e's reduction of x[off[e]..off[e+1]) (type t) into out[e]:
 * eval_reduce()'s loops, element by element in order (a floating sum too,
 * so its bits are the CPU's).  An empty list gives 0 (1 for all). */
GPU_FN void gpu_k_reduce_event(int r, int t, const void *x, const int64_t *off, size_t e, void *out)
{
	int64_t lo = off[e], hi = off[e + 1];
	if (r == GPU_RED_COUNT) {
		((int64_t *)out)[e] = hi - lo;
		return;
	}
	if (t == GPU_VT_U8) {
		const uint8_t *v = (const uint8_t *)x;
		if (r == GPU_RED_SUM) { /* sum of a mask: a count */
			int64_t k = 0;
			for (int64_t i = lo; i < hi; i++)
				k += v[i];
			((int64_t *)out)[e] = k;
			return;
		}
		bool all = r == GPU_RED_ALL || r == GPU_RED_MIN;
		uint8_t a = lo < hi && (r == GPU_RED_MIN || r == GPU_RED_MAX) ? v[lo] : (uint8_t)all;
		for (int64_t i = lo; i < hi; i++)
			a = all ? (uint8_t)(a & v[i]) : (uint8_t)(a | v[i]);
		((uint8_t *)out)[e] = lo < hi || r == GPU_RED_ANY || r == GPU_RED_ALL ? a : 0;
		return;
	}
	if (t == GPU_VT_I64) {
		const int64_t *v = (const int64_t *)x;
		int64_t a = r == GPU_RED_SUM || lo == hi ? 0 : v[lo];
		for (int64_t i = r == GPU_RED_SUM ? lo : lo + 1; i < hi; i++)
			a = r == GPU_RED_SUM ? gpu_k_wrap((uint64_t)a + (uint64_t)v[i])
			  : r == GPU_RED_MAX ? (v[i] > a ? v[i] : a) : (v[i] < a ? v[i] : a);
		((int64_t *)out)[e] = a;
		return;
	}
	const double *v = (const double *)x;
	double a = r == GPU_RED_SUM || lo == hi ? 0 : v[lo];
	for (int64_t i = r == GPU_RED_SUM ? lo : lo + 1; i < hi; i++)
		a = r == GPU_RED_SUM ? a + v[i] : r == GPU_RED_MAX ? gpu_k_nan_max(a, v[i]) : gpu_k_nan_min(a, v[i]);
	((double *)out)[e] = a;
}

/* List masks, by chunks of GPU_K_MASK_CHUNK events: the elements of the
 * chunk's events kept, then (from the chunks' starts) its elements written
 * and its new offsets (noff[e + 1] for each of its events e). */
GPU_FN uint64_t gpu_k_mask_count(const uint8_t *keep, const int64_t *off, size_t from, size_t to)
{
	uint64_t k = 0;
	for (int64_t i = off[from]; i < off[to]; i++)
		k += keep[i] != 0;
	return k;
}

GPU_FN void gpu_k_mask_write(size_t size, const void *x, const uint8_t *keep, const int64_t *off,
			     size_t from, size_t to, uint64_t at, void *out, int64_t *noff)
{
	if (from == 0)
		noff[0] = 0;
	for (size_t e = from; e < to; e++) {
		for (int64_t i = off[e]; i < off[e + 1]; i++)
			if (keep[i]) {
				if (size == 8)
					((uint64_t *)out)[at] = ((const uint64_t *)x)[i];
				else
					((uint8_t *)out)[at] = ((const uint8_t *)x)[i];
				at++;
			}
		noff[e + 1] = (int64_t)at;
	}
}

#endif
