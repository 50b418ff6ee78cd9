/* --user/--group: workers give up root. The names are resolved once in the master
 * (which keeps root to respawn workers, remove its pidfile and admin socket); each
 * new worker applies the result before it touches a client. */
#ifndef PREFORKD_PRIVDROP_H
#define PREFORKD_PRIVDROP_H

#include <stddef.h>

struct config;

/* Start-up, in the master: resolve --user/--group. Fails unless running as root,
 * for an unknown name, or for a target of uid 0. No-op without --user. */
int privdrop_prepare(const struct config *cfg, char *err, size_t errlen);
/* In a new worker: setgroups, setgid, setuid, then prove that root cannot be
 * regained. Logs and returns -1 on any failure: the worker must then exit. */
int privdrop_apply(void);

#endif
