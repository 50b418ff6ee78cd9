/* The admin socket: a Unix stream socket served from the master's poll() loop by the
 * endpoint module (endpoint.h), which bounds every client in time. One command line
 * per connection, one framed reply, then close. The protocol (limits, commands,
 * framing) is common/admin_proto.h, shared with preforkctl. */
#ifndef PREFORKD_ADMIN_H
#define PREFORKD_ADMIN_H

#include "admin_path.h"
#include "admin_proto.h"
#include "endpoint.h"

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/un.h>

#define ADMIN_POLLFDS ENDPOINT_POLLFDS

struct config;
struct pool;

/* What the admin module knows of each endpoint client, by the client's slot. */
struct admin_slot {
	uint64_t token;           /* the client this is about: slots are reused */
	int read_only;            /* a member of --admin-group: commands that only look */
	int queued;               /* a request not yet taken by the master */
	struct admin_request req; /* what the client asked */
};

/* All zero means "not open": a master that fails before admin_open() closes nothing. */
#define ADMIN_GROUP_NAME_MAX 33 /* a group name as config.c takes it, and its NUL */

struct admin {
	int open;
	int lock_fd; /* the instance lock, PATH.lock (instance_lock.h) */
	char path[ADMIN_PATH_MAX];
	/* --admin-group: the socket is 0660 with this group from its bind(), and the
	 * group's members may use the commands that do not change the server. */
	int group_set;
	gid_t group;
	char group_name[ADMIN_GROUP_NAME_MAX];
	dev_t dev; /* the socket file we made: unlinked at exit only if still ours */
	ino_t ino;
	/* The file is another master's to remove: handed over to a new binary, or
	 * inherited from the old one that has not yet let go. */
	int handed_over;
	struct endpoint ep; /* the listener and its clients (endpoint.h) */
	struct admin_slot slots[ENDPOINT_CLIENTS_MAX];
};

/* A command that changes the server, for the master to apply (admin_next_request)
 * and answer (admin_reply_ok, admin_reply_error). */
struct admin_pending {
	struct admin_request req; /* scale N, reload, stop */
	uint64_t token;           /* the waiting client */
	uid_t uid;                /* who asked, from SO_PEERCRED */
	pid_t pid;
};

/* Start-up: replaces a stale socket file, refuses when a live instance answers,
 * resolves --admin-group and makes the socket with its mode and group. Reports on
 * stderr and returns -1 on failure. INHERITED_FD and INHERITED_LOCK (both >= 0, or
 * -1): the listening socket and its instance lock handed over by the old master
 * of a binary upgrade, used as they are. */
int admin_open(struct admin *a, const struct config *cfg, int inherited_fd, int inherited_lock);
/* A binary upgrade succeeded: the socket is no longer accepted on here (the new
 * master does), and admin_close() leaves its file in place; replies still being
 * sent are finished. */
void admin_hand_over(struct admin *a);
/* The new master of an upgrade, once the old one has let go: the socket file is
 * this master's to remove at exit. */
void admin_own_file(struct admin *a);
/* --admin-group NAME (a name, or a number the group database knows) as a gid: 0,
 * or -1 with the reason in ERR. -t uses it too. */
int admin_group_resolve(const char *name, gid_t *gid, char *err, size_t errlen);
/* Fills ADMIN_POLLFDS entries (fd -1 where there is nothing to wait for). */
void admin_fill_pollfds(const struct admin *a, struct pollfd *pfd, uint64_t now_ns);
/* The poll timeout, shortened to the nearest admin deadline. */
int admin_timeout_ms(const struct admin *a, uint64_t now_ns, int timeout_ms);
/* Accepts, reads, answers and expires clients; never blocks. Commands that only look
 * are answered here from POOL, the master's read-only view; those that change the server are
 * queued for the master. */
void admin_serve(struct admin *a, const struct pool *pool, const struct pollfd *pfd,
                 uint64_t now_ns);
/* The oldest queued request, in *P: 1, or 0 when there is none. The master must
 * answer every request it takes, at once or in a later turn of its loop. */
int admin_next_request(struct admin *a, struct admin_pending *p);
/* The master's answer to request TOKEN: a success, whose body is the text and a
 * newline (several lines if the text has newlines), or a refusal. Sending starts at
 * once. Returns -1 when nobody waits for TOKEN (nobody to tell). */
int admin_reply_ok(struct admin *a, uint64_t token, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int admin_reply_error(struct admin *a, uint64_t token, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Answers to requests are still being sent: a stopping master waits for them, so
 * the client that asked for the stop hears it. Bounded by the reply deadlines. */
int admin_answering(const struct admin *a);
/* The master's admin fds, for a new worker to close (workers never exec, so
 * O_CLOEXEC does not do it). Writes at most ADMIN_POLLFDS + 1; returns how many. */
int admin_fds(const struct admin *a, int *fds);
/* At exit: close everything, remove the socket file if it is still ours, then
 * release the instance lock. */
void admin_close(struct admin *a);

#endif
