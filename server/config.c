/* Option parsing for preforkd, from the command line and from a configuration file
 * whose keys are the long option names. Every bad value is reported as one line
 * naming the option (or FILE:LINE: key) and the value; the caller exits 2. Nothing
 * here touches the system beyond sysconf(), getcwd() and reading the file, so the
 * unit tests and the fuzzer can drive it with argument vectors and file text. */
#include "config.h"

#include "addr.h"
#include "conf_file.h"
#include "listen_spec.h"
#include "parse.h"
#include "service.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	OPT_LISTEN = 256,
	OPT_WORKERS,
	OPT_SPARE,
	OPT_BACKLOG,
	OPT_SERVICE,
	OPT_IDLE_TIMEOUT,
	OPT_FIRST_BYTE_TIMEOUT,
	OPT_GRACE,
	OPT_UPGRADE_TIMEOUT,
	OPT_PIDFILE,
	OPT_LOG,
	OPT_LOG_FORMAT,
	OPT_ADMIN,
	OPT_METRICS_LISTEN,
	OPT_AGENT_LISTEN,
	OPT_WORKER_TIMEOUT,
	OPT_MAX_REQUESTS,
	OPT_MAX_REQUESTS_JITTER,
	OPT_MAX_RSS,
	OPT_MIN_UPTIME,
	OPT_DEFER_ACCEPT,
	OPT_DAEMON,
	OPT_USER,
	OPT_GROUP,
	OPT_CORE_DUMPS,
	OPT_ADMIN_GROUP,
	OPT_CRASH_LOOP_LIMIT,
	OPT_CRASH_LOOP_EXIT,
	OPT_VERBOSE,
	OPT_PRESSURE_IDLE,
	OPT_QUEUE_WAIT,
	OPT_ROOT,
	OPT_AUTOINDEX,
	OPT_MIME_TYPES,
	OPT_KEEPALIVE_TIMEOUT,
	OPT_KEEPALIVE_REQUESTS,
	OPT_REQUEST_HEAD_TIMEOUT,
	OPT_ACCESS_LOG,
	OPT_UNIX_MODE,
	OPT_UNIX_OWNER,
	OPT_UDP_RATE,
	OPT_UDP_BURST,
};

static const struct option long_options[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "unix-mode", required_argument, NULL, OPT_UNIX_MODE },
	{ "unix-owner", required_argument, NULL, OPT_UNIX_OWNER },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "spare", required_argument, NULL, OPT_SPARE },
	{ "backlog", required_argument, NULL, OPT_BACKLOG },
	{ "service", required_argument, NULL, OPT_SERVICE },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "first-byte-timeout", required_argument, NULL, OPT_FIRST_BYTE_TIMEOUT },
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "upgrade-timeout", required_argument, NULL, OPT_UPGRADE_TIMEOUT },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "admin", required_argument, NULL, OPT_ADMIN },
	{ "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
	{ "agent-listen", required_argument, NULL, OPT_AGENT_LISTEN },
	{ "admin-group", required_argument, NULL, OPT_ADMIN_GROUP },
	{ "worker-timeout", required_argument, NULL, OPT_WORKER_TIMEOUT },
	{ "max-requests", required_argument, NULL, OPT_MAX_REQUESTS },
	{ "max-requests-jitter", required_argument, NULL, OPT_MAX_REQUESTS_JITTER },
	{ "max-rss", required_argument, NULL, OPT_MAX_RSS },
	{ "min-uptime", required_argument, NULL, OPT_MIN_UPTIME },
	{ "crash-loop-limit", required_argument, NULL, OPT_CRASH_LOOP_LIMIT },
	{ "crash-loop-exit", no_argument, NULL, OPT_CRASH_LOOP_EXIT },
	{ "defer-accept", required_argument, NULL, OPT_DEFER_ACCEPT },
	{ "pressure-idle", required_argument, NULL, OPT_PRESSURE_IDLE },
	{ "queue-wait", no_argument, NULL, OPT_QUEUE_WAIT },
	{ "daemon", no_argument, NULL, OPT_DAEMON },
	{ "user", required_argument, NULL, OPT_USER },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "core-dumps", no_argument, NULL, OPT_CORE_DUMPS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "autoindex", no_argument, NULL, OPT_AUTOINDEX },
	{ "mime-types", required_argument, NULL, OPT_MIME_TYPES },
	{ "keepalive-timeout", required_argument, NULL, OPT_KEEPALIVE_TIMEOUT },
	{ "keepalive-requests", required_argument, NULL, OPT_KEEPALIVE_REQUESTS },
	{ "request-head-timeout", required_argument, NULL, OPT_REQUEST_HEAD_TIMEOUT },
	{ "access-log", required_argument, NULL, OPT_ACCESS_LOG },
	{ "udp-rate", required_argument, NULL, OPT_UDP_RATE },
	{ "udp-burst", required_argument, NULL, OPT_UDP_BURST },
	/* The command line only, never in a file: */
	{ "config", required_argument, NULL, 'c' },
	{ "check-config", no_argument, NULL, 't' },
	{ "print-config", no_argument, NULL, 'T' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

#define SHORT_OPTIONS ":qc:tThv"

static int command_line_only(int opt)
{
	return opt == 'c' || opt == 't' || opt == 'T' || opt == 'h' || opt == 'v';
}

/* ---- memory a configuration owns ---- */

struct config_mem {
	struct config_mem *next;
	char data[];
};

/* n bytes of a, then b (may be NULL), NUL-terminated, owned by cfg. */
static char *keep_join(struct config *cfg, const char *a, size_t n, const char *b)
{
	size_t nb = b ? strlen(b) : 0;
	struct config_mem *m = malloc(sizeof *m + n + nb + 1);

	if (!m)
		return NULL;
	memcpy(m->data, a, n);
	if (b)
		memcpy(m->data + n, b, nb);
	m->data[n + nb] = '\0';
	m->next = cfg->mem;
	cfg->mem = m;
	return m->data;
}

static char *keep_bytes(struct config *cfg, const char *s, size_t n)
{
	return keep_join(cfg, s, n, NULL);
}

const char *config_keep(struct config *cfg, const char *s)
{
	return keep_bytes(cfg, s, strlen(s));
}

void config_release(struct config *cfg)
{
	while (cfg->mem) {
		struct config_mem *next = cfg->mem->next;

		free(cfg->mem);
		cfg->mem = next;
	}
}

/* dir/path, kept in cfg; path when it is absolute or there is no dir. */
static const char *join_path(struct config *cfg, const char *dir, const char *path)
{
	char *joined;
	size_t n;

	if (!dir || path[0] == '/')
		return path;
	n = strcmp(dir, "/") == 0 ? 0 : strlen(dir);
	joined = keep_join(cfg, dir, n + 1, path);
	if (joined)
		joined[n] = '/';
	return joined;
}

/* The directory preforkd started in, noted by the first config_parse: a daemon
 * leaves it, and a reload must still find the same relative paths. */
static char start_dir[PATH_MAX];

static void note_start_dir(void)
{
	if (start_dir[0] == '\0' && !getcwd(start_dir, sizeof start_dir))
		start_dir[0] = '\0'; /* relative paths then stay relative */
}

const char *config_start_dir(void)
{
	return start_dir[0] ? start_dir : NULL;
}

const char *config_absolute(struct config *cfg, const char *path)
{
	return join_path(cfg, start_dir[0] ? start_dir : NULL, path);
}

void config_defaults(struct config *cfg)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof *cfg);
	cfg->unix_mode = 0660;
	cfg->workers = cpus < 1 ? 1 : cpus > WORKERS_MAX ? WORKERS_MAX : cpus;
	cfg->workers_max = cfg->workers;
	cfg->spare_low = cfg->spare_high = -1;
	cfg->backlog = 511;
	cfg->service = &service_echo;
	cfg->idle_timeout = 30;
	cfg->first_byte_timeout = 2;
	cfg->grace = 10;
	cfg->upgrade_timeout = 30;
	cfg->worker_timeout = 60;
	cfg->min_uptime = 1;
	cfg->defer_accept = 5;
	cfg->pressure_idle = 1;
	cfg->crash_loop_limit = 60;
	cfg->keepalive_timeout = 2;
	cfg->keepalive_requests = 100;
	cfg->request_head_timeout = 10;
	cfg->udp_rate = 100;
	cfg->udp_burst = 100;
}

