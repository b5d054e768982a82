/* eval_lookup.c — correction() and lumi_mask() over a batch: the inputs
 * gathered as doubles (a string input as the correction's id of the
 * string), then one call into the lookup for the whole batch. */
#include "eval_int.h"

#include "corr.h"
#include "lumimask.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static int eval_mask(struct eval_state *s, const struct ql_node *n, struct val *out, struct val **args)
{
	if (eval_prepare(s, n, out))
		return -ENOMEM;
	const int64_t *run = eval_as_i64(s, args[1], -1, 0), *lumi = eval_as_i64(s, args[2], -1, 1);
	if (!run || !lumi)
		return -ENOMEM;
	lumimask_eval(n->lookup->mask, run, lumi, (size_t)s->nev, out->data);
	return eval_join_valid(s, out, args + 1, 2);
}

int eval_lookup(struct eval_state *s, const struct ql_node *n, struct val *out, struct val **args)
{
	if (n->op == QF_LUMI_MASK)
		return eval_mask(s, n, out, args);
	const struct ql_lookup *lk = n->lookup;
	int k = n->nargs - 2, L = n->jagged ? n->list : -1;
	if (eval_prepare(s, n, out))
		return -ENOMEM;
	size_t m = out->n;
	const double *in[64];
	double *conv[64] = {0};
	int rc = 0;
	for (int i = 0; i < k && !rc; i++) {
		if (!lk->strmap[i]) {
			/* Scratch slots are few: copy each input out of its slot. */
			const double *d = eval_as_f64(s, args[i + 2], L, 0);
			if (!d || !(conv[i] = malloc((m + 1) * sizeof(double))))
				rc = -ENOMEM;
			else
				for (size_t j = 0; j < m; j++)
					conv[i][j] = d[j];
		} else {
			const int64_t *id = eval_as_i64(s, args[i + 2], L, 0);
			if (!id || !(conv[i] = malloc((m + 1) * sizeof(double))))
				rc = -ENOMEM;
			else
				for (size_t j = 0; j < m; j++)
					conv[i][j] = lk->strmap[i][id[j]];
		}
		in[i] = conv[i];
	}
	if (!rc && corr_eval(lk->corr, in, m, out->data, s->why_buf, sizeof(s->why_buf))) {
		s->why = s->why_buf;
		rc = -EINVAL;
	}
	for (int i = 0; i < k; i++)
		free(conv[i]);
	return rc ? rc : eval_join_valid(s, out, args + 2, k);
}
