/* The device conformance check behind `clgan check`: a table of cases (op ×
 * shape), each run on the backend under test and on the ref backend with
 * identical deterministic inputs, compared view by view with the
 * tolerance rules below (shared with tests/test_kernels.c), plus canaries
 * around every output view and a check that inputs come back unchanged. */
#include "clgan/check.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clgan_shared.h"

/* ---- tolerance rules (the reasoning is in check.h and docs/check.md) ---- */

#define EPS ((double)FLT_EPSILON)

bool clgan_tol_holds(clgan_tol tol, double got, double want) {
  if (isnan(got) || isnan(want))
    return isnan(got) && isnan(want);
  if (isinf(got) || isinf(want))
    return got == want;
  return fabs(got - want) <= tol.atol + tol.rtol * fmax(fabs(got), fabs(want));
}

clgan_tol clgan_tol_exact(void) {
  return (clgan_tol){0.0, 0.0};
}

clgan_tol clgan_tol_activation(void) {
  return (clgan_tol){2e-6, CLGAN_TOL_RTOL};
}

clgan_tol clgan_tol_act_backward(double max_dy) {
  return (clgan_tol){1e-6 * max_dy, CLGAN_TOL_RTOL};
}

clgan_tol clgan_tol_column_sum(size_t rows, double max_term, double beta, double max_old) {
  return (clgan_tol){(double)rows * EPS * max_term + 2.0 * EPS * fabs(beta) * max_old,
                     CLGAN_TOL_RTOL};
}

clgan_tol clgan_tol_gemm(size_t k, double alpha, double max_a, double max_b, double beta,
                         double max_c) {
  /* 1e-30 keeps the bound positive when an operand is all zeros. */
  double atol =
      2.0 * (double)k * EPS * fabs(alpha) * max_a * max_b + 2.0 * EPS * fabs(beta) * max_c + 1e-30;
  return (clgan_tol){atol, CLGAN_TOL_RTOL};
}

static double mbd_scale(clgan_mbd_shape s, size_t rows) {
  if (!s.mean)
    return 1.0;
  size_t count = s.include_self ? rows : rows - 1;
  return count ? 1.0 / (double)count : 0.0;
}

clgan_tol clgan_tol_mbd_forward(clgan_mbd_shape s, size_t rows, double max_m) {
  /* Per term, in units of eps: ~8 for exp's ulp and the rounding of the
   * result, plus one ulp of the largest distance 2·C·max|M|. */
  double per_term = 8.0 + 2.0 * (double)s.kernel_dim * max_m;
  double atol = mbd_scale(s, rows) * (double)rows * EPS * ((double)rows + per_term) + 1e-30;
  return (clgan_tol){atol, CLGAN_TOL_RTOL};
}

clgan_tol clgan_tol_mbd_backward(clgan_mbd_shape s, size_t rows, double max_m, double max_do) {
  clgan_tol t = clgan_tol_mbd_forward(s, rows, max_m);
  t.atol *= 2.0 * max_do;
  return t;
}

clgan_tol clgan_tol_bce_loss(size_t rows, double sum_abs_terms) {
  double mean_abs = rows ? sum_abs_terms / (double)rows : 0.0;
  return (clgan_tol){2.0 * EPS * mean_abs + 1e-30, CLGAN_TOL_RTOL};
}

clgan_tol clgan_tol_bce_grad(double grad_scale) {
  return (clgan_tol){2e-6 * fabs(grad_scale), CLGAN_TOL_RTOL};
}

clgan_tol clgan_tol_optim(clgan_tol_optim_part part) {
  /* Adam's moments are smaller than the parameters: m ~ (1-b1)·g after one
   * step, v ~ (1-b2)·g², so their absolute floors are smaller too. */
  switch (part) {
  case CLGAN_TOL_ADAM_M:
    return (clgan_tol){1e-7, CLGAN_TOL_RTOL};
  case CLGAN_TOL_ADAM_V:
    return (clgan_tol){1e-8, CLGAN_TOL_RTOL};
  default:
    return (clgan_tol){1e-6, CLGAN_TOL_RTOL};
  }
}

clgan_tol clgan_tol_noise(clgan_noise_params p) {
  if (p.kind == CLGAN_NOISE_NORMAL)
    return (clgan_tol){4e-6 * p.std, CLGAN_TOL_RTOL};
  /* Only multiply-adds: 1e-6 relative is already generous. */
  return (clgan_tol){4.0 * EPS * (p.range + p.jitter), 1e-6};
}

void clgan_tol_format(clgan_tol tol, char *buf, size_t size) {
  if (tol.atol == 0.0 && tol.rtol == 0.0)
    snprintf(buf, size, "exact");
  else
    snprintf(buf, size, "a=%.1e r=%.0e", tol.atol, tol.rtol);
}

/* ---- one buffer on both backends, with one view and canaries ---- */

enum { MAX_BUFS = 8, MAX_OUTS = 8, SIDE_DEV = 0, SIDE_REF = 1 };

typedef enum pb_role { PB_INPUT, PB_OUTPUT } pb_role;

typedef struct pair_buf {
  clgan_buffer *buf[2]; /* [SIDE_DEV], [SIDE_REF] */
  float *init;          /* the values uploaded to both */
  size_t n;             /* floats per buffer */
  size_t rows, cols, ld, offset;
  pb_role role;
} pair_buf;

typedef struct expected_out {
  const pair_buf *pb;
  const char *op;
  char shape[96];
  clgan_tol tol;
} expected_out;

typedef struct runner {
  clgan_backend *be[2];
  const clgan_check_options *opts;
  clgan_check_report *rep;
  size_t cap;
  clgan_error *err;
  const char *op; /* the case being run, for error messages */
  char desc[80];
  pair_buf bufs[MAX_BUFS];
  size_t n_bufs;
  expected_out outs[MAX_OUTS];
  size_t n_outs;
} runner;

