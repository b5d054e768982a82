/* test_wire_auth.c — the worker protocol's authentication (wire.h): the
 * proofs of both sides and what they cover, the session keys, the secret
 * file (created 0600 whatever the umask, reloaded, refused when open to
 * others, a link, a FIFO or of the wrong size), its hex form, and the
 * random bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "wire.h"

static uint8_t secret[WIRE_SECRET], cnonce[WIRE_NONCE], wnonce[WIRE_NONCE];

static struct wire_hello hello(void)
{
	struct wire_hello h = { .pid = 4711, .slots = 8 };
	memcpy(h.nonce, wnonce, WIRE_NONCE);
	strcpy(h.name, "w-4711");
	strcpy(h.host, "node17.example.org");
	strcpy(h.backend, "slurm");
	strcpy(h.pilot, "123456_7");
	return h;
}

/* ---- proofs ---- */

static void test_proofs(void)
{
	const struct wire_hello h0 = hello();
	uint8_t p0[WIRE_MAC], p[WIRE_MAC];
	wire_proof_worker(secret, &h0, cnonce, p0);
	wire_proof_worker(secret, &h0, cnonce, p);
	check(wire_proof_equal(p0, p), "the worker's proof is not the same twice");
	uint8_t s2[WIRE_SECRET], n2[WIRE_NONCE];
	memcpy(s2, secret, sizeof(s2));
	s2[31] ^= 1;
	wire_proof_worker(s2, &h0, cnonce, p);
	check(!wire_proof_equal(p0, p), "the worker's proof is the same under another secret");
	memcpy(n2, cnonce, sizeof(n2));
	n2[0] ^= 1;
	wire_proof_worker(secret, &h0, n2, p);
	check(!wire_proof_equal(p0, p), "the worker's proof is the same for another coord nonce");
	for (int field = 0; field < 7; field++) {
		struct wire_hello h = h0;
		switch (field) {
		case 0: h.nonce[7] ^= 1; break;
		case 1: h.name[0] = 'v'; break;
		case 2: h.host[3] = 'X'; break;
		case 3: h.pid++; break;
		case 4: strcpy(h.backend, "local"); break;
		case 5: h.pilot[0] = 0; break;
		case 6: h.slots++; break;
		}
		wire_proof_worker(secret, &h, cnonce, p);
		check(!wire_proof_equal(p0, p), "the worker's proof ignores hello field %d", field);
	}
	/* "ab"+"c" and "a"+"bc" are different hellos */
	struct wire_hello a = h0, b = h0;
	strcpy(a.name, "ab"), strcpy(a.host, "c"), strcpy(b.name, "a"), strcpy(b.host, "bc");
	wire_proof_worker(secret, &a, cnonce, p0);
	wire_proof_worker(secret, &b, cnonce, p);
	check(!wire_proof_equal(p0, p), "the worker's proof runs fields together");

	uint8_t c0[WIRE_MAC], c[WIRE_MAC];
	wire_proof_coord(secret, wnonce, cnonce, c0);
	wire_proof_coord(secret, wnonce, cnonce, c);
	check(wire_proof_equal(c0, c), "the coordinator's proof is not the same twice");
	wire_proof_coord(s2, wnonce, cnonce, c);
	check(!wire_proof_equal(c0, c), "the coordinator's proof is the same under another secret");
	wire_proof_coord(secret, n2, cnonce, c);
	check(!wire_proof_equal(c0, c), "the coordinator's proof ignores the worker nonce");
	wire_proof_coord(secret, wnonce, n2, c);
	check(!wire_proof_equal(c0, c), "the coordinator's proof ignores its nonce");
	wire_proof_coord(secret, cnonce, wnonce, c);
	check(!wire_proof_equal(c0, c), "the coordinator's proof is the same with nonces swapped");
	wire_proof_worker(secret, &h0, cnonce, p0);
	check(!wire_proof_equal(c0, p0), "the worker's and the coordinator's proofs are equal");

	struct wire_session cs, ws;
	wire_session_init(&cs, secret, cnonce, wnonce, true);
	wire_session_init(&ws, secret, cnonce, wnonce, false);
	check(!memcmp(cs.send_key, ws.recv_key, WIRE_MAC) && !memcmp(cs.recv_key, ws.send_key, WIRE_MAC),
	      "the two sides' keys do not pair");
	check(memcmp(cs.send_key, cs.recv_key, WIRE_MAC) != 0, "both directions have one key");
	check(memcmp(cs.send_key, secret, WIRE_MAC) && memcmp(cs.send_key, c0, WIRE_MAC),
	      "a session key is the secret or a proof");
	check(cs.ready && ws.ready && !cs.send_seq && !cs.recv_seq, "a new session's state");
}

/* ---- the secret ---- */

