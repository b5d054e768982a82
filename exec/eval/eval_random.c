/* eval_random.c — random_normal(mean, sigma[, like]): numbers that are a
 * function of where they are drawn, not of when.
 *
 * A counter-based generator: the value for call site k (the k-th
 * random_normal written in the query), the file (its tree's fingerprint,
 * the same wherever and however the file is read), the entry and the
 * element is a hash of those four, so every task, worker, retry and
 * restart draws the same number for the same event.  docs/analysis.md gives
 * the exact recipe, so that others can reproduce it:
 *
 *   mix(z) = splitmix64's finaliser of z + 0x9E3779B97F4A7C15
 *   h  = mix(mix(mix(fingerprint ^ k) ^ entry) ^ element)
 *   u1 = ((h >> 11) + 1) * 2^-53,  u2 = (mix(h) >> 11) * 2^-53
 *   z  = sqrt(-2 ln u1) * cos(2 pi u2);  value = mean + sigma * z */
#include "eval_int.h"

#include <errno.h>
#include <math.h>

static inline uint64_t mix(uint64_t z)
{
	z += 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

double eval_normal_at(uint64_t fingerprint, int64_t site, int64_t entry, int64_t element)
{
	uint64_t h = mix(mix(mix(fingerprint ^ (uint64_t)site) ^ (uint64_t)entry) ^ (uint64_t)element);
	double u1 = (double)((h >> 11) + 1) * 0x1p-53, u2 = (double)(mix(h) >> 11) * 0x1p-53;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

int eval_random_normal(struct eval_state *s, const struct ql_node *n, struct val *out,
		       struct val **args)
{
	int L = n->jagged ? n->list : -1;
	if (eval_prepare(s, n, out))
		return -ENOMEM;
	const double *mu = eval_as_f64(s, args[0], L, 0), *sigma = eval_as_f64(s, args[1], L, 1);
	if (!mu || !sigma)
		return -ENOMEM;
	double *o = out->data;
	const int64_t *off = L >= 0 ? s->lists[L] : NULL;
	for (int64_t e = 0; e < s->nev; e++) {
		int64_t entry = s->first_entry + (s->have_idx ? s->idx[e] : e);
		int64_t lo = off ? off[e] : e, hi = off ? off[e + 1] : e + 1;
		for (int64_t i = lo; i < hi; i++)
			o[i] = mu[i] + sigma[i] * eval_normal_at(s->seed, n->ival, entry, off ? i - lo : 0);
	}
	return eval_join_valid(s, out, args, n->nargs);
}
