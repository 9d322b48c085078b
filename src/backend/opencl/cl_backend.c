/* The opencl backend: context, one in-order queue, buffers and blocking
 * transfers, plus the op table that points at cl_ops.c and cl_gemm.c.
 * A backend is used from one thread at a time (kernel arguments are set on
 * shared cl_kernel objects). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_internal.h"

/* Zero fill so a new buffer is never read uninitialised: one blocking
 * write of zeros from offset 0 rather than a fill kernel or
 * clEnqueueFillBuffer, because Oclgrind's --uninitialized check only tracks
 * device memory that the host wrote in one piece from offset 0 (its shadow
 * for a buffer is sized by the last host write). Buffers are created at
 * setup, never per step, so the transfer costs nothing that matters.
 * Drivers allocate lazily, so an out-of-memory may only show here. */
static cl_int zero_fill(clgan_cl_backend *cb, clgan_buffer *buf, size_t bytes) {
  void *zeros = calloc(1, bytes); /* untouched zero pages: cheap even when large */
  if (!zeros)
    return CL_OUT_OF_HOST_MEMORY;
  cl_int rc = clEnqueueWriteBuffer(cb->queue, buf->mem, CL_TRUE, 0, bytes, zeros, 0, NULL, NULL);
  free(zeros);
  if (rc == CL_SUCCESS)
    cb->base.counters.transfers++;
  return rc;
}

static clgan_status cl_buffer_create(clgan_backend *be, size_t n_floats, clgan_buffer **out,
                                     clgan_error *err) {
  clgan_cl_backend *cb = clgan_cl_of(be);
  *out = NULL;
  size_t bytes = n_floats * sizeof(float);
  if (n_floats > CLGAN_CL_MAX_BUFFER_FLOATS || (cl_ulong)bytes > cb->max_alloc_bytes)
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "buffer_create: %zu floats (%zu bytes) exceed the limit of one buffer "
                      "(device CL_DEVICE_MAX_MEM_ALLOC_SIZE %llu bytes, global memory %llu bytes, "
                      "clgan's 32-bit indexing %zu floats)",
                      n_floats, bytes, (unsigned long long)cb->max_alloc_bytes,
                      (unsigned long long)cb->global_mem_bytes, CLGAN_CL_MAX_BUFFER_FLOATS);
  clgan_buffer *buf = calloc(1, sizeof *buf);
  if (!buf)
    return clgan_fail(err, CLGAN_E_RUNTIME, "buffer_create: out of host memory");
  /* OpenCL forbids empty buffers; an empty clgan buffer still owns one float. */
  size_t alloc_bytes = n_floats ? bytes : sizeof(float);
  cl_int rc = CL_SUCCESS;
  buf->mem = clCreateBuffer(cb->context, CL_MEM_READ_WRITE, alloc_bytes, NULL, &rc);
  if (rc != CL_SUCCESS) {
    free(buf);
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "buffer_create: clCreateBuffer of %zu floats (%zu bytes) failed: %s "
                      "(device CL_DEVICE_MAX_MEM_ALLOC_SIZE %llu bytes, global memory %llu bytes)",
                      n_floats, alloc_bytes, clgan_cl_error_name(rc),
                      (unsigned long long)cb->max_alloc_bytes,
                      (unsigned long long)cb->global_mem_bytes);
  }
  buf->n = n_floats;
  rc = zero_fill(cb, buf, alloc_bytes);
  if (rc != CL_SUCCESS) {
    clReleaseMemObject(buf->mem);
    free(buf);
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "buffer_create: zeroing %zu floats (%zu bytes) failed: %s (device "
                      "CL_DEVICE_MAX_MEM_ALLOC_SIZE %llu bytes, global memory %llu bytes)",
                      n_floats, alloc_bytes, clgan_cl_error_name(rc),
                      (unsigned long long)cb->max_alloc_bytes,
                      (unsigned long long)cb->global_mem_bytes);
  }
  *out = buf;
  return CLGAN_OK;
}

static void cl_buffer_destroy(clgan_backend *be, clgan_buffer *buf) {
  (void)be;
  if (!buf)
    return;
  /* Release is deferred by OpenCL until enqueued work using it is done. */
  clReleaseMemObject(buf->mem);
  free(buf);
}

