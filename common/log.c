/* Logging. Only the master ever opens the log (a file opened O_APPEND, or its
 * stderr): SIGUSR1 reopens the path for logrotate's move-then-signal, and no worker
 * needs the right to open it, whatever --user it runs as. A worker formats its own
 * line and writes it with one write() to a pipe whose read end the master polls and
 * copies to the log. Neither ever blocks on its log: the pipe is non-blocking and a
 * line is at most PIPE_BUF bytes, so it goes in whole or not at all, and a line
 * that does not fit is dropped and counted (the worker's in its scoreboard slot);
 * the master's own output is non-blocking too (see log_protect_stderr). Under
 * systemd a line takes the journal's form instead (log_set_format), chosen in the
 * master before the first fork, so that workers format theirs the same way. */
#include "log.h"

#include "safe_path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 1024
/* A line must reach the master in one piece: POSIX makes a pipe write of at most
 * PIPE_BUF bytes atomic, all of it or (non-blocking) none. */
_Static_assert(LOG_LINE_MAX <= PIPE_BUF, "a log line must fit one atomic pipe write");

static int log_out = STDERR_FILENO; /* where this process writes its lines */
static int log_file = -1;           /* the master's --log file */
static int out_is_socket;           /* log_out is a socket: send(MSG_DONTWAIT) */
static int own_stderr = -1;         /* the master's non-blocking reopen of fd 2 */
static int stderr_is_log;           /* fd 2 was pointed at the log file (a daemon) */
static int pipe_r = -1, pipe_w = -1;
static _Atomic uint64_t *worker_drops; /* set in a worker: its scoreboard counter */
static uint64_t master_drops;
static const char *log_path; /* log_path_buf once a file is open */
static char log_path_buf[PATH_MAX];
static enum log_level log_max = LOG_INFO;
static const char *log_ident = "preforkd";
static enum log_format log_form = LOG_FORMAT_PLAIN;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
/* systemd's SyslogLevelPrefix: a line that starts "<N>" gets syslog priority N in
 * the journal (sd-daemon.h: SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG), so that
 * `journalctl -p warning` selects by our level. */
static const char *const level_prefixes[] = { "<3>", "<4>", "<6>", "<7>" };

/* safe_open(): root never appends to, or creates, a file through a symlink or a
 * directory that another user could have planted or can change. */
static int open_log_file(const char *path, char *err, size_t errlen)
{
	return safe_open(path, O_WRONLY | O_CREAT | O_APPEND, 0640, NULL, err, errlen);
}

int log_file_open(const char *path, char *err, size_t errlen)
{
	return open_log_file(path, err, errlen);
}

int log_open(const char *path)
{
	char err[768];
	int fd;

	if (!path)
		return 0;
	if (strlen(path) >= sizeof log_path_buf) {
		fprintf(stderr, "%s: log file path too long: %s\n", log_ident, path);
		return -1;
	}
	fd = open_log_file(path, err, sizeof err);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot open log file %s: %s\n", log_ident, path, err);
		return -1;
	}
	log_file = log_out = fd;
	/* A copy: a reload frees the configuration the path came from. */
	memcpy(log_path_buf, path, strlen(path) + 1);
	log_path = log_path_buf;
	return 0;
}

/* The master writes to its stderr without ever blocking, yet must not set
 * O_NONBLOCK on fd 2: that open file description is the launcher's (a terminal, a
 * shell's pipe) and the flag would change it for every process sharing it. A pipe
 * or a terminal is reopened through /proc/self/fd/2, which gives a description of
 * our own; a socket (journald's stream) takes send(MSG_DONTWAIT) instead. A file
 * never blocks for long. */
