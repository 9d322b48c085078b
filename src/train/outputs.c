#include "outputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clgan/train.h"

clgan_status clgan_make_dirs(const char *path, clgan_error *err) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return clgan_fail(err, CLGAN_E_INPUT, "output path too long: '%s'", path);
  for (char *p = buf + 1; *p; ++p) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
      return clgan_fail(err, CLGAN_E_RUNTIME, "cannot create directory '%s': %s", buf,
                        strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, 0777) != 0 && errno != EEXIST)
    return clgan_fail(err, CLGAN_E_RUNTIME, "cannot create directory '%s': %s", buf,
                      strerror(errno));
  return CLGAN_OK;
}

clgan_status clgan_clear_run_outputs(const char *run_dir, bool resuming, clgan_error *err) {
  static const char *const results[] = {"metrics.json", "densities.csv", "plot.png"};
  static const char *const sources[] = {"checkpoint.clgan", "history.csv"};
  static const char *const temporaries[] = {"config.yaml", "metrics.json",     "densities.csv",
                                            "plot.png",    "checkpoint.clgan", "history.csv"};
  char path[4200];
  for (size_t i = 0; i < sizeof results / sizeof results[0]; ++i) {
    snprintf(path, sizeof path, "%s/%s", run_dir, results[i]);
    if (remove(path) != 0 && errno != ENOENT)
      return clgan_fail(err, CLGAN_E_RUNTIME, "cannot remove the old '%s': %s", path,
                        strerror(errno));
  }
  for (size_t i = 0; !resuming && i < sizeof sources / sizeof sources[0]; ++i) {
    snprintf(path, sizeof path, "%s/%s", run_dir, sources[i]);
    if (remove(path) != 0 && errno != ENOENT)
      return clgan_fail(err, CLGAN_E_RUNTIME, "cannot remove the old '%s': %s", path,
                        strerror(errno));
  }
  for (size_t i = 0; i < sizeof temporaries / sizeof temporaries[0]; ++i) {
    snprintf(path, sizeof path, "%s/%s.tmp", run_dir, temporaries[i]);
    remove(path); /* best effort: a stale temporary is never read */
  }
  return CLGAN_OK;
}

clgan_status clgan_write_resolved_config(const char *run_dir, const clgan_config *cfg,
                                         clgan_error *err) {
  char path[4096], tmp[4200];
  snprintf(path, sizeof path, "%s/config.yaml", run_dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  char *yaml = clgan_config_to_yaml(cfg);
  if (!yaml)
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory writing '%s'", path);
  FILE *f = fopen(tmp, "w");
  int ok = f && fputs(yaml, f) >= 0;
  ok = f && fclose(f) == 0 && ok;
  free(yaml);
  if (!ok || rename(tmp, path) != 0) {
    int e = errno;
    remove(tmp);
    return clgan_fail(err, CLGAN_E_RUNTIME, "cannot write '%s': %s", path, strerror(e));
  }
  return CLGAN_OK;
}

clgan_status clgan_write_run_outputs(const char *run_dir, const clgan_run_result *run,
                                     clgan_error *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/metrics.json", run_dir);
  CLGAN_TRY(clgan_write_metrics_json(path, run, err));
  snprintf(path, sizeof path, "%s/densities.csv", run_dir);
  CLGAN_TRY(clgan_write_densities_csv(path, run, err));
  snprintf(path, sizeof path, "%s/plot.png", run_dir);
  return clgan_plot_run(path, run, err);
}
