/*
 * test_data_images.c -- tests of the image data readers of samc.h section 6:
 * IDX (plain and gzip; exact round trips, every kind of corrupt file), the
 * real Fashion-MNIST when installed, CIFAR-10 binary batches (CHW order, bad
 * sizes and labels), NumPy .npy (each dtype, shape and format version;
 * rejections), the options of samc_data_load_ex (validation split,
 * standardization with train statistics) and samc_augment_crop_flip.
 * Files are written by hand into a fresh temporary directory per test.
 */
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "testutil.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* ------------------------------------------------------------------ helpers */

static void make_dir(char *dir) /* dir: 64 bytes */
{
    strcpy(dir, "/tmp/samc_test_img_XXXXXX");
    assert_non_null(mkdtemp(dir));
}

/* Remove the files of dir, then dir. */
static void remove_dir(const char *dir)
{
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    struct dirent *e;
    char p[512];
    while ((e = readdir(dp)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(dp);
    assert_int_equal(rmdir(dir), 0);
}

static void join(char *out, const char *dir, const char *name)
{
    snprintf(out, 256, "%s/%s", dir, name);
}

/* Write len bytes to path, gzip-compressed if gz. */
static void write_file(const char *path, const void *buf, size_t len, int gz)
{
    if (gz) {
        gzFile g = gzopen(path, "wb");
        assert_non_null(g);
        if (len) assert_int_equal(gzwrite(g, buf, (unsigned)len), (int)len);
        assert_int_equal(gzclose(g), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        if (len) assert_int_equal(fwrite(buf, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
}

static long file_size(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return (long)sb.st_size;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An IDX images file image: magic, dims n, H, W, then pix (n*H*W bytes). */
static size_t idx_images(unsigned char *buf, uint32_t magic, uint32_t n, uint32_t H,
                         uint32_t W, const unsigned char *pix)
{
    put_be32(buf, magic);
    put_be32(buf + 4, n);
    put_be32(buf + 8, H);
    put_be32(buf + 12, W);
    size_t len = (size_t)n * H * W;
    if (pix) memcpy(buf + 16, pix, len);
    return 16 + (pix ? len : 0);
}

static size_t idx_labels(unsigned char *buf, uint32_t n, const unsigned char *lab)
{
    put_be32(buf, 0x801);
    put_be32(buf + 4, n);
    memcpy(buf + 8, lab, n);
    return 8 + n;
}

/* The pixel bytes of the small IDX sets: include 0 and 255. */
static void fill_pixels(unsigned char *pix, size_t len, unsigned salt)
{
    for (size_t i = 0; i < len; i++) pix[i] = (unsigned char)((i * 37 + salt * 11) % 256);
    pix[0] = 0;
    pix[len - 1] = 255;
}

static void assert_floats(const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("element %zu: %.9g, expected %.9g", i, (double)got[i],
                     (double)want[i]);
}

/* err contains every non-NULL string of want. */
static void assert_msg(const char *err, const char *a, const char *b)
{
    if (a && !strstr(err, a)) fail_msg("message '%s' does not contain '%s'", err, a);
    if (b && !strstr(err, b)) fail_msg("message '%s' does not contain '%s'", err, b);
    if (strchr(err, '\n')) fail_msg("message '%s' is not one line", err);
}

static void assert_empty(const samc_dataset *ds)
{
    assert_null(ds->x);
    assert_null(ds->y);
    assert_null(ds->labels);
    assert_int_equal(ds->n, 0);
}

static void assert_data_empty(const samc_data *d)
{
    assert_empty(&d->train);
    assert_empty(&d->test);
    assert_empty(&d->val);
}

/* Expect samc_read_idx(images, labels) to fail with st, naming `names`. */
static void expect_idx_error(const char *images, const char *labels, samc_status st,
                             const char *names, const char *what)
{
    samc_dataset ds;
    samc_errbuf err = "";
    samc_status got = samc_read_idx(&ds, images, labels, err);
    if (got != st) fail_msg("%s: status %d (%s), expected %d", images, (int)got, err, (int)st);
    assert_msg(err, names, what);
    assert_empty(&ds);
}

/* ------------------------------------------------------------------ IDX */

/* Write a 3-image 2x4 set (plain or gz) as dir/NAME-images, dir/NAME-labels. */
static void write_small_idx(const char *dir, const char *name, int gz, unsigned salt,
                            const unsigned char *lab, char *ip, char *lp,
                            unsigned char *pix_out)
{
    unsigned char buf[256], pix[24];
    fill_pixels(pix, sizeof pix, salt);
    if (pix_out) memcpy(pix_out, pix, sizeof pix);
    char n1[64], n2[64];
    snprintf(n1, sizeof n1, "%s-images%s", name, gz ? ".gz" : "");
    snprintf(n2, sizeof n2, "%s-labels%s", name, gz ? ".gz" : "");
    join(ip, dir, n1);
    join(lp, dir, n2);
    write_file(ip, buf, idx_images(buf, 0x803, 3, 2, 4, pix), gz);
    write_file(lp, buf, idx_labels(buf, 3, lab), gz);
}

static void test_idx_plain_and_gzip_exact(void **state)
{
    (void)state;
    char dir[64], ip[256], lp[256];
    make_dir(dir);
    const unsigned char lab[3] = {7, 0, 255};
    for (int gz = 0; gz <= 1; gz++) {
        unsigned char pix[24];
        write_small_idx(dir, gz ? "g" : "p", gz, 1, lab, ip, lp, pix);
        samc_dataset ds;
        samc_errbuf err = "";
        assert_int_equal(samc_read_idx(&ds, ip, lp, err), SAMC_OK);
        assert_int_equal(ds.n, 3);
        assert_int_equal(ds.d, 8);
        assert_int_equal(ds.channels, 1);
        assert_int_equal(ds.height, 2);
        assert_int_equal(ds.width, 4);
        float want[24];
        for (int i = 0; i < 24; i++) want[i] = (float)pix[i] / 255.0f;
        assert_floats(ds.x, want, 24);
        assert_true(ds.x[0] == 0.0f && ds.x[23] == 1.0f);
        const float y[3] = {7, 0, 255};
        assert_floats(ds.y, y, 3);
        samc_dataset_free(&ds);
    }

    /* the idx: spec with a test pair, one gz and one plain */
    char tip[256], tlp[256], spec[1200];
    const unsigned char tlab[3] = {0, 0, 7};
    unsigned char tpix[24];
    write_small_idx(dir, "t", 0, 5, tlab, tip, tlp, tpix);
    write_small_idx(dir, "g", 1, 1, lab, ip, lp, NULL);
    snprintf(spec, sizeof spec, "idx:%s,%s,%s,%s", ip, lp, tip, tlp);
    samc_data data;
    samc_errbuf err = "";
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_OK);
    assert_int_equal(data.train.n, 3);
    assert_int_equal(data.test.n, 3);
    assert_int_equal(data.val.n, 0);
    assert_int_equal(data.train.n_classes, 3); /* 0, 7, 255 -> 0, 1, 2 */
    const float ty[3] = {0, 0, 1};
    assert_floats(data.test.y, ty, 3);
    assert_true(data.test.x[5] == (float)tpix[5] / 255.0f);
    for (int k = 0; k < 2; k++) { /* shape kept through load */
        const samc_dataset *s = k ? &data.test : &data.train;
        assert_int_equal(s->channels, 1);
        assert_int_equal(s->height, 2);
        assert_int_equal(s->width, 4);
        assert_int_equal(s->d, 8);
    }
    assert_non_null(strstr(data.name, "idx"));
    samc_data_free(&data);
    assert_data_empty(&data);

    /* wrong number of files */
    snprintf(spec, sizeof spec, "idx:%s,%s,%s", ip, lp, tip);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_EINVAL);
    assert_data_empty(&data);
    snprintf(spec, sizeof spec, "idx:%s", ip);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_EINVAL);
    remove_dir(dir);
}

static void test_idx_corrupt(void **state)
{
    (void)state;
    char dir[64], ip[256], lp[256], p[256];
    make_dir(dir);
    const unsigned char lab[3] = {1, 2, 3};
    write_small_idx(dir, "ok", 0, 2, lab, ip, lp, NULL);
    unsigned char buf[256], pix[24];
    fill_pixels(pix, sizeof pix, 3);

    /* bad magic: a labels file as images, and garbage */
    expect_idx_error(lp, lp, SAMC_EFORMAT, lp, "magic");
    join(p, dir, "magic.gz");
    write_file(p, buf, idx_images(buf, 0x12345678, 3, 2, 4, pix), 1);
    expect_idx_error(p, lp, SAMC_EFORMAT, p, "0x12345678");
    expect_idx_error(ip, ip, SAMC_EFORMAT, ip, "magic"); /* images as labels */

    /* wrong dims: zero, too large */
    const uint32_t dims[][3] = {{0, 2, 4}, {3, 0, 4}, {3, 2, 0}, {3, 5000, 4},
                                {3, 2, 4097}, {200000000u, 1, 1}};
    for (size_t k = 0; k < sizeof dims / sizeof *dims; k++) {
        join(p, dir, "dims");
        write_file(p, buf, idx_images(buf, 0x803, dims[k][0], dims[k][1], dims[k][2], NULL),
                   0);
        expect_idx_error(p, lp, SAMC_EFORMAT, p, "dimension");
    }

    /* truncated plain file: 20 of 24 pixel bytes */
    join(p, dir, "short");
    write_file(p, buf, idx_images(buf, 0x803, 3, 2, 4, pix) - 4, 0);
    expect_idx_error(p, lp, SAMC_EFORMAT, p, "truncated: expected 24 bytes of pixels, got 20");
    /* a header cut short */
    write_file(p, buf, 10, 0);
    expect_idx_error(p, lp, SAMC_EFORMAT, p, "truncated");
    write_file(p, buf, 0, 0);
    expect_idx_error(p, lp, SAMC_EFORMAT, p, "truncated");

    /* trailing bytes, plain and gzip */
    size_t len = idx_images(buf, 0x803, 3, 2, 4, pix);
    buf[len] = 9;
    join(p, dir, "trail");
    write_file(p, buf, len + 1, 0);
    expect_idx_error(p, lp, SAMC_EFORMAT, p, "trailing");
    join(p, dir, "trail.gz");
    write_file(p, buf, len + 1, 1);
    expect_idx_error(p, lp, SAMC_EFORMAT, p, "trailing");

    /* truncated gzip streams: a larger images file cut at several points */
    enum { N = 50, H = 12, W = 12 };
    unsigned char *big = malloc(16 + N * H * W);
    unsigned char *rnd = malloc(N * H * W);
    assert_non_null(big);
    assert_non_null(rnd);
    uint64_t s = 12345;
    for (size_t i = 0; i < N * H * W; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        rnd[i] = (unsigned char)(s >> 56);
    }
    char full[256], cut[256], labp[256];
    join(full, dir, "big.gz");
    join(cut, dir, "cut.gz");
    join(labp, dir, "biglab");
    write_file(full, big, idx_images(big, 0x803, N, H, W, rnd), 1);
    unsigned char lab50[N];
    memset(lab50, 1, sizeof lab50);
    write_file(labp, buf, idx_labels(buf, N, lab50), 0);
    samc_dataset ds;
    samc_errbuf err = "";
    assert_int_equal(samc_read_idx(&ds, full, labp, err), SAMC_OK); /* the uncut file */
    assert_int_equal(ds.n, N);
    samc_dataset_free(&ds);
    long fsz = file_size(full);
    const long cuts[] = {fsz - 1, fsz - 4, fsz - 8, fsz - 9, fsz / 2, 30, 12};
    FILE *f = fopen(full, "rb");
    assert_non_null(f);
    unsigned char *gzbytes = malloc((size_t)fsz);
    assert_non_null(gzbytes);
    assert_int_equal(fread(gzbytes, 1, (size_t)fsz, f), (size_t)fsz);
    fclose(f);
    for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
        write_file(cut, gzbytes, (size_t)cuts[k], 0);
        samc_dataset c;
        err[0] = '\0';
        samc_status st = samc_read_idx(&c, cut, labp, err);
        if (st == SAMC_OK) fail_msg("gzip cut at %ld of %ld bytes was accepted", cuts[k], fsz);
        assert_msg(err, cut, NULL);
        assert_empty(&c);
    }
    free(gzbytes);
    free(big);
    free(rnd);

    /* count mismatch: 4 labels for 3 images; named file is the labels file */
    unsigned char lab4[4] = {1, 2, 3, 4};
    join(p, dir, "lab4");
    write_file(p, buf, idx_labels(buf, 4, lab4), 0);
    expect_idx_error(ip, p, SAMC_EFORMAT, p, ip);
    /* truncated labels */
    write_file(p, buf, idx_labels(buf, 3, lab4) - 1, 0);
    expect_idx_error(ip, p, SAMC_EFORMAT, p, "truncated");

    /* missing file */
    join(p, dir, "nope");
    expect_idx_error(p, lp, SAMC_EIO, p, "cannot open");
    expect_idx_error(ip, p, SAMC_EIO, p, "cannot open");

    /* through samc_data_load: nothing returned */
    char spec[600];
    snprintf(spec, sizeof spec, "idx:%s,%s", ip, p);
    samc_data data;
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_EIO);
    assert_msg(err, p, NULL);
    assert_data_empty(&data);
    remove_dir(dir);
}

/* ------------------------------------------------------ Fashion-MNIST */

static void test_fashion_mnist_real(void **state)
{
    (void)state;
    struct stat sb;
    if (stat(FASHION_DIR, &sb) != 0) skip();
    samc_data data;
    samc_errbuf err = "";
    if (samc_data_load(&data, "fashion-mnist", err) != SAMC_OK) fail_msg("%s", err);
    assert_int_equal(data.train.n, 60000);
    assert_int_equal(data.test.n, 10000);
    assert_int_equal(data.val.n, 0);
    for (int k = 0; k < 2; k++) {
        const samc_dataset *s = k ? &data.test : &data.train;
        assert_int_equal(s->d, 784);
        assert_int_equal(s->channels, 1);
        assert_int_equal(s->height, 28);
        assert_int_equal(s->width, 28);
        assert_int_equal(s->n_classes, 10);
        for (int c = 0; c < 10; c++) assert_true(s->labels[c] == c);
        float lo = 1, hi = 0;
        size_t per[10] = {0};
        for (size_t i = 0; i < s->n * s->d; i++) {
            if (s->x[i] < lo) lo = s->x[i];
            if (s->x[i] > hi) hi = s->x[i];
        }
        assert_true(lo == 0.0f && hi == 1.0f);
        for (size_t i = 0; i < s->n; i++) {
            assert_true(s->y[i] >= 0 && s->y[i] <= 9 && s->y[i] == (int)s->y[i]);
            per[(int)s->y[i]]++;
        }
        for (int c = 0; c < 10; c++) assert_int_equal(per[c], s->n / 10); /* balanced */
    }
    assert_string_equal(data.name, "fashion-mnist");
    samc_data_free(&data);
}

static void test_mnist_dirs(void **state)
{
    (void)state;
    samc_data data;
    samc_errbuf err = "";
    samc_data_options o = samc_data_default_options();
    assert_null(o.data_dir);
    assert_int_equal(o.val, 0);
    assert_int_equal(o.test_rows, 0);
    assert_int_equal(o.normalize, 0);

    o.data_dir = "/nonexistent/samc-fmnist";
    assert_int_equal(samc_data_load_ex(&data, "fashion-mnist", &o, err), SAMC_EIO);
    assert_msg(err, "dataset-fashion-mnist", "--data-dir");
    assert_msg(err, "/nonexistent/samc-fmnist", NULL);
    assert_data_empty(&data);
    assert_int_equal(samc_data_load_ex(&data, "mnist", &o, err), SAMC_EIO);
    assert_msg(err, "--data-dir", "/nonexistent/samc-fmnist");

    /* a data directory with small files under the Fashion-MNIST names */
    char dir[64], p[256], q[256];
    make_dir(dir);
    unsigned char buf[256], pix[24];
    fill_pixels(pix, 24, 4);
    const unsigned char lab[3] = {2, 1, 2};
    join(p, dir, "train-images-idx3-ubyte.gz");
    write_file(p, buf, idx_images(buf, 0x803, 3, 2, 4, pix), 1);
    join(p, dir, "train-labels-idx1-ubyte.gz");
    write_file(p, buf, idx_labels(buf, 3, lab), 1);
    join(p, dir, "t10k-images-idx3-ubyte.gz");
    write_file(p, buf, idx_images(buf, 0x803, 3, 2, 4, pix), 1);
    join(q, dir, "t10k-labels-idx1-ubyte.gz");
    const unsigned char tlab[3] = {5, 1, 2}; /* 5: unseen in training */
    write_file(q, buf, idx_labels(buf, 3, tlab), 1);
    o.data_dir = dir;
    assert_int_equal(samc_data_load_ex(&data, "fashion-mnist", &o, err), SAMC_EFORMAT);
    assert_msg(err, q, "label 5");
    assert_data_empty(&data);
    write_file(q, buf, idx_labels(buf, 3, lab), 1);
    assert_int_equal(samc_data_load_ex(&data, "mnist", &o, err), SAMC_OK);
    assert_int_equal(data.train.n, 3);
    assert_int_equal(data.test.n, 3);
    assert_int_equal(data.train.n_classes, 2);
    assert_true(data.train.x[23] == 1.0f);
    assert_string_equal(data.name, "mnist");
    samc_data_free(&data);
    /* a missing file of the four is named */
    unlink(q);
    assert_int_equal(samc_data_load_ex(&data, "fashion-mnist", &o, err), SAMC_EIO);
    assert_msg(err, q, NULL);
    assert_data_empty(&data);
    /* "mnist" takes no argument */
    assert_int_equal(samc_data_load(&data, "mnist:foo", err), SAMC_EINVAL);
    remove_dir(dir);
}

/* ---------------------------------------------------------------- CIFAR */

static unsigned char cifar_pixel(size_t rec, int c, int y, int x)
{
    return (unsigned char)((rec * 31 + (size_t)c * 101 + (size_t)y * 7 + (size_t)x * 3) % 256);
}

/* Write the 6 batch files, 2 records each; record r (global, train 0..9, test
 * 10..11) has label lab[r]. */
static void write_cifar(const char *dir, const unsigned char *lab)
{
    unsigned char rec[2 * 3073];
    char p[256];
    for (int file = 0; file < 6; file++) {
        for (int k = 0; k < 2; k++) {
            size_t r = (size_t)file * 2 + (size_t)k;
            unsigned char *b = rec + k * 3073;
            b[0] = lab[r];
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++)
                        b[1 + c * 1024 + y * 32 + x] = cifar_pixel(r, c, y, x);
        }
        char name[64];
        if (file < 5) snprintf(name, sizeof name, "data_batch_%d.bin", file + 1);
        else snprintf(name, sizeof name, "test_batch.bin");
        join(p, dir, name);
        write_file(p, rec, sizeof rec, 0);
    }
}

static void test_cifar(void **state)
{
    (void)state;
    char dir[64], p[256], spec[128];
    make_dir(dir);
    const unsigned char lab[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 3};
    write_cifar(dir, lab);
    samc_data data;
    samc_errbuf err = "";
    snprintf(spec, sizeof spec, "cifar10:%s", dir);
    if (samc_data_load(&data, spec, err) != SAMC_OK) fail_msg("%s", err);
    assert_int_equal(data.train.n, 10);
    assert_int_equal(data.test.n, 2);
    for (int k = 0; k < 2; k++) {
        const samc_dataset *s = k ? &data.test : &data.train;
        assert_int_equal(s->d, 3072);
        assert_int_equal(s->channels, 3);
        assert_int_equal(s->height, 32);
        assert_int_equal(s->width, 32);
        for (size_t i = 0; i < s->n; i++) {
            size_t r = i + (k ? 10 : 0);
            assert_true(s->y[i] == lab[r]); /* 0..9 all present: identity */
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++) {
                        float v = s->x[i * 3072 + (size_t)c * 1024 + (size_t)y * 32 + (size_t)x];
                        if (v != (float)cifar_pixel(r, c, y, x) / 255.0f)
                            fail_msg("record %zu pixel (%d,%d,%d): %g", r, c, y, x, (double)v);
                    }
        }
    }
    assert_int_equal(data.train.n_classes, 10);
    samc_data_free(&data);

    /* the reader alone */
    samc_dataset ds;
    assert_int_equal(samc_read_cifar10(&ds, dir, 1, err), SAMC_OK);
    assert_int_equal(ds.n, 2);
    assert_true(ds.y[0] == 9 && ds.y[1] == 3);
    samc_dataset_free(&ds);

    /* bad size: one extra byte in data_batch_3.bin */
    join(p, dir, "data_batch_3.bin");
    FILE *f = fopen(p, "ab");
    assert_non_null(f);
    fputc(0, f);
    fclose(f);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_EFORMAT);
    assert_msg(err, p, "3073");
    assert_data_empty(&data);
    write_file(p, "", 0, 0); /* empty */
    assert_int_equal(samc_read_cifar10(&ds, dir, 0, err), SAMC_EFORMAT);
    assert_msg(err, p, NULL);
    assert_empty(&ds);

    /* bad label: 10 in record 2 of data_batch_2.bin */
    unsigned char lab2[12];
    memcpy(lab2, lab, 12);
    lab2[3] = 10;
    write_cifar(dir, lab2);
    join(p, dir, "data_batch_2.bin");
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_EFORMAT);
    assert_msg(err, p, "label 10");
    assert_msg(err, "record 2", NULL);
    assert_data_empty(&data);

    /* bad label in the test batch */
    memcpy(lab2, lab, 12);
    lab2[11] = 200;
    write_cifar(dir, lab2);
    join(p, dir, "test_batch.bin");
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_EFORMAT);
    assert_msg(err, p, "label 200");
    assert_data_empty(&data);

    /* a missing file */
    write_cifar(dir, lab);
    join(p, dir, "data_batch_5.bin");
    unlink(p);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_EIO);
    assert_msg(err, p, "cannot open");
    assert_data_empty(&data);
    join(p, dir, "test_batch.bin");
    unlink(p);
    assert_int_equal(samc_read_cifar10(&ds, dir, 1, err), SAMC_EIO);
    assert_msg(err, p, NULL);

    /* no such directory; no directory */
    assert_int_equal(samc_data_load(&data, "cifar10:/nonexistent/samc-cifar", err), SAMC_EIO);
    assert_msg(err, "/nonexistent/samc-cifar", NULL);
    assert_int_equal(samc_data_load(&data, "cifar10:", err), SAMC_EINVAL);
    remove_dir(dir);
}

