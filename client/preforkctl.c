/* preforkctl: the admin status command. Sends one command line to preforkd's admin
 * socket and prints the reply; `top` repeats that every second. Exit codes follow
 * the LSB status convention so scripts and init systems can use them; 150 is in the
 * range LSB leaves to applications (150-199). */
#include "admin_path.h"
#include "admin_proto.h"
#include "clock.h"
#include "conf_file.h"
#include "net.h"
#include "parse.h"
#include "strbuf.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum exit_code {
	EXIT_OK = 0,
	EXIT_ERROR_REPLY = 1,
	EXIT_USAGE = 2,
	EXIT_NOT_RUNNING = 3,
	EXIT_UNKNOWN = 4,   /* LSB "status unknown": could not ask, an untrusted server, a
	                       truncated reply */
	EXIT_FAILING = 150, /* `status`: running, but failing: a crash loop has lasted the
	                       server's --crash-loop-limit */
};

enum format { FORMAT_HUMAN, FORMAT_JSON, FORMAT_PROMETHEUS };

struct ctl {
	const char *socket_path;
	const char *pidfile;
	const char *config; /* --config: admin and pidfile come from the server's file */
	char config_admin[PATH_MAX], config_pidfile[PATH_MAX];
	char path[ADMIN_PATH_MAX];
	enum format format;
	double timeout;
	long count; /* top: refreshes, 0 = until interrupted */
};

struct reply {
	char *data;
	size_t len;
};

static volatile sig_atomic_t interrupted;

/* The commands come from the protocol's table (admin_proto.c), as the server's own
 * `help` does; `top` is preforkctl's. */
static void usage(void)
{
	struct strbuf cmds = { 0 };

	admin_help(&cmds);
	printf("Usage: preforkctl [OPTION]... [COMMAND [ARG]]\n"
	       "Query and steer a running preforkd through its admin socket.\n"
	       "\n"
	       "Commands (default: status):\n"
	       "%s"
	       "  top                      refresh a compact table every second until\n"
	       "                           interrupted; one plain line per second when\n"
	       "                           standard output is not a terminal\n"
	       "\n"
	       "Options:\n"
	       "  -s, --socket PATH      admin socket (default: preforkd.sock beside --pidfile;\n"
	       "                         else for root /run/preforkd/preforkd.sock, for other\n"
	       "                         users $XDG_RUNTIME_DIR/preforkd.sock if that is a\n"
	       "                         0700 directory of theirs; preforkd uses the same rule)\n"
	       "  -p, --pidfile PATH     look for the socket beside this pidfile\n"
	       "  -c, --config PATH      the server's configuration file: its 'admin' key, else\n"
	       "                         the default rule with its 'pidfile'\n"
	       "  -j, --json             status, stats, workers: print every statistic as JSON\n"
	       "  -P, --prometheus       status, stats, workers: print Prometheus text\n"
	       "  -t, --timeout SECONDS  give up on a reply after this long (default 5;\n"
	       "                         upgrade: 120)\n"
	       "  -n, --count N          top: stop after N refreshes (default: until interrupted)\n"
	       "  -h, --help             show this help and exit\n"
	       "  -v, --version          show the version and exit\n"
	       "\n"
	       "A command line is at most %d bytes with its newline, as the server reads it.\n"
	       "\n"
	       "Exit status (LSB): 0 ok; 1 the server replied with an error; 2 usage error;\n"
	       "3 not running (no socket, or connection refused); 4 status unknown (the\n"
	       "server could not be asked: permission denied, timeout; a server that runs\n"
	       "as neither root nor your uid, which is not trusted; a reply that was\n"
	       "truncated or malformed); 150 (status) the server runs but is failing: every\n"
	       "worker start has failed for its --crash-loop-limit.\n"
	       "Control characters in a reply are printed escaped (\\xHH), never raw.\n",
	       cmds.data ? cmds.data : "", ADMIN_COMMAND_MAX);
	strbuf_free(&cmds);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "preforkctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'preforkctl --help' for more information.\n");
	return EXIT_USAGE;
}

