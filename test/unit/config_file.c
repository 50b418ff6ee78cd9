/* Unit tests: the configuration file (syntax, keys, errors naming file, line and
 * key), its order with the command line, -T's output read back, and what a reload
 * keeps, applies or refuses. */
#include "conf_file.h"
#include "config.h"
#include "config_print.h"
#include "config_reload.h"
#include "log.h"
#include "strbuf.h"
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARGV(...) ((char *[]){ "preforkd", __VA_ARGS__, NULL })

static char dir[] = "/tmp/preforkd-unit-config.XXXXXX";

static int argc_of(char **argv)
{
	int n = 0;

	while (argv[n])
		n++;
	return n;
}

/* Loads text as the file "/etc/p/test.conf" over the defaults. */
static int load(struct config *cfg, const char *text, char *err, size_t len)
{
	config_release(cfg);
	config_defaults(cfg);
	err[0] = '\0';
	return config_load_text(cfg, "/etc/p/test.conf", text, strlen(text), err, len);
}

static enum config_result parse_args(struct config *cfg, char **argv, char *err, size_t len)
{
	return config_parse(cfg, argc_of(argv), argv, err, len);
}

static const char *write_file(const char *name, const char *text)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ % 4];
	FILE *f;

	snprintf(p, sizeof path[0], "%s/%s", dir, name);
	f = fopen(p, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		perror(p);
	if (chmod(p, 0644) < 0)
		perror(p);
	return p;
}

static void test_syntax(void)
{
	struct config cfg = { 0 };
	char err[512];

	CHECK(load(&cfg,
	           "# a comment\n\n   \t\nworkers 3\n  listen\t127.0.0.1:0   # trailing\n"
	           "idle-timeout 0.5\r\ndaemon\nverbose yes\n",
	           err, sizeof err) == 0,
	      "comments, blank lines, blanks around, CRLF and a trailing comment (%s)", err);
	CHECK(cfg.workers == 3 && cfg.n_listen == 1 && strcmp(cfg.listen[0], "127.0.0.1:0") == 0 &&
	              cfg.idle_timeout == 0.5 && cfg.daemonize && cfg.verbosity == 1,
	      "the values are stored");
	CHECK(load(&cfg, "log /var/log/a#b.log\n", err, sizeof err) == 0 &&
	              strcmp(cfg.log_path, "/var/log/a#b.log") == 0,
	      "a '#' inside a word is part of it");
	CHECK(load(&cfg, "pidfile my dir/p.pid\n", err, sizeof err) == 0 &&
	              strcmp(cfg.pidfile, "/etc/p/my dir/p.pid") == 0,
	      "a value runs to the end of the line, blanks inside kept");
	CHECK(load(&cfg, "workers 2", err, sizeof err) == 0 && cfg.workers == 2,
	      "the last line needs no newline");
	config_release(&cfg);
}

static void test_errors(void)
{
	static const struct {
		const char *text, *expect;
	} cases[] = {
		{ "workers 2\nbacklog x\n",
		  "/etc/p/test.conf:2: backlog: expected an integer 1..65535, got 'x'" },
		{ "\n\nfrobnicate 1\n", "/etc/p/test.conf:3: frobnicate: unknown key" },
		{ "workers\n", "/etc/p/test.conf:1: workers: missing value" },
		{ "workers 2\nlisten 127.0.0.1:0\nworkers 3\n",
		  "/etc/p/test.conf:3: workers: already set on line 1" },
		{ "config /x\n", "/etc/p/test.conf:1: config: allowed on the command line only" },
		{ "help\n", "/etc/p/test.conf:1: help: allowed on the command line only" },
		{ "daemon maybe\n", "/etc/p/test.conf:1: daemon: expected yes or no, got 'maybe'" },
		{ "Workers 2\n", "/etc/p/test.conf:1: expected 'key value'" },
		{ "--workers 2\n", "/etc/p/test.conf:1: expected 'key value'" },
		{ "workers=2\n", "/etc/p/test.conf:1: expected 'key value'" },
		{ "log a\001b\n", "/etc/p/test.conf:1: log: control character in the value" },
		{ "listen nowhere\n", "/etc/p/test.conf:1: listen: expected HOST:PORT" },
		{ "user root:root\n", "/etc/p/test.conf:1: user: expected a user or group name" },
		{ "service gopher\n",
		  "/etc/p/test.conf:1: service: expected one of: echo, http, got 'gopher'" },
	};
	struct config cfg = { 0 };
	char err[512];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CHECK(load(&cfg, cases[i].text, err, sizeof err) < 0 &&
		              strncmp(err, cases[i].expect, strlen(cases[i].expect)) == 0,
		      "refused, naming file, line and key: %s", err);
	{
		char text[] = "workers 2\nlog a\0b\n";

		config_release(&cfg);
		config_defaults(&cfg);
		CHECK(config_load_text(&cfg, "/etc/p/test.conf", text, sizeof text - 1, err,
		                       sizeof err) < 0 &&
		              strcmp(err, "/etc/p/test.conf:2: NUL byte in the line") == 0,
		      "a NUL byte is refused: %s", err);
	}
	{
		char *big = malloc(CONF_LINE_MAX + 16);

		memset(big, 'a', CONF_LINE_MAX + 8);
		memcpy(big, "log /", 5);
		big[CONF_LINE_MAX + 8] = '\0';
		CHECK(big && load(&cfg, big, err, sizeof err) < 0 &&
		              strstr(err, ":1: line longer than"),
		      "a line longer than %d bytes is refused", CONF_LINE_MAX);
		free(big);
	}
	config_release(&cfg);
}