/* CIFAR-100: train.bin of 5 records and test.bin of 2; record r has coarse
 * label coarse[r], fine label fine[r] and the pixels of cifar_pixel. */
static void write_cifar100(const char *dir, const unsigned char *coarse,
                           const unsigned char *fine)
{
    enum { REC = 3074 };
    unsigned char rec[5 * REC];
    char p[256];
    for (int file = 0; file < 2; file++) {
        const int n = file ? 2 : 5;
        for (int k = 0; k < n; k++) {
            size_t r = (size_t)file * 5 + (size_t)k;
            unsigned char *b = rec + k * REC;
            b[0] = coarse[r];
            b[1] = fine[r];
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++)
                        b[2 + c * 1024 + y * 32 + x] = cifar_pixel(r, c, y, x);
        }
        join(p, dir, file ? "test.bin" : "train.bin");
        write_file(p, rec, (size_t)n * REC, 0);
    }
}

static void test_cifar100(void **state)
{
    (void)state;
    char dir[64], p[256], spec[128];
    make_dir(dir);
    const unsigned char coarse[7] = {19, 0, 4, 4, 7, 0, 19};
    const unsigned char fine[7] = {99, 0, 50, 7, 30, 30, 7};
    write_cifar100(dir, coarse, fine);
    samc_data data;
    samc_errbuf err = "";
    /* fine labels by default: 0 7 30 50 99 become 0..4 (label indexing) */
    snprintf(spec, sizeof spec, "cifar100:%s", dir);
    if (samc_data_load(&data, spec, err) != SAMC_OK) fail_msg("%s", err);
    assert_int_equal(data.train.n, 5);
    assert_int_equal(data.test.n, 2);
    assert_int_equal(data.train.n_classes, 5);
    const float want_fine[7] = {4, 0, 3, 1, 2, 2, 1};
    for (int k = 0; k < 2; k++) {
        const samc_dataset *s = k ? &data.test : &data.train;
        assert_int_equal(s->d, 3072);
        assert_int_equal(s->channels, 3);
        assert_int_equal(s->height, 32);
        assert_int_equal(s->width, 32);
        for (size_t i = 0; i < s->n; i++) {
            size_t r = i + (k ? 5 : 0);
            assert_true(s->y[i] == want_fine[r]);
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++) {
                        float v = s->x[i * 3072 + (size_t)c * 1024 + (size_t)y * 32 + (size_t)x];
                        if (v != (float)cifar_pixel(r, c, y, x) / 255.0f)
                            fail_msg("record %zu pixel (%d,%d,%d): %g", r, c, y, x, (double)v);
                    }
        }
    }
    assert_non_null(strstr(data.name, "cifar100:"));
    samc_data_free(&data);
    /* the reader alone: raw labels, fine or coarse */
    samc_dataset ds;
    assert_int_equal(samc_read_cifar100(&ds, dir, 0, 0, err), SAMC_OK);
    assert_int_equal(ds.n, 5);
    for (int i = 0; i < 5; i++) assert_true(ds.y[i] == fine[i]);
    samc_dataset_free(&ds);
    assert_int_equal(samc_read_cifar100(&ds, dir, 1, 1, err), SAMC_OK);
    assert_true(ds.y[0] == 0 && ds.y[1] == 19);
    samc_dataset_free(&ds);
    /* ,coarse through the spec: 0 4 7 19 become 0..3 */
    snprintf(spec, sizeof spec, "cifar100:%s,coarse", dir);
    if (samc_data_load(&data, spec, err) != SAMC_OK) fail_msg("%s", err);
    assert_int_equal(data.train.n_classes, 4);
    assert_true(data.train.y[0] == 3 && data.train.y[2] == 1 && data.test.y[1] == 3);
    samc_data_free(&data);
    snprintf(spec, sizeof spec, "cifar100:%s,fine", dir);
    if (samc_data_load(&data, spec, err) != SAMC_OK) fail_msg("%s", err);
    assert_int_equal(data.train.n_classes, 5);
    samc_data_free(&data);
    snprintf(spec, sizeof spec, "cifar100:%s,coars", dir);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_EINVAL);
    assert_msg(err, "coars", "cifar100:DIR,coarse");
    assert_data_empty(&data);

    /* bad size: one extra byte in train.bin; a CIFAR-10 file in its place */
    snprintf(spec, sizeof spec, "cifar100:%s", dir);
    join(p, dir, "train.bin");
    FILE *f = fopen(p, "ab");
    assert_non_null(f);
    fputc(0, f);
    fclose(f);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_EFORMAT);
    assert_msg(err, p, "3074");
    assert_data_empty(&data);
    unsigned char ten[3073 * 2] = {0};
    write_file(p, ten, sizeof ten, 0);
    assert_int_equal(samc_read_cifar100(&ds, dir, 0, 0, err), SAMC_EFORMAT);
    assert_msg(err, p, "CIFAR-100");
    assert_empty(&ds);
    write_file(p, "", 0, 0);
    assert_int_equal(samc_read_cifar100(&ds, dir, 0, 0, err), SAMC_EFORMAT);
    assert_empty(&ds);

    /* bad labels: fine 100 in record 3 of train.bin, coarse 20 in record 2
     * of test.bin (checked whichever label is kept) */
    unsigned char c2[7], f2[7];
    memcpy(c2, coarse, 7);
    memcpy(f2, fine, 7);
    f2[2] = 100;
    write_cifar100(dir, c2, f2);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_EFORMAT);
    assert_msg(err, p, "fine label 100");
    assert_msg(err, "record 3", NULL);
    assert_data_empty(&data);
    memcpy(f2, fine, 7);
    c2[6] = 20;
    write_cifar100(dir, c2, f2);
    join(p, dir, "test.bin");
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_EFORMAT);
    assert_msg(err, p, "coarse label 20");
    assert_msg(err, "record 2", NULL);
    assert_data_empty(&data);

    /* a missing file; no such directory; no directory */
    write_cifar100(dir, coarse, fine);
    unlink(p);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_EIO);
    assert_msg(err, p, "cannot open");
    assert_data_empty(&data);
    assert_int_equal(samc_data_load(&data, "cifar100:/nonexistent/samc-c100", err), SAMC_EIO);
    assert_msg(err, "/nonexistent/samc-c100", "train.bin");
    assert_int_equal(samc_data_load(&data, "cifar100:", err), SAMC_EINVAL);
    assert_msg(err, "cifar100:DIR", NULL);
    remove_dir(dir);
}

