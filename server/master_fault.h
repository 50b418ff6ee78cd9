/* Test-only pauses in the master's start-up, to make races deterministic. Built into
 * bin/test/preforkd only (-DPREFORKD_TEST_FAULTS); in the real binary the hook is an
 * empty inline. */
#ifndef PREFORKD_MASTER_FAULT_H
#define PREFORKD_MASTER_FAULT_H

#ifdef PREFORKD_TEST_FAULTS
void master_fault_pause(const char *point);
#else
static inline void master_fault_pause(const char *point)
{
	(void)point;
}
#endif

#endif
