/* rootio_file.c — the file header, TKeys and the directory tree.
 *
 * Opening a file reads its header, then walks every TDirectory and
 * remembers the keys of the trees it holds.  Nothing else is read until a
 * tree is opened. */
#include "rootio_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIRS 4096

static void copy_tstring(struct rbuf *b, char *dst, size_t cap)
{
	uint32_t n = rbuf_u8(b);
	if (n == 255)
		n = rbuf_u32(b);
	const uint8_t *p = rbuf_take(b, n);
	size_t k = p ? (n < cap - 1 ? n : cap - 1) : 0;
	if (k)
		memcpy(dst, p, k);
	dst[k] = 0;
}

int rootio_read_key(struct rbuf *b, struct rkey *k)
{
	k->nbytes = rbuf_i32(b);
	k->version = rbuf_i16(b);
	k->objlen = rbuf_i32(b);
	rbuf_skip(b, 4); /* fDatime */
	k->keylen = rbuf_i16(b);
	k->cycle = rbuf_i16(b);
	if (k->version > 1000) {
		k->seek = rbuf_u64(b);
		rbuf_skip(b, 8); /* fSeekPdir */
	} else {
		k->seek = rbuf_u32(b);
		rbuf_skip(b, 4);
	}
	copy_tstring(b, k->classname, sizeof(k->classname));
	copy_tstring(b, k->name, sizeof(k->name));
	copy_tstring(b, k->title, sizeof(k->title));
	if (b->bad || k->nbytes < 0 || k->objlen < 0 || k->keylen < 0)
		return ROOTIO_ECORRUPT;
	return 0;
}

/* Read len bytes at off into a new buffer. */
static int read_at(struct rootio_file *f, uint64_t off, size_t len, uint8_t **out,
		   struct rootio_err *err)
{
	if (off > src_size(f->src) || len > src_size(f->src) - off)
		return rootio_fail(err, ROOTIO_ECORRUPT,
				   "%s: %zu bytes at offset %llu lie past the end of the file "
				   "(%llu bytes)",
				   src_url(f->src), len, (unsigned long long)off,
				   (unsigned long long)src_size(f->src));
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return rootio_fail(err, -ENOMEM, "%s: out of memory", src_url(f->src));
	ssize_t r = src_pread(f->src, buf, len, off);
	if (r < 0 || (size_t)r != len) {
		free(buf);
		char why[sizeof(err->msg)];
		return rootio_fail(err, r < 0 ? (int)r : -EIO, "%s: read of %zu bytes at %llu: %s",
				   src_url(f->src), len, (unsigned long long)off,
				   rootio_read_reason(f->src, r < 0 ? (int)r : -EIO, why,
						      sizeof(why)));
	}
	*out = buf;
	return 0;
}

int rootio_read_object(struct rootio_file *f, const struct rkey *k, uint8_t **out,
		       struct rootio_err *err)
{
	const char *url = src_url(f->src);
	if (k->nbytes < k->keylen || k->objlen <= 0 || (uint32_t)k->objlen > ROOTIO_MAX_OBJECT)
		return rootio_fail(err, ROOTIO_ECORRUPT,
				   "%s: key '%s' at %llu: sizes nbytes=%d keylen=%d objlen=%d are "
				   "impossible or over the limit",
				   url, k->name, (unsigned long long)k->seek, k->nbytes, k->keylen,
				   k->objlen);
	uint8_t *rec;
	int rc = read_at(f, k->seek, (size_t)k->nbytes, &rec, err);
	if (rc)
		return rc;
	size_t stored = (size_t)(k->nbytes - k->keylen);
	uint8_t *obj = malloc((size_t)k->objlen);
	if (!obj) {
		free(rec);
		return rootio_fail(err, -ENOMEM, "%s: out of memory", url);
	}
	if (stored == (size_t)k->objlen) {
		memcpy(obj, rec + k->keylen, stored);
	} else {
		rc = rootio_unzip(rec + k->keylen, stored, obj, (size_t)k->objlen, err);
		if (rc) {
			char inner[sizeof(err->msg)];
			snprintf(inner, sizeof(inner), "%s", err ? err->msg : "");
			rootio_fail(err, rc, "%s: object '%s' (key at %llu): %s", url, k->name,
				    (unsigned long long)k->seek, inner);
			free(obj);
			obj = NULL;
		}
	}
	free(rec);
	if (rc)
		return rc;
	*out = obj;
	return 0;
}

