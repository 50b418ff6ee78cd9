/* A reload (SIGHUP, `preforkctl reload`): the configuration is built again from the
 * re-read file with the command line over it, as at start. Settings that can change
 * live take effect with the rolling restart; the others keep their running value and
 * are reported as needing a restart; a file that does not parse, or breaks a rule
 * between options, changes nothing. */
#ifndef PREFORKD_CONFIG_RELOAD_H
#define PREFORKD_CONFIG_RELOAD_H

#include <stddef.h>

struct config;
struct listener_set;

/* Fills next (release it with config_release, or install it in old's place): the
 * new values of live settings, the running values of the others. note gets ""
 * or "; needs a restart: listen, user" for the reply; each such setting is logged
 * as a warning, each live change at info. -1: err says why, next is released and
 * nothing changed. */
int config_reload(const struct config *old, struct config *next, char *note, size_t notelen,
                  char *err, size_t errlen);

/* What the master's process holds itself: the log file (from one file to another)
 * and level, the listener's backlog and TCP_DEFER_ACCEPT. The step that can fail
 * (opening the new log) comes first: -1 with err set means nothing changed. */
int config_apply(const struct config *old, const struct config *next,
                 const struct listener_set *listeners, char *err, size_t errlen);

#endif
