/* Quality metrics of generated 1-D samples against a normal target.
 *
 * Everything runs on the host in double precision: the samples are few
 * (eval.samples, 10^4 by default) and the metrics are compared across runs
 * and backends, so accuracy matters more than speed. */
#include "clgan/metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#define SQRT1_2 0.70710678118654752440  /* 1/√2 */
#define SQRT_2PI 2.50662827463100050242 /* √(2π) */
#define LN2 0.69314718055994530942

/* Φ(x) = ½·erfc(-x/√2). erfc keeps full relative precision in the lower
 * tail, where 1 + erf(x/√2) would cancel to zero. */
double clgan_normal_cdf(double x) {
  return 0.5 * erfc(-x * SQRT1_2);
}

/* Upper tail 1 - Φ(x), accurate where Φ(x) rounds to 1. */
static double normal_sf(double x) {
  return 0.5 * erfc(x * SQRT1_2);
}

/* Acklam's rational approximation of Φ⁻¹ (P. J. Acklam, "An algorithm for
 * computing the inverse normal cumulative distribution function", 2003):
 * a rational function in (p - ½)² in the centre and in sqrt(-2 ln p) in
 * the tails; relative error below 1.15e-9. Only used for p <= ½ here. */
static double acklam_lower(double p) {
  static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                              -2.759285104469687e+02, 1.383577518672690e+02,
                              -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                              6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                              -2.400758277161838e+00, -2.549732539343734e+00,
                              4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                              3.754408661907416e+00};
  const double p_low = 0.02425;

  if (p < p_low) {
    double q = sqrt(-2.0 * log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  }
  double q = p - 0.5;
  double r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
}

/* Φ⁻¹ for p in (0, ½]: Acklam's estimate, then one Halley step on
 * f(x) = Φ(x) - p, which triples the number of correct digits and brings
 * the result to within a few ulp. Φ(x) of a negative x is evaluated via
 * erfc, so the residual keeps its relative precision even at p = 1e-300. */
static double quantile_lower(double p) {
  double x = acklam_lower(p);
  double e = clgan_normal_cdf(x) - p;
  double u = e * SQRT_2PI * exp(0.5 * x * x); /* e / φ(x) */
  return x - u / (1.0 + 0.5 * x * u);
}

/* Φ⁻¹(p) for p in (0, 1); ±∞ at 0 and 1, NaN outside [0, 1]. The upper
 * half uses the symmetry Φ⁻¹(p) = -Φ⁻¹(1 - p): 1 - p is exact for p >= ½
 * (Sterbenz), so both tails are equally accurate. */
double clgan_normal_quantile(double p) {
  if (isnan(p) || p < 0.0 || p > 1.0)
    return NAN;
  if (p == 0.0)
    return -INFINITY;
  if (p == 1.0)
    return INFINITY;
  if (p <= 0.5)
    return quantile_lower(p);
  return -quantile_lower(1.0 - p);
}

/* N(mean, std²) mass of [a, b]. Differences of Φ near 1 lose digits, so a
 * bin entirely above the mean is measured with the upper tail instead. */
static double normal_mass(double mean, double std, double a, double b) {
  double za = (a - mean) / std;
  double zb = (b - mean) / std;
  if (za > 0.0)
    return normal_sf(za) - normal_sf(zb);
  return clgan_normal_cdf(zb) - clgan_normal_cdf(za);
}

/* Edge k of `bins` equal bins on [lo, hi]; computed from k rather than by
 * accumulating widths, so the last edge is exactly hi. */
static double bin_edge(double lo, double hi, size_t bins, size_t k) {
  if (k == bins)
    return hi;
  return lo + (hi - lo) * ((double)k / (double)bins);
}

/* The bin that x falls in, or false when x is outside [lo, hi] (NaN is
 * outside). hi itself belongs to the last bin. */
static bool bin_index(double x, double lo, double hi, size_t bins, size_t *idx) {
  if (!(x >= lo && x <= hi))
    return false;
  double k = floor((x - lo) / (hi - lo) * (double)bins);
  *idx = k >= (double)bins ? bins - 1 : (size_t)k;
  return true;
}