/* Where a TDirectory record says its keys are. */
static int dir_keys(struct rbuf *b, uint64_t *seek, uint32_t *nbytes)
{
	int16_t v = rbuf_i16(b);
	rbuf_skip(b, 8); /* fDatimeC, fDatimeM */
	int32_t nbk = rbuf_i32(b);
	rbuf_skip(b, 4); /* fNbytesName */
	if (v > 1000) {
		rbuf_skip(b, 16); /* fSeekDir, fSeekParent */
		*seek = rbuf_u64(b);
	} else {
		rbuf_skip(b, 8);
		*seek = rbuf_u32(b);
	}
	*nbytes = (uint32_t)nbk;
	return b->bad || nbk <= 0 ? ROOTIO_ECORRUPT : 0;
}

static int add_tree(struct rootio_file *f, const char *dir, const struct rkey *k)
{
	if (f->ntrees == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 8;
		void *t = realloc(f->trees, cap * sizeof(*f->trees));
		if (!t)
			return -ENOMEM;
		f->trees = t;
		t = realloc(f->tree_keys, cap * sizeof(*f->tree_keys));
		if (!t)
			return -ENOMEM;
		f->tree_keys = t;
		f->cap = cap;
	}
	size_t n = strlen(dir) + strlen(k->name) + 1;
	char *path = arena_alloc(f->arena, n);
	if (!path)
		return -ENOMEM;
	snprintf(path, n, "%s%s", dir, k->name);
	f->trees[f->ntrees] = (struct rootio_tree_info){
		.path = path,
		.cycle = k->cycle,
		.classname = arena_strndup(f->arena, k->classname, strlen(k->classname)),
	};
	f->tree_keys[f->ntrees++] = *k;
	return 0;
}

struct walk {
	struct rootio_file *f;
	int ndirs;
};

static int walk_dir(struct walk *w, uint64_t seek, uint32_t nbytes, const char *dir, int depth,
		    struct rootio_err *err)
{
	struct rootio_file *f = w->f;
	const char *url = src_url(f->src);
	if (depth > ROOTIO_MAX_DEPTH || ++w->ndirs > MAX_DIRS)
		return rootio_fail(err, ROOTIO_ECORRUPT,
				   "%s: directory '%s' nests too deep or too many directories", url,
				   dir);
	uint8_t *buf;
	int rc = read_at(f, seek, nbytes, &buf, err);
	if (rc)
		return rc;
	struct rbuf b;
	rbuf_init(&b, buf, nbytes, 0);
	struct rkey k;
	if (rootio_read_key(&b, &k)) { /* the key of the key list itself */
		rc = rootio_fail(err, ROOTIO_ECORRUPT, "%s: key list of '%s' at %llu is corrupt",
				 url, dir, (unsigned long long)seek);
		goto out;
	}
	b.pos = (size_t)k.keylen;
	int32_t nkeys = rbuf_i32(&b);
	if (b.bad || nkeys < 0 || (uint32_t)nkeys > ROOTIO_MAX_KEYS) {
		rc = rootio_fail(err, ROOTIO_ECORRUPT, "%s: directory '%s' claims %d keys", url, dir,
				 nkeys);
		goto out;
	}
	for (int32_t i = 0; i < nkeys && !rc; i++) {
		size_t at = b.pos;
		if (rootio_read_key(&b, &k)) {
			rc = rootio_fail(err, ROOTIO_ECORRUPT,
					 "%s: key %d of directory '%s' (byte %zu of its list at "
					 "%llu) is corrupt",
					 url, i, dir, at, (unsigned long long)seek);
			break;
		}
		if (!strcmp(k.classname, "TTree") || !strcmp(k.classname, "TNtuple") ||
		    !strcmp(k.classname, "TNtupleD")) {
			rc = add_tree(f, dir, &k);
		} else if (!strcmp(k.classname, "TDirectory") ||
			   !strcmp(k.classname, "TDirectoryFile")) {
			uint8_t *rec;
			size_t len = (size_t)k.nbytes;
			if (k.nbytes < k.keylen || (rc = read_at(f, k.seek, len, &rec, err)))
				rc = rc ? rc
					: rootio_fail(err, ROOTIO_ECORRUPT,
						      "%s: directory key '%s' is corrupt", url, k.name);
			if (rc)
				break;
			struct rbuf d;
			rbuf_init(&d, rec + k.keylen, len - (size_t)k.keylen, 0);
			uint64_t sub;
			uint32_t subn;
			rc = dir_keys(&d, &sub, &subn);
			free(rec);
			if (rc) {
				rc = rootio_fail(err, rc, "%s: directory '%s%s' record is corrupt", url,
						 dir, k.name);
				break;
			}
			char *path = malloc(strlen(dir) + strlen(k.name) + 2);
			if (!path) {
				rc = -ENOMEM;
				break;
			}
			sprintf(path, "%s%s/", dir, k.name);
			rc = walk_dir(w, sub, subn, path, depth + 1, err);
			free(path);
		}
	}
out:
	free(buf);
	return rc;
}

