/* test_wire.c — the worker protocol's frames (wire.h): round trips of
 * every type, the header's checks, truncation at every byte, bit flips,
 * replay and reorder, reflection, sessions of other nonces or secrets,
 * the state rules, and lz4 blobs that lie.  Bounds: test_wire_bounds.c;
 * proofs and the secret file: test_wire_auth.c.
 *
 * `test_wire --seeds DIR` instead writes one valid frame of every type
 * into DIR, as fuzz_wire's seed corpus (its first byte fuzz_wire's mode,
 * signed frames under fuzz_wire's fixed keys). */
#include "wire_test.h"

static void test_round_trips(void)
{
	for (unsigned t = WIRE_HELLO; t < WIRE_TYPE_END; t++) {
		struct wire_msg m;
		sample(t, &m);
		int rc = round_trip(&m);
		check(rc == 0, "%s does not round trip: %d", wire_type_name(t), rc);
		check(strcmp(wire_type_name(t), "?") != 0, "type %u has no name", t);
	}
	check(!strcmp(wire_type_name(0), "?") && !strcmp(wire_type_name(WIRE_TYPE_END), "?"),
	      "names of unknown types");
	/* A failed result, an empty blob, a task with every string empty but the url. */
	struct wire_msg m;
	sample(WIRE_RESULT, &m);
	m.u.result.rc = -5, m.u.result.blob = NULL, m.u.result.blob_len = 0;
	strcpy(m.u.result.why, "f.root: entries 10..20: basket 3: corrupt\nsecond line");
	check(round_trip(&m) == 0, "a failed result does not round trip");
	sample(WIRE_TASK, &m);
	m.u.task.text = NULL, m.u.task.text_len = 0, m.u.task.basedir = NULL, m.u.task.tree = "";
	check(round_trip(&m) == 0, "a task of empty strings does not round trip");
	sample(WIRE_PROGRESS, &m);
	m.u.progress.n = 0;
	check(round_trip(&m) == 0, "an empty progress does not round trip");
	/* seq goes up by one per frame and is given back by decode */
	sample(WIRE_ACK, &m);
	void *f;
	size_t n;
	uint64_t next = cs.send_seq + 1;
	check(wire_encode(&cs, &m, &f, &n) == 0 && cs.send_seq == next, "send_seq did not move");
	struct wire_msg d;
	check(wire_decode(&ws, f, n, &d, NULL, 0) == 0 && d.seq == next && ws.recv_seq == next,
	      "decode's seq %llu, expected %llu", (unsigned long long)d.seq, (unsigned long long)next);
	wire_msg_free(&d);
	free(f);
}


static void test_frame(void)
{
	sessions();
	hello_payload(&pl, 4, 4, 1, 1, 'h');
	frame(&fr, WIRE_HELLO, 0, &pl, NULL);
	check(dec_bytes(NULL, fr.b, fr.n) == 0, "a hand-made hello refused");
	fr.b[4] = WIRE_VERSION + 1;
	check(dec_bytes(NULL, fr.b, fr.n) == -EPROTO, "version %d accepted", WIRE_VERSION + 1);
	fr.b[4] = WIRE_VERSION - 1;
	check(dec_bytes(NULL, fr.b, fr.n) == -EPROTO, "version %d accepted", WIRE_VERSION - 1);
	fr.b[4] = WIRE_VERSION, fr.b[0] = 'X';
	check(dec_bytes(NULL, fr.b, fr.n) == -EPROTO, "a wrong magic accepted");
	fr.b[0] = 'A';
	for (unsigned t = 0; t < 0x10000; t += (t < 16 ? 1 : 0x1000)) {
		if (t >= WIRE_HELLO && t < WIRE_TYPE_END)
			continue;
		fr.b[6] = (unsigned char)t, fr.b[7] = (unsigned char)(t >> 8);
		check(dec_bytes(NULL, fr.b, fr.n) == -EPROTO, "type %u accepted", t);
	}
	fr.b[6] = WIRE_HELLO, fr.b[7] = 0;
	fr.b[16]++;
	check(dec_bytes(NULL, fr.b, fr.n) == -EBADMSG, "a payload length one over accepted");
	fr.b[16] -= 2;
	check(dec_bytes(NULL, fr.b, fr.n) == -EBADMSG, "a payload length one short accepted");
	fr.b[16]++;
	frame(&fr, WIRE_HELLO, 1, &pl, NULL);
	check(dec_bytes(NULL, fr.b, fr.n) == -EBADMSG, "an unsigned hello with seq 1 accepted");
	frame(&fr, WIRE_HELLO, 0, &pl, secret);
	check(dec_bytes(NULL, fr.b, fr.n) == -EBADMSG, "an unsigned hello with a mac accepted");
	/* Longer than any frame may be: refused on its length alone (the
	 * pages of the zeroed buffer are never touched). */
	size_t huge = (size_t)WIRE_MAX_MSG + 1;
	unsigned char *h = calloc(1, huge);
	if (h) {
		frame(&fr, WIRE_HELLO, 0, &pl, NULL);
		memcpy(h, fr.b, WIRE_HEAD_TEST);
		le_put32(h + 16, (uint32_t)(huge - WIRE_HEAD_TEST - WIRE_MAC));
		check(dec_bytes(NULL, h, huge) == -EBADMSG, "a frame past WIRE_MAX_MSG accepted");
		free(h);
	}
	check(dec_bytes(NULL, NULL, 0) == -EPROTO, "an empty frame accepted");
}

