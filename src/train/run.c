/*
 * run.c -- a training run set up from a samc_config (include/samc.h,
 * section 11): its data, model and parameter vector, the output directory
 * with its config.txt, the trainer over them; the pieces of a run for a
 * driver of its own oracle; and the measurement of a checkpoint that
 * `samc sharpness` prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "samc.h"
#include "dist/dist.h"
#include "train/train_internal.h"
#include "util/err.h"

struct samc_run {
    samc_config *c;
    samc_data data;
    samc_model *model;
    float *x;
    int resume;
    samc_trainer *t;
};

samc_status samc_config_load_data(const samc_config *c, samc_data *data, FILE *log, char *err)
{
    memset(data, 0, sizeof *data);
    if (log) {
        fprintf(log, "# loading %s\n", c->data);
        fflush(log);
    }
    samc_data_options o = c->dopt;
    o.data_dir = c->data_dir[0] ? c->data_dir : NULL;
    const int shard = c->p.data_shard && samc_dist_size() > 1;
    if (shard) o.shard = (size_t)samc_dist_rank(), o.shards = (size_t)samc_dist_size();
    samc_status st = samc_data_load_ex(data, c->data, &o, err);
    if (!shard) return st;
    st = samc_dist_agree(st, err);   /* then the shards agree on features and labels */
    return st == SAMC_OK ? samc_dist_shard_agree(data, err) : st;
}

/* The configuration table a run prints before it starts. */
static void print_config(const samc_config *c, const samc_data *data, const samc_model *m, FILE *f)
{
    fprintf(f, "# samc %s configuration\n", SAMC_VERSION);
    config_print_train_flags(c, f, 1);
    fprintf(f, "# %-16s %zu x %zu train, %zu validation, %zu test, %d classes\n", "data shape",
            data->train.n, data->train.d, data->val.n, data->test.n, data->train.n_classes);
    fprintf(f, "# %-16s %zu\n", "parameters", samc_model_n_params(m));
    fprintf(f, "# %-16s %lld\n", "total steps", (long long)samc_train_total_steps(&c->p, data->train.n));
    fflush(f);
}

static samc_status prepare(samc_run *r, const char *resume, FILE *log, char *err)
{
    samc_config *c = r->c;
    const int lead = samc_dist_rank() == 0;
    SAMC_CHECK(!resume || !strcmp(c->out, resume), SAMC_EINVAL, "--resume OUT continues in OUT: leave out --out");
    snprintf(c->p.data_name, sizeof c->p.data_name, "%.127s", c->data);
    samc_status st = samc_train_params_check(&c->p, err);
    if (st == SAMC_OK) st = samc_config_load_data(c, &r->data, lead ? log : NULL, err);
    if (st == SAMC_OK) st = samc_model_create_for(&r->model, c->model, &r->data.train, c->p.l2, c->p.bias, err);
    if (st != SAMC_OK) return st;
    if (log && lead) print_config(c, &r->data, r->model, log);
    SAMC_CHECK((r->x = malloc(samc_model_n_params(r->model) * sizeof(float))), SAMC_ENOMEM, "out of memory");
    if (lead && !resume && (st = samc_make_dir(c->out, err)) != SAMC_OK) return st;
    return lead ? samc_config_write(c, err) : SAMC_OK;
}

samc_status samc_run_prepare(samc_run **r, samc_config *c, const char *resume, FILE *log, char *err)
{
    *r = calloc(1, sizeof **r);
    SAMC_CHECK(*r, SAMC_ENOMEM, "out of memory");
    (*r)->c = c;
    (*r)->resume = resume != NULL;
    samc_status st = prepare(*r, resume, log, err);
    if (st != SAMC_OK) {
        samc_run_free(*r);
        *r = NULL;
    }
    return st;
}

samc_status samc_run_start(samc_run *r, const samc_train_callbacks *cb, char *err)
{
    SAMC_CHECK(!r->t, SAMC_EINVAL, "the run's trainer is already started");
    return samc_trainer_init(&r->t, &r->c->p, &r->data, r->model, r->c->out, r->x, r->resume, cb, err);
}

samc_trainer *samc_run_trainer(const samc_run *r) { return r->t; }
samc_model *samc_run_model(const samc_run *r) { return r->model; }
const samc_data *samc_run_data(const samc_run *r) { return &r->data; }

void samc_run_free(samc_run *r)
{
    if (!r) return;
    samc_trainer_free(r->t);
    free(r->x);
    samc_model_free(r->model);
    samc_data_free(&r->data);
    free(r);
}

samc_status samc_config_optim(const samc_config *c, size_t n, samc_optim **o, char *err)
{
    *o = NULL;
    samc_status st = samc_train_params_check(&c->p, err);
    return st == SAMC_OK ? samc_optim_init(o, n, &c->p.optim, err) : st;
}

void samc_config_schedules(const samc_config *c, int64_t t, int64_t T, int epoch, double *eta, double *rho)
{
    train_schedules(&c->p, t, T, epoch, eta, rho);
}

size_t samc_config_batch(const samc_config *c, int epoch, size_t n_data) { return samc_batch_at(&c->p.batch, epoch, n_data); }
int64_t samc_config_total_steps(const samc_config *c, size_t n_data) { return samc_train_total_steps(&c->p, n_data); }
void samc_config_shuffle_rng(const samc_config *c, samc_rng *r) { train_shuffle_rng(&c->p, r); }

/* samc_config_checkpoint_model with data NULL: c's data loaded for it. */
static samc_status checkpoint_model_loading(const samc_config *c, const samc_ckpt *ck, samc_model **m, char *err)
{
    samc_data data;
    samc_status st = samc_config_load_data(c, &data, NULL, err);
    if (st == SAMC_OK) st = samc_config_checkpoint_model(c, ck, &data, m, err);
    samc_data_free(&data);
    return st;
}

samc_status samc_config_checkpoint_model(const samc_config *c, const samc_ckpt *ck, const samc_data *data,
                                         samc_model **m, char *err)
{
    *m = NULL;
    if (!data) return checkpoint_model_loading(c, ck, m, err);
    /* the measured objective: the run's l2 (from the checkpoint) unless --measure-l2 says otherwise */
    const double l2 = strcmp(c->measure_l2, "run") ? strtod(c->measure_l2, NULL) : ck->l2;
    samc_status st = samc_ckpt_model(m, ck, &data->train, l2, c->ckpt, c->data, err);
    if (st == SAMC_OK) st = samc_model_set_label_smoothing(*m, ck->label_smoothing, err);
    if (st != SAMC_OK) {
        samc_model_free(*m);
        *m = NULL;
    }
    return st;
}

samc_status samc_config_measure(const samc_config *c, samc_measure_result *res, char *model, char *err)
{
    samc_status st = samc_measure_params_check(&c->p.measure, err);
    if (st != SAMC_OK) return st;
    samc_ckpt ck;
    if ((st = samc_ckpt_load(c->ckpt, &ck, err)) != SAMC_OK) return st;
    if (model) snprintf(model, 128, "%s", ck.model);
    if (c->p.threads > 0) samc_set_threads(c->p.threads);
    samc_data data;
    samc_model *m = NULL;
    st = samc_config_load_data(c, &data, NULL, err);
    if (st == SAMC_OK) st = samc_config_checkpoint_model(c, &ck, &data, &m, err);
    if (st == SAMC_OK) st = samc_measure_model(m, &data.train, ck.params, &c->p.measure, res, err);
    samc_model_free(m);
    samc_data_free(&data);
    samc_ckpt_free(&ck);
    return st;
}