/* ---- talking to the server ---- */

/* A full backlog makes a non-blocking AF_UNIX connect() fail with EAGAIN rather
 * than wait: the server is busy, so retry until the deadline. */
static int connect_admin(const char *path, uint64_t deadline_ns)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err;

	if (fd < 0)
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1); /* length checked in resolve_socket */
	for (;;) {
		struct timespec pause = { 0, 10 * (long)NS_PER_MS };

		if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
			return fd;
		if (errno == EINTR && !interrupted)
			continue;
		if (errno != EAGAIN)
			break;
		if (clock_now_ns() >= deadline_ns) {
			errno = ETIMEDOUT;
			break;
		}
		nanosleep(&pause, NULL);
	}
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static int report_failure(const struct ctl *c, int err)
{
	if (err == ENOENT || err == ECONNREFUSED || err == ENOTDIR) {
		fprintf(stderr, "preforkctl: preforkd is not running (%s: %s)\n", c->path,
		        err == ECONNREFUSED ? "connection refused" : "no such socket");
		/* Nothing said where to look: the server may well run elsewhere. */
		if (err != ECONNREFUSED && !c->socket_path && !c->pidfile && !c->config)
			fprintf(stderr, "preforkctl: hint: that is the default path; a server "
			                "started with --admin, --pidfile or --config is found with "
			                "-s SOCKET, -p PIDFILE or -c CONFIG\n");
		return EXIT_NOT_RUNNING;
	}
	fprintf(stderr, "preforkctl: cannot talk to preforkd at %s: %s\n", c->path,
	        err == ETIMEDOUT ? "timed out" : strerror(err));
	return EXIT_UNKNOWN;
}

/* Anyone who can create the socket path could answer in the server's place (a forged
 * "ok: stopping", terminal escapes): only root or our own uid is believed. */
static int check_server(const struct ctl *c, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof cred;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		fprintf(stderr, "preforkctl: cannot check the server at %s: %s\n", c->path,
		        strerror(errno));
		return EXIT_UNKNOWN;
	}
	if (cred.uid != 0 && cred.uid != geteuid()) {
		fprintf(stderr,
		        "preforkctl: not trusting %s: the server runs as uid %u (pid %ld), "
		        "neither root nor uid %u\n",
		        c->path, (unsigned)cred.uid, (long)cred.pid, (unsigned)geteuid());
		return EXIT_UNKNOWN;
	}
	return EXIT_OK;
}

/* The reply's body moved to the start of its buffer, which R takes. */
static void take_body(struct admin_reply *ar, struct reply *r)
{
	memmove(ar->data, ar->body, ar->body_len);
	ar->data[ar->body_len] = '\0';
	r->data = ar->data;
	r->len = ar->body_len;
	ar->data = NULL;
}

/* A framed reply (admin_proto.h) tells a complete one from one cut short. */
static int judge_reply(const struct ctl *c, struct admin_reply *ar, struct reply *r)
{
	int rc = EXIT_UNKNOWN;

	if (ar->len == 0)
		fprintf(stderr, "preforkctl: preforkd at %s closed without a reply\n", c->path);
	else if (ar->kind == ADMIN_REPLY_TRUNCATED)
		fprintf(stderr, "preforkctl: truncated reply from preforkd at %s: %s\n", c->path,
		        ar->why);
	else if (ar->kind == ADMIN_REPLY_MALFORMED)
		fprintf(stderr, "preforkctl: malformed reply from preforkd at %s: %s\n", c->path,
		        ar->why);
	else {
		rc = ar->kind == ADMIN_REPLY_OK ? EXIT_OK : EXIT_ERROR_REPLY;
		take_body(ar, r);
	}
	admin_reply_free(ar);
	return rc;
}

static int escape_reply(struct reply *r);

/* An error reply goes to stderr, escaped like any reply. */
static void print_error_reply(struct reply *r)
{
	if (escape_reply(r) < 0)
		fprintf(stderr, "preforkctl: error: (unprintable: %s)\n", strerror(errno));
	else
		fprintf(stderr, "preforkctl: error: %s\n", r->data);
	free(r->data);
	r->data = NULL;
}

