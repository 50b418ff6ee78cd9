/* The sd_notify protocol without libsystemd: each message is one datagram of
 * newline-separated KEY=VALUE lines sent to the Unix socket named by NOTIFY_SOCKET
 * (a path, or an abstract name written with a leading '@'). A socket is opened per
 * message, as sd_notify() does: messages are rare, and no fd is left for a worker to
 * inherit. A lost message is logged, never fatal: the server works without systemd.
 *
 * Rule: notify reads the pool through a const struct pool * and changes nothing
 * in it; its own data are the few statics below. It calls the pool's read-only
 * helpers and common/ (log, clock), never the master or the admin module: the
 * master calls notify_tick() each loop turn and notify_reloading()/
 * notify_stopping() when those begin. */
#include "notify.h"

#include "clock.h"
#include "config.h"
#include "log.h"
#include "pool.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define STATUS_MAX 200

enum notify_state { NOTIFY_UNKNOWN, NOTIFY_OFF, NOTIFY_ON };

static enum notify_state state = NOTIFY_UNKNOWN;
static struct sockaddr_un addr;
static socklen_t addr_len;
static int ready_sent;
static int reload_pending;
static int stopping;
static int send_failed_logged;
static char last_status[STATUS_MAX];

/* An abstract name ('@' in the variable) is a leading NUL on the wire and its length
 * is exact: no terminating NUL belongs to it. */
static int parse_address(const char *name)
{
	size_t len = strlen(name);

	if (name[0] != '/' && name[0] != '@') {
		log_warn("NOTIFY_SOCKET=%s: only a path or an @abstract name is supported; "
		         "not notifying",
		         name);
		return -1;
	}
	if (len >= sizeof addr.sun_path) {
		log_warn("NOTIFY_SOCKET: name too long (%zu bytes); not notifying", len);
		return -1;
	}
	memset(&addr, 0, sizeof addr);
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, name, len);
	if (name[0] == '@')
		addr.sun_path[0] = '\0';
	addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '/'));
	return 0;
}

static int notify_enabled(void)
{
	const char *name;

	if (state != NOTIFY_UNKNOWN)
		return state == NOTIFY_ON;
	name = getenv("NOTIFY_SOCKET");
	state = name && *name && parse_address(name) == 0 ? NOTIFY_ON : NOTIFY_OFF;
	return state == NOTIFY_ON;
}

static void send_message(const char *msg)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ssize_t n = -1;

	if (fd >= 0) {
		do
			n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&addr,
			           addr_len);
		while (n < 0 && errno == EINTR);
	}
	if (n < 0) {
		/* Log the first failure loudly; repeats would only flood the log. */
		log_msg(send_failed_logged ? LOG_DEBUG : LOG_WARN, "notify: %s: %s",
		        fd < 0 ? "socket" : "sendto", strerror(errno));
		send_failed_logged = 1;
	} else {
		log_debug("notify: %s", msg);
	}
	if (fd >= 0)
		close(fd);
}

/* A reload is done once the new generation is accepting: every old worker has been
 * told to stop, which the master does one by one as new workers become ready. Old
 * workers may still be finishing a connection (for as long as it lasts, up to
 * --idle-timeout or more); waiting for them would hold `systemctl reload` back. */
static int old_workers_serving(const struct pool *p)
{
	for (int i = 0; i < SLOTS_MAX; i++)
		if (child_is_live(&p->children[i]) && !p->children[i].stopping &&
		    p->children[i].generation != p->generation)
			return 1;
	return 0;
}

/* A crash loop past --crash-loop-limit leads the line: `systemctl status` shows a
 * failing server as such, not as one that runs. The limit, not the time so far, is
 * named, so the line changes only with the pool (one datagram per change). */
static void format_status(const struct pool *p, char *buf, size_t len)
{
	int n;

	if (p->stopping) {
		snprintf(buf, len, "STATUS=stopping: %d workers left", pool_live_count(p));
		return;
	}
	if (p->crash_loop_failing) {
		snprintf(buf, len,
		         "STATUS=failing: every worker start has failed for over %g s (crash "
		         "loop, %u failed starts in a row); %d workers running (target %ld), "
		         "generation %u",
		         p->cfg->crash_loop_limit, p->failed_starts, pool_live_count(p), p->target,
		         p->generation);
		return;
	}
	n = snprintf(buf, len, "STATUS=%d workers running (target %ld), generation %u",
	             pool_live_count(p), p->target, p->generation);
	if (p->failed_starts > 0 && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "; crash loop: %u failed starts in a row",
		         p->failed_starts);
}

void notify_tick(const struct pool *p)
{
	char status[STATUS_MAX], msg[STATUS_MAX + 16];

	if (!notify_enabled())
		return;
	format_status(p, status, sizeof status);
	if (!ready_sent || (reload_pending && !stopping && !old_workers_serving(p))) {
		/* READY=1 first: systemd reads the assignments of a datagram in order. */
		snprintf(msg, sizeof msg, "READY=1\n%s", status);
		ready_sent = 1;
		reload_pending = 0;
	} else if (strcmp(status, last_status) != 0) {
		snprintf(msg, sizeof msg, "%s", status);
	} else {
		return;
	}
	memcpy(last_status, status, sizeof last_status);
	send_message(msg);
}

/* MONOTONIC_USEC tells systemd (Type=notify-reload, v253+) when the reload began;
 * older managers ignore it. */
void notify_reloading(void)
{
	char msg[64];

	if (!notify_enabled() || stopping)
		return;
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
	         (unsigned long long)(clock_now_ns() / 1000));
	reload_pending = 1;
	send_message(msg);
}

void notify_stopping(void)
{
	if (!notify_enabled() || stopping)
		return;
	stopping = 1;
	send_message("STOPPING=1");
}

/* With NotifyAccess=main only the main pid may speak: the old master names its
 * successor before it goes, and says nothing after (its STOPPING=1 would be
 * refused, and must not stop the service if it were not). */
void notify_main_pid(long pid)
{
	char msg[64];

	if (!notify_enabled())
		return;
	snprintf(msg, sizeof msg, "MAINPID=%ld", pid);
	send_message(msg);
	state = NOTIFY_OFF;
}
