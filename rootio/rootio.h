/* rootio.h — reading the columns of TTrees out of ROOT files.
 *
 * The reader reads bytes only through cache/src.h and trusts none of them:
 * every length, count and offset is checked against what holds it, and an
 * allocation a file asks for is capped (ROOTIO_MAX_BASKET).  Failures come
 * back as an error code and a message that names the file and the object
 * or offset.
 *
 * Thread safety: a struct rootio_file is immutable once open and may be
 * shared; open one struct rootio_tree per thread (it caches the last
 * basket decoded for each branch). */
#ifndef ANAFS_ROOTIO_H
#define ANAFS_ROOTIO_H

#include "ana_err.h"

#include <stddef.h>
#include <stdint.h>

#define ROOTIO_WARN_UNUSED __attribute__((warn_unused_result))

/* Error codes that have no errno (util/ana_err.h); functions return -errno
 * or one of these. */
enum {
	ROOTIO_ECORRUPT = ANA_ECORRUPT,         /* bytes that contradict the format */
	ROOTIO_EUNSUPPORTED = ANA_EUNSUPPORTED, /* valid ROOT we do not decode */
	ROOTIO_ETOOBIG = ANA_ETOOBIG,           /* a size over one of our caps */
};

/* Largest uncompressed basket or object we accept (bytes). */
#define ROOTIO_MAX_BASKET (512u << 20)

/* Why the last call failed, in words that name the file and the place. */
struct rootio_err {
	char msg[512];
};

/* A strerror() for the return codes of this module (and plain errnos). */
const char *rootio_strerror(int code);

/* Value types of a column.  Bools are one byte, 0 or 1.  Float16_t and
 * Double32_t are widened to F32 and F64. */
enum rootio_type {
	ROOTIO_NONE = 0,
	ROOTIO_BOOL,
	ROOTIO_I8,
	ROOTIO_U8,
	ROOTIO_I16,
	ROOTIO_U16,
	ROOTIO_I32,
	ROOTIO_U32,
	ROOTIO_I64,
	ROOTIO_U64,
	ROOTIO_F32,
	ROOTIO_F64,
	ROOTIO_STRING, /* chars; entries delimited by offsets */
};

/* How values map to entries. */
enum rootio_kind {
	ROOTIO_FLAT,        /* one value per entry */
	ROOTIO_FIXED,       /* fixed_len values per entry */
	ROOTIO_JAGGED,      /* a counter column gives the count per entry */
	ROOTIO_STR,         /* one string per entry */
	ROOTIO_UNSUPPORTED, /* listed, not readable: see note */
};

const char *rootio_type_name(enum rootio_type t); /* "float32", "int64", ... */
const char *rootio_kind_name(enum rootio_kind k); /* "flat", "jagged", ... */
size_t rootio_type_size(enum rootio_type t);      /* bytes per value; 1 for STRING */

struct rootio_file;
struct rootio_tree;

/* Open the ROOT file at url and read its directories.  On success *out is
 * new: release it with rootio_close().  Returns 0 or a negative code. */
int rootio_open(const char *url, struct rootio_file **out, struct rootio_err *err)
	ROOTIO_WARN_UNUSED;
/* The same over a byte source already open; takes ownership of s, even
 * on failure. */
struct src;
int rootio_open_src(struct src *s, struct rootio_file **out, struct rootio_err *err)
	ROOTIO_WARN_UNUSED;
void rootio_close(struct rootio_file *f);

const char *rootio_file_url(const struct rootio_file *f);
/* The source f reads (borrowed): its identity, prefetch and cache figures. */
struct src *rootio_file_src(const struct rootio_file *f);
int rootio_file_version(const struct rootio_file *f);  /* e.g. 62004 */
int rootio_file_compress(const struct rootio_file *f); /* fCompress */

/* A tree found in the file's directories (every cycle is listed). */
struct rootio_tree_info {
	const char *path;      /* "dir/sub/name" */
	int cycle;
	const char *classname; /* "TTree" or "TNtuple" */
};

size_t rootio_ntrees(const struct rootio_file *f);
/* Borrowed; valid until rootio_close(). */
const struct rootio_tree_info *rootio_tree_at(const struct rootio_file *f, size_t i);

/* Open tree name ("Events", "dir/tree", "tree;2"; NULL for the first tree
 * of the file).  Without a cycle the highest wins.  *out is new: release
 * with rootio_tree_close(). */
int rootio_tree_open(struct rootio_file *f, const char *name, struct rootio_tree **out,
		     struct rootio_err *err) ROOTIO_WARN_UNUSED;
void rootio_tree_close(struct rootio_tree *t);

/* A checksum of what describes tree t: its TTree record (every branch's
 * entries and basket places) and its file's end and version.  The same
 * file gives the same sum; a file rewritten or appended to gives another. */
uint64_t rootio_tree_fingerprint(const struct rootio_tree *t);

