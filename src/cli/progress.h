/* Training progress for people: a live bar on a terminal, plain periodic
 * lines otherwise (logs, CI), nothing with --quiet. */
#ifndef CLGAN_CLI_PROGRESS_H
#define CLGAN_CLI_PROGRESS_H

#include <stdbool.h>

#include "clgan/train.h"

typedef struct clgan_progress_printer {
  const char *run_name;
  bool tty, quiet;
  bool open_line;       /* a bar is on screen without its newline */
  unsigned last_decile; /* plain mode prints at each 10% */
} clgan_progress_printer;

void clgan_progress_init(clgan_progress_printer *pp, const char *run_name, bool quiet);
/* clgan_progress_fn; ctx is a clgan_progress_printer. */
void clgan_progress_print(void *ctx, const clgan_progress *p);
/* Ends a bar left mid-line (a run that stopped early), so the next message
 * starts on a line of its own. */
void clgan_progress_end_line(clgan_progress_printer *pp);

#endif