void config_usage(void)
{
	printf("Usage: preforkd [OPTION]...\n"
	       "A prefork TCP server: a master process listens, forks workers that compete on\n"
	       "accept(), supervises them and reports stats on a Unix admin socket.\n"
	       "\n"
	       "  --listen ADDRESS        address to listen on, up to %d times: HOST:PORT\n"
	       "                          (IPv4 or a hostname), [IPv6]:PORT, unix:/PATH or\n"
	       "                          udp:HOST:PORT; port 0 picks a free port (default\n"
	       "                          127.0.0.1:7777 when none is given and no socket is\n"
	       "                          inherited through LISTEN_FDS); listens on the\n"
	       "                          command line replace the configuration file's;\n"
	       "                          they change with a restart, never a reload\n"
	       "  --unix-mode MODE        octal mode of unix: listeners (default 0660)\n"
	       "  --unix-owner USER[:GROUP]  owner of unix: listeners (needs root)\n"
	       "  --workers N|MIN..MAX    worker processes, 1..%d (default: online CPUs); a\n"
	       "                          range makes the pool adaptive: it grows on the\n"
	       "                          accept queue and shrinks when idle (README)\n"
	       "  --spare LOW..HIGH       an adaptive pool keeps LOW..HIGH workers idle\n"
	       "                          (default: LOW = MAX/32, at least 1; HIGH = 2 x LOW,\n"
	       "                          at least LOW + 2)\n"
	       "  --backlog N             listen backlog, 1..65535 (default 511)\n"
	       "  --service NAME          protocol served: %s (default echo)\n"
	       "  --first-byte-timeout SECONDS  cut a client off that sends nothing for this\n"
	       "                          long once a worker has taken its connection (after\n"
	       "                          the --defer-accept wait in the kernel) (default 2)\n"
	       "  --idle-timeout SECONDS  cut a client off when a read or a write makes no\n"
	       "                          progress for this long, measured from the last byte\n"
	       "                          moved (default 30)\n"
	       "  --grace SECONDS         on SIGTERM, how long workers may finish their\n"
	       "                          connection and the queued ones before they are\n"
	       "                          killed (default 10)\n"
	       "  --upgrade-timeout SECONDS  a binary upgrade (SIGUSR2, preforkctl upgrade)\n"
	       "                          whose new master has not started its workers\n"
	       "                          within this long is rolled back (default 30)\n"
	       "  --pidfile PATH          write the master's pid here; removed at exit. A\n"
	       "                          second instance with the same path is refused\n"
	       "  --log PATH              append log lines to PATH (default stderr);\n"
	       "                          SIGUSR1 reopens it\n"
	       "  --log-format FORM       auto, plain or journal: journal drops the time and\n"
	       "                          starts each line with its syslog priority <N>, as\n"
	       "                          systemd's journal reads it; auto (the default) picks\n"
	       "                          journal when the log is stderr and stderr is the\n"
	       "                          journal's stream (JOURNAL_STREAM), else plain\n"
	       "  --admin PATH            admin Unix socket (default preforkd.sock beside the\n"
	       "                          pidfile; else /run/preforkd/preforkd.sock for root,\n"
	       "                          $XDG_RUNTIME_DIR/preforkd.sock for other users when\n"
	       "                          it is their 0700 directory, else required). Two\n"
	       "                          instances need two paths\n"
	       "  --metrics-listen HOST:PORT  serve GET /metrics over HTTP here: the\n"
	       "                          Prometheus text of 'preforkctl stats prometheus'. A\n"
	       "                          bare PORT means 127.0.0.1:PORT; any other host is\n"
	       "                          used as written (default: not served)\n"
	       "  --agent-listen HOST:PORT  answer HAProxy's agent-check here: one line per\n"
	       "                          connection, e.g. 'up ready 62%% maxconn:16' (free\n"
	       "                          capacity, MAX workers; drain while stopping, maint\n"
	       "                          after 'preforkctl maint on', down in a crash loop).\n"
	       "                          A bare PORT means 127.0.0.1:PORT (default: off)\n"
	       "  --admin-group GROUP     the admin socket is 0660 with this group (given at\n"
	       "                          bind(), never chown'ed); its members may use the\n"
	       "                          commands that only look (status, stats, workers,\n"
	       "                          help), not scale, reload, stop, maint or upgrade\n"
	       "  --worker-timeout SECONDS  kill a busy worker that makes no progress for this\n"
	       "                          long; 0 = never, else more than --idle-timeout and\n"
	       "                          --first-byte-timeout (default 60)\n"
	       "  --max-requests N        a worker retires after N connections; 0 = never\n"
	       "                          (default 0)\n"
	       "  --max-requests-jitter N add 0..N to each worker's --max-requests (default 0)\n"
	       "  --max-rss SIZE          a worker whose resident memory (RSS, sampled about\n"
	       "                          once a second) is above SIZE (bytes, or with a K, M\n"
	       "                          or G suffix) finishes its connection and is replaced\n"
	       "                          (exit cause rss); 0 = never (default 0)\n"
	       "  --min-uptime SECONDS    in a crash loop (workers that die before accepting, or\n"
	       "                          exit on their own having served nothing), a new worker\n"
	       "                          up this long ends the back-off of 100 ms doubling to\n"
	       "                          30 s (default 1)\n"
	       "  --crash-loop-limit SECONDS  a crash loop in which every start has failed\n"
	       "                          for this long is a failure: status says 'failing',\n"
	       "                          preforkctl status exits 150, systemd's STATUS= says\n"
	       "                          so; it recovers when a start succeeds. 0 = never\n"
	       "                          (default 60)\n"
	       "  --crash-loop-exit       then also stop gracefully and exit 69\n"
	       "                          (EX_UNAVAILABLE), for a supervisor to act on\n"
	       "  --defer-accept SECONDS  TCP_DEFER_ACCEPT: wake a worker only once the client\n"
	       "                          has sent data, for up to SECONDS; 0 = off (default 5)\n"
	       "  --pressure-idle SECONDS under pressure (connections queued, no worker idle),\n"
	       "                          drop the connection that has moved no byte for\n"
	       "                          longest once that is more than SECONDS; 0 = never\n"
	       "                          (default 1). Less than --worker-timeout\n"
	       "  --queue-wait            measure each connection's wait in the accept queue\n"
	       "                          (kernel receive timestamps, which the whole host then\n"
	       "                          takes on every packet); shown beside service time\n"
	       "  --daemon                detach into the background; the command exits 0 once\n"
	       "                          the daemon listens and has written its pidfile, else\n"
	       "                          1 with the reason. Relative paths are made absolute\n"
	       "  --user NAME             when started as root: workers drop to this user\n"
	       "                          (setgroups, setgid, setuid). The master keeps root to\n"
	       "                          respawn workers and remove its pidfile and socket\n"
	       "  --group NAME            with --user: the workers' group (default: the user's);\n"
	       "                          gid 0 is refused, and dropped from the supplementary\n"
	       "                          groups\n"
	       "  --core-dumps            with --user: let workers dump core (Linux forbids it\n"
	       "                          after setuid; allowing it also lets that user ptrace\n"
	       "                          them). Cores go where kernel.core_pattern says; a\n"
	       "                          relative pattern means the working directory, / with\n"
	       "                          --daemon, where the user cannot write\n"
	       "  --root DIR              --service http: the directory served (required)\n"
	       "  --autoindex             --service http: list a directory without index.html\n"
	       "                          (else 403)\n"
	       "  --mime-types PATH       --service http: more Content-Types, in the format of\n"
	       "                          /etc/mime.types, over the built-in table\n"
	       "  --access-log PATH       --service http: one line per request, combined log\n"
	       "                          format; opened by the master like --log, reopened on\n"
	       "                          SIGUSR1 (workers are then replaced); off by default\n"
	       "  --keepalive-timeout SECONDS  --service http: close a connection idle this long\n"
	       "                          between requests; it holds a worker meanwhile;\n"
	       "                          0 = no keep-alive (default 2)\n"
	       "  --keepalive-requests N  --service http: requests per connection, 1..1000000\n"
	       "                          (default 100)\n"
	       "  --request-head-timeout SECONDS  --service http: from a request's first byte\n"
	       "                          to the end of its head; over it: 408 (default 10)\n"
	       "  --udp-rate N            udp: listeners: answers per second to one source\n"
	       "                          address, per worker (the pool answers at most\n"
	       "                          workers x N); 0 = no limit, for benchmarks and\n"
	       "                          trusted networks only (default 100)\n"
	       "  --udp-burst N           udp: listeners: answers a quiet source may have at\n"
	       "                          once, per worker, 1..1000000 (default 100)\n"
	       "  -q, --quiet             log warnings and errors only\n"
	       "      --verbose           log debug detail too\n"
	       "  -c, --config PATH       read options from PATH first: one 'key value' per\n"
	       "                          line, the keys being the long options above\n"
	       "                          ('workers 8'); a switch alone or 'KEY yes|no'; '#'\n"
	       "                          comments. Command-line options override it; relative\n"
	       "                          paths in it start at its directory. SIGHUP re-reads it\n"
	       "  -t, --check-config      check the configuration: options, that the address\n"
	       "                          can be bound (held by the running instance is fine)\n"
	       "                          and the files opened (nothing is created or locked);\n"
	       "                          print one line, exit 0 if fine, else 1\n"
	       "  -T, --print-config      print the effective configuration in the file's\n"
	       "                          format and exit\n"
	       "  -h, --help              show this help and exit\n"
	       "  -v, --version           show the version and exit\n"
	       "\n"
	       "The pidfile, the log, the admin socket and their instance locks (PATH.lock,\n"
	       "kept) are never opened through a symlink, and every directory on their path\n"
	       "must be owned by root or the master's euid and not writable by others (a\n"
	       "sticky directory such as /tmp is allowed); else start-up is refused.\n"
	       "\n"
	       "Signals to the master: TERM/INT graceful stop, QUIT fast stop, HUP re-read the\n"
	       "--config file and roll every worker over to it (settings that cannot change\n"
	       "live are logged as needing a restart; a bad file changes nothing), TTIN/TTOU\n"
	       "one worker more/fewer, USR1 reopen the log, USR2 binary upgrade (the binary\n"
	       "started again with the sockets; rolled back if not ready in time).\n"
	       "Under systemd (Type=notify), readiness, reloads, stopping and the worker count\n"
	       "are reported to NOTIFY_SOCKET.\n",
	       LISTENERS_MAX, WORKERS_MAX, service_names());
}

