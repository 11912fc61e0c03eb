/*
 * nn.h -- the private neural-network layer of samc: layer kernels
 * (layers.c) and networks built from them (network.c) over ONE flat parameter
 * buffer and ONE gradient buffer of identical layout (layers hold offsets
 * into them).  The samc_model kinds "mlp", "cnn" and "resnet"
 * (src/model/net.c) are thin wrappers around an nn_net.  Two engines run a
 * network: oneDNN's primitives (dnnl_engine.c, the default) and the kernels
 * below (network.c, the reference; SAMC_ENGINE=ref), see nn_net_set_engine.
 * Not part of the public interface; the tests include it to check each
 * kernel on its own and the engines against each other.
 *
 * Conventions of every kernel below:
 *   - tensors are float, batch-major, images NCHW ([N][C][H][W] row-major);
 *   - forward kernels OVERWRITE their output;
 *   - backward kernels ADD into every gradient they are given (dx, dw, db,
 *     ...); a NULL gradient pointer means "not wanted" and is skipped;
 *   - reductions (BatchNorm statistics, loss) are accumulated in double.
 * The kernels allocate nothing; those that need scratch take it from the
 * caller (sizes from the *_scratch functions).  The kernels run on the
 * calling thread; the network threads at the batch level (network.c).
 */
#ifndef SAMC_NN_H
#define SAMC_NN_H

#include <stddef.h>

#include "samc.h"

/* ---------------------------------------------------------------- kernels */

/* Linear: X [N][in], W [out][in], b [out] (NULL: none) -> Y [N][out] = X W' + b. */
void nn_linear_forward(const float *X, const float *W, const float *b, float *Y,
                       int N, int in, int out);
/* dY [N][out]:  dX [N][in] += dY W,  dW [out][in] += dY' X,  db [out] += sum_n dY. */
void nn_linear_backward(const float *X, const float *W, const float *dY, float *dX,
                        float *dW, float *db, int N, int in, int out);

/* Parts of the same, for threads sharing a layer: output columns [o0, o1)
 * of Y (every row); rows [o0, o1) of dW and db (sums over all N rows) and
 * rows [r0, r1) of dX. */
void nn_linear_forward_cols(const float *X, const float *W, const float *b, float *Y,
                            int N, int in, int out, int o0, int o1);
void nn_linear_backward_part(const float *X, const float *W, const float *dY, float *dX,
                             float *dW, float *db, int N, int in, int out, int o0, int o1,
                             int r0, int r1);

/* Geometry of a 2-D convolution: input C x H x W, Co output channels, a
 * k x k kernel, stride, zero padding pad; output Co x Ho x Wo with
 * Ho = floor((H + 2 pad - k) / stride) + 1 (PyTorch's rule). */
typedef struct nn_conv_geom {
    int C, H, W;
    int Co, k, stride, pad;
    int Ho, Wo;
} nn_conv_geom;

/* Fills g; returns 0, or -1 if the output would be empty or a size is out
 * of range. */
int nn_conv_geom_init(nn_conv_geom *g, int C, int H, int W, int Co, int k,
                      int stride, int pad);
/* Floats of scratch nn_conv_forward / nn_conv_backward need (the im2col
 * of one sample, C k k x Ho Wo). */
size_t nn_conv_scratch(const nn_conv_geom *g);

/* Conv2d, x [N][C][H][W], w [Co][C][k][k], b [Co] (NULL: none) ->
 * y [N][Co][Ho][Wo].  Per sample: im2col, then one sgemm straight into y. */
void nn_conv_forward(const nn_conv_geom *g, const float *x, const float *w,
                     const float *b, float *y, int N, float *scratch);
/* The same by direct loops (reference for tests; accumulates in double). */
void nn_conv_forward_naive(const nn_conv_geom *g, const float *x, const float *w,
                           const float *b, float *y, int N);
/* dy [N][Co][Ho][Wo]:  dx += conv'(dy) (sgemm + col2im),
 * dw [Co][C][k][k] += dy (x) im2col(x),  db [Co] += sum of dy per channel. */
void nn_conv_backward(const nn_conv_geom *g, const float *x, const float *w,
                      const float *dy, float *dx, float *dw, float *db, int N,
                      float *scratch);

/* ReLU elementwise over n floats: y = max(x, 0);  dx += dy [x > 0]. */
void nn_relu_forward(const float *x, float *y, size_t n);
void nn_relu_backward(const float *x, const float *dy, float *dx, size_t n);
/* In place (what the networks use; the input has no other consumer):
 * x = max(x, 0);  then d = d [y > 0] OVERWRITES the gradient d, which is the
 * gradient of both y and the input x. */
void nn_relu_inplace(float *x, size_t n);
void nn_relu_backward_inplace(const float *y, float *d, size_t n);

/* Max pool, k x k window, stride s, no padding: x [N][C][H][W] ->
 * y [N][C][Ho][Wo], Ho = (H - k) / s + 1.  Ties go to the first element in
 * row-major window order (as PyTorch); backward recomputes the arg max from x. */
void nn_maxpool_forward(const float *x, float *y, int N, int C, int H, int W,
                        int k, int s);
