/* clgan train CONFIG [CONFIG...]: every config is loaded and validated
 * before the first run starts, so a typo in the last file costs nothing.
 * clgan train --resume CHECKPOINT continues one run from its checkpoint.
 * SIGINT/SIGTERM stop a run after the step in flight, with a checkpoint
 * to resume from; the exit status is then 128 + the signal (130, 143). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_choice.h"
#include "clgan/evaluate.h"
#include "clgan/metrics.h"
#include "clgan/train.h"
#include "cli.h"
#include "cli_args.h"
#include "progress.h"

/* The comparison figure lays out at most 8 panels. */
#define MAX_CONFIGS 8
#define MAX_OVERRIDES 256

typedef struct train_args {
  const char *configs[MAX_CONFIGS];
  size_t n_configs;
  const char *overrides[MAX_OVERRIDES];
  size_t n_overrides;
  char seed_override[64], backend_override[64];
  const char *device, *out_dir, *resume;
  int quiet, out_given;
} train_args;

static void usage(FILE *out) {
  fprintf(out,
          "usage: clgan train CONFIG [CONFIG...] [options]\n"
          "       clgan train --resume CHECKPOINT [CONFIG] [options]\n"
          "\n"
          "Trains each YAML config into OUT/NAME/ (config.yaml, history.csv, metrics.json,\n"
          "densities.csv, plot.png, checkpoint.clgan). With several configs it also writes\n"
          "OUT/comparison.png and OUT/summary.md. checkpoint.clgan is rewritten every\n"
          "10 x train.log_every steps and at the end.\n"
          "\n"
          "Ctrl-C (SIGINT) or SIGTERM stops after the current step, writes the checkpoint\n"
          "and history.csv, and exits 130 or 143; a second Ctrl-C stops at once.\n"
          "\n"
          "--resume continues the run in CHECKPOINT to its last step, bit for bit as if it\n"
          "had not stopped (on the same device), with the checkpoint's embedded config or\n"
          "CONFIG, which must train the same run. --set may change name, train.epochs,\n"
          "train.max_steps, train.log_every, eval.* and device.*. Outputs go to the\n"
          "checkpoint's folder unless --out is given (then OUT/NAME/).\n"
          "\n"
          "options:\n"
          "  --resume CHECKPOINT  continue the run saved in CHECKPOINT\n"
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
          "exit status: 0 success, 1 runtime failure (device, files, divergence), 2 bad input\n"
          "(config, flags, device, checkpoint), 130/143 stopped by SIGINT/SIGTERM\n");
}

/* Returns -1 when parsing succeeded, else the exit code. */
static int parse_args(int argc, char **argv, train_args *a) {
  static const struct option longopts[] = {{"device", required_argument, NULL, 'd'},
                                           {"backend", required_argument, NULL, 'b'},
                                           {"out", required_argument, NULL, 'o'},
                                           {"seed", required_argument, NULL, 's'},
                                           {"set", required_argument, NULL, 'S'},
                                           {"quiet", no_argument, NULL, 'q'},
                                           {"help", no_argument, NULL, 'h'},
                                           {"resume", required_argument, NULL, 'r'},
                                           {NULL, 0, NULL, 0}};
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
        return clgan_cli_usage_error("train", "--backend must be 'opencl' or 'ref', got '%s'",
                                     optarg);
      snprintf(a->backend_override, sizeof a->backend_override, "device.backend=%s", optarg);
      break;
    case 'o':
      if (!*optarg)
        return clgan_cli_usage_error("train", "--out needs a folder, got '%s'", optarg);
      a->out_dir = optarg;
      a->out_given = 1;
      break;
    case 'r':
      a->resume = optarg;
      break;
    case 's':
      snprintf(a->seed_override, sizeof a->seed_override, "train.seed=%s", optarg);
      break;
    case 'S':
      if (a->n_overrides == MAX_OVERRIDES - 2)
        return clgan_cli_usage_error("train", "too many --set options (at most %s)", "254");
      a->overrides[a->n_overrides++] = optarg;
      break;
    case 'q':
      a->quiet = 1;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case ':':
      return clgan_cli_usage_error("train", "option '%s' needs a value",
                                   clgan_cli_option_name(argv[optind - 1]));
    default:
      return clgan_cli_usage_error("train", "unknown option '%s'",
                                   clgan_cli_option_name(argv[optind - 1]));
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
      return clgan_cli_usage_error("train", "too many configs (at most %s per call)", "8");
    a->configs[a->n_configs++] = argv[i];
  }
  if (a->resume && a->n_configs > 1)
    return clgan_cli_usage_error("train", "%s",
                                 "--resume continues one run; give at most one CONFIG");
  if (a->n_configs == 0 && !a->resume)
    return clgan_cli_usage_error("train", "%s", "no CONFIG given");
  return -1;
}

