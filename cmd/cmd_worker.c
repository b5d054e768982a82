/* cmd_worker.c — `anafs worker --connect URL`: a worker process, started
 * by the daemon (local backend) or by a pilot on a batch node.
 *
 * The secret never comes on the command line (ps shows it to everyone):
 * from --secret-file, else from ANAFS_SECRET (64 hex digits, removed from
 * the environment once read so that nothing the worker starts inherits
 * it), else from STATE/secret. */
#include "cmd.h"
#include "wclient.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
	fprintf(stderr, "usage: anafs worker --connect URL [--secret-file PATH] [--state DIR] "
			"[--name NAME] [--backend NAME] [--pilot ID] [--slots N] [--linger SECS] "
			"[--time-limit SECS] [--quiet] [--fake SECS]\n");
}

/* Seconds, >= 0 and finite: 0, or -1. */
static int parse_secs(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 1e9)
		return -1;
	*out = v;
	return 0;
}

/* A name that travels in HELLO and shows in the workers file: 1 to
 * WIRE_MAX_NAME - 1 printable characters without blanks. */
static bool good_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= WIRE_MAX_NAME)
		return false;
	for (; *s; s++)
		if (!isgraph((unsigned char)*s))
			return false;
	return true;
}

static int load_secret(const char *file, const char *state, uint8_t secret[WIRE_SECRET])
{
	char msg[512] = "", path[PATH_MAX + 16];
	const char *env = getenv("ANAFS_SECRET");
	if (!file && env) {
		int rc = wire_secret_parse(env, secret);
		unsetenv("ANAFS_SECRET");
		if (rc) {
			fprintf(stderr, "anafs worker: ANAFS_SECRET is not 64 hex digits\n");
			return -1;
		}
		return 0;
	}
	unsetenv("ANAFS_SECRET");
	if (!file) {
		char dir[PATH_MAX];
		if (state)
			snprintf(dir, sizeof(dir), "%s", state);
		else
			cmd_default_state(dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/secret", dir);
		file = path;
	}
	int rc = wire_secret_load(file, false, secret, msg, sizeof(msg));
	if (rc) {
		fprintf(stderr, "anafs worker: cannot read the secret: %s\n",
			msg[0] ? msg : strerror(-rc));
		return -1;
	}
	return 0;
}

int cmd_worker(int argc, char **argv)
{
	struct wclient_opts o = {.backend = "manual", .slots = 1, .linger = 60, .fake_secs = -1};
	const char *secret_file = NULL, *state = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has = i + 1 < argc;
		if (!strcmp(a, "--connect") && has)
			o.url = argv[++i];
		else if (!strcmp(a, "--secret-file") && has)
			secret_file = argv[++i];
		else if (!strcmp(a, "--state") && has)
			state = argv[++i];
		else if (!strcmp(a, "--name") && has)
			o.name = argv[++i];
		else if (!strcmp(a, "--backend") && has)
			o.backend = argv[++i];
		else if (!strcmp(a, "--pilot") && has)
			o.pilot = argv[++i];
		else if (!strcmp(a, "--slots") && has) {
			char *end;
			errno = 0;
			long n = strtol(argv[++i], &end, 10);
			if (errno || end == argv[i] || *end || n < 1 || n > WIRE_MAX_SLOTS) {
				fprintf(stderr, "anafs worker: --slots: '%s' is not a number from 1 "
						"to %d\n", argv[i], WIRE_MAX_SLOTS);
				usage();
				return 2;
			}
			o.slots = (int)n;
		} else if ((!strcmp(a, "--linger") || !strcmp(a, "--time-limit") ||
			    !strcmp(a, "--fake")) && has) {
			double v;
			if (parse_secs(argv[++i], &v)) {
				fprintf(stderr, "anafs worker: %s: '%s' is not a number of seconds\n",
					a, argv[i]);
				usage();
				return 2;
			}
			if (!strcmp(a, "--linger"))
				o.linger = v;
			else if (!strcmp(a, "--time-limit"))
				o.time_limit = v;
			else
				o.fake_secs = v;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q"))
			o.quiet = true;
		else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage();
			return 0;
		} else {
			if (a[0] == '-' && !has)
				fprintf(stderr, "anafs worker: '%s' wants a value\n", a);
			else
				fprintf(stderr, "anafs worker: unknown argument '%s'\n", a);
			usage();
			return 2;
		}
	}
	if (!o.url || !*o.url) {
		fprintf(stderr, "anafs worker: --connect URL is required\n");
		usage();
		return 2;
	}
	if (strlen(o.url) >= WIRE_MAX_PATH) {
		fprintf(stderr, "anafs worker: --connect: the URL is too long\n");
		usage();
		return 2;
	}
	const char *names[][2] = {{"--name", o.name}, {"--backend", o.backend},
				  {"--pilot", o.pilot}};
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (names[k][1] && !good_name(names[k][1]) && (k != 2 || names[k][1][0])) {
			fprintf(stderr, "anafs worker: %s: '%s' is not 1 to %d printable characters "
					"without blanks\n", names[k][0], names[k][1], WIRE_MAX_NAME - 1);
			usage();
			return 2;
		}
	if (load_secret(secret_file, state, o.secret))
		return 1;
	return wclient_run(&o);
}
