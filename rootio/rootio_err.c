/* rootio_err.c — error texts and the arena every parsed description lives in. */
#include "rootio_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rootio_fail(struct rootio_err *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *rootio_strerror(int code)
{
	switch (code) {
	case ROOTIO_ECORRUPT:
		return "corrupt or truncated ROOT data";
	case ROOTIO_EUNSUPPORTED:
		return "ROOT feature not supported";
	case ROOTIO_ETOOBIG:
		return "size over anafs's limit";
	default:
		return strerror(code < 0 ? -code : code);
	}
}

static const char *const type_names[] = {
	[ROOTIO_NONE] = "none",   [ROOTIO_BOOL] = "bool",     [ROOTIO_I8] = "int8",
	[ROOTIO_U8] = "uint8",    [ROOTIO_I16] = "int16",     [ROOTIO_U16] = "uint16",
	[ROOTIO_I32] = "int32",   [ROOTIO_U32] = "uint32",    [ROOTIO_I64] = "int64",
	[ROOTIO_U64] = "uint64",  [ROOTIO_F32] = "float32",   [ROOTIO_F64] = "float64",
	[ROOTIO_STRING] = "string",
};

const char *rootio_type_name(enum rootio_type t)
{
	return (unsigned)t < sizeof(type_names) / sizeof(type_names[0]) ? type_names[t] : "?";
}

size_t rootio_type_size(enum rootio_type t)
{
	switch (t) {
	case ROOTIO_I16:
	case ROOTIO_U16:
		return 2;
	case ROOTIO_I32:
	case ROOTIO_U32:
	case ROOTIO_F32:
		return 4;
	case ROOTIO_I64:
	case ROOTIO_U64:
	case ROOTIO_F64:
		return 8;
	default:
		return 1;
	}
}

const char *rootio_kind_name(enum rootio_kind k)
{
	switch (k) {
	case ROOTIO_FLAT:
		return "flat";
	case ROOTIO_FIXED:
		return "fixed";
	case ROOTIO_JAGGED:
		return "jagged";
	case ROOTIO_STR:
		return "string";
	default:
		return "unsupported";
	}
}

/* Arena: a chain of chunks; large requests get a chunk of their own. */
struct chunk {
	struct chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct arena {
	struct chunk *head;
};

struct arena *arena_new(void)
{
	return calloc(1, sizeof(struct arena));
}

void arena_free(struct arena *a)
{
	if (!a)
		return;
	for (struct chunk *c = a->head, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	free(a);
}

void *arena_alloc(struct arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct chunk *c = a->head;
	if (!c || c->size - c->used < n) {
		size_t size = n > 65536 ? n : 65536;
		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->used = 0;
		if (a->head && n > 65536) { /* keep filling the current chunk */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}
