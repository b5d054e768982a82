/* rootio_int.h — what the files of the reader share and nobody else sees. */
#ifndef ANAFS_ROOTIO_INT_H
#define ANAFS_ROOTIO_INT_H

#include "rootio.h"
#include "rootio_buf.h"
#include "src.h"
#include "arena.h"

#include <stdarg.h>
#include <stdbool.h>

/* Hot loops compiled twice, for AVX2 and for any x86-64, chosen when the
 * program loads.  ThreadSanitizer cannot run the chooser (it runs before
 * the sanitizer starts), so its build (ANAFS_NO_CLONES) has one version. */
#ifdef ANAFS_NO_CLONES
#define ROOTIO_CLONES
#else
#define ROOTIO_CLONES __attribute__((target_clones("avx2", "default")))
#endif

/* Caps on what a file may claim. */
#define ROOTIO_MAX_KEYS (1u << 20)      /* keys in one directory */
#define ROOTIO_MAX_DEPTH 32             /* nested directories or objects */
#define ROOTIO_MAX_OBJECT (256u << 20)  /* one TTree record, uncompressed */
#define ROOTIO_MAX_BRANCHES (1u << 18)  /* branches and leaves in one tree */

/* Fill err (may be NULL) and return code. */
int rootio_fail(struct rootio_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Return rc unless source s has failed (src_check()): then what was read
 * is not the file's (bytes of a view past its new end read as zeros), and
 * the error, whatever rc said, is one that names the file.  Called once a
 * call is done with the bytes it read, views included. */
int rootio_check_src(struct src *s, int rc, struct rootio_err *err);
/* Why a read of s failed with code: what the transport said (the URL and
 * the server's reason), else the code's text.  buf holds cap bytes. */
const char *rootio_read_reason(struct src *s, int code, char *buf, size_t cap);

/* Buffers that outlive a tree (rootio_pool.c), kept per thread: the
 * decoded baskets of a closed tree serve the next one without fresh pages.
 * rootio_pool_grow() returns buf when its *cap bytes hold need, else a
 * buffer of at least need bytes (contents not kept; *cap updated, buf given
 * to the pool), or NULL when out of memory (buf and *cap untouched).
 * rootio_pool_put() takes ownership of p (NULL is fine). */
void *rootio_pool_grow(void *buf, size_t *cap, size_t need);
void rootio_pool_put(void *p, size_t cap);

/* A TKey header. */
struct rkey {
	int32_t nbytes;
	int16_t version;
	int32_t objlen;
	int16_t keylen;
	int16_t cycle;
	uint64_t seek;
	char classname[96];
	char name[256];
	char title[64];
};

/* Parse a TKey header at the cursor (strings are truncated to fit).  The
 * caller checks keylen against nbytes: a basket not yet written has 0. */
int rootio_read_key(struct rbuf *b, struct rkey *k);

/* The open file. */
struct rootio_file {
	struct src *src;
	struct arena *arena;
	int version;
	int compress;
	uint64_t begin;
	uint64_t end;
	struct rootio_tree_info *trees;
	struct rkey *tree_keys; /* key of each tree, same order */
	size_t ntrees, cap;
};

/* Read the object of key k (decompressing it) into a new buffer of
 * k->objlen bytes.  *out is new: free(). */
int rootio_read_object(struct rootio_file *f, const struct rkey *k, uint8_t **out,
		       struct rootio_err *err);

/* Streamed-object helpers (rootio_stream.c). */
struct objref {
	int64_t tag;
	const char *classname; /* arena-owned */
	void *obj;             /* what was built for it, or NULL */
};

struct stream {
	struct rbuf b;
	struct arena *arena;
	struct objref *refs;
	size_t nrefs, cap;
	int depth;
};

/* Read a class version; *end gets the end of its byte count, or 0 when the
 * record has none.  Returns the version. */
int stream_version(struct stream *s, size_t *end);
/* Move to end (from stream_version) when it is set and ahead. */
void stream_finish(struct stream *s, size_t end);
void stream_tobject(struct stream *s);
/* A TString: returns an arena copy ("" on error). */
char *stream_tstring(struct stream *s);
void stream_tnamed(struct stream *s, char **name, char **title);

/* Read one object reference (ReadObjectAny).  *classname is the class of a
 * new object to be read now (the cursor is on its content and *end is its
 * end), or NULL with *ref set to the object referred to (NULL for a null
 * pointer).  Returns 0 or -1 on a malformed record. */
int stream_object_head(struct stream *s, const char **classname, size_t *end,
		       struct objref **ref, int64_t *tag);
/* Remember obj as the object whose record starts at tag. */
void stream_register(struct stream *s, int64_t tag, const char *classname, void *obj);

#endif
