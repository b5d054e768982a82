/* rootio_tree.c — the TTree record: TTree, TBranch, TBranchElement and
 * TLeaf as written by ROOT 4 to 6, turned into branches, leaves, basket
 * slots and the readable columns.
 *
 * Field layouts differ between class versions; each is read by the
 * version it says it is, and every record is left at its byte count so
 * that what we do not need is skipped whatever it holds. */
#include "rootio_tree_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ROOT's basic type codes (TVirtualStreamerInfo). */
enum { K_OFFSET_L = 20, K_OFFSET_P = 40 };

static void skip_record(struct stream *s, size_t bare)
{
	size_t end;
	stream_version(s, &end);
	if (end)
		stream_finish(s, end);
	else
		rbuf_skip(&s->b, bare); /* very old records carry no byte count */
}

typedef int (*each_fn)(struct stream *s, const char *cls, size_t end, int64_t tag,
		       struct objref *ref, int index, void *ctx);

/* Walk a TObjArray, calling each() for every entry (null ones skipped). */
static int read_objarray(struct stream *s, each_fn each, void *ctx)
{
	size_t end;
	int v = stream_version(s, &end);
	if (v > 2)
		stream_tobject(s);
	if (v > 1)
		(void)stream_tstring(s);
	int32_t n = rbuf_i32(&s->b);
	rbuf_skip(&s->b, 4); /* fLowerBound */
	if (s->b.bad || n < 0 || (size_t)n > rbuf_left(&s->b) / 4 + 1)
		return -1;
	for (int32_t i = 0; i < n; i++) {
		const char *cls;
		size_t oend;
		struct objref *ref;
		int64_t tag;
		if (stream_object_head(s, &cls, &oend, &ref, &tag))
			return -1;
		if (!cls && !ref)
			continue;
		if (each(s, cls, oend, tag, ref, i, ctx))
			return -1;
		if (cls)
			stream_finish(s, oend);
		if (s->b.bad)
			return -1;
	}
	stream_finish(s, end);
	return s->b.bad ? -1 : 0;
}

/* ---- leaves ---- */

struct leaf_type {
	const char *cls;
	enum rootio_type sig, uns;
	int size;
	enum enc enc;
};

static const struct leaf_type leaf_types[] = {
	{"TLeafO", ROOTIO_BOOL, ROOTIO_BOOL, 1, ENC_PLAIN},
	{"TLeafB", ROOTIO_I8, ROOTIO_U8, 1, ENC_PLAIN},
	{"TLeafS", ROOTIO_I16, ROOTIO_U16, 2, ENC_PLAIN},
	{"TLeafI", ROOTIO_I32, ROOTIO_U32, 4, ENC_PLAIN},
	{"TLeafL", ROOTIO_I64, ROOTIO_U64, 8, ENC_PLAIN},
	{"TLeafG", ROOTIO_I64, ROOTIO_U64, 8, ENC_PLAIN},
	{"TLeafF", ROOTIO_F32, ROOTIO_F32, 4, ENC_PLAIN},
	{"TLeafD", ROOTIO_F64, ROOTIO_F64, 8, ENC_PLAIN},
	{"TLeafF16", ROOTIO_F32, ROOTIO_F32, 4, ENC_FLOAT16},
	{"TLeafD32", ROOTIO_F64, ROOTIO_F64, 4, ENC_DOUBLE32},
	{"TLeafC", ROOTIO_STRING, ROOTIO_STRING, 1, ENC_STRING},
};

