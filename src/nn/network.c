/*
 * network.c -- networks as a list of layers over numbered tensors (nn.h):
 * construction of the mlp, cnn and resnet architectures, the parameter
 * layout (offsets into ONE flat parameter vector, assigned in construction
 * order, which is PyTorch's state_dict order for these architectures), the
 * BatchNorm running statistics, the choice of engine (SAMC_ENGINE), and
 * the forward / backward passes of the reference engine; with the oneDNN
 * engine (dnnl_engine.c) the passes are handed over to it.
 *
 * Tensor 0 is the input batch; every layer reads one tensor (two for the
 * residual add) and writes a new one, so all activations of a batch stay
 * alive for the backward pass, which runs the layers in reverse and adds
 * each layer's input gradient into the gradient tensor of its input (the
 * gradient tensors are zeroed first, so fan-out -- a residual block input
 * used by both paths -- needs nothing special).  The exception is ReLU,
 * which works in place (its output tensor aliases its input's storage and
 * gradient; allowed because no backward needs a ReLU's input other than
 * through the sign of its output, and checked: the input has no other
 * reader); that halves the memory traffic of the elementwise part.
 *
 * Activations, gradients and scratch are sized for the largest batch seen
 * and grow only when a larger batch arrives.  Because of that scratch an
 * nn_net (and the samc_model around it) is NOT thread-safe: one thread at a
 * time per handle.
 */
#include "nn/net_internal.h"
#include "util/err.h"
#include "util/mem.h"

#include <limits.h>
#include <omp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>


/* ---------------------------------------------------------------- building */

static samc_status default_engine(const nn_net *net, int *engine, char *err);

static int new_tensor(nn_net *net, int C, int H, int W, char *err)
{
    if (net->failed) return -1;
    if (!samc_grow((void **)&net->tensors, &net->cap_tensors, (size_t)net->n_tensors + 1, sizeof *net->tensors)) {
        samc_errf(err, SAMC_ENOMEM, "network: out of memory");
        net->failed = 1;
        return -1;
    }
    size_t size = (size_t)C * (size_t)H * (size_t)W;
    if (C <= 0 || H <= 0 || W <= 0 || size > (size_t)INT_MAX) {
        samc_errf(err, SAMC_EINVAL, "network: a tensor of %d x %d x %d is out of range", C, H, W);
        net->failed = 1;
        return -1;
    }
    nn_tensor *t = &net->tensors[net->n_tensors];
    t->C = C;
    t->H = H;
    t->W = W;
    t->size = size;
    t->off = net->row_floats;
    t->alias = -1;
    net->row_floats += size;
    return net->n_tensors++;
}

/* A tensor sharing the storage of tensor of (same shape). */
static int alias_tensor(nn_net *net, int of, char *err)
{
    if (net->failed || of < 0) return -1;
    const nn_tensor src = net->tensors[of];
    const size_t rows = net->row_floats;
    int t = new_tensor(net, src.C, src.H, src.W, err);
    if (t < 0) return -1;
    net->row_floats = rows;
    net->tensors[t].off = src.off;
    net->tensors[t].alias = src.alias >= 0 ? src.alias : of;
    return t;
}

/* A new layer reading tensor in; NULL if the build already failed. */
static nn_layer *new_layer(nn_net *net, nn_op op, int in, char *err)
{
    if (net->failed || in < 0) {
        net->failed = 1;
        return NULL;
    }
    if (!samc_grow((void **)&net->layers, &net->cap_layers, (size_t)net->n_layers + 1, sizeof *net->layers)) {
        samc_errf(err, SAMC_ENOMEM, "network: out of memory");
        net->failed = 1;
        return NULL;
    }
    nn_layer *L = &net->layers[net->n_layers];
    memset(L, 0, sizeof *L);
    L->op = op;
    L->in = in;
    L->in2 = -1;
    L->out = -1;
    L->w_off = L->b_off = L->buf_off = L->stat_off = NO_OFF;
    return L;
}

/* Commit the layer new_layer returned, with output tensor out. */
static int commit(nn_net *net, nn_layer *L, int out)
{
    if (out < 0) {
        net->failed = 1;
        return -1;
    }
    L->out = out;
    net->n_layers++;
    return out;
}

/* The module name of layer L (a layer with parameters); 0, or -1 (the build
 * failed) if it is empty or too long. */
static int set_name(nn_net *net, nn_layer *L, const char *name, char *err)
{
    if (!name || !*name || strlen(name) >= sizeof L->name) {
        samc_errf(err, SAMC_EINVAL, "network: internal error (layer name \"%.100s\")", name ? name : "");
        net->failed = 1;
        return -1;
    }
    memcpy(L->name, name, strlen(name) + 1);
    return 0;
}

static int add_linear(nn_net *net, int in, int n_out, const char *name, char *err)
{
    nn_layer *L = new_layer(net, OP_LINEAR, in, err);
    if (!L || set_name(net, L, name, err)) return -1;
    L->n_in = (int)net->tensors[in].size;   /* flatten: CHW order */
    L->n_out = n_out;
    L->w_off = net->n_params;
    net->n_params += (size_t)n_out * (size_t)L->n_in;
    L->b_off = net->n_params;
    net->n_params += (size_t)n_out;
    return commit(net, L, new_tensor(net, n_out, 1, 1, err));
}

