/*
 * net.c -- the network models "mlp:H1,...,Hk", "cnn", "resnet:N" and the
 * papers' CIFAR models "resnet18" and "wrn:D-K" as
 * samc_model kinds: spec parsing, and the data term (mean softmax
 * cross-entropy; model.c adds the mean, scale and l2) on top of an nn_net
 * (src/nn: layers.c, network.c).  Training-mode forward in loss_grad
 * (BatchNorm batch statistics; running statistics updated in pass 1 only),
 * evaluation mode in evaluate and logits, which run over the data in chunks.
 *
 * A network handle keeps its activations and scratch inside (grown to the
 * largest batch seen), so it is NOT thread-safe: one call at a time per
 * handle.  The bias flag of samc_model_create does not apply to networks.
 */
#include "model/model_internal.h"
#include "nn/nn.h"
#include "util/err.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Rows per chunk of evaluate / logits: about 2^25 activation floats (128 MB),
 * at least 32 and at most 256 rows. */
static int eval_chunk(const nn_net *net)
{
    size_t c = ((size_t)1 << 25) / (nn_net_row_floats(net) ? nn_net_row_floats(net) : 1);
    if (c < 32) c = 32;
    if (c > 256) c = 256;
    return (int)c;
}

static void net_destroy(samc_model *m)
{
    nn_net_free(m->priv);
    m->priv = NULL;
    m->buffers = NULL;
    m->n_buffers = 0;
}

/* Checks shared by the three kinds; K classes into *K. */
static samc_status check_common(const samc_model *m, int *K, char *err)
{
    if (m->n_classes < 2)
        return samc_errf(err, SAMC_EINVAL, "model %s needs classification data with at least 2 classes, "
                         "these have %d", m->ops->name, m->n_classes);
    if (m->d > (size_t)INT_MAX)
        return samc_errf(err, SAMC_EINVAL, "model %s: %zu features are too many", m->ops->name, m->d);
    *K = m->n_classes;
    return SAMC_OK;
}

static samc_status need_image(const samc_model *m, char *err)
{
    if (m->channels > 0 && m->height > 0 && m->width > 0) return SAMC_OK;
    return samc_errf(err, SAMC_EINVAL, "model %s needs image data (channels x height x width, e.g. "
                     "fashion-mnist or cifar10, through samc_model_create_for); these rows "
                     "are flat vectors of %zu features (use mlp:H1,... for those)",
                     m->ops->name, m->d);
}

static samc_status adopt(samc_model *m, nn_net *net, int K, char *err)
{
    m->priv = net;
    m->target_classes = K;
    m->n_params = nn_net_n_params(net);
    m->n_buffers = nn_net_n_buffers(net);
    m->buffers = m->n_buffers ? nn_net_buffers(net) : NULL;
    m->n_tensors = nn_net_state_table(net, NULL);
    m->tensors = malloc(m->n_tensors * sizeof *m->tensors);
    if (!m->tensors) return samc_errf(err, SAMC_ENOMEM, "model %s: out of memory", m->ops->name);
    nn_net_state_table(net, m->tensors);
    return SAMC_OK;
}

#define MLP_MAX_LAYERS 64

static samc_status mlp_setup(samc_model *m, const char *args, char *err)
{
    int K;
    samc_status st = check_common(m, &K, err);
    if (st != SAMC_OK) return st;
    if (!args || !*args)
        return samc_errf(err, SAMC_EINVAL, "model mlp needs its hidden layer sizes, e.g. mlp:128,64 "
                         "(got \"%s\")", m->name);
    int hidden[MLP_MAX_LAYERS], nh = 0;
    const char *p = args;
    for (;;) {
        if (*p < '0' || *p > '9')
            return samc_errf(err, SAMC_EINVAL, "model \"%.64s\": hidden layer sizes must be positive "
                             "integers separated by commas, e.g. mlp:128,64", m->name);
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || v < 1 || v > (1L << 20))
            return samc_errf(err, SAMC_EINVAL, "model \"%.64s\": hidden layer size %.16s is out of range "
                             "(1..%ld)", m->name, p, 1L << 20);
        if (nh == MLP_MAX_LAYERS)
            return samc_errf(err, SAMC_EINVAL, "model \"%.64s\": more than %d hidden layers", m->name,
                             MLP_MAX_LAYERS);
        hidden[nh++] = (int)v;
        if (*end == '\0') break;
        if (*end != ',')
            return samc_errf(err, SAMC_EINVAL, "model \"%.64s\": unexpected \"%.16s\" in the hidden layer "
                             "list (positive integers separated by commas)", m->name, end);
        p = end + 1;
    }
    nn_net *net = nn_net_mlp((int)m->d, hidden, nh, K, err);
    return net ? adopt(m, net, K, err) : SAMC_EINVAL;
}

