/*
 * samc.h -- sharpness-aware minimization in C: the public interface.
 *
 * samc trains a model by one of the SAM family of optimizers (SGD, SAM, USAM,
 * the unified-lambda perturbation, ASAM, GSAM), with either a scheduled step
 * size eta_t or a Polyak-type step size made for SAM ([PS] Oikonomou & Loizou,
 * "Adaptive Sharpness-Aware Minimization with a Polyak-type Step size", 2026),
 * and with learning-rate / rho / batch-size schedules ([IB] Harada & Iiduka,
 * "Convergence of SAM Algorithms using Increasing Batch Size and Decaying
 * Learning Rate", 2024).
 *
 * Layout of the library (one header, read top to bottom):
 *   1. status codes            samc_status, samc_strerror
 *   2. random numbers          samc_rng_*         (explicit state, checkpointable)
 *   3. the oracle              samc_oracle        (loss-and-gradient callback)
 *   4. optimizers              samc_optim_*       (SAM family + step-size rules)
 *   5. schedules               samc_lr_*, samc_rho_*, samc_batch_*  (pure functions)
 *   6. data sets               samc_data_*        (LIBSVM, CSV, synthetic, IDX,
 *                                                   CIFAR-10, NumPy; augmentation)
 *   7. models                  samc_model_*       (linear, logreg, softmax, networks;
 *                                                   their tensors by name)
 *   8. quadratic problems      samc_quad_*        (closed-form oracle for tests)
 *   9. measurements            samc_sharpness_*, samc_hessian_*, samc_measure_*  (flatness)
 *  10. the trainer             samc_trainer_*, samc_train_*  (what `samc train` runs),
 *                              the CSV columns and reader samc_csv_*, checkpoints
 *  11. run configuration       samc_config_*, samc_run_*  (the flags of `samc train`
 *                              and `samc sharpness` as one table; set-up of a run)
 *
 * Conventions: parameters and gradients are flat float arrays; every
 * reduction (norm, dot product, loss) is accumulated in double.  Functions that
 * can fail return a samc_status; the library never exits or aborts on user
 * input, and writes a human-readable cause into a caller-supplied buffer where
 * one is taken (samc_errbuf, SAMC_ERRLEN bytes).  Every *_free(NULL) is a no-op.
 */
#ifndef SAMC_H
#define SAMC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SAMC_VERSION "0.1.0"

/* ------------------------------------------------------------------ 1. status */

typedef enum samc_status {
    SAMC_OK = 0,
    SAMC_EINVAL,   /* an argument or setting out of range */
    SAMC_ENOMEM,   /* allocation failed */
    SAMC_EIO,      /* file could not be opened, read or written */
    SAMC_EFORMAT,  /* file contents malformed */
    SAMC_ENAN,     /* a loss or gradient became NaN or infinite */
    SAMC_ECALLBACK, /* a user callback returned an error */
    SAMC_EINTR     /* stopped on request (samc_train_request_stop); state saved */
} samc_status;

/* A static description of a status code ("invalid argument", ...). */
const char *samc_strerror(samc_status s);
/* sizeof of a public struct named by its type name ("samc_ckpt", "samc_oracle",
 * "samc_step_info", "samc_rng", "samc_flag"); 0 for another name.  Lets a
 * binding that declares these structs itself (python/samc) check them. */
size_t samc_struct_size(const char *name);

/* Room for one error message: a single line naming the cause. */
#define SAMC_ERRLEN 512
typedef char samc_errbuf[SAMC_ERRLEN];

/* ------------------------------------------------------------ 2. random numbers */

/* xoshiro256** seeded through splitmix64; the state is four words, so a
 * checkpoint restores a stream exactly. */
typedef struct samc_rng {
    uint64_t s[4];
} samc_rng;

void samc_rng_seed(samc_rng *r, uint64_t seed);
uint64_t samc_rng_next(samc_rng *r);
double samc_rng_uniform(samc_rng *r);            /* [0, 1) */
double samc_rng_normal(samc_rng *r);             /* N(0, 1), Box-Muller */
uint64_t samc_rng_below(samc_rng *r, uint64_t n); /* uniform on 0..n-1, unbiased */
void samc_rng_shuffle(samc_rng *r, size_t *a, size_t n); /* Fisher-Yates */

/* ------------------------------------------------------------------ 3. oracle */

/*
 * The loss-and-gradient oracle every optimizer drives (optimizers never see
 * the model, only this callback).  f_S is the loss on the current batch S.
 *
 *   loss_grad(user, x, grad, &loss, pass)
 *       sets *loss = f_S(x) and, if grad != NULL, grad[0..n) = grad f_S(x)
 *       (overwritten, not accumulated).  pass is 1 for the gradient at x_t and
 *       2 for the gradient at the perturbed point x_t + d (a model with
 *       BatchNorm must not update running statistics in pass 2).  pass 0
 *       is evaluation mode, used by the measurements (section 9).
 *       Returns 0 on success; any other value aborts the step with
 *       SAMC_ECALLBACK.
 */
typedef int (*samc_loss_grad_fn)(void *user, const float *x, float *grad,
                                 double *loss, int pass);

/*
 * Data parallel, local perturbation ("m-sharpness", docs/MATH.md section 1): each of
 * K workers holds a shard of the batch; its oracle returns the loss and
 * gradient of its shard only, and the optimizer perturbs with that local g.
 * So that every worker takes the same step, the optimizer then calls
 *
 *   reduce(user, vals, n_vals, vec, n_vec)
 *       replaces vals[0..n_vals) and vec[0..n_vec) by their (shard-size
 *       weighted) mean over the workers, in place, on every worker; every
 *       worker calls it the same number of times with the same sizes.
 *       Returns 0 on success (else the step ends with SAMC_ECALLBACK).
 *
 * once per step with five scalars, f, fp, ||g||, <gp, d> and a failure flag
 * (1 where the worker's loss_grad returned nonzero, else 0), and the vector
 * gp, and, for GSAM with alpha > 0, once more with the local direction u (it
 * depends on the local g).  The step then uses the averaged values: Polyak
 * numerator mean(fp - <gp, d>) - l*, denominator ||mean gp||^2, direction
 * mean gp (GSAM: mean u).  A worker that fails still reduces (with f = NaN
 * and zero vectors), so every worker returns the same status: SAMC_ECALLBACK
 * if any worker's callback failed (averaged flag > 0), else SAMC_ENAN if a
 * loss or gradient was not finite.  reduce = NULL (one process, or a global
 * perturbation whose oracle already averages the gradients): the local
 * values are the averages, the same step and statuses on one worker.
 */
typedef int (*samc_reduce_fn)(void *user, double *vals, size_t n_vals,
                              float *vec, size_t n_vec);

/*
 * m-sharpness in one process (docs/MATH.md section 1): with chunks > 1 the
 * optimizer splits each step into chunks parts, the way data-parallel ranks
 * with a local perturbation split it (see reduce above): for j = 0..chunks-1
 *
 *   chunk(user, j, &w)
 *       points loss_grad at part j of the batch and sets w, the part's share
 *       of the batch (the shares sum to 1); returns 0 (else SAMC_ECALLBACK),
 *
 * then passes 1 and 2 on that part with its own perturbation; the step uses
 * the share-weighted means, as after reduce.  chunk(user, -1, NULL) points
 * loss_grad back at the whole batch.  chunks <= 1: no split.
 */
typedef int (*samc_chunk_fn)(void *user, int j, double *weight);

typedef struct samc_oracle {
    size_t n;                   /* number of parameters */
    samc_loss_grad_fn loss_grad;
    void *user;
    samc_reduce_fn reduce;      /* NULL: one process (see above) */
    int chunks;                 /* m-sharpness parts (0 or 1: none) */
    samc_chunk_fn chunk;
} samc_oracle;

/* Threads for OpenMP loops and for the BLAS (n <= 0: leave the defaults). */
void samc_set_threads(int n);

/* Flat-vector reductions in double. */
double samc_dot(const float *a, const float *b, size_t n);
double samc_nrm2(const float *a, size_t n);

/* -------------------------------------------------------------- 4. optimizers */

/*
 * One step (docs/MATH.md section 1), on batch S_t:
 *   g  = grad f_S(x_t),        f  = f_S(x_t)               (pass 1)
 *   d  = perturbation(x_t, g)  with radius rho_t
 *   gp = grad f_S(x_t + d),    fp = f_S(x_t + d)           (pass 2; not for sgd)
 *   u  = direction(g, gp)
 *   u := u min(1, clip / ||u||)                            (clip > 0 only)
 *   gamma = eta_t (scheduled) or a Polyak rule below
 *   x_{t+1} = x_t - gamma * m_{t+1},  m_{t+1} = beta m_t + (u + wd x_t)
 *             (heavy ball in the PyTorch convention; beta = 0: plain SGD step;
 *             nesterov: x_{t+1} = x_t - gamma (u + wd x_t + beta m_{t+1}))
 *   or, with base ADAMW, the AdamW update of Loshchilov & Hutter 2019 with
 *   the decoupled decay x <- x (1 - gamma wd) (docs/MATH.md section 1).
 *
 * Perturbations d (norms are global L2, eps guards each division):
 *   SGD      d = 0 (pass 2 skipped; gp = g, fp = f)
 *   USAM     d = rho g
 *   SAM      d = rho g / ||g||
 *   UNIFIED  d = rho ((1 - lambda) + lambda / ||g||) g    (lambda 0: USAM, 1: SAM)
 *   ASAM     d = rho T^2 g / ||T g||,  T = |x| + asam_eta (elementwise) on
 *            weights, T = 1 on biases and BatchNorm shifts (the roles of
 *            samc_optim_set_roles; without them every parameter is a weight)
 *   GSAM     d as SAM; u = gp - alpha g_perp,
 *            g_perp = g - (<g,gp> / ||gp||^2) gp           (alpha 0: SAM)
 */
