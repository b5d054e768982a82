/* wire_codec.c — the payload of each message type (wire.h), both ways.
 *
 * Integers are little-endian; a string is u32 length then its bytes (no
 * NUL on the wire, none allowed inside); a key is
 *   job i64 | idx u32 | attempt u32 | digest u64.
 * Payloads, by type:
 *   HELLO      nonce[32] | name | host | pid i32 | backend | pilot | slots u16
 *   CHALLENGE  nonce[32] | instance u64
 *   AUTH       proof[32]
 *   WELCOME    proof[32] | worker_id u32 | lease_ms u32 | progress_ms u32
 *   TASK       key | text | basedir | url | tree | entries i64 | size u64 |
 *              mtime_ns i64 | fingerprint u64 | first i64 | last i64
 *   PROGRESS   n u32 | busy u32 | n * (key | events i64 | bytes u64)
 *   RESULT     key | rc i32 | why | events i64 | bytes u64 |
 *              raw_len u32 | lz4_len u32 | lz4 bytes
 *   ACK, CANCEL, GIVEBACK  key
 *   BYE        code u32 | why
 *
 * One function, msg_check(), says what a message may hold; encoding runs
 * it before writing and decoding after reading, so that what one side
 * sends the other accepts, and nothing else. */
#include "wire_int.h"

#include <errno.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"

/* The most an lz4 block expands: a literal byte gives one, and every other
 * input byte at most 255 (a match length's extension byte). */
#define LZ4_MAX_RATIO 255u

/* ---- the writer ---- */

unsigned char *wire_w_room(struct wire_wbuf *w, size_t n)
{
	if (w->err)
		return NULL;
	if (n > WIRE_MAX_MSG - w->len) {
		w->err = -EFBIG;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n)
			cap *= 2;
		if (cap > WIRE_MAX_MSG)
			cap = WIRE_MAX_MSG;
		unsigned char *p = realloc(w->p, cap);
		if (!p) {
			w->err = -ENOMEM;
			return NULL;
		}
		w->p = p;
		w->cap = cap;
	}
	unsigned char *at = w->p + w->len;
	w->len += n;
	return at;
}

static void w_bytes(struct wire_wbuf *w, const void *b, size_t n)
{
	unsigned char *at = wire_w_room(w, n);
	if (at && n)
		memcpy(at, b, n);
}

static void w_u16(struct wire_wbuf *w, uint16_t v)
{
	unsigned char *at = wire_w_room(w, 2);
	if (at)
		at[0] = (unsigned char)v, at[1] = (unsigned char)(v >> 8);
}

static void w_u32(struct wire_wbuf *w, uint32_t v)
{
	unsigned char *at = wire_w_room(w, 4);
	if (at)
		le_put32(at, v);
}

static void w_u64(struct wire_wbuf *w, uint64_t v)
{
	unsigned char *at = wire_w_room(w, 8);
	if (at)
		le_put64(at, v);
}

/* s (NULL: "") as a string; msg_check() has bounded its length. */
static void w_str(struct wire_wbuf *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	w_u32(w, (uint32_t)n);
	w_bytes(w, s, n);
}

static void w_key(struct wire_wbuf *w, const struct wire_key *k)
{
	w_u64(w, (uint64_t)k->job);
	w_u32(w, k->idx);
	w_u32(w, k->attempt);
	w_u64(w, k->digest);
}

/* ---- the reader ---- */

void wire_r_fail(struct wire_rbuf *r, const char *fmt, ...)
{
	if (!r->bad && r->why && r->cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->why, r->cap, fmt, ap);
		va_end(ap);
	}
	r->bad = 1;
}

/* The next n bytes, or NULL (r->bad set) when fewer are left. */
static const unsigned char *r_take(struct wire_rbuf *r, size_t n, const char *what)
{
	if (r->bad)
		return NULL;
	if (n > r->n) {
		wire_r_fail(r, "%s: %zu bytes wanted, %zu left", what, n, r->n);
		return NULL;
	}
	const unsigned char *at = r->p;
	r->p += n;
	r->n -= n;
	return at;
}

