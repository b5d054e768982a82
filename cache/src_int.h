/* src_int.h — what the byte-source transports share and nobody else sees:
 * the guard that lets a mapped file shrink under its readers without
 * bringing the process down (src_guard.c). */
#ifndef ANAFS_SRC_INT_H
#define ANAFS_SRC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Mappings registered at once, process-wide.  A file opened while every
 * slot is taken is read with pread(2) instead of being mapped. */
#define SRC_MAX_MAPPED 4096

/* Register the mapping of len bytes at start, so that an access to a page
 * of it that the file no longer holds reads zeros instead of raising
 * SIGBUS.  Installs the SIGBUS handler on first use.  Returns the slot, or
 * -1 when the registry is full or the handler could not be installed
 * (another one keeps it out): then do not read through the mapping. */
int src_guard_add(const void *start, size_t len);

/* Unregister slot (from src_guard_add()); call before munmap(), so that no
 * registered range is ever unmapped memory. */
void src_guard_remove(int slot);

/* Whether ANAFS_NO_MMAP=1 asks for no mapping at all (pread instead). */
bool src_no_mmap(void);

/* Whether an access to slot's mapping faulted since it was registered. */
bool src_guard_faulted(int slot);

/* Whether the calling thread was asked to stop (src_stop_when()). */
bool src_stopping(void);

/* ---- transports and the disk cache, as src.c dispatches to them ---- */

struct src;
struct src_info;

/* Whether url is read through the XRootD client: root:// or xroot://. */
bool src_is_xrd(const char *url);

/* src_xrd.c: a root:// source (no cache in front), what a URL is, and the
 * plain files of a remote folder (each() per entry, in the server's order,
 * with its name, not its URL).  Negative codes with msg naming the URL and
 * the server's reason. */
int src_xrd_open(const char *url, struct src **out, char *msg, size_t cap);
/* A root:// source of a file the server said has size bytes and mtime_ns
 * (seconds resolution): nothing is sent until its first read, which opens
 * the file and fails with ANA_ECHANGED when it is another one now. */
int src_xrd_open_known(const char *url, uint64_t size, int64_t mtime_ns, struct src **out,
		       char *msg, size_t cap);
int src_xrd_stat(const char *url, struct src_info *info, char *msg, size_t cap);
int src_xrd_list(const char *dir_url,
		 int (*each)(void *ctx, const char *name, const struct src_info *info), void *ctx,
		 char *msg, size_t cap);

/* dcache.c: the process's disk cache (NULL when it is off or could not be
 * opened: then remote sources are read directly), and inner put behind it
 * (inner is taken over, also on failure). */
struct dcache;
struct dcache *src_cache_default(void);
int dcache_wrap(struct dcache *c, struct src *inner, struct src **out, char *msg, size_t cap);

#endif
