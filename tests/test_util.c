#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "clgan/opencl.h"

static void die(const char *what, const clgan_error *err) {
  fprintf(stderr, "test setup failed: %s: %s\n", what, err->message);
  exit(99); /* meson: hard error, not a test failure */
}

clgan_backend *test_opencl_backend_or_skip(void) {
  clgan_error err = {0};
  clgan_cl_inventory inv = {0};
  if (clgan_cl_inventory_load(&inv, &err) != CLGAN_OK)
    die("listing OpenCL devices", &err);
  if (inv.n_devices == 0) {
    printf("1..0 # SKIP no OpenCL device\n");
    clgan_cl_inventory_free(&inv);
    return NULL;
  }
  size_t index = 0;
  int chose_default = 0;
  const char *spec = getenv("CLGAN_DEVICE");
  if (clgan_cl_select(&inv, spec, "CLGAN_DEVICE", &index, &chose_default, &err) != CLGAN_OK)
    die("choosing the OpenCL device", &err);
  clgan_backend *be = NULL;
  if (clgan_backend_opencl_create(&inv.devices[index], &be, &err) != CLGAN_OK)
    die("creating the opencl backend", &err);
  fprintf(stderr, "# device: %s\n", be->device_name);
  clgan_cl_inventory_free(&inv);
  return be;
}

clgan_backend *test_ref_backend(void) {
  clgan_error err = {0};
  clgan_backend *be = NULL;
  if (clgan_backend_ref_create(&be, &err) != CLGAN_OK)
    die("creating the ref backend", &err);
  return be;
}

void test_fill_uniform(float *x, size_t n, float lo, float hi, unsigned seed) {
  /* xorshift32: deterministic and independent of libc's rand(). */
  unsigned s = seed ? seed : 1u;
  for (size_t i = 0; i < n; ++i) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    x[i] = lo + (hi - lo) * (float)(s >> 8) / 16777216.0f;
  }
}

clgan_buffer *test_upload(clgan_backend *be, const float *host, size_t n) {
  clgan_error err = {0};
  clgan_buffer *buf = NULL;
  if (be->ops->buffer_create(be, n, &buf, &err) != CLGAN_OK)
    die("allocating a test buffer", &err);
  if (host && n && be->ops->write(be, buf, 0, n, host, &err) != CLGAN_OK)
    die("uploading test data", &err);
  return buf;
}

float *test_download(clgan_backend *be, clgan_buffer *buf, size_t n) {
  clgan_error err = {0};
  float *host = malloc((n ? n : 1) * sizeof(float));
  if (!host) {
    fprintf(stderr, "out of memory\n");
    exit(99);
  }
  if (n && be->ops->read(be, buf, 0, n, host, &err) != CLGAN_OK)
    die("downloading test data", &err);
  return host;
}

size_t test_compare(const char *what, const float *got, const float *want, size_t n, float atol,
                    float rtol) {
  size_t bad = 0, worst = 0;
  double worst_excess = -1.0;
  for (size_t i = 0; i < n; ++i) {
    double a = got[i], b = want[i];
    if (isnan(a) || isnan(b)) {
      if (!(isnan(a) && isnan(b)))
        bad++;
      continue;
    }
    double diff = fabs(a - b);
    double bound = atol + rtol * fmax(fabs(a), fabs(b));
    if (diff > bound) {
      bad++;
      if (diff - bound > worst_excess) {
        worst_excess = diff - bound;
        worst = i;
      }
    }
  }
  if (bad)
    fprintf(stderr, "# %s: %zu of %zu elements differ; worst at %zu: got %.9g want %.9g\n", what,
            bad, n, worst, (double)got[worst], (double)want[worst]);
  return bad;
}
