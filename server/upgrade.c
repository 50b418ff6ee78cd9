/* Binary upgrade (upgrade.h): what the old master saves at start, how it starts the
 * new binary with its sockets, and how it watches for the new master's readiness
 * byte, its exit or its deadline. Everything here is non-blocking: the master calls
 * it from its poll() loop. The decisions (pidfile, admin reply, stopping the old
 * workers, rollback) are the master's.
 *
 * May call: log, clock, activation (the reserved names). Touches only struct upgrade
 * and its own saved arguments. */
#include "upgrade.h"

#include "activation.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* What main() was given, copied before anything could change it: proctitle_init()
 * rewrites the argv area, --daemon's chdir("/") changes what a relative path names. */
static char **saved_argv;
static char saved_path[PATH_MAX];
static char saved_cwd[PATH_MAX];

/* argv[0] as execvp() would find it: with a '/', against the starting directory;
 * else the first executable regular file of that name in PATH (confstr's default
 * PATH when unset). Symbolic links are kept as they are: a deployment that points
 * a link at a new release is upgraded to what the link names then. */
static int resolve_binary(const char *arg0, char *out, size_t len)
{
	char dflt[256];
	const char *path = getenv("PATH");
	int n;

	if (strchr(arg0, '/')) {
		/* "./bin/preforkd" (or ".//bin/..."): the log names DIR/bin/preforkd */
		while (arg0[0] == '.' && arg0[1] == '/')
			for (arg0++; arg0[0] == '/';)
				arg0++;
		n = arg0[0] == '/' ? snprintf(out, len, "%s", arg0)
		                   : snprintf(out, len, "%s/%s", saved_cwd, arg0);
		return n < 0 || (size_t)n >= len ? -1 : 0;
	}
	if (!path) {
		if (confstr(_CS_PATH, dflt, sizeof dflt) == 0 || strlen(dflt) >= sizeof dflt - 1)
			return -1;
		path = dflt;
	}
	for (const char *p = path;; p++) {
		const char *end = strchr(p, ':');
		size_t dlen = end ? (size_t)(end - p) : strlen(p);
		char cand[PATH_MAX];
		struct stat st;

		/* An empty entry is the current directory, as for execvp(). */
		if (dlen == 0)
			n = snprintf(cand, sizeof cand, "%s/%s", saved_cwd, arg0);
		else if (p[0] == '/')
			n = snprintf(cand, sizeof cand, "%.*s/%s", (int)dlen, p, arg0);
		else
			n = snprintf(cand, sizeof cand, "%s/%.*s/%s", saved_cwd, (int)dlen, p,
			             arg0);
		if (n > 0 && (size_t)n < sizeof cand && stat(cand, &st) == 0 &&
		    S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
			if ((size_t)n >= len)
				return -1;
			memcpy(out, cand, (size_t)n + 1);
			return 0;
		}
		if (!end)
			return -1;
		p = end;
	}
}

int upgrade_save_argv(int argc, char **argv)
{
	saved_argv = calloc((size_t)argc + 1, sizeof *saved_argv);
	if (!saved_argv) {
		fprintf(stderr, "preforkd: saving the arguments for an upgrade: out of memory\n");
		return -1;
	}
	for (int i = 0; i < argc; i++) {
		saved_argv[i] = strdup(argv[i]);
		if (!saved_argv[i]) {
			fprintf(stderr, "preforkd: saving the arguments for an upgrade: out of "
			                "memory\n");
			return -1;
		}
	}
	if (!getcwd(saved_cwd, sizeof saved_cwd)) {
		fprintf(stderr, "preforkd: getcwd: %s; upgrades need an absolute path\n",
		        strerror(errno));
		saved_cwd[0] = '\0';
	}
	if (argc < 1 || resolve_binary(argv[0], saved_path, sizeof saved_path) < 0)
		saved_path[0] = '\0';
	return 0;
}

const char *upgrade_default_path(void)
{
	return saved_path;
}

