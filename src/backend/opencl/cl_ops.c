/* One small launcher per op: validate the views, set the arguments, enqueue
 * one kernel, count it. Nothing here waits for the device or allocates, so
 * an op costs one clEnqueueNDRangeKernel. Shapes are checked on the host
 * because a kernel reading out of bounds fails silently or much later. */
#include <stdarg.h>
#include <stdio.h>

#include "cl_internal.h"

/* ---- launch helpers ---- */

clgan_cl_launch clgan_cl_launch_begin(clgan_cl_backend *cb, clgan_cl_kernel_id id) {
  clgan_cl_launch l = {cb, id, 0, CL_SUCCESS, false, 0};
  return l;
}

static void set_arg(clgan_cl_launch *l, size_t size, const void *value) {
  if (l->status == CL_SUCCESS) {
    cl_int rc = clSetKernelArg(l->cb->kernels[l->id].kernel, l->next_arg, size, value);
    if (rc != CL_SUCCESS) {
      l->status = rc;
      l->arg_failed = true;
      l->failed_arg = l->next_arg;
    }
  }
  l->next_arg++;
}

void clgan_cl_arg_mem(clgan_cl_launch *l, cl_mem mem) {
  set_arg(l, sizeof mem, &mem);
}

void clgan_cl_arg_u32(clgan_cl_launch *l, size_t value) {
  cl_uint v = (cl_uint)value;
  set_arg(l, sizeof v, &v);
}

void clgan_cl_arg_i32(clgan_cl_launch *l, int value) {
  cl_int v = value;
  set_arg(l, sizeof v, &v);
}

void clgan_cl_arg_f32(clgan_cl_launch *l, float value) {
  cl_float v = value;
  set_arg(l, sizeof v, &v);
}

void clgan_cl_arg_u64(clgan_cl_launch *l, uint64_t value) {
  cl_ulong v = value;
  set_arg(l, sizeof v, &v);
}

void clgan_cl_arg_local_floats(clgan_cl_launch *l, size_t n) {
  set_arg(l, n * sizeof(cl_float), NULL);
}

clgan_status clgan_cl_launch_enqueue(clgan_cl_launch *l, size_t items, size_t groups,
                                     const char *op, clgan_error *err, const char *shape_fmt, ...) {
  const clgan_cl_kernel *k = &l->cb->kernels[l->id];
  if (l->status == CL_SUCCESS) {
    size_t local = k->local;
    /* Round up: kernels bounds-check the surplus work-items. */
    size_t global = (groups ? groups : (items + local - 1) / local) * local;
    cl_int rc =
        clEnqueueNDRangeKernel(l->cb->queue, k->kernel, 1, NULL, &global, &local, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
      return clgan_cl_launched(l->cb, op, err);
    l->status = rc;
  }
  /* The shape text is only formatted on failure: ops stay allocation-free. */
  char shape[256];
  va_list ap;
  va_start(ap, shape_fmt);
  vsnprintf(shape, sizeof shape, shape_fmt, ap);
  va_end(ap);
  char call[128];
  if (l->arg_failed)
    snprintf(call, sizeof call, "clSetKernelArg(%s, arg %u)", clgan_cl_kernel_name(l->id),
             (unsigned)l->failed_arg);
  else
    snprintf(call, sizeof call, "clEnqueueNDRangeKernel(%s, local %zu)",
             clgan_cl_kernel_name(l->id), k->local);
  return clgan_fail(err, CLGAN_E_RUNTIME, "%s: %s failed: %s (%s)", op, call,
                    clgan_cl_error_name(l->status), shape);
}

static void arg_view(clgan_cl_launch *l, clgan_view v) {
  clgan_cl_arg_mem(l, v.buf ? v.buf->mem : NULL);
  clgan_cl_arg_u32(l, v.offset);
  clgan_cl_arg_u32(l, v.ld);
}

/* ---- shape checks ---- */

static int view_empty(clgan_view v) {
  return v.rows == 0 || v.cols == 0;
}

clgan_status clgan_cl_check_view(const char *op, const char *what, clgan_view v, clgan_error *err) {
  if (view_empty(v))
    return CLGAN_OK;
  if (!v.buf)
    return clgan_fail(err, CLGAN_E_RUNTIME, "%s: view %s (%zux%zu) has no buffer", op, what, v.rows,
                      v.cols);
  if (v.ld < v.cols)
    return clgan_fail(err, CLGAN_E_RUNTIME, "%s: view %s (%zux%zu) has ld %zu < cols", op, what,
                      v.rows, v.cols, v.ld);
  /* offset + (rows-1)·ld + cols <= n, written so nothing overflows. The
   * buffer size is capped at 2^32 floats, so every index fits a uint. */
  size_t n = v.buf->n;
  if (v.offset > n || v.cols > n - v.offset || v.rows - 1 > (n - v.offset - v.cols) / v.ld)
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "%s: view %s (%zux%zu, ld %zu, offset %zu) does not fit in its buffer of "
                      "%zu floats",
                      op, what, v.rows, v.cols, v.ld, v.offset, n);
  return CLGAN_OK;
}

