/* -T: the effective configuration in the configuration file's format. One table says,
 * for every key, whether a reload can apply it live; the values are written so that
 * they read back to exactly the same configuration (numbers in their shortest form
 * that round-trips, switches as yes/no).
 * Calls: config, service, strbuf. Touches: nothing; pure. */
#include "config_print.h"

#include "config.h"
#include "service.h"
#include "strbuf.h"
#include "version.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct config_key config_keys[] = {
	/* listeners change with a restart or an upgrade, never a reload */
	{ "listen", CONFIG_RESTART, 0 },
	{ "unix-mode", CONFIG_RESTART, 0 },
	{ "unix-owner", CONFIG_RESTART, 0 },
	{ "workers", CONFIG_LIVE, 0 },
	{ "spare", CONFIG_LIVE, 0 },
	{ "backlog", CONFIG_LIVE, 0 },
	{ "service", CONFIG_LIVE, 0 },
	{ "idle-timeout", CONFIG_LIVE, 0 },
	{ "first-byte-timeout", CONFIG_LIVE, 0 },
	{ "grace", CONFIG_LIVE, 0 },
	{ "upgrade-timeout", CONFIG_LIVE, 0 },
	{ "pidfile", CONFIG_RESTART, 1 },
	/* live from one file to another; to or from stderr only with a restart */
	{ "log", CONFIG_LIVE, 1 },
	/* the workers' line form is set before the first fork */
	{ "log-format", CONFIG_RESTART, 0 },
	{ "admin", CONFIG_RESTART, 1 },
	/* the listener is opened once, at start, like --listen */
	{ "metrics-listen", CONFIG_RESTART, 0 },
	{ "agent-listen", CONFIG_RESTART, 0 },
	/* the socket's group is given when it is made, at start */
	{ "admin-group", CONFIG_RESTART, 0 },
	{ "worker-timeout", CONFIG_LIVE, 0 },
	{ "max-requests", CONFIG_LIVE, 0 },
	{ "max-requests-jitter", CONFIG_LIVE, 0 },
	/* each new worker takes it; the rolling restart replaces the old ones */
	{ "max-rss", CONFIG_LIVE, 0 },
	{ "min-uptime", CONFIG_LIVE, 0 },
	{ "crash-loop-limit", CONFIG_LIVE, 0 },
	{ "crash-loop-exit", CONFIG_LIVE, 0 },
	{ "defer-accept", CONFIG_LIVE, 0 },
	/* the master's choice at once; each worker re-checks with its own until replaced */
	{ "pressure-idle", CONFIG_LIVE, 0 },
	/* set on the listener at start */
	{ "queue-wait", CONFIG_RESTART, 0 },
	{ "daemon", CONFIG_RESTART, 0 },
	{ "user", CONFIG_RESTART, 0 },
	{ "group", CONFIG_RESTART, 0 },
	{ "core-dumps", CONFIG_RESTART, 0 },
	{ "quiet", CONFIG_LIVE, 0 },
	{ "verbose", CONFIG_LIVE, 0 },
	/* --service http: each new worker opens the root and reads the types */
	{ "root", CONFIG_LIVE, 1 },
	{ "autoindex", CONFIG_LIVE, 0 },
	{ "mime-types", CONFIG_LIVE, 1 },
	{ "keepalive-timeout", CONFIG_LIVE, 0 },
	{ "keepalive-requests", CONFIG_LIVE, 0 },
	{ "request-head-timeout", CONFIG_LIVE, 0 },
	/* opened by the master at start; SIGUSR1 reopens the same path */
	{ "access-log", CONFIG_RESTART, 1 },
	/* udp: listeners: each new worker takes them */
	{ "udp-rate", CONFIG_LIVE, 0 },
	{ "udp-burst", CONFIG_LIVE, 0 },
	{ NULL, CONFIG_LIVE, 0 },
};

/* The fewest decimals that strtod() reads back as the same double (seconds are at
 * most a day, so there is no exponent to write). */
