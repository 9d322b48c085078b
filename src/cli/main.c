/* clgan: train GANs with minibatch discrimination on any OpenCL device. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef CLGAN_VERSION
#define CLGAN_VERSION "unknown"
#endif

static void usage(FILE *out) {
  fprintf(out, "usage: clgan COMMAND [ARGS]\n"
               "\n"
               "Train 1-D GANs with and without minibatch discrimination on an OpenCL device.\n"
               "\n"
               "commands:\n"
               "  devices   list OpenCL platforms and devices with their ids\n"
               "  train     train one or more experiment configs (YAML)\n"
               "  sample    draw samples from a trained generator checkpoint\n"
               "  check     check every op on a device against the reference backend\n"
               "\n"
               "options:\n"
               "  -h, --help     show this help\n"
               "  --version      print the version\n"
               "\n"
               "Run 'clgan COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("clgan %s\n", CLGAN_VERSION);
    return 0;
  }
  if (!strcmp(cmd, "devices"))
    return clgan_cmd_devices(argc - 1, argv + 1);
  if (!strcmp(cmd, "train"))
    return clgan_cmd_train(argc - 1, argv + 1);
  if (!strcmp(cmd, "sample"))
    return clgan_cmd_sample(argc - 1, argv + 1);
  if (!strcmp(cmd, "check"))
    return clgan_cmd_check(argc - 1, argv + 1);
  fprintf(stderr,
          "clgan: unknown command '%s' (commands: devices, train, sample, check; "
          "see 'clgan --help')\n",
          cmd);
  return 2;
}