/* ------------------------------------------------------------------ npy */

/* Write a .npy: version major (1, 2, 3), the header dict text, then data. */
static void write_npy(const char *path, int major, const char *dict, const void *data,
                      size_t len)
{
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64; /* header padded to 64 */
    size_t hlen = total - pre;
    unsigned char *buf = malloc(total + len);
    assert_non_null(buf);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    if (major == 1) {
        buf[8] = (unsigned char)hlen;
        buf[9] = (unsigned char)(hlen >> 8);
    } else {
        for (int i = 0; i < 4; i++) buf[8 + i] = (unsigned char)(hlen >> (8 * i));
    }
    memcpy(buf + pre, dict, dl);
    memset(buf + pre + dl, ' ', hlen - dl - 1);
    buf[total - 1] = '\n';
    if (len) memcpy(buf + total, data, len);
    write_file(path, buf, total + len, 0);
    free(buf);
}

static void le_bytes(unsigned char *p, uint64_t v, int k)
{
    for (int i = 0; i < k; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Encode values as dtype descr ('<f4', '<f8', '|u1', '<i4', '<i8'). */
static size_t encode(unsigned char *out, const char *descr, const double *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(descr, "<f4")) {
            float f = (float)v[i];
            uint32_t u;
            memcpy(&u, &f, 4);
            le_bytes(out + k, u, 4);
            k += 4;
        } else if (!strcmp(descr, "<f8")) {
            uint64_t u;
            memcpy(&u, &v[i], 8);
            le_bytes(out + k, u, 8);
            k += 8;
        } else if (!strcmp(descr, "|u1")) {
            out[k++] = (unsigned char)v[i];
        } else if (!strcmp(descr, "<i4")) {
            le_bytes(out + k, (uint64_t)(int64_t)v[i], 4);
            k += 4;
        } else {
            le_bytes(out + k, (uint64_t)(int64_t)v[i], 8);
            k += 8;
        }
    }
    return k;
}

