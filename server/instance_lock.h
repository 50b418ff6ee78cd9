/* The instance lock: flock() on PATH.lock, a 0600 file that only root or the server's
 * uid can open, held for the master's whole life and never removed. */
#ifndef PREFORKD_INSTANCE_LOCK_H
#define PREFORKD_INSTANCE_LOCK_H

#include <stddef.h>

/* Locks `path`.lock for the resource `path` (what: "pidfile", "admin socket").
 * Returns the fd that holds the lock, or -1 with err set; a lock held by another
 * instance is reported with that instance's pid. */
int instance_lock_take(const char *path, const char *what, char *err, size_t errlen);

/* FD, a lock handed over by the old master of a binary upgrade: the same open file
 * description, so the flock() is held already. Writes our pid into it as the hint;
 * returns FD. */
int instance_lock_adopt(int fd);

#endif
