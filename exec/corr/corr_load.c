/* corr_load.c — a correctionlib file into a corr_set: the set or the
 * single correction at the top, each correction's name, version, inputs
 * and output; the nodes are corr_node.c's.  And the accessors. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "corr_int.h"

/* A failure about the file as a whole, with its name in front. */
#define FAIL(...) do { \
	int n_ = snprintf(why, cap, "%s: ", name); \
	if (n_ >= 0 && (size_t)n_ < cap) \
		snprintf(why + n_, cap - (size_t)n_, __VA_ARGS__); \
	rc = -EINVAL; \
	goto out; \
} while (0)

static int read_inputs(struct corr *c, struct arena *a, const struct jsonr_val *in, char *msg, size_t mcap)
{
	size_t n = jsonr_len(in);
	if (jsonr_type(in) != JSONR_ARR || n > CORR_MAX_INPUTS) {
		snprintf(msg, mcap, "\"inputs\" must be an array of at most %d inputs", CORR_MAX_INPUTS);
		return -EINVAL;
	}
	c->ninputs = (int)n;
	c->in_names = arena_alloc(a, (n + 1) * sizeof(*c->in_names));
	c->in_types = arena_alloc(a, (n + 1) * sizeof(*c->in_types));
	if (!c->in_names || !c->in_types) {
		snprintf(msg, mcap, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct jsonr_val *v = jsonr_at(in, i);
		const char *nm = jsonr_str(jsonr_get(v, "name"), NULL);
		const char *ty = jsonr_str(jsonr_get(v, "type"), NULL);
		if (!nm || !*nm) {
			snprintf(msg, mcap, "inputs[%zu] has no \"name\"", i);
			return -EINVAL;
		}
		if (ty && !strcmp(ty, "real"))
			c->in_types[i] = CORR_REAL;
		else if (ty && !strcmp(ty, "int"))
			c->in_types[i] = CORR_INT;
		else if (ty && !strcmp(ty, "string"))
			c->in_types[i] = CORR_STRING;
		else {
			snprintf(msg, mcap, "inputs[%zu] ('%.60s') has type %s%.20s%s; it must be \"real\", \"int\" or \"string\"",
				 i, nm, ty ? "\"" : "", ty ? ty : "none", ty ? "\"" : "");
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->in_names[j], nm)) {
				snprintf(msg, mcap, "inputs[%zu] and inputs[%zu] are both called '%.60s'", j, i, nm);
				return -EINVAL;
			}
		c->in_names[i] = nm;
	}
	return 0;
}

/* One correction object at v into c; msg says what is wrong (the caller
 * adds the file's name). */
static int read_correction(struct corr *c, struct arena *a, const struct jsonr_val *v, char *msg, size_t mcap)
{
	int64_t version = 0;
	c->name = jsonr_str(jsonr_get(v, "name"), NULL);
	if (jsonr_type(v) != JSONR_OBJ || !c->name || !*c->name) {
		snprintf(msg, mcap, "a correction must be an object with a \"name\"");
		return -EINVAL;
	}
	if (!jsonr_int64(jsonr_get(v, "version"), &version) || version < 0 || version > INT32_MAX) {
		snprintf(msg, mcap, "correction '%.60s': \"version\" must be a non-negative integer", c->name);
		return -EINVAL;
	}
	c->version = (int)version;
	char sub[384];
	int rc = read_inputs(c, a, jsonr_get(v, "inputs"), sub, sizeof(sub));
	if (rc) {
		snprintf(msg, mcap, "correction '%.60s': %s", c->name, sub);
		return rc;
	}
	const struct jsonr_val *o = jsonr_get(v, "output");
	const char *ot = jsonr_str(jsonr_get(o, "type"), NULL);
	if (!ot || strcmp(ot, "real")) {
		snprintf(msg, mcap, "correction '%.60s': \"output\" must be {\"name\", \"type\": \"real\"}", c->name);
		return -EINVAL;
	}
	struct cbuild b = {.arena = a, .c = c, .why = msg, .cap = mcap};
	rc = corr_build_tree(&b, jsonr_get(v, "data"));
	if (!rc)
		rc = corr_build_ids(&b);
	free(b.scats);
	return rc;
}

