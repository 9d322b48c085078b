/* metrics.json, densities.csv and summary.md.
 *
 * Each file is written to "<path>.tmp", flushed to disk and renamed over
 * <path>, so a reader (or the next pipeline stage) sees either the old file
 * or the complete new one, never a truncated file that looks valid. */
#include "clgan/report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef void (*content_writer)(FILE *f, const void *ctx);

static clgan_status fail_errno(clgan_error *err, const char *what, const char *path, int errnum) {
  return clgan_fail(err, CLGAN_E_RUNTIME, "cannot %s %s: %s", what, path, strerror(errnum));
}

/* Flushes and syncs f, then closes it; returns 0 or the first errno seen.
 * stdio reports write errors (disk full) late, so every step is checked. */
static int finish_file(FILE *f) {
  int e = 0;
  if (fflush(f) != 0 || ferror(f))
    e = errno ? errno : EIO;
  if (e == 0 && fsync(fileno(f)) != 0)
    e = errno;
  if (fclose(f) != 0 && e == 0)
    e = errno;
  return e;
}

/* Writes the file through `write` into path.tmp and renames it to path. */
static clgan_status write_atomically(const char *path, content_writer write, const void *ctx,
                                     clgan_error *err) {
  char tmp[4096];
  int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
  if (n < 0 || (size_t)n >= sizeof tmp)
    return clgan_fail(err, CLGAN_E_RUNTIME, "cannot write %s: path too long", path);
  FILE *f = fopen(tmp, "w");
  if (!f)
    return fail_errno(err, "write", tmp, errno);
  errno = 0;
  write(f, ctx);
  int e = finish_file(f);
  if (e == 0 && rename(tmp, path) != 0)
    e = errno;
  if (e != 0) {
    remove(tmp);
    return fail_errno(err, "write", path, e);
  }
  return CLGAN_OK;
}

/* Length of a fixed-size, possibly unterminated char array's string. */
#define FIELD_LEN(field) strnlen((field), sizeof(field))

/* ---- JSON ---------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s (at most len bytes), or 0
 * when the bytes there are not valid UTF-8 (stray continuation, truncated
 * or overlong sequence, surrogate, beyond U+10FFFF). */
static size_t utf8_sequence(const unsigned char *s, size_t len) {
  unsigned char c = s[0];
  size_t need;
  unsigned long cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    need = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF)
    need = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4)
    need = 4, cp = c & 0x07;
  else
    return 0;
  if (need > len)
    return 0;
  for (size_t i = 1; i < need; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  bool overlong = (need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000);
  bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
  if (overlong || surrogate || cp > 0x10FFFF)
    return 0;
  return need;
}

/* A JSON string literal. Names come from config file names and device
 * names from the OpenCL driver: either may hold quotes, control bytes or
 * invalid UTF-8, and the file must stay valid JSON regardless. */
static void json_string(FILE *f, const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  fputc('"', f);
  for (size_t i = 0; i < len;) {
    unsigned char c = u[i];
    if (c == '"' || c == '\\') {
      fprintf(f, "\\%c", c);
    } else if (c == '\n') {
      fputs("\\n", f);
    } else if (c == '\t') {
      fputs("\\t", f);
    } else if (c == '\r') {
      fputs("\\r", f);
    } else if (c < 0x20 || c == 0x7F) {
      fprintf(f, "\\u%04x", c);
    } else {
      size_t k = utf8_sequence(u + i, len - i);
      if (k == 0) {
        fputs("\\ufffd", f); /* replacement character for a bad byte */
        i++;
        continue;
      }
      fwrite(u + i, 1, k, f);
      i += k;
      continue;
    }
    i++;
  }
  fputc('"', f);
}

/* JSON has no NaN or infinity; a diverged run's numbers become null. */
static void json_number(FILE *f, double x) {
  if (isfinite(x))
    fprintf(f, "%.9g", x);
  else
    fputs("null", f);
}

static void json_key(FILE *f, const char *key) {
  fprintf(f, "  \"%s\": ", key);
}

static void json_double_field(FILE *f, const char *key, double x, bool last) {
  json_key(f, key);
  json_number(f, x);
  fputs(last ? "\n" : ",\n", f);
}

static void write_metrics_json(FILE *f, const void *ctx) {
  const clgan_run_result *run = ctx;
  const clgan_config *cfg = run->cfg;
  const clgan_metrics *m = &run->metrics;
  fputs("{\n", f);
  json_key(f, "name");
  json_string(f, cfg->name, FIELD_LEN(cfg->name));
  fputs(",\n", f);
  fprintf(f, "  \"mbd\": %s,\n", clgan_config_has_mbd(cfg) ? "true" : "false");
  json_key(f, "backend");
  json_string(f, run->backend_name, FIELD_LEN(run->backend_name));
  fputs(",\n", f);
  json_key(f, "device");
  json_string(f, run->device_name, FIELD_LEN(run->device_name));
  fputs(",\n", f);
  fprintf(f, "  \"steps\": %" PRIu64 ",\n", run->steps);
  json_double_field(f, "train_wall_s", run->train_wall_s, false);
  json_double_field(f, "steps_per_s", run->steps_per_s, false);
  fprintf(f, "  \"eval_samples\": %zu,\n", run->eval_samples);
  fprintf(f, "  \"eval_batch\": %zu,\n", run->eval_batch);
  json_double_field(f, "target_mean", cfg->data.mean, false);
  json_double_field(f, "target_std", cfg->data.std, false);
  json_double_field(f, "w1", m->w1, false);
  json_double_field(f, "ks", m->ks, false);
  json_double_field(f, "js", m->js, false);
  json_double_field(f, "mean", m->mean, false);
  json_double_field(f, "std", m->std, false);
  json_double_field(f, "std_ratio", m->std_ratio, false);
  json_double_field(f, "final_d_loss", run->final_d_loss, false);
  json_double_field(f, "final_g_loss", run->final_g_loss, true);
  fputs("}\n", f);
}

