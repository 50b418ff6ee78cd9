/* Unit tests: preforkd's option parsing, valid and invalid. */
#include "config.h"
#include "service.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ARGV(...) ((char *[]){ "preforkd", __VA_ARGS__, NULL })
#define ARGC(v) ((int)(sizeof(v) / sizeof((v)[0])) - 1)

static enum config_result parse(struct config *cfg, char **argv, char *err, size_t len)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	config_defaults(cfg);
	err[0] = '\0';
	return config_parse(cfg, argc, argv, err, len);
}

static void test_defaults(void)
{
	struct config cfg;
	char err[256];
	char *argv[] = { "preforkd", NULL };

	CHECK(parse(&cfg, argv, err, sizeof err) == CONFIG_OK, "no options is valid");
	CHECK(cfg.n_listen == 0 && strcmp(CONFIG_LISTEN_DEFAULT, "127.0.0.1:7777") == 0,
	      "no listen given: the default 127.0.0.1:7777 (unless sockets are inherited)");
	CHECK(cfg.workers >= 1 && cfg.workers <= WORKERS_MAX, "default workers is the CPU count");
	CHECK(cfg.backlog == 511, "default backlog is 511");
	CHECK(cfg.service == &service_echo, "default service is echo");
	CHECK(cfg.idle_timeout == 30 && cfg.grace == 10, "default idle timeout 30, grace 10");
	CHECK(cfg.first_byte_timeout == 2 && cfg.worker_timeout == 60,
	      "default first-byte timeout 2, worker timeout 60");
}

static void test_valid(void)
{
	struct config cfg;
	char err[256];

	CHECK(parse(&cfg,
	            ARGV("--listen", "[::1]:0", "--workers", "8", "--backlog", "128", "--service",
	                 "echo", "--idle-timeout", "0.5", "--grace", "0", "--pidfile", "p", "--log",
	                 "l", "--admin", "a", "--max-requests", "5", "--max-requests-jitter", "2",
	                 "--worker-timeout", "0", "--min-uptime", "0.2", "--defer-accept", "0",
	                 "-q"),
	            err, sizeof err) == CONFIG_OK,
	      "every option with a valid value is accepted (%s)", err);
	CHECK(cfg.workers == 8 && cfg.backlog == 128 && cfg.idle_timeout == 0.5 &&
	              cfg.max_requests == 5 && cfg.max_requests_jitter == 2 && cfg.verbosity == -1,
	      "values are stored");
	CHECK(strcmp(cfg.pidfile, "p") == 0 && strcmp(cfg.log_path, "l") == 0 &&
	              strcmp(cfg.admin_path, "a") == 0,
	      "paths are stored");
}

static void test_invalid(void)
{
	static const struct {
		const char *opt, *value, *expect;
	} cases[] = {
		{ "--workers", "abc", "--workers: expected an integer 1..1024, got 'abc'" },
		{ "--workers", "0", "--workers: expected an integer 1..1024, got '0'" },
		{ "--workers", "1025", "got '1025'" },
		{ "--backlog", "-5", "--backlog: expected an integer 1..65535, got '-5'" },
		{ "--listen", "nonsense", "--listen: expected HOST:PORT" },
		{ "--listen", "127.0.0.1:99999", "--listen: expected HOST:PORT" },
		{ "--service", "gopher", "--service: expected one of: echo, http, got 'gopher'" },
		{ "--idle-timeout", "0", "--idle-timeout: expected seconds" },
		{ "--grace", "soon", "--grace: expected seconds" },
		{ "--pidfile", "", "--pidfile: expected a path, got ''" },
		{ "--max-requests", "-1", "--max-requests: expected an integer" },
	};
	struct config cfg;
	char err[256];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *argv[] = { "preforkd", (char *)cases[i].opt, (char *)cases[i].value, NULL };

		CHECK(parse(&cfg, argv, err, sizeof err) == CONFIG_ERROR &&
		              strstr(err, cases[i].expect),
		      "%s '%s' is rejected: %s", cases[i].opt, cases[i].value, err);
	}
	CHECK(parse(&cfg, ARGV("--frobnicate"), err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "--frobnicate: unknown option"),
	      "an unknown option is named");
	CHECK(parse(&cfg, ARGV("--workers"), err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "--workers: missing value"),
	      "a missing value is named");
	CHECK(parse(&cfg, ARGV("stray"), err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "unexpected argument 'stray'"),
	      "a stray argument is rejected");
}

