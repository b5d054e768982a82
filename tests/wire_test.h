/* wire_test.h — what test_wire.c and test_wire_bounds.c share: two
 * sessions, frames made by hand from the layout in wire_codec.c's comment
 * (signed with libcrypto directly, so that the decoder is checked against
 * the layout and not against itself), a sample message of every type, and
 * round trips.  Static: each test includes it once. */
#ifndef ANAFS_TEST_WIRE_TEST_H
#define ANAFS_TEST_WIRE_TEST_H

/* Not every test uses every helper. */
#pragma GCC diagnostic ignored "-Wunused-function"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "le.h"
#include "wire.h"

/* fuzz_wire.c's fixed session: the same bytes there. */
#define WIRE_HEAD_TEST 20 /* magic, version, type, seq, payload length */

#define FZ_SECRET 0x5a
#define FZ_CNONCE 0xc1
#define FZ_WNONCE 0x3e

static uint8_t secret[WIRE_SECRET], cnonce[WIRE_NONCE], wnonce[WIRE_NONCE];
static struct wire_session cs, ws; /* the coordinator's and the worker's */
static const struct wire_msg empty_msg;

static void sessions(void)
{
	wire_session_init(&cs, secret, cnonce, wnonce, true);
	wire_session_init(&ws, secret, cnonce, wnonce, false);
}

static bool is_empty(const struct wire_msg *m)
{
	return !memcmp(m, &empty_msg, sizeof(*m));
}

/* ---- hand-made frames ---- */

struct raw {
	unsigned char b[WIRE_MAX_TEXT + (1 << 16)];
	size_t n;
};

static void put(struct raw *r, const void *p, size_t n)
{
	memcpy(r->b + r->n, p, n);
	r->n += n;
}
static void put16(struct raw *r, uint16_t v)
{
	unsigned char b[2] = { (unsigned char)v, (unsigned char)(v >> 8) };
	put(r, b, 2);
}
static void put32(struct raw *r, uint32_t v)
{
	unsigned char b[4];
	le_put32(b, v);
	put(r, b, 4);
}
static void put64(struct raw *r, uint64_t v)
{
	unsigned char b[8];
	le_put64(b, v);
	put(r, b, 8);
}
static void putstr(struct raw *r, const char *s, size_t n)
{
	put32(r, (uint32_t)n);
	put(r, s, n);
}
static void putkey(struct raw *r, int64_t job)
{
	put64(r, (uint64_t)job), put32(r, 2), put32(r, 1), put64(r, 0xfeedULL);
}

/* A frame of type around payload p: signed under key with seq, or
 * unsigned (key NULL, seq 0). */
static void frame(struct raw *f, unsigned type, uint64_t seq, const struct raw *p,
		  const uint8_t *key)
{
	f->n = 0;
	put(f, "ANFW", 4), put16(f, WIRE_VERSION), put16(f, (uint16_t)type), put64(f, seq);
	put32(f, (uint32_t)p->n), put(f, p->b, p->n);
	uint8_t mac[WIRE_MAC] = { 0 };
	unsigned int ml = WIRE_MAC;
	if (key)
		HMAC(EVP_sha256(), key, WIRE_MAC, f->b, f->n, mac, &ml);
	put(f, mac, WIRE_MAC);
}

/* Decode a hand-made payload of type: unsigned ones with no session,
 * signed ones as the next frame of the worker's session to cs. */
static struct raw pl, fr;
static int dec_raw(unsigned type, const struct raw *p)
{
	bool sign = type > WIRE_WELCOME;
	frame(&fr, type, sign ? cs.recv_seq + 1 : 0, p, sign ? ws.send_key : NULL);
	struct wire_msg m;
	char why[256];
	uint64_t before = cs.recv_seq;
	int rc = wire_decode(sign ? &cs : NULL, fr.b, fr.n, &m, why, sizeof(why));
	if (rc) {
		check(is_empty(&m), "a refused %s left the message filled", wire_type_name(type));
		check(cs.recv_seq == before, "a refused %s moved recv_seq", wire_type_name(type));
		check(why[0] != 0, "a refused %s says nothing", wire_type_name(type));
	}
	wire_msg_free(&m);
	return rc;
}

/* ---- sample messages ---- */

/* Long strings: a query past its bound, paths past theirs. */
static char big[WIRE_MAX_TEXT + 2];