static void show_seconds(double v, char *buf, size_t len)
{
	for (int decimals = 0; decimals <= 20; decimals++) {
		snprintf(buf, len, "%.*f", decimals, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static int show_text(const char *s, char *buf, size_t len)
{
	if (!s)
		return 0;
	snprintf(buf, len, "%s", s);
	return 1;
}

static int show_path(const char *s, char *buf, size_t len)
{
	const char *dir = config_start_dir();

	if (!s)
		return 0;
	if (s[0] == '/' || !dir)
		snprintf(buf, len, "%s", s);
	else
		snprintf(buf, len, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, s);
	return 1;
}

static int show_switch(int on, char *buf, size_t len)
{
	snprintf(buf, len, "%s", on ? "yes" : "no");
	return 1;
}

static int show_long(long v, char *buf, size_t len)
{
	snprintf(buf, len, "%ld", v);
	return 1;
}

static int show_range(long lo, long hi, char *buf, size_t len)
{
	if (lo < 0)
		return 0; /* the default */
	if (lo == hi)
		return show_long(lo, buf, len);
	snprintf(buf, len, "%ld..%ld", lo, hi);
	return 1;
}

int config_key_value(const struct config *c, size_t i, char *buf, size_t len)
{
	const char *k = config_keys[i].name;

	buf[0] = '\0';
	if (strcmp(k, "listen") == 0) {
		/* every one, in order, for a reload's comparison; -T prints one line each */
		size_t used = 0;

		for (size_t j = 0; j < c->n_listen && used < len; j++)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", j ? ", " : "",
			                         c->listen[j]);
		return c->n_listen > 0;
	}
	if (strcmp(k, "unix-mode") == 0) {
		snprintf(buf, len, "%04lo", (unsigned long)c->unix_mode);
		return 1;
	}
	if (strcmp(k, "unix-owner") == 0)
		return show_text(c->unix_owner, buf, len);
	if (strcmp(k, "workers") == 0)
		return show_range(c->workers, c->workers_max, buf, len);
	if (strcmp(k, "spare") == 0)
		return show_range(c->spare_low, c->spare_high, buf, len);
	if (strcmp(k, "backlog") == 0)
		return show_long(c->backlog, buf, len);
	if (strcmp(k, "service") == 0)
		return show_text(c->service->name, buf, len);
	if (strcmp(k, "pidfile") == 0)
		return show_path(c->pidfile, buf, len);
	if (strcmp(k, "log") == 0)
		return show_path(c->log_path, buf, len);
	if (strcmp(k, "admin") == 0)
		return show_path(c->admin_path, buf, len);
	if (strcmp(k, "metrics-listen") == 0)
		return show_text(c->metrics_listen, buf, len);
	if (strcmp(k, "agent-listen") == 0)
		return show_text(c->agent_listen, buf, len);
	if (strcmp(k, "max-requests") == 0)
		return show_long(c->max_requests, buf, len);
	if (strcmp(k, "max-requests-jitter") == 0)
		return show_long(c->max_requests_jitter, buf, len);
	if (strcmp(k, "max-rss") == 0) {
		snprintf(buf, len, "%llu", c->max_rss);
		return 1;
	}
	if (strcmp(k, "defer-accept") == 0)
		return show_long(c->defer_accept, buf, len);
	if (strcmp(k, "daemon") == 0)
		return show_switch(c->daemonize, buf, len);
	if (strcmp(k, "user") == 0)
		return show_text(c->user, buf, len);
	if (strcmp(k, "group") == 0)
		return show_text(c->group, buf, len);
	if (strcmp(k, "queue-wait") == 0)
		return show_switch(c->queue_wait, buf, len);
	if (strcmp(k, "core-dumps") == 0)
		return show_switch(c->core_dumps, buf, len);
	if (strcmp(k, "admin-group") == 0)
		return show_text(c->admin_group, buf, len);
	if (strcmp(k, "crash-loop-exit") == 0)
		return show_switch(c->crash_loop_exit, buf, len);
	if (strcmp(k, "log-format") == 0)
		return show_text(config_log_format_name(c->log_format), buf, len);
	if (strcmp(k, "quiet") == 0)
		return show_switch(c->verbosity < 0, buf, len);
	if (strcmp(k, "verbose") == 0)
		return show_switch(c->verbosity > 0, buf, len);
	if (strcmp(k, "root") == 0)
		return show_path(c->http_root, buf, len);
	if (strcmp(k, "access-log") == 0)
		return show_path(c->access_log, buf, len);
	if (strcmp(k, "mime-types") == 0)
		return show_path(c->mime_types, buf, len);
	if (strcmp(k, "autoindex") == 0)
		return show_switch(c->http_autoindex, buf, len);
	if (strcmp(k, "keepalive-requests") == 0)
		return show_long(c->keepalive_requests, buf, len);
	if (strcmp(k, "udp-rate") == 0)
		return show_long(c->udp_rate, buf, len);
	if (strcmp(k, "udp-burst") == 0)
		return show_long(c->udp_burst, buf, len);
	show_seconds(strcmp(k, "idle-timeout") == 0           ? c->idle_timeout
	             : strcmp(k, "first-byte-timeout") == 0   ? c->first_byte_timeout
	             : strcmp(k, "grace") == 0                ? c->grace
	             : strcmp(k, "upgrade-timeout") == 0      ? c->upgrade_timeout
	             : strcmp(k, "worker-timeout") == 0       ? c->worker_timeout
	             : strcmp(k, "pressure-idle") == 0        ? c->pressure_idle
	             : strcmp(k, "crash-loop-limit") == 0     ? c->crash_loop_limit
	             : strcmp(k, "keepalive-timeout") == 0    ? c->keepalive_timeout
	             : strcmp(k, "request-head-timeout") == 0 ? c->request_head_timeout
	                                                      : c->min_uptime,
	             buf, len);
	return 1;
}

void config_print(const struct config *cfg, struct strbuf *b)
{
	strbuf_printf(b, "# preforkd %s: the effective configuration (preforkd -T)\n",
	              PREFORKD_VERSION);
	for (size_t i = 0; config_keys[i].name; i++) {
		char value[PATH_MAX + 16];

		if (strcmp(config_keys[i].name, "listen") == 0 && cfg->n_listen > 0) {
			for (size_t j = 0; j < cfg->n_listen; j++)
				strbuf_printf(b, "listen %s\n", cfg->listen[j]);
			continue;
		}
		if (strcmp(config_keys[i].name, "listen") == 0) {
			strbuf_printf(b, "# listen (not set: %s unless sockets are inherited)\n",
			              CONFIG_LISTEN_DEFAULT);
			continue;
		}
		if (config_key_value(cfg, i, value, sizeof value))
			strbuf_printf(b, "%s %s\n", config_keys[i].name, value);
		else
			strbuf_printf(b, "# %s (not set)\n", config_keys[i].name);
	}
}
