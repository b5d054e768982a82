/* test_result.c — a job's result and its one codec: results shaped by
 * real queries round-trip byte for byte, the layout is the documented one,
 * old versions still decode, and every damaged, truncated or misfitting
 * encoding is refused with the result left as it was; merging, the cutflow
 * text and the memory estimate against hand-worked values. */
#include "result.h"

#include "ana_err.h"
#include "le.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "check.h"

#define D "dataset x.root\n"

/* Queries shaped like real ones; parsing alone gives a result's shape. */
static const char Q_1D[] = D "filter trig: HLT\n"
			     "hist mass = MET_pt bins=10 range=0,100 label=\"m [GeV]\"\n";
static const char Q_2D[] = D "filter a: HLT\nfilter b: nJet > 1\n"
			     "hist pt_eta = Jet_pt, Jet_eta bins=4,3 range=0,200,-2.4,2.4\n";
static const char Q_VAR[] = D "hist phi = Muon_phi edges=-pi,-1,0,1,pi\n"
			      "hist v2 = MET_pt, nJet xedges=0,10,100 yedges=0,1,2,5\n";
static const char Q_W[] = D "filter HLT\nhist w1 = MET_pt bins=5 range=0,50 weight=genWeight\n"
			    "hist w2 = MET_pt, nJet bins=2,2 range=0,1,0,1 weight=genWeight\n";
static const char Q_MANY[] = D "define good = Muon_pt > 5\nfilter twomu: sum(good) == 2\n"
			       "hist a = MET_pt bins=3 range=0,3\nfilter opposite: HLT\n"
			       "hist b = MET_pt bins=2 range=0,1 weight=w\nhist c = nJet edges=0,1,5\n";
static const char Q_EMPTY[] = D;
static const char *const all_queries[] = {Q_1D, Q_2D, Q_VAR, Q_W, Q_MANY, Q_EMPTY};
#define NQUERIES (sizeof(all_queries) / sizeof(all_queries[0]))

/* Shapes that each differ from one above in one way only. */
static const char Q_2D_T[] = D "filter a: HLT\nfilter b: nJet > 1\n" /* bins=3,4: as many cells */
			       "hist pt_eta = Jet_pt, Jet_eta bins=3,4 range=0,200,-2.4,2.4\n";
static const char Q_1D_RANGE[] = D "filter trig: HLT\nhist mass = MET_pt bins=10 range=0,200\n";
static const char Q_1D_VAR[] = D "filter trig: HLT\n" /* ten variable bins */
				 "hist mass = MET_pt edges=0,10,20,30,40,50,60,70,80,90,100\n";
static const char Q_1D_W[] = D "filter trig: HLT\nhist mass = MET_pt bins=10 range=0,100 weight=w\n";
static const char Q_1D_BINS[] = D "filter trig: HLT\nhist mass = MET_pt bins=11 range=0,100\n";
static const char Q_1D_2F[] = D "filter trig: HLT\nfilter HLT\nhist mass = MET_pt bins=10 range=0,100\n";
static const char Q_1D_2H[] = D "filter trig: HLT\nhist mass = MET_pt bins=10 range=0,100\n"
				"hist more = MET_pt bins=10 range=0,100\n";

/* The result q shapes, empty; exits on a query that does not parse. */
static struct result *shaped(const char *q)
{
	struct ql_query *p = NULL;
	struct ql_error err;
	struct result *r = NULL;
	if (ql_parse(q, strlen(q), "t.query", &p, &err) || result_new(p, &r)) {
		fprintf(stderr, "query refused:\n%s\n%s", q, err.text);
		exit(1);
	}
	ql_free(p);
	return r;
}

static uint64_t rng_state;

