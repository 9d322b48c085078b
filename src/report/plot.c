/* plot.png and comparison.png with PLplot's pngcairo driver: the real
 * density, the generated density and the discriminator's D(x) on shared
 * axes, in the style of the seed write-up's figures.
 *
 * PLplot is a library with global state and a habit of calling exit() on
 * fatal errors. Each figure therefore gets its own stream (plmkstrm ...
 * plend1), the caller's current stream is restored afterwards, fatal errors
 * are turned into a longjmp back here by a plsexit handler, and non-fatal
 * ones are collected with plsError. Like PLplot itself, this module is not
 * thread-safe: draw figures from one thread at a time.
 *
 * The PNG goes to "<path>.tmp" and is renamed to <path> only once it is
 * complete, so a failed plot leaves nothing behind. */
#include "clgan/report.h"

#include <errno.h>
#include <math.h>
#include <plplot.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PANEL_WIDTH 800
#define PANEL_HEIGHT 600
#define TEXT_MAX 512

/* cmap0 indices; 0 is the background. */
enum { COL_BG = 0, COL_FG, COL_GRID, COL_REAL, COL_GEN, COL_D, COL_COUNT };

/* Colours chosen to stay distinct in greyscale and for red-green colour
 * blindness; D(x) is also dashed, since it is a probability rather than a
 * density and should not be read as a third distribution. */
static const int palette[COL_COUNT][3] = {
    [COL_BG] = {255, 255, 255},  [COL_FG] = {0, 0, 0},       [COL_GRID] = {225, 225, 225},
    [COL_REAL] = {31, 119, 180}, [COL_GEN] = {255, 127, 14}, [COL_D] = {44, 160, 44},
};

/* Static because longjmp may only rely on objects that are not automatic
 * variables of the function that called setjmp (or are volatile). */
static struct {
  jmp_buf escape;
  bool armed;              /* a longjmp target is live */
  char exit_msg[TEXT_MAX]; /* what plexit() complained about */
  PLINT abort_code;        /* set by plabort() through plsError */
  char abort_msg[TEXT_MAX * 2];
} plot_state;

/* Installed with plsexit: PLplot calls exit() after this handler returns,
 * so it must not return while a figure is being drawn. */
static int on_plplot_exit(const char *msg) {
  snprintf(plot_state.exit_msg, sizeof plot_state.exit_msg, "%s", msg ? msg : "");
  if (plot_state.armed) {
    plot_state.armed = false;
    longjmp(plot_state.escape, 1);
  }
  return 1;
}

/* ---- Figure contents ----------------------------------------------------- */

typedef struct axes {
  double xmin, xmax, ymax;
} axes;

static double finite_max(const double *v, size_t n, double floor_value) {
  double m = floor_value;
  for (size_t i = 0; i < n; i++)
    if (isfinite(v[i]) && v[i] > m)
      m = v[i];
  return m;
}

/* x from the eval range, y from 0 to at least 1 (D's range) and 5% above
 * the tallest density, all runs sharing one set of axes. */
static axes axes_for(const clgan_run_result *runs, size_t n_runs) {
  axes a = {runs[0].cfg->eval.range_min, runs[0].cfg->eval.range_max, 0.0};
  double top = 0.0;
  for (size_t i = 0; i < n_runs; i++) {
    const clgan_run_result *r = &runs[i];
    a.xmin = fmin(a.xmin, r->cfg->eval.range_min);
    a.xmax = fmax(a.xmax, r->cfg->eval.range_max);
    top = finite_max(r->real_density, r->n_bins, top);
    top = finite_max(r->gen_density, r->n_bins, top);
  }
  a.ymax = fmax(1.0, 1.05 * top);
  return a;
}

/* Draws y(x) as a line, leaving gaps where a value is not finite (a
 * diverged run's NaN) instead of joining across them. */
static void draw_curve(const double *x, const double *y, size_t n) {
  size_t start = 0;
  while (start < n) {
    while (start < n && !(isfinite(x[start]) && isfinite(y[start])))
      start++;
    size_t end = start;
    while (end < n && isfinite(x[end]) && isfinite(y[end]))
      end++;
    if (end - start >= 2)
      plline((PLINT)(end - start), x + start, y + start);
    start = end;
  }
}

/* Copies text with PLplot's escape character '#' doubled, so run names
 * are shown literally. */