static int add_conv(nn_net *net, int in, int Co, int k, int stride, int pad, int bias,
                    const char *name, char *err)
{
    nn_layer *L = new_layer(net, OP_CONV, in, err);
    if (!L || set_name(net, L, name, err)) return -1;
    const nn_tensor *t = &net->tensors[in];
    if (nn_conv_geom_init(&L->g, t->C, t->H, t->W, Co, k, stride, pad) != 0) {
        samc_errf(err, SAMC_EINVAL,
                  "network: a %dx%d convolution (stride %d, padding %d) does not fit "
                  "a %d x %d image", k, k, stride, pad, t->H, t->W);
        net->failed = 1;
        return -1;
    }
    L->w_off = net->n_params;
    net->n_params += (size_t)Co * (size_t)t->C * (size_t)k * (size_t)k;
    if (bias) {
        L->b_off = net->n_params;
        net->n_params += (size_t)Co;
    }
    return commit(net, L, new_tensor(net, Co, L->g.Ho, L->g.Wo, err));
}

static int add_bn(nn_net *net, int in, const char *name, char *err)
{
    nn_layer *L = new_layer(net, OP_BN, in, err);
    if (!L || set_name(net, L, name, err)) return -1;
    const nn_tensor t = net->tensors[in];
    L->w_off = net->n_params;
    L->b_off = net->n_params + (size_t)t.C;
    net->n_params += 2 * (size_t)t.C;
    L->buf_off = net->n_buffers;
    net->n_buffers += 2 * (size_t)t.C;
    L->stat_off = net->n_stats;
    net->n_stats += 2 * (size_t)t.C;
    return commit(net, L, new_tensor(net, t.C, t.H, t.W, err));
}

/* In place: the ReLU overwrites its input, which must have no other
 * consumer (checked in finish). */
static int add_relu(nn_net *net, int in, char *err)
{
    nn_layer *L = new_layer(net, OP_RELU, in, err);
    if (!L) return -1;
    if (in == 0) {   /* never the network input: the caller's data */
        samc_errf(err, SAMC_EINVAL, "network: internal error (ReLU on the input)");
        net->failed = 1;
        return -1;
    }
    return commit(net, L, alias_tensor(net, in, err));
}

static int add_maxpool(nn_net *net, int in, int k, int s, char *err)
{
    nn_layer *L = new_layer(net, OP_MAXPOOL, in, err);
    if (!L) return -1;
    const nn_tensor t = net->tensors[in];
    if (t.H < k || t.W < k) {
        samc_errf(err, SAMC_EINVAL,
                  "network: a %dx%d max pool does not fit a %d x %d image", k, k, t.H, t.W);
        net->failed = 1;
        return -1;
    }
    L->k = k;
    L->s = s;
    return commit(net, L, new_tensor(net, t.C, (t.H - k) / s + 1, (t.W - k) / s + 1, err));
}

static int add_gap(nn_net *net, int in, char *err)
{
    nn_layer *L = new_layer(net, OP_GAP, in, err);
    if (!L) return -1;
    const nn_tensor t = net->tensors[in];
    return commit(net, L, new_tensor(net, t.C, 1, 1, err));
}

static int add_add(nn_net *net, int a, int b, char *err)
{
    nn_layer *L = new_layer(net, OP_ADD, a, err);
    if (!L || b < 0) {
        net->failed = 1;
        return -1;
    }
    const nn_tensor t = net->tensors[a];
    L->in2 = b;
    return commit(net, L, new_tensor(net, t.C, t.H, t.W, err));
}

static nn_net *begin(int C, int H, int W, int K, char *err)
{
    if (K < 1) {
        samc_errf(err, SAMC_EINVAL, "network: %d classes", K);
        return NULL;
    }
    nn_net *net = calloc(1, sizeof *net);
    if (!net) {
        samc_errf(err, SAMC_ENOMEM, "network: out of memory");
        return NULL;
    }
    net->K = K;
    if (new_tensor(net, C, H, W, err) != 0) {
        nn_net_free(net);
        return NULL;
    }
    return net;
}

