/* The reference backend: every op in plain C on the host, written for
 * clarity rather than speed. It is the oracle the device kernels are tested
 * against and the fallback where no OpenCL device exists. Sums accumulate
 * in double so the reference is at least as accurate as any device. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clgan/backend.h"
#include "clgan_shared.h"

struct clgan_buffer {
  size_t n;
  float *data;
};

typedef struct ref_backend {
  clgan_backend base;
} ref_backend;

static float *at(clgan_view v, size_t r, size_t c) {
  return v.buf->data + v.offset + r * v.ld + c;
}

static clgan_status check_view(const char *op, const char *name, clgan_view v, clgan_error *err) {
  if (v.rows == 0 || v.cols == 0)
    return CLGAN_OK;
  if (!v.buf)
    return clgan_fail(err, CLGAN_E_RUNTIME, "%s: view %s has no buffer", op, name);
  if (v.ld < v.cols)
    return clgan_fail(err, CLGAN_E_RUNTIME, "%s: view %s has ld %zu < cols %zu", op, name, v.ld,
                      v.cols);
  /* Overflow-safe form of offset + (rows-1)·ld + cols <= n. */
  size_t n = v.buf->n;
  bool fits = v.offset <= n && v.cols <= n - v.offset &&
              (v.rows - 1 == 0 || (v.ld <= (n - v.offset - v.cols) / (v.rows - 1) &&
                                   (v.rows - 1) * v.ld <= n - v.offset - v.cols));
  if (!fits)
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "%s: view %s (%zu×%zu, ld %zu, offset %zu) exceeds its buffer of %zu floats",
                      op, name, v.rows, v.cols, v.ld, v.offset, v.buf->n);
  return CLGAN_OK;
}

static clgan_status check_same_shape(const char *op, clgan_view a, clgan_view b, clgan_error *err) {
  if (a.rows != b.rows || a.cols != b.cols)
    return clgan_fail(err, CLGAN_E_RUNTIME, "%s: shape mismatch %zu×%zu vs %zu×%zu", op, a.rows,
                      a.cols, b.rows, b.cols);
  return CLGAN_OK;
}

static void ref_destroy(clgan_backend *be) {
  free(be);
}

static clgan_status ref_buffer_create(clgan_backend *be, size_t n, clgan_buffer **out,
                                      clgan_error *err) {
  (void)be;
  clgan_buffer *b = malloc(sizeof *b);
  float *data = calloc(n ? n : 1, sizeof(float));
  if (!b || !data) {
    free(b);
    free(data);
    return clgan_fail(err, CLGAN_E_RUNTIME, "ref backend: cannot allocate %zu floats", n);
  }
  b->n = n;
  b->data = data;
  *out = b;
  return CLGAN_OK;
}

static void ref_buffer_destroy(clgan_backend *be, clgan_buffer *buf) {
  (void)be;
  if (buf) {
    free(buf->data);
    free(buf);
  }
}

static clgan_status check_range(const char *op, clgan_buffer *buf, size_t offset, size_t n,
                                clgan_error *err) {
  if (!buf || offset > buf->n || n > buf->n - offset)
    return clgan_fail(err, CLGAN_E_RUNTIME, "%s: range [%zu, %zu) outside buffer of %zu floats", op,
                      offset, offset + n, buf ? buf->n : 0);
  return CLGAN_OK;
}

static clgan_status ref_write(clgan_backend *be, clgan_buffer *buf, size_t offset, size_t n,
                              const float *src, clgan_error *err) {
  CLGAN_TRY(check_range("write", buf, offset, n, err));
  memcpy(buf->data + offset, src, n * sizeof(float));
  be->counters.transfers++;
  return CLGAN_OK;
}

static clgan_status ref_read(clgan_backend *be, clgan_buffer *buf, size_t offset, size_t n,
                             float *dst, clgan_error *err) {
  CLGAN_TRY(check_range("read", buf, offset, n, err));
  memcpy(dst, buf->data + offset, n * sizeof(float));
  be->counters.transfers++;
  return CLGAN_OK;
}

static clgan_status ref_fill(clgan_backend *be, clgan_view dst, float value, clgan_error *err) {
  CLGAN_TRY(check_view("fill", "dst", dst, err));
  for (size_t r = 0; r < dst.rows; ++r)
    for (size_t c = 0; c < dst.cols; ++c)
      *at(dst, r, c) = value;
  be->counters.launches++;
  return CLGAN_OK;
}

static clgan_status ref_copy(clgan_backend *be, clgan_view src, clgan_view dst, clgan_error *err) {
  CLGAN_TRY(check_view("copy", "src", src, err));
  CLGAN_TRY(check_view("copy", "dst", dst, err));
  CLGAN_TRY(check_same_shape("copy", src, dst, err));
  for (size_t r = 0; r < src.rows; ++r)
    memmove(at(dst, r, 0), at(src, r, 0), src.cols * sizeof(float));
  be->counters.launches++;
  return CLGAN_OK;
}