static clgan_status check_shape(const char *op, const char *what, clgan_view v, size_t rows,
                                size_t cols, clgan_error *err) {
  if (v.rows != rows || v.cols != cols)
    return clgan_fail(err, CLGAN_E_RUNTIME, "%s: view %s is %zux%zu, expected %zux%zu", op, what,
                      v.rows, v.cols, rows, cols);
  return clgan_cl_check_view(op, what, v, err);
}

/* ---- util.cl ---- */

static clgan_status fill_like(clgan_backend *be, clgan_cl_kernel_id id, const char *op,
                              clgan_view dst, float value, clgan_error *err) {
  CLGAN_TRY(clgan_cl_check_view(op, "dst", dst, err));
  if (view_empty(dst))
    return CLGAN_OK;
  clgan_cl_launch l = clgan_cl_launch_begin(clgan_cl_of(be), id);
  arg_view(&l, dst);
  clgan_cl_arg_u32(&l, dst.rows);
  clgan_cl_arg_u32(&l, dst.cols);
  clgan_cl_arg_f32(&l, value);
  return clgan_cl_launch_enqueue(&l, dst.rows * dst.cols, 0, op, err, "%zux%zu, ld %zu", dst.rows,
                                 dst.cols, dst.ld);
}

clgan_status clgan_cl_fill(clgan_backend *be, clgan_view dst, float value, clgan_error *err) {
  return fill_like(be, CLGAN_K_FILL, "fill", dst, value, err);
}

clgan_status clgan_cl_scale(clgan_backend *be, clgan_view dst, float factor, clgan_error *err) {
  return fill_like(be, CLGAN_K_SCALE, "scale", dst, factor, err);
}

clgan_status clgan_cl_copy(clgan_backend *be, clgan_view src, clgan_view dst, clgan_error *err) {
  CLGAN_TRY(clgan_cl_check_view("copy", "src", src, err));
  CLGAN_TRY(check_shape("copy", "dst", dst, src.rows, src.cols, err));
  if (view_empty(src))
    return CLGAN_OK;
  clgan_cl_launch l = clgan_cl_launch_begin(clgan_cl_of(be), CLGAN_K_COPY);
  arg_view(&l, src);
  arg_view(&l, dst);
  clgan_cl_arg_u32(&l, src.rows);
  clgan_cl_arg_u32(&l, src.cols);
  return clgan_cl_launch_enqueue(&l, src.rows * src.cols, 0, "copy", err, "%zux%zu", src.rows,
                                 src.cols);
}

/* ---- act.cl ---- */

static clgan_status check_act(const char *op, clgan_activation act, clgan_error *err) {
  if ((int)act < 0 || act >= CLGAN_ACT_COUNT)
    return clgan_fail(err, CLGAN_E_RUNTIME, "%s: unknown activation %d", op, (int)act);
  return CLGAN_OK;
}

clgan_status clgan_cl_bias_act_forward(clgan_backend *be, clgan_activation act, float slope,
                                       clgan_view bias, clgan_view z, clgan_view y,
                                       clgan_error *err) {
  const char *op = "bias_act_forward";
  CLGAN_TRY(check_act(op, act, err));
  if (view_empty(z))
    return CLGAN_OK;
  CLGAN_TRY(clgan_cl_check_view(op, "z", z, err));
  CLGAN_TRY(check_shape(op, "bias", bias, 1, z.cols, err));
  CLGAN_TRY(check_shape(op, "y", y, z.rows, z.cols, err));
  clgan_cl_launch l = clgan_cl_launch_begin(clgan_cl_of(be), CLGAN_K_BIAS_ACT_FORWARD);
  clgan_cl_arg_i32(&l, (int)act);
  clgan_cl_arg_f32(&l, slope);
  clgan_cl_arg_mem(&l, bias.buf->mem);
  clgan_cl_arg_u32(&l, bias.offset);
  arg_view(&l, z);
  arg_view(&l, y);
  clgan_cl_arg_u32(&l, z.rows);
  clgan_cl_arg_u32(&l, z.cols);
  return clgan_cl_launch_enqueue(&l, z.rows * z.cols, 0, op, err, "B=%zu, cols=%zu, act=%d", z.rows,
                                 z.cols, (int)act);
}