static double uniform(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* A value on axis a of h, a tenth of the range beyond either end at most. */
static double on_axis(const struct hist *h, int a)
{
	double lo = hist_edge(h, a, 1), hi = hist_edge(h, a, hist_nbins(h, a) + 1);
	return lo + (hi - lo) * (1.2 * uniform() - 0.1);
}

/* Contents as a job would leave them: a cutflow that only falls, and
 * fills in every histogram (one NaN each, skipped), from seed. */
static void fill(struct result *r, uint64_t seed)
{
	rng_state = 0x9E3779B97F4A7C15ull ^ seed;
	r->events = 1000 + (int64_t)seed;
	int64_t prev = r->events;
	for (size_t f = 0; f < r->nfilters; f++)
		r->passed[f] = prev = prev * 3 / 4;
	for (size_t i = 0; i < r->nhists; i++) {
		struct hist *h = r->hists[i];
		double x[64], y[64], w[64];
		for (int k = 0; k < 64; k++) {
			x[k] = on_axis(h, 0);
			y[k] = hist_ndim(h) == 2 ? on_axis(h, 1) : 0;
			w[k] = 2 * uniform() - 0.5;
		}
		x[7] = NAN;
		if (hist_ndim(h) == 1)
			hist_fill1(h, x, hist_weighted(h) ? w : NULL, 64);
		else
			hist_fill2(h, x, y, hist_weighted(h) ? w : NULL, 64);
	}
}

static unsigned char *enc(const struct result *r, size_t *len)
{
	void *b = NULL;
	CHECK_EQ_I(result_encode(r, &b, len), 0);
	if (!b)
		exit(1);
	return b;
}

/* Whether r encodes to exactly want (len bytes). */
static bool encodes_to(const struct result *r, const unsigned char *want, size_t len)
{
	size_t n = 0;
	unsigned char *b = enc(r, &n);
	bool same = n == len && !memcmp(b, want, len);
	free(b);
	return same;
}

/* Decoding b into r must be refused, and leave r as it was. */
static void refused_(int at, struct result *r, const unsigned char *b, size_t len, const char *what)
{
	size_t n0 = 0;
	unsigned char *before = enc(r, &n0);
	int rc = result_decode(r, b, len);
	if (rc != ANA_ECORRUPT || !encodes_to(r, before, n0)) {
		fprintf(stderr, "%s:%d: %s: decode gave %d (want %d), result %s\n", __FILE__, at, what,
			rc, ANA_ECORRUPT, encodes_to(r, before, n0) ? "unchanged" : "changed");
		failures++;
	}
	free(before);
}
#define REFUSED(r, b, len, what) refused_(__LINE__, r, b, len, what)

/* Length and checksum made right again, so that only the field a test
 * damaged can refuse the bytes. */
static void reseal(unsigned char *b, size_t len)
{
	le_put64(b + 8, len);
	le_put64(b + 16, XXH64(b + 24, len - 24, 0));
}

static bool same_contents(const struct result *a, const struct result *b)
{
	if (a->nhists != b->nhists || a->nfilters != b->nfilters || a->events != b->events)
		return false;
	for (size_t f = 0; f < a->nfilters; f++)
		if (a->passed[f] != b->passed[f])
			return false;
	for (size_t i = 0; i < a->nhists; i++) {
		const struct hist *x = a->hists[i], *y = b->hists[i];
		if (hist_entries(x) != hist_entries(y) || hist_skipped(x) != hist_skipped(y))
			return false;
		int ny = hist_ndim(x) == 2 ? hist_nbins(x, 1) + 2 : 1;
		for (int ix = 0; ix < hist_nbins(x, 0) + 2; ix++)
			for (int iy = 0; iy < ny; iy++)
				if (hist_value(x, ix, iy) != hist_value(y, ix, iy) ||
				    hist_variance(x, ix, iy) != hist_variance(y, ix, iy))
					return false;
	}
	return true;
}

/* ---- round trips and the layout ---- */

static void test_round_trips(void)
{
	for (size_t i = 0; i < NQUERIES; i++) {
		struct result *r = shaped(all_queries[i]), *back = shaped(all_queries[i]);
		fill(r, i);
		fill(back, 100 + i); /* decoding replaces contents, never adds */
		size_t n1 = 0, n2 = 0;
		unsigned char *b1 = enc(r, &n1), *b2 = enc(r, &n2);
		CHECK(n1 == n2 && !memcmp(b1, b2, n1));
		CHECK_EQ_I(result_decode(back, b1, n1), 0);
		CHECK(same_contents(r, back));
		CHECK(encodes_to(back, b1, n1));
		free(b1);
		free(b2);
		result_free(r);
		result_free(back);
	}
	/* An empty query: the header and nothing else. */
	struct result *r = shaped(Q_EMPTY);
	size_t n = 0;
	unsigned char *b = enc(r, &n);
	CHECK_EQ_I(n, 48);
	r->events = 5;
	CHECK_EQ_I(result_decode(r, b, n), 0);
	CHECK_EQ_I(r->events, 0);
	free(b);
	result_free(r);
}

/* The hash of one 1-D histogram's shape below, pinned: results stored by
 * one version are decoded by the next only while hist_shape_id() and its
 * folding stay the same. */
#define TINY_SHAPE 0x6947b3c2b16501aaull

/* The bytes of a small result, field by field as result.h lays them out. */
static void test_layout(void)
{
	struct result *r = shaped(D "filter HLT\nhist h = MET_pt bins=1 range=0,1\n");
	r->events = 7;
	r->passed[0] = 5;
	const double x[] = {0.5, 0.5, -1, NAN, 2.5};
	hist_fill1(r->hists[0], x, NULL, 5);
	size_t n = 0;
	unsigned char *b = enc(r, &n);
	unsigned char want[112];
	memcpy(want, "ANRS\x03\x00\x00\x00", 8); /* magic, version 3, flags 0 */
	le_put64(want + 8, sizeof(want));
	le_put32(want + 24, 1);            /* filters */
	le_put32(want + 28, 1);            /* histograms */
	le_put64(want + 32, 7);            /* events */
	le_put64(want + 40, TINY_SHAPE);
	le_put64(want + 48, 5);            /* passed */
	le_put64(want + 56, 0x3154534800000000ull); /* "HST1", unweighted */
	le_put64(want + 64, 3);            /* cells */
	le_put64(want + 72, 1);            /* skipped */
	le_put64(want + 80, 4);            /* entries */
	le_put64(want + 88, 1);            /* underflow */
	le_put64(want + 96, 2);
	le_put64(want + 104, 1);           /* overflow */
	le_put64(want + 16, XXH64(want + 24, sizeof(want) - 24, 0));
	CHECK_EQ_I(n, sizeof(want));
	if (n == sizeof(want) && memcmp(b, want, n)) {
		for (size_t i = 0; i < n; i++)
			if (b[i] != want[i])
				fprintf(stderr, "layout: byte %zu is 0x%02x, expected 0x%02x\n", i, b[i], want[i]);
		failures++;
	}
	free(b);
	result_free(r);
}

/* Version 1 (anafs 0.1) and version 2 bytes still decode. */
static void test_old_versions(void)
{
	struct result *r = shaped(Q_W), *back = shaped(Q_W);
	fill(r, 3);
	size_t n = 0;
	unsigned char *v3 = enc(r, &n);
	/* Version 1: u64 fields, the same passed counts and histogram blocks. */
	size_t n1 = 32 + (n - 48);
	unsigned char *v1 = malloc(n1);
	le_put64(v1, 0x31535645u);
	le_put64(v1 + 8, r->nfilters);
	le_put64(v1 + 16, r->nhists);
	le_put64(v1 + 24, (uint64_t)r->events);
	memcpy(v1 + 32, v3 + 48, n - 48);
	CHECK_EQ_I(result_decode(back, v1, n1), 0);
	CHECK(same_contents(r, back));
	CHECK(encodes_to(back, v3, n));
	for (size_t k = 0; k < n1; k++)
		REFUSED(back, v1, k, "a truncated version 1");
	le_put64(v1 + 8, r->nfilters + 1);
	REFUSED(back, v1, n1, "version 1 with another filter count");
	le_put64(v1 + 8, r->nfilters);
	le_put64(v1 + 16, r->nhists - 1);
	REFUSED(back, v1, n1, "version 1 with another histogram count");
	/* Version 2: no shape field. */
	unsigned char *v2 = malloc(n - 8);
	memcpy(v2, v3, 40);
	memcpy(v2 + 40, v3 + 48, n - 48);
	v2[4] = 2;
	reseal(v2, n - 8);
	result_free(back);
	back = shaped(Q_W);
	CHECK_EQ_I(result_decode(back, v2, n - 8), 0);
	CHECK(same_contents(r, back));
	v2[4] = 3; /* a version 2 body under a version 3 header */
	reseal(v2, n - 8);
	REFUSED(back, v2, n - 8, "version 2 bytes that say version 3");
	free(v1);
	free(v2);
	free(v3);
	result_free(r);
	result_free(back);
}

/* ---- refusals ---- */

/* A result of query q filled from seed, its bytes b (n of them), a
 * scratch copy c one byte longer, and another result of the same shape
 * and other contents to decode into. */
struct fixture {
	struct result *r, *other;
	unsigned char *b, *c;
	size_t n;
};

static void setup(struct fixture *f, const char *q, uint64_t seed)
{
	f->r = shaped(q);
	f->other = shaped(q);
	fill(f->r, seed);
	fill(f->other, seed + 50);
	f->b = enc(f->r, &f->n);
	f->c = malloc(f->n + 1);
	if (!f->c)
		exit(1);
	memcpy(f->c, f->b, f->n);
}

static void teardown(struct fixture *f)
{
	free(f->b);
	free(f->c);
	result_free(f->r);
	result_free(f->other);
}

/* The bytes with the u64 at offset at set to v, resealed: refused. */
static void refused_u64_(int line, struct fixture *f, size_t at, uint64_t v, const char *what)
{
	memcpy(f->c, f->b, f->n);
	le_put64(f->c + at, v);
	reseal(f->c, f->n);
	refused_(line, f->other, f->c, f->n, what);
}
#define REFUSED_U64(f, at, v, what) refused_u64_(__LINE__, f, at, v, what)

static uint64_t bits(double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	return u;
}

/* Every prefix, and every byte flipped three ways, of each query's bytes. */
static void test_damage(void)
{
	static const unsigned char flips[] = {0x01, 0x80, 0xff};
	for (size_t i = 0; i < NQUERIES; i++) {
		struct fixture f;
		setup(&f, all_queries[i], i);
		for (size_t k = 0; k < f.n; k++)
			REFUSED(f.other, f.b, k, "a truncation");
		for (size_t k = 0; k < f.n; k++)
			for (size_t j = 0; j < sizeof(flips); j++) {
				memcpy(f.c, f.b, f.n);
				f.c[k] ^= flips[j];
				REFUSED(f.other, f.c, f.n, "a flipped byte");
			}
		REFUSED(f.other, NULL, f.n, "no bytes");
		teardown(&f);
	}
}

/* The header's fixed fields, each wrong on its own. */
static void test_header(void)
{
	struct fixture f;
	setup(&f, Q_1D, 1);
	static const struct { size_t at; unsigned char v; const char *what; } bad[] = {
		{0, 'X', "magic"}, {3, 'T', "magic"}, {4, 4, "version 4"}, {4, 1, "version 1"},
		{4, 0, "version 0"}, {5, 1, "version 259"}, {6, 1, "flags"}, {7, 0x80, "flags"},
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		memcpy(f.c, f.b, f.n);
		f.c[bad[k].at] = bad[k].v;
		reseal(f.c, f.n);
		REFUSED(f.other, f.c, f.n, bad[k].what);
	}
	memcpy(f.c, f.b, f.n);
	le_put64(f.c + 8, f.n - 1);
	REFUSED(f.other, f.c, f.n, "a length one short");
	le_put64(f.c + 8, f.n + 1);
	REFUSED(f.other, f.c, f.n, "a length one long");
	f.c[f.n] = 0;
	REFUSED(f.other, f.c, f.n + 1, "a byte past the end, length matching");
	reseal(f.c, f.n + 1);
	REFUSED(f.other, f.c, f.n + 1, "a byte past the end, length and checksum matching");
	teardown(&f);
}

/* Bytes of one query decoded into the result of another that differs in
 * one respect only. */
static void test_shape_mismatch(void)
{
	static const struct { const char *from, *into, *what; } pairs[] = {
		{Q_2D, Q_2D_T, "bins=4,3 into bins=3,4 (as many cells)"},
		{Q_1D, Q_1D_RANGE, "another range"},
		{Q_1D, Q_1D_VAR, "regular bins into as many variable ones"},
		{Q_1D, Q_1D_W, "unweighted into weighted"},
		{Q_1D_W, Q_1D, "weighted into unweighted"},
		{Q_1D, Q_1D_BINS, "10 bins into 11"},
		{Q_1D, Q_1D_2F, "one filter into two"},
		{Q_1D_2F, Q_1D, "two filters into one"},
		{Q_1D, Q_1D_2H, "one histogram into two"},
		{Q_1D_2H, Q_1D, "two histograms into one"},
		{Q_1D, Q_2D, "1-D into 2-D"},
		{Q_EMPTY, Q_1D, "an empty query's into another"},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct result *from = shaped(pairs[i].from), *into = shaped(pairs[i].into);
		fill(from, i);
		size_t n = 0;
		unsigned char *b = enc(from, &n);
		REFUSED(into, b, n, pairs[i].what);
		free(b);
		result_free(from);
		result_free(into);
	}
}

/* Counts no job could give, under a valid checksum. */
static void test_bad_counts(void)
{
	struct fixture f;
	setup(&f, Q_2D, 2);
	/* Q_2D: events (1002) at 32, passed (751, 563) at 48 and 56, the
	 * histogram's block at 64: its cell count at 72, entries at 88, cells
	 * from 96. */
	REFUSED_U64(&f, 32, (uint64_t)-1, "negative events");
	REFUSED_U64(&f, 48, (uint64_t)-5, "a negative passed count");
	REFUSED_U64(&f, 48, 1003, "more passing the first filter than events");
	REFUSED_U64(&f, 56, 752, "more passing the second filter than the first");
	REFUSED_U64(&f, 96, (uint64_t)-1, "a negative cell count");
	REFUSED_U64(&f, 104, 0x8000000000000000ull, "the smallest int64 as a count");
	REFUSED_U64(&f, 88, 0, "entries that the cells do not sum to");
	REFUSED_U64(&f, 64, 0x3154534800000001ull, "a histogram block that says weighted");
	REFUSED_U64(&f, 64, 0x3254534800000000ull, "a histogram block of another magic");
	REFUSED_U64(&f, 72, 31, "a histogram block of another cell count");
	/* One more count and one more entry agree: accepted. */
	memcpy(f.c, f.b, f.n);
	le_put64(f.c + 96, le_get64(f.b + 96) + 1);
	le_put64(f.c + 88, le_get64(f.b + 88) + 1);
	reseal(f.c, f.n);
	CHECK_EQ_I(result_decode(f.other, f.c, f.n), 0);
	CHECK_EQ_I(hist_count(f.other->hists[0], 0, 0), hist_count(f.r->hists[0], 0, 0) + 1);
	teardown(&f);
}

/* Sums of weights: NaN and negative squares refused; infinities (a sum
 * that overflowed) kept. */
static void test_bad_sums(void)
{
	struct fixture f;
	setup(&f, Q_W, 4);
	/* Q_W: one filter, w1's block at 56 (7 cells): entries at 80, sums of
	 * weights from 88, of squares from 144. */
	const size_t sw = 88, sw2 = 144;
	REFUSED_U64(&f, sw + 8, bits(NAN), "a NaN sum of weights");
	REFUSED_U64(&f, sw2 + 16, bits(NAN), "a NaN sum of squares");
	REFUSED_U64(&f, sw2, bits(-1.0), "a negative sum of squares");
	REFUSED_U64(&f, sw2 + 8, bits(-INFINITY), "a sum of squares of -inf");
	REFUSED_U64(&f, 80, 0, "weighted cells that hold more than the entries");
	memcpy(f.c, f.b, f.n);
	le_put64(f.c + sw, bits(INFINITY));
	le_put64(f.c + sw2, bits(INFINITY));
	le_put64(f.c + sw + 8, bits(-INFINITY));
	reseal(f.c, f.n);
	CHECK_EQ_I(result_decode(f.other, f.c, f.n), 0);
	CHECK(isinf(hist_value(f.other->hists[0], 0, 0)) && hist_value(f.other->hists[0], 1, 0) < 0);
	teardown(&f);
}

/* ---- merge, cutflow, sizes, load, labels ---- */

static void test_merge(void)
{
	struct result *a = shaped(Q_MANY), *b = shaped(Q_MANY), *sum = NULL;
	fill(a, 1);
	fill(b, 2);
	CHECK_EQ_I(result_new_like(a, &sum), 0);
	CHECK_EQ_I(result_merge(sum, a), 0);
	CHECK_EQ_I(result_merge(sum, b), 0);
	CHECK_EQ_I(sum->events, a->events + b->events);
	CHECK_EQ_I(sum->passed[1], a->passed[1] + b->passed[1]);
	CHECK_EQ_I(hist_count(sum->hists[0], 2, 0), hist_count(a->hists[0], 2, 0) + hist_count(b->hists[0], 2, 0));
	CHECK_EQ_I(hist_entries(sum->hists[2]), 2 * 63);

	/* Refused: dst unchanged, even when only the last histogram differs. */
	static const char *const others[] = {
		Q_1D, Q_EMPTY,
		D "define good = Muon_pt > 5\nfilter twomu: sum(good) == 2\n" /* c: other edges */
		  "hist a = MET_pt bins=3 range=0,3\nfilter opposite: HLT\n"
		  "hist b = MET_pt bins=2 range=0,1 weight=w\nhist c = nJet edges=0,2,5\n",
		D "filter twomu: HLT\nhist a = MET_pt bins=3 range=0,3\nfilter opposite: HLT\n"
		  "hist b = MET_pt bins=2 range=0,1\nhist c = nJet edges=0,1,5\n", /* b unweighted */
	};
	size_t n0 = 0;
	unsigned char *before = enc(sum, &n0);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		struct result *o = shaped(others[i]);
		fill(o, 7);
		CHECK_EQ_I(result_merge(sum, o), -EINVAL);
		CHECK(encodes_to(sum, before, n0));
		result_free(o);
	}
	/* Counts whose sum does not fit: -EOVERFLOW, dst unchanged. */
	struct result *big = shaped(Q_MANY);
	big->events = INT64_MAX;
	CHECK_EQ_I(result_merge(sum, big), -EOVERFLOW);
	CHECK(encodes_to(sum, before, n0));
	big->events = 0;
	const double x = 0.5;
	hist_fill1(big->hists[0], &x, NULL, 1);
	size_t n = 0;
	unsigned char *bytes = enc(big, &n);
	/* Two passed counts, then a's block at 64: its entries at 88, its
	 * first bin at 104. */
	le_put64(bytes + 88, INT64_MAX);
	le_put64(bytes + 104, INT64_MAX);
	reseal(bytes, n);
	CHECK_EQ_I(result_decode(big, bytes, n), 0);
	CHECK_EQ_I(hist_count(big->hists[0], 1, 0), INT64_MAX);
	CHECK(hist_count(sum->hists[0], 1, 0) > 0);
	CHECK_EQ_I(result_merge(sum, big), -EOVERFLOW);
	CHECK(encodes_to(sum, before, n0));
	free(bytes);
	free(before);
	result_free(big);
	result_free(a);
	result_free(b);
	result_free(sum);
}