static char text[] = "dataset x.root\nhist m = MET_pt bins=4 range=0,100\n";
static unsigned char blob[3000];

static void sample(unsigned type, struct wire_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = (uint16_t)type;
	struct wire_key k = { .job = 42, .idx = 7, .attempt = 3, .digest = 0x0123456789abcdefULL };
	switch (type) {
	case WIRE_HELLO:
		memcpy(m->u.hello.nonce, wnonce, WIRE_NONCE);
		strcpy(m->u.hello.name, "w-4711");
		strcpy(m->u.hello.host, "node17.example.org");
		m->u.hello.pid = 4711;
		strcpy(m->u.hello.backend, "slurm");
		strcpy(m->u.hello.pilot, "123456_7");
		m->u.hello.slots = 8;
		break;
	case WIRE_CHALLENGE:
		memcpy(m->u.challenge.nonce, cnonce, WIRE_NONCE);
		m->u.challenge.instance = 0x1122334455667788ULL;
		break;
	case WIRE_AUTH:
		memset(m->u.auth.proof, 0xab, WIRE_MAC);
		break;
	case WIRE_WELCOME:
		memset(m->u.welcome.proof, 0xcd, WIRE_MAC);
		m->u.welcome.worker_id = 9, m->u.welcome.lease_ms = 30000;
		m->u.welcome.progress_ms = 2000;
		break;
	case WIRE_TASK:
	case WIRE_WARM:
		m->u.task = (struct wire_task){ .key = k, .text = text, .text_len = (uint32_t)strlen(text),
			.basedir = "/data/base", .url = "root://eos.example//store/f.root",
			.tree = "Events", .entries = 1000000, .size = 123456789, .mtime_ns = -5,
			.fingerprint = 0xdeadbeefULL, .first = 1000, .last = 250000 };
		break;
	case WIRE_PROGRESS:
		m->u.progress.n = 3, m->u.progress.busy = 5;
		for (int i = 0; i < 3; i++) {
			m->u.progress.t[i].key = k;
			m->u.progress.t[i].key.idx = (uint32_t)i;
			m->u.progress.t[i].events = 100 * i, m->u.progress.t[i].bytes = 7u * i;
		}
		break;
	case WIRE_RESULT:
		m->u.result.key = k;
		m->u.result.events = 5000, m->u.result.bytes = 1 << 20;
		m->u.result.cache = (struct wire_cache){12, 3, 12u << 20, 3u << 20, 7u << 20};
		for (size_t i = 0; i < sizeof(blob); i++)
			blob[i] = (unsigned char)(i % 17 * (i % 5));
		m->u.result.blob = blob, m->u.result.blob_len = sizeof(blob);
		break;
	case WIRE_ACK:
	case WIRE_CANCEL:
	case WIRE_GIVEBACK:
		m->u.key = k;
		break;
	case WIRE_BYE:
		m->u.bye.code = 3;
		strcpy(m->u.bye.why, "idle above the launcher's target");
		break;
	case WIRE_WARMED:
		m->u.warmed.key = k;
		m->u.warmed.rc = -5, m->u.warmed.bytes = 3u << 20, m->u.warmed.ms = 250;
		strcpy(m->u.warmed.why, "root://h//f.root: [ERROR] Server responded with an error");
		break;
	}
}

