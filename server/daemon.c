/* Classic double-fork daemon start. The parent keeps the read end of a pipe that
 * is the daemon's stderr during start-up: whatever the daemon reports there (a port
 * in use, a locked pidfile) reaches the user's terminal, and a single NUL byte, which
 * no message contains, means "ready". The parent's exit status is thus the start-up
 * result, as an init script or a test needs it. */
#include "daemon.h"

#include "config.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int daemonized;

static int make_absolute(const char **path, char *buf, size_t len, const char *cwd, char *err,
                         size_t errlen)
{
	if (!*path || (*path)[0] == '/')
		return 0;
	if ((size_t)snprintf(buf, len, "%s/%s", cwd, *path) >= len) {
		snprintf(err, errlen, "path too long: %s/%s", cwd, *path);
		return -1;
	}
	*path = buf;
	return 0;
}

/* Started with 0, 1 or 2 closed, the log file or the start-up pipe could land on
 * one of them and be clobbered when stdio is redirected: fill them first. */
static int reserve_stdio(char *err, size_t errlen)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && fd <= STDERR_FILENO)
		if (fcntl(fd, F_SETFD, 0) < 0)
			break;
	if (fd < 0) {
		snprintf(err, errlen, "open /dev/null: %s", strerror(errno));
		return -1;
	}
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

int daemon_prepare(struct config *cfg, char *err, size_t errlen)
{
	static char pidfile[PATH_MAX], log_path[PATH_MAX], admin[PATH_MAX];
	char cwd[PATH_MAX];

	if (!cfg->daemonize)
		return 0;
	if (reserve_stdio(err, errlen) < 0)
		return -1;
	if (!getcwd(cwd, sizeof cwd)) {
		snprintf(err, errlen, "getcwd: %s", strerror(errno));
		return -1;
	}
	if (make_absolute(&cfg->pidfile, pidfile, sizeof pidfile, cwd, err, errlen) < 0 ||
	    make_absolute(&cfg->log_path, log_path, sizeof log_path, cwd, err, errlen) < 0 ||
	    make_absolute(&cfg->admin_path, admin, sizeof admin, cwd, err, errlen) < 0)
		return -1;
	return 0;
}

/* Copies the daemon's start-up messages to our stderr until the pipe closes;
 * returns 1 if the ready byte came. */
static int relay_until_ready(int fd, int *relayed)
{
	char buf[1024];
	int ready = 0;

	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf), kept = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ready;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\0')
				ready = 1;
			else
				buf[kept++] = buf[i];
		}
		*relayed += kept > 0;
		/* Our stderr failing leaves nothing to report to: the exit status still
		 * tells the caller. */
		if (kept > 0)
			(void)!write(STDERR_FILENO, buf, (size_t)kept);
	}
}

static void wait_for_child(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static void run_parent(pid_t child, int fd)
{
	int relayed = 0, ready = relay_until_ready(fd, &relayed);

	wait_for_child(child);
	if (!ready && !relayed)
		fprintf(stderr, "preforkd: the daemon exited during start-up\n");
	exit(ready ? 0 : 1);
}

/* The session leader exits at once: the daemon is then no session leader and can
 * never acquire a controlling terminal by opening one. */
static void leave_session(int report_fd)
{
	pid_t pid;

	if (setsid() < 0) {
		dprintf(report_fd, "preforkd: setsid: %s\n", strerror(errno));
		_exit(1);
	}
	pid = fork();
	if (pid < 0) {
		dprintf(report_fd, "preforkd: fork: %s\n", strerror(errno));
		_exit(1);
	}
	if (pid > 0)
		_exit(0);
}

/* stdin and stdout go to /dev/null, stderr to the parent. Inherited fds are gone
 * already (main closes them first thing); what is left is ours. */
static int redirect_fds(int report_fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 ||
	    dup2(report_fd, STDERR_FILENO) < 0) {
		dprintf(report_fd, "preforkd: redirecting stdio: %s\n", strerror(errno));
		return -1;
	}
	close(null);
	close(report_fd);
	return 0;
}

int daemon_start(const struct config *cfg)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };
	int p[2];
	pid_t pid;

	if (!cfg->daemonize)
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0) {
		fprintf(stderr, "preforkd: pipe2: %s\n", strerror(errno));
		return -1;
	}
	(void)fflush(NULL); /* a failed flush loses buffered output, not the start */
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "preforkd: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		run_parent(pid, p[0]);
	}
	close(p[0]);
	/* If the parent is killed while waiting, a start-up message must not kill us
	 * with SIGPIPE (the master ignores SIGPIPE later anyway). */
	if (sigaction(SIGPIPE, &sa, NULL) < 0) {
		dprintf(p[1], "preforkd: sigaction SIGPIPE: %s\n", strerror(errno));
		_exit(1);
	}
	leave_session(p[1]);
	if (chdir("/") < 0) {
		dprintf(p[1], "preforkd: chdir /: %s\n", strerror(errno));
		_exit(1);
	}
	if (redirect_fds(p[1]) < 0)
		_exit(1);
	daemonized = 1;
	return 0;
}

int daemon_continue(const struct config *cfg)
{
	if (cfg->daemonize && chdir("/") < 0) {
		fprintf(stderr, "preforkd: chdir /: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

void daemon_ready(void)
{
	const char ready = '\0';
	int target;

	if (!daemonized)
		return;
	daemonized = 0;
	while (write(STDERR_FILENO, &ready, 1) < 0 && errno == EINTR)
		;
	/* With --log, stray stderr output (a sanitizer report, say) lands in the log. */
	if (log_fd() != STDERR_FILENO) {
		if (log_capture_stderr() < 0)
			log_error("redirecting stderr to the log: %s", strerror(errno));
		return;
	}
	target = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (target < 0 || dup2(target, STDERR_FILENO) < 0)
		log_error("redirecting stderr: %s", strerror(errno));
	if (target >= 0)
		close(target);
}
