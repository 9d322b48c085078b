#include "backend_choice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clgan/opencl.h"

clgan_device_request clgan_device_request_for(const clgan_config *cfg, const char *device_flag) {
  clgan_device_request req = {cfg->device.backend, NULL, NULL};
  const char *env = getenv("CLGAN_DEVICE");
  if (device_flag) {
    req.spec = device_flag;
    req.origin = "--device";
  } else if (env && *env) {
    req.spec = env;
    req.origin = "CLGAN_DEVICE";
  } else if (cfg->device.spec[0]) {
    req.spec = cfg->device.spec;
    req.origin = "config device.select";
  }
  return req;
}

static clgan_status open_opencl(const clgan_device_request *req, bool quiet, clgan_backend **out,
                                clgan_error *err) {
  clgan_cl_inventory inv;
  CLGAN_TRY(clgan_cl_inventory_load(&inv, err));
  size_t index = 0;
  int chose_default = 0;
  clgan_status st = clgan_cl_select(&inv, req->spec, req->origin, &index, &chose_default, err);
  if (st == CLGAN_OK) {
    const clgan_cl_device *d = &inv.devices[index];
    if (!quiet)
      fprintf(stderr, "clgan: device %u:%u  %s  %s (%s)%s\n", d->platform_index, d->device_index,
              clgan_cl_device_type_name(d->type), d->device_name, d->platform_name,
              chose_default ? "  [default; choose with --device]" : "");
    st = clgan_backend_opencl_create(d, out, err);
  } else if (inv.n_devices == 0) {
    size_t len = strlen(err->message);
    snprintf(err->message + len, sizeof err->message - len,
             " (or run on the host with --backend ref)");
  }
  clgan_cl_inventory_free(&inv);
  return st;
}

clgan_status clgan_open_backend(const clgan_device_request *req, bool quiet, clgan_backend **out,
                                clgan_error *err) {
  if (req->kind == CLGAN_BACKEND_REF) {
    if (!quiet)
      fprintf(stderr, "clgan: backend ref (plain C on the host)%s%s%s\n",
              req->spec && *req->spec ? "; ignoring " : "",
              req->spec && *req->spec ? req->origin : "",
              req->spec && *req->spec ? " (a device choice applies to --backend opencl)" : "");
    return clgan_backend_ref_create(out, err);
  }
  return open_opencl(req, quiet, out, err);
}
