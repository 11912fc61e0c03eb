/*
 * fuzz/gen_seeds.c -- writes the seed inputs fuzz/seeds/<target>/ (small,
 * valid files in the layouts of fuzz/targets.h; every seed loads with
 * SAMC_OK, which tests/test_fuzz_corpus.c checks).  `make fuzz-seeds` runs it.
 * Usage: gen_seeds DIR   (DIR/<target>/ must exist)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "samc.h"

static const char *root;

static void put(const char *target, const char *name, const void *data, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* a string literal, NUL bytes included (not the final one) */
#define PUTS(target, name, lit) put(target, name, lit, sizeof(lit) - 1)

/* ------------------------------------------------------------------ IDX */

static size_t be32(unsigned char *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
    return 4;
}

static size_t gzip_buf(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(1);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) exit(1);
    size_t len = z.total_out;
    deflateEnd(&z);
    return len;
}

/* n images of h x w, pixel bytes i*7, labels i % 10; gz: both gzip'd. */
static void idx_pair(const char *name, uint32_t n, uint32_t h, uint32_t w, int gz)
{
    unsigned char img[512], lab[128], out[2048], z1[1024], z2[512];
    size_t a = 0, b = 0;
    a += be32(img + a, 0x803);
    a += be32(img + a, n);
    a += be32(img + a, h);
    a += be32(img + a, w);
    for (uint32_t i = 0; i < n * h * w; i++) img[a++] = (unsigned char)(i * 7);
    b += be32(lab + b, 0x801);
    b += be32(lab + b, n);
    for (uint32_t i = 0; i < n; i++) lab[b++] = (unsigned char)(i % 10);
    const unsigned char *pi = img, *pl = lab;
    if (gz) {
        a = gzip_buf(img, a, z1, sizeof z1);
        b = gzip_buf(lab, b, z2, sizeof z2);
        pi = z1;
        pl = z2;
    }
    out[0] = (unsigned char)a;
    out[1] = (unsigned char)(a >> 8);
    memcpy(out + 2, pi, a);
    memcpy(out + 2 + a, pl, b);
    put("idx", name, out, 2 + a + b);
}

/* ------------------------------------------------------------------ npy */

/* A .npy of the given version, descr and shape text; data raw bytes. */
static size_t npy(unsigned char *out, int major, const char *descr, const char *shape,
                  const void *data, size_t dlen)
{
    char dict[256];
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, "
                      "'shape': %s, }", descr, shape);
    size_t pre = major == 1 ? 10 : 12;
    size_t total = pre + (size_t)dl + 1;
    size_t hlen = (size_t)dl + 1 + (64 - total % 64) % 64;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    out[8] = (unsigned char)hlen;
    out[9] = (unsigned char)(hlen >> 8);
    if (major != 1) out[10] = out[11] = 0;
    memcpy(out + pre, dict, (size_t)dl);
    memset(out + pre + dl, ' ', hlen - (size_t)dl - 1);
    out[pre + hlen - 1] = '\n';
    memcpy(out + pre + hlen, data, dlen);
    return pre + hlen + dlen;
}

