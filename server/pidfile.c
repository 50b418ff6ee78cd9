/* A stale pidfile (no process holds its lock) is simply taken over; a locked one
 * names the running instance. The lock lives on the open fd, so it ends with the
 * master however the master ends. */
#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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

int pidfile_create(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "another instance is running (pid %ld, pidfile %s)",
				 read_pid(fd), path);
		else
			snprintf(err, errlen, "cannot lock pidfile %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Write the new number over the old one, then cut the file to its length: a
 * reader sees the old pid or the new one, never an empty file. */
int pidfile_write(int fd, pid_t pid)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)pid);

	if (pwrite(fd, buf, (size_t)n, 0) != n)
		return -1;
	return ftruncate(fd, n);
}

void pidfile_remove(const char *path, int fd)
{
	if (fd < 0)
		return;
	unlink(path);
	close(fd);
}