static const char *const log_forms[] = {
	[LOG_FORMAT_AUTO] = "auto", [LOG_FORMAT_PLAIN] = "plain", [LOG_FORMAT_JOURNAL] = "journal"
};

const char *config_log_format_name(enum log_format format)
{
	return (size_t)format < sizeof log_forms / sizeof log_forms[0] ? log_forms[format] : "auto";
}

static int parse_log_format(const char *name, const char *arg, enum log_format *format, char *err,
                            size_t errlen)
{
	const char *const *forms = log_forms;

	for (size_t i = 0; i < sizeof log_forms / sizeof log_forms[0]; i++) {
		if (strcmp(arg, forms[i]) == 0) {
			*format = (enum log_format)i;
			return 0;
		}
	}
	snprintf(err, errlen, "%s: expected auto, plain or journal, got '%s'", name, arg);
	return -1;
}

/* Whatever the command line gives must be writable in a configuration file, so that
 * -T prints it and a reload reads it back the same: no control character (a newline
 * would start another key), no blank at either end (trimmed), no '#' after a blank
 * (a comment). */
static int require_file_text(const char *name, const char *arg, char *err, size_t errlen)
{
	size_t n = strlen(arg);
	int bad = n > 0 &&
	          (arg[0] == ' ' || arg[0] == '\t' || arg[n - 1] == ' ' || arg[n - 1] == '\t');

	for (size_t i = 0; i < n && !bad; i++)
		bad = (unsigned char)arg[i] < 0x20 || arg[i] == 0x7f ||
		      (arg[i] == '#' && i > 0 && (arg[i - 1] == ' ' || arg[i - 1] == '\t'));
	if (bad) {
		snprintf(err, errlen,
		         "%s: a value with control characters, blanks at either end or ' #' "
		         "cannot be written in a configuration file",
		         name);
		return -1;
	}
	return 0;
}

