/* Safe paths for a root daemon, after OpenSSH's safe_path() (StrictModes) and
 * Postfix's safe_open(): the directories are checked from / down, so each one's
 * parent is known to be unchangeable by others before the directory itself is
 * trusted; the last component is opened with O_NOFOLLOW and judged by fstat(), not by
 * a name lookup that could be swapped between the check and the use. */
#include "safe_path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

static int check_dir(const char *dir, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(dir, &st) < 0) {
		snprintf(err, errlen, "%s: directory %s: %s", path, dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: %s is not a directory", path, dir);
		return -1;
	}
	if (!owner_ok(st.st_uid)) {
		snprintf(err, errlen,
		         "%s: directory %s is owned by uid %ld (must be root or uid %ld)", path,
		         dir, (long)st.st_uid, (long)geteuid());
		return -1;
	}
	/* In a sticky directory only an entry's owner (or the directory's) may rename
	 * or remove it. */
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, errlen,
		         "%s: directory %s (owner uid %ld, mode %04o) is writable by group or "
		         "others",
		         path, dir, (long)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* Every prefix of an absolute, resolved directory, "/" first. */
static int check_dirs(char *dir, const char *path, char *err, size_t errlen)
{
	if (check_dir("/", path, err, errlen) < 0)
		return -1;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = check_dir(dir, path, err, errlen);
		*p = '/';
		if (rc < 0)
			return -1;
	}
	return strcmp(dir, "/") == 0 ? 0 : check_dir(dir, path, err, errlen);
}

#define SYMLINKS_MAX 40 /* as the kernel's own path walk */

/* Drops the last component of an absolute, resolved path ("/a/b" -> "/a"). */
static void to_parent(char *cur)
{
	char *slash = strrchr(cur, '/');

	if (slash == cur)
		cur[1] = '\0';
	else
		*slash = '\0';
}

/* Prepends target and a slash to the components still to walk (rest). */
static int push_front(char *rest, size_t len, const char *target)
{
	size_t t = strlen(target), r = strlen(rest);

	if (t + 1 + r + 1 > len)
		return -1;
	memmove(rest + t + 1, rest, r + 1);
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): the NUL moved above ends it. */
	memcpy(rest, target, t);
	rest[t] = '/';
	return 0;
}

/* realpath() with the rule applied on the way: the path is walked as given, one
 * component at a time, and every directory it passes through is checked before the
 * next name is looked up in it, including those reached through a symlink. A symlink
 * is followed only when it is owned by root or our euid, and it lies in a directory
 * already checked, so nobody else can have planted it. Checking only the resolved
 * path would miss a symlink planted in a writable directory on the way, which could
 * send root's writes to a trusted directory of the attacker's choice. */
static int walk_checked(const char *dir, char *cur, size_t curlen, const char *path, char *err,
                        size_t errlen)
{
	char rest[PATH_MAX], next[PATH_MAX], target[PATH_MAX];
	int links = 0;

	if (dir[0] == '/') {
		snprintf(cur, curlen, "/");
	} else if (!getcwd(cur, curlen)) {
		snprintf(err, errlen, "%s: getcwd: %s", path, strerror(errno));
		return -1;
	}
	if (check_dirs(cur, path, err, errlen) < 0)
		return -1;
	if (snprintf(rest, sizeof rest, "%s", dir) >= (int)sizeof rest)
		goto too_long;
	for (char *p = rest; *p;) {
		char *c = p, *slash = strchr(p, '/');
		struct stat st;
		ssize_t n;

		if (slash) {
			*slash = '\0';
			p = slash + 1;
		} else {
			p += strlen(p);
		}
		if (*c == '\0' || strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			to_parent(cur);
			continue;
		}
		if (snprintf(next, sizeof next, "%s/%s", strcmp(cur, "/") == 0 ? "" : cur, c) >=
		    (int)sizeof next)
			goto too_long;
		if (lstat(next, &st) < 0) {
			snprintf(err, errlen, "%s: directory %s: %s", path, next, strerror(errno));
			return -1;
		}
		if (!S_ISLNK(st.st_mode)) {
			if (check_dir(next, path, err, errlen) < 0)
				return -1;
			snprintf(cur, curlen, "%s", next);
			continue;
		}
		if (!owner_ok(st.st_uid)) {
			snprintf(err, errlen,
			         "%s: symlink %s is owned by uid %ld (must be root or uid %ld)",
			         path, next, (long)st.st_uid, (long)geteuid());
			return -1;
		}
		n = readlink(next, target, sizeof target - 1);
		if (n < 0) {
			snprintf(err, errlen, "%s: readlink %s: %s", path, next, strerror(errno));
			return -1;
		}
		target[n] = '\0';
		if (++links > SYMLINKS_MAX) {
			snprintf(err, errlen, "%s: too many symlinks", path);
			return -1;
		}
		/* What is left of rest moves behind the target; p indexes into rest. */
		memmove(rest, p, strlen(p) + 1);
		if (push_front(rest, sizeof rest, target) < 0)
			goto too_long;
		if (target[0] == '/')
			snprintf(cur, curlen, "/");
		p = rest;
	}
	return 0;
too_long:
	snprintf(err, errlen, "%s: path too long", path);
	return -1;
}

