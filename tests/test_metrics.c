/* Metrics against known values and exact-quantile samples, and the report
 * writers (JSON, CSV, Markdown, PNG) on a fake two-run result. CPU only. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <plplot.h>

#include "clgan/metrics.h"
#include "clgan/report.h"

#define TARGET_MEAN 4.0
#define TARGET_STD 0.5
#define N_QUANTILE 10000
#define PI 3.14159265358979323846

/* ---- helpers --------------------------------------------------------------- */

/* The n plotting-position quantiles of N(mean, std²): the "perfect" sample,
 * whose metrics are known in closed form. */
static float *quantile_sample(size_t n, double mean, double std) {
  float *x = malloc(n * sizeof *x);
  assert_non_null(x);
  for (size_t i = 0; i < n; i++)
    x[i] = (float)(mean + std * clgan_normal_quantile(((double)i + 0.5) / (double)n));
  return x;
}

static clgan_metrics compute_ok(const float *x, size_t n) {
  clgan_metrics m;
  clgan_error err = {0};
  clgan_status st = clgan_metrics_compute(x, n, TARGET_MEAN, TARGET_STD, -8.0, 8.0, 99, &m, &err);
  if (st != CLGAN_OK)
    fail_msg("metrics failed: %s", err.message);
  return m;
}

static void assert_close(double got, double want, double tol) {
  if (!(fabs(got - want) <= tol))
    fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tol);
}

/* ---- Φ and Φ⁻¹ ------------------------------------------------------------- */

static void test_cdf_known_values(void **state) {
  (void)state;
  assert_close(clgan_normal_cdf(0.0), 0.5, 1e-16);
  assert_close(clgan_normal_cdf(1.96), 0.9750021048517795, 1e-15);
  assert_close(clgan_normal_cdf(-1.96), 1.0 - 0.9750021048517795, 1e-15);
  /* Lower tail keeps relative precision (no 1 + erf cancellation). */
  double t = clgan_normal_cdf(-8.0);
  assert_close(t / 6.220960574271785e-16, 1.0, 1e-13);
}

static void test_quantile_known_values(void **state) {
  (void)state;
  assert_close(clgan_normal_quantile(0.5), 0.0, 1e-16);
  assert_close(clgan_normal_quantile(0.975), 1.959963984540054, 1e-14);
  assert_close(clgan_normal_quantile(0.025), -1.959963984540054, 1e-14);
  assert_close(clgan_normal_quantile(1e-10), -6.361340902404056, 1e-13);
  /* 1 - 1e-10 is not representable; the symmetric value is within the
   * quantile's sensitivity to that rounding (~1e-16 / φ(6.36) ≈ 1e-7). */
  assert_close(clgan_normal_quantile(1.0 - 1e-10), 6.361340902404056, 1e-6);
  assert_true(isinf(clgan_normal_quantile(0.0)) && clgan_normal_quantile(0.0) < 0);
  assert_true(isinf(clgan_normal_quantile(1.0)) && clgan_normal_quantile(1.0) > 0);
  assert_true(isnan(clgan_normal_quantile(-0.1)));
  assert_true(isnan(clgan_normal_quantile(NAN)));
}

static void test_quantile_round_trip(void **state) {
  (void)state;
  for (int i = 1; i < 1000; i++) {
    double p = i / 1000.0;
    double x = clgan_normal_quantile(p);
    assert_close(clgan_normal_cdf(x) / p, 1.0, 1e-13);
  }
  for (int e = -300; e <= -2; e += 7) {
    double p = pow(10.0, e);
    double x = clgan_normal_quantile(p);
    /* Conditioning: Φ's relative error grows like |x|² · ulp. */
    assert_close(clgan_normal_cdf(x) / p, 1.0, 1e-11);
  }
  /* Dyadic p: 1 - p is exact, so the two halves mirror each other. */
  for (int i = 1; i < 1024; i++) {
    double p = i / 1024.0;
    assert_close(clgan_normal_quantile(1.0 - p), -clgan_normal_quantile(p), 0.0);
  }
  /* Above 0, Φ(x) rounds to a multiple of 2^-53 near 1, which moves the
   * quantile by up to ulp(1)/φ(x); allow for exactly that. */
  for (double x = -5.0; x <= 5.0; x += 0.25) {
    double phi = exp(-0.5 * x * x) / sqrt(2.0 * PI);
    double tol = 1e-12 + (x > 0 ? 2.3e-16 / phi : 0.0);
    assert_close(clgan_normal_quantile(clgan_normal_cdf(x)), x, tol);
  }
}

