/* col_dump.c — write the decoded columns of one tree as NumPy .npy files,
 * for reference computations in numpy (tests/agc_ref.py) that share no
 * code with anafs beyond the ROOT reader's decoding.
 *
 * Usage: col_dump FILE TREE OUTDIR [BRANCH...]
 *
 * For each BRANCH, OUTDIR/BRANCH.npy holds every value of the tree in
 * entry order: float64 for float branches, int64 for integer and bool
 * branches.  A jagged or fixed-length branch also gets
 * OUTDIR/BRANCH.offsets.npy (int64, entries + 1, from 0): entry e holds
 * values [offsets[e], offsets[e+1]).  OUTDIR/meta.json is always written:
 *   {"entries": N, "fingerprint": "F", "trees": [names...]}
 * with F the decimal rootio_tree_fingerprint() of TREE and trees the
 * paths of every tree in the file (once each).  When TREE is not in the
 * file, entries and fingerprint are null and the exit status is 3, so
 * that a caller can ask whether a tree (such as "Runs") exists.
 *
 * The tree is read in windows of WINDOW entries, as anafs reads it, so
 * that windows cut baskets.  The .npy files are format version 1.0,
 * little-endian, with a 128-byte preamble whose shape is written once the
 * count is known.
 *
 * Exit status: 0; 1 when the file or a branch failed (stderr says which);
 * 2 on bad usage; 3 when TREE is absent. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rootio.h"

#define WINDOW 10007   /* entries per read: prime, so windows cut baskets */
#define NPY_PREAMBLE 128 /* magic, version, header length, header, padding */

/* One .npy file being written: the header is rewritten at the end, when
 * the number of values is known. */
struct npy {
	FILE *f;
	const char *descr; /* "<f8" or "<i8" */
	uint64_t n;
	char path[4096];
};

static int npy_header(struct npy *o)
{
	char h[NPY_PREAMBLE];
	int len;

	memcpy(h, "\x93NUMPY\x01\x00", 8);
	len = snprintf(h + 10, sizeof h - 10,
		       "{'descr': '%s', 'fortran_order': False, 'shape': (%" PRIu64 ",), }",
		       o->descr, o->n);
	if (len < 0 || len >= NPY_PREAMBLE - 11)
		return -1;
	memset(h + 10 + len, ' ', (size_t)(NPY_PREAMBLE - 11 - len));
	h[NPY_PREAMBLE - 1] = '\n';
	h[8] = (char)((NPY_PREAMBLE - 10) & 0xff);
	h[9] = (char)((NPY_PREAMBLE - 10) >> 8);
	if (fseek(o->f, 0, SEEK_SET) || fwrite(h, 1, sizeof h, o->f) != sizeof h)
		return -1;
	return fseek(o->f, 0, SEEK_END);
}

static int npy_open(struct npy *o, const char *dir, const char *name, const char *suffix,
		    const char *descr)
{
	memset(o, 0, sizeof *o);
	o->descr = descr;
	if ((size_t)snprintf(o->path, sizeof o->path, "%s/%s%s", dir, name, suffix) >=
	    sizeof o->path)
		return -1;
	o->f = fopen(o->path, "wb");
	if (!o->f)
		return -1;
	return npy_header(o);
}

/* Finish the file: the header with the final count.  Returns 0 or -1. */
static int npy_close(struct npy *o)
{
	int rc = o->f ? npy_header(o) : -1;

	if (o->f && fclose(o->f))
		rc = -1;
	o->f = NULL;
	return rc;
}

/* Append values [k0, k1) of c, widened to the file's type.  The host is
 * little-endian (x86-64, aarch64), as the "<" of descr says. */
static int npy_append(struct npy *o, const struct rootio_column *c, size_t k0, size_t k1)
{
	double d[512];
	int64_t v[512];

	while (k0 < k1) {
		size_t m = k1 - k0 < 512 ? k1 - k0 : 512;
		for (size_t j = 0; j < m; j++) {
			size_t k = k0 + j;
			switch (c->type) {
			case ROOTIO_F32: d[j] = ((const float *)c->values)[k]; break;
			case ROOTIO_F64: d[j] = ((const double *)c->values)[k]; break;
			case ROOTIO_BOOL:
			case ROOTIO_U8: v[j] = ((const uint8_t *)c->values)[k]; break;
			case ROOTIO_I8: v[j] = ((const int8_t *)c->values)[k]; break;
			case ROOTIO_I16: v[j] = ((const int16_t *)c->values)[k]; break;
			case ROOTIO_U16: v[j] = ((const uint16_t *)c->values)[k]; break;
			case ROOTIO_I32: v[j] = ((const int32_t *)c->values)[k]; break;
			case ROOTIO_U32: v[j] = ((const uint32_t *)c->values)[k]; break;
			case ROOTIO_I64: v[j] = ((const int64_t *)c->values)[k]; break;
			case ROOTIO_U64: v[j] = (int64_t)((const uint64_t *)c->values)[k]; break;
			default: return -1;
			}
		}
		int flt = c->type == ROOTIO_F32 || c->type == ROOTIO_F64;
		if (fwrite(flt ? (void *)d : (void *)v, 8, m, o->f) != m)
			return -1;
		o->n += m;
		k0 += m;
	}
	return 0;
}

