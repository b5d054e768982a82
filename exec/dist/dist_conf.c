/* dist_conf.c — the worker configuration (dist.h): STATE/workers.conf,
 * `key = value` lines with # comments, then the mount's own options
 * through dist_conf_set().
 *
 * Every key has a type and a range, checked here once, so the server and
 * the launchers can trust what they read.  The file is the user's: a line
 * that is wrong is refused with the file and the line, never guessed at. */
#include "dist.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define CONF_MAX_LINE 2048 /* longer than any field (extra: 512) with its key */
#define CONF_MAX_BYTES (1 << 20)

enum kind { K_INT, K_DOUBLE, K_STR, K_BACKEND };

struct key {
	const char *name;
	enum kind kind;
	size_t off;
	size_t size;         /* K_STR: the field's size */
	double min, max;     /* K_INT, K_DOUBLE */
	bool nonempty;       /* K_STR: "" refused */
};

#define F(field) offsetof(struct dist_conf, field), sizeof(((struct dist_conf *)0)->field)

static const struct key keys[] = {
	{"backend", K_BACKEND, F(backend), 0, 0, false},
	{"workers", K_INT, F(workers), 0, 4096, false},
	{"slots", K_INT, F(slots), 1, 256, false},
	{"min_workers", K_INT, F(min_workers), 0, 100000, false},
	{"max_workers", K_INT, F(max_workers), 0, 100000, false},
	{"idle_timeout", K_DOUBLE, F(idle_timeout), 0, 86400 * 7, false},
	{"lease", K_DOUBLE, F(lease), 0.5, 86400, false},
	{"progress", K_DOUBLE, F(progress), 0.05, 60, false},
	{"retries", K_INT, F(retries), 0, 100, false},
	{"retry_backoff", K_DOUBLE, F(retry_backoff), 0, 3600, false},
	{"restart_burst", K_INT, F(restart_burst), 1, 10000, false},
	{"linger", K_DOUBLE, F(linger), 0, 86400 * 7, false},
	{"listen", K_STR, F(listen), 0, 0, false},
	{"slurm.partition", K_STR, F(slurm_partition), 0, 0, false},
	{"slurm.time", K_STR, F(slurm_time), 0, 0, false},
	{"slurm.mem", K_STR, F(slurm_mem), 0, 0, false},
	{"slurm.account", K_STR, F(slurm_account), 0, 0, false},
	{"slurm.extra", K_STR, F(slurm_extra), 0, 0, false},
	{"htcondor.request_memory", K_STR, F(condor_memory), 0, 0, false},
	{"htcondor.request_cpus", K_INT, F(condor_cpus), 1, 1024, false},
	{"htcondor.extra", K_STR, F(condor_extra), 0, 0, false},
	{"tools", K_STR, F(tools), 0, 0, false},
};

void dist_conf_defaults(struct dist_conf *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->backend, "local");
	c->workers = 0;
	c->slots = 1;
	c->min_workers = 0;
	c->max_workers = 10;
	c->idle_timeout = 60;
	c->lease = 10;
	c->progress = 0.5;
	c->retries = 2;
	c->retry_backoff = 1;
	c->restart_burst = 10;
	c->linger = 60;
	/* listen "" means tcp://THIS-HOST:0, filled in when the server starts. */
	strcpy(c->slurm_time, "01:00:00");
	strcpy(c->slurm_mem, "2G");
	strcpy(c->condor_memory, "2GB");
	c->condor_cpus = 1;
}

