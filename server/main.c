/* preforkd entry point: close what the launcher left open, parse options, open the
 * log, resolve --user, detach for --daemon, then hand over to the master. */
#include "config.h"
#include "daemon.h"
#include "fds.h"
#include "log.h"
#include "master.h"
#include "privdrop.h"
#include "proctitle.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct config cfg;
	char err[512];

	/* Before anything keeps a pointer into argv (the options do) or the environment. */
	proctitle_init(argc, argv);
	/* Then, before anything of ours is open: every fd >= 3 is the launcher's.
	 * Nothing is kept yet; socket activation will keep its LISTEN_FDS here. */
	if (fds_close_inherited(NULL, 0) < 0)
		fprintf(stderr, "preforkd: closing inherited fds: %s; some stay open\n",
			strerror(errno));
	config_defaults(&cfg);
	switch (config_parse(&cfg, argc, argv, err, sizeof err)) {
	case CONFIG_EXIT:
		return 0;
	case CONFIG_ERROR:
		fprintf(stderr, "preforkd: %s\n", err);
		fprintf(stderr, "Try 'preforkd --help' for more information.\n");
		return 2;
	case CONFIG_OK:
		break;
	}
	log_set_level(cfg.verbosity < 0 ? LOG_WARN : cfg.verbosity > 0 ? LOG_DEBUG : LOG_INFO);
	if (daemon_prepare(&cfg, err, sizeof err) < 0) {
		fprintf(stderr, "preforkd: %s\n", err);
		return 1;
	}
	if (log_open(cfg.log_path) < 0)
		return 1;
	log_set_format(cfg.log_format);
	/* A daemon's stderr is the start-up pipe, then /dev/null: neither stalls. */
	if (!cfg.daemonize)
		log_protect_stderr();
	if (privdrop_prepare(&cfg, err, sizeof err) < 0) {
		fprintf(stderr, "preforkd: %s\n", err);
		return 1;
	}
	if (daemon_start(&cfg) < 0)
		return 1;
	return master_run(&cfg);
}