/* ---- W1, KS, JS, std ratio --------------------------------------------------- */

static void test_w1_of_exact_quantiles_is_zero(void **state) {
  (void)state;
  float *x = quantile_sample(N_QUANTILE, TARGET_MEAN, TARGET_STD);
  clgan_metrics m = compute_ok(x, N_QUANTILE);
  assert_close(m.w1, 0.0, 1e-6); /* float rounding of the samples only */
  assert_close(m.mean, TARGET_MEAN, 1e-6);
  assert_close(m.std_ratio, 1.0, 1e-3);
  assert_true(m.ks < 1.0 / N_QUANTILE + 1e-6);
  free(x);
}

static void test_w1_of_shift(void **state) {
  (void)state;
  const double delta = 0.3;
  float *x = quantile_sample(N_QUANTILE, TARGET_MEAN + delta, TARGET_STD);
  clgan_metrics m = compute_ok(x, N_QUANTILE);
  assert_close(m.w1, delta, 1e-5);
  assert_close(m.mean, TARGET_MEAN + delta, 1e-5);
  free(x);
}

static void test_w1_of_scale(void **state) {
  (void)state;
  const double sigma2 = 0.2;
  float *x = quantile_sample(N_QUANTILE, TARGET_MEAN, sigma2);
  clgan_metrics m = compute_ok(x, N_QUANTILE);
  /* W1 = |σ1 - σ2|·E|Z| for two normals with the same mean. */
  assert_close(m.w1, fabs(TARGET_STD - sigma2) * sqrt(2.0 / PI), 1e-3);
  assert_close(m.std_ratio, sigma2 / TARGET_STD, 2e-3);
  free(x);
}

static void test_ks_of_point_mass(void **state) {
  (void)state;
  float x[1000];
  for (size_t i = 0; i < 1000; i++)
    x[i] = (float)TARGET_MEAN;
  clgan_metrics m = compute_ok(x, 1000);
  assert_close(m.ks, 0.5, 1e-12);
  assert_close(m.std, 0.0, 0.0);
  assert_close(m.std_ratio, 0.0, 0.0);
}

static void test_js(void **state) {
  (void)state;
  float *good = quantile_sample(N_QUANTILE, TARGET_MEAN, TARGET_STD);
  float *shifted = quantile_sample(N_QUANTILE, TARGET_MEAN - 3.0, TARGET_STD);
  clgan_metrics g = compute_ok(good, N_QUANTILE);
  clgan_metrics s = compute_ok(shifted, N_QUANTILE);
  assert_true(g.js >= 0.0 && g.js < 0.01);
  assert_true(s.js > 0.5 && s.js <= log(2.0) + 1e-12);
  free(good);
  free(shifted);
}

static void test_js_with_no_sample_in_range(void **state) {
  (void)state;
  float x[10] = {100, 101, 102, 103, 104, 105, 106, 107, 108, 109};
  clgan_metrics m = compute_ok(x, 10);
  assert_close(m.js, log(2.0), 1e-15);
}

/* ---- densities --------------------------------------------------------------- */