/* One exchange: connect, send the line, read the reply. Returns an exit code; the
 * body of the reply is in *r only when that code is EXIT_OK. An error reply is
 * printed here (exit 1). */
static int ask(const struct ctl *c, const char *command, struct reply *r)
{
	uint64_t deadline = clock_now_ns() + seconds_to_ns(c->timeout);
	char line[ADMIN_COMMAND_MAX + 1];
	struct admin_reply ar;
	int fd, n, err;

	r->data = NULL;
	r->len = 0;
	n = snprintf(line, sizeof line, "%s\n", command);
	if (n < 0 || n > ADMIN_COMMAND_MAX)
		return usage_error("command too long (at most %d bytes with its newline)",
		                   ADMIN_COMMAND_MAX);
	fd = connect_admin(c->path, deadline);
	if (fd < 0)
		return report_failure(c, errno);
	if ((err = check_server(c, fd)) != EXIT_OK) {
		close(fd);
		return err;
	}
	/* A server that refuses us replies and closes at once, maybe before our write:
	 * its reply still counts. */
	err = write_full(fd, line, (size_t)n, deadline) < 0 ? errno : 0;
	if (admin_read_reply(fd, deadline, &ar) < 0 || (err && ar.len == 0)) {
		err = err ? err : errno;
		close(fd);
		admin_reply_free(&ar);
		return report_failure(c, err);
	}
	close(fd);
	err = judge_reply(c, &ar, r);
	if (err == EXIT_ERROR_REPLY)
		print_error_reply(r);
	return err;
}

static int write_stdout(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			fprintf(stderr, "preforkctl: writing standard output: %s\n",
			        strerror(errno));
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A reply may reach a terminal: every byte that is not printable ASCII, a newline
 * or a tab is written as \xHH, so a reply can never move the cursor, retitle the
 * window or answer back through the terminal. In place, into a new buffer. */
static int escape_reply(struct reply *r)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	char *out;

	for (size_t i = 0; i < r->len; i++) {
		unsigned char ch = (unsigned char)r->data[i];

		n += (ch >= 0x20 && ch < 0x7f) || ch == '\n' || ch == '\t' ? 1 : 4;
	}
	if (n == r->len)
		return 0;
	out = malloc(n + 1);
	if (!out)
		return -1;
	n = 0;
	for (size_t i = 0; i < r->len; i++) {
		unsigned char ch = (unsigned char)r->data[i];

		if ((ch >= 0x20 && ch < 0x7f) || ch == '\n' || ch == '\t') {
			out[n++] = (char)ch;
			continue;
		}
		out[n++] = '\\';
		out[n++] = 'x';
		out[n++] = hex[ch >> 4];
		out[n++] = hex[ch & 15];
	}
	out[n] = '\0';
	free(r->data);
	r->data = out;
	r->len = n;
	return 0;
}

/* A `status` reply whose first line says the server is failing: EXIT_FAILING. */
static int status_exit(const struct reply *r)
{
	char state[ADMIN_STATE_MAX];

	if (admin_status_state(r->data, r->len, state, sizeof state) == 0 &&
	    strcmp(state, ADMIN_STATE_FAILING) == 0)
		return EXIT_FAILING;
	return EXIT_OK;
}

/* The body of a success is printed; an error reply went to stderr (exit 1). With
 * JUDGE (the `status` command), a failing server exits EXIT_FAILING. */
static int run_once(const struct ctl *c, const char *command, int judge)
{
	struct reply r;
	int rc = ask(c, command, &r), failing;

	if (rc != EXIT_OK)
		return rc;
	failing = judge ? status_exit(&r) : EXIT_OK;
	if (escape_reply(&r) < 0) {
		fprintf(stderr, "preforkctl: %s\n", strerror(errno));
		rc = EXIT_UNKNOWN;
	} else if (write_stdout(r.data, r.len) < 0) {
		rc = EXIT_UNKNOWN;
	} else {
		rc = failing;
	}
	free(r.data);
	return rc;
}