#define BOTH(s) for (int s = SIDE_DEV; s <= SIDE_REF; ++s)

static clgan_view V(const pair_buf *p, int side) {
  clgan_view v = {p->buf[side], p->offset, p->rows, p->cols, p->ld};
  return v;
}

static float *at(pair_buf *p, size_t r, size_t c) {
  return &p->init[p->offset + r * p->ld + c];
}

static const char *strided_label(int strided) {
  return strided ? " strided" : "";
}

static void begin(runner *r, const char *op, const char *fmt, ...) CLGAN_PRINTF(3, 4);
static void begin(runner *r, const char *op, const char *fmt, ...) {
  r->op = op;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->desc, sizeof r->desc, fmt, ap);
  va_end(ap);
}

/* FNV-1a: input seeds derive from the case's name, so every case gets
 * the same data whichever cases run before it (--quick included). */
static uint32_t hash_str(uint32_t h, const char *s) {
  for (; *s; ++s)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

/* xorshift32: deterministic and independent of libc's rand(). */
static void fill_uniform(float *x, size_t n, float lo, float hi, uint32_t seed) {
  uint32_t s = seed ? seed : 1u;
  for (size_t i = 0; i < n; ++i) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    x[i] = lo + (hi - lo) * (float)(s >> 8) / 16777216.0f;
  }
}

/* Strided views start at offset 5 with ld = cols + 3; every buffer has 4
 * trailing floats, so canaries sit before, between and after rows. Values
 * (view and canary alike) are uniform in [lo, hi); upload with pb_upload
 * after adjusting init. */
static clgan_status pb_new(runner *r, pb_role role, const char *name, size_t rows, size_t cols,
                           int strided, float lo, float hi, pair_buf **out) {
  if (r->n_bufs == MAX_BUFS)
    return clgan_fail(r->err, CLGAN_E_RUNTIME, "check: too many buffers in one case");
  pair_buf *p = &r->bufs[r->n_bufs];
  memset(p, 0, sizeof *p);
  p->role = role;
  p->rows = rows;
  p->cols = cols;
  p->offset = strided ? 5 : 0;
  p->ld = cols + (strided ? 3 : 0);
  p->n = p->offset + rows * p->ld + 4;
  p->init = malloc(p->n * sizeof(float));
  if (!p->init)
    return clgan_fail(r->err, CLGAN_E_RUNTIME, "check: out of memory (%zu floats)", p->n);
  r->n_bufs++;
  fill_uniform(p->init, p->n, lo, hi, hash_str(hash_str(2166136261u, r->desc), name));
  *out = p;
  return CLGAN_OK;
}

static clgan_status pb_upload(runner *r, pair_buf *p) {
  BOTH(s) {
    clgan_backend *be = r->be[s];
    if (!p->buf[s])
      CLGAN_TRY(be->ops->buffer_create(be, p->n, &p->buf[s], r->err));
    CLGAN_TRY(be->ops->write(be, p->buf[s], 0, p->n, p->init, r->err));
  }
  return CLGAN_OK;
}

static double max_abs_view(pair_buf *p) {
  double m = 0.0;
  for (size_t i = 0; i < p->rows; ++i)
    for (size_t c = 0; c < p->cols; ++c)
      m = fmax(m, fabs((double)*at(p, i, c))); /* fmax skips NaN */
  return m;
}

static int in_view(const pair_buf *p, size_t i) {
  if (i < p->offset || p->ld == 0)
    return 0;
  size_t rel = i - p->offset;
  return rel / p->ld < p->rows && rel % p->ld < p->cols;
}

static clgan_status download(runner *r, int side, const pair_buf *p, float **out) {
  *out = malloc(p->n * sizeof(float));
  if (!*out)
    return clgan_fail(r->err, CLGAN_E_RUNTIME, "check: out of memory (%zu floats)", p->n);
  clgan_backend *be = r->be[side];
  clgan_status st = be->ops->read(be, p->buf[side], 0, p->n, *out, r->err);
  if (st != CLGAN_OK) {
    free(*out);
    *out = NULL;
  }
  return st;
}

static size_t count_changed(const float *got, const float *init, size_t n, const pair_buf *p,
                            int outside_view_only) {
  size_t changed = 0;
  for (size_t i = 0; i < n; ++i)
    if (!(outside_view_only && in_view(p, i)))
      changed += memcmp(&got[i], &init[i], sizeof(float)) != 0;
  return changed;
}

/* ---- comparing and recording ---- */

static void result_init(clgan_check_result *res, const char *op, const char *shape, clgan_tol tol) {
  memset(res, 0, sizeof *res);
  snprintf(res->op, sizeof res->op, "%s", op);
  snprintf(res->shape, sizeof res->shape, "%s", shape);
  res->tol = tol;
}

static void compare_value(clgan_check_result *res, double got, double want) {
  clgan_tol t = res->tol;
  res->values++;
  if (!isfinite(got) || !isfinite(want)) {
    if (isfinite(want))
      res->nonfinite++; /* always a failure, whatever the bound */
    else if (!clgan_tol_holds(t, got, want)) {
      res->over_tol++;
      res->worst_ratio = INFINITY;
    }
    return;
  }
  double diff = fabs(got - want), mag = fmax(fabs(got), fabs(want));
  double bound = t.atol + t.rtol * mag;
  res->max_abs_err = fmax(res->max_abs_err, diff);
  if (mag >= FLT_MIN)
    res->max_rel_err = fmax(res->max_rel_err, diff / mag);
  double ratio = bound > 0.0 ? diff / bound : (diff > 0.0 ? INFINITY : 0.0);
  res->worst_ratio = fmax(res->worst_ratio, ratio);
  res->over_tol += diff > bound;
}

