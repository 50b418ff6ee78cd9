/* The hang report: before the master SIGKILLs a worker for --worker-timeout, one
 * line says what the worker published it was doing (its slot: peer, busy time, the
 * connection's bytes, its op and since when, RSS and CPU), and a second what the
 * kernel shows of it. Under the shipped unit the master may read none of the
 * worker's /proc/PID (another uid, not dumpable, ProtectProc=invisible): the
 * second line then says why, and the first still tells the story.
 *
 * Rule: reads a const struct pool * and its slots, never writes them; calls
 * scoreboard's readers, pool's helpers, common/ (addr, clock, log) and libc. /proc
 * files are opened O_NONBLOCK and read once, bounded: they never block on I/O. */
#include "hang_report.h"

#include "addr.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "pool.h"
#include "scoreboard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROC_READ_MAX 2048
#define STACK_FRAMES_MAX 8

static const char *why_unreadable(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return "the worker runs as another user, is not dumpable, or the master "
		       "lacks the capability";
	case ENOENT:
	case ESRCH:
		return "hidden (ProtectProc) or already gone";
	default:
		return "cannot read";
	}
}

static const char *errno_name(int err)
{
	switch (err) {
	case EACCES:
		return "EACCES";
	case EPERM:
		return "EPERM";
	case ENOENT:
		return "ENOENT";
	case ESRCH:
		return "ESRCH";
	default:
		return strerror(err);
	}
}

#if defined(__x86_64__)
/* The calls a blocked worker is usually found in; others are shown by number. */
static const char *syscall_name(long nr)
{
	switch (nr) {
	case 0:
		return "read";
	case 1:
		return "write";
	case 7:
		return "poll";
	case 17:
		return "pread64";
	case 34:
		return "pause";
	case 35:
		return "nanosleep";
	case 40:
		return "sendfile";
	case 44:
		return "sendto";
	case 45:
		return "recvfrom";
	case 47:
		return "recvmsg";
	case 202:
		return "futex";
	case 230:
		return "clock_nanosleep";
	case 257:
		return "openat";
	case 271:
		return "ppoll";
	case 288:
		return "accept4";
	default:
		return NULL;
	}
}
#else
static const char *syscall_name(long nr)
{
	(void)nr;
	return NULL;
}
#endif

/* syscall: "NR ARGS... SP PC" while blocked in a call, "-1 SP PC" when blocked
 * elsewhere, "running" when on a CPU. stack: one "[<0>] func+0x1/0x2" per frame,
 * innermost first: kept as "func < func < ...". wchan: one word. */
void hang_report_condense(const char *name, const char *text, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	if (strcmp(name, "syscall") == 0) {
		char *end;
		long nr;
		const char *n;

		errno = 0;
		nr = strtol(text, &end, 10);
		if (end == text || errno != 0) {
			snprintf(buf, len, "%.*s", (int)strcspn(text, "\n"), text);
			return;
		}
		n = nr >= 0 ? syscall_name(nr) : NULL;
		if (nr < 0)
			snprintf(buf, len, "none (blocked outside a system call)");
		else if (n)
			snprintf(buf, len, "%s (nr %ld)", n, nr);
		else
			snprintf(buf, len, "nr %ld", nr);
		return;
	}
	if (strcmp(name, "stack") == 0) {
		const char *line = text;

		for (int frames = 0; *line && frames < STACK_FRAMES_MAX && at + 1 < len; frames++) {
			const char *f = strchr(line, ']');
			const char *eol = strchr(line, '\n');
			size_t flen;
			int w;

			if (!eol)
				eol = line + strlen(line);
			f = f && f < eol ? f + 1 : line;
			while (*f == ' ')
				f++;
			flen = strcspn(f, "+\n");
			w = snprintf(buf + at, len - at, "%s%.*s", frames ? " < " : "", (int)flen,
			             f);
			if (w < 0)
				break;
			at += (size_t)w < len - at ? (size_t)w : len - at - 1;
			line = *eol ? eol + 1 : eol;
		}
		if (at == 0)
			snprintf(buf, len, "empty");
		return;
	}
	snprintf(buf, len, "%.*s", (int)strcspn(text, "\n"), text);
	/* The kernel writes 0 both for a task on a CPU and for one the reader may
	 * not trace. */
	if (buf[0] == '\0' || strcmp(buf, "0") == 0)
		snprintf(buf, len, "0 (running, or not shown without ptrace access)");
}

void hang_report_proc(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64], text[PROC_READ_MAX];
	ssize_t n;
	int fd, err;

	snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, name);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		err = errno;
		snprintf(buf, len, "unreadable (%s: %s)", errno_name(err), why_unreadable(err));
		return;
	}
	do
		n = read(fd, text, sizeof text - 1);
	while (n < 0 && errno == EINTR);
	err = errno;
	close(fd);
	if (n < 0) {
		snprintf(buf, len, "unreadable (%s: %s)", errno_name(err), why_unreadable(err));
		return;
	}
	text[n] = '\0';
	hang_report_condense(name, text, buf, len);
}

static double seconds_between(uint64_t later, uint64_t earlier)
{
	return later > earlier ? (double)(later - earlier) / NS_PER_SEC : 0;
}

void hang_report_log(const struct pool *p, int slot, uint64_t now, uint64_t stalled_ns)
{
	const struct child *c = &p->children[slot];
	struct sb_slot *s = &p->slots[slot];
	struct sockaddr_storage peer;
	char peer_text[ADDR_TEXT_MAX], wchan[128], sys[128], stack[512];
	uint64_t act = atomic_load_explicit(&s->activity, memory_order_relaxed);
	uint64_t in = sb_get(&s->counters[C_BYTES_IN]) - sb_get(&s->conn_in0);
	uint64_t out = sb_get(&s->counters[C_BYTES_OUT]) - sb_get(&s->conn_out0);
	uint64_t rss = sb_get(&s->rss_bytes), sampled = sb_get(&s->sampled_ns);

	/* One copy: the worker is stuck, but the display must not tear if it is not. */
	memcpy(&peer, &s->peer, sizeof peer);
	addr_format((const struct sockaddr *)&peer, peer_text, sizeof peer_text);
	log_warn("worker hung: slot %d pid %ld made no progress for %.1f s (--worker-timeout "
	         "%g): peer %s, busy %.1f s, connection bytes in %llu out %llu, op %s for "
	         "%.1f s, rss %.1f MiB, cpu %.3f s (sampled %.1f s ago); killing it",
	         slot, (long)c->pid, (double)stalled_ns / NS_PER_SEC, p->cfg->worker_timeout,
	         peer_text, seconds_between(now, sb_get(&s->busy_since_ns)), (unsigned long long)in,
	         (unsigned long long)out, worker_op_name(sb_op(act)),
	         seconds_between(now, sb_op_since_ns(act)), (double)rss / (1 << 20),
	         (double)sb_get(&s->cpu_ns) / NS_PER_SEC, seconds_between(now, sampled));
	hang_report_proc(c->pid, "wchan", wchan, sizeof wchan);
	hang_report_proc(c->pid, "syscall", sys, sizeof sys);
	hang_report_proc(c->pid, "stack", stack, sizeof stack);
	log_warn("worker hung: slot %d pid %ld, kernel: wchan %s; syscall %s; stack %s", slot,
	         (long)c->pid, wchan, sys, stack);
}