clgan_status clgan_cl_act_backward(clgan_backend *be, clgan_activation act, float slope,
                                   clgan_view z, clgan_view y, clgan_view dy, clgan_view dz,
                                   clgan_view dbias, float dbias_beta, clgan_error *err) {
  const char *op = "act_backward";
  CLGAN_TRY(check_act(op, act, err));
  bool needs_y = act == CLGAN_ACT_TANH || act == CLGAN_ACT_SIGMOID;
  bool has_dbias = dbias.buf != NULL;
  /* With no rows, dbias still becomes dbias_beta·dbias (a sum of nothing is
   * 0), as in the ref backend; the kernel handles rows = 0. */
  if (z.cols == 0 || (z.rows == 0 && !has_dbias))
    return CLGAN_OK;
  CLGAN_TRY(clgan_cl_check_view(op, "z", z, err));
  if (needs_y)
    CLGAN_TRY(check_shape(op, "y", y, z.rows, z.cols, err));
  CLGAN_TRY(check_shape(op, "dy", dy, z.rows, z.cols, err));
  CLGAN_TRY(check_shape(op, "dz", dz, z.rows, z.cols, err));
  if (has_dbias)
    CLGAN_TRY(check_shape(op, "dbias", dbias, 1, z.cols, err));
  clgan_cl_launch l = clgan_cl_launch_begin(clgan_cl_of(be), CLGAN_K_ACT_BACKWARD);
  clgan_cl_arg_i32(&l, (int)act);
  clgan_cl_arg_f32(&l, slope);
  arg_view(&l, z);
  if (needs_y) {
    arg_view(&l, y);
  } else { /* not read by the kernel */
    clgan_cl_arg_mem(&l, NULL);
    clgan_cl_arg_u32(&l, 0);
    clgan_cl_arg_u32(&l, 0);
  }
  arg_view(&l, dy);
  arg_view(&l, dz);
  clgan_cl_arg_mem(&l, has_dbias ? dbias.buf->mem : NULL);
  clgan_cl_arg_u32(&l, has_dbias ? dbias.offset : 0);
  clgan_cl_arg_i32(&l, has_dbias ? 1 : 0);
  clgan_cl_arg_f32(&l, dbias_beta);
  clgan_cl_arg_u32(&l, z.rows);
  clgan_cl_arg_u32(&l, z.cols);
  clgan_cl_arg_local_floats(&l, l.cb->kernels[CLGAN_K_ACT_BACKWARD].local);
  /* One work-group per column (the column sum is reduced in the group). */
  return clgan_cl_launch_enqueue(&l, 0, z.cols, op, err, "B=%zu, cols=%zu, act=%d, dbias=%s",
                                 z.rows, z.cols, (int)act, has_dbias ? "yes" : "no");
}

/* ---- mbd.cl ---- */

static clgan_status check_mbd(const char *op, clgan_mbd_shape s, clgan_view m, clgan_error *err) {
  if (s.kernels == 0 || s.kernel_dim == 0 || m.cols != s.kernels * s.kernel_dim)
    return clgan_fail(err, CLGAN_E_RUNTIME, "%s: m has %zu columns, expected K*C = %zu*%zu", op,
                      m.cols, s.kernels, s.kernel_dim);
  return clgan_cl_check_view(op, "m", m, err);
}

/* scale = 1 (sum) or 1/count (mean), count = B or B-1; 0 when count is 0. */
static float mbd_scale(clgan_mbd_shape s, size_t rows) {
  if (!s.mean)
    return 1.0f;
  size_t count = s.include_self ? rows : rows - 1;
  return count ? 1.0f / (float)count : 0.0f;
}

