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

const char *rootio_read_reason(struct src *s, int code, char *buf, size_t cap)
{
	src_error(s, buf, cap);
	return *buf ? buf : rootio_strerror(code);
}

int rootio_check_src(struct src *s, int rc, struct rootio_err *err)
{
	int bad = src_check(s);
	if (!bad)
		return rc;
	char why[sizeof(err->msg)];
	src_error(s, why, sizeof(why));
	if (*why) /* the transport said what happened (a remote file replaced) */
		return rootio_fail(err, bad, "%s", why);
	if (bad == ANA_ECHANGED)
		return rootio_fail(err, bad,
				   "%s: the file changed while it was read (it is shorter than when "
				   "it was opened)",
				   src_url(s));
	return rootio_fail(err, bad, "%s: a page of the mapped file could not be read: %s",
			   src_url(s), rootio_strerror(bad));
}

const char *rootio_strerror(int code)
{
	return ana_strerror(code);
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
