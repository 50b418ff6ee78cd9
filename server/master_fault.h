/* Test-only pauses in the master's start-up, to make races deterministic. Built into
 * bin/test/preforkd only (-DPREFORKD_TEST_FAULTS); in the real binary the hook is an
 * empty inline. */
#ifndef PREFORKD_MASTER_FAULT_H
#define PREFORKD_MASTER_FAULT_H

/* PREFORKD_TEST_FAIL=POINT:N makes the call at POINT fail with errno N (returns
 * N); POINT:silent makes it wait for an answer that never comes (returns
 * MASTER_FAULT_SILENT). 0: no fault. Points: sockdiag. */
#define MASTER_FAULT_SILENT (-1)

#ifdef PREFORKD_TEST_FAULTS
void master_fault_pause(const char *point);
int master_fault_fail(const char *point);
#else
static inline void master_fault_pause(const char *point)
{
	(void)point;
}
static inline int master_fault_fail(const char *point)
{
	(void)point;
	return 0;
}
#endif

#endif
