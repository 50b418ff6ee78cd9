/* Test-only fault injection for workers. Built into bin/test/preforkd only
 * (-DPREFORKD_TEST_FAULTS); in the real binary every hook is an empty inline. */
#ifndef PREFORKD_WORKER_FAULT_H
#define PREFORKD_WORKER_FAULT_H

#ifdef PREFORKD_TEST_FAULTS
int test_fault_slots(int slots_max);
void worker_fault_at_start(void);
void worker_fault_when_ready(void);
void worker_fault_before_serve(unsigned long accepted);
void worker_fault_after_serve(unsigned long served);
#else
/* PREFORKD_TEST_SLOTS=N (test build): the master uses only N worker slots, so a
 * test can fill them all. */
static inline int test_fault_slots(int slots_max)
{
	return slots_max;
}
static inline void worker_fault_at_start(void)
{
}
static inline void worker_fault_when_ready(void)
{
}
static inline void worker_fault_before_serve(unsigned long accepted)
{
	(void)accepted;
}
static inline void worker_fault_after_serve(unsigned long served)
{
	(void)served;
}
#endif

#endif
