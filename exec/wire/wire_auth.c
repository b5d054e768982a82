/* wire_auth.c — the secret, proofs and session keys (wire.h).  STUB: being written. */
#include "wire.h"

#include <errno.h>
#include <string.h>

int wire_secret_load(const char *path, bool create, uint8_t secret[WIRE_SECRET], char *msg,
		     size_t cap)
{
	(void)path, (void)create, (void)secret, (void)msg, (void)cap;
	return -ENOSYS;
}
int wire_secret_parse(const char *hex, uint8_t secret[WIRE_SECRET])
{
	(void)hex, (void)secret;
	return -EINVAL;
}
void wire_secret_hex(const uint8_t secret[WIRE_SECRET], char out[2 * WIRE_SECRET + 1])
{
	(void)secret;
	out[0] = 0;
}
int wire_random(void *buf, size_t n)
{
	(void)buf, (void)n;
	return -EIO;
}
void wire_proof_worker(const uint8_t secret[WIRE_SECRET], const struct wire_hello *h,
		       const uint8_t coord_nonce[WIRE_NONCE], uint8_t out[WIRE_MAC])
{
	(void)secret, (void)h, (void)coord_nonce;
	memset(out, 0, WIRE_MAC);
}
void wire_proof_coord(const uint8_t secret[WIRE_SECRET], const uint8_t worker_nonce[WIRE_NONCE],
		      const uint8_t coord_nonce[WIRE_NONCE], uint8_t out[WIRE_MAC])
{
	(void)secret, (void)worker_nonce, (void)coord_nonce;
	memset(out, 0, WIRE_MAC);
}
bool wire_proof_equal(const uint8_t a[WIRE_MAC], const uint8_t b[WIRE_MAC])
{
	(void)a, (void)b;
	return false;
}
void wire_session_init(struct wire_session *s, const uint8_t secret[WIRE_SECRET],
		       const uint8_t coord_nonce[WIRE_NONCE],
		       const uint8_t worker_nonce[WIRE_NONCE], bool coordinator)
{
	(void)secret, (void)coord_nonce, (void)worker_nonce, (void)coordinator;
	memset(s, 0, sizeof(*s));
}