static void test_histogram_density_integrates_to_in_range_fraction(void **state) {
  (void)state;
  enum { N = 1000, BINS = 20 };
  float x[N];
  for (size_t i = 0; i < N; i++)
    x[i] = (float)(-2.0 + 4.0 * (double)i / N); /* [-2, 2) */
  x[0] = NAN;                                   /* counts in n, not in range */
  double d[BINS], c[BINS];
  clgan_histogram_density(x, N, -1.0, 1.0, BINS, d);
  clgan_bin_centres(-1.0, 1.0, BINS, c);
  double width = 2.0 / BINS, integral = 0.0;
  for (size_t k = 0; k < BINS; k++)
    integral += d[k] * width;
  size_t in_range = 0;
  for (size_t i = 0; i < N; i++)
    in_range += x[i] >= -1.0f && x[i] <= 1.0f;
  assert_close(integral, (double)in_range / N, 1e-12);
  assert_close(c[0], -0.95, 1e-12);
  assert_close(c[BINS - 1], 0.95, 1e-12);
}

static void test_normal_bin_density_integrates_to_one(void **state) {
  (void)state;
  enum { BINS = 400 };
  double d[BINS];
  clgan_normal_bin_density(TARGET_MEAN, TARGET_STD, -8.0, 8.0, BINS, d);
  double integral = 0.0, width = 16.0 / BINS;
  for (size_t k = 0; k < BINS; k++)
    integral += d[k] * width;
  assert_close(integral, 1.0, 1e-12);
  /* The peak bin's density approaches φ(0)/σ. */
  double peak = 0.0;
  for (size_t k = 0; k < BINS; k++)
    peak = fmax(peak, d[k]);
  assert_close(peak, 1.0 / (TARGET_STD * sqrt(2.0 * PI)), 2e-3);
}

/* ---- error cases --------------------------------------------------------------- */

static void expect_error(clgan_status want, const float *x, size_t n, double mean, double std,
                         double lo, double hi, size_t bins, const char *needle) {
  clgan_metrics m;
  clgan_error err = {0};
  clgan_status st = clgan_metrics_compute(x, n, mean, std, lo, hi, bins, &m, &err);
  assert_int_equal(st, want);
  assert_int_equal(err.status, want);
  if (!strstr(err.message, needle))
    fail_msg("message '%s' lacks '%s'", err.message, needle);
}

static void test_errors(void **state) {
  (void)state;
  float x[5] = {1, 2, 3, 4, 5};
  expect_error(CLGAN_E_INPUT, x, 1, 4.0, 0.5, -8, 8, 99, "at least 2");
  expect_error(CLGAN_E_INPUT, x, 5, 4.0, 0.0, -8, 8, 99, "std > 0");
  expect_error(CLGAN_E_INPUT, x, 5, 4.0, -1.0, -8, 8, 99, "std > 0");
  expect_error(CLGAN_E_INPUT, x, 5, 4.0, 0.5, 8, 8, 99, "range");
  expect_error(CLGAN_E_INPUT, x, 5, 4.0, 0.5, -8, 8, 0, "bin");
  float bad[5] = {1, NAN, 3, INFINITY, NAN};
  /* Non-finite samples mean the training diverged: a runtime failure. */
  expect_error(CLGAN_E_RUNTIME, bad, 5, 4.0, 0.5, -8, 8, 99, "3 of 5");
  expect_error(CLGAN_E_RUNTIME, bad, 5, 4.0, 0.5, -8, 8, 99, "index 1");
}

/* ---- report files and figures ------------------------------------------------ */

#define FAKE_BINS 99

typedef struct fake_runs {
  clgan_config cfg[2];
  clgan_run_result run[2];
  double centres[FAKE_BINS], real[FAKE_BINS], gen[2][FAKE_BINS], d[2][FAKE_BINS];
  char dir[256];
} fake_runs;

/* Filled by hand so these tests do not depend on the config module. */
static void fake_config(clgan_config *cfg, const char *name, int mbd) {
  memset(cfg, 0, sizeof *cfg);
  snprintf(cfg->name, sizeof cfg->name, "%s", name);
  cfg->data.mean = (float)TARGET_MEAN;
  cfg->data.std = (float)TARGET_STD;
  cfg->eval.range_min = -8.0f;
  cfg->eval.range_max = 8.0f;
  cfg->eval.bins = FAKE_BINS;
  cfg->discriminator.n_layers = 3;
  for (size_t i = 0; i < 3; i++) {
    cfg->discriminator.layers[i].kind = CLGAN_LAYER_DENSE;
    cfg->discriminator.layers[i].units = 8;
  }
  if (mbd)
    cfg->discriminator.layers[1].kind = CLGAN_LAYER_MINIBATCH;
}

