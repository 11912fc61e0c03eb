"""The C library behind the package: libsamc.so opened through cffi in ABI
mode (no compiler at import time), the declarations the package calls, and
samc.Error, raised with the library's one-line message."""
import os

import cffi

CDEF = """
typedef enum samc_status { SAMC_OK = 0, SAMC_EINVAL, SAMC_ENOMEM, SAMC_EIO, SAMC_EFORMAT,
    SAMC_ENAN, SAMC_ECALLBACK, SAMC_EINTR } samc_status;
const char *samc_strerror(samc_status s);
size_t samc_struct_size(const char *name);

typedef struct samc_rng { uint64_t s[4]; } samc_rng;
void samc_rng_shuffle(samc_rng *r, size_t *a, size_t n);

typedef int (*samc_loss_grad_fn)(void *user, const float *x, float *grad, double *loss, int pass);
typedef int (*samc_reduce_fn)(void *user, double *vals, size_t n_vals, float *vec, size_t n_vec);
typedef int (*samc_chunk_fn)(void *user, int j, double *weight);
typedef struct samc_oracle { size_t n; samc_loss_grad_fn loss_grad; void *user; samc_reduce_fn reduce;
    int chunks; samc_chunk_fn chunk; } samc_oracle;

typedef struct samc_step_info { double loss, loss_perturbed, grad_norm, grad_norm_perturbed, numerator, step; }
    samc_step_info;
typedef struct samc_optim samc_optim;
void samc_optim_free(samc_optim *o);
samc_status samc_optim_step(samc_optim *o, const samc_oracle *orc, float *x, double eta, double rho,
                            samc_step_info *info);

typedef struct samc_model samc_model;
size_t samc_model_n_params(const samc_model *m);
const char *samc_measure_name(int k);
typedef struct samc_measure_result samc_measure_result;

typedef struct samc_trainer samc_trainer;
typedef struct samc_train_callbacks samc_train_callbacks;
samc_status samc_trainer_step(samc_trainer *t, char *err);
int samc_trainer_epoch_over(const samc_trainer *t);
int samc_trainer_done(const samc_trainer *t);
samc_status samc_trainer_end_epoch(samc_trainer *t, char *err);
samc_status samc_trainer_finish(samc_trainer *t, char *err);
int64_t samc_trainer_position(const samc_trainer *t);
int64_t samc_trainer_total(const samc_trainer *t);
void samc_train_request_stop(void);

typedef struct samc_ckpt {
    char model[128]; char data[128]; uint64_t data_n; uint32_t data_crc; int64_t step; int epoch;
    int64_t epoch_step; samc_rng shuffle_rng; samc_rng aug_rng; double decsps_prev; int64_t optim_steps;
    double elapsed_s; float *params; size_t n_params; float *buffers; size_t n_buffers; float *momentum;
    size_t n_momentum; double l2, label_smoothing, clip, adam_beta1, adam_beta2, adam_eps;
    int accumulate, m_sharpness, nesterov, wd_groups, base; float *second; size_t n_second;
} samc_ckpt;
samc_status samc_ckpt_load(const char *path, samc_ckpt *c, char *err);
void samc_ckpt_free(samc_ckpt *c);

typedef struct samc_config samc_config;
typedef struct samc_flag { const char *name; const char *arg; unsigned cmds; unsigned opts; const char *help; }
    samc_flag;
samc_config *samc_config_new(void);
void samc_config_free(samc_config *c);
const samc_flag *samc_config_flag(size_t i);
const samc_flag *samc_config_find(unsigned cmds, const char *name, size_t len);
samc_status samc_config_set(samc_config *c, const samc_flag *f, const char *value, char *err);
void samc_config_get(const samc_config *c, const samc_flag *f, char *buf, size_t len);
samc_status samc_config_read(samc_config *c, unsigned cmds, const char *path, const char *const *keys, char *err);
samc_status samc_config_read_bases(samc_config *c, const char *resume, const char *config, char *err);
samc_status samc_config_read_run_data(samc_config *c, const char *ckpt_path, char *err);

typedef struct samc_run samc_run;
samc_status samc_run_prepare(samc_run **r, samc_config *c, const char *resume, void *log, char *err);
samc_status samc_run_start(samc_run *r, const samc_train_callbacks *cb, char *err);
samc_trainer *samc_run_trainer(const samc_run *r);
samc_model *samc_run_model(const samc_run *r);
void samc_run_free(samc_run *r);

samc_status samc_config_measure(const samc_config *c, samc_measure_result *r, char *model, char *err);
samc_status samc_config_optim(const samc_config *c, size_t n, samc_optim **o, char *err);
void samc_config_schedules(const samc_config *c, int64_t t, int64_t T, int epoch, double *eta, double *rho);
size_t samc_config_batch(const samc_config *c, int epoch, size_t n_data);
int64_t samc_config_total_steps(const samc_config *c, size_t n_data);
void samc_config_shuffle_rng(const samc_config *c, samc_rng *r);
"""

ERRLEN = 512
CMD_TRAIN, CMD_SHARPNESS = 1, 2

ffi = cffi.FFI()
ffi.cdef(CDEF)


def _find_library():
    """$SAMC_LIB, else build/libsamc.so of the source tree this package sits
    in, else libsamc.so on the loader's path."""
    env = os.environ.get("SAMC_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    tree = os.path.join(here, "..", "..", "build", "libsamc.so")
    return tree if os.path.exists(tree) else "libsamc.so"


lib = ffi.dlopen(_find_library())

# The structs declared above must be the library's: a header changed without
# this file would otherwise corrupt memory silently.
for _name in ("samc_ckpt", "samc_oracle", "samc_step_info", "samc_rng", "samc_flag"):
    if ffi.sizeof(_name) != lib.samc_struct_size(_name.encode()):
        raise ImportError("samc: python/samc/_lib.py declares %s in %d bytes, the library's has %d: "
                          "the package and libsamc.so are out of step" % (_name, ffi.sizeof(_name),
                                                                          lib.samc_struct_size(_name.encode())))


class Error(Exception):
    """A failure reported by samc: the library's one-line message (str(e)),
    and its status name (e.status, e.g. "SAMC_EINVAL")."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        self.status = status


_STATUS = {getattr(lib, n): n for n in ("SAMC_EINVAL", "SAMC_ENOMEM", "SAMC_EIO", "SAMC_EFORMAT", "SAMC_ENAN",
                                         "SAMC_ECALLBACK", "SAMC_EINTR")}


def errbuf():
    return ffi.new("char[]", ERRLEN)


def check(st, err):
    """Raises Error with err's message unless st is SAMC_OK."""
    if st != lib.SAMC_OK:
        msg = ffi.string(err).decode(errors="replace") or ffi.string(lib.samc_strerror(st)).decode()
        raise Error(msg, _STATUS.get(st))


def measure_names():
    """The measures' names in the library's order."""
    names, k = [], 0
    while True:
        n = ffi.string(lib.samc_measure_name(k)).decode()
        if n == "unknown":
            return names
        names.append(n)
        k += 1

ffi.cdef("""
typedef struct samc_tensor {
    char name[96]; int role; int buffer; size_t offset, size; int ndim; int64_t shape[4];
} samc_tensor;
size_t samc_model_n_tensors(const samc_model *m);
const samc_tensor *samc_model_tensors(const samc_model *m);
void samc_model_free(samc_model *m);
typedef struct samc_data samc_data;
samc_status samc_config_checkpoint_model(const samc_config *c, const samc_ckpt *ck, const samc_data *data,
                                         samc_model **m, char *err);
""")