clgan_status clgan_cl_mbd_forward(clgan_backend *be, clgan_mbd_shape shape, clgan_view m,
                                  clgan_view o, clgan_error *err) {
  const char *op = "mbd_forward";
  if (m.rows == 0)
    return CLGAN_OK;
  CLGAN_TRY(check_mbd(op, shape, m, err));
  CLGAN_TRY(check_shape(op, "o", o, m.rows, shape.kernels, err));
  clgan_cl_launch l = clgan_cl_launch_begin(clgan_cl_of(be), CLGAN_K_MBD_FORWARD);
  arg_view(&l, m);
  arg_view(&l, o);
  clgan_cl_arg_u32(&l, m.rows);
  clgan_cl_arg_u32(&l, shape.kernels);
  clgan_cl_arg_u32(&l, shape.kernel_dim);
  clgan_cl_arg_i32(&l, shape.include_self ? 1 : 0);
  clgan_cl_arg_f32(&l, mbd_scale(shape, m.rows));
  return clgan_cl_launch_enqueue(&l, m.rows * shape.kernels, 0, op, err, "B=%zu, K=%zu, C=%zu",
                                 m.rows, shape.kernels, shape.kernel_dim);
}

clgan_status clgan_cl_mbd_backward(clgan_backend *be, clgan_mbd_shape shape, clgan_view m,
                                   clgan_view d_o, clgan_view dm, clgan_error *err) {
  const char *op = "mbd_backward";
  if (m.rows == 0)
    return CLGAN_OK;
  CLGAN_TRY(check_mbd(op, shape, m, err));
  CLGAN_TRY(check_shape(op, "d_o", d_o, m.rows, shape.kernels, err));
  CLGAN_TRY(check_shape(op, "dm", dm, m.rows, m.cols, err));
  clgan_cl_launch l = clgan_cl_launch_begin(clgan_cl_of(be), CLGAN_K_MBD_BACKWARD);
  arg_view(&l, m);
  arg_view(&l, d_o);
  arg_view(&l, dm);
  clgan_cl_arg_u32(&l, m.rows);
  clgan_cl_arg_u32(&l, shape.kernels);
  clgan_cl_arg_u32(&l, shape.kernel_dim);
  clgan_cl_arg_f32(&l, mbd_scale(shape, m.rows));
  return clgan_cl_launch_enqueue(&l, m.rows * shape.kernels, 0, op, err, "B=%zu, K=%zu, C=%zu",
                                 m.rows, shape.kernels, shape.kernel_dim);
}

/* ---- loss.cl ---- */

clgan_status clgan_cl_bce_logits(clgan_backend *be, clgan_view logits, float target,
                                 float grad_scale, clgan_view dlogits, clgan_buffer *loss_buf,
                                 size_t loss_offset, clgan_error *err) {
  const char *op = "bce_logits";
  /* No early return for zero rows: the mean of no samples is stored as 0,
   * as in the ref backend. */
  CLGAN_TRY(check_shape(op, "logits", logits, logits.rows, 1, err));
  CLGAN_TRY(check_shape(op, "dlogits", dlogits, logits.rows, 1, err));
  if (!loss_buf || loss_offset >= loss_buf->n)
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "%s: loss offset %zu lies outside its buffer (%zu floats)", op, loss_offset,
                      loss_buf ? loss_buf->n : 0);
  clgan_cl_launch l = clgan_cl_launch_begin(clgan_cl_of(be), CLGAN_K_BCE_LOGITS);
  arg_view(&l, logits);
  clgan_cl_arg_u32(&l, logits.rows);
  clgan_cl_arg_f32(&l, target);
  clgan_cl_arg_f32(&l, grad_scale);
  arg_view(&l, dlogits);
  clgan_cl_arg_mem(&l, loss_buf->mem);
  clgan_cl_arg_u32(&l, loss_offset);
  clgan_cl_arg_local_floats(&l, l.cb->kernels[CLGAN_K_BCE_LOGITS].local);
  /* Exactly one work-group: the mean is reduced inside it. */
  return clgan_cl_launch_enqueue(&l, 0, 1, op, err, "B=%zu", logits.rows);
}

/* ---- optim.cl ---- */

clgan_status clgan_cl_adam_update(clgan_backend *be, clgan_adam_step step, clgan_view params,
                                  clgan_view grads, clgan_view m, clgan_view v, clgan_error *err) {
  const char *op = "adam_update";
  if (view_empty(params))
    return CLGAN_OK;
  CLGAN_TRY(clgan_cl_check_view(op, "params", params, err));
  CLGAN_TRY(check_shape(op, "grads", grads, params.rows, params.cols, err));
  CLGAN_TRY(check_shape(op, "m", m, params.rows, params.cols, err));
  CLGAN_TRY(check_shape(op, "v", v, params.rows, params.cols, err));
  clgan_cl_launch l = clgan_cl_launch_begin(clgan_cl_of(be), CLGAN_K_ADAM);
  clgan_cl_arg_f32(&l, step.lr);
  clgan_cl_arg_f32(&l, step.beta1);
  clgan_cl_arg_f32(&l, step.beta2);
  clgan_cl_arg_f32(&l, step.eps);
  arg_view(&l, params);
  arg_view(&l, grads);
  arg_view(&l, m);
  arg_view(&l, v);
  clgan_cl_arg_u32(&l, params.rows);
  clgan_cl_arg_u32(&l, params.cols);
  return clgan_cl_launch_enqueue(&l, params.rows * params.cols, 0, op, err, "%zux%zu", params.rows,
                                 params.cols);
}