/* A bare PORT (or :PORT) is loopback's: serving the stats (or the agent's line)
 * beyond this host takes an address written out. */
static int parse_endpoint_listen(struct config *cfg, const char *name, const char *arg,
                                 const char **to, char *err, size_t errlen)
{
	const char *port = arg[0] == ':' ? arg + 1 : arg;
	struct host_port hp;
	char why[256];

	if (require_file_text(name, arg, err, errlen) < 0)
		return -1;
	if (*port && strspn(port, "0123456789") == strlen(port)) {
		arg = keep_join(cfg, "127.0.0.1:", 10, port);
		if (!arg) {
			snprintf(err, errlen, "%s: out of memory", name);
			return -1;
		}
	}
	if (addr_split(arg, &hp, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", name, why);
		return -1;
	}
	*to = arg;
	return 0;
}

static int require_name(const char *name, const char *arg, char *err, size_t errlen);

/* One more --listen: the command line's first one starts a new list (it replaces
 * the file's); the same address twice, or more than LISTENERS_MAX, is refused. */
static int add_listen(struct config *cfg, const char *name, const char *arg, char *err,
                      size_t errlen)
{
	enum listen_spec_kind kind;
	const char *rest;
	char why[256];

	if (require_file_text(name, arg, err, errlen) < 0)
		return -1;
	if (listen_spec_parse(arg, &kind, &rest, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", name, why);
		return -1;
	}
	if (name[0] == '-' && !cfg->listen_cmdline) {
		cfg->listen_cmdline = 1;
		cfg->n_listen = 0;
	}
	for (size_t i = 0; i < cfg->n_listen; i++)
		if (listen_spec_same(cfg->listen[i], arg)) {
			snprintf(err, errlen, "%s: %s is given twice", name, arg);
			return -1;
		}
	if (cfg->n_listen == LISTENERS_MAX) {
		snprintf(err, errlen, "%s: more than %d listeners (%s)", name, LISTENERS_MAX, arg);
		return -1;
	}
	cfg->listen[cfg->n_listen++] = arg;
	return 0;
}

static int parse_option(struct config *cfg, int opt, const char *name, const char *arg, char *err,
                        size_t errlen)
{

	switch (opt) {
	case OPT_LISTEN:
		return add_listen(cfg, name, arg, err, errlen);
	case OPT_UNIX_MODE:
		if (*arg != '0' || strspn(arg, "01234567") != strlen(arg) || strlen(arg) > 5 ||
		    strtol(arg, NULL, 8) > 0777) {
			snprintf(err, errlen, "%s: expected an octal mode 0000..0777, got '%s'",
			         name, arg);
			return -1;
		}
		cfg->unix_mode = strtol(arg, NULL, 8);
		return 0;
	case OPT_UNIX_OWNER: {
		const char *colon = strchr(arg, ':');
		char user[64];

		if (!colon || (size_t)(colon - arg) < sizeof user) {
			snprintf(user, sizeof user, "%.*s",
			         colon ? (int)(colon - arg) : (int)strlen(arg), arg);
			if (require_name(name, user, err, errlen) < 0 ||
			    (colon && require_name(name, colon + 1, err, errlen) < 0))
				return -1;
			cfg->unix_owner = arg;
			return 0;
		}
		snprintf(err, errlen, "%s: expected USER[:GROUP], got '%s'", name, arg);
		return -1;
	}
	case OPT_WORKERS:
		return parse_range(name, arg, 1, WORKERS_MAX, &cfg->workers, &cfg->workers_max, err,
		                   errlen);
	case OPT_SPARE:
		return parse_range(name, arg, 0, WORKERS_MAX, &cfg->spare_low, &cfg->spare_high,
		                   err, errlen);
	case OPT_BACKLOG:
		return parse_long(name, arg, 1, 65535, &cfg->backlog, err, errlen);
	case OPT_SERVICE:
		cfg->service = service_find(arg);
		if (!cfg->service) {
			snprintf(err, errlen, "%s: expected one of: %s, got '%s'", name,
			         service_names(), arg);
			return -1;
		}
		return 0;
	case OPT_IDLE_TIMEOUT:
		return parse_seconds(name, arg, 0.001, 86400, &cfg->idle_timeout, err, errlen);
	case OPT_FIRST_BYTE_TIMEOUT:
		return parse_seconds(name, arg, 0.001, 86400, &cfg->first_byte_timeout, err,
		                     errlen);
	case OPT_GRACE:
		return parse_seconds(name, arg, 0, 86400, &cfg->grace, err, errlen);
	case OPT_UPGRADE_TIMEOUT:
		return parse_seconds(name, arg, 0.1, 3600, &cfg->upgrade_timeout, err, errlen);
	case OPT_WORKER_TIMEOUT:
		return parse_seconds(name, arg, 0, 86400, &cfg->worker_timeout, err, errlen);
	case OPT_MIN_UPTIME:
		return parse_seconds(name, arg, 0, 3600, &cfg->min_uptime, err, errlen);
	case OPT_CRASH_LOOP_LIMIT:
		return parse_seconds(name, arg, 0, 86400, &cfg->crash_loop_limit, err, errlen);
	case OPT_MAX_REQUESTS:
		return parse_long(name, arg, 0, 1000000000, &cfg->max_requests, err, errlen);
	case OPT_MAX_REQUESTS_JITTER:
		return parse_long(name, arg, 0, 1000000000, &cfg->max_requests_jitter, err, errlen);
	case OPT_MAX_RSS:
		return parse_size(name, arg, 1ULL << 40, &cfg->max_rss, err, errlen);
	case OPT_PRESSURE_IDLE:
		return parse_seconds(name, arg, 0, 86400, &cfg->pressure_idle, err, errlen);
	case OPT_DEFER_ACCEPT:
		return parse_long(name, arg, 0, 3600, &cfg->defer_accept, err, errlen);
	case OPT_LOG_FORMAT:
		return parse_log_format(name, arg, &cfg->log_format, err, errlen);
	case OPT_METRICS_LISTEN:
		return parse_endpoint_listen(cfg, name, arg, &cfg->metrics_listen, err, errlen);
	case OPT_AGENT_LISTEN:
		return parse_endpoint_listen(cfg, name, arg, &cfg->agent_listen, err, errlen);
	case OPT_KEEPALIVE_TIMEOUT:
		return parse_seconds(name, arg, 0, 86400, &cfg->keepalive_timeout, err, errlen);
	case OPT_KEEPALIVE_REQUESTS:
		return parse_long(name, arg, 1, 1000000, &cfg->keepalive_requests, err, errlen);
	case OPT_UDP_RATE:
		return parse_long(name, arg, 0, 1000000, &cfg->udp_rate, err, errlen);
	case OPT_UDP_BURST:
		return parse_long(name, arg, 1, 1000000, &cfg->udp_burst, err, errlen);
	case OPT_REQUEST_HEAD_TIMEOUT:
		return parse_seconds(name, arg, 0.001, 86400, &cfg->request_head_timeout, err,
		                     errlen);
	}
	return 0;
}

static int require_path(const char *name, const char *arg, char *err, size_t errlen)
{
	if (*arg == '\0') {
		snprintf(err, errlen, "%s: expected a path, got ''", name);
		return -1;
	}
	return require_file_text(name, arg, err, errlen);
}

/* A user or group name: the POSIX portable set ([A-Za-z0-9._-], no leading '-', at
 * most 32 bytes as on Linux), which covers numeric ids. Whether it exists is checked
 * at start-up; a malformed name is a usage error (exit 2). */
static int require_name(const char *name, const char *arg, char *err, size_t errlen)
{
	size_t n = strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                       "0123456789._-");

	if (*arg == '\0' || *arg == '-' || arg[n] != '\0' || n > 32) {
		snprintf(err, errlen, "%s: expected a user or group name, got '%s'", name, arg);
		return -1;
	}
	return 0;
}

/* The master kills a busy worker that moved no byte for --worker-timeout. A
 * connection that waits within its own limits must never look hung: every
 * per-connection wait has to be shorter, or a healthy client that pauses would get
 * its worker SIGKILLed. Each wait added later joins this table. */
static int check_worker_timeout(const struct config *cfg, char *err, size_t errlen)
{
	int http = strcmp(cfg->service->name, "http") == 0;
	const struct {
		const char *name;
		double seconds;
		int applies; /* the service has this wait */
	} waits[] = {
		{ "--idle-timeout", cfg->idle_timeout, 1 },
		{ "--first-byte-timeout", cfg->first_byte_timeout, 1 },
		{ "--pressure-idle", cfg->pressure_idle, 1 },            /* 0 = off */
		{ "--keepalive-timeout", cfg->keepalive_timeout, http }, /* 0 = no keep-alive */
		{ "--request-head-timeout", cfg->request_head_timeout, http },
	};

	if (cfg->worker_timeout == 0)
		return 0;
	for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
		if (!waits[i].applies || waits[i].seconds == 0 ||
		    cfg->worker_timeout > waits[i].seconds)
			continue;
		snprintf(err, errlen,
		         "--worker-timeout (%g s) must be 0 or greater than %s (%g s): a "
		         "connection waiting within %s would get its worker killed",
		         cfg->worker_timeout, waits[i].name, waits[i].seconds, waits[i].name);
		return -1;
	}
	return 0;
}

