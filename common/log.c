/* Logging to stderr or to a file opened O_APPEND. log_reopen() serves SIGUSR1:
 * logrotate moves the file, then the master reopens the path. Workers inherit the
 * fd across fork, so a rotated log is picked up by workers spawned afterwards. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int log_out = STDERR_FILENO;
static const char *log_path;
static enum log_level log_max = LOG_INFO;
static const char *log_ident = "preforkd";

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static int open_log_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

	if (fd < 0)
		fprintf(stderr, "%s: cannot open log file %s: %s\n", log_ident, path,
			strerror(errno));
	return fd;
}

int log_open(const char *path)
{
	int fd;

	if (!path)
		return 0;
	fd = open_log_file(path);
	if (fd < 0)
		return -1;
	log_out = fd;
	log_path = path;
	return 0;
}

/* Open the new file before closing the old one: if the open fails, logging goes on
 * to the old file rather than nowhere. */
int log_reopen(void)
{
	int fd;

	if (!log_path)
		return 0;
	fd = open_log_file(log_path);
	if (fd < 0)
		return -1;
	if (dup3(fd, log_out, O_CLOEXEC) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void log_set_level(enum log_level level)
{
	log_max = level;
}

void log_set_ident(const char *ident)
{
	log_ident = ident;
}

int log_fd(void)
{
	return log_out;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	size_t n;
	int saved = errno;

	if (level > log_max)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof line - n, ".%03ldZ %s[%ld] %s: ",
			      (long)tv.tv_usec / 1000, log_ident, (long)getpid(),
			      level_names[level]);
	va_start(ap, fmt);
	if (n < sizeof line)
		vsnprintf(line + n, sizeof line - n, fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	/* One write() per line: O_APPEND keeps concurrent writers' lines whole. A
	 * failed log write has nowhere to be reported, so it is dropped. */
	while (write(log_out, line, n) < 0 && errno == EINTR)
		;
	errno = saved;
}
