/*
 * libsvm.c -- reader for the LIBSVM / SVMlight text format:
 *     label idx:val idx:val ...   # optional comment
 * with 1-based, strictly ascending feature indices.  Blank lines are skipped,
 * CRLF line ends are accepted, lines may be of any length.  The rows are
 * kept sparse (CSR, samc.h section 6): values as floats, column indices in
 * 32 bits while they fit (64 bits from the first that does not), so memory
 * is O(nnz + n) and a malformed file never yields a partial data set.
 *
 * Speed: the file is read in large blocks and each line parsed in place by
 * a fast path (decimal numbers parsed exactly: a mantissa of at most 2^53
 * times a power of ten up to 10^22 is one correctly rounded operation, the
 * value strtod gives; other spellings go to strtod).  A line the fast path
 * does not accept (an error, or a form it does not know) is parsed again by
 * the general tokenizer below, which accepts what it can and otherwise
 * writes the error, so the messages name file, line and token as before.
 * The entry arrays are reserved at one entry per 4 bytes of the file (the
 * shortest entry, "1:1 "): pages never written stay out of the resident
 * set, and the arrays are cut to their size at the end.
 *
 * Also the reader of the spec libsvm:TRAIN[,TEST] (the test file padded to
 * the train file's features).
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/data_internal.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* The entries read so far: row r holds entries starts[r] .. starts[r+1]. */
typedef struct svm_rows {
    float *labels, *vals;
    size_t *starts;
    uint32_t *c32;          /* columns, while every one fits in 32 bits */
    uint64_t *c64;          /* then these */
    size_t labels_cap, vals_cap, starts_cap, col_cap;
    size_t n, nnz, d;
} svm_rows;

static void svm_rows_free(svm_rows *r) { SAMC_FREE_ALL(r->labels, r->starts, r->c32, r->c64, r->vals); }

/* The column array widened to 64 bits (an index past 2^32). */
static int widen_cols(svm_rows *r)
{
    uint64_t *c = malloc((r->col_cap ? r->col_cap : 1) * sizeof *c);
    if (!c) return 0;
    for (size_t k = 0; k < r->nnz; k++) c[k] = r->c32[k];
    free(r->c32);
    r->c32 = NULL;
    r->c64 = c;
    return 1;
}

/* Entry (column j, 0-based; value v) appended to the current row: 0 when
 * out of memory. */
static int push_entry(svm_rows *r, size_t j, double v)
{
    if (r->nnz >= r->col_cap) {
        size_t cap = r->col_cap;
        int ok = r->c64 ? samc_grow((void **)&r->c64, &cap, r->nnz + 1, sizeof *r->c64)
                        : samc_grow((void **)&r->c32, &cap, r->nnz + 1, sizeof *r->c32);
        if (!ok || !samc_grow((void **)&r->vals, &r->vals_cap, r->nnz + 1, sizeof *r->vals)) return 0;
        r->col_cap = cap;
    }
    if (!r->c64 && (uint64_t)j > UINT32_MAX && !widen_cols(r)) return 0;
    if (r->c64) r->c64[r->nnz] = j;
    else r->c32[r->nnz] = (uint32_t)j;
    r->vals[r->nnz++] = (float)v;
    if (j + 1 > r->d) r->d = j + 1;
    return 1;
}

/* A row (its label) begun and ended: 0 when out of memory. */
static int begin_row(svm_rows *r)
{
    return samc_grow((void **)&r->labels, &r->labels_cap, r->n + 1, sizeof(float)) &&
           samc_grow((void **)&r->starts, &r->starts_cap, r->n + 2, sizeof(size_t));
}

static void end_row(svm_rows *r, double label)
{
    r->labels[r->n] = (float)label;
    r->starts[r->n++] = r->nnz;   /* moved to the row's start in finish() */
}

/* ------------------------------------------------------------ general tokenizer */

/* Next whitespace-separated token of *s, NUL-terminated in place; NULL at end. */
static char *next_token(char **s)
{
    char *p = *s;
    while (*p && is_space(*p)) p++;
    if (!*p) { *s = p; return NULL; }
    char *tok = p;
    while (*p && !is_space(*p)) p++;
    if (*p) *p++ = '\0';
    *s = p;
    return tok;
}

