/* The admin socket, served from the master's loop: accept, check the peer's
 * credentials, read one bounded command line, build the whole reply, write it
 * without blocking, close. Each client has a 1 s deadline and at most
 * ADMIN_CLIENTS_MAX are served at once; the rest wait in the kernel's backlog. */
#include "admin.h"

#include "admin_path.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "instance_lock.h"
#include "master.h"
#include "master_fault.h"
#include "parse.h"
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
#define ADMIN_DEADLINE_NS ((uint64_t)ADMIN_DEADLINE_MS * NS_PER_MS)
#define ACCEPT_PAUSE_NS (100 * NS_PER_MS)
#define ARGS_MAX 4

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
		(void)unlink(a->path); /* we made it, in a directory nobody else can change */
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

		if (c->fd >= 0)
			pfd[1 + i] = (struct pollfd){ .fd = c->fd,
				                      .events = c->writing ? POLLOUT : POLLIN,
				                      .revents = 0 };
	}
}

int admin_timeout_ms(const struct admin *a, uint64_t now_ns, int timeout_ms)
{
	uint64_t next = UINT64_MAX, wait;

	if (!a->open)
		return timeout_ms;
	for (int i = 0; i < ADMIN_CLIENTS_MAX; i++)
		if (a->clients[i].fd >= 0 && a->clients[i].deadline_ns < next)
			next = a->clients[i].deadline_ns;
	if (a->paused_until_ns > now_ns && a->paused_until_ns < next)
		next = a->paused_until_ns;
	if (next == UINT64_MAX)
		return timeout_ms;
	wait = next <= now_ns ? 0 : (next - now_ns + NS_PER_MS - 1) / NS_PER_MS;
	return timeout_ms < 0 || wait < (uint64_t)timeout_ms ? (int)wait : timeout_ms;
}

/* ---- one client ---- */

static const char reply_oom[] = "error: out of memory\n";

static void set_reply(struct admin_client *c, struct strbuf *b)
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
	c->writing = 1;
}

static const char *reply_data(const struct admin_client *c)
{
	return c->out ? c->out : reply_oom;
}

