/* Device inventory: every OpenCL platform and device in ICD order. The order
 * is never sorted, so a stable id P:D means the same device on every run of
 * the same machine, and the table `clgan devices` prints matches what
 * --device resolves against. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "clgan/opencl.h"

/* The ICD loader's "no platform installed" code; cl_ext.h names it
 * CL_PLATFORM_NOT_FOUND_KHR, but defining the value here avoids depending on
 * which extension headers a system ships. */
#define CLGAN_CL_PLATFORM_NOT_FOUND_KHR (-1001)

static clgan_status cl_call_failed(clgan_error *err, const char *call, cl_int rc) {
  return clgan_fail(err, CLGAN_E_RUNTIME, "%s failed: %s (%d)", call, clgan_cl_error_name(rc),
                    (int)rc);
}

/* Copies a driver string into a fixed field, dropping the leading and
 * trailing blanks some drivers pad names with (Intel CPU names start with
 * spaces), so names print aligned and substring specs match what users see. */
static void copy_trimmed(char *dst, size_t cap, const char *src, size_t n) {
  while (n > 0 && src[n - 1] == '\0')
    n--;
  while (n > 0 && isspace((unsigned char)*src)) {
    src++;
    n--;
  }
  while (n > 0 && isspace((unsigned char)src[n - 1]))
    n--;
  if (n >= cap)
    n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* Platform and device strings have no length bound in the spec, so ask for
 * the size first rather than failing with CL_INVALID_VALUE on a long name. */
static clgan_status platform_string(cl_platform_id p, cl_platform_info param, const char *what,
                                    char *dst, size_t cap, clgan_error *err) {
  size_t size = 0;
  cl_int rc = clGetPlatformInfo(p, param, 0, NULL, &size);
  char *tmp = rc == CL_SUCCESS ? malloc(size + 1) : NULL;
  if (rc == CL_SUCCESS && !tmp)
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory reading %s", what);
  if (rc == CL_SUCCESS)
    rc = clGetPlatformInfo(p, param, size, tmp, NULL);
  if (rc == CL_SUCCESS)
    copy_trimmed(dst, cap, tmp, size);
  free(tmp);
  return rc == CL_SUCCESS ? CLGAN_OK : cl_call_failed(err, what, rc);
}

static clgan_status device_string(cl_device_id d, cl_device_info param, const char *what, char *dst,
                                  size_t cap, clgan_error *err) {
  size_t size = 0;
  cl_int rc = clGetDeviceInfo(d, param, 0, NULL, &size);
  char *tmp = rc == CL_SUCCESS ? malloc(size + 1) : NULL;
  if (rc == CL_SUCCESS && !tmp)
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory reading %s", what);
  if (rc == CL_SUCCESS)
    rc = clGetDeviceInfo(d, param, size, tmp, NULL);
  if (rc == CL_SUCCESS)
    copy_trimmed(dst, cap, tmp, size);
  free(tmp);
  return rc == CL_SUCCESS ? CLGAN_OK : cl_call_failed(err, what, rc);
}

static clgan_status device_scalar(cl_device_id d, cl_device_info param, const char *what, void *dst,
                                  size_t size, clgan_error *err) {
  cl_int rc = clGetDeviceInfo(d, param, size, dst, NULL);
  return rc == CL_SUCCESS ? CLGAN_OK : cl_call_failed(err, what, rc);
}

static clgan_status fill_device(clgan_cl_device *dev, clgan_error *err) {
  cl_device_id d = dev->device;
  CLGAN_TRY(device_scalar(d, CL_DEVICE_TYPE, "clGetDeviceInfo(CL_DEVICE_TYPE)", &dev->type,
                          sizeof dev->type, err));
  CLGAN_TRY(device_string(d, CL_DEVICE_NAME, "clGetDeviceInfo(CL_DEVICE_NAME)", dev->device_name,
                          sizeof dev->device_name, err));
  CLGAN_TRY(device_string(d, CL_DEVICE_VENDOR, "clGetDeviceInfo(CL_DEVICE_VENDOR)", dev->vendor,
                          sizeof dev->vendor, err));
  CLGAN_TRY(device_string(d, CL_DEVICE_OPENCL_C_VERSION,
                          "clGetDeviceInfo(CL_DEVICE_OPENCL_C_VERSION)", dev->opencl_c_version,
                          sizeof dev->opencl_c_version, err));
  CLGAN_TRY(device_string(d, CL_DRIVER_VERSION, "clGetDeviceInfo(CL_DRIVER_VERSION)",
                          dev->driver_version, sizeof dev->driver_version, err));
  CLGAN_TRY(device_scalar(d, CL_DEVICE_MAX_COMPUTE_UNITS,
                          "clGetDeviceInfo(CL_DEVICE_MAX_COMPUTE_UNITS)", &dev->compute_units,
                          sizeof dev->compute_units, err));
  CLGAN_TRY(device_scalar(d, CL_DEVICE_GLOBAL_MEM_SIZE,
                          "clGetDeviceInfo(CL_DEVICE_GLOBAL_MEM_SIZE)", &dev->global_mem_bytes,
                          sizeof dev->global_mem_bytes, err));
  CLGAN_TRY(device_scalar(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE,
                          "clGetDeviceInfo(CL_DEVICE_MAX_MEM_ALLOC_SIZE)", &dev->max_alloc_bytes,
                          sizeof dev->max_alloc_bytes, err));
  CLGAN_TRY(device_scalar(d, CL_DEVICE_LOCAL_MEM_SIZE, "clGetDeviceInfo(CL_DEVICE_LOCAL_MEM_SIZE)",
                          &dev->local_mem_bytes, sizeof dev->local_mem_bytes, err));
  return device_scalar(d, CL_DEVICE_MAX_WORK_GROUP_SIZE,
                       "clGetDeviceInfo(CL_DEVICE_MAX_WORK_GROUP_SIZE)", &dev->max_work_group_size,
                       sizeof dev->max_work_group_size, err);
}

static void add_note(clgan_cl_inventory *inv, unsigned p, const char *platform_name,
                     const char *problem) {
  clgan_cl_platform_note *note = &inv->notes[inv->n_notes++];
  note->platform_index = p;
  snprintf(note->platform_name, sizeof note->platform_name, "%s", platform_name);
  /* Long driver messages are cut to the note's size on purpose. */
  size_t len = strnlen(problem, sizeof note->problem - 1);
  memcpy(note->problem, problem, len);
  note->problem[len] = '\0';
}

/* Appends the n devices of platform p to inv, in ICD order. */
static clgan_status load_devices(clgan_cl_inventory *inv, unsigned p, cl_platform_id platform,
                                 const char *name, cl_uint n, clgan_error *err) {
  cl_device_id *ids = malloc(n * sizeof *ids);
  clgan_cl_device *grown = realloc(inv->devices, (inv->n_devices + n) * sizeof *grown);
  if (grown)
    inv->devices = grown;
  if (!ids || !grown) {
    free(ids);
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory listing %u devices", (unsigned)n);
  }
  cl_int rc = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, n, ids, NULL);
  clgan_status st = rc == CL_SUCCESS ? CLGAN_OK : cl_call_failed(err, "clGetDeviceIDs", rc);
  for (cl_uint i = 0; st == CLGAN_OK && i < n; i++) {
    clgan_cl_device *dev = &inv->devices[inv->n_devices];
    memset(dev, 0, sizeof *dev);
    dev->platform_index = p;
    dev->device_index = i;
    dev->flat_index = (unsigned)inv->n_devices;
    dev->platform = platform;
    dev->device = ids[i];
    snprintf(dev->platform_name, sizeof dev->platform_name, "%s", name);
    st = fill_device(dev, err);
    if (st == CLGAN_OK)
      inv->n_devices++;
    else
      clgan_error_prefix(err, "device %u: ", (unsigned)i);
  }
  free(ids);
  return st;
}

