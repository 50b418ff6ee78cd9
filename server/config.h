/* preforkd's configuration: option parsing and validation (pure, unit-tested). */
#ifndef PREFORKD_CONFIG_H
#define PREFORKD_CONFIG_H

#include "pool_size.h"
#include "version.h"

#include <stddef.h>

struct service;

struct config {
	const char *listen;
	long workers;
	long backlog;
	const struct service *service;
	double idle_timeout;
	double first_byte_timeout;
	double grace;
	const char *pidfile;
	const char *log_path;
	const char *admin_path;
	int verbosity; /* -1 quiet, 0 normal, 1 verbose */
	double worker_timeout; /* 0 = never */
	long max_requests;     /* 0 = never */
	long max_requests_jitter;
	double min_uptime;
	long defer_accept;     /* seconds, 0 = off */
	int daemonize;
	const char *user;
	const char *group;
	int core_dumps; /* workers under --user stay dumpable */
};

enum config_result { CONFIG_OK, CONFIG_EXIT, CONFIG_ERROR };

void config_defaults(struct config *cfg);
enum config_result config_parse(struct config *cfg, int argc, char **argv, char *err,
				size_t errlen);
void config_usage(void);

#endif
