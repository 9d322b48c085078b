/* Small helpers shared by the commands' argument parsers. */
#ifndef CLGAN_CLI_ARGS_H
#define CLGAN_CLI_ARGS_H

#include "clgan/status.h"

/* Prints "clgan CMD: <fmt with what> (see 'clgan CMD --help')" on stderr
 * and returns 2, the bad-input exit status. */
int clgan_cli_usage_error(const char *cmd, const char *fmt, const char *what) CLGAN_PRINTF(2, 0);

/* The option getopt stopped at, for messages: a long option is named by
 * its argument, a short one by optopt (argv may hold a cluster like -xq). */
const char *clgan_cli_option_name(const char *arg);

/* Parses a plain decimal count (digits only: no sign, blanks or 0x).
 * Returns 1 on success. */
int clgan_cli_parse_count(const char *text, unsigned long long *out);

#endif
