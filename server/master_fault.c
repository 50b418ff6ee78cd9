/* Test-only pauses, read from the environment:
 *   PREFORKD_TEST_PAUSE=POINT       lock (between opening the instance lock file and
 *                                   locking it) or bind (between bind() and listen()
 *                                   of the admin socket)
 *   PREFORKD_TEST_PAUSE_FILE=PATH   the pause happens only while PATH exists: the
 *                                   master creates PATH.reached, then waits (at most
 *                                   60 s) for the test to remove PATH.
 *   PREFORKD_TEST_FAIL=POINT:N      the call at POINT fails with errno N, or with
 *                                   POINT:silent waits for a reply that never comes */
#ifdef PREFORKD_TEST_FAULTS
#include "master_fault.h"

#include "clock.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void master_fault_pause(const char *point)
{
	const char *want = getenv("PREFORKD_TEST_PAUSE");
	const char *file = getenv("PREFORKD_TEST_PAUSE_FILE");
	struct timespec tick = { 0, 10 * (long)NS_PER_MS };
	char reached[4096];
	int fd;

	if (!want || !file || strcmp(want, point) != 0 || access(file, F_OK) != 0)
		return;
	snprintf(reached, sizeof reached, "%s.reached", file);
	fd = open(reached, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 6000 && access(file, F_OK) == 0; i++)
		nanosleep(&tick, NULL);
}

int master_fault_fail(const char *point)
{
	const char *spec = getenv("PREFORKD_TEST_FAIL");
	size_t n = strlen(point);
	long e;

	if (!spec || strncmp(spec, point, n) != 0 || spec[n] != ':')
		return 0;
	if (strcmp(spec + n + 1, "silent") == 0)
		return MASTER_FAULT_SILENT;
	e = strtol(spec + n + 1, NULL, 10);
	return e > 0 && e < 4096 ? (int)e : 0;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int master_fault_unused;
#endif