static clgan_status ref_finish(clgan_backend *be, clgan_error *err) {
  (void)be;
  (void)err;
  return CLGAN_OK;
}

static float op_at(clgan_view v, bool trans, size_t r, size_t c) {
  return trans ? *at(v, c, r) : *at(v, r, c);
}

static clgan_status ref_gemm(clgan_backend *be, bool trans_a, bool trans_b, float alpha,
                             clgan_view a, clgan_view b, float beta, clgan_view c,
                             clgan_error *err) {
  CLGAN_TRY(check_view("gemm", "A", a, err));
  CLGAN_TRY(check_view("gemm", "B", b, err));
  CLGAN_TRY(check_view("gemm", "C", c, err));
  size_t m = trans_a ? a.cols : a.rows, k = trans_a ? a.rows : a.cols;
  size_t kb = trans_b ? b.cols : b.rows, n = trans_b ? b.rows : b.cols;
  if (m != c.rows || n != c.cols || k != kb)
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "gemm: op(A) %zu×%zu · op(B) %zu×%zu does not give C %zu×%zu", m, k, kb, n,
                      c.rows, c.cols);
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j) {
      double sum = 0.0;
      for (size_t p = 0; p < k; ++p)
        sum += (double)op_at(a, trans_a, i, p) * (double)op_at(b, trans_b, p, j);
      float *dst = at(c, i, j);
      double old = beta == 0.0f ? 0.0 : (double)beta * (double)*dst;
      *dst = (float)((double)alpha * sum + old);
    }
  be->counters.launches++;
  return CLGAN_OK;
}

static clgan_status ref_bias_act_forward(clgan_backend *be, clgan_activation act, float slope,
                                         clgan_view bias, clgan_view z, clgan_view y,
                                         clgan_error *err) {
  CLGAN_TRY(check_view("bias_act_forward", "bias", bias, err));
  CLGAN_TRY(check_view("bias_act_forward", "z", z, err));
  CLGAN_TRY(check_view("bias_act_forward", "y", y, err));
  CLGAN_TRY(check_same_shape("bias_act_forward", z, y, err));
  if (bias.cols != z.cols || bias.rows != 1)
    return clgan_fail(err, CLGAN_E_RUNTIME, "bias_act_forward: bias is %zu×%zu, want 1×%zu",
                      bias.rows, bias.cols, z.cols);
  for (size_t r = 0; r < z.rows; ++r)
    for (size_t c = 0; c < z.cols; ++c) {
      float v = *at(z, r, c) + *at(bias, 0, c);
      *at(z, r, c) = v;
      *at(y, r, c) = clgan_act_forward((int)act, slope, v);
    }
  be->counters.launches++;
  return CLGAN_OK;
}

static clgan_status ref_act_backward(clgan_backend *be, clgan_activation act, float slope,
                                     clgan_view z, clgan_view y, clgan_view dy, clgan_view dz,
                                     clgan_view dbias, float dbias_beta, clgan_error *err) {
  const char *op = "act_backward";
  CLGAN_TRY(check_view(op, "z", z, err));
  CLGAN_TRY(check_view(op, "y", y, err));
  CLGAN_TRY(check_view(op, "dy", dy, err));
  CLGAN_TRY(check_view(op, "dz", dz, err));
  CLGAN_TRY(check_same_shape(op, z, y, err));
  CLGAN_TRY(check_same_shape(op, z, dy, err));
  CLGAN_TRY(check_same_shape(op, z, dz, err));
  if (dbias.buf) {
    CLGAN_TRY(check_view(op, "dbias", dbias, err));
    if (dbias.rows != 1 || dbias.cols != z.cols)
      return clgan_fail(err, CLGAN_E_RUNTIME, "%s: dbias is %zu×%zu, want 1×%zu", op, dbias.rows,
                        dbias.cols, z.cols);
  }
  for (size_t c = 0; c < z.cols; ++c) {
    double sum = 0.0;
    for (size_t r = 0; r < z.rows; ++r) {
      float g = *at(dy, r, c) * clgan_act_derivative((int)act, slope, *at(z, r, c), *at(y, r, c));
      *at(dz, r, c) = g;
      sum += g;
    }
    if (dbias.buf) {
      float *db = at(dbias, 0, c);
      *db = (float)((dbias_beta == 0.0f ? 0.0 : (double)dbias_beta * *db) + sum);
    }
  }
  be->counters.launches++;
  return CLGAN_OK;
}

