/* Every op of the opencl backend against the ref backend (the oracle), on
 * identical inputs, at batch sizes 1, 2, 7, 50 and 513 (sizes that are and
 * are not multiples of any work-group size), on tight views and on views
 * with a non-zero offset and ld > cols. After each op the whole buffer is
 * read back: the view must agree with ref within the tolerance below and
 * every float outside the view (the canary) must be untouched.
 *
 * Tolerances, |cl - ref| <= atol + rtol·max(|cl|, |ref|), come from the
 * rules in include/clgan/check.h (reasoning in docs/check.md), the same
 * ones `clgan check` applies, so the check and this test agree:
 *  - fill, copy, gather_shuffled, the z of bias_act_forward: exact (pure
 *    data movement or one IEEE addition).
 *  - elementwise maths (activations, derivatives, optimizers, noise):
 *    rtol 1e-5 (OpenCL allows exp/log/cos/sqrt a few ulp, libm is within
 *    one) and an atol of a few ulp of the operands' scale, because
 *    formulas such as tanh = 1 - 2/(e^{2|x|}+1) cancel near 0, and a device
 *    may flush denormals (sigmoid(-100) = 4e-44) or fuse a·b+c.
 *  - reductions whose order differs (gemm inside CLBlast, MBD, the bias
 *    column sum, the loss mean; ref sums in double): rtol 1e-5 and an atol
 *    of the float summation bound n·eps·Σ|term|-like, computed from the
 *    actual operands, so the test scales with K (gemm) or B (MBD).
 * The worst |diff| and the worst diff/tolerance per op are printed at the
 * end as TAP comments.
 *
 * CLGAN_TEST_MAX_MBD_BATCH=N skips MBD batch sizes above N: MBD costs B², and
 * B = 513 takes hours under a simulator such as Oclgrind. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clgan/backend.h"
#include "clgan/check.h"
#include "clgan_shared.h"
#include "test_util.h"

static clgan_backend *g_cl, *g_ref;
static size_t g_max_mbd_batch = SIZE_MAX;

static const size_t batches[] = {1, 2, 7, 50, 513};
#define N_BATCHES (sizeof batches / sizeof batches[0])

static int mbd_batch_skipped(size_t b) {
  return b > g_max_mbd_batch;
}

/* ---- worst errors per op, for the report ---- */

typedef struct op_stats {
  const char *op;
  double max_abs;   /* largest |cl - ref| */
  double max_ratio; /* largest |cl - ref| / tolerance */
  size_t compared;
} op_stats;

static op_stats g_stats[32];
static size_t g_n_stats;

static void stats_record(const char *op, const float *got, const float *want, size_t n, float atol,
                         float rtol) {
  op_stats *s = NULL;
  for (size_t i = 0; i < g_n_stats; ++i)
    if (strcmp(g_stats[i].op, op) == 0)
      s = &g_stats[i];
  if (!s) {
    if (g_n_stats == sizeof g_stats / sizeof g_stats[0])
      return;
    s = &g_stats[g_n_stats++];
    s->op = op;
  }
  for (size_t i = 0; i < n; ++i) {
    double a = got[i], b = want[i];
    double diff = fabs(a - b);
    double tol = atol + rtol * fmax(fabs(a), fabs(b));
    if (diff > s->max_abs)
      s->max_abs = diff;
    double ratio = tol > 0.0 ? diff / tol : (diff > 0.0 ? INFINITY : 0.0);
    if (ratio > s->max_ratio)
      s->max_ratio = ratio;
  }
  s->compared += n;
}

/* ---- a buffer on both backends with one view and canaries around it ---- */

typedef struct tbuf {
  clgan_buffer *cl, *ref;
  float *init; /* host values uploaded to both */
  size_t n;    /* floats per buffer */
  size_t rows, cols, ld, offset;
} tbuf;

/* Padded views start at offset 5 with ld = cols + 3; every buffer has 4
 * trailing floats, so the canary covers before, between and after rows. */
static tbuf tbuf_alloc(size_t rows, size_t cols, int padded, float lo, float hi, unsigned seed) {
  tbuf t = {0};
  t.rows = rows;
  t.cols = cols;
  t.offset = padded ? 5 : 0;
  t.ld = cols + (padded ? 3 : 0);
  t.n = t.offset + rows * t.ld + 4;
  t.init = malloc(t.n * sizeof(float));
  assert_non_null(t.init);
  test_fill_uniform(t.init, t.n, lo, hi, seed);
  return t;
}

static float *tbuf_at(tbuf *t, size_t r, size_t c) {
  return &t->init[t->offset + r * t->ld + c];
}

static void tbuf_upload(tbuf *t) {
  t->cl = test_upload(g_cl, t->init, t->n);
  t->ref = test_upload(g_ref, t->init, t->n);
}

static tbuf tbuf_make(size_t rows, size_t cols, int padded, float lo, float hi, unsigned seed) {
  tbuf t = tbuf_alloc(rows, cols, padded, lo, hi, seed);
  tbuf_upload(&t);
  return t;
}

static void tbuf_free(tbuf *t) {
  g_cl->ops->buffer_destroy(g_cl, t->cl);
  g_ref->ops->buffer_destroy(g_ref, t->ref);
  free(t->init);
  memset(t, 0, sizeof *t);
}

static clgan_view vcl(const tbuf *t) {
  clgan_view v = {t->cl, t->offset, t->rows, t->cols, t->ld};
  return v;
}

static clgan_view vref(const tbuf *t) {
  clgan_view v = {t->ref, t->offset, t->rows, t->cols, t->ld};
  return v;
}

static int in_view(const tbuf *t, size_t i) {
  if (i < t->offset)
    return 0;
  size_t rel = i - t->offset;
  return rel / t->ld < t->rows && rel % t->ld < t->cols;
}

static void gather_view(const tbuf *t, const float *all, float *out) {
  for (size_t r = 0; r < t->rows; ++r)
    memcpy(out + r * t->cols, all + t->offset + r * t->ld, t->cols * sizeof(float));
}

static double max_abs_view(tbuf *t) {
  double m = 0.0;
  for (size_t r = 0; r < t->rows; ++r)
    for (size_t c = 0; c < t->cols; ++c)
      m = fmax(m, fabs(*tbuf_at(t, r, c)));
  return m;
}

/* Compares the view on both backends (cl against ref), checks that both
 * results are finite and that nothing outside the view changed. */