typedef enum samc_opt_kind {
    SAMC_OPT_SGD = 0,
    SAMC_OPT_SAM,
    SAMC_OPT_USAM,
    SAMC_OPT_UNIFIED,
    SAMC_OPT_ASAM,
    SAMC_OPT_GSAM
} samc_opt_kind;

/*
 * Step-size rules (docs/MATH.md section 2).  With the SAM numerator
 *     N_t = fp - l* - <gp, d>        and   D_t = ||gp||^2,
 *   SCHEDULED  gamma_t = eta_t
 *   POLYAK     gamma_t = min([N_t]_+ / (c D_t), gamma_b)   ([PS] Eq. (SAM-SPS);
 *              c = 1 is the paper's scheduler; with d = 0 it is SPS_max of
 *              Loizou et al. 2021 with constant c.  gamma_b = INFINITY and
 *              l* = f* give the deterministic form.)
 *   DECSPS     c_k = c sqrt(k+1),
 *              gamma_k = min([N_k]_+ / D_k, c_{k-1} gamma_{k-1}) / c_k,
 *              c_{-1} gamma_{-1} = c gamma_b                (Orvieto et al. 2022)
 * When D_t is zero (or so small that N_t / D_t overflows) the step is 0, never NaN.
 */
typedef enum samc_step_rule {
    SAMC_STEP_SCHEDULED = 0,
    SAMC_STEP_POLYAK,
    SAMC_STEP_DECSPS
} samc_step_rule;

/* The update that takes the direction u: SGD (heavy ball / Nesterov) or AdamW. */
typedef enum samc_base_kind { SAMC_BASE_SGD = 0, SAMC_BASE_ADAMW } samc_base_kind;

/* Which parameters weight decay applies to: all of them, or only the
 * weights (biases and BatchNorm scales and shifts exempt; needs the roles of
 * samc_optim_set_roles). */
typedef enum samc_wd_groups { SAMC_WD_ALL = 0, SAMC_WD_WEIGHTS } samc_wd_groups;

typedef struct samc_optim_params {
    samc_opt_kind kind;
    double lambda;        /* UNIFIED: mix of unnormalized / normalized, in [0,1] */
    double alpha;         /* GSAM: weight of the orthogonal component, >= 0 */
    double asam_eta;      /* ASAM: offset of T = |x| + eta_a, > 0 */
    double momentum;      /* heavy-ball beta, in [0,1) */
    double weight_decay;  /* wd >= 0: u += wd x_t in the update only */
    samc_step_rule rule;
    double polyak_c;      /* c > 0 (POLYAK: divides the Polyak step; DECSPS: c_0) */
    double polyak_cap;    /* gamma_b > 0; INFINITY for none */
    double polyak_lb;     /* l*, a lower bound of f_S */
    double eps;           /* guard added to norms in divisions, > 0 */
    int nesterov;         /* SGD base with momentum > 0: Nesterov's form */
    double clip;          /* > 0: clip ||u|| to this before the update; 0: none */
    samc_wd_groups wd_groups;
    samc_base_kind base;
    double adam_beta1, adam_beta2, adam_eps;   /* ADAMW (0.9, 0.999, 1e-8) */
} samc_optim_params;

/* SGD, no momentum, scheduled step, c = 1, gamma_b = 1, l* = 0, eta_a = 0.01,
 * lambda = 1, alpha = 0, eps = 1e-12, no clipping, decay on every parameter,
 * the SGD base (AdamW's betas 0.9, 0.999 and eps 1e-8 when chosen).
 * ADAMW takes a scheduled step only: the Polyak rules are derived for the SGD
 * base, and samc_optim_params_check refuses them with it. */
samc_optim_params samc_optim_default_params(void);

/* Checks every field; on error writes the cause into err (may be NULL). */
samc_status samc_optim_params_check(const samc_optim_params *p, char *err);

/* What one step measured; the trainer writes these into steps.csv. */
typedef struct samc_step_info {
    double loss;           /* f_S(x_t), pass 1 */
    double loss_perturbed; /* f_S(x_t + d), pass 2 (= loss for SGD) */
    double grad_norm;      /* ||g|| */
    double grad_norm_perturbed; /* ||gp|| */
    double numerator;      /* N_t = fp - l* - <gp, d> */
    double step;           /* gamma_t actually taken */
} samc_step_info;

typedef struct samc_optim samc_optim;   /* opaque: buffers and state */

samc_status samc_optim_init(samc_optim **o, size_t n, const samc_optim_params *p,
                            char *err);
void samc_optim_free(samc_optim *o);
const samc_optim_params *samc_optim_get_params(const samc_optim *o);

/* The role of each parameter, roles[i] a samc_tensor_role value (0 weight,
 * 1 bias, 2 BatchNorm scale, 3 BatchNorm shift; one byte per parameter,
 * copied), used by ASAM's scaling and the weight-decay groups.  NULL: every
 * parameter a weight (the default).  Any other value is SAMC_EINVAL. */
samc_status samc_optim_set_roles(samc_optim *o, const unsigned char *roles, char *err);

/* One step of x (length n) in place.  eta is the scheduled step size (used by
 * SCHEDULED, ignored by the Polyak rules); rho the perturbation radius.
 * info may be NULL.  Returns SAMC_ECALLBACK if the oracle's loss_grad (or
 * reduce) returned nonzero, SAMC_ENAN if a loss or gradient is not finite;
 * x and the optimizer state are then left unchanged.  With a reduce hook
 * every worker returns the same status (see samc_oracle). */
samc_status samc_optim_step(samc_optim *o, const samc_oracle *orc, float *x,
                            double eta, double rho, samc_step_info *info);

/* The pieces of a step, exposed for tests and for other drivers. */
/* d := perturbation of kind p->kind for x, g (length n); returns ||g||. */
double samc_perturbation(const samc_optim_params *p, const float *x,
                         const float *g, double rho, float *d, size_t n);
/* The Polyak step of rule POLYAK for the given numerator and ||gp||^2. */
double samc_polyak_step(const samc_optim_params *p, double numerator,
                        double gp_norm2);

/* Optimizer state for checkpoints: momentum buffer (n floats, NULL if
 * momentum is 0; AdamW's first moment), the DecSPS product c_{k-1}
 * gamma_{k-1}, the step count, and AdamW's second moment (n floats, NULL
 * for the SGD base). */
typedef struct samc_optim_state {
    float *momentum;
    double decsps_prev;
    int64_t steps;
    float *second;
} samc_optim_state;
samc_optim_state samc_optim_get_state(samc_optim *o);
void samc_optim_set_state(samc_optim *o, double decsps_prev, int64_t steps);

/* --------------------------------------------------------------- 5. schedules */

/*
 * Pure functions of the step t (0-based), total steps T, and epoch (0-based).
 *
 * Learning rate, after an optional linear warm-up from eta_init over
 * warmup steps (the base schedule then runs over t - warmup of T - warmup):
 *   CONST   eta_max
 *   COSINE  eta_min + (eta_max - eta_min)(1 + cos(pi t/T))/2
 *   POLY    eta_min + (eta_max - eta_min)(1 - t/T)^power   (LINEAR: power 1)
 *   STEP    eta_max * gamma^floor(epoch / every)
 * Progress t'/T' is clamped to [0, 1], so steps past T stay at eta_min.
 */
typedef enum samc_lr_kind {
    SAMC_LR_CONST = 0,
    SAMC_LR_COSINE,
    SAMC_LR_POLY,
    SAMC_LR_STEP
} samc_lr_kind;

typedef struct samc_lr_schedule {
    samc_lr_kind kind;
    double eta_max;
    double eta_min;
    double power;     /* POLY */
    double gamma;     /* STEP: factor per stage */
    int every;        /* STEP: epochs per stage */
    int64_t warmup;   /* warm-up steps (0 = none) */
    double eta_init;  /* warm-up start */
} samc_lr_schedule;

double samc_lr_at(const samc_lr_schedule *s, int64_t t, int64_t T, int epoch);

/* rho: CONST rho_max; PROP  rho_min + (rho_max - rho_min)(eta - eta_min)/(eta_max - eta_min)
 * (GSAM's rho following the learning rate; rho_max when eta_max == eta_min;
 * the fraction is clamped to [0, 1], so rho stays in [rho_min, rho_max]
 * during a warm-up from below eta_min). */
