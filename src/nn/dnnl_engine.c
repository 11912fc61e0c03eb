/*
 * dnnl_engine.c -- the fast engine of the networks: every layer of an nn_net
 * (net_internal.h) as a oneDNN primitive (Debian's libdnnl, its C API
 * dnnl.h), run on the whole batch from the calling thread; oneDNN spreads
 * each primitive over the OpenMP threads samc runs with (samc_set_threads /
 * OMP_NUM_THREADS).  The reference engine (network.c) stays; README,
 * "Performance", says how to choose (SAMC_ENGINE=ref|dnnl).
 *
 * Layouts.  Every activation is kept in the layout its producer chose
 * (convolutions and inner products are created with "any" layouts; BatchNorm,
 * pooling, ReLU and the residual add keep their input's), so between layers
 * nothing is reordered.  A reorder is inserted only where a consumer wants a
 * different layout than it is given (the network input is plain NCHW; the
 * logits are plain [N][K]), and for the parameters: the flat parameter
 * buffer holds weights in OIHW / [out][in] order, reordered into the
 * primitive's layout each pass (the parameters change every pass), and each
 * weight gradient is reordered back and ADDED into the flat gradient buffer
 * by one reorder with a sum post-op.  A ReLU after a convolution, an inner
 * product or the residual add is a post-op of that primitive; its backward
 * is the ReLU backward from its output, in place on the gradient.  A ReLU
 * after BatchNorm is BatchNorm's own fused ReLU; the backward of a ReLU
 * feeding a max pool is folded into the pool's.  Two things run on loops
 * of this file instead of oneDNN (it was slower on both here): the max pool
 * (over the blocked layout, vectorized across the channel block) and
 * same-layout copies and sums of gradients.
 *
 * Gradients of activations are not zeroed: walking the layers backwards the
 * first layer to produce a tensor's gradient writes it, later ones (fan-out)
 * add theirs through a scratch tensor and a summing reorder.
 *
 * Reuse.  Primitives and memory objects are created once per (batch size,
 * thread count) -- a "set", DN_SETS of them cached -- at nn_net_reserve; a
 * forward or backward pass then only binds the parameter / gradient pointers
 * and executes.  All activations, their gradients, weight copies and the
 * primitives' scratchpads (user-managed, one region per set) live in ONE
 * arena shared by the sets (one set runs at a time), grown only when a set
 * needs more.  BatchNorm: batch statistics (oneDNN's mean and biased
 * variance) in training, the running statistics (updated here, in double,
 * only when asked: SAM's first pass) in evaluation.
 *
 * Threads and determinism.  oneDNN sizes its work split and scratchpads by
 * omp_get_max_threads() when a primitive is made, so a set belongs to one
 * thread count, and runs with exactly that count; a batch too small to pay
 * for a team runs on one thread (the reference engine's rule).  At a fixed
 * thread count and batch size every result is the same run to run; across
 * batch sizes oneDNN's kernels may block differently (same values up to
 * rounding).
 */
#include "nn/net_internal.h"
#include "util/mem.h"

#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

typedef struct nn_dnnl nn_dnnl;

#define DN_SETS 4
#define DN_ALIGN 64
#define DN_MAXARGS 12

enum { W_TRAIN = 1, W_EVAL = 2, W_ALL = 3, W_UPDATE = 4 };  /* when a step runs */
enum { K_ARENA, K_TEMP, K_SCRATCH, K_PARAM, K_GRAD, K_FIXED }; /* what a memory points into */
enum { S_PRIM, S_BN_RUN, S_POOL_FWD, S_POOL_BWD, S_COPY, S_DROP };

/* A layout the max pool below walks: element (n, c, h, w) at
 * n sn + (c / X) sc + h sh + w sw + c % X (X channels innermost, 1 for a
 * plain layout); CB blocks of X channels (the channels padded). */
typedef struct dn_geo {
    dnnl_dim_t sn, sc, sh, sw;
    int X, CB;
} dn_geo;
enum { FUSE_NONE, FUSE_POST, FUSE_BN };

typedef struct dn_mem {
    dnnl_memory_t m;
    int kind;
    size_t off;   /* bytes into the arena (K_ARENA), floats into params / grad */
} dn_mem;

typedef struct dn_step {
    int kind, when;
    dnnl_primitive_t prim;
    int nargs;
    dnnl_exec_arg_t args[DN_MAXARGS];
    int layer;        /* S_BN_RUN: the BatchNorm layer; its batch statistics at;
                       * S_DROP: the dropout layer */
    size_t stat_off;  /* these arena bytes (mean [C], then variance [C]) */
    dnnl_memory_t m[3];  /* S_POOL_*: x, y (forward); x, dy, dx (backward) */
    int relu;            /* S_POOL_BWD: with the ReLU before it (relu_into_pool) */
    int sum;             /* S_COPY: m[1] = m[0] (+= m[0] if sum), n floats */
    size_t n;
    dn_geo g[2];         /* S_POOL_*: the layouts of x and of y / dy; S_DROP: of m[0] */
} dn_step;

typedef struct dn_list {
    dn_step *s;
    int n;
    size_t cap;
} dn_list;

/* The pending summing reorder of a scratch gradient into a tensor's. */
typedef struct dn_pend {
    dnnl_memory_t tmp;
    dnnl_memory_desc_t md;
    int root, sum;
} dn_pend;

typedef struct dn_set {
    int N, T, grad;
    unsigned long used;
    int failed;                /* a oneDNN call failed while building */
    size_t bump;               /* arena bytes handed out */
    size_t temp_bytes, scratch_bytes, temp_off, scratch_off, bytes;
    dn_list fwd, bwd;
    dn_mem *mem;
    int n_mem;
    size_t cap_mem;
    void *bound;               /* the arena the K_ARENA memories point into */
    /* per tensor (an alias has its root's) */
    dnnl_memory_desc_t *md;
    size_t *off;
    dnnl_memory_t *tm, *dm;    /* activation, gradient */
    int *written;              /* backward build: gradient written yet */
    int *shared;               /* backward build: add_shares */
    /* per layer, from the forward build to the backward one */
    dnnl_primitive_desc_t *pd, *pd_eval;
    dnnl_memory_t *src;        /* the source as the forward read it */
    dnnl_memory_t *ws;         /* max pool workspace */
    dnnl_memory_t (*bnm)[4];   /* BN: batch mean, var; running mean, var */
    dnnl_memory_t (*bnws)[2];  /* BN with a fused ReLU: its workspaces (train, eval) */
    int *fused;                /* a ReLU fused into the layer before it */
} dn_set;

struct nn_dnnl {
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    dn_set *sets[DN_SETS];
    dn_set *cur;
    unsigned long clock;
    void *arena;
    size_t arena_bytes;
};

/* ------------------------------------------------------------ small parts */

static int root_of(const nn_net *net, int t)
{
    return net->tensors[t].alias >= 0 ? net->tensors[t].alias : t;
}

static size_t round_up(size_t n) { return (n + DN_ALIGN - 1) / DN_ALIGN * DN_ALIGN; }

static size_t take(dn_set *s, size_t bytes)
{
    size_t at = s->bump;
    s->bump += round_up(bytes ? bytes : 1);
    return at;
}


static int ok(dn_set *s, dnnl_status_t st)
{
    if (st != dnnl_success) s->failed = 1;
    return st == dnnl_success;
}

/* A memory object of md pointing into (kind, off), bound later; for
 * K_FIXED, off is ignored and the handle is h.  NULL once s failed. */
static dnnl_memory_t mem(nn_net *net, dn_set *s, const dnnl_memory_desc_t *md, int kind,
                         size_t off, void *h)
{
    if (s->failed) return NULL;
    if (!samc_grow((void **)&s->mem, &s->cap_mem, (size_t)s->n_mem + 1, sizeof *s->mem)) {
        s->failed = 1;
        return NULL;
    }
    dnnl_memory_t m;
    if (!ok(s, dnnl_memory_create(&m, md, net->dn->eng, kind == K_FIXED ? h : NULL)))
        return NULL;
    s->mem[s->n_mem++] = (dn_mem){ m, kind, off };
    return m;
}

/* A new arena buffer of md. */
static dnnl_memory_t buffer(nn_net *net, dn_set *s, const dnnl_memory_desc_t *md)
{
    return mem(net, s, md, K_ARENA, take(s, dnnl_memory_desc_get_size(md)), NULL);
}

static void md_init(dn_set *s, dnnl_memory_desc_t *md, int nd, const dnnl_dim_t *dims,
                    dnnl_format_tag_t tag)
{
    ok(s, dnnl_memory_desc_init_by_tag(md, nd, dims, dnnl_f32, tag));
}

static dnnl_format_tag_t plain_tag(int nd)
{
    return nd == 1 ? dnnl_a : nd == 2 ? dnnl_ab : dnnl_abcd;
}

/* The plain (row-major) layout of md's dims. */
static void md_plain(dn_set *s, dnnl_memory_desc_t *out, const dnnl_memory_desc_t *md)
{
    md_init(s, out, md->ndims, md->dims, plain_tag(md->ndims));
}