static void test_daemon_and_user(void)
{
	static const char *const bad_names[] = { "",     "-x",
		                                 "a b",  "root:root",
		                                 "../x", "abcdefghijklmnopqrstuvwxyz0123456" };
	struct config cfg;
	char err[256];

	CHECK(parse(&cfg, ARGV("--listen", "127.0.0.1:0"), err, sizeof err) == CONFIG_OK &&
	              !cfg.daemonize && !cfg.user && !cfg.group,
	      "no --daemon, --user or --group by default");
	CHECK(parse(&cfg, ARGV("--daemon", "--user", "nobody", "--group", "nogroup"), err,
	            sizeof err) == CONFIG_OK &&
	              cfg.daemonize && strcmp(cfg.user, "nobody") == 0 &&
	              strcmp(cfg.group, "nogroup") == 0,
	      "--daemon, --user and --group are stored (%s)", err);
	CHECK(parse(&cfg, ARGV("--user", "65534"), err, sizeof err) == CONFIG_OK,
	      "a numeric --user is accepted");
	CHECK(parse(&cfg, ARGV("--daemon", "yes"), err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "unexpected argument 'yes'"),
	      "--daemon takes no value");
	CHECK(parse(&cfg, ARGV("--group", "nogroup"), err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "--group: needs --user"),
	      "--group without --user is rejected: %s", err);
	for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
		char *argv[] = { "preforkd", "--user", (char *)bad_names[i], NULL };

		CHECK(parse(&cfg, argv, err, sizeof err) == CONFIG_ERROR &&
		              strstr(err, "--user: expected a user or group name, got '"),
		      "--user '%s' is rejected: %s", bad_names[i], err);
	}
	CHECK(parse(&cfg, ARGV("--user", "nobody", "--group", "a/b"), err, sizeof err) ==
	                      CONFIG_ERROR &&
	              strstr(err, "--group: expected a user or group name, got 'a/b'"),
	      "a malformed --group is rejected: %s", err);
	CHECK(parse(&cfg, ARGV("--user"), err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "--user: missing value"),
	      "--user needs a value");
}

static void test_crash_loop_and_admin_group(void)
{
	struct config cfg;
	char err[256];

	CHECK(parse(&cfg, ARGV("--listen", "127.0.0.1:0"), err, sizeof err) == CONFIG_OK &&
	              cfg.crash_loop_limit == 60 && !cfg.crash_loop_exit && !cfg.admin_group,
	      "--crash-loop-limit 60, no --crash-loop-exit and no --admin-group by default");
	CHECK(parse(&cfg,
	            ARGV("--crash-loop-limit", "0.5", "--crash-loop-exit", "--admin-group",
	                 "monitoring"),
	            err, sizeof err) == CONFIG_OK &&
	              cfg.crash_loop_limit == 0.5 && cfg.crash_loop_exit &&
	              strcmp(cfg.admin_group, "monitoring") == 0,
	      "--crash-loop-limit, --crash-loop-exit and --admin-group are stored (%s)", err);
	CHECK(parse(&cfg, ARGV("--crash-loop-limit", "0"), err, sizeof err) == CONFIG_OK &&
	              cfg.crash_loop_limit == 0,
	      "--crash-loop-limit 0 (never) is accepted");
	CHECK(parse(&cfg, ARGV("--crash-loop-limit", "0", "--crash-loop-exit"), err, sizeof err) ==
	                      CONFIG_ERROR &&
	              strstr(err, "--crash-loop-exit: needs a --crash-loop-limit above 0"),
	      "--crash-loop-exit without a limit is rejected: %s", err);
	CHECK(parse(&cfg, ARGV("--crash-loop-limit", "86401"), err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "--crash-loop-limit"),
	      "--crash-loop-limit above a day is rejected: %s", err);
	CHECK(parse(&cfg, ARGV("--admin-group", "a b"), err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "--admin-group: expected a user or group name, got 'a b'"),
	      "a malformed --admin-group is rejected: %s", err);
}

