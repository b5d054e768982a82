/* ana_err.c — texts of the error codes. */
#include "ana_err.h"

#include <string.h>

const char *ana_strerror(int code)
{
	switch (code) {
	case ANA_ECORRUPT:
		return "corrupt or truncated data";
	case ANA_EUNSUPPORTED:
		return "ROOT feature not supported";
	case ANA_ETOOBIG:
		return "size over anafs's limit";
	case ANA_ECHANGED:
		return "the input file changed since it was planned or opened";
	case ANA_EDAMAGED:
		return "the job database is damaged";
	case ANA_ENOTREG:
		return "not a regular file";
	case ANA_ELOST:
		return "its worker was lost";
	case ANA_EGIVENBACK:
		return "its worker handed it back";
	default:
		return strerror(code < 0 ? -code : code);
	}
}