/* Allocate what does not depend on the batch; NULL (net freed) on failure. */
static nn_net *finish(nn_net *net, char *err)
{
    if (net->failed || net->n_layers == 0) {
        nn_net_free(net);
        return NULL;
    }
    /* an in-place ReLU must be the only reader of its input */
    for (int i = 0; i < net->n_layers; i++) {
        if (net->layers[i].op != OP_RELU) continue;
        int readers = 0;
        for (int j = 0; j < net->n_layers; j++)
            readers += (net->layers[j].in == net->layers[i].in) +
                       (net->layers[j].in2 == net->layers[i].in);
        if (readers != 1) {
            samc_errf(err, SAMC_EINVAL,
                      "network: internal error (in-place ReLU input read %d times)", readers);
            nn_net_free(net);
            return NULL;
        }
    }
    /* the layout walk covers every parameter exactly once */
    size_t walked = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const nn_layer *L = &net->layers[i];
        if (L->op == OP_LINEAR)
            walked += (size_t)L->n_out * ((size_t)L->n_in + 1);
        else if (L->op == OP_CONV)
            walked += (size_t)L->g.Co * L->g.C * L->g.k * L->g.k +
                      (L->b_off != NO_OFF ? (size_t)L->g.Co : 0);
        else if (L->op == OP_BN)
            walked += 2 * (size_t)net->tensors[L->in].C;
    }
    if (walked != net->n_params) {
        samc_errf(err, SAMC_EINVAL,
                  "network: internal error (layout walk %zu != %zu parameters)", walked,
                  net->n_params);
        nn_net_free(net);
        return NULL;
    }
    net->act = calloc((size_t)net->n_tensors, sizeof *net->act);
    net->dact = calloc((size_t)net->n_tensors, sizeof *net->dact);
    net->buffers = net->n_buffers ? malloc(net->n_buffers * sizeof *net->buffers) : NULL;
    net->stats = net->n_stats ? malloc(net->n_stats * sizeof *net->stats) : NULL;
    if (!net->act || !net->dact || (net->n_buffers && !net->buffers) ||
        (net->n_stats && !net->stats)) {
        samc_errf(err, SAMC_ENOMEM, "network: out of memory");
        nn_net_free(net);
        return NULL;
    }
    /* running mean 0, running var 1 */
    for (int i = 0; i < net->n_layers; i++) {
        const nn_layer *L = &net->layers[i];
        if (L->op != OP_BN) continue;
        const int C = net->tensors[L->in].C;
        for (int c = 0; c < C; c++) {
            net->buffers[L->buf_off + (size_t)c] = 0.0f;
            net->buffers[L->buf_off + (size_t)C + (size_t)c] = 1.0f;
        }
    }
    if (net->stats) memset(net->stats, 0, net->n_stats * sizeof *net->stats);
    int engine;
    if (default_engine(net, &engine, err) != SAMC_OK) {
        nn_net_free(net);
        return NULL;
    }
    nn_net_set_engine(net, engine);
    return net;
}

/* SAMC_ENGINE: dnnl or ref force an engine; unset, empty or auto pick oneDNN
 * for a network with a convolution and the reference engine otherwise (an
 * MLP's GEMMs run faster through OpenBLAS than through oneDNN's inner
 * products: README, Performance). */
static samc_status default_engine(const nn_net *net, int *engine, char *err)
{
    const char *e = getenv("SAMC_ENGINE");
    if (e && !strcmp(e, "dnnl")) *engine = NN_ENGINE_DNNL;
    else if (e && !strcmp(e, "ref")) *engine = NN_ENGINE_REF;
    else if (e && *e && strcmp(e, "auto") != 0)
        return samc_errf(err, SAMC_EINVAL,
                         "SAMC_ENGINE=%.32s: expected auto, ref (im2col + SGEMM) or dnnl (oneDNN)", e);
    else {
        *engine = NN_ENGINE_REF;
        for (int i = 0; i < net->n_layers; i++)
            if (net->layers[i].op == OP_CONV) *engine = NN_ENGINE_DNNL;
    }
    return SAMC_OK;
}

int nn_net_set_engine(nn_net *net, int engine)
{
    nn_dnnl_free(net->dn);
    net->dn = NULL;
    net->engine = NN_ENGINE_REF;
    if (engine == NN_ENGINE_DNNL && (net->dn = nn_dnnl_create()) != NULL)
        net->engine = NN_ENGINE_DNNL;
    return net->engine;
}

int nn_net_engine(const nn_net *net) { return net->engine; }

double nn_net_flops(const nn_net *net, int backward)
{
    double f = 0.0;
    for (int i = 0; i < net->n_layers; i++) {
        const nn_layer *L = &net->layers[i];
        double mac = 0.0;
        if (L->op == OP_CONV)
            mac = (double)L->g.Co * L->g.Ho * L->g.Wo * (double)L->g.C * L->g.k * L->g.k;
        else if (L->op == OP_LINEAR)
            mac = (double)L->n_in * L->n_out;
        /* backward: the weight gradient, and the input gradient unless the
         * input is the network's */
        const double passes = backward ? (L->in == 0 ? 2.0 : 3.0) : 1.0;
        f += 2.0 * mac * passes;
    }
    return f;
}

int nn_net_n_tensors(const nn_net *net) { return net->n_tensors; }

void nn_net_tensor_shape(const nn_net *net, int t, int *C, int *H, int *W)
{
    *C = net->tensors[t].C;
    *H = net->tensors[t].H;
    *W = net->tensors[t].W;
}

int nn_net_read_tensor(nn_net *net, int t, int N, int diff, float *out)
{
    if (t < 0 || t >= net->n_tensors) return -1;
    if (net->dn) return nn_dnnl_read_tensor(net, t, diff, out);
    const float *src = diff ? net->dact[t] : net->act[t];
    if (!src) return -1;
    memcpy(out, src, (size_t)N * net->tensors[t].size * sizeof *out);
    return 0;
}