const char *rootio_tree_name(const struct rootio_tree *t);
const char *rootio_tree_title(const struct rootio_tree *t);
int rootio_tree_cycle(const struct rootio_tree *t);
int64_t rootio_tree_entries(const struct rootio_tree *t);

/* A readable column: one per leaf of a plain branch.  A leaf list
 * "br" with leaves x, y gives columns "br.x" and "br.y"; sub-branches of an
 * object branch are named "parent/child". */
struct rootio_branch {
	const char *name;
	const char *title;
	const char *leafclass; /* "TLeafF", "TLeafElement", ... */
	enum rootio_type type;
	enum rootio_kind kind;
	int fixed_len;         /* values per entry: 1 for flat, N for [N] */
	int counter;           /* column index of the counter (jagged), else -1 */
	int64_t entries;       /* fEntries of the branch */
	int64_t tot_bytes;     /* uncompressed bytes of its baskets */
	int64_t zip_bytes;     /* compressed bytes */
	int nbaskets;          /* on disk and embedded */
	const char *note;      /* why it is UNSUPPORTED; NULL otherwise */
};

size_t rootio_tree_ncolumns(const struct rootio_tree *t);
/* Borrowed; valid until rootio_tree_close(). */
const struct rootio_branch *rootio_tree_column(const struct rootio_tree *t, size_t i);
/* Index of the column called name, or -1. */
int rootio_tree_find(const struct rootio_tree *t, const char *name);

/* First entry of each basket cluster of column i: *starts (borrowed) holds
 * *n + 1 numbers, the last being the entry count. */
int rootio_tree_baskets(const struct rootio_tree *t, size_t i, const int64_t **starts,
			size_t *n);

/* Where the baskets of column i lie: an on-disk basket is the record of
 * nbytes at seek (a TKey header, then the payload); an embedded one (stored
 * inside the TTree object) has seek 0.  *locs is borrowed. */
struct rootio_basket_loc {
	uint64_t seek;
	uint32_t nbytes;
};
int rootio_tree_basket_locs(const struct rootio_tree *t, size_t i,
			    const struct rootio_basket_loc **locs, size_t *n);

/* Values of one column over an entry range.  Buffers grow as needed and
 * are reused between calls: init once, free once. */
struct rootio_column {
	enum rootio_type type;
	int64_t first;     /* first entry held */
	int64_t nentries;
	size_t nvalues;
	void *values;      /* nvalues values, native byte order */
	int64_t *offsets;  /* jagged and strings: nentries + 1, from 0; else NULL */
	size_t cap_values; /* bytes allocated for values */
	int64_t *offsets_mem; /* private: the buffer offsets points into */
	size_t cap_offsets;   /* private: entries allocated in offsets_mem */
};

void rootio_column_init(struct rootio_column *c);
void rootio_column_free(struct rootio_column *c);

/* Read column i over entries [a, b) into out.  Each basket the range
 * touches is decoded once however the range cuts it (the last one stays
 * cached for the next call).  Returns 0 or a negative code: ANA_ECHANGED
 * when the file has shrunk since it was opened (then every later read of
 * the file fails so; cache/src.h). */
int rootio_read(struct rootio_tree *t, size_t i, int64_t a, int64_t b,
		struct rootio_column *out, struct rootio_err *err) ROOTIO_WARN_UNUSED;

/* Work done by a tree so far. */
struct rootio_stats {
	uint64_t baskets;      /* baskets decoded */
	uint64_t bytes_read;   /* compressed bytes fetched */
	uint64_t bytes_out;    /* uncompressed bytes produced */
};
void rootio_tree_stats(const struct rootio_tree *t, struct rootio_stats *st);

/* Keep t's decoded baskets in the column cache c (cache/colcache.h; NULL:
 * none) and look them up there first, under the identity of the file as
 * the caller checked it: its URL, size and modification time, and the
 * tree's fingerprint.  The caller promises the open file is that one.
 * A basket read in place from a mapped file (stored uncompressed) is not
 * cached. */
struct colcache;
void rootio_tree_set_colcache(struct rootio_tree *t, struct colcache *c, const char *url,
			      uint64_t size, int64_t mtime_ns, uint64_t fingerprint);

/* Decode one basket record as stored in a file (key header, then the
 * possibly compressed payload) into a freshly allocated buffer.  Exposed
 * for the fuzzer and the benchmark.  *out is new: free() it. */
int rootio_decode_basket_record(const uint8_t *rec, size_t len, uint8_t **out,
				size_t *outlen, struct rootio_err *err) ROOTIO_WARN_UNUSED;

/* Decompress a ROOT compressed record (one or more blocks with 9-byte
 * headers: ZL, XZ, L4, ZS, or raw) of srclen bytes into exactly dstlen
 * bytes at dst.  Returns 0 or a negative code; err names the block. */
int rootio_unzip(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstlen,
		 struct rootio_err *err) ROOTIO_WARN_UNUSED;

#endif
