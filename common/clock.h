/* Monotonic time in nanoseconds: every deadline and duration in preforkd uses it;
 * the wall clock appears only in log timestamps. */
#ifndef PREFORKD_CLOCK_H
#define PREFORKD_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_SEC 1000000000ULL
#define NS_PER_MS 1000000ULL

static inline uint64_t clock_now_ns(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static inline uint64_t seconds_to_ns(double s)
{
	return (uint64_t)(s * (double)NS_PER_SEC);
}

#endif