typedef enum samc_rho_kind { SAMC_RHO_CONST = 0, SAMC_RHO_PROP } samc_rho_kind;
typedef struct samc_rho_schedule {
    samc_rho_kind kind;
    double rho_max;
    double rho_min;
} samc_rho_schedule;

double samc_rho_at(const samc_rho_schedule *s, const samc_lr_schedule *lr,
                   double eta);

/* Batch size by stage m = floor(epoch / every):
 *   CONST  b0
 *   EXP    b0 * delta^m, capped at max (0 = no cap)
 *   POLY   round((a m + b0)^c), capped at max
 * and never more than the data set size n (n = 0: no limit).  b0 = 0 means
 * the full batch throughout. */
typedef enum samc_batch_kind {
    SAMC_BATCH_CONST = 0,
    SAMC_BATCH_EXP,
    SAMC_BATCH_POLY
} samc_batch_kind;

typedef struct samc_batch_schedule {
    samc_batch_kind kind;
    size_t b0;
    double delta;  /* EXP */
    double a, c;   /* POLY */
    int every;     /* epochs per stage */
    size_t max;    /* cap, 0 = none */
} samc_batch_schedule;

size_t samc_batch_at(const samc_batch_schedule *s, int epoch, size_t n);
/* Steps in epoch `epoch` for n samples: ceil(n / batch) (the last batch may be short). */
int64_t samc_batch_steps_in_epoch(const samc_batch_schedule *s, int epoch, size_t n);

/* Parse the command-line spec strings (docs/MATH.md section 3).  The fields the spec
 * does not name (eta_max, warmup, eta_init, rho_max, b0) are left as they
 * were; fields the chosen kind does not use get neutral values, so equal
 * specs give equal structs.  On error the struct is unchanged. */
samc_status samc_lr_schedule_parse(samc_lr_schedule *s, const char *spec, char *err);
samc_status samc_rho_schedule_parse(samc_rho_schedule *s, const char *spec, char *err);
samc_status samc_batch_schedule_parse(samc_batch_schedule *s, const char *spec, char *err);
/* Write a spec string back (for the configuration table and config.txt). */
void samc_lr_schedule_format(const samc_lr_schedule *s, char *buf, size_t len);
void samc_rho_schedule_format(const samc_rho_schedule *s, char *buf, size_t len);
void samc_batch_schedule_format(const samc_batch_schedule *s, char *buf, size_t len);

/* --------------------------------------------------------------- 6. data sets */

/*
 * A data set is n rows of d float features and one target per row, held
 * dense (x: n x d, row-major) or, for LIBSVM files, sparse (x NULL; the rows
 * in CSR form, below).  For classification the target is a class index
 * 0..n_classes-1 (labels read from a file are sorted and numbered; `labels`
 * keeps the original values); for regression n_classes is 0 and y holds the
 * values.
 *
 * Sparse rows (CSR, compressed sparse rows): row i holds the entries k in
 * [ptr[i], ptr[i+1]), value val[k] in column col32[k] (when d <= 2^32) or
 * col64[k] (otherwise; exactly one of the two is set), columns strictly
 * ascending within a row.  The offsets index the arrays as they are, so a
 * view of rows [a, b) is ptr + a with n = b - a (samc_dataset_rows).  The
 * linear models (linear, logreg, softmax) compute on these rows directly, in
 * O(nnz) per batch; the networks densify each batch's rows.
 */
typedef struct samc_dataset {
    size_t n, d;
    float *x;          /* n * d */
    float *y;          /* n: class index (as a float) or regression target */
    int n_classes;     /* 0 when targets are not a small set of integers */
    double *labels;    /* n_classes original label values, ascending */
    int channels, height, width; /* image rows: d = C*H*W, CHW order; 0 if not images */
    /* sparse rows (x == NULL): see above */
    size_t *ptr;       /* n + 1 offsets */
    uint32_t *col32;   /* column indices, d <= 2^32 */
    uint64_t *col64;   /* column indices, d > 2^32 */
    float *val;        /* values */
} samc_dataset;

/* A train set, an optional test set (test.n == 0: none) and an optional
 * validation set split off the end of the train set (val.n == 0: none). */
typedef struct samc_data {
    samc_dataset train, test;
    char name[256];
    samc_dataset val;
} samc_data;

/*
 * Load by spec string:
 *   libsvm:TRAIN[,TEST]          LIBSVM text format, 1-based sparse indices
 *   csv:TRAIN[,TEST][,label=first|last|K][,header]
 *                                numeric CSV; label column default first;
 *                                a non-numeric first line is taken as a header
 *   synth:ridge,n=N,d=D,kappa=K[,noise=S][,test=M][,seed=S]
 *                                least squares with a designed spectrum: the
 *                                Hessian A'A/n has eigenvalues spread evenly
 *                                (in log scale) from 1 down to 1/kappa, and
 *                                b = A x* + noise (noise 0: interpolation)
 *   synth:logreg,n=N,d=D,kappa=K[,noise=S][,test=M][,seed=S]
 *                                the same design, labels sign(a'x* + noise)
 *   fashion-mnist                the four gzip IDX files train-images-idx3-ubyte.gz,
 *                                train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,
 *                                t10k-labels-idx1-ubyte.gz in the data directory
 *                                (default /usr/share/datasets/fashion-mnist, from the
 *                                Debian package dataset-fashion-mnist)
 *   mnist                        the same four files in /usr/share/datasets/mnist
 *   idx:TRAIN_IMAGES,TRAIN_LABELS[,TEST_IMAGES,TEST_LABELS]
 *                                IDX files (plain or gzip), 1 x H x W images
 *   cifar10:DIR                  CIFAR-10 binary batches data_batch_1..5.bin and
 *                                test_batch.bin in DIR, 3 x 32 x 32 images
 *   cifar100:DIR[,coarse]        CIFAR-100 binary files train.bin and test.bin in
 *                                DIR, 3 x 32 x 32 images; the 100 fine labels, or
 *                                with ",coarse" the 20 super-class labels
 *   npy:X.npy,Y.npy[,XTEST.npy,YTEST.npy]
 *                                NumPy arrays: X (n,d), (n,H,W) or (n,C,H,W); Y (n,)
 * Image pixels are scaled to [0, 1] (value / 255).  On error, err names the
 * file (and line) and the cause, and data holds nothing.
 */
samc_status samc_data_load(samc_data *data, const char *spec, char *err);
void samc_data_free(samc_data *data);

/* What samc_data_load_ex does beyond reading. */
typedef struct samc_data_options {
    const char *data_dir; /* directory of fashion-mnist / mnist; NULL: default */
    size_t train_rows;    /* keep only the first train_rows rows of the train
                           * set (before the val split; 0: all); more rows
                           * than the set has is an error */
    size_t val;           /* rows split off the END of the train set into
                           * data->val (0: none); must leave one train row */
    size_t test_rows;     /* keep only the first test_rows rows of the test
                           * set (0: all); more rows than it has is an error */
    size_t shard, shards; /* shards > 1: keep only part `shard` (0-based) of
                           * shards of the train rows -- LIBSVM reads only the
                           * lines starting in that share of the file's bytes,
                           * the other readers keep rows [floor(s n/K),
                           * floor((s+1) n/K)); labels are left as read (not
                           * indexed) for the ranks to agree on them; not with
                           * train_rows, val or normalize */
    int normalize;        /* 1: standardize with train statistics (after the
                           * val split): per channel for images, per feature
                           * otherwise; applied to train, val and test.  A
                           * zero-variance channel or feature gets std 1.
                           * Centering makes sparse rows dense: they are
                           * densified first (n x d floats). */
} samc_data_options;

/* data_dir NULL, train_rows 0, val 0, test_rows 0, normalize 0. */
samc_data_options samc_data_default_options(void);

/* samc_data_load with options (opt NULL: defaults); samc_data_load(d, s, e)
 * is samc_data_load_ex(d, s, NULL, e).  Labels are indexed (over train and
 * test) before the val split, so val shares the train numbering. */
samc_status samc_data_load_ex(samc_data *data, const char *spec,
                              const samc_data_options *opt, char *err);

/* Readers used by samc_data_load, usable on their own.  d_min pads the
 * feature count (for a test file read after its train file).  LIBSVM files
 * are read into sparse rows (CSR). */
samc_status samc_read_libsvm(samc_dataset *ds, const char *path, size_t d_min, char *err);
samc_status samc_read_csv(samc_dataset *ds, const char *path, int label_col,
                          int header, char *err);   /* label_col -1: last */
/* IDX (MNIST) images (magic 0x00000803, n x H x W unsigned bytes) and labels
 * (magic 0x00000801, n unsigned bytes), plain or gzip-compressed, into ds:
 * pixels / 255, channels 1, height H, width W, y the raw label values. */
samc_status samc_read_idx(samc_dataset *ds, const char *images_path,
                          const char *labels_path, char *err);
