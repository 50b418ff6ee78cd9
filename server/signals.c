/* The master's signals: each handler adds one to its signal's counter and writes a
 * wake-up byte to a self-pipe that the poll() loop watches. Both ends of the pipe are
 * non-blocking: a full pipe already means "look", so a handler that cannot write
 * loses nothing, since the signal itself is in its counter, not in the byte. */
#include "signals.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

/* C11 7.14.1.1: a handler may touch lock-free atomic objects (or volatile
 * sig_atomic_t). A counter rather than a flag: each SIGTTIN is one more worker. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "signal counters must be lock-free atomics");

static int pipe_fds[2] = { -1, -1 };
static atomic_uint pending[SIGNALS_MAX];

static const int handled[] = { SIGTERM, SIGINT,  SIGQUIT, SIGHUP, SIGTTIN,
	                       SIGTTOU, SIGUSR1, SIGUSR2, SIGCHLD };

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = 0;

	if (sig > 0 && sig < SIGNALS_MAX)
		atomic_fetch_add_explicit(&pending[sig], 1, memory_order_relaxed);
	(void)!write(pipe_fds[1], &b, 1);
	errno = saved;
}

int signals_install(void)
{
	struct sigaction sa;

	if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_error("pipe2: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++) {
		if (sigaction(handled[i], &sa, NULL) < 0) {
			log_error("sigaction %d: %s", handled[i], strerror(errno));
			return -1;
		}
	}
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -1;
	/* A mask inherited from whoever started us (a shell, a supervisor) would keep
	 * these signals from ever arriving. */
	sigemptyset(&sa.sa_mask);
	return sigprocmask(SIG_SETMASK, &sa.sa_mask, NULL);
}

int signals_fd(void)
{
	return pipe_fds[0];
}

/* Empty the pipe first, then take the counters: a signal that lands in between is
 * counted now and leaves a byte that merely wakes the next poll(). */
void signals_take(struct signal_counts *out)
{
	unsigned char buf[256];
	ssize_t n;

	while ((n = read(pipe_fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
		;
	for (int i = 0; i < SIGNALS_MAX; i++)
		out->n[i] = atomic_exchange_explicit(&pending[i], 0, memory_order_relaxed);
}

/* Workers never exec, so O_CLOEXEC does not close the pipe for them. */
void signals_close_in_child(void)
{
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

/* Around fork(): a signal meant for a new worker must not run the master's handler
 * in the child, where it would write to the master's pipe. */
void signals_block_all(sigset_t *saved)
{
	sigset_t all;

	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, saved) < 0)
		log_error("sigprocmask: %s", strerror(errno));
}

void signals_restore(const sigset_t *saved)
{
	if (sigprocmask(SIG_SETMASK, saved, NULL) < 0)
		log_error("sigprocmask: %s", strerror(errno));
}