/* ---- top ---- */

struct top_sample {
	uint64_t at_ns;
	unsigned long long accepted;
};

/* The value of "key: value" in a `stats` text reply, or "-". */
static void find_stat(const char *reply, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);
	const char *p = reply;

	while (p && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':' && p[klen + 1] == ' ') {
			const char *v = p + klen + 2;

			snprintf(out, len, "%.*s", (int)strcspn(v, "\n"), v);
			return;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	snprintf(out, len, "-");
}

static void format_summary(const char *stats, struct top_sample *prev, char *line, size_t len)
{
	static const char *const keys[] = { "pool.running",        "pool.busy",
		                            "pool.idle",           "totals.accepted",
		                            "totals.completed",    "totals.errors.timeout",
		                            "totals.errors.reset", "totals.errors.other",
		                            "service_time_us.p50", "service_time_us.p99",
		                            "restarts.total" };
	char v[sizeof keys / sizeof keys[0]][32], when[32], rate[32] = "-";
	struct top_sample now = { clock_now_ns(), 0 };
	time_t t = time(NULL);
	struct tm tm;

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		find_stat(stats, keys[i], v[i], sizeof v[i]);
	now.accepted = strtoull(v[3], NULL, 10);
	if (prev->at_ns && now.at_ns > prev->at_ns && now.accepted >= prev->accepted)
		snprintf(rate, sizeof rate, "%.1f",
		         (double)(now.accepted - prev->accepted) * 1e9 /
		                 (double)(now.at_ns - prev->at_ns));
	*prev = now;
	if (!gmtime_r(&t, &tm) || !strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(when, sizeof when, "-");
	snprintf(line, len,
	         "%s running=%s busy=%s idle=%s accepted=%s completed=%s errors=%llu "
	         "conn_per_s=%s p50_us=%s p99_us=%s restarts=%s\n",
	         when, v[0], v[1], v[2], v[3], v[4],
	         strtoull(v[5], NULL, 10) + strtoull(v[6], NULL, 10) + strtoull(v[7], NULL, 10),
	         rate, v[8], v[9], v[10]);
}

/* One refresh: a summary line; on a terminal, the screen is cleared first and the
 * status table follows. */
static int refresh_top(const struct ctl *c, int tty, struct top_sample *prev)
{
	struct reply stats, status = { NULL, 0 };
	char line[512];
	int rc = ask(c, "stats", &stats);

	if (rc != EXIT_OK)
		return rc;
	format_summary(stats.data, prev, line, sizeof line);
	free(stats.data);
	if (tty) {
		rc = ask(c, "status", &status);
		if (rc != EXIT_OK)
			return rc;
		if (escape_reply(&status) < 0) {
			free(status.data);
			return EXIT_UNKNOWN;
		}
		rc = write_stdout("\033[H\033[2J", 7) < 0 || write_stdout(line, strlen(line)) < 0 ||
		     write_stdout("\n", 1) < 0 || write_stdout(status.data, status.len) < 0;
		free(status.data);
		return rc ? EXIT_UNKNOWN : EXIT_OK;
	}
	return write_stdout(line, strlen(line)) < 0 ? EXIT_UNKNOWN : EXIT_OK;
}

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Ticks are absolute CLOCK_MONOTONIC times, so the period does not drift by the
 * time each refresh takes. */
static void sleep_until(struct timespec *tick)
{
	tick->tv_sec += 1;
	while (!interrupted && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, tick, NULL) == EINTR)
		;
}

static int run_top(const struct ctl *c)
{
	struct sigaction sa;
	struct top_sample prev = { 0, 0 };
	struct timespec tick;
	int tty = isatty(STDOUT_FILENO);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_interrupt;
	(void)sigaction(SIGINT, &sa, NULL); /* fails only for a bad signal */
	(void)sigaction(SIGTERM, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &tick);
	for (long n = 0; !interrupted && (c->count == 0 || n < c->count); n++) {
		int rc;

		if (n > 0)
			sleep_until(&tick);
		if (interrupted)
			break;
		rc = refresh_top(c, tty, &prev);
		if (rc != EXIT_OK)
			return interrupted ? EXIT_OK : rc;
	}
	return EXIT_OK;
}

