/*
 * mem.c -- samc_grow and samc_free_n (util/mem.h).
 */
#include <stdint.h>
#include <stdlib.h>

#include "util/mem.h"

int samc_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 1;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) return 0;
        nc *= 2;
    }
    if (elem && nc > SIZE_MAX / elem) return 0;
    void *q = realloc(*p, nc * elem);
    if (!q) return 0;
    *p = q;
    *cap = nc;
    return 1;
}

void samc_free_n(void *const *ptrs, size_t n)
{
    for (size_t i = 0; i < n; i++) free(ptrs[i]);
}