/* ---- truncation, flips, replay, reflection, other sessions ---- */

static void test_truncation(void)
{
	sessions();
	for (unsigned t = WIRE_HELLO; t < WIRE_TYPE_END; t++) {
		struct wire_msg m;
		sample(t, &m);
		void *f = NULL;
		size_t n = 0;
		if (enc(t, &m, &f, &n)) {
			check(0, "%s: not encoded", wire_type_name(t));
			continue;
		}
		struct wire_session *r = receiver(t);
		uint64_t seq = r ? r->recv_seq : 0;
		int bad = 0;
		for (size_t cut = 0; cut < n; cut++) {
			unsigned char *c = malloc(cut ? cut : 1); /* exact size: ASan sees overreads */
			memcpy(c, f, cut);
			bad += dec_bytes(r, c, cut) == 0;
			free(c);
		}
		check(!bad, "%s: %d of %zu truncations accepted", wire_type_name(t), bad, n);
		check(!r || r->recv_seq == seq, "%s: a truncation moved recv_seq", wire_type_name(t));
		check(dec_bytes(r, f, n) == 0, "%s: whole frame refused after its truncations",
		      wire_type_name(t));
		free(f);
	}
}

static void test_flips(void)
{
	sessions();
	unsigned types[] = { WIRE_TASK, WIRE_RESULT, WIRE_PROGRESS, WIRE_ACK, WIRE_BYE };
	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
		struct wire_msg m;
		sample(types[k], &m);
		unsigned char *f = NULL;
		size_t n = 0;
		if (enc(types[k], &m, (void **)&f, &n))
			continue;
		struct wire_session *r = receiver(types[k]);
		int accepted = 0, not_eacces = 0;
		for (size_t i = 0; i < n; i++) {
			for (int bit = 0; bit < 8; bit++) {
				f[i] ^= (unsigned char)(1 << bit);
				int rc = dec_bytes(r, f, n);
				f[i] ^= (unsigned char)(1 << bit);
				accepted += rc == 0;
				/* Past magic, version, type and length, only the mac can tell. */
				if ((i >= 8 && i < 16) || i >= WIRE_HEAD_TEST)
					not_eacces += rc != -EACCES;
			}
		}
		check(!accepted, "%s: %d bit flips accepted", wire_type_name(types[k]), accepted);
		check(!not_eacces, "%s: %d flips of seq, payload or mac not -EACCES",
		      wire_type_name(types[k]), not_eacces);
		check(dec_bytes(r, f, n) == 0, "%s: refused after its flips", wire_type_name(types[k]));
		free(f);
	}
}