/* One entry of the state table: NAME.suffix, its role, where it lives, its shape. */
static samc_tensor *put_tensor(samc_tensor *out, size_t *n, const char *name, const char *suffix,
                               samc_tensor_role role, int buffer, size_t off, int ndim, const int64_t *shape)
{
    samc_tensor *t = out ? &out[*n] : NULL;
    (*n)++;
    if (!t) return NULL;
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s.%s", name, suffix);
    t->role = role;
    t->buffer = buffer;
    t->offset = off;
    t->ndim = ndim;
    t->size = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->size *= (size_t)shape[i];
    }
    return t;
}

size_t nn_net_state_table(const nn_net *net, samc_tensor *out)
{
    size_t n = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const nn_layer *L = &net->layers[i];
        if (L->op == OP_LINEAR || L->op == OP_CONV) {
            const int64_t lin[2] = { L->n_out, L->n_in };
            const int64_t conv[4] = { L->g.Co, L->g.C, L->g.k, L->g.k };
            const int64_t *w = L->op == OP_LINEAR ? lin : conv;
            put_tensor(out, &n, L->name, "weight", SAMC_ROLE_WEIGHT, 0, L->w_off, L->op == OP_LINEAR ? 2 : 4, w);
            if (L->b_off != NO_OFF)
                put_tensor(out, &n, L->name, "bias", SAMC_ROLE_BIAS, 0, L->b_off, 1, w);
        } else if (L->op == OP_BN) {
            const int64_t C[1] = { net->tensors[L->in].C };
            put_tensor(out, &n, L->name, "weight", SAMC_ROLE_BN_SCALE, 0, L->w_off, 1, C);
            put_tensor(out, &n, L->name, "bias", SAMC_ROLE_BN_SHIFT, 0, L->b_off, 1, C);
            put_tensor(out, &n, L->name, "running_mean", SAMC_ROLE_BN_MEAN, 1, L->buf_off, 1, C);
            put_tensor(out, &n, L->name, "running_var", SAMC_ROLE_BN_VAR, 1, L->buf_off + (size_t)C[0], 1, C);
        }
    }
    return n;
}

nn_net *nn_net_mlp(int d, const int *hidden, int nh, int K, char *err)
{
    nn_net *net = begin(d, 1, 1, K, err);
    if (!net) return NULL;
    int t = 0;
    for (int i = 0; i < nh; i++) {
        if (hidden[i] < 1) {
            samc_errf(err, SAMC_EINVAL, "mlp: hidden layer %d has %d units", i + 1, hidden[i]);
            net->failed = 1;
            break;
        }
        char name[32];
        snprintf(name, sizeof name, "lins.%d", i);
        t = add_relu(net, add_linear(net, t, hidden[i], name, err), err);
    }
    char last[32];
    snprintf(last, sizeof last, "lins.%d", nh);
    add_linear(net, t, K, last, err);
    return finish(net, err);
}

nn_net *nn_net_cnn(int C, int H, int W, int K, char *err)
{
    if (H < 4 || W < 4) {
        samc_errf(err, SAMC_EINVAL,
                  "cnn needs images of at least 4 x 4 pixels (two 2x2 max pools), "
                  "these are %d x %d", H, W);
        return NULL;
    }
    nn_net *net = begin(C, H, W, K, err);
    if (!net) return NULL;
    int t = add_conv(net, 0, 16, 3, 1, 1, 1, "conv1", err);
    t = add_maxpool(net, add_relu(net, t, err), 2, 2, err);
    t = add_conv(net, t, 32, 3, 1, 1, 1, "conv2", err);
    t = add_maxpool(net, add_relu(net, t, err), 2, 2, err);
    t = add_relu(net, add_linear(net, t, 128, "fc1", err), err);
    add_linear(net, t, K, "fc2", err);
    return finish(net, err);
}

/* BasicBlock(in -> planes, stride): relu(bn2(conv2(relu(bn1(conv1 x)))) + sc(x)),
 * its modules named "PREFIX.conv1", ..., "PREFIX.shortcut.0" (conv), ".1" (BN). */
static int basic_block(nn_net *net, int x, int planes, int stride, const char *prefix, char *err)
{
    if (x < 0) return -1;
    const int in_planes = net->tensors[x].C;
    char n[4][NN_NAME_LEN];
    static const char *const part[4] = { "conv1", "bn1", "conv2", "bn2" };
    for (int i = 0; i < 4; i++) snprintf(n[i], sizeof n[i], "%.50s.%s", prefix, part[i]);
    int o = add_conv(net, x, planes, 3, stride, 1, 0, n[0], err);
    o = add_relu(net, add_bn(net, o, n[1], err), err);
    o = add_bn(net, add_conv(net, o, planes, 3, 1, 1, 0, n[2], err), n[3], err);
    int sc = x;
    if (stride != 1 || in_planes != planes) {
        snprintf(n[0], sizeof n[0], "%.50s.shortcut.0", prefix);
        snprintf(n[1], sizeof n[1], "%.50s.shortcut.1", prefix);
        sc = add_bn(net, add_conv(net, x, planes, 1, stride, 0, 0, n[0], err), n[1], err);
    }
    return add_relu(net, add_add(net, o, sc, err), err);
}