/* A feature index: decimal digits only, no sign.  Returns 0 on success, 1 if
 * not an integer, 2 if too large. */
static int parse_index(const char *s, size_t *out)
{
    if (!*s) return 1;
    size_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return 1;
        size_t dgt = (size_t)(*p - '0');
        if (v > (SIZE_MAX - dgt) / 10) return 2;
        v = v * 10 + dgt;
    }
    *out = v;
    return 0;
}

/* One "idx:val" token of the row (prev: the index before it, updated). */
static samc_status add_entry(svm_rows *r, char *tok, size_t *prev, const samc_text *t,
                             char *err)
{
    char q[64];
    char *colon = strchr(tok, ':');
    SAMC_CHECK(colon, SAMC_EFORMAT, "%s:%zu: expected index:value, got '%s'", t->path,
               t->lineno, samc_data_quote(tok, q, sizeof q));
    *colon = '\0';
    size_t j;
    int rc = parse_index(tok, &j);
    if (rc || j == 0) {
        *colon = ':';
        return samc_errf(err, SAMC_EFORMAT, "%s:%zu: %s in '%s'", t->path, t->lineno,
                         rc == 2   ? "feature index too large"
                         : rc == 1 ? "feature index is not a positive integer"
                                   : "feature index 0 (indices start at 1)",
                         samc_data_quote(tok, q, sizeof q));
    }
    SAMC_CHECK(j > *prev, SAMC_EFORMAT,
               "%s:%zu: feature index %zu after %zu (indices must be strictly ascending)",
               t->path, t->lineno, j, *prev);
    double v;
    rc = samc_data_parse_num(colon + 1, &v);
    SAMC_CHECK(!rc, SAMC_EFORMAT, "%s:%zu: %s value of feature %zu, got '%s'", t->path,
               t->lineno, rc == 1 ? "expected a numeric" : "non-finite or out-of-range", j,
               samc_data_quote(colon + 1, q, sizeof q));
    SAMC_CHECK(push_entry(r, j - 1, v), SAMC_ENOMEM, "%s:%zu: out of memory", t->path, t->lineno);
    *prev = j;
    return SAMC_OK;
}

/* The line t->line (comment cut) as a row of r; blank lines add none. */
static samc_status add_line(svm_rows *r, samc_text *t, char *err)
{
    char *hash = strchr(t->line, '#');
    if (hash) *hash = '\0';
    char *cur = t->line;
    char *tok = next_token(&cur);
    if (!tok) return SAMC_OK; /* blank or comment-only line */
    char q[64];
    double v;
    int rc = samc_data_parse_num(tok, &v);
    SAMC_CHECK(!rc, SAMC_EFORMAT, "%s:%zu: %s label, got '%s'", t->path, t->lineno,
               rc == 1 ? "expected a numeric" : "non-finite or out-of-range",
               samc_data_quote(tok, q, sizeof q));
    SAMC_CHECK(begin_row(r), SAMC_ENOMEM, "%s:%zu: out of memory", t->path, t->lineno);
    size_t prev = 0;
    while ((tok = next_token(&cur)) != NULL) {
        samc_status st = add_entry(r, tok, &prev, t, err);
        if (st != SAMC_OK) return st;
    }
    end_row(r, v);
    return SAMC_OK;
}

/* -------------------------------------------------------------- fast path */

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* A decimal number [+-]digits[.digits][(e|E)[+-]digits] at p that fits a
 * float, its end in *q.  0 when there is none or it is out of range (the
 * general path then says why). */
