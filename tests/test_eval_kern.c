/* test_eval_kern.c — the evaluator's vectorized element loops against
 * their definitions written out one element at a time: every length
 * from 0 up past a few vector steps (so every tail), random masks and
 * masks that are all set or all clear, in place and not. */
#include "eval_int.h"

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

static void test_pack64(void)
{
	enum { MAX = 300 };
	static uint64_t x[MAX + 8], o[MAX + 8], in[MAX + 8], want[MAX + 8];
	static int64_t before[MAX + 1], wbefore[MAX + 1];
	static uint8_t keep[MAX + 8];
	for (size_t n = 0; n <= MAX; n += n < 40 ? 1 : 37)
		for (int kind = 0; kind < 4; kind++) {
			make_mask(keep, n, kind);
			for (size_t i = 0; i < n; i++)
				x[i] = next();
			size_t k = 0;
			for (size_t i = 0; i < n; i++) {
				want[k] = x[i];
				wbefore[i] = (int64_t)k;
				k += keep[i] != 0;
			}
			wbefore[n] = (int64_t)k;
			size_t got = eval_pack64(o, x, keep, n, before);
			check(got == k && !memcmp(o, want, k * 8) &&
				      !memcmp(before, wbefore, (n + 1) * sizeof(*before)),
			      "eval_pack64: %zu elements, mask kind %d: wrong elements or counts", n, kind);
			memcpy(in, x, n * 8);
			got = eval_pack64(in, in, keep, n, before);
			check(got == k && !memcmp(in, want, k * 8) &&
				      !memcmp(before, wbefore, (n + 1) * sizeof(*before)),
			      "eval_pack64 in place: %zu elements, mask kind %d: wrong elements", n, kind);
		}
}

static void test_count_run(void)
{
	enum { MAX = 300 };
	static int64_t run[MAX + 1], want[MAX + 1];
	static uint8_t v[MAX + 8];
	for (size_t n = 0; n <= MAX; n += n < 40 ? 1 : 37)
		for (int kind = 0; kind < 3; kind++) {
			make_mask(v, n, kind);
			want[0] = 0;
			for (size_t i = 0; i < n; i++)
				want[i + 1] = want[i] + v[i];
			int64_t got = eval_count_run(run, v, n);
			check(got == want[n] && !memcmp(run, want, (n + 1) * sizeof(*run)),
			      "eval_count_run: %zu elements, mask kind %d: wrong running counts", n, kind);
		}
}

int main(void)
{
	test_pack64();
	test_count_run();
	printf("%d checks, %d failures\n", nchecks, failures);
	return failures != 0;
}
