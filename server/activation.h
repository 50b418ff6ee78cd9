/* Inherited file descriptors: systemd's socket-activation convention (LISTEN_FDS,
 * LISTEN_PID, LISTEN_FDNAMES; sd_listen_fds(3)), read without libsystemd. systemd
 * hands preforkd its listeners this way, and so does an old master to the new one
 * during a binary upgrade, with a few more fds under reserved names (the admin
 * socket, the instance locks, the readiness pipe).
 *
 * Layering: pure but for the environment, fcntl() and getpid(); calls only libc. */
#ifndef PREFORKD_ACTIVATION_H
#define PREFORKD_ACTIVATION_H

#include <stddef.h>
#include <sys/types.h>

/* SD_LISTEN_FDS_START: the first inherited fd. */
#define ACTIVATION_FD_START 3
/* More than this many is refused: listeners plus the upgrade's named fds. */
#define ACTIVATION_FDS_MAX 32
/* systemd's limit for a name (FileDescriptorName=). */
#define ACTIVATION_NAME_MAX 255

struct activation_fd {
	int fd;
	char name[ACTIVATION_NAME_MAX + 1]; /* "" when LISTEN_FDNAMES gave none */
	int taken;                          /* claimed by activation_take() */
};

struct activation {
	struct activation_fd fds[ACTIVATION_FDS_MAX];
	size_t n;
	int present; /* LISTEN_FDS was set (and meant for this process) */
};

/* Parses the three variables as given (pure: no fd is touched). LISTEN_PID must be
 * `self`. Returns 0 (a->present 0 when LISTEN_FDS is absent, or LISTEN_PID names
 * another process: the variables were meant for someone else), or -1 with err set
 * for malformed values (not a number, 0 fds, too many, names that do not match the
 * count or are not valid fd names). */
int activation_parse(struct activation *a, const char *listen_fds, const char *listen_pid,
                     const char *listen_fdnames, pid_t self, char *err, size_t errlen);

/* activation_parse() on this process's environment, then: every fd must be open
 * (fcntl F_GETFD), each is made close-on-exec so that no child inherits it by
 * accident, and the three variables are removed from the environment (as
 * sd_listen_fds(1) does), so that neither workers nor a later exec see them. */
int activation_read(struct activation *a, char *err, size_t errlen);

/* The fd named `name`, marked taken; -1 when there is none. With several of that
 * name, the first not yet taken. */
int activation_take(struct activation *a, const char *name);

/* Is `name` one of the names an upgrade uses for what is not a listener ("admin",
 * "admin-lock", "pid-lock", "upgrade-ready", and the master's own endpoints
 * "metrics" and "agent")? Such fds are never taken for listeners. */
int activation_name_reserved(const char *name);

/* Closes every fd not taken (logged by the caller); returns how many it closed. */
size_t activation_close_untaken(struct activation *a);

#endif
