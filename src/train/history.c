#include "history.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char HEADER[] = "step,epoch,d_loss,g_loss,w1,ks,mean,std\n";

clgan_status clgan_history_open(clgan_history *h, const char *run_dir, clgan_error *err) {
  snprintf(h->path, sizeof h->path, "%s/history.csv", run_dir);
  snprintf(h->tmp_path, sizeof h->tmp_path, "%s/history.csv.tmp", run_dir);
  h->file = fopen(h->tmp_path, "w");
  if (!h->file)
    return clgan_fail(err, CLGAN_E_RUNTIME, "cannot write '%s': %s", h->tmp_path, strerror(errno));
  fputs(HEADER, h->file);
  return CLGAN_OK;
}

clgan_status clgan_history_copy_rows(clgan_history *h, const char *from, unsigned long long up_to,
                                     clgan_error *err) {
  FILE *in = fopen(from, "r");
  if (!in)
    return CLGAN_OK; /* nothing to continue: the new history starts here */
  char line[1024];
  int ok = fgets(line, sizeof line, in) && strcmp(line, HEADER) == 0;
  while (ok && fgets(line, sizeof line, in)) {
    char *end;
    unsigned long long step = strtoull(line, &end, 10);
    if (end == line || *end != ',' || !strchr(line, '\n'))
      break; /* a torn or foreign row ends what can be trusted */
    if (step > up_to)
      break;
    fputs(line, h->file);
  }
  int failed = ferror(in);
  fclose(in);
  if (failed)
    return clgan_fail(err, CLGAN_E_RUNTIME, "cannot read '%s': %s", from, strerror(errno));
  return CLGAN_OK;
}

void clgan_history_row(clgan_history *h, unsigned long long step, unsigned long long epoch,
                       float d_loss, float g_loss, const clgan_metrics *m) {
  fprintf(h->file, "%llu,%llu,%.7g,%.7g", step, epoch, (double)d_loss, (double)g_loss);
  if (m)
    fprintf(h->file, ",%.7g,%.7g,%.7g,%.7g\n", m->w1, m->ks, m->mean, m->std);
  else
    fprintf(h->file, ",,,,\n");
}

clgan_status clgan_history_commit(clgan_history *h, clgan_error *err) {
  int ok = ferror(h->file) == 0;
  ok = fclose(h->file) == 0 && ok;
  h->file = NULL;
  if (!ok || rename(h->tmp_path, h->path) != 0) {
    int e = errno;
    remove(h->tmp_path);
    return clgan_fail(err, CLGAN_E_RUNTIME, "cannot write '%s': %s", h->path, strerror(e));
  }
  return CLGAN_OK;
}

void clgan_history_abandon(clgan_history *h) {
  if (h->file) {
    fclose(h->file);
    h->file = NULL;
    remove(h->tmp_path);
  }
}
