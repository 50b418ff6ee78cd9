/* Paths that a process running as root writes, creates or removes (pidfile, log,
 * admin socket, instance lock): nobody else may have planted or be able to swap
 * what the path names. Every function fills err with one line naming the path and
 * the owner at fault, and returns -1. */
#ifndef PREFORKD_SAFE_PATH_H
#define PREFORKD_SAFE_PATH_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Resolves the directory of path as realpath() would (a symlinked directory such as
 * /var/run -> /run is fine), checking every directory it passes through from / down,
 * those reached through a symlink included, and every symlink on the way (owned by
 * root or our euid), then writes the resolved directory plus the last component
 * (never followed) to out. A
 * directory passes when it is owned by root or our euid and is not writable by
 * group or others, or when it is sticky (like /tmp): there nobody else can rename or
 * remove our entry, and a name planted beforehand is caught by safe_check_stat(). */
int safe_path_resolve(const char *path, char *out, size_t outlen, char *err, size_t errlen);

/* A file we may use: of type `type` (S_IFREG, S_IFSOCK), owned by root or our
 * euid, with one link (a hard link to a file elsewhere would redirect our writes). */
int safe_check_stat(const struct stat *st, mode_t type, const char *path, char *err, size_t errlen);

/* open() for a regular file after safe_path_resolve(): never follows the last
 * component, never opens (and so never blocks on, or rewinds) a FIFO or a device, and
 * checks the opened file with safe_check_stat(). flags get O_NOFOLLOW, O_CLOEXEC and
 * O_NOCTTY added. On success *st (if not NULL) describes the file. The path is never
 * removed here, whatever happens. */
int safe_open(const char *path, int flags, mode_t mode, struct stat *st, char *err, size_t errlen);

/* Removes path only if it is still the file described by `ours` (same device and
 * inode, same type, our euid, one link). Returns 1 if removed, 0 if it was not ours
 * or is gone, -1 on an error (in err). */
int safe_remove_ours(const char *path, const struct stat *ours, char *err, size_t errlen);

#endif