static dnnl_memory_desc_t query(const_dnnl_primitive_desc_t pd, dnnl_query_t what)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, what, 0);
    dnnl_memory_desc_t out;
    if (md) out = *md;
    else memset(&out, 0, sizeof out);
    return out;
}

static int same(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
    return dnnl_memory_desc_equal(a, b);
}

/* A primitive descriptor for op (user scratchpad; a ReLU post-op if relu, a
 * sum post-op if sum); NULL (s failed) if oneDNN has none. */
static dnnl_primitive_desc_t make_pd(nn_net *net, dn_set *s, const void *op, int relu,
                                     const_dnnl_primitive_desc_t hint,
                                     const dnnl_memory_desc_t *rsrc,
                                     const dnnl_memory_desc_t *rdst, int sum)
{
    if (s->failed) return NULL;
    dnnl_primitive_attr_t attr;
    dnnl_primitive_desc_t pd = NULL;
    if (!ok(s, dnnl_primitive_attr_create(&attr))) return NULL;
    ok(s, dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    if (relu || sum) {
        dnnl_post_ops_t po;
        if (ok(s, dnnl_post_ops_create(&po))) {
            if (relu) ok(s, dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.f, 0.f));
            if (sum) ok(s, dnnl_post_ops_append_sum(po, 1.0f));
            ok(s, dnnl_primitive_attr_set_post_ops(attr, po));
            dnnl_post_ops_destroy(po);
        }
    }
    dnnl_status_t st;
    if (rsrc)
        st = dnnl_reorder_primitive_desc_create(&pd, rsrc, net->dn->eng, rdst, net->dn->eng, attr);
    else
        st = dnnl_primitive_desc_create(&pd, op, attr, net->dn->eng, hint);
    dnnl_primitive_attr_destroy(attr);
    if (!ok(s, st) || s->failed) {
        if (pd) dnnl_primitive_desc_destroy(pd);
        return NULL;
    }
    return pd;
}

static dnnl_primitive_desc_t op_pd(nn_net *net, dn_set *s, const void *op, int relu,
                                   const_dnnl_primitive_desc_t hint)
{
    return make_pd(net, s, op, relu, hint, NULL, NULL, 0);
}

/* Appends a zeroed step; NULL (s failed) out of memory. */
static dn_step *push_step(dn_set *s, dn_list *l, int kind, int when)
{
    if (!samc_grow((void **)&l->s, &l->cap, (size_t)l->n + 1, sizeof *l->s)) {
        s->failed = 1;
        return NULL;
    }
    dn_step *st = &l->s[l->n++];
    memset(st, 0, sizeof *st);
    st->kind = kind;
    st->when = when;
    return st;
}

/* Appends a step executing pd's primitive (with its scratchpad); the caller
 * adds the other arguments.  NULL once s failed. */
static dn_step *add_prim(nn_net *net, dn_set *s, dn_list *l, const_dnnl_primitive_desc_t pd,
                         int when)
{
    if (s->failed || !pd) {
        s->failed = 1;
        return NULL;
    }
    dn_step *st = push_step(s, l, S_PRIM, when);
    if (!st) return NULL;
    if (!ok(s, dnnl_primitive_create(&st->prim, pd))) {
        l->n--;
        return NULL;
    }
    dnnl_memory_desc_t sp = query(pd, dnnl_query_scratchpad_md);
    size_t sz = dnnl_memory_desc_get_size(&sp);
    if (sz > 0) {
        if (sz > s->scratch_bytes) s->scratch_bytes = sz;
        dnnl_memory_t m = mem(net, s, &sp, K_SCRATCH, 0, NULL);
        st->args[st->nargs++] = (dnnl_exec_arg_t){ DNNL_ARG_SCRATCHPAD, m };
    }
    return st;
}

static void arg(dn_step *st, int which, dnnl_memory_t m)
{
    if (st && m && st->nargs < DN_MAXARGS) st->args[st->nargs++] = (dnnl_exec_arg_t){ which, m };
}

/* dst (md dmd) = src (md smd), or += if sum; in one layout by the loop of
 * copy_run (oneDNN's reorder took its slow generic path for these). */
static void reorder(nn_net *net, dn_set *s, dn_list *l, int when, dnnl_memory_t src,
                    const dnnl_memory_desc_t *smd, dnnl_memory_t dst,
                    const dnnl_memory_desc_t *dmd, int sum)
{
    if (same(smd, dmd)) {
        dn_step *st = push_step(s, l, S_COPY, when);
        if (!st) return;
        st->m[0] = src;
        st->m[1] = dst;
        st->sum = sum;
        st->n = dnnl_memory_desc_get_size(smd) / sizeof(float);
        return;
    }
    dnnl_primitive_desc_t pd = make_pd(net, s, NULL, 0, NULL, smd, dmd, sum);
    dn_step *st = add_prim(net, s, l, pd, when);
    arg(st, DNNL_ARG_FROM, src);
    arg(st, DNNL_ARG_TO, dst);
    if (pd) dnnl_primitive_desc_destroy(pd);
}

/* The data of (have, hmd) in layout want: have itself, or a new buffer
 * filled by a reorder step. */
static dnnl_memory_t convert(nn_net *net, dn_set *s, dn_list *l, dnnl_memory_t have,
                             const dnnl_memory_desc_t *hmd, const dnnl_memory_desc_t *want)
{
    if (same(hmd, want)) return have;
    dnnl_memory_t m = buffer(net, s, want);
    reorder(net, s, l, W_ALL, have, hmd, m, want, 0);
    return m;
}

/* Parameters [off ...) of the flat buffer (kind K_PARAM or K_GRAD) in
 * layout want: the plain memory of dims, reordered into a buffer of want
 * (parameters), or the plain memory itself. */
static dnnl_memory_t param(nn_net *net, dn_set *s, int kind, size_t off, int nd,
                           const dnnl_dim_t *dims, dnnl_memory_desc_t *plain)
{
    md_init(s, plain, nd, dims, plain_tag(nd));
    return mem(net, s, plain, kind, off, NULL);
}

static dnnl_memory_t weights_in(nn_net *net, dn_set *s, dn_list *l, size_t off,
                                const dnnl_memory_desc_t *want)
{
    dnnl_memory_desc_t plain;
    dnnl_memory_t p = param(net, s, K_PARAM, off, want->ndims, want->dims, &plain);
    return convert(net, s, l, p, &plain, want);
}

/* grad [off ...) (plain) += the gradient in (m, md), by a summing reorder. */
static void grad_out(nn_net *net, dn_set *s, dn_list *l, int when, dnnl_memory_t m,
                     const dnnl_memory_desc_t *md, size_t off)
{
    dnnl_memory_desc_t plain;
    dnnl_memory_t g = param(net, s, K_GRAD, off, md->ndims, md->dims, &plain);
    reorder(net, s, l, when, m, md, g, &plain, 1);
}

/* ---------------------------------------------------------------- max pool */

/* oneDNN's max pool ran at a fraction of the memory speed here; this one
 * walks blocked or plain layouts directly, X channels at a time (so it
 * vectorizes over the block), with the reference kernel's rule: the first
 * maximum in row-major window order, a NaN winning.  No workspace: the
 * backward finds the arg max again from x. */
#define POOL_MAX_X 64

static int geo_of(const dnnl_memory_desc_t *md, dn_geo *g)
{
    if (md->format_kind != dnnl_blocked || md->ndims != 4 || md->offset0 != 0) return 0;
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    if (b->inner_nblks == 0) g->X = 1;
    else if (b->inner_nblks == 1 && b->inner_idxs[0] == 1 && b->inner_blks[0] <= POOL_MAX_X)
        g->X = (int)b->inner_blks[0];
    else
        return 0;
    g->sn = b->strides[0];
    g->sc = b->strides[1];
    g->sh = b->strides[2];
    g->sw = b->strides[3];
    g->CB = (int)((md->padded_dims[1] + g->X - 1) / g->X);
    return 1;
}

/* Whether v replaces the maximum m so far. */
static int pool_wins(float v, float m)
{
    return v > m || (v != v && m == m);
}

/* The sizes of a pool over one plane of X-channel blocks. */
typedef struct pool_dims {
    int H, W, Ho, Wo, k, s, X;
    int relu;   /* x is a ReLU's output whose backward is folded in here */
} pool_dims;

/* One (sample, channel block) plane: y = the window maxima.  X is a
 * constant where the callers below inline it (the common block sizes). */
static inline __attribute__((always_inline)) void
plane_fwd_x(const float *x, const dn_geo *gi, float *y, const dn_geo *go, const pool_dims *d,
            const int X)
{
    float mx[POOL_MAX_X];
    for (int oh = 0; oh < d->Ho; oh++)
        for (int ow = 0; ow < d->Wo; ow++) {
            const float *xw = x + oh * d->s * gi->sh + ow * d->s * gi->sw;
            for (int l = 0; l < X; l++) mx[l] = xw[l];
            for (int i = 0; i < d->k; i++)
                for (int j = 0; j < d->k; j++) {
                    const float *restrict p = xw + i * gi->sh + j * gi->sw;
                    #pragma omp simd
                    for (int l = 0; l < X; l++) mx[l] = pool_wins(p[l], mx[l]) ? p[l] : mx[l];
                }
            float *restrict yo = y + oh * go->sh + ow * go->sw;
            for (int l = 0; l < X; l++) yo[l] = mx[l];
        }
}

