/* The conformance check (clgan/check.h) judged on backends whose answers
 * are known: the ref backend against itself passes every case with zero
 * error; a ref backend with one op deliberately broken (a wrong value, a
 * NaN, a write past its view, a scribbled input, a non-permutation, an
 * error) fails exactly that op's rows, for the right reason; and the
 * OpenCL device, where one exists, passes every case. The broken backends
 * need no device, so most of this suite runs everywhere.
 *
 * CLGAN_TEST_MAX_MBD_BATCH=N leaves out the device check's MBD cases with
 * more than N rows, as for test_kernels under a simulator. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clgan/check.h"
#include "clgan/opencl.h"
#include "test_util.h"

/* ---- a ref backend with one broken op ---- */

typedef enum fault {
  FAULT_MBD_VALUE,   /* mbd_forward: o(0,0) off by 1 */
  FAULT_TANH_NAN,    /* bias_act_forward(tanh): y(0,0) = NaN */
  FAULT_FILL_CANARY, /* fill: also writes the float after the view */
  FAULT_GEMM_INPUT,  /* gemm: changes A(0,0) after using it */
  FAULT_GATHER_ROW0, /* gather_shuffled: every output row is data row 0 */
  FAULT_NOISE_ERROR, /* noise: returns an error */
} fault;

static clgan_backend_ops g_faulty_ops; /* the ref table with one entry replaced */
static const clgan_backend_ops *g_ref_ops;

static clgan_status put(clgan_backend *be, clgan_view v, size_t r, size_t c, float value) {
  clgan_error err = {0};
  return g_ref_ops->write(be, v.buf, v.offset + r * v.ld + c, 1, &value, &err);
}

static float get(clgan_backend *be, clgan_view v, size_t r, size_t c) {
  clgan_error err = {0};
  float value = 0.0f;
  g_ref_ops->read(be, v.buf, v.offset + r * v.ld + c, 1, &value, &err);
  return value;
}

static clgan_status bad_mbd_forward(clgan_backend *be, clgan_mbd_shape s, clgan_view m,
                                    clgan_view o, clgan_error *err) {
  CLGAN_TRY(g_ref_ops->mbd_forward(be, s, m, o, err));
  return put(be, o, 0, 0, get(be, o, 0, 0) + 1.0f);
}

static clgan_status bad_bias_act(clgan_backend *be, clgan_activation act, float slope,
                                 clgan_view bias, clgan_view z, clgan_view y, clgan_error *err) {
  CLGAN_TRY(g_ref_ops->bias_act_forward(be, act, slope, bias, z, y, err));
  return act == CLGAN_ACT_TANH && y.rows ? put(be, y, 0, 0, NAN) : CLGAN_OK;
}

static clgan_status bad_fill(clgan_backend *be, clgan_view dst, float value, clgan_error *err) {
  CLGAN_TRY(g_ref_ops->fill(be, dst, value, err));
  /* Every check buffer has 4 spare floats after its last row. */
  return dst.rows ? put(be, dst, dst.rows - 1, dst.cols, value) : CLGAN_OK;
}

static clgan_status bad_gemm(clgan_backend *be, bool ta, bool tb, float alpha, clgan_view a,
                             clgan_view b, float beta, clgan_view c, clgan_error *err) {
  CLGAN_TRY(g_ref_ops->gemm(be, ta, tb, alpha, a, b, beta, c, err));
  return a.rows && a.cols ? put(be, a, 0, 0, get(be, a, 0, 0) + 1.0f) : CLGAN_OK;
}

static clgan_status bad_gather(clgan_backend *be, clgan_view data, clgan_rng_key key, size_t first,
                               clgan_view out, clgan_error *err) {
  (void)key;
  (void)first;
  for (size_t r = 0; r < out.rows; ++r)
    CLGAN_TRY(g_ref_ops->copy(be, clgan_view_sub(data, 0, 1, 0, data.cols),
                              clgan_view_sub(out, r, 1, 0, out.cols), err));
  return CLGAN_OK;
}

static clgan_status bad_noise(clgan_backend *be, clgan_noise_params p, clgan_rng_key key,
                              clgan_view out, clgan_error *err) {
  (void)be;
  (void)p;
  (void)key;
  (void)out;
  return clgan_fail(err, CLGAN_E_RUNTIME, "injected failure");
}

