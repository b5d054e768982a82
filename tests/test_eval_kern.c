/* test_eval_kern.c — the evaluator's vectorized element loops against
 * their definitions written out one element at a time: every length
 * from 0 up past a few vector steps (so every tail), random masks and
 * masks that are all set or all clear, in place and not. */
#include "eval_int.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A mask of n bytes: kind 0 random (bytes 0 or 1), 1 all set, 2 none,
 * 3 random with other nonzero bytes (a mask keeps where a byte is not 0). */
static void make_mask(uint8_t *m, size_t n, int kind)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t u = next();
		m[i] = kind == 1 ? 1 : kind == 2 ? 0 : kind == 0 ? (uint8_t)(u & 1) : (uint8_t)(u % 3 ? u >> 8 : 0);
	}
}

/* eval_pack64 (w 8) or eval_pack32 (w 4) over n elements of w bytes. */
static size_t pack(int w, void *o, const void *x, const uint8_t *keep, size_t n, int64_t *before)
{
	return w == 8 ? eval_pack64(o, x, keep, n, before) : eval_pack32(o, x, keep, n, before);
}

/* The packs of elements of w bytes, any bits (NaNs are moved, never
 * computed), against the element-by-element definition. */
static void test_pack(int w)
{
	enum { MAX = 300 };
	static uint64_t x[MAX + 8], o[MAX + 8], in[MAX + 8], want[MAX + 8];
	static int64_t before[MAX + 1], wbefore[MAX + 1];
	static uint8_t keep[MAX + 8];
	const size_t ws = (size_t)w;
	for (size_t n = 0; n <= MAX; n += n < 40 ? 1 : 37)
		for (int kind = 0; kind < 4; kind++) {
			make_mask(keep, n, kind);
			for (size_t i = 0; i < n; i++)
				x[i] = next();
			size_t k = 0;
			for (size_t i = 0; i < n; i++) {
				memcpy((char *)want + k * ws, (char *)x + i * ws, ws);
				wbefore[i] = (int64_t)k;
				k += keep[i] != 0;
			}
			wbefore[n] = (int64_t)k;
			size_t got = pack(w, o, x, keep, n, before);
			check(got == k && !memcmp(o, want, k * ws) &&
				      !memcmp(before, wbefore, (n + 1) * sizeof(*before)),
			      "pack of %d bytes: %zu elements, mask kind %d: wrong elements or counts", w, n,
			      kind);
			memcpy(in, x, n * ws);
			got = pack(w, in, in, keep, n, before);
			check(got == k && !memcmp(in, want, k * ws) &&
				      !memcmp(before, wbefore, (n + 1) * sizeof(*before)),
			      "pack of %d bytes in place: %zu elements, mask kind %d: wrong elements", w, n,
			      kind);
		}
}

/* Comparisons of floats with doubles, made on the floats: against the
 * comparison of the widened floats, for constants that are floats and
 * that are not, either side of every edge of the floats' range. */
static void test_compare_f32(void)
{
	static const double cs[] = {
		0, -0.0, 30, 2.4, -2.4, 0.1, 1e-45, -1e-45, 1.4e-45, 1e-40, 3.4028234663852886e38,
		3.4028235e38, 3.5e38, 1e39, -1e39, INFINITY, -INFINITY, NAN, 16777217.0, 1e300,
		-1e300, 5e-324, 1.0000000000000002, 0.99999999999999989,
	};
	enum { NX = 64 };
	float x[NX + 8];
	uint8_t got[NX + 8], want[NX + 8];
	for (size_t ci = 0; ci < sizeof(cs) / sizeof(cs[0]); ci++) {
		double c = cs[ci];
		float f = (float)(c > 3.4e38 ? 3.4e38 : c < -3.4e38 ? -3.4e38 : c);
		size_t n = 0;
		float near[] = {f, nextafterf(f, INFINITY), nextafterf(f, -INFINITY),
				nextafterf(nextafterf(f, INFINITY), INFINITY),
				nextafterf(nextafterf(f, -INFINITY), -INFINITY), -f, 0.0f, -0.0f,
				INFINITY, -INFINITY, NAN, FLT_MAX, -FLT_MAX, FLT_MIN, 1e-45f, -1e-45f};
		for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++)
			x[n++] = near[i];
		while (n < NX) {
			uint32_t u = (uint32_t)next();
			memcpy(&x[n++], &u, 4);
		}
		for (int op = QB_EQ; op <= QB_GE; op++) {
			for (size_t i = 0; i < NX; i++) {
				double d = x[i];
				want[i] = op == QB_EQ ? d == c : op == QB_NE ? d != c : op == QB_LT ? d < c
					  : op == QB_LE ? d <= c : op == QB_GT ? d > c : d >= c;
			}
			eval_compare_f32(got, x, NX, op, c);
			size_t bad = 0;
			while (bad < NX && got[bad] == want[bad])
				bad++;
			check(bad == NX, "eval_compare_f32: op %d, constant %.17g: float %.9g compares %d, not %d",
			      op, c, bad < NX ? (double)x[bad] : 0.0, bad < NX ? got[bad] : 0,
			      bad < NX ? want[bad] : 0);
		}
	}
}