int safe_path_resolve(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	int n;

	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		snprintf(err, errlen, "%s: not a file name", path);
		return -1;
	}
	if (!slash)
		n = snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		n = snprintf(dir, sizeof dir, "/");
	else
		n = snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	if (n < 0 || (size_t)n >= sizeof dir) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if (walk_checked(dir, real, sizeof real, path, err, errlen) < 0)
		return -1;
	n = snprintf(out, outlen, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base);
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "%s: path too long once resolved (%s/%s)", path, real, base);
		return -1;
	}
	return 0;
}

static const char *type_name(mode_t type)
{
	switch (type & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFSOCK:
		return "a socket";
	case S_IFDIR:
		return "a directory";
	case S_IFLNK:
		return "a symlink";
	case S_IFIFO:
		return "a FIFO";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	}
	return "of an unknown type";
}

int safe_check_stat(const struct stat *st, mode_t type, const char *path, char *err, size_t errlen)
{
	if ((st->st_mode & S_IFMT) != type) {
		snprintf(err, errlen, "%s is %s (owner uid %ld), not %s; refusing to use it", path,
		         type_name(st->st_mode), (long)st->st_uid, type_name(type));
		return -1;
	}
	if (!owner_ok(st->st_uid)) {
		snprintf(err, errlen, "%s is owned by uid %ld (must be root or uid %ld)", path,
		         (long)st->st_uid, (long)geteuid());
		return -1;
	}
	if (st->st_nlink != 1) {
		snprintf(err, errlen, "%s (owner uid %ld) has %ld hard links; refusing to use it",
		         path, (long)st->st_uid, (long)st->st_nlink);
		return -1;
	}
	return 0;
}

int safe_open(const char *path, int flags, mode_t mode, struct stat *stp, char *err, size_t errlen)
{
	char full[PATH_MAX];
	struct stat st;
	int fd, fl;

	if (safe_path_resolve(path, full, sizeof full, err, errlen) < 0)
		return -1;
	/* Judge what is there before opening it: opening a FIFO for writing blocks until a
	 * reader comes, and opening a device can act on it (a tape rewinds). */
	if (lstat(full, &st) == 0 && safe_check_stat(&st, S_IFREG, path, err, errlen) < 0)
		return -1;
	/* O_NONBLOCK: if a FIFO is swapped in after all, open() fails rather than waits. */
	fd = open(full, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, mode);
	if (fd < 0) {
		int e = errno;

		if (e == ELOOP)
			snprintf(err, errlen, "%s is a symlink; refusing to follow it", path);
		else
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		errno = e; /* for a caller that tells EEXIST apart */
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "fstat %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (safe_check_stat(&st, S_IFREG, path, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	fl = fcntl(fd, F_GETFL);
	if (!(flags & O_NONBLOCK) && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)) {
		snprintf(err, errlen, "fcntl %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (stp)
		*stp = st;
	return fd;
}

int safe_remove_ours(const char *path, const struct stat *ours, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_dev != ours->st_dev || st.st_ino != ours->st_ino ||
	    (st.st_mode & S_IFMT) != (ours->st_mode & S_IFMT) || st.st_uid != geteuid() ||
	    st.st_nlink != 1)
		return 0;
	if (unlink(path) < 0) {
		snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
		return -1;
	}
	return 1;
}