/* Appends platform p's devices, or a note when it has none. */
static clgan_status load_platform(clgan_cl_inventory *inv, unsigned p, cl_platform_id platform,
                                  clgan_error *err) {
  char name[256];
  clgan_status st = platform_string(platform, CL_PLATFORM_NAME,
                                    "clGetPlatformInfo(CL_PLATFORM_NAME)", name, sizeof name, err);
  if (st != CLGAN_OK) {
    add_note(inv, p, "(unnamed platform)", err->message);
    return CLGAN_OK;
  }
  cl_uint n = 0;
  cl_int rc = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, NULL, &n);
  if (rc == CL_DEVICE_NOT_FOUND || (rc == CL_SUCCESS && n == 0)) {
    add_note(inv, p, name, "no devices");
    return CLGAN_OK;
  }
  size_t before = inv->n_devices;
  st = rc == CL_SUCCESS ? load_devices(inv, p, platform, name, n, err)
                        : cl_call_failed(err, "clGetDeviceIDs(CL_DEVICE_TYPE_ALL)", rc);
  if (st != CLGAN_OK) {
    /* One broken driver must not hide the others: list this platform as
     * unusable, with the reason, and go on. */
    inv->n_devices = before;
    add_note(inv, p, name, err->message);
    clgan_error_clear(err);
  }
  return CLGAN_OK;
}