/* Adds one output view of p (device against ref) and its canaries on
 * both sides to res. */
static clgan_status compare_view(runner *r, const pair_buf *p, clgan_check_result *res) {
  float *got = NULL, *want = NULL;
  clgan_status st = download(r, SIDE_DEV, p, &got);
  if (st == CLGAN_OK)
    st = download(r, SIDE_REF, p, &want);
  if (st == CLGAN_OK) {
    for (size_t i = 0; i < p->n; ++i)
      if (in_view(p, i))
        compare_value(res, got[i], want[i]);
    res->canary +=
        count_changed(got, p->init, p->n, p, 1) + count_changed(want, p->init, p->n, p, 1);
  }
  free(got);
  free(want);
  return st;
}

static void append_note(clgan_check_result *res, const char *fmt, ...) CLGAN_PRINTF(2, 3);
static void append_note(clgan_check_result *res, const char *fmt, ...) {
  size_t len = strlen(res->note);
  if (len + 3 >= sizeof res->note)
    return;
  if (len) {
    strcpy(res->note + len, "; ");
    len += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(res->note + len, sizeof res->note - len, fmt, ap);
  va_end(ap);
}

static clgan_status emit(runner *r, clgan_check_result *res) {
  if (res->over_tol)
    append_note(res, "%zu of %zu values over tol (worst %.3g× the bound)", res->over_tol,
                res->values, res->worst_ratio);
  if (res->nonfinite)
    append_note(res, "%zu NaN/Inf where ref is finite", res->nonfinite);
  if (res->canary)
    append_note(res, "%zu floats outside the output view changed", res->canary);
  if (res->input_changed)
    append_note(res, "%zu floats of an input changed", res->input_changed);
  res->passed = !res->over_tol && !res->nonfinite && !res->canary && !res->input_changed &&
                !res->other && !res->note[0];
  clgan_check_report *rep = r->rep;
  if (rep->n == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 256;
    clgan_check_result *grown = realloc(rep->results, cap * sizeof *grown);
    if (!grown)
      return clgan_fail(r->err, CLGAN_E_RUNTIME, "check: out of memory");
    rep->results = grown;
    r->cap = cap;
  }
  rep->results[rep->n++] = *res;
  rep->n_passed += res->passed;
  if (r->opts && r->opts->progress)
    r->opts->progress(res, r->opts->user);
  return CLGAN_OK;
}

/* Registers an output view to compare once the case's ops have run; out
 * names which output when an op has several (NULL otherwise). */
static void expect(runner *r, const char *op, const char *out, const pair_buf *p, clgan_tol tol) {
  expected_out *e = &r->outs[r->n_outs++];
  e->pb = p;
  e->op = op;
  e->tol = tol;
  if (out)
    snprintf(e->shape, sizeof e->shape, "%s (%s)", r->desc, out);
  else
    snprintf(e->shape, sizeof e->shape, "%s", r->desc);
}

/* Compares every expected output and records one result each; a changed
 * input fails every output of the case, since it makes them all suspect. */
static clgan_status check_outputs(runner *r) {
  size_t changed = 0;
  for (size_t i = 0; i < r->n_bufs; ++i) {
    const pair_buf *p = &r->bufs[i];
    if (p->role != PB_INPUT)
      continue;
    BOTH(s) {
      float *got = NULL;
      CLGAN_TRY(download(r, s, p, &got));
      changed += count_changed(got, p->init, p->n, p, 0);
      free(got);
    }
  }
  for (size_t i = 0; i < r->n_outs; ++i) {
    clgan_check_result res;
    result_init(&res, r->outs[i].op, r->outs[i].shape, r->outs[i].tol);
    res.input_changed = changed;
    CLGAN_TRY(compare_view(r, r->outs[i].pb, &res));
    CLGAN_TRY(emit(r, &res));
  }
  r->n_outs = 0;
  return CLGAN_OK;
}

static void end_case(runner *r) {
  for (size_t i = 0; i < r->n_bufs; ++i) {
    pair_buf *p = &r->bufs[i];
    BOTH(s) {
      if (p->buf[s])
        r->be[s]->ops->buffer_destroy(r->be[s], p->buf[s]);
    }
    free(p->init);
  }
  r->n_bufs = 0;
  r->n_outs = 0;
}

/* ---- the cases ---- */

static const size_t BATCHES[] = {1, 2, 7, 50, 513};
#define N_BATCHES (sizeof BATCHES / sizeof BATCHES[0])

/* Values that must saturate without NaN: ±20, ±100, ±1e30, plus 0 and a
 * small value near tanh's cancellation point. */
static const float EXTREMES[] = {20.0f, -20.0f, 100.0f, -100.0f, 1e30f, -1e30f, 0.0f, 1e-3f};
#define N_EXTREMES (sizeof EXTREMES / sizeof EXTREMES[0])

static const float LEAKY_SLOPE = 0.2f;

static clgan_status case_fill(runner *r, size_t b, int strided) {
  begin(r, "fill", "B=%zu cols=5%s", b, strided_label(strided));
  pair_buf *t;
  CLGAN_TRY(pb_new(r, PB_OUTPUT, "out", b, 5, strided, -1.0f, 1.0f, &t));
  CLGAN_TRY(pb_upload(r, t));
  BOTH(s) CLGAN_TRY(r->be[s]->ops->fill(r->be[s], V(t, s), 3.25f, r->err));
  expect(r, "fill", NULL, t, clgan_tol_exact());
  return check_outputs(r);
}

static clgan_status case_copy(runner *r, size_t b, int strided) {
  begin(r, "copy", "B=%zu cols=6%s", b, strided_label(strided));
  pair_buf *src, *dst;
  CLGAN_TRY(pb_new(r, PB_INPUT, "src", b, 6, strided, -4.0f, 4.0f, &src));
  CLGAN_TRY(pb_new(r, PB_OUTPUT, "dst", b, 6, !strided, -1.0f, 1.0f, &dst));
  CLGAN_TRY(pb_upload(r, src));
  CLGAN_TRY(pb_upload(r, dst));
  BOTH(s) CLGAN_TRY(r->be[s]->ops->copy(r->be[s], V(src, s), V(dst, s), r->err));
  expect(r, "copy", NULL, dst, clgan_tol_exact());
  return check_outputs(r);
}

static clgan_status case_gemm(runner *r, size_t m, size_t n, size_t k, int ta, int tb, float alpha,
                              float beta, int strided) {
  begin(r, "gemm", "%c%c m=%zu n=%zu k=%zu alpha=%g beta=%g%s", ta ? 'T' : 'N', tb ? 'T' : 'N', m,
        n, k, (double)alpha, (double)beta, strided_label(strided));
  pair_buf *a, *b, *c;
  CLGAN_TRY(pb_new(r, PB_INPUT, "A", ta ? k : m, ta ? m : k, strided, -1.0f, 1.0f, &a));
  CLGAN_TRY(pb_new(r, PB_INPUT, "B", tb ? n : k, tb ? k : n, !strided, -1.0f, 1.0f, &b));
  CLGAN_TRY(pb_new(r, PB_OUTPUT, "C", m, n, strided, -1.0f, 1.0f, &c));
  if (beta == 0.0f) /* beta = 0 must ignore C, even NaN */
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < n; ++j)
        *at(c, i, j) = NAN;
  CLGAN_TRY(pb_upload(r, a));
  CLGAN_TRY(pb_upload(r, b));
  CLGAN_TRY(pb_upload(r, c));
  BOTH(s) {
    CLGAN_TRY(
        r->be[s]->ops->gemm(r->be[s], ta, tb, alpha, V(a, s), V(b, s), beta, V(c, s), r->err));
  }
  /* k = 0 is C = beta·C: one IEEE multiply, exact. */
  clgan_tol tol = k == 0 ? clgan_tol_exact()
                         : clgan_tol_gemm(k, alpha, max_abs_view(a), max_abs_view(b), beta,
                                          beta == 0.0f ? 0.0 : max_abs_view(c));
  expect(r, "gemm", NULL, c, tol);
  return check_outputs(r);
}

