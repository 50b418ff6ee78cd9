/* The report a hung worker leaves before the master kills it (see hang_report.c). */
#ifndef PREFORKD_HANG_REPORT_H
#define PREFORKD_HANG_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pool;

/* Logs, as warnings, what the worker in slot was doing (from its scoreboard slot)
 * and what the kernel lets the master read of it (/proc/PID/wchan, syscall,
 * stack). stalled_ns: how long it has made no progress. Never blocks on, nor fails
 * because of, a file it cannot read: it says what it was shown instead. */
void hang_report_log(const struct pool *p, int slot, uint64_t now, uint64_t stalled_ns);

/* One /proc/PID/NAME file, condensed to one line into buf: "unreadable (WHY)" when
 * it cannot be read. For the unit test. */
void hang_report_proc(pid_t pid, const char *name, char *buf, size_t len);
/* The condensing alone, on text as the kernel writes it. */
void hang_report_condense(const char *name, const char *text, char *buf, size_t len);

#endif
