/* Unix-domain listening sockets made by the master: the stale-file rules the admin
 * socket follows, shared with unix: listeners. A live socket at the path is another
 * instance (refused); a dead one of ours (our euid, one link) is replaced; anything
 * else (another user's, a symlink, a regular file) is refused and left untouched.
 *
 * Layering: calls libc, log and safe_path only. */
#ifndef PREFORKD_UNIX_LISTEN_H
#define PREFORKD_UNIX_LISTEN_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Removes a stale socket of ours at path; 0 when the path is free now, -1 with the
 * reason in err (naming the holder of a live one). `what` names it in messages. */
int unix_listen_remove_stale(const char *what, const char *path, char *err, size_t errlen);

/* socket(type) + bind() with the file made with `mode` from its first moment (the
 * umask), then chown to uid/gid when own is set (root), a check that the file is
 * the socket we made, and listen() for a stream socket. *st: the file made. The
 * fd, or -1 with err (anything made is removed). */
int unix_listen_bind(const char *what, const char *path, int type, mode_t mode, int own, uid_t uid,
                     gid_t gid, int backlog, struct stat *st, char *err, size_t errlen);

#endif