static void test_cutflow(void)
{
	struct result *r = shaped(D "filter twomu: HLT\nfilter opposite_charge: HLT\n");
	r->events = 1000;
	r->passed[0] = 400;
	r->passed[1] = 100;
	char *s = result_cutflow(r);
	CHECK_STR(s, "filter                  events       eff     cumul\n"
		     "all events                1000\n"
		     "twomu                      400    40.00%    40.00%\n"
		     "opposite_charge            100    25.00%    10.00%\n");
	free(s);
	result_free(r);
	/* No events: 0%, not NaN; names past 60 characters are cut there. */
	r = shaped(D "filter HLT && nJet > 1 && nMuon > 1 && MET_pt > 100 && HLT && HLT && HLT\n");
	s = result_cutflow(r);
	CHECK_STR(s, "filter                                                               events       eff     cumul\n"
		     "all events                                                                0\n"
		     "HLT && nJet > 1 && nMuon > 1 && MET_pt > 100 && HLT && HLT &              0     0.00%     0.00%\n");
	free(s);
	result_free(r);
}

static uint64_t query_bytes(const char *text)
{
	struct ql_query *q = NULL;
	struct ql_error err;
	if (ql_parse(text, strlen(text), "t.query", &q, &err))
		return UINT64_MAX;
	uint64_t n = result_query_bytes(q);
	ql_free(q);
	return n;
}

