/* The admin socket: opening it safely, and serving it as a user of the endpoint
 * module, which accepts, reads, writes and keeps every client within the deadlines
 * of admin_proto.h. Here: check the peer's credentials, parse one command line,
 * build the whole reply and frame it, or queue the request for the master.
 *
 * May call: endpoint, stats (to render what a client asks to see, from the pool view
 * the master exports), the common protocol, log, safe_path, instance_lock, unix_listen (the
 * stale-socket rules). Never calls into
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
#include "unix_listen.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define ADMIN_BACKLOG 128

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59 /* Linux 4.13; older C libraries do not name it */
#endif

_Static_assert(ADMIN_CLIENTS_MAX == ENDPOINT_CLIENTS_MAX, "the protocol's client limit");
_Static_assert(ADMIN_COMMAND_MAX <= ENDPOINT_REQUEST_MAX, "a command line fits a request");

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

/* A connect() that succeeds (or finds the backlog full) means a live server, whose
 * owner is named; ECONNREFUSED means the file was left by a dead one, and it is
 * removed only if it is ours: a socket of our euid with one link. Anything else is
 * not ours to remove. The rules are unix_listen's, shared with unix: listeners. */
static int remove_stale_socket(const struct admin *a)
{
	char err[sizeof a->path + 256];

	if (unix_listen_remove_stale("admin socket", a->path, err, sizeof err) < 0) {
		fprintf(stderr, "preforkd: %s\n", err);
		return -1;
	}
	return 0;
}

static int fail_bind(struct admin *a, int fd, const char *what, int unlink_it)
{
	int err = errno;

	fprintf(stderr, "preforkd: admin socket %s: %s: %s\n", a->path, what, strerror(err));
	if (unlink_it)
		/* We made it, in a directory nobody else can change. Best effort: the bind
		 * error is the one to report, and a leftover is ours, removed as stale at
		 * the next start. */
		(void)unlink(a->path);
	close(fd);
	return -1;
}