/* Whether s holds only printable characters: a value goes into command
 * lines and scripts, where a control character has no business. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int set_key(struct dist_conf *c, const struct key *k, const char *value, char *msg,
		   size_t cap)
{
	char *field = (char *)c + k->off;
	char *end = NULL;
	switch (k->kind) {
	case K_BACKEND:
		if (strcmp(value, "local") && strcmp(value, "slurm") && strcmp(value, "htcondor") &&
		    strcmp(value, "threads") && strcmp(value, "manual")) {
			snprintf(msg, cap,
				 "backend: \"%.64s\" is not one of local, slurm, htcondor, threads, manual",
				 value);
			return -EINVAL;
		}
		snprintf(field, sizeof(c->backend), "%s", value);
		return 0;
	case K_INT: {
		errno = 0;
		long v = strtol(value, &end, 10);
		if (!*value || *end || errno || v < (long)k->min || v > (long)k->max) {
			snprintf(msg, cap, "%s: \"%.64s\" is not a whole number from %.0f to %.0f",
				 k->name, value, k->min, k->max);
			return -EINVAL;
		}
		*(int *)(void *)field = (int)v;
		return 0;
	}
	case K_DOUBLE: {
		errno = 0;
		double v = strtod(value, &end);
		if (!*value || *end || errno || !isfinite(v) || v < k->min || v > k->max) {
			snprintf(msg, cap, "%s: \"%.64s\" is not a number of seconds from %g to %g",
				 k->name, value, k->min, k->max);
			return -EINVAL;
		}
		*(double *)(void *)field = v;
		return 0;
	}
	case K_STR:
		if (strlen(value) >= k->size || !printable(value)) {
			snprintf(msg, cap, "%s: the value must be printable and under %zu bytes",
				 k->name, k->size);
			return -EINVAL;
		}
		if (!strcmp(k->name, "listen") && *value && strncmp(value, "tcp://", 6)) {
			snprintf(msg, cap, "listen: \"%.64s\" is not a tcp://HOST:PORT URL", value);
			return -EINVAL;
		}
		snprintf(field, k->size, "%s", value);
		return 0;
	}
	return -EINVAL;
}

int dist_conf_set(struct dist_conf *c, const char *key, const char *value, char *msg, size_t cap)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].name, key))
			return set_key(c, &keys[i], value, msg, cap);
	struct strbuf names = STRBUF_INIT;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		strbuf_printf(&names, "%s%s", i ? ", " : "", keys[i].name);
	snprintf(msg, cap, "unknown key \"%.64s\" (known: %s)", key,
		 names.buf ? names.buf : "");
	strbuf_free(&names);
	return -EINVAL;
}

/* Trim blanks at both ends of s in place; returns the start. */
static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

/* One line (NUL-terminated, no newline): blank, a comment, or key = value.
 * A # starts a comment only at the start of the line or after a blank, so
 * that a value may hold one (a partition named "gpu#2" is unlikely, but a
 * URL fragment is not). */
static int parse_line(struct dist_conf *c, char *line, char *msg, size_t cap)
{
	for (char *p = line; *p; p++)
		if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
			*p = 0;
			break;
		}
	char *s = trim(line);
	if (!*s)
		return 0;
	char *eq = strchr(s, '=');
	if (!eq) {
		snprintf(msg, cap, "expected key = value, found \"%.64s\"", s);
		return -EINVAL;
	}
	*eq = 0;
	char *key = trim(s), *value = trim(eq + 1);
	if (!*key) {
		snprintf(msg, cap, "a line with = but no key");
		return -EINVAL;
	}
	return dist_conf_set(c, key, value, msg, cap);
}

/* Checks across keys, once the whole file is read. */
static int check_all(const struct dist_conf *c, char *msg, size_t cap)
{
	if (c->min_workers > c->max_workers) {
		snprintf(msg, cap, "min_workers (%d) is above max_workers (%d)", c->min_workers,
			 c->max_workers);
		return -EINVAL;
	}
	return 0;
}

int dist_conf_load(const char *path, struct dist_conf *c, char *msg, size_t cap)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		int rc = -errno;
		snprintf(msg, cap, "%s: %s", path, strerror(errno));
		return rc;
	}
	struct dist_conf tmp = *c;
	struct stat st;
	char why[768];
	char *line = NULL;
	size_t linecap = 0;
	int rc = 0, lineno = 0;
	/* The size first, so that getline() cannot be made to allocate more. */
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || st.st_size > CONF_MAX_BYTES) {
		snprintf(msg, cap, "%s: not a regular file of at most %d bytes", path,
			 CONF_MAX_BYTES);
		rc = -EINVAL;
	}
	ssize_t n;
	while (!rc && (n = getline(&line, &linecap, f)) >= 0) {
		lineno++;
		if (n && line[n - 1] == '\n')
			line[--n] = 0;
		if (n > CONF_MAX_LINE) {
			snprintf(msg, cap, "%s:%d: the line is over %d bytes", path, lineno,
				 CONF_MAX_LINE);
			rc = -EINVAL;
		} else if (strlen(line) != (size_t)n) {
			snprintf(msg, cap, "%s:%d: a NUL byte in the line", path, lineno);
			rc = -EINVAL;
		} else if ((rc = parse_line(&tmp, line, why, sizeof(why)))) {
			snprintf(msg, cap, "%s:%d: %s", path, lineno, why);
		}
	}
	if (!rc && ferror(f)) {
		rc = -EIO;
		snprintf(msg, cap, "%s: %s", path, strerror(EIO));
	}
	free(line);
	fclose(f);
	if (!rc && (rc = check_all(&tmp, why, sizeof(why))))
		snprintf(msg, cap, "%s: %s", path, why);
	if (!rc)
		*c = tmp;
	return rc;
}