static void r_bytes(struct wire_rbuf *r, void *dst, size_t n, const char *what)
{
	const unsigned char *at = r_take(r, n, what);
	if (at)
		memcpy(dst, at, n);
	else
		memset(dst, 0, n);
}

static uint16_t r_u16(struct wire_rbuf *r, const char *what)
{
	const unsigned char *at = r_take(r, 2, what);
	return at ? (uint16_t)(at[0] | at[1] << 8) : 0;
}

static uint32_t r_u32(struct wire_rbuf *r, const char *what)
{
	const unsigned char *at = r_take(r, 4, what);
	return at ? le_get32(at) : 0;
}

static uint64_t r_u64(struct wire_rbuf *r, const char *what)
{
	const unsigned char *at = r_take(r, 8, what);
	return at ? le_get64(at) : 0;
}

/* A string of fewer than max bytes, without NUL: its bytes (in the input,
 * *n of them), or NULL with r->bad set. */
static const unsigned char *r_strbytes(struct wire_rbuf *r, size_t max, size_t *n,
				       const char *what)
{
	*n = 0;
	uint32_t len = r_u32(r, what);
	if (r->bad)
		return NULL;
	if (len >= max) {
		wire_r_fail(r, "%s: %u bytes, at most %zu", what, len, max - 1);
		return NULL;
	}
	const unsigned char *at = r_take(r, len, what);
	if (at && memchr(at, 0, len)) {
		wire_r_fail(r, "%s: a NUL byte inside", what);
		return NULL;
	}
	*n = len;
	return at;
}

/* A string into dst (cap bytes, NUL-terminated). */
static void r_str(struct wire_rbuf *r, char *dst, size_t cap, const char *what)
{
	size_t n;
	const unsigned char *at = r_strbytes(r, cap, &n, what);
	if (at)
		memcpy(dst, at, n);
	dst[at ? n : 0] = 0;
}

/* A string of fewer than max bytes copied to *pool (NUL-terminated; the
 * pool moves on past it): the copy, or "" once r is bad. */
static const char *r_strpool(struct wire_rbuf *r, size_t max, char **pool, const char *what)
{
	size_t n;
	const unsigned char *at = r_strbytes(r, max, &n, what);
	if (!at)
		return "";
	char *s = *pool;
	memcpy(s, at, n);
	s[n] = 0;
	*pool += n + 1;
	return s;
}

static void r_key(struct wire_rbuf *r, struct wire_key *k)
{
	k->job = (int64_t)r_u64(r, "key's job");
	k->idx = r_u32(r, "key's index");
	k->attempt = r_u32(r, "key's attempt");
	k->digest = r_u64(r, "key's digest");
}

/* ---- what a message may hold ---- */

/* Whether the fixed-size string s (cap bytes) is terminated, and printable
 * when it names something (names end up in logs and listings). */