static void tbuf_check(const char *op, const char *what, const tbuf *t, clgan_tol tol) {
  double atol = tol.atol, rtol = tol.rtol;
  float *a = test_download(g_cl, t->cl, t->n);
  float *b = test_download(g_ref, t->ref, t->n);
  size_t nv = t->rows * t->cols;
  float *va = malloc((nv ? nv : 1) * sizeof(float));
  float *vb = malloc((nv ? nv : 1) * sizeof(float));
  assert_true(va && vb);
  gather_view(t, a, va);
  gather_view(t, b, vb);
  size_t bad = test_compare(what, va, vb, nv, (float)atol, (float)rtol);
  stats_record(op, va, vb, nv, (float)atol, (float)rtol);
  size_t nonfinite = 0, canary = 0;
  for (size_t i = 0; i < nv; ++i)
    nonfinite += !isfinite(va[i]) || !isfinite(vb[i]);
  for (size_t i = 0; i < t->n; ++i)
    if (!in_view(t, i))
      canary += memcmp(&a[i], &t->init[i], sizeof(float)) != 0 ||
                memcmp(&b[i], &t->init[i], sizeof(float)) != 0;
  if (nonfinite || canary)
    fprintf(stderr, "# %s: %zu non-finite results, %zu canary floats changed\n", what, nonfinite,
            canary);
  free(a);
  free(b);
  free(va);
  free(vb);
  assert_int_equal(bad, 0);
  assert_int_equal(nonfinite, 0);
  assert_int_equal(canary, 0);
}

/* An input must come back bit-identical on the device. */
static void tbuf_check_unchanged(const char *what, const tbuf *t) {
  float *a = test_download(g_cl, t->cl, t->n);
  size_t changed = 0;
  for (size_t i = 0; i < t->n; ++i)
    changed += memcmp(&a[i], &t->init[i], sizeof(float)) != 0;
  free(a);
  if (changed)
    fprintf(stderr, "# %s: input changed in %zu floats\n", what, changed);
  assert_int_equal(changed, 0);
}

static void expect_ok(clgan_status st, const clgan_error *err) {
  if (st != CLGAN_OK)
    fail_msg("op failed: %s", err->message);
}

