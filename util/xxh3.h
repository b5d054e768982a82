/* xxh3.h — XXH3 as libxxhash's x86 dispatch computes it: the same hashes,
 * on AVX2 or AVX-512 where the CPU has them.  The library's plain entry
 * points use SSE2 only (the x86-64 baseline it is built for), at about
 * half the speed on the blocks and cached columns checked on every read.
 * Include this instead of <xxhash.h>; the target must link libxxhash. */
#ifndef ANAFS_XXH3_H
#define ANAFS_XXH3_H

#include <xxhash.h>
#if defined(__x86_64__)
#include <xxh_x86dispatch.h>
#endif

#endif
