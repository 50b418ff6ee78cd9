/* The pidfile: information for scripts and init systems, nothing more. Exclusion
 * between instances is the instance lock's job (instance_lock.h), on a file nobody
 * else can open; the pidfile itself is world-readable, so any user could lock it. */
#ifndef PREFORKD_PIDFILE_H
#define PREFORKD_PIDFILE_H

#include <limits.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

struct pidfile {
	int lock_fd; /* -1: none */
	int written; /* st describes the file we wrote */
	int owned;   /* removed at exit: not yet for an upgrade's new master */
	struct stat st;
	char path[PATH_MAX]; /* resolved at start: a later chdir() changes nothing */
};

void pidfile_init(struct pidfile *pf);
/* Takes the instance lock for path (or uses INHERITED_LOCK, >= 0: the lock a binary
 * upgrade handed over: then path must not exist, see pidfile.c), then writes our pid
 * to path. */
int pidfile_create(struct pidfile *pf, const char *path, int inherited_lock, char *err,
                   size_t errlen);
/* A binary upgrade: PATH becomes PATH`suffix` (".oldbin"), or back again when the
 * path already ends in it. 0 (nothing to do without a pidfile), or -1 with ERR. */
int pidfile_rename(struct pidfile *pf, const char *suffix, char *err, size_t errlen);
/* A binary upgrade's new master, once the old master is gone: the file is this
 * master's to remove at exit. Until then the old master decides (a rollback renames
 * its own file back over it). */
void pidfile_own(struct pidfile *pf);
/* Removes the file only if it is still the one we wrote and it is ours to remove;
 * releases the lock after. */
void pidfile_remove(struct pidfile *pf);

#endif