static void put_extremes(pair_buf *z) {
  for (size_t i = 0; i < z->rows; ++i) {
    *at(z, i, 0) = EXTREMES[i % N_EXTREMES];
    *at(z, i, 1) = EXTREMES[(i + N_EXTREMES / 2) % N_EXTREMES];
  }
}

static clgan_status case_bias_act(runner *r, clgan_activation act, size_t b, int strided,
                                  int alias) {
  begin(r, "bias_act_forward", "%s B=%zu%s%s", clgan_activation_name(act), b, alias ? " y=z" : "",
        strided_label(strided));
  pair_buf *bias, *z, *y = NULL;
  CLGAN_TRY(pb_new(r, PB_INPUT, "bias", 1, 8, strided, -1.0f, 1.0f, &bias));
  CLGAN_TRY(pb_new(r, PB_OUTPUT, "z", b, 8, strided, -3.0f, 3.0f, &z));
  put_extremes(z);
  CLGAN_TRY(pb_upload(r, bias));
  CLGAN_TRY(pb_upload(r, z));
  if (!alias) {
    CLGAN_TRY(pb_new(r, PB_OUTPUT, "y", b, 8, !strided, -1.0f, 1.0f, &y));
    CLGAN_TRY(pb_upload(r, y));
  }
  BOTH(s) {
    CLGAN_TRY(r->be[s]->ops->bias_act_forward(r->be[s], act, LEAKY_SLOPE, V(bias, s), V(z, s),
                                              V(alias ? z : y, s), r->err));
  }
  if (alias) {
    expect(r, "bias_act_forward", NULL, z, clgan_tol_activation());
  } else {
    expect(r, "bias_act_forward", "z", z, clgan_tol_exact());
    expect(r, "bias_act_forward", "y", y, clgan_tol_activation());
  }
  return check_outputs(r);
}

/* dbias_mode: 0 none, 1 beta = 0 over NaN (must be ignored) with dz
 * aliasing dy, 2 beta = 0.5. */