int config_validate(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->group && !cfg->user) {
		snprintf(err, errlen, "--group: needs --user");
		return -1;
	}
	if (check_worker_timeout(cfg, err, errlen) < 0)
		return -1;
	/* A fixed pool keeps any --spare for a later `scale A..B`; an adaptive one whose
	 * LOW it can never reach would grow to MAX and stay there. */
	if (cfg->workers < cfg->workers_max && cfg->spare_low > cfg->workers_max) {
		snprintf(err, errlen,
		         "--spare: LOW %ld is above the --workers maximum %ld: the pool could "
		         "never keep that many idle",
		         cfg->spare_low, cfg->workers_max);
		return -1;
	}
	/* It shrinks only while more than HIGH workers are idle: HIGH must leave room. */
	if (cfg->workers < cfg->workers_max && cfg->spare_high >= cfg->workers_max) {
		snprintf(err, errlen,
		         "--spare: HIGH %ld is not below the --workers maximum %ld: the pool "
		         "could never shrink",
		         cfg->spare_high, cfg->workers_max);
		return -1;
	}
	/* Port 0 twice is two ports; any other port twice cannot be bound twice. */
	for (size_t i = 0; i < cfg->n_listen || (i == 0 && cfg->n_listen == 0); i++) {
		const char *l = cfg->n_listen ? cfg->listen[i] : CONFIG_LISTEN_DEFAULT;

		if (cfg->metrics_listen && listen_spec_same(cfg->metrics_listen, l)) {
			snprintf(err, errlen, "--metrics-listen: %s is %s --listen address",
			         cfg->metrics_listen, cfg->n_listen > 1 ? "a" : "the");
			return -1;
		}
		if (cfg->agent_listen && listen_spec_same(cfg->agent_listen, l)) {
			snprintf(err, errlen, "--agent-listen: %s is %s --listen address",
			         cfg->agent_listen, cfg->n_listen > 1 ? "a" : "the");
			return -1;
		}
		if (strncmp(l, "udp:", 4) == 0 && !cfg->service->serve_datagram) {
			snprintf(err, errlen,
			         "--listen %s: the service %s has no datagram form (udp: listeners "
			         "need one)",
			         l, cfg->service->name);
			return -1;
		}
	}
	if (cfg->agent_listen && cfg->metrics_listen &&
	    listen_spec_same(cfg->agent_listen, cfg->metrics_listen)) {
		snprintf(err, errlen, "--agent-listen: %s is the --metrics-listen address",
		         cfg->agent_listen);
		return -1;
	}
	if (strcmp(cfg->service->name, "http") == 0 && !cfg->http_root) {
		snprintf(err, errlen, "--service http: needs --root DIR");
		return -1;
	}
	if (cfg->core_dumps && !cfg->user) {
		snprintf(err, errlen,
		         "--core-dumps: needs --user (workers of the same user as "
		         "the master can dump core already)");
		return -1;
	}
	if (cfg->crash_loop_exit && cfg->crash_loop_limit == 0) {
		snprintf(err, errlen,
		         "--crash-loop-exit: needs a --crash-loop-limit above 0 (0 never "
		         "calls a crash loop a failure)");
		return -1;
	}
	return 0;
}