/* CIFAR-10 binary batches in dir: data_batch_1.bin..data_batch_5.bin (test
 * 0) or test_batch.bin (test 1); records of 1 label byte (0..9) and 3072
 * pixel bytes (R, G, B planes of 32 x 32), into CHW rows / 255. */
samc_status samc_read_cifar10(samc_dataset *ds, const char *dir, int test, char *err);
/* CIFAR-100 binary files in dir: train.bin (test 0) or test.bin (test 1);
 * records of a coarse label byte (0..19), a fine label byte (0..99) and
 * 3072 pixel bytes as for CIFAR-10; y the fine label, or the coarse one if
 * coarse.  Both label bytes are checked whichever is kept. */
samc_status samc_read_cifar100(samc_dataset *ds, const char *dir, int test, int coarse,
                               char *err);
/* NumPy .npy (format 1.0, 2.0, 3.0; C order; dtypes <f4 <f8 |u1 <i4 <i8):
 * x_path of shape (n,d), (n,H,W) (1 channel) or (n,C,H,W); y_path of shape
 * (n,) (or (n,1)).  Values are taken as they are (no scaling). */
samc_status samc_read_npy(samc_dataset *ds, const char *x_path, const char *y_path,
                          char *err);
/* Number the labels of train by their sorted distinct values (at most
 * max_classes of them, integers only; otherwise n_classes = 0) and map test
 * (may be NULL) through the same table.  Called by samc_data_load. */
samc_status samc_data_index_labels(samc_dataset *train, samc_dataset *test,
                                   int max_classes, char *err);
/* 1 if ds holds its rows sparse (CSR). */
int samc_dataset_is_sparse(const samc_dataset *ds);
/* Stored entries of the rows (n * d for a dense set). */
size_t samc_dataset_nnz(const samc_dataset *ds);
/* A view of rows [first, first + n) of ds (shares its arrays: never free
 * it); first + n <= ds->n. */
samc_dataset samc_dataset_rows(const samc_dataset *ds, size_t first, size_t n);
/* Row r of ds as d dense floats into out (either storage). */
void samc_dataset_row_dense(const samc_dataset *ds, size_t r, float *out);
/* Turn a sparse data set into a dense one in place (no-op when dense);
 * SAMC_ENOMEM (ds unchanged) when n x d floats do not fit. */
samc_status samc_dataset_densify(samc_dataset *ds);
/* Pad a data set with zero feature columns up to d (no-op if d <= ds->d). */
samc_status samc_dataset_widen(samc_dataset *ds, size_t d);
void samc_dataset_free(samc_dataset *ds);

/*
 * Augmentation of nb image rows in[0 .. nb*d) (CHW, the shape of shape_of)
 * into out (in != out): per image, a crop of the image zero-padded by pad
 * pixels on each side, at offsets oy, ox uniform on 0..2*pad (the same for
 * all channels; out(c,y,x) = padded(c, y+oy, x+ox)), then, if flip, a
 * horizontal mirror with probability 1/2.  Draws per image, in this order:
 * oy, ox (only if pad > 0), the flip coin (only if flip), all from rng.
 * pad 0 and flip 0 copy.  A data set without an image shape is copied.
 */
void samc_augment_crop_flip(const samc_dataset *shape_of, const float *in, float *out,
                            size_t nb, int pad, int flip, samc_rng *rng);

/* ------------------------------------------------------------------ 7. models */

/*
 * A model maps a data batch and flat parameters to a loss and its gradient.
 *   linear   least squares: f = 1/(2|S|) sum (w'a_i + b - y_i)^2
 *   logreg   binary logistic: f = 1/|S| sum log(1 + exp(-s_i (w'a_i + b))),
 *            s_i = -1 for the smaller label, +1 for the larger
 *   softmax  multinomial logistic (cross-entropy), K classes, W is K x d
 * Each adds (l2/2)||theta||^2 over all parameters; parameters start at zero.
 * With bias = 0 the model has no bias term.
 */
typedef struct samc_model samc_model;

/* spec: "linear", "logreg" or "softmax"; d inputs; n_classes of the data. */
samc_status samc_model_create(samc_model **m, const char *spec, size_t d,
                              int n_classes, double l2, int bias, char *err);
/* The same, taking d, n_classes and the image shape from a data set (what
 * the networks need: "mlp:H1,H2,...", "cnn", "resnet:N", "resnet18", "wrn:D-K"). */
samc_status samc_model_create_for(samc_model **m, const char *spec,
                                  const samc_dataset *train, double l2, int bias,
                                  char *err);
void samc_model_free(samc_model *m);
size_t samc_model_n_params(const samc_model *m);
const char *samc_model_name(const samc_model *m);
/* Initial parameters (zero for the linear models); rng for those that draw. */
void samc_model_init_params(const samc_model *m, float *x, samc_rng *rng);
/* Floats a forward pass keeps per batch row: one per output for the convex
 * models, every activation tensor of a network (the backward pass holds as
 * many again for their gradients).  What a memory budget needs. */
size_t samc_model_row_floats(const samc_model *m);

/* Loss on rows idx[0..nb) of ds (idx NULL: rows 0..nb), including the l2
 * term.  If grad != NULL, ADDS scale * grad of the data term into grad and
 * (if add_l2) scale * l2 * x.  Returns the mean loss of the batch times scale
 * plus (if add_l2) the l2 term times scale.  Accumulating k micro-batches of
 * b rows with scale 1/k gives the gradient of one batch of k*b rows. */
samc_status samc_model_loss_grad(const samc_model *m, const samc_dataset *ds,
                                 const size_t *idx, size_t nb, const float *x,
                                 float *grad, double scale, int add_l2,
                                 double *loss);
/* Label smoothing of the cross-entropy (softmax and the networks; docs/MATH.md
 * section 1), as the SAM reference trainer's smoothed loss: the target is
 * 1 - eps on the label and eps / (K - 1) on each other class, and the loss of
 * a row is KL(target || softmax(z)), so 0 stays a lower bound (the Polyak
 * rules' l*).  It applies to every loss the model computes (training, the
 * evaluations, the measures).  eps in [0, 1); 0 (the default) is the plain
 * cross-entropy.  Other models refuse eps > 0. */
samc_status samc_model_set_label_smoothing(samc_model *m, double eps, char *err);
double samc_model_label_smoothing(const samc_model *m);
/* Which pass of a SAM step the next samc_model_loss_grad belongs to.  In
 * pass 1 BatchNorm normalizes by batch statistics and updates its running
 * statistics; in pass 2 it normalizes by batch statistics and leaves the
 * running statistics untouched (docs/MATH.md section 1).  Pass 0 is evaluation
 * mode: BatchNorm normalizes by its running statistics, and the gradient is
 * that of the evaluation-mode function (what the measurements differentiate).
 * Models without BatchNorm ignore it.  Default: 1. */
void samc_model_set_pass(samc_model *m, int pass);
/* Dropout at rate p in [0, 1) (default 0), for the models that have it:
 * wrn:D-K, between the two convolutions of each block (as the WideResNet
 * paper places it).  p > 0 on another model is an error.  In passes 1 and
 * 2 each unit is zeroed with probability p and the others scaled by
 * 1 / (1 - p); pass 0 (evaluation) is the identity.  The masks come from
 * the model's own stream, samc_model_rng (NULL while p = 0): seed it (the
 * trainer seeds it before each step from the run's seed and the step
 * number, so a resumed run draws the same masks).  Pass 2 of a SAM step uses
 * the masks of its pass 1 (the same rows in the same order): the ascent
 * direction and the gradient at the perturbed point then belong to the same
 * sampled network, so the step is SAM on that network's loss (a PyTorch
 * trainer calling the model twice draws a fresh mask in pass 2 instead).
 * A pass-1 call after any other pass begins a new step's masks. */
samc_status samc_model_set_dropout(samc_model *m, double p, char *err);
samc_rng *samc_model_rng(samc_model *m);
/* Non-trainable state (BatchNorm running means and variances), flat: it
 * belongs in a checkpoint beside the parameters.  0 / NULL when none. */
size_t samc_model_n_buffers(const samc_model *m);
float *samc_model_buffers(samc_model *m);
/* Outputs before the loss (logits, nb x K row-major; for linear and logreg
 * one column) on rows idx[0..nb), in evaluation mode. */
samc_status samc_model_logits(const samc_model *m, const samc_dataset *ds,
                              const size_t *idx, size_t nb, const float *x,
                              float *out);
/* Full-pass evaluation (evaluation mode): mean loss (with the l2 term) and
 * accuracy (NAN for regression). */
samc_status samc_model_evaluate(const samc_model *m, const samc_dataset *ds,
                                const float *x, double *loss, double *acc);

