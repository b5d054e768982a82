/* wire_peer.c — a hostile worker, for the integration tests of the
 * coordinator's side of the worker protocol (wire.h).
 *
 * Usage: wire_peer URL MODE [--secret-file F] [--count N] [--seconds S]
 *   garbage        N messages of random bytes, then N truncated and N
 *                  forged frames of every type, all unauthenticated
 *   badsecret      the handshake with a random secret: refused or not
 *   noauth-result  HELLO, then without AUTH N RESULT and N PROGRESS frames
 *                  (signed under random keys, and unsigned)
 *   replay         (needs --secret-file) authenticate, send a PROGRESS,
 *                  send its bytes again N times; then a second connection,
 *                  authenticated, given the first one's signed frames
 *   slow           connect and send nothing for S seconds
 * N (default 100) bounds every loop, S (default 10) every mode's time.
 * Prints one line saying what it sent.  Exit status: 0 done; 1 the
 * coordinator accepted what it must not (a WELCOME for a wrong secret, a
 * signed frame to a peer that never authenticated); 2 usage, connection
 * or handshake failure (replay: the right secret refused). */
#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

#define SEND_MS 1000
#define MAX_COUNT 100000
#define MAX_SECONDS 3600

static double deadline;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool in_time(void)
{
	return now() < deadline;
}

/* Milliseconds left, at most cap_ms, at least 1. */
static int left_ms(int cap_ms)
{
	double ms = (deadline - now()) * 1000;
	return ms < 1 ? 1 : ms > cap_ms ? cap_ms : (int)ms;
}

static uint32_t rnd32(void)
{
	uint32_t v = 0;
	wire_random(&v, sizeof(v));
	return v;
}

static int dial(const char *url, nng_socket *s)
{
	int rv = nng_pair1_open(s);
	if (rv == 0)
		rv = nng_socket_set_ms(*s, NNG_OPT_SENDTIMEO, SEND_MS);
	if (rv == 0)
		rv = nng_dial(*s, url, NULL, 0);
	if (rv) {
		fprintf(stderr, "wire_peer: %s: %s\n", url, nng_strerror(rv));
		nng_close(*s);
	}
	return rv;
}

/* Send len bytes: 0 or nng's error (counted by the caller). */
static int sendb(nng_socket s, const void *b, size_t len)
{
	return nng_send(s, (void *)b, len, 0);
}

/* The next message within ms (and the deadline): 0 with *b (nng_free) or
 * nng's error. */
static int recvb(nng_socket s, int ms, void **b, size_t *len)
{
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, left_ms(ms));
	return nng_recv(s, b, len, NNG_FLAG_ALLOC);
}

static void hello(struct wire_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = WIRE_HELLO;
	wire_random(m->u.hello.nonce, WIRE_NONCE);
	snprintf(m->u.hello.name, sizeof(m->u.hello.name), "wire-peer-%ld", (long)getpid());
	char host[256] = "localhost";
	gethostname(host, sizeof(host) - 1);
	size_t i = 0;
	for (; host[i] && i < sizeof(m->u.hello.host) - 1; i++)
		m->u.hello.host[i] = host[i] > 0x20 && host[i] < 0x7f ? host[i] : '_';
	m->u.hello.pid = (int32_t)getpid();
	strcpy(m->u.hello.backend, "manual");
	m->u.hello.slots = 1;
}

/* A message of type with plausible fields (a job and task that do not
 * exist), blob borrowed from a static buffer. */
