/* Device selection against hand-built inventories (no OpenCL calls), the
 * inventory table, and one smoke test of the real inventory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clgan/opencl.h"

/* ---- synthetic inventories ---------------------------------------------- */

enum { MAX_FAKE = 8 };

typedef struct fake {
  clgan_cl_device devices[MAX_FAKE];
  clgan_cl_platform_note notes[MAX_FAKE];
  clgan_cl_inventory inv;
} fake;

static void fake_init(fake *f, unsigned n_platforms) {
  memset(f, 0, sizeof *f);
  f->inv.devices = f->devices;
  f->inv.notes = f->notes;
  f->inv.n_platforms = n_platforms;
}

/* Appends a device; P:D and the flat index follow ICD order as the real
 * loader assigns them. */
static void fake_device(fake *f, unsigned p, cl_device_type type, const char *platform,
                        const char *name) {
  size_t i = f->inv.n_devices++;
  clgan_cl_device *d = &f->devices[i];
  unsigned d_index = 0;
  for (size_t k = 0; k < i; k++)
    d_index += f->devices[k].platform_index == p;
  d->platform_index = p;
  d->device_index = d_index;
  d->flat_index = (unsigned)i;
  d->type = type;
  snprintf(d->platform_name, sizeof d->platform_name, "%s", platform);
  snprintf(d->device_name, sizeof d->device_name, "%s", name);
  snprintf(d->vendor, sizeof d->vendor, "%s", "Vendor Inc");
  snprintf(d->opencl_c_version, sizeof d->opencl_c_version, "%s", "OpenCL C 1.2");
  d->compute_units = 16;
  d->global_mem_bytes = (cl_ulong)4 << 30;
  d->max_work_group_size = 1024;
}

static void fake_note(fake *f, unsigned p, const char *platform) {
  clgan_cl_platform_note *n = &f->notes[f->inv.n_notes++];
  n->platform_index = p;
  snprintf(n->platform_name, sizeof n->platform_name, "%s", platform);
  snprintf(n->problem, sizeof n->problem, "%s", "no devices");
}

#define CUDA "NVIDIA CUDA"
#define POCL "Portable Computing Language"
#define POCL_CPU "pthread-skylake-avx512-AMD EPYC 9454"

/* Platform 0: twin H200 GPUs; platform 1: PoCL CPU. */
static void fake_mixed(fake *f) {
  fake_init(f, 2);
  fake_device(f, 0, CL_DEVICE_TYPE_GPU, CUDA, "NVIDIA H200");
  fake_device(f, 0, CL_DEVICE_TYPE_GPU, CUDA, "NVIDIA H200");
  fake_device(f, 1, CL_DEVICE_TYPE_CPU | CL_DEVICE_TYPE_DEFAULT, POCL, POCL_CPU);
}

static void fake_cpu_only(fake *f) {
  fake_init(f, 1);
  fake_device(f, 0, CL_DEVICE_TYPE_CPU, POCL, POCL_CPU);
}

/* ---- helpers -------------------------------------------------------------- */

static void expect_contains(const char *hay, const char *needle) {
  assert_non_null(hay);
  assert_non_null(needle);
  if (!strstr(hay, needle))
    fail_msg("expected \"%s\" in message:\n%s", needle, hay);
}

static void expect_lacks(const char *hay, const char *needle) {
  assert_non_null(hay);
  assert_non_null(needle);
  if (strstr(hay, needle))
    fail_msg("did not expect \"%s\" in message:\n%s", needle, hay);
}

static size_t select_ok(const fake *f, const char *spec) {
  clgan_error err;
  clgan_error_clear(&err);
  size_t index = SIZE_MAX;
  int dflt = -1;
  clgan_status st = clgan_cl_select(&f->inv, spec, "--device", &index, &dflt, &err);
  if (st != CLGAN_OK)
    fail_msg("spec \"%s\" failed: %s", spec, err.message);
  assert_int_equal(dflt, 0);
  return index;
}

