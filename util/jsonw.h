/* jsonw.h — a small JSON writer into a growing buffer.
 *
 * The writer places commas itself: call jsonw_key() before each member of an
 * object and the value functions for array elements.  Errors are sticky:
 * after the first failure (out of memory, nesting deeper than JSONW_MAX_DEPTH,
 * an end that does not match its begin) every call does nothing and
 * jsonw_finish() returns NULL with the error in w->err.
 *
 *	struct jsonw w;
 *	jsonw_init(&w);
 *	jsonw_obj_begin(&w);
 *	jsonw_key(&w, "n");
 *	jsonw_int(&w, 3);
 *	jsonw_obj_end(&w);
 *	char *s = jsonw_finish(&w, &len);   // {"n":3}
 *
 * Pretty (jsonw_init_pretty()): the layout of Python's json.dumps(indent=1),
 * one space of indentation per level and ": " after keys, except that the
 * elements of an array that are numbers, strings, booleans or null run on
 * one line ("[0, 1, 2]", however long), and that any array or object whose
 * one-line form is at most JSONW_LINE bytes is written on one line.  Each
 * container is measured once, at its end, at most JSONW_LINE bytes of it:
 * the writer stays linear in its output.
 *
 * Thread safety: a struct jsonw belongs to one thread at a time. */
#ifndef ANAFS_JSONW_H
#define ANAFS_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define JSONW_MAX_DEPTH 32
#define JSONW_LINE 72 /* pretty: containers this short stay on one line */

struct jsonw {
	struct strbuf out;    /* the text so far */
	int err;              /* 0, -ENOMEM or -EINVAL */
	/* Private: the open containers and how many items each holds. */
	int depth;
	bool after_key, pretty;
	bool is_obj[JSONW_MAX_DEPTH];
	bool nested[JSONW_MAX_DEPTH]; /* pretty: holds a container */
	size_t count[JSONW_MAX_DEPTH];
	size_t start[JSONW_MAX_DEPTH]; /* offset of each open container's bracket */
};

void jsonw_init(struct jsonw *w);
/* The same, for pretty-printed text (above). */
void jsonw_init_pretty(struct jsonw *w);
/* Release the buffer; w may be initialised again. */
void jsonw_free(struct jsonw *w);
/* Hand over the text: new, NUL-terminated, release with free(); *len (when
 * given) its length.  NULL on error or with containers left open (w->err
 * says why); the buffer is released either way and w is empty. */
char *jsonw_finish(struct jsonw *w, size_t *len);

/* Append n bytes exactly as given: no comma, no escaping. */
void jsonw_raw(struct jsonw *w, const char *s, size_t n);
/* Append a complete JSON value already serialized (borrowed), with the
 * comma that the position needs. */
void jsonw_value_raw(struct jsonw *w, const char *s, size_t n);

/* Values.  Strings are escaped (", \ and control characters); valid UTF-8
 * passes through and each invalid byte becomes U+FFFD.  A NULL string is
 * written as null. */
void jsonw_str(struct jsonw *w, const char *s);
void jsonw_strn(struct jsonw *w, const char *s, size_t n);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_uint(struct jsonw *w, uint64_t v);
/* The shortest of %.15g, %.16g, %.17g that reads back as v; integral
 * values below 1e16 in magnitude without an exponent.  NaN and infinities
 * are written as null (callers should decide what they mean first). */
void jsonw_double(struct jsonw *w, double v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);

/* The member name inside an object, with the comma before it. */
void jsonw_key(struct jsonw *w, const char *k);

void jsonw_obj_begin(struct jsonw *w);
void jsonw_obj_end(struct jsonw *w);
void jsonw_arr_begin(struct jsonw *w);
void jsonw_arr_end(struct jsonw *w);

/* Format v into buf (at least 32 bytes) as jsonw_double() does, without
 * the null case: returns the length, or 0 when v is not finite. */
size_t jsonw_fmt_double(char *buf, double v);

#endif