/* Types by ROOT's basic type code, for TLeafElement. */
static void element_type(struct leaf *l, int code)
{
	static const struct {
		enum rootio_type t;
		int size;
		enum enc enc;
	} basic[] = {
		[1] = {ROOTIO_I8, 1, ENC_PLAIN},    [2] = {ROOTIO_I16, 2, ENC_PLAIN},
		[3] = {ROOTIO_I32, 4, ENC_PLAIN},   [4] = {ROOTIO_I64, 8, ENC_PLAIN},
		[5] = {ROOTIO_F32, 4, ENC_PLAIN},   [6] = {ROOTIO_I32, 4, ENC_PLAIN},
		[8] = {ROOTIO_F64, 8, ENC_PLAIN},   [9] = {ROOTIO_F64, 4, ENC_DOUBLE32},
		[11] = {ROOTIO_U8, 1, ENC_PLAIN},   [12] = {ROOTIO_U16, 2, ENC_PLAIN},
		[13] = {ROOTIO_U32, 4, ENC_PLAIN},  [14] = {ROOTIO_U64, 8, ENC_PLAIN},
		[15] = {ROOTIO_U32, 4, ENC_PLAIN},  [16] = {ROOTIO_I64, 8, ENC_PLAIN},
		[17] = {ROOTIO_U64, 8, ENC_PLAIN},  [18] = {ROOTIO_BOOL, 1, ENC_PLAIN},
		[19] = {ROOTIO_F32, 4, ENC_FLOAT16},
	};
	int base = code % 20, off = code - base;
	if (code <= 0 || code >= 60 || base >= 20 || basic[base].size == 0 ||
	    (off == K_OFFSET_P && !l->count)) {
		l->unsupported = "object member of a type anafs does not decode";
		return;
	}
	l->type = basic[base].t;
	l->size = basic[base].size;
	l->enc = basic[base].enc;
	if (off == K_OFFSET_P)
		l->header = 1; /* each entry starts with a byte saying "array follows" */
}

/* Float16_t / Double32_t ranges from the title, as TStreamerElement::GetRange. */
static double range_value(const char *s, size_t n)
{
	char buf[64];
	size_t k = 0;
	for (size_t i = 0; i < n && k < sizeof(buf) - 1; i++)
		if (s[i] != ' ')
			buf[k++] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	buf[k] = 0;
	const double pi = 3.14159265358979323846;
	if (strstr(buf, "pi")) {
		if (!strcmp(buf, "2pi") || !strcmp(buf, "2*pi") || !strcmp(buf, "twopi"))
			return 2 * pi;
		if (!strcmp(buf, "-2pi") || !strcmp(buf, "-2*pi") || !strcmp(buf, "-twopi"))
			return -2 * pi;
		if (!strcmp(buf, "pi/2"))
			return pi / 2;
		if (!strcmp(buf, "-pi/2"))
			return -pi / 2;
		if (!strcmp(buf, "pi/4"))
			return pi / 4;
		if (!strcmp(buf, "-pi/4"))
			return -pi / 4;
		return buf[0] == '-' ? -pi : pi;
	}
	return strtod(buf, NULL);
}

static void parse_range(struct leaf *l)
{
	const char *t = l->title;
	l->factor = 0;
	l->xmin = 0;
	l->nbits = 0;
	const char *left = strchr(t, '['), *right, *comma;
	if (!left || !(right = strchr(left, ']')))
		return;
	comma = strchr(left, ',');
	if (!comma || comma > right) { /* the first bracket was a dimension */
		if (!(left = strchr(right, '[')) || !(right = strchr(left, ']')))
			return;
		comma = strchr(left, ',');
		if (!comma || comma > right)
			return;
	}
	const char *comma2 = strchr(comma + 1, ',');
	int nbits = 32;
	if (comma2 && comma2 < right) {
		nbits = atoi(comma2 + 1);
		if (nbits < 2 || nbits > 32)
			nbits = 32;
		right = comma2;
	}
	double xmin = range_value(left + 1, (size_t)(comma - left - 1));
	double xmax = range_value(comma + 1, (size_t)(right - comma - 1));
	double bigint = nbits < 32 ? (double)(1u << nbits) : 4294967295.0;
	if (xmin < xmax)
		l->factor = bigint / (xmax - xmin);
	l->xmin = xmin;
	if (xmin >= xmax && nbits < 15)
		l->nbits = nbits;
}

static int parse_leaf(struct stream *s, const char *cls, int64_t tag, struct leaf **out);