/* Runs a failing selection; returns the message in a static buffer. */
static const char *select_fails(const fake *f, const char *spec, const char *origin,
                                clgan_status want) {
  static clgan_error err;
  clgan_error_clear(&err);
  size_t index = 12345;
  int dflt = -1;
  clgan_status st = clgan_cl_select(&f->inv, spec, origin, &index, &dflt, &err);
  if (st != want)
    fail_msg("spec \"%s\": status %d, want %d (%s)", spec, (int)st, (int)want, err.message);
  assert_int_equal(err.status, want);
  assert_int_equal(index, 12345); /* untouched on failure */
  assert_int_equal(dflt, 0);
  return err.message;
}

/* ---- default policy ------------------------------------------------------ */

static void test_default_prefers_gpu(void **state) {
  (void)state;
  fake f;
  fake_mixed(&f);
  const char *specs[] = {NULL, "", "   ", "\t\n"};
  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
    size_t index = SIZE_MAX;
    int dflt = 0;
    clgan_error err;
    clgan_error_clear(&err);
    assert_int_equal(clgan_cl_select(&f.inv, specs[i], "--device", &index, &dflt, &err), CLGAN_OK);
    assert_int_equal(index, 0);
    assert_int_equal(dflt, 1);
  }
}

static void test_default_gpu_after_cpu(void **state) {
  (void)state;
  fake f;
  fake_init(&f, 2);
  fake_device(&f, 0, CL_DEVICE_TYPE_CPU, POCL, POCL_CPU);
  fake_device(&f, 1, CL_DEVICE_TYPE_GPU, CUDA, "NVIDIA H200");
  size_t index = SIZE_MAX;
  int dflt = 0;
  assert_int_equal(clgan_cl_select(&f.inv, NULL, "--device", &index, &dflt, NULL), CLGAN_OK);
  assert_int_equal(index, 1);
  assert_int_equal(dflt, 1);
}

static void test_default_cpu_when_no_gpu(void **state) {
  (void)state;
  fake f;
  fake_cpu_only(&f);
  size_t index = SIZE_MAX;
  int dflt = 0;
  assert_int_equal(clgan_cl_select(&f.inv, "", "--device", &index, &dflt, NULL), CLGAN_OK);
  assert_int_equal(index, 0);
  assert_int_equal(dflt, 1);
}

static void test_default_accelerator_before_cpu(void **state) {
  (void)state;
  fake f;
  fake_init(&f, 2);
  fake_device(&f, 0, CL_DEVICE_TYPE_CPU, POCL, POCL_CPU);
  fake_device(&f, 1, CL_DEVICE_TYPE_ACCELERATOR, "Xilinx", "xilinx_u250");
  fake_device(&f, 1, CL_DEVICE_TYPE_CUSTOM, "Xilinx", "custom thing");
  size_t index = SIZE_MAX;
  int dflt = 0;
  assert_int_equal(clgan_cl_select(&f.inv, NULL, "--device", &index, &dflt, NULL), CLGAN_OK);
  assert_int_equal(index, 1);
  assert_int_equal(dflt, 1);
}

static void test_default_gpu_before_accelerator(void **state) {
  (void)state;
  fake f;
  fake_init(&f, 2);
  fake_device(&f, 0, CL_DEVICE_TYPE_ACCELERATOR, "Xilinx", "xilinx_u250");
  fake_device(&f, 1, CL_DEVICE_TYPE_GPU, CUDA, "NVIDIA H200");
  size_t index = SIZE_MAX;
  int dflt = 0;
  assert_int_equal(clgan_cl_select(&f.inv, NULL, "--device", &index, &dflt, NULL), CLGAN_OK);
  assert_int_equal(index, 1);
  assert_int_equal(dflt, 1);
}

static void test_default_first_device_otherwise(void **state) {
  (void)state;
  fake f;
  fake_init(&f, 1);
  fake_device(&f, 0, CL_DEVICE_TYPE_CUSTOM, "Odd", "custom a");
  fake_device(&f, 0, CL_DEVICE_TYPE_CUSTOM, "Odd", "custom b");
  size_t index = SIZE_MAX;
  int dflt = 0;
  assert_int_equal(clgan_cl_select(&f.inv, NULL, NULL, &index, &dflt, NULL), CLGAN_OK);
  assert_int_equal(index, 0);
  assert_int_equal(dflt, 1);
}

