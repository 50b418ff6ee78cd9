/* The master's signal handling: handlers write the signal number to a self-pipe and
 * return; the master's poll() loop reads the pipe and does the work. */
#ifndef PREFORKD_SIGNALS_H
#define PREFORKD_SIGNALS_H

#include <signal.h>

int signals_install(void);
int signals_fd(void);
/* Drains the pipe; returns a bit set of pending signals (bit n = signal n). */
unsigned long long signals_take(void);
void signals_close_in_child(void);
void signals_block_all(sigset_t *saved);
void signals_restore(const sigset_t *saved);

#endif
