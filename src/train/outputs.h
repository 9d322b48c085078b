/* The files a finished run writes into its folder. */
#ifndef CLGAN_TRAIN_OUTPUTS_H
#define CLGAN_TRAIN_OUTPUTS_H

#include "clgan/gan.h"
#include "clgan/report.h"

/* Removes the outputs of an earlier run in run_dir (and temporary files a
 * killed run left), so a failed or interrupted run can never sit next to
 * older results that look like its own. A resumed run keeps the checkpoint
 * and history it continues from. */
clgan_status clgan_clear_run_outputs(const char *run_dir, bool resuming, clgan_error *err);

/* config.yaml: the resolved config, every key. */
clgan_status clgan_write_resolved_config(const char *run_dir, const clgan_config *cfg,
                                         clgan_error *err);
/* metrics.json, densities.csv and plot.png of a finished run (the
 * training loop writes checkpoint.clgan and history.csv itself). */
clgan_status clgan_write_run_outputs(const char *run_dir, const clgan_run_result *run,
                                     clgan_error *err);

#endif
