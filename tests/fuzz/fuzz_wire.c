/* fuzz_wire.c — libFuzzer target over wire_decode(): arbitrary bytes as a
 * frame of the worker protocol, decoded as a coordinator decodes what a
 * pipe gives it.
 *
 * The first input byte is a mode, the rest the frame:
 *   bit 0  the session is ready (the fixed keys below, recv_seq 0), else
 *          not (opening types only);
 *   bit 1  resealed: the payload length made right and, for a ready
 *          session, seq 1 and the mac made right under its key (for one
 *          not ready, seq and mac zeroed), so that mutations get past the
 *          header and the mac to the payload decoders; the production
 *          path itself is what decodes them.
 * Beyond crashes and sanitizer reports it aborts when
 *   - a refusal is not one of wire.h's codes, leaves the message filled,
 *     says nothing, or moves recv_seq;
 *   - an accepted frame's type is not allowed in the session's state, its
 *     seq is not the next, recv_seq did not move to it, a string of it is
 *     unterminated, or it does not encode again to the same bytes (a
 *     result's lz4 bytes may differ: then what they decode to must not).
 *
 * The seed corpus corpus/wire/ is `test_wire --seeds DIR`: a frame of
 * every type (signed ones under these keys). */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* test_wire.c's FZ_*: the seeds are signed with these. */
#define FZ_SECRET 0x5a
#define FZ_CNONCE 0xc1
#define FZ_WNONCE 0x3e
#define HEAD 20

static void die(const char *what, unsigned type)
{
	fprintf(stderr, "fuzz_wire: %s: %s\n", wire_type_name(type), what);
	abort();
}

static void session(struct wire_session *s)
{
	uint8_t secret[WIRE_SECRET], cn[WIRE_NONCE], wn[WIRE_NONCE];
	memset(secret, FZ_SECRET, sizeof(secret));
	memset(cn, FZ_CNONCE, sizeof(cn));
	memset(wn, FZ_WNONCE, sizeof(wn));
	wire_session_init(s, secret, cn, wn, true);
}

static void reseal(unsigned char *f, size_t n, const struct wire_session *s)
{
	if (n < HEAD + WIRE_MAC)
		return;
	le_put32(f + 16, (uint32_t)(n - HEAD - WIRE_MAC));
	le_put64(f + 8, s ? 1 : 0);
	memset(f + n - WIRE_MAC, 0, WIRE_MAC);
	unsigned int ml = WIRE_MAC;
	if (s)
		HMAC(EVP_sha256(), s->recv_key, WIRE_MAC, f, n - WIRE_MAC, f + n - WIRE_MAC, &ml);
}

static bool terminated(const char *s, size_t cap)
{
	return strnlen(s, cap) < cap;
}

/* What an accepted message must be. */
static void accepted(const struct wire_msg *m, bool ready)
{
	unsigned t = m->type;
	if ((t <= WIRE_WELCOME) == ready || t < WIRE_HELLO || t >= WIRE_TYPE_END)
		die("a type not allowed in this state accepted", t);
	const struct wire_hello *h = &m->u.hello;
	const struct wire_task *k = &m->u.task;
	bool ok = true;
	if (t == WIRE_HELLO)
		ok = terminated(h->name, sizeof(h->name)) && h->name[0] &&
		     terminated(h->host, sizeof(h->host)) &&
		     terminated(h->backend, sizeof(h->backend)) &&
		     terminated(h->pilot, sizeof(h->pilot)) && h->slots >= 1 &&
		     h->slots <= WIRE_MAX_SLOTS;
	if (t == WIRE_TASK || t == WIRE_WARM)
		ok = k->text && !k->text[k->text_len] && strlen(k->text) == k->text_len &&
		     k->text_len <= WIRE_MAX_TEXT && strlen(k->basedir) < WIRE_MAX_PATH &&
		     strlen(k->url) < WIRE_MAX_PATH && k->url[0] && strlen(k->tree) < WIRE_MAX_PATH &&
		     0 <= k->first && k->first <= k->last && k->last <= k->entries;
	if (t == WIRE_PROGRESS)
		ok = m->u.progress.n <= WIRE_MAX_PROGRESS && m->u.progress.busy <= WIRE_MAX_SLOTS;
	if (t == WIRE_RESULT)
		ok = terminated(m->u.result.why, sizeof(m->u.result.why)) && m->u.result.rc <= 0 &&
		     (m->u.result.blob_len == 0) == (m->u.result.blob == NULL);
	if (t == WIRE_BYE)
		ok = terminated(m->u.bye.why, sizeof(m->u.bye.why));
	if (t == WIRE_WARMED)
		ok = terminated(m->u.warmed.why, sizeof(m->u.warmed.why)) && m->u.warmed.rc <= 0;
	if (!ok)
		die("an accepted message breaks its bounds", t);
}

/* m encoded again, as its sender would: the same bytes as f. */
static void again(const struct wire_msg *m, const struct wire_session *s, const unsigned char *f,
		  size_t n)
{
	struct wire_session snd = { .ready = true, .send_seq = m->seq - 1 };
	if (s)
		memcpy(snd.send_key, s->recv_key, WIRE_MAC);
	void *g = NULL;
	size_t gn = 0;
	if (wire_encode(s ? &snd : NULL, m, &g, &gn))
		die("an accepted message does not encode", m->type);
	bool blob = m->type == WIRE_RESULT && m->u.result.blob_len;
	if (!blob && (gn != n || memcmp(f, g, n)))
		die("an accepted message encodes to other bytes", m->type);
	if (blob) {
		struct wire_session rcv = *s;
		rcv.recv_seq = m->seq - 1;
		struct wire_msg d;
		if (wire_decode(&rcv, g, gn, &d, NULL, 0) || d.u.result.blob_len != m->u.result.blob_len ||
		    memcmp(d.u.result.blob, m->u.result.blob, d.u.result.blob_len) ||
		    d.u.result.rc != m->u.result.rc || strcmp(d.u.result.why, m->u.result.why))
			die("a result encoded again decodes to another", m->type);
		wire_msg_free(&d);
	}
	free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned mode = data[0];
	size_t n = size - 1;
	unsigned char *f = malloc(n ? n : 1); /* exact size: ASan sees overreads */
	if (!f)
		return 0;
	memcpy(f, data + 1, n);
	struct wire_session s;
	bool ready = mode & 1;
	if (ready)
		session(&s);
	if (mode & 2)
		reseal(f, n, ready ? &s : NULL);
	struct wire_msg m;
	char why[256];
	static const struct wire_msg empty;
	int rc = wire_decode(ready ? &s : NULL, f, n, &m, why, sizeof(why));
	if (rc) {
		if (rc != -EPROTO && rc != -EBADMSG && rc != -EACCES && rc != -EALREADY && rc != -ENOMEM)
			die("a refusal with a code wire.h does not give", 0);
		if (memcmp(&m, &empty, sizeof(m)))
			die("a refusal left the message filled", 0);
		if (!terminated(why, sizeof(why)) || !why[0])
			die("a refusal says nothing", 0);
		if (ready && s.recv_seq != 0)
			die("a refusal moved recv_seq", 0);
	} else {
		accepted(&m, ready);
		if (ready && (m.seq != 1 || s.recv_seq != 1))
			die("an accepted frame's seq is not the next, or recv_seq did not move", m.type);
		if (!ready && m.seq != 0)
			die("an unsigned frame with a seq accepted", m.type);
		again(&m, ready ? &s : NULL, f, n);
		wire_msg_free(&m);
	}
	free(f);
	return 0;
}