/*
 * The parameters and buffers as named tensors, the names and shapes of the
 * PyTorch state_dict of the equivalent module (what `samc export` writes):
 * linear, logreg and softmax as one nn.Linear ("weight" [rows, d], "bias"
 * [rows]; rows = 1, or K for softmax), the networks as the definitions in
 * tools/make_torch_fixtures.py name their modules ("lins.0.weight",
 * "conv1.weight", "blocks.3.shortcut.1.running_var", ...).  The table covers
 * every parameter and buffer float exactly once, in flat order (a tensor's
 * floats are x[offset .. offset+size) of the parameter vector, or of
 * samc_model_buffers when buffer = 1), and the product of shape[0..ndim) is
 * size.  PyTorch's BatchNorm also keeps a step counter, num_batches_tracked,
 * which is not a float of samc's and is not in the table.
 */
typedef enum samc_tensor_role {
    SAMC_ROLE_WEIGHT = 0,  /* linear / conv weight                       */
    SAMC_ROLE_BIAS,        /* linear / conv bias                         */
    SAMC_ROLE_BN_SCALE,    /* BatchNorm gamma (PyTorch name "...weight") */
    SAMC_ROLE_BN_SHIFT,    /* BatchNorm beta  (PyTorch name "...bias")   */
    SAMC_ROLE_BN_MEAN,     /* buffer: running mean                        */
    SAMC_ROLE_BN_VAR       /* buffer: running variance                    */
} samc_tensor_role;
typedef struct samc_tensor {
    char name[96];         /* the PyTorch state_dict name, e.g. "layer1.0.conv1.weight" */
    samc_tensor_role role;
    int buffer;            /* 1: lives in samc_model_buffers(), 0: in the parameter vector */
    size_t offset, size;   /* floats */
    int ndim;
    int64_t shape[4];      /* PyTorch shape (conv: out, in, kh, kw) */
} samc_tensor;
size_t samc_model_n_tensors(const samc_model *m);
const samc_tensor *samc_model_tensors(const samc_model *m);
/* every parameter and buffer float exactly once, in flat order */

/*
 * The model as an oracle (section 3) on a fixed batch: rows idx[0..nb) of ds
 * (idx NULL: rows 0..nb).  Each loss_grad(user = b, x, grad, &loss, pass)
 * sets the model's pass (samc_model_set_pass), zeroes grad (if not NULL),
 * and calls samc_model_loss_grad(model, ds, idx, nb, x, grad, scale, 1,
 * &loss): the batch mean with the l2 term, times scale (1 for a plain batch;
 * a data-parallel shard's share of the global batch otherwise).  nb = 0 (an
 * empty shard) gives loss 0 and a zero gradient.  The callback returns 0 on
 * success and -1 on failure; status holds the last call's samc_status.  The
 * fields may be changed between calls (a new batch each step); the oracle
 * keeps the pointer b, which must outlive it.
 */
typedef struct samc_model_batch {
    samc_model *model;
    const samc_dataset *ds;
    const size_t *idx;      /* NULL: rows 0..nb of ds */
    size_t nb;
    double scale;           /* 1.0 for the batch mean */
    samc_status status;     /* set by each call */
    int parts;              /* > 1: evaluate the rows in this many consecutive
                             * parts of floor-split sizes, one after another, each
                             * weighted by its share of the rows (gradient
                             * accumulation: the same loss and gradient up to
                             * rounding, except that BatchNorm normalizes each
                             * part by its own statistics); 0 or 1: at once */
} samc_model_batch;
samc_oracle samc_model_oracle(samc_model_batch *b);

/* -------------------------------------------------------- 8. quadratic problems */

/* f(x) = 1/2 x'Hx - b'x + c with H symmetric n x n (row-major, double).
 * An oracle for closed-form tests; f* = c - 1/2 b'H^{-1}b when H > 0. */
typedef struct samc_quad {
    size_t n;
    const double *H;
    const double *b;
    double c;
} samc_quad;
samc_oracle samc_quad_oracle(samc_quad *q);

/* ------------------------------------------------------------- 9. measurements */

/*
 * Flatness of a point w, measured through an oracle on its current batch
 * (docs/MATH.md section 4).  All of them only read w.
 *
 * Worst-case sharpness ([IB]; Andriushchenko et al. 2023):
 *     S = max_{delta in C} f(w + delta) - f(w),
 * C the L-inf or L2 ball of radius rho, or with adaptive = 1 the ball scaled
 * elementwise by |w| (delta = |w| * u, u in the ball).  Found by projected
 * ascent with an Auto-PGD-style step schedule (Croce & Hein 2020): momentum
 * 0.75, step halved at checkpoints where the ascent stalled, restart from
 * the best point; each restart starts at a uniform random point of C (at a
 * stationary point the gradient gives no direction).  delta = 0 is the
 * first candidate and the best point is kept, so S >= 0 always.
 */
typedef enum samc_ball { SAMC_BALL_LINF = 0, SAMC_BALL_L2 } samc_ball;

typedef struct samc_sharpness_params {
    samc_ball ball;
    double rho;         /* radius (2e-4) */
    int adaptive;       /* scale the ball by |w| */
    int steps;          /* ascent steps per restart (20) */
    int restarts;       /* (1) */
    int zero_start;     /* 1: the first restart starts at delta = 0 (the
                         * measure without random initialization); 0: every
                         * restart starts at a random point of the ball (0) */
    uint64_t seed;
} samc_sharpness_params;

samc_sharpness_params samc_sharpness_default_params(void);

/* S on the oracle's batch; best (length n, may be NULL) receives the
 * maximizing delta. */
samc_status samc_sharpness_worst(const samc_oracle *o, const float *w,
                                 const samc_sharpness_params *p, double *value,
                                 float *best, char *err);

/* Average-case sharpness: mean over `draws` Gaussian delta ~ N(0, rho^2 I)
 * (adaptive: scaled by |w|) of f(w + delta) - f(w), and its standard error. */
samc_status samc_sharpness_average(const samc_oracle *o, const float *w, double rho,
                                   int adaptive, int draws, uint64_t seed,
                                   double *value, double *stderr_out, char *err);

/*
 * Hessian-vector products by central differences of the oracle's gradient:
 *     H v ~ (grad f(w + h v) - grad f(w - h v)) / (2h),  h = eps / ||v||.
 * Chosen over forward-over-backward because it needs nothing of a model but
 * its gradient, so every model and every future layer has it.  Accuracy: exact
 * up to rounding for a quadratic; otherwise O(h^2 ||D^3 f||) truncation plus
 * O(u ||grad|| / h) rounding (u = 6e-8 for float gradients); eps = 1e-3 (the
 * default) balances the two for the networks here.
 */
samc_status samc_hvp(const samc_oracle *o, const float *w, const float *v, double eps,
                     float *hv, char *err);

typedef struct samc_hessian_params {
    int top_k;          /* eigenvalues wanted (1) */
    int lanczos_steps;  /* Krylov dimension (30; at most n) */
    int probes;         /* Hutchinson probes (100) */
    double eps;         /* HVP displacement (1e-3) */
    uint64_t seed;
} samc_hessian_params;

samc_hessian_params samc_hessian_default_params(void);

/* The top_k largest eigenvalues (descending) by Lanczos with full
 * reorthogonalization. */
samc_status samc_hessian_top(const samc_oracle *o, const float *w,
                             const samc_hessian_params *p, double *eig, char *err);

/* Trace by Hutchinson with Rademacher probes: mean of v'Hv and its standard
 * error. */
samc_status samc_hessian_trace(const samc_oracle *o, const float *w,
                               const samc_hessian_params *p, double *trace,
                               double *stderr_out, char *err);

/*
 * Measuring a model (what `samc sharpness` and `samc train --measure-every`
 * run): on the first n_samples rows of a data set, in evaluation mode.
 * Worst-case and average sharpness are means over batches of `batch` rows
 * (docs/MATH.md section 4: 1024 samples in batches of 128); the Hessian measures use
 * all n_samples rows as one fixed batch.
 */
typedef enum samc_measure_kind {
    SAMC_MEASURE_WORST_LINF = 0,
    SAMC_MEASURE_WORST_L2,
    SAMC_MEASURE_ADAPTIVE_LINF,
    SAMC_MEASURE_ADAPTIVE_L2,
    SAMC_MEASURE_AVG,
    SAMC_MEASURE_HESSIAN_TOP,
    SAMC_MEASURE_HESSIAN_TRACE,
    SAMC_MEASURE_GRAD_NORM,     /* ||grad f|| over the n_samples rows ([IB]'s
                                 * criterion; eval mode, in batches of `batch`) */
    SAMC_MEASURE_COUNT
} samc_measure_kind;

/* "worst_linf", "worst_l2", ..., "full_grad_norm" (the names `samc sharpness`
 * prints and the metrics.csv columns of `samc train --measure-every`). */
const char *samc_measure_name(samc_measure_kind k);

typedef struct samc_measure_params {
    unsigned which;               /* bit (1u << kind) per measure wanted */
    samc_sharpness_params sharp;  /* ball and adaptive are set per measure */
    size_t n_samples;             /* 1024 */
    size_t batch;                 /* 128 */
    int avg_draws;                /* 20 */
    samc_hessian_params hessian;
} samc_measure_params;

