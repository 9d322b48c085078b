/* Device conformance: every op of a backend under test (the opencl backend
 * on some device) against the ref backend (plain C, double accumulators)
 * on identical deterministic inputs, over a spread of shapes. `clgan check`
 * prints the results; tests/test_kernels.c judges its own cases with the
 * same tolerance rules, so the check and the tests cannot disagree.
 *
 * Every comparison is mixed absolute/relative:
 *   |device - ref| <= atol + rtol·max(|device|, |ref|)
 * A NaN or Inf from the device where ref is finite fails whatever the
 * bound, and so does any changed float outside an output view (the
 * canary) or in an input. docs/check.md explains why each bound is right. */
#ifndef CLGAN_CHECK_H
#define CLGAN_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "clgan/backend.h"
#include "clgan/status.h"

typedef struct clgan_tol {
  double atol, rtol;
} clgan_tol;

/* The relative part of every inexact bound: a few ulp (float eps is
 * 1.19e-7, so 1e-5 is ~84 ulp) for OpenCL's exp/log/sqrt/divide, which
 * the full profile allows 3-4 ulp, against libm's correctly rounded or
 * 1-ulp results, compounded over a handful of operations. */
#define CLGAN_TOL_RTOL 1e-5

/* Does |got - want| <= atol + rtol·max(|got|, |want|) hold? Two NaNs or
 * two equal infinities match; any other non-finite pair does not. */
bool clgan_tol_holds(clgan_tol tol, double got, double want);

/* fill, copy, gather_shuffled, the z of bias_act_forward: data movement
 * or one IEEE addition, bit-exact on any conforming device. */
clgan_tol clgan_tol_exact(void);

/* y = act(z) for every activation: outputs of tanh and sigmoid lie in
 * [-1, 1], where a few ulp of exp and the cancellation in 1 - 2/(e^2x + 1)
 * near 0 give an absolute error of a few ulp of 1; larger outputs
 * (identity, relu, softplus) are covered by CLGAN_TOL_RTOL. */
clgan_tol clgan_tol_activation(void);

/* dz = dy ⊙ act'(z) with |act'| <= 1: a few ulp of max|dy|. */
clgan_tol clgan_tol_act_backward(double max_dy);

/* dbias = beta·dbias + Σ over rows of terms bounded by max_term, summed
 * in another order than ref: rows·eps·max_term, plus the rounding of
 * beta·old (max_old bounds |old dbias|). */
clgan_tol clgan_tol_column_sum(size_t rows, double max_term, double beta, double max_old);

/* C = alpha·op(A)·op(B) + beta·C with inner dimension k (CLBlast picks
 * its own summation order): 2·k·eps·|alpha|·max|A|·max|B| (the float
 * dot-product bound with Σ|a·b| replaced by its usual size) plus the
 * rounding of beta·C (max_c bounds |old C|; pass 0 when beta = 0). */
clgan_tol clgan_tol_gemm(size_t k, double alpha, double max_a, double max_b, double beta,
                         double max_c);

/* MBD on B = rows with max|M| = max_m: each exp(-d) term carries the
 * error of d (C terms of size <= 2·max_m) and exp's ulp, and the float
 * sum of B terms of size <= 1 adds up to B·eps·B; scaled like the output
 * (1 or 1/count). Backward terms are further scaled by
 * |dO_i + dO_j| <= 2·max_do. */
clgan_tol clgan_tol_mbd_forward(clgan_mbd_shape s, size_t rows, double max_m);
clgan_tol clgan_tol_mbd_backward(clgan_mbd_shape s, size_t rows, double max_m, double max_do);

/* The loss is a mean of rows terms summed in another order:
 * 2·eps·Σ|term| / rows, where sum_abs_terms = Σ_i |softplus(l_i) - t·l_i|. */
clgan_tol clgan_tol_bce_loss(size_t rows, double sum_abs_terms);
/* dl = grad_scale·(sigmoid(l) - t): a few ulp of |grad_scale|. */
clgan_tol clgan_tol_bce_grad(double grad_scale);

typedef enum clgan_tol_optim_part {
  CLGAN_TOL_PARAMS = 0, /* parameters after an Adam or SGD update */
  CLGAN_TOL_ADAM_M,     /* Adam's first moment */
  CLGAN_TOL_ADAM_V,     /* Adam's second moment */
  CLGAN_TOL_VELOCITY,   /* SGD's velocity */
} clgan_tol_optim_part;

/* Optimizer state with parameters and gradients of order 1 and learning
 * rates <= 1e-2: multiply-adds a device may fuse (1 ulp each) and, for
 * Adam, a sqrt and a division of a few ulp each. */
clgan_tol clgan_tol_optim(clgan_tol_optim_part part);

/* Uniform and stratified noise are a few multiply-adds (4 ulp of the
 * range); normal noise uses log, sqrt and cos, each a few ulp on OpenCL,
 * and near a zero of cos the error is absolute (about 4 ulp of 1 times
 * sqrt(-2 log u) <= 5.8). */
clgan_tol clgan_tol_noise(clgan_noise_params params);

/* ---- the check ---- */

/* One comparison: one output of one op on one shape. */
typedef struct clgan_check_result {
  char op[24];    /* the op-table entry, e.g. "mbd_backward" */
  char shape[96]; /* the inputs and, for ops with several outputs, which one */
  clgan_tol tol;
  size_t values;      /* floats compared */
  double max_abs_err; /* largest |device - ref| over finite pairs */
  /* largest |device - ref| / max(|device|, |ref|) over values of normal
   * magnitude (zeros and denormals, which a device may flush, skipped).
   * Results that cancel (a dot product near 0, tanh near 0) have large
   * relative errors by nature; their bound is the absolute part, scaled
   * to the operands, which is why the verdict uses worst_ratio. */
  double max_rel_err;
  double worst_ratio;   /* largest |device - ref| / bound; above 1 fails */
  size_t over_tol;      /* values outside the bound */
  size_t nonfinite;     /* device NaN/Inf where ref is finite */
  size_t canary;        /* floats outside the output view that changed */
  size_t input_changed; /* floats of the op's inputs that changed */
  size_t other;         /* op-specific failures (gather: not a permutation) */
  bool passed;
  char note[128]; /* why it failed; "" when it passed */
} clgan_check_result;

typedef struct clgan_check_options {
  bool quick; /* skip the large MBD case (B = 4096) */
  /* Skip MBD cases with more rows than this (0: no limit): MBD costs B²,
   * and B = 513 takes hours under a simulator such as Oclgrind. */
  size_t max_mbd_batch;
  /* Called after each result, e.g. to print it; may be NULL. */
  void (*progress)(const clgan_check_result *r, void *user);
  void *user;
} clgan_check_options;

typedef struct clgan_check_report {
  clgan_check_result *results;
  size_t n;
  size_t n_passed;
} clgan_check_report;

/* Runs every case on dev and ref. A comparison that fails is a result,
 * not an error: the status is CLGAN_OK and report->n_passed < report->n.
 * An op or transfer that returns an error stops the check with that error
 * (naming the case); report then holds the results so far. Free the
 * report with clgan_check_report_free in both cases. */
clgan_status clgan_check_run(clgan_backend *dev, clgan_backend *ref,
                             const clgan_check_options *opts, clgan_check_report *report,
                             clgan_error *err);
void clgan_check_report_free(clgan_check_report *report);

/* "exact" or "a=1.9e-06 r=1e-05", for tables. */
void clgan_tol_format(clgan_tol tol, char *buf, size_t size);

#endif
