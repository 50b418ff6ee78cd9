/* The access log (--access-log, --service http): one line per request in the
 * combined log format. Only the master opens the file, with the error log's safe
 * open (log_file_open: no symlink, no planted file, O_APPEND); a worker inherits the
 * fd at fork and writes each line with one write(). An O_APPEND write to a regular
 * file is placed and copied under the file's lock, so lines of different workers
 * never interleave, and none goes through the master or can be dropped by a full
 * pipe. Workers run as --user and never open the path.
 * After SIGUSR1 the master holds the new file and the workers the old one: the
 * master then starts a rolling restart, and the new generation inherits the new fd
 * (see access_log_reopen). */
#ifndef PREFORKD_ACCESS_LOG_H
#define PREFORKD_ACCESS_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

/* A line is at most this long; longer fields are cut at a whole escape. */
#define ACCESS_LINE_MAX 16384

/* What one line says; a NULL text with its length 0 is shown as "-" (headers) or
 * "" (the request line). */
struct access_entry {
	const char *host; /* the client's address, already text */
	time_t when;
	const char *request_line;
	size_t request_line_len;
	int status;
	uint64_t body_bytes; /* 0 is shown as "-", as %b does */
	const char *referer;
	size_t referer_len;
	const char *user_agent;
	size_t user_agent_len;
};

/* Master, at start: 0, or -1 with err naming the path and why. */
int access_log_open(const char *path, char *err, size_t errlen);
/* Master, on SIGUSR1: opens the path again. 1: it is another file now (rotated), so
 * the workers must be replaced to write there; 0: the same file (nothing to do, the
 * new fd is closed); -1: err says why, the old file stays in use. */
int access_log_reopen(char *err, size_t errlen);
const char *access_log_path(void);
int access_log_enabled(void);
/* Worker: one write() of the whole line; -1 when it was not written in full. */
int access_log_write(const char *line, size_t len);
/* Formats the line, '\n' included, into buf (ACCESS_LINE_MAX bytes); returns its
 * length. Control bytes, '"', '\\' and bytes >= 0x7f of the request line, Referer and
 * User-Agent become \xHH (a client cannot forge a line or a field). */
size_t access_log_format(char *buf, size_t cap, const struct access_entry *e);
/* The numeric address of a peer, or "-" for a family without one. */
void access_log_host(const struct sockaddr_storage *peer, char *buf, size_t len);

#endif