static clgan_status check_run(const clgan_run_result *run, const char *what, clgan_error *err) {
  if (!run || !run->cfg)
    return clgan_fail(err, CLGAN_E_INPUT, "%s: run result or its config is NULL", what);
  bool arrays = run->bin_centres && run->real_density && run->gen_density && run->d_of_x;
  if (run->n_bins > 0 && !arrays)
    return clgan_fail(err, CLGAN_E_INPUT, "%s: run '%.*s' has %zu bins but missing density arrays",
                      what, (int)FIELD_LEN(run->cfg->name), run->cfg->name, run->n_bins);
  return CLGAN_OK;
}

clgan_status clgan_write_metrics_json(const char *path, const clgan_run_result *run,
                                      clgan_error *err) {
  CLGAN_TRY(check_run(run, "metrics.json", err));
  return write_atomically(path, write_metrics_json, run, err);
}

/* ---- CSV ----------------------------------------------------------------- */

/* "nan"/"inf" rather than printf's "-nan": what numpy and pandas parse. */
static void csv_number(FILE *f, double x) {
  if (isnan(x))
    fputs("nan", f);
  else if (isinf(x))
    fputs(x > 0 ? "inf" : "-inf", f);
  else
    fprintf(f, "%.9g", x);
}

static void write_densities_csv(FILE *f, const void *ctx) {
  const clgan_run_result *run = ctx;
  fputs("x,real_density,generated_density,d_of_x\n", f);
  for (size_t k = 0; k < run->n_bins; k++) {
    csv_number(f, run->bin_centres[k]);
    fputc(',', f);
    csv_number(f, run->real_density[k]);
    fputc(',', f);
    csv_number(f, run->gen_density[k]);
    fputc(',', f);
    csv_number(f, run->d_of_x[k]);
    fputc('\n', f);
  }
}

clgan_status clgan_write_densities_csv(const char *path, const clgan_run_result *run,
                                       clgan_error *err) {
  CLGAN_TRY(check_run(run, "densities.csv", err));
  return write_atomically(path, write_densities_csv, run, err);
}

/* ---- Markdown summary ---------------------------------------------------- */

typedef struct summary_ctx {
  const clgan_run_result *runs;
  size_t n_runs;
} summary_ctx;

/* A table cell from free text: '|' would end the cell and a newline the
 * row, so both are neutralised, as are other control bytes. */
static void md_cell_text(FILE *f, const char *s, size_t len) {
  fputc(' ', f);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '|')
      fputs("\\|", f);
    else if (c < 0x20 || c == 0x7F)
      fputc(' ', f);
    else
      fputc(c, f);
  }
  fputs(" |", f);
}

static void md_cell_number(FILE *f, int decimals, double x) {
  if (isfinite(x))
    fprintf(f, " %.*f |", decimals, x);
  else
    fputs(" n/a |", f);
}

static void md_row(FILE *f, const clgan_run_result *run) {
  const clgan_metrics *m = &run->metrics;
  fputc('|', f);
  md_cell_text(f, run->cfg->name, FIELD_LEN(run->cfg->name));
  fprintf(f, " %s |", clgan_config_has_mbd(run->cfg) ? "yes" : "no");
  md_cell_number(f, 4, m->w1);
  md_cell_number(f, 4, m->ks);
  md_cell_number(f, 4, m->js);
  md_cell_number(f, 3, m->mean);
  md_cell_number(f, 3, m->std);
  md_cell_number(f, 3, m->std_ratio);
  fprintf(f, " %" PRIu64 " |", run->steps);
  md_cell_number(f, 2, run->train_wall_s);
  md_cell_number(f, 0, run->steps_per_s);
  fputc('\n', f);
}

/* The explanation names the target when all runs share it. */
static void md_footer(FILE *f, const clgan_run_result *runs, size_t n_runs) {
  float mean = runs[0].cfg->data.mean, std = runs[0].cfg->data.std;
  bool same = true;
  for (size_t i = 1; i < n_runs; i++)
    same = same && runs[i].cfg->data.mean == mean && runs[i].cfg->data.std == std;
  fputs("\nW1 (Wasserstein-1), KS (Kolmogorov-Smirnov) and JS (Jensen-Shannon, nats, over the "
        "plot range) compare the generated samples with the target",
        f);
  if (same)
    fprintf(f, " N(%g, %g²)", (double)mean, (double)std);
  fputs("; lower is better. Std ratio is generated std / target std: near 1 means no mode "
        "collapse, well below 1 means the generator collapsed.\n",
        f);
}

static void write_summary_md(FILE *f, const void *ctx) {
  const summary_ctx *s = ctx;
  fputs("| run | MBD | W1 | KS | JS | mean | std | std ratio | steps | wall time (s) | steps/s |\n",
        f);
  fputs("|:----|:---:|---:|---:|---:|-----:|----:|----------:|------:|--------------:|--------:|\n",
        f);
  for (size_t i = 0; i < s->n_runs; i++)
    md_row(f, &s->runs[i]);
  md_footer(f, s->runs, s->n_runs);
}

clgan_status clgan_write_summary_md(const char *path, const clgan_run_result *runs, size_t n_runs,
                                    clgan_error *err) {
  if (!runs || n_runs == 0)
    return clgan_fail(err, CLGAN_E_INPUT, "summary.md: no runs to summarise");
  for (size_t i = 0; i < n_runs; i++)
    CLGAN_TRY(check_run(&runs[i], "summary.md", err));
  summary_ctx ctx = {runs, n_runs};
  return write_atomically(path, write_summary_md, &ctx, err);
}
