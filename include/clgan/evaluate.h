/* Evaluation of a trained (or training) GAN: metrics of generated samples
 * and the densities and decision boundary the figures show. */
#ifndef CLGAN_EVALUATE_H
#define CLGAN_EVALUATE_H

#include <stdbool.h>

#include "clgan/gan.h"
#include "clgan/report.h"

/* Metrics of cfg.eval.samples generated samples (data dimension 0) against
 * the target N(data.mean, data.std²). */
clgan_status clgan_evaluate_metrics(clgan_gan *gan, clgan_metrics *out, clgan_error *err);

/* Fills run->metrics and the density arrays (allocated here; release with
 * clgan_run_result_free_densities). */
clgan_status clgan_evaluate_run(clgan_gan *gan, clgan_run_result *run, clgan_error *err);
void clgan_run_result_free_densities(clgan_run_result *run);

#endif