void clgan_bin_centres(double lo, double hi, size_t bins, double *centres) {
  for (size_t k = 0; k < bins; k++)
    centres[k] = 0.5 * (bin_edge(lo, hi, bins, k) + bin_edge(lo, hi, bins, k + 1));
}

void clgan_histogram_density(const float *samples, size_t n, double lo, double hi, size_t bins,
                             double *density) {
  for (size_t k = 0; k < bins; k++)
    density[k] = 0.0;
  if (n == 0 || bins == 0 || !(hi > lo))
    return;
  for (size_t i = 0; i < n; i++) {
    size_t k;
    if (bin_index(samples[i], lo, hi, bins, &k))
      density[k] += 1.0;
  }
  double scale = 1.0 / ((double)n * ((hi - lo) / (double)bins));
  for (size_t k = 0; k < bins; k++)
    density[k] *= scale;
}

void clgan_normal_bin_density(double mean, double std, double lo, double hi, size_t bins,
                              double *density) {
  /* A degenerate target has no density; NaN shows up as a gap in plots and
   * as null in JSON rather than as a plausible-looking curve. */
  bool valid = isfinite(mean) && isfinite(std) && std > 0.0 && hi > lo;
  double width = (hi - lo) / (double)bins;
  for (size_t k = 0; k < bins; k++) {
    if (!valid) {
      density[k] = NAN;
      continue;
    }
    double a = bin_edge(lo, hi, bins, k);
    double b = bin_edge(lo, hi, bins, k + 1);
    density[k] = normal_mass(mean, std, a, b) / width;
  }
}

static int compare_double(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return (a > b) - (a < b);
}

/* W1 between the sample and the target, pairing the i-th order statistic
 * with the target quantile at the plotting position (i - ½)/n. */
static double wasserstein1(const double *sorted, size_t n, double mean, double std) {
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    double q = mean + std * clgan_normal_quantile(((double)i + 0.5) / (double)n);
    sum += fabs(sorted[i] - q);
  }
  return sum / (double)n;
}

/* sup |F_n - F| is reached at a sample point, on one side of the ECDF's
 * step or the other; with ties the extreme sides of a tie block dominate
 * the inner ones, so scanning every point is still exact. */
static double kolmogorov_smirnov(const double *sorted, size_t n, double mean, double std) {
  double d = 0.0;
  for (size_t i = 0; i < n; i++) {
    double f = clgan_normal_cdf((sorted[i] - mean) / std);
    double above = (double)(i + 1) / (double)n - f;
    double below = f - (double)i / (double)n;
    d = fmax(d, fmax(above, below));
  }
  return d;
}

/* One ½·p·ln(p/m) term of JS; 0·ln 0 = 0. */
static double js_term(double p, double m) {
  return p > 0.0 ? 0.5 * p * log(p / m) : 0.0;
}

/* Jensen-Shannon divergence between the in-range histogram and the target's
 * in-range bin masses, both renormalised to sum to 1. */
static clgan_status jensen_shannon(const double *sorted, size_t n, double mean, double std,
                                   double lo, double hi, size_t bins, double *js,
                                   clgan_error *err) {
  double target_total = normal_mass(mean, std, lo, hi);
  if (!(target_total > 0.0))
    return clgan_fail(err, CLGAN_E_INPUT,
                      "metrics: the target N(%g, %g^2) has no mass in the range [%g, %g]", mean,
                      std, lo, hi);
  size_t *counts = calloc(bins, sizeof *counts);
  if (!counts)
    return clgan_fail(err, CLGAN_E_RUNTIME, "metrics: out of memory for %zu histogram bins", bins);
  size_t in_range = 0;
  for (size_t i = 0; i < n; i++) {
    size_t k;
    if (bin_index(sorted[i], lo, hi, bins, &k)) {
      counts[k]++;
      in_range++;
    }
  }
  /* No sample in range: p is undefined; ln 2 is JS's maximum, reached for
   * disjoint supports, which is what such a sample amounts to. */
  if (in_range == 0) {
    free(counts);
    *js = LN2;
    return CLGAN_OK;
  }
  double sum = 0.0;
  for (size_t k = 0; k < bins; k++) {
    double p = (double)counts[k] / (double)in_range;
    double a = bin_edge(lo, hi, bins, k), b = bin_edge(lo, hi, bins, k + 1);
    double q = normal_mass(mean, std, a, b) / target_total;
    double m = 0.5 * (p + q);
    sum += js_term(p, m) + js_term(q, m);
  }
  free(counts);
  *js = sum;
  return CLGAN_OK;
}