int admin_group_resolve(const char *name, gid_t *gid, char *err, size_t errlen)
{
	const struct group *gr;
	char *end;
	unsigned long n;

	errno = 0;
	gr = getgrnam(name);
	if (!gr && name[0] >= '0' && name[0] <= '9') {
		n = strtoul(name, &end, 10);
		if (*end == '\0' && n == (gid_t)n)
			gr = getgrgid((gid_t)n);
	}
	if (!gr) {
		snprintf(err, errlen, "--admin-group: no such group '%s'%s%s", name,
		         errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	*gid = gr->gr_gid;
	return 0;
}

/* What bind() made must be what we asked for, before anyone may connect: a socket
 * of ours, of the mode the umask gave (a default ACL on the directory would have
 * overridden it) and, with --admin-group, of that group. SWITCHED: our fsgid was
 * the group during bind(). Returns 0; -1 for our socket made wrong; -2 for a file
 * that is not ours to remove. */
static int check_made(const struct admin *a, const struct stat *st, int switched)
{
	mode_t want = a->group_set ? 0660 : 0600;

	if (!S_ISSOCK(st->st_mode) || st->st_uid != geteuid()) {
		fprintf(stderr, "preforkd: admin socket %s: not the socket just made\n", a->path);
		return -2;
	}
	if (a->group_set && st->st_gid != a->group && switched) {
		fprintf(stderr,
		        "preforkd: admin socket %s: made with gid %ld, not --admin-group %s "
		        "(gid %ld): its directory is set-group-ID\n",
		        a->path, (long)st->st_gid, a->group_name, (long)a->group);
		return -1;
	}
	if (a->group_set && st->st_gid != a->group) {
		fprintf(stderr,
		        "preforkd: --admin-group %s: cannot make the admin socket with gid %ld "
		        "as uid %ld gid %ld: start preforkd as root (or with CAP_SETGID), with "
		        "that group as its own (sg %s), or put the socket in a set-group-ID "
		        "directory of that group\n",
		        a->group_name, (long)a->group, (long)geteuid(), (long)getegid(),
		        a->group_name);
		return -1;
	}
	if ((st->st_mode & 07777) != want) {
		fprintf(stderr,
		        "preforkd: admin socket %s: made with mode %04o, not %04o (a default "
		        "ACL on its directory?)\n",
		        a->path, (unsigned)(st->st_mode & 07777), (unsigned)want);
		return -1;
	}
	return 0;
}

/* bind() creates the file: its mode is the umask's, so with 0177 it is 0600 from its
 * first moment (0117: 0660 with --admin-group), and its group is the creator's
 * filesystem gid. So with --admin-group the master's fsgid is that group for the
 * bind() alone (setfsgid: it changes nothing but the ids files are made and checked
 * with, and needs CAP_SETGID, which the master has for the workers' drop, unless the
 * group is its own). Nothing changes the file by path afterwards: a chmod() or
 * chown() by path could be redirected to another file through a symlink swapped in
 * meanwhile, and giving a file to a group root is not in takes CAP_CHOWN, which the
 * unit does not grant. What was made is checked before listen(). Returns the
 * listening fd. */
static int bind_socket(struct admin *a)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	gid_t fsgid = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int rc, err, made, switched = 0;

	if (fd < 0) {
		fprintf(stderr, "preforkd: socket: %s\n", strerror(errno));
		return -1;
	}
	fill_sockaddr(a->path, &sun);
	old = umask(a->group_set ? 0117 : 0177);
	if (a->group_set) {
		/* setfsgid() returns the previous fsgid whether or not it changed it: ask
		 * again (with an invalid id, which changes nothing) to know. */
		fsgid = (gid_t)setfsgid(a->group);
		switched = (gid_t)setfsgid((gid_t)-1) == a->group;
	}
	rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	err = errno;
	if (a->group_set)
		(void)setfsgid(fsgid); /* back to what it was: always allowed */
	umask(old);
	errno = err;
	if (rc < 0)
		return fail_bind(a, fd, "bind", 0);
	if (lstat(a->path, &st) < 0)
		return fail_bind(a, fd, "lstat", 1);
	made = check_made(a, &st, switched);
	if (made < 0) {
		if (made == -1)
			(void)unlink(a->path); /* ours, in a directory nobody else can change */
		close(fd);
		return -1;
	}
	master_fault_pause("bind");
	if (listen(fd, ADMIN_BACKLOG) < 0)
		return fail_bind(a, fd, "listen", 1);
	if (lstat(a->path, &st) < 0)
		return fail_bind(a, fd, "lstat", 1);
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	return fd;
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

/* A binary upgrade hands over the listening socket and the instance lock (the same
 * open file description, so the flock() is already ours): no stale or live check,
 * the socket is this instance's. It must still be a listening Unix stream socket
 * and the path a socket file of ours, which is what is unlinked at exit. */
static int adopt_socket(struct admin *a, int fd, int lock_fd)
{
	struct stat st;
	int type = 0, listening = 0;
	socklen_t len = sizeof type;
	int fl;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
	               &(socklen_t){ sizeof listening }) < 0 ||
	    !listening) {
		fprintf(stderr, "preforkd: the inherited admin socket is not a listening stream "
		                "socket\n");
		return -1;
	}
	if (lstat(a->path, &st) < 0 || !S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
		fprintf(stderr, "preforkd: admin socket %s: not the socket handed over\n", a->path);
		return -1;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		fprintf(stderr, "preforkd: admin socket: O_NONBLOCK: %s\n", strerror(errno));
		return -1;
	}
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	a->lock_fd = lock_fd;
	/* Until the old master has let go (admin_own_file), a new master that fails or
	 * is rolled back leaves the file to it. */
	a->handed_over = 1;
	return 0;
}

/* ---- serving: the endpoint's user ---- */

static const char reply_oom[] = "error: out of memory\n";

/* What endpoint_serve passes to the ops: the master is only read. */
struct admin_turn {
	struct admin *a;
	const struct pool *pool;
};

static struct admin_slot *slot_of(struct admin *a, const struct endpoint_client *c)
{
	return &a->slots[c - a->ep.clients];
}

/* A success: the body in B, built whole, goes out after its "ok LEN" header. */
static void reply_ok(struct admin *a, struct endpoint_client *c, struct strbuf *b, uint64_t now)
{
	admin_frame_ok(b);
	endpoint_reply(&a->ep, c, b, reply_oom, now);
}

static void reply_error(struct admin *a, struct endpoint_client *c, uint64_t now, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));