/* Write values v[0..n) as a .npy of descr and shape text (e.g. "(3, 2)"). */
static void npy_file(const char *path, int major, const char *descr, const char *shape,
                     const double *v, size_t n)
{
    char dict[256];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
             descr, shape);
    unsigned char data[4096];
    size_t len = encode(data, descr, v, n);
    write_npy(path, major, dict, data, len);
}

static void expect_npy_error(const char *x, const char *y, samc_status st, const char *names,
                             const char *what)
{
    samc_dataset ds;
    samc_errbuf err = "";
    samc_status got = samc_read_npy(&ds, x, y, err);
    if (got != st) fail_msg("%s: status %d (%s), expected %d", x, (int)got, err, (int)st);
    assert_msg(err, names, what);
    assert_empty(&ds);
}

static void test_npy_dtypes_and_shapes(void **state)
{
    (void)state;
    char dir[64], xp[256], yp[256];
    make_dir(dir);
    join(xp, dir, "x.npy");
    join(yp, dir, "y.npy");
    double xv[24], yv[4] = {3, -1, 3, 7};
    for (int i = 0; i < 24; i++) xv[i] = (i * 13) % 200 - (i % 3 == 0 ? 0 : 50);
    xv[1] = 0.25; /* exact in every float type; replaced for integer types */
    const char *types[] = {"<f4", "<f8", "|u1", "<i4", "<i8"};
    const struct { const char *shape; size_t n, d; int C, H, W; } shapes[] = {
        {"(4, 6)", 4, 6, 0, 0, 0},
        {"(4,3,2)", 4, 6, 1, 3, 2},
        {"(2, 3, 2, 2)", 2, 12, 3, 2, 2},
        {"(4, 6)", 4, 6, 0, 0, 0}};
    for (size_t t = 0; t < 5; t++) {
        int integer = t >= 2;
        double xs[24];
        for (int i = 0; i < 24; i++) {
            xs[i] = xv[i];
            if (integer && xs[i] != (double)(long)xs[i]) xs[i] = 5;
            if (t == 2 && xs[i] < 0) xs[i] = -xs[i];  /* u1 */
        }
        for (size_t s = 0; s < 4; s++) {
            int major = 1 + (int)((t + s) % 3);
            npy_file(xp, major, types[t], shapes[s].shape, xs, shapes[s].n * shapes[s].d);
            const char *ytype = types[(t + s + 1) % 5];
            double ys[4];
            for (int i = 0; i < 4; i++) ys[i] = ytype[1] == 'u' ? fabs(yv[i]) : yv[i];
            char yshape[16];
            snprintf(yshape, sizeof yshape, s == 3 ? "(%zu, 1)" : "(%zu,)", shapes[s].n);
            npy_file(yp, 1, ytype, yshape, ys, shapes[s].n);
            samc_dataset ds;
            samc_errbuf err = "";
            if (samc_read_npy(&ds, xp, yp, err) != SAMC_OK)
                fail_msg("%s %s / %s: %s", types[t], shapes[s].shape, ytype, err);
            assert_int_equal(ds.n, shapes[s].n);
            assert_int_equal(ds.d, shapes[s].d);
            assert_int_equal(ds.channels, shapes[s].C);
            assert_int_equal(ds.height, shapes[s].H);
            assert_int_equal(ds.width, shapes[s].W);
            for (size_t i = 0; i < ds.n * ds.d; i++)
                if (ds.x[i] != (float)xs[i])
                    fail_msg("%s %s: x[%zu] = %g, expected %g", types[t], shapes[s].shape, i,
                             (double)ds.x[i], xs[i]);
            for (size_t i = 0; i < ds.n; i++) assert_true(ds.y[i] == (float)ys[i]);
            samc_dataset_free(&ds);
        }
    }

    /* float labels through samc_data_load: integer-valued -> classes; not -> regression */
    char spec[1200], xt[256], yt[256];
    join(xt, dir, "xt.npy");
    join(yt, dir, "yt.npy");
    npy_file(xp, 1, "<f4", "(4, 6)", xv, 24);
    const double yc[4] = {1, 0, 1, 4}, ytc[2] = {4, 0};
    npy_file(yp, 1, "<f8", "(4,)", yc, 4);
    npy_file(xt, 1, "<f4", "(2, 6)", xv + 6, 12);
    npy_file(yt, 1, "<f4", "(2,)", ytc, 2);
    snprintf(spec, sizeof spec, "npy:%s,%s,%s,%s", xp, yp, xt, yt);
    samc_data data;
    samc_errbuf err = "";
    if (samc_data_load(&data, spec, err) != SAMC_OK) fail_msg("%s", err);
    assert_int_equal(data.train.n_classes, 3);
    const float ty[2] = {2, 0};
    assert_floats(data.test.y, ty, 2);
    assert_int_equal(data.test.d, 6);
    assert_true(data.test.x[0] == (float)xv[6]);
    samc_data_free(&data);
    const double yr[4] = {0.5, 1.25, -3, 2};
    npy_file(yp, 1, "<f4", "(4,)", yr, 4);
    snprintf(spec, sizeof spec, "npy:%s,%s", xp, yp);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_OK);
    assert_int_equal(data.train.n_classes, 0);
    assert_true(data.train.y[1] == 1.25f);
    samc_data_free(&data);

    /* test X of another shape than train X */
    npy_file(xt, 1, "<f4", "(2, 3, 2)", xv, 12);
    npy_file(yp, 1, "<f8", "(4,)", yc, 4);
    snprintf(spec, sizeof spec, "npy:%s,%s,%s,%s", xp, yp, xt, yt);
    assert_int_equal(samc_data_load(&data, spec, err), SAMC_EFORMAT);
    assert_msg(err, xt, NULL);
    assert_data_empty(&data);
    remove_dir(dir);
}

