#include "clgan/evaluate.h"

#include <stdlib.h>

/* Generated samples of data dimension 0 (malloc'd, n entries). */
static float *generated_dim0(clgan_gan *gan, size_t n, clgan_error *err) {
  size_t dim = gan->cfg.data.dim;
  float *all = malloc(n * dim * sizeof(float));
  if (!all) {
    clgan_fail(err, CLGAN_E_RUNTIME, "out of memory for %zu evaluation samples", n);
    return NULL;
  }
  if (clgan_gan_generate(gan, n, all, err) != CLGAN_OK) {
    free(all);
    return NULL;
  }
  for (size_t i = 0; i < n; ++i)
    all[i] = all[i * dim];
  return all;
}

static clgan_status metrics_of(clgan_gan *gan, const float *x, clgan_metrics *out,
                               clgan_error *err) {
  const clgan_config *cfg = &gan->cfg;
  return clgan_metrics_compute(x, cfg->eval.samples, cfg->data.mean, cfg->data.std,
                               cfg->eval.range_min, cfg->eval.range_max, cfg->eval.bins, out, err);
}

clgan_status clgan_evaluate_metrics(clgan_gan *gan, clgan_metrics *out, clgan_error *err) {
  float *x = generated_dim0(gan, gan->cfg.eval.samples, err);
  if (!x)
    return err->status;
  clgan_status st = metrics_of(gan, x, out, err);
  free(x);
  return st;
}

void clgan_run_result_free_densities(clgan_run_result *run) {
  free(run->bin_centres);
  free(run->real_density);
  free(run->gen_density);
  free(run->d_of_x);
  run->bin_centres = run->real_density = run->gen_density = run->d_of_x = NULL;
  run->n_bins = 0;
}

clgan_status clgan_evaluate_run(clgan_gan *gan, clgan_run_result *run, clgan_error *err) {
  const clgan_config *cfg = &gan->cfg;
  size_t bins = cfg->eval.bins;
  double lo = cfg->eval.range_min, hi = cfg->eval.range_max;
  run->n_bins = bins;
  run->bin_centres = malloc(bins * sizeof(double));
  run->real_density = malloc(bins * sizeof(double));
  run->gen_density = malloc(bins * sizeof(double));
  run->d_of_x = malloc(bins * sizeof(double));
  run->eval_samples = cfg->eval.samples;
  run->eval_batch = cfg->train.batch_size;
  if (!run->bin_centres || !run->real_density || !run->gen_density || !run->d_of_x) {
    clgan_run_result_free_densities(run);
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory for %zu density bins", bins);
  }
  float *x = generated_dim0(gan, cfg->eval.samples, err);
  clgan_status st = x ? metrics_of(gan, x, &run->metrics, err) : err->status;
  if (st == CLGAN_OK) {
    clgan_bin_centres(lo, hi, bins, run->bin_centres);
    clgan_normal_bin_density(cfg->data.mean, cfg->data.std, lo, hi, bins, run->real_density);
    clgan_histogram_density(x, cfg->eval.samples, lo, hi, bins, run->gen_density);
    st = clgan_gan_discriminate(gan, run->bin_centres, bins, run->d_of_x, err);
  }
  free(x);
  if (st != CLGAN_OK)
    clgan_run_result_free_densities(run);
  return st;
}
