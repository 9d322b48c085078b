/* clgan train CONFIG [CONFIG...]: every config is loaded and validated
 * before the first run starts, so a typo in the last file costs nothing. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_choice.h"
#include "clgan/evaluate.h"
#include "clgan/train.h"
#include "cli.h"
#include "progress.h"

#define MAX_CONFIGS 64
#define MAX_OVERRIDES 256

typedef struct train_args {
  const char *configs[MAX_CONFIGS];
  size_t n_configs;
  const char *overrides[MAX_OVERRIDES];
  size_t n_overrides;
  char seed_override[64], backend_override[64];
  const char *device, *out_dir;
  int quiet;
} train_args;

static void usage(FILE *out) {
  fprintf(out,
          "usage: clgan train CONFIG [CONFIG...] [options]\n"
          "\n"
          "Trains each YAML config into OUT/NAME/ (config.yaml, history.csv, metrics.json,\n"
          "densities.csv, plot.png, checkpoint.clgan). With several configs it also writes\n"
          "OUT/comparison.png and OUT/summary.md.\n"
          "\n"
          "options:\n"
          "  --device SPEC        OpenCL device: P:D, a flat index N, gpu|cpu|accelerator,\n"
          "                       or part of the platform/device name (see 'clgan devices');\n"
          "                       overrides CLGAN_DEVICE and the config's device.select\n"
          "  --backend NAME       opencl (default) or ref (plain C on the host)\n"
          "  --out DIR            output folder (default: results)\n"
          "  --seed N             sets train.seed\n"
          "  --set KEY=VALUE      overrides a config key, e.g. --set train.epochs=1\n"
          "                       (repeatable; dotted keys; list items by index:\n"
          "                       discriminator.layers.2.kernels=10)\n"
          "  -q, --quiet          no progress output\n"
          "  -h, --help           show this help\n"
          "\n"
          "exit status: 0 success, 1 runtime failure, 2 bad input (config, flags, device)\n");
}

static int bad_usage(const char *fmt, const char *what) {
  fprintf(stderr, "clgan train: ");
  fprintf(stderr, fmt, what);
  fprintf(stderr, " (see 'clgan train --help')\n");
  return 2;
}

/* Returns -1 when parsing succeeded, else the exit code. */
static int parse_args(int argc, char **argv, train_args *a) {
  static const struct option longopts[] = {
      {"device", required_argument, NULL, 'd'}, {"backend", required_argument, NULL, 'b'},
      {"out", required_argument, NULL, 'o'},    {"seed", required_argument, NULL, 's'},
      {"set", required_argument, NULL, 'S'},    {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
  memset(a, 0, sizeof *a);
  a->out_dir = "results";
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
    switch (c) {
    case 'd':
      a->device = optarg;
      break;
    case 'b':
      if (strcmp(optarg, "opencl") && strcmp(optarg, "ref"))
        return bad_usage("--backend must be 'opencl' or 'ref', got '%s'", optarg);
      snprintf(a->backend_override, sizeof a->backend_override, "device.backend=%s", optarg);
      break;
    case 'o':
      a->out_dir = optarg;
      break;
    case 's':
      snprintf(a->seed_override, sizeof a->seed_override, "train.seed=%s", optarg);
      break;
    case 'S':
      if (a->n_overrides == MAX_OVERRIDES - 2)
        return bad_usage("too many --set options (at most %s)", "254");
      a->overrides[a->n_overrides++] = optarg;
      break;
    case 'q':
      a->quiet = 1;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case ':':
      return bad_usage("option '%s' needs a value", argv[optind - 1]);
    default:
      return bad_usage("unknown option '%s'", argv[optind - 1]);
    }
  }
  /* Flags are applied as overrides, so they are validated like the file and
   * recorded in the resolved config. */
  if (a->seed_override[0])
    a->overrides[a->n_overrides++] = a->seed_override;
  if (a->backend_override[0])
    a->overrides[a->n_overrides++] = a->backend_override;
  for (int i = optind; i < argc; ++i) {
    if (a->n_configs == MAX_CONFIGS)
      return bad_usage("too many configs (at most %s)", "64");
    a->configs[a->n_configs++] = argv[i];
  }
  if (a->n_configs == 0)
    return bad_usage("%s", "no CONFIG given");
  return -1;
}

static int load_configs(const train_args *a, clgan_config *cfgs) {
  for (size_t i = 0; i < a->n_configs; ++i) {
    clgan_error err = {0};
    if (clgan_config_load(a->configs[i], a->overrides, a->n_overrides, &cfgs[i], &err)) {
      fprintf(stderr, "clgan train: %s\n", err.message);
      return err.status;
    }
    for (size_t j = 0; j < i; ++j)
      if (!strcmp(cfgs[i].name, cfgs[j].name)) {
        fprintf(stderr,
                "clgan train: configs '%s' and '%s' have the same name '%s'; their outputs would "
                "share %s/%s (give one another 'name:')\n",
                a->configs[j], a->configs[i], cfgs[i].name, a->out_dir, cfgs[i].name);
        return 2;
      }
  }
  return 0;
}

/* Backends are opened once per distinct request and shared by the runs. */
typedef struct backend_cache {
  clgan_device_request req[MAX_CONFIGS];
  clgan_backend *be[MAX_CONFIGS];
  size_t n;
} backend_cache;

static int same_request(const clgan_device_request *a, const clgan_device_request *b) {
  const char *sa = a->spec ? a->spec : "", *sb = b->spec ? b->spec : "";
  return a->kind == b->kind && !strcmp(sa, sb);
}

static clgan_status cached_backend(backend_cache *bc, const clgan_device_request *req, int quiet,
                                   clgan_backend **out, clgan_error *err) {
  for (size_t i = 0; i < bc->n; ++i)
    if (same_request(&bc->req[i], req)) {
      *out = bc->be[i];
      return CLGAN_OK;
    }
  CLGAN_TRY(clgan_open_backend(req, quiet, out, err));
  bc->req[bc->n] = *req;
  bc->be[bc->n++] = *out;
  return CLGAN_OK;
}

static void print_result(const char *run_dir, const clgan_run_result *r) {
  printf("%s: W1 %.4f  KS %.4f  mean %.3f  std %.3f  (%llu steps, %.1f s, %.0f steps/s)  -> %s\n",
         r->cfg->name, r->metrics.w1, r->metrics.ks, r->metrics.mean, r->metrics.std,
         (unsigned long long)r->steps, r->train_wall_s, r->steps_per_s, run_dir);
}

static int run_all(const train_args *a, clgan_config *cfgs, clgan_run_result *runs) {
  backend_cache bc = {0};
  clgan_error err = {0};
  clgan_status st = CLGAN_OK;
  size_t done = 0;
  for (; done < a->n_configs && st == CLGAN_OK; ++done) {
    clgan_device_request req = clgan_device_request_for(&cfgs[done], a->device);
    clgan_backend *be = NULL;
    st = cached_backend(&bc, &req, a->quiet, &be, &err);
    if (st != CLGAN_OK)
      break;
    char run_dir[4096];
    snprintf(run_dir, sizeof run_dir, "%s/%s", a->out_dir, cfgs[done].name);
    clgan_progress_printer pp;
    clgan_progress_init(&pp, cfgs[done].name, a->quiet);
    clgan_train_options opts = {run_dir, clgan_progress_print, &pp, pp.tty ? 200 : 0};
    st = clgan_train(be, &cfgs[done], &opts, &runs[done], &err);
    if (st == CLGAN_OK)
      print_result(run_dir, &runs[done]);
    else
      clgan_error_prefix(&err, "%s: ", cfgs[done].name);
  }
  if (st == CLGAN_OK && a->n_configs > 1) {
    char path[4096];
    snprintf(path, sizeof path, "%s/comparison.png", a->out_dir);
    st = clgan_plot_comparison(path, runs, a->n_configs, &err);
    snprintf(path, sizeof path, "%s/summary.md", a->out_dir);
    if (st == CLGAN_OK)
      st = clgan_write_summary_md(path, runs, a->n_configs, &err);
    if (st == CLGAN_OK)
      printf("comparison: %s/comparison.png, %s/summary.md\n", a->out_dir, a->out_dir);
  }
  if (st != CLGAN_OK)
    fprintf(stderr, "clgan train: %s\n", err.message);
  for (size_t i = 0; i < a->n_configs; ++i)
    clgan_run_result_free_densities(&runs[i]);
  for (size_t i = 0; i < bc.n; ++i)
    bc.be[i]->ops->destroy(bc.be[i]);
  return (int)st;
}

int clgan_cmd_train(int argc, char **argv) {
  train_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc >= 0)
    return rc;
  clgan_config *cfgs = calloc(a.n_configs, sizeof *cfgs);
  clgan_run_result *runs = calloc(a.n_configs, sizeof *runs);
  if (!cfgs || !runs) {
    free(cfgs);
    free(runs);
    fprintf(stderr, "clgan train: out of memory\n");
    return 1;
  }
  rc = load_configs(&a, cfgs);
  if (rc == 0)
    rc = run_all(&a, cfgs, runs);
  free(cfgs);
  free(runs);
  return rc;
}