/* A switch: alone (the command line, or a key alone in the file) it is on; in the
 * file it may say yes or no, so a file can state every setting, and -T prints one. */
static int parse_switch(const char *name, const char *arg, int *on, char *err, size_t errlen)
{
	if (!arg || strcmp(arg, "yes") == 0) {
		*on = 1;
		return 0;
	}
	if (strcmp(arg, "no") == 0) {
		*on = 0;
		return 0;
	}
	snprintf(err, errlen, "%s: expected yes or no, got '%s'", name, arg);
	return -1;
}

/* --quiet and --verbose share one setting: the last one said wins, and "no" only
 * takes back its own level (so "quiet yes" then "verbose no" stays quiet). */
static void set_verbosity(struct config *cfg, int level, int on)
{
	if (on)
		cfg->verbosity = level;
	else if (cfg->verbosity == level)
		cfg->verbosity = 0;
}

/* One option, from either source: name is "--key" from the command line, "key" from
 * a file; dir is the file's directory (relative paths in a file start there), NULL
 * for the command line. */
static int set_option(struct config *cfg, int opt, const char *name, const char *arg,
                      const char *dir, char *err, size_t errlen)
{
	int on;

	switch (opt) {
	case OPT_QUEUE_WAIT:
		return parse_switch(name, arg, &cfg->queue_wait, err, errlen);
	case OPT_DAEMON:
	case OPT_CORE_DUMPS:
	case OPT_CRASH_LOOP_EXIT:
	case OPT_VERBOSE:
	case OPT_AUTOINDEX:
	case 'q':
		if (parse_switch(name, arg, &on, err, errlen) < 0)
			return -1;
		if (opt == OPT_AUTOINDEX)
			cfg->http_autoindex = on;
		else if (opt == OPT_DAEMON)
			cfg->daemonize = on;
		else if (opt == OPT_CORE_DUMPS)
			cfg->core_dumps = on;
		else if (opt == OPT_CRASH_LOOP_EXIT)
			cfg->crash_loop_exit = on;
		else
			set_verbosity(cfg, opt == 'q' ? -1 : 1, on);
		return 0;
	}
	if (!arg) {
		snprintf(err, errlen, "%s: missing value", name);
		return -1;
	}
	if (opt == OPT_USER || opt == OPT_GROUP || opt == OPT_ADMIN_GROUP) {
		if (require_name(name, arg, err, errlen) < 0)
			return -1;
		*(opt == OPT_USER    ? &cfg->user
		  : opt == OPT_GROUP ? &cfg->group
		                     : &cfg->admin_group) = arg;
		return 0;
	}
	if (opt == OPT_PIDFILE || opt == OPT_LOG || opt == OPT_ADMIN) {
		if (require_path(name, arg, err, errlen) < 0)
			return -1;
		arg = join_path(cfg, dir, arg);
		if (!arg) {
			snprintf(err, errlen, "%s: out of memory", name);
			return -1;
		}
		*(opt == OPT_PIDFILE ? &cfg->pidfile
		  : opt == OPT_LOG   ? &cfg->log_path
		                     : &cfg->admin_path) = arg;
		return 0;
	}
	if (opt == OPT_ROOT || opt == OPT_MIME_TYPES || opt == OPT_ACCESS_LOG) {
		/* Made absolute now: the workers open them after a daemon left its start
		 * directory. */
		if (require_path(name, arg, err, errlen) < 0)
			return -1;
		arg = join_path(cfg, dir, arg);
		arg = arg ? config_absolute(cfg, arg) : NULL;
		if (!arg) {
			snprintf(err, errlen, "%s: out of memory", name);
			return -1;
		}
		*(opt == OPT_ROOT         ? &cfg->http_root
		  : opt == OPT_ACCESS_LOG ? &cfg->access_log
		                          : &cfg->mime_types) = arg;
		return 0;
	}
	return parse_option(cfg, opt, name, arg, err, errlen);
}