static void reply_printf(struct admin_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reply_printf(struct admin_client *c, const char *fmt, ...)
{
	struct strbuf b = { 0 };
	char line[ADMIN_COMMAND_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	strbuf_append(&b, line, strlen(line));
	set_reply(c, &b);
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

static void finish_client(struct admin *a, struct admin_client *c, struct master *m)
{
	enum admin_then then = c->then;

	drain_input(c->fd);
	close(c->fd); /* a Unix socket's close() has nothing to retry */
	free(c->out);
	memset(c, 0, sizeof *c);
	c->fd = -1;
	a->nclients--;
	/* `stop` acts only once its reply is out, so the client hears it before the
	 * server goes away. */
	if (then == ADMIN_THEN_STOP)
		master_stop(m, 0, "admin stop");
}

static void write_reply(struct admin *a, struct admin_client *c, struct master *m)
{
	const char *data = reply_data(c);

	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, data + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0)
			break; /* the peer left: nobody to tell */
		c->out_off += (size_t)n;
	}
	finish_client(a, c, m);
}

/* ---- commands ---- */

struct command {
	const char *name;
	const char *args;
	const char *summary;
	int min_args, max_args;
	int changes; /* changes the server: logged at info (who looked is only debug) */
	void (*run)(struct admin_client *c, struct master *m, char **argv, uint64_t now);
};

static void run_status(struct admin_client *c, struct master *m, char **argv, uint64_t now)
{
	struct strbuf b = { 0 };

	(void)argv;
	stats_render_status(&b, &m->pool, now);
	set_reply(c, &b);
}

static void run_workers(struct admin_client *c, struct master *m, char **argv, uint64_t now)
{
	struct strbuf b = { 0 };

	(void)argv;
	stats_render_workers(&b, &m->pool, now);
	set_reply(c, &b);
}

static void quote_word(const char *s, char *buf, size_t len);

/* An argument echoed in an error reply: printable and bounded, never the raw bytes
 * (a terminal escape sent by one client must not reach whoever reads the reply). */
static void reply_bad_arg(struct admin_client *c, const char *what, const char *arg)
{
	char quoted[64];

	quote_word(arg, quoted, sizeof quoted);
	reply_printf(c, "error: %s, got '%s'\n", what, quoted);
}

static void reply_stats(struct admin_client *c, struct master *m, enum stats_format f, uint64_t now)
{
	struct strbuf b = { 0 };

	stats_render(&b, &m->pool, f, now);
	set_reply(c, &b);
}

static void run_stats(struct admin_client *c, struct master *m, char **argv, uint64_t now)
{
	if (!argv[1])
		reply_stats(c, m, STATS_TEXT, now);
	else if (strcmp(argv[1], "json") == 0)
		reply_stats(c, m, STATS_JSON, now);
	else if (strcmp(argv[1], "prometheus") == 0)
		reply_stats(c, m, STATS_PROMETHEUS, now);
	else
		reply_bad_arg(c, "stats: expected 'json' or 'prometheus'", argv[1]);
}

static void run_scale(struct admin_client *c, struct master *m, char **argv, uint64_t now)
{
	long from = m->pool.target, to;
	char err[256];

	(void)now;
	if (parse_long("scale", argv[1], 1, WORKERS_MAX, &to, err, sizeof err) < 0) {
		snprintf(err, sizeof err, "scale: expected an integer 1..%d", WORKERS_MAX);
		reply_bad_arg(c, err, argv[1]);
		return;
	}
	if (master_scale(m, to, err, sizeof err) < 0) {
		reply_printf(c, "error: %s\n", err);
		return;
	}
	reply_printf(c, "ok: scaling from %ld to %ld workers\n", from, to);
}

static void run_reload(struct admin_client *c, struct master *m, char **argv, uint64_t now)
{
	char msg[1024];

	(void)argv;
	(void)now;
	if (m->pool.stopping) {
		reply_printf(c, "error: server is stopping\n");
		return;
	}
	if (master_reload(m, "admin reload", msg, sizeof msg) < 0) {
		reply_printf(c, "error: reload refused, nothing changed: %s\n", msg);
		return;
	}
	reply_printf(c, "ok: reloading: rolling restart to generation %u%s\n", m->pool.generation, msg);
}

static void run_stop(struct admin_client *c, struct master *m, char **argv, uint64_t now)
{
	(void)m;
	(void)argv;
	(void)now;
	c->then = ADMIN_THEN_STOP;
	reply_printf(c, "ok: stopping preforkd (pid %ld)\n", (long)getpid());
}

static void run_help(struct admin_client *c, struct master *m, char **argv, uint64_t now);

static const struct command commands[] = {
	{ "status", "", "summary: pool, totals, latency and the worker table", 0, 0, 0,
	  run_status },
	{ "stats", "[json|prometheus]",
	  "every statistic: key: value lines, JSON or Prometheus text", 0, 1, 0, run_stats },
	{ "workers", "", "the per-worker table", 0, 0, 0, run_workers },
	{ "scale", "N", "set the number of workers (1..1024), as SIGTTIN/SIGTTOU do", 1, 1, 1,
	  run_scale },
	{ "reload", "", "re-read the --config file, then a rolling restart, as SIGHUP", 0, 0,
	  1, run_reload },
	{ "stop", "", "graceful stop, as SIGTERM; the reply comes first", 0, 0, 1, run_stop },
	{ "help", "", "this list", 0, 0, 0, run_help },
};

static void run_help(struct admin_client *c, struct master *m, char **argv, uint64_t now)
{
	struct strbuf b = { 0 };

	(void)m;
	(void)argv;
	(void)now;
	strbuf_printf(&b, "commands (one per connection):\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		char usage[40];

		snprintf(usage, sizeof usage, "%s %s", commands[i].name, commands[i].args);
		strbuf_printf(&b, "  %-26s %s\n", usage, commands[i].summary);
	}
	set_reply(c, &b);
}

/* A command word as it may appear in a reply: printable, bounded. */
static void quote_word(const char *s, char *buf, size_t len)
{
	size_t i = 0, max = len - 4; /* room for "..." and the NUL */

	for (; *s && i < max; s++)
		buf[i++] = (char)(*s >= 0x20 && *s < 0x7f ? *s : '?');
	if (*s) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
}

static int split_words(char *line, char **argv)
{
	int argc = 0;

	for (char *save = NULL, *w = strtok_r(line, " \t\r", &save); w;
	     w = strtok_r(NULL, " \t\r", &save)) {
		if (argc == ARGS_MAX)
			return -1;
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	return argc;
}

static void run_command(struct admin_client *c, struct master *m, char *line, uint64_t now)
{
	char *argv[ARGS_MAX + 1], word[64], arg[64] = "";
	int argc = split_words(line, argv);

	if (argc == 0) {
		reply_printf(c, "error: empty command (try 'help')\n");
		return;
	}
	quote_word(argv[0], word, sizeof word);
	if (argc < 0) {
		reply_printf(c, "error: %s: too many arguments\n", word);
		return;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		const struct command *cmd = &commands[i];

		if (strcmp(argv[0], cmd->name) != 0)
			continue;
		if (argc - 1 < cmd->min_args || argc - 1 > cmd->max_args) {
			reply_printf(c, "error: %s: usage: %s%s%s\n", cmd->name, cmd->name,
			             *cmd->args ? " " : "", cmd->args);
			return;
		}
		if (argc > 1)
			quote_word(argv[1], arg, sizeof arg);
		log_msg(cmd->changes ? LOG_INFO : LOG_DEBUG, "admin: '%s%s%s' from uid %u pid %ld",
		        cmd->name, argc > 1 ? " " : "", arg, (unsigned)c->uid, (long)c->pid);
		cmd->run(c, m, argv, now);
		return;
	}
	reply_printf(c, "error: unknown command '%s' (try 'help')\n", word);
}

/* ---- reading ---- */

/* Takes the line in c->in (NUL-terminated, no newline) and starts the reply. */
static void take_line(struct admin_client *c, struct master *m, size_t len, uint64_t now)
{
	if (memchr(c->in, '\0', len)) {
		reply_printf(c, "error: command contains a NUL byte\n");
		return;
	}
	run_command(c, m, c->in, now);
}

/* Returns 1 once a reply is ready, 0 to wait for more, -1 when the peer is gone. */
static int read_command(struct admin_client *c, struct master *m, uint64_t now)
{
	for (;;) {
		size_t room = sizeof c->in - c->in_len;
		ssize_t n;
		char *nl;

		if (room == 0) {
			reply_printf(
				c, "error: command too long (at most %d bytes with its newline)\n",
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
			size_t len = nl ? (size_t)(nl - c->in) : c->in_len;

			c->in[len] = '\0'; /* len < sizeof c->in: room was left above */
			take_line(c, m, len, now);
			return 1;
		}
	}
}

static void serve_client(struct admin *a, struct admin_client *c, struct master *m, uint64_t now)
{
	int rc;

	if (c->writing) {
		write_reply(a, c, m);
		return;
	}
	rc = read_command(c, m, now);
	if (rc < 0)
		finish_client(a, c, m);
	else if (rc > 0)
		write_reply(a, c, m);
}

/* A client that said nothing, or does not read its reply, is cut off at its
 * deadline; a pending `stop` still happens. */
static void expire_client(struct admin *a, struct admin_client *c, struct master *m)
{
	static const char msg[] = "error: timed out\n";

	log_debug("admin: client uid %u pid %ld timed out", (unsigned)c->uid, (long)c->pid);
	if (!c->writing && send(c->fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("admin: timeout reply: %s", strerror(errno));
	finish_client(a, c, m);
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

static void start_client(struct admin *a, struct master *m, int fd, uint64_t now)
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
	c->deadline_ns = now + ADMIN_DEADLINE_NS;
	a->nclients++;
	if (check_peer(c) < 0) {
		reply_printf(c, "error: permission denied\n");
		write_reply(a, c, m);
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
static void accept_clients(struct admin *a, struct master *m, uint64_t now)
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

void admin_serve(struct admin *a, struct master *m, const struct pollfd *pfd, uint64_t now_ns)
{
	if (!a->open)
		return;
	for (int i = 0; i < ADMIN_CLIENTS_MAX; i++) {
		struct admin_client *c = &a->clients[i];

		if (c->fd >= 0 && pfd[1 + i].fd == c->fd && pfd[1 + i].revents)
			serve_client(a, c, m, now_ns);
		if (c->fd >= 0 && now_ns >= c->deadline_ns)
			expire_client(a, c, m);
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