int upgrade_check_path(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (path[0] != '/') {
		snprintf(err, errlen, "%s: not an absolute path",
		         path[0] ? path : "the binary's path (not found at start)");
		return -1;
	}
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if (access(path, X_OK) < 0) {
		snprintf(err, errlen, "%s: not executable: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

void upgrade_init(struct upgrade *u)
{
	memset(u, 0, sizeof *u);
	u->ready_fd = -1;
}

/* ---- the child: between fork() and execv(), async-signal-safe calls only ---- */

static void child_fail(const char *what)
{
	char buf[256];
	int n = snprintf(buf, sizeof buf, "preforkd: upgrade: %s: %s\n", what, strerror(errno));

	if (n > 0)
		(void)write(STDERR_FILENO, buf, (size_t)n);
	_exit(127);
}

/* Every handed-over fd is first moved above the target range (so that placing one
 * at 3+i never overwrites another still to be placed), then to 3+i without
 * FD_CLOEXEC: exactly these are inherited. */
static void place_fds(int *fds, size_t n)
{
	int high = ACTIVATION_FD_START + (int)n;

	for (size_t i = 0; i < n; i++) {
		int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, high);

		if (fd < 0)
			child_fail("fcntl F_DUPFD");
		fds[i] = fd;
	}
	for (size_t i = 0; i < n; i++)
		if (dup2(fds[i], ACTIVATION_FD_START + (int)i) < 0) /* dup2 clears FD_CLOEXEC */
			child_fail("dup2");
}

/* The master blocks signals around fork() and ignores some: a new program inherits
 * both the mask and the ignored dispositions, so both are reset here. */
static void reset_signals(const sigset_t *none)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL); /* EINVAL for the RT ones libc keeps */
	if (sigprocmask(SIG_SETMASK, none, NULL) < 0)
		child_fail("sigprocmask");
}

static void run_new_master(const char *path, int *fds, size_t n, char *const env[3],
                           const sigset_t *none)
{
	reset_signals(none);
	place_fds(fds, n);
	/* LISTEN_PID names the process that execs: this one. */
	snprintf(env[1], 32, "LISTEN_PID=%ld", (long)getpid());
	for (int i = 0; i < 3; i++)
		if (putenv(env[i]) != 0)
			child_fail("putenv");
	/* Relative options (--config, --log, ...) name what they named at start. */
	if (saved_cwd[0] && chdir(saved_cwd) < 0)
		child_fail("chdir");
	/* What it runs as is what it re-executes on its own next upgrade. */
	saved_argv[0] = (char *)path;
	execv(path, saved_argv);
	child_fail(path);
}

/* ---- the old master's side ---- */

/* After an EOF on the pipe, how long the exit status is waited for. */
#define UPGRADE_EOF_NS (1000 * NS_PER_MS)

static int build_env(const struct upgrade_fd *fds, size_t n, char *env[3], char *err, size_t errlen)
{
	size_t len = sizeof "LISTEN_FDNAMES=", off;

	for (size_t i = 0; i < n; i++)
		len += strlen(fds[i].name) + 1;
	env[0] = malloc(32);
	env[1] = malloc(32);
	env[2] = malloc(len);
	if (!env[0] || !env[1] || !env[2]) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(env[0], 32, "LISTEN_FDS=%zu", n);
	snprintf(env[1], 32, "LISTEN_PID=0");
	/* len counts every name and its separator: nothing is cut */
	off = (size_t)snprintf(env[2], len, "LISTEN_FDNAMES=");
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(env[2] + off, len - off, "%s%s", i > 0 ? ":" : "",
		                        fds[i].name);
	return 0;
}

static void free_env(char *env[3])
{
	for (int i = 0; i < 3; i++)
		free(env[i]);
}