static void leaf_count_ref(struct stream *s, struct leaf *l)
{
	const char *cls;
	size_t end;
	struct objref *ref;
	int64_t tag;
	if (stream_object_head(s, &cls, &end, &ref, &tag)) {
		s->b.bad = true;
		return;
	}
	if (cls) { /* the counter leaf, written here the first time it is met */
		struct leaf *c = NULL;
		if (s->depth > ROOTIO_MAX_DEPTH || parse_leaf(s, cls, tag, &c)) {
			s->b.bad = true;
			return;
		}
		stream_finish(s, end);
		l->count = c;
	} else if (ref && ref->obj && ref->classname && !strncmp(ref->classname, "TLeaf", 5)) {
		l->count = ref->obj;
	}
}

static int parse_leaf(struct stream *s, const char *cls, int64_t tag, struct leaf **out)
{
	struct leaf *l = arena_alloc(s->arena, sizeof(*l));
	if (!l)
		return -1;
	l->classname = (char *)cls;
	l->column = -1;
	stream_register(s, tag, cls, l);
	s->depth++;
	size_t end, lend;
	stream_version(s, &end);
	stream_version(s, &lend); /* TLeaf */
	stream_tnamed(s, &l->name, &l->title);
	l->len = rbuf_i32(&s->b);
	rbuf_skip(&s->b, 8); /* fLenType, fOffset */
	rbuf_skip(&s->b, 1); /* fIsRange */
	l->is_unsigned = rbuf_u8(&s->b) != 0;
	leaf_count_ref(s, l);
	stream_finish(s, lend);
	int elem = 0;
	if (!strcmp(cls, "TLeafElement")) {
		rbuf_skip(&s->b, 4); /* fID */
		elem = rbuf_i32(&s->b);
	}
	stream_finish(s, end);
	s->depth--;
	if (s->b.bad)
		return -1;
	if (l->len < 0 || l->len > (1 << 24))
		return -1;
	if (l->len == 0)
		l->len = 1;
	if (elem) {
		element_type(l, elem);
		static const enum rootio_type uns[] = {
			[ROOTIO_I8] = ROOTIO_U8, [ROOTIO_I16] = ROOTIO_U16,
			[ROOTIO_I32] = ROOTIO_U32, [ROOTIO_I64] = ROOTIO_U64,
		};
		if (l->is_unsigned && l->type <= ROOTIO_I64 && uns[l->type])
			l->type = uns[l->type];
	} else {
		const struct leaf_type *lt = NULL;
		for (size_t i = 0; i < sizeof(leaf_types) / sizeof(leaf_types[0]); i++)
			if (!strcmp(leaf_types[i].cls, cls))
				lt = &leaf_types[i];
		if (lt) {
			l->type = l->is_unsigned ? lt->uns : lt->sig;
			l->size = lt->size;
			l->enc = lt->enc;
			if (l->enc == ENC_FLOAT16 || l->enc == ENC_DOUBLE32)
				parse_range(l);
			if (l->enc == ENC_FLOAT16 && l->factor == 0 && l->nbits == 0)
				l->nbits = 12; /* Float16_t's default */
			if (l->nbits)
				l->size = 3; /* an exponent byte and a 16-bit mantissa */
		} else {
			l->unsupported = "leaf class anafs does not decode";
		}
	}
	*out = l;
	return 0;
}

/* ---- branches ---- */

struct branch_ctx {
	struct rootio_tree *t;
	struct branch *br;
	const char *prefix;
	int64_t *basket_entry;
	int max_baskets;
};

static int parse_branch(struct stream *s, struct rootio_tree *t, const char *cls,
			const char *prefix);

static int each_subbranch(struct stream *s, const char *cls, size_t end, int64_t tag,
			  struct objref *ref, int index, void *ctx)
{
	struct branch_ctx *c = ctx;
	if (!cls)
		return 0;
	stream_register(s, tag, cls, NULL);
	if (s->depth > ROOTIO_MAX_DEPTH)
		return -1;
	return parse_branch(s, c->t, cls, c->br->path);
}