static clgan_status case_act_backward(runner *r, clgan_activation act, size_t b, int strided,
                                      int dbias_mode) {
  static const char *const modes[] = {"", " dz=dy beta=0", " beta=0.5"};
  begin(r, "act_backward", "%s B=%zu%s%s", clgan_activation_name(act), b, modes[dbias_mode],
        strided_label(strided));
  int alias = dbias_mode == 1;
  float beta = dbias_mode == 2 ? 0.5f : 0.0f;
  pair_buf *z, *y, *dy, *dz = NULL, *db = NULL;
  CLGAN_TRY(pb_new(r, PB_INPUT, "z", b, 8, strided, -3.0f, 3.0f, &z));
  put_extremes(z);
  CLGAN_TRY(pb_new(r, PB_INPUT, "y", b, 8, !strided, 0.0f, 0.0f, &y));
  for (size_t i = 0; i < b; ++i)
    for (size_t c = 0; c < 8; ++c)
      *at(y, i, c) = clgan_act_forward((int)act, LEAKY_SLOPE, *at(z, i, c));
  CLGAN_TRY(pb_new(r, alias ? PB_OUTPUT : PB_INPUT, "dy", b, 8, strided, -1.0f, 1.0f, &dy));
  if (!alias)
    CLGAN_TRY(pb_new(r, PB_OUTPUT, "dz", b, 8, !strided, -1.0f, 1.0f, &dz));
  if (dbias_mode) {
    CLGAN_TRY(pb_new(r, PB_OUTPUT, "dbias", 1, 8, 1, -2.0f, 2.0f, &db));
    if (dbias_mode == 1)
      for (size_t c = 0; c < 8; ++c)
        *at(db, 0, c) = NAN;
  }
  for (size_t i = 0; i < r->n_bufs; ++i)
    CLGAN_TRY(pb_upload(r, &r->bufs[i]));
  pair_buf *out = alias ? dy : dz;
  BOTH(s) {
    clgan_view dbv = db ? V(db, s) : (clgan_view){0};
    CLGAN_TRY(r->be[s]->ops->act_backward(r->be[s], act, LEAKY_SLOPE, V(z, s), V(y, s), V(dy, s),
                                          V(out, s), dbv, beta, r->err));
  }
  double max_dy = max_abs_view(dy);
  expect(r, "act_backward", db ? "dz" : NULL, out, clgan_tol_act_backward(max_dy));
  if (db) /* |act'| <= 1, so every term of the column sum is <= max|dy| */
    expect(r, "act_backward", "dbias", db,
           clgan_tol_column_sum(b, max_dy, beta, beta == 0.0f ? 0.0 : max_abs_view(db)));
  return check_outputs(r);
}

/* No rows: dz is untouched and dbias = beta·dbias (the sum of nothing is
 * 0), one multiply by 0.5: exact. */
static clgan_status case_act_backward_no_rows(runner *r) {
  begin(r, "act_backward", "relu B=0 beta=0.5");
  pair_buf *z, *db;
  CLGAN_TRY(pb_new(r, PB_INPUT, "z", 0, 3, 1, -1.0f, 1.0f, &z));
  CLGAN_TRY(pb_new(r, PB_OUTPUT, "dbias", 1, 3, 1, -1.0f, 1.0f, &db));
  CLGAN_TRY(pb_upload(r, z));
  CLGAN_TRY(pb_upload(r, db));
  BOTH(s) {
    CLGAN_TRY(r->be[s]->ops->act_backward(r->be[s], CLGAN_ACT_RELU, 0.0f, V(z, s), V(z, s), V(z, s),
                                          V(z, s), V(db, s), 0.5f, r->err));
  }
  expect(r, "act_backward", "dbias", db, clgan_tol_exact());
  return check_outputs(r);
}

/* M is uniform in [-range, range), with an exact tie between rows 0 and
 * 1 in every kernel's first coordinate so sign0(0) between different rows
 * is exercised. */
static clgan_status case_mbd(runner *r, clgan_mbd_shape s, size_t b, int strided, float range) {
  begin(r, "mbd", "B=%zu K=%zu C=%zu %s %s%s%s", b, s.kernels, s.kernel_dim,
        s.include_self ? "incl" : "excl", s.mean ? "mean" : "sum", range == 0.5f ? "" : " wide-M",
        strided_label(strided));
  size_t width = s.kernels * s.kernel_dim;
  pair_buf *m, *o, *d_o, *dm;
  CLGAN_TRY(pb_new(r, PB_INPUT, "m", b, width, strided, -range, range, &m));
  if (b >= 2)
    for (size_t k = 0; k < s.kernels; ++k)
      *at(m, 1, k * s.kernel_dim) = *at(m, 0, k * s.kernel_dim);
  CLGAN_TRY(pb_new(r, PB_OUTPUT, "o", b, s.kernels, !strided, -1.0f, 1.0f, &o));
  CLGAN_TRY(pb_new(r, PB_INPUT, "d_o", b, s.kernels, strided, -1.0f, 1.0f, &d_o));
  CLGAN_TRY(pb_new(r, PB_OUTPUT, "dm", b, width, !strided, -1.0f, 1.0f, &dm));
  for (size_t i = 0; i < r->n_bufs; ++i)
    CLGAN_TRY(pb_upload(r, &r->bufs[i]));
  BOTH(side) {
    clgan_backend *be = r->be[side];
    CLGAN_TRY(be->ops->mbd_forward(be, s, V(m, side), V(o, side), r->err));
    CLGAN_TRY(be->ops->mbd_backward(be, s, V(m, side), V(d_o, side), V(dm, side), r->err));
  }
  double max_m = max_abs_view(m);
  expect(r, "mbd_forward", NULL, o, clgan_tol_mbd_forward(s, b, max_m));
  expect(r, "mbd_backward", NULL, dm, clgan_tol_mbd_backward(s, b, max_m, max_abs_view(d_o)));
  return check_outputs(r);
}

/* Every third logit is an extreme; with huge, ±1e30 among them. Those
 * must give finite gradients, but they also make the loss ~1e29, whose
 * bound then says nothing about the finite terms, so half the cases leave
 * them out. */
