/* rootio_stream.c — reading objects serialised by ROOT's TBuffer: class
 * versions with byte counts, TObject, TString, TNamed, and object
 * references (ReadObjectAny), where a class or an object met before is
 * named by the position where it first appeared. */
#include "rootio_int.h"

#include <stdlib.h>
#include <string.h>

#define BYTECOUNT_MASK 0x40000000u
#define CLASS_MASK 0x80000000u
#define NEW_CLASS_TAG 0xffffffffu
#define MAP_OFFSET 2
#define IS_REFERENCED 0x10u

int stream_version(struct stream *s, size_t *end)
{
	struct rbuf *b = &s->b;
	size_t at = b->pos;
	uint32_t w = rbuf_u32(b);
	*end = 0;
	if (w & BYTECOUNT_MASK) {
		uint32_t n = w & ~BYTECOUNT_MASK;
		if (n > rbuf_left(b) + 0u)
			b->bad = true;
		else
			*end = b->pos + n;
	} else {
		b->pos = at;
	}
	return rbuf_i16(b);
}

void stream_finish(struct stream *s, size_t end)
{
	if (end && end >= s->b.pos && end <= s->b.len)
		s->b.pos = end;
	else if (end)
		s->b.bad = true;
}

void stream_tobject(struct stream *s)
{
	size_t end;
	stream_version(s, &end);
	rbuf_skip(&s->b, 4); /* fUniqueID */
	uint32_t bits = rbuf_u32(&s->b);
	if (bits & IS_REFERENCED)
		rbuf_skip(&s->b, 2);
	stream_finish(s, end);
}

char *stream_tstring(struct stream *s)
{
	uint32_t n = rbuf_u8(&s->b);
	if (n == 255)
		n = rbuf_u32(&s->b);
	const uint8_t *p = rbuf_take(&s->b, n);
	char *r = p ? arena_strndup(s->arena, (const char *)p, n) : NULL;
	return r ? r : "";
}

void stream_tnamed(struct stream *s, char **name, char **title)
{
	size_t end;
	stream_version(s, &end);
	stream_tobject(s);
	*name = stream_tstring(s);
	*title = stream_tstring(s);
	stream_finish(s, end);
}

void stream_register(struct stream *s, int64_t tag, const char *classname, void *obj)
{
	if (s->nrefs == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct objref *r = realloc(s->refs, cap * sizeof(*r));
		if (!r) {
			s->b.bad = true;
			return;
		}
		s->refs = r;
		s->cap = cap;
	}
	/* Records are met nearly in order (an object's tag precedes its class's
	 * tag, registered first), so insertion from the end stays cheap. */
	size_t i = s->nrefs;
	while (i > 0 && s->refs[i - 1].tag >= tag) {
		if (s->refs[i - 1].tag == tag) {
			s->refs[i - 1].classname = classname;
			s->refs[i - 1].obj = obj;
			return;
		}
		i--;
	}
	if (s->nrefs - i > 16) { /* far out of order: not what ROOT writes */
		s->b.bad = true;
		return;
	}
	memmove(&s->refs[i + 1], &s->refs[i], (s->nrefs - i) * sizeof(*s->refs));
	s->refs[i] = (struct objref){.tag = tag, .classname = classname, .obj = obj};
	s->nrefs++;
}

static struct objref *lookup(struct stream *s, int64_t tag)
{
	size_t lo = 0, hi = s->nrefs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->refs[mid].tag < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nrefs && s->refs[lo].tag == tag ? &s->refs[lo] : NULL;
}

int stream_object_head(struct stream *s, const char **classname, size_t *end,
		       struct objref **ref, int64_t *tag)
{
	struct rbuf *b = &s->b;
	int64_t start = s->b.origin + (int64_t)b->pos;
	uint32_t w = rbuf_u32(b);
	*classname = NULL;
	*ref = NULL;
	*end = 0;
	*tag = start + MAP_OFFSET;
	if (b->bad)
		return -1;
	if (w == 0)
		return 0; /* null pointer */
	if (!(w & BYTECOUNT_MASK) || w == NEW_CLASS_TAG) {
		/* Old form without a byte count, or a reference. */
		if (w == NEW_CLASS_TAG || (w & CLASS_MASK))
			return -1; /* a class without byte count: not written since ROOT 3 */
		*ref = lookup(s, (int64_t)w);
		return *ref ? 0 : -1;
	}
	uint32_t n = w & ~BYTECOUNT_MASK;
	if (n > rbuf_left(b) || n < 4)
		return -1;
	*end = b->pos + n;
	int64_t class_at = s->b.origin + (int64_t)b->pos;
	uint32_t ct = rbuf_u32(b);
	if (ct == NEW_CLASS_TAG) {
		const uint8_t *p = b->base + b->pos;
		size_t left = rbuf_left(b), len = 0;
		while (len < left && len < 256 && p[len])
			len++;
		if (len == left || len == 256)
			return -1;
		char *name = arena_strndup(s->arena, (const char *)p, len);
		if (!name)
			return -1;
		rbuf_skip(b, len + 1);
		stream_register(s, class_at + MAP_OFFSET, name, NULL);
		*classname = name;
	} else if (ct & CLASS_MASK) {
		struct objref *c = lookup(s, (int64_t)(ct & ~CLASS_MASK));
		if (!c || !c->classname || c->obj)
			return -1;
		*classname = c->classname;
	} else {
		return -1;
	}
	return b->bad ? -1 : 0;
}