clgan_status clgan_cl_sgd_update(clgan_backend *be, float lr, float momentum, clgan_view params,
                                 clgan_view grads, clgan_view velocity, clgan_error *err) {
  const char *op = "sgd_update";
  if (view_empty(params))
    return CLGAN_OK;
  CLGAN_TRY(clgan_cl_check_view(op, "params", params, err));
  CLGAN_TRY(check_shape(op, "grads", grads, params.rows, params.cols, err));
  CLGAN_TRY(check_shape(op, "velocity", velocity, params.rows, params.cols, err));
  clgan_cl_launch l = clgan_cl_launch_begin(clgan_cl_of(be), CLGAN_K_SGD);
  clgan_cl_arg_f32(&l, lr);
  clgan_cl_arg_f32(&l, momentum);
  arg_view(&l, params);
  arg_view(&l, grads);
  arg_view(&l, velocity);
  clgan_cl_arg_u32(&l, params.rows);
  clgan_cl_arg_u32(&l, params.cols);
  return clgan_cl_launch_enqueue(&l, params.rows * params.cols, 0, op, err, "%zux%zu", params.rows,
                                 params.cols);
}

/* ---- rng.cl ---- */

clgan_status clgan_cl_noise(clgan_backend *be, clgan_noise_params params, clgan_rng_key key,
                            clgan_view out, clgan_error *err) {
  const char *op = "noise";
  if ((int)params.kind < 0 || params.kind > CLGAN_NOISE_NORMAL)
    return clgan_fail(err, CLGAN_E_RUNTIME, "%s: unknown noise kind %d", op, (int)params.kind);
  if (view_empty(out))
    return CLGAN_OK;
  CLGAN_TRY(clgan_cl_check_view(op, "out", out, err));
  clgan_cl_launch l = clgan_cl_launch_begin(clgan_cl_of(be), CLGAN_K_NOISE);
  clgan_cl_arg_i32(&l, (int)params.kind);
  clgan_cl_arg_f32(&l, params.range);
  clgan_cl_arg_f32(&l, params.jitter);
  clgan_cl_arg_f32(&l, params.std);
  clgan_cl_arg_u64(&l, key.seed);
  clgan_cl_arg_u32(&l, key.stream);
  clgan_cl_arg_u32(&l, key.counter);
  arg_view(&l, out);
  clgan_cl_arg_u32(&l, out.rows);
  clgan_cl_arg_u32(&l, out.cols);
  return clgan_cl_launch_enqueue(&l, out.rows * out.cols, 0, op, err, "%zux%zu, kind %d", out.rows,
                                 out.cols, (int)params.kind);
}

clgan_status clgan_cl_gather_shuffled(clgan_backend *be, clgan_view data, clgan_rng_key key,
                                      size_t first, clgan_view out, clgan_error *err) {
  const char *op = "gather_shuffled";
  if (view_empty(out))
    return CLGAN_OK;
  CLGAN_TRY(clgan_cl_check_view(op, "data", data, err));
  CLGAN_TRY(clgan_cl_check_view(op, "out", out, err));
  if (out.cols != data.cols || first > data.rows || out.rows > data.rows - first)
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "%s: rows [%zu, %zu) of a %zux%zu dataset do not fit an output of %zux%zu",
                      op, first, first + out.rows, data.rows, data.cols, out.rows, out.cols);
  clgan_cl_launch l = clgan_cl_launch_begin(clgan_cl_of(be), CLGAN_K_GATHER_SHUFFLED);
  arg_view(&l, data);
  clgan_cl_arg_u32(&l, data.rows);
  clgan_cl_arg_u64(&l, key.seed);
  clgan_cl_arg_u32(&l, key.counter);
  clgan_cl_arg_u32(&l, first);
  arg_view(&l, out);
  clgan_cl_arg_u32(&l, out.rows);
  clgan_cl_arg_u32(&l, out.cols);
  return clgan_cl_launch_enqueue(&l, out.rows, 0, op, err, "%zu rows from %zu of %zu, cols %zu",
                                 out.rows, first, data.rows, out.cols);
}