static void reply_error(struct admin *a, struct endpoint_client *c, uint64_t now, const char *fmt,
                        ...)
{
	struct strbuf b = { 0 };
	char msg[ADMIN_COMMAND_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	admin_frame_error(&b, "%s", msg);
	endpoint_reply(&a->ep, c, &b, reply_oom, now);
}

/* Whether the peer was in the --admin-group when it connected: its primary gid
 * (SO_PEERCRED has only that one), else its supplementary groups (SO_PEERGROUPS). */
static int peer_in_group(const struct admin *a, const struct endpoint_client *c)
{
	gid_t some[64], *groups = some;
	socklen_t len = sizeof some;
	int found = 0;

	if (c->gid == a->group)
		return 1;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		/* ERANGE: more groups than fit; len now says how many bytes they take. */
		groups = errno == ERANGE ? malloc(len) : NULL;
		if (!groups || getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
			log_error("admin: getsockopt SO_PEERGROUPS for %s: %s; judged by its "
			          "primary group only",
			          c->peer, groups ? strerror(errno) : "out of memory");
			free(groups);
			return 0;
		}
	}
	for (size_t i = 0; i < len / sizeof *groups && !found; i++)
		found = groups[i] == a->group;
	if (groups != some)
		free(groups);
	return found;
}

/* The server's own uid and root may use every command; with --admin-group, the
 * group's members those that do not change the server; nobody else anything. */
static int accept_client(void *arg, struct endpoint *e, struct endpoint_client *c, uint64_t now)
{
	struct admin *a = ((struct admin_turn *)arg)->a;

	(void)e;
	if (!c->has_cred) {
		log_error("admin: getsockopt SO_PEERCRED: %s", c->peer);
	} else if (c->uid == 0 || c->uid == geteuid()) {
		*slot_of(a, c) = (struct admin_slot){ .token = c->token };
		return 0;
	} else if (a->group_set && peer_in_group(a, c)) {
		*slot_of(a, c) = (struct admin_slot){ .token = c->token, .read_only = 1 };
		return 0;
	} else {
		log_warn("admin: refused a client with uid %u (pid %ld): permission denied",
		         (unsigned)c->uid, (long)c->pid);
	}
	reply_error(a, c, now, "permission denied");
	return -1;
}

/* A command line ends at its newline. */
static long line_length(const char *in, size_t len)
{
	const char *nl = memchr(in, '\n', len);

	return nl ? nl - in : -1;
}

/* ---- commands ---- */

typedef void run_fn(struct admin_turn *t, struct endpoint_client *c, uint64_t now);

static void run_status(struct admin_turn *t, struct endpoint_client *c, uint64_t now)
{
	struct strbuf b = { 0 };

	stats_render_status(&b, t->pool, now);
	reply_ok(t->a, c, &b, now);
}

static void run_workers(struct admin_turn *t, struct endpoint_client *c, uint64_t now)
{
	struct strbuf b = { 0 };

	stats_render_workers(&b, t->pool, now);
	reply_ok(t->a, c, &b, now);
}

static void run_stats(struct admin_turn *t, struct endpoint_client *c, uint64_t now)
{
	static const enum stats_format formats[] = {
		[ADMIN_FORMAT_TEXT] = STATS_TEXT,
		[ADMIN_FORMAT_JSON] = STATS_JSON,
		[ADMIN_FORMAT_PROMETHEUS] = STATS_PROMETHEUS,
	};
	struct strbuf b = { 0 };

	stats_render(&b, t->pool, formats[slot_of(t->a, c)->req.format], now);
	reply_ok(t->a, c, &b, now);
}

static void run_help(struct admin_turn *t, struct endpoint_client *c, uint64_t now)
{
	struct strbuf b = { 0 };

	strbuf_printf(&b, "commands (one per connection):\n");
	admin_help(&b);
	reply_ok(t->a, c, &b, now);
}

/* A command that changes the server is never carried out here: it waits, with the
 * client, for the master to take it (admin_next_request), apply it as a step of its
 * own loop and answer (admin_reply_ok/error), now or turns later. */
static void queue_request(struct admin_turn *t, struct endpoint_client *c, uint64_t now)
{
	(void)now;
	slot_of(t->a, c)->queued = 1;
	endpoint_wait(c);
}

/* The server's half of the command table (common/admin_proto.c). */
static run_fn *const handlers[ADMIN_CMD_COUNT] = {
	[ADMIN_CMD_STATUS] = run_status,     [ADMIN_CMD_STATS] = run_stats,
	[ADMIN_CMD_WORKERS] = run_workers,   [ADMIN_CMD_SCALE] = queue_request,
	[ADMIN_CMD_RELOAD] = queue_request,  [ADMIN_CMD_STOP] = queue_request,
	[ADMIN_CMD_MAINT] = queue_request,   [ADMIN_CMD_HELP] = run_help,
	[ADMIN_CMD_UPGRADE] = queue_request,
};