void nn_maxpool_backward(const float *x, const float *dy, float *dx, int N, int C,
                         int H, int W, int k, int s);

/* Global average pool: x [N][C][P] -> y [N][C] (P = H W);  dx += dy / P. */
void nn_gap_forward(const float *x, float *y, int N, int C, int P);
void nn_gap_backward(const float *dy, float *dx, int N, int C, int P);

/* Residual add: y = a + b;  da += dy, db += dy. */
void nn_add_forward(const float *a, const float *b, float *y, size_t n);
void nn_add_backward(const float *dy, float *da, float *db, size_t n);

/* BatchNorm2d over x [N][C][P], per channel, eps as given.
 * Training mode: normalize by the batch mean and the biased batch variance
 * over (N, P); save the mean and 1/sqrt(var + eps) per channel (save_mean,
 * save_invstd [C]) for the backward pass; if run_mean / run_var are not NULL
 * update them: r = (1 - momentum) r + momentum * stat, with the unbiased
 * variance (times M/(M-1), M = N P). */
void nn_bn_forward_train(const float *x, const float *gamma, const float *beta,
                         float *y, int N, int C, int P, double eps,
                         double *save_mean, double *save_invstd,
                         float *run_mean, float *run_var, double momentum);
/* The same in pieces, for a batch whose rows are split over threads:
 * nn_bn_stats_partial over a block of rows writes part [C][3] (count, mean,
 * sum of squared deviations from that mean, per channel); nn_bn_stats_finish
 * combines T such partials (the t-th at parts + t stride) into save_mean,
 * save_invstd and the running statistics (if not NULL) as
 * nn_bn_forward_train does; nn_bn_normalize then maps a block of rows. */
void nn_bn_stats_partial(const float *x, int N, int C, int P, double *part);
void nn_bn_stats_finish(const double *parts, size_t stride, int T, int C, double eps,
                        double *save_mean, double *save_invstd, float *run_mean,
                        float *run_var, double momentum);
void nn_bn_normalize(const float *x, const float *gamma, const float *beta,
                     const double *mean, const double *invstd, float *y, int N, int C, int P);
/* Evaluation mode: normalize by run_mean, run_var; if save_mean is not NULL
 * store the mean and 1/sqrt(var + eps) used there (for
 * nn_bn_backward_eval). */
void nn_bn_forward_eval(const float *x, const float *gamma, const float *beta,
                        const float *run_mean, const float *run_var, float *y,
                        int N, int C, int P, double eps, double *save_mean,
                        double *save_invstd);
/* Backward of the training mode (batch statistics depend on x):
 * dx += gamma invstd (dy - mean(dy) - xhat mean(dy xhat)),
 * dgamma += sum dy xhat, dbeta += sum dy. */
void nn_bn_backward(const float *x, const float *gamma, const double *save_mean,
                    const double *save_invstd, const float *dy, float *dx,
                    float *dgamma, float *dbeta, int N, int C, int P);

/* The training-mode backward in pieces: nn_bn_backward_partial over a block
 * of rows writes part [C][2] = (sum dy, sum dy (x - mean)); with sums [C][2]
 * those summed over the whole batch of M = N P values per channel,
 * dgamma = sum dy (x - mean) invstd, dbeta = sum dy, and
 * nn_bn_backward_apply adds the input gradient of a block of rows. */
void nn_bn_backward_partial(const float *x, const double *save_mean, const float *dy,
                            int N, int C, int P, double *part);
void nn_bn_backward_apply(const float *x, const float *gamma, const double *save_mean,
                          const double *save_invstd, const double *sums, double M,
                          const float *dy, float *dx, int N, int C, int P);

/* Backward of the evaluation mode (fixed statistics mean, invstd):
 * dx += gamma invstd dy, dgamma += sum dy xhat, dbeta += sum dy. */
void nn_bn_backward_eval(const float *x, const float *gamma, const double *mean,
                         const double *invstd, const float *dy, float *dx,
                         float *dgamma, float *dbeta, int N, int C, int P);

/* Softmax cross-entropy: z [N][K] logits, label [N] class indices.
 * Returns the SUM over rows of -log softmax(z)[label]; if dz is not NULL
 * OVERWRITES dz [N][K] = gscale (softmax(z) - onehot(label)).  If n_correct
 * is not NULL it receives the number of rows whose arg max is the label. */
double nn_softmax_xent(const float *z, const int *label, int N, int K, float *dz,
                       double gscale, size_t *n_correct);
/* The same with label smoothing eps (docs/MATH.md section 1): the target is
 * q = 1 - eps on the label and eps / (K - 1) on every other class, the row
 * loss KL(q || softmax(z)) and dz = gscale (softmax(z) - q); eps = 0 is the
 * plain cross-entropy above, bit for bit. */
double nn_softmax_xent_smooth(const float *z, const int *label, int N, int K, double eps, float *dz,
                              double gscale, size_t *n_correct);
/* One row of that loss from lse = log sum exp(z), z_y and the sum of z
 * (eps = 0: lse - z_y). */
