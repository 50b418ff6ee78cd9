/* The master's own sockets: a non-blocking listener and its clients, served from the
 * master's poll() loop with the same limits for every user. One request per
 * connection, one reply built whole, then close. The admin socket is the first user,
 * the metrics endpoint (metrics.h) the second, a load balancer's health agent
 * (agent.h) the third.
 *
 * A user supplies ops: where a request ends, and what to do with it: reply at once
 * (endpoint_reply), or leave the client waiting (endpoint_wait) for an answer that a
 * later turn of the loop gives under the client's token (endpoint_find). */
#ifndef PREFORKD_ENDPOINT_H
#define PREFORKD_ENDPOINT_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define ENDPOINT_CLIENTS_MAX 16 /* served at once; the rest wait in the backlog */
#define ENDPOINT_POLLFDS (1 + ENDPOINT_CLIENTS_MAX)
#define ENDPOINT_REQUEST_MAX 8192 /* the most any user may read: an HTTP request head */
#define ENDPOINT_PEER_MAX 64

struct strbuf;
struct endpoint;
struct endpoint_client;

/* What a user's ops are told about the bytes read. */
enum endpoint_input {
	ENDPOINT_COMPLETE, /* a whole request: the user's end marker was found */
	ENDPOINT_EOF,      /* the peer half-closed first: what it sent, maybe nothing */
	ENDPOINT_TOO_LONG, /* request_max bytes and no end yet */
};

struct endpoint_ops {
	const char *name; /* starts the log lines: "admin" */
	/* A new client, its peer known. 0 serves it; -1 when the user answered it at
	 * once with a reply (endpoint_reply) of its own: a refusal, or a protocol in
	 * which the server speaks first (the agent). */
	int (*accept)(void *arg, struct endpoint *e, struct endpoint_client *c, uint64_t now);
	/* The length of the request at IN (LEN bytes so far), its end marker excluded, or
	 * -1 while it is not complete. */
	long (*complete)(const char *in, size_t len);
	/* The request is in c->in (LEN bytes, NUL-terminated): the user replies, or
	 * leaves the client waiting. Never both, never neither. */
	void (*request)(void *arg, struct endpoint *e, struct endpoint_client *c,
	                enum endpoint_input how, size_t len, uint64_t now);
	/* Sent, best effort, to a client that did not send its request in time, and to
	 * one still waiting for an answer when the endpoint closes. */
	const char *timeout_reply;
	const char *closing_reply;
	/* timeout_reply only to a client that sent part of a request (HTTP's 408); one
	 * that sent nothing is closed without a word. */
	int timeout_reply_if_input;
};

struct endpoint_limits {
	size_t request_max;   /* one request, its end marker included */
	uint64_t request_ns;  /* to send the whole request, from the connect */
	uint64_t progress_ns; /* replying: longest wait for the reader to take a chunk */
	uint64_t reply_ns;    /* replying: the whole reply */
	size_t send_chunk;    /* bytes per send(): see write_reply in endpoint.c */
};

enum endpoint_state {
	ENDPOINT_READING, /* the request: polled for input, request_ns */
	ENDPOINT_WAITING, /* for an answer from the master: not polled, no deadline */
	ENDPOINT_WRITING, /* the reply: polled for output, progress_ns and reply_ns */
};

struct endpoint_client {
	int fd; /* -1: free */
	enum endpoint_state state;
	uint64_t token; /* unique for the endpoint's life: how a later answer finds it */
	int has_cred;   /* a Unix peer: uid, gid and pid from SO_PEERCRED */
	uid_t uid;
	gid_t gid; /* the primary group only: a user may judge SO_PEERGROUPS on fd */
	pid_t pid;
	char peer[ENDPOINT_PEER_MAX]; /* "uid U pid P", or the peer's address */
	int flush_at_exit;    /* writing an answer the master waits for (endpoint_flushing) */
	uint64_t deadline_ns; /* reading: the whole request; writing: the next progress */
	uint64_t end_ns;      /* writing: the whole reply */
	size_t in_len;
	char in[ENDPOINT_REQUEST_MAX + 1];
	char *out;              /* the reply (malloc'd), or NULL for out_static */
	const char *out_static; /* the fallback when building the reply failed */
	size_t out_len, out_off;
};

/* All zero but listen_fd -1 means "not open". */
struct endpoint {
	int listen_fd;
	const struct endpoint_ops *ops;
	struct endpoint_limits lim;
	uint64_t paused_until_ns; /* accept4() ran out of fds: stop polling the listener */
	uint64_t pause_logged_ns;
	uint64_t last_token;
	int nclients;
	struct endpoint_client clients[ENDPOINT_CLIENTS_MAX];
};

/* Opens the listening socket of OPTION (e.g. "--metrics-listen") at TEXT
 * ("HOST:PORT", a bare port meaning 127.0.0.1), non-blocking, with BACKLOG; the
 * address as bound goes to BOUND and, as text, to ADDR. INHERITED (>= 0): the
 * socket a binary upgrade handed over, used instead of a new one. The fd, or -1
 * having said why on stderr and in the log. */
int endpoint_listen(const char *option, const char *text, int backlog, int inherited,
                    struct sockaddr_storage *bound, char *addr, size_t addrlen);
/* The listener is no longer polled (a binary upgrade: the new master accepts);
 * clients already taken are served to their end. */
void endpoint_stop_accepting(struct endpoint *e);
/* Takes LISTEN_FD (non-blocking, listening) to serve with OPS and LIM. */
void endpoint_init(struct endpoint *e, int listen_fd, const struct endpoint_ops *ops,
                   const struct endpoint_limits *lim);
/* Fills ENDPOINT_POLLFDS entries (fd -1 where there is nothing to wait for). */
void endpoint_fill_pollfds(const struct endpoint *e, struct pollfd *pfd, uint64_t now_ns);
/* TIMEOUT_MS, shortened to the nearest deadline of the endpoint. */
int endpoint_timeout_ms(const struct endpoint *e, uint64_t now_ns, int timeout_ms);
/* Accepts (at most ENDPOINT_CLIENTS_MAX per turn), reads, writes and expires; never
 * blocks. ARG goes to the ops. */
void endpoint_serve(struct endpoint *e, const struct pollfd *pfd, uint64_t now_ns, void *arg);
/* The whole reply in B (taken: B is left empty), or when building it failed, the
 * static FALLBACK; sending starts now, and C may be closed on return. */
void endpoint_reply(struct endpoint *e, struct endpoint_client *c, struct strbuf *b,
                    const char *fallback, uint64_t now);
/* Leaves C waiting for an answer under c->token. */
void endpoint_wait(struct endpoint_client *c);
/* The client waiting under TOKEN, or NULL when it has gone. */
struct endpoint_client *endpoint_find(struct endpoint *e, uint64_t token);
/* Some answer marked flush_at_exit is still being sent. */
int endpoint_flushing(const struct endpoint *e);
/* Writes the endpoint's fds (at most ENDPOINT_POLLFDS) into FDS; returns how many. */
int endpoint_fds(const struct endpoint *e, int *fds);
/* Closes every client (a waiting one is told closing_reply) and the listener. */
void endpoint_close(struct endpoint *e);

#endif
