/* preforkd entry point: parse options, open the log, hand over to the master. */
#include "config.h"
#include "log.h"
#include "master.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	struct config cfg;
	char err[512];

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
	if (log_open(cfg.log_path) < 0)
		return 1;
	return master_run(&cfg);
}