static void test_worker_timeout_rule(void)
{
	struct config cfg;
	char err[256];

	CHECK(parse(&cfg, ARGV("--worker-timeout", "10"), err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "--worker-timeout (10 s) must be 0 or greater than "
	                          "--idle-timeout (30 s)"),
	      "--worker-timeout below the default --idle-timeout is refused: %s", err);
	CHECK(parse(&cfg, ARGV("--idle-timeout", "5", "--worker-timeout", "5"), err, sizeof err) ==
	                      CONFIG_ERROR &&
	              strstr(err, "--idle-timeout (5 s)"),
	      "--worker-timeout equal to --idle-timeout is refused: %s", err);
	CHECK(parse(&cfg,
	            ARGV("--idle-timeout", "1", "--first-byte-timeout", "3", "--worker-timeout",
	                 "2"),
	            err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "--first-byte-timeout (3 s)"),
	      "--worker-timeout below --first-byte-timeout is refused: %s", err);
	CHECK(parse(&cfg,
	            ARGV("--idle-timeout", "0.5", "--first-byte-timeout", "0.5", "--pressure-idle",
	                 "0.5", "--worker-timeout", "1"),
	            err, sizeof err) == CONFIG_OK,
	      "--worker-timeout above every wait is accepted: %s", err);
	CHECK(parse(&cfg,
	            ARGV("--idle-timeout", "1", "--first-byte-timeout", "1", "--pressure-idle", "2",
	                 "--worker-timeout", "2"),
	            err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "greater than --pressure-idle (2 s)"),
	      "--worker-timeout not above --pressure-idle is refused: %s", err);
	CHECK(parse(&cfg,
	            ARGV("--idle-timeout", "1", "--first-byte-timeout", "1", "--pressure-idle", "0",
	                 "--worker-timeout", "2"),
	            err, sizeof err) == CONFIG_OK &&
	              cfg.pressure_idle == 0,
	      "--pressure-idle 0 (never evict) goes with any --worker-timeout: %s", err);
	CHECK(parse(&cfg, ARGV("--pressure-idle", "-1"), err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "--pressure-idle: expected seconds"),
	      "a negative --pressure-idle is refused: %s", err);
	CHECK(parse(&cfg, ARGV("--idle-timeout", "100", "--worker-timeout", "0"), err,
	            sizeof err) == CONFIG_OK,
	      "--worker-timeout 0 (never) goes with any wait: %s", err);
	CHECK(parse(&cfg, ARGV("--first-byte-timeout", "0"), err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "--first-byte-timeout: expected seconds"),
	      "--first-byte-timeout 0 is refused: %s", err);
	CHECK(parse(&cfg, ARGV("--first-byte-timeout", "0.25"), err, sizeof err) == CONFIG_OK &&
	              cfg.first_byte_timeout == 0.25,
	      "--first-byte-timeout is stored");
}

/* Starts getopt afresh, so that each case below begins from a clean state. */
static void reset_getopt(void)
{
	char *argv[] = { "x", NULL };

	optind = 0;
	while (getopt(1, argv, "") != -1)
		;
}

/* A later reload parses the command line again: nothing of the first call's getopt
 * state may leak into the second, whatever the first one ended on. */
static void test_parse_twice(void)
{
	static char *const first[][5] = {
		{ "preforkd", "-xq", NULL },                     /* refused inside a cluster */
		{ "preforkd", "stray", "--workers", "2", NULL }, /* a non-option permuted */
		{ "preforkd", "-qq", "--grace", "2", NULL },     /* a clean parse */
	};
	char *none[] = { "preforkd", NULL };
	struct config cfg;
	char err[256];

	for (size_t i = 0; i < sizeof first / sizeof first[0]; i++) {
		char *argv[5];

		memcpy(argv, first[i], sizeof argv);
		reset_getopt();
		parse(&cfg, argv, err, sizeof err);
		CHECK(parse(&cfg, ARGV("--workers", "3", "--idle-timeout", "4"), err, sizeof err) ==
		                      CONFIG_OK &&
		              cfg.workers == 3 && cfg.idle_timeout == 4 && cfg.verbosity == 0 &&
		              cfg.grace == 10,
		      "a second config_parse after '%s%s%s' reads only its own arguments (%s)",
		      first[i][1], first[i][2] ? " " : "", first[i][2] ? first[i][2] : "", err);
	}
	/* with getopt's old state, this one read past the end of its argv */
	reset_getopt();
	parse(&cfg, ARGV("-xq"), err, sizeof err);
	CHECK(parse(&cfg, none, err, sizeof err) == CONFIG_OK && cfg.verbosity == 0,
	      "a second config_parse with no option at all gives the defaults (%s)", err);
	CHECK(parse(&cfg, ARGV("--verbose", "--workers", "5"), err, sizeof err) == CONFIG_OK &&
	              parse(&cfg, ARGV("--verbose", "--workers", "5"), err, sizeof err) ==
	                      CONFIG_OK &&
	              cfg.workers == 5 && cfg.verbosity == 1,
	      "the same command line parsed twice gives the same configuration");
}

