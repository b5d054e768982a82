/* corr_int.h — private to exec/corr: a loaded correction as a tree of
 * checked nodes in one arena, and the file reading that corrections and
 * luminosity masks share. */
#ifndef ANAFS_CORR_INT_H
#define ANAFS_CORR_INT_H

#include <stddef.h>
#include <stdint.h>

#include "corr.h"
#include "jsonr.h"

struct arena;

enum cnode_kind { CN_CONST, CN_BIN, CN_MBIN, CN_CAT };
/* What a binned value outside the edges gets: the first or last bin, an
 * error, wrapped into the range, or the flow node. */
enum cflow { FLOW_CLAMP, FLOW_ERROR, FLOW_WRAP, FLOW_NODE };

/* One binned input.  Both kinds keep low and high (the first and last
 * edge), so that the range test is the same for both. */
struct axis {
	int input;
	uint32_t nbins;
	const double *edges;  /* nbins + 1 of them, or NULL: uniform */
	double low, high;
	size_t stride;        /* multibinning: the step of this axis in content */
};

struct cnode {
	uint8_t kind;         /* enum cnode_kind */
	uint8_t flow;         /* enum cflow, binnings */
	double value;         /* CN_CONST */
	/* CN_BIN (one axis) and CN_MBIN. */
	int naxes;
	const struct axis *axes;
	size_t ncontent;
	const struct cnode **content; /* NULL when leaf */
	const double *leaf;   /* when every content entry is a number: their values */
	const struct cnode *flownode; /* FLOW_NODE */
	/* CN_CAT: keys sorted, for binary search; a string input's keys are
	 * its string ids. */
	int input;
	size_t nkeys;
	int64_t *keys;
	const struct cnode **kchild;
	const struct cnode *dflt;     /* NULL: none */
	const char **skeys;           /* while loading: a string input's keys as text */
};

/* The distinct category keys of one string input, sorted: an id is an
 * index in it. */
struct strtab {
	size_t n;
	const char **s;
};

struct corr {
	const char *name;
	int version;
	int ninputs;
	const char **in_names;
	enum corr_type *in_types;
	struct strtab *strs;  /* per input; empty but for string inputs */
	const struct cnode *root;
};

struct corr_set {
	struct arena *arena;
	int n;
	struct corr *c;
};

/* What building one correction's tree needs: its arena, its inputs, the
 * JSON path of the node at hand, the string categories met (to give their
 * keys ids once all are known), and where to say what went wrong. */
struct cbuild {
	struct arena *arena;
	struct corr *c;
	char path[512];
	size_t plen;
	struct cnode **scats;
	size_t nscats, capscats;
	char *why;
	size_t cap;
	int err;
};

/* Build c->root from data ("data" in the path).  Returns 0 or -EINVAL /
 * -ENOMEM with b->why written ("correction 'x': ..."). */
int corr_build_tree(struct cbuild *b, const struct jsonr_val *data);
/* Give the string keys met by corr_build_tree() their ids (c->strs) and
 * sort every category's keys. */
int corr_build_ids(struct cbuild *b);

/* Read the file at path whole into *text (new: free()), bounded by
 * CORR_MAX_FILE, refusing non-regular files and gzip.  why names path. */
int corr_read_file(const char *path, char **text, size_t *len, char *why, size_t cap);
/* Parse text as JSON, refusing gzip bytes first; why names name. */
int corr_parse_json(const char *text, size_t len, const char *name, struct jsonr_doc **doc,
		    char *why, size_t cap);

#endif