static void test_secret(void)
{
	char dir[] = "/tmp/test_wire.XXXXXX", path[256], link_path[300], msg[512];
	if (!mkdtemp(dir)) {
		check(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/secret", dir);
	uint8_t a[WIRE_SECRET], b[WIRE_SECRET];
	check(wire_secret_load(path, false, a, msg, sizeof(msg)) == -ENOENT,
	      "a missing secret loaded without create");
	mode_t old = umask(0277); /* would leave 0400: the file is 0600 anyway */
	int rc = wire_secret_load(path, true, a, msg, sizeof(msg));
	umask(old);
	check(rc == 0, "secret not created: %d %s", rc, msg);
	struct stat st;
	check(!lstat(path, &st) && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600 &&
	      st.st_size == WIRE_SECRET, "the new secret is not a 0600 file of 32 bytes (%o)",
	      (unsigned)st.st_mode);
	check(wire_secret_load(path, false, b, msg, sizeof(msg)) == 0 && !memcmp(a, b, sizeof(a)),
	      "the secret reloaded differs: %s", msg);
	check(wire_secret_load(path, true, b, msg, sizeof(msg)) == 0 && !memcmp(a, b, sizeof(a)),
	      "create replaced an existing secret");
	static const uint8_t zero[WIRE_SECRET];
	check(memcmp(a, zero, sizeof(a)) != 0, "the secret is zeros");

	chmod(path, 0644);
	check(wire_secret_load(path, false, b, msg, sizeof(msg)) == -EPERM && strstr(msg, "0644"),
	      "a 0644 secret loaded (%s)", msg);
	chmod(path, 0660);
	check(wire_secret_load(path, true, b, msg, sizeof(msg)) == -EPERM, "a 0660 secret loaded");
	chmod(path, 0600);
	snprintf(link_path, sizeof(link_path), "%s/link", dir);
	check(!symlink(path, link_path), "symlink");
	check(wire_secret_load(link_path, true, b, msg, sizeof(msg)) == -EPERM,
	      "a symlink to a secret loaded (%s)", msg);
	unlink(link_path);

	snprintf(link_path, sizeof(link_path), "%s/short", dir);
	int fd = open(link_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	check(fd >= 0 && write(fd, a, 31) == 31, "short file");
	close(fd);
	check(wire_secret_load(link_path, true, b, msg, sizeof(msg)) == -EBADMSG,
	      "a 31-byte secret loaded");
	fd = open(link_path, O_WRONLY | O_APPEND);
	check(fd >= 0 && write(fd, a, 2) == 2, "long file");
	close(fd);
	check(wire_secret_load(link_path, false, b, msg, sizeof(msg)) == -EBADMSG,
	      "a 33-byte secret loaded");
	unlink(link_path);
	check(!mkfifo(link_path, 0600), "mkfifo");
	check(wire_secret_load(link_path, false, b, msg, sizeof(msg)) == -EPERM, "a FIFO loaded");
	unlink(link_path);
	snprintf(link_path, sizeof(link_path), "%s/no/such/secret", dir);
	check(wire_secret_load(link_path, true, b, msg, sizeof(msg)) == -ENOENT,
	      "a secret created in a missing folder");
	unlink(path);
	rmdir(dir);

	char hex[2 * WIRE_SECRET + 1], up[2 * WIRE_SECRET + 1];
	wire_secret_hex(a, hex);
	check(strlen(hex) == 64 && wire_secret_parse(hex, b) == 0 && !memcmp(a, b, sizeof(a)),
	      "hex round trip");
	for (int i = 0; i < 65; i++)
		up[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 32 : hex[i]);
	check(wire_secret_parse(up, b) == 0 && !memcmp(a, b, sizeof(a)), "upper-case hex refused");
	memset(b, 0x77, sizeof(b));
	uint8_t keep[WIRE_SECRET];
	memcpy(keep, b, sizeof(b));
	hex[63] = 0;
	check(wire_secret_parse(hex, b) == -EINVAL, "63 hex digits accepted");
	hex[63] = '0';
	char longer[80];
	snprintf(longer, sizeof(longer), "%s0", hex);
	check(wire_secret_parse(longer, b) == -EINVAL, "65 hex digits accepted");
	hex[10] = 'g';
	check(wire_secret_parse(hex, b) == -EINVAL, "a non-hex digit accepted");
	hex[10] = ' ';
	check(wire_secret_parse(hex, b) == -EINVAL, "a space accepted");
	check(wire_secret_parse(NULL, b) == -EINVAL && wire_secret_parse("", b) == -EINVAL,
	      "NULL or empty accepted");
	check(!memcmp(b, keep, sizeof(b)), "a refused parse wrote the secret");
	uint8_t r1[64] = { 0 }, r2[64] = { 0 };
	check(wire_random(r1, sizeof(r1)) == 0 && wire_random(r2, sizeof(r2)) == 0 &&
	      memcmp(r1, r2, sizeof(r1)), "random bytes");
}

int main(void)
{
	for (int i = 0; i < WIRE_SECRET; i++)
		secret[i] = (uint8_t)(i * 7 + 1);
	for (int i = 0; i < WIRE_NONCE; i++)
		cnonce[i] = (uint8_t)(0xc0 ^ i), wnonce[i] = (uint8_t)(0x30 + i);
	test_proofs();
	test_secret();
	printf("test_wire_auth: %d checks, %d failures\n", nchecks, failures);
	return failures ? 1 : 0;
}
