/* --daemon: detach from the terminal, and let the parent exit only once the daemon
 * listens and holds its pidfile, or with the daemon's start-up error. */
#ifndef PREFORKD_DAEMON_H
#define PREFORKD_DAEMON_H

#include <stddef.h>

struct config;

/* Before the log is opened: the daemon runs in "/", so make --pidfile, --log and
 * --admin absolute (SIGUSR1 then reopens the same path), and make sure fds 0-2 are
 * open. No-op without --daemon. */
int daemon_prepare(struct config *cfg, char *err, size_t errlen);
/* Forks, detaches and returns 0 in the daemon, whose stderr goes to the waiting
 * parent until daemon_ready(). The parent never returns: it relays the daemon's
 * start-up messages and exits 0 on ready, 1 otherwise. -1: could not start. */
int daemon_start(const struct config *cfg);
/* Instead of daemon_start() in the new master of a binary upgrade: the old master
 * was detached (its session, its stdio: inherited), so only the chdir("/") of a
 * daemon is left to do. */
int daemon_continue(const struct config *cfg);
/* Listening, pidfile written: release the parent and point stderr at the log file
 * (or /dev/null). Call before the first worker is forked. No-op without --daemon. */
void daemon_ready(void);

#endif