static void test_paths_and_switches(void)
{
	struct config cfg = { 0 };
	char err[512];

	CHECK(load(&cfg, "pidfile run/p.pid\nlog /var/log/p.log\nadmin ../a.sock\n", err,
	           sizeof err) == 0,
	      "paths load (%s)", err);
	CHECK(strcmp(cfg.pidfile, "/etc/p/run/p.pid") == 0 &&
	              strcmp(cfg.log_path, "/var/log/p.log") == 0 &&
	              strcmp(cfg.admin_path, "/etc/p/../a.sock") == 0,
	      "relative paths start at the file's directory");
	CHECK(load(&cfg, "quiet yes\nverbose no\n", err, sizeof err) == 0 && cfg.verbosity == -1,
	      "'verbose no' does not undo 'quiet yes'");
	CHECK(load(&cfg, "quiet\nverbose\n", err, sizeof err) == 0 && cfg.verbosity == 1,
	      "of quiet and verbose, the last wins");
	CHECK(load(&cfg, "daemon no\ncore-dumps no\n", err, sizeof err) == 0 && !cfg.daemonize &&
	              !cfg.core_dumps,
	      "a switch may say no");
	config_release(&cfg);
}

static void test_keys_match_options(void)
{
	size_t i = 0;
	int same = 1;

	for (; config_file_key(i); i++)
		if (!config_keys[i].name || strcmp(config_keys[i].name, config_file_key(i)) != 0)
			same = 0;
	CHECK(same && !config_keys[i].name,
	      "-T's key table lists every option a file accepts, in --help's order");
	CHECK(config_file_key(0) && strcmp(config_file_key(0), "listen") == 0,
	      "the first file key is listen");
}

