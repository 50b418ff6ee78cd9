/* preforkd entry point: close what the launcher left open, parse options (or check
 * or print them: -t, -T), open the log, resolve --user, detach for --daemon, then
 * hand over to the master. */
#include "config.h"
#include "config_check.h"
#include "config_print.h"
#include "access_log.h"
#include "activation.h"
#include "daemon.h"
#include "fds.h"
#include "log.h"
#include "master.h"
#include "privdrop.h"
#include "proctitle.h"
#include "strbuf.h"
#include "upgrade.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* -t: one line, exit 0 or 1. */
static int check_config(const struct config *cfg)
{
	char note[512], err[1024];

	/* The checks reuse start-up code that logs what it found: not the answer. */
	log_set_level(LOG_ERROR);
	if (config_check_system(cfg, note, sizeof note, err, sizeof err) < 0) {
		fprintf(stderr, "preforkd: configuration check failed: %s\n", err);
		return 1;
	}
	printf("preforkd: configuration ok (%s)%s\n",
	       cfg->config_path ? cfg->config_path : "command line only", note);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* -T: the effective configuration, in the file's format. */
static int print_config(const struct config *cfg)
{
	struct strbuf b = { 0 };
	int rc = 0;

	config_print(cfg, &b);
	if (b.failed || fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) != 0) {
		fprintf(stderr, "preforkd: printing the configuration: %s\n",
		        b.failed ? "out of memory" : strerror(errno));
		rc = 1;
	}
	strbuf_free(&b);
	return rc;
}

/* Started by an old master for a binary upgrade: it handed over its readiness pipe. */
static int is_upgrade(const struct activation *act)
{
	for (size_t i = 0; i < act->n; i++)
		if (strcmp(act->fds[i].name, UPGRADE_FD_READY) == 0)
			return 1;
	return 0;
}

/* LISTEN_FDS as found at start (activation.h); master_run takes them. */
static struct activation inherited;

/* Everything after the options: the process that runs is the master. */
static int start(struct config *cfg)
{
	char err[1024];

	log_set_level(cfg->verbosity < 0 ? LOG_WARN : cfg->verbosity > 0 ? LOG_DEBUG : LOG_INFO);
	if (daemon_prepare(cfg, err, sizeof err) < 0) {
		fprintf(stderr, "preforkd: %s\n", err);
		return 1;
	}
	if (log_open(cfg->log_path) < 0)
		return 1;
	/* Here, by the master, like the log: workers never open the path. */
	if (cfg->access_log && access_log_open(cfg->access_log, err, sizeof err) < 0) {
		fprintf(stderr, "preforkd: cannot open access log %s: %s\n", cfg->access_log, err);
		return 1;
	}
	log_set_format(cfg->log_format);
	/* A daemon's stderr is the start-up pipe, then /dev/null: neither stalls. */
	if (!cfg->daemonize)
		log_protect_stderr();
	if (privdrop_prepare(cfg, err, sizeof err) < 0) {
		fprintf(stderr, "preforkd: %s\n", err);
		return 1;
	}
	/* An upgrade under --daemon is detached already: the old master was. */
	if (is_upgrade(&inherited) ? daemon_continue(cfg) < 0 : daemon_start(cfg) < 0)
		return 1;
	return master_run(cfg, &inherited);
}

int main(int argc, char **argv)
{
	struct config cfg;
	int keep[ACTIVATION_FDS_MAX];
	char err[1024];
	int rc = 2;

	/* A copy for a binary upgrade, before the process title overwrites argv. */
	(void)upgrade_save_argv(argc, argv);
	/* Before anything keeps a pointer into argv (the options do) or the environment. */
	proctitle_init(argc, argv);
	/* Then, before anything of ours is open: every fd >= 3 is the launcher's, but
	 * for the sockets handed over through LISTEN_FDS (systemd, or the old master
	 * in an upgrade), read here: a --daemon's fork would no longer be LISTEN_PID. */
	if (activation_read(&inherited, err, sizeof err) < 0) {
		fprintf(stderr, "preforkd: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < inherited.n; i++)
		keep[i] = inherited.fds[i].fd;
	if (fds_close_inherited(keep, inherited.n) < 0)
		fprintf(stderr, "preforkd: closing inherited fds: %s; some stay open\n",
		        strerror(errno));
	config_defaults(&cfg);
	switch (config_parse(&cfg, argc, argv, err, sizeof err)) {
	case CONFIG_EXIT:
		rc = 0;
		break;
	case CONFIG_ERROR:
		/* -t and -T answer in one line, 1 for any configuration that would not run. */
		if (cfg.action != CONFIG_RUN) {
			fprintf(stderr, "preforkd: configuration check failed: %s\n", err);
			rc = 1;
			break;
		}
		fprintf(stderr, "preforkd: %s\n", err);
		fprintf(stderr, "Try 'preforkd --help' for more information.\n");
		rc = 2;
		break;
	case CONFIG_OK:
		rc = cfg.action == CONFIG_CHECK   ? check_config(&cfg)
		     : cfg.action == CONFIG_PRINT ? print_config(&cfg)
		                                  : start(&cfg);
		break;
	}
	config_release(&cfg);
	return rc;
}
