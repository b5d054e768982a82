/* corr.h — correctionlib corrections (schema version 2), evaluated over
 * columns.
 *
 * A file holds a set of named corrections; each maps typed inputs to one
 * real output through a tree of nodes.  anafs reads the node types that
 * scale factors are made of: constants, binning, multibinning and
 * category; a file that uses another (formula, formularef, transform,
 * hashprng, ...) is refused at load with its correction, node type and JSON
 * path named.  Everything is checked at load (edges, content lengths, input
 * names and types, key types, depth), so that evaluation fails only where
 * correctionlib's would: a flow "error" or a category key with no default.
 * Binning follows correctionlib exactly: bin i holds edges[i] <= x <
 * edges[i+1], the last edge is outside (x == it takes the flow), a NaN is
 * past the last edge.  docs/corrections.md says it for users.
 *
 * Thread safety: a loaded set is immutable; corr_eval() may run on it from
 * any number of threads at once. */
#ifndef ANAFS_CORR_H
#define ANAFS_CORR_H

#include <stddef.h>

/* Files larger than this are refused before they are read. */
#define CORR_MAX_FILE ((size_t)256 << 20)
/* Nodes nested deeper than this are refused (correctionlib's own files
 * nest a handful deep). */
#define CORR_MAX_DEPTH 32
/* Inputs of one correction. */
#define CORR_MAX_INPUTS 64

enum corr_type { CORR_REAL, CORR_INT, CORR_STRING };

struct corr_set; /* a loaded file */
struct corr;     /* one correction in it, owned by the set */

/* Read and check the file at path (plain JSON: a gzip file is refused with
 * a message that says to decompress it).  On success *out is new: release
 * with corr_free().  Returns 0 or -errno: -EINVAL for a file that is not a
 * correctionlib file anafs reads, ANA_ETOOBIG over CORR_MAX_FILE,
 * ANA_ENOTREG for a FIFO or directory, ANA_ECHANGED for one that grew while
 * it was read, -ENOMEM, or the open/read errno.
 * why (cap bytes) names the file and the problem on every failure. */
int corr_load(const char *path, struct corr_set **out, char *why, size_t cap)
	__attribute__((warn_unused_result));
/* The same over len bytes in memory (borrowed); name stands for the file in
 * messages.  For the fuzzer and for callers that hold the bytes. */
int corr_load_text(const char *text, size_t len, const char *name, struct corr_set **out,
		   char *why, size_t cap) __attribute__((warn_unused_result));
void corr_free(struct corr_set *s); /* NULL allowed */

/* The correction called name, or NULL.  Borrowed from s. */
const struct corr *corr_find(const struct corr_set *s, const char *name);
/* How many corrections s has, and the i-th one (file order), for listing
 * them; corr_names() writes "a, b, c" into buf (cap bytes, cut with "..."
 * when long) for a "did you mean" hint, and returns buf. */
int corr_count(const struct corr_set *s);
const struct corr *corr_at(const struct corr_set *s, int i);
const char *corr_names(const struct corr_set *s, char *buf, size_t cap);

const char *corr_name(const struct corr *c);
int corr_version(const struct corr *c);
int corr_ninputs(const struct corr *c);
const char *corr_input_name(const struct corr *c, int i);
enum corr_type corr_input_type(const struct corr *c, int i);
/* The index of the input called name, or -1. */
int corr_input_index(const struct corr *c, const char *name);

/* The id of value for string input `input`: >= 0 when value is a key of
 * some category node on that input, else -1.  Ids are what corr_eval()
 * takes for string inputs; -1 (or any id that no key has) stands for a
 * string that matches no key, which takes a category's default or fails. */
int corr_string_id(const struct corr *c, int input, const char *value);
/* The string of an id (borrowed), or NULL for one that no key has. */
const char *corr_string_at(const struct corr *c, int input, int id);

/* Evaluate n points.  in[k] points to n doubles for input k: real inputs as
 * they are, int inputs as exact doubles, string inputs as ids of
 * corr_string_id().  Writes out[0..n).  No allocation.  Returns 0, or
 * -EDOM at the first point that a flow "error" or a category without the
 * key and without default refuses, with why (cap bytes, may be NULL)
 * naming the correction, the input, the value and the point's index in
 * this call ("at index 17"); out is then written up to that point. */
int corr_eval(const struct corr *c, const double *const *in, size_t n, double *out, char *why,
	      size_t cap) __attribute__((warn_unused_result));

#endif
