/* --user/--group: workers give up root. The names are resolved once in the master
 * (which keeps root to respawn workers, remove its pidfile and admin socket); each
 * new worker applies the result before it touches a client. */
#ifndef PREFORKD_PRIVDROP_H
#define PREFORKD_PRIVDROP_H

#include <stddef.h>

struct config;

/* Start-up, in the master: resolve --user/--group. Fails unless running as root,
 * for an unknown name, or for a target of uid 0 or gid 0; supplementary group 0 is
 * dropped (with a warning). Without --user it only records --core-dumps. */
int privdrop_prepare(const struct config *cfg, char *err, size_t errlen);
/* In a new worker: setgroups, setgid, setuid, prove that root cannot be regained,
 * make the worker dumpable again only with --core-dumps; then, with or without
 * --user, PR_SET_NO_NEW_PRIVS. Logs and returns -1 on any failure: the worker must
 * then exit. */
int privdrop_apply(void);

#endif
