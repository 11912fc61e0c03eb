/*
 * test_torch_ref.c -- samc's networks and SAM-family optimizers against
 * reference values computed by PyTorch (tools/make_torch_fixtures.py, see
 * tests/data/torch/README.md).
 *
 * For each fixture (softmax, mlp:16,8, cnn, resnet:8, wrn:10-2, resnet18 on
 * a batch of 5 rows):
 * the parameter count and layout, evaluation-mode logits from given BatchNorm
 * running statistics, the train-mode loss and gradient and the running
 * statistics after that pass, and the parameters after 3 steps of SGD with
 * momentum, SAM, GSAM and SAM with the Polyak step (plus the running
 * statistics after the SAM steps: pass 2 must not update them).
 *
 * Fixture format "SAMCFIX1": 8 magic bytes, then records to the end of the
 * file: uint32 name length, the name, uint32 count, count float32 (all
 * little-endian).  The initial parameters are regenerated here from the
 * records init_seed and segments (splitmix64, below) and checked against the
 * stored values; big models store params / grad / params_* only at the flat
 * indices of the record "index", plus norms per parameter tensor.
 * A missing fixture is a failure: the fixtures are committed.
 */
#include "testutil.h"

#include <stdint.h>

#define FIXTURE_DIR SAMC_TEST_DATA "/torch"

/* Tolerances (tools/make_torch_fixtures.py checks that a float32 PyTorch run
 * of the same computation meets them). */
#define RTOL_LOGITS 1e-4
#define ATOL_LOGITS 1e-5
#define RTOL_LOSS 1e-5
#define ATOL_LOSS 1e-6
#define RTOL_GRAD 1e-3
#define ATOL_GRAD 1e-5  /* times max |grad| */
#define RTOL_PARAMS 1e-4
#define ATOL_PARAMS 1e-5
#define RTOL_BUF 1e-4
#define ATOL_BUF 1e-5
#define RTOL_SEG 1e-3
#define ATOL_SEG 1e-6
#define RTOL_STEP_LOSS 1e-4
#define ATOL_STEP_LOSS 1e-6
#define RTOL_STEP 1e-3

#define N_STEPS 3

/* Tolerances of the quantities after the optimizer steps: the defaults above,
 * or those of the fixture's records "OPT_step_tol" (8 values: rtol, atol of
 * params_OPT, of the step losses f / fp, of the step size, of the per-tensor
 * displacements) and "buffers_sam_tol" (rtol, atol).  resnet18 has them:
 * for 3 steps of an 18-layer net whose BatchNorm sees 5 rows, PyTorch's own
 * float32 run disagrees with its float64 run beyond the defaults on every
 * seed (the loss is so sharp along the SAM ascent direction that float32
 * rounding of the gradient is amplified at x + d and grows step by step), so
 * no float32 implementation can meet them.  The script measures that
 * disagreement per optimizer and stores 4 times it (never less than the
 * default); the single-pass checks keep the defaults. */
typedef struct step_tol {
    double params[2], step_loss[2], step[2], seg[2];
} step_tol;

/* ------------------------------------------------------------ the reader */

typedef struct fix_rec {
    char name[64];
    uint32_t n;
    float *v;
} fix_rec;

typedef struct fixture {
    char path[256];
    fix_rec *rec;
    size_t n_rec;
} fixture;