/* ---- arguments ---- */

static int parse_options(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	char err[256];
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":s:p:c:jPt:n:hv", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			c->socket_path = optarg;
			break;
		case 'p':
			c->pidfile = optarg;
			break;
		case 'c':
			c->config = optarg;
			break;
		case 'j':
		case 'P':
			c->format = opt == 'j' ? FORMAT_JSON : FORMAT_PROMETHEUS;
			break;
		case 't':
		case 'n':
			if ((opt == 't' && parse_seconds("--timeout", optarg, 0.001, 3600,
			                                 &c->timeout, err, sizeof err) < 0) ||
			    (opt == 'n' && parse_long("--count", optarg, 1, 1000000000, &c->count,
			                              err, sizeof err) < 0))
				return usage_error("%s", err);
			break;
		case 'h':
			usage();
			return EXIT_OK;
		case 'v':
			printf("preforkctl %s\n", PREFORKD_VERSION);
			return EXIT_OK;
		default:
			fprintf(stderr, "preforkctl: %s\n",
			        parse_getopt_error(opt, argv, opts, err, sizeof err));
			fprintf(stderr, "Try 'preforkctl --help' for more information.\n");
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* A path from the configuration file, as the server reads it: relative to the
 * file's directory. */
static int config_path_value(const struct ctl *c, const struct conf_line *l, char *out, size_t len,
                             char *err, size_t errlen)
{
	const char *slash = strrchr(c->config, '/');
	int n;

	if (!l->value) {
		snprintf(err, errlen, "%s: missing value", l->key);
		return -1;
	}
	if (l->value[0] == '/' || !slash)
		n = snprintf(out, len, "%s", l->value);
	else
		n = snprintf(out, len, "%.*s/%s", (int)(slash - c->config), c->config, l->value);
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen, "%s: path too long", l->key);
		return -1;
	}
	return 0;
}

/* Only the keys that say where the socket is; the server judges the others. */
static int take_config_line(void *p, const struct conf_line *l, char *err, size_t errlen)
{
	struct ctl *c = p;

	if (strcmp(l->key, "admin") == 0)
		return config_path_value(c, l, c->config_admin, sizeof c->config_admin, err,
		                         errlen);
	if (strcmp(l->key, "pidfile") == 0)
		return config_path_value(c, l, c->config_pidfile, sizeof c->config_pidfile, err,
		                         errlen);
	return 0;
}

/* --config: the socket the server with that file uses (`admin`, else the default
 * rule with its `pidfile`). A command-line --admin the server was given is not in
 * the file: then -s says where. */
static int read_config(struct ctl *c)
{
	char err[CONF_LINE_MAX + 512], *text;
	size_t len;
	int rc;

	if (conf_file_read(c->config, 0, &text, &len, err, sizeof err) < 0) {
		fprintf(stderr, "preforkctl: --config: %s\n", err);
		return EXIT_USAGE;
	}
	rc = conf_file_parse(c->config, text, len, take_config_line, c, err, sizeof err);
	free(text);
	if (rc < 0) {
		fprintf(stderr, "preforkctl: --config: %s\n", err);
		return EXIT_USAGE;
	}
	if (c->config_admin[0])
		c->socket_path = c->config_admin;
	else if (c->config_pidfile[0])
		c->pidfile = c->config_pidfile;
	return -1;
}

