/* Reading the configuration file: a bounded read of a regular file, then a line
 * splitter small enough to check by eye and fuzzed with the option parser. No
 * quoting and no escapes: every value preforkd takes is a word or a path. */
#include "conf_file.h"

#include "safe_path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_config(const char *path, int strict, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (strict) {
		/* The safe-path rule: no symlink as the last component, directories that
		 * nobody else can change, a regular file of root or our euid. */
		fd = safe_open(path, O_RDONLY, 0, &st, err, errlen);
		if (fd < 0)
			return -1;
		if (st.st_mode & (S_IWGRP | S_IWOTH)) {
			snprintf(err, errlen,
			         "%s (owner uid %ld, mode %04o) is writable by group or others; "
			         "refusing to use it",
			         path, (long)st.st_uid, (unsigned)(st.st_mode & 07777));
			close(fd);
			return -1;
		}
		return fd;
	}
	/* O_NONBLOCK: a FIFO named as the file must not hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	return fd;
}

int conf_file_read(const char *path, int strict, char **text, size_t *len, char *err, size_t errlen)
{
	int fd = open_config(path, strict, err, errlen), failed = 0;
	size_t n = 0;
	char *buf;

	if (fd < 0)
		return -1;
	/* One byte more than the limit tells a file that is too long. */
	buf = malloc(CONF_FILE_MAX + 2);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return -1;
	}
	while (n <= (size_t)CONF_FILE_MAX) {
		ssize_t r = read(fd, buf + n, CONF_FILE_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			failed = 1;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd); /* read-only: nothing to flush, nothing to retry */
	if (!failed && n > (size_t)CONF_FILE_MAX) {
		snprintf(err, errlen, "%s: longer than %d bytes", path, CONF_FILE_MAX);
		failed = 1;
	}
	if (failed) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Cuts a comment ('#' first on the line or after a blank) and trailing blanks. */
static void trim_line(char *s)
{
	size_t n;

	for (char *p = s; *p; p++) {
		if (*p == '#' && (p == s || is_blank(p[-1]))) {
			*p = '\0';
			break;
		}
	}
	n = strlen(s);
	while (n > 0 && is_blank(s[n - 1]))
		s[--n] = '\0';
}

/* A printable, bounded copy of what was found, for an error message. */
static void quote_text(const char *s, char *buf, size_t len)
{
	size_t i = 0;

	for (; *s && i + 4 < len; s++) {
		char c = *s;

		if (c < 0x20 || c >= 0x7f)
			c = '?';
		buf[i++] = c;
	}
	if (*s && len >= 4) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
}

static int parse_line(char *s, struct conf_line *l, char *err, size_t errlen)
{
	char *p = s, shown[64];

	while (is_blank(*p))
		p++;
	trim_line(p);
	if (*p == '\0')
		return 0; /* blank or comment */
	l->key = p;
	while (is_key_char(*p))
		p++;
	/* A key starts with a letter: "--workers 2" is a command line pasted in. */
	if (p == l->key || *l->key < 'a' || *l->key > 'z' || (*p && !is_blank(*p))) {
		quote_text(l->key, shown, sizeof shown);
		snprintf(err, errlen,
		         "expected 'key value' (a key is an option's long name: "
		         "lower-case letters, digits and '-'), got '%s'",
		         shown);
		return -1;
	}
	l->value = NULL;
	if (*p) {
		*p++ = '\0';
		while (is_blank(*p))
			p++;
		l->value = p; /* not empty: trailing blanks were cut */
	}
	for (const char *v = l->value; v && *v; v++) {
		if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f) {
			snprintf(err, errlen, "%s: control character in the value", l->key);
			return -1;
		}
	}
	return 1;
}

int conf_file_parse(const char *path, char *text, size_t len, conf_line_fn *fn, void *ctx,
                    char *err, size_t errlen)
{
	char why[CONF_LINE_MAX + 256];
	char *p = text, *end = text + len;

	for (unsigned line = 1; p < end; line++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end;
		struct conf_line l = { line, NULL, NULL };
		int rc;

		why[0] = '\0';
		if (memchr(p, '\0', (size_t)(eol - p))) {
			snprintf(why, sizeof why, "NUL byte in the line");
			rc = -1;
		} else if (eol - p > CONF_LINE_MAX) {
			snprintf(why, sizeof why, "line longer than %d bytes", CONF_LINE_MAX);
			rc = -1;
		} else {
			if (eol > p && eol[-1] == '\r')
				eol[-1] = '\0'; /* a file written on Windows */
			*eol = '\0';
			rc = parse_line(p, &l, why, sizeof why);
			if (rc > 0)
				rc = fn(ctx, &l, why, sizeof why);
		}
		if (rc < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, line, why);
			return -1;
		}
		p = eol + 1;
	}
	return 0;
}