samc_measure_params samc_measure_default_params(void);
samc_status samc_measure_params_check(const samc_measure_params *p, char *err);

typedef struct samc_measure_result {
    double value[SAMC_MEASURE_COUNT];
    double stderr_[SAMC_MEASURE_COUNT];  /* NAN where the measure is not an estimate */
    double seconds[SAMC_MEASURE_COUNT];
} samc_measure_result;

samc_status samc_measure_model(samc_model *m, const samc_dataset *ds, const float *x,
                               const samc_measure_params *p, samc_measure_result *r,
                               char *err);

/* Eigenvalues of a symmetric tridiagonal matrix (diagonal a[0..n), off-
 * diagonal b[0..n-1)), ascending, into a (b is destroyed).  LAPACK's dsterf
 * (root-free QL/QR); SAMC_EINVAL if it does not converge. */
samc_status samc_tridiag_eigenvalues(double *a, double *b, int n);

/* ---------------------------------------------------------------- 10. trainer */

typedef struct samc_train_params {
    samc_optim_params optim;
    samc_lr_schedule lr;
    samc_rho_schedule rho;
    samc_batch_schedule batch;
    int epochs;             /* used when steps == 0 */
    int64_t steps;          /* total steps T (0: from epochs) */
    uint64_t seed;
    double l2;
    int bias;
    double dropout;         /* the model's dropout rate (samc_model_set_dropout; 0: none) */
    int threads;            /* OpenMP and BLAS threads (0: library default) */
    int augment;            /* image data: random crop (padding 4) + horizontal flip */
    int quiet;              /* `samc train`: no configuration table, no progress */
    double progress_s;      /* samc_train_run, `samc train`: a progress line at least
                             * this often (lines mode) */
    int measure_every;      /* epochs between measurements added to metrics.csv (0: none) */
    samc_measure_params measure; /* what to measure (section 9) */
    int64_t ckpt_every_steps;   /* also checkpoint every this many steps (0: no) */
    double ckpt_every_s;        /* also checkpoint every this many seconds (0: no) */
    int keep;               /* keep this many step-numbered checkpoints besides last.ckpt (0: none) */
    char data_name[128];    /* the data spec, recorded in checkpoints */
    int64_t stop_at;        /* stop as on a stop request before this step (0: never) */
    /* Data parallel (an MPI build, run under mpirun; see samc_trainer_init). */
    int perturb_local;      /* 1: each rank perturbs with its own pass-1 gradient
                             * (m-sharpness); 0: with the averaged one (global) */
    int64_t check_sync;     /* compare a checksum of the parameters across ranks
                             * every this many steps and stop if they differ (0: no) */
    /* The recipe (docs/MATH.md section 1). */
    double label_smoothing; /* eps of the smoothed cross-entropy (0: none) */
    int accumulate;         /* K >= 1: a step's batch is K micro-batches of the
                             * scheduled size b, evaluated one after another (the
                             * step of one batch of K b rows) */
    int m_sharpness;        /* M >= 1: the batch split into M chunks, each perturbed
                             * by its own gradient (one process; 1: none) */
    int data_shard;         /* 1: each rank holds and samples only its 1/K of the
                             * training rows (samc_trainer_init); 0: every rank
                             * holds all of them */
} samc_train_params;

samc_train_params samc_train_default_params(void);
samc_status samc_train_params_check(const samc_train_params *p, char *err);

/* Total steps of a run over n samples: p->steps, or the sum over epochs of
 * samc_batch_steps_in_epoch. */
int64_t samc_train_total_steps(const samc_train_params *p, size_t n);

/*
 * The trainer, in layers (what `samc train` and samc_train_run drive):
 *
 *   samc_trainer *t;
 *   st = samc_trainer_init(&t, p, data, model, out_dir, x, resume, &cb, err);
 *   while (st == SAMC_OK && !samc_trainer_done(t)) {
 *       st = samc_trainer_step(t, err);            one step, one steps.csv row
 *       if (st == SAMC_OK && samc_trainer_epoch_over(t))
 *           st = samc_trainer_end_epoch(t, err);   evaluation, measures,
 *   }                                              metrics.csv row, checkpoint
 *   if (st == SAMC_OK) st = samc_trainer_finish(t, err);   last.ckpt, final.ckpt
 *   samc_trainer_free(t);
 *
 * Files in out_dir:
 *   steps.csv, metrics.csv  one row per step / per epoch (columns: "run
 *                           output" below), flushed as written
 *   last.ckpt               the whole state (samc_ckpt) at every epoch end,
 *                           every ckpt_every_steps steps / ckpt_every_s
 *                           seconds, on a stop request and when a NaN loss
 *                           ends the run (then: the last good state)
 *   ckpt-STEP.ckpt          the newest `keep` of those, when keep > 0
 *   final.ckpt              the state at the end
 * resume = 0: from the model's initialization (x receives the result).
 * resume = 1: continue from out_dir/last.ckpt up to p's total steps; the
 * rows after the checkpoint are dropped from the CSVs, so "train N, stop,
 * resume to N+M" writes the same rows and parameters as "train N+M".  The
 * checkpoint must match the model and the training data.  The trainer keeps
 * pointers to data, model, x and cb->user; they must outlive it.
 *
 * samc_trainer_step returns SAMC_EINTR after a stop request or at
 * p->stop_at (state saved in last.ckpt, err says where), SAMC_ENAN when the
 * loss became NaN/Inf (the last good state saved).  A driver that does not
 * call samc_trainer_end_epoch still gets correct positions (the next step
 * starts the next epoch), only no evaluation and no epoch-end checkpoint.
 * The model is not const: BatchNorm running statistics change as it trains.
 * On sparse training rows with a linear model, in one process, a step takes
 * O(nonzeros of the batch) where the settings allow (docs/MATH.md section
 * 7; SAMC_SPARSE_STEP=auto|on|off in the environment, default auto); its
 * values equal samc_optim_step's to rounding.
 *
 * Data parallel: in a build with -DSAMC_MPI (make MPI=1) init, step,
 * end_epoch and finish are collectives over MPI_COMM_WORLD: every rank
 * passes the same parameters and data, and takes rows [floor(r b/K),
 * floor((r+1) b/K)) of each global batch of b rows (the batch schedule is
 * global).  perturb_local = 0: each rank's loss and gradient are scaled by
 * its share of the rows and summed over the ranks (MPI_Allreduce) in both
 * passes, so the step is the one-process step at the same global batch (up
 * to the order of float sums); perturb_local = 1: see samc_oracle.reduce.
 * Parameters stay identical on every rank; BatchNorm normalizes by each
 * rank's shard statistics and rank 0's running statistics are broadcast
 * after each step.  With p->data_shard (and data loaded by shard: the rows
 * of each rank differ) each rank draws its part of every global batch from
 * its own rows instead, the step counts and the checkpoint's identity of
 * the data come from the whole set, and the train loss is evaluated over
 * every shard.  Rank 0 alone writes the CSVs and checkpoints, evaluates,
 * and calls the callbacks; every rank reads the checkpoint on resume.  Stop
 * requests are agreed by all ranks each step; errors during set-up are
 * agreed (every rank returns the lowest failing rank's status and message);
 * a failure one rank alone sees later ends the job (MPI_Abort).
 */
typedef struct samc_trainer samc_trainer;

/* After each step. */
typedef struct samc_train_progress {
    int64_t step;           /* steps taken, this one included */
    int64_t total;          /* T */
    int64_t first_step;     /* steps taken when this trainer started (rates) */
    int epoch;              /* 0-based epoch of the step */
    size_t batch;           /* rows in the step's batch */
    double lr, rho;         /* step size taken, radius */
    const samc_step_info *info;
    double elapsed_s;       /* training time, across resumes */
} samc_train_progress;

/* At the end of an epoch (or of a run that ends inside one): the metrics.csv row. */
typedef struct samc_train_epoch {
    double epoch;           /* completed epochs (fractional inside an epoch) */
    int64_t step, total;
    size_t batch;
    double lr, rho;         /* the last step's */
    double train_loss, train_acc, test_loss, test_acc, val_loss, val_acc;  /* NAN: none */
    double elapsed_s;
    unsigned measures;      /* bits of the measure columns */
    const double *measure;  /* [SAMC_MEASURE_COUNT]: values, NAN when not measured */
} samc_train_epoch;

/* At the end of a run (samc_trainer_finish): what the steps cost. */
typedef struct samc_train_stats {
    int data_parallel;      /* an MPI build */
    int ranks;
    int perturb_local;
    double samples;         /* rows trained by this trainer */
    double step_s;          /* seconds inside steps */
    double comm_s;          /* of which in collectives */
    long comm_calls;
} samc_train_stats;

/* What the trainer reports as it goes; every member may be NULL.  Called on
 * rank 0 only. */
typedef struct samc_train_callbacks {
    void (*on_step)(void *user, const samc_train_progress *s);
    void (*on_epoch)(void *user, const samc_train_epoch *e);
    /* a checkpoint was written (path, the step it continues at) */
    void (*on_checkpoint)(void *user, const char *path, int64_t step);
    void (*on_finish)(void *user, const samc_train_stats *s);
    void *user;
} samc_train_callbacks;

