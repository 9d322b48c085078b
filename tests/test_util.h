/* Helpers shared by the test suites. */
#ifndef CLGAN_TEST_UTIL_H
#define CLGAN_TEST_UTIL_H

#include <stddef.h>

#include "clgan/backend.h"

/* Creates the opencl backend on the default device, or returns NULL after
 * printing a TAP skip plan ("1..0 # SKIP ...") when no OpenCL device exists. */
clgan_backend *test_opencl_backend_or_skip(void);

/* Creates the ref backend; aborts the test program on failure. */
clgan_backend *test_ref_backend(void);

/* Fills host data with deterministic pseudo-random values in [lo, hi). */
void test_fill_uniform(float *x, size_t n, float lo, float hi, unsigned seed);

/* Allocates a buffer of n floats on be and uploads host data (if non-NULL). */
clgan_buffer *test_upload(clgan_backend *be, const float *host, size_t n);
/* Downloads n floats into a malloc'd array. */
float *test_download(clgan_backend *be, clgan_buffer *buf, size_t n);

/* Mixed absolute/relative comparison; returns the number of elements with
 * |a-b| > atol + rtol·max(|a|,|b|) and reports the worst one on stderr. */
size_t test_compare(const char *what, const float *got, const float *want, size_t n, float atol,
                    float rtol);

#endif
