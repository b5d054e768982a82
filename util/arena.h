/* arena.h — a bump allocator: everything a parsed file or query describes
 * lives in one arena and is released at once.  Not thread-safe. */
#ifndef ANAFS_ARENA_H
#define ANAFS_ARENA_H

#include <stddef.h>

struct arena;

struct arena *arena_new(void);          /* NULL on ENOMEM */
void arena_free(struct arena *a);       /* NULL allowed */
void *arena_alloc(struct arena *a, size_t n); /* zeroed, 16-aligned; NULL on ENOMEM */
char *arena_strndup(struct arena *a, const char *s, size_t n);

#endif