static clgan_status check_mbd(const char *op, clgan_mbd_shape s, clgan_view m, clgan_view other,
                              size_t other_cols, clgan_error *err) {
  CLGAN_TRY(check_view(op, "m", m, err));
  CLGAN_TRY(check_view(op, "o", other, err));
  if (m.cols != s.kernels * s.kernel_dim || other.cols != other_cols || other.rows != m.rows)
    return clgan_fail(err, CLGAN_E_RUNTIME, "%s: shapes m %zu×%zu, out %zu×%zu for K=%zu C=%zu", op,
                      m.rows, m.cols, other.rows, other.cols, s.kernels, s.kernel_dim);
  return CLGAN_OK;
}

static double mbd_scale(clgan_mbd_shape s, size_t batch) {
  if (!s.mean)
    return 1.0;
  size_t count = s.include_self ? batch : batch - 1;
  return count ? 1.0 / (double)count : 0.0;
}

/* exp(-L1 distance) between rows i and j for kernel k. */
static double mbd_similarity(clgan_mbd_shape s, clgan_view m, size_t i, size_t j, size_t k) {
  double d = 0.0;
  for (size_t c = 0; c < s.kernel_dim; ++c)
    d += fabs((double)*at(m, i, k * s.kernel_dim + c) - (double)*at(m, j, k * s.kernel_dim + c));
  return exp(-d);
}

static clgan_status ref_mbd_forward(clgan_backend *be, clgan_mbd_shape s, clgan_view m,
                                    clgan_view o, clgan_error *err) {
  CLGAN_TRY(check_mbd("mbd_forward", s, m, o, s.kernels, err));
  double scale = mbd_scale(s, m.rows);
  for (size_t i = 0; i < m.rows; ++i)
    for (size_t k = 0; k < s.kernels; ++k) {
      double sum = 0.0;
      for (size_t j = 0; j < m.rows; ++j)
        if (j != i || s.include_self)
          sum += mbd_similarity(s, m, i, j, k);
      *at(o, i, k) = (float)(scale * sum);
    }
  be->counters.launches++;
  return CLGAN_OK;
}

static clgan_status ref_mbd_backward(clgan_backend *be, clgan_mbd_shape s, clgan_view m,
                                     clgan_view d_o, clgan_view dm, clgan_error *err) {
  CLGAN_TRY(check_mbd("mbd_backward", s, m, d_o, s.kernels, err));
  CLGAN_TRY(check_view("mbd_backward", "dm", dm, err));
  CLGAN_TRY(check_same_shape("mbd_backward", m, dm, err));
  double scale = mbd_scale(s, m.rows);
  /* o_jk contains e_ijk for every j, and o_ik contains all e_ijk, so
   * dM_ikc = -s Σ_j (dO_ik + dO_jk) e_ijk sign(M_ikc - M_jkc); the self
   * pair has sign 0 and drops out whether or not it is counted. */
  for (size_t i = 0; i < m.rows; ++i)
    for (size_t k = 0; k < s.kernels; ++k)
      for (size_t c = 0; c < s.kernel_dim; ++c) {
        size_t col = k * s.kernel_dim + c;
        double sum = 0.0;
        for (size_t j = 0; j < m.rows; ++j) {
          float diff = *at(m, i, col) - *at(m, j, col);
          double sgn = clgan_sign0(diff);
          if (sgn != 0.0)
            sum += ((double)*at(d_o, i, k) + (double)*at(d_o, j, k)) *
                   mbd_similarity(s, m, i, j, k) * sgn;
        }
        *at(dm, i, col) = (float)(-scale * sum);
      }
  be->counters.launches++;
  return CLGAN_OK;
}

static clgan_status ref_bce_logits(clgan_backend *be, clgan_view logits, float target,
                                   float grad_scale, clgan_view dlogits, clgan_buffer *loss_buf,
                                   size_t loss_offset, clgan_error *err) {
  CLGAN_TRY(check_view("bce_logits", "logits", logits, err));
  CLGAN_TRY(check_view("bce_logits", "dlogits", dlogits, err));
  CLGAN_TRY(check_same_shape("bce_logits", logits, dlogits, err));
  CLGAN_TRY(check_range("bce_logits", loss_buf, loss_offset, 1, err));
  if (logits.cols != 1)
    return clgan_fail(err, CLGAN_E_RUNTIME, "bce_logits: logits have %zu columns, want 1",
                      logits.cols);
  double sum = 0.0;
  for (size_t i = 0; i < logits.rows; ++i) {
    float l = *at(logits, i, 0);
    sum += clgan_bce_logit(l, target);
    *at(dlogits, i, 0) = grad_scale * (clgan_sigmoid(l) - target);
  }
  loss_buf->data[loss_offset] = logits.rows ? (float)(sum / (double)logits.rows) : 0.0f;
  be->counters.launches++;
  return CLGAN_OK;
}

