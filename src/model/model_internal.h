/*
 * model_internal.h -- the private side of samc_model: the handle's layout and
 * the table of operations (a vtable) each kind of model provides.  model.c
 * owns the generic parts (spec lookup, argument and row checks, the l2 term,
 * the mean and the scale); a model file only computes its data term.  A new
 * model (an MLP, a CNN, ...) is a new file defining one samc_model_ops and
 * one line in the registry of model.c (src/model/net.c: mlp, cnn, resnet).
 * Not part of the public interface.
 */
#ifndef SAMC_MODEL_INTERNAL_H
#define SAMC_MODEL_INTERNAL_H

#include "samc.h"

typedef struct samc_model_ops samc_model_ops;

/* What a model is, for the model files only (linear.c picks its row loss by
 * it); nothing outside src/model branches on it. */
typedef enum samc_model_kind {
    SAMC_MODEL_LINEAR = 0,
    SAMC_MODEL_LOGREG,
    SAMC_MODEL_SOFTMAX,
    SAMC_MODEL_NET         /* mlp, cnn, resnet: softmax cross-entropy on a network */
} samc_model_kind;

#define SAMC_MODEL_NAME_LEN 128

struct samc_model {
    const samc_model_ops *ops;
    samc_model_kind kind;   /* meaningful for the three convex models only */
    char name[SAMC_MODEL_NAME_LEN]; /* the spec string, e.g. "logreg" */
    size_t d;               /* inputs per row */
    int n_classes;          /* n_classes of the data the model was made for */
    /* Targets must be class indices 0..target_classes-1 (checked by model.c
     * before any work); 0: targets are used as raw values. */
    int target_classes;
    double l2;              /* (l2/2)||theta||^2 over all parameters */
    int bias;               /* 0/1 */
    size_t n_params;
    void *priv;             /* the model's own state (scratch, layer table) */
    /* Image shape of a row (d = channels*height*width, CHW order) when the
     * model was made by samc_model_create_for from image data; 0 otherwise. */
    int channels, height, width;
    int pass;               /* 1 or 2: samc_model_set_pass (default 1) */
    double smoothing;       /* label smoothing eps of the cross-entropy (0: none) */
    /* Non-trainable state (BatchNorm running statistics), owned by priv;
     * set by setup, 0 / NULL when none. */
    size_t n_buffers;
    float *buffers;
    /* The named tensors (samc_model_tensors), malloc'd, freed by model.c:
     * set by setup, or by model.c for the linear models. */
    size_t n_tensors;
    samc_tensor *tensors;
};

struct samc_model_ops {
    const char *name;       /* spec name, matched against the spec up to ':' */
    samc_model_kind kind;

    /* Fill m->n_params, m->target_classes and m->priv from the fields
     * model.c has already set (d, n_classes, l2, bias, name).  args is the
     * text after ':' in the spec (NULL if there was none).  On error write
     * the cause into err (may be NULL) and leave m->priv NULL or freeable by
     * destroy. */
    samc_status (*setup)(samc_model *m, const char *args, char *err);

    /* Release m->priv (may be NULL when there is nothing to release). */
    void (*destroy)(samc_model *m);

    /* Initial parameters; NULL means all zeros. */
    void (*init_params)(const samc_model *m, float *x, samc_rng *rng);

    /* The data term on rows idx[0..nb) (idx NULL: rows 0..nb-1), which
     * model.c has checked (nb > 0, rows in range, targets valid, ds->d ==
     * m->d).  Sets *loss_sum to the SUM over the rows of the per-row loss
     * and, if grad != NULL, ADDS gscale * (sum of the per-row gradients)
     * into grad[0..n_params).  No l2 term.  Non-finite values are passed
     * through (the optimizer reports them). */
    samc_status (*loss_grad)(const samc_model *m, const samc_dataset *ds,
                             const size_t *idx, size_t nb, const float *x,
                             float *grad, double gscale, double *loss_sum);

    /* Over all rows of ds (checked as above, ds->n > 0): the sum of the
     * per-row losses and the number of correctly classified rows (NAN when
     * the model does not classify).  May run threads. */
    samc_status (*evaluate)(const samc_model *m, const samc_dataset *ds,
                            const float *x, double *loss_sum, double *n_correct);

    /* Outputs before the loss on rows idx[0..nb) (checked as above, targets
     * not required), in evaluation mode, into out [nb][n_out]. */
    samc_status (*logits)(const samc_model *m, const samc_dataset *ds,
                          const size_t *idx, size_t nb, const float *x, float *out);

    /* Floats a forward pass holds per batch row (samc_model_row_floats). */
    size_t (*row_floats)(const samc_model *m);

    /* Dropout (samc_model_set_dropout, samc_model_rng); NULL: the model
     * has none. */
    samc_status (*set_dropout)(samc_model *m, double p, char *err);
    samc_rng *(*rng)(samc_model *m);
};

/* The convex models, defined in linear.c. */
extern const samc_model_ops samc_model_linear_ops;
extern const samc_model_ops samc_model_logreg_ops;
extern const samc_model_ops samc_model_softmax_ops;
/* The per-row loss of a convex model (linear.c) from its outputs z[0..K)
 * (K = 1 for linear and logreg) on row r of ds; z becomes dloss / dz.  For
 * kernels outside linear.c (src/optim/sparse_step.c) that compute z. */
double samc_linear_row(const samc_model *m, const samc_dataset *ds, size_t r, double *z);

/* The networks, defined in net.c (over src/nn). */
extern const samc_model_ops samc_model_mlp_ops;
extern const samc_model_ops samc_model_cnn_ops;
extern const samc_model_ops samc_model_resnet_ops;
extern const samc_model_ops samc_model_resnet18_ops;
extern const samc_model_ops samc_model_wrn_ops;

#endif
