/* wire_auth.c — the secret, proofs and session keys (wire.h).
 *
 * Every HMAC under the secret starts with a label of its own, NUL
 * included, so that no proof or key can stand for another: a worker's
 * proof is not a coordinator's, the key one way is not the key back. */
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "le.h"

#define LABEL_WORKER "anafs-v1 worker proof"
#define LABEL_COORD "anafs-v1 coord proof"
#define LABEL_C2W "anafs-v1 key c2w"
#define LABEL_W2C "anafs-v1 key w2c"

static void say(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *msg, size_t cap, const char *fmt, ...)
{
	if (!msg || !cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
}

/* ---- the secret file ---- */

/* fd's WIRE_SECRET bytes, after the checks of wire.h. */
static int read_secret(int fd, const char *path, uint8_t secret[WIRE_SECRET], char *msg,
		       size_t cap)
{
	struct stat st;
	if (fstat(fd, &st)) {
		int e = errno;
		say(msg, cap, "%s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		say(msg, cap, "%s: not a regular file", path);
		return -EPERM;
	}
	if (st.st_uid != geteuid()) {
		say(msg, cap, "%s: owned by uid %u, not by this user (%u)", path,
		    (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_mode & 077) {
		say(msg, cap, "%s: mode %04o lets group or others in; it must be 0600 (chmod 600)",
		    path, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	if (st.st_size != WIRE_SECRET) {
		say(msg, cap, "%s: %lld bytes, a secret is %d", path, (long long)st.st_size,
		    WIRE_SECRET);
		return -EBADMSG;
	}
	uint8_t buf[WIRE_SECRET + 1];
	size_t got = 0;
	while (got < sizeof(buf)) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			say(msg, cap, "%s: %s", path, strerror(e));
			return -e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got != WIRE_SECRET) {
		say(msg, cap, "%s: %zu bytes read, a secret is %d", path, got, WIRE_SECRET);
		OPENSSL_cleanse(buf, sizeof(buf));
		return -EBADMSG;
	}
	memcpy(secret, buf, WIRE_SECRET);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

/* A new secret at path.  It is written whole to a file of its own first
 * (O_EXCL, 0600) and linked into place, so that nobody ever reads half a
 * secret and two processes creating it at once agree on one: the loser's
 * link fails with EEXIST and it reads the winner's.  0, -EEXIST, or
 * another negative errno with msg. */
static int create_secret(const char *path, char *msg, size_t cap)
{
	char tmp[PATH_MAX];
	uint8_t secret[WIRE_SECRET];
	int rc = 0, fd = -1;
	if (snprintf(tmp, sizeof(tmp), "%s.new.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		say(msg, cap, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	if (wire_random(secret, sizeof(secret))) {
		say(msg, cap, "%s: no random bytes from libcrypto", path);
		return -EIO;
	}
	unlink(tmp); /* a leftover of a crashed earlier try of this pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		say(msg, cap, "%s: %s", tmp, strerror(-rc));
		goto out;
	}
	/* The umask may have taken bits away; 0600 exactly, so that we can read it. */
	ssize_t n;
	do
		n = write(fd, secret, sizeof(secret));
	while (n < 0 && errno == EINTR);
	if (fchmod(fd, 0600) || n != (ssize_t)sizeof(secret) || fsync(fd)) {
		rc = n >= 0 && n != (ssize_t)sizeof(secret) ? -EIO : -errno;
		say(msg, cap, "%s: %s", tmp, strerror(-rc));
		goto out;
	}
	if (link(tmp, path)) {
		rc = -errno;
		if (rc != -EEXIST)
			say(msg, cap, "%s: %s", path, strerror(-rc));
	}
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

int wire_secret_load(const char *path, bool create, uint8_t secret[WIRE_SECRET], char *msg,
		     size_t cap)
{
	if (msg && cap)
		msg[0] = 0;
	/* Twice at most: once to find none and create it, once to read it. */
	for (int round = 0; round < 2; round++) {
		int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0) {
			int rc = read_secret(fd, path, secret, msg, cap);
			close(fd);
			return rc;
		}
		int e = errno;
		if (e == ELOOP) {
			say(msg, cap, "%s: a symbolic link; the secret must be a file of its own", path);
			return -EPERM;
		}
		if (e != ENOENT || !create || round > 0) {
			say(msg, cap, "%s: %s", path, strerror(e));
			return -e;
		}
		int rc = create_secret(path, msg, cap);
		if (rc && rc != -EEXIST)
			return rc;
	}
	return -ENOENT; /* not reached */
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int wire_secret_parse(const char *hex, uint8_t secret[WIRE_SECRET])
{
	uint8_t out[WIRE_SECRET];
	if (!hex || strnlen(hex, 2 * WIRE_SECRET + 1) != 2 * WIRE_SECRET)
		return -EINVAL;
	for (int i = 0; i < WIRE_SECRET; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(out, sizeof(out));
			return -EINVAL;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(secret, out, WIRE_SECRET);
	OPENSSL_cleanse(out, sizeof(out));
	return 0;
}

void wire_secret_hex(const uint8_t secret[WIRE_SECRET], char out[2 * WIRE_SECRET + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < WIRE_SECRET; i++) {
		out[2 * i] = digits[secret[i] >> 4];
		out[2 * i + 1] = digits[secret[i] & 15];
	}
	out[2 * WIRE_SECRET] = 0;
}

int wire_random(void *buf, size_t n)
{
	if (n > INT_MAX)
		return -EIO;
	return n == 0 || RAND_bytes(buf, (int)n) == 1 ? 0 : -EIO;
}

/* ---- proofs and keys ---- */

/* What an HMAC covers: its label, NUL included, then the fields, each
 * string with its length before it so that no two hellos read the same. */
struct mac_in {
	unsigned char b[1024];
	size_t n;
};

static void in_bytes(struct mac_in *in, const void *p, size_t n)
{
	if (n > sizeof(in->b) - in->n)
		n = sizeof(in->b) - in->n; /* not reached: the fields are bounded */
	memcpy(in->b + in->n, p, n);
	in->n += n;
}

static void in_u32(struct mac_in *in, uint32_t v)
{
	unsigned char b[4];
	le_put32(b, v);
	in_bytes(in, b, 4);
}

static void in_str(struct mac_in *in, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	in_u32(in, (uint32_t)n);
	in_bytes(in, s, n);
}

static void mac_label(struct mac_in *in, const char *label, const uint8_t a[WIRE_NONCE],
		      const uint8_t b[WIRE_NONCE])
{
	in->n = 0;
	in_bytes(in, label, strlen(label) + 1);
	in_bytes(in, a, WIRE_NONCE);
	in_bytes(in, b, WIRE_NONCE);
}

static void mac_out(const uint8_t secret[WIRE_SECRET], struct mac_in *in, uint8_t out[WIRE_MAC])
{
	unsigned int olen = WIRE_MAC;
	if (!HMAC(EVP_sha256(), secret, WIRE_SECRET, in->b, in->n, out, &olen) ||
	    olen != WIRE_MAC)
		RAND_bytes(out, WIRE_MAC); /* never matches the other side's */
	OPENSSL_cleanse(in->b, in->n);
}

void wire_proof_worker(const uint8_t secret[WIRE_SECRET], const struct wire_hello *h,
		       const uint8_t coord_nonce[WIRE_NONCE], uint8_t out[WIRE_MAC])
{
	struct mac_in in;
	mac_label(&in, LABEL_WORKER, h->nonce, coord_nonce);
	in_str(&in, h->name, sizeof(h->name));
	in_str(&in, h->host, sizeof(h->host));
	in_u32(&in, (uint32_t)h->pid);
	in_str(&in, h->backend, sizeof(h->backend));
	in_str(&in, h->pilot, sizeof(h->pilot));
	in_u32(&in, h->slots);
	mac_out(secret, &in, out);
}

void wire_proof_coord(const uint8_t secret[WIRE_SECRET], const uint8_t worker_nonce[WIRE_NONCE],
		      const uint8_t coord_nonce[WIRE_NONCE], uint8_t out[WIRE_MAC])
{
	struct mac_in in;
	mac_label(&in, LABEL_COORD, coord_nonce, worker_nonce);
	mac_out(secret, &in, out);
}

bool wire_proof_equal(const uint8_t a[WIRE_MAC], const uint8_t b[WIRE_MAC])
{
	return CRYPTO_memcmp(a, b, WIRE_MAC) == 0;
}

void wire_session_init(struct wire_session *s, const uint8_t secret[WIRE_SECRET],
		       const uint8_t coord_nonce[WIRE_NONCE],
		       const uint8_t worker_nonce[WIRE_NONCE], bool coordinator)
{
	struct mac_in in;
	uint8_t c2w[WIRE_MAC], w2c[WIRE_MAC];
	memset(s, 0, sizeof(*s));
	mac_label(&in, LABEL_C2W, coord_nonce, worker_nonce);
	mac_out(secret, &in, c2w);
	mac_label(&in, LABEL_W2C, coord_nonce, worker_nonce);
	mac_out(secret, &in, w2c);
	memcpy(s->send_key, coordinator ? c2w : w2c, WIRE_MAC);
	memcpy(s->recv_key, coordinator ? w2c : c2w, WIRE_MAC);
	OPENSSL_cleanse(c2w, sizeof(c2w));
	OPENSSL_cleanse(w2c, sizeof(w2c));
	s->ready = true;
}