static void sample(unsigned type, struct wire_msg *m)
{
	static unsigned char blob[256];
	memset(m, 0, sizeof(*m));
	m->type = (uint16_t)type;
	struct wire_key k = { .job = 1 + rnd32() % 1000, .idx = rnd32() % 100, .attempt = 1,
			      .digest = ((uint64_t)rnd32() << 32) | rnd32() };
	switch (type) {
	case WIRE_HELLO:
		hello(m);
		break;
	case WIRE_CHALLENGE:
		wire_random(m->u.challenge.nonce, WIRE_NONCE);
		break;
	case WIRE_AUTH:
	case WIRE_WELCOME:
		wire_random(m->u.auth.proof, WIRE_MAC);
		m->u.welcome.lease_ms = m->u.welcome.progress_ms = 1000;
		break;
	case WIRE_TASK:
	case WIRE_WARM:
		m->u.task.key = k, m->u.task.url = "/nonexistent.root", m->u.task.text = "x";
		m->u.task.text_len = 1, m->u.task.entries = 10, m->u.task.last = 10;
		break;
	case WIRE_PROGRESS:
		m->u.progress.n = 1, m->u.progress.busy = 1, m->u.progress.t[0].key = k;
		break;
	case WIRE_RESULT:
		m->u.result.key = k;
		wire_random(blob, sizeof(blob));
		m->u.result.blob = blob, m->u.result.blob_len = sizeof(blob);
		break;
	case WIRE_BYE:
		strcpy(m->u.bye.why, "wire_peer");
		break;
	case WIRE_WARMED:
		m->u.warmed.key = k;
		break;
	default:
		m->u.key = k;
		break;
	}
}

/* A random-key session, as one that never authenticated can have. */
static void forged_session(struct wire_session *s)
{
	uint8_t sec[WIRE_SECRET], a[WIRE_NONCE], b[WIRE_NONCE];
	wire_random(sec, sizeof(sec)), wire_random(a, sizeof(a)), wire_random(b, sizeof(b));
	wire_session_init(s, sec, a, b, false);
}

static int mode_garbage(nng_socket s, int count, int *failed)
{
	int sent = 0, forged = 0;
	unsigned char buf[600];
	for (int i = 0; i < count && in_time(); i++) {
		size_t len = rnd32() % sizeof(buf);
		wire_random(buf, len);
		if (i % 4 == 0 && len >= 4)
			memcpy(buf, "ANFW", 4); /* past the magic, at least */
		if (sendb(s, buf, len))
			++*failed;
		else
			++sent;
	}
	struct wire_session fs;
	forged_session(&fs);
	for (unsigned t = WIRE_HELLO; t < WIRE_TYPE_END; t++) {
		for (int i = 0; i < 2 * count && in_time(); i++) {
			struct wire_msg m;
			sample(t, &m);
			void *f = NULL;
			size_t n = 0;
			if (wire_encode(&fs, &m, &f, &n))
				continue;
			unsigned char *b = f;
			if (i % 2 == 0) {
				n = rnd32() % n; /* truncated */
			} else {
				switch (rnd32() % 4) {
				case 0: b[rnd32() % n] ^= (unsigned char)(1 + rnd32() % 255); break;
				case 1: b[16] ^= (unsigned char)(1 + rnd32() % 255); break; /* length */
				case 2: memset(b + n - WIRE_MAC, 0, WIRE_MAC); /* unsigned */
					memset(b + 8, 0, 8); break;
				default: break; /* signed under a key nobody has */
				}
			}
			if (sendb(s, b, n))
				++*failed;
			else
				++forged;
			free(f);
		}
	}
	printf("garbage: sent %d random messages and %d truncated or forged frames of %d types"
	       " (%d sends failed)\n", sent, forged, WIRE_TYPE_END - 1, *failed);
	return 0;
}

/* Wait for a message of type (decoded unsigned) within the deadline: 0,
 * or -ETIMEDOUT; *other counts the frames of other types that came. */
static int await(nng_socket s, unsigned type, struct wire_msg *m, int *other)
{
	while (in_time()) {
		void *b = NULL;
		size_t n = 0;
		int rv = recvb(s, 1000, &b, &n);
		if (rv == NNG_ETIMEDOUT)
			continue;
		if (rv)
			return -EIO;
		struct wire_msg d;
		int rc = wire_decode(NULL, b, n, &d, NULL, 0);
		if (rc == 0 && d.type == type) {
			*m = d;
			nng_free(b, n);
			return 0;
		}
		const unsigned char *u = b;
		unsigned t = n >= 8 ? (unsigned)(u[6] | u[7] << 8) : 0;
		if (n >= 8 && !memcmp(u, "ANFW", 4) && t > WIRE_WELCOME && t < WIRE_TYPE_END)
			++*other; /* a signed type */
		wire_msg_free(&d);
		nng_free(b, n);
	}
	return -ETIMEDOUT;
}