/* One plane: dy at each window's arg max (the first maximum in row-major
 * window order, per lane), 0 elsewhere.  When the windows tile the plane
 * exactly every dx is written once; else dx is zeroed and added into. */
static inline __attribute__((always_inline)) void
plane_bwd_x(const float *x, const dn_geo *gi, const float *dy, const dn_geo *go, float *dx,
            const pool_dims *d, const int X)
{
    const int tile = d->k == d->s && d->Ho * d->k == d->H && d->Wo * d->k == d->W;
    if (!tile)
        for (int ih = 0; ih < d->H; ih++)
            for (int iw = 0; iw < d->W; iw++)
                memset(dx + ih * gi->sh + iw * gi->sw, 0, (size_t)X * sizeof *dx);
    float mx[POOL_MAX_X];
    int arg[POOL_MAX_X];
    for (int oh = 0; oh < d->Ho; oh++)
        for (int ow = 0; ow < d->Wo; ow++) {
            const dnnl_dim_t w0 = oh * d->s * gi->sh + ow * d->s * gi->sw;
            for (int l = 0; l < X; l++) {
                mx[l] = x[w0 + l];
                arg[l] = 0;
            }
            for (int i = 0; i < d->k; i++)
                for (int j = 0; j < d->k; j++) {
                    const float *restrict p = x + w0 + i * gi->sh + j * gi->sw;
                    const int at = i * d->k + j;
                    #pragma omp simd
                    for (int l = 0; l < X; l++) {
                        const int w = pool_wins(p[l], mx[l]);
                        mx[l] = w ? p[l] : mx[l];
                        arg[l] = w ? at : arg[l];
                    }
                }
            const float *restrict dyo = dy + oh * go->sh + ow * go->sw;
            float g[POOL_MAX_X];
            /* the folded ReLU backward: the maximum is the ReLU's output */
            for (int l = 0; l < X; l++) g[l] = !d->relu || mx[l] > 0.0f ? dyo[l] : 0.0f;
            for (int i = 0; i < d->k; i++)
                for (int j = 0; j < d->k; j++) {
                    float *restrict q = dx + w0 + i * gi->sh + j * gi->sw;
                    const int at = i * d->k + j;
                    if (tile) {
                        #pragma omp simd
                        for (int l = 0; l < X; l++) q[l] = arg[l] == at ? g[l] : 0.0f;
                    } else {
                        #pragma omp simd
                        for (int l = 0; l < X; l++) q[l] += arg[l] == at ? g[l] : 0.0f;
                    }
                }
        }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
static void plane_fwd(const float *x, const dn_geo *gi, float *y, const dn_geo *go,
                      const pool_dims *d)
{
    switch (d->X) {
    case 16: plane_fwd_x(x, gi, y, go, d, 16); break;
    case 8: plane_fwd_x(x, gi, y, go, d, 8); break;
    default: plane_fwd_x(x, gi, y, go, d, d->X); break;
    }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
static void plane_bwd(const float *x, const dn_geo *gi, const float *dy, const dn_geo *go,
                      float *dx, const pool_dims *d)
{
    switch (d->X) {
    case 16: plane_bwd_x(x, gi, dy, go, dx, d, 16); break;
    case 8: plane_bwd_x(x, gi, dy, go, dx, d, 8); break;
    default: plane_bwd_x(x, gi, dy, go, dx, d, d->X); break;
    }
}

static pool_dims pool_dims_of(const nn_net *net, const nn_layer *L, int X, int relu)
{
    const nn_tensor *ti = &net->tensors[L->in], *to = &net->tensors[L->out];
    return (pool_dims){ ti->H, ti->W, to->H, to->W, L->k, L->s, X, relu };
}

/* The forward (S_POOL_FWD) or backward (S_POOL_BWD) step, a plane per task. */
static void pool_run(const nn_net *net, const dn_set *s, const dn_step *st)
{
    const pool_dims d = pool_dims_of(net, &net->layers[st->layer], st->g[0].X, st->relu);
    const dn_geo *gi = &st->g[0], *go = &st->g[1];
    void *h[3] = { NULL, NULL, NULL };
    for (int k = 0; k < 3; k++)
        if (st->m[k]) dnnl_memory_get_data_handle(st->m[k], &h[k]);
    const long long nb = (long long)s->N * gi->CB;
    const int fwd = st->kind == S_POOL_FWD;
    #pragma omp parallel for num_threads(s->T) schedule(static)
    for (long long q = 0; q < nb; q++) {
        const dnnl_dim_t n = q / gi->CB, cb = q % gi->CB;
        const dnnl_dim_t oi = n * gi->sn + cb * gi->sc, oo = n * go->sn + cb * go->sc;
        if (fwd)
            plane_fwd((const float *)h[0] + oi, gi, (float *)h[1] + oo, go, &d);
        else
            plane_bwd((const float *)h[0] + oi, gi, (const float *)h[1] + oo, go,
                      (float *)h[2] + oi, &d);
    }
}

/* ----------------------------------------------------------- forward build */

/* The output tensor t of a layer gets the layout md and a buffer. */
static void produce(nn_net *net, dn_set *s, int t, const dnnl_memory_desc_t *md)
{
    s->md[t] = *md;
    s->off[t] = take(s, dnnl_memory_desc_get_size(md));
    s->tm[t] = mem(net, s, md, K_ARENA, s->off[t], NULL);
}

static void dims4(const nn_net *net, int t, int N, dnnl_dims_t d)
{
    const nn_tensor *x = &net->tensors[t];
    d[0] = N;
    d[1] = x->C;
    d[2] = x->H;
    d[3] = x->W;
}

static void any4(dn_set *s, dnnl_memory_desc_t *md, const dnnl_dim_t *d)
{
    md_init(s, md, 4, d, dnnl_format_tag_any);
}

/* A convolution's descriptors: source, weights, destination in "any"
 * layout, the bias plain; strides and padding. */
typedef struct conv_mds {
    dnnl_memory_desc_t src, w, b, dst;
    dnnl_dims_t st, pad;
} conv_mds;

static void conv_init(const nn_net *net, dn_set *s, const nn_layer *L, conv_mds *c)
{
    const nn_conv_geom *g = &L->g;
    dnnl_dims_t sd, dd, wd = { g->Co, g->C, g->k, g->k }, bd = { g->Co };
    dims4(net, L->in, s->N, sd);
    dims4(net, L->out, s->N, dd);
    any4(s, &c->src, sd);
    any4(s, &c->w, wd);
    any4(s, &c->dst, dd);
    md_init(s, &c->b, 1, bd, dnnl_a);
    c->st[0] = c->st[1] = g->stride;
    c->pad[0] = c->pad[1] = g->pad;
}

static void fwd_conv(nn_net *net, dn_set *s, int i)
{
    const nn_layer *L = &net->layers[i];
    conv_mds c;
    conv_init(net, s, L, &c);
    dnnl_memory_desc_t smd = c.src, wmd = c.w, bmd = c.b, dmd = c.dst;
    const int has_b = L->b_off != NO_OFF;
    const dnnl_dim_t *st = c.st, *pad = c.pad;
    dnnl_convolution_desc_t cd;
    if (!ok(s, dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training,
                                                  dnnl_convolution_direct, &smd, &wmd,
                                                  has_b ? &bmd : NULL, &dmd, st, pad, pad)))
        return;
    dnnl_primitive_desc_t pd = op_pd(net, s, &cd, s->fused[i + 1] == FUSE_POST, NULL);
    if (!pd) return;
    s->pd[i] = pd;
    dnnl_memory_desc_t want = query(pd, dnnl_query_src_md), wq = query(pd, dnnl_query_weights_md);
    s->src[i] = convert(net, s, &s->fwd, s->tm[L->in], &s->md[L->in], &want);
    dnnl_memory_t w = weights_in(net, s, &s->fwd, L->w_off, &wq);
    dnnl_memory_desc_t out = query(pd, dnnl_query_dst_md);
    produce(net, s, L->out, &out);
    dn_step *stp = add_prim(net, s, &s->fwd, pd, W_ALL);
    arg(stp, DNNL_ARG_SRC, s->src[i]);
    arg(stp, DNNL_ARG_WEIGHTS, w);
    if (has_b) arg(stp, DNNL_ARG_BIAS, mem(net, s, &bmd, K_PARAM, L->b_off, NULL));
    arg(stp, DNNL_ARG_DST, s->tm[L->out]);
}

/* Inner product over the tensor flattened in CHW order (2-D or 4-D source;
 * weights [out][in], i.e. OIHW for a 4-D source). */
static void ip_dims(const nn_net *net, const dn_set *s, int i, dnnl_dims_t wd,
                    dnnl_dims_t dd)
{
    const nn_layer *L = &net->layers[i];
    const dnnl_memory_desc_t *x = &s->md[L->in];
    wd[0] = L->n_out;
    for (int k = 1; k < x->ndims; k++) wd[k] = x->dims[k];
    dd[0] = s->N;
    dd[1] = L->n_out;
}

static void fwd_linear(nn_net *net, dn_set *s, int i)
{
    const nn_layer *L = &net->layers[i];
    const int nd = s->md[L->in].ndims;
    dnnl_dims_t wd, dd, bd = { L->n_out };
    ip_dims(net, s, i, wd, dd);
    dnnl_memory_desc_t smd, wmd, bmd, dmd;
    /* plain source and weights (oneDNN's own choices, blocked or transposed
     * weights, ran 2-3x slower here; the backward passes want the plain
     * source anyway, and plain weights are the flat buffer's, unreordered) */
    md_plain(s, &smd, &s->md[L->in]);
    md_init(s, &wmd, nd, wd, plain_tag(nd));
    md_init(s, &bmd, 1, bd, dnnl_a);
    md_init(s, &dmd, 2, dd, dnnl_ab);
    dnnl_inner_product_desc_t d;
    if (!ok(s, dnnl_inner_product_forward_desc_init(&d, dnnl_forward_training, &smd, &wmd, &bmd,
                                                    &dmd)))
        return;
    dnnl_primitive_desc_t pd = op_pd(net, s, &d, s->fused[i + 1] == FUSE_POST, NULL);
    if (!pd) return;
    s->pd[i] = pd;
    dnnl_memory_desc_t want = query(pd, dnnl_query_src_md), wq = query(pd, dnnl_query_weights_md);
    s->src[i] = convert(net, s, &s->fwd, s->tm[L->in], &s->md[L->in], &want);
    dnnl_memory_t w = weights_in(net, s, &s->fwd, L->w_off, &wq);
    produce(net, s, L->out, &dmd);
    dn_step *stp = add_prim(net, s, &s->fwd, pd, W_ALL);
    arg(stp, DNNL_ARG_SRC, s->src[i]);
    arg(stp, DNNL_ARG_WEIGHTS, w);
    arg(stp, DNNL_ARG_BIAS, mem(net, s, &bmd, K_PARAM, L->b_off, NULL));
    arg(stp, DNNL_ARG_DST, s->tm[L->out]);
}

static unsigned bn_flags(int eval, int relu)
{
    return dnnl_use_scale | dnnl_use_shift | (eval ? dnnl_use_global_stats : 0u) |
           (relu ? dnnl_fuse_norm_relu : 0u);
}

static void fwd_bn(nn_net *net, dn_set *s, int i)
{
    const nn_layer *L = &net->layers[i];
    const int C = net->tensors[L->in].C, relu = s->fused[i + 1] == FUSE_BN;
    const dnnl_dims_t cd = { C };
    dnnl_memory_desc_t vmd;
    md_init(s, &vmd, 1, cd, dnnl_a);
    dnnl_batch_normalization_desc_t d, de;
    if (!ok(s, dnnl_batch_normalization_forward_desc_init(&d, dnnl_forward_training,
                                                          &s->md[L->in], (float)BN_EPS,
                                                          bn_flags(0, relu))) ||
        !ok(s, dnnl_batch_normalization_forward_desc_init(&de, dnnl_forward_training,
                                                          &s->md[L->in], (float)BN_EPS,
                                                          bn_flags(1, relu))))
        return;
    s->pd[i] = op_pd(net, s, &d, 0, NULL);
    s->pd_eval[i] = op_pd(net, s, &de, 0, NULL);
    if (s->failed) return;
    produce(net, s, L->out, &s->md[L->in]);
    const size_t stat = take(s, 2 * (size_t)C * sizeof(float));
    dnnl_memory_t *m = s->bnm[i];
    m[0] = mem(net, s, &vmd, K_ARENA, stat, NULL);
    m[1] = mem(net, s, &vmd, K_ARENA, stat + (size_t)C * sizeof(float), NULL);
    m[2] = mem(net, s, &vmd, K_FIXED, 0, net->buffers + L->buf_off);
    m[3] = mem(net, s, &vmd, K_FIXED, 0, net->buffers + L->buf_off + (size_t)C);
    dnnl_memory_t sc = mem(net, s, &vmd, K_PARAM, L->w_off, NULL);
    dnnl_memory_t sh = mem(net, s, &vmd, K_PARAM, L->b_off, NULL);
    for (int e = 0; e < 2; e++) {
        const_dnnl_primitive_desc_t pd = e ? s->pd_eval[i] : s->pd[i];
        dnnl_memory_desc_t wsmd = query(pd, dnnl_query_workspace_md);
        if (dnnl_memory_desc_get_size(&wsmd) > 0) s->bnws[i][e] = buffer(net, s, &wsmd);
        dn_step *st = add_prim(net, s, &s->fwd, pd, e ? W_EVAL : W_TRAIN);
        arg(st, DNNL_ARG_WORKSPACE, s->bnws[i][e]);
        arg(st, DNNL_ARG_SRC, s->tm[L->in]);
        arg(st, DNNL_ARG_DST, s->tm[L->out]);
        arg(st, DNNL_ARG_SCALE, sc);
        arg(st, DNNL_ARG_SHIFT, sh);
        arg(st, DNNL_ARG_MEAN, m[2 * e]);
        arg(st, DNNL_ARG_VARIANCE, m[2 * e + 1]);
    }
    dn_step *st = push_step(s, &s->fwd, S_BN_RUN, W_UPDATE);
    if (!st) return;
    st->layer = i;
    st->stat_off = stat;
}

/* The ReLU forward descriptor (from the output, as the backward uses it). */
static dnnl_primitive_desc_t relu_pd(nn_net *net, dn_set *s, const dnnl_memory_desc_t *md)
{
    dnnl_eltwise_desc_t d;
    if (!ok(s, dnnl_eltwise_forward_desc_init(&d, dnnl_forward_training,
                                              dnnl_eltwise_relu_use_dst_for_bwd, md, 0.f, 0.f)))
        return NULL;
    return op_pd(net, s, &d, 0, NULL);
}

static void fwd_relu(nn_net *net, dn_set *s, int i)
{
    const nn_layer *L = &net->layers[i];
    const int r = root_of(net, L->out);
    s->md[L->out] = s->md[r];
    s->off[L->out] = s->off[r];
    s->tm[L->out] = s->tm[r];
    if (s->fused[i]) return;
    s->pd[i] = relu_pd(net, s, &s->md[r]);
    dn_step *st = add_prim(net, s, &s->fwd, s->pd[i], W_ALL);
    arg(st, DNNL_ARG_SRC, s->tm[r]);
    arg(st, DNNL_ARG_DST, s->tm[r]);
}

static void pool_geom(const nn_net *net, const nn_layer *L, dnnl_alg_kind_t *alg,
                      dnnl_dims_t st, dnnl_dims_t k)
{
    const nn_tensor *x = &net->tensors[L->in];
    if (L->op == OP_MAXPOOL) {
        *alg = dnnl_pooling_max;
        st[0] = st[1] = L->s;
        k[0] = k[1] = L->k;
    } else {   /* global average: one window over the whole image */
        *alg = dnnl_pooling_avg_exclude_padding;
        st[0] = k[0] = x->H;
        st[1] = k[1] = x->W;
    }
}

/* Whether max pool layer i runs on the kernel above (layouts into g). */
static int own_pool(const nn_net *net, const dn_set *s, int i, dn_geo g[2])
{
    const nn_layer *L = &net->layers[i];
    return L->op == OP_MAXPOOL && geo_of(&s->md[L->in], &g[0]) &&
           geo_of(&s->md[L->out], &g[1]) && g[0].X == g[1].X && g[0].CB == g[1].CB;
}

/* Whether ReLU layer r has its backward folded into the max pool after it:
 * the pool (on the kernel above) is its output's only reader. */
static int relu_into_pool(const nn_net *net, const dn_set *s, int r)
{
    dn_geo g[2];
    if (r + 1 >= net->n_layers || net->layers[r].op != OP_RELU) return 0;
    const int t = net->layers[r].out;
    int readers = 0;
    for (int j = 0; j < net->n_layers; j++)
        readers += (net->layers[j].in == t) + (net->layers[j].in2 == t);
    return readers == 1 && net->layers[r + 1].in == t && own_pool(net, s, r + 1, g);
}

static void fwd_pool(nn_net *net, dn_set *s, int i)
{
    const nn_layer *L = &net->layers[i];
    dnnl_dims_t dd, st, k, pad = { 0, 0 };
    dnnl_alg_kind_t alg;
    pool_geom(net, L, &alg, st, k);
    dims4(net, L->out, s->N, dd);
    dnnl_memory_desc_t dmd;
    any4(s, &dmd, dd);
    dnnl_pooling_desc_t d;
    if (!ok(s, dnnl_pooling_forward_desc_init(&d, dnnl_forward_training, alg, &s->md[L->in],
                                              &dmd, st, k, pad, pad)))
        return;
    dnnl_primitive_desc_t pd = op_pd(net, s, &d, 0, NULL);
    if (!pd) return;
    s->pd[i] = pd;
    dnnl_memory_desc_t out = query(pd, dnnl_query_dst_md), ws = query(pd, dnnl_query_workspace_md);
    produce(net, s, L->out, &out);
    dn_geo g[2];
    if (own_pool(net, s, i, g)) {
        dn_step *st = push_step(s, &s->fwd, S_POOL_FWD, W_ALL);
        if (!st) return;
        st->layer = i;
        st->m[0] = s->tm[L->in];
        st->m[1] = s->tm[L->out];
        memcpy(st->g, g, sizeof g);
        return;
    }
    if (dnnl_memory_desc_get_size(&ws) > 0) s->ws[i] = buffer(net, s, &ws);
    dn_step *stp = add_prim(net, s, &s->fwd, pd, W_ALL);
    arg(stp, DNNL_ARG_SRC, s->tm[L->in]);
    arg(stp, DNNL_ARG_DST, s->tm[L->out]);
    arg(stp, DNNL_ARG_WORKSPACE, s->ws[i]);
}

static void fwd_add(nn_net *net, dn_set *s, int i)
{
    const nn_layer *L = &net->layers[i];
    const dnnl_memory_desc_t *md = &s->md[L->in];
    dnnl_memory_t b = convert(net, s, &s->fwd, s->tm[L->in2], &s->md[L->in2], md);
    dnnl_binary_desc_t d;
    if (!ok(s, dnnl_binary_desc_init(&d, dnnl_binary_add, md, md, md))) return;
    dnnl_primitive_desc_t pd = op_pd(net, s, &d, s->fused[i + 1] == FUSE_POST, NULL);
    produce(net, s, L->out, md);
    dn_step *st = add_prim(net, s, &s->fwd, pd, W_ALL);
    arg(st, DNNL_ARG_SRC_0, s->tm[L->in]);
    arg(st, DNNL_ARG_SRC_1, b);
    arg(st, DNNL_ARG_DST, s->tm[L->out]);
    if (pd) dnnl_primitive_desc_destroy(pd);
}

/* Dropout in place on the activation (forward) or its gradient (backward)
 * of tensor t, in its layout: a loop of this file (drop_run) applying the
 * network's plain NCHW mask, in training passes only. */
static void drop_step(nn_net *net, dn_set *s, dn_list *l, int i, dnnl_memory_t m, int t)
{
    dn_step *st = push_step(s, l, S_DROP, W_TRAIN);
    if (!st) return;
    if (!geo_of(&s->md[root_of(net, t)], &st->g[0])) {
        s->failed = 1;
        return;
    }
    st->layer = i;
    st->m[0] = m;
}

static void fwd_dropout(nn_net *net, dn_set *s, int i)
{
    const nn_layer *L = &net->layers[i];
    const int r = root_of(net, L->out);
    s->md[L->out] = s->md[r];
    s->off[L->out] = s->off[r];
    s->tm[L->out] = s->tm[r];
    drop_step(net, s, &s->fwd, i, s->tm[r], r);
}

static void drop_run(const nn_net *net, const dn_set *s, const dn_step *st)
{
    if (net->drop_p <= 0.0) return;
    const nn_layer *L = &net->layers[st->layer];
    const nn_tensor *t = &net->tensors[L->in];
    const dn_geo *g = &st->g[0];
    void *h;
    dnnl_memory_get_data_handle(st->m[0], &h);
    float *x = h;
    const float *mask = net->mask + (size_t)s->N * L->mask_off;
    const long long planes = (long long)s->N * t->C;
    #pragma omp parallel for num_threads(s->T) schedule(static) if (planes * t->H * t->W > 65536)
    for (long long q = 0; q < planes; q++) {
        const dnnl_dim_t n = q / t->C, c = q % t->C;
        float *p = x + n * g->sn + (c / g->X) * g->sc + c % g->X;
        const float *mq = mask + (size_t)q * (size_t)(t->H * t->W);
        for (int y = 0; y < t->H; y++)
            for (int w = 0; w < t->W; w++) p[y * g->sh + w * g->sw] *= mq[y * t->W + w];
    }
}

/* Which ReLUs become part of the layer before them (the one they read):
 * a post-op of a convolution, inner product or residual add (FUSE_POST; the
 * ReLU's backward stays a step of its own), or BatchNorm's fused ReLU
 * (FUSE_BN; BatchNorm's backward applies it too, from a workspace). */
static void mark_fused(const nn_net *net, dn_set *s)
{
    for (int i = 1; i < net->n_layers; i++) {
        const nn_layer *L = &net->layers[i], *P = &net->layers[i - 1];
        if (L->op != OP_RELU || L->in != P->out) continue;
        if (P->op == OP_CONV || P->op == OP_LINEAR || P->op == OP_ADD) s->fused[i] = FUSE_POST;
        if (P->op == OP_BN) s->fused[i] = FUSE_BN;
    }
}

static void build_forward(nn_net *net, dn_set *s)
{
    /* the input: plain NCHW ([N][d] for flat rows) */
    const nn_tensor *x = &net->tensors[0];
    dnnl_dims_t d;
    dims4(net, 0, s->N, d);
    const int flat = x->H == 1 && x->W == 1 && net->layers[0].op == OP_LINEAR;
    if (flat) d[1] = (dnnl_dim_t)x->size;
    md_init(s, &s->md[0], flat ? 2 : 4, d, plain_tag(flat ? 2 : 4));
    produce(net, s, 0, &s->md[0]);
    mark_fused(net, s);
    for (int i = 0; i < net->n_layers && !s->failed; i++) {
        switch (net->layers[i].op) {
        case OP_CONV: fwd_conv(net, s, i); break;
        case OP_LINEAR: fwd_linear(net, s, i); break;
        case OP_BN: fwd_bn(net, s, i); break;
        case OP_RELU: fwd_relu(net, s, i); break;
        case OP_MAXPOOL:
        case OP_GAP: fwd_pool(net, s, i); break;
        case OP_ADD: fwd_add(net, s, i); break;
        case OP_DROPOUT: fwd_dropout(net, s, i); break;
        }
    }
}

/* ---------------------------------------------------------- backward build */

/* Where a layer's primitive writes the gradient of tensor t in layout want:
 * t's gradient itself when nothing wrote it yet and the layouts agree, else
 * a scratch tensor (*pend then says how it is added in by pend_finish).
 * NULL for the network input, which has no gradient. */
static dnnl_memory_t diff_target(nn_net *net, dn_set *s, int t, const dnnl_memory_desc_t *want,
                                 dn_pend *pend)
{
    pend->tmp = NULL;
    const int r = root_of(net, t);
    if (r == 0 || s->failed) return NULL;
    if (!s->written[r] && same(want, &s->md[r])) {
        s->written[r] = 1;
        return s->dm[r];
    }
    const size_t sz = dnnl_memory_desc_get_size(want);
    if (sz > s->temp_bytes) s->temp_bytes = sz;
    pend->tmp = mem(net, s, want, K_TEMP, 0, NULL);
    pend->md = *want;
    pend->root = r;
    pend->sum = s->written[r];
    s->written[r] = 1;
    return pend->tmp;
}

static void pend_finish(nn_net *net, dn_set *s, const dn_pend *pend)
{
    if (pend->tmp)
        reorder(net, s, &s->bwd, W_ALL, pend->tmp, &pend->md, s->dm[pend->root],
                &s->md[pend->root], pend->sum);
}

static int has_grad(const nn_net *net, int t) { return root_of(net, t) != 0; }

/* Weight (and bias) gradient of a convolution or inner product, from the
 * descriptor d (diff weights "any"), added into grad. */
static void bwd_weights(nn_net *net, dn_set *s, int i, const void *d)
{
    const nn_layer *L = &net->layers[i];
    dnnl_primitive_desc_t pd = op_pd(net, s, d, 0, s->pd[i]);
    if (!pd) return;
    dnnl_memory_desc_t smd = query(pd, dnnl_query_src_md), dd = query(pd, dnnl_query_diff_dst_md);
    dnnl_memory_desc_t wmd = query(pd, dnnl_query_diff_weights_md);
    dnnl_memory_desc_t bmd;
    const dnnl_memory_desc_t *fsrc = dnnl_primitive_desc_query_md(s->pd[i], dnnl_query_src_md, 0);
    dnnl_memory_t src = convert(net, s, &s->bwd, s->src[i], fsrc, &smd);
    dnnl_memory_t dy = convert(net, s, &s->bwd, s->dm[root_of(net, L->out)],
                               &s->md[L->out], &dd);
    dnnl_memory_t dw = buffer(net, s, &wmd), db = NULL;
    const int has_b = L->b_off != NO_OFF;
    if (has_b) {
        const dnnl_dims_t bd = { L->op == OP_CONV ? L->g.Co : L->n_out };
        md_init(s, &bmd, 1, bd, dnnl_a);
        db = buffer(net, s, &bmd);
    }
    dn_step *st = add_prim(net, s, &s->bwd, pd, W_ALL);
    arg(st, DNNL_ARG_SRC, src);
    arg(st, DNNL_ARG_DIFF_DST, dy);
    arg(st, DNNL_ARG_DIFF_WEIGHTS, dw);
    arg(st, DNNL_ARG_DIFF_BIAS, db);
    grad_out(net, s, &s->bwd, W_ALL, dw, &wmd, L->w_off);
    if (has_b) grad_out(net, s, &s->bwd, W_ALL, db, &bmd, L->b_off);
    dnnl_primitive_desc_destroy(pd);
}

/* Input gradient of a convolution or inner product, from descriptor d. */
static void bwd_data(nn_net *net, dn_set *s, int i, const void *d)
{
    const nn_layer *L = &net->layers[i];
    dnnl_primitive_desc_t pd = op_pd(net, s, d, 0, s->pd[i]);
    if (!pd) return;
    dnnl_memory_desc_t wq = query(pd, dnnl_query_weights_md);
    dnnl_memory_desc_t dd = query(pd, dnnl_query_diff_dst_md);
    dnnl_memory_desc_t dsrc = query(pd, dnnl_query_diff_src_md);
    dnnl_memory_t w = weights_in(net, s, &s->bwd, L->w_off, &wq);
    dnnl_memory_t dy = convert(net, s, &s->bwd, s->dm[root_of(net, L->out)],
                               &s->md[L->out], &dd);
    dn_pend pend;
    dnnl_memory_t dx = diff_target(net, s, L->in, &dsrc, &pend);
    dn_step *st = add_prim(net, s, &s->bwd, pd, W_ALL);
    arg(st, DNNL_ARG_DIFF_DST, dy);
    arg(st, DNNL_ARG_WEIGHTS, w);
    arg(st, DNNL_ARG_DIFF_SRC, dx);
    pend_finish(net, s, &pend);
    dnnl_primitive_desc_destroy(pd);
}

static void bwd_conv(nn_net *net, dn_set *s, int i)
{
    const nn_layer *L = &net->layers[i];
    conv_mds c;
    conv_init(net, s, L, &c);
    dnnl_memory_desc_t smd = c.src, wmd = c.w, bmd = c.b, dmd = c.dst;
    const dnnl_dim_t *st = c.st, *pad = c.pad;
    dnnl_convolution_desc_t d;
    if (ok(s, dnnl_convolution_backward_weights_desc_init(
                  &d, dnnl_convolution_direct, &smd, &wmd,
                  L->b_off != NO_OFF ? &bmd : NULL, &dmd, st, pad, pad)))
        bwd_weights(net, s, i, &d);
    if (has_grad(net, L->in) &&
        ok(s, dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &smd, &wmd,
                                                       &dmd, st, pad, pad)))
        bwd_data(net, s, i, &d);
}

