/* The configuration's keys as values: what -T prints, in the file's own format, and
 * what a reload compares between the running configuration and the re-read one. */
#ifndef PREFORKD_CONFIG_PRINT_H
#define PREFORKD_CONFIG_PRINT_H

#include <stddef.h>

struct config;
struct strbuf;

/* When a changed value takes effect. */
enum config_when {
	CONFIG_LIVE,    /* with the rolling restart of a reload */
	CONFIG_RESTART, /* only when preforkd is started again */
};

struct config_key {
	const char *name; /* the long option, the file's key */
	enum config_when when;
	int is_path; /* compared as absolute paths */
};

/* Every key a file accepts, in --help's order; the last has a NULL name. */
extern const struct config_key config_keys[];

/* The value of key i as the file writes it; returns 0 when the key is unset (no
 * pidfile, no user), else 1. Paths are made absolute against the directory preforkd
 * started in: -T shows what is in effect, and its output read back from elsewhere
 * means the same. */
int config_key_value(const struct config *cfg, size_t i, char *buf, size_t len);

/* The whole configuration, one `key value` line per key, unset keys as comments;
 * reading it back gives the same configuration (and the same output). */
void config_print(const struct config *cfg, struct strbuf *b);

#endif