static uint32_t get_u32le(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float get_f32le(const unsigned char *p)
{
    uint32_t u = get_u32le(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void fix_free(fixture *f)
{
    for (size_t i = 0; i < f->n_rec; i++) free(f->rec[i].v);
    free(f->rec);
    f->rec = NULL;
    f->n_rec = 0;
}

/* 0 on success; otherwise -1 with the cause in err. */
static int fix_load(fixture *f, const char *path, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "%s: cannot open (fixtures are committed: "
                 "regenerate with tools/make_torch_fixtures.py)", path);
        return -1;
    }
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len == cap) {
            cap = cap ? 2 * cap : 65536;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) { free(buf); fclose(fp); snprintf(err, errlen, "out of memory"); return -1; }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, fp);
        len += got;
    } while (got > 0);
    int rerr = ferror(fp);
    fclose(fp);
    if (rerr) { free(buf); snprintf(err, errlen, "%s: read error", path); return -1; }
    if (len < 8 || memcmp(buf, "SAMCFIX1", 8) != 0) {
        free(buf);
        snprintf(err, errlen, "%s: not a SAMCFIX1 file", path);
        return -1;
    }
    size_t pos = 8;
    while (pos < len) {
        if (len - pos < 4) goto truncated;
        uint32_t nl = get_u32le(buf + pos);
        pos += 4;
        if (nl == 0 || nl >= sizeof f->rec[0].name || len - pos < nl) goto truncated;
        char name[64];
        memcpy(name, buf + pos, nl);
        name[nl] = '\0';
        pos += nl;
        if (len - pos < 4) goto truncated;
        uint32_t cnt = get_u32le(buf + pos);
        pos += 4;
        if ((len - pos) / 4 < cnt) goto truncated;
        fix_rec *nr = realloc(f->rec, (f->n_rec + 1) * sizeof *nr);
        if (!nr) { free(buf); fix_free(f); snprintf(err, errlen, "out of memory"); return -1; }
        f->rec = nr;
        fix_rec *r = &f->rec[f->n_rec++];
        memcpy(r->name, name, nl + 1);
        r->n = cnt;
        r->v = malloc((cnt ? cnt : 1) * sizeof(float));
        if (!r->v) { free(buf); fix_free(f); snprintf(err, errlen, "out of memory"); return -1; }
        for (uint32_t i = 0; i < cnt; i++) r->v[i] = get_f32le(buf + pos + 4 * (size_t)i);
        pos += 4 * (size_t)cnt;
    }
    free(buf);
    return 0;
truncated:
    free(buf);
    fix_free(f);
    snprintf(err, errlen, "%s: truncated or malformed record at byte %zu", path, pos);
    return -1;
}

static const fix_rec *fix_find(const fixture *f, const char *name)
{
    for (size_t i = 0; i < f->n_rec; i++)
        if (strcmp(f->rec[i].name, name) == 0) return &f->rec[i];
    return NULL;
}

/* The record `name`; fails the test when it is missing or, if n != SIZE_MAX,
 * does not hold n values. */
static const float *fix_need(const fixture *f, const char *name, size_t n)
{
    const fix_rec *r = fix_find(f, name);
    if (!r) fail_msg("%s: no record \"%s\"", f->path, name);
    if (n != SIZE_MAX && r->n != n)
        fail_msg("%s: record \"%s\" holds %u values, expected %zu", f->path, name, r->n, n);
    return r->v;
}

static size_t fix_count(const fixture *f, const char *name)
{
    const fix_rec *r = fix_find(f, name);
    if (!r) fail_msg("%s: no record \"%s\"", f->path, name);
    return r->n;
}

/* --------------------------------------------- initial parameters (shared) */

/* splitmix64 output number i+1 from state seed, as in the script:
 * u = ((z >> 40) - 2^23) / 2^23, x = (float)(offset + scale u). */
static void init_params(float *x, size_t n, uint64_t seed, const float *seg, size_t n_seg)
{
    uint64_t s = seed;
    size_t i = 0;
    for (size_t k = 0; k < n_seg; k++) {
        size_t cnt = (size_t)seg[3 * k];
        double off = seg[3 * k + 1], scale = seg[3 * k + 2];
        for (size_t j = 0; j < cnt && i < n; j++, i++) {
            s += 0x9E3779B97F4A7C15ull;
            uint64_t z = s;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            z ^= z >> 31;
            double u = ((double)(int64_t)(z >> 40) - 8388608.0) / 8388608.0;
            double t = scale * u; /* exact: 24 x 24 bits */
            x[i] = (float)(off + t);
        }
    }
}

/* ------------------------------------------------------------ comparisons */

/* want[k] against got[idx ? idx[k] : k], k < n: fails naming the worst entry
 * and the number of entries out of tolerance. */
