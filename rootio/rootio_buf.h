/* rootio_buf.h — a bounded big-endian cursor over bytes held in memory.
 *
 * Reads past the end never touch memory: they return zero and set a sticky
 * error flag that the caller checks once after a group of reads.  The
 * position is kept relative to an origin so that ROOT's object references
 * (offsets from the start of a key) can be resolved. */
#ifndef ANAFS_ROOTIO_BUF_H
#define ANAFS_ROOTIO_BUF_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct rbuf {
	const uint8_t *base; /* first byte */
	size_t len;          /* bytes at base */
	size_t pos;          /* next byte to read */
	int64_t origin;      /* what position 0 is called in object references */
	bool bad;            /* a read ran past the end */
};

static inline void rbuf_init(struct rbuf *b, const uint8_t *p, size_t len, int64_t origin)
{
	b->base = p;
	b->len = len;
	b->pos = 0;
	b->origin = origin;
	b->bad = false;
}

static inline size_t rbuf_left(const struct rbuf *b)
{
	return b->pos <= b->len ? b->len - b->pos : 0;
}

/* Reserve n bytes; NULL (and bad set) when fewer are left. */
static inline const uint8_t *rbuf_take(struct rbuf *b, size_t n)
{
	if (b->bad || n > rbuf_left(b)) {
		b->bad = true;
		b->pos = b->len;
		return NULL;
	}
	const uint8_t *p = b->base + b->pos;
	b->pos += n;
	return p;
}

static inline void rbuf_skip(struct rbuf *b, size_t n)
{
	(void)rbuf_take(b, n);
}

static inline uint8_t rbuf_u8(struct rbuf *b)
{
	const uint8_t *p = rbuf_take(b, 1);
	return p ? p[0] : 0;
}

static inline uint16_t rbuf_u16(struct rbuf *b)
{
	const uint8_t *p = rbuf_take(b, 2);
	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static inline uint32_t rbuf_u32(struct rbuf *b)
{
	const uint8_t *p = rbuf_take(b, 4);
	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

static inline uint64_t rbuf_u64(struct rbuf *b)
{
	uint64_t hi = rbuf_u32(b);
	return hi << 32 | rbuf_u32(b);
}

static inline int16_t rbuf_i16(struct rbuf *b)
{
	return (int16_t)rbuf_u16(b);
}

static inline int32_t rbuf_i32(struct rbuf *b)
{
	return (int32_t)rbuf_u32(b);
}

static inline int64_t rbuf_i64(struct rbuf *b)
{
	return (int64_t)rbuf_u64(b);
}

static inline double rbuf_f64(struct rbuf *b)
{
	uint64_t u = rbuf_u64(b);
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

static inline float rbuf_f32(struct rbuf *b)
{
	uint32_t u = rbuf_u32(b);
	float f;
	memcpy(&f, &u, sizeof(f));
	return f;
}

/* Big-endian loads from memory the caller has bounds-checked. */
static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

#endif
