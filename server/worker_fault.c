/* Test-only faults, read from the environment when a worker starts:
 *   PREFORKD_TEST_FAULT=crash-on-start | crash-after:N | hang-after:N
 *   PREFORKD_TEST_FAULT_FILE=PATH  (optional: the fault applies only while PATH exists,
 *                                   so a test can end a crash loop by removing it)
 * A crash is SIGSEGV with core dumps disabled; a hang blocks a busy worker forever,
 * ignoring SIGTERM, as a stuck request handler would. */
#ifdef PREFORKD_TEST_FAULTS
#include "worker_fault.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum fault { FAULT_NONE, FAULT_CRASH_ON_START, FAULT_CRASH_AFTER, FAULT_HANG_AFTER };

static enum fault fault;
static unsigned long fault_n;

static void load_fault(void)
{
	const char *spec = getenv("PREFORKD_TEST_FAULT");
	const char *file = getenv("PREFORKD_TEST_FAULT_FILE");

	if (!spec || (file && access(file, F_OK) != 0))
		return;
	if (strcmp(spec, "crash-on-start") == 0)
		fault = FAULT_CRASH_ON_START;
	else if (strncmp(spec, "crash-after:", 12) == 0)
		fault = FAULT_CRASH_AFTER, fault_n = strtoul(spec + 12, NULL, 10);
	else if (strncmp(spec, "hang-after:", 11) == 0)
		fault = FAULT_HANG_AFTER, fault_n = strtoul(spec + 11, NULL, 10);
}

static void crash(void)
{
	struct rlimit none = { 0, 0 };

	setrlimit(RLIMIT_CORE, &none);
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
	_exit(99);
}

void worker_fault_at_start(void)
{
	load_fault();
	if (fault == FAULT_CRASH_ON_START)
		crash();
}

void worker_fault_before_serve(unsigned long accepted)
{
	if (fault == FAULT_HANG_AFTER && accepted > fault_n)
		for (;;)
			pause();
}

void worker_fault_after_serve(unsigned long served)
{
	if (fault == FAULT_CRASH_AFTER && served >= fault_n)
		crash();
}
#else
/* ISO C forbids an empty translation unit. */
typedef int worker_fault_unused;
#endif
