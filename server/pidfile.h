/* The pidfile: written so a reader never sees a partial number, and locked with
 * flock() for the master's whole life so a second instance can tell it is live. */
#ifndef PREFORKD_PIDFILE_H
#define PREFORKD_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

int pidfile_create(const char *path, char *err, size_t errlen);
int pidfile_write(int fd, pid_t pid);
void pidfile_remove(const char *path, int fd);

#endif