static void test_npy_rejections(void **state)
{
    (void)state;
    char dir[64], xp[256], yp[256], p[256];
    make_dir(dir);
    join(xp, dir, "x.npy");
    join(yp, dir, "y.npy");
    double xv[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, yv[3] = {0, 1, 0};
    npy_file(xp, 1, "<f4", "(3, 4)", xv, 12);
    npy_file(yp, 1, "<i8", "(3,)", yv, 3);
    samc_dataset ds;
    samc_errbuf err = "";
    assert_int_equal(samc_read_npy(&ds, xp, yp, err), SAMC_OK);
    samc_dataset_free(&ds);

    join(p, dir, "bad.npy");
    unsigned char data[64];
    size_t len = encode(data, "<f4", xv, 12);
    /* fortran_order True */
    write_npy(p, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 4), }", data, len);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "fortran_order");
    /* truncated data, trailing data */
    write_npy(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", data,
              len - 3);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "truncated");
    write_npy(p, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }", data, len);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "trailing");
    /* truncated Y */
    write_npy(p, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", data, 20);
    expect_npy_error(xp, p, SAMC_EFORMAT, p, "truncated");
    /* header cut short */
    write_file(p, "\x93NUMPY\x01\x00\x76\x00{'descr'", 17, 0);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "truncated");
    /* bad magic */
    write_file(p, "\x93NUMPX\x01\x00\x10\x00{}              ", 26, 0);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "magic");
    write_file(p, "hello", 5, 0);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "magic");
    /* unsupported dtype, big-endian, version */
    write_npy(p, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3, 4), }", data, len);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "'>f4'");
    write_npy(p, 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (3, 4), }", data, 24);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "dtype");
    write_npy(p, 4, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", data, len);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "version");
    /* malformed dict, missing key */
    write_npy(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, x), }", data, len);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "header");
    write_npy(p, 1, "{'descr': '<f4', 'shape': (3, 4), }", data, len);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "fortran_order");
    /* X of 1 or 5 dimensions; Y of 2 columns */
    npy_file(p, 1, "<f4", "(12,)", xv, 12);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "dimensions");
    npy_file(p, 1, "<f4", "(3, 1, 1, 2, 2)", xv, 12);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "dimensions");
    npy_file(p, 1, "<f4", "(3, 2)", xv, 6);
    expect_npy_error(xp, p, SAMC_EFORMAT, p, "(n,)");
    /* n mismatch between X and Y: Y names itself and X */
    npy_file(p, 1, "<i8", "(4,)", xv, 4);
    expect_npy_error(xp, p, SAMC_EFORMAT, p, xp);
    /* NaN / inf in X; NaN or non-float-exact labels */
    double bad[12];
    memcpy(bad, xv, sizeof bad);
    bad[7] = NAN;
    npy_file(p, 1, "<f8", "(3, 4)", bad, 12);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "NaN");
    bad[7] = INFINITY;
    npy_file(p, 3, "<f4", "(3, 4)", bad, 12);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "row 1");
    bad[7] = 1e300;
    npy_file(p, 1, "<f8", "(3, 4)", bad, 12);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "range");
    const double ybad[3] = {0, NAN, 1};
    npy_file(p, 1, "<f8", "(3,)", ybad, 3);
    expect_npy_error(xp, p, SAMC_EFORMAT, p, "label 1");
    const double ybig[3] = {0, 16777217.0, 1};
    npy_file(p, 1, "<i8", "(3,)", ybig, 3);
    expect_npy_error(xp, p, SAMC_EFORMAT, p, "representable");
    /* empty */
    npy_file(p, 1, "<f4", "(0, 4)", xv, 0);
    expect_npy_error(p, yp, SAMC_EFORMAT, p, "empty");
    /* missing */
    join(p, dir, "missing.npy");
    expect_npy_error(p, yp, SAMC_EIO, p, "cannot open");
    /* spec with 3 files */
    char spec[800];
    snprintf(spec, sizeof spec, "npy:%s,%s,%s", xp, yp, xp);
    samc_data d;
    assert_int_equal(samc_data_load(&d, spec, err), SAMC_EINVAL);
    assert_data_empty(&d);
    remove_dir(dir);
}

