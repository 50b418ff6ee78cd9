/* systemd readiness and state over the NOTIFY_SOCKET datagram protocol, written
 * directly (no libsystemd). Every call is a no-op when NOTIFY_SOCKET is unset. */
#ifndef PREFORKD_NOTIFY_H
#define PREFORKD_NOTIFY_H

struct pool;

/* Called at the top of every master loop turn: READY=1 the first time, READY=1 again
 * once a reload has replaced every old worker, STATUS= whenever the pool changes. */
void notify_tick(const struct pool *p);
/* A reload (SIGHUP or admin) began: RELOADING=1. */
void notify_reloading(void);
/* A stop began: STOPPING=1. */
void notify_stopping(void);

/* A binary upgrade succeeded: MAINPID=PID (the new master), then nothing more from
 * this process. */
void notify_main_pid(long pid);

#endif