static void bwd_linear(nn_net *net, dn_set *s, int i)
{
    const nn_layer *L = &net->layers[i];
    const dnnl_memory_desc_t *fsrc = dnnl_primitive_desc_query_md(s->pd[i], dnnl_query_src_md, 0);
    const int nd = fsrc->ndims;
    dnnl_dims_t wd, dd, bd = { L->n_out };
    ip_dims(net, s, i, wd, dd);
    dnnl_memory_desc_t smd, wmd, bmd, dmd;
    md_init(s, &smd, nd, fsrc->dims, dnnl_format_tag_any);
    md_init(s, &wmd, nd, wd, dnnl_format_tag_any);
    md_init(s, &bmd, 1, bd, dnnl_a);
    md_init(s, &dmd, 2, dd, dnnl_ab);
    dnnl_inner_product_desc_t d;
    if (ok(s, dnnl_inner_product_backward_weights_desc_init(&d, &smd, &wmd, &bmd, &dmd)))
        bwd_weights(net, s, i, &d);
    if (has_grad(net, L->in) &&
        ok(s, dnnl_inner_product_backward_data_desc_init(&d, &smd, &wmd, &dmd)))
        bwd_data(net, s, i, &d);
}

static void bwd_bn(nn_net *net, dn_set *s, int i)
{
    const nn_layer *L = &net->layers[i];
    const int C = net->tensors[L->in].C;
    const dnnl_dims_t cd = { C };
    dnnl_memory_desc_t vmd;
    md_init(s, &vmd, 1, cd, dnnl_a);
    dnnl_memory_t sc = mem(net, s, &vmd, K_PARAM, L->w_off, NULL);
    dnnl_memory_t sh = mem(net, s, &vmd, K_PARAM, L->b_off, NULL);
    dnnl_memory_t dsc = buffer(net, s, &vmd), dsh = buffer(net, s, &vmd);
    dnnl_memory_t dy = s->dm[root_of(net, L->out)];
    dn_pend pend;
    dnnl_memory_t dx = diff_target(net, s, L->in, &s->md[L->in], &pend);
    for (int e = 0; e < 2 && !s->failed; e++) {
        dnnl_batch_normalization_desc_t d;
        if (!ok(s, dnnl_batch_normalization_backward_desc_init(
                       &d, dnnl_backward, &s->md[L->out], &s->md[L->in],
                       (float)BN_EPS, bn_flags(e, s->fused[i + 1] == FUSE_BN))))
            return;
        dnnl_primitive_desc_t pd = op_pd(net, s, &d, 0, e ? s->pd_eval[i] : s->pd[i]);
        dnnl_memory_t scratch_dx = dx;
        if (!dx) {   /* the input has no gradient: oneDNN computes it anyway */
            const size_t sz = dnnl_memory_desc_get_size(&s->md[L->in]);
            if (sz > s->temp_bytes) s->temp_bytes = sz;
            scratch_dx = mem(net, s, &s->md[L->in], K_TEMP, 0, NULL);
        }
        dn_step *st = add_prim(net, s, &s->bwd, pd, e ? W_EVAL : W_TRAIN);
        arg(st, DNNL_ARG_SRC, s->tm[L->in]);
        arg(st, DNNL_ARG_MEAN, s->bnm[i][2 * e]);
        arg(st, DNNL_ARG_VARIANCE, s->bnm[i][2 * e + 1]);
        arg(st, DNNL_ARG_DIFF_DST, dy);
        arg(st, DNNL_ARG_SCALE, sc);
        arg(st, DNNL_ARG_SHIFT, sh);
        arg(st, DNNL_ARG_DIFF_SRC, scratch_dx);
        arg(st, DNNL_ARG_DIFF_SCALE, dsc);
        arg(st, DNNL_ARG_DIFF_SHIFT, dsh);
        arg(st, DNNL_ARG_WORKSPACE, s->bnws[i][e]);
        if (pd) dnnl_primitive_desc_destroy(pd);
    }
    pend_finish(net, s, &pend);
    grad_out(net, s, &s->bwd, W_ALL, dsc, &vmd, L->w_off);
    grad_out(net, s, &s->bwd, W_ALL, dsh, &vmd, L->b_off);
}

