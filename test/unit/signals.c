/* Unit tests for the master's signal bookkeeping (server/signals.c): no signal is
 * lost when the wake-up pipe is full, and each one is counted. */
#include "signals.h"
#include "unit.h"

#include <poll.h>
#include <signal.h>

/* More than a pipe holds (64 KiB by default): the writes beyond it fail. */
#define FLOOD 100000

static int pipe_readable(void)
{
	struct pollfd p = { .fd = signals_fd(), .events = POLLIN, .revents = 0 };

	return poll(&p, 1, 0) == 1;
}

int main(void)
{
	struct signal_counts c;

	CHECK(signals_install() == 0, "signal handlers installed");
	for (int i = 0; i < FLOOD; i++)
		SETUP(raise(SIGUSR2) == 0);
	SETUP(raise(SIGTERM) == 0);
	SETUP(raise(SIGTTIN) == 0);
	SETUP(raise(SIGTTIN) == 0);
	CHECK(pipe_readable(), "the wake-up pipe is readable");
	signals_take(&c);
	CHECK(c.n[SIGTERM] == 1, "SIGTERM after a full pipe is not lost (got %u)", c.n[SIGTERM]);
	CHECK(c.n[SIGUSR2] == FLOOD, "every SIGUSR2 is counted (got %u)", c.n[SIGUSR2]);
	CHECK(c.n[SIGTTIN] == 2, "each SIGTTIN counts (got %u)", c.n[SIGTTIN]);
	CHECK(!pipe_readable(), "taking the signals empties the pipe");
	signals_take(&c);
	CHECK(c.n[SIGTERM] == 0 && c.n[SIGUSR2] == 0, "a second take finds nothing new");
	SETUP(raise(SIGHUP) == 0);
	CHECK(pipe_readable(), "a signal after the take wakes the loop again");
	signals_take(&c);
	CHECK(c.n[SIGHUP] == 1, "and is counted");
	return unit_done();
}
