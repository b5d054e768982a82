/* eval_pack.c — the element loop of jagged masks over a batch's lists,
 * four or eight elements a step with AVX2 where the CPU has it.
 *
 * A jagged mask (x[m]) keeps the elements of x (doubles four a step,
 * floats eight) where m is set.  Element by element it is a chain of
 * dependent adds, a load, a store and a loop test per element (8 to 9
 * instructions); with AVX2 one table lookup gives, for four mask bytes,
 * the permutation that packs the kept elements to the front and the
 * counts before each, so a step of four costs about as much as one did.
 * Both ways give the same bytes: the scalar loops are the reference and
 * run where AVX2 is missing and for the last elements of a batch. */
#include "eval_int.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && !defined(ANAFS_NO_SIMD)
#define PACK_AVX2 1
#include <immintrin.h>
#endif

#ifdef PACK_AVX2
/* Per 4-bit mask of kept lanes: the 32-bit lane indices that move the
 * kept 64-bit lanes to the front, and the kept lanes before each lane. */
static int32_t pack_perm[16][8];
static int64_t pack_before[16][4];
static int32_t pack_perm32[256][8]; /* per 8-bit mask: the kept 32-bit lanes first */
static bool pack_cpu; /* AVX2 and POPCNT: the tables are made */
static pthread_once_t pack_once = PTHREAD_ONCE_INIT;

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
	for (int m = 0; m < 256; m++) {
		int k = 0;
		for (int j = 0; j < 8; j++)
			if (m >> j & 1)
				pack_perm32[m][k++] = j;
		for (; k < 8; k++)
			pack_perm32[m][k] = 0;
	}
}

/* Once per process, before any thread reads the tables.  (libgcc's
 * constructor has filled in what __builtin_cpu_supports reads.) */
static void pack_setup(void)
{
	pack_cpu = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
	if (pack_cpu)
		pack_init();
}

static bool pack_avx2(void)
{
	pthread_once(&pack_once, pack_setup);
	return pack_cpu;
}

/* Bit j set where byte j of the eight at p is not 0. */
__attribute__((target("avx2,popcnt"))) static inline unsigned nonzero8(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	__m128i b = _mm_cvtsi64_si128((long long)w);
	return ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, _mm_setzero_si128())) & 0xff;
}

/* dst[0..8): k plus the set bits of m8 below each; k plus all of them. */
__attribute__((target("avx2,popcnt"))) static inline size_t before8(int64_t *dst, unsigned m8,
								   size_t k)
{
	__m256i lo = _mm256_loadu_si256((const __m256i *)pack_before[m8 & 15]);
	__m256i hi = _mm256_loadu_si256((const __m256i *)pack_before[m8 >> 4]);
	size_t k2 = k + (size_t)__builtin_popcount(m8 & 15);
	_mm256_storeu_si256((__m256i *)dst, _mm256_add_epi64(lo, _mm256_set1_epi64x((long long)k)));
	_mm256_storeu_si256((__m256i *)(dst + 4), _mm256_add_epi64(hi, _mm256_set1_epi64x((long long)k2)));
	return k2 + (size_t)__builtin_popcount(m8 >> 4);
}

/* The stores of kept elements: k <= i, so none reaches an element not yet
 * loaded (o may be x). */
__attribute__((target("avx2,popcnt"))) static size_t pack64_avx2(uint64_t *o, const uint64_t *x,
							   const uint8_t *keep, size_t n,
							   int64_t *before, size_t *done)
{
	size_t k = 0, i = 0;
	for (; i + 8 <= n; i += 8) {
		unsigned m8 = nonzero8(keep + i);
		__m256i a = _mm256_loadu_si256((const __m256i *)(x + i));
		__m256i b = _mm256_loadu_si256((const __m256i *)(x + i + 4));
		__m256i pa = _mm256_loadu_si256((const __m256i *)pack_perm[m8 & 15]);
		__m256i pb = _mm256_loadu_si256((const __m256i *)pack_perm[m8 >> 4]);
		size_t k2 = k + (size_t)__builtin_popcount(m8 & 15);
		_mm256_storeu_si256((__m256i *)(o + k), _mm256_permutevar8x32_epi32(a, pa));
		_mm256_storeu_si256((__m256i *)(o + k2), _mm256_permutevar8x32_epi32(b, pb));
		k = before8(before + i, m8, k);
	}
	*done = i;
	return k;
}

__attribute__((target("avx2,popcnt"))) static size_t pack32_avx2(float *o, const float *x,
								   const uint8_t *keep, size_t n,
								   int64_t *before, size_t *done)
{
	size_t k = 0, i = 0;
	for (; i + 8 <= n; i += 8) {
		unsigned m8 = nonzero8(keep + i);
		__m256i v = _mm256_loadu_si256((const __m256i *)(x + i));
		__m256i p = _mm256_loadu_si256((const __m256i *)pack_perm32[m8]);
		_mm256_storeu_si256((__m256i *)(o + k), _mm256_permutevar8x32_epi32(v, p));
		k = before8(before + i, m8, k);
	}
	*done = i;
	return k;
}

#endif

#ifdef PACK_AVX2
#define PACK_SIMD(fn, ...) (pack_avx2() ? fn(__VA_ARGS__) : 0)
#else
#define PACK_SIMD(fn, ...) 0
#endif

/* The vector loop where it runs, the scalar loop for the rest. */
#define PACK_FN(NAME, T, SIMD)                                                                \
	size_t NAME(T *o, const T *x, const uint8_t *keep, size_t n, int64_t *before)           \
	{                                                                                     \
		size_t i = 0, k = PACK_SIMD(SIMD, o, x, keep, n, before, &i);                   \
		for (; i < n; i++) {                                                          \
			o[k] = x[i];                                                          \
			before[i] = (int64_t)k;                                               \
			k += keep[i] != 0;                                                    \
		}                                                                             \
		before[n] = (int64_t)k;                                                       \
		return k;                                                                     \
	}
PACK_FN(eval_pack64, uint64_t, pack64_avx2)
PACK_FN(eval_pack32, float, pack32_avx2)
#undef PACK_FN