static void bwd_relu(nn_net *net, dn_set *s, int i)
{
    const nn_layer *L = &net->layers[i];
    const int r = root_of(net, L->out);
    /* BatchNorm's backward or the max pool's masks */
    if (r == 0 || s->fused[i] == FUSE_BN || relu_into_pool(net, s, i)) return;
    if (!s->pd[i]) s->pd[i] = relu_pd(net, s, &s->md[r]);
    dnnl_eltwise_desc_t d;
    if (!ok(s, dnnl_eltwise_backward_desc_init(&d, dnnl_eltwise_relu_use_dst_for_bwd, &s->md[r],
                                               &s->md[r], 0.f, 0.f)))
        return;
    dnnl_primitive_desc_t pd = op_pd(net, s, &d, 0, s->pd[i]);
    dn_step *st = add_prim(net, s, &s->bwd, pd, W_ALL);
    arg(st, DNNL_ARG_DST, s->tm[r]);
    arg(st, DNNL_ARG_DIFF_DST, s->dm[r]);
    arg(st, DNNL_ARG_DIFF_SRC, s->dm[r]);
    if (pd) dnnl_primitive_desc_destroy(pd);
}

static void bwd_pool(nn_net *net, dn_set *s, int i)
{
    const nn_layer *L = &net->layers[i];
    if (!has_grad(net, L->in)) return;
    dn_geo g[2];
    if (own_pool(net, s, i, g)) {
        dn_pend pend;
        dnnl_memory_t dx = diff_target(net, s, L->in, &s->md[L->in], &pend);
        dn_step *st = push_step(s, &s->bwd, S_POOL_BWD, W_ALL);
        if (!st) return;
        st->layer = i;
        st->m[0] = s->tm[L->in];
        st->m[1] = s->dm[root_of(net, L->out)];
        st->m[2] = dx;
        st->relu = relu_into_pool(net, s, i - 1);
        memcpy(st->g, g, sizeof g);
        pend_finish(net, s, &pend);
        return;
    }
    dnnl_dims_t st, k, pad = { 0, 0 };
    dnnl_alg_kind_t alg;
    pool_geom(net, L, &alg, st, k);
    dnnl_pooling_desc_t d;
    if (!ok(s, dnnl_pooling_backward_desc_init(&d, alg, &s->md[L->in], &s->md[L->out], st, k,
                                               pad, pad)))
        return;
    dnnl_primitive_desc_t pd = op_pd(net, s, &d, 0, s->pd[i]);
    dn_pend pend;
    dnnl_memory_t dx = diff_target(net, s, L->in, &s->md[L->in], &pend);
    dn_step *stp = add_prim(net, s, &s->bwd, pd, W_ALL);
    arg(stp, DNNL_ARG_DIFF_DST, s->dm[root_of(net, L->out)]);
    arg(stp, DNNL_ARG_DIFF_SRC, dx);
    arg(stp, DNNL_ARG_WORKSPACE, s->ws[i]);
    pend_finish(net, s, &pend);
    if (pd) dnnl_primitive_desc_destroy(pd);
}