static clgan_status check_flat(const char *op, clgan_view p, clgan_view other, clgan_error *err) {
  CLGAN_TRY(check_view(op, "params", p, err));
  CLGAN_TRY(check_view(op, "state", other, err));
  return check_same_shape(op, p, other, err);
}

static clgan_status ref_adam_update(clgan_backend *be, clgan_adam_step st, clgan_view p,
                                    clgan_view g, clgan_view m, clgan_view v, clgan_error *err) {
  CLGAN_TRY(check_flat("adam_update", p, g, err));
  CLGAN_TRY(check_flat("adam_update", p, m, err));
  CLGAN_TRY(check_flat("adam_update", p, v, err));
  for (size_t r = 0; r < p.rows; ++r)
    for (size_t c = 0; c < p.cols; ++c) {
      float grad = *at(g, r, c);
      float mm = st.beta1 * *at(m, r, c) + (1.0f - st.beta1) * grad;
      float vv = st.beta2 * *at(v, r, c) + (1.0f - st.beta2) * grad * grad;
      *at(m, r, c) = mm;
      *at(v, r, c) = vv;
      *at(p, r, c) -= st.lr * mm / (sqrtf(vv) + st.eps);
    }
  be->counters.launches++;
  return CLGAN_OK;
}

static clgan_status ref_sgd_update(clgan_backend *be, float lr, float momentum, clgan_view p,
                                   clgan_view g, clgan_view vel, clgan_error *err) {
  CLGAN_TRY(check_flat("sgd_update", p, g, err));
  CLGAN_TRY(check_flat("sgd_update", p, vel, err));
  for (size_t r = 0; r < p.rows; ++r)
    for (size_t c = 0; c < p.cols; ++c) {
      float v = momentum * *at(vel, r, c) + *at(g, r, c);
      *at(vel, r, c) = v;
      *at(p, r, c) -= lr * v;
    }
  be->counters.launches++;
  return CLGAN_OK;
}

static clgan_status ref_noise(clgan_backend *be, clgan_noise_params np, clgan_rng_key key,
                              clgan_view out, clgan_error *err) {
  CLGAN_TRY(check_view("noise", "out", out, err));
  for (size_t r = 0; r < out.rows; ++r)
    for (size_t c = 0; c < out.cols; ++c)
      *at(out, r, c) = clgan_noise_value((int)np.kind, np.range, np.jitter, np.std, (clgan_u32)r,
                                         (clgan_u32)c, (clgan_u32)out.rows, (clgan_u32)out.cols,
                                         key.counter, key.stream, key.seed);
  be->counters.launches++;
  return CLGAN_OK;
}

static clgan_status ref_gather_shuffled(clgan_backend *be, clgan_view data, clgan_rng_key key,
                                        size_t first, clgan_view out, clgan_error *err) {
  CLGAN_TRY(check_view("gather_shuffled", "data", data, err));
  CLGAN_TRY(check_view("gather_shuffled", "out", out, err));
  if (data.cols != out.cols || first + out.rows > data.rows)
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "gather_shuffled: rows [%zu, %zu) of %zu×%zu data into %zu columns", first,
                      first + out.rows, data.rows, data.cols, out.cols);
  for (size_t r = 0; r < out.rows; ++r) {
    size_t src = clgan_permute((clgan_u32)(first + r), (clgan_u32)data.rows, key.counter, key.seed);
    memcpy(at(out, r, 0), at(data, src, 0), out.cols * sizeof(float));
  }
  be->counters.launches++;
  return CLGAN_OK;
}

static const clgan_backend_ops ref_ops = {
    .name = "ref",
    .destroy = ref_destroy,
    .buffer_create = ref_buffer_create,
    .buffer_destroy = ref_buffer_destroy,
    .write = ref_write,
    .read = ref_read,
    .fill = ref_fill,
    .copy = ref_copy,
    .finish = ref_finish,
    .gemm = ref_gemm,
    .bias_act_forward = ref_bias_act_forward,
    .act_backward = ref_act_backward,
    .mbd_forward = ref_mbd_forward,
    .mbd_backward = ref_mbd_backward,
    .bce_logits = ref_bce_logits,
    .adam_update = ref_adam_update,
    .sgd_update = ref_sgd_update,
    .noise = ref_noise,
    .gather_shuffled = ref_gather_shuffled,
};

clgan_status clgan_backend_ref_create(clgan_backend **out, clgan_error *err) {
  ref_backend *be = calloc(1, sizeof *be);
  if (!be)
    return clgan_fail(err, CLGAN_E_RUNTIME, "ref backend: out of memory");
  be->base.ops = &ref_ops;
  strcpy(be->base.device_name, "host CPU (reference C backend)");
  *out = &be->base;
  return CLGAN_OK;
}