nn_net *nn_net_resnet(int depth, int C, int H, int W, int K, char *err)
{
    if (depth < 8 || (depth - 2) % 6 != 0) {
        samc_errf(err, SAMC_EINVAL,
                  "resnet:%d: the depth must be 6k+2 with k >= 1 (8, 14, 20, 32, 44, 56, 110)",
                  depth);
        return NULL;
    }
    const int k = (depth - 2) / 6;
    nn_net *net = begin(C, H, W, K, err);
    if (!net) return NULL;
    int t = add_conv(net, 0, 16, 3, 1, 1, 0, "conv1", err);
    t = add_relu(net, add_bn(net, t, "bn1", err), err);
    for (int stage = 0; stage < 3; stage++)
        for (int b = 0; b < k; b++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "blocks.%d", stage * k + b);
            t = basic_block(net, t, 16 << stage, stage > 0 && b == 0 ? 2 : 1, prefix, err);
        }
    add_linear(net, add_gap(net, t, err), K, "fc", err);
    return finish(net, err);
}

void nn_net_free(nn_net *net)
{
    if (!net) return;
    nn_dnnl_free(net->dn);
    SAMC_FREE_ALL(net->layers, net->tensors, net->buffers, net->stats, net->act_arena, net->dact_arena,
                  net->scratch, net->gpriv, net->bnbuf, net->labels, net->act, net->dact, net);
}

size_t nn_net_n_params(const nn_net *net) { return net->n_params; }
size_t nn_net_n_buffers(const nn_net *net) { return net->n_buffers; }
float *nn_net_buffers(nn_net *net) { return net->buffers; }
size_t nn_net_input_size(const nn_net *net) { return net->tensors[0].size; }
int nn_net_n_classes(const nn_net *net) { return net->K; }
float *nn_net_input(nn_net *net) { return net->dn ? nn_dnnl_input(net) : net->act[0]; }
int *nn_net_labels(nn_net *net) { return net->labels; }

size_t nn_net_row_floats(const nn_net *net) { return net->row_floats; }

float *nn_net_dlogits(nn_net *net)
{
    if (net->dn) return nn_dnnl_dlogits(net);
    return net->dact[net->layers[net->n_layers - 1].out];
}

void nn_net_init_params(const nn_net *net, float *x, samc_rng *rng)
{
    for (int i = 0; i < net->n_layers; i++) {
        const nn_layer *L = &net->layers[i];
        size_t nw = 0, nb = 0;
        double fan_in = 0.0;
        if (L->op == OP_LINEAR) {
            nw = (size_t)L->n_out * (size_t)L->n_in;
            nb = (size_t)L->n_out;
            fan_in = L->n_in;
        } else if (L->op == OP_CONV) {
            nw = (size_t)L->g.Co * (size_t)L->g.C * (size_t)L->g.k * (size_t)L->g.k;
            nb = L->b_off != NO_OFF ? (size_t)L->g.Co : 0;
            fan_in = (double)L->g.C * L->g.k * L->g.k;
        } else if (L->op == OP_BN) {
            const size_t C = (size_t)net->tensors[L->in].C;
            for (size_t c = 0; c < C; c++) {
                x[L->w_off + c] = 1.0f;
                x[L->b_off + c] = 0.0f;
            }
            continue;
        } else {
            continue;
        }
        const double sd = sqrt(2.0 / fan_in);
        for (size_t j = 0; j < nw; j++) x[L->w_off + j] = (float)(sd * samc_rng_normal(rng));
        for (size_t j = 0; j < nb; j++) x[L->b_off + j] = 0.0f;
    }
}

/* ----------------------------------------------------------------- running */

/* The threads a pass may use (omp_get_max_threads(): samc_set_threads or
 * OMP_NUM_THREADS). */
static int pass_threads(void)
{
    int t = omp_get_max_threads();
    return t < 1 ? 1 : t;
}

/* The BLAS runs on one thread during a pass: the threads are ours, each
 * calling its own GEMMs (OpenBLAS's threads spinning beside OpenMP's
 * measured 4x slower on 2 cores).  Returns the count to restore. */
static int blas_single_begin(void)
{
    int saved = openblas_get_num_threads();
    if (saved != 1) openblas_set_num_threads(1);
    return saved;
}

static void blas_single_end(int saved)
{
    if (saved != 1) openblas_set_num_threads(saved);
}

static samc_status ref_reserve(nn_net *net, int N, int grad);

samc_status nn_net_reserve(nn_net *net, int N, int grad)
{
    if (N < 1) return SAMC_EINVAL;
    if (N > net->lab_cap) {
        free(net->labels);
        net->labels = malloc((size_t)N * sizeof *net->labels);
        net->lab_cap = net->labels ? N : 0;
        if (!net->labels) return SAMC_ENOMEM;
    }
    if (net->dn) {
        const samc_status st = nn_dnnl_reserve(net, N, grad);
        if (st != SAMC_EINVAL) return st;
        nn_net_set_engine(net, NN_ENGINE_REF);   /* oneDNN cannot run it */
    }
    return ref_reserve(net, N, grad);
}

