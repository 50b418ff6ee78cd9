/* Reload: rebuild, compare key by key (config_print.c's table says which keys can
 * change live), keep the running value of any other key that changed, and apply the
 * process-wide part. The master then installs the result and starts the rolling
 * restart; each new worker forks with the new configuration.
 * Calls: config, config_print, log (and listen()/setsockopt() on the fd it is given).
 * Touches: only the configurations it is given; never the master's state. */
#include "config_reload.h"

#include "config.h"
#include "config_print.h"
#include "log.h"
#include "strbuf.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* A daemon made its paths absolute at start and has left the directory it started
 * in: paths from the command line, which a reload reads again as given, must mean
 * the same files as at start. */
static int make_paths_absolute(struct config *c, char *err, size_t errlen)
{
	const char **paths[] = { &c->pidfile, &c->log_path, &c->admin_path };

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		if (!*paths[i])
			continue;
		*paths[i] = config_absolute(c, *paths[i]);
		if (!*paths[i]) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* A key that cannot change live keeps its running value. */
static int keep_running(struct config *next, const struct config *old, const char *key)
{
	const char **text = NULL, *from = NULL;

	if (strcmp(key, "listen") == 0) {
		next->n_listen = 0;
		for (size_t i = 0; i < old->n_listen; i++) {
			next->listen[i] = config_keep(next, old->listen[i]);
			if (!next->listen[i])
				return -1;
			next->n_listen = i + 1;
		}
	} else if (strcmp(key, "unix-mode") == 0) {
		next->unix_mode = old->unix_mode;
	} else if (strcmp(key, "unix-owner") == 0) {
		text = &next->unix_owner;
		from = old->unix_owner;
	} else if (strcmp(key, "pidfile") == 0) {
		text = &next->pidfile;
		from = old->pidfile;
	} else if (strcmp(key, "log") == 0) {
		text = &next->log_path;
		from = old->log_path;
	} else if (strcmp(key, "admin") == 0) {
		text = &next->admin_path;
		from = old->admin_path;
	} else if (strcmp(key, "metrics-listen") == 0) {
		text = &next->metrics_listen;
		from = old->metrics_listen;
	} else if (strcmp(key, "agent-listen") == 0) {
		text = &next->agent_listen;
		from = old->agent_listen;
	} else if (strcmp(key, "user") == 0) {
		text = &next->user;
		from = old->user;
	} else if (strcmp(key, "group") == 0) {
		text = &next->group;
		from = old->group;
	} else if (strcmp(key, "admin-group") == 0) {
		text = &next->admin_group;
		from = old->admin_group;
	} else if (strcmp(key, "daemon") == 0) {
		next->daemonize = old->daemonize;
	} else if (strcmp(key, "core-dumps") == 0) {
		next->core_dumps = old->core_dumps;
	} else if (strcmp(key, "queue-wait") == 0) {
		next->queue_wait = old->queue_wait;
	} else if (strcmp(key, "log-format") == 0) {
		next->log_format = old->log_format;
	}
	if (!text)
		return 0;
	*text = from ? config_keep(next, from) : NULL;
	return from && !*text ? -1 : 0;
}

/* The log moves live from one file to another; to or from stderr (no log file) it
 * takes a restart: stderr is the launcher's, and a daemon's is /dev/null. */
static int needs_restart(size_t i, int had, int has)
{
	if (config_keys[i].when == CONFIG_RESTART)
		return 1;
	return strcmp(config_keys[i].name, "log") == 0 && had != has;
}

static int compare_keys(const struct config *old, struct config *next, struct strbuf *restart)
{
	for (size_t i = 0; config_keys[i].name; i++) {
		char was[PATH_MAX + 16], now[PATH_MAX + 16];
		int had = config_key_value(old, i, was, sizeof was);
		int has = config_key_value(next, i, now, sizeof now);
		const char *key = config_keys[i].name;

		if (had == has && strcmp(was, now) == 0)
			continue;
		if (!needs_restart(i, had, has)) {
			log_info("reload: %s: %s -> %s", key, had ? was : "(not set)",
			         has ? now : "(not set)");
			continue;
		}
		log_warn("reload: %s: %s in the configuration, %s running: needs a restart to "
		         "take effect",
		         key, has ? now : "(not set)", had ? was : "(not set)");
		strbuf_printf(restart, "%s%s", restart->len ? ", " : "", key);
		if (keep_running(next, old, key) < 0)
			return -1;
	}
	return 0;
}

int config_reload(const struct config *old, struct config *next, char *note, size_t notelen,
                  char *err, size_t errlen)
{
	struct strbuf restart = { 0 };
	enum config_result r;

	note[0] = '\0';
	config_defaults(next);
	r = config_parse(next, old->argc, old->argv, err, errlen);
	if (r == CONFIG_EXIT)
		snprintf(err, errlen, "the command line asks for no server");
	if (r != CONFIG_OK || make_paths_absolute(next, err, errlen) < 0)
		goto fail;
	if (compare_keys(old, next, &restart) < 0 || restart.failed) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* The running values kept may not go with the new ones. */
	if (config_validate(next, err, errlen) < 0)
		goto fail;
	if (restart.len)
		snprintf(note, notelen, "; needs a restart to take effect: %s", restart.data);
	strbuf_free(&restart);
	return 0;
fail:
	strbuf_free(&restart);
	config_release(next);
	return -1;
}

/* Two spellings of one path: relative ones start where preforkd started. */
static int same_path(const char *a, const char *b)
{
	const char *dir = config_start_dir();
	char x[PATH_MAX * 2], y[PATH_MAX * 2];

	snprintf(x, sizeof x, "%s%s%s", a[0] == '/' || !dir ? "" : dir,
	         a[0] == '/' || !dir ? "" : "/", a);
	snprintf(y, sizeof y, "%s%s%s", b[0] == '/' || !dir ? "" : dir,
	         b[0] == '/' || !dir ? "" : "/", b);
	return strcmp(x, y) == 0;
}

static int log_level_of(const struct config *c)
{
	return c->verbosity < 0 ? LOG_WARN : c->verbosity > 0 ? LOG_DEBUG : LOG_INFO;
}

int config_apply(const struct config *old, const struct config *next,
                 const struct listener_set *listeners, char *err, size_t errlen)
{
	int defer = (int)next->defer_accept;

	if (next->log_path && old->log_path && !same_path(next->log_path, old->log_path) &&
	    log_switch(next->log_path, err, errlen) < 0)
		return -1;
	log_set_level(log_level_of(next));
	for (size_t i = 0; i < listeners->n; i++) {
		const struct listener *l = &listeners->l[i];

		if (l->kind == LISTENER_UDP)
			continue;
		/* On Linux, listen() on a listening socket sets its backlog, queue kept. */
		if (next->backlog != old->backlog && listen(l->fd, (int)next->backlog) < 0)
			log_warn("reload: backlog %ld on %s: listen: %s; keeping %ld",
			         next->backlog, l->text, strerror(errno), old->backlog);
		if (l->kind == LISTENER_TCP && next->defer_accept != old->defer_accept &&
		    setsockopt(l->fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer) < 0)
			log_warn("reload: defer-accept %ld on %s: setsockopt TCP_DEFER_ACCEPT: %s",
			         next->defer_accept, l->text, strerror(errno));
	}
	return 0;
}
