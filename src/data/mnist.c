/*
 * mnist.c -- the specs fashion-mnist and mnist: the four IDX files (idx.c)
 * of a directory, train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
 * t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz, in the directory
 * of samc_data_options.data_dir or by default where the Debian package
 * dataset-fashion-mnist puts them (mnist: a directory of the same layout).
 */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
#define MNIST_DIR "/usr/share/datasets/mnist"

static samc_status missing_dir(int fashion, const char *dir, char *err)
{
    if (fashion)
        return samc_errf(err, SAMC_EIO,
                         "fashion-mnist: data directory %.300s not found; install the package "
                         "`dataset-fashion-mnist` (apt-get install dataset-fashion-mnist) or "
                         "pass --data-dir",
                         dir);
    return samc_errf(err, SAMC_EIO,
                     "mnist: data directory %.300s not found; put train-images-idx3-ubyte.gz, "
                     "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
                     "t10k-labels-idx1-ubyte.gz there or pass --data-dir",
                     dir);
}

/* The four files of dir into paths[] (malloc'd). */
static samc_status join_paths(const char *dir, char **paths, char *err)
{
    static const char *names[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                   "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    size_t dlen = strlen(dir);
    for (int i = 0; i < 4; i++) {
        size_t len = dlen + 1 + strlen(names[i]) + 1;
        paths[i] = malloc(len);
        SAMC_CHECK(paths[i], SAMC_ENOMEM, "out of memory");
        snprintf(paths[i], len, "%s/%s", dir, names[i]);
    }
    return SAMC_OK;
}

static samc_status load_dir(samc_data_source *src, int fashion, char *err)
{
    samc_data *data = src->data;
    const char *dir = src->opt->data_dir;
    if (!dir || !*dir) dir = fashion ? FASHION_MNIST_DIR : MNIST_DIR;
    if (!samc_data_is_dir(dir)) return missing_dir(fashion, dir, err);
    char *paths[4] = {NULL};
    samc_status st = join_paths(dir, paths, err);
    if (st == SAMC_OK) st = samc_read_idx(&data->train, paths[0], paths[1], err);
    if (st == SAMC_OK) st = samc_read_idx(&data->test, paths[2], paths[3], err);
    if (st == SAMC_OK && (data->test.height != data->train.height ||
                          data->test.width != data->train.width))
        st = samc_errf(err, SAMC_EFORMAT, "%s: images are %dx%d, but the training images are %dx%d",
                       paths[2], data->test.height, data->test.width, data->train.height,
                       data->train.width);
    if (st == SAMC_OK) {
        snprintf(src->test_path, sizeof src->test_path, "%s", paths[3]);
        snprintf(data->name, sizeof data->name, "%s", fashion ? "fashion-mnist" : "mnist");
    }
    for (int i = 0; i < 4; i++) free(paths[i]);
    return st;
}

static samc_status fashion_load(samc_data_source *src, char *err) { return load_dir(src, 1, err); }

static samc_status mnist_load(samc_data_source *src, char *err) { return load_dir(src, 0, err); }

const samc_data_reader samc_reader_fashion_mnist = {"fashion-mnist", 1, "fashion-mnist",
                                                    fashion_load};
const samc_data_reader samc_reader_mnist = {"mnist", 1, "mnist", mnist_load};