/* da += dy, db += dy: a copying reorder for the first writer, else a summing one. */
static void bwd_add(nn_net *net, dn_set *s, int i)
{
    const nn_layer *L = &net->layers[i];
    const int o = root_of(net, L->out);
    const int in[2] = { L->in, L->in2 };
    for (int k = 0; k < 2; k++) {
        const int r = root_of(net, in[k]);
        if (r == 0) continue;
        if (k == 0 && s->shared[r] == o) {   /* the same storage: nothing to do */
            s->written[r] = 1;
            continue;
        }
        reorder(net, s, &s->bwd, W_ALL, s->dm[o], &s->md[o], s->dm[r], &s->md[r], s->written[r]);
        s->written[r] = 1;
    }
}

/* Tensors whose gradient can share the storage of the residual add's output
 * gradient (the add's first input, when the add is its only reader and the
 * layouts agree: its gradient IS the output's); share[t] = that output, or 0. */
static void add_shares(const nn_net *net, const dn_set *s, int *share)
{
    for (int i = 0; i < net->n_layers; i++) {
        const nn_layer *L = &net->layers[i];
        const int r = root_of(net, L->in), o = root_of(net, L->out);
        if (L->op != OP_ADD || r == 0 || root_of(net, L->in2) == r || !same(&s->md[r], &s->md[o]))
            continue;
        int readers = 0;
        for (int j = 0; j < net->n_layers; j++) {
            const nn_layer *M = &net->layers[j];
            readers += root_of(net, M->in) == r && M->op != OP_RELU;
            readers += M->in2 >= 0 && root_of(net, M->in2) == r;
        }
        if (readers == 1) share[r] = o;
    }
}