static int fast_num(const char *p, double *out, const char **q)
{
    const char *s = p;
    int neg = *s == '-';
    if (*s == '-' || *s == '+') s++;
    uint64_t m = 0;
    int digits = 0, big = 0, e10 = 0;
    for (; is_digit(*s); s++, digits++) {
        if (m < (1ULL << 53) / 10) m = m * 10 + (uint64_t)(*s - '0');
        else big = 1;
    }
    if (*s == '.')
        for (s++; is_digit(*s); s++, digits++) {
            if (m < (1ULL << 53) / 10) m = m * 10 + (uint64_t)(*s - '0'), e10--;
            else big = 1;
        }
    if (!digits) return 0;
    if (*s == 'e' || *s == 'E') {
        const char *x = s + 1;
        int eneg = *x == '-', ev = 0;
        if (*x == '-' || *x == '+') x++;
        if (!is_digit(*x)) return 0;
        for (; is_digit(*x); x++)
            if (ev < 10000) ev = ev * 10 + (*x - '0');
        e10 += eneg ? -ev : ev;
        s = x;
    }
    double v;
    if (!big && e10 >= -22 && e10 <= 22) {
        v = e10 < 0 ? (double)m / pow10_exact[-e10] : (double)m * pow10_exact[e10];
        if (neg) v = -v;
    } else {
        char *end;
        v = strtod(p, &end);
        if (end != s) return 0;
    }
    if (!isfinite(v) || fabs(v) > FLT_MAX) return 0;
    *out = v;
    *q = s;
    return 1;
}

/* The end of a token: white space, a comment or the end of the line. */
static int token_end(char c) { return c == '\0' || c == '#' || is_space(c); }

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\v' || *s == '\f') s++;
    return s;
}

/* The line s (NUL-terminated, no newline) as a row of r.  1 when taken (or
 * blank), 0 when the general path must look at it (nothing is added), -1
 * when out of memory. */
static int fast_line(svm_rows *r, const char *s)
{
    s = skip_space(s);
    if (*s == '\0' || *s == '#') return 1;
    double label, v;
    if (!fast_num(s, &label, &s) || !token_end(*s)) return 0;
    if (!begin_row(r)) return -1;
    const size_t nnz0 = r->nnz, d0 = r->d;
    size_t prev = 0;
    for (;;) {
        s = skip_space(s);
        if (*s == '\0' || *s == '#') break;
        size_t j = 0;
        int nd = 0;
        for (; is_digit(*s) && nd < 19; s++, nd++) j = j * 10 + (size_t)(*s - '0');
        if (!nd || *s != ':' || j <= prev || !fast_num(s + 1, &v, &s) || !token_end(*s)) {
            r->nnz = nnz0;
            r->d = d0;
            return 0;
        }
        if (!push_entry(r, j - 1, v)) return -1;
        prev = j;
    }
    end_row(r, label);
    return 1;
}

/* ------------------------------------------------------------ block reader */

typedef struct block_reader {
    int fd;
    const char *path;
    char *buf;
    size_t cap, beg, end;   /* unparsed bytes buf[beg..end) */
    int eof;
    size_t lineno;          /* of the last line, counted from the first line read */
    uint64_t pos;           /* file offset of buf[0] */
    uint64_t start, hi;     /* a share of the file: the lines starting in [start, hi) */
    int skip;               /* the first line read is the end of one before start */
} block_reader;

/* The line number in the file of the last line read: in a share of the
 * file, the lines before it are counted (only when a message needs it). */
static size_t file_line(const block_reader *b)
{
    size_t lines = 0;
    char buf[1 << 16];
    for (uint64_t off = 0; off < b->start;) {
        size_t want = b->start - off < sizeof buf ? (size_t)(b->start - off) : sizeof buf;
        ssize_t got = pread(b->fd, buf, want, (off_t)off);
        if (got <= 0) break;
        for (ssize_t i = 0; i < got; i++) lines += buf[i] == '\n';
        off += (uint64_t)got;
    }
    return b->lineno + lines;
}

#define BLOCK_BYTES ((size_t)1 << 22)

/* More bytes after buf[beg..end) (moved to the front; the buffer doubled if
 * a line fills it).  buf[end] is kept NUL. */
