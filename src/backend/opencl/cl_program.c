/* Builds the embedded kernel program once per backend and creates every
 * kernel up front, so a failure shows at create time with the build log and
 * the training loop never compiles anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_internal.h"

/* Generated from the cl/ sources by tools/embed_cl.py. */
extern const char clgan_kernel_source[];

/* Standard OpenCL C 1.2 and nothing relaxed: the kernels must agree with
 * the ref backend, and -cl-fast-relaxed-math would let exp/log/division
 * drift and break the saturating activations. */
static const char base_build_options[] = "-cl-std=CL1.2";

/* CLGAN_CL_BUILD_OPTIONS is appended, for users who want e.g.
 * -cl-mad-enable on their device or need a vendor workaround. */
static void build_options(char *buf, size_t size) {
  const char *extra = getenv("CLGAN_CL_BUILD_OPTIONS");
  snprintf(buf, size, "%s%s%s", base_build_options, extra && *extra ? " " : "", extra ? extra : "");
}

/* Preferred work-group size. Fixed per kernel because PoCL compiles a new
 * work-group function for every new local size; 64 is a multiple of the
 * NVIDIA warp and equals the AMD wavefront, and at our batch sizes the
 * launch, not the occupancy, sets the cost. */
#define CLGAN_CL_PREFERRED_LOCAL 64u

static const char *const kernel_names[CLGAN_K_COUNT] = {
    [CLGAN_K_FILL] = "clgan_fill",
    [CLGAN_K_SCALE] = "clgan_scale",
    [CLGAN_K_COPY] = "clgan_copy",
    [CLGAN_K_BIAS_ACT_FORWARD] = "clgan_bias_act_forward",
    [CLGAN_K_ACT_BACKWARD] = "clgan_act_backward",
    [CLGAN_K_MBD_FORWARD] = "clgan_mbd_forward",
    [CLGAN_K_MBD_BACKWARD] = "clgan_mbd_backward",
    [CLGAN_K_BCE_LOGITS] = "clgan_bce_logits",
    [CLGAN_K_ADAM] = "clgan_adam",
    [CLGAN_K_SGD] = "clgan_sgd",
    [CLGAN_K_NOISE] = "clgan_noise",
    [CLGAN_K_GATHER_SHUFFLED] = "clgan_gather_shuffled",
};

const char *clgan_cl_kernel_name(clgan_cl_kernel_id id) {
  return id < CLGAN_K_COUNT ? kernel_names[id] : "?";
}

/* Largest power of two <= x (x >= 1): the reduction kernels halve the
 * work-group in a tree, so every local size is a power of two. */
static size_t pow2_floor(size_t x) {
  size_t p = 1;
  while (p <= x / 2)
    p *= 2;
  return p;
}

static clgan_status build_failed(clgan_cl_backend *cb, cl_int rc, const char *options,
                                 clgan_error *err) {
  size_t log_size = 0;
  char *log = NULL;
  if (clGetProgramBuildInfo(cb->program, cb->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_size) ==
          CL_SUCCESS &&
      log_size > 0) {
    log = malloc(log_size + 1);
    if (log && clGetProgramBuildInfo(cb->program, cb->device, CL_PROGRAM_BUILD_LOG, log_size, log,
                                     NULL) != CL_SUCCESS) {
      free(log);
      log = NULL;
    }
    if (log)
      log[log_size] = '\0';
  }
  /* The message buffer is finite; the log's head holds the first error. */
  clgan_fail(err, CLGAN_E_RUNTIME,
             "clBuildProgram failed: %s (options \"%s\"); CL_PROGRAM_BUILD_LOG "
             "(%zu bytes):\n%s",
             clgan_cl_error_name(rc), options, log_size, log ? log : "(unavailable)");
  free(log);
  return CLGAN_E_RUNTIME;
}

static clgan_status create_kernel(clgan_cl_backend *cb, clgan_cl_kernel_id id, clgan_error *err) {
  cl_int rc = CL_SUCCESS;
  cl_kernel k = clCreateKernel(cb->program, kernel_names[id], &rc);
  if (rc != CL_SUCCESS)
    return clgan_fail(err, CLGAN_E_RUNTIME, "clCreateKernel(%s) failed: %s", kernel_names[id],
                      clgan_cl_error_name(rc));
  cb->kernels[id].kernel = k;
  size_t wg = 0;
  rc = clGetKernelWorkGroupInfo(k, cb->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
  if (rc != CL_SUCCESS)
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "clGetKernelWorkGroupInfo(%s, CL_KERNEL_WORK_GROUP_SIZE) failed: %s",
                      kernel_names[id], clgan_cl_error_name(rc));
  if (wg == 0)
    return clgan_fail(err, CLGAN_E_RUNTIME, "kernel %s reports a work-group size of 0",
                      kernel_names[id]);
  cb->kernels[id].local = pow2_floor(wg < CLGAN_CL_PREFERRED_LOCAL ? wg : CLGAN_CL_PREFERRED_LOCAL);
  return CLGAN_OK;
}

clgan_status clgan_cl_program_build(clgan_cl_backend *cb, clgan_error *err) {
  cl_int rc = CL_SUCCESS;
  const char *src = clgan_kernel_source;
  cb->program = clCreateProgramWithSource(cb->context, 1, &src, NULL, &rc);
  if (rc != CL_SUCCESS) {
    cb->program = NULL;
    return clgan_fail(err, CLGAN_E_RUNTIME, "clCreateProgramWithSource failed: %s",
                      clgan_cl_error_name(rc));
  }
  char options[1024];
  build_options(options, sizeof options);
  rc = clBuildProgram(cb->program, 1, &cb->device, options, NULL, NULL);
  if (rc != CL_SUCCESS)
    return build_failed(cb, rc, options, err);
  for (int id = 0; id < CLGAN_K_COUNT; ++id)
    CLGAN_TRY(create_kernel(cb, (clgan_cl_kernel_id)id, err));
  return CLGAN_OK;
}

void clgan_cl_program_release(clgan_cl_backend *cb) {
  for (int id = 0; id < CLGAN_K_COUNT; ++id) {
    if (cb->kernels[id].kernel)
      clReleaseKernel(cb->kernels[id].kernel);
    cb->kernels[id].kernel = NULL;
  }
  if (cb->program)
    clReleaseProgram(cb->program);
  cb->program = NULL;
}
