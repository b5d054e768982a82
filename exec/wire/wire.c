/* wire.c — frames (wire.h): the header, signing and its checks around the
 * payloads of wire_codec.c.
 *
 * Decoding checks in the order that gives away least: the header's shape,
 * whether the type is allowed in the session's state, then (signed types)
 * the mac before anything of the payload is read, the seq, and only then
 * the payload.  recv_seq moves only when all of it passed. */
#include "wire_int.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"

static const char *const type_names[WIRE_TYPE_END] = {
	[WIRE_HELLO] = "hello",       [WIRE_CHALLENGE] = "challenge", [WIRE_AUTH] = "auth",
	[WIRE_WELCOME] = "welcome",   [WIRE_TASK] = "task",           [WIRE_PROGRESS] = "progress",
	[WIRE_RESULT] = "result",     [WIRE_ACK] = "ack",             [WIRE_CANCEL] = "cancel",
	[WIRE_GIVEBACK] = "giveback", [WIRE_BYE] = "bye",
	[WIRE_WARM] = "warm",         [WIRE_WARMED] = "warmed",
};

const char *wire_type_name(unsigned type)
{
	return type > 0 && type < WIRE_TYPE_END ? type_names[type] : "?";
}

/* The four that travel unsigned, before a session is ready. */
static bool opening(unsigned type)
{
	return type >= WIRE_HELLO && type <= WIRE_WELCOME;
}

/* HMAC-SHA256 under key of the frame's header and payload (n bytes). */
static void frame_mac(const uint8_t key[WIRE_MAC], const unsigned char *frame, size_t n,
		      uint8_t out[WIRE_MAC])
{
	unsigned int olen = WIRE_MAC;
	if (!HMAC(EVP_sha256(), key, WIRE_MAC, frame, n, out, &olen) || olen != WIRE_MAC)
		memset(out, 0, WIRE_MAC); /* never verifies: a signed frame's mac is checked
					   * by recomputing, and zero is refused below */
}

static void say(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t cap, const char *fmt, ...)
{
	if (!why || !cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

int wire_encode(struct wire_session *s, const struct wire_msg *m, void **out, size_t *len)
{
	bool sign = !opening(m->type);
	if (m->type < WIRE_HELLO || m->type >= WIRE_TYPE_END)
		return -EINVAL;
	if (sign && (!s || !s->ready || s->send_seq == UINT64_MAX))
		return -EINVAL;
	uint64_t seq = sign ? s->send_seq + 1 : 0;
	struct wire_wbuf w = { 0 };
	unsigned char *h = wire_w_room(&w, WIRE_HEAD);
	if (h) {
		memcpy(h, WIRE_MAGIC, 4);
		h[4] = WIRE_VERSION & 0xff, h[5] = WIRE_VERSION >> 8;
		h[6] = (unsigned char)m->type, h[7] = (unsigned char)(m->type >> 8);
		le_put64(h + 8, seq);
	}
	wire_payload_encode(&w, m, NULL, 0);
	unsigned char *mac = wire_w_room(&w, WIRE_MAC);
	if (w.err) {
		free(w.p);
		return w.err;
	}
	le_put32(w.p + 16, (uint32_t)(w.len - WIRE_MIN_FRAME));
	if (sign)
		frame_mac(s->send_key, w.p, w.len - WIRE_MAC, mac);
	else
		memset(mac, 0, WIRE_MAC);
	if (sign)
		s->send_seq = seq;
	*out = w.p;
	*len = w.len;
	return 0;
}

/* The header's checks: 0 with *type and *seq, or the refusal. */
static int check_head(const struct wire_session *s, const unsigned char *b, size_t len,
		      unsigned *type, uint64_t *seq, char *why, size_t cap)
{
	if (len < 4 || memcmp(b, WIRE_MAGIC, 4)) {
		say(why, cap, "not a frame of the worker protocol");
		return -EPROTO;
	}
	if (len < WIRE_MIN_FRAME) {
		say(why, cap, "a frame of %zu bytes, shorter than its header and mac", len);
		return -EBADMSG;
	}
	unsigned version = b[4] | b[5] << 8;
	*type = b[6] | b[7] << 8;
	*seq = le_get64(b + 8);
	uint32_t plen = le_get32(b + 16);
	if (version != WIRE_VERSION) {
		say(why, cap, "protocol version %u, this side speaks %d", version, WIRE_VERSION);
		return -EPROTO;
	}
	if (*type < WIRE_HELLO || *type >= WIRE_TYPE_END) {
		say(why, cap, "unknown message type %u", *type);
		return -EPROTO;
	}
	if (len > WIRE_MAX_MSG || plen != len - WIRE_MIN_FRAME) {
		say(why, cap, "%s: payload length %u in a frame of %zu bytes", wire_type_name(*type),
		    plen, len);
		return -EBADMSG;
	}
	bool ready = s && s->ready;
	if (opening(*type) == ready) {
		say(why, cap, "%s %s", wire_type_name(*type),
		    ready ? "after the session is ready" : "before authentication");
		return -EPROTO;
	}
	return 0;
}

int wire_decode(struct wire_session *s, const void *buf, size_t len, struct wire_msg *m,
		char *why, size_t cap)
{
	const unsigned char *b = buf;
	memset(m, 0, sizeof(*m));
	if (why && cap)
		why[0] = 0;
	unsigned type = 0;
	uint64_t seq = 0;
	int rc = check_head(s, b, len, &type, &seq, why, cap);
	if (rc)
		return rc;
	const unsigned char *mac = b + len - WIRE_MAC;
	if (opening(type)) {
		static const uint8_t zero[WIRE_MAC];
		if (seq != 0 || memcmp(mac, zero, WIRE_MAC)) {
			say(why, cap, "%s: unsigned, but with a seq or mac", wire_type_name(type));
			return -EBADMSG;
		}
	} else {
		uint8_t want[WIRE_MAC];
		frame_mac(s->recv_key, b, len - WIRE_MAC, want);
		if (!CRYPTO_memcmp(want, (const uint8_t[WIRE_MAC]){ 0 }, WIRE_MAC) ||
		    CRYPTO_memcmp(want, mac, WIRE_MAC)) {
			say(why, cap, "%s: the mac does not verify", wire_type_name(type));
			return -EACCES;
		}
		if (s->recv_seq == UINT64_MAX || seq != s->recv_seq + 1) {
			say(why, cap, "%s: seq %llu, expected %llu", wire_type_name(type),
			    (unsigned long long)seq, (unsigned long long)s->recv_seq + 1);
			return -EALREADY;
		}
	}
	m->type = (uint16_t)type;
	m->seq = seq;
	rc = wire_payload_decode(m, b + WIRE_HEAD, len - WIRE_MIN_FRAME, why, cap);
	if (rc) {
		wire_msg_free(m);
		if (rc == -ENOMEM)
			say(why, cap, "%s: out of memory", wire_type_name(type));
		return rc;
	}
	if (!opening(type))
		s->recv_seq = seq;
	return 0;
}

void wire_msg_free(struct wire_msg *m)
{
	if (!m)
		return;
	free(m->owned);
	memset(m, 0, sizeof(*m));
}