static clgan_status case_bce(runner *r, size_t b, float target, int strided, int huge) {
  begin(r, "bce_logits", "B=%zu target=%g%s%s", b, (double)target, huge ? " with-1e30" : "",
        strided_label(strided));
  static const float moderate[] = {20.0f, -20.0f, 100.0f, -100.0f, 0.0f, 1e-3f};
  pair_buf *l, *dl, *loss;
  CLGAN_TRY(pb_new(r, PB_INPUT, "logits", b, 1, strided, -5.0f, 5.0f, &l));
  for (size_t i = 0; i < b; i += 3)
    *at(l, i, 0) = huge ? EXTREMES[(i / 3) % N_EXTREMES] : moderate[(i / 3) % 6];
  CLGAN_TRY(pb_new(r, PB_OUTPUT, "dlogits", b, 1, !strided, -1.0f, 1.0f, &dl));
  CLGAN_TRY(pb_new(r, PB_OUTPUT, "loss", 1, 1, 1, -1.0f, 1.0f, &loss)); /* at offset 5 */
  for (size_t i = 0; i < r->n_bufs; ++i)
    CLGAN_TRY(pb_upload(r, &r->bufs[i]));
  float grad_scale = 1.0f / (float)b;
  BOTH(s) {
    CLGAN_TRY(r->be[s]->ops->bce_logits(r->be[s], V(l, s), target, grad_scale, V(dl, s),
                                        loss->buf[s], loss->offset, r->err));
  }
  double sum_abs = 0.0;
  for (size_t i = 0; i < b; ++i)
    sum_abs += fabs((double)clgan_bce_logit(*at(l, i, 0), target));
  expect(r, "bce_logits", "loss", loss, clgan_tol_bce_loss(b, sum_abs));
  expect(r, "bce_logits", "dlogits", dl, clgan_tol_bce_grad(grad_scale));
  return check_outputs(r);
}

/* Ten steps with fresh gradients (the first one 0 on zero moments, the
 * corner of sqrt(v) + eps), compared after steps 1 and 10. */
static clgan_status case_adam(runner *r, size_t n, int strided) {
  begin(r, "adam_update", "n=%zu%s", n, strided_label(strided));
  pair_buf *p, *m, *v, *g;
  CLGAN_TRY(pb_new(r, PB_OUTPUT, "params", 1, n, strided, -1.0f, 1.0f, &p));
  CLGAN_TRY(pb_new(r, PB_OUTPUT, "m", 1, n, !strided, 0.0f, 0.0f, &m));
  CLGAN_TRY(pb_new(r, PB_OUTPUT, "v", 1, n, strided, 0.0f, 0.0f, &v));
  CLGAN_TRY(pb_new(r, PB_INPUT, "grads", 1, n, !strided, -1.0f, 1.0f, &g));
  CLGAN_TRY(pb_upload(r, p));
  CLGAN_TRY(pb_upload(r, m));
  CLGAN_TRY(pb_upload(r, v));
  const float b1 = 0.9f, b2 = 0.999f;
  char base[sizeof r->desc];
  snprintf(base, sizeof base, "%s", r->desc);
  for (int t = 1; t <= 10; ++t) {
    fill_uniform(g->init, g->n, -1.0f, 1.0f, 2000u + 17u * (unsigned)t + (unsigned)n);
    *at(g, 0, 0) = 0.0f;
    CLGAN_TRY(pb_upload(r, g));
    clgan_adam_step step = {1e-2f * sqrtf(1.0f - powf(b2, (float)t)) / (1.0f - powf(b1, (float)t)),
                            b1, b2, 1e-8f};
    BOTH(s) {
      CLGAN_TRY(
          r->be[s]->ops->adam_update(r->be[s], step, V(p, s), V(g, s), V(m, s), V(v, s), r->err));
    }
    if (t == 1 || t == 10) {
      begin(r, "adam_update", "%s step %d", base, t);
      expect(r, "adam_update", "params", p, clgan_tol_optim(CLGAN_TOL_PARAMS));
      expect(r, "adam_update", "m", m, clgan_tol_optim(CLGAN_TOL_ADAM_M));
      expect(r, "adam_update", "v", v, clgan_tol_optim(CLGAN_TOL_ADAM_V));
      CLGAN_TRY(check_outputs(r));
    }
  }
  return CLGAN_OK;
}

static clgan_status case_sgd(runner *r, size_t n, int strided) {
  begin(r, "sgd_update", "n=%zu%s", n, strided_label(strided));
  pair_buf *p, *vel, *g;
  CLGAN_TRY(pb_new(r, PB_OUTPUT, "params", 1, n, strided, -1.0f, 1.0f, &p));
  CLGAN_TRY(pb_new(r, PB_OUTPUT, "velocity", 1, n, !strided, -0.1f, 0.1f, &vel));
  CLGAN_TRY(pb_new(r, PB_INPUT, "grads", 1, n, strided, -1.0f, 1.0f, &g));
  CLGAN_TRY(pb_upload(r, p));
  CLGAN_TRY(pb_upload(r, vel));
  char base[sizeof r->desc];
  snprintf(base, sizeof base, "%s", r->desc);
  for (int t = 1; t <= 10; ++t) {
    fill_uniform(g->init, g->n, -1.0f, 1.0f, 4000u + 13u * (unsigned)t + (unsigned)n);
    CLGAN_TRY(pb_upload(r, g));
    BOTH(s) {
      CLGAN_TRY(
          r->be[s]->ops->sgd_update(r->be[s], 0.01f, 0.9f, V(p, s), V(g, s), V(vel, s), r->err));
    }
    if (t == 1 || t == 10) {
      begin(r, "sgd_update", "%s step %d", base, t);
      expect(r, "sgd_update", "params", p, clgan_tol_optim(CLGAN_TOL_PARAMS));
      expect(r, "sgd_update", "velocity", vel, clgan_tol_optim(CLGAN_TOL_VELOCITY));
      CLGAN_TRY(check_outputs(r));
    }
  }
  return CLGAN_OK;
}

static clgan_status case_noise(runner *r, clgan_noise_params np, size_t b, size_t cols,
                               int strided) {
  static const char *const kinds[] = {"stratified", "uniform", "normal"};
  begin(r, "noise", "%s B=%zu cols=%zu%s", kinds[np.kind], b, cols, strided_label(strided));
  pair_buf *out;
  CLGAN_TRY(pb_new(r, PB_OUTPUT, "out", b, cols, strided, -9.0f, 9.0f, &out));
  CLGAN_TRY(pb_upload(r, out));
  clgan_rng_key key = {0x123456789abcdefULL, 2u + (uint32_t)np.kind, 7u + (uint32_t)b};
  BOTH(s) CLGAN_TRY(r->be[s]->ops->noise(r->be[s], np, key, V(out, s), r->err));
  expect(r, "noise", NULL, out, clgan_tol_noise(np));
  return check_outputs(r);
}