static int each_leaf(struct stream *s, const char *cls, size_t end, int64_t tag,
		     struct objref *ref, int index, void *ctx)
{
	struct branch_ctx *c = ctx;
	struct leaf *l = NULL;
	if (cls) {
		if (strncmp(cls, "TLeaf", 5))
			return -1;
		if (parse_leaf(s, cls, tag, &l))
			return -1;
	} else if (ref->obj && ref->classname && !strncmp(ref->classname, "TLeaf", 5)) {
		l = ref->obj;
	} else {
		return 0;
	}
	if (c->br->nleaves >= 4096)
		return -1;
	struct leaf **v = arena_alloc(s->arena, (size_t)(c->br->nleaves + 1) * sizeof(*v));
	if (!v)
		return -1;
	if (c->br->nleaves)
		memcpy(v, c->br->leaves, (size_t)c->br->nleaves * sizeof(*v));
	v[c->br->nleaves++] = l;
	c->br->leaves = v;
	l->branch = c->br;
	return 0;
}

struct emb_list {
	struct embedded *emb;
	int index;
	struct emb_list *next;
};

static int each_basket(struct stream *s, const char *cls, size_t end, int64_t tag,
		       struct objref *ref, int index, void *ctx)
{
	struct emb_list **head = ctx;
	if (!cls)
		return 0;
	stream_register(s, tag, cls, NULL);
	if (strcmp(cls, "TBasket"))
		return 0;
	struct embedded *e = rootio_parse_embedded(s);
	if (!e)
		return -1;
	struct emb_list *n = arena_alloc(s->arena, sizeof(*n));
	if (!n)
		return -1;
	n->emb = e;
	n->index = index;
	/* Keep them in array order. */
	struct emb_list **p = head;
	while (*p)
		p = &(*p)->next;
	*p = n;
	return 0;
}