/* A network on images that takes no options (cnn, resnet18). */
static samc_status image_setup(samc_model *m, const char *args,
                               nn_net *(*build)(int C, int H, int W, int K, char *err), char *err)
{
    int K;
    samc_status st = check_common(m, &K, err);
    if (st != SAMC_OK) return st;
    if (args)
        return samc_errf(err, SAMC_EINVAL, "model %s takes no options (got \"%.64s\")", m->ops->name,
                         args);
    if ((st = need_image(m, err)) != SAMC_OK) return st;
    nn_net *net = build(m->channels, m->height, m->width, K, err);
    return net ? adopt(m, net, K, err) : SAMC_EINVAL;
}

static samc_status cnn_setup(samc_model *m, const char *args, char *err)
{
    return image_setup(m, args, nn_net_cnn, err);
}

static samc_status resnet_setup(samc_model *m, const char *args, char *err)
{
    int K;
    samc_status st = check_common(m, &K, err);
    if (st != SAMC_OK) return st;
    char *end = NULL;
    long depth = -1;
    if (args && *args >= '0' && *args <= '9') {
        errno = 0;
        depth = strtol(args, &end, 10);
        if (errno || *end != '\0' || depth > 10000) depth = -1;
    }
    if (depth < 8 || (depth - 2) % 6 != 0)
        return samc_errf(err, SAMC_EINVAL, "model \"%.64s\": expected resnet:N with depth N = 6k+2, k >= 1 "
                         "(8, 14, 20, 32, 44, 56, 110)", m->name);
    if ((st = need_image(m, err)) != SAMC_OK) return st;
    nn_net *net = nn_net_resnet((int)depth, m->channels, m->height, m->width, K, err);
    return net ? adopt(m, net, K, err) : SAMC_EINVAL;
}

static samc_status resnet18_setup(samc_model *m, const char *args, char *err)
{
    return image_setup(m, args, nn_net_resnet18, err);
}

/* "D-K": the depth D = 6n+4 and the widening factor K of wrn:D-K. */
static int parse_wrn(const char *args, long *depth, long *widen)
{
    char *end = NULL;
    if (!args || *args < '0' || *args > '9') return -1;
    errno = 0;
    *depth = strtol(args, &end, 10);
    if (errno || *end != '-' || end[1] < '0' || end[1] > '9' || *depth > 10000) return -1;
    *widen = strtol(end + 1, &end, 10);
    if (errno || *end != '\0') return -1;
    return *depth >= 10 && (*depth - 4) % 6 == 0 && *widen >= 1 && *widen <= 64 ? 0 : -1;
}

static samc_status wrn_setup(samc_model *m, const char *args, char *err)
{
    int K;
    samc_status st = check_common(m, &K, err);
    if (st != SAMC_OK) return st;
    long depth, widen;
    if (parse_wrn(args, &depth, &widen) != 0)
        return samc_errf(err, SAMC_EINVAL, "model \"%.64s\": expected wrn:D-K with depth D = 6n+4, "
                         "n >= 1 (10, 16, 22, 28, 40) and widening factor K in 1..64, e.g. wrn:28-10",
                         m->name);
    if ((st = need_image(m, err)) != SAMC_OK) return st;
    nn_net *net = nn_net_wrn((int)depth, (int)widen, m->channels, m->height, m->width, K, err);
    return net ? adopt(m, net, K, err) : SAMC_EINVAL;
}

static void net_init_params(const samc_model *m, float *x, samc_rng *rng)
{
    nn_net_init_params(m->priv, x, rng);
}

/* Rows idx[t0 .. t0+N) of ds into the network's input (and labels). */
static void gather(nn_net *net, const samc_dataset *ds, const size_t *idx, size_t t0,
                   int N, int labels)
{
    const size_t d = ds->d;
    float *in = nn_net_input(net);
    int *lab = nn_net_labels(net);
    for (int t = 0; t < N; t++) {
        const size_t r = idx ? idx[t0 + (size_t)t] : t0 + (size_t)t;
        samc_dataset_row_dense(ds, r, in + (size_t)t * d);   /* dense or sparse rows */
        if (labels) lab[t] = (int)ds->y[r];
    }
}