static int send_msg(nng_socket s, struct wire_session *ss, const struct wire_msg *m, void **keep,
		    size_t *keep_len)
{
	void *f = NULL;
	size_t n = 0;
	int rc = wire_encode(ss, m, &f, &n);
	if (rc)
		return rc;
	rc = sendb(s, f, n) ? -EIO : 0;
	if (keep && !rc) {
		*keep = f;
		*keep_len = n;
	} else {
		free(f);
	}
	return rc;
}

/* HELLO, CHALLENGE, AUTH under secret, WELCOME checked: 0 with *ss ready,
 * -EACCES (the coordinator's proof is wrong), -ETIMEDOUT (no challenge or
 * no welcome), -EIO. */
static int handshake(nng_socket s, const uint8_t secret[WIRE_SECRET], struct wire_session *ss,
		     int *other)
{
	struct wire_msg h, c, a = { .type = WIRE_AUTH }, w;
	hello(&h);
	if (send_msg(s, NULL, &h, NULL, NULL))
		return -EIO;
	int rc = await(s, WIRE_CHALLENGE, &c, other);
	if (rc)
		return rc;
	wire_proof_worker(secret, &h.u.hello, c.u.challenge.nonce, a.u.auth.proof);
	if (send_msg(s, NULL, &a, NULL, NULL))
		return -EIO;
	if ((rc = await(s, WIRE_WELCOME, &w, other)))
		return rc;
	uint8_t want[WIRE_MAC];
	wire_proof_coord(secret, h.u.hello.nonce, c.u.challenge.nonce, want);
	if (!wire_proof_equal(want, w.u.welcome.proof))
		return -EACCES;
	wire_session_init(ss, secret, c.u.challenge.nonce, h.u.hello.nonce, false);
	return 0;
}

static int mode_badsecret(nng_socket s)
{
	uint8_t secret[WIRE_SECRET];
	struct wire_session ss;
	int other = 0;
	wire_random(secret, sizeof(secret));
	int rc = handshake(s, secret, &ss, &other);
	bool welcome = rc == 0 || rc == -EACCES; /* a WELCOME came, whatever its proof */
	printf("badsecret: sent hello and auth under a random secret: %s%s\n",
	       welcome ? "WELCOME came (accepted)" :
	       rc == -ETIMEDOUT ? "no welcome (refused)" : "connection dropped (refused)",
	       other ? ", and signed frames came" : "");
	return welcome || other ? 1 : 0;
}

static int mode_noauth(nng_socket s, int count, int *failed)
{
	struct wire_msg h, c;
	int other = 0, sent = 0;
	hello(&h);
	if (send_msg(s, NULL, &h, NULL, NULL))
		++*failed;
	double end = deadline;
	deadline = now() + 2 < end ? now() + 2 : end; /* the challenge, or not */
	bool challenged = await(s, WIRE_CHALLENGE, &c, &other) == 0;
	deadline = end;
	struct wire_session fs;
	forged_session(&fs);
	for (int i = 0; i < count && in_time(); i++) {
		for (unsigned t = WIRE_PROGRESS; t <= WIRE_RESULT; t++) {
			struct wire_msg m;
			sample(t, &m);
			void *f = NULL;
			size_t n = 0;
			if (wire_encode(&fs, &m, &f, &n))
				continue;
			if (i % 2) { /* unsigned, as the opening types travel */
				memset((char *)f + 8, 0, 8);
				memset((char *)f + n - WIRE_MAC, 0, WIRE_MAC);
			}
			if (sendb(s, f, n))
				++*failed;
			else
				++sent;
			free(f);
		}
	}
	/* Whatever comes back now: a signed frame would mean we were taken. */
	struct wire_msg none;
	deadline = now() + 1 < end ? now() + 1 : end;
	await(s, WIRE_TYPE_END, &none, &other);
	printf("noauth-result: sent hello (%s), then %d result and progress frames without auth"
	       " (%d sends failed)%s\n", challenged ? "challenged" : "no challenge", sent, *failed,
	       other ? "; SIGNED FRAMES CAME BACK" : "");
	return other ? 1 : 0;
}