/* Cells times 8 bytes, twice for weighted histograms, flow bins included. */
static void test_query_bytes(void)
{
	CHECK_EQ_I(query_bytes(Q_EMPTY), 0);
	CHECK_EQ_I(query_bytes(Q_1D), 12 * 8);
	CHECK_EQ_I(query_bytes(Q_2D), 6 * 5 * 8);
	CHECK_EQ_I(query_bytes(Q_VAR), 6 * 8 + 4 * 5 * 8);
	CHECK_EQ_I(query_bytes(Q_W), 7 * 16 + 4 * 4 * 16);
	CHECK_EQ_I(query_bytes(Q_MANY), 5 * 8 + 4 * 16 + 4 * 8);
	CHECK_EQ_I(query_bytes(D "hist h = MET_pt, nJet bins=1000,4000 range=0,1,0,1 weight=w\n"),
		   1002ull * 4002 * 16);
	/* The estimate never allocates: past what hist_new() accepts too. */
	CHECK_EQ_I(query_bytes(D "hist a = MET_pt bins=1000000 range=0,1\n"
				 "hist b = MET_pt bins=1000000 range=0,1\n"),
		   2 * 1000002ull * 8);
}

static void test_load(void)
{
	struct result *r = shaped(Q_2D), *back = NULL;
	fill(r, 5);
	size_t n = 0;
	unsigned char *b = enc(r, &n);
	CHECK_EQ_I(result_load(Q_2D, strlen(Q_2D), b, n, &back), 0);
	CHECK(back && same_contents(r, back));
	result_free(back);
	back = NULL;
	CHECK_EQ_I(result_load(Q_2D, strlen(Q_2D), NULL, 0, &back), 0);
	CHECK(back && back->events == 0 && back->nhists == 1 && hist_entries(back->hists[0]) == 0);
	result_free(back);
	static struct result untouched;
	back = &untouched;
	CHECK_EQ_I(result_load(Q_2D_T, strlen(Q_2D_T), b, n, &back), ANA_ECORRUPT);
	CHECK(back == &untouched);
	CHECK_EQ_I(result_load("filter (", 8, b, n, &back), -EINVAL);
	CHECK(back == &untouched);
	free(b);
	result_free(r);
}

