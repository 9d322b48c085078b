/* The OpenCL side of clgan: device inventory and selection (src/device/) and
 * the opencl backend (src/backend/opencl/). Only code that chooses a device
 * includes this header; model code sees the backend op table alone. */
#ifndef CLGAN_OPENCL_H
#define CLGAN_OPENCL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>

#include "clgan/backend.h"
#include "clgan/status.h"

typedef struct clgan_cl_device {
  unsigned platform_index; /* P in the stable id P:D (0-based, ICD order) */
  unsigned device_index;   /* D in P:D */
  unsigned flat_index;     /* position in the flat list over all platforms */
  cl_platform_id platform;
  cl_device_id device;
  cl_device_type type;
  char platform_name[256];
  char device_name[256];
  char vendor[256];
  char opencl_c_version[128]; /* CL_DEVICE_OPENCL_C_VERSION */
  char driver_version[128];
  cl_uint compute_units;
  cl_ulong global_mem_bytes;
  cl_ulong max_alloc_bytes;
  cl_ulong local_mem_bytes;
  size_t max_work_group_size;
} clgan_cl_device;

typedef struct clgan_cl_platform_note {
  unsigned platform_index;
  char platform_name[256];
  char problem[256]; /* e.g. "no devices" */
} clgan_cl_platform_note;

typedef struct clgan_cl_inventory {
  clgan_cl_device *devices; /* ICD order: platform, then device; never sorted */
  size_t n_devices;
  unsigned n_platforms;
  clgan_cl_platform_note *notes; /* platforms with no usable device */
  size_t n_notes;
} clgan_cl_inventory;

/* Enumerates every platform and device. No platform at all is not an error
 * here (n_platforms = 0); callers decide how to report it. */
clgan_status clgan_cl_inventory_load(clgan_cl_inventory *inv, clgan_error *err);
void clgan_cl_inventory_free(clgan_cl_inventory *inv);

/* "GPU", "CPU", "ACCELERATOR", "CUSTOM" or "OTHER". */
const char *clgan_cl_device_type_name(cl_device_type type);

/* Resolves a device SPEC: "P:D", a flat index "N", "gpu" / "cpu" /
 * "accelerator", or a case-insensitive substring of "platform name device
 * name". spec NULL or "" picks the default (first GPU, else first
 * accelerator, else first CPU) and sets *chose_default. origin names where
 * the spec came from ("--device", "CLGAN_DEVICE", "config device.spec") for
 * messages. No match, or a match of several devices, is CLGAN_E_INPUT with
 * a message listing the candidates. */
clgan_status clgan_cl_select(const clgan_cl_inventory *inv, const char *spec, const char *origin,
                             size_t *index_out, int *chose_default, clgan_error *err);

/* The table printed by `clgan devices`. */
void clgan_cl_print_inventory(FILE *out, const clgan_cl_inventory *inv);

/* Human name for a CL error code ("CL_OUT_OF_RESOURCES"). */
const char *clgan_cl_error_name(cl_int code);

/* Creates the opencl backend on one device: context, in-order queue, the
 * kernel program built once with -cl-std=CL1.2, and a CLBlast warm-up so the
 * first timed step does not pay CLBlast's kernel compilation. */
clgan_status clgan_backend_opencl_create(const clgan_cl_device *device, clgan_backend **out,
                                         clgan_error *err);

#endif