static void npy_pair(const char *name, const unsigned char *x, size_t xl,
                     const unsigned char *y, size_t yl)
{
    unsigned char out[1024];
    out[0] = (unsigned char)xl;
    out[1] = (unsigned char)(xl >> 8);
    memcpy(out + 2, x, xl);
    memcpy(out + 2 + xl, y, yl);
    put("npy", name, out, 2 + xl + yl);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds DIR\n");
        return 2;
    }
    root = argv[1];

    /* libsvm: the whole input is the file */
    PUTS("libsvm", "basic.txt", "+1 1:0.5 3:-1.25\n-1 2:1 4:2e-3\n");
    PUTS("libsvm", "comments.txt", "# header comment\n1 1:1 # trailing\r\n\n0 2:0.25\n2 5:3\n");
    PUTS("libsvm", "regression.txt", "0.75 1:1 2:2\n-3.5 1:-1\n");

    /* csv: byte 0 = label_col + 1 + 5 * (header + 1) */
    PUTS("csv", "first.csv", "\x05" "1,0.5,2\n0,1.5,-3\n");           /* label 0, auto */
    PUTS("csv", "header_last.csv", "\x0a" "a,b,y\n1,2,0\n3,4,1\n");    /* last, header */
    PUTS("csv", "quoted.csv", "\x07" " \"1\" , 2.5 ,3\r\n4,5,6\r\n"); /* label 1 */
    PUTS("csv", "noheader.csv", "\x00" "1e3,2,7\n-1,0,7\n");           /* last, none */

    /* idx: 2 bytes k, images file (k bytes), labels file */
    idx_pair("plain_2x2x2", 2, 2, 2, 0);
    idx_pair("gzip_3x2x3", 3, 2, 3, 1);

    /* cifar10: test_batch.bin of 2 records */
    {
        enum { REC = 3073 };
        unsigned char *b = malloc(2 * REC);
        for (int r = 0; r < 2; r++) {
            b[r * REC] = (unsigned char)(r * 9);
            for (int j = 1; j < REC; j++) b[r * REC + j] = (unsigned char)(j * 31 + r);
        }
        put("cifar10", "two_records.bin", b, 2 * REC);
        put("cifar10", "one_record.bin", b, REC);
        free(b);
    }

    /* cifar100: the coarse flag, then test.bin of 2 records (fine labels
     * 99 and 0, coarse 19 and 0) */
    {
        enum { REC = 3074 };
        unsigned char *b = malloc(1 + 2 * REC);
        for (int r = 0; r < 2; r++) {
            unsigned char *q = b + 1 + r * REC;
            q[0] = (unsigned char)(r ? 0 : 19);
            q[1] = (unsigned char)(r ? 0 : 99);
            for (int j = 2; j < REC; j++) q[j] = (unsigned char)(j * 31 + r);
        }
        b[0] = 0;
        put("cifar100", "two_records_fine.bin", b, 1 + 2 * REC);
        b[0] = 1;
        put("cifar100", "two_records_coarse.bin", b, 1 + 2 * REC);
        put("cifar100", "one_record_coarse.bin", b, 1 + REC);
        free(b);
    }

    /* npy: 2 bytes k, X.npy (k bytes), Y.npy */
    {
        unsigned char x[512], y[256];
        float xf[6] = {0.5f, -1, 2, 3.25f, 0, 1e-3f};
        int64_t yi[2] = {0, 1};
        size_t xl = npy(x, 1, "<f4", "(2, 3)", xf, sizeof xf);
        size_t yl = npy(y, 1, "<i8", "(2,)", yi, sizeof yi);
        npy_pair("f4_i8", x, xl, y, yl);

        unsigned char u[8] = {0, 255, 7, 9, 1, 2, 3, 4};
        double yd[2] = {1.5, -2};
        xl = npy(x, 2, "|u1", "(2, 2, 2)", u, sizeof u);
        yl = npy(y, 3, "<f8", "(2, 1)", yd, sizeof yd);
        npy_pair("u1_images_f8", x, xl, y, yl);

        double xd[4] = {1, 2, 3, 4};
        int32_t y4[1] = {3};
        xl = npy(x, 1, "<f8", "(1, 1, 2, 2)", xd, sizeof xd);
        yl = npy(y, 1, "<i4", "(1,)", y4, sizeof y4);
        npy_pair("f8_nchw_i4", x, xl, y, yl);
    }

    /* ckpt: real checkpoints written by samc_ckpt_save */
    {
        char path[512];
        float p[5] = {1, -2, 0.5f, 3, 0}, bf[2] = {0.25f, 4};
        samc_ckpt c = {.step = 42, .epoch = 3, .params = p, .n_params = 5,
                       .buffers = bf, .n_buffers = 2};
        snprintf(c.model, sizeof c.model, "cnn:8");
        snprintf(path, sizeof path, "%s/ckpt/buffers.ckpt", root);
        samc_errbuf err = "";
        if (samc_ckpt_save(path, &c, err) != SAMC_OK) { fprintf(stderr, "%s\n", err); return 1; }
        samc_ckpt l = {.step = 7, .epoch = 1, .params = p, .n_params = 3};
        snprintf(l.model, sizeof l.model, "logreg");
        snprintf(path, sizeof path, "%s/ckpt/logreg.ckpt", root);
        if (samc_ckpt_save(path, &l, err) != SAMC_OK) { fprintf(stderr, "%s\n", err); return 1; }
    }

    /* dataspec: byte 0 (bit 0 normalize, bits 1-2 val rows), then after "synth:" */
    PUTS("dataspec", "ridge", "\x00" "ridge,n=20,d=5,kappa=10");
    PUTS("dataspec", "logreg_test", "\x01" "logreg,n=30,d=4,kappa=3,noise=0.1,test=5,seed=7");
    PUTS("dataspec", "ridge_val", "\x05" "ridge,n=12,d=3,kappa=1e2,noise=0,seed=1");

    /* schedule: each valid for one of the three parsers */
    PUTS("schedule", "lr_const", "const");
    PUTS("schedule", "lr_cosine", "cosine:0.001");
    PUTS("schedule", "lr_poly", "poly:2:1e-4");
    PUTS("schedule", "lr_step", "step:0.1@30");
    PUTS("schedule", "rho_prop", "prop:0.01");
    PUTS("schedule", "batch_exp", "exp:2@10,max=512");
    PUTS("schedule", "batch_poly", "poly:1.5,2@5");
    return 0;
}
