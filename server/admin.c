/* The admin socket, served from the master's loop: accept, check the peer's
 * credentials, read one bounded command line, build the whole reply, frame it, write
 * it without blocking, close. A client has 1 s to send its line; a reply is sent as
 * long as the reader keeps taking it (admin_proto.h has the deadlines). At most
 * ADMIN_CLIENTS_MAX are served at once; the rest wait in the kernel's backlog.
 *
 * May call: stats (to render what a client asks to see, from a master it only
 * reads), the common protocol, log, safe_path, instance_lock. Never calls into
 * master.c and changes no master state: a command that changes the server becomes a
 * request that the master takes (admin_next_request), applies in its own loop step
 * and answers (admin_reply_ok/error). Touches only struct admin. */
#include "admin.h"

#include "admin_path.h"
#include "admin_proto.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "instance_lock.h"
#include "master_fault.h"
#include "safe_path.h"
#include "stats.h"
#include "strbuf.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define ADMIN_BACKLOG 128
#define ADMIN_REQUEST_NS ((uint64_t)ADMIN_REQUEST_MS * NS_PER_MS)
#define ADMIN_PROGRESS_NS ((uint64_t)ADMIN_PROGRESS_MS * NS_PER_MS)
#define ADMIN_REPLY_NS ((uint64_t)ADMIN_REPLY_MS * NS_PER_MS)
#define ACCEPT_PAUSE_NS (100 * NS_PER_MS)

/* ---- opening the socket ---- */

static void fill_sockaddr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, strlen(path) + 1); /* length checked by resolve_path */
}

/* The path is made absolute and its directory resolved at start, so a later chdir()
 * (daemon mode) changes neither where the socket is nor what is unlinked at exit, and
 * every directory on it is checked (safe_path_resolve): nobody else can swap the
 * socket file or plant one after our checks. */
static int resolve_path(struct admin *a, const struct config *cfg)
{
	char rel[PATH_MAX], cwd[PATH_MAX], abs[PATH_MAX], err[768];
	const char *p = cfg->admin_path;
	int n;

	if (!p) {
		if (admin_path_default(cfg->pidfile, rel, sizeof rel, err, sizeof err) < 0) {
			fprintf(stderr, "preforkd: %s with --admin PATH\n", err);
			return -1;
		}
		if (!cfg->pidfile && geteuid() == 0 &&
		    admin_path_make_root_dir(err, sizeof err) < 0) {
			fprintf(stderr, "preforkd: admin socket: %s\n", err);
			return -1;
		}
		p = rel;
	}
	if (p[0] == '/') {
		n = snprintf(abs, sizeof abs, "%s", p);
	} else {
		if (!getcwd(cwd, sizeof cwd)) {
			fprintf(stderr, "preforkd: getcwd: %s\n", strerror(errno));
			return -1;
		}
		n = snprintf(abs, sizeof abs, "%s/%s", cwd, p);
	}
	if (n < 0 || (size_t)n >= sizeof abs) {
		fprintf(stderr, "preforkd: admin socket path too long: %s\n", p);
		return -1;
	}
	if (safe_path_resolve(abs, rel, sizeof rel, err, sizeof err) < 0) {
		fprintf(stderr, "preforkd: admin socket %s\n", err);
		return -1;
	}
	if (strlen(rel) >= sizeof a->path) {
		fprintf(stderr, "preforkd: admin socket path too long (at most %zu bytes): %s\n",
		        sizeof a->path - 1, rel);
		return -1;
	}
	memcpy(a->path, rel, strlen(rel) + 1);
	return 0;
}

/* Who holds a live socket: the peer's credentials, as the kernel reports them. */
static void report_live_socket(const struct admin *a, int fd, int backlog_full)
{
	struct ucred cred;
	socklen_t len = sizeof cred;

	if (backlog_full || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		fprintf(stderr, "preforkd: another instance is running (admin socket %s)\n",
		        a->path);
		return;
	}
	if (cred.uid != 0 && cred.uid != geteuid())
		fprintf(stderr, "preforkd: admin socket %s is held by uid %u pid %ld\n", a->path,
		        (unsigned)cred.uid, (long)cred.pid);
	else
		fprintf(stderr,
		        "preforkd: another instance is running (pid %ld, admin socket %s)\n",
		        (long)cred.pid, a->path);
}