/* Without --socket, the server's own default rule (admin_path.h). */
static int resolve_socket(struct ctl *c)
{
	char err[768];
	int rc;

	if (!!c->socket_path + !!c->pidfile + !!c->config > 1)
		return usage_error("%s", "--socket, --pidfile and --config exclude each other");
	/* An empty path names no socket: a usage error, not a server that is missing. */
	if (c->socket_path && !*c->socket_path)
		return usage_error("%s", "--socket: empty path");
	if (c->pidfile && !*c->pidfile)
		return usage_error("%s", "--pidfile: empty path");
	if (c->config && !*c->config)
		return usage_error("%s", "--config: empty path");
	if (c->config && (rc = read_config(c)) >= 0)
		return rc;
	if (c->socket_path) {
		if (strlen(c->socket_path) >= sizeof c->path)
			return usage_error("admin socket path too long: %s", c->socket_path);
		memcpy(c->path, c->socket_path, strlen(c->socket_path) + 1);
		return -1;
	}
	if (admin_path_default(c->pidfile, c->path, sizeof c->path, err, sizeof err) < 0) {
		fprintf(stderr,
		        "preforkctl: %s with --socket PATH (or the server's --config FILE)\n", err);
		return EXIT_USAGE;
	}
	return -1;
}

/* A control character would end the command line early or smuggle in another. */
static int has_control_char(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* --json and --prometheus stand for `stats json` and `stats prometheus`: they go
 * with the commands that show statistics. */
static int takes_format(int cmd)
{
	return cmd == ADMIN_CMD_STATUS || cmd == ADMIN_CMD_STATS || cmd == ADMIN_CMD_WORKERS;
}

/* Checks the command's shape against the protocol's table (and `top`, which is
 * preforkctl's own); the server judges the values (a scale count out of range is an
 * error reply, exit 1, like any other refusal). */
static int check_command(const struct ctl *c, int argc, char **argv)
{
	int top = strcmp(argv[0], "top") == 0, cmd = admin_command_find(argv[0]);
	const char *name = argv[0];
	int min = 0, max = 0;

	for (int i = 0; i < argc; i++)
		if (has_control_char(argv[i]))
			return usage_error("%s", "control characters are not allowed in a command");
	if (!top && cmd < 0)
		return usage_error("unknown command '%s'", argv[0]);
	if (!top) {
		min = admin_commands[cmd].min_args;
		max = admin_commands[cmd].max_args;
	}
	if (argc - 1 < min)
		return usage_error("%s: missing argument", name);
	if (argc - 1 > max)
		return usage_error("%s: too many arguments", name);
	if (c->format != FORMAT_HUMAN && (top || !takes_format(cmd)))
		return usage_error("%s: --json and --prometheus apply to status, stats and workers",
		                   name);
	if (c->format != FORMAT_HUMAN && argc > 1)
		return usage_error("%s: give the format as an option or an argument, not both",
		                   name);
	return -1;
}

int main(int argc, char **argv)
{
	struct ctl c = { .timeout = -1 };
	char *dflt[] = { "status", NULL };
	char line[ADMIN_COMMAND_MAX + 1];
	int rc = parse_options(&c, argc, argv), n;

	if (rc >= 0 || (rc = resolve_socket(&c)) >= 0)
		return rc;
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		argc = 1;
		argv = dflt;
	}
	if ((rc = check_command(&c, argc, argv)) >= 0)
		return rc;
	/* An upgrade's reply waits for the new master (the server's --upgrade-timeout,
	 * 30 s by default, then for a rollback at most its --grace, 10 s, and 5 s). */
	if (c.timeout < 0)
		c.timeout = strcmp(argv[0], "upgrade") == 0 ? 120 : 5;
	if (c.count && strcmp(argv[0], "top") != 0)
		return usage_error("%s", "--count applies to top only");
	if (strcmp(argv[0], "top") == 0)
		return run_top(&c);
	if (c.format != FORMAT_HUMAN)
		return run_once(&c, c.format == FORMAT_JSON ? "stats json" : "stats prometheus", 0);
	/* The server reads at most ADMIN_COMMAND_MAX bytes, the newline included. */
	n = snprintf(line, sizeof line, "%s%s%s", argv[0], argc > 1 ? " " : "",
	             argc > 1 ? argv[1] : "");
	if (n < 0 || n + 1 > ADMIN_COMMAND_MAX)
		return usage_error("command too long (at most %d bytes with its newline)",
		                   ADMIN_COMMAND_MAX);
	return run_once(&c, line, admin_command_find(argv[0]) == ADMIN_CMD_STATUS);
}