/* The reference engine's buffers for N rows. */
static samc_status ref_reserve(nn_net *net, int N, int grad)
{
    if (N > net->fwd_cap) {
        free(net->act_arena);
        net->act_arena = malloc((size_t)N * net->row_floats * sizeof *net->act_arena);
        if (!net->act_arena) {
            net->fwd_cap = 0;
            return SAMC_ENOMEM;
        }
        net->fwd_cap = N;
        for (int t = 0; t < net->n_tensors; t++)
            net->act[t] = net->act_arena + (size_t)N * net->tensors[t].off;
    }
    if (grad && N > net->bwd_cap) {
        /* gradients of tensors 1.. (the input needs none) */
        const size_t skip = net->tensors[0].size;
        free(net->dact_arena);
        net->dact_arena = malloc((size_t)N * (net->row_floats - skip) * sizeof *net->dact_arena);
        if (!net->dact_arena) {
            net->bwd_cap = 0;
            return SAMC_ENOMEM;
        }
        net->bwd_cap = N;
        net->dact[0] = NULL;
        for (int t = 1; t < net->n_tensors; t++)
            net->dact[t] = net->dact_arena + (size_t)N * (net->tensors[t].off - skip);
    }
    /* per-thread storage for the current thread count */
    const int T = pass_threads();
    if (T > net->nt_cap) {
        size_t per = 0, cmax = 0;
        for (int i = 0; i < net->n_layers; i++) {
            const nn_layer *L = &net->layers[i];
            if (L->op == OP_CONV && nn_conv_scratch(&L->g) > per) per = nn_conv_scratch(&L->g);
            if (L->op == OP_BN && (size_t)net->tensors[L->in].C > cmax)
                cmax = (size_t)net->tensors[L->in].C;
        }
        free(net->scratch);
        free(net->bnbuf);
        net->scratch = per ? malloc((size_t)T * per * sizeof *net->scratch) : NULL;
        net->bnbuf = cmax ? malloc(2 * (size_t)T * 5 * cmax * sizeof *net->bnbuf) : NULL;
        if ((per && !net->scratch) || (cmax && !net->bnbuf)) {
            net->nt_cap = 0;
            return SAMC_ENOMEM;
        }
        net->scratch_per = per;
        net->bn_stride = 5 * cmax;
        net->nt_cap = T;
    }
    if (grad && T > net->gpriv_cap) {
        free(net->gpriv);
        net->gpriv = T > 1 ? malloc((size_t)(T - 1) * net->n_params * sizeof *net->gpriv) : NULL;
        if (T > 1 && !net->gpriv) {
            net->gpriv_cap = 0;
            return SAMC_ENOMEM;
        }
        net->gpriv_cap = T;
    }
    return SAMC_OK;
}

/* Threads for a batch of N rows: the current count, at most what was
 * provisioned (and, for the backward pass, given gradient space), at most
 * one per row, and one when the batch is too small to pay for a team. */
static int team(const nn_net *net, int N, int backward)
{
    int T = pass_threads();
    if (T > net->nt_cap) T = net->nt_cap;
    if (backward && T > net->gpriv_cap) T = net->gpriv_cap;
    if (T > N) T = N;
    if ((double)N * (double)(net->n_params + net->row_floats) < 2e5) T = 1;
    return T < 1 ? 1 : T;
}

/*
 * Threads (nn.h): the batch's rows are split into T contiguous blocks, one
 * per thread, and each thread runs every layer on its block -- all tensors
 * are batch-major, so a block is a contiguous slice of each, and the GEMMs
 * are the kernels' own, single-threaded (BLAS switched to one thread).  The
 * threads meet only where a layer couples rows: BatchNorm's batch statistics
 * (per-thread partial sums, a barrier, every thread combining them in
 * thread order) and, at the end of the backward pass, the parameter
 * gradient, which thread t > 0 accumulates in its own buffer, summed into
 * grad in thread order.  So one pass costs one barrier per BatchNorm layer
 * and one at the end, not one per layer; with one thread it is exactly the
 * serial computation.  The partial sums of consecutive BatchNorm layers
 * alternate between two halves of bnbuf, so a fast thread writing the next
 * layer's partials never meets a slow one still reading the last's.
 */

/* Thread t's slot of BatchNorm partials for the k-th BN layer of a pass. */
static double *bn_slot(const nn_net *net, int k, int t, int T)
{
    return net->bnbuf + ((size_t)(k & 1) * (size_t)T + (size_t)t) * net->bn_stride;
}

