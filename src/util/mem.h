/*
 * mem.h -- two allocation habits written once: an array that grows by
 * doubling, and freeing a struct's buffers in one call.
 *
 *   if (!samc_grow((void **)&net->layers, &net->cap_layers, net->n_layers + 1, sizeof *net->layers))
 *       ...out of memory (net->layers and its capacity are untouched)...
 *
 *   SAMC_FREE_ALL(o->g, o->gp, o->d);
 */
#ifndef SAMC_UTIL_MEM_H
#define SAMC_UTIL_MEM_H

#include <stddef.h>

/* Grows the array *p (items of elem bytes, capacity *cap, doubling from
 * 64) to hold at least need items.  1 on success; 0 when out of memory or
 * on overflow (*p and *cap unchanged). */
int samc_grow(void **p, size_t *cap, size_t need, size_t elem);

/* free() of each of n pointers (NULLs allowed). */
void samc_free_n(void *const *ptrs, size_t n);
#define SAMC_FREE_ALL(...)                                                     \
    samc_free_n((void *const[]){ __VA_ARGS__ },                                \
                sizeof((void *const[]){ __VA_ARGS__ }) / sizeof(void *))

#endif
