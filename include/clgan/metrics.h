/* Quality metrics of generated 1-D samples against a normal target, and the
 * densities that the figures show. Host-side, double precision. */
#ifndef CLGAN_METRICS_H
#define CLGAN_METRICS_H

#include <stddef.h>

#include "clgan/status.h"

typedef struct clgan_metrics {
  double w1;        /* Wasserstein-1: sorted samples vs analytic target quantiles */
  double ks;        /* one-sample Kolmogorov-Smirnov statistic vs the target CDF */
  double mean, std; /* of the generated samples (std with n-1) */
  double std_ratio; /* std / target std; ≪ 1 means mode collapse */
  double js;        /* Jensen-Shannon divergence (nats) of binned densities over the range */
} clgan_metrics;

double clgan_normal_cdf(double x);      /* standard normal Φ */
double clgan_normal_quantile(double p); /* Φ⁻¹, p in (0, 1) */

/* Metrics of n samples against N(target_mean, target_std²). JS compares the
 * samples' histogram on [lo, hi] with `bins` bins to the target's exact bin
 * masses (mass outside [lo, hi] is dropped from both). n must be >= 2. */
clgan_status clgan_metrics_compute(const float *samples, size_t n, double target_mean,
                                   double target_std, double lo, double hi, size_t bins,
                                   clgan_metrics *out, clgan_error *err);

/* Bin centres of `bins` equal bins on [lo, hi]. */
void clgan_bin_centres(double lo, double hi, size_t bins, double *centres);
/* Histogram of samples as a density (count / (n · width)); out-of-range samples count in n. */
void clgan_histogram_density(const float *samples, size_t n, double lo, double hi, size_t bins,
                             double *density);
/* Exact N(mean, std²) mass of each bin divided by the bin width. */
void clgan_normal_bin_density(double mean, double std, double lo, double hi, size_t bins,
                              double *density);

#endif