static int mode_replay(const char *url, nng_socket s, const char *secret_file, int count,
		       int *failed)
{
	uint8_t secret[WIRE_SECRET];
	char msg[512];
	if (!secret_file || wire_secret_load(secret_file, false, secret, msg, sizeof(msg))) {
		fprintf(stderr, "wire_peer: replay: %s\n", secret_file ? msg : "needs --secret-file");
		return 2;
	}
	struct wire_session s1, s2;
	int other = 0, rc = handshake(s, secret, &s1, &other);
	if (rc) {
		fprintf(stderr, "wire_peer: replay: the handshake failed: %s\n", strerror(-rc));
		return 2;
	}
	struct wire_msg p = { .type = WIRE_PROGRESS };
	void *f1 = NULL, *f2 = NULL;
	size_t n1 = 0, n2 = 0;
	if (send_msg(s, &s1, &p, &f1, &n1) || send_msg(s, &s1, &p, &f2, &n2)) {
		fprintf(stderr, "wire_peer: replay: progress not sent\n");
		free(f1);
		return 2;
	}
	int again = 0, cross = 0;
	for (int i = 0; i < count && in_time(); i++)
		if (sendb(s, i % 2 ? f2 : f1, i % 2 ? n2 : n1))
			++*failed;
		else
			++again;
	nng_socket t;
	if (dial(url, &t)) {
		free(f1), free(f2);
		return 2;
	}
	rc = handshake(t, secret, &s2, &other);
	if (rc == 0) {
		for (int i = 0; i < count && in_time(); i++)
			if (sendb(t, i % 2 ? f2 : f1, i % 2 ? n2 : n1))
				++*failed;
			else
				++cross;
		struct wire_msg bye = { .type = WIRE_BYE };
		send_msg(t, &s2, &bye, NULL, NULL);
	}
	nng_close(t);
	free(f1), free(f2);
	printf("replay: sent 2 progress frames, %d replays of them in their session, and %d on a"
	       " second session%s (%d sends failed)\n", again, cross,
	       rc ? " (whose handshake failed)" : "", *failed);
	return rc ? 2 : 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: wire_peer URL garbage|badsecret|noauth-result|replay|slow"
			" [--secret-file F] [--count N] [--seconds S]\n");
	return 2;
}

static int number(const char *s, int lo, int hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	const char *url = argv[1], *mode = argv[2], *secret_file = NULL;
	int count = 100, seconds = 10;
	for (int i = 3; i < argc; i++) {
		if (i + 1 >= argc)
			return usage();
		if (!strcmp(argv[i], "--secret-file"))
			secret_file = argv[++i];
		else if (!strcmp(argv[i], "--count") && !number(argv[i + 1], 1, MAX_COUNT, &count))
			i++;
		else if (!strcmp(argv[i], "--seconds") && !number(argv[i + 1], 1, MAX_SECONDS, &seconds))
			i++;
		else
			return usage();
	}
	deadline = now() + seconds;
	nng_socket s;
	if (dial(url, &s))
		return 2;
	int rc = 0, failed = 0;
	if (!strcmp(mode, "garbage")) {
		rc = mode_garbage(s, count, &failed);
	} else if (!strcmp(mode, "badsecret")) {
		rc = mode_badsecret(s);
	} else if (!strcmp(mode, "noauth-result")) {
		rc = mode_noauth(s, count, &failed);
	} else if (!strcmp(mode, "replay")) {
		rc = mode_replay(url, s, secret_file, count, &failed);
	} else if (!strcmp(mode, "slow")) {
		while (in_time())
			usleep(100 * 1000);
		printf("slow: held a pipe, sending nothing, for %d s\n", seconds);
	} else {
		rc = usage();
	}
	nng_close(s);
	return rc;
}
