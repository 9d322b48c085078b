/* history.csv: one row per logged step. Written to history.csv.tmp and
 * renamed when the training loop ends (finished, interrupted or failed), so
 * the file never holds a torn row; a run is complete when metrics.json
 * exists. */
#ifndef CLGAN_TRAIN_HISTORY_H
#define CLGAN_TRAIN_HISTORY_H

#include <stdio.h>

#include "clgan/metrics.h"
#include "clgan/status.h"

typedef struct clgan_history {
  FILE *file;
  char path[4096], tmp_path[4096];
} clgan_history;

clgan_status clgan_history_open(clgan_history *h, const char *run_dir, clgan_error *err);
/* Copies the rows of an earlier history.csv (same columns) with step <=
 * up_to, so a resumed run's history reads as one run. A missing file or
 * one with other columns copies nothing. */
clgan_status clgan_history_copy_rows(clgan_history *h, const char *from, unsigned long long up_to,
                                     clgan_error *err);
/* metrics may be NULL when none were computed at this step. */
void clgan_history_row(clgan_history *h, unsigned long long step, unsigned long long epoch,
                       float d_loss, float g_loss, const clgan_metrics *metrics);
clgan_status clgan_history_commit(clgan_history *h, clgan_error *err);
/* Closes and removes the temporary file (after a failure). */
void clgan_history_abandon(clgan_history *h);

#endif