static void check_vec(const char *what, const char *path, const float *got,
                      const float *want, const float *idx, size_t n, double rtol,
                      double atol)
{
    size_t bad = 0, worst = 0;
    double worst_r = 0.0;
    for (size_t k = 0; k < n; k++) {
        size_t i = idx ? (size_t)idx[k] : k;
        double a = got[i], b = want[k];
        double lim = atol + rtol * fabs(b);
        double r = fabs(a - b) / lim;
        if (!(fabs(a - b) <= lim)) {
            bad++;
            if (!(r <= worst_r)) { worst_r = r; worst = k; }
        }
    }
    if (bad) {
        size_t i = idx ? (size_t)idx[worst] : worst;
        fail_msg("%s: %s: %zu of %zu entries out of tolerance (rtol %g, atol %g); "
                 "worst [%zu] = %.9g, expected %.9g", path, what, bad, n, rtol, atol, i,
                 (double)got[i], (double)want[worst]);
    }
}

/* Per-segment L2 norms of v (or of v - v0 when v0 != NULL), in double. */
static void seg_norms(double *out, const float *v, const float *v0, const float *seg, size_t n_seg)
{
    size_t pos = 0;
    for (size_t k = 0; k < n_seg; k++) {
        size_t cnt = (size_t)seg[3 * k];
        double s = 0.0;
        for (size_t j = 0; j < cnt; j++) {
            double t = (double)v[pos + j] - (v0 ? (double)v0[pos + j] : 0.0);
            s += t * t;
        }
        out[k] = sqrt(s);
        pos += cnt;
    }
}

static void check_seg(const char *what, const char *path, const double *got,
                      const float *want, size_t n_seg, double rtol, double atol)
{
    for (size_t k = 0; k < n_seg; k++)
        if (!(fabs(got[k] - want[k]) <= atol + rtol * fabs(want[k])))
            fail_msg("%s: %s of parameter tensor %zu = %.9g, expected %.9g (rtol %g, atol %g)",
                     path, what, k, got[k], (double)want[k], rtol, atol);
}

/* -------------------------------------------------------------- one case */

typedef struct opt_case {
    const char *name;      /* fixture suffix: params_NAME, NAME_loss, ... */
    samc_opt_kind kind;
    samc_step_rule rule;
    double momentum, alpha;
} opt_case;

/* The step tolerances of optimizer opt in fixture f: its record
 * "OPT_step_tol", or the defaults. */
static step_tol fix_step_tol(const fixture *f, const char *opt)
{
    step_tol t = { { RTOL_PARAMS, ATOL_PARAMS }, { RTOL_STEP_LOSS, ATOL_STEP_LOSS },
                   { RTOL_STEP, 0.0 }, { RTOL_SEG, ATOL_SEG } };
    char name[96];
    snprintf(name, sizeof name, "%s_step_tol", opt);
    if (!fix_find(f, name)) return t;
    const float *v = fix_need(f, name, 8);
    double *dst[4] = { t.params, t.step_loss, t.step, t.seg };
    for (int k = 0; k < 4; k++) {
        assert_true(v[2 * k] > 0.0f && v[2 * k + 1] >= 0.0f);
        dst[k][0] = v[2 * k];
        dst[k][1] = v[2 * k + 1];
    }
    return t;
}

static const opt_case OPTS[] = {
    { "sgd", SAMC_OPT_SGD, SAMC_STEP_SCHEDULED, 0.9, 0.0 },
    { "sam", SAMC_OPT_SAM, SAMC_STEP_SCHEDULED, 0.0, 0.0 },
    { "gsam", SAMC_OPT_GSAM, SAMC_STEP_SCHEDULED, 0.0, 0.3 },
    { "sam_polyak", SAMC_OPT_SAM, SAMC_STEP_POLYAK, 0.0, 0.0 },
};

