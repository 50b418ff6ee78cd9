/* Option parsing for preforkd. Every bad value is reported as one line naming the
 * option and the value; the caller exits 2. Nothing here touches the system beyond
 * sysconf(), so the unit tests can drive it with argument vectors. */
#include "config.h"

#include "addr.h"
#include "parse.h"
#include "service.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum {
	OPT_LISTEN = 256,
	OPT_WORKERS,
	OPT_BACKLOG,
	OPT_SERVICE,
	OPT_IDLE_TIMEOUT,
	OPT_FIRST_BYTE_TIMEOUT,
	OPT_GRACE,
	OPT_PIDFILE,
	OPT_LOG,
	OPT_LOG_FORMAT,
	OPT_ADMIN,
	OPT_WORKER_TIMEOUT,
	OPT_MAX_REQUESTS,
	OPT_MAX_REQUESTS_JITTER,
	OPT_MIN_UPTIME,
	OPT_DEFER_ACCEPT,
	OPT_DAEMON,
	OPT_USER,
	OPT_GROUP,
	OPT_CORE_DUMPS,
	OPT_VERSION,
};

static const struct option long_options[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "backlog", required_argument, NULL, OPT_BACKLOG },
	{ "service", required_argument, NULL, OPT_SERVICE },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "first-byte-timeout", required_argument, NULL, OPT_FIRST_BYTE_TIMEOUT },
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "admin", required_argument, NULL, OPT_ADMIN },
	{ "worker-timeout", required_argument, NULL, OPT_WORKER_TIMEOUT },
	{ "max-requests", required_argument, NULL, OPT_MAX_REQUESTS },
	{ "max-requests-jitter", required_argument, NULL, OPT_MAX_REQUESTS_JITTER },
	{ "min-uptime", required_argument, NULL, OPT_MIN_UPTIME },
	{ "defer-accept", required_argument, NULL, OPT_DEFER_ACCEPT },
	{ "daemon", no_argument, NULL, OPT_DAEMON },
	{ "user", required_argument, NULL, OPT_USER },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "core-dumps", no_argument, NULL, OPT_CORE_DUMPS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

void config_defaults(struct config *cfg)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof *cfg);
	cfg->listen = "127.0.0.1:7777";
	cfg->workers = cpus < 1 ? 1 : cpus > WORKERS_MAX ? WORKERS_MAX : cpus;
	cfg->backlog = 511;
	cfg->service = &service_echo;
	cfg->idle_timeout = 30;
	cfg->first_byte_timeout = 2;
	cfg->grace = 10;
	cfg->worker_timeout = 60;
	cfg->min_uptime = 1;
	cfg->defer_accept = 5;
}

void config_usage(void)
{
	printf("Usage: preforkd [OPTION]...\n"
	       "A prefork TCP server: a master process listens, forks workers that compete on\n"
	       "accept(), supervises them and reports stats on a Unix admin socket.\n"
	       "\n"
	       "  --listen HOST:PORT      address to listen on: IPv4, [IPv6]:PORT or a hostname;\n"
	       "                          port 0 picks a free port (default 127.0.0.1:7777)\n"
	       "  --workers N             worker processes, 1..%d (default: online CPUs)\n"
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
	       "  --worker-timeout SECONDS  kill a busy worker that makes no progress for this\n"
	       "                          long; 0 = never, else more than --idle-timeout and\n"
	       "                          --first-byte-timeout (default 60)\n"
	       "  --max-requests N        a worker retires after N connections; 0 = never\n"
	       "                          (default 0)\n"
	       "  --max-requests-jitter N add 0..N to each worker's --max-requests (default 0)\n"
	       "  --min-uptime SECONDS    in a crash loop (workers that die before accepting, or\n"
	       "                          exit on their own having served nothing), a new worker\n"
	       "                          up this long ends the back-off of 100 ms doubling to\n"
	       "                          30 s (default 1)\n"
	       "  --defer-accept SECONDS  TCP_DEFER_ACCEPT: wake a worker only once the client\n"
	       "                          has sent data, for up to SECONDS; 0 = off (default 5)\n"
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
	       "  -q, --quiet             log warnings and errors only\n"
	       "  -v, --verbose           log debug detail too\n"
	       "  -h, --help              show this help and exit\n"
	       "      --version           show the version and exit\n"
	       "\n"
	       "The pidfile, the log, the admin socket and their instance locks (PATH.lock,\n"
	       "kept) are never opened through a symlink, and every directory on their path\n"
	       "must be owned by root or the master's euid and not writable by others (a\n"
	       "sticky directory such as /tmp is allowed); else start-up is refused.\n"
	       "\n"
	       "Signals to the master: TERM/INT graceful stop, QUIT fast stop, HUP rolling\n"
	       "restart of every worker, TTIN/TTOU one worker more/fewer, USR1 reopen the log.\n"
	       "Under systemd (Type=notify), readiness, reloads, stopping and the worker count\n"
	       "are reported to NOTIFY_SOCKET.\n",
	       WORKERS_MAX, service_names());
}

