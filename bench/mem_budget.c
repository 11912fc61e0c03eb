/*
 * mem_budget.c -- the memory a training run needs at least, to hold the
 * peak resident size of `samc train` against: parameters (x and the
 * optimizer's vectors: the two gradients, the perturbation, x + d, and the
 * momentum buffer if any), the BatchNorm buffers, the activations of one batch and their gradients, and
 * the data (training and test rows as floats, and their labels).
 *
 *   bench/mem_budget MODEL C H W K N_TRAIN N_TEST BATCH [MOMENTUM]
 * prints "budget B bytes: params P, activations A, data D" (bytes).
 * The activations per row come from samc_model_row_floats.
 */
#include <stdio.h>
#include <stdlib.h>

#include "samc.h"

int main(int argc, char **argv)
{
    if (argc < 9) {
        fprintf(stderr, "usage: %s MODEL C H W K N_TRAIN N_TEST BATCH [MOMENTUM]\n", argv[0]);
        return 2;
    }
    const int C = atoi(argv[2]), H = atoi(argv[3]), W = atoi(argv[4]), K = atoi(argv[5]);
    const double n = atof(argv[6]) + atof(argv[7]), B = atof(argv[8]);
    const int momentum = argc > 9 && atof(argv[9]) > 0.0;
    const size_t d = (size_t)C * H * W;
    samc_dataset shape = { .n = 1, .d = d, .n_classes = K, .channels = C, .height = H,
                           .width = W };
    samc_model *m;
    samc_errbuf err;
    if (samc_model_create_for(&m, argv[1], &shape, 0.0, 1, err) != SAMC_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const double np = (double)samc_model_n_params(m), nbuf = (double)samc_model_n_buffers(m);
    /* per row: every tensor of the model, and its gradient */
    const double row = (double)samc_model_row_floats(m);
    const double params = 4.0 * (np * (5 + momentum) + nbuf);
    const double acts = 4.0 * 2.0 * B * row;
    const double data = 4.0 * n * ((double)d + 1.0);
    printf("budget %.0f bytes: params %.0f, activations %.0f, data %.0f\n",
           params + acts + data, params, acts, data);
    samc_model_free(m);
    return 0;
}
