/* xrd_api.h — what the XRootD module (anafs-xrd.so, built from xrd.cc)
 * hands the program that loads it (xrd_load.c): the calls of xrd.h as a
 * table, behind the one exported symbol XRD_API_SYMBOL.
 *
 * A module of another build may be found (an installed one beside a
 * build tree): the loader takes it only when version and size match. */
#ifndef ANAFS_XRD_API_H
#define ANAFS_XRD_API_H

#include "xrd.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XRD_API_VERSION 1u
#define XRD_API_SYMBOL "anafs_xrd_api"

struct xrd_api {
	unsigned version;
	size_t size; /* sizeof(struct xrd_api) */
	bool (*transient)(int rc);
	int (*open)(const char *url, unsigned timeout_s, struct xrd_file **out, char *msg,
		    size_t cap);
	int (*fstat)(struct xrd_file *f, unsigned timeout_s, struct xrd_info *info, char *msg,
		     size_t cap);
	int (*stat)(const char *url, unsigned timeout_s, struct xrd_info *info, char *msg,
		    size_t cap);
	ssize_t (*read)(struct xrd_file *f, void *buf, uint32_t len, uint64_t off,
			unsigned timeout_s, char *msg, size_t cap);
	int (*readv)(struct xrd_file *f, const struct xrd_chunk *c, size_t n, unsigned timeout_s,
		     char *msg, size_t cap);
	int (*dirlist)(const char *url, unsigned timeout_s,
		       int (*each)(void *ctx, const char *name, const struct xrd_info *info),
		       void *ctx, char *msg, size_t cap);
	void (*close)(struct xrd_file *f, unsigned timeout_s);
};

const struct xrd_api *anafs_xrd_api(void);

#ifdef __cplusplus
}
#endif

#endif