static void test_command_line_over_file(void)
{
	const char *file =
		write_file("order.conf", "workers 3\nlisten 127.0.0.1:0\nidle-timeout 9\n"
	                                 "log rel.log\n");
	struct config cfg;
	char err[512];

	config_defaults(&cfg);
	CHECK(parse_args(&cfg, ARGV("-c", (char *)file, "--workers", "5", "--listen", "[::1]:0"),
	                 err, sizeof err) == CONFIG_OK,
	      "-c FILE with options over it (%s)", err);
	CHECK(cfg.workers == 5 && cfg.n_listen == 1 && strcmp(cfg.listen[0], "[::1]:0") == 0 &&
	              cfg.idle_timeout == 9,
	      "the command line wins, the file fills the rest");
	CHECK(cfg.config_path && strcmp(cfg.config_path, file) == 0, "the file's path is kept");
	CHECK(cfg.log_path && strncmp(cfg.log_path, dir, strlen(dir)) == 0,
	      "a relative path in the file is under the file's directory: %s", cfg.log_path);
	config_release(&cfg);

	config_defaults(&cfg);
	CHECK(parse_args(&cfg, ARGV("--workers", "5", "--config", (char *)file, "-T"), err,
	                 sizeof err) == CONFIG_OK &&
	              cfg.workers == 5 && cfg.action == CONFIG_PRINT,
	      "the file is read first wherever --config stands; -T is noted");
	config_release(&cfg);

	config_defaults(&cfg);
	CHECK(parse_args(&cfg, ARGV("-c", (char *)file, "-c", (char *)file), err, sizeof err) ==
	                      CONFIG_ERROR &&
	              strstr(err, "--config: given twice"),
	      "--config twice is refused");
	config_release(&cfg);

	config_defaults(&cfg);
	CHECK(parse_args(&cfg, ARGV("-t", "-T"), err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "-t and -T"),
	      "-t and -T together are refused");
	config_release(&cfg);

	config_defaults(&cfg);
	CHECK(parse_args(&cfg, ARGV("-c", "/nonexistent/p.conf"), err, sizeof err) ==
	                      CONFIG_ERROR &&
	              strstr(err, "/nonexistent/p.conf"),
	      "a missing file is named: %s", err);
	config_release(&cfg);

	file = write_file("rule.conf", "worker-timeout 5\n");
	config_defaults(&cfg);
	CHECK(parse_args(&cfg, ARGV("-c", (char *)file, "--idle-timeout", "10"), err, sizeof err) ==
	                      CONFIG_ERROR &&
	              strstr(err,
	                     "--worker-timeout (5 s) must be 0 or greater than --idle-timeout"),
	      "the rules between options apply to file and command line together: %s", err);
	config_release(&cfg);

	/* The same argv again: config_parse starts getopt afresh each time. */
	for (int round = 0; round < 2; round++) {
		config_defaults(&cfg);
		CHECK(parse_args(&cfg, ARGV("-q", "--workers=4"), err, sizeof err) == CONFIG_OK &&
		              cfg.workers == 4 && cfg.verbosity == -1,
		      "config_parse is re-callable (round %d)", round + 1);
		config_release(&cfg);
	}
}

static void test_strict_file(void)
{
	const char *file = write_file("open.conf", "workers 2\n");
	struct config cfg;
	char err[512];

	if (chmod(file, 0666) < 0)
		perror(file);
	config_defaults(&cfg);
	CHECK(parse_args(&cfg, ARGV("-c", (char *)file), err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "is writable by group or others"),
	      "a file others may change is refused: %s", err);
	config_release(&cfg);
}

/* -T's output, read back as a file, prints the same. */
static void test_print_round_trip(void)
{
	struct config cfg = { 0 }, again = { 0 };
	struct strbuf once = { 0 }, twice = { 0 };
	char err[512];

	CHECK(load(&cfg,
	           "listen [::1]:0\nworkers 7\nbacklog 9\nidle-timeout 0.1\nfirst-byte-timeout "
	           "0.05\ngrace 0\npidfile p.pid\nlog /l.log\nadmin a.sock\nworker-timeout 0.3\n"
	           "max-requests 5\nmax-requests-jitter 1\nmin-uptime 0.25\ndefer-accept 0\n"
	           "daemon yes\nuser nobody\ngroup nogroup\ncore-dumps\nquiet\n",
	           err, sizeof err) == 0,
	      "every key set (%s)", err);
	config_print(&cfg, &once);
	CHECK(strstr(once.data, "\nidle-timeout 0.1\n") && strstr(once.data, "\ngrace 0\n") &&
	              strstr(once.data, "\npidfile /etc/p/p.pid\n") &&
	              strstr(once.data, "\ncore-dumps yes\n") && strstr(once.data, "\nquiet yes\n"),
	      "-T writes numbers short, paths absolute, switches as yes/no");
	CHECK(load(&again, once.data, err, sizeof err) == 0, "-T's output reads back (%s)", err);
	config_print(&again, &twice);
	CHECK(twice.data && strcmp(once.data, twice.data) == 0, "and prints the same");
	strbuf_free(&once);
	strbuf_free(&twice);
	load(&cfg, "", err, sizeof err);
	config_print(&cfg, &once);
	CHECK(strstr(once.data, "\n# pidfile (not set)\n") && strstr(once.data, "\ndaemon no\n"),
	      "the defaults: unset keys as comments, every switch said");
	load(&again, once.data, err, sizeof err);
	config_print(&again, &twice);
	CHECK(strcmp(once.data, twice.data) == 0, "the defaults read back the same");
	strbuf_free(&once);
	strbuf_free(&twice);
	config_release(&cfg);
	config_release(&again);
}