/* Run 0: a collapsed generator (narrow spike off the mean); run 1: close
 * to the target. D(x) is a smooth bump near the data. */
static void fake_run(fake_runs *f, int i) {
  clgan_run_result *r = &f->run[i];
  memset(r, 0, sizeof *r);
  r->cfg = &f->cfg[i];
  snprintf(r->backend_name, sizeof r->backend_name, "ref");
  snprintf(r->device_name, sizeof r->device_name, "CPU \"reference\"\tbackend");
  r->steps = 100000;
  r->train_wall_s = 12.5;
  r->steps_per_s = 8000.0;
  r->eval_samples = 10000;
  r->eval_batch = 50;
  r->n_bins = FAKE_BINS;
  r->bin_centres = f->centres;
  r->real_density = f->real;
  r->gen_density = f->gen[i];
  r->d_of_x = f->d[i];
  double gen_mean = i == 0 ? 3.6 : 4.05, gen_std = i == 0 ? 0.12 : 0.48;
  clgan_normal_bin_density(gen_mean, gen_std, -8.0, 8.0, FAKE_BINS, f->gen[i]);
  for (size_t k = 0; k < FAKE_BINS; k++)
    f->d[i][k] = 0.5 + 0.4 * exp(-pow(f->centres[k] - 4.0, 2) / (i == 0 ? 2.0 : 8.0));
  r->metrics = (clgan_metrics){.w1 = i == 0 ? 0.41 : 0.0123,
                               .ks = i == 0 ? 0.77 : 0.0456,
                               .js = i == 0 ? 0.52 : 0.004,
                               .mean = gen_mean,
                               .std = gen_std,
                               .std_ratio = gen_std / TARGET_STD};
  r->final_d_loss = 1.386f;
  r->final_g_loss = 0.693f;
}