static void forward_rows(nn_net *net, const float *p, int N, int n0, int nr, int t, int T,
                         int train, int update_stats)
{
    float *col = net->scratch ? net->scratch + (size_t)t * net->scratch_per : NULL;
    int kbn = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const nn_layer *L = &net->layers[i];
        const nn_tensor *ti = &net->tensors[L->in], *to = &net->tensors[L->out];
        const float *x = net->act[L->in] + (size_t)n0 * ti->size;
        float *y = net->act[L->out] + (size_t)n0 * to->size;
        const size_t n = (size_t)nr * ti->size;
        switch (L->op) {
        case OP_LINEAR:
            if (T == 1) {
                nn_linear_forward(x, p + L->w_off, p + L->b_off, y, nr, L->n_in, L->n_out);
                break;
            }
            /* shared by the team, split by output features: each thread
             * reads a share of W, not all of it (wide layers on small
             * batches are bound by reading W); barriers around, as the
             * layer reads and writes every row */
            {
                #pragma omp barrier
                const int o0 = (int)((long long)L->n_out * t / T);
                const int o1 = (int)((long long)L->n_out * (t + 1) / T);
                nn_linear_forward_cols(net->act[L->in], p + L->w_off, p + L->b_off,
                                       net->act[L->out], N, L->n_in, L->n_out, o0, o1);
                #pragma omp barrier
            }
            break;
        case OP_CONV:
            nn_conv_forward(&L->g, x, p + L->w_off, L->b_off != NO_OFF ? p + L->b_off : NULL,
                            y, nr, col);
            break;
        case OP_BN: {
            const int C = ti->C, P = ti->H * ti->W;
            float *rm = net->buffers + L->buf_off, *rv = rm + C;
            double *mean = net->stats + L->stat_off, *invstd = mean + C;
            if (train) {
                double *part = bn_slot(net, kbn, t, T);
                nn_bn_stats_partial(x, nr, C, P, part);
                if (T > 1) {
                    #pragma omp barrier
                }
                /* every thread combines all partials (the same arithmetic,
                 * so the same result); thread 0 stores the statistics and
                 * updates the running ones, the others keep a copy in their
                 * own slot */
                if (t > 0) mean = part + 3 * (size_t)C, invstd = mean + C;
                nn_bn_stats_finish(bn_slot(net, kbn, 0, T), net->bn_stride, T, C, BN_EPS, mean,
                                   invstd, t == 0 && update_stats ? rm : NULL,
                                   t == 0 && update_stats ? rv : NULL, BN_MOMENTUM);
                nn_bn_normalize(x, p + L->w_off, p + L->b_off, mean, invstd, y, nr, C, P);
                kbn++;
            } else {   /* keeping the statistics the evaluation-mode backward needs */
                nn_bn_forward_eval(x, p + L->w_off, p + L->b_off, rm, rv, y, nr, C, P, BN_EPS,
                                   t == 0 ? mean : NULL, t == 0 ? invstd : NULL);
            }
            (void)N;
            break;
        }
        case OP_RELU:   /* in place: y is x */
            nn_relu_inplace(y, n);
            break;
        case OP_MAXPOOL:
            nn_maxpool_forward(x, y, nr, ti->C, ti->H, ti->W, L->k, L->s);
            break;
        case OP_GAP:
            nn_gap_forward(x, y, nr, ti->C, ti->H * ti->W);
            break;
        case OP_ADD:
            nn_add_forward(x, net->act[L->in2] + (size_t)n0 * ti->size, y, n);
            break;
        }
    }
}

const float *nn_net_forward(nn_net *net, const float *p, int N, int train,
                            int update_stats)
{
    net->train = train;
    if (net->dn) return nn_dnnl_forward(net, p, N, train, update_stats);
    const int T = team(net, N, 0), blas = blas_single_begin();
    #pragma omp parallel num_threads(T) if (T > 1)
    {
        const int t = omp_get_thread_num();
        const int n0 = (int)((long long)N * t / T), n1 = (int)((long long)N * (t + 1) / T);
        forward_rows(net, p, N, n0, n1 - n0, t, T, train, update_stats);
    }
    blas_single_end(blas);
    return net->act[net->layers[net->n_layers - 1].out];
}