/* ---- the grammar --------------------------------------------------------- */

static void test_platform_device_ids(void **state) {
  (void)state;
  fake f;
  fake_mixed(&f);
  assert_int_equal(select_ok(&f, "0:0"), 0);
  assert_int_equal(select_ok(&f, "0:1"), 1);
  assert_int_equal(select_ok(&f, "1:0"), 2);
  assert_int_equal(select_ok(&f, "  1:0\t"), 2);
  assert_int_equal(select_ok(&f, "0 : 1"), 1);
  assert_int_equal(select_ok(&f, "00:01"), 1);
}

static void test_flat_index(void **state) {
  (void)state;
  fake f;
  fake_mixed(&f);
  assert_int_equal(select_ok(&f, "0"), 0);
  assert_int_equal(select_ok(&f, "2"), 2);
  assert_int_equal(select_ok(&f, " 1 "), 1);
}

static void test_type_words(void **state) {
  (void)state;
  fake f;
  fake_mixed(&f);
  assert_int_equal(select_ok(&f, "gpu"), 0);
  assert_int_equal(select_ok(&f, "GPU"), 0);
  assert_int_equal(select_ok(&f, " Cpu "), 2);
  fake_init(&f, 1);
  fake_device(&f, 0, CL_DEVICE_TYPE_CPU, POCL, POCL_CPU);
  fake_device(&f, 0, CL_DEVICE_TYPE_ACCELERATOR, POCL, "fpga");
  assert_int_equal(select_ok(&f, "accelerator"), 1);
  assert_int_equal(select_ok(&f, "ACCEL"), 1);
}

static void test_substring(void **state) {
  (void)state;
  fake f;
  fake_mixed(&f);
  assert_int_equal(select_ok(&f, "portable"), 2);
  assert_int_equal(select_ok(&f, "SKYLAKE"), 2);
  assert_int_equal(select_ok(&f, "  epyc 9454 "), 2);
  /* The haystack is "platform device", so text spanning both matches. */
  assert_int_equal(select_ok(&f, "language pthread"), 2);
}

static void test_substring_with_colon(void **state) {
  (void)state;
  /* AMD names contain colons; they must stay substrings, not P:D typos. */
  fake f;
  fake_init(&f, 1);
  fake_device(&f, 0, CL_DEVICE_TYPE_GPU, "AMD Accelerated Parallel Processing",
              "gfx90a:sramecc+:xnack-");
  fake_device(&f, 0, CL_DEVICE_TYPE_GPU, "AMD Accelerated Parallel Processing", "gfx1030");
  assert_int_equal(select_ok(&f, "GFX90A:sramecc"), 0);
  assert_int_equal(select_ok(&f, "gfx1030"), 1);
}

static void test_twin_gpu_substring_is_ambiguous(void **state) {
  (void)state;
  fake f;
  fake_mixed(&f);
  const char *msg = select_fails(&f, "h200", "--device", CLGAN_E_INPUT);
  expect_contains(msg, "--device h200");
  expect_contains(msg, "matches 2 devices");
  expect_contains(msg, "P:D");
  expect_contains(msg, "0:0  GPU  NVIDIA H200 (NVIDIA CUDA)");
  expect_contains(msg, "0:1  GPU  NVIDIA H200 (NVIDIA CUDA)");
  expect_lacks(msg, "1:0"); /* only the matches are listed */
  expect_lacks(msg, POCL_CPU);
  msg = select_fails(&f, "NVIDIA", "--device", CLGAN_E_INPUT);
  expect_contains(msg, "matches 2 devices");
}

/* ---- error messages ------------------------------------------------------ */

static void expect_all_candidates(const char *msg) {
  expect_contains(msg, "0:0  GPU  NVIDIA H200 (NVIDIA CUDA)");
  expect_contains(msg, "0:1  GPU  NVIDIA H200 (NVIDIA CUDA)");
  expect_contains(msg, "1:0  CPU  " POCL_CPU " (" POCL ")");
  expect_contains(msg, "clgan devices");
}