/* A connect() that succeeds (or finds the backlog full) means a live server, whose
 * owner is named; ECONNREFUSED means the file was left by a dead one, and it is
 * removed only if it is ours: a socket of our euid with one link. Anything else is
 * not ours to remove. */
static int remove_stale_socket(const struct admin *a)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, rc, err;

	if (lstat(a->path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "preforkd: admin socket %s: %s\n", a->path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr,
		        "preforkd: admin socket %s exists and is not a socket (owner uid %ld)\n",
		        a->path, (long)st.st_uid);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		fprintf(stderr, "preforkd: socket: %s\n", strerror(errno));
		return -1;
	}
	fill_sockaddr(a->path, &sun);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	err = errno;
	if (rc == 0 || err == EAGAIN) {
		report_live_socket(a, fd, rc != 0);
		close(fd);
		return -1;
	}
	close(fd);
	if (err != ECONNREFUSED) {
		fprintf(stderr, "preforkd: cannot check admin socket %s: %s\n", a->path,
		        strerror(err));
		return -1;
	}
	if (st.st_uid != geteuid() || st.st_nlink != 1) {
		fprintf(stderr,
		        "preforkd: stale admin socket %s is owned by uid %ld (%ld links); not "
		        "removing it\n",
		        a->path, (long)st.st_uid, (long)st.st_nlink);
		return -1;
	}
	if (unlink(a->path) < 0 && errno != ENOENT) {
		fprintf(stderr, "preforkd: cannot remove stale admin socket %s: %s\n", a->path,
		        strerror(errno));
		return -1;
	}
	log_info("removed stale admin socket %s", a->path);
	return 0;
}

static int fail_bind(struct admin *a, int fd, const char *what, int unlink_it)
{
	int err = errno;

	fprintf(stderr, "preforkd: admin socket %s: %s: %s\n", a->path, what, strerror(err));
	if (unlink_it)
		unlink(a->path); /* we made it, in a directory nobody else can change */
	close(fd);
	return -1;
}

/* bind() creates the file with the umask's mode: with 0177 it is 0600 from its
 * first moment, and nothing changes it by path afterwards (a chmod() by path could
 * be redirected to another file through a symlink swapped in meanwhile). */
static int bind_socket(struct admin *a)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int rc;

	if (fd < 0) {
		fprintf(stderr, "preforkd: socket: %s\n", strerror(errno));
		return -1;
	}
	fill_sockaddr(a->path, &sun);
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	umask(old);
	if (rc < 0)
		return fail_bind(a, fd, "bind", 0);
	master_fault_pause("bind");
	if (listen(fd, ADMIN_BACKLOG) < 0)
		return fail_bind(a, fd, "listen", 1);
	if (lstat(a->path, &st) < 0)
		return fail_bind(a, fd, "lstat", 1);
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	a->listen_fd = fd;
	return 0;
}

/* The instance lock beside the socket (PATH.lock): held before the socket file is
 * judged or replaced, so two starters never remove each other's socket. */
static int lock_instance(struct admin *a)
{
	char err[768];

	a->lock_fd = instance_lock_take(a->path, "admin socket", err, sizeof err);
	if (a->lock_fd < 0) {
		fprintf(stderr, "preforkd: %s\n", err);
		return -1;
	}
	return 0;
}

int admin_open(struct admin *a, const struct config *cfg)
{
	memset(a, 0, sizeof *a);
	a->listen_fd = -1;
	a->lock_fd = -1;
	for (int i = 0; i < ADMIN_CLIENTS_MAX; i++)
		a->clients[i].fd = -1;
	if (resolve_path(a, cfg) < 0 || lock_instance(a) < 0)
		return -1;
	if (remove_stale_socket(a) < 0 || bind_socket(a) < 0) {
		close(a->lock_fd);
		a->lock_fd = -1;
		return -1;
	}
	a->open = 1;
	log_info("admin socket %s", a->path);
	return 0;
}

/* ---- polling ---- */