/* ------------------------------------------------- val split, normalization */

/* Writes train X (n, C, 2, 2) and test X (m, C, 2, 2) with labels; values
 * per channel on different scales. */
static void write_image_npy(const char *dir, size_t n, size_t m, int C, char *spec,
                            size_t len, double *xtr, double *xte)
{
    char xp[256], yp[256], xt[256], yt[256], shape[64];
    join(xp, dir, "x.npy");
    join(yp, dir, "y.npy");
    join(xt, dir, "xt.npy");
    join(yt, dir, "yt.npy");
    uint64_t s = 99;
    for (size_t i = 0; i < (n + m) * (size_t)C * 4; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t c = (i / 4) % (size_t)C;
        double u = (double)(s >> 11) / 9007199254740992.0;
        double v = c == 2 ? 0.75 : (double)(c + 1) * 10.0 * u + 3.0 * (double)c;
        if (i < n * (size_t)C * 4) xtr[i] = v;
        else xte[i - n * (size_t)C * 4] = v;
    }
    double y[64];
    for (size_t i = 0; i < n + m; i++) y[i] = (double)(i % 3);
    snprintf(shape, sizeof shape, "(%zu, %d, 2, 2)", n, C);
    npy_file(xp, 1, "<f8", shape, xtr, n * (size_t)C * 4);
    snprintf(shape, sizeof shape, "(%zu,)", n);
    npy_file(yp, 1, "<f8", shape, y, n);
    snprintf(shape, sizeof shape, "(%zu, %d, 2, 2)", m, C);
    npy_file(xt, 1, "<f8", shape, xte, m * (size_t)C * 4);
    snprintf(shape, sizeof shape, "(%zu,)", m);
    npy_file(yt, 1, "<f8", shape, y + n, m);
    snprintf(spec, len, "npy:%s,%s,%s,%s", xp, yp, xt, yt);
}

static void test_val_split(void **state)
{
    (void)state;
    char dir[64], spec[1200];
    make_dir(dir);
    double xtr[10 * 3 * 4], xte[4 * 3 * 4];
    write_image_npy(dir, 10, 4, 3, spec, sizeof spec, xtr, xte);
    samc_data full, data;
    samc_errbuf err = "";
    assert_int_equal(samc_data_load(&full, spec, err), SAMC_OK);
    samc_data_options o = samc_data_default_options();
    o.val = 3;
    if (samc_data_load_ex(&data, spec, &o, err) != SAMC_OK) fail_msg("%s", err);
    assert_int_equal(data.train.n, 7);
    assert_int_equal(data.val.n, 3);
    assert_int_equal(data.test.n, 4);
    const size_t d = 12;
    assert_floats(data.train.x, full.train.x, 7 * d);
    assert_floats(data.val.x, full.train.x + 7 * d, 3 * d); /* the LAST rows */
    assert_floats(data.val.y, full.train.y + 7, 3);
    assert_floats(data.train.y, full.train.y, 7);
    const samc_dataset *sets[3] = {&data.train, &data.val, &data.test};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(sets[k]->d, d);
        assert_int_equal(sets[k]->channels, 3);
        assert_int_equal(sets[k]->height, 2);
        assert_int_equal(sets[k]->width, 2);
        assert_int_equal(sets[k]->n_classes, 3);
        for (int c = 0; c < 3; c++) assert_true(sets[k]->labels[c] == c);
    }
    assert_true(data.val.labels != data.train.labels);
    samc_data_free(&data);
    assert_data_empty(&data);

    /* val must leave a training row */
    o.val = 10;
    assert_int_equal(samc_data_load_ex(&data, spec, &o, err), SAMC_EINVAL);
    assert_msg(err, "10", NULL);
    assert_data_empty(&data);
    o.val = 9;
    assert_int_equal(samc_data_load_ex(&data, spec, &o, err), SAMC_OK);
    assert_int_equal(data.train.n, 1);
    assert_int_equal(data.val.n, 9);
    samc_data_free(&data);

    /* test_rows keeps the first test rows; more than the set has is refused */
    o.val = 0;
    o.test_rows = 3;
    if (samc_data_load_ex(&data, spec, &o, err) != SAMC_OK) fail_msg("%s", err);
    assert_int_equal(data.train.n, 10);
    assert_int_equal(data.test.n, 3);
    assert_floats(data.test.x, full.test.x, 3 * d);
    assert_floats(data.test.y, full.test.y, 3);
    samc_data_free(&data);
    o.test_rows = 5;
    assert_int_equal(samc_data_load_ex(&data, spec, &o, err), SAMC_EINVAL);
    assert_msg(err, "test set has 4 rows", NULL);
    assert_data_empty(&data);
    samc_data_free(&full);
    remove_dir(dir);
}

