/* -t: would this configuration start? As nginx -t does, beyond the options it binds
 * the listen address and opens the files, but it changes nothing: no file is
 * created, truncated or locked, and an address held by the running instance of this
 * configuration is fine (-t is run just before a reload or a restart). */
#ifndef PREFORKD_CONFIG_CHECK_H
#define PREFORKD_CONFIG_CHECK_H

#include <stddef.h>

struct config;

/* Returns 0 (with a remark in note, maybe empty) or -1 with err naming the key at
 * fault: "log: ...". Start-up checks that log do so at LOG_INFO: set the level first. */
int config_check_system(const struct config *cfg, char *note, size_t notelen, char *err,
                        size_t errlen);

#endif
