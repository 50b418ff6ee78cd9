/* Inherited file descriptors (activation.h): systemd's LISTEN_FDS convention. The
 * parse is pure and unit-tested (test/unit/activation.c); activation_read() adds
 * the checks that need the process: the fds are open, and the variables go. */
#include "activation.h"

#include "parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const reserved[] = { "admin",         "admin-lock", "pid-lock",
	                                "upgrade-ready", "metrics",    "agent" };

int activation_name_reserved(const char *name)
{
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strcmp(name, reserved[i]) == 0)
			return 1;
	return 0;
}

/* A decimal count or pid as systemd writes it: digits only, no sign, no blanks. */
static int parse_count(const char *s, long max, long *out)
{
	char ignored[128];

	return parse_long("LISTEN_FDS", s, 0, max, out, ignored, sizeof ignored);
}

/* The names, ':'-separated, one per fd. systemd's rule for a name: printable
 * ASCII without ':', at most 255 characters. */
static int parse_names(struct activation *a, const char *names, char *err, size_t errlen)
{
	const char *p = names;

	for (size_t i = 0; i < a->n; i++) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if ((end == NULL) != (i + 1 == a->n)) {
			snprintf(err, errlen, "LISTEN_FDNAMES has %s names than LISTEN_FDS=%zu",
			         end ? "more" : "fewer", a->n);
			return -1;
		}
		if (len > ACTIVATION_NAME_MAX) {
			snprintf(err, errlen,
			         "LISTEN_FDNAMES: name %zu is longer than %d characters", i + 1,
			         ACTIVATION_NAME_MAX);
			return -1;
		}
		for (size_t k = 0; k < len; k++) {
			if (p[k] < ' ' || p[k] > '~') {
				snprintf(err, errlen,
				         "LISTEN_FDNAMES: name %zu holds a byte that is not "
				         "printable "
				         "ASCII",
				         i + 1);
				return -1;
			}
		}
		memcpy(a->fds[i].name, p, len);
		a->fds[i].name[len] = '\0';
		p = end ? end + 1 : p + len;
	}
	return 0;
}

int activation_parse(struct activation *a, const char *listen_fds, const char *listen_pid,
                     const char *listen_fdnames, pid_t self, char *err, size_t errlen)
{
	long n, pid;

	memset(a, 0, sizeof *a);
	if (!listen_fds)
		return 0;
	if (!listen_pid || parse_count(listen_pid, 0x7fffffffL, &pid) < 0 || pid <= 0) {
		snprintf(err, errlen, "LISTEN_FDS is set but LISTEN_PID is %s%s%s",
		         listen_pid ? "'" : "missing", listen_pid ? listen_pid : "",
		         listen_pid ? "', not a pid" : "");
		return -1;
	}
	if ((pid_t)pid != self)
		return 0; /* meant for another process (our parent's, say): not ours */
	if (parse_count(listen_fds, ACTIVATION_FDS_MAX, &n) < 0 || n < 1) {
		snprintf(err, errlen, "LISTEN_FDS='%s': not a count of fds from 1 to %d",
		         listen_fds, ACTIVATION_FDS_MAX);
		return -1;
	}
	a->n = (size_t)n;
	for (size_t i = 0; i < a->n; i++)
		a->fds[i].fd = ACTIVATION_FD_START + (int)i;
	if (listen_fdnames && parse_names(a, listen_fdnames, err, errlen) < 0) {
		a->n = 0;
		return -1;
	}
	a->present = 1;
	return 0;
}

int activation_read(struct activation *a, char *err, size_t errlen)
{
	if (activation_parse(a, getenv("LISTEN_FDS"), getenv("LISTEN_PID"),
	                     getenv("LISTEN_FDNAMES"), getpid(), err, errlen) < 0)
		return -1;
	if (!a->present)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		int fl = fcntl(a->fds[i].fd, F_GETFD);

		if (fl < 0 || fcntl(a->fds[i].fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
			snprintf(err, errlen, "LISTEN_FDS: fd %d%s%s%s: %s", a->fds[i].fd,
			         a->fds[i].name[0] ? " (" : "", a->fds[i].name,
			         a->fds[i].name[0] ? ")" : "", strerror(errno));
			return -1;
		}
	}
	/* Only failure: an invalid name (these are valid) or no memory to copy the
	 * environment, which leaves them set: harmless, LISTEN_PID names this process. */
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDNAMES");
	return 0;
}

int activation_take(struct activation *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++) {
		if (!a->fds[i].taken && strcmp(a->fds[i].name, name) == 0) {
			a->fds[i].taken = 1;
			return a->fds[i].fd;
		}
	}
	return -1;
}

size_t activation_close_untaken(struct activation *a)
{
	size_t closed = 0;

	for (size_t i = 0; i < a->n; i++) {
		if (a->fds[i].taken)
			continue;
		(void)close(a->fds[i].fd); /* an inherited fd we do not use: EBADF cannot happen */
		a->fds[i].taken = 1;
		closed++;
	}
	return closed;
}