static void test_replay(void)
{
	sessions();
	struct wire_msg m;
	sample(WIRE_PROGRESS, &m);
	void *f1, *f2, *f3;
	size_t n1, n2, n3;
	check(!wire_encode(&ws, &m, &f1, &n1) && !wire_encode(&ws, &m, &f2, &n2) &&
	      !wire_encode(&ws, &m, &f3, &n3), "progress not encoded");
	check(dec_bytes(&cs, f2, n2) == -EALREADY, "the second frame before the first accepted");
	check(dec_bytes(&cs, f1, n1) == 0, "the first frame refused");
	check(dec_bytes(&cs, f1, n1) == -EALREADY, "the first frame replayed accepted");
	check(dec_bytes(&cs, f3, n3) == -EALREADY, "the third frame with the second missing accepted");
	check(dec_bytes(&cs, f2, n2) == 0, "the second frame refused");
	check(dec_bytes(&cs, f1, n1) == -EALREADY, "an old frame accepted");
	check(dec_bytes(&cs, f3, n3) == 0, "the third frame refused");
	check(cs.recv_seq == 3, "recv_seq %llu after 3 frames", (unsigned long long)cs.recv_seq);
	/* Reflected back at its sender: the other direction's key. */
	check(dec_bytes(&ws, f3, n3) == -EACCES, "a frame reflected to its sender accepted");
	/* A session of another worker nonce, or another secret. */
	uint8_t other[WIRE_NONCE];
	memcpy(other, wnonce, sizeof(other));
	other[0] ^= 1;
	struct wire_session c2;
	wire_session_init(&c2, secret, cnonce, other, true);
	check(dec_bytes(&c2, f1, n1) == -EACCES, "a frame of another session (worker nonce) accepted");
	memcpy(other, cnonce, sizeof(other));
	other[31] ^= 0x80;
	wire_session_init(&c2, secret, other, wnonce, true);
	check(dec_bytes(&c2, f1, n1) == -EACCES, "a frame of another session (coord nonce) accepted");
	uint8_t s2[WIRE_SECRET];
	memcpy(s2, secret, sizeof(s2));
	s2[5] ^= 4;
	wire_session_init(&c2, s2, cnonce, wnonce, true);
	check(dec_bytes(&c2, f1, n1) == -EACCES, "a frame under another secret accepted");
	/* A failed payload does not move recv_seq: sign a bad one with the right key. */
	progress_payload(&pl, WIRE_MAX_PROGRESS + 1, WIRE_MAX_PROGRESS + 1, 1);
	frame(&fr, WIRE_PROGRESS, cs.recv_seq + 1, &pl, ws.send_key);
	check(dec_bytes(&cs, fr.b, fr.n) == -EBADMSG && cs.recv_seq == 3,
	      "a signed bad payload accepted or moved recv_seq");
	progress_payload(&pl, 1, 1, 1);
	frame(&fr, WIRE_PROGRESS, 4, &pl, ws.send_key);
	check(dec_bytes(&cs, fr.b, fr.n) == 0 && cs.recv_seq == 4, "the next good frame refused");
	/* Nothing is next after the last seq. */
	cs.recv_seq = UINT64_MAX;
	frame(&fr, WIRE_PROGRESS, 0, &pl, ws.send_key);
	check(dec_bytes(&cs, fr.b, fr.n) == -EALREADY, "a seq past UINT64_MAX accepted");
	free(f1), free(f2), free(f3);
}

static void test_state_rules(void)
{
	sessions();
	struct wire_session cold = { 0 };
	for (unsigned t = WIRE_HELLO; t < WIRE_TYPE_END; t++) {
		struct wire_msg m;
		sample(t, &m);
		void *f = NULL;
		size_t n = 0;
		if (enc(t, &m, &f, &n))
			continue;
		if (t <= WIRE_WELCOME) {
			check(dec_bytes(&cs, f, n) == -EPROTO && dec_bytes(&ws, f, n) == -EPROTO,
			      "unsigned %s accepted by a ready session", wire_type_name(t));
			check(dec_bytes(&cold, f, n) == 0 && dec_bytes(NULL, f, n) == 0,
			      "unsigned %s refused before the session is ready", wire_type_name(t));
			/* whatever the session given to encode, unsigned */
			void *g = NULL;
			size_t gn = 0;
			check(!wire_encode(&cs, &m, &g, &gn) && gn == n && !memcmp(f, g, n),
			      "%s encoded differently with a ready session", wire_type_name(t));
			free(g);
		} else {
			check(dec_bytes(NULL, f, n) == -EPROTO && dec_bytes(&cold, f, n) == -EPROTO,
			      "signed %s accepted before the session is ready", wire_type_name(t));
			check(dec_bytes(receiver(t), f, n) == 0, "signed %s refused", wire_type_name(t));
		}
		free(f);
	}
}

/* ---- lz4 blobs ---- */