static void test_listeners(void)
{
	struct config cfg;
	char err[256];

	CHECK(parse(&cfg,
	            ARGV("--listen", "127.0.0.1:0", "--listen", "[::1]:0", "--listen",
	                 "unix:/run/p.sock"),
	            err, sizeof err) == CONFIG_OK &&
	              cfg.n_listen == 3 && strcmp(cfg.listen[0], "127.0.0.1:0") == 0 &&
	              strcmp(cfg.listen[2], "unix:/run/p.sock") == 0,
	      "--listen adds: a second one no longer replaces the first (%s)", err);
	CHECK(parse(&cfg, ARGV("--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0"), err,
	            sizeof err) == CONFIG_OK,
	      "port 0 twice is two ports");
	CHECK(parse(&cfg, ARGV("--listen", "127.0.0.1:80", "--listen", "127.0.0.1:80"), err,
	            sizeof err) == CONFIG_ERROR &&
	              strstr(err, "--listen: 127.0.0.1:80 is given twice"),
	      "the same address twice is refused: %s", err);
	CHECK(parse(&cfg, ARGV("--listen", "unix:/a", "--listen", "unix:/a"), err, sizeof err) ==
	                      CONFIG_ERROR &&
	              strstr(err, "given twice"),
	      "the same Unix path twice is refused");
	CHECK(parse(&cfg, ARGV("--listen", "unix:relative"), err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "absolute path"),
	      "a relative unix: path is refused: %s", err);
	CHECK(parse(&cfg, ARGV("--service", "http", "--root", "/", "--listen", "udp:127.0.0.1:0"),
	            err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "udp:127.0.0.1:0") && strstr(err, "http"),
	      "udp: with a service without a datagram form names both: %s", err);
	CHECK(parse(&cfg, ARGV("--listen", "127.0.0.1:9000", "--metrics-listen", "127.0.0.1:9000"),
	            err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "--metrics-listen"),
	      "--metrics-listen on a --listen address is refused");
	CHECK(parse(&cfg,
	            ARGV("--listen", "127.0.0.1:1", "--listen", "127.0.0.1:9000", "--agent-listen",
	                 "127.0.0.1:9000"),
	            err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "--agent-listen"),
	      "--agent-listen is compared with every listener, not the first only");
	CHECK(parse(&cfg, ARGV("--unix-mode", "0600", "--unix-owner", "www:www"), err,
	            sizeof err) == CONFIG_OK &&
	              cfg.unix_mode == 0600 && strcmp(cfg.unix_owner, "www:www") == 0,
	      "--unix-mode and --unix-owner are stored");
	CHECK(parse(&cfg, ARGV("--unix-mode", "0999"), err, sizeof err) == CONFIG_ERROR &&
	              parse(&cfg, ARGV("--unix-mode", "660"), err, sizeof err) == CONFIG_ERROR,
	      "--unix-mode is octal with a leading 0");
	{
		char *argv[2 + 2 * (LISTENERS_MAX + 1)];
		char specs[LISTENERS_MAX + 1][32];
		int n = 0;

		argv[n++] = "preforkd";
		for (int i = 0; i <= LISTENERS_MAX; i++) {
			snprintf(specs[i], sizeof specs[i], "127.0.0.1:%d", 9000 + i);
			argv[n++] = "--listen";
			argv[n++] = specs[i];
		}
		argv[n] = NULL;
		CHECK(parse(&cfg, argv, err, sizeof err) == CONFIG_ERROR &&
		              strstr(err, "more than 16 listeners"),
		      "one more than LISTENERS_MAX is refused: %s", err);
	}
}

int main(void)
{
	test_listeners();
	test_worker_timeout_rule();
	test_defaults();
	test_valid();
	test_invalid();
	test_daemon_and_user();
	test_crash_loop_and_admin_group();
	test_parse_twice();
	return unit_done();
}
