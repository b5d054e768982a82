/* wire.c — encoding and decoding of the messages (wire.h).  STUB: being written. */
#include "wire.h"

#include <errno.h>
#include <string.h>

const char *wire_type_name(unsigned type)
{
	(void)type;
	return "?";
}

int wire_encode(struct wire_session *s, const struct wire_msg *m, void **out, size_t *len)
{
	(void)s, (void)m, (void)out, (void)len;
	return -ENOSYS;
}

int wire_decode(struct wire_session *s, const void *buf, size_t len, struct wire_msg *m,
		char *why, size_t cap)
{
	(void)s, (void)buf, (void)len, (void)why, (void)cap;
	memset(m, 0, sizeof(*m));
	return -ENOSYS;
}

void wire_msg_free(struct wire_msg *m)
{
	(void)m;
}