static void test_platform_out_of_range(void **state) {
  (void)state;
  fake f;
  fake_mixed(&f);
  const char *msg = select_fails(&f, "2:0", "--device", CLGAN_E_INPUT);
  expect_contains(msg, "--device 2:0: no such device");
  expect_contains(msg, "platform 2 does not exist (2 platforms)");
  expect_all_candidates(msg);

  fake_cpu_only(&f);
  msg = select_fails(&f, "1:3", "--device", CLGAN_E_INPUT);
  expect_contains(msg, "--device 1:3: no such device; platform 1 does not exist (1 platform)");
  expect_contains(msg, "0:0  CPU  " POCL_CPU " (" POCL ")");
}

static void test_device_out_of_range(void **state) {
  (void)state;
  fake f;
  fake_mixed(&f);
  const char *msg = select_fails(&f, "0:2", "--device", CLGAN_E_INPUT);
  expect_contains(msg, "--device 0:2: no such device");
  expect_contains(msg, "platform 0 (NVIDIA CUDA) has 2 devices");
  expect_contains(msg, "0:0..0:1");
  expect_all_candidates(msg);

  msg = select_fails(&f, "1:1", "--device", CLGAN_E_INPUT);
  expect_contains(msg, "platform 1 (" POCL ") has 1 device, valid ids 1:0..1:0");
}

static void test_device_on_empty_platform(void **state) {
  (void)state;
  fake f;
  fake_init(&f, 2);
  fake_note(&f, 0, "Broken Vendor");
  fake_device(&f, 1, CL_DEVICE_TYPE_CPU, POCL, POCL_CPU);
  const char *msg = select_fails(&f, "0:0", "--device", CLGAN_E_INPUT);
  expect_contains(msg, "platform 0 (Broken Vendor) has no devices");
  expect_contains(msg, "1:0  CPU");
  assert_int_equal(select_ok(&f, "1:0"), 0);
}

static void test_flat_index_out_of_range(void **state) {
  (void)state;
  fake f;
  fake_mixed(&f);
  const char *msg = select_fails(&f, "3", "--device", CLGAN_E_INPUT);
  expect_contains(msg, "--device 3: no such device; flat index 3 is out of range (3 devices");
  expect_all_candidates(msg);
  msg = select_fails(&f, "99999999999999999999999999", "--device", CLGAN_E_INPUT);
  expect_contains(msg, "flat index 99999999999999999999999999 is out of range");
  char huge[1000];
  memset(huge, '7', sizeof huge - 1);
  huge[sizeof huge - 1] = '\0';
  msg = select_fails(&f, huge, "--device", CLGAN_E_INPUT);
  expect_contains(msg, "777...: no such device");
  expect_all_candidates(msg);
  msg = select_fails(&f, "99999999999999999999999999:0", "--device", CLGAN_E_INPUT);
  expect_contains(msg, "does not exist");
}

static void test_type_word_without_device(void **state) {
  (void)state;
  fake f;
  fake_mixed(&f);
  const char *msg = select_fails(&f, "accel", "--device", CLGAN_E_INPUT);
  expect_contains(msg, "--device accel: no ACCELERATOR device");
  expect_all_candidates(msg);

  fake_cpu_only(&f);
  msg = select_fails(&f, "GPU", "CLGAN_DEVICE", CLGAN_E_INPUT);
  expect_contains(msg, "CLGAN_DEVICE GPU: no GPU device");
  expect_contains(msg, "0:0  CPU  " POCL_CPU);
}

static void test_substring_no_match(void **state) {
  (void)state;
  fake f;
  fake_mixed(&f);
  const char *msg = select_fails(&f, "  AMD MI300 ", "config device.spec", CLGAN_E_INPUT);
  expect_contains(msg, "config device.spec 'AMD MI300': no device name contains");
  expect_contains(msg, "P:D");
  expect_all_candidates(msg);
}

static void test_malformed(void **state) {
  (void)state;
  fake f;
  fake_mixed(&f);
  const char *bad[] = {"1:x", "-1", "+2", "3:", ":1", "1:2:3", "-1:0", "0:-1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *msg = select_fails(&f, bad[i], "--device", CLGAN_E_INPUT);
    char asked[64];
    snprintf(asked, sizeof asked, "--device %s: malformed device spec", bad[i]);
    expect_contains(msg, asked);
    expect_contains(msg, "P:D (e.g. 0:0), a flat index N");
    expect_contains(msg, "gpu, cpu, accelerator");
    expect_all_candidates(msg);
  }
}