/* Mean and sample standard deviation (n - 1), two-pass for accuracy. */
static void mean_std(const double *x, size_t n, double *mean, double *std) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += x[i];
  double m = s / (double)n;
  double ss = 0.0;
  for (size_t i = 0; i < n; i++)
    ss += (x[i] - m) * (x[i] - m);
  *mean = m;
  *std = sqrt(ss / (double)(n - 1));
}

/* A diverged generator emits NaN or ±inf; every metric of such a sample
 * would be garbage, so it is reported as an error naming the damage. */
static clgan_status check_finite(const float *samples, size_t n, clgan_error *err) {
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(samples[i])) {
      if (bad == 0)
        first = i;
      bad++;
    }
  }
  if (bad == 0)
    return CLGAN_OK;
  return clgan_fail(err, CLGAN_E_RUNTIME,
                    "metrics: %zu of %zu generated samples are not finite (first at index %zu: "
                    "%g); the training diverged",
                    bad, n, first, (double)samples[first]);
}

static clgan_status check_arguments(const float *samples, size_t n, double target_mean,
                                    double target_std, double lo, double hi, size_t bins,
                                    const clgan_metrics *out, clgan_error *err) {
  if (!out || (!samples && n > 0))
    return clgan_fail(err, CLGAN_E_INPUT, "metrics: NULL samples or output");
  if (n < 2)
    return clgan_fail(err, CLGAN_E_INPUT, "metrics: need at least 2 samples, got %zu", n);
  if (!isfinite(target_mean) || !isfinite(target_std) || target_std <= 0.0)
    return clgan_fail(err, CLGAN_E_INPUT,
                      "metrics: the target needs a finite mean and a std > 0, got N(%g, %g)",
                      target_mean, target_std);
  if (!isfinite(lo) || !isfinite(hi) || lo >= hi)
    return clgan_fail(err, CLGAN_E_INPUT, "metrics: bad histogram range [%g, %g]", lo, hi);
  if (bins < 1)
    return clgan_fail(err, CLGAN_E_INPUT, "metrics: need at least 1 histogram bin");
  return check_finite(samples, n, err);
}

clgan_status clgan_metrics_compute(const float *samples, size_t n, double target_mean,
                                   double target_std, double lo, double hi, size_t bins,
                                   clgan_metrics *out, clgan_error *err) {
  CLGAN_TRY(check_arguments(samples, n, target_mean, target_std, lo, hi, bins, out, err));
  double *sorted = malloc(n * sizeof *sorted);
  if (!sorted)
    return clgan_fail(err, CLGAN_E_RUNTIME, "metrics: out of memory for %zu samples", n);
  for (size_t i = 0; i < n; i++)
    sorted[i] = samples[i];
  qsort(sorted, n, sizeof *sorted, compare_double);

  clgan_metrics m = {0};
  mean_std(sorted, n, &m.mean, &m.std);
  m.std_ratio = m.std / target_std;
  m.w1 = wasserstein1(sorted, n, target_mean, target_std);
  m.ks = kolmogorov_smirnov(sorted, n, target_mean, target_std);
  clgan_status st = jensen_shannon(sorted, n, target_mean, target_std, lo, hi, bins, &m.js, err);
  free(sorted);
  if (st == CLGAN_OK)
    *out = m;
  return st;
}
