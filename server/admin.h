/* The admin socket: a Unix stream socket served from the master's poll() loop. One
 * command line per connection, one framed reply, then close. Every fd is non-blocking
 * and every client has a deadline, so a stuck client never delays supervision. The
 * protocol (limits, commands, framing) is common/admin_proto.h, shared with
 * preforkctl. */
#ifndef PREFORKD_ADMIN_H
#define PREFORKD_ADMIN_H

#include "admin_path.h"
#include "admin_proto.h"

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/un.h>

#define ADMIN_POLLFDS (1 + ADMIN_CLIENTS_MAX)

struct config;
struct master;

enum admin_then { ADMIN_THEN_NOTHING, ADMIN_THEN_STOP };

struct admin_client {
	int fd;    /* -1: free */
	uid_t uid; /* the peer, from SO_PEERCRED */
	pid_t pid;
	uint64_t deadline_ns; /* reading: the whole line; writing: the next progress */
	uint64_t end_ns;      /* writing: the whole reply */
	int writing;          /* the reply is built; sending it */
	enum admin_then then; /* what to do once the reply is sent (or abandoned) */
	size_t in_len;
	char in[ADMIN_COMMAND_MAX];
	char *out;
	size_t out_len, out_off;
};

/* All zero means "not open": a master that fails before admin_open() closes nothing. */
struct admin {
	int open;
	int listen_fd;
	int lock_fd; /* the instance lock, PATH.lock (instance_lock.h) */
	char path[ADMIN_PATH_MAX];
	dev_t dev; /* the socket file we made: unlinked at exit only if still ours */
	ino_t ino;
	uint64_t paused_until_ns; /* accept4() ran out of fds: stop polling the listener */
	uint64_t pause_logged_ns;
	int nclients;
	struct admin_client clients[ADMIN_CLIENTS_MAX];
};

/* Start-up: replaces a stale socket file, refuses when a live instance answers.
 * Reports on stderr and returns -1 on failure. */
int admin_open(struct admin *a, const struct config *cfg);
/* Fills ADMIN_POLLFDS entries (fd -1 where there is nothing to wait for). */
void admin_fill_pollfds(const struct admin *a, struct pollfd *pfd, uint64_t now_ns);
/* The poll timeout, shortened to the nearest admin deadline. */
int admin_timeout_ms(const struct admin *a, uint64_t now_ns, int timeout_ms);
/* Accepts, reads, answers and expires clients; never blocks. */
void admin_serve(struct admin *a, struct master *m, const struct pollfd *pfd, uint64_t now_ns);
/* The master's admin fds, for a new worker to close (workers never exec, so
 * O_CLOEXEC does not do it). Writes at most ADMIN_CLIENTS_MAX + 2; returns how many. */
int admin_fds(const struct admin *a, int *fds);
/* At exit: close everything, remove the socket file if it is still ours, then
 * release the instance lock. */
void admin_close(struct admin *a);

#endif