/* ---- the configuration file ---- */

#define LONG_OPTIONS (sizeof long_options / sizeof long_options[0] - 1)

const char *config_file_key(size_t i)
{
	for (size_t k = 0; k < LONG_OPTIONS; k++) {
		if (command_line_only(long_options[k].val))
			continue;
		if (i-- == 0)
			return long_options[k].name;
	}
	return NULL;
}

struct file_ctx {
	struct config *cfg;
	const char *dir;
	unsigned seen[LONG_OPTIONS]; /* the line that set each key, 0: not yet */
};

static int apply_file_line(void *p, const struct conf_line *l, char *err, size_t errlen)
{
	struct file_ctx *f = p;

	for (size_t k = 0; k < LONG_OPTIONS; k++) {
		const struct option *o = &long_options[k];

		if (strcmp(o->name, l->key) != 0)
			continue;
		if (command_line_only(o->val)) {
			snprintf(err, errlen, "%s: allowed on the command line only", l->key);
			return -1;
		}
		/* A key said twice is a mistake (an edit that missed the first), not an
		 * override: the file is one layer, the command line the other. */
		if (f->seen[k] && o->val != OPT_LISTEN) {
			snprintf(err, errlen, "%s: already set on line %u", l->key, f->seen[k]);
			return -1;
		}
		f->seen[k] = l->line;
		if (o->has_arg == required_argument && !l->value) {
			snprintf(err, errlen, "%s: missing value", l->key);
			return -1;
		}
		return set_option(f->cfg, o->val, l->key, l->value, f->dir, err, errlen);
	}
	snprintf(err, errlen, "%s: unknown key", l->key);
	return -1;
}

