/* fuzz_result.c — libFuzzer target over the result codec: arbitrary bytes
 * decoded into results shaped by a few fixed queries, as the store, the
 * mount and the worker protocol decode what they are given.
 *
 * Each input is decoded into an empty result of every shape (an analysis's,
 * version 4, among them), as it is and, when it has a version 2, 3 or 4
 * header, resealed (length, shape and checksum made right for that shape)
 * so that mutations get past the checksum to the counts and cells behind
 * it.  Beyond crashes and sanitizer reports it
 * aborts when
 *   - a refused decode returns anything but ANA_ECORRUPT or -ENOMEM, or
 *     changes the result;
 *   - an accepted one does not re-encode to bytes that decode again to the
 *     same bytes, or (version 3 or 4 input) to the input itself;
 *   - an accepted result's hist.json or cutflow cannot be written, or a
 *     merge of it into itself fails other than by -EOVERFLOW. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "ana_err.h"
#include "le.h"
#include "result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define D "dataset x.root\n"

/* Small, so that an input decodes into all of them quickly. */
static const char *const queries[] = {
	D "filter trig: HLT\nhist m = MET_pt bins=4 range=0,100 label=\"m\" ylabel=\"n\"\n",
	D "filter a: HLT\nfilter b: HLT\nhist pe = Jet_pt, Jet_eta bins=3,2 range=0,200,-2.4,2.4\n",
	D "hist phi = Muon_phi edges=-pi,0,pi\nhist v2 = MET_pt, nJet xedges=0,10,100 yedges=0,1,5\n",
	D "filter HLT\nhist w1 = MET_pt bins=2 range=0,50 weight=w\n"
	  "hist w2 = MET_pt, nJet bins=2,1 range=0,1,0,1 weight=w\nhist u = nJet bins=1 range=0,1\n",
	D,
	"lumi 1\nsample a xsec=2 sumw=auto a.root\nsample d data d.root\nweight w = x\nfilter f: HLT\n"
	"region r1: HLT\nregion r2: HLT\nvary up: x = x * 2\n"
	"hist h = x bins=2 range=0,1 regions=r1,r2\nhist g = x bins=1 range=0,1 region=r2\n",
};
#define NSHAPES (sizeof(queries) / sizeof(queries[0]))

static struct result *shapes[NSHAPES];
static uint64_t shape_ids[NSHAPES]; /* the shape field of each one's bytes */

static void die(const char *what, size_t shape)
{
	fprintf(stderr, "fuzz_result: shape %zu: %s\n", shape, what);
	abort();
}

static void init(void)
{
	for (size_t i = 0; i < NSHAPES; i++) {
		struct ql_query *q = NULL;
		struct ql_error err;
		void *b = NULL;
		size_t n = 0;
		if (ql_parse(queries[i], strlen(queries[i]), "fuzz", &q, &err) ||
		    result_new(q, &shapes[i]) || result_encode(shapes[i], &b, &n))
			die("the query's result cannot be built", i);
		shape_ids[i] = le_get64((unsigned char *)b + 40);
		free(b);
		ql_free(q);
	}
}

static unsigned char *encode(const struct result *r, size_t *len, size_t shape)
{
	void *b = NULL;
	if (result_encode(r, &b, len))
		die("result_encode failed", shape);
	return b;
}

static bool same(const unsigned char *a, size_t na, const unsigned char *b, size_t nb)
{
	return na == nb && !memcmp(a, b, na);
}

/* What an accepted result must allow: re-encoding, decoding that again,
 * hist.json, the cutflow, and a merge. */
static void accepted(struct result *r, const uint8_t *data, size_t size, size_t shape)
{
	size_t n1 = 0, n2 = 0;
	unsigned char *e1 = encode(r, &n1, shape);
	if (size >= 8 && (!memcmp(data, "ANRS\x03\x00", 6) || !memcmp(data, "ANRS\x04\x00", 6)) &&
	    !same(e1, n1, data, size))
		die("version 3 or 4 bytes decode but re-encode differently", shape);
	struct result *again = NULL;
	if (result_new_like(r, &again) == 0) {
		if (result_decode(again, e1, n1))
			die("a re-encoded result does not decode", shape);
		unsigned char *e2 = encode(again, &n2, shape);
		if (!same(e1, n1, e2, n2))
			die("decode, encode, decode, encode: the bytes differ", shape);
		free(e2);
		int rc = result_merge(again, r);
		if (rc && rc != -EOVERFLOW)
			die("a result does not merge into its own copy", shape);
		result_free(again);
	}
	char *json = NULL, *cut = result_cutflow(r);
	if (result_json(r, "fuzz", &json, NULL) || !cut)
		die("hist.json or the cutflow of an accepted result failed", shape);
	free(json);
	free(cut);
	free(e1);
}

static void decode_into(size_t shape, const uint8_t *data, size_t size)
{
	struct result *r = NULL;
	if (result_new_like(shapes[shape], &r))
		return;
	size_t n0 = 0;
	unsigned char *before = encode(r, &n0, shape);
	int rc = result_decode(r, data, size);
	if (rc == 0) {
		accepted(r, data, size, shape);
	} else {
		if (rc != ANA_ECORRUPT && rc != -ENOMEM)
			die("a refusal is neither ANA_ECORRUPT nor -ENOMEM", shape);
		size_t n = 0;
		unsigned char *after = encode(r, &n, shape);
		if (!same(before, n0, after, n))
			die("a refused decode changed the result", shape);
		free(after);
	}
	free(before);
	result_free(r);
}

/* data with the header fields a mutation rarely gets right made right for
 * shape: the length, a version 3 shape, the checksum. */
static void resealed(size_t shape, const uint8_t *data, size_t size)
{
	unsigned char *b = malloc(size);
	if (!b)
		return;
	memcpy(b, data, size);
	le_put64(b + 8, size);
	if ((b[4] == 3 || b[4] == 4) && b[5] == 0 && size >= 48)
		le_put64(b + 40, shape_ids[shape]);
	le_put64(b + 16, XXH64(b + 24, size - 24, 0));
	decode_into(shape, b, size);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		init();
		ready = true;
	}
	bool sealed = size >= 40 && !memcmp(data, "ANRS", 4);
	for (size_t i = 0; i < NSHAPES; i++) {
		decode_into(i, data, size);
		if (sealed)
			resealed(i, data, size);
	}
	return 0;
}
