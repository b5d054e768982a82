/* fs.h — the anafs mount: FUSE operations over the job store and the
 * scheduler.  Knows nothing of ROOT or sockets: it asks the store and the
 * scheduler for a snapshot and formats it.  See docs/mount.md.
 *
 * Thread safety: the FUSE loop runs multithreaded; everything here is. */
#ifndef ANAFS_FS_H
#define ANAFS_FS_H

#include "coord.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define FS_MAX_QUERY (1u << 20) /* bytes a written query may hold (EFBIG past it) */
#define FS_MAX_DRAFTS 256       /* files being written at once */

struct fs_opts {
	const char *mountpoint;
	const char *basedir;   /* where relative dataset paths start */
	bool allow_other;
	bool foreground;
	uid_t uid;             /* the mounting user */
	gid_t gid;
};

struct fs_mount;

/* Mount at o->mountpoint and, unless o->foreground, go to the background
 * (call it before starting any thread).  *out: fs_unmount(). */
int fs_mount(const struct fs_opts *o, struct fs_mount **out, char *msg, size_t cap);

/* Serve the mount until it is unmounted (fusermount3 -u, SIGINT, SIGTERM);
 * store and scheduler borrowed.  Returns 0 or a negative errno. */
int fs_loop(struct fs_mount *m, struct store *st, struct coord *sc);

/* Unmount if still mounted and free. */
void fs_unmount(struct fs_mount *m);

/* What each file of a job shows, rendered now (fs_render.c). */
enum fs_file {
	FF_QUERY, FF_STATUS, FF_ERROR, FF_PROGRESS, FF_PROGRESS_JSON, FF_HIST_JSON, FF_CUTFLOW,
	FF_LOG, FF_CTL, FF_WAIT, FF_SVG, FF_CSV,
	FF_README, FF_WORKERS, FF_CACHE, /* top level */
	FF_NONE,
};

struct fs_ctx {
	struct store *st;
	struct coord *sc;
	double started;
};

/* Render file f of job (hname: the histogram for FF_SVG/FF_CSV) into a
 * new buffer.  *mtime: when that content last changed.  Returns 0,
 * -ENOENT (no such job or histogram) or -ENOMEM. */
int fs_render(struct fs_ctx *c, int64_t job, enum fs_file f, const char *hname, char **out,
	      size_t *len, double *mtime);

/* The histogram names of a job (for hist/), NULL-terminated; free each
 * and the array. */
char **fs_hist_names(struct fs_ctx *c, int64_t job);

#endif