static void plplot_literal(char *dst, size_t cap, const char *src, size_t len) {
  size_t o = 0;
  for (size_t i = 0; i < len && src[i] && o + 2 < cap; i++) {
    if (src[i] == '#')
      dst[o++] = '#';
    dst[o++] = src[i];
  }
  dst[o] = '\0';
}

/* Four decimals as in the seed's figures; absurd values of a broken run
 * switch to exponent form rather than filling the title with digits. */
static void format_metric(char *dst, size_t cap, const char *label, double v) {
  if (isfinite(v) && fabs(v) < 1e4)
    snprintf(dst, cap, "%s %.4f", label, v);
  else if (isfinite(v))
    snprintf(dst, cap, "%s %.3e", label, v);
  else
    snprintf(dst, cap, "%s n/a", label);
}

/* "<name>[ (with MBD|no MBD)]  W1 0.0123  KS 0.0456" */
static void panel_title(char *dst, size_t cap, const clgan_run_result *run, bool mbd_tag) {
  char name[2 * CLGAN_NAME_MAX], w1[32], ks[32]; /* '#' may double each name byte */
  plplot_literal(name, sizeof name, run->cfg->name, sizeof run->cfg->name);
  format_metric(w1, sizeof w1, "W1", run->metrics.w1);
  format_metric(ks, sizeof ks, "KS", run->metrics.ks);
  const char *tag = "";
  if (mbd_tag)
    tag = clgan_config_has_mbd(run->cfg) ? " (with MBD)" : " (no MBD)";
  snprintf(dst, cap, "%s%s  %s  %s", name, tag, w1, ks);
}

/* Margins around the data area, in character heights, so the layout holds
 * whatever the page size: title above, tick labels and "x" below with the
 * legend under them, tick labels and the y label on the left. */
#define MARGIN_TOP 3.5
#define MARGIN_BOTTOM 8.0
#define MARGIN_LEFT 7.0
#define MARGIN_RIGHT 2.0
#define LEGEND_GAP 4.6 /* from the viewport's bottom edge to the legend's top */
#define CHAR_HEIGHT_MM 4.9

/* Sets the viewport of the current subpage from the margins above; returns
 * the viewport's height in character heights for placing the legend. */
static double set_viewport(void) {
  PLFLT def, ht, xmin, xmax, ymin, ymax;
  plgchr(&def, &ht);
  plgspa(&xmin, &xmax, &ymin, &ymax); /* subpage in mm */
  double w = (xmax - xmin) / ht, h = (ymax - ymin) / ht;
  plvpor(MARGIN_LEFT / w, 1.0 - MARGIN_RIGHT / w, MARGIN_BOTTOM / h, 1.0 - MARGIN_TOP / h);
  return h - MARGIN_TOP - MARGIN_BOTTOM;
}

/* One row of three entries under the x-axis label, outside the data area,
 * so it can never hide a curve wherever D(x) or the densities peak. */
static void draw_legend(double viewport_height_chars) {
  PLINT opts[3] = {PL_LEGEND_LINE, PL_LEGEND_LINE, PL_LEGEND_LINE};
  PLINT text_colors[3] = {COL_FG, COL_FG, COL_FG};
  PLINT line_colors[3] = {COL_REAL, COL_GEN, COL_D};
  PLINT line_styles[3] = {1, 1, 2};
  PLFLT line_widths[3] = {2.5, 2.5, 2.5};
  const char *text[3] = {"real data", "generated", "D(x)"};
  PLFLT w, h;
  pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
           PL_POSITION_BOTTOM | PL_POSITION_OUTSIDE | PL_POSITION_VIEWPORT, 0.0,
           LEGEND_GAP / viewport_height_chars, 0.07, COL_BG, COL_FG, 1, 1, 3, 3, opts, 0.8, 0.9,
           2.0, 0.0, text_colors, text, NULL, NULL, NULL, NULL, line_colors, line_styles,
           line_widths, NULL, NULL, NULL, NULL);
}