static bool same_str(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static bool same_msg(const struct wire_msg *a, const struct wire_msg *b)
{
	if (a->type != b->type)
		return false;
	const struct wire_task *x = &a->u.task, *y = &b->u.task;
	const struct wire_result *r = &a->u.result, *q = &b->u.result;
	switch (a->type) {
	case WIRE_TASK:
	case WIRE_WARM:
		return !memcmp(&x->key, &y->key, sizeof(x->key)) && x->text_len == y->text_len &&
		       (!x->text_len || !memcmp(x->text, y->text, x->text_len)) && same_str(x->basedir, y->basedir) &&
		       same_str(x->url, y->url) && same_str(x->tree, y->tree) &&
		       x->entries == y->entries && x->size == y->size && x->mtime_ns == y->mtime_ns &&
		       x->fingerprint == y->fingerprint && x->first == y->first && x->last == y->last;
	case WIRE_RESULT:
		return !memcmp(&r->key, &q->key, sizeof(r->key)) && r->rc == q->rc &&
		       !strcmp(r->why, q->why) && r->events == q->events && r->bytes == q->bytes &&
		       !memcmp(&r->cache, &q->cache, sizeof(r->cache)) &&
		       r->blob_len == q->blob_len && (!r->blob_len || !memcmp(r->blob, q->blob, r->blob_len));
	case WIRE_PROGRESS:
		return a->u.progress.n == b->u.progress.n && a->u.progress.busy == b->u.progress.busy &&
		       !memcmp(a->u.progress.t, b->u.progress.t, a->u.progress.n * sizeof(a->u.progress.t[0]));
	default: /* plain structs, zeroed before they were filled */
		return !memcmp(&a->u, &b->u, sizeof(a->u));
	}
}

/* The session a type is sent from and the one it is received by. */
static struct wire_session *sender(unsigned type)
{
	if (type <= WIRE_WELCOME)
		return NULL;
	bool from_worker = type == WIRE_PROGRESS || type == WIRE_RESULT || type == WIRE_GIVEBACK ||
			   type == WIRE_WARMED;
	return from_worker ? &ws : &cs;
}
static struct wire_session *receiver(unsigned type)
{
	struct wire_session *s = sender(type);
	return s ? (s == &ws ? &cs : &ws) : NULL;
}

static int enc(unsigned type, const struct wire_msg *m, void **out, size_t *len)
{
	return wire_encode(sender(type), m, out, len);
}

/* m encoded and decoded again: 0 when it came back equal. */
static int round_trip(const struct wire_msg *m)
{
	void *f = NULL;
	size_t n = 0;
	int rc = enc(m->type, m, &f, &n);
	if (rc)
		return rc;
	struct wire_msg d;
	char why[256];
	rc = wire_decode(receiver(m->type), f, n, &d, why, sizeof(why));
	if (rc)
		fprintf(stderr, "  decode of %s: %s\n", wire_type_name(m->type), why);
	else if (!same_msg(m, &d))
		rc = -EDOM;
	wire_msg_free(&d);
	free(f);
	return rc;
}

/* ---- decoding, and hand-made payloads ---- */

static int dec_bytes(struct wire_session *s, const void *b, size_t n)
{
	struct wire_msg m;
	char why[200];
	int rc = wire_decode(s, b, n, &m, why, sizeof(why));
	if (rc)
		check(is_empty(&m), "a refused frame left the message filled");
	wire_msg_free(&m);
	return rc;
}

static void task_payload(struct raw *p, size_t tlen, char tfill, size_t blen, size_t ulen,
			 int64_t entries, int64_t first, int64_t last)
{
	p->n = 0;
	putkey(p, 1);
	memset(big, tfill, tlen);
	putstr(p, big, tlen);
	memset(big, 'b', WIRE_MAX_PATH + 1);
	putstr(p, big, blen), putstr(p, big, ulen), putstr(p, "Events", 6);
	put64(p, (uint64_t)entries), put64(p, 10), put64(p, 11), put64(p, 12);
	put64(p, (uint64_t)first), put64(p, (uint64_t)last);
}

static void hello_payload(struct raw *p, size_t name, size_t host, int32_t pid, uint16_t slots,
			  char fill)
{
	char s[200];
	memset(s, fill, sizeof(s));
	p->n = 0;
	put(p, wnonce, WIRE_NONCE);
	putstr(p, s, name), putstr(p, s, host), put32(p, (uint32_t)pid);
	putstr(p, "local", 5), putstr(p, "", 0), put16(p, slots);
}

static void progress_payload(struct raw *p, uint32_t n, uint32_t entries, uint32_t busy)
{
	p->n = 0;
	put32(p, n), put32(p, busy);
	for (uint32_t i = 0; i < entries; i++)
		putkey(p, i), put64(p, i), put64(p, 2 * i);
}

static void result_payload(struct raw *p, uint32_t raw, const void *lz, uint32_t lzlen)
{
	p->n = 0;
	putkey(p, 1), put32(p, 0), putstr(p, "", 0), put64(p, 1), put64(p, 2);
	for (int i = 0; i < 5; i++) /* the cache figures */
		put64(p, (uint64_t)i);
	put32(p, raw), put32(p, lzlen), put(p, lz, lzlen);
}

#endif