clgan_status clgan_cl_inventory_load(clgan_cl_inventory *inv, clgan_error *err) {
  memset(inv, 0, sizeof *inv);
  cl_uint n = 0;
  cl_int rc = clGetPlatformIDs(0, NULL, &n);
  /* No ICD installed is an answer ("nothing here"), not a failure; callers
   * turn it into advice on installing a driver. */
  if (rc == CLGAN_CL_PLATFORM_NOT_FOUND_KHR || (rc == CL_SUCCESS && n == 0))
    return CLGAN_OK;
  if (rc != CL_SUCCESS)
    return cl_call_failed(err, "clGetPlatformIDs", rc);

  cl_platform_id *platforms = malloc(n * sizeof *platforms);
  inv->notes = calloc(n, sizeof *inv->notes);
  if (!platforms || !inv->notes) {
    free(platforms);
    clgan_cl_inventory_free(inv);
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory listing %u OpenCL platforms",
                      (unsigned)n);
  }
  rc = clGetPlatformIDs(n, platforms, NULL);
  clgan_status st = rc == CL_SUCCESS ? CLGAN_OK : cl_call_failed(err, "clGetPlatformIDs", rc);
  inv->n_platforms = n;
  for (cl_uint p = 0; st == CLGAN_OK && p < n; p++)
    st = load_platform(inv, p, platforms[p], err);
  free(platforms);
  if (st != CLGAN_OK)
    clgan_cl_inventory_free(inv);
  return st;
}

void clgan_cl_inventory_free(clgan_cl_inventory *inv) {
  if (!inv)
    return;
  /* Device ids from clGetDeviceIDs are root devices: nothing to release. */
  free(inv->devices);
  free(inv->notes);
  memset(inv, 0, sizeof *inv);
}

const char *clgan_cl_device_type_name(cl_device_type type) {
  /* Drivers may also set CL_DEVICE_TYPE_DEFAULT, so test the kind bits. */
  if (type & CL_DEVICE_TYPE_GPU)
    return "GPU";
  if (type & CL_DEVICE_TYPE_ACCELERATOR)
    return "ACCELERATOR";
  if (type & CL_DEVICE_TYPE_CPU)
    return "CPU";
  if (type & CL_DEVICE_TYPE_CUSTOM)
    return "CUSTOM";
  return "OTHER";
}
