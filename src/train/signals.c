/* SIGINT/SIGTERM as a stop request the training loop polls: the handler
 * only stores the signal number, so the step in flight finishes and the
 * loop writes a checkpoint before the process exits. */
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include "clgan/train.h"

static volatile sig_atomic_t stop_signal;
static struct sigaction previous[2];
static bool installed[2];
static const int signals[2] = {SIGINT, SIGTERM};

static void on_signal(int signo) {
  stop_signal = signo;
}

volatile sig_atomic_t *clgan_stop_on_signals(void) {
  stop_signal = 0;
  for (int i = 0; i < 2; ++i) {
    struct sigaction old;
    if (sigaction(signals[i], NULL, &old) != 0 || old.sa_handler == SIG_IGN)
      continue;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* SA_RESETHAND: the second signal takes the default action (ends the
     * process); SA_RESTART: file and device calls in flight carry on. */
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    if (sigaction(signals[i], &sa, &previous[i]) == 0)
      installed[i] = true;
  }
  return &stop_signal;
}

void clgan_stop_signals_restore(void) {
  for (int i = 0; i < 2; ++i)
    if (installed[i]) {
      sigaction(signals[i], &previous[i], NULL);
      installed[i] = false;
    }
}
