/* Private to the opencl backend: the backend and buffer structs, the kernel
 * table and the launch helpers shared by cl_backend.c, cl_program.c,
 * cl_ops.c and cl_gemm.c. Model code never sees any of this. */
#ifndef CLGAN_CL_INTERNAL_H
#define CLGAN_CL_INTERNAL_H

#include <stdint.h>

/* First: it sets CL_TARGET_OPENCL_VERSION before any CL header is read. */
#include "clgan/opencl.h"

#include <clblast_c.h>

/* Every index a kernel computes is a 32-bit uint (cheap on every GPU), so a
 * buffer holds at most this many floats (16 GiB). The margin below 2^32
 * keeps a global size rounded up to the work-group size below 2^32 too, so
 * a work-item id always fits a uint. */
#define CLGAN_CL_MAX_BUFFER_FLOATS ((size_t)UINT32_MAX - 1023u)

struct clgan_buffer {
  cl_mem mem;
  size_t n; /* floats the views may address */
};

typedef enum clgan_cl_kernel_id {
  CLGAN_K_FILL = 0,
  CLGAN_K_SCALE,
  CLGAN_K_COPY,
  CLGAN_K_BIAS_ACT_FORWARD,
  CLGAN_K_ACT_BACKWARD,
  CLGAN_K_MBD_FORWARD,
  CLGAN_K_MBD_BACKWARD,
  CLGAN_K_BCE_LOGITS,
  CLGAN_K_ADAM,
  CLGAN_K_SGD,
  CLGAN_K_NOISE,
  CLGAN_K_GATHER_SHUFFLED,
  CLGAN_K_COUNT
} clgan_cl_kernel_id;

typedef struct clgan_cl_kernel {
  cl_kernel kernel;
  size_t local; /* fixed work-group size, a power of two */
} clgan_cl_kernel;

typedef struct clgan_cl_backend {
  clgan_backend base; /* first, so a clgan_backend * converts back */
  cl_device_id device;
  cl_context context;
  cl_command_queue queue;
  cl_program program;
  clgan_cl_kernel kernels[CLGAN_K_COUNT];
  cl_ulong max_alloc_bytes;
  cl_ulong global_mem_bytes;
  /* Throttle (see clgan_cl_launched): a marker after every
   * CLGAN_CL_MAX_AHEAD launches, and the launches since the last one. */
  cl_event marker;
  unsigned since_marker;
} clgan_cl_backend;

/* How far the host may run ahead of the device, in launches. Ops never
 * wait for the device, but an unbounded queue is not free: with ~10^5
 * pending commands PoCL 3.1 spends its time walking a list of them (perf:
 * 98% in one loop in libpocl); tests/test_e2e's 3000-step run, enqueued
 * without a read, did not finish in its 10-minute timeout, and takes about
 * 5 s throttled. Waiting for the marker of the batch before last keeps one
 * to two batches queued, so the device never runs dry. */
#define CLGAN_CL_MAX_AHEAD 256u

static inline clgan_cl_backend *clgan_cl_of(clgan_backend *be) {
  return (clgan_cl_backend *)be;
}

/* ---- cl_program.c ---- */
/* Builds the embedded program once and creates every kernel. */
clgan_status clgan_cl_program_build(clgan_cl_backend *cb, clgan_error *err);
/* Releases what clgan_cl_program_build created (safe on a partial build). */
void clgan_cl_program_release(clgan_cl_backend *cb);
const char *clgan_cl_kernel_name(clgan_cl_kernel_id id);

/* ---- cl_backend.c ---- */
/* Counts one enqueued kernel or CLBlast call and applies the throttle. */
clgan_status clgan_cl_launched(clgan_cl_backend *cb, const char *op, clgan_error *err);

/* ---- cl_ops.c: one launch of one kernel ----
 * Arguments are appended in order; the first failure is remembered so a
 * launcher can set all of them and check once. */
typedef struct clgan_cl_launch {
  clgan_cl_backend *cb;
  clgan_cl_kernel_id id;
  cl_uint next_arg;
  cl_int status;   /* first failure, CL_SUCCESS if none */
  bool arg_failed; /* the failure came from clSetKernelArg(failed_arg) */
  cl_uint failed_arg;
} clgan_cl_launch;

