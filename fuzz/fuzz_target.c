/*
 * fuzz/fuzz_target.c -- the libFuzzer entry point, built once per target with
 * -DFUZZ_NAME=<name> (libsvm, csv, idx, cifar10, cifar100, npy, ckpt, dataspec,
 * schedule): it calls fuzz_<name> of fuzz/targets.h.  See fuzz/README.md.
 */
#include "targets.h"

#define FUZZ_CAT_(a, b) a##b
#define FUZZ_CAT(a, b) FUZZ_CAT_(a, b)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)FUZZ_CAT(fuzz_, FUZZ_NAME)(data, size);
    return 0;
}
