/*
 * augment.c -- data augmentation of image rows (CHW floats): the standard
 * CIFAR recipe of a random crop of the zero-padded image followed by a random
 * horizontal flip.  All randomness comes from the caller's samc_rng, in a
 * fixed order per image (oy, ox, flip coin), so a seeded run repeats exactly.
 */
#include <string.h>

#include "samc.h"

void samc_augment_crop_flip(const samc_dataset *shape_of, const float *in, float *out,
                            size_t nb, int pad, int flip, samc_rng *rng)
{
    if (!shape_of || !in || !out || nb == 0) return;
    size_t d = shape_of->d;
    if (pad < 0) pad = 0;
    int C = shape_of->channels, H = shape_of->height, W = shape_of->width;
    int image = C > 0 && H > 0 && W > 0 && (size_t)C * (size_t)H * (size_t)W == d;
    if (!image || (pad == 0 && !flip) || !rng) {
        memmove(out, in, nb * d * sizeof(float));
        return;
    }
    size_t plane = (size_t)H * (size_t)W;
    for (size_t r = 0; r < nb; r++) {
        const float *src = in + r * d;
        float *dst = out + r * d;
        /* out(c,y,x) = padded(c, y+oy, x+ox) = in(c, y+dy, x+dx), dy = oy - pad */
        int dy = 0, dx = 0, mirror = 0;
        if (pad > 0) {
            dy = (int)samc_rng_below(rng, 2 * (uint64_t)pad + 1) - pad;
            dx = (int)samc_rng_below(rng, 2 * (uint64_t)pad + 1) - pad;
        }
        if (flip) mirror = (int)samc_rng_below(rng, 2);
        for (int c = 0; c < C; c++) {
            const float *sp = src + (size_t)c * plane;
            float *dp = dst + (size_t)c * plane;
            for (int y = 0; y < H; y++) {
                int sy = y + dy;
                float *drow = dp + (size_t)y * W;
                if (sy < 0 || sy >= H) {
                    memset(drow, 0, (size_t)W * sizeof(float));
                    continue;
                }
                const float *srow = sp + (size_t)sy * W;
                for (int x = 0; x < W; x++) {
                    int cx = mirror ? W - 1 - x : x; /* column of the crop */
                    int sx = cx + dx;
                    drow[x] = (sx >= 0 && sx < W) ? srow[sx] : 0.0f;
                }
            }
        }
    }
}