static int load_configs(const train_args *a, clgan_config *cfgs) {
  for (size_t i = 0; i < a->n_configs; ++i) {
    clgan_error err = {0};
    if (clgan_config_load(a->configs[i], a->overrides, a->n_overrides, &cfgs[i], &err)) {
      fprintf(stderr, "clgan train: %s\n", err.message);
      return err.status;
    }
    /* The metrics compare against the target inside eval.range: a range the
     * target has no mass in would only fail after training. */
    const clgan_config *c = &cfgs[i];
    double mass = clgan_normal_cdf((c->eval.range_max - c->data.mean) / c->data.std) -
                  clgan_normal_cdf((c->eval.range_min - c->data.mean) / c->data.std);
    if (!(mass > 1e-9)) {
      fprintf(stderr,
              "clgan train: %s: eval.range [%g, %g] holds none of the target N(%g, %g²); "
              "widen it around data.mean\n",
              a->configs[i], (double)c->eval.range_min, (double)c->eval.range_max,
              (double)c->data.mean, (double)c->data.std);
      return 2;
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

/* The exit status after a stop request: 128 + the signal, as a shell
 * reports a process the signal ended. */
static int stop_status(volatile sig_atomic_t *stop) {
  return 128 + (int)*stop;
}

/* One run through clgan_train with the stop flag, progress and messages.
 * Returns the exit status. */
static int train_one(const train_args *a, clgan_backend *be, const clgan_config *cfg,
                     const char *run_dir, volatile sig_atomic_t *stop,
                     const clgan_checkpoint *resume, const char *resume_history,
                     clgan_run_result *run) {
  clgan_progress_printer pp;
  clgan_progress_init(&pp, cfg->name, a->quiet);
  bool stopped = false;
  clgan_train_options opts = {.run_dir = run_dir,
                              .progress = clgan_progress_print,
                              .progress_ctx = &pp,
                              .progress_every = pp.tty ? 200 : 0,
                              .stop = stop,
                              .stopped = &stopped,
                              .resume = resume,
                              .resume_path = a->resume,
                              .resume_history = resume_history};
  clgan_error err = {0};
  clgan_status st = clgan_train(be, cfg, &opts, run, &err);
  clgan_progress_end_line(&pp);
  if (st == CLGAN_OK) {
    print_result(run_dir, run);
    return 0;
  }
  if (stopped) {
    /* The same device gives the same continuation, so name it again. */
    fprintf(
        stderr, "clgan train: %s: %s; resume with: clgan train --resume %s/checkpoint.clgan%s%s\n",
        cfg->name, err.message, run_dir, a->device ? " --device " : "", a->device ? a->device : "");
    return stop_status(stop);
  }
  fprintf(stderr, "clgan train: %s: %s\n", cfg->name, err.message);
  return (int)st;
}

static int run_all(const train_args *a, clgan_config *cfgs, clgan_run_result *runs,
                   volatile sig_atomic_t *stop) {
  backend_cache bc = {0};
  clgan_error err = {0};
  int rc = 0;
  /* Every run's device is resolved before the first run trains, so a bad
   * device.select in the last config costs nothing. */
  clgan_backend *bes[MAX_CONFIGS] = {NULL};
  for (size_t i = 0; i < a->n_configs && rc == 0; ++i) {
    clgan_device_request req = clgan_device_request_for(&cfgs[i], a->device);
    if (cached_backend(&bc, &req, a->quiet, &bes[i], &err) != CLGAN_OK) {
      fprintf(stderr, "clgan train: %s: %s\n", a->configs[i], err.message);
      rc = (int)err.status;
    }
  }
  for (size_t i = 0; i < a->n_configs && rc == 0; ++i) {
    if (*stop) {
      fprintf(stderr, "clgan train: interrupted before %s started\n", cfgs[i].name);
      rc = stop_status(stop);
      break;
    }
    clgan_backend *be = bes[i];
    char run_dir[4096];
    snprintf(run_dir, sizeof run_dir, "%s/%s", a->out_dir, cfgs[i].name);
    rc = train_one(a, be, &cfgs[i], run_dir, stop, NULL, NULL, &runs[i]);
  }
  if (rc == 0 && a->n_configs > 1) {
    char path[4096];
    snprintf(path, sizeof path, "%s/comparison.png", a->out_dir);
    clgan_status st = clgan_plot_comparison(path, runs, a->n_configs, &err);
    snprintf(path, sizeof path, "%s/summary.md", a->out_dir);
    if (st == CLGAN_OK)
      st = clgan_write_summary_md(path, runs, a->n_configs, &err);
    if (st == CLGAN_OK)
      printf("comparison: %s/comparison.png, %s/summary.md\n", a->out_dir, a->out_dir);
    else
      fprintf(stderr, "clgan train: %s\n", err.message);
    rc = (int)st;
  }
  for (size_t i = 0; i < a->n_configs; ++i)
    clgan_run_result_free_densities(&runs[i]);
  for (size_t i = 0; i < bc.n; ++i)
    bc.be[i]->ops->destroy(bc.be[i]);
  return rc;
}

static int train_all(train_args *a, volatile sig_atomic_t *stop) {
  clgan_config *cfgs = calloc(a->n_configs, sizeof *cfgs);
  clgan_run_result *runs = calloc(a->n_configs, sizeof *runs);
  int rc = 1;
  if (!cfgs || !runs)
    fprintf(stderr, "clgan train: out of memory\n");
  else if ((rc = load_configs(a, cfgs)) == 0)
    rc = run_all(a, cfgs, runs, stop);
  free(cfgs);
  free(runs);
  return rc;
}

/* The folder a checkpoint lies in ("." for a bare file name). */
static void parent_dir(const char *path, char *dir, size_t size) {
  snprintf(dir, size, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash)
    snprintf(dir, size, ".");
  else if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
}

/* --resume: the checkpoint's config (or CONFIG) with the --set overrides;
 * clgan_train refuses a config that would train another run before it
 * writes anything. */
static int resume_run(const train_args *a, volatile sig_atomic_t *stop) {
  clgan_error err = {0};
  clgan_checkpoint ck;
  if (clgan_checkpoint_load(a->resume, &ck, &err) != CLGAN_OK) {
    fprintf(stderr, "clgan train: %s\n", err.message);
    return (int)err.status;
  }
  clgan_config cfg;
  char source[4200];
  snprintf(source, sizeof source, "%s (embedded config)", a->resume);
  clgan_status st = a->n_configs
                        ? clgan_config_load(a->configs[0], a->overrides, a->n_overrides, &cfg, &err)
                        : clgan_config_load_string(ck.config_yaml, strlen(ck.config_yaml), source,
                                                   a->overrides, a->n_overrides, &cfg, &err);
  /* Refused before a device is opened: that can take seconds. */
  if (st == CLGAN_OK)
    st = clgan_checkpoint_check_resume(&ck, a->resume, &cfg, &err);
  clgan_backend *be = NULL;
  if (st == CLGAN_OK) {
    clgan_device_request req = clgan_device_request_for(&cfg, a->device);
    st = clgan_open_backend(&req, a->quiet, &be, &err);
  }
  int rc = (int)st;
  if (st != CLGAN_OK) {
    fprintf(stderr, "clgan train: %s\n", err.message);
  } else {
    char ckpt_dir[4096], run_dir[4096], history[4200];
    parent_dir(a->resume, ckpt_dir, sizeof ckpt_dir);
    if (a->out_given)
      snprintf(run_dir, sizeof run_dir, "%s/%s", a->out_dir, cfg.name);
    else
      snprintf(run_dir, sizeof run_dir, "%s", ckpt_dir);
    snprintf(history, sizeof history, "%s/history.csv", ckpt_dir);
    if (!a->quiet)
      fprintf(stderr, "clgan train: resuming %s from %s at step %llu\n", cfg.name, a->resume,
              (unsigned long long)ck.step);
    clgan_run_result run;
    rc = train_one(a, be, &cfg, run_dir, stop, &ck, history, &run);
    clgan_run_result_free_densities(&run);
  }
  if (be)
    be->ops->destroy(be);
  clgan_checkpoint_free(&ck);
  return rc;
}

int clgan_cmd_train(int argc, char **argv) {
  train_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc >= 0)
    return rc;
  volatile sig_atomic_t *stop = clgan_stop_on_signals();
  rc = a.resume ? resume_run(&a, stop) : train_all(&a, stop);
  clgan_stop_signals_restore();
  return rc;
}