static samc_status fill(block_reader *b, char *err)
{
    memmove(b->buf, b->buf + b->beg, b->end - b->beg);
    b->pos += b->beg;
    b->end -= b->beg;
    b->beg = 0;
    if (b->end + 1 >= b->cap) {
        char *nb = b->cap <= SIZE_MAX / 2 ? realloc(b->buf, b->cap * 2) : NULL;
        SAMC_CHECK(nb, SAMC_ENOMEM, "%s:%zu: out of memory reading a line", b->path, b->lineno + 1);
        b->buf = nb;
        b->cap *= 2;
    }
    ssize_t got;
    do got = read(b->fd, b->buf + b->end, b->cap - 1 - b->end);
    while (got < 0 && errno == EINTR);
    SAMC_CHECK(got >= 0, SAMC_EIO, "%s: read error: %s", b->path, strerror(errno));
    if (got == 0) b->eof = 1;
    b->end += (size_t)got;
    b->buf[b->end] = '\0';
    return SAMC_OK;
}

/* The next line, NUL-terminated in place, into *line (NULL at the end). */
static samc_status next_line(block_reader *b, char **line, char *err)
{
    for (;;) {
        char *s = b->buf + b->beg;
        char *nl = memchr(s, '\n', b->end - b->beg);
        if (nl || (b->eof && b->beg < b->end)) {
            char *e = nl ? nl : b->buf + b->end;
            if (b->pos + (uint64_t)(s - b->buf) >= b->hi) break;   /* the next share's */
            *e = '\0';
            b->beg = (size_t)(e - b->buf) + (nl ? 1 : 0);
            if (b->skip) {   /* the tail of a line the share before holds */
                b->skip = 0;
                b->start = b->pos + b->beg;
                continue;
            }
            b->lineno++;
            SAMC_CHECK(strlen(s) == (size_t)(e - s), SAMC_EFORMAT,
                       "%s:%zu: NUL byte in line (not a text file?)", b->path, file_line(b));
            *line = s;
            return SAMC_OK;
        }
        if (b->eof) break;
        samc_status st = fill(b, err);
        if (st != SAMC_OK) return st;
    }
    *line = NULL;
    return SAMC_OK;
}

/* Every line of the file into r. */
static samc_status read_rows(block_reader *b, svm_rows *r, char *err)
{
    char *line;
    samc_status st;
    while ((st = next_line(b, &line, err)) == SAMC_OK && line) {
        int rc = fast_line(r, line);
        if (rc == 1) continue;
        char *copy = b->start > 0 && rc == 0 ? strdup(line) : NULL;   /* to say its line number */
        samc_text t = {.path = b->path, .line = line, .lineno = b->lineno};
        st = rc < 0 ? samc_errf(err, SAMC_ENOMEM, "%s:%zu: out of memory", b->path, file_line(b))
                    : add_line(r, &t, err);
        if (st != SAMC_OK && copy) {
            t.line = copy;
            t.lineno = file_line(b);
            add_line(r, &t, err);
        }
        free(copy);
        if (st != SAMC_OK) return st;
    }
    return st;
}

/* The entry arrays reserved for a file of `bytes` (a failure leaves them to grow). */
static void reserve(svm_rows *r, size_t bytes)
{
    size_t cap = bytes / 4 + 16;
    r->c32 = malloc(cap * sizeof *r->c32);
    r->vals = malloc(cap * sizeof *r->vals);
    if (r->c32 && r->vals) {
        r->col_cap = r->vals_cap = cap;
        return;
    }
    free(r->c32);
    free(r->vals);
    r->c32 = NULL;
    r->vals = NULL;
}

static void cut(void **p, size_t bytes)
{
    void *q = realloc(*p, bytes ? bytes : 1);
    if (q) *p = q;
}

/* The rows of r into ds (r is emptied). */
static samc_status finish(samc_dataset *ds, svm_rows *r, const char *path, char *err)
{
    SAMC_CHECK(r->n > 0, SAMC_EFORMAT, "%s: no data rows (empty file)", path);
    SAMC_CHECK(r->d > 0, SAMC_EFORMAT, "%s: no features in any row", path);
    /* starts[i] holds the end of row i: shift to start offsets */
    memmove(r->starts + 1, r->starts, r->n * sizeof *r->starts);
    r->starts[0] = 0;
    cut((void **)&r->vals, r->nnz * sizeof *r->vals);
    if (r->c64) cut((void **)&r->c64, r->nnz * sizeof *r->c64);
    else cut((void **)&r->c32, r->nnz * sizeof *r->c32);
    cut((void **)&r->labels, r->n * sizeof *r->labels);
    cut((void **)&r->starts, (r->n + 1) * sizeof *r->starts);
    ds->n = r->n;
    ds->d = r->d;
    ds->y = r->labels;
    ds->ptr = r->starts;
    ds->val = r->vals;
    ds->col32 = r->c32;
    ds->col64 = r->c64;
    memset(r, 0, sizeof *r);
    return SAMC_OK;
}

