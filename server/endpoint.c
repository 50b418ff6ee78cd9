/* One home for the master's own sockets (endpoint.h): accepting without ever
 * blocking or spinning, reading a bounded request within its deadline, sending a
 * whole reply as fast as the reader takes it, and letting go of those that stall.
 *
 * May call: log, strbuf, addr (its address, peer text), net (listen_tcp), the
 * user's ops. Touches only struct
 * endpoint; what a request means is the user's business. */
#include "endpoint.h"

#include "addr.h"
#include "clock.h"
#include "log.h"
#include "net.h"
#include "strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_PAUSE_NS (100 * NS_PER_MS)

static int fail_listen(int fd, const char *option, const char *text, const char *why)
{
	fprintf(stderr, "preforkd: %s: cannot listen on %s: %s\n", option, text, why);
	log_error("%s: cannot listen on %s: %s", option, text, why);
	if (fd >= 0)
		close(fd);
	return -1;
}

int endpoint_listen(const char *option, const char *text, int backlog, int inherited,
                    struct sockaddr_storage *bound, char *addr, size_t addrlen)
{
	const struct listen_opts o = { .backlog = backlog };
	socklen_t len = sizeof *bound;
	struct host_port hp;
	char err[512];
	int fd = inherited; /* handed over by the old master of a binary upgrade */

	if (fd < 0) {
		if (addr_split(text, &hp, err, sizeof err) < 0 ||
		    addr_resolve(&hp, 1, bound, &len, err, sizeof err) < 0)
			return fail_listen(-1, option, text, err);
		fd = listen_tcp((struct sockaddr *)bound, len, &o, err, sizeof err);
		if (fd < 0)
			return fail_listen(-1, option, text, err);
	}
	if (set_nonblocking(fd) < 0) {
		snprintf(err, sizeof err, "fcntl O_NONBLOCK: %s", strerror(errno));
		return fail_listen(fd, option, text, err);
	}
	len = sizeof *bound;
	if (getsockname(fd, (struct sockaddr *)bound, &len) < 0) {
		snprintf(err, sizeof err, "getsockname: %s", strerror(errno));
		return fail_listen(fd, option, text, err);
	}
	addr_format((struct sockaddr *)bound, addr, addrlen);
	return fd;
}

void endpoint_stop_accepting(struct endpoint *e)
{
	e->paused_until_ns = UINT64_MAX;
}

void endpoint_init(struct endpoint *e, int listen_fd, const struct endpoint_ops *ops,
                   const struct endpoint_limits *lim)
{
	memset(e, 0, sizeof *e);
	e->listen_fd = listen_fd;
	e->ops = ops;
	e->lim = *lim;
	if (e->lim.request_max > ENDPOINT_REQUEST_MAX)
		e->lim.request_max = ENDPOINT_REQUEST_MAX;
	for (int i = 0; i < ENDPOINT_CLIENTS_MAX; i++)
		e->clients[i].fd = -1;
}

/* ---- polling ---- */

void endpoint_fill_pollfds(const struct endpoint *e, struct pollfd *pfd, uint64_t now_ns)
{
	for (int i = 0; i < ENDPOINT_POLLFDS; i++)
		pfd[i] = (struct pollfd){ .fd = -1, .events = 0, .revents = 0 };
	if (e->listen_fd < 0)
		return;
	/* With every client slot taken, the listener is left out: new connections wait
	 * in the backlog rather than being accepted and dropped. */
	if (e->nclients < ENDPOINT_CLIENTS_MAX && now_ns >= e->paused_until_ns)
		pfd[0] = (struct pollfd){ .fd = e->listen_fd, .events = POLLIN, .revents = 0 };
	for (int i = 0; i < ENDPOINT_CLIENTS_MAX; i++) {
		const struct endpoint_client *c = &e->clients[i];

		/* A client waiting for an answer is not polled: it has said all it may
		 * say, and is answered when the master knows the outcome. */
		if (c->fd >= 0 && c->state != ENDPOINT_WAITING)
			pfd[1 + i] = (struct pollfd){
				.fd = c->fd,
				.events = c->state == ENDPOINT_WRITING ? POLLOUT : POLLIN,
				.revents = 0,
			};
	}
}