static void build_backward(nn_net *net, dn_set *s)
{
    int *share = calloc((size_t)net->n_tensors, sizeof *share);
    if (!share) {
        s->failed = 1;
        return;
    }
    add_shares(net, s, share);
    for (int t = 1; t < net->n_tensors && !s->failed; t++)
        if (net->tensors[t].alias < 0 && !share[t]) s->dm[t] = buffer(net, s, &s->md[t]);
    for (int t = 1; t < net->n_tensors; t++) {
        if (share[t]) s->dm[t] = s->dm[share[t]];
        if (net->tensors[t].alias >= 0) s->dm[t] = s->dm[root_of(net, t)];
    }
    s->shared = share;
    s->written[root_of(net, net->layers[net->n_layers - 1].out)] = 1;   /* by the caller */
    for (int i = net->n_layers - 1; i >= 0 && !s->failed; i--) {
        switch (net->layers[i].op) {
        case OP_CONV: bwd_conv(net, s, i); break;
        case OP_LINEAR: bwd_linear(net, s, i); break;
        case OP_BN: bwd_bn(net, s, i); break;
        case OP_RELU: bwd_relu(net, s, i); break;
        case OP_MAXPOOL:
        case OP_GAP: bwd_pool(net, s, i); break;
        case OP_ADD: bwd_add(net, s, i); break;
        case OP_DROPOUT: {
            const int r = root_of(net, net->layers[i].out);
            if (r) drop_step(net, s, &s->bwd, i, s->dm[r], r);
            break;
        }
        }
    }
    s->shared = NULL;
    free(share);
}

/* ------------------------------------------------------------------- sets */

static void set_free(dn_set *s)
{
    if (!s) return;
    dn_list *ls[2] = { &s->fwd, &s->bwd };
    for (int k = 0; k < 2; k++) {
        for (int j = 0; j < ls[k]->n; j++)
            if (ls[k]->s[j].prim) dnnl_primitive_destroy(ls[k]->s[j].prim);
        free(ls[k]->s);
    }
    for (int j = 0; j < s->n_mem; j++) dnnl_memory_destroy(s->mem[j].m);
    SAMC_FREE_ALL(s->mem, s->md, s->off, s->tm, s->dm, s->written, s->pd, s->pd_eval, s->src, s->ws, s->bnm,
                  s->bnws, s->fused, s);
}

/* The per-layer forward descriptors are needed only while building. */
static void drop_pds(const nn_net *net, dn_set *s)
{
    for (int i = 0; i < net->n_layers; i++) {
        if (s->pd[i]) dnnl_primitive_desc_destroy(s->pd[i]);
        if (s->pd_eval[i]) dnnl_primitive_desc_destroy(s->pd_eval[i]);
        s->pd[i] = s->pd_eval[i] = NULL;
    }
}

/* Primitives and memories for N rows on T threads (with the backward pass
 * if grad); NULL with *nomem set if out of memory, NULL otherwise if oneDNN
 * could not make them. */
static dn_set *set_build(nn_net *net, int N, int T, int grad, int *nomem)
{
    const size_t nt = (size_t)net->n_tensors, nl = (size_t)net->n_layers + 1;
    dn_set *s = calloc(1, sizeof *s);
    *nomem = 1;
    if (!s) return NULL;
    s->N = N;
    s->T = T;
    s->grad = grad;
    s->md = calloc(nt, sizeof *s->md);
    s->off = calloc(nt, sizeof *s->off);
    s->tm = calloc(nt, sizeof *s->tm);
    s->dm = calloc(nt, sizeof *s->dm);
    s->written = calloc(nt, sizeof *s->written);
    s->pd = calloc(nl, sizeof *s->pd);
    s->pd_eval = calloc(nl, sizeof *s->pd_eval);
    s->src = calloc(nl, sizeof *s->src);
    s->ws = calloc(nl, sizeof *s->ws);
    s->bnm = calloc(nl, sizeof *s->bnm);
    s->bnws = calloc(nl, sizeof *s->bnws);
    s->fused = calloc(nl, sizeof *s->fused);
    if (!s->md || !s->off || !s->tm || !s->dm || !s->written || !s->pd || !s->pd_eval ||
        !s->src || !s->ws || !s->bnm || !s->bnws || !s->fused) {
        set_free(s);
        return NULL;
    }
    build_forward(net, s);
    if (grad && !s->failed) build_backward(net, s);
    if (s->pd) drop_pds(net, s);
    if (s->failed) {
        *nomem = 0;
        set_free(s);
        return NULL;
    }
    s->temp_off = take(s, s->temp_bytes);
    s->scratch_off = take(s, s->scratch_bytes);
    s->bytes = s->bump;
    return s;
}

/* The threads oneDNN gets for a batch of N rows: samc's count, or one when
 * the batch is too small to pay for a team (the reference engine's rule;
 * each primitive is a parallel region of its own). */
static int pass_threads(const nn_net *net, int N)
{
    int t = omp_get_max_threads();
    if ((double)N * (double)(net->n_params + net->row_floats) < 2e5) t = 1;
    return t < 1 ? 1 : t;
}

/* Runs oneDNN on T threads until thread_end (the count it reads is
 * omp_get_max_threads()); returns the count to restore. */
static int thread_begin(int T)
{
    const int saved = omp_get_max_threads();
    if (saved != T) omp_set_num_threads(T);
    return saved;
}

static void thread_end(int saved)
{
    if (omp_get_max_threads() != saved) omp_set_num_threads(saved);
}

static void copy_run(const dn_set *s, const dn_step *st)
{
    void *h[2];
    dnnl_memory_get_data_handle(st->m[0], &h[0]);
    dnnl_memory_get_data_handle(st->m[1], &h[1]);
    const float *restrict a = h[0];
    float *restrict b = h[1];
    const long long n = (long long)st->n;
    if (st->sum) {
        #pragma omp parallel for simd num_threads(s->T) schedule(static) if (n > 65536)
        for (long long j = 0; j < n; j++) b[j] += a[j];
    } else {
        #pragma omp parallel for simd num_threads(s->T) schedule(static) if (n > 65536)
        for (long long j = 0; j < n; j++) b[j] = a[j];
    }
}

