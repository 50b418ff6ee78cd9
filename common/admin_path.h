/* Where the admin socket is when --admin is not given: one rule, shared by preforkd
 * and preforkctl, so an operator's shell finds the socket the server made. It is
 * keyed on the effective uid, never on the environment alone: under `sudo -E`
 * $XDG_RUNTIME_DIR is a user's directory while the euid is 0. */
#ifndef PREFORKD_ADMIN_PATH_H
#define PREFORKD_ADMIN_PATH_H

#include <stddef.h>

#define ADMIN_SOCKET_NAME "preforkd.sock"
#define ADMIN_ROOT_DIR "/run/preforkd" /* systemd's RuntimeDirectory=preforkd */

/* preforkd.sock beside the pidfile when there is one; else, for root,
 * /run/preforkd/preforkd.sock; else $XDG_RUNTIME_DIR/preforkd.sock when that
 * directory exists, is ours and is 0700. Otherwise fills err (telling to give the
 * path) and returns -1. */
int admin_path_default(const char *pidfile, char *buf, size_t len, char *err, size_t errlen);

/* For root's default path: creates /run/preforkd (0755) if it is missing. Whether
 * it may be used is then decided by the same checks as any other directory. */
int admin_path_make_root_dir(char *err, size_t errlen);

#endif
