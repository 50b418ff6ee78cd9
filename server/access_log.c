/* The access log: opened by the master, written by workers (access_log.h). */
#include "access_log.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int log_fd_ = -1;
static char log_path_[PATH_MAX]; /* a copy: a reload frees the configuration */
static struct stat log_st_;      /* the open file, to tell a rotated path from the same file */

int access_log_open(const char *path, char *err, size_t errlen)
{
	int fd;

	if (strlen(path) >= sizeof log_path_) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	fd = log_file_open(path, err, errlen);
	if (fd < 0)
		return -1;
	if (fstat(fd, &log_st_) < 0) {
		snprintf(err, errlen, "fstat: %s", strerror(errno));
		close(fd);
		return -1;
	}
	log_fd_ = fd;
	memcpy(log_path_, path, strlen(path) + 1);
	return 0;
}

int access_log_reopen(char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (log_fd_ < 0)
		return 0;
	fd = log_file_open(log_path_, err, errlen);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "fstat: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (st.st_dev == log_st_.st_dev && st.st_ino == log_st_.st_ino) {
		close(fd);
		return 0;
	}
	/* dup3 keeps the number: nothing else holds it, and a worker forked from now on
	 * finds the new file where the old one was. */
	if (dup3(fd, log_fd_, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "dup3: %s", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	log_st_ = st;
	return 1;
}

const char *access_log_path(void)
{
	return log_path_;
}

int access_log_enabled(void)
{
	return log_fd_ >= 0;
}

int access_log_write(const char *line, size_t len)
{
	ssize_t n;

	do
		n = write(log_fd_, line, len);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}

static const char hex[] = "0123456789ABCDEF";

/* Appends s escaped, as much as fits before cap - reserve. */
static size_t put_escaped(char *buf, size_t at, size_t cap, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		int plain = ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\';

		if (at + (plain ? 1 : 4) > cap)
			break;
		if (plain) {
			buf[at++] = (char)ch;
			continue;
		}
		buf[at++] = '\\';
		buf[at++] = 'x';
		buf[at++] = hex[ch >> 4];
		buf[at++] = hex[ch & 15];
	}
	return at;
}

static size_t put_text(char *buf, size_t at, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n > cap - at)
		n = cap - at;
	while (n-- > 0)
		buf[at++] = *s++;
	return at;
}

/* A header field in quotes, at most max bytes escaped: "-" when absent. */
static size_t put_field(char *buf, size_t at, size_t cap, size_t max, const char *s, size_t n)
{
	at = put_text(buf, at, cap, "\"");
	at = s ? put_escaped(buf, at, at + max, s, n) : put_text(buf, at, cap, "-");
	return put_text(buf, at, cap, "\"");
}

size_t access_log_format(char *buf, size_t cap, const struct access_entry *e)
{
	/* Each escaped field gets at most a third of the line, so the fixed parts
	 * and the newline always fit. */
	size_t field = (cap - 256) / 3, at = 0;
	/* The time changes once a second: formatted then, not per line. */
	static time_t cached = (time_t)-1;
	static char when[48];
	char tail[64];
	struct tm tm;

	if (e->when != cached) {
		if (!localtime_r(&e->when, &tm) ||
		    strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S %z", &tm) == 0)
			snprintf(when, sizeof when, "%lld", (long long)e->when);
		cached = e->when;
	}
	at += (size_t)snprintf(buf, cap, "%.64s - - [%s] \"", e->host, when);
	at = put_escaped(buf, at, at + field, e->request_line ? e->request_line : "",
	                 e->request_line_len);
	if (e->body_bytes)
		snprintf(tail, sizeof tail, "\" %d %llu ", e->status,
		         (unsigned long long)e->body_bytes);
	else
		snprintf(tail, sizeof tail, "\" %d - ", e->status);
	at = put_text(buf, at, cap, tail);
	at = put_field(buf, at, cap, field, e->referer, e->referer_len);
	at = put_text(buf, at, cap, " ");
	at = put_field(buf, at, cap, field, e->user_agent, e->user_agent_len);
	return put_text(buf, at, cap, "\n");
}

void access_log_host(const struct sockaddr_storage *peer, char *buf, size_t len)
{
	const void *a = NULL;

	if (peer->ss_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)peer)->sin_addr;
	else if (peer->ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr;
	if (!a || !inet_ntop(peer->ss_family, a, buf, (socklen_t)len))
		snprintf(buf, len, "-");
}
