/* Logging to stderr or to a file opened O_APPEND. log_reopen() serves SIGUSR1:
 * logrotate moves the file, then the master reopens the path. Workers have their
 * own copy of the fd, so the master also bumps a generation number in shared
 * memory; a worker compares it before each line it writes (rare: workers log only
 * trouble) and reopens the file too. */
#include "log.h"

#include "safe_path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int log_out = STDERR_FILENO;
static const char *log_path;
static enum log_level log_max = LOG_INFO;
static const char *log_ident = "preforkd";
static _Atomic unsigned *shared_generation;
static unsigned seen_generation;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/* safe_open(): root never appends to, or creates, a file through a symlink or a
 * directory that another user could have planted or can change. */
static int open_log_file(const char *path)
{
	char err[768];
	int fd = safe_open(path, O_WRONLY | O_CREAT | O_APPEND, 0640, NULL, err, sizeof err);

	if (fd < 0)
		fprintf(stderr, "%s: cannot open log file %s: %s\n", log_ident, path, err);
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
static int reopen_file(void)
{
	int fd = open_log_file(log_path);

	if (fd < 0)
		return -1;
	if (dup3(fd, log_out, O_CLOEXEC) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int log_reopen(void)
{
	if (!log_path)
		return 0;
	if (reopen_file() < 0)
		return -1;
	if (shared_generation)
		seen_generation = atomic_fetch_add(shared_generation, 1) + 1;
	return 0;
}

/* Called once before the first fork, when logging to a file. */
int log_share(void)
{
	void *p;

	if (!log_path)
		return 0;
	p = mmap(NULL, sizeof *shared_generation, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	shared_generation = p;
	return 0;
}

static void follow_reopen(void)
{
	unsigned g;

	if (!shared_generation)
		return;
	g = atomic_load_explicit(shared_generation, memory_order_relaxed);
	if (g != seen_generation && reopen_file() == 0)
		seen_generation = g;
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
	follow_reopen();
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