static clgan_status check_range(const char *op, const clgan_buffer *buf, size_t offset, size_t n,
                                const void *host, clgan_error *err) {
  if (!buf)
    return clgan_fail(err, CLGAN_E_RUNTIME, "%s: no buffer", op);
  if (n && !host)
    return clgan_fail(err, CLGAN_E_RUNTIME, "%s: no host pointer for %zu floats", op, n);
  if (offset > buf->n || n > buf->n - offset)
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "%s: floats [%zu, %zu + %zu) lie outside a buffer of %zu floats", op, offset,
                      offset, n, buf->n);
  return CLGAN_OK;
}

static clgan_status cl_write(clgan_backend *be, clgan_buffer *buf, size_t offset, size_t n,
                             const float *src, clgan_error *err) {
  clgan_cl_backend *cb = clgan_cl_of(be);
  CLGAN_TRY(check_range("write", buf, offset, n, src, err));
  if (n == 0)
    return CLGAN_OK;
  cl_int rc = clEnqueueWriteBuffer(cb->queue, buf->mem, CL_TRUE, offset * sizeof(float),
                                   n * sizeof(float), src, 0, NULL, NULL);
  if (rc != CL_SUCCESS)
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "write: clEnqueueWriteBuffer failed: %s (%zu floats at offset %zu)",
                      clgan_cl_error_name(rc), n, offset);
  be->counters.transfers++;
  return CLGAN_OK;
}

static clgan_status cl_read(clgan_backend *be, clgan_buffer *buf, size_t offset, size_t n,
                            float *dst, clgan_error *err) {
  clgan_cl_backend *cb = clgan_cl_of(be);
  CLGAN_TRY(check_range("read", buf, offset, n, dst, err));
  if (n == 0)
    return CLGAN_OK;
  /* A blocking read on an in-order queue also waits for all earlier work,
   * so a kernel failure that only shows at execution surfaces here. */
  cl_int rc = clEnqueueReadBuffer(cb->queue, buf->mem, CL_TRUE, offset * sizeof(float),
                                  n * sizeof(float), dst, 0, NULL, NULL);
  if (rc != CL_SUCCESS)
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "read: clEnqueueReadBuffer failed: %s (%zu floats at offset %zu)",
                      clgan_cl_error_name(rc), n, offset);
  be->counters.transfers++;
  return CLGAN_OK;
}

static void drop_marker(clgan_cl_backend *cb) {
  if (cb->marker)
    clReleaseEvent(cb->marker);
  cb->marker = NULL;
}

clgan_status clgan_cl_launched(clgan_cl_backend *cb, const char *op, clgan_error *err) {
  cb->base.counters.launches++;
  if (++cb->since_marker < CLGAN_CL_MAX_AHEAD)
    return CLGAN_OK;
  cb->since_marker = 0;
  if (cb->marker) {
    cl_int rc = clWaitForEvents(1, &cb->marker);
    drop_marker(cb);
    if (rc != CL_SUCCESS)
      return clgan_fail(err, CLGAN_E_RUNTIME,
                        "%s: clWaitForEvents (queue throttle) failed: %s; an earlier kernel "
                        "failed on the device",
                        op, clgan_cl_error_name(rc));
  }
  cl_int rc = clEnqueueMarkerWithWaitList(cb->queue, 0, NULL, &cb->marker);
  if (rc != CL_SUCCESS) {
    cb->marker = NULL;
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "%s: clEnqueueMarkerWithWaitList (queue throttle) failed: %s", op,
                      clgan_cl_error_name(rc));
  }
  return CLGAN_OK;
}

static clgan_status cl_finish(clgan_backend *be, clgan_error *err) {
  clgan_cl_backend *cb = clgan_cl_of(be);
  cl_int rc = clFinish(cb->queue);
  drop_marker(cb); /* complete now */
  if (rc != CL_SUCCESS)
    return clgan_fail(err, CLGAN_E_RUNTIME, "finish: clFinish failed: %s", clgan_cl_error_name(rc));
  return CLGAN_OK;
}

static void cl_destroy(clgan_backend *be) {
  if (!be)
    return;
  clgan_cl_backend *cb = clgan_cl_of(be);
  if (cb->queue)
    clFinish(cb->queue);
  drop_marker(cb);
  clgan_cl_program_release(cb);
  if (cb->queue)
    clReleaseCommandQueue(cb->queue);
  /* CLBlast caches compiled programs per context and holds a reference to
   * the context; drop them so the context is really freed. This clears the
   * cache for every context: another live backend would recompile (from
   * the driver's disk cache) on its next gemm, which is correct, just slow. */
  if (cb->context) {
    CLBlastClearCache();
    clReleaseContext(cb->context);
  }
  free(cb);
}