/* One epoch of batches over n_data rows: exact against ref, and each data
 * row must appear exactly once (row r holds r·cols + c, exact in float). */
static clgan_status case_gather(runner *r, size_t n_data, size_t cols, size_t batch,
                                uint32_t epoch) {
  begin(r, "gather_shuffled", "N=%zu cols=%zu batch=%zu epoch=%u", n_data, cols, batch,
        (unsigned)epoch);
  pair_buf *data, *out;
  CLGAN_TRY(pb_new(r, PB_INPUT, "data", n_data, cols, 1, 0.0f, 0.0f, &data));
  for (size_t i = 0; i < n_data; ++i)
    for (size_t c = 0; c < cols; ++c)
      *at(data, i, c) = (float)(i * cols + c);
  CLGAN_TRY(pb_upload(r, data));
  CLGAN_TRY(pb_new(r, PB_OUTPUT, "out", batch, cols, 1, -1.0f, 1.0f, &out));
  unsigned char *seen = calloc(n_data, 1);
  if (!seen)
    return clgan_fail(r->err, CLGAN_E_RUNTIME, "check: out of memory");
  clgan_check_result res;
  result_init(&res, "gather_shuffled", r->desc, clgan_tol_exact());
  clgan_rng_key key = {0xfeedbeefULL, 0u, epoch};
  clgan_status st = CLGAN_OK;
  for (size_t first = 0; first < n_data && st == CLGAN_OK; first += batch) {
    /* The last batch is short; the rows of out below it are canaries. */
    out->rows = n_data - first < batch ? n_data - first : batch;
    st = pb_upload(r, out);
    BOTH(s) {
      if (st == CLGAN_OK)
        st = r->be[s]->ops->gather_shuffled(r->be[s], V(data, s), key, first, V(out, s), r->err);
    }
    if (st == CLGAN_OK)
      st = compare_view(r, out, &res);
    float *got = NULL;
    if (st == CLGAN_OK)
      st = download(r, SIDE_DEV, out, &got);
    for (size_t i = 0; st == CLGAN_OK && i < out->rows; ++i) {
      const float *row = got + out->offset + i * out->ld;
      /* Checked before the cast: converting NaN or a huge float to
       * size_t is undefined. */
      int ok = row[0] >= 0.0f && row[0] < (float)(n_data * cols);
      size_t src = ok ? (size_t)row[0] / cols : 0;
      ok = ok && !seen[src];
      for (size_t c = 0; ok && c < cols; ++c)
        ok = row[c] == (float)(src * cols + c);
      if (ok)
        seen[src] = 1;
      else
        res.other++;
    }
    free(got);
  }
  for (size_t i = 0; st == CLGAN_OK && i < n_data; ++i)
    res.other += !seen[i];
  free(seen);
  CLGAN_TRY(st);
  float *after = NULL;
  BOTH(s) {
    CLGAN_TRY(download(r, s, data, &after));
    res.input_changed += count_changed(after, data->init, data->n, data, 0);
    free(after);
  }
  if (res.other)
    append_note(&res, "not a permutation: %zu rows repeated, missing or garbled", res.other);
  return emit(r, &res);
}

/* ---- the table ---- */

static clgan_status run_elementwise(runner *r) {
  for (size_t bi = 0; bi < N_BATCHES; ++bi) {
    CLGAN_TRY(case_fill(r, BATCHES[bi], (int)(bi % 2)));
    end_case(r);
  }
  for (size_t bi = 0; bi < N_BATCHES; ++bi) {
    CLGAN_TRY(case_copy(r, BATCHES[bi], (int)((bi + 1) % 2)));
    end_case(r);
  }
  for (int act = 0; act < CLGAN_ACT_COUNT; ++act)
    for (size_t bi = 0; bi < N_BATCHES; ++bi) {
      int strided = (int)((bi + (size_t)act) % 2);
      CLGAN_TRY(case_bias_act(r, (clgan_activation)act, BATCHES[bi], strided, bi % 2 == 0));
      end_case(r);
    }
  for (int act = 0; act < CLGAN_ACT_COUNT; ++act)
    for (size_t bi = 0; bi < N_BATCHES; ++bi) {
      /* Rotating the dbias modes over activations covers every pair of
       * mode and batch size. */
      int mode = (int)((bi + (size_t)act) % 3);
      CLGAN_TRY(case_act_backward(r, (clgan_activation)act, BATCHES[bi],
                                  (int)((bi + (size_t)act + 1) % 2), mode));
      end_case(r);
    }
  CLGAN_TRY(case_act_backward_no_rows(r));
  end_case(r);
  return CLGAN_OK;
}

