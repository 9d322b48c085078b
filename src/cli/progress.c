#include "progress.h"

#include <stdio.h>
#include <unistd.h>

void clgan_progress_init(clgan_progress_printer *pp, const char *run_name, bool quiet) {
  pp->run_name = run_name;
  pp->quiet = quiet;
  pp->tty = isatty(STDERR_FILENO);
  pp->last_decile = 0;
  pp->open_line = false;
}

void clgan_progress_end_line(clgan_progress_printer *pp) {
  if (pp->open_line)
    fputc('\n', stderr);
  pp->open_line = false;
}

static void format_duration(char *buf, size_t n, double s) {
  unsigned long t = s > 0 ? (unsigned long)(s + 0.5) : 0;
  snprintf(buf, n, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
}

static void print_bar(clgan_progress_printer *pp, const clgan_progress *p) {
  enum { WIDTH = 24 };
  double frac = p->total_steps ? (double)p->step / (double)p->total_steps : 1.0;
  char bar[WIDTH + 1];
  for (int i = 0; i < WIDTH; ++i)
    bar[i] = i < (int)(frac * WIDTH) ? '#' : '.';
  bar[WIDTH] = '\0';
  char eta[32];
  double remaining = p->steps_per_s > 0 ? (double)(p->total_steps - p->step) / p->steps_per_s : 0;
  format_duration(eta, sizeof eta, remaining);
  fprintf(stderr,
          "\r\033[K%s [%s] %3.0f%%  step %llu/%llu  epoch %llu/%llu  D %.4f  G %.4f  %.0f steps/s"
          "  ETA %s",
          pp->run_name, bar, 100.0 * frac, (unsigned long long)p->step,
          (unsigned long long)p->total_steps, (unsigned long long)p->epoch,
          (unsigned long long)p->epochs, (double)p->d_loss, (double)p->g_loss, p->steps_per_s, eta);
  pp->open_line = p->step != p->total_steps;
  if (!pp->open_line)
    fputc('\n', stderr);
  fflush(stderr);
}

void clgan_progress_print(void *ctx, const clgan_progress *p) {
  clgan_progress_printer *pp = ctx;
  if (pp->quiet)
    return;
  if (pp->tty) {
    print_bar(pp, p);
    return;
  }
  if (!p->logged)
    return;
  unsigned decile = p->total_steps ? (unsigned)(10 * p->step / p->total_steps) : 10;
  if (decile == pp->last_decile && p->step != p->total_steps)
    return;
  pp->last_decile = decile;
  fprintf(stderr,
          "%s: step %llu/%llu  epoch %llu/%llu  D loss %.4f  G loss %.4f  %.0f steps/s  %.1f s\n",
          pp->run_name, (unsigned long long)p->step, (unsigned long long)p->total_steps,
          (unsigned long long)p->epoch, (unsigned long long)p->epochs, (double)p->d_loss,
          (double)p->g_loss, p->steps_per_s, p->elapsed_s);
}