static void draw_panel(const clgan_run_result *run, const axes *ax, bool mbd_tag) {
  char title[TEXT_MAX];
  panel_title(title, sizeof title, run, mbd_tag);

  pladv(0);
  double vp_height = set_viewport();
  plwind(ax->xmin, ax->xmax, 0.0, ax->ymax);
  plwidth(1.0);
  plcol0(COL_GRID);
  plbox("g", 0.0, 0, "g", 0.0, 0);
  plcol0(COL_FG);
  plbox("bcnst", 0.0, 0, "bcnstv", 0.0, 0);
  pllab("x", "density / D(x)", title);

  plwidth(2.5);
  plcol0(COL_REAL);
  draw_curve(run->bin_centres, run->real_density, run->n_bins);
  plcol0(COL_GEN);
  draw_curve(run->bin_centres, run->gen_density, run->n_bins);
  plcol0(COL_D);
  pllsty(2);
  draw_curve(run->bin_centres, run->d_of_x, run->n_bins);
  pllsty(1);
  plwidth(1.0);
  draw_legend(vp_height);
}

typedef struct figure {
  const clgan_run_result *runs;
  size_t n_runs;
  bool mbd_tags;
} figure;

static void draw_figure(const figure *fig) {
  axes ax = axes_for(fig->runs, fig->n_runs);
  for (size_t i = 0; i < fig->n_runs; i++)
    draw_panel(&fig->runs[i], &ax, fig->mbd_tags);
}

/* ---- Stream lifecycle ---------------------------------------------------- */

static bool pngcairo_available(void) {
  enum { MAX_DEVICES = 128 };
  const char *menu[MAX_DEVICES], *names[MAX_DEVICES];
  const char **pmenu = menu, **pnames = names;
  int n = MAX_DEVICES;
  plgDevs(&pmenu, &pnames, &n);
  for (int i = 0; i < n; i++)
    if (names[i] && strcmp(names[i], "pngcairo") == 0)
      return true;
  return false;
}

static void configure_stream(const char *file, PLINT panels) {
  plsError(&plot_state.abort_code, plot_state.abort_msg);
  plsdev("pngcairo");
  plsfnam(file);
  plspage(0.0, 0.0, PANEL_WIDTH * panels, PANEL_HEIGHT, 0, 0);
  plscmap0n(16);
  for (int c = 0; c < COL_COUNT; c++)
    plscol0(c, palette[c][0], palette[c][1], palette[c][2]);
  plssub(panels, 1);
}

/* Draws the figure on a fresh stream into `file`. Returns false with
 * plot_state's messages set when PLplot failed. Whatever happens the new
 * stream is ended and the caller's current stream is current again. */
static bool render(const char *file, const figure *fig) {
  PLINT previous = 0;
  plgstrm(&previous);
  volatile bool stream_open = false;
  volatile bool ok = false;

  plot_state.exit_msg[0] = '\0';
  plot_state.abort_msg[0] = '\0';
  plot_state.abort_code = 0;
  plsexit(on_plplot_exit);
  if (setjmp(plot_state.escape) == 0) {
    plot_state.armed = true;
    PLINT strm = -1;
    plmkstrm(&strm);
    if (strm >= 0) {
      stream_open = true;
      configure_stream(file, (PLINT)fig->n_runs);
      plinit();
      /* PLplot's default text grows with the page width; a fixed height
       * makes each panel of a comparison look like a single plot. */
      plschr(CHAR_HEIGHT_MM, 1.0);
      draw_figure(fig);
      stream_open = false;
      plend1(); /* the PNG is written here */
      ok = plot_state.abort_code == 0;
    } else {
      snprintf(plot_state.exit_msg, sizeof plot_state.exit_msg, "no free PLplot stream");
    }
  }
  /* After a longjmp the stream may be half set up; ending it releases its
   * memory and file. If even that fails, give up on the stream. */
  if (stream_open && setjmp(plot_state.escape) == 0) {
    plot_state.armed = true;
    plend1();
  }
  plot_state.armed = false;
  plsexit(NULL);
  plsstrm(previous);
  return ok;
}

/* ---- Output file --------------------------------------------------------- */

/* A PNG starts with an 8-byte signature and ends with the IEND chunk; a
 * file without both was cut short (disk full, failed encoder). A complete
 * one is synced to disk so the rename that follows publishes whole data. */
static bool png_complete(const char *file) {
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  unsigned char head[8], tail[12];
  FILE *f = fopen(file, "rb");
  if (!f)
    return false;
  bool ok = fread(head, 1, 8, f) == 8 && memcmp(head, sig, 8) == 0 &&
            fseek(f, -12, SEEK_END) == 0 && fread(tail, 1, 12, f) == 12 &&
            memcmp(tail, iend, 12) == 0 && fsync(fileno(f)) == 0;
  fclose(f);
  return ok;
}