/* Integers to doubles, the fast way where every value is small, against
 * the conversion one by one; arrays with one value past 2^51 anywhere. */
static void test_i64_to_f64(void)
{
	enum { N = 67 };
	static const int64_t edge[] = {0, 1, -1, ((int64_t)1 << 51) - 1, -((int64_t)1 << 51),
				       (int64_t)1 << 51, -((int64_t)1 << 51) - 1, INT64_MAX, INT64_MIN,
				       ((int64_t)1 << 53) + 1, 12345678901234567};
	int64_t x[N];
	double got[N];
	for (size_t e = 0; e < sizeof(edge) / sizeof(edge[0]); e++)
		for (size_t at = 0; at < N; at += 13) {
			for (size_t i = 0; i < N; i++)
				x[i] = (int64_t)(next() % 2000001) - 1000000;
			x[at] = edge[e];
			x[N - 1 - at / 2] = edge[(e + 3) % (sizeof(edge) / sizeof(edge[0]))];
			for (size_t n = 0; n <= N; n += n < 9 ? 1 : 29) {
				eval_i64_to_f64(got, x, n);
				size_t bad = 0;
				while (bad < n && memcmp(&got[bad], &(double){(double)x[bad]}, 8) == 0)
					bad++;
				check(bad == n, "eval_i64_to_f64: %zu values: %lld gives %.17g", n,
				      bad < n ? (long long)x[bad] : 0LL, bad < n ? got[bad] : 0.0);
			}
		}
}

/* delta_phi without fmod for the angles of every day, against its
 * definition with fmod, bit for bit: differences at and beside 0, +-pi,
 * +-2 pi, +-3 pi, +-4 pi, huge ones, infinities and NaN. */
static void test_delta_phi(void)
{
	static const double at[] = {0, M_PI, -M_PI, 2 * M_PI, -2 * M_PI, 3 * M_PI, -3 * M_PI,
				    4 * M_PI, -4 * M_PI, 5 * M_PI, -5 * M_PI, 1e300, -1e300};
	size_t bad = 0, n = 0;
	double worst = 0;
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]) + 2000; i++) {
		double t = i < sizeof(at) / sizeof(at[0]) ? at[i]
			   : ((double)(next() >> 11) / 9007199254740992.0 - 0.5) * 30;
		double ts[] = {t, nextafter(t, INFINITY), nextafter(t, -INFINITY)};
		for (int k = 0; k < 3; k++)
			for (int side = 0; side < 2; side++) {
				/* a - b + pi = ts[k] - pi + pi ... keep b = 0, a = t - pi too */
				double a = side ? ts[k] : ts[k] - M_PI, b = side ? M_PI : 0;
				double d = fmod(a - b + M_PI, 2 * M_PI);
				if (d < 0)
					d += 2 * M_PI;
				double want = d - M_PI, got = eval_delta_phi(a, b);
				n++;
				if (memcmp(&want, &got, 8) && !(want != want && got != got)) {
					bad++;
					worst = a;
				}
			}
	}
	double sp[][2] = {{INFINITY, 0}, {-INFINITY, 1}, {NAN, 0}, {0, NAN}, {1e308, -1e308}};
	for (size_t i = 0; i < sizeof(sp) / sizeof(sp[0]); i++) {
		double got = eval_delta_phi(sp[i][0], sp[i][1]);
		n++;
		bad += got == got; /* NaN for each */
	}
	check(bad == 0, "eval_delta_phi: %zu of %zu differ from fmod's, e.g. at a = %.17g", bad, n,
	      worst);
}

int main(void)
{
	test_delta_phi();
	test_i64_to_f64();
	test_compare_f32();
	test_pack(8);
	test_pack(4);
	printf("%d checks, %d failures\n", nchecks, failures);
	return failures != 0;
}