static int parse_log_format(const char *name, const char *arg, enum log_format *format,
			    char *err, size_t errlen)
{
	static const char *const forms[] = { [LOG_FORMAT_AUTO] = "auto",
					     [LOG_FORMAT_PLAIN] = "plain",
					     [LOG_FORMAT_JOURNAL] = "journal" };

	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		if (strcmp(arg, forms[i]) == 0) {
			*format = (enum log_format)i;
			return 0;
		}
	}
	snprintf(err, errlen, "%s: expected auto, plain or journal, got '%s'", name, arg);
	return -1;
}

static int parse_option(struct config *cfg, int opt, const char *name, const char *arg,
			char *err, size_t errlen)
{
	struct host_port hp;
	char why[256];

	switch (opt) {
	case OPT_LISTEN:
		if (addr_split(arg, &hp, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s: %s", name, why);
			return -1;
		}
		cfg->listen = arg;
		return 0;
	case OPT_WORKERS:
		return parse_long(name, arg, 1, WORKERS_MAX, &cfg->workers, err, errlen);
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
	case OPT_WORKER_TIMEOUT:
		return parse_seconds(name, arg, 0, 86400, &cfg->worker_timeout, err, errlen);
	case OPT_MIN_UPTIME:
		return parse_seconds(name, arg, 0, 3600, &cfg->min_uptime, err, errlen);
	case OPT_MAX_REQUESTS:
		return parse_long(name, arg, 0, 1000000000, &cfg->max_requests, err, errlen);
	case OPT_MAX_REQUESTS_JITTER:
		return parse_long(name, arg, 0, 1000000000, &cfg->max_requests_jitter, err,
				  errlen);
	case OPT_DEFER_ACCEPT:
		return parse_long(name, arg, 0, 3600, &cfg->defer_accept, err, errlen);
	case OPT_LOG_FORMAT:
		return parse_log_format(name, arg, &cfg->log_format, err, errlen);
	}
	return 0;
}

static int require_path(const char *name, const char *arg, char *err, size_t errlen)
{
	if (*arg == '\0') {
		snprintf(err, errlen, "%s: expected a path, got ''", name);
		return -1;
	}
	return 0;
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
	const struct {
		const char *name;
		double seconds;
	} waits[] = {
		{ "--idle-timeout", cfg->idle_timeout },
		{ "--first-byte-timeout", cfg->first_byte_timeout },
	};

	if (cfg->worker_timeout == 0)
		return 0;
	for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
		if (cfg->worker_timeout > waits[i].seconds)
			continue;
		snprintf(err, errlen,
			 "--worker-timeout (%g s) must be 0 or greater than %s (%g s): a "
			 "connection waiting within %s would get its worker killed",
			 cfg->worker_timeout, waits[i].name, waits[i].seconds, waits[i].name);
		return -1;
	}
	return 0;
}

enum config_result config_parse(struct config *cfg, int argc, char **argv, char *err,
				size_t errlen)
{
	int opt, idx;

	/* 0, not 1: glibc then forgets all it kept from an earlier call (the rest of a
	 * cluster, where non-options were moved), so the command line can be parsed
	 * again on reload. */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":qvh", long_options, &idx)) != -1) {
		char name[64];

		if (opt == '?' || opt == ':') {
			parse_getopt_error(opt, argv, long_options, err, errlen);
			return CONFIG_ERROR;
		}
		if (opt == 'h') {
			config_usage();
			return CONFIG_EXIT;
		}
		if (opt == OPT_VERSION) {
			printf("preforkd %s\n", PREFORKD_VERSION);
			return CONFIG_EXIT;
		}
		if (opt == 'q' || opt == 'v') {
			cfg->verbosity = opt == 'q' ? -1 : 1;
			continue;
		}
		if (opt == OPT_DAEMON || opt == OPT_CORE_DUMPS) {
			*(opt == OPT_DAEMON ? &cfg->daemonize : &cfg->core_dumps) = 1;
			continue;
		}
		snprintf(name, sizeof name, "--%s", long_options[idx].name);
		if (opt == OPT_USER || opt == OPT_GROUP) {
			if (require_name(name, optarg, err, errlen) < 0)
				return CONFIG_ERROR;
			*(opt == OPT_USER ? &cfg->user : &cfg->group) = optarg;
			continue;
		}
		if (opt == OPT_PIDFILE || opt == OPT_LOG || opt == OPT_ADMIN) {
			if (require_path(name, optarg, err, errlen) < 0)
				return CONFIG_ERROR;
			*(opt == OPT_PIDFILE ? &cfg->pidfile :
			  opt == OPT_LOG     ? &cfg->log_path :
					       &cfg->admin_path) = optarg;
			continue;
		}
		if (parse_option(cfg, opt, name, optarg, err, errlen) < 0)
			return CONFIG_ERROR;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return CONFIG_ERROR;
	}
	if (cfg->group && !cfg->user) {
		snprintf(err, errlen, "--group: needs --user");
		return CONFIG_ERROR;
	}
	if (check_worker_timeout(cfg, err, errlen) < 0)
		return CONFIG_ERROR;
	if (cfg->core_dumps && !cfg->user) {
		snprintf(err, errlen, "--core-dumps: needs --user (workers of the same user as "
				      "the master can dump core already)");
		return CONFIG_ERROR;
	}
	return CONFIG_OK;
}