static samc_status net_loss_grad(const samc_model *m, const samc_dataset *ds,
                                 const size_t *idx, size_t nb, const float *x,
                                 float *grad, double gscale, double *loss_sum)
{
    nn_net *net = m->priv;
    if (nb > (size_t)INT_MAX) return SAMC_EINVAL;
    const int N = (int)nb, K = nn_net_n_classes(net);
    samc_status st = nn_net_reserve(net, N, grad != NULL);
    if (st != SAMC_OK) return st;
    gather(net, ds, idx, 0, N, 1);
    if (m->pass != 0) nn_net_dropout_pass(net, m->pass, N);
    const float *z = nn_net_forward(net, x, N, m->pass != 0, m->pass == 1);
    *loss_sum = nn_softmax_xent_smooth(z, nn_net_labels(net), N, K, m->smoothing, grad ? nn_net_dlogits(net) : NULL,
                                       gscale, NULL);
    if (grad) nn_net_backward(net, x, grad, N);
    return SAMC_OK;
}

static samc_status net_evaluate(const samc_model *m, const samc_dataset *ds,
                                const float *x, double *loss_sum, double *n_correct)
{
    nn_net *net = m->priv;
    const int K = nn_net_n_classes(net), chunk = eval_chunk(net);
    double lsum = 0.0, correct = 0.0;
    for (size_t t0 = 0; t0 < ds->n; t0 += (size_t)chunk) {
        const int N = ds->n - t0 < (size_t)chunk ? (int)(ds->n - t0) : chunk;
        samc_status st = nn_net_reserve(net, N, 0);
        if (st != SAMC_OK) return st;
        gather(net, ds, NULL, t0, N, 1);
        const float *z = nn_net_forward(net, x, N, 0, 0);
        size_t c = 0;
        lsum += nn_softmax_xent_smooth(z, nn_net_labels(net), N, K, m->smoothing, NULL, 0.0, &c);
        correct += (double)c;
    }
    *loss_sum = lsum;
    *n_correct = correct;
    return SAMC_OK;
}

static samc_status net_logits(const samc_model *m, const samc_dataset *ds,
                              const size_t *idx, size_t nb, const float *x, float *out)
{
    nn_net *net = m->priv;
    const int K = nn_net_n_classes(net), chunk = eval_chunk(net);
    for (size_t t0 = 0; t0 < nb; t0 += (size_t)chunk) {
        const int N = nb - t0 < (size_t)chunk ? (int)(nb - t0) : chunk;
        samc_status st = nn_net_reserve(net, N, 0);
        if (st != SAMC_OK) return st;
        gather(net, ds, idx, t0, N, 0);
        const float *z = nn_net_forward(net, x, N, 0, 0);
        memcpy(out + t0 * (size_t)K, z, (size_t)N * (size_t)K * sizeof *out);
    }
    return SAMC_OK;
}

static size_t net_row_floats(const samc_model *m) { return nn_net_row_floats(m->priv); }

static samc_status net_set_dropout(samc_model *m, double p, char *err)
{
    SAMC_CHECK(nn_net_set_dropout(m->priv, p) == 0, SAMC_EINVAL,
               "dropout %g: model %.64s has no dropout (wrn:D-K has)", p, m->name);
    return SAMC_OK;
}

/* The dropout stream; NULL while the model draws nothing (rate 0). */
static samc_rng *net_rng(samc_model *m)
{
    return nn_net_dropout(m->priv) > 0.0 ? nn_net_dropout_rng(m->priv) : NULL;
}

/* The network models differ only in how they assemble the network. */
#define NET_OPS(NAME, SETUP)                                                   \
    {                                                                          \
        .name = NAME, .kind = SAMC_MODEL_NET, .setup = SETUP,                  \
        .destroy = net_destroy, .init_params = net_init_params,                \
        .loss_grad = net_loss_grad, .evaluate = net_evaluate,                  \
        .logits = net_logits, .row_floats = net_row_floats,                    \
        .set_dropout = net_set_dropout, .rng = net_rng,                        \
    }
const samc_model_ops samc_model_mlp_ops = NET_OPS("mlp", mlp_setup);
const samc_model_ops samc_model_cnn_ops = NET_OPS("cnn", cnn_setup);
const samc_model_ops samc_model_resnet_ops = NET_OPS("resnet", resnet_setup);
const samc_model_ops samc_model_resnet18_ops = NET_OPS("resnet18", resnet18_setup);
const samc_model_ops samc_model_wrn_ops = NET_OPS("wrn", wrn_setup);