/* Mean and population std of channel c (plane of per values) of ds. */
static void channel_stats(const samc_dataset *ds, size_t c, size_t per, double *mean,
                          double *sd)
{
    double s = 0, q = 0, cnt = (double)ds->n * (double)per;
    for (size_t r = 0; r < ds->n; r++)
        for (size_t j = 0; j < per; j++) s += ds->x[r * ds->d + c * per + j];
    *mean = s / cnt;
    for (size_t r = 0; r < ds->n; r++)
        for (size_t j = 0; j < per; j++) {
            double e = ds->x[r * ds->d + c * per + j] - *mean;
            q += e * e;
        }
    *sd = sqrt(q / cnt);
}

static void test_normalize(void **state)
{
    (void)state;
    char dir[64], spec[1200];
    make_dir(dir);
    enum { N = 12, M = 5, C = 3 };
    double xtr[N * C * 4], xte[M * C * 4];
    write_image_npy(dir, N, M, C, spec, sizeof spec, xtr, xte);
    samc_data data;
    samc_errbuf err = "";
    samc_data_options o = samc_data_default_options();
    o.normalize = 1;
    o.val = 4;
    if (samc_data_load_ex(&data, spec, &o, err) != SAMC_OK) fail_msg("%s", err);
    assert_int_equal(data.train.n, N - 4);

    /* the statistics of the raw train rows that remain (rows 0..7) */
    double mu[C], sd[C];
    for (int c = 0; c < C; c++) {
        double s = 0, q = 0, cnt = (N - 4) * 4.0;
        for (int r = 0; r < N - 4; r++)
            for (int j = 0; j < 4; j++) s += (float)xtr[r * C * 4 + c * 4 + j];
        mu[c] = s / cnt;
        for (int r = 0; r < N - 4; r++)
            for (int j = 0; j < 4; j++) {
                double e = (float)xtr[r * C * 4 + c * 4 + j] - mu[c];
                q += e * e;
            }
        sd[c] = sqrt(q / cnt);
    }
    assert_true(sd[2] == 0); /* channel 2 is constant */
    for (int c = 0; c < C; c++) {
        double m, s;
        channel_stats(&data.train, (size_t)c, 4, &m, &s);
        assert_close(m, 0, 0, 1e-6);
        if (c < 2) assert_close(s, 1, 1e-5, 0);
        else assert_close(s, 0, 0, 1e-12); /* constant: std 1, values 0 */
    }
    /* per channel, not per feature: a single pixel's mean over train is not 0 */
    double pix_mean = 0;
    for (int r = 0; r < N - 4; r++) pix_mean += data.train.x[r * C * 4 + 0];
    assert_true(fabs(pix_mean / (N - 4)) > 1e-3);
    /* test and val transformed with the train statistics */
    for (int r = 0; r < M; r++)
        for (int c = 0; c < C; c++)
            for (int j = 0; j < 4; j++) {
                size_t i = (size_t)r * C * 4 + (size_t)c * 4 + (size_t)j;
                double want = ((float)xte[i] - mu[c]) / (sd[c] > 0 ? sd[c] : 1);
                assert_close(data.test.x[i], want, 1e-5, 1e-5);
            }
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < C; c++) {
            size_t i = (size_t)r * C * 4 + (size_t)c * 4 + 1;
            double want = ((float)xtr[(N - 4) * C * 4 + i] - mu[c]) / (sd[c] > 0 ? sd[c] : 1);
            assert_close(data.val.x[i], want, 1e-5, 1e-5);
        }
    for (int k = 0; k < 3; k++) {
        const samc_dataset *s = k == 0 ? &data.train : k == 1 ? &data.val : &data.test;
        assert_int_equal(s->channels, C);
        assert_int_equal(s->height, 2);
        assert_int_equal(s->width, 2);
    }
    samc_data_free(&data);

    /* per feature for non-image rows: (n, d) */
    char xp[256], yp[256];
    join(xp, dir, "f.npy");
    join(yp, dir, "fy.npy");
    double f[6 * 3], fy[6] = {0, 1, 0, 1, 0, 1};
    for (int r = 0; r < 6; r++) {
        f[r * 3 + 0] = r;
        f[r * 3 + 1] = 100.0 + r * r;
        f[r * 3 + 2] = -2;
    }
    npy_file(xp, 1, "<f8", "(6, 3)", f, 18);
    npy_file(yp, 1, "<f8", "(6,)", fy, 6);
    snprintf(spec, sizeof spec, "npy:%s,%s", xp, yp);
    o.val = 0;
    assert_int_equal(samc_data_load_ex(&data, spec, &o, err), SAMC_OK);
    for (size_t j = 0; j < 3; j++) {
        double s = 0, q = 0;
        for (size_t r = 0; r < 6; r++) s += data.train.x[r * 3 + j];
        for (size_t r = 0; r < 6; r++) q += pow(data.train.x[r * 3 + j] - s / 6, 2);
        assert_close(s / 6, 0, 0, 1e-6);
        assert_close(sqrt(q / 6), j < 2 ? 1 : 0, 1e-5, 1e-12);
    }
    assert_close(data.train.x[0], (0 - 2.5) / sqrt(17.5 / 6), 1e-6, 0);
    assert_int_equal(data.train.channels, 0);
    samc_data_free(&data);

    /* IDX images: one channel, per channel over all pixels */
    unsigned char buf[256], pix[24];
    char ip[256], lp[256];
    fill_pixels(pix, 24, 6);
    join(ip, dir, "i");
    join(lp, dir, "l");
    write_file(ip, buf, idx_images(buf, 0x803, 3, 2, 4, pix), 1);
    const unsigned char lab[3] = {1, 2, 1};
    write_file(lp, buf, idx_labels(buf, 3, lab), 0);
    snprintf(spec, sizeof spec, "idx:%s,%s", ip, lp);
    assert_int_equal(samc_data_load_ex(&data, spec, &o, err), SAMC_OK);
    double m, s;
    channel_stats(&data.train, 0, 8, &m, &s);
    assert_close(m, 0, 0, 1e-6);
    assert_close(s, 1, 1e-5, 0);
    assert_int_equal(data.train.height, 2);
    samc_data_free(&data);
    remove_dir(dir);
}

/* ---------------------------------------------------------- augmentation */

static samc_dataset shape(int C, int H, int W)
{
    samc_dataset s = {.n = 0, .d = (size_t)C * H * W, .channels = C, .height = H,
                      .width = W};
    return s;
}

/* in(c, y, x) or 0 outside. */
static float at(const float *img, int C, int H, int W, int c, int y, int x)
{
    (void)C;
    if (y < 0 || y >= H || x < 0 || x >= W) return 0;
    return img[((size_t)c * H + y) * W + x];
}