static int npy_append_i64(struct npy *o, const int64_t *v, size_t n)
{
	if (fwrite(v, 8, n, o->f) != n)
		return -1;
	o->n += n;
	return 0;
}

/* Dump column name of t into dir.  Returns 0, or 1 after saying why. */
static int dump_branch(struct rootio_tree *t, const char *name, const char *dir)
{
	int i = rootio_tree_find(t, name);
	const struct rootio_branch *b;
	struct rootio_column c;
	struct rootio_err err = {""};
	struct npy vals, offs;
	int64_t n = rootio_tree_entries(t), a = 0, base = 0;
	int listy, rc = 0;

	if (i < 0 || strchr(name, '/')) {
		fprintf(stderr, "col_dump: no branch %s%s\n", name,
			i < 0 ? "" : " (a name with '/' cannot be a file name)");
		return 1;
	}
	b = rootio_tree_column(t, (size_t)i);
	if (b->kind == ROOTIO_STR || b->kind == ROOTIO_UNSUPPORTED) {
		fprintf(stderr, "col_dump: %s is %s, not numbers\n", name, rootio_kind_name(b->kind));
		return 1;
	}
	listy = b->kind != ROOTIO_FLAT;
	memset(&offs, 0, sizeof offs);
	rootio_column_init(&c);
	if (npy_open(&vals, dir, name, ".npy",
		     b->type == ROOTIO_F32 || b->type == ROOTIO_F64 ? "<f8" : "<i8") ||
	    (listy && (npy_open(&offs, dir, name, ".offsets.npy", "<i8") ||
		       npy_append_i64(&offs, &base, 1)))) {
		fprintf(stderr, "col_dump: %s: %s\n", vals.path, strerror(errno));
		rc = 1;
		goto out;
	}
	while (a < n) {
		int64_t e = a + WINDOW < n ? a + WINDOW : n;
		int r = rootio_read(t, (size_t)i, a, e, &c, &err);
		if (r) {
			fprintf(stderr, "col_dump: %s [%" PRId64 ",%" PRId64 "): %s (%s)\n", name,
				a, e, err.msg, rootio_strerror(r));
			rc = 1;
			goto out;
		}
		if (npy_append(&vals, &c, 0, c.nvalues)) {
			rc = 1;
			goto out;
		}
		for (int64_t k = 0; listy && k < c.nentries; k++) {
			int64_t end = base + (c.offsets ? c.offsets[k + 1]
							: (k + 1) * (int64_t)b->fixed_len);
			if (npy_append_i64(&offs, &end, 1)) {
				rc = 1;
				goto out;
			}
		}
		base += (int64_t)c.nvalues;
		a = e;
	}
out:
	if (npy_close(&vals))
		rc = 1;
	if (listy && npy_close(&offs))
		rc = 1;
	rootio_column_free(&c);
	return rc;
}

/* meta.json: entries and fingerprint of t (null without t), the trees. */
static int write_meta(const char *dir, struct rootio_file *f, struct rootio_tree *t)
{
	char path[4096];
	FILE *m;

	snprintf(path, sizeof path, "%s/meta.json", dir);
	m = fopen(path, "w");
	if (!m)
		return -1;
	if (t)
		fprintf(m, "{\"entries\": %" PRId64 ", \"fingerprint\": \"%" PRIu64 "\", ",
			rootio_tree_entries(t), rootio_tree_fingerprint(t));
	else
		fputs("{\"entries\": null, \"fingerprint\": null, ", m);
	fputs("\"trees\": [", m);
	for (size_t i = 0, k = 0; i < rootio_ntrees(f); i++) {
		const char *p = rootio_tree_at(f, i)->path;
		int seen = 0;
		for (size_t j = 0; j < i; j++)
			seen |= !strcmp(rootio_tree_at(f, j)->path, p);
		if (!seen)
			fprintf(m, "%s\"%s\"", k++ ? ", " : "", p); /* ROOT names: no quotes */
	}
	fputs("]}\n", m);
	return fclose(m) ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct rootio_file *f;
	struct rootio_tree *t = NULL;
	struct rootio_err err = {""};
	int rc, bad = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: col_dump FILE TREE OUTDIR [BRANCH...]\n");
		return 2;
	}
	if (mkdir(argv[3], 0755) && errno != EEXIST) {
		fprintf(stderr, "col_dump: %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	rc = rootio_open(argv[1], &f, &err);
	if (rc) {
		fprintf(stderr, "col_dump: %s (%s)\n", err.msg, rootio_strerror(rc));
		return 1;
	}
	int have = 0;
	for (size_t i = 0; i < rootio_ntrees(f); i++)
		have |= !strcmp(rootio_tree_at(f, i)->path, argv[2]);
	if (have) {
		rc = rootio_tree_open(f, argv[2], &t, &err);
		if (rc) {
			fprintf(stderr, "col_dump: %s (%s)\n", err.msg, rootio_strerror(rc));
			rootio_close(f);
			return 1;
		}
	}
	if (write_meta(argv[3], f, t)) {
		fprintf(stderr, "col_dump: %s/meta.json: %s\n", argv[3], strerror(errno));
		bad = 1;
	}
	for (int k = 4; t && k < argc; k++)
		bad |= dump_branch(t, argv[k], argv[3]);
	if (t)
		rootio_tree_close(t);
	rootio_close(f);
	return bad ? 1 : t ? 0 : 3;
}
