/* Errors as values: every fallible function returns a clgan_status and, on
 * failure, leaves a human-readable message in a caller-owned clgan_error.
 * The status doubles as the process exit code (0 ok, 1 runtime, 2 input). */
#ifndef CLGAN_STATUS_H
#define CLGAN_STATUS_H

#include <stddef.h>

typedef enum clgan_status {
  CLGAN_OK = 0,
  CLGAN_E_RUNTIME = 1, /* the device, the file system or the numbers failed */
  CLGAN_E_INPUT = 2,   /* the user's config, flags or files are wrong */
} clgan_status;

#define CLGAN_ERROR_MESSAGE_MAX 2048

typedef struct clgan_error {
  clgan_status status;
  char message[CLGAN_ERROR_MESSAGE_MAX];
} clgan_error;

#if defined(__GNUC__)
#define CLGAN_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define CLGAN_PRINTF(fmt_index, first_arg)
#endif

/* Records status and message in err (err may be NULL) and returns status. */
clgan_status clgan_fail(clgan_error *err, clgan_status status, const char *fmt, ...)
    CLGAN_PRINTF(3, 4);

/* Prepends context ("while loading x: ") to an existing message; returns err->status. */
clgan_status clgan_error_prefix(clgan_error *err, const char *fmt, ...) CLGAN_PRINTF(2, 3);

void clgan_error_clear(clgan_error *err);

/* Propagate a failure unchanged: CLGAN_TRY(call(..., err)); */
#define CLGAN_TRY(expr)                                                                            \
  do {                                                                                             \
    clgan_status clgan_try_status_ = (expr);                                                       \
    if (clgan_try_status_ != CLGAN_OK)                                                             \
      return clgan_try_status_;                                                                    \
  } while (0)

#endif