/* UINT64_MAX while the client waits for an answer: no deadline of its own. */
static uint64_t client_deadline(const struct endpoint_client *c)
{
	if (c->state == ENDPOINT_WAITING)
		return UINT64_MAX;
	return c->state == ENDPOINT_WRITING && c->end_ns < c->deadline_ns ? c->end_ns
	                                                                  : c->deadline_ns;
}

int endpoint_timeout_ms(const struct endpoint *e, uint64_t now_ns, int timeout_ms)
{
	uint64_t next = UINT64_MAX, wait;

	if (e->listen_fd < 0)
		return timeout_ms;
	for (int i = 0; i < ENDPOINT_CLIENTS_MAX; i++)
		if (e->clients[i].fd >= 0 && client_deadline(&e->clients[i]) < next)
			next = client_deadline(&e->clients[i]);
	if (e->paused_until_ns > now_ns && e->paused_until_ns < next)
		next = e->paused_until_ns;
	if (next == UINT64_MAX)
		return timeout_ms;
	wait = next <= now_ns ? 0 : (next - now_ns + NS_PER_MS - 1) / NS_PER_MS;
	return timeout_ms < 0 || wait < (uint64_t)timeout_ms ? (int)wait : timeout_ms;
}

/* ---- one client ---- */

/* Unread input at close() makes Linux report ECONNRESET to the peer, which could
 * then lose the tail of our reply: read what is left (bounded) before closing. */
static void drain_input(int fd)
{
	char buf[4096];

	for (int i = 0; i < 16; i++) {
		ssize_t n = read(fd, buf, sizeof buf);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
	}
}

static void finish_client(struct endpoint *e, struct endpoint_client *c)
{
	drain_input(c->fd);
	close(c->fd); /* a Unix socket's close() has nothing to retry */
	free(c->out);
	memset(c, 0, sizeof *c);
	c->fd = -1;
	e->nclients--;
}

/* Sends what the socket takes, send_chunk bytes per send(): the kernel frees a
 * chunk's memory only once the reader has taken all of it, so small chunks let a
 * slow reader's progress show as room for the next one. Any byte taken moves the
 * progress deadline on (never past the whole reply's). */
static void write_reply(struct endpoint *e, struct endpoint_client *c, uint64_t now)
{
	const char *data = c->out ? c->out : c->out_static;
	size_t before = c->out_off;

	while (c->out_off < c->out_len) {
		size_t len = c->out_len - c->out_off;
		ssize_t n;

		if (len > e->lim.send_chunk)
			len = e->lim.send_chunk;
		n = send(c->fd, data + c->out_off, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (c->out_off > before)
				c->deadline_ns = now + e->lim.progress_ns;
			return;
		}
		if (n < 0)
			break; /* the peer left: nobody to tell */
		c->out_off += (size_t)n;
	}
	finish_client(e, c);
}

void endpoint_reply(struct endpoint *e, struct endpoint_client *c, struct strbuf *b,
                    const char *fallback, uint64_t now)
{
	if (b->failed || !b->data) {
		strbuf_free(b);
		c->out = NULL;
		c->out_static = fallback;
		c->out_len = strlen(fallback);
	} else {
		c->out = b->data;
		c->out_len = b->len;
		memset(b, 0, sizeof *b);
	}
	c->out_off = 0;
	c->state = ENDPOINT_WRITING;
	c->deadline_ns = now + e->lim.progress_ns;
	c->end_ns = now + e->lim.reply_ns;
	write_reply(e, c, now);
}

void endpoint_wait(struct endpoint_client *c)
{
	c->state = ENDPOINT_WAITING;
}

struct endpoint_client *endpoint_find(struct endpoint *e, uint64_t token)
{
	for (int i = 0; i < ENDPOINT_CLIENTS_MAX; i++)
		if (e->clients[i].fd >= 0 && e->clients[i].state == ENDPOINT_WAITING &&
		    e->clients[i].token == token)
			return &e->clients[i];
	return NULL;
}

