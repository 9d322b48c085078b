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
  if (n <= 0)
    return err->status;
  /* Keep the prefix and as much of the old message as still fits. */
  size_t plen = strlen(prefix), mlen = strlen(err->message), cap = sizeof err->message - 1;
  if (plen > cap)
    plen = cap;
  if (mlen > cap - plen)
    mlen = cap - plen;
  memmove(err->message + plen, err->message, mlen);
  memcpy(err->message, prefix, plen);
  err->message[plen + mlen] = '\0';
  return err->status;
}

void clgan_error_clear(clgan_error *err) {
  if (err) {
    err->status = CLGAN_OK;
    err->message[0] = '\0';
  }
}