void log_protect_stderr(void)
{
	struct stat st;
	int fd;

	if (log_out != STDERR_FILENO || fstat(STDERR_FILENO, &st) < 0)
		return;
	if (S_ISSOCK(st.st_mode)) {
		out_is_socket = 1;
		return;
	}
	if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
		return;
	fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		log_warn("reopening stderr non-blocking: %s; a stalled reader of stderr "
		         "would stall the master",
		         strerror(errno));
		return;
	}
	own_stderr = log_out = fd;
}

/* Open the new file before closing the old one: if the open fails, logging goes on
 * to the old file rather than nowhere, and the failure is said there (never on a
 * stderr that may block: the running master only writes its log). */
static int replace_log_file(const char *path, char *err, size_t errlen)
{
	int fd;

	if (strlen(path) >= sizeof log_path_buf) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	fd = open_log_file(path, err, errlen);
	if (fd < 0)
		return -1;
	if (dup3(fd, log_file, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "dup3: %s", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (path != log_path_buf)
		memcpy(log_path_buf, path, strlen(path) + 1);
	/* A daemon's stray stderr output follows the log to the new file; otherwise fd 2
	 * would keep the rotated file open (and its disk space) for ever. */
	if (stderr_is_log && dup2(log_file, STDERR_FILENO) < 0)
		log_error("pointing stderr at the reopened log: %s", strerror(errno));
	return 0;
}

int log_reopen(void)
{
	char err[768];

	if (!log_path)
		return 0;
	if (replace_log_file(log_path, err, sizeof err) < 0) {
		log_error("cannot reopen log file %s: %s", log_path, err);
		return -1;
	}
	return 0;
}

int log_switch(const char *path, char *err, size_t errlen)
{
	if (!log_path) {
		snprintf(err, errlen, "log: the log is stderr; a log file needs a restart");
		return -1;
	}
	return replace_log_file(path, err, errlen);
}

int log_capture_stderr(void)
{
	if (log_file < 0 || dup2(log_file, STDERR_FILENO) < 0)
		return -1;
	stderr_is_log = 1;
	return 0;
}

int log_pipe_open(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	pipe_r = p[0];
	pipe_w = p[1];
	return pipe_r;
}

static void close_if_open(int *fd)
{
	if (*fd > STDERR_FILENO)
		close(*fd);
	*fd = -1;
}

/* In a new worker: keep only the pipe's write end; the log file and the master's
 * stderr reopen stay the master's. */
void log_enter_worker(_Atomic uint64_t *drops)
{
	if (pipe_w < 0)
		return;
	close_if_open(&pipe_r);
	close_if_open(&log_file);
	close_if_open(&own_stderr);
	/* A worker never holds the log file, not even as a daemon's fd 2: stray output
	 * (a sanitizer report) goes through the pipe like its log lines. */
	if (stderr_is_log)
		(void)!dup2(pipe_w, STDERR_FILENO);
	log_out = pipe_w;
	out_is_socket = 0;
	worker_drops = drops;
}

static size_t count_lines(const char *p, size_t n)
{
	size_t lines = 0;

	for (size_t i = 0; i < n; i++)
		lines += p[i] == '\n';
	return lines;
}

static void count_drops(uint64_t lines)
{
	/* One writer per counter (this worker, or the master's own): no locked add. */
	if (worker_drops)
		atomic_store_explicit(worker_drops,
		                      atomic_load_explicit(worker_drops, memory_order_relaxed) +
		                              lines,
		                      memory_order_relaxed);
	else
		master_drops += lines;
}

/* Writes whole lines without blocking; what cannot be written now is dropped and
 * counted. A failed log write has nowhere to be reported. */
static void write_lines(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = out_is_socket ? send(log_out, p, n, MSG_DONTWAIT | MSG_NOSIGNAL)
		                          : write(log_out, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			count_drops(count_lines(p, n));
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Copies the workers' lines to the log, whole lines only: a read may end inside a
 * line, whose start then waits for the rest. Each write stays within PIPE_BUF so
 * that on a non-blocking pipe it is all or nothing. At most max_reads reads, so a
 * chatty worker cannot keep the master here. */
static void drain_pipe(int max_reads)
{
	static char buf[16 * PIPE_BUF];
	static size_t held;

	for (int i = 0; pipe_r >= 0 && (max_reads == 0 || i < max_reads); i++) {
		ssize_t n = read(pipe_r, buf + held, sizeof buf - held);
		size_t start = 0, end;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		held += (size_t)n;
		for (;;) {
			size_t chunk_end = start, j;

			for (j = start; j < held && j - start < PIPE_BUF; j++)
				if (buf[j] == '\n')
					chunk_end = j + 1;
			if (chunk_end == start)
				break;
			write_lines(buf + start, chunk_end - start);
			start = chunk_end;
		}
		end = held - start;
		/* Lines are written whole and at most LOG_LINE_MAX long: a remainder this
		 * large cannot be the start of one. Pass it on rather than hold it. */
		if (end >= PIPE_BUF) {
			write_lines(buf + start, end);
			end = 0;
			start = held;
		}
		memmove(buf, buf + start, end);
		held = end;
	}
}

void log_drain_pipe(void)
{
	drain_pipe(16);
}

/* At exit, once every worker is gone: everything they wrote is in the pipe. */
void log_drain_pipe_all(void)
{
	drain_pipe(0);
}

int log_pipe_fd(void)
{
	return pipe_r;
}

uint64_t log_dropped(void)
{
	return master_drops;
}

void log_set_level(enum log_level level)
{
	log_max = level;
}

void log_set_ident(const char *ident)
{
	log_ident = ident;
}

static int parse_decimal(const char **p, unsigned long long *v)
{
	char *end;

	if (**p < '0' || **p > '9')
		return -1;
	errno = 0;
	*v = strtoull(*p, &end, 10);
	if (errno)
		return -1;
	*p = end;
	return 0;
}

/* systemd puts "DEV:INODE" of the stream it connected to a unit's stdout/stderr in
 * JOURNAL_STREAM. A child whose stderr was sent elsewhere inherits the variable all
 * the same (a shell started from a unit, `2>file`): only when fd 2 is that very
 * socket does journald read what we write (sd_journal_stream's rule). */
static int stderr_is_journal(void)
{
	const char *p = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!p || parse_decimal(&p, &dev) < 0 || *p++ != ':' || parse_decimal(&p, &ino) < 0 ||
	    *p != '\0')
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* A --log file is never the journal's stream, whatever fd 2 is. */
enum log_format log_set_format(enum log_format format)
{
	if (format == LOG_FORMAT_AUTO)
		format =
			log_file < 0 && stderr_is_journal() ? LOG_FORMAT_JOURNAL : LOG_FORMAT_PLAIN;
	log_form = format;
	return format;
}

int log_fd(void)
{
	return log_file >= 0 ? log_file : STDERR_FILENO;
}

/* The journal stamps each line itself and knows the program's name; the pid stays,
 * since the journal's own _PID is the master's even for a worker's line (it comes
 * through the master's pipe). */
static size_t format_head(char *line, size_t size, enum log_level level)
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	if (log_form == LOG_FORMAT_JOURNAL)
		return (size_t)snprintf(line, size, "%s[%ld] %s: ", level_prefixes[level],
		                        (long)getpid(), level_names[level]);
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, size, "%Y-%m-%dT%H:%M:%S", &tm);
	return n + (size_t)snprintf(line + n, size - n,
	                            ".%03ldZ %s[%ld] %s: ", (long)tv.tv_usec / 1000, log_ident,
	                            (long)getpid(), level_names[level]);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	size_t n;
	int saved = errno;

	if (level > log_max)
		return;
	n = format_head(line, sizeof line, level);
	va_start(ap, fmt);
	if (n < sizeof line)
		vsnprintf(line + n, sizeof line - n, fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	/* One write() per line: whole in the pipe, whole in an O_APPEND file. */
	write_lines(line, n);
	errno = saved;
}
