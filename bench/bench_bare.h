/* bench_bare.h — bare decompression of a tree's baskets, for the benches.
 *
 * The basket records of some columns are read into memory once (not
 * timed); a pass then hands each ROOT compression block straight to its
 * library (libdeflate, liblz4, libzstd, liblzma) into one reused buffer:
 * no rootio_* call, no checksum, no conversion.  What the reader cannot do
 * faster than, on the same baskets.  Used by bench_reader and bench_query.
 * Not thread safe: one per thread. */
#ifndef ANAFS_BENCH_BARE_H
#define ANAFS_BENCH_BARE_H

#include "rootio.h"

#include <stddef.h>
#include <stdint.h>

struct bench_bare;

/* Read the on-disk basket records of columns cols[0..n) of tree t (of the
 * file at path, borrowed until bench_bare_free()), each branch's once:
 * leaf-list columns share their branch's.  Each record's key and basket
 * header are checked.  On success *out is new: release with
 * bench_bare_free().  Returns 0, or -1 with the reason on stderr. */
int bench_bare_open(const char *path, const struct rootio_tree *t, const size_t *cols, size_t n,
		    struct bench_bare **out);
void bench_bare_free(struct bench_bare *b);

/* Decompress every record once.  Returns 0, or -1 (on stderr) when a
 * record does not decompress to its stated size. */
int bench_bare_pass(struct bench_bare *b);

/* Records held, baskets left out (embedded in the TTree object: no
 * record), compressed bytes held (whole records, keys included). */
size_t bench_bare_records(const struct bench_bare *b);
size_t bench_bare_embedded(const struct bench_bare *b);
uint64_t bench_bare_zbytes(const struct bench_bare *b);

/* Records stored uncompressed; the records' decompressed bytes (fObjlen:
 * entries' data and entry offsets); their entries' data alone (fLast -
 * fKeylen, what rootio_stats.bytes_out counts). */
size_t bench_bare_raw(const struct bench_bare *b);
uint64_t bench_bare_objbytes(const struct bench_bare *b);
uint64_t bench_bare_databytes(const struct bench_bare *b);

/* The compression of the records: "zlib", "lz4", "zstd", "lzma", "other"
 * (an unknown block type), "raw" when every record is stored as is,
 * "mixed" when compressed records differ; "" when there is none.
 * Borrowed from b. */
const char *bench_bare_algo(const struct bench_bare *b);

/* The median of v[0..n) (n >= 1; v is sorted in place). */
double bench_median(double *v, int n);

#endif
