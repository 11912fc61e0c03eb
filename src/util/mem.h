/*
 * mem.h -- two allocation habits written once: an array that grows by
 * doubling, and freeing a struct's buffers in one call.
 *
 *   nn_layer *l = samc_grow(net->layers, &net->cap_layers, net->n_layers + 1, sizeof *l, 16);
 *   if (!l) ...out of memory (net->layers and its capacity are untouched)...
 *   net->layers = l;
 *
 *   SAMC_FREE_ALL(o->g, o->gp, o->d);
 */
#ifndef SAMC_UTIL_MEM_H
#define SAMC_UTIL_MEM_H

#include <stddef.h>

/* p (an array of *cap items of elem bytes) with room for at least need
 * items: p itself when it has room, else p reallocated to the larger of
 * 2 * *cap and first (doubled until need fits), *cap updated.  NULL when out
 * of memory or on overflow: p is still valid and *cap unchanged. */
void *samc_grow(void *p, int *cap, int need, size_t elem, int first);

/* free() of each of n pointers (NULLs allowed). */
void samc_free_n(void *const *ptrs, size_t n);
#define SAMC_FREE_ALL(...)                                                     \
    samc_free_n((void *const[]){ __VA_ARGS__ },                                \
                sizeof((void *const[]){ __VA_ARGS__ }) / sizeof(void *))

#endif