int config_load_text(struct config *cfg, const char *name, const char *text, size_t len, char *err,
                     size_t errlen)
{
	struct file_ctx f = { .cfg = cfg };
	const char *kept = config_keep(cfg, name), *slash;
	char *copy = keep_bytes(cfg, text, len);

	if (!kept || !copy) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	slash = strrchr(kept, '/');
	if (slash) {
		f.dir = keep_bytes(cfg, kept, slash == kept ? 1 : (size_t)(slash - kept));
		if (!f.dir) {
			snprintf(err, errlen, "%s: out of memory", name);
			return -1;
		}
	}
	return conf_file_parse(kept, copy, len, apply_file_line, &f, err, errlen);
}

static int load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	const char *abs = config_absolute(cfg, path);
	char *text;
	size_t len;
	int rc;

	if (!abs) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (conf_file_read(abs, 1, &text, &len, err, errlen) < 0)
		return -1;
	rc = config_load_text(cfg, abs, text, len, err, errlen);
	free(text);
	cfg->config_path = abs;
	return rc;
}

/* ---- the command line ---- */

/* The first pass looks only for what decides how to read the rest: --help and
 * --version (acted on at once), the file (read before the options that override it)
 * and -t/-T. Errors are left to the second pass, which reports them in order. */
static enum config_result scan_command_line(struct config *cfg, int argc, char **argv,
                                            const char **file, char *err, size_t errlen)
{
	int opt;

	optind = 0; /* 0, not 1: glibc then also forgets a previous scan's state */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, SHORT_OPTIONS, long_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			config_usage();
			return CONFIG_EXIT;
		case 'v':
			printf("preforkd %s\n", PREFORKD_VERSION);
			return CONFIG_EXIT;
		case 'c':
			if (*file) {
				snprintf(err, errlen, "--config: given twice");
				return CONFIG_ERROR;
			}
			*file = optarg;
			if (*optarg == '\0') {
				snprintf(err, errlen, "--config: expected a path, got ''");
				return CONFIG_ERROR;
			}
			break;
		case 't':
		case 'T':
			if (cfg->action != CONFIG_RUN &&
			    cfg->action != (opt == 't' ? CONFIG_CHECK : CONFIG_PRINT)) {
				snprintf(err, errlen, "-t and -T: give one of them");
				return CONFIG_ERROR;
			}
			cfg->action = opt == 't' ? CONFIG_CHECK : CONFIG_PRINT;
			break;
		}
	}
	return CONFIG_OK;
}

static enum config_result apply_command_line(struct config *cfg, int argc, char **argv, char *err,
                                             size_t errlen)
{
	int opt, idx;

	/* 0, not 1: glibc then forgets all it kept from an earlier call (the rest of a
	 * cluster, where non-options were moved), so the command line can be parsed
	 * again on reload. */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, SHORT_OPTIONS, long_options, &idx)) != -1) {
		char name[64];

		if (opt == '?' || opt == ':') {
			parse_getopt_error(opt, argv, long_options, err, errlen);
			return CONFIG_ERROR;
		}
		if (command_line_only(opt))
			continue; /* taken by the first pass */
		/* A short option (-q) leaves idx alone: name it by its long form. */
		for (size_t k = 0; k < LONG_OPTIONS; k++)
			if (long_options[k].val == opt)
				idx = (int)k;
		snprintf(name, sizeof name, "--%s", long_options[idx].name);
		if (set_option(cfg, opt, name, optarg, NULL, err, errlen) < 0)
			return CONFIG_ERROR;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return CONFIG_ERROR;
	}
	return CONFIG_OK;
}

enum config_result config_parse(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	const char *file = NULL;
	enum config_result r;

	note_start_dir();
	cfg->argc = argc;
	cfg->argv = argv;
	cfg->loaded = time(NULL);
	r = scan_command_line(cfg, argc, argv, &file, err, errlen);
	if (r != CONFIG_OK)
		return r;
	if (file && load_file(cfg, file, err, errlen) < 0)
		return CONFIG_ERROR;
	r = apply_command_line(cfg, argc, argv, err, errlen);
	if (r != CONFIG_OK)
		return r;
	return config_validate(cfg, err, errlen) < 0 ? CONFIG_ERROR : CONFIG_OK;
}
