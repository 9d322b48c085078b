/* clgan check [--device SPEC] [--quick]: runs every op of the opencl backend
 * on one device against the ref backend and prints one row per comparison.
 * The first thing to run on a new GPU: a driver whose exp is off by more
 * than OpenCL allows, or that miscompiles a kernel, shows up here as a
 * named op and shape instead of as a GAN that quietly fails to train. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend_choice.h"
#include "clgan/check.h"
#include "cli.h"
#include "cli_args.h"

static void usage(FILE *out) {
  fprintf(out, "usage: clgan check [--device SPEC] [--quick]\n"
               "\n"
               "Runs every op of the opencl backend on the device against the ref backend\n"
               "(plain C with double accumulators) over a spread of shapes and prints, per\n"
               "comparison, the max absolute and relative error, the tolerance and a verdict.\n"
               "Run it first on a new device; docs/check.md explains the table.\n"
               "\n"
               "options:\n"
               "  --device SPEC   OpenCL device: P:D, a flat index N, gpu|cpu|accelerator,\n"
               "                  or part of the platform/device name (see 'clgan devices');\n"
               "                  overrides CLGAN_DEVICE\n"
               "  --quick         skip the large minibatch-discrimination case (B = 4096)\n"
               "  -h, --help      show this help\n"
               "\n"
               "exit status: 0 every check passed, 1 a check failed or the device failed,\n"
               "2 bad flags or device spec\n");
}

/* Returns -1 when parsing succeeded, else the exit code. */
static int parse_args(int argc, char **argv, const char **device, int *quick) {
  static const struct option longopts[] = {{"device", required_argument, NULL, 'd'},
                                           {"quick", no_argument, NULL, 'Q'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 'd':
      *device = optarg;
      break;
    case 'Q':
      *quick = 1;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case ':':
      return clgan_cli_usage_error("check", "option '%s' needs a value",
                                   clgan_cli_option_name(argv[optind - 1]));
    default:
      return clgan_cli_usage_error("check", "unknown option '%s'",
                                   clgan_cli_option_name(argv[optind - 1]));
    }
  }
  if (optind < argc)
    return clgan_cli_usage_error("check", "unexpected argument '%s'", argv[optind]);
  return -1;
}

/* Column widths of the table; rows are printed as they finish. */
enum { W_OP = 16, W_SHAPE = 44, W_ERR = 11, W_TOL = 17 };

static void format_err(double e, char *buf, size_t size) {
  if (e == 0.0)
    snprintf(buf, size, "0");
  else
    snprintf(buf, size, "%.2e", e);
}

static void print_row(const clgan_check_result *r, void *user) {
  (void)user;
  char abs_err[32], rel_err[32], tol[48];
  format_err(r->max_abs_err, abs_err, sizeof abs_err);
  format_err(r->max_rel_err, rel_err, sizeof rel_err);
  clgan_tol_format(r->tol, tol, sizeof tol);
  /* A pass shows how much of its bound the worst value used, so a device
   * that passes with little margin stands out; a failure says why. */
  char verdict[sizeof r->note + 16];
  if (r->passed)
    snprintf(verdict, sizeof verdict, "pass (%.2g%%)", 100.0 * r->worst_ratio);
  else
    snprintf(verdict, sizeof verdict, "FAIL: %s", r->note);
  printf("%-*s  %-*s  %*s  %*s  %-*s  %s\n", W_OP, r->op, W_SHAPE, r->shape, W_ERR, abs_err, W_ERR,
         rel_err, W_TOL, tol, verdict);
  fflush(stdout); /* one row at a time, also into a pipe: the large cases take seconds */
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Same order as train: --device, then CLGAN_DEVICE, then the default. */
static clgan_device_request device_request(const char *flag) {
  clgan_device_request req = {CLGAN_BACKEND_OPENCL, NULL, NULL};
  const char *env = getenv("CLGAN_DEVICE");
  if (flag) {
    req.spec = flag;
    req.origin = "--device";
  } else if (env && *env) {
    req.spec = env;
    req.origin = "CLGAN_DEVICE";
  }
  return req;
}

/* The shared backend opener suggests --backend ref when there is no
 * OpenCL device; check has no such flag (it needs a device), so drop it. */
static void drop_backend_ref_hint(clgan_error *err) {
  static const char hint[] = " (or run on the host with --backend ref)";
  size_t len = strlen(err->message), hlen = sizeof hint - 1;
  if (len >= hlen && strcmp(err->message + len - hlen, hint) == 0)
    err->message[len - hlen] = '\0';
}

static int run_check(clgan_backend *dev, clgan_backend *ref, int quick) {
  printf("device: %s (against the ref backend: host C, double accumulators)\n\n", dev->device_name);
  printf("%-*s  %-*s  %*s  %*s  %-*s  %s\n", W_OP, "op", W_SHAPE, "shape", W_ERR, "max-abs-err",
         W_ERR, "max-rel-err", W_TOL, "tol", "verdict");
  clgan_check_options opts = {.quick = quick != 0, .progress = print_row};
  clgan_check_report rep;
  clgan_error err = {0};
  double t0 = now_s();
  clgan_status st = clgan_check_run(dev, ref, &opts, &rep, &err);
  double elapsed = now_s() - t0;
  int rc = 0;
  if (st != CLGAN_OK) {
    fprintf(stderr, "clgan check: %s\n", err.message);
    rc = 1;
  } else {
    printf("\n%zu of %zu checks passed on %s (%.1f s)\n", rep.n_passed, rep.n, dev->device_name,
           elapsed);
    if (rep.n_passed < rep.n) {
      printf("failed:\n");
      for (size_t i = 0; i < rep.n; ++i)
        if (!rep.results[i].passed)
          printf("  %s %s: %s\n", rep.results[i].op, rep.results[i].shape, rep.results[i].note);
      printf("see docs/check.md for what each op computes and why its tolerance holds\n");
      rc = 1;
    }
  }
  clgan_check_report_free(&rep);
  if (fflush(stdout) != 0)
    rc = 1;
  return rc;
}

int clgan_cmd_check(int argc, char **argv) {
  const char *device = NULL;
  int quick = 0;
  int rc = parse_args(argc, argv, &device, &quick);
  if (rc >= 0)
    return rc;

  clgan_device_request req = device_request(device);
  clgan_backend *dev = NULL, *ref = NULL;
  clgan_error err = {0};
  clgan_status st = clgan_open_backend(&req, false, &dev, &err);
  if (st == CLGAN_OK)
    st = clgan_backend_ref_create(&ref, &err);
  if (st != CLGAN_OK) {
    drop_backend_ref_hint(&err);
    fprintf(stderr, "clgan check: %s\n", err.message);
    if (dev)
      dev->ops->destroy(dev);
    return (int)st;
  }
  rc = run_check(dev, ref, quick);
  ref->ops->destroy(ref);
  dev->ops->destroy(dev);
  return rc;
}
