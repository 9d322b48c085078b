#include "clgan/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

clgan_status clgan_fail(clgan_error *err, clgan_status status, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->status = status;
  }
  return status;
}

clgan_status clgan_error_prefix(clgan_error *err, const char *fmt, ...) {
  if (!err)
    return CLGAN_E_RUNTIME;
  char prefix[CLGAN_ERROR_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  if (n > 0) {
    char joined[CLGAN_ERROR_MESSAGE_MAX];
    snprintf(joined, sizeof joined, "%s%s", prefix, err->message);
    memcpy(err->message, joined, sizeof joined);
  }
  return err->status;
}

void clgan_error_clear(clgan_error *err) {
  if (err) {
    err->status = CLGAN_OK;
    err->message[0] = '\0';
  }
}