static void run_fixture(const char *file, const char *spec)
{
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/%s", FIXTURE_DIR, file);
    fixture fx;
    if (fix_load(&fx, path, err, sizeof err) != 0) fail_msg("%s", err);

    /* the batch */
    const float *shape = fix_need(&fx, "shape", 3);
    const int K = (int)fix_need(&fx, "n_classes", 1)[0];
    const size_t nrows = fix_count(&fx, "y");
    const size_t d = (size_t)shape[0] * (size_t)shape[1] * (size_t)shape[2];
    samc_dataset ds = { 0 };
    ds.n = nrows;
    ds.d = d;
    ds.n_classes = K;
    ds.channels = (int)shape[0];
    ds.height = (int)shape[1];
    ds.width = (int)shape[2];
    ds.x = malloc(nrows * d * sizeof *ds.x);
    ds.y = malloc(nrows * sizeof *ds.y);
    assert_non_null(ds.x);
    assert_non_null(ds.y);
    memcpy(ds.x, fix_need(&fx, "x", nrows * d), nrows * d * sizeof *ds.x);
    memcpy(ds.y, fix_need(&fx, "y", nrows), nrows * sizeof *ds.y);

    /* the parameters: regenerated, checked against the stored ones */
    const size_t n_seg = fix_count(&fx, "segments") / 3;
    const float *seg = fix_need(&fx, "segments", 3 * n_seg);
    size_t n = 0;
    for (size_t k = 0; k < n_seg; k++) n += (size_t)seg[3 * k];
    const fix_rec *ir = fix_find(&fx, "index");
    const float *idx = ir ? ir->v : NULL;
    const size_t nchk = ir ? ir->n : n;
    for (size_t k = 0; idx && k < nchk; k++)
        assert_true(idx[k] >= 0.0f && (size_t)idx[k] < n);
    float *x0 = malloc(n * sizeof *x0);
    assert_non_null(x0);
    init_params(x0, n, (uint64_t)fix_need(&fx, "init_seed", 1)[0], seg, n_seg);
    check_vec("initial parameters (generator)", path, x0, fix_need(&fx, "params", nchk), idx,
              nchk, 0.0, 0.0);

    /* the model */
    samc_model *m = NULL;
    err[0] = '\0';
    samc_status st = samc_model_create_for(&m, spec, &ds, 0.0, 1, err);
    if (st != SAMC_OK) fail_msg("samc_model_create_for(\"%s\"): %s (%s)", spec, err, samc_strerror(st));
    assert_non_null(m);
    if (samc_model_n_params(m) != n)
        fail_msg("%s: samc_model_n_params = %zu, PyTorch has %zu", spec, samc_model_n_params(m), n);
    const size_t nbuf = fix_count(&fx, "buffers_init");
    if (samc_model_n_buffers(m) != nbuf)
        fail_msg("%s: samc_model_n_buffers = %zu, PyTorch has %zu", spec, samc_model_n_buffers(m), nbuf);
    const float *buf_init = fix_need(&fx, "buffers_init", nbuf);
    float *bufs = samc_model_buffers(m);
    if (nbuf) {
        assert_non_null(bufs);
        memcpy(bufs, buf_init, nbuf * sizeof *bufs);
    }

    /* evaluation-mode logits with the given running statistics */
    float *logits = malloc(nrows * (size_t)K * sizeof *logits);
    assert_non_null(logits);
    assert_int_equal(samc_model_logits(m, &ds, NULL, nrows, x0, logits), SAMC_OK);
    check_vec("logits_eval", path, logits, fix_need(&fx, "logits_eval", nrows * (size_t)K), NULL,
              nrows * (size_t)K, RTOL_LOGITS, ATOL_LOGITS);
    if (nbuf) check_vec("buffers after eval (unchanged)", path, bufs, buf_init, NULL, nbuf, 0.0, 0.0);

    /* train-mode loss, gradient and running statistics */
    float *grad = calloc(n, sizeof *grad);
    assert_non_null(grad);
    double loss = 0.0;
    samc_model_set_pass(m, 1);
    assert_int_equal(samc_model_loss_grad(m, &ds, NULL, nrows, x0, grad, 1.0, 1, &loss), SAMC_OK);
    assert_close(loss, fix_need(&fx, "loss", 1)[0], RTOL_LOSS, ATOL_LOSS);
    const double gmax = fix_need(&fx, "grad_absmax", 1)[0];
    const double gnorm_ref = fix_need(&fx, "grad_norm", 1)[0];
    assert_true(gnorm_ref > 1e-3);  /* a meaningful gradient to compare */
    double gnorm = samc_nrm2(grad, n);
    assert_close(gnorm, gnorm_ref, RTOL_SEG, ATOL_SEG);
    check_vec("grad", path, grad, fix_need(&fx, "grad", nchk), idx, nchk, RTOL_GRAD, ATOL_GRAD * gmax);
    double *segn = malloc(n_seg * sizeof *segn);
    assert_non_null(segn);
    seg_norms(segn, grad, NULL, seg, n_seg);
    check_seg("gradient norm", path, segn, fix_need(&fx, "grad_seg_norm", n_seg), n_seg, RTOL_SEG,
              ATOL_GRAD * gmax);
    if (nbuf)
        check_vec("buffers_after (running stats after one train pass)", path, bufs,
                  fix_need(&fx, "buffers_after", nbuf), NULL, nbuf, RTOL_BUF, ATOL_BUF);

    /* three steps of each optimizer on the same batch */
    double buf_tol[2] = { RTOL_BUF, ATOL_BUF };
    if (fix_find(&fx, "buffers_sam_tol")) {
        const float *v = fix_need(&fx, "buffers_sam_tol", 2);
        buf_tol[0] = v[0];
        buf_tol[1] = v[1];
    }
    samc_model_batch batch = { .model = m, .ds = &ds, .nb = ds.n, .scale = 1.0 };
    samc_oracle orc = samc_model_oracle(&batch);
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t k = 0; k < sizeof OPTS / sizeof OPTS[0]; k++) {
        const opt_case *oc = &OPTS[k];
        char name[96];
        samc_optim_params p = samc_optim_default_params();
        p.kind = oc->kind;
        p.rule = oc->rule;
        p.momentum = oc->momentum;
        p.alpha = oc->alpha;
        p.polyak_c = 1.0;
        p.polyak_cap = 1.0;
        p.polyak_lb = 0.0;
        const step_tol tol = fix_step_tol(&fx, oc->name);
        samc_optim *o = NULL;
        assert_int_equal(samc_optim_init(&o, n, &p, err), SAMC_OK);
        memcpy(x, x0, n * sizeof *x);
        if (nbuf) memcpy(bufs, buf_init, nbuf * sizeof *bufs);
        snprintf(name, sizeof name, "%s_loss", oc->name);
        const float *f_ref = fix_need(&fx, name, N_STEPS);
        snprintf(name, sizeof name, "%s_loss_perturbed", oc->name);
        const float *fp_ref = fix_need(&fx, name, N_STEPS);
        snprintf(name, sizeof name, "%s_step", oc->name);
        const float *step_ref = fix_need(&fx, name, N_STEPS);
        for (int t = 0; t < N_STEPS; t++) {
            samc_step_info info;
            st = samc_optim_step(o, &orc, x, 0.1, 0.05, &info);
            if (st != SAMC_OK) fail_msg("%s %s step %d: %s", spec, oc->name, t, samc_strerror(st));
            if (!(fabs(info.loss - f_ref[t]) <= tol.step_loss[1] + tol.step_loss[0] * fabs(f_ref[t])))
                fail_msg("%s: %s step %d: loss %.9g, expected %.9g", path, oc->name, t, info.loss,
                         (double)f_ref[t]);
            if (!(fabs(info.loss_perturbed - fp_ref[t]) <= tol.step_loss[1] + tol.step_loss[0] * fabs(fp_ref[t])))
                fail_msg("%s: %s step %d: perturbed loss %.9g, expected %.9g", path, oc->name, t,
                         info.loss_perturbed, (double)fp_ref[t]);
            if (!(fabs(info.step - step_ref[t]) <= tol.step[1] + tol.step[0] * fabs(step_ref[t])))
                fail_msg("%s: %s step %d: step size %.9g, expected %.9g", path, oc->name, t,
                         info.step, (double)step_ref[t]);
        }
        samc_optim_free(o);
        snprintf(name, sizeof name, "params_%s", oc->name);
        check_vec(name, path, x, fix_need(&fx, name, nchk), idx, nchk, tol.params[0], tol.params[1]);
        snprintf(name, sizeof name, "%s_seg_disp", oc->name);
        seg_norms(segn, x, x0, seg, n_seg);
        check_seg("displacement after 3 steps", path, segn, fix_need(&fx, name, n_seg), n_seg,
                  tol.seg[0], tol.seg[1]);
        if (oc->kind == SAMC_OPT_SAM && oc->rule == SAMC_STEP_SCHEDULED && nbuf)
            check_vec("buffers_sam (pass 2 must not update running stats)", path, bufs,
                      fix_need(&fx, "buffers_sam", nbuf), NULL, nbuf, buf_tol[0], buf_tol[1]);
    }

    free(x);
    free(segn);
    free(grad);
    free(logits);
    free(x0);
    samc_model_free(m);
    free(ds.x);
    free(ds.y);
    fix_free(&fx);
}

