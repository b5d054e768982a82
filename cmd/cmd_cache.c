/* cmd_cache.c — `anafs cache ls|stat|purge [URL] [--dir D] [--json]`: the
 * node's disk cache from the shell (docs/cache.md).  The folder is --dir,
 * else the one the reads use (ANAFS_CACHE_DIR, XDG_CACHE_HOME, ~/.cache).
 * `stat` and `purge` (of everything) also cover the column cache
 * (ANAFS_COLCACHE_DIR, else /dev/shm/anafs-columns-UID). */
#include "cmd.h"
#include "colcache.h"
#include "dcache.h"
#include "jsonw.h"
#include "strbuf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int usage(void)
{
	fprintf(stderr, "usage: anafs cache ls [--json] [--dir D]\n"
			"       anafs cache stat [--json] [--dir D]\n"
			"       anafs cache purge [URL] [--dir D]\n");
	return 2;
}

struct ls_ctx {
	bool json;
	struct jsonw w;
};

static int ls_one(void *ctx, const struct dcache_file *f)
{
	struct ls_ctx *l = ctx;
	if (l->json) {
		jsonw_obj_begin(&l->w);
		jsonw_key(&l->w, "url");
		jsonw_str(&l->w, f->url);
		const char *keys[] = {"cached", "size", "blocks"};
		uint64_t vals[] = {f->cached, f->size, f->blocks};
		for (int i = 0; i < 3; i++) {
			jsonw_key(&l->w, keys[i]);
			jsonw_uint(&l->w, vals[i]);
		}
		jsonw_key(&l->w, "mtime_ns");
		jsonw_int(&l->w, f->mtime_ns);
		jsonw_key(&l->w, "last_use");
		jsonw_double(&l->w, f->last_use);
		jsonw_obj_end(&l->w);
		return 0;
	}
	char when[32] = "-";
	time_t t = (time_t)f->last_use;
	struct tm tm;
	if (t && localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s  %llu/%llu bytes  %llu blocks  %s\n", f->url, (unsigned long long)f->cached,
	       (unsigned long long)f->size, (unsigned long long)f->blocks, when);
	return 0;
}

static int do_ls(struct dcache *c, bool json)
{
	struct ls_ctx l = {.json = json};
	jsonw_init(&l.w);
	if (json)
		jsonw_arr_begin(&l.w);
	int rc = dcache_list(c, ls_one, &l);
	if (json) {
		jsonw_arr_end(&l.w);
		size_t n;
		char *s = jsonw_finish(&l.w, &n);
		if (s && !rc)
			printf("%s\n", s);
		rc = rc ? rc : s ? 0 : -12;
		free(s);
	} else {
		jsonw_free(&l.w);
	}
	return rc;
}

/* The column cache of the node (ANAFS_COLCACHE_DIR or its default), if
 * there is one: NULL otherwise, with why in msg. */
static struct colcache *open_columns(char *msg, size_t cap)
{
	char dir[4096];
	struct colcache_conf conf;
	colcache_env_conf(&conf, dir, sizeof(dir));
	conf.no_create = true;
	struct colcache *cc;
	return colcache_open(&conf, &cc, msg, cap) ? NULL : cc;
}

/* The column cache's part of `stat`: after the disk cache's lines, or as
 * the member "columns" of its JSON object (null when there is none). */
static void stat_columns(struct strbuf *b, bool json)
{
	char msg[512];
	struct colcache *cc = open_columns(msg, sizeof(msg));
	if (json) {
		/* The object ends with "}\n": the member goes before it. */
		if (b->len >= 2 && b->buf[b->len - 2] == '}') {
			b->len -= 2;
			strbuf_printf(b, ",\"columns\":");
			if (!cc || colcache_stat_text(cc, b, true))
				strbuf_printf(b, "null");
			strbuf_printf(b, "}\n");
		}
	} else if (cc) {
		(void)colcache_stat_text(cc, b, false);
	} else {
		strbuf_printf(b, "columns     none (%s)\n", msg);
	}
	colcache_close(cc);
}

static int do_stat(struct dcache *c, bool json)
{
	struct strbuf b = STRBUF_INIT;
	int rc = dcache_stat_text(c, &b, json);
	if (!rc)
		stat_columns(&b, json);
	char *s;
	if (strbuf_finish(&b, &s, NULL) == 0) {
		if (!rc)
			fputs(s, stdout);
		free(s);
	}
	return rc;
}

int cmd_cache(int argc, char **argv)
{
	const char *what = NULL, *url = NULL, *dir_arg = NULL;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir_arg = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else if (argv[i][0] == '-')
			return usage();
		else if (!what)
			what = argv[i];
		else if (!url && what && !strcmp(what, "purge"))
			url = argv[i];
		else
			return usage();
	}
	if (!what || (strcmp(what, "ls") && strcmp(what, "stat") && strcmp(what, "purge")) ||
	    (json && !strcmp(what, "purge")))
		return usage();
	char dir[4096], msg[512];
	struct dcache_conf conf;
	dcache_env_conf(&conf, dir, sizeof(dir));
	if (dir_arg)
		conf.dir = dir_arg;
	conf.no_create = true;
	conf.prefetch_threads = -1;
	struct dcache *c;
	if (dcache_open(&conf, &c, msg, sizeof(msg))) {
		fprintf(stderr, "anafs cache: %s\n", msg);
		return 1;
	}
	int rc;
	if (!strcmp(what, "ls")) {
		rc = do_ls(c, json);
	} else if (!strcmp(what, "stat")) {
		rc = do_stat(c, json);
	} else {
		uint64_t n = 0;
		rc = dcache_purge(c, url, &n);
		if (!rc)
			printf("purged %llu blocks%s%s\n", (unsigned long long)n, url ? " of " : "",
			       url ? url : "");
		/* Decoded columns are not kept by URL: only a purge of everything drops them. */
		struct colcache *cc = url || rc ? NULL : open_columns(msg, sizeof(msg));
		if (cc && colcache_purge(cc, &n) == 0)
			printf("purged %llu column entries\n", (unsigned long long)n);
		colcache_close(cc);
	}
	if (rc)
		fprintf(stderr, "anafs cache %s: %s: %s\n", what, conf.dir, strerror(-rc));
	dcache_close(c);
	return rc ? 1 : 0;
}