/* Whether out equals in shifted by (dy, dx) (out(c,y,x) = in(c,y+dy,x+dx)),
 * mirrored first if mirror. */
static int matches(const float *in, const float *out, int C, int H, int W, int dy, int dx,
                   int mirror)
{
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int cx = mirror ? W - 1 - x : x;
                if (out[((size_t)c * H + y) * W + x] != at(in, C, H, W, c, y + dy, cx + dx))
                    return 0;
            }
    return 1;
}

static void test_augment_identity_and_flip(void **state)
{
    (void)state;
    enum { C = 3, H = 5, W = 6, NB = 200 };
    samc_dataset sh = shape(C, H, W);
    const size_t d = C * H * W;
    float *in = malloc(NB * d * sizeof(float)), *out = malloc(NB * d * sizeof(float));
    assert_non_null(in);
    assert_non_null(out);
    for (size_t i = 0; i < NB * d; i++) in[i] = (float)((i * 7919) % 1000) / 7.0f + 1;
    samc_rng rng;
    samc_rng_seed(&rng, 1);
    samc_augment_crop_flip(&sh, in, out, NB, 0, 0, &rng);
    assert_floats(out, in, NB * d);

    /* flip only: each image is itself or its mirror, each about half the time */
    samc_augment_crop_flip(&sh, in, out, NB, 0, 1, &rng);
    int flipped = 0;
    for (size_t r = 0; r < NB; r++) {
        int same = matches(in + r * d, out + r * d, C, H, W, 0, 0, 0);
        int mir = matches(in + r * d, out + r * d, C, H, W, 0, 0, 1);
        if (same == mir) fail_msg("image %zu: neither (or both) identity and mirror", r);
        flipped += mir;
        if (mir) { /* mirrored twice is the original */
            float back[C * H * W];
            for (int c = 0; c < C; c++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++)
                        back[(c * H + y) * W + x] = out[r * d + (c * H + y) * W + (W - 1 - x)];
            assert_floats(back, in + r * d, d);
            /* pixel (c, y, 0) went to (c, y, W-1) */
            assert_true(out[r * d + 2 * W + W - 1] == in[r * d + 2 * W]);
        }
    }
    assert_in_range(flipped, 60, 140);

    /* a data set without an image shape is copied */
    samc_dataset flat = {.d = d};
    memset(out, 0, NB * d * sizeof(float));
    samc_augment_crop_flip(&flat, in, out, NB, 4, 1, &rng);
    assert_floats(out, in, NB * d);
    free(in);
    free(out);
}

static void test_augment_crop(void **state)
{
    (void)state;
    enum { C = 2, H = 8, W = 7, P = 2, NB = 400 };
    samc_dataset sh = shape(C, H, W);
    const size_t d = C * H * W;
    float *in = calloc(NB * d, sizeof(float)), *out = malloc(NB * d * sizeof(float));
    assert_non_null(in);
    assert_non_null(out);
    /* one lit pixel at (3, 4) with different values per channel */
    for (size_t r = 0; r < NB; r++) {
        in[r * d + 0 * H * W + 3 * W + 4] = 1.0f;
        in[r * d + 1 * H * W + 3 * W + 4] = 2.0f;
    }
    samc_rng rng;
    samc_rng_seed(&rng, 7);
    samc_augment_crop_flip(&sh, in, out, NB, P, 0, &rng);
    int seen_y[2 * P + 1] = {0}, seen_x[2 * P + 1] = {0};
    for (size_t r = 0; r < NB; r++) {
        int ly = -1, lx = -1, lit = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                float v0 = out[r * d + y * W + x], v1 = out[r * d + H * W + y * W + x];
                if (v0 != 0 || v1 != 0) {
                    if (v0 != 1.0f || v1 != 2.0f) fail_msg("image %zu: channels disagree", r);
                    ly = y;
                    lx = x;
                    lit++;
                }
            }
        if (lit != 1) fail_msg("image %zu: %d lit pixels", r, lit);
        int sy = ly - 3, sx = lx - 4; /* content moved by -offset */
        if (sy < -P || sy > P || sx < -P || sx > P)
            fail_msg("image %zu: pixel moved by (%d, %d), more than %d", r, sy, sx, P);
        seen_y[sy + P]++;
        seen_x[sx + P]++;
    }
    for (int k = 0; k <= 2 * P; k++) {
        if (seen_y[k] < NB / 10 || seen_x[k] < NB / 10)
            fail_msg("offset %d drawn %d / %d times of %d", k - P, seen_y[k], seen_x[k], NB);
    }

    /* a lit corner pixel: moves at most P, or is cropped out, never further */
    memset(in, 0, NB * d * sizeof(float));
    for (size_t r = 0; r < NB; r++) in[r * d] = 5.0f;
    samc_augment_crop_flip(&sh, in, out, NB, P, 0, &rng);
    int gone = 0;
    for (size_t r = 0; r < NB; r++) {
        int lit = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                if (out[r * d + y * W + x] != 0) {
                    if (y > P || x > P) fail_msg("image %zu: corner pixel at (%d,%d)", r, y, x);
                    lit++;
                }
        assert_true(lit <= 1);
        gone += lit == 0;
    }
    assert_true(gone > 0 && gone < NB); /* (1 - 9/25) of the draws crop it out */

    /* random content: the output is exactly a zero-padded shift (and maybe mirror) */
    for (size_t i = 0; i < NB * d; i++) in[i] = (float)(((i + 1) * 2654435761u) % 9973) + 1;
    samc_augment_crop_flip(&sh, in, out, NB, 3, 1, &rng);
    int mirrored = 0;
    for (size_t r = 0; r < NB; r++) {
        int found = 0;
        for (int m = 0; m <= 1; m++)
            for (int dy = -3; dy <= 3; dy++)
                for (int dx = -3; dx <= 3; dx++)
                    if (matches(in + r * d, out + r * d, C, H, W, dy, dx, m)) {
                        found++;
                        mirrored += m;
                    }
        if (found != 1) fail_msg("image %zu: %d matching crops", r, found);
    }
    assert_in_range(mirrored, NB / 4, 3 * NB / 4);

    /* same seed, same output; another seed, another output */
    float *out2 = malloc(NB * d * sizeof(float));
    assert_non_null(out2);
    samc_rng a, b;
    samc_rng_seed(&a, 42);
    samc_rng_seed(&b, 42);
    samc_augment_crop_flip(&sh, in, out, NB, 2, 1, &a);
    samc_augment_crop_flip(&sh, in, out2, NB, 2, 1, &b);
    assert_memory_equal(out, out2, NB * d * sizeof(float));
    assert_memory_equal(&a, &b, sizeof a);
    samc_rng_seed(&b, 43);
    samc_augment_crop_flip(&sh, in, out2, NB, 2, 1, &b);
    assert_memory_not_equal(out, out2, NB * d * sizeof(float));
    free(out2);
    free(in);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_plain_and_gzip_exact),
        cmocka_unit_test(test_idx_corrupt),
        cmocka_unit_test(test_fashion_mnist_real),
        cmocka_unit_test(test_mnist_dirs),
        cmocka_unit_test(test_cifar),
        cmocka_unit_test(test_cifar100),
        cmocka_unit_test(test_npy_dtypes_and_shapes),
        cmocka_unit_test(test_npy_rejections),
        cmocka_unit_test(test_val_split),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_augment_identity_and_flip),
        cmocka_unit_test(test_augment_crop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