static void test_lz4(void)
{
	sessions();
	size_t big_n = 10u << 20;
	unsigned char *zeros = calloc(1, big_n);
	struct wire_msg m, d;
	sample(WIRE_RESULT, &m);
	m.u.result.blob = zeros, m.u.result.blob_len = big_n;
	void *f = NULL;
	size_t n = 0;
	check(wire_encode(&ws, &m, &f, &n) == 0, "10 MB of zeros not encoded");
	check(n < big_n / 100, "10 MB of zeros took %zu bytes", n);
	char why[256];
	int rc = wire_decode(&cs, f, n, &d, why, sizeof(why));
	check(rc == 0 && d.u.result.blob_len == big_n && !memcmp(d.u.result.blob, zeros, big_n),
	      "10 MB of zeros do not round trip: %s", why);
	wire_msg_free(&d);
	check(d.owned == NULL, "wire_msg_free left owned");
	/* The lz4 bytes of that frame, with lengths that lie. */
	/* header, key, rc, why (empty), events, bytes, the five cache figures,
	 * then the blob's two lengths */
	const unsigned char *lz = (const unsigned char *)f + WIRE_HEAD_TEST + 24 + 4 + 4 + 16 + 40 + 8;
	uint32_t lzlen = le_get32(lz - 4);
	check(le_get32(lz - 8) == big_n && lzlen + (size_t)(lz - (unsigned char *)f) + WIRE_MAC == n,
	      "the blob's place in the frame");
	result_payload(&pl, (uint32_t)big_n, lz, lzlen);
	check(dec_raw(WIRE_RESULT, &pl) == 0, "the hand-made blob refused");
	result_payload(&pl, (uint32_t)big_n + 1, lz, lzlen);
	check(dec_raw(WIRE_RESULT, &pl) == -EBADMSG, "a blob one byte longer than it is accepted");
	result_payload(&pl, (uint32_t)big_n - 1, lz, lzlen);
	check(dec_raw(WIRE_RESULT, &pl) == -EBADMSG, "a blob one byte shorter than it is accepted");
	result_payload(&pl, (uint32_t)big_n, lz, lzlen - 1);
	check(dec_raw(WIRE_RESULT, &pl) == -EBADMSG, "a blob cut by one lz4 byte accepted");
	result_payload(&pl, WIRE_MAX_MSG + 1, lz, lzlen);
	check(dec_raw(WIRE_RESULT, &pl) == -EBADMSG, "a blob past WIRE_MAX_MSG accepted");
	result_payload(&pl, 400u << 20, "\xf0\x00", 2);
	check(dec_raw(WIRE_RESULT, &pl) == -EBADMSG, "400 MB claimed from 2 lz4 bytes accepted");
	result_payload(&pl, 5, "", 0);
	check(dec_raw(WIRE_RESULT, &pl) == -EBADMSG, "a blob without lz4 bytes accepted");
	result_payload(&pl, 0, "\x10q", 2);
	check(dec_raw(WIRE_RESULT, &pl) == -EBADMSG, "lz4 bytes of an empty blob accepted");
	result_payload(&pl, 1, "\x10q", 2);
	check(dec_raw(WIRE_RESULT, &pl) == 0, "one literal refused");
	result_payload(&pl, 100, "\xff\xff\xff\xff", 4);
	check(dec_raw(WIRE_RESULT, &pl) == -EBADMSG, "lz4 garbage accepted");
	result_payload(&pl, 1, "\x10q", 2);
	pl.b[pl.n - 6]++; /* lz4_len 3, 2 bytes there */
	check(dec_raw(WIRE_RESULT, &pl) == -EBADMSG, "an lz4 length past the payload accepted");
	free(f);
	free(zeros);
}

/* ---- the seed corpus of fuzz_wire ---- */

static int write_seed(const char *dir, const char *name, unsigned mode, const void *f, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return -1;
	unsigned char b = (unsigned char)mode;
	int ok = fwrite(&b, 1, 1, fp) == 1 && fwrite(f, 1, n, fp) == n;
	return fclose(fp) == 0 && ok ? 0 : -1;
}

static int seeds(const char *dir)
{
	memset(secret, FZ_SECRET, sizeof(secret));
	memset(cnonce, FZ_CNONCE, sizeof(cnonce));
	memset(wnonce, FZ_WNONCE, sizeof(wnonce));
	for (unsigned t = WIRE_HELLO; t < WIRE_TYPE_END; t++) {
		struct wire_msg m;
		sample(t, &m);
		void *f = NULL;
		size_t n = 0;
		/* fuzz_wire decodes as the coordinator: every signed seed is
		 * the worker's first frame, seq 1. */
		wire_session_init(&ws, secret, cnonce, wnonce, false);
		if (wire_encode(t <= WIRE_WELCOME ? NULL : &ws, &m, &f, &n))
			return 1;
		if (write_seed(dir, wire_type_name(t), t <= WIRE_WELCOME ? 0 : 1, f, n))
			return 1;
		free(f);
	}
	printf("test_wire: seeds of %d types in %s\n", WIRE_TYPE_END - 1, dir);
	return 0;
}

int main(int argc, char **argv)
{
	for (int i = 0; i < WIRE_SECRET; i++)
		secret[i] = (uint8_t)(i * 7 + 1);
	for (int i = 0; i < WIRE_NONCE; i++)
		cnonce[i] = (uint8_t)(0xc0 ^ i), wnonce[i] = (uint8_t)(0x30 + i);
	if (argc == 3 && !strcmp(argv[1], "--seeds"))
		return seeds(argv[2]);
	sessions();
	test_round_trips();
	test_frame();
	test_truncation();
	test_flips();
	test_replay();
	test_state_rules();
	test_lz4();
	printf("test_wire: %d checks, %d failures\n", nchecks, failures);
	return failures ? 1 : 0;
}