static void backward_rows(nn_net *net, const float *p, float *g, float *grad, int N, int n0,
                          int nr, int t, int T)
{
    float *col = net->scratch ? net->scratch + (size_t)t * net->scratch_per : NULL;
    const int out = net->layers[net->n_layers - 1].out;
    const int out_base = net->tensors[out].alias >= 0 ? net->tensors[out].alias : out;
    for (int u = 1; u < net->n_tensors; u++)
        if (u != out_base && net->tensors[u].alias < 0)
            memset(net->dact[u] + (size_t)n0 * net->tensors[u].size, 0,
                   (size_t)nr * net->tensors[u].size * sizeof(float));
    int kbn = 0;
    for (int i = net->n_layers - 1; i >= 0; i--) {
        const nn_layer *L = &net->layers[i];
        const nn_tensor *ti = &net->tensors[L->in], *to = &net->tensors[L->out];
        const size_t ri = (size_t)n0 * ti->size, ro = (size_t)n0 * to->size;
        const float *x = net->act[L->in] + ri;
        const float *dy = net->dact[L->out] + ro;
        float *dx = net->dact[L->in] ? net->dact[L->in] + ri : NULL;   /* NULL: the input */
        const size_t n = (size_t)nr * ti->size;
        switch (L->op) {
        case OP_LINEAR:
            if (T == 1) {
                nn_linear_backward(x, p + L->w_off, dy, dx, g + L->w_off, g + L->b_off, nr,
                                   L->n_in, L->n_out);
                break;
            }
            /* shared: rows [o0, o1) of dW and db, complete sums over the
             * batch, straight into grad; this thread's rows of dX */
            {
                #pragma omp barrier
                const int o0 = (int)((long long)L->n_out * t / T);
                const int o1 = (int)((long long)L->n_out * (t + 1) / T);
                nn_linear_backward_part(net->act[L->in], p + L->w_off, net->dact[L->out],
                                        net->dact[L->in], grad + L->w_off, grad + L->b_off, N,
                                        L->n_in, L->n_out, o0, o1, n0, n0 + nr);
            }
            break;
        case OP_CONV:
            nn_conv_backward(&L->g, x, p + L->w_off, dy, dx, g + L->w_off,
                             L->b_off != NO_OFF ? g + L->b_off : NULL, nr, col);
            break;
        case OP_BN: {
            const int C = ti->C, P = ti->H * ti->W;
            const double *mean = net->stats + L->stat_off, *invstd = mean + C;
            if (!net->train) {
                nn_bn_backward_eval(x, p + L->w_off, mean, invstd, dy, dx, g + L->w_off,
                                    g + L->b_off, nr, C, P);
                break;
            }
            double *part = bn_slot(net, kbn++, t, T);
            nn_bn_backward_partial(x, mean, dy, nr, C, P, part);
            if (T > 1) {
                #pragma omp barrier
            }
            /* the sums over the whole batch, in thread order, into this
             * thread's own slot after its partial */
            double *sums = part + 2 * (size_t)C;
            const double *p0 = part - (size_t)t * net->bn_stride;
            for (size_t c = 0; c < 2 * (size_t)C; c++) {
                double acc = 0.0;
                for (int u = 0; u < T; u++) acc += p0[(size_t)u * net->bn_stride + c];
                sums[c] = acc;
            }
            if (t == 0)   /* the parameter gradient once, from the totals */
                for (int c = 0; c < C; c++) {
                    g[L->w_off + (size_t)c] += (float)(sums[2 * c + 1] * invstd[c]);
                    g[L->b_off + (size_t)c] += (float)sums[2 * c];
                }
            if (dx)
                nn_bn_backward_apply(x, p + L->w_off, mean, invstd, sums, (double)N * P, dy, dx,
                                     nr, C, P);
            break;
        }
        case OP_RELU:   /* in place: dx is dy, x now holds y */
            nn_relu_backward_inplace(x, dx, n);
            break;
        case OP_MAXPOOL:
            if (dx) nn_maxpool_backward(x, dy, dx, nr, ti->C, ti->H, ti->W, L->k, L->s);
            break;
        case OP_GAP:
            if (dx) nn_gap_backward(dy, dx, nr, ti->C, ti->H * ti->W);
            break;
        case OP_ADD:
            nn_add_backward(dy, dx, net->dact[L->in2] + ri, n);
            break;
        }
    }
}

/* Parameters [off, off + len) of layer L that threads accumulate in their
 * own gradient buffers (convolutions and BatchNorm; the linear layers write
 * their shares of grad directly): *n ranges into r (at most 2). */
static int private_ranges(const nn_net *net, const nn_layer *L, size_t r[2][2])
{
    if (L->op == OP_CONV) {
        r[0][0] = L->w_off;
        r[0][1] = (size_t)L->g.Co * L->g.C * L->g.k * L->g.k;
        if (L->b_off == NO_OFF) return 1;
        r[1][0] = L->b_off;
        r[1][1] = (size_t)L->g.Co;
        return 2;
    }
    if (L->op == OP_BN) {
        r[0][0] = L->w_off;
        r[0][1] = 2 * (size_t)net->tensors[L->in].C;   /* gamma, then beta */
        return 1;
    }
    return 0;
}

void nn_net_backward(nn_net *net, const float *p, float *grad, int N)
{
    if (net->dn) {
        nn_dnnl_backward(net, p, grad, N);
        return;
    }
    const int T = team(net, N, 1), blas = blas_single_begin();
    const size_t np = net->n_params;
    #pragma omp parallel num_threads(T) if (T > 1)
    {
        const int t = omp_get_thread_num();
        const int n0 = (int)((long long)N * t / T), n1 = (int)((long long)N * (t + 1) / T);
        float *g = grad;
        size_t r[2][2];
        if (t > 0) {
            g = net->gpriv + (size_t)(t - 1) * np;
            for (int i = 0; i < net->n_layers; i++)
                for (int k = private_ranges(net, &net->layers[i], r) - 1; k >= 0; k--)
                    memset(g + r[k][0], 0, r[k][1] * sizeof *g);
        }
        backward_rows(net, p, g, grad, N, n0, n1 - n0, t, T);
        if (T > 1) {
            /* the threads' own sums into grad, in thread order */
            #pragma omp barrier
            for (int i = 0; i < net->n_layers; i++)
                for (int k = private_ranges(net, &net->layers[i], r) - 1; k >= 0; k--) {
                    float *dst = grad + r[k][0];
                    const float *src = net->gpriv + r[k][0];
                    #pragma omp for schedule(static) nowait
                    for (size_t j = 0; j < r[k][1]; j++) {
                        float sum = dst[j];
                        for (int u = 1; u < T; u++) sum += src[(size_t)(u - 1) * np + j];
                        dst[j] = sum;
                    }
                }
        }
    }
    blas_single_end(blas);
}