static clgan_backend *faulty_backend(fault f) {
  clgan_backend *be = test_ref_backend();
  g_ref_ops = be->ops;
  g_faulty_ops = *be->ops;
  switch (f) {
  case FAULT_MBD_VALUE:
    g_faulty_ops.mbd_forward = bad_mbd_forward;
    break;
  case FAULT_TANH_NAN:
    g_faulty_ops.bias_act_forward = bad_bias_act;
    break;
  case FAULT_FILL_CANARY:
    g_faulty_ops.fill = bad_fill;
    break;
  case FAULT_GEMM_INPUT:
    g_faulty_ops.gemm = bad_gemm;
    break;
  case FAULT_GATHER_ROW0:
    g_faulty_ops.gather_shuffled = bad_gather;
    break;
  case FAULT_NOISE_ERROR:
    g_faulty_ops.noise = bad_noise;
    break;
  }
  be->ops = &g_faulty_ops;
  return be;
}

/* ---- helpers ---- */

static clgan_check_report run_quick(clgan_backend *dev, clgan_status want_status) {
  clgan_backend *ref = test_ref_backend();
  clgan_check_options opts = {.quick = true};
  clgan_check_report rep;
  clgan_error err = {0};
  clgan_status st = clgan_check_run(dev, ref, &opts, &rep, &err);
  if (st != want_status)
    fail_msg("clgan_check_run returned %d (%s), want %d", (int)st, err.message, (int)want_status);
  ref->ops->destroy(ref);
  return rep;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void print_failures(const clgan_check_report *rep) {
  for (size_t i = 0; i < rep->n; ++i)
    if (!rep->results[i].passed)
      fprintf(stderr, "# FAIL %s %s: %s\n", rep->results[i].op, rep->results[i].shape,
              rep->results[i].note);
}

/* ---- tests ---- */

static void test_ref_against_itself(void **state) {
  (void)state;
  clgan_backend *dev = test_ref_backend();
  clgan_check_report rep = run_quick(dev, CLGAN_OK);
  print_failures(&rep);
  assert_true(rep.n > 200);
  assert_int_equal(rep.n_passed, rep.n);
  for (size_t i = 0; i < rep.n; ++i) {
    const clgan_check_result *r = &rep.results[i];
    assert_true(r->values > 0);
    assert_true(r->max_abs_err == 0.0 && r->max_rel_err == 0.0 && r->worst_ratio == 0.0);
    assert_string_equal(r->note, "");
  }
  clgan_check_report_free(&rep);
  dev->ops->destroy(dev);
}

/* Every row of op (and those matching is_target) fails, every other row
 * passes. Returns the number of failed rows. */
static size_t expect_failures(const clgan_check_report *rep,
                              int (*is_target)(const clgan_check_result *)) {
  size_t failed = 0;
  for (size_t i = 0; i < rep->n; ++i) {
    const clgan_check_result *r = &rep->results[i];
    int target = is_target(r);
    if (target == r->passed)
      fail_msg("%s %s: passed=%d, expected %s (%s)", r->op, r->shape, r->passed,
               target ? "a failure" : "a pass", r->note);
    failed += !r->passed;
  }
  return failed;
}

static int is_mbd_forward(const clgan_check_result *r) {
  return !strcmp(r->op, "mbd_forward");
}

static void test_wrong_value_fails(void **state) {
  (void)state;
  clgan_backend *dev = faulty_backend(FAULT_MBD_VALUE);
  clgan_check_report rep = run_quick(dev, CLGAN_OK);
  assert_true(expect_failures(&rep, is_mbd_forward) > 20);
  for (size_t i = 0; i < rep.n; ++i)
    if (is_mbd_forward(&rep.results[i])) {
      assert_int_equal(rep.results[i].over_tol, 1);
      assert_true(rep.results[i].max_abs_err >= 0.99);
      assert_non_null(strstr(rep.results[i].note, "over tol"));
    }
  clgan_check_report_free(&rep);
  dev->ops->destroy(dev);
}

static int is_tanh_y(const clgan_check_result *r) {
  return !strcmp(r->op, "bias_act_forward") && !strncmp(r->shape, "tanh ", 5) &&
         !ends_with(r->shape, "(z)");
}

static void test_nan_fails(void **state) {
  (void)state;
  clgan_backend *dev = faulty_backend(FAULT_TANH_NAN);
  clgan_check_report rep = run_quick(dev, CLGAN_OK);
  assert_int_equal(expect_failures(&rep, is_tanh_y), 5);
  for (size_t i = 0; i < rep.n; ++i)
    if (is_tanh_y(&rep.results[i])) {
      assert_int_equal(rep.results[i].nonfinite, 1);
      assert_non_null(strstr(rep.results[i].note, "NaN/Inf"));
    }
  clgan_check_report_free(&rep);
  dev->ops->destroy(dev);
}

static int is_fill(const clgan_check_result *r) {
  return !strcmp(r->op, "fill");
}

static void test_canary_fails(void **state) {
  (void)state;
  clgan_backend *dev = faulty_backend(FAULT_FILL_CANARY);
  clgan_check_report rep = run_quick(dev, CLGAN_OK);
  assert_int_equal(expect_failures(&rep, is_fill), 5);
  for (size_t i = 0; i < rep.n; ++i)
    if (is_fill(&rep.results[i])) {
      assert_int_equal(rep.results[i].canary, 1);
      assert_int_equal(rep.results[i].over_tol, 0); /* the view itself is right */
    }
  clgan_check_report_free(&rep);
  dev->ops->destroy(dev);
}

static int is_gemm_with_inner(const clgan_check_result *r) {
  return !strcmp(r->op, "gemm") && !strstr(r->shape, "k=0");
}

static void test_changed_input_fails(void **state) {
  (void)state;
  clgan_backend *dev = faulty_backend(FAULT_GEMM_INPUT);
  clgan_check_report rep = run_quick(dev, CLGAN_OK);
  assert_true(expect_failures(&rep, is_gemm_with_inner) >= 15);
  for (size_t i = 0; i < rep.n; ++i)
    if (is_gemm_with_inner(&rep.results[i]))
      assert_int_equal(rep.results[i].input_changed, 1);
  clgan_check_report_free(&rep);
  dev->ops->destroy(dev);
}

/* With one data row, row 0 every time is the right answer. */
static int is_gather_of_several(const clgan_check_result *r) {
  return !strcmp(r->op, "gather_shuffled") && strncmp(r->shape, "N=1 ", 4) != 0;
}

static void test_non_permutation_fails(void **state) {
  (void)state;
  clgan_backend *dev = faulty_backend(FAULT_GATHER_ROW0);
  clgan_check_report rep = run_quick(dev, CLGAN_OK);
  assert_int_equal(expect_failures(&rep, is_gather_of_several), 5);
  for (size_t i = 0; i < rep.n; ++i)
    if (is_gather_of_several(&rep.results[i])) {
      assert_true(rep.results[i].other > 0);
      assert_non_null(strstr(rep.results[i].note, "not a permutation"));
    }
  clgan_check_report_free(&rep);
  dev->ops->destroy(dev);
}

static void test_op_error_stops_the_check(void **state) {
  (void)state;
  clgan_backend *dev = faulty_backend(FAULT_NOISE_ERROR);
  clgan_backend *ref = test_ref_backend();
  clgan_check_options opts = {.quick = true};
  clgan_check_report rep;
  clgan_error err = {0};
  assert_int_equal(clgan_check_run(dev, ref, &opts, &rep, &err), CLGAN_E_RUNTIME);
  /* The message names the case and keeps the backend's reason. */
  assert_non_null(strstr(err.message, "noise stratified B=1"));
  assert_non_null(strstr(err.message, "injected failure"));
  assert_true(rep.n > 0);
  assert_int_equal(rep.n_passed, rep.n); /* the results before it stand */
  clgan_check_report_free(&rep);
  ref->ops->destroy(ref);
  dev->ops->destroy(dev);
}

static void test_tolerance_rules(void **state) {
  (void)state;
  /* The mixed bound, and non-finite pairs. */
  clgan_tol t = {1e-6, 1e-5};
  assert_true(clgan_tol_holds(t, 1.0, 1.0 + 1.0e-5));
  assert_false(clgan_tol_holds(t, 1.0, 1.0 + 1.2e-5));
  assert_true(clgan_tol_holds(t, 0.0, 9e-7));
  assert_true(clgan_tol_holds(t, NAN, NAN));
  assert_true(clgan_tol_holds(t, INFINITY, INFINITY));
  assert_false(clgan_tol_holds(t, INFINITY, -INFINITY));
  assert_false(clgan_tol_holds(t, NAN, 0.0));
  assert_false(clgan_tol_holds(clgan_tol_exact(), 1.0f, nextafterf(1.0f, 2.0f)));
  /* Summation bounds grow with the number of terms... */
  assert_true(clgan_tol_gemm(513, 1, 1, 1, 0, 0).atol > 50 * clgan_tol_gemm(9, 1, 1, 1, 0, 0).atol);
  clgan_mbd_shape sum = {5, 3, true, false}, mean = {5, 3, true, true};
  assert_true(clgan_tol_mbd_forward(sum, 513, 0.5).atol > clgan_tol_mbd_forward(sum, 50, 0.5).atol);
  /* ...and a mean is bounded like its terms, 1/B of the sum's bound. */
  assert_float_equal(clgan_tol_mbd_forward(mean, 50, 0.5).atol * 50,
                     clgan_tol_mbd_forward(sum, 50, 0.5).atol, 1e-12);
  char buf[32];
  clgan_tol_format(clgan_tol_exact(), buf, sizeof buf);
  assert_string_equal(buf, "exact");
  clgan_tol_format(clgan_tol_activation(), buf, sizeof buf);
  assert_string_equal(buf, "a=2.0e-06 r=1e-05");
}

/* ---- the real device ---- */

static clgan_backend *g_cl;

static void test_device_passes(void **state) {
  (void)state;
  const char *cap = getenv("CLGAN_TEST_MAX_MBD_BATCH");
  clgan_backend *ref = test_ref_backend();
  clgan_check_options opts = {0};
  if (cap && *cap)
    opts.max_mbd_batch = (size_t)strtoull(cap, NULL, 10);
  clgan_check_report rep;
  clgan_error err = {0};
  clgan_status st = clgan_check_run(g_cl, ref, &opts, &rep, &err);
  if (st != CLGAN_OK)
    fail_msg("%s", err.message);
  print_failures(&rep);
  fprintf(stderr, "# %zu of %zu checks passed on %s\n", rep.n_passed, rep.n, g_cl->device_name);
  assert_int_equal(rep.n_passed, rep.n);
  clgan_check_report_free(&rep);
  ref->ops->destroy(ref);
}

/* The default device (or CLGAN_DEVICE), or NULL when there is none: the
 * device test is then left out and the others still run. */
static clgan_backend *open_device(void) {
  clgan_error err = {0};
  clgan_cl_inventory inv = {0};
  clgan_backend *be = NULL;
  if (clgan_cl_inventory_load(&inv, &err) != CLGAN_OK || inv.n_devices == 0) {
    clgan_cl_inventory_free(&inv);
    return NULL;
  }
  size_t index = 0;
  int chose_default = 0;
  if (clgan_cl_select(&inv, getenv("CLGAN_DEVICE"), "CLGAN_DEVICE", &index, &chose_default, &err) !=
          CLGAN_OK ||
      clgan_backend_opencl_create(&inv.devices[index], &be, &err) != CLGAN_OK) {
    fprintf(stderr, "test setup failed: %s\n", err.message);
    exit(99); /* meson: hard error, not a test failure */
  }
  fprintf(stderr, "# device: %s\n", be->device_name);
  clgan_cl_inventory_free(&inv);
  return be;
}

int main(void) {
  g_cl = open_device();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tolerance_rules),       cmocka_unit_test(test_ref_against_itself),
      cmocka_unit_test(test_wrong_value_fails),     cmocka_unit_test(test_nan_fails),
      cmocka_unit_test(test_canary_fails),          cmocka_unit_test(test_changed_input_fails),
      cmocka_unit_test(test_non_permutation_fails), cmocka_unit_test(test_op_error_stops_the_check),
      cmocka_unit_test(test_device_passes), /* last: left out without a device */
  };
  size_t n_tests = sizeof tests / sizeof tests[0];
  if (!g_cl) {
    /* Not cmocka's skip(): its TAP output is "not ok # SKIP", which meson
     * counts as a failure. */
    printf("# no OpenCL device: test_device_passes left out\n");
    n_tests--;
  }
  int failed = _cmocka_run_group_tests("check", tests, n_tests, NULL, NULL);
  if (g_cl)
    g_cl->ops->destroy(g_cl);
  return failed;
}