/* The lines of path starting in share `part` of `parts` of its bytes
 * (parts 1: all of them). */
static samc_status read_share(samc_dataset *ds, const char *path, size_t d_min, size_t part,
                              size_t parts, char *err)
{
    SAMC_CHECK(ds && path, SAMC_EINVAL, "samc_read_libsvm: NULL argument");
    memset(ds, 0, sizeof *ds);
    block_reader b = {.path = path, .cap = BLOCK_BYTES, .hi = UINT64_MAX};
    b.fd = open(path, O_RDONLY);
    SAMC_CHECK(b.fd >= 0, SAMC_EIO, "%s: cannot open: %s", path, strerror(errno));
    svm_rows r = {.d = d_min};
    struct stat sb;
    int regular = fstat(b.fd, &sb) == 0 && S_ISREG(sb.st_mode);
    uint64_t size = regular ? (uint64_t)sb.st_size : 0;
    if (parts > 1 && regular) {
        b.start = size / parts * part + size % parts * part / parts;
        b.hi = part + 1 == parts ? UINT64_MAX : size / parts * (part + 1) + size % parts * (part + 1) / parts;
        if (b.start > 0) {   /* from the byte before: its line ends the share before */
            b.skip = 1;
            b.pos = b.start - 1;
            if (lseek(b.fd, (off_t)b.pos, SEEK_SET) < 0) b.eof = 1;
        }
        size = (b.hi < size ? b.hi : size) - b.pos;
    }
    if (regular) reserve(&r, (size_t)size);
    if (regular && size + 2 < b.cap) b.cap = size + 2 < 4096 ? 4096 : (size_t)size + 2;   /* a small file */
    b.buf = malloc(b.cap);
    samc_status st = b.buf ? SAMC_OK : samc_errf(err, SAMC_ENOMEM, "%s: out of memory", path);
    if (st == SAMC_OK) {
        b.buf[0] = '\0';
        st = read_rows(&b, &r, err);
    }
    close(b.fd);
    free(b.buf);
    if (st == SAMC_OK && parts > 1 && r.n == 0)
        st = samc_errf(err, SAMC_EFORMAT, "%s: no data rows in part %zu of %zu (--data-shard: fewer rows than ranks?)",
                       path, part + 1, parts);
    if (st == SAMC_OK) st = finish(ds, &r, path, err);
    svm_rows_free(&r);
    return st;
}

samc_status samc_read_libsvm(samc_dataset *ds, const char *path, size_t d_min, char *err)
{
    return read_share(ds, path, d_min, 0, 1, err);
}

/* -------------------------------------------------------- the libsvm: spec */

/* The test file is padded to the train file's feature count; the train
 * file is read by share when the options ask for one. */
static samc_status libsvm_file(samc_dataset *ds, const char *path, const samc_dataset *train,
                               const void *ctx, char *err)
{
    samc_data_source *src = (samc_data_source *)ctx;
    const samc_data_options *o = src->opt;
    if (train || o->shards <= 1) return samc_read_libsvm(ds, path, train ? train->d : 0, err);
    src->sharded = 1;
    return read_share(ds, path, 0, o->shard, o->shards, err);
}

static samc_status libsvm_load(samc_data_source *src, char *err)
{
    return samc_spec_train_test(src, &samc_reader_libsvm, NULL, libsvm_file, src, err);
}

const samc_data_reader samc_reader_libsvm = {"libsvm", 0, "libsvm:TRAIN[,TEST]", libsvm_load};
