/* gemm through CLBlast: row-major SGEMM on the backend's in-order queue,
 * with the views' offsets and leading dimensions passed straight through
 * (no copies, no sub-buffers). */
#include <stdio.h>

#include "cl_internal.h"

/* CLBlast's own codes; codes shared with OpenCL go through
 * clgan_cl_error_name. */
#define CLGAN_CLBLAST_NAME(code)                                                                   \
  case code:                                                                                       \
    return #code

static const char *clblast_status_name(CLBlastStatusCode s) {
  switch (s) {
    CLGAN_CLBLAST_NAME(CLBlastNotImplemented);
    CLGAN_CLBLAST_NAME(CLBlastInvalidMatrixA);
    CLGAN_CLBLAST_NAME(CLBlastInvalidMatrixB);
    CLGAN_CLBLAST_NAME(CLBlastInvalidMatrixC);
    CLGAN_CLBLAST_NAME(CLBlastInvalidVectorX);
    CLGAN_CLBLAST_NAME(CLBlastInvalidVectorY);
    CLGAN_CLBLAST_NAME(CLBlastInvalidDimension);
    CLGAN_CLBLAST_NAME(CLBlastInvalidLeadDimA);
    CLGAN_CLBLAST_NAME(CLBlastInvalidLeadDimB);
    CLGAN_CLBLAST_NAME(CLBlastInvalidLeadDimC);
    CLGAN_CLBLAST_NAME(CLBlastInvalidIncrementX);
    CLGAN_CLBLAST_NAME(CLBlastInvalidIncrementY);
    CLGAN_CLBLAST_NAME(CLBlastInsufficientMemoryA);
    CLGAN_CLBLAST_NAME(CLBlastInsufficientMemoryB);
    CLGAN_CLBLAST_NAME(CLBlastInsufficientMemoryC);
    CLGAN_CLBLAST_NAME(CLBlastInsufficientMemoryX);
    CLGAN_CLBLAST_NAME(CLBlastInsufficientMemoryY);
    CLGAN_CLBLAST_NAME(CLBlastInsufficientMemoryTemp);
    CLGAN_CLBLAST_NAME(CLBlastInvalidBatchCount);
    CLGAN_CLBLAST_NAME(CLBlastInvalidOverrideKernel);
    CLGAN_CLBLAST_NAME(CLBlastMissingOverrideParameter);
    CLGAN_CLBLAST_NAME(CLBlastInvalidLocalMemUsage);
    CLGAN_CLBLAST_NAME(CLBlastNoHalfPrecision);
    CLGAN_CLBLAST_NAME(CLBlastNoDoublePrecision);
    CLGAN_CLBLAST_NAME(CLBlastInvalidVectorScalar);
    CLGAN_CLBLAST_NAME(CLBlastInsufficientMemoryScalar);
    CLGAN_CLBLAST_NAME(CLBlastDatabaseError);
    CLGAN_CLBLAST_NAME(CLBlastUnknownError);
    CLGAN_CLBLAST_NAME(CLBlastUnexpectedError);
  default:
    return clgan_cl_error_name((cl_int)s);
  }
}

static const char *trans_name(bool ta, bool tb) {
  return ta ? (tb ? "TT" : "TN") : (tb ? "NT" : "NN");
}

clgan_status clgan_cl_gemm(clgan_backend *be, bool trans_a, bool trans_b, float alpha, clgan_view a,
                           clgan_view b, float beta, clgan_view c, clgan_error *err) {
  clgan_cl_backend *cb = clgan_cl_of(be);
  const char *tn = trans_name(trans_a, trans_b);
  size_t m = c.rows, n = c.cols;
  size_t k = trans_a ? a.rows : a.cols;
  size_t a_m = trans_a ? a.cols : a.rows;
  size_t b_k = trans_b ? b.cols : b.rows;
  size_t b_n = trans_b ? b.rows : b.cols;
  if (a_m != m || b_k != k || b_n != n)
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "gemm (%s): shapes do not agree: op(A) is %zux%zu (A %zux%zu), op(B) is "
                      "%zux%zu (B %zux%zu), C is %zux%zu",
                      tn, a_m, k, a.rows, a.cols, b_k, b_n, b.rows, b.cols, m, n);
  if (m == 0 || n == 0)
    return CLGAN_OK;
  CLGAN_TRY(clgan_cl_check_view("gemm", "C", c, err));
  if (k == 0) {
    /* op(A)·op(B) is all zeros; CLBlast rejects k = 0, so do C = beta·C. */
    if (beta == 0.0f)
      return clgan_cl_fill(be, c, 0.0f, err);
    return beta == 1.0f ? CLGAN_OK : clgan_cl_scale(be, c, beta, err);
  }
  CLGAN_TRY(clgan_cl_check_view("gemm", "A", a, err));
  CLGAN_TRY(clgan_cl_check_view("gemm", "B", b, err));
  CLBlastStatusCode s = CLBlastSgemm(
      CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
      trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a.buf->mem, a.offset,
      a.ld, b.buf->mem, b.offset, b.ld, beta, c.buf->mem, c.offset, c.ld, &cb->queue, NULL);
  if (s != CLBlastSuccess)
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "gemm: CLBlastSgemm (%s) failed: %s (m=%zu, n=%zu, k=%zu; A %zux%zu ld %zu "
                      "offset %zu; B %zux%zu ld %zu offset %zu; C %zux%zu ld %zu offset %zu)",
                      tn, clblast_status_name(s), m, n, k, a.rows, a.cols, a.ld, a.offset, b.rows,
                      b.cols, b.ld, b.offset, c.rows, c.cols, c.ld, c.offset);
  return clgan_cl_launched(cb, "gemm", err);
}

clgan_status clgan_cl_gemm_warmup(clgan_cl_backend *cb, clgan_error *err) {
  /* CLBlast compiles its GEMM program on first use (seconds on PoCL) and
   * caches it per context; the model uses these three combinations. */
  enum { N = 8 };
  static const bool combos[3][2] = {{false, false}, {false, true}, {true, false}};
  clgan_backend *be = &cb->base;
  clgan_buffer *bufs[3] = {NULL, NULL, NULL};
  clgan_status st = CLGAN_OK;
  for (int i = 0; i < 3 && st == CLGAN_OK; ++i)
    st = be->ops->buffer_create(be, N * N, &bufs[i], err);
  for (int i = 0; i < 3 && st == CLGAN_OK; ++i)
    st = clgan_cl_gemm(be, combos[i][0], combos[i][1], 1.0f, clgan_view_full(bufs[0], 0, N, N),
                       clgan_view_full(bufs[1], 0, N, N), 0.0f, clgan_view_full(bufs[2], 0, N, N),
                       err);
  if (st == CLGAN_OK) {
    cl_int rc = clFinish(cb->queue);
    if (rc != CL_SUCCESS)
      st = clgan_fail(err, CLGAN_E_RUNTIME, "gemm warm-up: clFinish failed: %s",
                      clgan_cl_error_name(rc));
  }
  for (int i = 0; i < 3; ++i)
    be->ops->buffer_destroy(be, bufs[i]);
  if (st != CLGAN_OK)
    clgan_error_prefix(err, "CLBlast warm-up: ");
  return st;
}
