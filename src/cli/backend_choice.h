/* Opening the backend a command runs on: --backend and --device flags over
 * the CLGAN_DEVICE environment variable over the config over the default. */
#ifndef CLGAN_CLI_BACKEND_CHOICE_H
#define CLGAN_CLI_BACKEND_CHOICE_H

#include <stdbool.h>

#include "clgan/backend.h"
#include "clgan/config.h"

typedef struct clgan_device_request {
  clgan_backend_kind kind;
  const char *spec;   /* NULL or "" = default device */
  const char *origin; /* "--device", "CLGAN_DEVICE" or "config device.select" */
} clgan_device_request;

/* The request for cfg given the --device flag value (NULL if absent). */
clgan_device_request clgan_device_request_for(const clgan_config *cfg, const char *device_flag);

/* Opens the backend; prints the chosen device on stderr unless quiet. */
clgan_status clgan_open_backend(const clgan_device_request *req, bool quiet, clgan_backend **out,
                                clgan_error *err);

#endif