int upgrade_spawn(struct upgrade *u, const char *path, const struct upgrade_fd *fds, size_t n,
                  uint64_t timeout_ns, uint64_t stop_ns, char *err, size_t errlen)
{
	struct upgrade_fd all[ACTIVATION_FDS_MAX];
	int raw[ACTIVATION_FDS_MAX], p[2];
	char *env[3] = { NULL, NULL, NULL };
	sigset_t all_sigs, saved, none;
	pid_t pid;

	if (!path)
		path = saved_path;
	if (u->phase != UPGRADE_IDLE) {
		snprintf(err, errlen, "an upgrade is already in progress (new master pid %ld)",
		         (long)u->pid);
		return -1;
	}
	if (n + 1 > ACTIVATION_FDS_MAX) {
		snprintf(err, errlen, "too many fds to hand over (%zu)", n + 1);
		return -1;
	}
	if (upgrade_check_path(path, err, errlen) < 0 || !saved_argv)
		return -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe2: %s", strerror(errno));
		return -1;
	}
	memcpy(all, fds, n * sizeof *fds);
	all[n] = (struct upgrade_fd){ p[1], UPGRADE_FD_READY };
	for (size_t i = 0; i <= n; i++)
		raw[i] = all[i].fd;
	if (build_env(all, n + 1, env, err, errlen) < 0) {
		free_env(env);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	sigfillset(&all_sigs);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &all_sigs, &saved); /* cannot fail with these */
	pid = fork();
	if (pid == 0)
		run_new_master(path, raw, n + 1, env, &none);
	(void)sigprocmask(SIG_SETMASK, &saved, NULL);
	free_env(env);
	close(p[1]);
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		return -1;
	}
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0)
		log_warn("upgrade: O_NONBLOCK on the readiness pipe: %s", strerror(errno));
	u->phase = UPGRADE_WAITING;
	u->pid = pid;
	u->ready_fd = p[0];
	u->started_ns = clock_now_ns();
	u->deadline_ns = u->started_ns + timeout_ns;
	u->stop_ns = stop_ns;
	u->killed = 0;
	u->why[0] = '\0';
	snprintf(u->path, sizeof u->path, "%s", path);
	return 0;
}

void upgrade_fill_pollfd(const struct upgrade *u, struct pollfd *pfd)
{
	*pfd = (struct pollfd){ .fd = u->phase == UPGRADE_WAITING ? u->ready_fd : -1,
		                .events = POLLIN };
}

int upgrade_timeout_ms(const struct upgrade *u, uint64_t now_ns, int timeout_ms)
{
	uint64_t wait;

	if (u->phase == UPGRADE_IDLE)
		return timeout_ms;
	if ((u->phase == UPGRADE_WAITING || u->phase == UPGRADE_STOPPING) && u->pid == 0)
		return 0; /* an outcome to report in the next turn */
	if (u->phase == UPGRADE_STOPPING && u->killed)
		return timeout_ms;
	wait = u->deadline_ns <= now_ns ? 0 : (u->deadline_ns - now_ns + NS_PER_MS - 1) / NS_PER_MS;
	return timeout_ms < 0 || wait < (uint64_t)timeout_ms ? (int)wait : timeout_ms;
}

static void close_ready(struct upgrade *u)
{
	if (u->ready_fd >= 0)
		close(u->ready_fd);
	u->ready_fd = -1;
}

/* Rollback: a graceful stop, not a fast one: the new master's workers may already
 * serve connections from the shared queue, and finish them (its listeners are
 * inherited, so it never drains them). SIGKILL after u->stop_ns: its workers then
 * die with it (PR_SET_PDEATHSIG). */
static enum upgrade_event fail(struct upgrade *u, uint64_t now)
{
	close_ready(u);
	u->phase = UPGRADE_STOPPING;
	u->deadline_ns = now + u->stop_ns;
	if (u->pid > 0 && kill(u->pid, SIGTERM) < 0 && errno != ESRCH)
		log_error("upgrade: kill %ld SIGTERM: %s", (long)u->pid, strerror(errno));
	return UPGRADE_FAILED;
}

/* What the pipe says: the byte (1), EOF (-1), nothing yet (0). */
static int read_ready(struct upgrade *u)
{
	char b;
	ssize_t r;

	do
		r = read(u->ready_fd, &b, 1);
	while (r < 0 && errno == EINTR);
	if (r == 1)
		return 1;
	if (r == 0)
		return -1;
	if (errno == EAGAIN)
		return 0;
	snprintf(u->why, sizeof u->why, "reading the readiness pipe: %s", strerror(errno));
	return -1;
}

enum upgrade_event upgrade_step(struct upgrade *u, const struct pollfd *pfd, uint64_t now_ns)
{
	int r;

