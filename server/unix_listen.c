/* Unix-domain listening sockets (unix_listen.h). */
#include "unix_listen.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fill_sockaddr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun->sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

int unix_listen_remove_stale(const char *what, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct ucred cred;
	socklen_t clen = sizeof cred;
	struct stat st;
	int fd, rc, e;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s %s exists and is not a socket (owner uid %ld)", what,
		         path, (long)st.st_uid);
		return -1;
	}
	if (fill_sockaddr(path, &sun) < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	e = errno;
	if (rc == 0 || e == EAGAIN) {
		/* Live: the holder named, as the kernel reports it. */
		if (rc != 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
			snprintf(err, errlen, "another instance is running (%s %s)", what, path);
		else if (cred.uid != 0 && cred.uid != geteuid())
			snprintf(err, errlen, "%s %s is held by uid %u pid %ld", what, path,
			         (unsigned)cred.uid, (long)cred.pid);
		else
			snprintf(err, errlen, "another instance is running (pid %ld, %s %s)",
			         (long)cred.pid, what, path);
		close(fd);
		return -1;
	}
	close(fd);
	/* Only ECONNREFUSED means dead: anything else (EPROTOTYPE: a live datagram
	 * socket) is not ours to judge. */
	if (e != ECONNREFUSED) {
		snprintf(err, errlen, "cannot check %s %s: %s", what, path, strerror(e));
		return -1;
	}
	if (st.st_uid != geteuid() || st.st_nlink != 1) {
		snprintf(err, errlen,
		         "stale %s %s is owned by uid %ld (%ld links); not removing it", what, path,
		         (long)st.st_uid, (long)st.st_nlink);
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove stale %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	log_info("removed stale %s %s", what, path);
	return 0;
}

static int fail(int fd, const char *what, const char *path, const char *op, int unlink_it,
                char *err, size_t errlen)
{
	snprintf(err, errlen, "%s %s: %s: %s", what, path, op, strerror(errno));
	if (unlink_it)
		(void)unlink(path); /* ours: best effort, a leftover is stale next time */
	close(fd);
	return -1;
}

int unix_listen_bind(const char *what, const char *path, int type, mode_t mode, int own, uid_t uid,
                     gid_t gid, int backlog, struct stat *st, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, rc, e;

	if (fill_sockaddr(path, &sun) < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(-1, what, path, "socket", 0, err, errlen);
	/* bind() makes the file with 0777 & ~umask: its final mode from its first
	 * moment, never wider. */
	old = umask((mode_t)(~mode & 0777));
	rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	e = errno;
	umask(old);
	errno = e;
	if (rc < 0)
		return fail(fd, what, path, "bind", 0, err, errlen);
	/* Not followed: a symlink swapped in since bind() is not changed, and the lstat
	 * below then finds it is not our socket. */
	if (own && fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(fd, what, path, "chown", 1, err, errlen);
	if (lstat(path, st) < 0)
		return fail(fd, what, path, "lstat", 1, err, errlen);
	if (!S_ISSOCK(st->st_mode) || (!own && st->st_uid != geteuid())) {
		snprintf(err, errlen, "%s %s: not the socket just made", what, path);
		close(fd);
		return -1;
	}
	if ((st->st_mode & 0777) != mode) {
		snprintf(err, errlen,
		         "%s %s: made with mode %04o, not %04o (a default ACL on its directory?)",
		         what, path, (unsigned)(st->st_mode & 0777), (unsigned)mode);
		(void)unlink(path);
		close(fd);
		return -1;
	}
	if (type == SOCK_STREAM && listen(fd, backlog) < 0)
		return fail(fd, what, path, "listen", 1, err, errlen);
	return fd;
}
