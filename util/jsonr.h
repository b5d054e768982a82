/* jsonr.h — a small JSON reader: untrusted text into a read-only tree.
 *
 * Strict RFC 8259: no comments, no trailing commas, no NaN or Infinity, no
 * leading zeros, no control characters in strings, UTF-8 checked (overlong
 * forms, surrogates and code points past U+10FFFF refused), \u escapes with
 * surrogate pairs joined (an unpaired surrogate is refused).  A UTF-8 byte
 * order mark at the very start is skipped, as RFC 8259 allows.  Any value
 * may be the top one.
 *
 * Duplicate keys in an object are refused: a file that says two things
 * about one name is more likely a mistake than a wish for the last one.
 * Objects keep their members in the order of the text.
 *
 * Numbers are read as strtod() reads them (the process is expected to run
 * in the C locale for LC_NUMERIC, as the rest of anafs is); one past the
 * range of a double is refused.  A literal without fraction or exponent is
 * an integer literal, and its exact int64 value is kept when it fits.
 *
 * Limits: input at most JSONR_MAX_INPUT bytes, nesting at most
 * JSONR_MAX_DEPTH, at most JSONR_MAX_VALUES values.  Errors say where, as
 * "line 12, column 5: expected ',' or '}'"; lines and columns count from 1,
 * columns in bytes.
 *
 * Everything lives in the document's arena and is released by jsonr_free().
 * The accessors take NULL and answer as for a missing value, so lookups
 * chain: jsonr_num(jsonr_get(jsonr_at(arr, 2), "x")).
 *
 * Thread safety: a parsed document is immutable; any number of threads may
 * read it at once. */
#ifndef ANAFS_JSONR_H
#define ANAFS_JSONR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONR_MAX_INPUT ((size_t)256 << 20)
#define JSONR_MAX_DEPTH 128
#define JSONR_MAX_VALUES ((size_t)1 << 24)

enum jsonr_type {
	JSONR_NONE = 0, /* no value: what the accessors say of NULL */
	JSONR_NULL,
	JSONR_BOOL,
	JSONR_NUM,
	JSONR_STR,
	JSONR_ARR,
	JSONR_OBJ,
};

struct jsonr_doc;
struct jsonr_val;

/* Parse len bytes of text (borrowed; need not end in NUL).  On success *out
 * is new: release with jsonr_free().  Returns 0; -EINVAL for text that is
 * not JSON (why says line, column and what was expected); ANA_ETOOBIG over
 * a limit; -ENOMEM.  why (cap bytes, may be NULL) gets a message on every
 * failure. */
int jsonr_parse(const char *text, size_t len, struct jsonr_doc **out, char *why, size_t cap)
	__attribute__((warn_unused_result));
void jsonr_free(struct jsonr_doc *d); /* NULL allowed */

const struct jsonr_val *jsonr_root(const struct jsonr_doc *d);

enum jsonr_type jsonr_type(const struct jsonr_val *v);
/* The type's name, "null" to "object"; "nothing" for JSONR_NONE. */
const char *jsonr_type_name(enum jsonr_type t);

/* Elements of an array, members of an object, bytes of a string; else 0. */
size_t jsonr_len(const struct jsonr_val *v);
/* Element i of an array or the value of member i of an object; NULL when
 * out of range or v is neither. */
const struct jsonr_val *jsonr_at(const struct jsonr_val *v, size_t i);
/* The name of member i of an object (NUL-terminated; *len, when given, its
 * length, which counts any \u0000 inside); NULL when out of range. */
const char *jsonr_key_at(const struct jsonr_val *obj, size_t i, size_t *len);
/* The member named key, or NULL.  A linear search: objects read by name
 * are small; walk large ones with jsonr_key_at(). */
const struct jsonr_val *jsonr_get(const struct jsonr_val *obj, const char *key);

/* A number's value; NaN for anything else. */
double jsonr_num(const struct jsonr_val *v);
/* Whether v is an integer literal (no fraction, no exponent). */
bool jsonr_is_int(const struct jsonr_val *v);
/* An integer literal that fits int64: true and *out set; else false. */
bool jsonr_int64(const struct jsonr_val *v, int64_t *out);
/* A string, decoded, NUL-terminated (*len, when given, its length); NULL
 * for anything else. */
const char *jsonr_str(const struct jsonr_val *v, size_t *len);
/* true for the literal true, false for anything else. */
bool jsonr_bool(const struct jsonr_val *v);

/* Where v starts in the text: line and column (bytes), from 1; 0, 0 for
 * NULL. */
void jsonr_where(const struct jsonr_val *v, unsigned *line, unsigned *col);

#endif