samc_status samc_trainer_init(samc_trainer **t, const samc_train_params *p,
                              const samc_data *data, samc_model *model,
                              const char *out_dir, float *x, int resume,
                              const samc_train_callbacks *cb, char *err);
samc_status samc_trainer_step(samc_trainer *t, char *err);
/* 1 when a step ended the epoch or the run and samc_trainer_end_epoch is due. */
int samc_trainer_epoch_over(const samc_trainer *t);
/* 1 when every step of the run is taken. */
int samc_trainer_done(const samc_trainer *t);
samc_status samc_trainer_end_epoch(samc_trainer *t, char *err);
/* Writes out_dir/name (e.g. "last.ckpt"): the state before the next step. */
samc_status samc_trainer_save(samc_trainer *t, const char *name, char *err);
samc_status samc_trainer_finish(samc_trainer *t, char *err);
/* The loop at the top of this section, from where t stands: every step,
 * each epoch's end, samc_trainer_finish. */
samc_status samc_trainer_fit(samc_trainer *t, char *err);
/* The next step (steps taken), and T. */
int64_t samc_trainer_position(const samc_trainer *t);
int64_t samc_trainer_total(const samc_trainer *t);
void samc_trainer_free(samc_trainer *t);

/*
 * A printer of a run's progress (what `samc train` uses): epoch lines and
 * the data-parallel report on out, progress on progress -- a bar redrawn in
 * place (BAR, for a terminal: at most 4 redraws a second), or plain lines
 * (LINES: one at least every `every_s` seconds, and one per checkpoint
 * written: "  checkpoint step N: PATH"), or nothing (NONE).  Either FILE may
 * be NULL.
 */
typedef enum samc_progress_mode {
    SAMC_PROGRESS_NONE = 0,
    SAMC_PROGRESS_LINES,
    SAMC_PROGRESS_BAR
} samc_progress_mode;

typedef struct samc_train_log {
    FILE *out, *progress;
    samc_progress_mode mode;
    double every_s;
    double last_s;          /* state: when the last line was printed */
    int bar_shown;          /* state: a bar is on the progress line */
} samc_train_log;

samc_train_callbacks samc_train_log_callbacks(samc_train_log *lg);

/* Train through the layers above in one call, with the progress printer on
 * log (NULL: none; a bar when log is a terminal, else lines every
 * p->progress_s seconds; progress_s 0: epoch lines only).  Returns SAMC_EINTR
 * after a stop request (state saved). */
samc_status samc_train_run(const samc_train_params *p, const samc_data *data,
                           samc_model *model, const char *out_dir, float *x,
                           int resume, FILE *log, char *err);

/* Seconds on a monotonic clock (the trainer's and the measures' timings; src/util/clock.c). */
double samc_now_s(void);

/* mkdir -p: create dir and its missing parents; an error if dir exists and is
 * not a directory. */
samc_status samc_make_dir(const char *dir, char *err);

/* Ask a running trainer (samc_trainer_step, samc_train_run) to stop at the
 * next step boundary, save its state and return SAMC_EINTR.  Async-signal-safe: call it from a SIGINT /
 * SIGTERM handler. */
void samc_train_request_stop(void);

/* --------------------------------------------- run output: columns, CSV reader */

/*
 * The columns of OUT/steps.csv (one row per step) and the fixed columns of
 * OUT/metrics.csv (one row per epoch), in file order: the trainer writes the
 * header and every row from these tables, and readers (samc plot) find the
 * columns by these names.  metrics.csv then has one column per selected
 * measure (samc_train_params.measure_every > 0), named samc_measure_name(k)
 * for each bit k of measure.which in increasing k, format "%.9g".
 * format is the printf conversion of the value: "%lld" (an integer),
 * "%.9g" or "%.3f"; a value that is not defined is written "nan".
 */
typedef struct samc_column {
    const char *name;
    const char *meaning;
    const char *format;
} samc_column;

enum {
    SAMC_STEPS_STEP = 0, SAMC_STEPS_EPOCH, SAMC_STEPS_BATCH_SIZE, SAMC_STEPS_LR,
    SAMC_STEPS_RHO, SAMC_STEPS_LOSS, SAMC_STEPS_LOSS_PERTURBED, SAMC_STEPS_GRAD_NORM,
    SAMC_STEPS_GRAD_NORM_PERTURBED, SAMC_STEPS_POLYAK_NUMERATOR,
    SAMC_STEPS_NCOL
};
extern const samc_column samc_steps_columns[SAMC_STEPS_NCOL];

enum {
    SAMC_METRICS_EPOCH = 0, SAMC_METRICS_STEP, SAMC_METRICS_BATCH_SIZE, SAMC_METRICS_LR,
    SAMC_METRICS_RHO, SAMC_METRICS_TRAIN_LOSS, SAMC_METRICS_TRAIN_ACC,
    SAMC_METRICS_TEST_LOSS, SAMC_METRICS_TEST_ACC, SAMC_METRICS_TIME_S,
    SAMC_METRICS_VAL_LOSS, SAMC_METRICS_VAL_ACC,
    SAMC_METRICS_NCOL    /* the fixed columns; the measures follow */
};
extern const samc_column samc_metrics_columns[SAMC_METRICS_NCOL];

/*
 * A streaming reader of comma-separated files with a header line (the
 * trainer's CSVs and any other table of numbers):
 *
 *   samc_csv *c;
 *   if (samc_csv_open(&c, path, err) != SAMC_OK) ...     reads the header
 *   int k = samc_csv_col(c, "loss");                      -1: no such column
 *   const double *v;
 *   while ((st = samc_csv_next(c, &v, err)) == SAMC_OK && v) ... v[k] ...
 *   samc_csv_close(c);
 *
 * samc_csv_next gives each row's fields parsed as numbers ("nan", "-", an
 * empty field and any text that is not a number give NaN; samc_csv_field
 * has the text, samc_csv_number parses it strictly), v = NULL at the end
 * of the file.  Empty lines are skipped; a last line without its newline is
 * a row still being written (or cut by a crash) and ends the file.  A row
 * with another number of fields than the header is an error naming the
 * file and line (SAMC_EFORMAT).
 */
typedef struct samc_csv samc_csv;

samc_status samc_csv_open(samc_csv **c, const char *path, char *err);
void samc_csv_close(samc_csv *c);
int samc_csv_ncols(const samc_csv *c);
const char *samc_csv_name(const samc_csv *c, int k);     /* column k's name */
int samc_csv_col(const samc_csv *c, const char *name);   /* its index, or -1 */
const char *samc_csv_header(const samc_csv *c);          /* without the newline */
const char *samc_csv_path(const samc_csv *c);
samc_status samc_csv_next(samc_csv *c, const double **values, char *err);
/* Of the row samc_csv_next read last: the line as it is in the file (with
 * its newline), its number (the header is line 1), the text of field k. */
const char *samc_csv_line(const samc_csv *c);
long samc_csv_lineno(const samc_csv *c);
const char *samc_csv_field(const samc_csv *c, int k);
/* Field k as a number: NaN for "nan", "-" or an empty field; any other text
 * that is not a number is an error naming file, line and column. */
samc_status samc_csv_number(const samc_csv *c, int k, double *v, char *err);

/* ------------------------------------------------------------- checkpoints */

/* A checkpoint: everything a run needs to continue exactly where it stood —
 * the model spec, the parameters, the model's non-trainable buffers
 * (BatchNorm running statistics), the optimizer state (heavy-ball buffer,
 * DecSPS product, step count), the position (step, epoch, steps done in the
 * epoch), both random streams (the shuffle stream as it was at the start of
 * the epoch, the augmentation stream as it is now; a model's dropout stream
 * is seeded from the seed and the step), the elapsed time, and
 * the identity of the training data (name, rows, crc32 of its bytes). */
typedef struct samc_ckpt {
    char model[128];
    char data[128];
    uint64_t data_n;
    uint32_t data_crc;
    int64_t step;           /* steps taken */
    int epoch;              /* the epoch in progress (or completed epochs at its end) */
    int64_t epoch_step;     /* steps of that epoch already taken */
    samc_rng shuffle_rng;   /* at the start of the epoch, before its shuffle */
    samc_rng aug_rng;
    double decsps_prev;
    int64_t optim_steps;
    double elapsed_s;
    float *params;
    size_t n_params;
    float *buffers;         /* may be NULL when n_buffers == 0 */
    size_t n_buffers;
    float *momentum;        /* may be NULL when n_momentum == 0 */
    size_t n_momentum;
    /* The run's recipe, recorded (0 in files written before these fields):
     * the objective's l2 and label smoothing (what `samc sharpness`
     * measures), and the step's recipe. */
    double l2, label_smoothing, clip, adam_beta1, adam_beta2, adam_eps;
    int accumulate, m_sharpness, nesterov, wd_groups, base;
    float *second;          /* AdamW's second moment; NULL when n_second == 0 */
    size_t n_second;
} samc_ckpt;

