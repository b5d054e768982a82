/* ql_int.h — what the query-language files share. */
#ifndef ANAFS_QL_INT_H
#define ANAFS_QL_INT_H

#include "arena.h"
#include "ql.h"

/* Write "did you mean a, b or c?" into out for the candidates closest to
 * name, or "" when none is close. */
void ql_suggest(const char *name, const char *const *cands, size_t n, char *out, size_t cap);

/* The function table: name, id, argument count (-1: any), what it is. */
struct ql_fninfo {
	const char *name;
	enum ql_fn id;
	int nargs;
	const char *what;
};
const struct ql_fninfo *ql_function(const char *name, int nargs);
extern const struct ql_fninfo ql_functions[];
extern const size_t ql_nfunctions;

#endif
