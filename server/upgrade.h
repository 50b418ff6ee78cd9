/* Zero-downtime binary upgrade: the old master re-executes the binary with the
 * arguments it started with, handing over its sockets and instance locks through
 * the LISTEN_FDS convention (activation.h), and waits for one byte on a pipe that
 * says the new master's workers are serving. The master decides what to do with
 * the outcome (master.c); this module only starts, watches and stops the child.
 *
 * Layering: calls log, clock and libc; knows nothing of the pool. */
#ifndef PREFORKD_UPGRADE_H
#define PREFORKD_UPGRADE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The names the new master looks for (activation_take). */
#define UPGRADE_FD_ADMIN "admin"
#define UPGRADE_FD_ADMIN_LOCK "admin-lock"
#define UPGRADE_FD_PID_LOCK "pid-lock"
#define UPGRADE_FD_READY "upgrade-ready"
/* Listeners: one the old master made (the new one owns it once the old has been
 * told), or one it had inherited itself (systemd's: inherited still). */
#define UPGRADE_FD_LISTEN_OWNED "listen-owned"
#define UPGRADE_FD_LISTEN_INHERITED "listen-inherited"
/* Not reserved by activation.h: taken by the master before its listeners are. */
#define UPGRADE_FD_METRICS "metrics"
#define UPGRADE_FD_AGENT "agent"

/* One fd handed over, under its LISTEN_FDNAMES name: every listener (any name that
 * activation_name_reserved() does not reserve), then the reserved ones. */
struct upgrade_fd {
	int fd;
	const char *name;
};

/* First thing in main(), before proctitle_init() or --daemon's chdir("/"): keeps a
 * deep copy of argv, the starting directory and the binary's absolute path. 0, or
 * -1 having said why on stderr (the server then starts, but cannot upgrade). */
int upgrade_save_argv(int argc, char **argv);
/* The path saved at start ("" when it could not be resolved). */
const char *upgrade_default_path(void);
/* PATH may be executed by an upgrade: absolute, a regular file, executable. 0, or
 * -1 with the reason in ERR. */
int upgrade_check_path(const char *path, char *err, size_t errlen);

enum upgrade_phase {
	UPGRADE_IDLE,
	UPGRADE_WAITING,  /* the new master runs; no byte yet */
	UPGRADE_STOPPING, /* rolling back: the new master was told to go */
};

/* The old master's side of one upgrade. */
struct upgrade {
	enum upgrade_phase phase;
	pid_t pid;    /* the new master, a child of this one; 0 once reaped */
	int ready_fd; /* the readiness pipe's read end; -1 */
	uint64_t started_ns;
	uint64_t deadline_ns; /* WAITING: readiness; STOPPING: SIGKILL */
	uint64_t stop_ns;     /* rolling back: SIGTERM, then SIGKILL after this long */
	int killed;
	pid_t handed_pid; /* after the byte: the successor, still our child */
	char path[4096];
	char why[256]; /* why it failed, for the log and the admin reply */
};

void upgrade_init(struct upgrade *u);
/* Forks and execs PATH (NULL: the saved one) with the saved argv and FDS (N of
 * them) at 3.., LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES set, and the readiness
 * pipe's write end last as "upgrade-ready". 0 with u WAITING until TIMEOUT_NS from
 * now; -1 with the reason in ERR (nothing left running). A rollback sends the new
 * master SIGTERM, then SIGKILL STOP_NS later. */
int upgrade_spawn(struct upgrade *u, const char *path, const struct upgrade_fd *fds, size_t n,
                  uint64_t timeout_ns, uint64_t stop_ns, char *err, size_t errlen);

enum upgrade_event {
	UPGRADE_NONE,
	UPGRADE_READY,  /* the byte came: the new master serves */
	UPGRADE_FAILED, /* EOF, exit or timeout: u->why says which; u is STOPPING */
	UPGRADE_GONE,   /* after a failure, the new master is gone: u is IDLE */
};

/* The readiness pipe while WAITING (fd -1 otherwise). */
void upgrade_fill_pollfd(const struct upgrade *u, struct pollfd *pfd);
/* TIMEOUT_MS, shortened to the next deadline. */
int upgrade_timeout_ms(const struct upgrade *u, uint64_t now_ns, int timeout_ms);
/* One turn: reads the pipe, judges the deadline, escalates to SIGKILL. */
enum upgrade_event upgrade_step(struct upgrade *u, const struct pollfd *pfd, uint64_t now_ns);
/* From the master's wait loop: 1 when PID was the new master (it is forgotten; a
 * failure is noted), 0 for any other child. */
int upgrade_reaped(struct upgrade *u, pid_t pid, int status);
/* WAITING, but the master gives up (it is stopping): as a failure for WHY. */
enum upgrade_event upgrade_abort(struct upgrade *u, const char *why, uint64_t now_ns);
/* The byte came: the new master is on its own now (it is not signalled again). */
void upgrade_release(struct upgrade *u);

/* The new master's side: one byte on the inherited "upgrade-ready" fd, then close
 * it. A failed write is logged: the old master then rolls back. */
void upgrade_signal_ready(int fd);

#endif
