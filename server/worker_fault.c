/* Test-only faults, read from the environment when a worker starts:
 *   PREFORKD_TEST_FAULT=crash-on-start | exit-when-ready[:MS] | crash-after:N | hang-after:N |
 *                       hold-fds:SECONDS | grow-after:N:MIB
 *   PREFORKD_TEST_FAULT_FILE=PATH  (optional: the fault applies only while PATH exists,
 *                                   so a test can end a crash loop by removing it)
 *   PREFORKD_TEST_SLOTS=N  (read by the master: use only N worker slots)
 * A crash is SIGSEGV with core dumps disabled; a hang blocks a busy worker forever,
 * ignoring SIGTERM, as a stuck request handler would. hold-fds fills the worker's fd
 * table at start (accept4 then fails with EMFILE) and frees it SECONDS later.
 * grow-after makes a worker that has served N connections allocate and touch MIB
 * MiB more (its RSS grows, for --max-rss), once. */
#ifdef PREFORKD_TEST_FAULTS
#include "worker_fault.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum fault {
	FAULT_NONE,
	FAULT_CRASH_ON_START,
	FAULT_EXIT_WHEN_READY,
	FAULT_CRASH_AFTER,
	FAULT_HANG_AFTER,
	FAULT_HOLD_FDS,
	FAULT_GROW_AFTER
};

static enum fault fault;
static unsigned long fault_n;
static double fault_seconds;
static unsigned long fault_mib;
static int *held_fds;
static volatile sig_atomic_t held_count;

static void load_fault(void)
{
	const char *spec = getenv("PREFORKD_TEST_FAULT");
	const char *file = getenv("PREFORKD_TEST_FAULT_FILE");

	if (!spec || (file && access(file, F_OK) != 0))
		return;
	if (strcmp(spec, "crash-on-start") == 0)
		fault = FAULT_CRASH_ON_START;
	else if (strncmp(spec, "exit-when-ready", 15) == 0)
		fault = FAULT_EXIT_WHEN_READY,
		fault_n = spec[15] == ':' ? strtoul(spec + 16, NULL, 10) : 0;
	else if (strncmp(spec, "crash-after:", 12) == 0)
		fault = FAULT_CRASH_AFTER, fault_n = strtoul(spec + 12, NULL, 10);
	else if (strncmp(spec, "hang-after:", 11) == 0)
		fault = FAULT_HANG_AFTER, fault_n = strtoul(spec + 11, NULL, 10);
	else if (strncmp(spec, "grow-after:", 11) == 0) {
		char *end;

		fault = FAULT_GROW_AFTER, fault_n = strtoul(spec + 11, &end, 10);
		fault_mib = *end == ':' ? strtoul(end + 1, NULL, 10) : 0;
	} else if (strncmp(spec, "hold-fds:", 9) == 0)
		fault = FAULT_HOLD_FDS, fault_seconds = strtod(spec + 9, NULL);
}

/* SIGALRM handler: close() is async-signal-safe, and the accept loop just sees
 * EINTR. */
static void release_fds(int sig)
{
	(void)sig;
	while (held_count > 0)
		close(held_fds[--held_count]);
}

/* dup() until EMFILE, remembering each fd: the free slots may lie between fds the
 * worker uses (the listener), which must stay open. */
static void hold_fds(void)
{
	struct rlimit rl;
	struct sigaction sa = { .sa_handler = release_fds };
	struct itimerval it = { .it_value = { .tv_sec = (time_t)fault_seconds } };
	int fd;

	it.it_value.tv_usec = (suseconds_t)((fault_seconds - (double)(time_t)fault_seconds) * 1e6);
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > (1 << 20))
		return;
	held_fds = malloc(rl.rlim_cur * sizeof *held_fds);
	if (!held_fds)
		return;
	while ((fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0)) >= 0)
		held_fds[held_count++] = fd;
	if (sigaction(SIGALRM, &sa, NULL) < 0 || setitimer(ITIMER_REAL, &it, NULL) < 0)
		release_fds(SIGALRM); /* no timer to end the fault: end it now */
}

static void crash(void)
{
	struct rlimit none = { 0, 0 };

	/* Whatever fails here, the _exit() below still ends the worker abnormally. */
	(void)setrlimit(RLIMIT_CORE, &none);
	(void)signal(SIGSEGV, SIG_DFL);
	(void)raise(SIGSEGV);
	_exit(99);
}

int test_fault_slots(int slots_max)
{
	const char *v = getenv("PREFORKD_TEST_SLOTS");
	long n = v ? strtol(v, NULL, 10) : 0;

	return n > 0 && n < slots_max ? (int)n : slots_max;
}

void worker_fault_at_start(void)
{
	load_fault();
	if (fault == FAULT_CRASH_ON_START)
		crash();
	if (fault == FAULT_HOLD_FDS)
		hold_fds();
}

/* A worker that reaches accept() and then gives up on its own (after N ms, if
 * given), having served nothing (a bad configuration found late): a failed start
 * whatever its age. */
void worker_fault_when_ready(void)
{
	struct timespec ts = { .tv_sec = (time_t)(fault_n / 1000),
		               .tv_nsec = (long)(fault_n % 1000) * 1000000L };

	if (fault != FAULT_EXIT_WHEN_READY)
		return;
	while (nanosleep(&ts, &ts) < 0)
		;
	_exit(1);
}

void worker_fault_before_serve(unsigned long accepted)
{
	if (fault == FAULT_HANG_AFTER && accepted > fault_n)
		for (;;)
			pause();
}

void worker_fault_after_serve(unsigned long served)
{
	static char *grown;

	if (fault == FAULT_CRASH_AFTER && served >= fault_n)
		crash();
	/* Kept (a static) until the worker exits: a leak by design. */
	if (fault == FAULT_GROW_AFTER && served >= fault_n && !grown && fault_mib > 0) {
		grown = malloc(fault_mib << 20);
		if (grown)
			memset(grown, 1, fault_mib << 20);
	}
}
#else
/* ISO C forbids an empty translation unit. */
typedef int worker_fault_unused;
#endif
