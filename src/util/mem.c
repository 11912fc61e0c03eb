/*
 * mem.c -- samc_grow and samc_free_n (util/mem.h).
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/mem.h"

void *samc_grow(void *p, int *cap, int need, size_t elem, int first)
{
    if (need <= *cap) return p;
    long long c = *cap > 0 ? *cap : (first > 0 ? first : 1);
    while (c < need) c *= 2;
    if (c > INT_MAX || (size_t)c > SIZE_MAX / elem) return NULL;
    void *q = realloc(p, (size_t)c * elem);
    if (!q) return NULL;
    *cap = (int)c;
    return q;
}

void samc_free_n(void *const *ptrs, size_t n)
{
    for (size_t i = 0; i < n; i++) free(ptrs[i]);
}