/* Binary format (version 1): magic "SAMCCKPT", version, a 512-byte header
 * with the fields above and room to grow, the params, buffers, momentum and
 * second moment,
 * and a crc32 of everything before it; written to PATH.tmp, fsync'd and
 * renamed over PATH, so a crash leaves the old file or the new one. */
samc_status samc_ckpt_save(const char *path, const samc_ckpt *c, char *err);
/* Reads PATH into c (arrays malloc'd; samc_ckpt_free them).  A wrong magic,
 * version, size or checksum is refused with a message that says which. */
samc_status samc_ckpt_load(const char *path, samc_ckpt *c, char *err);
void samc_ckpt_free(samc_ckpt *c);
/* crc32 of a training set's bytes (x, then y): the data_crc a run records. */
uint32_t samc_ckpt_data_crc(const samc_dataset *ds);
/* The model of checkpoint c, rebuilt from its spec on the training set
 * train (data spec data_spec, and path, name them in messages) with l2:
 * refused when c was trained on other data (rows, crc32) or holds another
 * number of parameters or buffers than that model has (a linear model without
 * a bias term is recognized by its size).  c's buffers are copied into the
 * model (its parameters stay in c->params). */
samc_status samc_ckpt_model(samc_model **m, const samc_ckpt *c, const samc_dataset *train, double l2,
                            const char *path, const char *data_spec, char *err);

/* ------------------------------------------------- 11. run configuration */

/*
 * The flags of `samc train` and `samc sharpness` as one table in the library,
 * so that every front end (the samc program, the Python package) sets a run
 * up the same way: a flag is named as on the command line without its "--"
 * ("lr", "batch-schedule", "no-bias"), takes a value string ("0.1", "polyak",
 * "exp:2@1"; "on" / "off" for a switch) and sets fields of a samc_config.
 * samc_config_get writes a value back in a form samc_config_set reads, so
 * the help's defaults, the configuration table a run prints and
 * OUT/config.txt all show the live values.
 *
 * OUT/config.txt has every train flag as a "key = value" line (after a
 * comment line); '#' starts a comment; an empty value keeps the default.
 * A run's flags are resolved as defaults < OUT/config.txt (when resuming
 * OUT) < a configuration file (--config FILE) < the flags given.
 */
enum { SAMC_CMD_TRAIN = 1, SAMC_CMD_SHARPNESS = 2 };

typedef struct samc_config {
    samc_train_params p;     /* p.measure serves both commands */
    samc_data_options dopt;  /* dopt.data_dir is set from data_dir when data loads */
    char data[1024];
    char data_dir[1024];     /* "": the data set's default */
    char model[128];
    char out[1024];
    char ckpt[1024];         /* sharpness: the checkpoint */
    char format[16];         /* sharpness: table | csv | json */
    char progress[8];        /* train: auto | bar | lines | none */
    char measure_l2[32];     /* sharpness: run | 0 | VALUE (the measured objective's l2) */
} samc_config;

/* One flag.  opts is 0 in the library's table (front ends' own tables use it). */
typedef struct samc_flag {
    const char *name;        /* without the leading -- */
    const char *arg;         /* what its value is ("FILE"); NULL: a switch */
    unsigned cmds;           /* SAMC_CMD_TRAIN | SAMC_CMD_SHARPNESS */
    unsigned opts;
    const char *help;        /* lines after the first start with two spaces */
} samc_flag;

/* The defaults of both commands. */
void samc_config_defaults(samc_config *c);
/* A heap samc_config with its defaults (NULL: out of memory), for bindings. */
samc_config *samc_config_new(void);
void samc_config_free(samc_config *c);

/* Flag i of the table in its order (NULL past the end). */
const samc_flag *samc_config_flag(size_t i);
/* The flag named name[0..len) that one of cmds takes; NULL: none. */
const samc_flag *samc_config_find(unsigned cmds, const char *name, size_t len);
/* Sets flag f from value (a switch: NULL, "on", "off", "true", "false",
 * "1", "0").  Messages start with "--NAME: ". */
samc_status samc_config_set(samc_config *c, const samc_flag *f, const char *value, char *err);
/* samc_config_find + samc_config_set; an unknown name is SAMC_EINVAL. */
samc_status samc_config_set_by_name(samc_config *c, unsigned cmds, const char *name,
                                    const char *value, char *err);
/* Flag f's value as text ("" when it has none; a switch: on / off). */
void samc_config_get(const samc_config *c, const samc_flag *f, char *buf, size_t len);

/* The flags of cmd with their help and defaults, as `samc CMD --help` lists them. */
void samc_config_print_help(FILE *f, unsigned cmd);
/* Reads the "key = value" lines of path into c (keys of cmds); keys NULL:
 * every key, an unknown one an error; else only those in the NULL-ended
 * list keys.  Messages name the file and line. */
samc_status samc_config_read(samc_config *c, unsigned cmds, const char *path,
                             const char *const *keys, char *err);
/* The layers under a train run's own flags, in order: resume/config.txt
 * (and --out = resume) when resume is not NULL, then the file config when it
 * is not NULL.  Every front end then sets the flags given, which win. */
samc_status samc_config_read_bases(samc_config *c, const char *resume, const char *config, char *err);
/* c->out/config.txt, every train flag, written through a temporary. */
samc_status samc_config_write(const samc_config *c, char *err);
/* The data keys (data, data-dir, normalize, train-rows, val, test-rows)
 * of the config.txt beside checkpoint ckpt_path, when there is one: a checkpoint
 * is measured on the data its run trained on unless flags say otherwise. */
samc_status samc_config_read_run_data(samc_config *c, const char *ckpt_path, char *err);

/* c's data (c->data with c->dopt), "# loading SPEC" first on log (may be NULL). */
samc_status samc_config_load_data(const samc_config *c, samc_data *data, FILE *log, char *err);

/*
 * A training run set up from a configuration (what `samc train` and the
 * Python package's samc.train do):
 *
 *   samc_run *r;
 *   st = samc_run_prepare(&r, c, resume, log, err);   inputs, OUT, config.txt
 *   st = samc_run_start(r, &callbacks, err);          the trainer (section 10)
 *   ... samc_trainer_fit(samc_run_trainer(r), err) or its layers ...
 *   samc_run_free(r);
 *
 * prepare: resume (NULL: a new run) is the directory being continued; c
 * must then have been read from resume/config.txt (samc_config_read) and
 * c->out must be resume.  Checks the parameters, loads the data, builds the
 * model, allocates the parameter vector; with log, prints "# loading" and
 * the configuration table to it; on rank 0 creates c->out (a new run) and
 * writes c->out/config.txt.  On failure *r is NULL.  start: the trainer
 * over those inputs with c->p as it is then (a caller may still set
 * c->p.threads).  c must outlive r.
 */
typedef struct samc_run samc_run;
samc_status samc_run_prepare(samc_run **r, samc_config *c, const char *resume, FILE *log, char *err);
samc_status samc_run_start(samc_run *r, const samc_train_callbacks *cb, char *err);
samc_trainer *samc_run_trainer(const samc_run *r);
samc_model *samc_run_model(const samc_run *r);
const samc_data *samc_run_data(const samc_run *r);
void samc_run_free(samc_run *r);

/* For a driver of its own oracle (the Python package's samc.minimize), the
 * pieces of a run that c sets: the optimizer over n parameters (c->p
 * checked first); the step size eta and radius rho at step t of T in epoch
 * epoch; the batch size in an epoch and the total steps over n_data rows;
 * the stream that shuffles the rows before each epoch with samc_rng_shuffle
 * when the batch is smaller than n_data, as the trainer does (the identity
 * order shuffled afresh each epoch, the stream going on). */
samc_status samc_config_optim(const samc_config *c, size_t n, samc_optim **o, char *err);
void samc_config_schedules(const samc_config *c, int64_t t, int64_t T, int epoch, double *eta, double *rho);
size_t samc_config_batch(const samc_config *c, int epoch, size_t n_data);
int64_t samc_config_total_steps(const samc_config *c, size_t n_data);
void samc_config_shuffle_rng(const samc_config *c, samc_rng *r);

/* The model of checkpoint ck (read from c->ckpt) on data, c's data loaded,
 * which must be the data it was trained on (rows and crc32), built with
 * c->p.l2 and c->p.bias, its BatchNorm buffers from ck; a model that does
 * not hold ck's numbers of parameters and buffers is refused.  data NULL:
 * c's data is loaded for it (and freed). */
samc_status samc_config_checkpoint_model(const samc_config *c, const samc_ckpt *ck, const samc_data *data,
                                         samc_model **m, char *err);
/* `samc sharpness`: the checkpoint c->ckpt measured on c's data (which must
 * be the data it trained on) with c->p.measure; model (may be NULL, 128
 * bytes) receives the checkpoint's model spec. */
samc_status samc_config_measure(const samc_config *c, samc_measure_result *r, char *model, char *err);

#ifdef __cplusplus
}
#endif
#endif /* SAMC_H */