static const char *label(const char *fmt, ...) CLGAN_PRINTF(1, 2);
static const char *label(const char *fmt, ...) {
  static char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

/* Values that must saturate without NaN: ±20, ±100, ±1e30, plus 0 and a
 * small value near tanh's cancellation point. */
static const float extremes[] = {20.0f, -20.0f, 100.0f, -100.0f, 1e30f, -1e30f, 0.0f, 1e-3f};
#define N_EXTREMES (sizeof extremes / sizeof extremes[0])

/* ---- fill and copy ---- */

static void test_fill(void **state) {
  (void)state;
  clgan_error err = {0};
  for (size_t bi = 0; bi < N_BATCHES; ++bi)
    for (int padded = 0; padded < 2; ++padded) {
      size_t b = batches[bi];
      tbuf t = tbuf_make(b, 5, padded, -1.0f, 1.0f, 11u + (unsigned)b);
      expect_ok(g_cl->ops->fill(g_cl, vcl(&t), 3.25f, &err), &err);
      expect_ok(g_ref->ops->fill(g_ref, vref(&t), 3.25f, &err), &err);
      tbuf_check("fill", label("fill B=%zu padded=%d", b, padded), &t, clgan_tol_exact());
      tbuf_free(&t);
    }
}

static void test_copy(void **state) {
  (void)state;
  clgan_error err = {0};
  for (size_t bi = 0; bi < N_BATCHES; ++bi)
    for (int padded = 0; padded < 2; ++padded) {
      size_t b = batches[bi];
      tbuf src = tbuf_make(b, 6, padded, -4.0f, 4.0f, 21u + (unsigned)b);
      tbuf dst = tbuf_make(b, 6, !padded, -1.0f, 1.0f, 22u + (unsigned)b);
      expect_ok(g_cl->ops->copy(g_cl, vcl(&src), vcl(&dst), &err), &err);
      expect_ok(g_ref->ops->copy(g_ref, vref(&src), vref(&dst), &err), &err);
      tbuf_check("copy", label("copy B=%zu padded=%d", b, padded), &dst, clgan_tol_exact());
      tbuf_check_unchanged("copy src", &src);
      tbuf_free(&src);
      tbuf_free(&dst);
    }
}

/* ---- gemm ---- */

static void run_gemm(size_t m, size_t n, size_t k, int ta, int tb, float alpha, float beta,
                     int padded, unsigned seed) {
  clgan_error err = {0};
  tbuf a = tbuf_make(ta ? k : m, ta ? m : k, padded, -1.0f, 1.0f, seed);
  tbuf b = tbuf_make(tb ? n : k, tb ? k : n, !padded, -1.0f, 1.0f, seed + 1u);
  tbuf c = tbuf_alloc(m, n, padded, -1.0f, 1.0f, seed + 2u);
  if (beta == 0.0f) /* beta = 0 must ignore C, even NaN */
    for (size_t r = 0; r < m; ++r)
      for (size_t j = 0; j < n; ++j)
        *tbuf_at(&c, r, j) = NAN;
  tbuf_upload(&c);
  expect_ok(g_cl->ops->gemm(g_cl, ta, tb, alpha, vcl(&a), vcl(&b), beta, vcl(&c), &err), &err);
  expect_ok(g_ref->ops->gemm(g_ref, ta, tb, alpha, vref(&a), vref(&b), beta, vref(&c), &err), &err);
  /* Float dot products of length k: |error| <= k·eps·Σ|a·b| in the worst
   * case; Σ|a·b| <= k·max|A|·max|B| is too pessimistic in practice, so
   * this uses 2·k·eps·max|A|·max|B| (scales with K as the summation error
   * of uniform data does), plus the rounding of beta·C. */
  double old_c = beta == 0.0f ? 0.0 : max_abs_view(&c);
  clgan_tol tol = clgan_tol_gemm(k, alpha, max_abs_view(&a), max_abs_view(&b), beta, old_c);
  tbuf_check("gemm",
             label("gemm %c%c m=%zu n=%zu k=%zu alpha=%g beta=%g padded=%d", ta ? 'T' : 'N',
                   tb ? 'T' : 'N', m, n, k, (double)alpha, (double)beta, padded),
             &c, tol);
  tbuf_check_unchanged("gemm A", &a);
  tbuf_check_unchanged("gemm B", &b);
  tbuf_free(&a);
  tbuf_free(&b);
  tbuf_free(&c);
}

static void test_gemm(void **state) {
  (void)state;
  unsigned seed = 100u;
  for (size_t bi = 0; bi < N_BATCHES; ++bi) {
    size_t b = batches[bi];
    /* The batch as M (forward, input gradient) and as K (weight gradient). */
    const size_t shapes[3][3] = {{b, 9, 6}, {6, 9, b}, {b, 6, 9}};
    for (int s = 0; s < 3; ++s)
      for (int t = 0; t < 4; ++t) {
        int padded = (s + t) % 2;
        run_gemm(shapes[s][0], shapes[s][1], shapes[s][2], t & 1, t >> 1, 1.0f, 0.0f, padded,
                 seed++);
        run_gemm(shapes[s][0], shapes[s][1], shapes[s][2], t & 1, t >> 1, 0.5f, 0.75f, !padded,
                 seed++);
      }
  }
}

static void test_gemm_empty_inner(void **state) {
  (void)state;
  /* k = 0: C = beta·C (CLBlast rejects k = 0, the backend must not). */
  clgan_error err = {0};
  const float betas[] = {0.0f, 0.5f, 1.0f};
  for (int i = 0; i < 3; ++i) {
    tbuf a = tbuf_make(7, 0, 1, -1.0f, 1.0f, 5u);
    tbuf b = tbuf_make(0, 4, 1, -1.0f, 1.0f, 6u);
    tbuf c = tbuf_make(7, 4, 1, -1.0f, 1.0f, 7u);
    expect_ok(g_cl->ops->gemm(g_cl, false, false, 1.0f, vcl(&a), vcl(&b), betas[i], vcl(&c), &err),
              &err);
    expect_ok(
        g_ref->ops->gemm(g_ref, false, false, 1.0f, vref(&a), vref(&b), betas[i], vref(&c), &err),
        &err);
    tbuf_check("gemm", label("gemm k=0 beta=%g", (double)betas[i]), &c, clgan_tol_exact());
    tbuf_free(&a);
    tbuf_free(&b);
    tbuf_free(&c);
  }
}

/* ---- activations ---- */

static const float leaky_slope = 0.2f;

static void put_extremes(tbuf *z) {
  for (size_t r = 0; r < z->rows; ++r) {
    *tbuf_at(z, r, 0) = extremes[r % N_EXTREMES];
    *tbuf_at(z, r, 1) = extremes[(r + N_EXTREMES / 2) % N_EXTREMES];
  }
}

static void run_bias_act(clgan_activation act, size_t b, int padded, int alias) {
  clgan_error err = {0};
  const char *name = clgan_activation_name(act);
  unsigned seed = 300u + 7u * (unsigned)act + (unsigned)b;
  tbuf bias = tbuf_make(1, 8, padded, -1.0f, 1.0f, seed);
  tbuf z = tbuf_alloc(b, 8, padded, -3.0f, 3.0f, seed + 1u);
  put_extremes(&z);
  tbuf_upload(&z);
  tbuf y = tbuf_make(b, 8, !padded, -1.0f, 1.0f, seed + 2u);
  clgan_view ycl = alias ? vcl(&z) : vcl(&y), yref = alias ? vref(&z) : vref(&y);
  expect_ok(g_cl->ops->bias_act_forward(g_cl, act, leaky_slope, vcl(&bias), vcl(&z), ycl, &err),
            &err);
  expect_ok(
      g_ref->ops->bias_act_forward(g_ref, act, leaky_slope, vref(&bias), vref(&z), yref, &err),
      &err);
  /* y: a few ulp of 1 absolute (exp inside tanh/sigmoid/softplus), 1e-5
   * relative; z: one addition, exact. When y aliases z, z holds y. */
  if (alias) {
    tbuf_check("bias_act_forward", label("%s y=z B=%zu padded=%d", name, b, padded), &z,
               clgan_tol_activation());
  } else {
    tbuf_check("bias_act_forward z", label("%s z B=%zu padded=%d", name, b, padded), &z,
               clgan_tol_exact());
    tbuf_check("bias_act_forward", label("%s y B=%zu padded=%d", name, b, padded), &y,
               clgan_tol_activation());
  }
  tbuf_check_unchanged("bias", &bias);
  tbuf_free(&bias);
  tbuf_free(&z);
  tbuf_free(&y);
}

static void test_bias_act_forward(void **state) {
  (void)state;
  for (int act = 0; act < CLGAN_ACT_COUNT; ++act)
    for (size_t bi = 0; bi < N_BATCHES; ++bi) {
      run_bias_act((clgan_activation)act, batches[bi], (int)(bi % 2), 0);
      run_bias_act((clgan_activation)act, batches[bi], (int)((bi + 1) % 2), 1);
    }
}

/* dbias_mode: 0 none, 1 beta = 0 over NaN (must be ignored), 2 beta = 0.5. */
static void run_act_backward(clgan_activation act, size_t b, int padded, int alias,
                             int dbias_mode) {
  clgan_error err = {0};
  const char *name = clgan_activation_name(act);
  unsigned seed = 500u + 11u * (unsigned)act + (unsigned)b;
  tbuf z = tbuf_alloc(b, 8, padded, -3.0f, 3.0f, seed);
  put_extremes(&z);
  tbuf y = tbuf_alloc(b, 8, !padded, 0.0f, 0.0f, seed + 1u);
  for (size_t r = 0; r < b; ++r)
    for (size_t c = 0; c < 8; ++c)
      *tbuf_at(&y, r, c) = clgan_act_forward((int)act, leaky_slope, *tbuf_at(&z, r, c));
  tbuf_upload(&z);
  tbuf_upload(&y);
  tbuf dy = tbuf_make(b, 8, padded, -1.0f, 1.0f, seed + 2u);
  tbuf dz = tbuf_make(b, 8, !padded, -1.0f, 1.0f, seed + 3u);
  tbuf db = tbuf_alloc(1, 8, 1, -2.0f, 2.0f, seed + 4u);
  float beta = dbias_mode == 2 ? 0.5f : 0.0f;
  if (dbias_mode == 1)
    for (size_t c = 0; c < 8; ++c)
      *tbuf_at(&db, 0, c) = NAN;
  tbuf_upload(&db);
  clgan_view out_cl = alias ? vcl(&dy) : vcl(&dz), out_ref = alias ? vref(&dy) : vref(&dz);
  clgan_view db_cl = vcl(&db), db_ref = vref(&db);
  if (dbias_mode == 0) {
    db_cl.buf = NULL;
    db_ref.buf = NULL;
  }
  expect_ok(g_cl->ops->act_backward(g_cl, act, leaky_slope, vcl(&z), vcl(&y), vcl(&dy), out_cl,
                                    db_cl, beta, &err),
            &err);
  expect_ok(g_ref->ops->act_backward(g_ref, act, leaky_slope, vref(&z), vref(&y), vref(&dy),
                                     out_ref, db_ref, beta, &err),
            &err);
  /* dz: elementwise, |act'| <= 1 so |dz| <= max|dy|. */
  double max_dy = max_abs_view(&dy);
  tbuf_check("act_backward", label("%s dz B=%zu padded=%d alias=%d", name, b, padded, alias),
             alias ? &dy : &dz, clgan_tol_act_backward(max_dy));
  if (dbias_mode != 0) {
    /* A column sum of b terms of magnitude <= max|dy| in another order,
     * plus beta times the old dbias. */
    tbuf_check("act_backward dbias",
               label("%s dbias B=%zu beta=%g padded=%d", name, b, (double)beta, padded), &db,
               clgan_tol_column_sum(b, max_dy, beta, beta == 0.0f ? 0.0 : max_abs_view(&db)));
  } else {
    tbuf_check_unchanged("act_backward dbias (none)", &db);
  }
  tbuf_check_unchanged("act_backward z", &z);
  tbuf_check_unchanged("act_backward y", &y);
  if (!alias) {
    tbuf_check_unchanged("act_backward dy", &dy);
  }
  tbuf_free(&z);
  tbuf_free(&y);
  tbuf_free(&dy);
  tbuf_free(&dz);
  tbuf_free(&db);
}

static void test_act_backward(void **state) {
  (void)state;
  for (int act = 0; act < CLGAN_ACT_COUNT; ++act)
    for (size_t bi = 0; bi < N_BATCHES; ++bi) {
      for (int mode = 0; mode < 3; ++mode)
        run_act_backward((clgan_activation)act, batches[bi], (int)((bi + mode) % 2), mode == 1,
                         mode);
    }
}

static void test_act_backward_zero_rows(void **state) {
  (void)state;
  /* No rows: dz untouched, dbias = beta·dbias (the sum of nothing is 0). */
  clgan_error err = {0};
  tbuf z = tbuf_make(0, 3, 1, -1.0f, 1.0f, 41u);
  tbuf db = tbuf_make(1, 3, 1, -1.0f, 1.0f, 42u);
  expect_ok(g_cl->ops->act_backward(g_cl, CLGAN_ACT_RELU, 0.0f, vcl(&z), vcl(&z), vcl(&z), vcl(&z),
                                    vcl(&db), 0.5f, &err),
            &err);
  expect_ok(g_ref->ops->act_backward(g_ref, CLGAN_ACT_RELU, 0.0f, vref(&z), vref(&z), vref(&z),
                                     vref(&z), vref(&db), 0.5f, &err),
            &err);
  tbuf_check("act_backward dbias", "dbias with no rows", &db, clgan_tol_exact());
  tbuf_check_unchanged("act_backward z (no rows)", &z);
  tbuf_free(&z);
  tbuf_free(&db);
}

/* ---- minibatch discrimination ---- */

static const size_t mbd_kc[3][2] = {{1, 1}, {5, 3}, {3, 7}};

static double mbd_scale_of(clgan_mbd_shape s, size_t b) {
  if (!s.mean)
    return 1.0;
  size_t count = s.include_self ? b : b - 1;
  return count ? 1.0 / (double)count : 0.0;
}

/* Puts an exact tie between rows 0 and 1 in every kernel's first
 * coordinate, so sign0(0) between different rows is exercised. */
static void put_ties(tbuf *m, size_t kernels, size_t dim) {
  if (m->rows < 2)
    return;
  for (size_t k = 0; k < kernels; ++k)
    *tbuf_at(m, 1, k * dim) = *tbuf_at(m, 0, k * dim);
}

static void run_mbd(clgan_mbd_shape s, size_t b, int padded, unsigned seed) {
  clgan_error err = {0};
  size_t width = s.kernels * s.kernel_dim;
  tbuf m = tbuf_alloc(b, width, padded, -0.5f, 0.5f, seed);
  put_ties(&m, s.kernels, s.kernel_dim);
  tbuf_upload(&m);
  tbuf o = tbuf_make(b, s.kernels, !padded, -1.0f, 1.0f, seed + 1u);
  tbuf d_o = tbuf_make(b, s.kernels, padded, -1.0f, 1.0f, seed + 2u);
  tbuf dm = tbuf_make(b, width, !padded, -1.0f, 1.0f, seed + 3u);
  expect_ok(g_cl->ops->mbd_forward(g_cl, s, vcl(&m), vcl(&o), &err), &err);
  expect_ok(g_ref->ops->mbd_forward(g_ref, s, vref(&m), vref(&o), &err), &err);
  expect_ok(g_cl->ops->mbd_backward(g_cl, s, vcl(&m), vcl(&d_o), vcl(&dm), &err), &err);
  expect_ok(g_ref->ops->mbd_backward(g_ref, s, vref(&m), vref(&d_o), vref(&dm), &err), &err);
  /* Each term exp(-d) <= 1 carries the error of d (C terms of size
   * <= 2·max|M|, so about 2·C·max|M|·eps) plus exp's few ulp; the float sum
   * of B such terms adds up to B·eps·B. Backward terms are scaled by
   * |dO_i + dO_j| <= 2·max|dO|. */
  clgan_tol tol_fwd = clgan_tol_mbd_forward(s, b, max_abs_view(&m));
  clgan_tol tol_bwd = clgan_tol_mbd_backward(s, b, max_abs_view(&m), max_abs_view(&d_o));
  const char *what = label("B=%zu K=%zu C=%zu self=%d mean=%d padded=%d", b, s.kernels,
                           s.kernel_dim, s.include_self, s.mean, padded);
  char what_copy[256];
  snprintf(what_copy, sizeof what_copy, "%s", what);
  tbuf_check("mbd_forward", label("mbd_forward %s", what_copy), &o, tol_fwd);
  tbuf_check("mbd_backward", label("mbd_backward %s", what_copy), &dm, tol_bwd);
  tbuf_check_unchanged("mbd m", &m);
  tbuf_check_unchanged("mbd d_o", &d_o);
  tbuf_free(&m);
  tbuf_free(&o);
  tbuf_free(&d_o);
  tbuf_free(&dm);
}

static void test_mbd(void **state) {
  (void)state;
  unsigned seed = 700u;
  for (int kc = 0; kc < 3; ++kc)
    for (int self = 0; self < 2; ++self)
      for (int mean = 0; mean < 2; ++mean)
        for (size_t bi = 0; bi < N_BATCHES; ++bi) {
          if (mbd_batch_skipped(batches[bi]))
            continue;
          clgan_mbd_shape s = {mbd_kc[kc][0], mbd_kc[kc][1], self, mean};
          run_mbd(s, batches[bi], (int)((bi + (size_t)kc + (size_t)mean) % 2), seed);
          seed += 5u;
        }
}

/* The backward formula against central differences of the forward, both
 * in double on the host (no device rounding), then against the device. */
static double mbd_loss_host(clgan_mbd_shape s, const double *m, const double *d_o, size_t b) {
  double scale = mbd_scale_of(s, b), loss = 0.0;
  size_t w = s.kernels * s.kernel_dim;
  for (size_t i = 0; i < b; ++i)
    for (size_t k = 0; k < s.kernels; ++k) {
      double sum = 0.0;
      for (size_t j = 0; j < b; ++j) {
        if (j == i && !s.include_self)
          continue;
        double d = 0.0;
        for (size_t c = 0; c < s.kernel_dim; ++c)
          d += fabs(m[i * w + k * s.kernel_dim + c] - m[j * w + k * s.kernel_dim + c]);
        sum += exp(-d);
      }
      loss += d_o[i * s.kernels + k] * scale * sum;
    }
  return loss;
}

static void test_mbd_finite_difference(void **state) {
  (void)state;
  clgan_error err = {0};
  enum { B = 6, K = 2, C = 3, W = K * C };
  /* Distinct, well separated coordinates so no |.| kink lies within h. */
  float mf[B * W];
  double md[B * W], dod[B * K];
  float dof[B * K];
  for (int i = 0; i < B * W; ++i) {
    mf[i] = (float)((i * 5) % (B * W)) * 0.05f - 0.8f;
    md[i] = mf[i];
  }
  test_fill_uniform(dof, B * K, -1.0f, 1.0f, 99u);
  for (int i = 0; i < B * K; ++i)
    dod[i] = dof[i];
  for (int self = 0; self < 2; ++self)
    for (int mean = 0; mean < 2; ++mean) {
      clgan_mbd_shape s = {K, C, self, mean};
      clgan_buffer *m = test_upload(g_cl, mf, B * W);
      clgan_buffer *d_o = test_upload(g_cl, dof, B * K);
      clgan_buffer *dm = test_upload(g_cl, NULL, B * W);
      expect_ok(g_cl->ops->mbd_backward(g_cl, s, clgan_view_full(m, 0, B, W),
                                        clgan_view_full(d_o, 0, B, K), clgan_view_full(dm, 0, B, W),
                                        &err),
                &err);
      float *got = test_download(g_cl, dm, B * W);
      float fd[B * W];
      const double h = 1e-5;
      for (int i = 0; i < B * W; ++i) {
        double keep = md[i];
        md[i] = keep + h;
        double up = mbd_loss_host(s, md, dod, B);
        md[i] = keep - h;
        double down = mbd_loss_host(s, md, dod, B);
        md[i] = keep;
        fd[i] = (float)((up - down) / (2.0 * h));
      }
      size_t bad =
          test_compare(label("mbd_backward vs finite differences self=%d mean=%d", self, mean), got,
                       fd, B * W, 1e-4f, 1e-4f);
      stats_record("mbd_backward vs finite diff", got, fd, B * W, 1e-4f, 1e-4f);
      free(got);
      g_cl->ops->buffer_destroy(g_cl, m);
      g_cl->ops->buffer_destroy(g_cl, d_o);
      g_cl->ops->buffer_destroy(g_cl, dm);
      assert_int_equal(bad, 0);
    }
}

/* ---- loss ---- */

static void run_bce(size_t b, float target, int padded, unsigned seed) {
  clgan_error err = {0};
  tbuf l = tbuf_alloc(b, 1, padded, -5.0f, 5.0f, seed);
  for (size_t r = 0; r < b; r += 3)
    *tbuf_at(&l, r, 0) = extremes[(r / 3) % N_EXTREMES];
  tbuf_upload(&l);
  tbuf dl = tbuf_make(b, 1, !padded, -1.0f, 1.0f, seed + 1u);
  tbuf loss = tbuf_make(1, 1, 1, -1.0f, 1.0f, seed + 2u); /* loss at offset 5 */
  float grad_scale = 1.0f / (float)b;
  expect_ok(g_cl->ops->bce_logits(g_cl, vcl(&l), target, grad_scale, vcl(&dl), loss.cl, loss.offset,
                                  &err),
            &err);
  expect_ok(g_ref->ops->bce_logits(g_ref, vref(&l), target, grad_scale, vref(&dl), loss.ref,
                                   loss.offset, &err),
            &err);
  /* The mean of b terms summed in another order: error <= eps·Σ|term|. */
  double sum_abs = 0.0;
  for (size_t r = 0; r < b; ++r)
    sum_abs += fabs((double)clgan_bce_logit(*tbuf_at(&l, r, 0), target));
  tbuf_check("bce_logits loss", label("bce loss B=%zu t=%g", b, (double)target), &loss,
             clgan_tol_bce_loss(b, sum_abs));
  tbuf_check("bce_logits grad", label("bce grad B=%zu t=%g", b, (double)target), &dl,
             clgan_tol_bce_grad(grad_scale));
  tbuf_check_unchanged("bce logits", &l);
  tbuf_free(&l);
  tbuf_free(&dl);
  tbuf_free(&loss);
}

static void test_bce_logits(void **state) {
  (void)state;
  const float targets[] = {0.0f, 1.0f, 0.9f};
  for (size_t bi = 0; bi < N_BATCHES; ++bi)
    for (int t = 0; t < 3; ++t) {
      run_bce(batches[bi], targets[t], (int)((bi + (size_t)t) % 2), 900u + 3u * (unsigned)bi);
    }
}

/* ---- optimizers ---- */

static void test_adam(void **state) {
  (void)state;
  clgan_error err = {0};
  for (size_t bi = 0; bi < N_BATCHES; ++bi) {
    size_t n = batches[bi];
    int padded = (int)(bi % 2);
    tbuf p = tbuf_make(1, n, padded, -1.0f, 1.0f, 1000u + (unsigned)n);
    tbuf m = tbuf_make(1, n, !padded, 0.0f, 0.0f, 1u);
    tbuf v = tbuf_make(1, n, padded, 0.0f, 0.0f, 1u);
    const float b1 = 0.9f, b2 = 0.999f;
    for (int t = 1; t <= 10; ++t) {
      tbuf g = tbuf_alloc(1, n, !padded, -1.0f, 1.0f, 2000u + 17u * (unsigned)t + (unsigned)n);
      *tbuf_at(&g, 0, 0) = 0.0f; /* a zero gradient on zero moments */
      tbuf_upload(&g);
      clgan_adam_step step = {
          1e-2f * sqrtf(1.0f - powf(b2, (float)t)) / (1.0f - powf(b1, (float)t)), b1, b2, 1e-8f};
      expect_ok(g_cl->ops->adam_update(g_cl, step, vcl(&p), vcl(&g), vcl(&m), vcl(&v), &err), &err);
      expect_ok(g_ref->ops->adam_update(g_ref, step, vref(&p), vref(&g), vref(&m), vref(&v), &err),
                &err);
      if (t == 1 || t == 10) {
        /* Updates of size ~lr with sqrt/division a few ulp off; the
         * moments are two multiply-adds per step. */
        tbuf_check("adam_update", label("adam params n=%zu step %d", n, t), &p,
                   clgan_tol_optim(CLGAN_TOL_PARAMS));
        tbuf_check("adam_update", label("adam m n=%zu step %d", n, t), &m,
                   clgan_tol_optim(CLGAN_TOL_ADAM_M));
        tbuf_check("adam_update", label("adam v n=%zu step %d", n, t), &v,
                   clgan_tol_optim(CLGAN_TOL_ADAM_V));
        tbuf_check_unchanged("adam grads", &g);
      }
      tbuf_free(&g);
    }
    tbuf_free(&p);
    tbuf_free(&m);
    tbuf_free(&v);
  }
}

static void test_sgd(void **state) {
  (void)state;
  clgan_error err = {0};
  for (size_t bi = 0; bi < N_BATCHES; ++bi) {
    size_t n = batches[bi];
    int padded = (int)((bi + 1) % 2);
    tbuf p = tbuf_make(1, n, padded, -1.0f, 1.0f, 3000u + (unsigned)n);
    tbuf vel = tbuf_make(1, n, !padded, -0.1f, 0.1f, 3001u + (unsigned)n);
    for (int t = 1; t <= 10; ++t) {
      tbuf g = tbuf_make(1, n, padded, -1.0f, 1.0f, 4000u + 13u * (unsigned)t + (unsigned)n);
      expect_ok(g_cl->ops->sgd_update(g_cl, 0.01f, 0.9f, vcl(&p), vcl(&g), vcl(&vel), &err), &err);
      expect_ok(g_ref->ops->sgd_update(g_ref, 0.01f, 0.9f, vref(&p), vref(&g), vref(&vel), &err),
                &err);
      if (t == 1 || t == 10) {
        /* Multiply-adds only; a device may fuse them (1 ulp each). */
        tbuf_check("sgd_update", label("sgd params n=%zu step %d", n, t), &p,
                   clgan_tol_optim(CLGAN_TOL_PARAMS));
        tbuf_check("sgd_update", label("sgd velocity n=%zu step %d", n, t), &vel,
                   clgan_tol_optim(CLGAN_TOL_VELOCITY));
        tbuf_check_unchanged("sgd grads", &g);
      }
      tbuf_free(&g);
    }
    tbuf_free(&p);
    tbuf_free(&vel);
  }
}

/* ---- randomness ---- */

static void test_noise(void **state) {
  (void)state;
  clgan_error err = {0};
  const clgan_noise_params kinds[3] = {
      {CLGAN_NOISE_STRATIFIED, 2.0f, 0.05f, 0.0f},
      {CLGAN_NOISE_UNIFORM, 1.5f, 0.0f, 0.0f},
      {CLGAN_NOISE_NORMAL, 0.0f, 0.0f, 0.7f},
  };
  for (int kind = 0; kind < 3; ++kind)
    for (size_t bi = 0; bi < N_BATCHES; ++bi)
      for (size_t cols = 1; cols <= 3; cols += 2) {
        size_t b = batches[bi];
        clgan_rng_key key = {0x123456789abcdefULL, 2u + (uint32_t)kind, 7u + (uint32_t)b};
        tbuf out = tbuf_make(b, cols, (int)((bi + cols / 2) % 2), -9.0f, 9.0f, 5000u);
        expect_ok(g_cl->ops->noise(g_cl, kinds[kind], key, vcl(&out), &err), &err);
        expect_ok(g_ref->ops->noise(g_ref, kinds[kind], key, vref(&out), &err), &err);
        /* Uniform and stratified are a few multiply-adds (a device may fuse
         * them): a few ulp of the range. Normal uses log, sqrt and cos,
         * each a few ulp on OpenCL; near a zero of cos the error is
         * absolute, about 4 ulp of 1 times sqrt(-2 log u) <= 5.8. */
        tbuf_check("noise", label("noise kind=%d B=%zu cols=%zu", kind, b, cols), &out,
                   clgan_tol_noise(kinds[kind]));
        tbuf_free(&out);
      }
}

static void run_gather_epoch(size_t n_data, size_t cols, size_t batch, uint32_t epoch) {
  clgan_error err = {0};
  /* Row r holds r·cols + c: every value is an exact integer in float. */
  tbuf data = tbuf_alloc(n_data, cols, 1, 0.0f, 0.0f, 1u);
  for (size_t r = 0; r < n_data; ++r)
    for (size_t c = 0; c < cols; ++c)
      *tbuf_at(&data, r, c) = (float)(r * cols + c);
  tbuf_upload(&data);
  unsigned char *seen = calloc(n_data, 1);
  assert_non_null(seen);
  clgan_rng_key key = {0xfeedbeefULL, 0u, epoch};
  for (size_t first = 0; first < n_data; first += batch) {
    size_t rows = n_data - first < batch ? n_data - first : batch;
    tbuf out = tbuf_make(rows, cols, (int)(first / batch % 2), -1.0f, 1.0f, 6000u);
    expect_ok(g_cl->ops->gather_shuffled(g_cl, vcl(&data), key, first, vcl(&out), &err), &err);
    expect_ok(g_ref->ops->gather_shuffled(g_ref, vref(&data), key, first, vref(&out), &err), &err);
    tbuf_check(
        "gather_shuffled",
        label("gather N=%zu cols=%zu first=%zu epoch=%u", n_data, cols, first, (unsigned)epoch),
        &out, clgan_tol_exact());
    float *got = test_download(g_cl, out.cl, out.n);
    for (size_t r = 0; r < rows; ++r) {
      size_t src = (size_t)got[out.offset + r * out.ld] / cols;
      assert_true(src < n_data);
      for (size_t c = 0; c < cols; ++c)
        assert_true(got[out.offset + r * out.ld + c] == (float)(src * cols + c));
      assert_int_equal(seen[src], 0); /* each row once per epoch */
      seen[src] = 1;
    }
    free(got);
    tbuf_free(&out);
  }
  for (size_t r = 0; r < n_data; ++r)
    assert_int_equal(seen[r], 1);
  free(seen);
  tbuf_check_unchanged("gather data", &data);
  tbuf_free(&data);
}

static void test_gather_shuffled(void **state) {
  (void)state;
  for (size_t bi = 0; bi < N_BATCHES; ++bi) {
    size_t n = batches[bi];
    run_gather_epoch(n, 1, 50, 0u);
    run_gather_epoch(n, 2, 7, 3u);
  }
}

/* ---- launches, determinism, errors ---- */

/* Runs the reduction ops twice on the device: fixed summation order means
 * identical bits. */
static void test_determinism(void **state) {
  (void)state;
  clgan_error err = {0};
  size_t b = mbd_batch_skipped(513) ? 50 : 513;
  float *host = malloc(b * 21 * sizeof(float));
  assert_non_null(host);
  test_fill_uniform(host, b * 21, -1.0f, 1.0f, 77u);
  clgan_buffer *in = test_upload(g_cl, host, b * 21);
  /* Output layout: dm (b x 21), dz (b x 8), dbias (1 x 8), dl (b x 1), loss. */
  size_t dz_at = b * 21, db_at = b * 29, dl_at = b * 29 + 8, loss_at = b * 30 + 8;
  size_t n_out = loss_at + 1;
  clgan_buffer *outs[2] = {test_upload(g_cl, NULL, n_out), test_upload(g_cl, NULL, n_out)};
  clgan_mbd_shape s = {3, 7, true, true};
  for (int run = 0; run < 2; ++run) {
    clgan_buffer *o = outs[run];
    expect_ok(g_cl->ops->mbd_backward(g_cl, s, clgan_view_full(in, 0, b, 21),
                                      clgan_view_full(in, 0, b, 3), clgan_view_full(o, 0, b, 21),
                                      &err),
              &err);
    expect_ok(g_cl->ops->act_backward(g_cl, CLGAN_ACT_SOFTPLUS, 0.0f, clgan_view_full(in, 0, b, 8),
                                      clgan_view_full(in, 0, b, 8), clgan_view_full(in, 8, b, 8),
                                      clgan_view_full(o, dz_at, b, 8),
                                      clgan_view_full(o, db_at, 1, 8), 0.0f, &err),
              &err);
    expect_ok(g_cl->ops->bce_logits(g_cl, clgan_view_full(in, 0, b, 1), 1.0f, 1.0f,
                                    clgan_view_full(o, dl_at, b, 1), o, loss_at, &err),
              &err);
  }
  float *r1 = test_download(g_cl, outs[0], n_out);
  float *r2 = test_download(g_cl, outs[1], n_out);
  assert_memory_equal(r1, r2, n_out * sizeof(float));
  free(r1);
  free(r2);
  free(host);
  g_cl->ops->buffer_destroy(g_cl, in);
  g_cl->ops->buffer_destroy(g_cl, outs[0]);
  g_cl->ops->buffer_destroy(g_cl, outs[1]);
}

/* One kernel (or CLBlast call) per op and one transfer per read/write:
 * the op table's cost model at small sizes. */
static void test_launch_counts(void **state) {
  (void)state;
  clgan_error err = {0};
  clgan_backend *be = g_cl;
  clgan_buffer *buf = test_upload(be, NULL, 4096);
  clgan_view x = clgan_view_full(buf, 0, 50, 8), y = clgan_view_full(buf, 400, 50, 8);
  clgan_view w = clgan_view_full(buf, 800, 8, 8), bias = clgan_view_full(buf, 900, 1, 8);
  clgan_view col = clgan_view_full(buf, 1000, 50, 1), col2 = clgan_view_full(buf, 1100, 50, 1);
  clgan_view flat = clgan_view_full(buf, 1200, 1, 64), flat2 = clgan_view_full(buf, 1300, 1, 64);
  clgan_view flat3 = clgan_view_full(buf, 1400, 1, 64), flat4 = clgan_view_full(buf, 1500, 1, 64);
  clgan_view o = clgan_view_full(buf, 1600, 50, 4);
  clgan_mbd_shape s = {4, 2, false, true};
  clgan_adam_step step = {1e-3f, 0.9f, 0.999f, 1e-8f};
  clgan_noise_params np = {CLGAN_NOISE_NORMAL, 0.0f, 0.0f, 1.0f};
  clgan_rng_key key = {1u, 2u, 3u};
  uint64_t before = be->counters.launches;
  expect_ok(be->ops->fill(be, x, 1.0f, &err), &err);
  expect_ok(be->ops->copy(be, x, y, &err), &err);
  expect_ok(be->ops->gemm(be, false, false, 1.0f, x, w, 0.0f, y, &err), &err);
  expect_ok(be->ops->gemm(be, false, true, 1.0f, x, w, 0.0f, y, &err), &err);
  expect_ok(be->ops->gemm(be, true, false, 1.0f, x, y, 0.0f, w, &err), &err);
  expect_ok(be->ops->bias_act_forward(be, CLGAN_ACT_TANH, 0.0f, bias, x, y, &err), &err);
  expect_ok(be->ops->act_backward(be, CLGAN_ACT_TANH, 0.0f, x, y, y, y, bias, 0.0f, &err), &err);
  expect_ok(be->ops->mbd_forward(be, s, x, o, &err), &err);
  expect_ok(be->ops->mbd_backward(be, s, x, o, y, &err), &err);
  expect_ok(be->ops->bce_logits(be, col, 1.0f, 0.02f, col2, buf, 4000, &err), &err);
  expect_ok(be->ops->adam_update(be, step, flat, flat2, flat3, flat4, &err), &err);
  expect_ok(be->ops->sgd_update(be, 0.01f, 0.9f, flat, flat2, flat3, &err), &err);
  expect_ok(be->ops->noise(be, np, key, x, &err), &err);
  expect_ok(be->ops->gather_shuffled(be, x, key, 10, clgan_view_full(buf, 2000, 20, 8), &err),
            &err);
  assert_int_equal(be->counters.launches - before, 14);
  uint64_t transfers = be->counters.transfers;
  float host[8];
  expect_ok(be->ops->read(be, buf, 0, 8, host, &err), &err);
  expect_ok(be->ops->write(be, buf, 8, 8, host, &err), &err);
  assert_int_equal(be->counters.transfers - transfers, 2);
  be->ops->buffer_destroy(be, buf);
}

/* Thousands of ops with no read in between (a training run between two
 * loss reads): the backend's queue throttle must keep them in order. */
static void test_long_queue(void **state) {
  (void)state;
  clgan_error err = {0};
  clgan_buffer *buf = test_upload(g_cl, NULL, 64);
  clgan_view acc = clgan_view_full(buf, 0, 1, 8), one = clgan_view_full(buf, 8, 1, 8);
  expect_ok(g_cl->ops->fill(g_cl, one, 1.0f, &err), &err);
  /* acc += 1 by sgd with lr -1: velocity = 0·velocity + 1, params -= -1·1. */
  clgan_view vel = clgan_view_full(buf, 16, 1, 8);
  for (int i = 0; i < 3000; ++i)
    expect_ok(g_cl->ops->sgd_update(g_cl, -1.0f, 0.0f, acc, one, vel, &err), &err);
  float *host = test_download(g_cl, buf, 64);
  for (int c = 0; c < 8; ++c)
    assert_true(host[c] == 3000.0f);
  free(host);
  g_cl->ops->buffer_destroy(g_cl, buf);
}

static void expect_runtime_error(clgan_status st, const clgan_error *err, const char *needle) {
  assert_int_equal(st, CLGAN_E_RUNTIME);
  if (!strstr(err->message, needle))
    fail_msg("error message \"%s\" lacks \"%s\"", err->message, needle);
}

static void test_shape_errors(void **state) {
  (void)state;
  clgan_error err = {0};
  clgan_backend *be = g_cl;
  clgan_buffer *buf = test_upload(be, NULL, 100);
  uint64_t before = be->counters.launches;
  /* Inner dimensions 4 vs 5. */
  expect_runtime_error(be->ops->gemm(be, false, false, 1.0f, clgan_view_full(buf, 0, 3, 4),
                                     clgan_view_full(buf, 0, 5, 2), 0.0f,
                                     clgan_view_full(buf, 0, 3, 2), &err),
                       &err, "op(A) is 3x4");
  /* A view that runs past the end of its buffer. */
  expect_runtime_error(be->ops->fill(be, clgan_view_full(buf, 90, 3, 4), 0.0f, &err), &err,
                       "does not fit");
  clgan_view ld_small = {buf, 0, 2, 4, 3};
  expect_runtime_error(be->ops->copy(be, ld_small, ld_small, &err), &err, "ld 3");
  clgan_mbd_shape s = {3, 2, true, false};
  expect_runtime_error(be->ops->mbd_forward(be, s, clgan_view_full(buf, 0, 4, 5),
                                            clgan_view_full(buf, 50, 4, 3), &err),
                       &err, "K*C");
  expect_runtime_error(be->ops->gather_shuffled(be, clgan_view_full(buf, 0, 10, 2),
                                                (clgan_rng_key){1u, 0u, 0u}, 8,
                                                clgan_view_full(buf, 50, 4, 2), &err),
                       &err, "rows [8, 12)");
  expect_runtime_error(be->ops->read(be, buf, 98, 4, (float[4]){0}, &err), &err, "outside");
  /* Refused ops enqueue nothing. */
  assert_int_equal(be->counters.launches, before);
  be->ops->buffer_destroy(be, buf);
}

static void test_zero_rows(void **state) {
  (void)state;
  clgan_error err = {0};
  clgan_backend *be = g_cl;
  clgan_buffer *buf = test_upload(be, NULL, 16);
  clgan_view e = clgan_view_full(buf, 0, 0, 4), e1 = clgan_view_full(buf, 0, 0, 1);
  clgan_mbd_shape s = {2, 2, true, true};
  uint64_t before = be->counters.launches;
  expect_ok(be->ops->fill(be, e, 1.0f, &err), &err);
  expect_ok(be->ops->copy(be, e, e, &err), &err);
  expect_ok(be->ops->gemm(be, false, false, 1.0f, e, clgan_view_full(buf, 0, 4, 4), 0.0f, e, &err),
            &err);
  expect_ok(be->ops->bias_act_forward(be, CLGAN_ACT_RELU, 0.0f, clgan_view_full(buf, 0, 1, 4), e, e,
                                      &err),
            &err);
  expect_ok(be->ops->mbd_forward(be, s, e, clgan_view_full(buf, 0, 0, 2), &err), &err);
  expect_ok(be->ops->mbd_backward(be, s, e, clgan_view_full(buf, 0, 0, 2), e, &err), &err);
  expect_ok(be->ops->sgd_update(be, 0.1f, 0.9f, e1, e1, e1, &err), &err);
  assert_int_equal(be->counters.launches, before);
  float *host = test_download(be, buf, 16);
  for (int i = 0; i < 16; ++i)
    assert_true(host[i] == 0.0f);
  free(host);
  be->ops->buffer_destroy(be, buf);
}

static void print_stats(void) {
  for (size_t i = 0; i < g_n_stats; ++i)
    fprintf(stderr, "# worst %-28s |diff| %-10.3g diff/tolerance %-8.3g (%zu values)\n",
            g_stats[i].op, g_stats[i].max_abs, g_stats[i].max_ratio, g_stats[i].compared);
}

int main(void) {
  g_cl = test_opencl_backend_or_skip();
  if (!g_cl)
    return 0; /* the skip plan is printed */
  g_ref = test_ref_backend();
  const char *cap = getenv("CLGAN_TEST_MAX_MBD_BATCH");
  if (cap && *cap)
    g_max_mbd_batch = (size_t)strtoull(cap, NULL, 10);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fill),
      cmocka_unit_test(test_copy),
      cmocka_unit_test(test_gemm),
      cmocka_unit_test(test_gemm_empty_inner),
      cmocka_unit_test(test_bias_act_forward),
      cmocka_unit_test(test_act_backward),
      cmocka_unit_test(test_act_backward_zero_rows),
      cmocka_unit_test(test_mbd),
      cmocka_unit_test(test_mbd_finite_difference),
      cmocka_unit_test(test_bce_logits),
      cmocka_unit_test(test_adam),
      cmocka_unit_test(test_sgd),
      cmocka_unit_test(test_noise),
      cmocka_unit_test(test_gather_shuffled),
      cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_launch_counts),
      cmocka_unit_test(test_long_queue),
      cmocka_unit_test(test_shape_errors),
      cmocka_unit_test(test_zero_rows),
  };
  int failed = cmocka_run_group_tests_name("kernels", tests, NULL, NULL);
  print_stats();
  g_cl->ops->destroy(g_cl);
  g_ref->ops->destroy(g_ref);
  return failed;
}
