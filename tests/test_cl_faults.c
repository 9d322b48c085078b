/* OpenCL faults reach the user as messages that name the call, the CL error
 * and the op, with the numbers needed to act on them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "clgan/opencl.h"
#include "test_util.h"

static clgan_backend *device;

static void expect_in(const char *message, const char *needle) {
  if (!strstr(message, needle))
    fail_msg("message lacks '%s':\n%s", needle, message);
}

/* A buffer beyond the device's limits names the size and the limits. */
static void test_allocation_failure_names_size_and_limits(void **state) {
  (void)state;
  clgan_error err = {0};
  clgan_buffer *buf = NULL;
  size_t huge = (size_t)1 << 40; /* 4 TiB of floats */
  assert_int_equal(device->ops->buffer_create(device, huge, &buf, &err), CLGAN_E_RUNTIME);
  assert_null(buf);
  expect_in(err.message, "buffer_create");
  expect_in(err.message, "1099511627776 floats");
  expect_in(err.message, "CL_DEVICE_MAX_MEM_ALLOC_SIZE");
  expect_in(err.message, "global memory");
}

/* A gemm whose shapes do not agree names the op and every shape, and
 * enqueues nothing. */
static void test_shape_mismatch_names_op_and_shapes(void **state) {
  (void)state;
  clgan_error err = {0};
  clgan_buffer *buf = test_upload(device, NULL, 64);
  uint64_t launches = device->counters.launches;
  clgan_view a = clgan_view_full(buf, 0, 3, 4), b = clgan_view_full(buf, 12, 5, 2);
  clgan_view c = clgan_view_full(buf, 30, 3, 2);
  assert_int_equal(device->ops->gemm(device, false, false, 1.0f, a, b, 0.0f, c, &err),
                   CLGAN_E_RUNTIME);
  expect_in(err.message, "gemm");
  expect_in(err.message, "3x4");
  expect_in(err.message, "5x2");
  assert_int_equal(device->counters.launches, launches);
  device->ops->buffer_destroy(device, buf);
}

static void test_error_names(void **state) {
  (void)state;
  assert_string_equal(clgan_cl_error_name(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES");
  assert_string_equal(clgan_cl_error_name(CL_INVALID_WORK_GROUP_SIZE),
                      "CL_INVALID_WORK_GROUP_SIZE");
  assert_string_equal(clgan_cl_error_name(CL_BUILD_PROGRAM_FAILURE), "CL_BUILD_PROGRAM_FAILURE");
  expect_in(clgan_cl_error_name(-12345), "-12345");
}

int main(void) {
  device = test_opencl_backend_or_skip();
  if (!device)
    return 0;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_allocation_failure_names_size_and_limits),
      cmocka_unit_test(test_shape_mismatch_names_op_and_shapes),
      cmocka_unit_test(test_error_names),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  device->ops->destroy(device);
  return failed;
}