clgan_cl_launch clgan_cl_launch_begin(clgan_cl_backend *cb, clgan_cl_kernel_id id);
void clgan_cl_arg_mem(clgan_cl_launch *l, cl_mem mem);   /* mem may be NULL */
void clgan_cl_arg_u32(clgan_cl_launch *l, size_t value); /* caller checked the range */
void clgan_cl_arg_i32(clgan_cl_launch *l, int value);
void clgan_cl_arg_f32(clgan_cl_launch *l, float value);
void clgan_cl_arg_u64(clgan_cl_launch *l, uint64_t value);
void clgan_cl_arg_local_floats(clgan_cl_launch *l, size_t n);
/* Enqueues `groups` work-groups of the kernel's fixed size, or, when
 * groups is 0, ceil(items / local) groups. Counts the launch. Returns
 * CLGAN_OK or fails with "op: call failed: CL_NAME (shape)". */
clgan_status clgan_cl_launch_enqueue(clgan_cl_launch *l, size_t items, size_t groups,
                                     const char *op, clgan_error *err, const char *shape_fmt, ...)
    CLGAN_PRINTF(6, 7);

/* A view is usable when it has a buffer, ld >= cols and its last element
 * lies inside the buffer. Empty views (rows or cols 0) are always fine. */
clgan_status clgan_cl_check_view(const char *op, const char *what, clgan_view v, clgan_error *err);

/* The op table entries implemented in cl_ops.c. */
clgan_status clgan_cl_fill(clgan_backend *be, clgan_view dst, float value, clgan_error *err);
clgan_status clgan_cl_copy(clgan_backend *be, clgan_view src, clgan_view dst, clgan_error *err);
clgan_status clgan_cl_scale(clgan_backend *be, clgan_view dst, float factor, clgan_error *err);
clgan_status clgan_cl_bias_act_forward(clgan_backend *be, clgan_activation act, float slope,
                                       clgan_view bias, clgan_view z, clgan_view y,
                                       clgan_error *err);
clgan_status clgan_cl_act_backward(clgan_backend *be, clgan_activation act, float slope,
                                   clgan_view z, clgan_view y, clgan_view dy, clgan_view dz,
                                   clgan_view dbias, float dbias_beta, clgan_error *err);
clgan_status clgan_cl_mbd_forward(clgan_backend *be, clgan_mbd_shape shape, clgan_view m,
                                  clgan_view o, clgan_error *err);
clgan_status clgan_cl_mbd_backward(clgan_backend *be, clgan_mbd_shape shape, clgan_view m,
                                   clgan_view d_o, clgan_view dm, clgan_error *err);
clgan_status clgan_cl_bce_logits(clgan_backend *be, clgan_view logits, float target,
                                 float grad_scale, clgan_view dlogits, clgan_buffer *loss_buf,
                                 size_t loss_offset, clgan_error *err);
clgan_status clgan_cl_adam_update(clgan_backend *be, clgan_adam_step step, clgan_view params,
                                  clgan_view grads, clgan_view m, clgan_view v, clgan_error *err);
clgan_status clgan_cl_sgd_update(clgan_backend *be, float lr, float momentum, clgan_view params,
                                 clgan_view grads, clgan_view velocity, clgan_error *err);
clgan_status clgan_cl_noise(clgan_backend *be, clgan_noise_params params, clgan_rng_key key,
                            clgan_view out, clgan_error *err);
clgan_status clgan_cl_gather_shuffled(clgan_backend *be, clgan_view data, clgan_rng_key key,
                                      size_t first, clgan_view out, clgan_error *err);

/* ---- cl_gemm.c ---- */
clgan_status clgan_cl_gemm(clgan_backend *be, bool trans_a, bool trans_b, float alpha, clgan_view a,
                           clgan_view b, float beta, clgan_view c, clgan_error *err);
/* Runs NN, NT and TN once on tiny buffers so CLBlast compiles its kernels
 * at create time instead of inside the first timed step. */
clgan_status clgan_cl_gemm_warmup(clgan_cl_backend *cb, clgan_error *err);

#endif