double nn_smooth_xent_row(double lse, double zy, double zsum, int K, double eps);

/* --------------------------------------------------------------- networks */

typedef struct nn_net nn_net;

/* Builders; each returns NULL and writes the cause into err (may be NULL)
 * on a bad argument or out of memory.  The input is a C x H x W image
 * (C*H*W floats per row; mlp: C = d, H = W = 1); K classes.
 *   mlp     Linear(d, h[0]) ReLU ... Linear(h[nh-1], K)      (nh >= 0)
 *   cnn     Conv(C,16,3,p1) ReLU MaxPool2 Conv(16,32,3,p1) ReLU MaxPool2
 *           Linear(32 (H/4)(W/4), 128) ReLU Linear(128, K)
 *   resnet  depth = 6k+2: Conv(C,16,3,p1,no bias) BN ReLU, 3 stages of k
 *           BasicBlocks (16, 32 stride 2, 64 stride 2), global average pool,
 *           Linear(64, K). */
nn_net *nn_net_mlp(int d, const int *hidden, int nh, int K, char *err);
nn_net *nn_net_cnn(int C, int H, int W, int K, char *err);
nn_net *nn_net_resnet(int depth, int C, int H, int W, int K, char *err);
void nn_net_free(nn_net *net);

size_t nn_net_n_params(const nn_net *net);
size_t nn_net_n_buffers(const nn_net *net);
float *nn_net_buffers(nn_net *net);       /* running mean, var per BN layer */
size_t nn_net_input_size(const nn_net *net); /* floats per input row */
int nn_net_n_classes(const nn_net *net);

/* The parameters and buffers as named tensors (samc_tensor, include/samc.h
 * section 7: each layer's PyTorch module name from its builder, in layer
 * order, which is flat order in both the parameters and the buffers) into
 * out (NULL: only count them); returns their number. */
size_t nn_net_state_table(const nn_net *net, samc_tensor *out);

/* He-normal weights (std sqrt(2 / fan_in)), zero biases, BN gamma 1 beta 0,
 * drawn in parameter order. */
void nn_net_init_params(const nn_net *net, float *x, samc_rng *rng);

/* Make room for a batch of N rows (grad: also the gradient buffers).  Grows
 * the activation and scratch buffers only when N exceeds what was seen
 * before.  Returns SAMC_OK or SAMC_ENOMEM. */
samc_status nn_net_reserve(nn_net *net, int N, int grad);
/* The input buffer [N][input_size] and a label buffer [N] for the caller's
 * loss (both valid after nn_net_reserve until the next one). */
float *nn_net_input(nn_net *net);
int *nn_net_labels(nn_net *net);
/* Floats of activations per row (all tensors): what a batch row costs. */
size_t nn_net_row_floats(const nn_net *net);
/* Forward over the input buffer: train != 0 uses batch statistics in BN and,
 * if update_stats, updates the running statistics; train == 0 uses them.
 * Returns the logits [N][K] (valid until the next call). */
const float *nn_net_forward(nn_net *net, const float *params, int N, int train,
                            int update_stats);
/* The gradient buffer of the logits [N][K]: write dloss/dlogits into it
 * after nn_net_forward (training mode, reserved with grad), then call
 * nn_net_backward, which ADDS the parameter gradients into grad. */
float *nn_net_dlogits(nn_net *net);
void nn_net_backward(nn_net *net, const float *params, float *grad, int N);

/* Engines (README, "Performance"): NN_ENGINE_DNNL runs every layer as a
 * oneDNN primitive on the whole batch (dnnl_engine.c), NN_ENGINE_REF the
 * kernels above over one row block per thread (network.c).  A network takes
 * the engine the environment variable SAMC_ENGINE names (ref or dnnl;
 * unset: dnnl) when it is built; nn_net_set_engine switches (dropping the
 * buffers) and returns the engine now in use (the reference one if oneDNN
 * cannot be had).  With the oneDNN engine, nn_net_forward / backward run
 * on the N of the last nn_net_reserve. */
enum { NN_ENGINE_REF = 0, NN_ENGINE_DNNL = 1 };
int nn_net_set_engine(nn_net *net, int engine);
int nn_net_engine(const nn_net *net);

/* Floating-point operations per row of a forward pass (backward: forward
 * and backward) counted from the architecture: 2 per multiply-add of the
 * convolutions and linear layers; a backward pass costs one such product for
 * the weight gradient and one for the input gradient (none for the network
 * input).  BatchNorm, ReLU, pooling and the adds are not counted. */
double nn_net_flops(const nn_net *net, int backward);

/* For tests: the tensors of the last pass (tensor 0 the input, each layer's
 * output next), each [N][C][H][W]; nn_net_read_tensor copies tensor t (or
 * with diff its gradient after nn_net_backward) of N rows, in plain NCHW
 * whatever the engine's layout.  0, or -1 if it has none. */
int nn_net_n_tensors(const nn_net *net);
void nn_net_tensor_shape(const nn_net *net, int t, int *C, int *H, int *W);
int nn_net_read_tensor(nn_net *net, int t, int N, int diff, float *out);

#endif