/* Who asked for what: a command that changes the server is logged at info, one that
 * only looks at debug. */
static void log_request(const struct endpoint_client *c, const struct admin_request *req)
{
	char what[64];

	admin_describe(req, what, sizeof what);
	log_msg(admin_commands[req->cmd].changes_state ? LOG_INFO : LOG_DEBUG,
	        "admin: '%s' from %s", what, c->peer);
}

/* A member of --admin-group asked for a command that changes the server: refused,
 * naming the commands it may use (those the table marks as only looking). */
static void refuse_read_only(struct admin_turn *t, struct endpoint_client *c,
                             const struct admin_request *req, uint64_t now)
{
	const char *name = admin_commands[req->cmd].name;
	char may[256] = "", what[64];
	size_t n = 0, k = 0, looks = 0;

	for (int i = 0; i < ADMIN_CMD_COUNT; i++)
		looks += !admin_commands[i].changes_state;
	for (int i = 0; i < ADMIN_CMD_COUNT && n < sizeof may; i++) {
		if (admin_commands[i].changes_state)
			continue;
		k++;
		n += (size_t)snprintf(may + n, sizeof may - n, "%s%s",
		                      k == 1       ? ""
		                      : k == looks ? " and "
		                                   : ", ",
		                      admin_commands[i].name);
	}
	admin_describe(req, what, sizeof what);
	log_warn("admin: refused '%s' from %s: read-only access (--admin-group %s)", what, c->peer,
	         t->a->group_name);
	reply_error(t->a, c, now,
	            "permission denied: %s changes the server; members of group %s may use %s",
	            name, t->a->group_name, may);
}

/* The line in c->in (LEN bytes): starts the reply, or queues the request. */
static void take_line(void *arg, struct endpoint *e, struct endpoint_client *c,
                      enum endpoint_input how, size_t len, uint64_t now)
{
	struct admin_turn *t = arg;
	struct admin_request *req = &slot_of(t->a, c)->req;
	char err[256];

	(void)e;
	if (how == ENDPOINT_TOO_LONG) {
		reply_error(t->a, c, now, "command too long (at most %d bytes with its newline)",
		            ADMIN_COMMAND_MAX);
		return;
	}
	if (admin_parse(c->in, len, req, err, sizeof err) < 0) {
		reply_error(t->a, c, now, "%s", err);
		return;
	}
	if (slot_of(t->a, c)->read_only && admin_commands[req->cmd].changes_state) {
		refuse_read_only(t, c, req, now);
		return;
	}
	log_request(c, req);
	handlers[req->cmd](t, c, now);
}

static const struct endpoint_ops admin_ops = {
	.name = "admin",
	.accept = accept_client,
	.complete = line_length,
	.request = take_line,
	.timeout_reply = "error: timed out\n",
	.closing_reply = "error: the server stopped before answering\n",
};

int admin_open(struct admin *a, const struct config *cfg, int inherited_fd, int inherited_lock)
{
	static const struct endpoint_limits lim = {
		.request_max = ADMIN_COMMAND_MAX,
		.request_ns = ADMIN_REQUEST_MS * NS_PER_MS,
		.progress_ns = ADMIN_PROGRESS_MS * NS_PER_MS,
		.reply_ns = ADMIN_REPLY_MS * NS_PER_MS,
		.send_chunk = ADMIN_SEND_CHUNK,
	};
	int fd;

	memset(a, 0, sizeof *a);
	a->lock_fd = -1;
	if (cfg->admin_group) {
		char err[512];

		if (admin_group_resolve(cfg->admin_group, &a->group, err, sizeof err) < 0) {
			fprintf(stderr, "preforkd: %s\n", err);
			return -1;
		}
		a->group_set = 1;
		snprintf(a->group_name, sizeof a->group_name, "%s", cfg->admin_group);
	}
	if (inherited_fd >= 0 && inherited_lock >= 0) {
		if (resolve_path(a, cfg) < 0 || adopt_socket(a, inherited_fd, inherited_lock) < 0)
			return -1;
		fd = inherited_fd;
	} else {
		if (resolve_path(a, cfg) < 0 || lock_instance(a) < 0)
			return -1;
		if (remove_stale_socket(a) < 0 || (fd = bind_socket(a)) < 0) {
			close(a->lock_fd);
			a->lock_fd = -1;
			return -1;
		}
	}
	endpoint_init(&a->ep, fd, &admin_ops, &lim);
	a->open = 1;
	a->handed_over = inherited_fd >= 0 && inherited_lock >= 0;
	if (inherited_fd >= 0 && inherited_lock >= 0)
		log_info("admin socket %s (handed over by the old master)", a->path);
	else if (a->group_set)
		log_info("admin socket %s (mode 0660, group %s, gid %ld: read-only for its "
		         "members)",
		         a->path, a->group_name, (long)a->group);
	else
		log_info("admin socket %s", a->path);
	return 0;
}

