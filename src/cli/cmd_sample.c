/* clgan sample CHECKPOINT -n N: generated samples from a trained generator,
 * one per line (comma-separated when the data has several dimensions). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_choice.h"
#include "clgan/checkpoint.h"
#include "clgan/gan.h"
#include "cli.h"
#include "cli_args.h"

#define SAMPLE_CHUNK 65536

typedef struct sample_args {
  const char *checkpoint, *device, *backend;
  unsigned long long n, seed;
  int have_n, have_seed, quiet;
} sample_args;

static void usage(FILE *out) {
  fprintf(out, "usage: clgan sample CHECKPOINT -n N [options]\n"
               "\n"
               "Prints N samples from the generator in CHECKPOINT (a run's checkpoint.clgan),\n"
               "one per line; comma-separated columns when the data has several dimensions.\n"
               "Samples are independent: stratified training noise is replaced by uniform\n"
               "noise over the same range.\n"
               "\n"
               "options:\n"
               "  -n, --count N        number of samples (required, >= 1)\n"
               "  --seed S             noise seed (default: the run's train.seed)\n"
               "  --device SPEC        OpenCL device, as for 'clgan train'\n"
               "  --backend NAME       opencl (default: the run's) or ref\n"
               "  -q, --quiet          do not print the device on stderr\n"
               "  -h, --help           show this help\n");
}

static int parse_args(int argc, char **argv, sample_args *a) {
  static const struct option longopts[] = {{"count", required_argument, NULL, 'n'},
                                           {"seed", required_argument, NULL, 's'},
                                           {"device", required_argument, NULL, 'd'},
                                           {"backend", required_argument, NULL, 'b'},
                                           {"quiet", no_argument, NULL, 'q'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  memset(a, 0, sizeof *a);
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, ":n:qh", longopts, NULL)) != -1) {
    switch (c) {
    case 'n':
      if (!clgan_cli_parse_count(optarg, &a->n) || a->n == 0)
        return clgan_cli_usage_error("sample", "-n needs a whole number >= 1, got '%s'", optarg);
      a->have_n = 1;
      break;
    case 's':
      if (!clgan_cli_parse_count(optarg, &a->seed))
        return clgan_cli_usage_error("sample", "--seed needs a whole number >= 0, got '%s'",
                                     optarg);
      a->have_seed = 1;
      break;
    case 'd':
      a->device = optarg;
      break;
    case 'b':
      if (strcmp(optarg, "opencl") && strcmp(optarg, "ref"))
        return clgan_cli_usage_error("sample", "--backend must be 'opencl' or 'ref', got '%s'",
                                     optarg);
      a->backend = optarg;
      break;
    case 'q':
      a->quiet = 1;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case ':':
      return clgan_cli_usage_error("sample", "option '%s' needs a value",
                                   clgan_cli_option_name(argv[optind - 1]));
    default:
      return clgan_cli_usage_error("sample", "unknown option '%s'",
                                   clgan_cli_option_name(argv[optind - 1]));
    }
  }
  if (optind >= argc)
    return clgan_cli_usage_error("sample", "%s", "no CHECKPOINT given");
  if (optind + 1 < argc)
    return clgan_cli_usage_error("sample", "unexpected argument '%s'", argv[optind + 1]);
  a->checkpoint = argv[optind];
  if (!a->have_n)
    return clgan_cli_usage_error("sample", "%s", "-n N is required");
  return -1;
}

static void print_rows(const float *x, size_t rows, size_t dim) {
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < dim; ++c)
      printf("%.9g%c", (double)x[r * dim + c], c + 1 == dim ? '\n' : ',');
}

/* Generates in chunks so any N fits in a fixed amount of device memory. */
static clgan_status generate(clgan_backend *be, const clgan_checkpoint *ck, const sample_args *a,
                             clgan_error *err) {
  const clgan_config *cfg = &ck->cfg;
  size_t chunk = a->n < SAMPLE_CHUNK ? (size_t)a->n : SAMPLE_CHUNK;
  clgan_mlp g;
  CLGAN_TRY(clgan_mlp_create(be, &cfg->generator, cfg->noise.dim, cfg->data.dim,
                             cfg->generator.output_activation, chunk, false, &g, err));
  clgan_buffer *noise = NULL;
  float *host = malloc(chunk * cfg->data.dim * sizeof(float));
  clgan_status st = host ? CLGAN_OK : clgan_fail(err, CLGAN_E_RUNTIME, "out of memory");
  if (st == CLGAN_OK && ck->n_g != g.n_params)
    st = clgan_fail(err, CLGAN_E_INPUT,
                    "checkpoint generator has %llu parameters, config builds %zu",
                    (unsigned long long)ck->n_g, g.n_params);
  if (st == CLGAN_OK)
    st = be->ops->write(be, g.params, 0, g.n_params, ck->g_state, err);
  if (st == CLGAN_OK)
    st = be->ops->buffer_create(be, chunk * cfg->noise.dim, &noise, err);
  uint64_t seed = a->have_seed ? a->seed : cfg->train.seed;
  /* Stratified noise is an ordered grid (good for training batches, and
   * the evaluation uses it); a user asking for samples wants independent
   * draws, so sample uniformly over the same range instead. */
  clgan_noise_params np = cfg->noise.params;
  if (np.kind == CLGAN_NOISE_STRATIFIED)
    np.kind = CLGAN_NOISE_UNIFORM;
  for (unsigned long long done = 0, k = 0; st == CLGAN_OK && done < a->n; ++k) {
    size_t rows = a->n - done < chunk ? (size_t)(a->n - done) : chunk;
    clgan_rng_key key = {seed, CLGAN_STREAM_NOISE_EVAL, (uint32_t)(k + 1)};
    clgan_view z = clgan_view_full(noise, 0, rows, cfg->noise.dim), x;
    st = be->ops->noise(be, np, key, z, err);
    if (st == CLGAN_OK)
      st = clgan_mlp_forward(&g, z, &x, err);
    if (st == CLGAN_OK)
      st = be->ops->read(be, x.buf, x.offset, rows * cfg->data.dim, host, err);
    if (st == CLGAN_OK)
      print_rows(host, rows, cfg->data.dim);
    done += rows;
  }
  if (st == CLGAN_OK && (fflush(stdout) != 0 || ferror(stdout)))
    st = clgan_fail(err, CLGAN_E_RUNTIME, "cannot write the samples to standard output: %s",
                    strerror(errno));
  if (noise)
    be->ops->buffer_destroy(be, noise);
  clgan_mlp_destroy(&g);
  free(host);
  return st;
}

int clgan_cmd_sample(int argc, char **argv) {
  sample_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc >= 0)
    return rc;
  clgan_error err = {0};
  clgan_checkpoint ck;
  clgan_status st = clgan_checkpoint_load(a.checkpoint, &ck, &err);
  if (st != CLGAN_OK) {
    fprintf(stderr, "clgan sample: %s\n", err.message);
    return st;
  }
  if (a.backend)
    ck.cfg.device.backend = strcmp(a.backend, "ref") ? CLGAN_BACKEND_OPENCL : CLGAN_BACKEND_REF;
  clgan_device_request req = clgan_device_request_for(&ck.cfg, a.device);
  clgan_backend *be = NULL;
  st = clgan_open_backend(&req, a.quiet, &be, &err);
  if (st == CLGAN_OK) {
    st = generate(be, &ck, &a, &err);
    be->ops->destroy(be);
  }
  if (st != CLGAN_OK)
    fprintf(stderr, "clgan sample: %s\n", err.message);
  clgan_checkpoint_free(&ck);
  return st;
}
