/* fs_names.c — the one rule set for names under jobs/ (docs/mount.md,
 * "Names"), and the daemon's log lines.
 *
 * A name under jobs/ is exactly one of:
 *   N            digits only: the folder of job N (never created by users)
 *   NAME.query   a query: NAME is 1 to 200 of A-Z a-z 0-9 _ - + . ~, not
 *                digits only, not starting with '.', not ending in '~' or
 *                in ".query"
 *   NAME         the link to the newest job NAME (made by submitting)
 *   scratch      an editor's file: ".X" (vim's .NAME.query.swp, Jupyter's
 *                .~NAME.query, gedit's .goutputstream-XXXXXX), "X~"
 *                (backups) or "#X#" (emacs), X of the same characters and '#'
 * The shapes cannot overlap, so a scratch file never hides a link and a
 * job name never looks like an editor's file. */
#include "fs_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '+' || c == '.' || c == '~';
}

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool ends_with(const char *s, size_t n, const char *tail)
{
	size_t t = strlen(tail);
	return n >= t && !memcmp(s + n - t, tail, t);
}

/* The first byte that no name may hold, described; NULL when none. */
static const char *bad_byte(const char *name, size_t n, bool scratch)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (name_char((char)c) || (scratch && c == '#'))
			continue;
		if (c == ' ')
			return "a name may not hold a space (letters, digits and _ - + . ~ only)";
		if (c < 0x20 || c == 0x7f)
			return "a name may not hold a control character such as a newline or a tab";
		if (c == ';' || c == '&' || c == '|' || c == '$' || c == '`' || c == '\'' || c == '"' ||
		    c == '\\' || c == '*' || c == '?')
			return "a name may not hold shell characters (letters, digits and _ - + . ~ only)";
		if (c >= 0x80)
			return "a name may hold only ASCII letters, digits and _ - + . ~";
		return "a name may hold only letters, digits and _ - + . ~";
	}
	return NULL;
}

/* The rules for NAME of NAME.query (n bytes). */
static int check_stem(const char *s, size_t n, const char **why)
{
	if (n > FS_MAX_NAME) {
		*why = "NAME in NAME.query may be at most 200 characters";
		return -ENAMETOOLONG;
	}
	if ((*why = bad_byte(s, n, false)))
		return -EINVAL;
	if (all_digits(s, n)) {
		*why = "NAME may not be only digits: jobs/N is job number N";
		return -EINVAL;
	}
	if (s[n - 1] == '~') {
		*why = "NAME may not end in '~': such names are an editor's backup files";
		return -EINVAL;
	}
	if (ends_with(s, n, ".query")) {
		*why = "NAME may not itself end in .query";
		return -EINVAL;
	}
	return 0;
}

static bool is_scratch(const char *name, size_t n)
{
	if (name[0] == '.' || name[n - 1] == '~')
		return true;
	return n >= 3 && name[0] == '#' && name[n - 1] == '#';
}

int fs_name_class(const char *name, enum fs_class *cls, char *stem, const char **why)
{
	size_t n = strlen(name);
	*why = NULL;
	if (n == 0 || !strcmp(name, ".") || !strcmp(name, "..")) {
		*why = "'.' and '..' are not files";
		return -EINVAL;
	}
	if (n > NAME_MAX) {
		*why = "a name may be at most 255 bytes";
		return -ENAMETOOLONG;
	}
	if (all_digits(name, n)) {
		*cls = FS_C_JOB;
		return 0;
	}
	if (is_scratch(name, n)) {
		if ((*why = bad_byte(name, n, true)))
			return -EINVAL;
		*cls = FS_C_SCRATCH;
		return 0;
	}
	if (ends_with(name, n, ".query") && n > 6) {
		int rc = check_stem(name, n - 6, why);
		if (rc)
			return rc;
		memcpy(stem, name, n - 6);
		stem[n - 6] = 0;
		*cls = FS_C_QUERY;
		return 0;
	}
	int rc = check_stem(name, n, why);
	if (rc)
		return rc;
	*cls = FS_C_LINK;
	return 0;
}

/* ---- the log ---- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t log_second;
static int log_count, log_dropped;

#define FS_LOG_PER_SECOND 20

void fs_log(const char *fmt, ...)
{
	time_t now = time(NULL);
	pthread_mutex_lock(&log_lock);
	if (now != log_second) {
		if (log_dropped)
			fprintf(stderr, "anafs: %d more message(s) dropped\n", log_dropped);
		log_second = now;
		log_count = log_dropped = 0;
	}
	if (log_count++ >= FS_LOG_PER_SECOND) {
		log_dropped++;
		pthread_mutex_unlock(&log_lock);
		return;
	}
	struct tm tm;
	char stamp[32];
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s anafs: ", stamp);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
	va_end(ap);
	pthread_mutex_unlock(&log_lock);
}
