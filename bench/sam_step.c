/*
 * sam_step.c -- time one SAM step (two forward/backward passes and the
 * update) of a model at a batch size, on random data in memory.
 *
 *   bench/sam_step MODEL C H W K BATCH [ITERS] [OPT]
 * prints one line: "samc MODEL batch B: X ms/step, Y samples/s", and for a
 * network a second, "flops F per sample": the FLOPs of one SAM step's two
 * forward + backward passes per row (nn_net_flops: convolutions and linear
 * layers, 2 per multiply-add).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/model_internal.h"
#include "nn/nn.h"
#include "samc.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: %s MODEL C H W K BATCH [ITERS] [sgd|sam]\n", argv[0]);
        return 2;
    }
    const char *spec = argv[1];
    int C = atoi(argv[2]), H = atoi(argv[3]), W = atoi(argv[4]), K = atoi(argv[5]);
    size_t B = (size_t)atol(argv[6]);
    int iters = argc > 7 ? atoi(argv[7]) : 20;
    const char *opt = argc > 8 ? argv[8] : "sam";
    size_t d = (size_t)C * H * W;
    samc_dataset ds = { .n = B, .d = d, .n_classes = K, .channels = C, .height = H, .width = W };
    ds.x = malloc(B * d * sizeof(float));
    ds.y = malloc(B * sizeof(float));
    samc_rng r;
    samc_rng_seed(&r, 1);
    for (size_t i = 0; i < B * d; i++) ds.x[i] = (float)samc_rng_normal(&r);
    for (size_t i = 0; i < B; i++) ds.y[i] = (float)samc_rng_below(&r, (uint64_t)K);
    samc_errbuf err;
    samc_model *m;
    if (samc_model_create_for(&m, spec, &ds, 0.0, 1, err) != SAMC_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    samc_model_batch batch = { .model = m, .ds = &ds, .nb = ds.n, .scale = 1.0 };
    samc_oracle orc = samc_model_oracle(&batch);
    float *x = malloc(orc.n * sizeof(float));
    samc_model_init_params(m, x, &r);
    samc_optim_params p = samc_optim_default_params();
    p.kind = strcmp(opt, "sgd") ? SAMC_OPT_SAM : SAMC_OPT_SGD;
    samc_optim *o;
    samc_optim_init(&o, orc.n, &p, err);
    for (int i = 0; i < 3; i++) samc_optim_step(o, &orc, x, 0.01, 0.05, NULL);  /* warm-up */
    double t0 = now();
    for (int i = 0; i < iters; i++) samc_optim_step(o, &orc, x, 0.01, 0.05, NULL);
    double ms = (now() - t0) / iters * 1e3;
    printf("samc %s %s batch %zu: %.3f ms/step, %.1f samples/s\n", opt, spec, B, ms, B / ms * 1e3);
    if (m->ops->kind == SAMC_MODEL_NET)
        printf("flops %.0f per sample\n", 2.0 * nn_net_flops(m->priv, 1));
    samc_optim_free(o);
    samc_model_free(m);
    free(x);
    free(ds.x);
    free(ds.y);
    return 0;
}