/* ----------------------------------------------------------------- tests */

/* The reader on files written here: a good one, a truncated one, a bad magic. */
static void test_reader(void **state)
{
    (void)state;
    char path[] = "/tmp/samc_test_fixture_XXXXXX";
    char err[512];
    fixture fx;
    static const unsigned char good[] = {
        'S', 'A', 'M', 'C', 'F', 'I', 'X', '1',
        1, 0, 0, 0, 'a', 2, 0, 0, 0, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0, /* a = 1, -2.5 */
        2, 0, 0, 0, 'b', 'c', 0, 0, 0, 0,                                            /* bc = [] */
    };
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(good, 1, sizeof good, fp), sizeof good);
    fclose(fp);
    assert_int_equal(fix_load(&fx, path, err, sizeof err), 0);
    assert_int_equal(fx.n_rec, 2);
    assert_int_equal(fix_count(&fx, "a"), 2);
    assert_true(fix_need(&fx, "a", 2)[0] == 1.0f && fix_need(&fx, "a", 2)[1] == -2.5f);
    assert_int_equal(fix_count(&fx, "bc"), 0);
    assert_null(fix_find(&fx, "c"));
    fix_free(&fx);

    for (size_t cut = 9; cut < sizeof good - 6; cut += 3) {   /* truncated */
        fp = fopen(path, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(good, 1, cut, fp), cut);
        fclose(fp);
        if (cut == 25) continue;   /* ends after the whole first record */
        assert_int_equal(fix_load(&fx, path, err, sizeof err), -1);
        assert_non_null(strstr(err, "truncated"));
    }
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite("SAMCFIX2", 1, 8, fp), 8);
    fclose(fp);
    assert_int_equal(fix_load(&fx, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "SAMCFIX1"));
    remove(path);
    assert_int_equal(fix_load(&fx, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open"));
}

static void test_softmax(void **state) { (void)state; run_fixture("softmax.bin", "softmax"); }
static void test_mlp(void **state) { (void)state; run_fixture("mlp.bin", "mlp:16,8"); }
static void test_cnn(void **state) { (void)state; run_fixture("cnn.bin", "cnn"); }
static void test_resnet8(void **state) { (void)state; run_fixture("resnet8.bin", "resnet:8"); }
static void test_wrn10_2(void **state) { (void)state; run_fixture("wrn10_2.bin", "wrn:10-2"); }
static void test_resnet18(void **state) { (void)state; run_fixture("resnet18.bin", "resnet18"); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_mlp),
        cmocka_unit_test(test_cnn),
        cmocka_unit_test(test_resnet8),
        cmocka_unit_test(test_wrn10_2),
        cmocka_unit_test(test_resnet18),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
