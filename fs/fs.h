/* fs.h — the anafs mount: a FUSE filesystem (libfuse's low-level API) over
 * the job store and the coordinator.  Knows nothing of ROOT or sockets: it
 * asks the store and the coordinator for a snapshot and formats it.  The
 * user's view is docs/mount.md; the design is at the top of fs_main.c.
 *
 * Thread safety: fs_on_event() may be called from any thread, at any time
 * between fs_mount() and fs_unmount(); the other calls belong to the
 * thread that mounted. */
#ifndef ANAFS_FS_H
#define ANAFS_FS_H

#include "coord.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FS_MAX_QUERY (1u << 20) /* bytes a written query may hold (EFBIG past it) */
#define FS_MAX_DRAFTS 256       /* files being written at once: drafts and scratch files */
#define FS_MAX_NAME 200         /* bytes of NAME in jobs/NAME.query */

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
 * (call it before starting any thread).  It blocks SIGINT, SIGTERM and
 * SIGHUP in the calling thread, so that every thread started after it
 * leaves them to fs_loop().  *out: fs_unmount().  Returns 0 or a negative
 * errno with msg (cap bytes) saying why. */
int fs_mount(const struct fs_opts *o, struct fs_mount **out, char *msg, size_t cap);

/* The coordinator's on_event (struct coord_opts): ctx is the struct
 * fs_mount.  Only queues the event for the mount's notifier thread, so it
 * is safe under any lock of the caller's and returns at once. */
void fs_on_event(void *ctx, int64_t job, unsigned events);

/* Serve the mount until it is unmounted (fusermount3 -u) or the process
 * gets SIGINT, SIGTERM or SIGHUP; store and coordinator borrowed.  Before
 * it returns, every blocked read of a wait file is answered (the job's
 * status when it is over, EINTR otherwise) and the mount is unmounted.
 * Returns 0 or a negative errno. */
int fs_loop(struct fs_mount *m, struct store *st, struct coord *sc);

/* The signal that ended fs_loop(), or 0. */
int fs_stop_signal(const struct fs_mount *m);

/* Unmount if still mounted and free. */
void fs_unmount(struct fs_mount *m);

#endif