/* PLplot's message without its "*** PLPLOT ERROR ... ***" banner line and
 * surrounding newlines, which would break our one-line error format. */
static const char *plplot_message(void) {
  char *m = plot_state.exit_msg[0] ? plot_state.exit_msg : plot_state.abort_msg;
  while (*m == '\n')
    m++;
  if (strncmp(m, "***", 3) == 0 && strchr(m, '\n'))
    m = strchr(m, '\n') + 1;
  size_t len = strlen(m);
  while (len > 0 && (m[len - 1] == '\n' || m[len - 1] == ' '))
    m[--len] = '\0';
  return *m ? m : "unknown PLplot error";
}

static clgan_status plot_to_file(const char *path, const figure *fig, clgan_error *err) {
  char tmp[4096];
  int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
  if (n < 0 || (size_t)n >= sizeof tmp)
    return clgan_fail(err, CLGAN_E_RUNTIME, "cannot write %s: path too long", path);
  if (!pngcairo_available())
    return clgan_fail(err, CLGAN_E_RUNTIME,
                      "cannot plot %s: PLplot has no pngcairo device (install its cairo driver, "
                      "e.g. Debian's plplot-driver-cairo)",
                      path);
  /* Opening the file ourselves first gives a precise errno; PLplot would
   * only retry, print to stderr and give up. */
  FILE *probe = fopen(tmp, "wb");
  if (!probe)
    return clgan_fail(err, CLGAN_E_RUNTIME, "cannot write %s: %s", tmp, strerror(errno));
  fclose(probe);

  if (!render(tmp, fig)) {
    remove(tmp);
    return clgan_fail(err, CLGAN_E_RUNTIME, "plotting %s failed: %s", path, plplot_message());
  }
  if (!png_complete(tmp)) {
    remove(tmp);
    return clgan_fail(err, CLGAN_E_RUNTIME, "plotting %s failed: the PNG came out incomplete",
                      path);
  }
  if (rename(tmp, path) != 0) {
    int e = errno;
    remove(tmp);
    return clgan_fail(err, CLGAN_E_RUNTIME, "cannot write %s: %s", path, strerror(e));
  }
  return CLGAN_OK;
}

static clgan_status check_runs(const clgan_run_result *runs, size_t n_runs, clgan_error *err) {
  if (!runs || n_runs == 0)
    return clgan_fail(err, CLGAN_E_INPUT, "plot: no runs to plot");
  for (size_t i = 0; i < n_runs; i++) {
    const clgan_run_result *r = &runs[i];
    if (!r->cfg)
      return clgan_fail(err, CLGAN_E_INPUT, "plot: run %zu has no config", i);
    bool arrays = r->bin_centres && r->real_density && r->gen_density && r->d_of_x;
    if (r->n_bins > 0 && !arrays)
      return clgan_fail(err, CLGAN_E_INPUT, "plot: run %zu has %zu bins but missing densities", i,
                        r->n_bins);
    if (!(r->cfg->eval.range_min < r->cfg->eval.range_max))
      return clgan_fail(err, CLGAN_E_INPUT, "plot: run %zu has an empty x range [%g, %g]", i,
                        (double)r->cfg->eval.range_min, (double)r->cfg->eval.range_max);
  }
  /* One PNG panel per run, side by side; beyond this it is unreadable. */
  if (n_runs > 8)
    return clgan_fail(err, CLGAN_E_INPUT, "plot: at most 8 runs fit in one figure, got %zu",
                      n_runs);
  return CLGAN_OK;
}

clgan_status clgan_plot_run(const char *path, const clgan_run_result *run, clgan_error *err) {
  CLGAN_TRY(check_runs(run, 1, err));
  figure fig = {run, 1, false};
  return plot_to_file(path, &fig, err);
}

clgan_status clgan_plot_comparison(const char *path, const clgan_run_result *runs, size_t n_runs,
                                   clgan_error *err) {
  CLGAN_TRY(check_runs(runs, n_runs, err));
  figure fig = {runs, n_runs, true};
  return plot_to_file(path, &fig, err);
}