static clgan_status run_gemm(runner *r) {
  for (size_t bi = 0; bi < N_BATCHES; ++bi) {
    size_t b = BATCHES[bi];
    int strided = (int)(bi % 2);
    /* The shapes of an MLP layer: forward X·W, input gradient dY·Wᵀ,
     * weight gradient Xᵀ·dY (the batch as the inner dimension). */
    CLGAN_TRY(case_gemm(r, b, 9, 6, 0, 0, 1.0f, 0.0f, strided));
    end_case(r);
    CLGAN_TRY(case_gemm(r, b, 6, 9, 0, 1, 0.5f, 0.75f, !strided));
    end_case(r);
    CLGAN_TRY(case_gemm(r, 6, 9, b, 1, 0, 1.0f, 1.0f, strided));
    end_case(r);
  }
  /* Large odd shapes take CLBlast's tiled (padded) path, not its direct
   * kernel for small sizes. */
  CLGAN_TRY(case_gemm(r, 513, 257, 129, 0, 0, 1.0f, 0.0f, 1));
  end_case(r);
  CLGAN_TRY(case_gemm(r, 129, 257, 513, 1, 0, 0.5f, 0.75f, 0));
  end_case(r);
  CLGAN_TRY(case_gemm(r, 7, 5, 13, 1, 1, 1.0f, 0.0f, 1));
  end_case(r);
  CLGAN_TRY(case_gemm(r, 7, 4, 0, 0, 0, 1.0f, 0.5f, 1)); /* CLBlast rejects k = 0 */
  end_case(r);
  return CLGAN_OK;
}

static int mbd_skipped(const runner *r, size_t b) {
  return r->opts && r->opts->max_mbd_batch && b > r->opts->max_mbd_batch;
}

static clgan_status run_mbd(runner *r) {
  static const size_t kc[4][2] = {{1, 1}, {5, 3}, {3, 7}, {16, 2}};
  for (size_t bi = 0; bi < N_BATCHES && !mbd_skipped(r, BATCHES[bi]); ++bi)
    for (size_t combo = 0; combo < 4; ++combo) {
      const size_t *shape = kc[(bi + combo) % 4];
      clgan_mbd_shape s = {shape[0], shape[1], combo & 1, combo >> 1};
      CLGAN_TRY(case_mbd(r, s, BATCHES[bi], (int)((bi + combo) % 2), 0.5f));
      end_case(r);
    }
  /* Distances up to 2·C·20: exp underflows to 0 or to denormals, which a
   * device may flush. */
  CLGAN_TRY(case_mbd(r, (clgan_mbd_shape){5, 3, true, false}, 50, 1, 20.0f));
  end_case(r);
  if ((!r->opts || !r->opts->quick) && !mbd_skipped(r, 4096)) {
    /* A large batch: grids far past any work-group size, per-item loops
     * of 4096, and sums whose rounding grows with B. The seed config's
     * layer (K=5, C=3, self included, sum) and the other self/reduce
     * pair; ref costs O(B²·K·C²) in double, so K and C stay small. */
    CLGAN_TRY(case_mbd(r, (clgan_mbd_shape){5, 3, true, false}, 4096, 0, 0.5f));
    end_case(r);
    CLGAN_TRY(case_mbd(r, (clgan_mbd_shape){2, 3, false, true}, 4096, 1, 0.5f));
    end_case(r);
  }
  return CLGAN_OK;
}

static clgan_status run_loss_optim_rng(runner *r) {
  static const struct {
    size_t b;
    float target;
  } bce[] = {{1, 0.0f}, {2, 1.0f}, {7, 0.9f}, {50, 1.0f}, {50, 0.0f}, {513, 0.9f}, {513, 1.0f}};
  for (size_t i = 0; i < sizeof bce / sizeof bce[0]; ++i) {
    CLGAN_TRY(case_bce(r, bce[i].b, bce[i].target, (int)(i % 2), (int)(i % 2)));
    end_case(r);
  }
  static const size_t flat[] = {1, 7, 513};
  for (size_t i = 0; i < 3; ++i) {
    CLGAN_TRY(case_adam(r, flat[i], (int)(i % 2)));
    end_case(r);
    CLGAN_TRY(case_sgd(r, flat[i], (int)((i + 1) % 2)));
    end_case(r);
  }
  const clgan_noise_params kinds[3] = {
      {CLGAN_NOISE_STRATIFIED, 2.0f, 0.05f, 0.0f},
      {CLGAN_NOISE_UNIFORM, 1.5f, 0.0f, 0.0f},
      {CLGAN_NOISE_NORMAL, 0.0f, 0.0f, 0.7f},
  };
  for (int kind = 0; kind < 3; ++kind)
    for (size_t bi = 0; bi < N_BATCHES; ++bi) {
      CLGAN_TRY(case_noise(r, kinds[kind], BATCHES[bi], bi % 2 ? 3 : 1, (int)((bi + 1) % 2)));
      end_case(r);
    }
  static const struct {
    size_t n, cols, batch;
    uint32_t epoch;
  } gather[] = {{1, 1, 50, 0}, {2, 2, 7, 3},    {7, 1, 50, 1},
                {50, 2, 7, 3}, {513, 1, 50, 2}, {513, 3, 64, 5}};
  for (size_t i = 0; i < sizeof gather / sizeof gather[0]; ++i) {
    CLGAN_TRY(case_gather(r, gather[i].n, gather[i].cols, gather[i].batch, gather[i].epoch));
    end_case(r);
  }
  return CLGAN_OK;
}

clgan_status clgan_check_run(clgan_backend *dev, clgan_backend *ref,
                             const clgan_check_options *opts, clgan_check_report *report,
                             clgan_error *err) {
  memset(report, 0, sizeof *report);
  runner r = {.be = {dev, ref}, .opts = opts, .rep = report, .err = err};
  clgan_status st = run_elementwise(&r);
  if (st == CLGAN_OK)
    st = run_gemm(&r);
  if (st == CLGAN_OK)
    st = run_mbd(&r);
  if (st == CLGAN_OK)
    st = run_loss_optim_rng(&r);
  if (st != CLGAN_OK) {
    clgan_error_prefix(err, "check %s %s: ", r.op ? r.op : "", r.desc);
    end_case(&r); /* the failed case's buffers */
  }
  return st;
}

void clgan_check_report_free(clgan_check_report *report) {
  if (!report)
    return;
  free(report->results);
  memset(report, 0, sizeof *report);
}