static int fixed_ok(const char *s, size_t cap, bool printable, bool nonempty)
{
	size_t n = strnlen(s, cap);
	if (n == cap || (nonempty && n == 0))
		return 0;
	for (size_t i = 0; printable && i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return 0;
	return 1;
}

/* A pointer string (NULL: "") shorter than max. */
static int ptr_ok(const char *s, size_t max)
{
	return !s || strnlen(s, max) < max;
}

static int key_ok(const struct wire_key *k)
{
	return k->job >= 0;
}

/* NULL when m is within its type's bounds, else what is not. */
static const char *msg_check(const struct wire_msg *m)
{
	const struct wire_hello *h = &m->u.hello;
	const struct wire_task *t = &m->u.task;
	const struct wire_result *res = &m->u.result;
	switch (m->type) {
	case WIRE_HELLO:
		if (!fixed_ok(h->name, sizeof(h->name), true, true))
			return "hello's name is empty, too long or not printable";
		if (!fixed_ok(h->host, sizeof(h->host), true, false) ||
		    !fixed_ok(h->backend, sizeof(h->backend), true, false) ||
		    !fixed_ok(h->pilot, sizeof(h->pilot), true, false))
			return "hello's host, backend or pilot is too long or not printable";
		if (h->pid < 1)
			return "hello's pid is not positive";
		if (h->slots < 1 || h->slots > WIRE_MAX_SLOTS)
			return "hello's slots are not 1..WIRE_MAX_SLOTS";
		return NULL;
	case WIRE_CHALLENGE:
	case WIRE_AUTH:
		return NULL;
	case WIRE_WELCOME:
		if (m->u.welcome.lease_ms == 0 || m->u.welcome.progress_ms == 0)
			return "welcome's lease or progress period is zero";
		return NULL;
	case WIRE_TASK:
	case WIRE_WARM:
		if (!key_ok(&t->key))
			return "task's job is negative";
		if (t->text_len > WIRE_MAX_TEXT || (t->text_len && !t->text))
			return "task's text is too long";
		if (t->text_len && memchr(t->text, 0, t->text_len))
			return "task's text holds a NUL byte";
		if (!ptr_ok(t->basedir, WIRE_MAX_PATH) || !ptr_ok(t->url, WIRE_MAX_PATH) ||
		    !ptr_ok(t->tree, WIRE_MAX_PATH))
			return "task's base folder, url or tree is too long";
		if (!t->url || !t->url[0])
			return "task's url is empty";
		if (t->entries < 0 || t->first < 0 || t->first > t->last || t->last > t->entries)
			return "task's entries are not 0 <= first <= last <= entries";
		return NULL;
	case WIRE_PROGRESS:
		if (m->u.progress.n > WIRE_MAX_PROGRESS)
			return "progress lists more than WIRE_MAX_PROGRESS tasks";
		if (m->u.progress.busy > WIRE_MAX_SLOTS)
			return "progress's busy slots exceed WIRE_MAX_SLOTS";
		for (uint32_t i = 0; i < m->u.progress.n; i++)
			if (!key_ok(&m->u.progress.t[i].key) || m->u.progress.t[i].events < 0)
				return "progress's task has a negative job or events";
		return NULL;
	case WIRE_RESULT:
		if (!key_ok(&res->key))
			return "result's job is negative";
		if (res->rc > 0)
			return "result's rc is positive";
		if (!fixed_ok(res->why, sizeof(res->why), false, false))
			return "result's why is too long";
		if (res->events < 0)
			return "result's events are negative";
		if (res->rc < 0 && res->blob_len)
			return "a failed result carries a blob";
		if (res->blob_len && !res->blob)
			return "result's blob is missing";
		return NULL;
	case WIRE_ACK:
	case WIRE_CANCEL:
	case WIRE_GIVEBACK:
		return key_ok(&m->u.key) ? NULL : "key's job is negative";
	case WIRE_BYE:
		if (!fixed_ok(m->u.bye.why, sizeof(m->u.bye.why), false, false))
			return "bye's why is too long";
		return NULL;
	case WIRE_WARMED:
		if (!key_ok(&m->u.warmed.key))
			return "warmed's job is negative";
		if (m->u.warmed.rc > 0)
			return "warmed's rc is positive";
		if (!fixed_ok(m->u.warmed.why, sizeof(m->u.warmed.why), false, false))
			return "warmed's why is too long";
		return NULL;
	}
	return "unknown type";
}

/* ---- encoding ---- */

static void enc_blob(struct wire_wbuf *w, const void *blob, size_t n)
{
	w_u32(w, (uint32_t)n);
	size_t at_len = w->len;
	w_u32(w, 0);
	if (w->err || n == 0)
		return;
	if (n > WIRE_MAX_MSG) {
		w->err = -EFBIG;
		return;
	}
	/* As much room as lz4 may need, but never past the frame's cap (the
	 * mac still follows): a blob that does not fit is -EFBIG. */
	size_t room = (size_t)LZ4_compressBound((int)n);
	size_t left = WIRE_MAX_MSG - w->len - WIRE_MAC;
	if (room > left)
		room = left;
	unsigned char *dst = wire_w_room(w, room);
	if (!dst)
		return;
	int c = LZ4_compress_default(blob, (char *)dst, (int)n, (int)room);
	if (c <= 0) {
		w->err = -EFBIG;
		return;
	}
	w->len -= room - (size_t)c;
	le_put32(w->p + at_len, (uint32_t)c);
}

void wire_payload_encode(struct wire_wbuf *w, const struct wire_msg *m, char *why, size_t cap)
{
	const char *bad = msg_check(m);
	if (bad) {
		if (why && cap)
			snprintf(why, cap, "%s", bad);
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	const struct wire_task *t = &m->u.task;
	const struct wire_result *res = &m->u.result;
	switch (m->type) {
	case WIRE_HELLO:
		w_bytes(w, m->u.hello.nonce, WIRE_NONCE);
		w_str(w, m->u.hello.name);
		w_str(w, m->u.hello.host);
		w_u32(w, (uint32_t)m->u.hello.pid);
		w_str(w, m->u.hello.backend);
		w_str(w, m->u.hello.pilot);
		w_u16(w, m->u.hello.slots);
		break;
	case WIRE_CHALLENGE:
		w_bytes(w, m->u.challenge.nonce, WIRE_NONCE);
		w_u64(w, m->u.challenge.instance);
		break;
	case WIRE_AUTH:
		w_bytes(w, m->u.auth.proof, WIRE_MAC);
		break;
	case WIRE_WELCOME:
		w_bytes(w, m->u.welcome.proof, WIRE_MAC);
		w_u32(w, m->u.welcome.worker_id);
		w_u32(w, m->u.welcome.lease_ms);
		w_u32(w, m->u.welcome.progress_ms);
		break;
	case WIRE_TASK:
	case WIRE_WARM:
		w_key(w, &t->key);
		w_u32(w, t->text_len);
		w_bytes(w, t->text, t->text_len);
		w_str(w, t->basedir);
		w_str(w, t->url);
		w_str(w, t->tree);
		w_u64(w, (uint64_t)t->entries);
		w_u64(w, t->size);
		w_u64(w, (uint64_t)t->mtime_ns);
		w_u64(w, t->fingerprint);
		w_u64(w, (uint64_t)t->first);
		w_u64(w, (uint64_t)t->last);
		break;
	case WIRE_PROGRESS:
		w_u32(w, m->u.progress.n);
		w_u32(w, m->u.progress.busy);
		for (uint32_t i = 0; i < m->u.progress.n; i++) {
			w_key(w, &m->u.progress.t[i].key);
			w_u64(w, (uint64_t)m->u.progress.t[i].events);
			w_u64(w, m->u.progress.t[i].bytes);
		}
		break;
	case WIRE_RESULT:
		w_key(w, &res->key);
		w_u32(w, (uint32_t)res->rc);
		w_str(w, res->why);
		w_u64(w, (uint64_t)res->events);
		w_u64(w, res->bytes);
		w_u64(w, res->cache.hits);
		w_u64(w, res->cache.misses);
		w_u64(w, res->cache.bytes_hit);
		w_u64(w, res->cache.bytes_fetched);
		w_u64(w, res->cache.bytes_prefetched);
		enc_blob(w, res->blob, res->blob_len);
		break;
	case WIRE_ACK:
	case WIRE_CANCEL:
	case WIRE_GIVEBACK:
		w_key(w, &m->u.key);
		break;
	case WIRE_BYE:
		w_u32(w, m->u.bye.code);
		w_str(w, m->u.bye.why);
		break;
	case WIRE_WARMED:
		w_key(w, &m->u.warmed.key);
		w_u32(w, (uint32_t)m->u.warmed.rc);
		w_u64(w, m->u.warmed.bytes);
		w_u32(w, m->u.warmed.ms);
		w_str(w, m->u.warmed.why);
		break;
	}
}

/* ---- decoding ---- */

/* The blob: its lengths checked against what lz4 can give before its
 * uncompressed length is allocated, then decompressed to exactly that. */
static int dec_blob(struct wire_rbuf *r, struct wire_msg *m)
{
	uint32_t raw = r_u32(r, "result's blob length");
	uint32_t clen = r_u32(r, "result's lz4 length");
	if (r->bad)
		return -EBADMSG;
	if (clen != r->n) {
		wire_r_fail(r, "result's lz4 length %u, %zu bytes left", clen, r->n);
		return -EBADMSG;
	}
	if ((raw == 0) != (clen == 0) || raw > WIRE_MAX_MSG ||
	    raw > (uint64_t)clen * LZ4_MAX_RATIO + 64) {
		wire_r_fail(r, "result's blob of %u bytes cannot come from %u lz4 bytes", raw, clen);
		return -EBADMSG;
	}
	const unsigned char *src = r_take(r, clen, "result's lz4 bytes");
	if (raw == 0)
		return 0;
	if (!(m->owned = malloc(raw)))
		return -ENOMEM;
	int got = LZ4_decompress_safe((const char *)src, m->owned, (int)clen, (int)raw);
	if (got < 0 || (uint32_t)got != raw) {
		wire_r_fail(r, "result's blob does not decompress to its %u bytes", raw);
		return -EBADMSG;
	}
	m->u.result.blob = m->owned;
	m->u.result.blob_len = raw;
	return 0;
}

static int dec_task(struct wire_rbuf *r, struct wire_msg *m, size_t plen)
{
	struct wire_task *t = &m->u.task;
	/* Every string is copied, terminated, into one pool: each costs at
	 * most its length and its prefix's 4 bytes, so the payload's length
	 * bounds the pool. */
	if (!(m->owned = malloc(plen + 1)))
		return -ENOMEM;
	char *pool = m->owned;
	r_key(r, &t->key);
	uint32_t tlen = r_u32(r, "task's text length");
	if (!r->bad && tlen > WIRE_MAX_TEXT)
		wire_r_fail(r, "task's text: %u bytes, at most %u", tlen, WIRE_MAX_TEXT);
	const unsigned char *text = r_take(r, tlen, "task's text");
	if (text && memchr(text, 0, tlen))
		wire_r_fail(r, "task's text: a NUL byte inside");
	if (r->bad)
		return -EBADMSG;
	memcpy(pool, text, tlen);
	pool[tlen] = 0;
	t->text = pool;
	t->text_len = tlen;
	pool += tlen + 1;
	t->basedir = r_strpool(r, WIRE_MAX_PATH, &pool, "task's base folder");
	t->url = r_strpool(r, WIRE_MAX_PATH, &pool, "task's url");
	t->tree = r_strpool(r, WIRE_MAX_PATH, &pool, "task's tree");
	t->entries = (int64_t)r_u64(r, "task's entries");
	t->size = r_u64(r, "task's size");
	t->mtime_ns = (int64_t)r_u64(r, "task's mtime");
	t->fingerprint = r_u64(r, "task's fingerprint");
	t->first = (int64_t)r_u64(r, "task's first entry");
	t->last = (int64_t)r_u64(r, "task's last entry");
	return r->bad ? -EBADMSG : 0;
}

static void dec_progress(struct wire_rbuf *r, struct wire_msg *m)
{
	struct wire_progress *p = &m->u.progress;
	p->n = r_u32(r, "progress's count");
	p->busy = r_u32(r, "progress's busy slots");
	if (!r->bad && p->n > WIRE_MAX_PROGRESS) {
		wire_r_fail(r, "progress lists %u tasks, at most %d", p->n, WIRE_MAX_PROGRESS);
		return;
	}
	for (uint32_t i = 0; i < p->n && !r->bad; i++) {
		r_key(r, &p->t[i].key);
		p->t[i].events = (int64_t)r_u64(r, "progress's events");
		p->t[i].bytes = r_u64(r, "progress's bytes");
	}
}

int wire_payload_decode(struct wire_msg *m, const unsigned char *p, size_t n, char *why,
			size_t cap)
{
	struct wire_rbuf r = { .p = p, .n = n, .why = why, .cap = cap };
	struct wire_hello *h = &m->u.hello;
	struct wire_result *res = &m->u.result;
	int rc = 0;
	switch (m->type) {
	case WIRE_HELLO:
		r_bytes(&r, h->nonce, WIRE_NONCE, "hello's nonce");
		r_str(&r, h->name, sizeof(h->name), "hello's name");
		r_str(&r, h->host, sizeof(h->host), "hello's host");
		h->pid = (int32_t)r_u32(&r, "hello's pid");
		r_str(&r, h->backend, sizeof(h->backend), "hello's backend");
		r_str(&r, h->pilot, sizeof(h->pilot), "hello's pilot");
		h->slots = r_u16(&r, "hello's slots");
		break;
	case WIRE_CHALLENGE:
		r_bytes(&r, m->u.challenge.nonce, WIRE_NONCE, "challenge's nonce");
		m->u.challenge.instance = r_u64(&r, "challenge's instance");
		break;
	case WIRE_AUTH:
		r_bytes(&r, m->u.auth.proof, WIRE_MAC, "auth's proof");
		break;
	case WIRE_WELCOME:
		r_bytes(&r, m->u.welcome.proof, WIRE_MAC, "welcome's proof");
		m->u.welcome.worker_id = r_u32(&r, "welcome's worker id");
		m->u.welcome.lease_ms = r_u32(&r, "welcome's lease");
		m->u.welcome.progress_ms = r_u32(&r, "welcome's progress period");
		break;
	case WIRE_TASK:
	case WIRE_WARM:
		rc = dec_task(&r, m, n);
		break;
	case WIRE_PROGRESS:
		dec_progress(&r, m);
		break;
	case WIRE_RESULT:
		r_key(&r, &res->key);
		res->rc = (int32_t)r_u32(&r, "result's rc");
		r_str(&r, res->why, sizeof(res->why), "result's why");
		res->events = (int64_t)r_u64(&r, "result's events");
		res->bytes = r_u64(&r, "result's bytes");
		res->cache.hits = r_u64(&r, "result's cache hits");
		res->cache.misses = r_u64(&r, "result's cache misses");
		res->cache.bytes_hit = r_u64(&r, "result's cache bytes");
		res->cache.bytes_fetched = r_u64(&r, "result's fetched bytes");
		res->cache.bytes_prefetched = r_u64(&r, "result's prefetched bytes");
		rc = dec_blob(&r, m);
		break;
	case WIRE_ACK:
	case WIRE_CANCEL:
	case WIRE_GIVEBACK:
		r_key(&r, &m->u.key);
		break;
	case WIRE_BYE:
		m->u.bye.code = r_u32(&r, "bye's code");
		r_str(&r, m->u.bye.why, sizeof(m->u.bye.why), "bye's why");
		break;
	case WIRE_WARMED:
		r_key(&r, &m->u.warmed.key);
		m->u.warmed.rc = (int32_t)r_u32(&r, "warmed's rc");
		m->u.warmed.bytes = r_u64(&r, "warmed's bytes");
		m->u.warmed.ms = r_u32(&r, "warmed's time");
		r_str(&r, m->u.warmed.why, sizeof(m->u.warmed.why), "warmed's why");
		break;
	default:
		wire_r_fail(&r, "unknown type %u", m->type);
		break;
	}
	if (rc)
		return rc == -ENOMEM ? rc : -EBADMSG;
	if (!r.bad && r.n)
		wire_r_fail(&r, "%zu trailing bytes after the %s", r.n, wire_type_name(m->type));
	const char *bad = r.bad ? NULL : msg_check(m);
	if (bad)
		wire_r_fail(&r, "%s", bad);
	return r.bad ? -EBADMSG : 0;
}
