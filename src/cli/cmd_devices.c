/* `clgan devices`: lists the OpenCL devices --device can select, as a table
 * for people or as JSON for scripts. */
#include <stdio.h>
#include <string.h>

#include "clgan/opencl.h"
#include "cli.h"

static const char USAGE[] =
    "usage: clgan devices [--json]\n"
    "\n"
    "Lists every OpenCL platform and device in ICD order. The ID column (P:D)\n"
    "and the # column (flat index) are what --device accepts; --device also\n"
    "takes gpu, cpu, accelerator, or part of a device or platform name.\n"
    "\n"
    "options:\n"
    "  --json      print a JSON array of devices instead of the table\n"
    "  -h, --help  show this help\n";

/* JSON string with the escapes RFC 8259 requires; driver strings are taken
 * to be UTF-8 and other bytes pass through. */
static void json_string(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(out, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", out);
    else if (*p == '\t')
      fputs("\\t", out);
    else if (*p < 0x20 || *p == 0x7f)
      fprintf(out, "\\u%04x", *p);
    else
      fputc(*p, out);
  }
  fputc('"', out);
}

static void json_field(FILE *out, const char *key, const char *value) {
  fprintf(out, ",\n    \"%s\": ", key);
  json_string(out, value);
}

static void json_device(FILE *out, const clgan_cl_device *d) {
  fprintf(out, "  {\n    \"id\": \"%u:%u\",\n    \"index\": %u", d->platform_index, d->device_index,
          d->flat_index);
  json_field(out, "type", clgan_cl_device_type_name(d->type));
  json_field(out, "platform", d->platform_name);
  json_field(out, "name", d->device_name);
  json_field(out, "vendor", d->vendor);
  json_field(out, "opencl_c_version", d->opencl_c_version);
  json_field(out, "driver_version", d->driver_version);
  fprintf(out,
          ",\n    \"compute_units\": %u,\n    \"global_mem_bytes\": %llu,\n"
          "    \"max_alloc_bytes\": %llu,\n    \"local_mem_bytes\": %llu,\n"
          "    \"max_work_group_size\": %zu\n  }",
          (unsigned)d->compute_units, (unsigned long long)d->global_mem_bytes,
          (unsigned long long)d->max_alloc_bytes, (unsigned long long)d->local_mem_bytes,
          d->max_work_group_size);
}

static void print_json(FILE *out, const clgan_cl_inventory *inv) {
  fputs("[", out);
  for (size_t i = 0; i < inv->n_devices; i++) {
    fputs(i == 0 ? "\n" : ",\n", out);
    json_device(out, &inv->devices[i]);
  }
  fputs(inv->n_devices > 0 ? "\n]\n" : "]\n", out);
}

/* Returns -1 when the options are fine, else the exit code to return now. */
static int parse_options(int argc, char **argv, int *json) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(USAGE, stdout);
      return 0;
    }
    if (strcmp(argv[i], "--json") == 0) {
      *json = 1;
      continue;
    }
    const char *what = argv[i][0] == '-' ? "unknown option" : "unexpected argument";
    fprintf(stderr, "clgan devices: %s '%s' (see 'clgan devices --help')\n", what, argv[i]);
    return CLGAN_E_INPUT;
  }
  return -1;
}

int clgan_cmd_devices(int argc, char **argv) {
  int json = 0;
  int early = parse_options(argc, argv, &json);
  if (early >= 0)
    return early;

  clgan_cl_inventory inv;
  clgan_error err;
  clgan_error_clear(&err);
  if (clgan_cl_inventory_load(&inv, &err) != CLGAN_OK) {
    fprintf(stderr, "clgan devices: %s\n", err.message);
    return err.status;
  }
  if (inv.n_platforms == 0) {
    /* The table would hold nothing; say what to install instead. */
    size_t unused = 0;
    clgan_cl_select(&inv, NULL, "clgan devices", &unused, NULL, &err);
    fprintf(stderr, "clgan devices: %s\n", err.message);
    clgan_cl_inventory_free(&inv);
    return CLGAN_E_RUNTIME;
  }
  if (json)
    print_json(stdout, &inv);
  else
    clgan_cl_print_inventory(stdout, &inv);
  clgan_cl_inventory_free(&inv);
  return fflush(stdout) == 0 ? 0 : CLGAN_E_RUNTIME;
}
