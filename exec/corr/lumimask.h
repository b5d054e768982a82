/* lumimask.h — certified-luminosity masks: the CMS "golden JSON",
 *
 *	{"273158": [[1, 1283]], "273302": [[1, 459], [462, 472]], ...}
 *
 * run numbers (decimal string keys) to lists of inclusive [first, last]
 * luminosity-section ranges.  Ranges are sorted and merged at load, so
 * they may come in any order and overlap.
 *
 * Thread safety: a loaded mask is immutable; lumimask_eval() may run on it
 * from any number of threads at once. */
#ifndef ANAFS_LUMIMASK_H
#define ANAFS_LUMIMASK_H

#include <stddef.h>
#include <stdint.h>

struct lumimask;

/* Read and check the file at path (at most CORR_MAX_FILE bytes of plain
 * JSON).  On success *out is new: release with lumimask_free().  Returns 0
 * or -errno as corr_load() does; why (cap bytes) names the file, and the
 * run and range or the line and column, on every failure. */
int lumimask_load(const char *path, struct lumimask **out, char *why, size_t cap)
	__attribute__((warn_unused_result));
/* The same over len bytes in memory (borrowed); name stands for the file. */
int lumimask_load_text(const char *text, size_t len, const char *name, struct lumimask **out,
		       char *why, size_t cap) __attribute__((warn_unused_result));
void lumimask_free(struct lumimask *m); /* NULL allowed */

/* out[i] = 1 where (run[i], lumi[i]) is certified, else 0.  No allocation. */
void lumimask_eval(const struct lumimask *m, const int64_t *run, const int64_t *lumi, size_t n,
		   uint8_t *out);

/* Runs in the mask, and certified sections summed over them (merged). */
size_t lumimask_nruns(const struct lumimask *m);
int64_t lumimask_nlumis(const struct lumimask *m);

#endif
