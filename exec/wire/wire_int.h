/* wire_int.h — what wire.c and wire_codec.c share: the frame's sizes, the
 * byte writer and reader, and the payload codec of each type.  Private to
 * exec/wire. */
#ifndef ANAFS_WIRE_INT_H
#define ANAFS_WIRE_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define WIRE_MAGIC "ANFW"
#define WIRE_HEAD 20 /* magic 4, version 2, type 2, seq 8, payload length 4 */
#define WIRE_MIN_FRAME (WIRE_HEAD + WIRE_MAC)

/* A growing output buffer.  err is sticky: the first failure (-EFBIG past
 * WIRE_MAX_MSG, -ENOMEM, -EINVAL) wins and later writes do nothing. */
struct wire_wbuf {
	unsigned char *p;
	size_t len, cap;
	int err;
};

/* Room for n more bytes: a pointer to them, or NULL with w->err set. */
unsigned char *wire_w_room(struct wire_wbuf *w, size_t n);

/* A bounded view of input bytes.  bad is sticky: a read past the end or a
 * field out of bounds sets it (with why) and later reads give zeros. */
struct wire_rbuf {
	const unsigned char *p;
	size_t n;
	int bad;
	char *why;
	size_t cap;
};

/* Set r->bad and, the first time, r->why (printf-style). */
void wire_r_fail(struct wire_rbuf *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* m's payload (not the header, not the mac) appended to w; m's fields are
 * checked against their bounds first (w->err = -EINVAL, why says which). */
void wire_payload_encode(struct wire_wbuf *w, const struct wire_msg *m, char *why, size_t cap);

/* The payload of type m->type from p (n bytes) into m: 0, -EBADMSG (why
 * says what) or -ENOMEM.  On failure m->owned may be set: the caller frees
 * it. */
int wire_payload_decode(struct wire_msg *m, const unsigned char *p, size_t n, char *why,
			size_t cap);

#endif
