/*
 * sparse_load.c -- `make bench` (bench/sparse.sh): the time samc_read_libsvm
 * takes on a file (best of REPEATS), the rows, nonzeros and bytes of the
 * CSR arrays it holds, and the process's peak resident memory.
 *
 *   sparse_load FILE [REPEATS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "samc.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sparse_load FILE [REPEATS]\n");
        return 2;
    }
    const int reps = argc > 2 ? atoi(argv[2]) : 3;
    double best = 1e30;
    samc_dataset ds = {0};
    for (int k = 0; k < (reps > 0 ? reps : 1); k++) {
        samc_dataset_free(&ds);
        samc_errbuf err;
        const double t0 = samc_now_s();
        if (samc_read_libsvm(&ds, argv[1], 0, err) != SAMC_OK) {
            fprintf(stderr, "sparse_load: %s\n", err);
            return 1;
        }
        const double t = samc_now_s() - t0;
        if (t < best) best = t;
    }
    const size_t nnz = samc_dataset_nnz(&ds);
    const size_t bytes = nnz * (sizeof(float) + (ds.col32 ? 4 : 8)) + (ds.n + 1) * sizeof(size_t) +
                         ds.n * sizeof(float);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("load %.4f s rows %zu features %zu nnz %zu csr_bytes %zu maxrss_kb %ld\n", best, ds.n, ds.d, nnz,
           bytes, ru.ru_maxrss);
    samc_dataset_free(&ds);
    return 0;
}