/* Read an optional array written as a presence byte and then n numbers. */
static int64_t *read_seek_array(struct stream *s, int n, int width)
{
	int64_t *v = arena_alloc(s->arena, (size_t)(n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	if (!rbuf_u8(&s->b))
		return v;
	if ((size_t)n > rbuf_left(&s->b) / (size_t)width) {
		s->b.bad = true;
		return v;
	}
	for (int i = 0; i < n; i++)
		v[i] = width == 8 ? rbuf_i64(&s->b) : rbuf_i32(&s->b);
	return v;
}

/* A TBranchElement's own fields after its TBranch part. */
static void parse_element_tail(struct stream *s, struct branch *br, int v)
{
	(void)stream_tstring(s); /* fClassName */
	if (v > 8)
		(void)stream_tstring(s); /* fParentName */
	(void)stream_tstring(s);         /* fClonesName */
	rbuf_skip(&s->b, 4);             /* fCheckSum */
	rbuf_skip(&s->b, v >= 10 ? 2 : 4); /* fClassVersion */
	rbuf_skip(&s->b, 4);             /* fID */
	br->elem_type = rbuf_i32(&s->b);
	br->streamer_type = rbuf_i32(&s->b);
}

static int add_branch(struct rootio_tree *t, struct branch *br)
{
	if (t->nbranches >= (int)ROOTIO_MAX_BRANCHES)
		return -1;
	if (t->nbranches == t->capb) {
		int cap = t->capb ? 2 * t->capb : 64;
		struct branch **v = realloc(t->branches, (size_t)cap * sizeof(*v));
		if (!v)
			return -1;
		t->branches = v;
		t->capb = cap;
	}
	br->index = t->nbranches;
	t->branches[t->nbranches++] = br;
	return 0;
}

static int make_slots(struct stream *s, struct branch *br, int write_basket, int max_baskets,
		      const int64_t *bytes, const int64_t *entry, const int64_t *seek,
		      struct emb_list *emb);

static int parse_branch(struct stream *s, struct rootio_tree *t, const char *cls,
			const char *prefix)
{
	struct branch *br = arena_alloc(s->arena, sizeof(*br));
	if (!br || add_branch(t, br))
		return -1;
	br->classname = (char *)cls;
	bool plain = !strcmp(cls, "TBranch");
	s->depth++;
	size_t outer = 0;
	int ov = 0;
	if (!plain)
		ov = stream_version(s, &outer);
	size_t end;
	int v = stream_version(s, &end);
	br->version = v;
	stream_tnamed(s, &br->name, &br->title);
	size_t n = strlen(prefix) + strlen(br->name) + 2;
	br->path = arena_alloc(s->arena, n);
	if (!br->path)
		return -1;
	snprintf(br->path, n, "%s%s%s", prefix, *prefix ? "/" : "", br->name);
	skip_record(s, 4); /* TAttFill */
	rbuf_skip(&s->b, 8); /* fCompress, fBasketSize */
	br->entry_offset_len = rbuf_i32(&s->b);
	int write_basket = rbuf_i32(&s->b);
	rbuf_skip(&s->b, v >= 10 ? 8 : 4); /* fEntryNumber */
	if (v >= 13)
		skip_record(s, 0); /* fIOFeatures */
	rbuf_skip(&s->b, 4); /* fOffset */
	int max_baskets = rbuf_i32(&s->b);
	if (v >= 7)
		rbuf_skip(&s->b, 4); /* fSplitLevel */
	if (v >= 10) {
		br->entries = rbuf_i64(&s->b);
		if (v >= 11)
			rbuf_skip(&s->b, 8); /* fFirstEntry */
		br->tot_bytes = rbuf_i64(&s->b);
		br->zip_bytes = rbuf_i64(&s->b);
	} else {
		br->entries = (int64_t)rbuf_f64(&s->b);
		br->tot_bytes = (int64_t)rbuf_f64(&s->b);
		br->zip_bytes = (int64_t)rbuf_f64(&s->b);
	}
	if (s->b.bad || max_baskets < 0 || max_baskets > (1 << 24) || write_basket < 0 ||
	    write_basket > max_baskets || br->entries < 0)
		return -1;
	struct branch_ctx c = {.t = t, .br = br};
	struct emb_list *emb = NULL;
	if (read_objarray(s, each_subbranch, &c) || read_objarray(s, each_leaf, &c) ||
	    read_objarray(s, each_basket, &emb))
		return -1;
	int64_t *bytes = read_seek_array(s, max_baskets, 4);
	int64_t *entry = read_seek_array(s, max_baskets, v >= 10 ? 8 : 4);
	size_t at = s->b.pos;
	int64_t *seek = read_seek_array(s, max_baskets, 8);
	if (v < 10 && end) { /* ROOT 4 may hold 32-bit seeks: take what ends the record */
		(void)stream_tstring(s);
		if (s->b.pos != end) {
			s->b.pos = at;
			s->b.bad = false;
			seek = read_seek_array(s, max_baskets, 4);
		}
	}
	if (!bytes || !entry || !seek || s->b.bad)
		return -1;
	stream_finish(s, end);
	if (!strcmp(cls, "TBranchElement") && ov >= 8)
		parse_element_tail(s, br, ov);
	else if (!plain)
		br->unsupported = "object branch (not a plain TBranch)";
	stream_finish(s, outer);
	s->depth--;
	if (s->b.bad)
		return -1;
	return make_slots(s, br, write_basket, max_baskets, bytes, entry, seek, emb);
}

static int make_slots(struct stream *s, struct branch *br, int write_basket, int max_baskets,
		      const int64_t *bytes, const int64_t *entry, const int64_t *seek,
		      struct emb_list *emb)
{
	int n = 0;
	for (struct emb_list *e = emb; e; e = e->next)
		n++;
	n += write_basket;
	br->slots = arena_alloc(s->arena, (size_t)(n + 1) * sizeof(*br->slots));
	br->starts = arena_alloc(s->arena, (size_t)(n + 1) * sizeof(*br->starts));
	br->locs = arena_alloc(s->arena, (size_t)(n + 1) * sizeof(*br->locs));
	if (!br->slots || !br->starts || !br->locs)
		return -1;
	int k = 0;
	for (int i = 0; i < write_basket; i++) {
		if (seek[i] <= 0 || bytes[i] <= 0)
			continue;
		br->slots[k] = (struct basket_slot){.seek = (uint64_t)seek[i], .nbytes = (uint32_t)bytes[i]};
		br->starts[k++] = entry[i];
	}
	for (struct emb_list *e = emb; e; e = e->next) {
		if (e->emb->nevbuf <= 0)
			continue;
		int64_t start = k ? br->starts[k - 1] : 0;
		if (e->index < max_baskets && (e->index > 0 || entry[0] == 0))
			start = entry[e->index];
		br->slots[k] = (struct basket_slot){.emb = e->emb};
		br->starts[k++] = start;
	}
	br->nbaskets = k;
	br->starts[k] = br->entries;
	for (int i = 0; i < k; i++) {
		br->locs[i] = (struct rootio_basket_loc){br->slots[i].seek, br->slots[i].nbytes};
		if (br->starts[i] < 0 || br->starts[i] > br->starts[i + 1])
			return -1;
	}
	return 0;
}

/* ---- the tree ---- */

static int each_top_branch(struct stream *s, const char *cls, size_t end, int64_t tag,
			   struct objref *ref, int index, void *ctx)
{
	if (!cls)
		return 0;
	stream_register(s, tag, cls, NULL);
	return parse_branch(s, ctx, cls, "");
}

static int skip_any(struct stream *s, const char *cls, size_t end, int64_t tag,
		    struct objref *ref, int index, void *ctx)
{
	if (cls)
		stream_register(s, tag, cls, NULL);
	return 0;
}

/* Fields of TTree between TAttMarker and fBranches, by class version. */
static int tree_fields(struct stream *s, int v, int64_t *entries)
{
	struct rbuf *b = &s->b;
	if (v < 5)
		return -1;
	if (v < 16) { /* ROOT 4 and early 5: Stat_t counts, Int_t settings */
		*entries = (int64_t)rbuf_f64(b);
		rbuf_skip(b, 3 * 8); /* fTotBytes, fZipBytes, fSavedBytes */
		if (v >= 6)
			rbuf_skip(b, 8); /* fWeight */
		rbuf_skip(b, 7 * 4); /* fTimerInterval ... fEstimate */
		return 0;
	}
	*entries = rbuf_i64(b);
	rbuf_skip(b, 3 * 8); /* fTotBytes, fZipBytes, fSavedBytes */
	if (v >= 18)
		rbuf_skip(b, 8); /* fFlushedBytes */
	rbuf_skip(b, 8 + 3 * 4); /* fWeight, fTimerInterval, fScanField, fUpdate */
	if (v >= 17)
		rbuf_skip(b, 4); /* fDefaultEntryOffsetLen */
	int nclus = 0;
	if (v >= 19)
		nclus = rbuf_i32(b);
	rbuf_skip(b, 5 * 8); /* fMaxEntries .. fAutoSave, fEstimate */
	if (v >= 18)
		rbuf_skip(b, 8); /* fAutoFlush */
	if (v >= 19) {
		if (nclus < 0 || nclus > (1 << 20))
			return -1;
		for (int i = 0; i < 2; i++) /* fClusterRangeEnd, fClusterSize */
			if (rbuf_u8(b))
				rbuf_skip(b, (size_t)nclus * 8);
	}
	if (v >= 20)
		skip_record(s, 0); /* fIOFeatures */
	return b->bad ? -1 : 0;
}

static int build_columns(struct rootio_tree *t);

int rootio_parse_tree(struct rootio_tree *t, const uint8_t *obj, size_t len, int64_t origin,
		      const char *classname, struct rootio_err *err)
{
	struct stream s = {.arena = t->arena};
	rbuf_init(&s.b, obj, len, origin);
	size_t nend = 0, end;
	if (strcmp(classname, "TTree"))
		stream_version(&s, &nend); /* TNtuple wraps a TTree */
	int v = stream_version(&s, &end);
	stream_tnamed(&s, &t->name, &t->title);
	skip_record(&s, 6);  /* TAttLine */
	skip_record(&s, 4);  /* TAttFill */
	skip_record(&s, 8);  /* TAttMarker */
	int rc = ROOTIO_ECORRUPT;
	const char *what = "header fields";
	if (tree_fields(&s, v, &t->entries) || t->entries < 0)
		goto out;
	what = "branches";
	if (read_objarray(&s, each_top_branch, t))
		goto out;
	what = "leaves";
	if (read_objarray(&s, skip_any, NULL))
		goto out;
	rc = build_columns(t) ? -ENOMEM : 0;
out:
	free(s.refs);
	if (rc == ROOTIO_ECORRUPT)
		return rootio_fail(err, rc, "TTree '%s' (class version %d): %s are corrupt near byte %zu",
				   t->name ? t->name : "?", v, what, s.b.pos);
	return rc;
}

/* ---- columns ---- */

static void fill_column(struct rootio_tree *t, struct column *c, struct branch *br,
			struct leaf *l, const char *name)
{
	c->branch = br;
	c->leaf = l;
	c->pub.name = name;
	c->pub.title = l ? l->title : br->title;
	c->pub.leafclass = l ? l->classname : "";
	c->pub.counter = -1;
	c->pub.entries = br->entries;
	c->pub.tot_bytes = br->tot_bytes;
	c->pub.zip_bytes = br->zip_bytes;
	c->pub.nbaskets = br->nbaskets;
	c->pub.fixed_len = 1;
	if (!l) {
		c->pub.kind = ROOTIO_UNSUPPORTED;
		c->pub.note = br->unsupported ? br->unsupported : "branch without leaves";
		return;
	}
	c->pub.type = l->type;
	c->pub.fixed_len = l->len;
	if (l->unsupported || br->unsupported) {
		c->pub.kind = ROOTIO_UNSUPPORTED;
		c->pub.note = l->unsupported ? l->unsupported : br->unsupported;
	} else if (l->enc == ENC_STRING) {
		c->pub.kind = ROOTIO_STR;
	} else if (l->count) {
		c->pub.kind = ROOTIO_JAGGED;
	} else {
		c->pub.kind = l->len > 1 ? ROOTIO_FIXED : ROOTIO_FLAT;
	}
	l->column = (int)(c - t->columns);
}

/* Plain branches whose leaves are fixed-size numbers get one column per
 * leaf; element branches are readable when they hold a basic type. */
static void element_support(struct branch *br)
{
	if (br->unsupported || !!strcmp(br->classname, "TBranchElement"))
		return;
	if (br->nleaves != 1)
		br->unsupported = "object branch";
	else if (br->elem_type != 0 && br->elem_type != 2 && br->elem_type != -1)
		br->unsupported = "member of a collection (TClonesArray or STL)";
	else if (br->leaves[0]->unsupported)
		br->unsupported = br->leaves[0]->unsupported;
}

static int build_columns(struct rootio_tree *t)
{
	int n = 0;
	for (int i = 0; i < t->nbranches; i++)
		n += t->branches[i]->nleaves > 1 ? t->branches[i]->nleaves : 1;
	t->columns = arena_alloc(t->arena, (size_t)(n + 1) * sizeof(*t->columns));
	t->cache = calloc((size_t)t->nbranches + 1, sizeof(*t->cache));
	if (!t->columns || !t->cache)
		return -1;
	for (int i = 0; i < t->nbranches; i++)
		t->cache[i].slot = -1;
	int k = 0;
	for (int i = 0; i < t->nbranches; i++) {
		struct branch *br = t->branches[i];
		element_support(br);
		if (br->nleaves <= 1) {
			fill_column(t, &t->columns[k++], br, br->nleaves ? br->leaves[0] : NULL,
				    br->path);
			continue;
		}
		/* A leaf list: records of every leaf side by side. */
		int offset = 0;
		for (int j = 0; j < br->nleaves; j++) {
			struct leaf *l = br->leaves[j];
			size_t len = strlen(br->path) + strlen(l->name) + 2;
			char *name = arena_alloc(t->arena, len);
			if (!name)
				return -1;
			snprintf(name, len, "%s.%s", br->path, l->name);
			l->offset = offset;
			offset += l->size * l->len;
			if (l->count || l->enc != ENC_PLAIN)
				l->unsupported = "leaf list with a variable-size leaf";
			fill_column(t, &t->columns[k++], br, l, name);
		}
		br->record = offset;
	}
	t->ncolumns = k;
	for (int i = 0; i < k; i++) {
		struct column *c = &t->columns[i];
		if (c->pub.kind != ROOTIO_JAGGED)
			continue;
		c->pub.counter = c->leaf->count->column;
		if (c->pub.counter < 0 ||
		    t->columns[c->pub.counter].pub.kind != ROOTIO_FLAT) {
			c->pub.kind = ROOTIO_UNSUPPORTED;
			c->pub.note = "its counter leaf is not readable";
			c->pub.counter = -1;
		}
	}
	return 0;
}
