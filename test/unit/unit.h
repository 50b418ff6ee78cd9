/* A minimal TAP producer for the C unit tests: CHECK prints "ok N - what" or
 * "not ok N - what", and unit_done() returns the exit status. */
#ifndef PREFORKD_UNIT_H
#define PREFORKD_UNIT_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int unit_n, unit_failed;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		int ok_ = (cond);                                                                  \
		printf("%sok %d - ", ok_ ? "" : "not ", ++unit_n);                                 \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		if (!ok_) {                                                                        \
			unit_failed++;                                                             \
			printf("#   failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);             \
		}                                                                                  \
	} while (0)

/* A set-up step that does not hold is a failed test that names the step (silent
 * when it holds), so a broken set-up is never mistaken for the code under test. */
#define SETUP(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			CHECK(0, "set-up: %s: %s", #cond, strerror(errno));                        \
	} while (0)

static inline int unit_done(void)
{
	printf("1..%d\n", unit_n);
	return unit_failed ? 1 : 0;
}

#endif