	switch (u->phase) {
	case UPGRADE_IDLE:
		return UPGRADE_NONE;
	case UPGRADE_WAITING:
		/* Read whatever poll() said, at every step: a byte that came after the
		 * poll returned must count before the deadline is judged, or the new
		 * master, told nothing, takes over what this one keeps serving. */
		(void)pfd;
		if (u->ready_fd >= 0) {
			r = read_ready(u);
			if (r > 0 && u->pid == 0) {
				close_ready(u);
				snprintf(u->why, sizeof u->why,
				         "the new master exited right after it said it was ready");
				return fail(u, now_ns);
			}
			if (r > 0) {
				close_ready(u);
				return UPGRADE_READY;
			}
			if (r < 0) {
				/* Most often the child is exiting: its exit status, reaped
				 * in a moment, says more than the EOF. */
				close_ready(u);
				if (!u->why[0])
					snprintf(u->why, sizeof u->why,
					         "the new master closed its readiness pipe before "
					         "it was ready");
				if (u->deadline_ns > now_ns + UPGRADE_EOF_NS)
					u->deadline_ns = now_ns + UPGRADE_EOF_NS;
			}
		}
		if (u->pid == 0) /* reaped: why says how it ended */
			return fail(u, now_ns);
		if (u->ready_fd < 0 && now_ns >= u->deadline_ns)
			return fail(u, now_ns);
		if (now_ns >= u->deadline_ns) {
			snprintf(u->why, sizeof u->why,
			         "the new master was not ready within %.1f s",
			         (double)(now_ns - u->started_ns) / NS_PER_SEC);
			return fail(u, now_ns);
		}
		return UPGRADE_NONE;
	case UPGRADE_STOPPING:
		if (u->pid == 0) {
			u->phase = UPGRADE_IDLE;
			return UPGRADE_GONE;
		}
		if (!u->killed && now_ns >= u->deadline_ns) {
			log_warn("upgrade: new master pid %ld still there %.1f s after SIGTERM: "
			         "SIGKILL",
			         (long)u->pid, (double)u->stop_ns / NS_PER_SEC);
			if (kill(u->pid, SIGKILL) < 0 && errno != ESRCH)
				log_error("upgrade: kill %ld SIGKILL: %s", (long)u->pid,
				          strerror(errno));
			u->killed = 1;
		}
		return UPGRADE_NONE;
	}
	return UPGRADE_NONE;
}

int upgrade_reaped(struct upgrade *u, pid_t pid, int status)
{
	if (pid > 0 && pid == u->handed_pid) {
		/* The old master is still stopping its workers: its successor ended. */
		log_warn("upgrade: new master pid %ld exited (%s %d) while this master was "
		         "stopping",
		         (long)pid, WIFEXITED(status) ? "exit status" : "signal",
		         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		u->handed_pid = 0;
		return 1;
	}
	if (u->pid == 0 || pid != u->pid)
		return 0;
	u->pid = 0;
	if (u->phase == UPGRADE_WAITING) {
		if (WIFEXITED(status))
			snprintf(u->why, sizeof u->why, "the new master exited with status %d",
			         WEXITSTATUS(status));
		else
			snprintf(u->why, sizeof u->why, "the new master was killed by signal %d",
			         WTERMSIG(status));
	}
	log_msg(u->phase == UPGRADE_WAITING ? LOG_WARN : LOG_INFO,
	        "upgrade: new master pid %ld gone (%s %d)", (long)pid,
	        WIFEXITED(status) ? "exit status" : "signal",
	        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return 1;
}

enum upgrade_event upgrade_abort(struct upgrade *u, const char *why, uint64_t now_ns)
{
	snprintf(u->why, sizeof u->why, "%s", why);
	return fail(u, now_ns);
}

void upgrade_release(struct upgrade *u)
{
	close_ready(u);
	u->phase = UPGRADE_IDLE;
	u->handed_pid = u->pid;
	u->pid = 0;
}

void upgrade_signal_ready(int fd)
{
	const char b = 'R';
	ssize_t r;

	do
		r = write(fd, &b, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		log_error("upgrade: telling the old master we are ready: %s",
		          r < 0 ? strerror(errno) : "short write");
	close(fd);
}