/* A 1-D histogram's ylabel= reaches its histogram as the value label, and
 * hist.json; a 2-D one's stays the y axis label. */
static void test_labels(void)
{
	struct result *r = shaped(D "hist a = MET_pt bins=1 range=0,1 xlabel=\"x\" ylabel=\"Events\"\n"
				    "hist b = MET_pt, nJet bins=1,1 range=0,1,0,1 ylabel=\"n\"\n");
	CHECK_STR(hist_label(r->hists[0], 0), "x");
	CHECK_STR(hist_value_label(r->hists[0]), "Events");
	CHECK_STR(hist_label(r->hists[1], 1), "n");
	CHECK_STR(hist_value_label(r->hists[1]), "");
	char *json = NULL;
	CHECK_EQ_I(hist_to_json(r->hists, 1, "0", &json, NULL), 0);
	check_json_compact(json);
	CHECK(json && strstr(json, "\"metadata\":{\"name\":\"a\",\"value_label\":\"Events\","));
	free(json);
	result_free(r);
}

int main(void)
{
	test_round_trips();
	test_layout();
	test_old_versions();
	test_damage();
	test_header();
	test_shape_mismatch();
	test_bad_counts();
	test_bad_sums();
	test_merge();
	test_cutflow();
	test_query_bytes();
	test_load();
	test_labels();
	if (failures) {
		fprintf(stderr, "test_result: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_result: ok\n");
	return 0;
}