void admin_fill_pollfds(const struct admin *a, struct pollfd *pfd, uint64_t now_ns)
{
	for (int i = 0; i < ADMIN_POLLFDS; i++)
		pfd[i] = (struct pollfd){ .fd = -1, .events = 0, .revents = 0 };
	if (!a->open)
		return;
	/* With every client slot taken, the listener is left out: new connections wait
	 * in the backlog rather than being accepted and dropped. */
	if (a->nclients < ADMIN_CLIENTS_MAX && now_ns >= a->paused_until_ns)
		pfd[0] = (struct pollfd){ .fd = a->listen_fd, .events = POLLIN, .revents = 0 };
	for (int i = 0; i < ADMIN_CLIENTS_MAX; i++) {
		const struct admin_client *c = &a->clients[i];

		/* A client waiting for the master is not polled: it has said all it
		 * may say, and is answered when the master knows the outcome. */
		if (c->fd >= 0 && (c->state == ADMIN_READING || c->state == ADMIN_WRITING))
			pfd[1 + i] = (struct pollfd){
				.fd = c->fd,
				.events = c->state == ADMIN_WRITING ? POLLOUT : POLLIN,
				.revents = 0,
			};
	}
}

/* UINT64_MAX while the client waits for the master: no deadline of its own. */
static uint64_t client_deadline(const struct admin_client *c)
{
	if (c->state == ADMIN_QUEUED || c->state == ADMIN_WAITING)
		return UINT64_MAX;
	return c->state == ADMIN_WRITING && c->end_ns < c->deadline_ns ? c->end_ns
								       : c->deadline_ns;
}

int admin_timeout_ms(const struct admin *a, uint64_t now_ns, int timeout_ms)
{
	uint64_t next = UINT64_MAX, wait;

	if (!a->open)
		return timeout_ms;
	for (int i = 0; i < ADMIN_CLIENTS_MAX; i++)
		if (a->clients[i].fd >= 0 && client_deadline(&a->clients[i]) < next)
			next = client_deadline(&a->clients[i]);
	if (a->paused_until_ns > now_ns && a->paused_until_ns < next)
		next = a->paused_until_ns;
	if (next == UINT64_MAX)
		return timeout_ms;
	wait = next <= now_ns ? 0 : (next - now_ns + NS_PER_MS - 1) / NS_PER_MS;
	return timeout_ms < 0 || wait < (uint64_t)timeout_ms ? (int)wait : timeout_ms;
}

/* ---- one client ---- */

static const char reply_oom[] = "error: out of memory\n";

/* Takes the framed reply in B (or, when building it failed, the static one) and
 * starts sending it: from now on the deadlines are the reader's progress and the
 * whole reply's. */
static void set_reply(struct admin_client *c, struct strbuf *b, uint64_t now)
{
	if (b->failed || !b->data) {
		strbuf_free(b);
		c->out = NULL;
		c->out_len = sizeof reply_oom - 1;
	} else {
		c->out = b->data;
		c->out_len = b->len;
	}
	c->out_off = 0;
	c->state = ADMIN_WRITING;
	c->deadline_ns = now + ADMIN_PROGRESS_NS;
	c->end_ns = now + ADMIN_REPLY_NS;
}

static const char *reply_data(const struct admin_client *c)
{
	return c->out ? c->out : reply_oom;
}

/* A success: the body in B, built whole, goes out after its "ok LEN" header. */
static void reply_ok(struct admin_client *c, struct strbuf *b, uint64_t now)
{
	admin_frame_ok(b);
	set_reply(c, b, now);
}