int corr_load_text(const char *text, size_t len, const char *name, struct corr_set **out,
		   char *why, size_t cap)
{
	struct jsonr_doc *doc = NULL;
	struct corr_set *s = NULL;
	char msg[768];
	int rc = corr_parse_json(text, len, name, &doc, why, cap);
	if (rc)
		return rc;
	const struct jsonr_val *root = jsonr_root(doc), *list = jsonr_get(root, "corrections");
	const struct jsonr_val *single = NULL;
	if (!list) {
		if (!jsonr_get(root, "data"))
			FAIL("neither a correction set {\"schema_version\": 2, \"corrections\": [...]} "
			     "nor a single correction");
		single = root;
	} else {
		int64_t ver = 0;
		const struct jsonr_val *sv = jsonr_get(root, "schema_version");
		if (!jsonr_int64(sv, &ver))
			FAIL("no integer \"schema_version\"; anafs reads correctionlib schema version 2");
		if (ver != 2)
			FAIL("schema_version %lld; anafs reads correctionlib schema version 2", (long long)ver);
		if (jsonr_type(list) != JSONR_ARR)
			FAIL("\"corrections\" must be an array");
	}
	size_t n = single ? 1 : jsonr_len(list);
	if (!(s = calloc(1, sizeof(*s))) || !(s->arena = arena_new()) ||
	    !(s->c = arena_alloc(s->arena, (n + 1) * sizeof(*s->c)))) {
		rc = -ENOMEM;
		snprintf(why, cap, "%s: out of memory", name);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct corr *c = &s->c[i];
		if ((rc = read_correction(c, s->arena, single ? single : jsonr_at(list, i), msg, sizeof(msg)))) {
			snprintf(why, cap, "%s: %s", name, msg);
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s->c[j].name, c->name))
				FAIL("two corrections are called '%.60s'", c->name);
		/* The names and keys point into the document, which goes: copy them. */
		if (!(c->name = arena_strndup(s->arena, c->name, strlen(c->name))))
			goto nomem;
		for (int k = 0; k < c->ninputs; k++)
			if (!(c->in_names[k] = arena_strndup(s->arena, c->in_names[k], strlen(c->in_names[k]))))
				goto nomem;
		for (int k = 0; k < c->ninputs; k++)
			for (size_t j = 0; j < c->strs[k].n; j++)
				if (!(c->strs[k].s[j] = arena_strndup(s->arena, c->strs[k].s[j], strlen(c->strs[k].s[j]))))
					goto nomem;
		s->n++;
	}
	rc = 0;
	goto out;
nomem:
	rc = -ENOMEM;
	snprintf(why, cap, "%s: out of memory", name);
out:
	jsonr_free(doc);
	if (rc) {
		corr_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int corr_load(const char *path, struct corr_set **out, char *why, size_t cap)
{
	char *text = NULL;
	size_t len = 0;
	int rc = corr_read_file(path, &text, &len, why, cap);
	if (!rc)
		rc = corr_load_text(text, len, path, out, why, cap);
	free(text);
	return rc;
}

void corr_free(struct corr_set *s)
{
	if (!s)
		return;
	arena_free(s->arena);
	free(s);
}

const struct corr *corr_find(const struct corr_set *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->c[i].name, name))
			return &s->c[i];
	return NULL;
}

int corr_count(const struct corr_set *s)
{
	return s->n;
}

const struct corr *corr_at(const struct corr_set *s, int i)
{
	return i >= 0 && i < s->n ? &s->c[i] : NULL;
}

const char *corr_names(const struct corr_set *s, char *buf, size_t cap)
{
	size_t used = 0;
	if (!cap)
		return buf;
	buf[0] = 0;
	for (int i = 0; i < s->n; i++) {
		size_t need = (i ? 2 : 0) + strlen(s->c[i].name);
		bool last = i + 1 == s->n;
		/* A name that is not the last must leave room for the "..." that
		 * may follow it. */
		if (used + need + (last ? 1 : 4) > cap) {
			snprintf(buf + used, cap - used, "...");
			break;
		}
		used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", s->c[i].name);
	}
	return buf;
}

const char *corr_name(const struct corr *c)
{
	return c->name;
}

int corr_version(const struct corr *c)
{
	return c->version;
}

int corr_ninputs(const struct corr *c)
{
	return c->ninputs;
}

const char *corr_input_name(const struct corr *c, int i)
{
	return i >= 0 && i < c->ninputs ? c->in_names[i] : NULL;
}

enum corr_type corr_input_type(const struct corr *c, int i)
{
	return i >= 0 && i < c->ninputs ? c->in_types[i] : CORR_REAL;
}

int corr_input_index(const struct corr *c, const char *name)
{
	for (int i = 0; i < c->ninputs; i++)
		if (!strcmp(c->in_names[i], name))
			return i;
	return -1;
}

int corr_string_id(const struct corr *c, int input, const char *value)
{
	if (input < 0 || input >= c->ninputs || c->in_types[input] != CORR_STRING)
		return -1;
	const struct strtab *t = &c->strs[input];
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(t->s[mid], value);
		if (r == 0)
			return mid <= INT32_MAX ? (int)mid : -1;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const char *corr_string_at(const struct corr *c, int input, int id)
{
	if (input < 0 || input >= c->ninputs || c->in_types[input] != CORR_STRING || id < 0 ||
	    (size_t)id >= c->strs[input].n)
		return NULL;
	return c->strs[input].s[id];
}
