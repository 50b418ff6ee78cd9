/* Why a separate lock file, and why it is never removed:
 * - A lock on the world-readable pidfile can be taken (shared or exclusive) by anyone
 *   who can open it, which blocks every restart. The lock file is 0600 in a directory
 *   others cannot write (safe_open), so only root or our uid can open it at all.
 * - Unlinking a locked file lets a starter that opened the old inode lock it after we
 *   release it, while a third starter creates and locks a new inode: two instances.
 *   A lock file that always stays in place is one inode for every starter, so flock()
 *   decides, whatever the timing. An empty file left in /run is the price. */
#include "instance_lock.h"

#include "master_fault.h"
#include "safe_path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static long read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* The holder's pid, for the next starter's message; only a hint, never trusted. */
static int write_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());

	if (pwrite(fd, buf, (size_t)n, 0) != n)
		return -1;
	return ftruncate(fd, n);
}

int instance_lock_take(const char *path, const char *what, char *err, size_t errlen)
{
	char lock[PATH_MAX];
	struct stat st;
	int fd, n = snprintf(lock, sizeof lock, "%s.lock", path);

	if (n < 0 || (size_t)n >= sizeof lock) {
		snprintf(err, errlen, "%s %s: path too long for its lock file", what, path);
		return -1;
	}
	fd = safe_open(lock, O_RDWR | O_CREAT, 0600, &st, err, errlen);
	if (fd < 0)
		return -1;
	/* A lock file left more open (an older mode, a umask at creation): narrow it
	 * through the fd, never by path. */
	if ((st.st_mode & 077) && fchmod(fd, 0600) < 0) {
		snprintf(err, errlen, "fchmod %s: %s", lock, strerror(errno));
		close(fd);
		return -1;
	}
	master_fault_pause("lock");
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "another instance is running (pid %ld, %s %s)",
			         read_pid(fd), what, path);
		else
			snprintf(err, errlen, "cannot lock %s: %s", lock, strerror(errno));
		close(fd);
		return -1;
	}
	if (write_pid(fd) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", lock, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int instance_lock_adopt(int fd)
{
	/* The hint is refreshed; a failure leaves the old pid there, nothing worse. */
	(void)write_pid(fd);
	return fd;
}
