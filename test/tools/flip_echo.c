/* flip_echo: a test-only echo server that can misbehave, for prefork-bench's tests.
 * Usage: flip_echo PORTFILE [--flip|--short|--extra|--reset|--silent] [--delay MS].
 * Binds 127.0.0.1:0, writes the port to PORTFILE, echoes with one child per connection;
 * the mode picks one way to break each reply (see usage()). Ends on SIGTERM. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { HONEST, FLIP, SHORT, EXTRA, RESET, SILENT };

static const char *const mode_names[] = {
	[FLIP] = "--flip",   [SHORT] = "--short",   [EXTRA] = "--extra",
	[RESET] = "--reset", [SILENT] = "--silent",
};

static enum mode mode = HONEST;
static long delay_ms;

static void usage(void)
{
	fprintf(stderr, "usage: flip_echo PORTFILE [MODE] [--delay MS]\n"
	                "  --flip    XOR 0x01 into the first byte of each reply\n"
	                "  --short   send back half of the first read, then close\n"
	                "  --extra   send back each read and one byte more\n"
	                "  --reset   read the first request, then reset the connection (RST)\n"
	                "  --silent  read everything, reply nothing, hold the connection 60 s\n"
	                "  --delay MS  wait MS milliseconds before each reply\n");
}

/* Through a temporary file and rename(), so that a reader polling for PORTFILE never sees half
 * a number. */
static int write_port_file(const char *path, unsigned port)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	if (fprintf(f, "%u\n", port) < 0) {
		(void)fclose(f); /* already failing */
		return -1;
	}
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void pause_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* An abortive close: SO_LINGER with a zero timeout makes close() send RST. */
static void reset_connection(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) < 0)
		perror("flip_echo: SO_LINGER (the close sends FIN, not RST)");
	close(fd);
}

static void serve(int fd)
{
	char buf[16385];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf - 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (mode == SILENT && n > 0)
			continue;
		if (mode == SILENT && n == 0) {
			pause_ms(60000); /* until the test's teardown ends it */
			return;
		}
		if (n <= 0)
			return;
		if (delay_ms > 0)
			pause_ms(delay_ms);
		switch (mode) {
		case FLIP:
			buf[0] ^= 0x01;
			break;
		case SHORT:
			send_all(fd, buf, (size_t)n / 2);
			return; /* the child's exit closes: FIN right behind half the echo */
		case EXTRA:
			buf[n++] = 'x';
			break;
		case RESET:
			reset_connection(fd);
			return;
		default:
			break;
		}
		if (send_all(fd, buf, (size_t)n) < 0)
			return;
	}
}

/* Returns 0, or -1 after printing the usage. */
static int parse_args(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		char *end;
		int found = 0;

		if (strcmp(argv[i], "--delay") == 0 && i + 1 < argc) {
			delay_ms = strtol(argv[++i], &end, 10);
			if (*end != '\0' || delay_ms < 0 || delay_ms > 60000) {
				usage();
				return -1;
			}
			continue;
		}
		for (int m = FLIP; m <= SILENT; m++)
			if (strcmp(argv[i], mode_names[m]) == 0 && mode == HONEST) {
				mode = (enum mode)m;
				found = 1;
			}
		if (!found) {
			usage();
			return -1;
		}
	}
	return 0;
}

static int listen_loopback(unsigned *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1024) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("flip_echo: listen on 127.0.0.1:0");
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* One child per connection, so keep-alive clients are served side by side. A child dies with
 * its parent, so SIGTERM to the parent leaves nothing behind. */
static void serve_in_child(int lfd, int fd, pid_t parent)
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("flip_echo: fork");
		return;
	}
	if (pid > 0)
		return;
	close(lfd);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(0);
	serve(fd);
	_exit(0);
}

int main(int argc, char **argv)
{
	pid_t self = getpid();
	unsigned port;
	int lfd;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		usage();
		return 2;
	}
	if (parse_args(argc, argv) < 0)
		return 2;
	(void)signal(SIGPIPE, SIG_IGN); /* neither call can fail for these signals */
	(void)signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
	lfd = listen_loopback(&port);
	if (lfd < 0)
		return 1;
	if (write_port_file(argv[1], port) < 0) {
		fprintf(stderr, "flip_echo: cannot write %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("flip_echo: accept4");
			return 1;
		}
		serve_in_child(lfd, fd, self);
		close(fd);
	}
}