static void test_origin_defaults(void **state) {
  (void)state;
  fake f;
  fake_mixed(&f);
  const char *msg = select_fails(&f, "9", NULL, CLGAN_E_INPUT);
  expect_contains(msg, "device 9: no such device");
}

static void test_no_devices(void **state) {
  (void)state;
  fake f;
  fake_init(&f, 0);
  const char *msg = select_fails(&f, NULL, "--device", CLGAN_E_RUNTIME);
  expect_contains(msg, "no OpenCL device found: install an OpenCL driver (ICD)");
  expect_contains(msg, "pocl-opencl-icd");
  msg = select_fails(&f, "gpu", "--device", CLGAN_E_RUNTIME);
  expect_contains(msg, "--device gpu: no OpenCL device found");

  fake_init(&f, 2);
  fake_note(&f, 0, "Broken Vendor");
  fake_note(&f, 1, "Other Vendor");
  msg = select_fails(&f, "", "--device", CLGAN_E_RUNTIME);
  expect_contains(msg, "no OpenCL device found");
  expect_contains(msg, "platform 0 (Broken Vendor): no devices");
  expect_contains(msg, "platform 1 (Other Vendor): no devices");
}

static void test_long_candidate_list_is_cut_cleanly(void **state) {
  (void)state;
  fake f;
  fake_init(&f, 1);
  char name[256];
  memset(name, 'x', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  for (int i = 0; i < MAX_FAKE; i++)
    fake_device(&f, 0, CL_DEVICE_TYPE_GPU, CUDA, name);
  const char *msg = select_fails(&f, "9:9", "--device", CLGAN_E_INPUT);
  expect_contains(msg, "more\nRun 'clgan devices' for details.");
  expect_contains(msg, "  ... and ");
  expect_contains(msg, "Run 'clgan devices' for details.");
}

/* ---- the table ----------------------------------------------------------- */

static char *print_to_string(const clgan_cl_inventory *inv) {
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  assert_non_null(out);
  clgan_cl_print_inventory(out, inv);
  assert_int_equal(fclose(out), 0);
  return buf;
}

static void test_print_inventory(void **state) {
  (void)state;
  fake f;
  fake_init(&f, 3);
  fake_device(&f, 0, CL_DEVICE_TYPE_GPU, CUDA, "NVIDIA H200");
  fake_device(&f, 0, CL_DEVICE_TYPE_GPU, CUDA, "NVIDIA H200");
  fake_note(&f, 1, "Broken Vendor");
  fake_device(&f, 2, CL_DEVICE_TYPE_CPU, POCL, POCL_CPU);
  f.devices[2].global_mem_bytes = (cl_ulong)512 << 20;
  char *s = print_to_string(&f.inv);
  expect_contains(s, "platform 0: NVIDIA CUDA (2 devices)");
  expect_contains(s, "platform 1: Broken Vendor (no devices)");
  expect_contains(s, "platform 2: " POCL " (1 device)");
  expect_contains(s, "ID   #  TYPE  NAME");
  expect_contains(s, "VENDOR      OPENCL-C      CU  GLOBAL-MEM  MAX-WG");
  expect_contains(s, "0:1  1  GPU   NVIDIA H200");
  expect_contains(s, "2:0  2  CPU   " POCL_CPU);
  expect_contains(s, "4.0 GiB");
  expect_contains(s, "512 MiB");
  expect_contains(s, "Default device: 0:0");
  free(s);
}

static void test_print_empty_inventories(void **state) {
  (void)state;
  fake f;
  fake_init(&f, 0);
  char *s = print_to_string(&f.inv);
  expect_contains(s, "no OpenCL device found: install an OpenCL driver (ICD)");
  free(s);

  fake_init(&f, 1);
  fake_note(&f, 0, "Broken Vendor");
  s = print_to_string(&f.inv);
  expect_contains(s, "platform 0: Broken Vendor (no devices)");
  expect_contains(s, "no OpenCL device found");
  free(s);
}

static void test_type_names(void **state) {
  (void)state;
  assert_string_equal(clgan_cl_device_type_name(CL_DEVICE_TYPE_GPU), "GPU");
  assert_string_equal(clgan_cl_device_type_name(CL_DEVICE_TYPE_CPU | CL_DEVICE_TYPE_DEFAULT),
                      "CPU");
  assert_string_equal(clgan_cl_device_type_name(CL_DEVICE_TYPE_ACCELERATOR), "ACCELERATOR");
  assert_string_equal(clgan_cl_device_type_name(CL_DEVICE_TYPE_CUSTOM), "CUSTOM");
  assert_string_equal(clgan_cl_device_type_name(CL_DEVICE_TYPE_DEFAULT), "OTHER");
}

/* ---- the real inventory -------------------------------------------------- */

static void test_real_inventory(void **state) {
  (void)state;
  clgan_cl_inventory inv;
  clgan_error err;
  clgan_error_clear(&err);
  if (clgan_cl_inventory_load(&inv, &err) != CLGAN_OK)
    fail_msg("inventory failed: %s", err.message);
  if (inv.n_platforms == 0) {
    assert_int_equal(inv.n_devices, 0);
    assert_int_equal(inv.n_notes, 0);
    clgan_cl_inventory_free(&inv);
    return;
  }
  /* Every platform either has devices or a note saying why not. */
  assert_true(inv.n_devices > 0 || inv.n_notes == inv.n_platforms);
  for (size_t i = 0; i < inv.n_devices; i++) {
    const clgan_cl_device *d = &inv.devices[i];
    assert_int_equal(d->flat_index, i);
    assert_true(d->platform_index < inv.n_platforms);
    assert_non_null(d->device);
    assert_true(d->device_name[0] != '\0');
    assert_true(d->compute_units > 0);
    assert_true(d->max_work_group_size > 0);
    if (i == 0)
      continue;
    const clgan_cl_device *prev = &inv.devices[i - 1];
    assert_true(d->platform_index >= prev->platform_index);
    if (d->platform_index == prev->platform_index)
      assert_int_equal(d->device_index, prev->device_index + 1);
    else
      assert_int_equal(d->device_index, 0);
  }
  if (inv.n_devices > 0) {
    assert_int_equal(inv.devices[0].device_index, 0);
    size_t index = SIZE_MAX;
    int dflt = 0;
    assert_int_equal(clgan_cl_select(&inv, NULL, "test", &index, &dflt, &err), CLGAN_OK);
    assert_true(index < inv.n_devices);
    assert_int_equal(dflt, 1);
  }
  clgan_cl_inventory_free(&inv);
  assert_null(inv.devices);
  assert_int_equal(inv.n_devices, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_prefers_gpu),
      cmocka_unit_test(test_default_gpu_after_cpu),
      cmocka_unit_test(test_default_cpu_when_no_gpu),
      cmocka_unit_test(test_default_accelerator_before_cpu),
      cmocka_unit_test(test_default_gpu_before_accelerator),
      cmocka_unit_test(test_default_first_device_otherwise),
      cmocka_unit_test(test_platform_device_ids),
      cmocka_unit_test(test_flat_index),
      cmocka_unit_test(test_type_words),
      cmocka_unit_test(test_substring),
      cmocka_unit_test(test_substring_with_colon),
      cmocka_unit_test(test_twin_gpu_substring_is_ambiguous),
      cmocka_unit_test(test_platform_out_of_range),
      cmocka_unit_test(test_device_out_of_range),
      cmocka_unit_test(test_device_on_empty_platform),
      cmocka_unit_test(test_flat_index_out_of_range),
      cmocka_unit_test(test_type_word_without_device),
      cmocka_unit_test(test_substring_no_match),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_origin_defaults),
      cmocka_unit_test(test_no_devices),
      cmocka_unit_test(test_long_candidate_list_is_cut_cleanly),
      cmocka_unit_test(test_print_inventory),
      cmocka_unit_test(test_print_empty_inventories),
      cmocka_unit_test(test_type_names),
      cmocka_unit_test(test_real_inventory),
  };
  return cmocka_run_group_tests_name("device_select", tests, NULL, NULL);
}
