/* rootio_tree_int.h — the parsed description of a TTree, shared by the
 * tree parser (rootio_tree.c), the basket decoder (rootio_basket.c) and the
 * column reader (rootio_column.c). */
#ifndef ANAFS_ROOTIO_TREE_INT_H
#define ANAFS_ROOTIO_TREE_INT_H

#include "rootio_int.h"

/* How the bytes of one value are laid down in a basket. */
enum enc {
	ENC_PLAIN,   /* big-endian value of the column type's size */
	ENC_FLOAT16, /* Float16_t: see struct leaf's range */
	ENC_DOUBLE32,
	ENC_STRING,  /* a length byte (255: then an int32) and chars */
};

struct branch;

struct leaf {
	char *name, *title, *classname;
	int len;             /* values per element (fixed dims) */
	bool is_unsigned;
	struct leaf *count;  /* counter leaf of a jagged leaf */
	struct branch *branch;
	enum rootio_type type;
	enum enc enc;
	int size;            /* bytes per value on disk */
	int offset;          /* byte offset in a leaf-list record */
	double xmin, factor; /* Float16/Double32 range (factor 0: none) */
	int nbits;           /* Float16/Double32 bits when no range */
	int header;          /* bytes before each entry's values (object arrays) */
	int column;          /* index of the column reading it, or -1 */
	const char *unsupported;
};

struct embedded {
	const uint8_t *buf; /* fLast bytes: key header, then data (borrowed) */
	int32_t last, keylen, nevbuf;
	const int32_t *offsets; /* NULL, or noffsets raw big-endian offsets */
	size_t noffsets;
	uint8_t flag;
};

struct basket_slot {
	uint64_t seek;         /* 0: embedded */
	uint32_t nbytes;
	struct embedded *emb;
};

struct branch {
	char *name, *title, *classname, *path;
	int index;             /* in rootio_tree.branches */
	int version;
	int entry_offset_len;
	int64_t entries, tot_bytes, zip_bytes;
	struct leaf **leaves;
	int nleaves;
	int record;            /* bytes per entry of a plain fixed-size branch */
	int nbaskets;
	int64_t *starts;       /* nbaskets + 1 first entries */
	struct basket_slot *slots;
	struct rootio_basket_loc *locs;
	const char *unsupported;
	int elem_type;         /* TBranchElement fType, fStreamerType */
	int streamer_type;
};

/* One decoded basket held for reuse. */
struct decoded {
	int slot;              /* -1: none */
	uint8_t *owned;        /* the decompressed payload, when not embedded */
	size_t cap_owned;
	const uint8_t *data;   /* the entries' bytes */
	bool in_map;           /* data lies in the source's view (used in place) */
	size_t len;
	int64_t first;
	int32_t nevbuf;
	bool has_offsets;      /* offsets holds nevbuf + 1 entries */
	int32_t *offsets;      /* byte offsets of the entries into data */
	size_t cap_offsets;
};

struct column {
	struct rootio_branch pub;
	struct branch *branch;
	struct leaf *leaf;
};

struct rootio_tree {
	struct rootio_file *file;
	struct arena *arena;
	uint8_t *object;       /* the TTree record (embedded baskets point in) */
	size_t object_len;
	char *name, *title;
	int cycle;
	int64_t entries;
	struct branch **branches; /* every branch, depth first */
	int nbranches, capb;
	struct column *columns;
	int ncolumns;
	struct decoded *cache; /* one per branch */
	uint8_t *scratch;      /* compressed records, reused */
	size_t cap_scratch;
	uint64_t views;        /* reads of the source's view: see rootio_read() */
	struct decoded *lent;  /* read to its end: its buffer serves the next load */
	struct rootio_stats stats;
	struct colcache *cc;   /* decoded baskets kept and found there, or NULL */
	uint8_t *cc_key;       /* the file's part of their keys (arena) */
	size_t cc_klen;
};

/* Parse the TTree record into t (rootio_tree.c). */
int rootio_parse_tree(struct rootio_tree *t, const uint8_t *obj, size_t len, int64_t origin,
		      const char *classname, struct rootio_err *err);

/* Make basket slot i of branch br decoded in d (rootio_basket.c).  When
 * t->lent is another branch's, d takes its buffer (the one most recently
 * written, likely still in the CPU's cache) and that branch its basket no
 * longer: its slot becomes -1. */
int rootio_basket_load(struct rootio_tree *t, struct branch *br, int i, struct decoded *d,
		       struct rootio_err *err);

/* The column cache (rootio_colcache.c): basket slot i of br found there
 * into d (0, or -ENOENT / -ENOMEM: decode it), and d stored there. */
int rootio_colcache_get(struct rootio_tree *t, const struct branch *br, int i, struct decoded *d);
void rootio_colcache_put(struct rootio_tree *t, const struct branch *br, int i,
			 const struct decoded *d);

/* Parse a TBasket streamed inside a TTree (rootio_basket.c).  The cursor
 * is on the TKey part; returns NULL on a malformed record. */
struct embedded *rootio_parse_embedded(struct stream *s);

#endif
