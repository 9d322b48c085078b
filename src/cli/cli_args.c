#include "cli_args.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

int clgan_cli_usage_error(const char *cmd, const char *fmt, const char *what) {
  fprintf(stderr, "clgan %s: ", cmd);
  fprintf(stderr, fmt, what);
  fprintf(stderr, " (see 'clgan %s --help')\n", cmd);
  return 2;
}

const char *clgan_cli_option_name(const char *arg) {
  static char name[3];
  if (arg[0] == '-' && arg[1] == '-')
    return arg;
  name[0] = '-';
  name[1] = (char)optopt;
  name[2] = '\0';
  return name;
}

int clgan_cli_parse_count(const char *text, unsigned long long *out) {
  /* strtoull alone would skip blanks and accept a sign ("-1" is 2^64-1). */
  if (!*text)
    return 0;
  for (const char *p = text; *p; ++p)
    if (*p < '0' || *p > '9')
      return 0;
  char *end;
  errno = 0;
  *out = strtoull(text, &end, 10);
  return errno == 0 && *end == '\0';
}
