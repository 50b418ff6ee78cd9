/* Unit tests: the hang report condenses what /proc shows of a worker into one line,
 * and says why when it cannot read it. */
#include "hang_report.h"
#include "scoreboard.h"
#include "unit.h"

#include <unistd.h>

int main(void)
{
	char buf[256];

	hang_report_condense("syscall", "34 0x0 0x0 0x0 0x0 0x0 0x0 0x7ffd 0x7f12\n", buf,
	                     sizeof buf);
#if defined(__x86_64__)
	CHECK(strcmp(buf, "pause (nr 34)") == 0, "a known call is named with its number: %s", buf);
#else
	CHECK(strcmp(buf, "nr 34") == 0, "a call is shown by its number: %s", buf);
#endif
	hang_report_condense("syscall", "999 0x1 0x2\n", buf, sizeof buf);
	CHECK(strcmp(buf, "nr 999") == 0, "an unknown call by its number: %s", buf);
	hang_report_condense("syscall", "-1 0x7ffd 0x7f12\n", buf, sizeof buf);
	CHECK(strstr(buf, "blocked outside a system call") != NULL, "-1: not in a call: %s", buf);
	hang_report_condense("syscall", "running\n", buf, sizeof buf);
	CHECK(strcmp(buf, "running") == 0, "running is shown as such: %s", buf);
	hang_report_condense("wchan", "do_sys_poll", buf, sizeof buf);
	CHECK(strcmp(buf, "do_sys_poll") == 0, "wchan as the kernel wrote it: %s", buf);
	hang_report_condense("wchan", "0", buf, sizeof buf);
	CHECK(strncmp(buf, "0 (running, or not shown", 24) == 0,
	      "wchan 0 says what it may mean: %s", buf);
	hang_report_condense("stack",
	                     "[<0>] sys_pause+0x1e/0x30\n[<0>] do_syscall_64+0x5b/0x80\n"
	                     "[<0>] entry_SYSCALL_64_after_hwframe+0x6e/0xd8\n",
	                     buf, sizeof buf);
	CHECK(strcmp(buf, "sys_pause < do_syscall_64 < entry_SYSCALL_64_after_hwframe") == 0,
	      "stack frames, innermost first, without offsets: %s", buf);
	hang_report_condense("stack", "", buf, sizeof buf);
	CHECK(strcmp(buf, "empty") == 0, "an empty stack says so: %s", buf);
	hang_report_condense("stack", "[<0>] a+0x1/0x2\n", buf, 8);
	CHECK(strlen(buf) < 8, "a small buffer is never overrun: '%s'", buf);

	/* A pid that cannot exist: /proc has no such directory. */
	hang_report_proc(-2, "wchan", buf, sizeof buf);
	CHECK(strncmp(buf, "unreadable (ENOENT: ", 20) == 0, "a missing file says why: %s", buf);
	/* This process's own: readable, one line. */
	hang_report_proc(getpid(), "syscall", buf, sizeof buf);
	CHECK(buf[0] != '\0' && strchr(buf, '\n') == NULL, "its own syscall file: %s", buf);

	CHECK(sb_op(((uint64_t)123456 << 8) | WOP_WRITE) == WOP_WRITE &&
	              sb_op_since_ns(((uint64_t)123456 << 8) | WOP_WRITE) == 123456000,
	      "the activity word keeps op and start apart");
	CHECK(sb_op(0xff) == WOP_NONE && strcmp(worker_op_name(WOP_KEEPALIVE), "keepalive") == 0,
	      "an op out of range reads as none; names come from one table");
	return unit_done();
}