static void test_reload(void)
{
	const char *file = write_file("reload.conf", "workers 2\nlisten 127.0.0.1:0\n");
	char **argv = ARGV("-c", (char *)file, "--grace", "3");
	struct config old, next;
	char note[256], err[512];

	config_defaults(&old);
	CHECK(config_parse(&old, argc_of(argv), argv, err, sizeof err) == CONFIG_OK,
	      "the running configuration (%s)", err);
	write_file("reload.conf", "workers 4\nlisten 127.0.0.1:1\nuser nobody\ngrace 9\n");
	CHECK(config_reload(&old, &next, note, sizeof note, err, sizeof err) == 0,
	      "a reload rebuilds it (%s)", err);
	CHECK(next.workers == 4, "a live key takes its new value");
	CHECK(next.n_listen == 1 && strcmp(next.listen[0], "127.0.0.1:0") == 0 && !next.user,
	      "keys that need a restart keep their running value");
	CHECK(strcmp(note, "; needs a restart to take effect: listen, user") == 0,
	      "and are named in the note: '%s'", note);
	CHECK(next.grace == 3, "the command line is applied again over the file");
	config_release(&next);

	write_file("reload.conf", "workers many\n");
	CHECK(config_reload(&old, &next, note, sizeof note, err, sizeof err) < 0 &&
	              strstr(err, "reload.conf:1: workers: expected an integer"),
	      "a file that does not parse is refused: %s", err);
	write_file("reload.conf", "worker-timeout 1\nidle-timeout 5\n");
	CHECK(config_reload(&old, &next, note, sizeof note, err, sizeof err) < 0 &&
	              strstr(err, "--worker-timeout (1 s)"),
	      "so is one that breaks a rule between options: %s", err);
	if (unlink(file) < 0)
		perror(file);
	CHECK(config_reload(&old, &next, note, sizeof note, err, sizeof err) < 0 &&
	              strstr(err, "reload.conf"),
	      "and a file that is gone: %s", err);
	CHECK(old.workers == 2 && old.n_listen == 1 && strcmp(old.listen[0], "127.0.0.1:0") == 0,
	      "the running configuration is untouched");
	config_release(&old);
}

/* The test directory holds files only: remove them, then it. */
static int remove_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    unlinkat(dirfd(d), e->d_name, 0) < 0)
			rc = -1;
	closedir(d);
	return rc < 0 ? rc : rmdir(path);
}

static void test_listen_list(void)
{
	const char *file =
		write_file("listen.conf", "listen 127.0.0.1:0\nlisten unix:/run/x.sock\n");
	struct config cfg;
	char err[512];

	config_defaults(&cfg);
	CHECK(parse_args(&cfg, ARGV("-c", (char *)file), err, sizeof err) == CONFIG_OK &&
	              cfg.n_listen == 2 && strcmp(cfg.listen[1], "unix:/run/x.sock") == 0,
	      "the file's listen key is repeatable (%s)", err);
	config_release(&cfg);
	config_defaults(&cfg);
	CHECK(parse_args(&cfg, ARGV("-c", (char *)file, "--listen", "[::1]:0"), err, sizeof err) ==
	                      CONFIG_OK &&
	              cfg.n_listen == 1 && strcmp(cfg.listen[0], "[::1]:0") == 0,
	      "listens on the command line replace the file's list");
	config_release(&cfg);
	write_file("listen.conf", "listen 127.0.0.1:81\nlisten 127.0.0.1:81\n");
	config_defaults(&cfg);
	CHECK(parse_args(&cfg, ARGV("-c", (char *)file), err, sizeof err) == CONFIG_ERROR &&
	              strstr(err, "given twice"),
	      "the same address twice in the file is refused: %s", err);
	config_release(&cfg);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	if (chmod(dir, 0700) < 0) {
		perror(dir);
		return 1;
	}
	log_set_level(LOG_ERROR); /* a reload logs what it changes */
	test_syntax();
	test_errors();
	test_paths_and_switches();
	test_keys_match_options();
	test_command_line_over_file();
	test_listen_list();
	test_strict_file();
	test_print_round_trip();
	test_reload();
	if (remove_dir(dir) < 0)
		fprintf(stderr, "could not remove %s: %s\n", dir, strerror(errno));
	return unit_done();
}
