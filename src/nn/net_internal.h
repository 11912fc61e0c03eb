/*
 * net_internal.h -- the network description shared by the two engines of
 * src/nn: the reference engine (network.c: im2col + SGEMM, threads over row
 * blocks) and the oneDNN engine (dnnl_engine.c).  Private to src/nn.
 */
#ifndef SAMC_NN_NET_INTERNAL_H
#define SAMC_NN_NET_INTERNAL_H

#include "nn/nn.h"

#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1
#define NO_OFF ((size_t)-1)
/* a module name and its longest suffix (".running_mean") fit a samc_tensor name */
#define NN_NAME_LEN 80

typedef enum nn_op {
    OP_LINEAR,
    OP_CONV,
    OP_BN,
    OP_RELU,
    OP_MAXPOOL,
    OP_GAP,
    OP_ADD
} nn_op;

typedef struct nn_tensor {
    int C, H, W;
    size_t size;      /* floats per row: C H W */
    size_t off;       /* floats before it in a row of the activation arena */
    int alias;        /* -1, or the tensor whose storage this one shares
                       * (the output of an in-place ReLU) */
} nn_tensor;

typedef struct nn_layer {
    nn_op op;
    int in, in2, out;    /* tensor ids (in2: ADD only) */
    nn_conv_geom g;      /* CONV */
    int k, s;            /* MAXPOOL window, stride */
    int n_in, n_out;     /* LINEAR features */
    size_t w_off, b_off; /* parameters: weight / gamma, bias / beta (NO_OFF: none) */
    size_t buf_off;      /* BN: running mean at buf_off, running var at buf_off + C */
    size_t stat_off;     /* BN: batch mean at stat_off, 1/std at stat_off + C */
    char name[NN_NAME_LEN]; /* LINEAR, CONV, BN: the module's name in the PyTorch
                             * definition of the network ("blocks.0.conv1") */
} nn_layer;

struct nn_net {
    nn_layer *layers;
    int n_layers;
    size_t cap_layers;
    nn_tensor *tensors;
    int n_tensors;
    size_t cap_tensors;
    int K;
    int failed;          /* a builder step failed (message already in err) */
    size_t n_params, n_buffers, n_stats;
    float *buffers;      /* n_buffers */
    double *stats;       /* n_stats */
    size_t row_floats;   /* sum of all tensor sizes */
    /* batch-sized storage */
    int fwd_cap, bwd_cap;
    float *act_arena, *dact_arena;
    /* per-thread storage for up to nt_cap threads (grown with the thread
     * count, never per step) */
    int nt_cap, gpriv_cap;   /* threads provisioned; of them, with gradients */
    size_t scratch_per;  /* floats of conv scratch per thread */
    float *scratch;      /* nt_cap x scratch_per */
    float *gpriv;        /* (gpriv_cap - 1) x n_params: gradients of threads 1.. */
    double *bnbuf;       /* 2 x nt_cap x bn_stride: BatchNorm partial sums */
    size_t bn_stride;    /* doubles per thread: 5 x the widest BN layer */
    int *labels;         /* lab_cap */
    int lab_cap;
    int train;           /* mode of the last forward: BN backward follows it */
    float **act, **dact; /* n_tensors pointers into the arenas (dact[0] NULL) */
    int engine;          /* NN_ENGINE_REF or NN_ENGINE_DNNL (nn.h) */
    struct nn_dnnl *dn;  /* the oneDNN engine's state (NULL: reference) */
};

/* The oneDNN engine (dnnl_engine.c).  nn_dnnl_create returns NULL when the
 * engine cannot be had (then the network runs on the reference engine). */
struct nn_dnnl;
struct nn_dnnl *nn_dnnl_create(void);
void nn_dnnl_free(struct nn_dnnl *dn);
samc_status nn_dnnl_reserve(nn_net *net, int N, int grad);
float *nn_dnnl_input(nn_net *net);
float *nn_dnnl_dlogits(nn_net *net);
const float *nn_dnnl_forward(nn_net *net, const float *p, int N, int train, int update_stats);
void nn_dnnl_backward(nn_net *net, const float *p, float *grad, int N);
int nn_dnnl_read_tensor(nn_net *net, int t, int diff, float *out);

#endif