static void reply_error(struct admin_client *c, uint64_t now, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reply_error(struct admin_client *c, uint64_t now, const char *fmt, ...)
{
	struct strbuf b = { 0 };
	char msg[ADMIN_COMMAND_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	admin_frame_error(&b, "%s", msg);
	set_reply(c, &b, now);
}

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

static void finish_client(struct admin *a, struct admin_client *c)
{
	drain_input(c->fd);
	close(c->fd); /* a Unix socket's close() has nothing to retry */
	free(c->out);
	memset(c, 0, sizeof *c);
	c->fd = -1;
	a->nclients--;
}

/* Sends what the socket takes, ADMIN_SEND_CHUNK bytes per send(): the kernel frees a
 * chunk's memory only once the reader has taken all of it, so small chunks let a
 * slow reader's progress show as room for the next one. Any byte taken moves the
 * progress deadline on (never past the whole reply's). */
static void write_reply(struct admin *a, struct admin_client *c, uint64_t now)
{
	const char *data = reply_data(c);
	size_t before = c->out_off;

	while (c->out_off < c->out_len) {
		size_t len = c->out_len - c->out_off;
		ssize_t n;

		if (len > ADMIN_SEND_CHUNK)
			len = ADMIN_SEND_CHUNK;
		n = send(c->fd, data + c->out_off, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (c->out_off > before)
				c->deadline_ns = now + ADMIN_PROGRESS_NS;
			return;
		}
		if (n < 0)
			break; /* the peer left: nobody to tell */
		c->out_off += (size_t)n;
	}
	finish_client(a, c);
}

/* ---- commands ---- */

typedef void run_fn(struct admin *a, struct admin_client *c, const struct master *m,
		    uint64_t now);

static void run_status(struct admin *a, struct admin_client *c, const struct master *m,
		       uint64_t now)
{
	struct strbuf b = { 0 };

	(void)a;
	stats_render_status(&b, m, now);
	reply_ok(c, &b, now);
}

static void run_workers(struct admin *a, struct admin_client *c, const struct master *m,
			uint64_t now)
{
	struct strbuf b = { 0 };

	(void)a;
	stats_render_workers(&b, m, now);
	reply_ok(c, &b, now);
}

static void run_stats(struct admin *a, struct admin_client *c, const struct master *m,
		      uint64_t now)
{
	static const enum stats_format formats[] = {
		[ADMIN_FORMAT_TEXT] = STATS_TEXT,
		[ADMIN_FORMAT_JSON] = STATS_JSON,
		[ADMIN_FORMAT_PROMETHEUS] = STATS_PROMETHEUS,
	};
	struct strbuf b = { 0 };

	(void)a;
	stats_render(&b, m, formats[c->req.format], now);
	reply_ok(c, &b, now);
}

static void run_help(struct admin *a, struct admin_client *c, const struct master *m,
		     uint64_t now)
{
	struct strbuf b = { 0 };

	(void)a;
	(void)m;
	strbuf_printf(&b, "commands (one per connection):\n");
	admin_help(&b);
	reply_ok(c, &b, now);
}

/* A command that changes the server is never carried out here: it waits, with the
 * client, for the master to take it (admin_next_request), apply it as a step of its
 * own loop and answer (admin_reply_ok/error), now or turns later. */
static void queue_request(struct admin *a, struct admin_client *c, const struct master *m,
			  uint64_t now)
{
	(void)m;
	(void)now;
	c->state = ADMIN_QUEUED;
	c->token = ++a->last_token;
}

/* The server's half of the command table (common/admin_proto.c). */
static run_fn *const handlers[ADMIN_CMD_COUNT] = {
	[ADMIN_CMD_STATUS] = run_status, [ADMIN_CMD_STATS] = run_stats,
	[ADMIN_CMD_WORKERS] = run_workers, [ADMIN_CMD_SCALE] = queue_request,
	[ADMIN_CMD_RELOAD] = queue_request, [ADMIN_CMD_STOP] = queue_request,
	[ADMIN_CMD_HELP] = run_help,
};

/* Who asked for what: a command that changes the server is logged at info, one that
 * only looks at debug. */
static void log_request(const struct admin_client *c)
{
	char what[64];

	admin_describe(&c->req, what, sizeof what);
	log_msg(admin_commands[c->req.cmd].changes_state ? LOG_INFO : LOG_DEBUG,
		"admin: '%s' from uid %u pid %ld", what, (unsigned)c->uid, (long)c->pid);
}

/* Takes the line in c->in (LEN bytes, no newline): starts the reply, or queues the
 * request. */
static void run_command(struct admin *a, struct admin_client *c, const struct master *m,
			size_t len, uint64_t now)
{
	char err[256];

	if (admin_parse(c->in, len, &c->req, err, sizeof err) < 0) {
		reply_error(c, now, "%s", err);
		return;
	}
	log_request(c);
	handlers[c->req.cmd](a, c, m, now);
}

/* ---- requests: the master's side ---- */

static struct admin_client *find_token(struct admin *a, uint64_t token, enum admin_state state)
{
	for (int i = 0; i < ADMIN_CLIENTS_MAX; i++)
		if (a->clients[i].fd >= 0 && a->clients[i].state == state &&
		    a->clients[i].token == token)
			return &a->clients[i];
	return NULL;
}

int admin_next_request(struct admin *a, struct admin_pending *p)
{
	struct admin_client *first = NULL;

	if (!a->open)
		return 0;
	for (int i = 0; i < ADMIN_CLIENTS_MAX; i++) {
		struct admin_client *c = &a->clients[i];

		if (c->fd >= 0 && c->state == ADMIN_QUEUED && (!first || c->token < first->token))
			first = c;
	}
	if (!first)
		return 0;
	first->state = ADMIN_WAITING;
	*p = (struct admin_pending){
		.req = first->req, .token = first->token, .uid = first->uid, .pid = first->pid
	};
	return 1;
}

/* Both answers: the reply is built whole, framed, and its sending starts now. */
static int answer(struct admin *a, uint64_t token, int ok, const char *fmt, va_list ap)
{
	struct admin_client *c = find_token(a, token, ADMIN_WAITING);
	uint64_t now = clock_now_ns();
	struct strbuf b = { 0 };
	char msg[ADMIN_COMMAND_MAX];

	if (!c) {
		log_debug("admin: request %llu has nobody waiting for its answer",
			  (unsigned long long)token);
		return -1;
	}
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (ok) {
		strbuf_printf(&b, "%s\n", msg);
		admin_frame_ok(&b);
	} else {
		admin_frame_error(&b, "%s", msg);
	}
	set_reply(c, &b, now);
	c->answers_request = 1;
	write_reply(a, c, now);
	return 0;
}

int admin_reply_ok(struct admin *a, uint64_t token, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = answer(a, token, 1, fmt, ap);
	va_end(ap);
	return rc;
}

int admin_reply_error(struct admin *a, uint64_t token, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = answer(a, token, 0, fmt, ap);
	va_end(ap);
	return rc;
}

int admin_answering(const struct admin *a)
{
	for (int i = 0; a->open && i < ADMIN_CLIENTS_MAX; i++)
		if (a->clients[i].fd >= 0 && a->clients[i].state == ADMIN_WRITING &&
		    a->clients[i].answers_request)
			return 1;
	return 0;
}

/* ---- reading ---- */

/* Returns 1 once a reply is ready, 0 to wait for more, -1 when the peer is gone. */
static int read_command(struct admin *a, struct admin_client *c, const struct master *m,
			uint64_t now)
{
	for (;;) {
		size_t room = sizeof c->in - c->in_len;
		ssize_t n;
		char *nl;

		if (room == 0) {
			reply_error(c, now, "command too long (at most %d bytes with its newline)",
				    ADMIN_COMMAND_MAX);
			return 1;
		}
		n = read(c->fd, c->in + c->in_len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		nl = memchr(c->in + c->in_len, '\n', (size_t)n);
		c->in_len += (size_t)n;
		if (nl || n == 0) {
			run_command(a, c, m, nl ? (size_t)(nl - c->in) : c->in_len, now);
			return 1;
		}
	}
}

static void serve_client(struct admin *a, struct admin_client *c, const struct master *m,
			 uint64_t now)
{
	int rc;

	if (c->state == ADMIN_WRITING) {
		write_reply(a, c, now);
		return;
	}
	rc = read_command(a, c, m, now);
	if (rc < 0)
		finish_client(a, c);
	else if (rc > 0 && c->state == ADMIN_WRITING)
		write_reply(a, c, now);
}

/* A client that did not send its line in time is told so and closed. One that is
 * being answered is given one more send first: POLLOUT comes only once a quarter of
 * the socket's buffer is free, so a slow reader's progress may show only as room
 * for one more chunk. Without it, or past the whole reply's deadline, the reply is
 * cut off: the reader sees fewer bytes than the header announced. */
static void expire_client(struct admin *a, struct admin_client *c, uint64_t now)
{
	static const char msg[] = "error: timed out\n";
	size_t off = c->out_off;

	if (c->state == ADMIN_READING) {
		log_debug("admin: client uid %u pid %ld timed out", (unsigned)c->uid, (long)c->pid);
		if (send(c->fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("admin: timeout reply: %s", strerror(errno));
		finish_client(a, c);
		return;
	}
	if (now < c->end_ns) {
		write_reply(a, c, now);
		if (c->fd < 0 || c->out_off > off)
			return;
	}
	if (now < c->end_ns)
		log_info("admin: cut off the reply to uid %u pid %ld after %zu of %zu bytes: "
			 "the reader took nothing for %d s",
			 (unsigned)c->uid, (long)c->pid, c->out_off, c->out_len,
			 ADMIN_PROGRESS_MS / 1000);
	else
		log_info("admin: cut off the reply to uid %u pid %ld after %zu of %zu bytes: "
			 "not taken whole within %d s",
			 (unsigned)c->uid, (long)c->pid, c->out_off, c->out_len,
			 ADMIN_REPLY_MS / 1000);
	finish_client(a, c);
}

/* ---- accepting ---- */

static int check_peer(struct admin_client *c)
{
	struct ucred cred;
	socklen_t len = sizeof cred;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_error("admin: getsockopt SO_PEERCRED: %s", strerror(errno));
		return -1;
	}
	c->uid = cred.uid;
	c->pid = cred.pid;
	if (cred.uid == 0 || cred.uid == geteuid())
		return 0;
	log_warn("admin: refused a client with uid %u (pid %ld): permission denied",
		 (unsigned)cred.uid, (long)cred.pid);
	return -1;
}

static void start_client(struct admin *a, const struct master *m, int fd, uint64_t now)
{
	struct admin_client *c = NULL;

	for (int i = 0; i < ADMIN_CLIENTS_MAX && !c; i++)
		if (a->clients[i].fd < 0)
			c = &a->clients[i];
	if (!c) { /* cannot happen: the listener is polled only with a slot free */
		close(fd);
		return;
	}
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->deadline_ns = now + ADMIN_REQUEST_NS;
	a->nclients++;
	if (check_peer(c) < 0) {
		reply_error(c, now, "permission denied");
		write_reply(a, c, now);
		return;
	}
	/* Most clients send their command with the connect: try it now. */
	serve_client(a, c, m, now);
}

static void pause_accepting(struct admin *a, int err, uint64_t now)
{
	if (now - a->pause_logged_ns >= 10 * NS_PER_SEC || a->pause_logged_ns == 0) {
		log_error("admin: accept4: %s; pausing (logged at most every 10 s)", strerror(err));
		a->pause_logged_ns = now;
	}
	a->paused_until_ns = now + ACCEPT_PAUSE_NS;
}

/* At most ADMIN_CLIENTS_MAX accepts per loop turn: a client that connects as fast
 * as it can (most are served and gone within their turn, so the slots never fill)
 * must not keep the master here; the rest wait in the backlog until the next turn,
 * after signals, reaping and timers. */
static void accept_clients(struct admin *a, const struct master *m, uint64_t now)
{
	for (int turn = 0; turn < ADMIN_CLIENTS_MAX && a->nclients < ADMIN_CLIENTS_MAX; turn++) {
		int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd >= 0) {
			start_client(a, m, fd, now);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			pause_accepting(a, errno, now); /* EMFILE and kin: never a busy loop */
		return;
	}
}

void admin_serve(struct admin *a, const struct master *m, const struct pollfd *pfd,
		 uint64_t now_ns)
{
	if (!a->open)
		return;
	for (int i = 0; i < ADMIN_CLIENTS_MAX; i++) {
		struct admin_client *c = &a->clients[i];

		if (c->fd >= 0 && pfd[1 + i].fd == c->fd && pfd[1 + i].revents)
			serve_client(a, c, m, now_ns);
		if (c->fd >= 0 && now_ns >= client_deadline(c))
			expire_client(a, c, now_ns);
	}
	if (pfd[0].fd >= 0 && (pfd[0].revents & POLLIN))
		accept_clients(a, m, now_ns);
}

/* ---- closing ---- */

int admin_fds(const struct admin *a, int *fds)
{
	int n = 0;

	if (!a->open)
		return 0;
	fds[n++] = a->listen_fd;
	if (a->lock_fd >= 0)
		fds[n++] = a->lock_fd;
	for (int i = 0; i < ADMIN_CLIENTS_MAX; i++)
		if (a->clients[i].fd >= 0)
			fds[n++] = a->clients[i].fd;
	return n;
}

/* The socket file is unlinked only if it is still the one we made (same inode, a
 * socket of our euid, one link); then the instance lock is released, never before:
 * until then no other starter may judge the path. The lock file itself stays. */
void admin_close(struct admin *a)
{
	struct stat st;

	if (!a->open)
		return;
	for (int i = 0; i < ADMIN_CLIENTS_MAX; i++) {
		if (a->clients[i].fd < 0)
			continue;
		close(a->clients[i].fd);
		free(a->clients[i].out);
		a->clients[i].fd = -1;
	}
	close(a->listen_fd);
	if (lstat(a->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == a->dev &&
	    st.st_ino == a->ino && st.st_uid == geteuid() && st.st_nlink == 1 &&
	    unlink(a->path) < 0)
		log_warn("cannot remove admin socket %s: %s", a->path, strerror(errno));
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	a->lock_fd = -1;
	a->open = 0;
}