int endpoint_flushing(const struct endpoint *e)
{
	for (int i = 0; i < ENDPOINT_CLIENTS_MAX; i++)
		if (e->clients[i].fd >= 0 && e->clients[i].state == ENDPOINT_WRITING &&
		    e->clients[i].flush_at_exit)
			return 1;
	return 0;
}

/* ---- reading ---- */

static void take_request(struct endpoint *e, struct endpoint_client *c, enum endpoint_input how,
                         size_t len, uint64_t now, void *arg)
{
	c->in[len] = '\0'; /* len <= request_max < sizeof c->in */
	e->ops->request(arg, e, c, how, len, now);
}

/* Reads what has come. Returns -1 when the peer has gone, else 0 (the request was
 * handed to the user, or more is awaited). */
static int read_request(struct endpoint *e, struct endpoint_client *c, uint64_t now, void *arg)
{
	for (;;) {
		size_t room = e->lim.request_max - c->in_len;
		long len;
		ssize_t n;

		if (room == 0) {
			take_request(e, c, ENDPOINT_TOO_LONG, c->in_len, now, arg);
			return 0;
		}
		n = read(c->fd, c->in + c->in_len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		c->in_len += (size_t)n;
		len = e->ops->complete(c->in, c->in_len);
		if (len >= 0) {
			take_request(e, c, ENDPOINT_COMPLETE, (size_t)len, now, arg);
			return 0;
		}
		if (n == 0) {
			take_request(e, c, ENDPOINT_EOF, c->in_len, now, arg);
			return 0;
		}
	}
}

static void serve_client(struct endpoint *e, struct endpoint_client *c, uint64_t now, void *arg)
{
	if (c->state == ENDPOINT_WRITING)
		write_reply(e, c, now);
	else if (c->state == ENDPOINT_READING && read_request(e, c, now, arg) < 0)
		finish_client(e, c);
}

/* A client that did not send its request in time is told so and closed. One that is
 * being answered is given one more send first: POLLOUT comes only once a quarter of
 * the socket's buffer is free, so a slow reader's progress may show only as room
 * for one more chunk. Without it, or past the whole reply's deadline, the reply is
 * cut off: the reader sees fewer bytes than it was promised. */
static void expire_client(struct endpoint *e, struct endpoint_client *c, uint64_t now)
{
	const char *msg = e->ops->timeout_reply;
	size_t off = c->out_off;

	if (c->state == ENDPOINT_READING) {
		log_debug("%s: client %s timed out", e->ops->name, c->peer);
		if (msg && (c->in_len > 0 || !e->ops->timeout_reply_if_input) &&
		    send(c->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("%s: timeout reply: %s", e->ops->name, strerror(errno));
		finish_client(e, c);
		return;
	}
	if (now < c->end_ns) {
		write_reply(e, c, now);
		if (c->fd < 0 || c->out_off > off)
			return;
	}
	if (now < c->end_ns)
		log_info("%s: cut off the reply to %s after %zu of %zu bytes: the reader took "
		         "nothing for %g s",
		         e->ops->name, c->peer, c->out_off, c->out_len,
		         (double)e->lim.progress_ns / NS_PER_SEC);
	else
		log_info("%s: cut off the reply to %s after %zu of %zu bytes: not taken whole "
		         "within %g s",
		         e->ops->name, c->peer, c->out_off, c->out_len,
		         (double)e->lim.reply_ns / NS_PER_SEC);
	finish_client(e, c);
}

/* ---- accepting ---- */

/* Who is on the other end: for a Unix socket, the kernel's word (SO_PEERCRED); else
 * the address. */
static void note_peer(struct endpoint_client *c)
{
	struct sockaddr_storage ss;
	socklen_t slen = sizeof ss;
	struct ucred cred;
	socklen_t len = sizeof cred;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0) {
		c->has_cred = 1;
		c->uid = cred.uid;
		c->gid = cred.gid;
		c->pid = cred.pid;
		snprintf(c->peer, sizeof c->peer, "uid %u pid %ld", (unsigned)cred.uid,
		         (long)cred.pid);
		return;
	}
	/* A family even if getpeername() fills in fewer bytes than one. */
	ss.ss_family = AF_UNSPEC;
	if (getpeername(c->fd, (struct sockaddr *)&ss, &slen) < 0)
		snprintf(c->peer, sizeof c->peer, "unknown peer (%s)", strerror(errno));
	else if (ss.ss_family != AF_UNIX)
		addr_format((struct sockaddr *)&ss, c->peer, sizeof c->peer);
	else /* a Unix peer with no pid here, e.g. from another pid namespace */
		snprintf(c->peer, sizeof c->peer, "unknown peer (no credentials)");
}

static void start_client(struct endpoint *e, int fd, uint64_t now, void *arg)
{
	struct endpoint_client *c = NULL;

	for (int i = 0; i < ENDPOINT_CLIENTS_MAX && !c; i++)
		if (e->clients[i].fd < 0)
			c = &e->clients[i];
	if (!c) { /* cannot happen: the listener is polled only with a slot free */
		close(fd);
		return;
	}
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->token = ++e->last_token;
	c->state = ENDPOINT_READING;
	c->deadline_ns = now + e->lim.request_ns;
	e->nclients++;
	note_peer(c);
	if (e->ops->accept(arg, e, c, now) < 0)
		return;
	/* Most clients send their request with the connect: try it now. */
	serve_client(e, c, now, arg);
}

static void pause_accepting(struct endpoint *e, int err, uint64_t now)
{
	if (now - e->pause_logged_ns >= 10 * NS_PER_SEC || e->pause_logged_ns == 0) {
		log_error("%s: accept4: %s; pausing (logged at most every 10 s)", e->ops->name,
		          strerror(err));
		e->pause_logged_ns = now;
	}
	e->paused_until_ns = now + ACCEPT_PAUSE_NS;
}

/* At most ENDPOINT_CLIENTS_MAX accepts per loop turn: a client that connects as fast
 * as it can (most are served and gone within their turn, so the slots never fill)
 * must not keep the master here; the rest wait in the backlog until the next turn,
 * after signals, reaping and timers. */
static void accept_clients(struct endpoint *e, uint64_t now, void *arg)
{
	for (int turn = 0; turn < ENDPOINT_CLIENTS_MAX && e->nclients < ENDPOINT_CLIENTS_MAX;
	     turn++) {
		int fd = accept4(e->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd >= 0) {
			start_client(e, fd, now, arg);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			pause_accepting(e, errno, now); /* EMFILE and kin: never a busy loop */
		return;
	}
}

void endpoint_serve(struct endpoint *e, const struct pollfd *pfd, uint64_t now_ns, void *arg)
{
	if (e->listen_fd < 0)
		return;
	for (int i = 0; i < ENDPOINT_CLIENTS_MAX; i++) {
		struct endpoint_client *c = &e->clients[i];

		if (c->fd >= 0 && pfd[1 + i].fd == c->fd && pfd[1 + i].revents)
			serve_client(e, c, now_ns, arg);
		if (c->fd >= 0 && now_ns >= client_deadline(c))
			expire_client(e, c, now_ns);
	}
	if (pfd[0].fd >= 0 && (pfd[0].revents & POLLIN))
		accept_clients(e, now_ns, arg);
}

/* ---- closing ---- */

int endpoint_fds(const struct endpoint *e, int *fds)
{
	int n = 0;

	if (e->listen_fd < 0)
		return 0;
	fds[n++] = e->listen_fd;
	for (int i = 0; i < ENDPOINT_CLIENTS_MAX; i++)
		if (e->clients[i].fd >= 0)
			fds[n++] = e->clients[i].fd;
	return n;
}

void endpoint_close(struct endpoint *e)
{
	const char *msg = e->ops ? e->ops->closing_reply : NULL;

	if (e->listen_fd < 0)
		return;
	for (int i = 0; i < ENDPOINT_CLIENTS_MAX; i++) {
		struct endpoint_client *c = &e->clients[i];

		if (c->fd < 0)
			continue;
		if (c->state == ENDPOINT_WAITING && msg &&
		    send(c->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("%s: closing reply: %s", e->ops->name, strerror(errno));
		finish_client(e, c);
	}
	close(e->listen_fd);
	e->listen_fd = -1;
}
