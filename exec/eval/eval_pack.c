/* eval_pack.c — the element loops of masks and counts over a batch's
 * lists, four elements a step with AVX2 where the CPU has it.
 *
 * A jagged mask (x[m]) keeps the elements of x where m is set, and
 * sum(m) counts them per event.  Element by element either is a chain of
 * dependent adds, a load, a store and a loop test per element (8 to 9
 * instructions); with AVX2 one table lookup gives, for four mask bytes,
 * the permutation that packs the kept elements to the front and the
 * counts before each, so a step of four costs about as much as one did.
 * Both ways give the same bytes: the scalar loops are the reference and
 * run where AVX2 is missing and for the last elements of a batch. */
#include "eval_int.h"

#include <string.h>

#if defined(__x86_64__) && !defined(ANAFS_NO_SIMD)
#define PACK_AVX2 1
#include <immintrin.h>
#endif

/* The scalar loops: write every element, advance past the kept ones. */
static size_t pack64_scalar(uint64_t *o, const uint64_t *x, const uint8_t *keep, size_t from,
			    size_t n, size_t k, int64_t *before)
{
	for (size_t i = from; i < n; i++) {
		o[k] = x[i];
		before[i] = (int64_t)k;
		k += keep[i] != 0;
	}
	return k;
}

static int64_t count_scalar(int64_t *run, const uint8_t *v, size_t from, size_t n, int64_t k)
{
	for (size_t i = from; i < n; i++) {
		run[i] = k;
		k += v[i] != 0;
	}
	return k;
}

#ifdef PACK_AVX2
/* Per 4-bit mask of kept lanes: the 32-bit lane indices that move the
 * kept 64-bit lanes to the front, and the kept lanes before each lane. */
static int32_t pack_perm[16][8];
static int64_t pack_before[16][4];
static int pack_cpu = -1; /* 1: AVX2 tables ready; 0: scalar only */

static void pack_init(void)
{
	for (int m = 0; m < 16; m++) {
		int k = 0;
		for (int j = 0; j < 4; j++) {
			pack_before[m][j] = k;
			if (m >> j & 1) {
				pack_perm[m][2 * k] = 2 * j;
				pack_perm[m][2 * k + 1] = 2 * j + 1;
				k++;
			}
		}
		for (int j = 2 * k; j < 8; j++)
			pack_perm[m][j] = 0;
	}
}

static bool pack_avx2(void)
{
	int c = __atomic_load_n(&pack_cpu, __ATOMIC_ACQUIRE);
	if (c < 0) {
		__builtin_cpu_init();
		c = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt") ? 1 : 0;
		if (c)
			pack_init(); /* the same tables whichever thread writes them */
		__atomic_store_n(&pack_cpu, c, __ATOMIC_RELEASE);
	}
	return c == 1;
}

/* Bit j set where byte j of the eight at p is not 0. */
__attribute__((target("avx2,popcnt"))) static inline unsigned nonzero8(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	__m128i b = _mm_cvtsi64_si128((long long)w);
	return ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, _mm_setzero_si128())) & 0xff;
}

__attribute__((target("avx2,popcnt"))) static size_t pack64_avx2(uint64_t *o, const uint64_t *x,
							   const uint8_t *keep, size_t n,
							   int64_t *before, size_t *done)
{
	size_t k = 0, i = 0;
	for (; i + 8 <= n; i += 8) {
		unsigned m8 = nonzero8(keep + i);
		for (int h = 0; h < 2; h++) {
			unsigned m = m8 >> (4 * h) & 15;
			size_t at = i + 4 * (size_t)h;
			__m256i v = _mm256_loadu_si256((const __m256i *)(x + at));
			__m256i p = _mm256_loadu_si256((const __m256i *)pack_perm[m]);
			__m256i b = _mm256_loadu_si256((const __m256i *)pack_before[m]);
			/* k <= at: the store reaches no element not yet loaded. */
			_mm256_storeu_si256((__m256i *)(o + k), _mm256_permutevar8x32_epi32(v, p));
			_mm256_storeu_si256((__m256i *)(before + at),
					    _mm256_add_epi64(b, _mm256_set1_epi64x((long long)k)));
			k += (size_t)__builtin_popcount(m);
		}
	}
	*done = i;
	return k;
}

__attribute__((target("avx2,popcnt"))) static int64_t count_avx2(int64_t *run, const uint8_t *v, size_t n,
							   size_t *done)
{
	int64_t k = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		unsigned m8 = nonzero8(v + i);
		__m256i lo = _mm256_loadu_si256((const __m256i *)pack_before[m8 & 15]);
		__m256i hi = _mm256_loadu_si256((const __m256i *)pack_before[m8 >> 4]);
		int64_t k2 = k + __builtin_popcount(m8 & 15);
		_mm256_storeu_si256((__m256i *)(run + i), _mm256_add_epi64(lo, _mm256_set1_epi64x(k)));
		_mm256_storeu_si256((__m256i *)(run + i + 4), _mm256_add_epi64(hi, _mm256_set1_epi64x(k2)));
		k = k2 + __builtin_popcount(m8 >> 4);
	}
	*done = i;
	return k;
}
#endif

size_t eval_pack64(uint64_t *o, const uint64_t *x, const uint8_t *keep, size_t n, int64_t *before)
{
	size_t k = 0, i = 0;
#ifdef PACK_AVX2
	if (pack_avx2())
		k = pack64_avx2(o, x, keep, n, before, &i);
#endif
	k = pack64_scalar(o, x, keep, i, n, k, before);
	before[n] = (int64_t)k;
	return k;
}

int64_t eval_count_run(int64_t *run, const uint8_t *v, size_t n)
{
	int64_t k = 0;
	size_t i = 0;
#ifdef PACK_AVX2
	if (pack_avx2())
		k = count_avx2(run, v, n, &i);
#endif
	k = count_scalar(run, v, i, n, k);
	run[n] = k;
	return k;
}
