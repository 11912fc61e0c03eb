/*
 * rng.c -- xoshiro256** (Blackman & Vigna 2018), seeded by splitmix64.
 * The state is explicit (samc_rng) so a checkpoint can restore a stream.
 */
#include <math.h>

#include "samc.h"

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void samc_rng_seed(samc_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t samc_rng_next(samc_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double samc_rng_uniform(samc_rng *r)
{
    return (double)(samc_rng_next(r) >> 11) * 0x1.0p-53;
}

double samc_rng_normal(samc_rng *r)
{
    /* Box-Muller; one of the pair is dropped so the state alone defines the
     * stream (no cached second value to checkpoint). */
    double u1 = 1.0 - samc_rng_uniform(r); /* (0, 1] */
    double u2 = samc_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t samc_rng_below(samc_rng *r, uint64_t n)
{
    /* Lemire's rejection on the high product would need 128-bit types; plain
     * rejection of the biased tail is portable C11. */
    if (n == 0) return 0;
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do v = samc_rng_next(r); while (v >= lim);
    return v % n;
}

void samc_rng_shuffle(samc_rng *r, size_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)samc_rng_below(r, i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