/* Points the memories of s into arena (when it moved) and, if p / grad are
 * given, at the parameters and the gradient. */
static void bind(nn_net *net, dn_set *s, const float *p, float *grad)
{
    char *a = net->dn->arena;
    const int moved = s->bound != (void *)a;
    for (int j = 0; j < s->n_mem; j++) {
        const dn_mem *m = &s->mem[j];
        void *h = NULL;
        switch (m->kind) {
        case K_ARENA: h = moved ? a + m->off : NULL; break;
        case K_TEMP: h = moved ? a + s->temp_off : NULL; break;
        case K_SCRATCH: h = moved ? a + s->scratch_off : NULL; break;
        case K_PARAM: h = p ? (void *)(p + m->off) : NULL; break;
        case K_GRAD: h = grad ? (void *)(grad + m->off) : NULL; break;
        default: break;
        }
        if (h) dnnl_memory_set_data_handle(m->m, h);
    }
    s->bound = a;
}

static void run(nn_net *net, dn_set *s, const dn_list *l, int mask)
{
    const int saved = thread_begin(s->T);
    for (int j = 0; j < l->n; j++) {
        const dn_step *st = &l->s[j];
        if (!(st->when & mask)) continue;
        if (st->kind == S_PRIM) {
            dnnl_primitive_execute(st->prim, net->dn->stream, st->nargs, st->args);
            continue;
        }
        if (st->kind == S_POOL_FWD || st->kind == S_POOL_BWD) {
            pool_run(net, s, st);
            continue;
        }
        if (st->kind == S_COPY) {
            copy_run(s, st);
            continue;
        }
        if (st->kind == S_DROP) {
            drop_run(net, s, st);
            continue;
        }
        /* S_BN_RUN: the running statistics from this batch's (oneDNN's
         * variance is the biased one; the running variance is unbiased) */
        const nn_layer *L = &net->layers[st->layer];
        const nn_tensor *x = &net->tensors[L->in];
        const float *mean = (const float *)((char *)net->dn->arena + st->stat_off);
        const float *var = mean + x->C;
        float *rm = net->buffers + L->buf_off, *rv = rm + x->C;
        const double M = (double)s->N * x->H * x->W, m = BN_MOMENTUM;
        for (int c = 0; c < x->C; c++) {
            const double unb = M > 1.0 ? (double)var[c] * M / (M - 1.0) : (double)var[c];
            rm[c] = (float)((1.0 - m) * rm[c] + m * mean[c]);
            rv[c] = (float)((1.0 - m) * rv[c] + m * unb);
        }
    }
    dnnl_stream_wait(net->dn->stream);
    thread_end(saved);
}


/* ----------------------------------------------------------------- public */

struct nn_dnnl *nn_dnnl_create(void)
{
    nn_dnnl *dn = calloc(1, sizeof *dn);
    if (!dn) return NULL;
    if (dnnl_engine_create(&dn->eng, dnnl_cpu, 0) != dnnl_success) {
        free(dn);
        return NULL;
    }
    if (dnnl_stream_create(&dn->stream, dn->eng, dnnl_stream_default_flags) != dnnl_success) {
        dnnl_engine_destroy(dn->eng);
        free(dn);
        return NULL;
    }
    return dn;
}

void nn_dnnl_free(struct nn_dnnl *dn)
{
    if (!dn) return;
    for (int k = 0; k < DN_SETS; k++) set_free(dn->sets[k]);
    free(dn->arena);
    dnnl_stream_destroy(dn->stream);
    dnnl_engine_destroy(dn->eng);
    free(dn);
}

/* The set for (N, threads, grad): a cached one, or a new one in the slot
 * of the least recently used.  SAMC_EINVAL if oneDNN cannot run the net. */
samc_status nn_dnnl_reserve(nn_net *net, int N, int grad)
{
    nn_dnnl *dn = net->dn;
    const int T = pass_threads(net, N);
    dn_set *s = NULL;
    int slot = -1;
    for (int k = 0; k < DN_SETS && !s; k++) {
        dn_set *c = dn->sets[k];
        if (c && c->N == N && c->T == T && (c->grad || !grad)) s = c;
    }
    for (int k = 0; k < DN_SETS && !s; k++) {   /* an empty slot, else the oldest */
        if (!dn->sets[k]) {
            slot = k;
            break;
        }
        if (slot < 0 || dn->sets[k]->used < dn->sets[slot]->used) slot = k;
    }
    if (!s) {
        int nomem;
        const int saved = thread_begin(T);
        s = set_build(net, N, T, grad, &nomem);
        thread_end(saved);
        if (!s) return nomem ? SAMC_ENOMEM : SAMC_EINVAL;
        if (dn->cur == dn->sets[slot]) dn->cur = NULL;
        set_free(dn->sets[slot]);
        dn->sets[slot] = s;
    }
    if (s->bytes > dn->arena_bytes) {
        void *a = aligned_alloc(DN_ALIGN, round_up(s->bytes));
        if (!a) return SAMC_ENOMEM;
        memset(a, 0, round_up(s->bytes));
        free(dn->arena);
        dn->arena = a;
        dn->arena_bytes = s->bytes;
    }
    s->used = ++dn->clock;
    dn->cur = s;
    bind(net, s, NULL, NULL);
    return SAMC_OK;
}

float *nn_dnnl_input(nn_net *net)
{
    return (float *)((char *)net->dn->arena + net->dn->cur->off[0]);
}

float *nn_dnnl_dlogits(nn_net *net)
{
    nn_dnnl *dn = net->dn;
    void *h = NULL;
    dnnl_memory_get_data_handle(dn->cur->dm[net->layers[net->n_layers - 1].out], &h);
    return h;
}

const float *nn_dnnl_forward(nn_net *net, const float *p, int N, int train, int update_stats)
{
    dn_set *s = net->dn->cur;
    (void)N;   /* the N of the last nn_net_reserve */
    bind(net, s, p, NULL);
    run(net, s, &s->fwd, train ? W_TRAIN | (update_stats ? W_UPDATE : 0) : W_EVAL);
    return (const float *)((char *)net->dn->arena +
                           s->off[root_of(net, net->layers[net->n_layers - 1].out)]);
}

void nn_dnnl_backward(nn_net *net, const float *p, float *grad, int N)
{
    dn_set *s = net->dn->cur;
    (void)N;
    bind(net, s, p, grad);
    run(net, s, &s->bwd, net->train ? W_TRAIN : W_EVAL);
}

/* Tensor t (or its gradient) of the current batch as plain rows; 0 or -1. */
static int read_plain(nn_net *net, int t, int diff, float *out);

/* Whether tensor t is the output of a BatchNorm with a fused ReLU, whose
 * stored gradient is the one before the ReLU's mask. */
static int bn_relu_output(const nn_net *net, const dn_set *s, int t)
{
    for (int i = 0; i + 1 < net->n_layers; i++)
        if (net->layers[i].op == OP_BN && net->layers[i].out == root_of(net, t) &&
            s->fused[i + 1] == FUSE_BN)
            return 1;
    return 0;
}

/* As the reference engine stores it: a gradient through a fused ReLU masked. */
int nn_dnnl_read_tensor(nn_net *net, int t, int diff, float *out)
{
    dn_set *s = net->dn->cur;
    if (read_plain(net, t, diff, out) != 0) return -1;
    if (!diff || !bn_relu_output(net, s, t)) return 0;
    const nn_tensor *x = &net->tensors[t];
    const size_t n = (size_t)s->N * x->size;
    float *y = malloc(n * sizeof *y);
    if (!y || read_plain(net, t, 0, y) != 0) {
        free(y);
        return -1;
    }
    for (size_t j = 0; j < n; j++)
        if (!(y[j] > 0.0f)) out[j] = 0.0f;
    free(y);
    return 0;
}

static int read_plain(nn_net *net, int t, int diff, float *out)
{
    dn_set *s = net->dn->cur;
    if (!s || (diff && (!s->grad || root_of(net, t) == 0))) return -1;
    dnnl_memory_desc_t plain;
    md_plain(s, &plain, &s->md[t]);
    dnnl_primitive_desc_t pd = make_pd(net, s, NULL, 0, NULL, &s->md[t], &plain, 0);
    dnnl_primitive_t prim = NULL;
    dnnl_memory_t dst = NULL;
    int rc = -1;
    if (pd && dnnl_primitive_create(&prim, pd) == dnnl_success &&
        dnnl_memory_create(&dst, &plain, net->dn->eng, out) == dnnl_success) {
        dnnl_exec_arg_t a[2] = { { DNNL_ARG_FROM, diff ? s->dm[t] : s->tm[t] },
                                 { DNNL_ARG_TO, dst } };
        rc = dnnl_primitive_execute(prim, net->dn->stream, 2, a) == dnnl_success ? 0 : -1;
        dnnl_stream_wait(net->dn->stream);
    }
    if (dst) dnnl_memory_destroy(dst);
    if (prim) dnnl_primitive_destroy(prim);
    if (pd) dnnl_primitive_desc_destroy(pd);
    return rc;
}