static const clgan_backend_ops cl_ops = {
    .name = "opencl",
    .destroy = cl_destroy,
    .buffer_create = cl_buffer_create,
    .buffer_destroy = cl_buffer_destroy,
    .write = cl_write,
    .read = cl_read,
    .fill = clgan_cl_fill,
    .copy = clgan_cl_copy,
    .finish = cl_finish,
    .gemm = clgan_cl_gemm,
    .bias_act_forward = clgan_cl_bias_act_forward,
    .act_backward = clgan_cl_act_backward,
    .mbd_forward = clgan_cl_mbd_forward,
    .mbd_backward = clgan_cl_mbd_backward,
    .bce_logits = clgan_cl_bce_logits,
    .adam_update = clgan_cl_adam_update,
    .sgd_update = clgan_cl_sgd_update,
    .noise = clgan_cl_noise,
    .gather_shuffled = clgan_cl_gather_shuffled,
};

static clgan_status create_context(clgan_cl_backend *cb, const clgan_cl_device *device,
                                   clgan_error *err) {
  cl_int rc = CL_SUCCESS;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)device->platform, 0};
  cb->context = clCreateContext(props, 1, &device->device, NULL, NULL, &rc);
  if (rc != CL_SUCCESS) {
    cb->context = NULL;
    return clgan_fail(err, CLGAN_E_RUNTIME, "clCreateContext failed: %s", clgan_cl_error_name(rc));
  }
  /* In-order, no profiling: ops run in submission order by contract. */
  cb->queue = clCreateCommandQueue(cb->context, device->device, 0, &rc);
  if (rc != CL_SUCCESS) {
    cb->queue = NULL;
    return clgan_fail(err, CLGAN_E_RUNTIME, "clCreateCommandQueue failed: %s",
                      clgan_cl_error_name(rc));
  }
  return CLGAN_OK;
}

/* Asked of the device itself so allocation limits never depend on how the
 * inventory was filled in. */
static clgan_status query_limits(clgan_cl_backend *cb, clgan_error *err) {
  cl_int rc = clGetDeviceInfo(cb->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(cl_ulong),
                              &cb->max_alloc_bytes, NULL);
  if (rc == CL_SUCCESS)
    rc = clGetDeviceInfo(cb->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(cl_ulong),
                         &cb->global_mem_bytes, NULL);
  if (rc != CL_SUCCESS)
    return clgan_fail(err, CLGAN_E_RUNTIME, "clGetDeviceInfo (memory limits) failed: %s",
                      clgan_cl_error_name(rc));
  cl_ulong indexable = (cl_ulong)CLGAN_CL_MAX_BUFFER_FLOATS * sizeof(float);
  cb->base.max_buffer_bytes = cb->max_alloc_bytes < indexable ? cb->max_alloc_bytes : indexable;
  cb->base.total_bytes = cb->global_mem_bytes;
  return CLGAN_OK;
}

clgan_status clgan_backend_opencl_create(const clgan_cl_device *device, clgan_backend **out,
                                         clgan_error *err) {
  *out = NULL;
  clgan_cl_backend *cb = calloc(1, sizeof *cb);
  if (!cb)
    return clgan_fail(err, CLGAN_E_RUNTIME, "opencl backend: out of host memory");
  cb->base.ops = &cl_ops;
  snprintf(cb->base.device_name, sizeof cb->base.device_name, "%s", device->device_name);
  cb->device = device->device;
  clgan_status st = query_limits(cb, err);
  if (st == CLGAN_OK)
    st = create_context(cb, device, err);
  if (st == CLGAN_OK)
    st = clgan_cl_program_build(cb, err);
  if (st == CLGAN_OK)
    st = clgan_cl_gemm_warmup(cb, err);
  if (st == CLGAN_OK)
    st = cl_finish(&cb->base, err);
  if (st != CLGAN_OK) {
    clgan_error_prefix(err, "opencl backend on %s: ", device->device_name);
    cl_destroy(&cb->base);
    return st;
  }
  /* Start counting at the first op, not at the warm-up. */
  memset(&cb->base.counters, 0, sizeof cb->base.counters);
  cb->since_marker = 0;
  *out = &cb->base;
  return CLGAN_OK;
}