static int read_header(struct rootio_file *f, uint64_t *keys, uint32_t *nkeys,
		       struct rootio_err *err)
{
	const char *url = src_url(f->src);
	uint8_t h[64] = {0};
	ssize_t r = src_pread(f->src, h, sizeof(h), 0);
	if (r < 0)
		return rootio_fail(err, (int)r, "%s: %s", url, rootio_strerror((int)r));
	if (r < 45 || memcmp(h, "root", 4))
		return rootio_fail(err, ROOTIO_ECORRUPT, "%s: not a ROOT file (no 'root' magic)",
				   url);
	struct rbuf b;
	rbuf_init(&b, h, (size_t)r, 0);
	rbuf_skip(&b, 4);
	f->version = rbuf_i32(&b);
	int64_t begin = rbuf_i32(&b);
	/* A negative fVersion is seen in the wild; it is read as the small form. */
	bool big = f->version >= 1000000;
	uint32_t nbytes_name;
	if (big) {
		f->end = rbuf_u64(&b);
		rbuf_skip(&b, 16); /* fSeekFree, fNbytesFree, nfree */
		nbytes_name = rbuf_u32(&b);
		rbuf_skip(&b, 1);
		f->compress = rbuf_i32(&b);
		f->version -= 1000000;
	} else {
		f->end = rbuf_u32(&b);
		rbuf_skip(&b, 12);
		nbytes_name = rbuf_u32(&b);
		rbuf_skip(&b, 1);
		f->compress = rbuf_i32(&b);
	}
	uint64_t size = src_size(f->src);
	if (b.bad || begin <= 0 || (uint64_t)begin >= size || nbytes_name > size - (uint64_t)begin)
		return rootio_fail(err, ROOTIO_ECORRUPT,
				   "%s: file header is corrupt (fBEGIN=%lld, fNbytesName=%u, size %llu)",
				   url, (long long)begin, nbytes_name, (unsigned long long)size);
	f->begin = (uint64_t)begin;
	uint8_t d[64] = {0};
	r = src_pread(f->src, d, sizeof(d), f->begin + nbytes_name);
	if (r < 0)
		return rootio_fail(err, (int)r, "%s: %s", url, rootio_strerror((int)r));
	rbuf_init(&b, d, (size_t)r, 0);
	if (dir_keys(&b, keys, nkeys))
		return rootio_fail(err, ROOTIO_ECORRUPT,
				   "%s: top directory record at %llu is corrupt", url,
				   (unsigned long long)(f->begin + nbytes_name));
	return 0;
}

int rootio_open_src(struct src *s, struct rootio_file **out, struct rootio_err *err)
{
	struct rootio_file *f = calloc(1, sizeof(*f));
	if (!f || !(f->arena = arena_new())) {
		free(f);
		src_close(s);
		return rootio_fail(err, -ENOMEM, "out of memory");
	}
	f->src = s;
	uint64_t keys;
	uint32_t nkeys;
	int rc = read_header(f, &keys, &nkeys, err);
	if (!rc) {
		struct walk w = {.f = f};
		rc = walk_dir(&w, keys, nkeys, "", 0, err);
	}
	if (rc) {
		/* Read with pread, into copies: only a failure may be the file's
		 * changing, and then the error says so. */
		rc = rootio_check_src(f->src, rc, err);
		rootio_close(f);
		return rc;
	}
	*out = f;
	return 0;
}

int rootio_open(const char *url, struct rootio_file **out, struct rootio_err *err)
{
	struct src *s;
	char msg[sizeof(err->msg)];
	int rc = src_open_msg(url, &s, msg, sizeof(msg));
	if (rc)
		return rootio_fail(err, rc, "%s", msg);
	return rootio_open_src(s, out, err);
}

void rootio_close(struct rootio_file *f)
{
	if (!f)
		return;
	src_close(f->src);
	arena_free(f->arena);
	free(f->trees);
	free(f->tree_keys);
	free(f);
}

const char *rootio_file_url(const struct rootio_file *f)
{
	return src_url(f->src);
}

struct src *rootio_file_src(const struct rootio_file *f)
{
	return f->src;
}

int rootio_file_version(const struct rootio_file *f)
{
	return f->version;
}

int rootio_file_compress(const struct rootio_file *f)
{
	return f->compress;
}

size_t rootio_ntrees(const struct rootio_file *f)
{
	return f->ntrees;
}

const struct rootio_tree_info *rootio_tree_at(const struct rootio_file *f, size_t i)
{
	return i < f->ntrees ? &f->trees[i] : NULL;
}
