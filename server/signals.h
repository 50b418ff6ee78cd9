/* The master's signal handling: handlers count the signal and write a wake-up byte
 * to a self-pipe; the master's poll() loop takes the counts and does the work. */
#ifndef PREFORKD_SIGNALS_H
#define PREFORKD_SIGNALS_H

#include <signal.h>

int signals_install(void);
int signals_fd(void);
#define SIGNALS_MAX 32

/* How many times each signal arrived since the last call (index = signal number).
 * The kernel may still merge a burst of one signal into one delivery. */
struct signal_counts {
	unsigned n[SIGNALS_MAX];
};

void signals_take(struct signal_counts *out);
void signals_close_in_child(void);
void signals_block_all(sigset_t *saved);
void signals_restore(const sigset_t *saved);

#endif