/* ---- requests: the master's side ---- */

int admin_next_request(struct admin *a, struct admin_pending *p)
{
	struct endpoint_client *first = NULL;

	if (!a->open)
		return 0;
	for (int i = 0; i < ENDPOINT_CLIENTS_MAX; i++) {
		struct endpoint_client *c = &a->ep.clients[i];

		if (c->fd >= 0 && c->state == ENDPOINT_WAITING && a->slots[i].queued &&
		    a->slots[i].token == c->token && (!first || c->token < first->token))
			first = c;
	}
	if (!first)
		return 0;
	slot_of(a, first)->queued = 0;
	*p = (struct admin_pending){
		.req = slot_of(a, first)->req,
		.token = first->token,
		.uid = first->uid,
		.pid = first->pid,
	};
	return 1;
}

/* Both answers: the reply is built whole, framed, and its sending starts now. */
static int answer(struct admin *a, uint64_t token, int ok, const char *fmt, va_list ap)
{
	struct endpoint_client *c = a->open ? endpoint_find(&a->ep, token) : NULL;
	uint64_t now = clock_now_ns();
	struct strbuf b = { 0 };
	char msg[ADMIN_COMMAND_MAX];

	if (!c || slot_of(a, c)->queued) {
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
	c->flush_at_exit = 1;
	endpoint_reply(&a->ep, c, &b, reply_oom, now);
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
	return a->open && endpoint_flushing(&a->ep);
}

/* ---- the loop's calls ---- */

void admin_fill_pollfds(const struct admin *a, struct pollfd *pfd, uint64_t now_ns)
{
	if (a->open) {
		endpoint_fill_pollfds(&a->ep, pfd, now_ns);
		return;
	}
	for (int i = 0; i < ADMIN_POLLFDS; i++)
		pfd[i] = (struct pollfd){ .fd = -1, .events = 0, .revents = 0 };
}

int admin_timeout_ms(const struct admin *a, uint64_t now_ns, int timeout_ms)
{
	return a->open ? endpoint_timeout_ms(&a->ep, now_ns, timeout_ms) : timeout_ms;
}

void admin_serve(struct admin *a, const struct pool *pool, const struct pollfd *pfd,
                 uint64_t now_ns)
{
	struct admin_turn t = { a, pool };

	if (a->open)
		endpoint_serve(&a->ep, pfd, now_ns, &t);
}

/* ---- closing ---- */

int admin_fds(const struct admin *a, int *fds)
{
	int n;

	if (!a->open)
		return 0;
	n = endpoint_fds(&a->ep, fds);
	if (a->lock_fd >= 0)
		fds[n++] = a->lock_fd;
	return n;
}

void admin_hand_over(struct admin *a)
{
	if (!a->open)
		return;
	endpoint_stop_accepting(&a->ep); /* the successor accepts */
	a->handed_over = 1;
}

void admin_own_file(struct admin *a)
{
	a->handed_over = 0;
}

/* The socket file is unlinked only if it is still the one we made (same inode, a
 * socket of our euid, one link); then the instance lock is released, never before:
 * until then no other starter may judge the path. The lock file itself stays. */
void admin_close(struct admin *a)
{
	struct stat st;

	if (!a->open)
		return;
	endpoint_close(&a->ep);
	if (!a->handed_over && lstat(a->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == a->dev && st.st_ino == a->ino && st.st_uid == geteuid() &&
	    st.st_nlink == 1 && unlink(a->path) < 0)
		log_warn("cannot remove admin socket %s: %s", a->path, strerror(errno));
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	a->lock_fd = -1;
	a->open = 0;
}
