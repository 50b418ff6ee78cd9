/* preforkd's configuration: the options, from a configuration file (--config) and
 * the command line over it; parsing and validation (pure but for reading the file,
 * unit-tested and fuzzed). */
#ifndef PREFORKD_CONFIG_H
#define PREFORKD_CONFIG_H

#include "listeners.h"
#include "log.h"
#include "pool_size.h"
#include "version.h"

#include <stddef.h>
#include <time.h>

struct service;
struct config_mem;

/* What the command line asks for besides running: -t checks, -T prints. */
enum config_action { CONFIG_RUN, CONFIG_CHECK, CONFIG_PRINT };

struct config {
	/* every --listen (listeners.h forms), as given; n_listen 0: none was given, and
	 * the master listens on CONFIG_LISTEN_DEFAULT unless it inherited sockets. Listens
	 * on the command line replace the file's list. */
	const char *listen[LISTENERS_MAX];
	size_t n_listen;
	long unix_mode;         /* --unix-mode: the mode unix: listeners are made with */
	const char *unix_owner; /* --unix-owner USER[:GROUP]; NULL: the master's */
	long workers;           /* MIN of --workers MIN..MAX (a single number: both) */
	long workers_max;       /* MAX; == workers: a fixed pool */
	/* --spare LOW..HIGH, idle workers an adaptive pool keeps; -1: the defaults,
	 * from the bounds (adapt_default_spare) */
	long spare_low, spare_high;
	long backlog;
	const struct service *service;
	double idle_timeout;
	double first_byte_timeout;
	double grace;
	double upgrade_timeout; /* a binary upgrade's new master must be ready within */
	const char *pidfile;
	const char *log_path;
	enum log_format log_format;
	const char *admin_path;
	/* HOST:PORT of GET /metrics; NULL: not served */
	const char *metrics_listen;
	/* HOST:PORT of HAProxy's agent-check (agent.h); NULL: not served */
	const char *agent_listen;
	int verbosity;         /* -1 quiet, 0 normal, 1 verbose */
	int listen_cmdline;    /* parsing: the command line has begun its own --listen list */
	double worker_timeout; /* 0 = never */
	long max_requests;     /* 0 = never */
	long max_requests_jitter;
	/* a worker whose RSS passes it finishes its connection and is replaced; 0 = never */
	unsigned long long max_rss;
	double min_uptime;
	long defer_accept;    /* seconds, 0 = off */
	double pressure_idle; /* evict under pressure after this long without progress; 0 = never */
	int queue_wait;       /* receive timestamps: time in the accept queue */
	int daemonize;
	const char *user;
	const char *group;
	int core_dumps;          /* workers under --user stay dumpable */
	const char *admin_group; /* its members may use the admin socket read-only */
	double crash_loop_limit; /* a crash loop this long is a failure; 0 = never */
	int crash_loop_exit;     /* ... and the master then exits (PREFORKD_EXIT_CRASH_LOOP) */
	/* --service http (service_http.c) */
	const char *http_root;
	int http_autoindex;
	const char *mime_types;
	/* opened by the master (access_log.h); NULL = off */
	const char *access_log;
	double keepalive_timeout;    /* 0 = no keep-alive */
	long keepalive_requests;     /* requests per connection */
	double request_head_timeout; /* first byte of a request to the end of its head */
	/* udp: listeners (udp_guard.h): answers per second per source and worker, 0 =
	 * no limit; the answers a quiet source may have at once */
	long udp_rate;
	long udp_burst;
	/* Where it came from, so that a reload can build it again (config_reload.h). */
	enum config_action action;
	const char *config_path; /* --config made absolute; NULL without one */
	time_t loaded;           /* wall clock when it was built */
	int argc;                /* the command line, applied again over a re-read file */
	char **argv;
	/* Strings this configuration owns (read from the file, or made absolute):
	 * freed by config_release. A struct copy moves them; release only one copy. */
	struct config_mem *mem;
};

/* Where preforkd listens when given no --listen and no inherited socket. */
#define CONFIG_LISTEN_DEFAULT "127.0.0.1:7777"

enum config_result { CONFIG_OK, CONFIG_EXIT, CONFIG_ERROR };

/* The --log-format word for a form: what -T prints and a file reads. */
const char *config_log_format_name(enum log_format format);

void config_defaults(struct config *cfg);
/* The defaults, then the --config file if one is given, then every command-line
 * option over it, then the rules between options. Re-callable (a reload calls it
 * again with the same argv). -h and -v print and return CONFIG_EXIT. */
enum config_result config_parse(struct config *cfg, int argc, char **argv, char *err,
                                size_t errlen);
/* Applies configuration-file text as if read from `name` (relative paths in it are
 * taken from name's directory): the file half of config_parse, for tests and the
 * fuzzer. The text is copied. Errors are "NAME:LINE: key: why". */
int config_load_text(struct config *cfg, const char *name, const char *text, size_t len, char *err,
                     size_t errlen);
/* The rules between options (config_parse applies them last). */
int config_validate(const struct config *cfg, char *err, size_t errlen);
/* The i-th key a configuration file accepts (its long option name), NULL past the
 * last: every long option but --config, --check-config, --print-config, --help and
 * --version. */
const char *config_file_key(size_t i);
/* A copy of s that lives as long as cfg (NULL when out of memory). */
const char *config_keep(struct config *cfg, const char *s);
/* path made absolute against the directory preforkd started in (a daemon has left
 * it since): kept in cfg; path itself when already absolute; NULL when out of memory. */
const char *config_absolute(struct config *cfg, const char *path);
/* That directory (NULL if getcwd failed). */
const char *config_start_dir(void);
void config_release(struct config *cfg);
void config_usage(void);

#endif