static int setup_fake(void **state) {
  fake_runs *f = calloc(1, sizeof *f);
  if (!f)
    return -1;
  fake_config(&f->cfg[0], "seed_no_mbd", 0);
  fake_config(&f->cfg[1], "seed_mbd", 1);
  clgan_bin_centres(-8.0, 8.0, FAKE_BINS, f->centres);
  clgan_normal_bin_density(TARGET_MEAN, TARGET_STD, -8.0, 8.0, FAKE_BINS, f->real);
  fake_run(f, 0);
  fake_run(f, 1);
  const char *tmpdir = getenv("TMPDIR");
  snprintf(f->dir, sizeof f->dir, "%s/clgan_test_metrics_XXXXXX",
           tmpdir && *tmpdir ? tmpdir : "/tmp");
  if (!mkdtemp(f->dir)) {
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

static const char *const OUTPUTS[] = {"metrics.json", "densities.csv", "summary.md", "plot.png",
                                      "comparison.png"};

static void out_path(char *buf, size_t cap, const fake_runs *f, const char *name) {
  snprintf(buf, cap, "%s/%s", f->dir, name);
}

/* Set CLGAN_TEST_KEEP=1 to keep the files for a look at the figures. */
static int teardown_fake(void **state) {
  fake_runs *f = *state;
  if (!getenv("CLGAN_TEST_KEEP")) {
    char p[320];
    for (size_t i = 0; i < sizeof OUTPUTS / sizeof OUTPUTS[0]; i++) {
      out_path(p, sizeof p, f, OUTPUTS[i]);
      remove(p);
    }
    rmdir(f->dir);
  } else {
    fprintf(stderr, "# kept %s\n", f->dir);
  }
  free(f);
  return 0;
}

static char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return NULL;
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  size_t got = buf ? fread(buf, 1, (size_t)n, fp) : 0;
  fclose(fp);
  if (buf)
    buf[got] = '\0';
  *len = got;
  return buf;
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static void assert_ok(clgan_status st, const clgan_error *err) {
  if (st != CLGAN_OK)
    fail_msg("failed: %s", err->message);
}

static void test_report_files(void **state) {
  fake_runs *f = *state;
  char p[320], tmp[340];
  clgan_error err = {0};

  out_path(p, sizeof p, f, "metrics.json");
  assert_ok(clgan_write_metrics_json(p, &f->run[1], &err), &err);
  size_t len;
  char *json = slurp(p, &len);
  assert_non_null(json);
  const char *keys[] = {"\"name\": \"seed_mbd\"",
                        "\"mbd\": true",
                        "\"backend\": \"ref\"",
                        "\"device\": \"CPU \\\"reference\\\"\\tbackend\"",
                        "\"steps\": 100000",
                        "\"train_wall_s\"",
                        "\"steps_per_s\"",
                        "\"eval_samples\": 10000",
                        "\"eval_batch\": 50",
                        "\"target_mean\": 4",
                        "\"target_std\": 0.5",
                        "\"w1\": 0.0123",
                        "\"ks\": 0.0456",
                        "\"js\"",
                        "\"mean\"",
                        "\"std\"",
                        "\"std_ratio\"",
                        "\"final_d_loss\"",
                        "\"final_g_loss\""};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (!strstr(json, keys[i]))
      fail_msg("metrics.json lacks %s:\n%s", keys[i], json);
  free(json);
  snprintf(tmp, sizeof tmp, "%s.tmp", p);
  assert_false(exists(tmp));

  out_path(p, sizeof p, f, "densities.csv");
  assert_ok(clgan_write_densities_csv(p, &f->run[0], &err), &err);
  char *csv = slurp(p, &len);
  assert_non_null(csv);
  assert_true(strncmp(csv, "x,real_density,generated_density,d_of_x\n", 40) == 0);
  size_t lines = 0;
  for (size_t i = 0; i < len; i++)
    lines += csv[i] == '\n';
  assert_int_equal(lines, FAKE_BINS + 1);
  free(csv);

  out_path(p, sizeof p, f, "summary.md");
  assert_ok(clgan_write_summary_md(p, f->run, 2, &err), &err);
  char *md = slurp(p, &len);
  assert_non_null(md);
  assert_non_null(strstr(md, "| seed_no_mbd | no |"));
  assert_non_null(strstr(md, "| seed_mbd | yes | 0.0123 | 0.0456 |"));
  assert_non_null(strstr(md, "lower is better"));
  free(md);
}

static void test_json_of_diverged_run_uses_null(void **state) {
  fake_runs *f = *state;
  clgan_run_result r = f->run[0];
  r.metrics.w1 = NAN;
  r.final_g_loss = INFINITY;
  char p[320];
  clgan_error err = {0};
  out_path(p, sizeof p, f, "metrics.json");
  assert_ok(clgan_write_metrics_json(p, &r, &err), &err);
  size_t len;
  char *json = slurp(p, &len);
  assert_non_null(json);
  assert_non_null(strstr(json, "\"w1\": null"));
  assert_non_null(strstr(json, "\"final_g_loss\": null"));
  assert_null(strstr(json, "nan"));
  free(json);
}

static void assert_png(const char *path) {
  size_t len;
  char *png = slurp(path, &len);
  assert_non_null(png);
  assert_true(len > 1000);
  assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
  free(png);
}

static void test_figures(void **state) {
  fake_runs *f = *state;
  char p[320], tmp[340];
  clgan_error err = {0};
  PLINT before = -1, after = -2;
  plgstrm(&before);

  out_path(p, sizeof p, f, "plot.png");
  assert_ok(clgan_plot_run(p, &f->run[1], &err), &err);
  assert_png(p);
  snprintf(tmp, sizeof tmp, "%s.tmp", p);
  assert_false(exists(tmp));

  out_path(p, sizeof p, f, "comparison.png");
  assert_ok(clgan_plot_comparison(p, f->run, 2, &err), &err);
  assert_png(p);

  /* Each figure ends its own stream and restores the caller's. */
  plgstrm(&after);
  assert_int_equal(before, after);
}

static void test_figure_with_nan_densities(void **state) {
  fake_runs *f = *state;
  clgan_run_result r = f->run[0];
  double gen[FAKE_BINS];
  memcpy(gen, f->gen[0], sizeof gen);
  gen[10] = NAN;
  gen[50] = INFINITY;
  r.gen_density = gen;
  r.metrics.w1 = NAN;
  char p[320];
  clgan_error err = {0};
  out_path(p, sizeof p, f, "plot.png");
  assert_ok(clgan_plot_run(p, &r, &err), &err);
  assert_png(p);
}

static void test_write_to_missing_directory_fails(void **state) {
  fake_runs *f = *state;
  char dir[300], p[340], tmp[360];
  snprintf(dir, sizeof dir, "%s/no/such/dir", f->dir);
  clgan_error err = {0};
  for (size_t i = 0; i < sizeof OUTPUTS / sizeof OUTPUTS[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, OUTPUTS[i]);
    clgan_error_clear(&err);
    clgan_status st;
    if (i == 0)
      st = clgan_write_metrics_json(p, &f->run[0], &err);
    else if (i == 1)
      st = clgan_write_densities_csv(p, &f->run[0], &err);
    else if (i == 2)
      st = clgan_write_summary_md(p, f->run, 2, &err);
    else if (i == 3)
      st = clgan_plot_run(p, &f->run[0], &err);
    else
      st = clgan_plot_comparison(p, f->run, 2, &err);
    assert_int_equal(st, CLGAN_E_RUNTIME);
    if (!strstr(err.message, dir) || !strstr(err.message, "No such file"))
      fail_msg("%s: unhelpful message '%s'", OUTPUTS[i], err.message);
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    assert_false(exists(p));
    assert_false(exists(tmp));
  }
}

/* The rename fails when the target is a directory: the complete tmp file
 * must be removed, not left behind. */
static void test_failed_rename_leaves_no_tmp(void **state) {
  fake_runs *f = *state;
  char p[320], tmp[340];
  out_path(p, sizeof p, f, "summary.md");
  remove(p);
  assert_int_equal(mkdir(p, 0700), 0);
  clgan_error err = {0};
  assert_int_equal(clgan_write_summary_md(p, f->run, 2, &err), CLGAN_E_RUNTIME);
  assert_non_null(strstr(err.message, p));
  snprintf(tmp, sizeof tmp, "%s.tmp", p);
  assert_false(exists(tmp));

  clgan_error_clear(&err);
  assert_int_equal(clgan_plot_run(p, &f->run[0], &err), CLGAN_E_RUNTIME);
  assert_false(exists(tmp));
  rmdir(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cdf_known_values),
      cmocka_unit_test(test_quantile_known_values),
      cmocka_unit_test(test_quantile_round_trip),
      cmocka_unit_test(test_w1_of_exact_quantiles_is_zero),
      cmocka_unit_test(test_w1_of_shift),
      cmocka_unit_test(test_w1_of_scale),
      cmocka_unit_test(test_ks_of_point_mass),
      cmocka_unit_test(test_js),
      cmocka_unit_test(test_js_with_no_sample_in_range),
      cmocka_unit_test(test_histogram_density_integrates_to_in_range_fraction),
      cmocka_unit_test(test_normal_bin_density_integrates_to_one),
      cmocka_unit_test(test_errors),
      cmocka_unit_test_setup_teardown(test_report_files, setup_fake, teardown_fake),
      cmocka_unit_test_setup_teardown(test_json_of_diverged_run_uses_null, setup_fake,
                                      teardown_fake),
      cmocka_unit_test_setup_teardown(test_figures, setup_fake, teardown_fake),
      cmocka_unit_test_setup_teardown(test_figure_with_nan_densities, setup_fake, teardown_fake),
      cmocka_unit_test_setup_teardown(test_write_to_missing_directory_fails, setup_fake,
                                      teardown_fake),
      cmocka_unit_test_setup_teardown(test_failed_rename_leaves_no_tmp, setup_fake, teardown_fake),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
