/* flip_echo: a test-only echo server that can lie, for prefork-bench's tests.
 * Usage: flip_echo PORTFILE [--flip]. Binds 127.0.0.1:0, writes the port to PORTFILE, echoes with
 * one child per connection; --flip XORs 0x01 into the first byte of each reply. Ends on SIGTERM. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

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
		fclose(f);
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

static void serve(int fd, int flip)
{
	char buf[16384];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		if (flip)
			buf[0] ^= 0x01;
		if (send_all(fd, buf, (size_t)n) < 0)
			return;
	}
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
static void serve_in_child(int lfd, int fd, int flip, pid_t parent)
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
	serve(fd, flip);
	_exit(0);
}

int main(int argc, char **argv)
{
	int flip = argc == 3 && strcmp(argv[2], "--flip") == 0;
	pid_t self = getpid();
	unsigned port;
	int lfd;

	if (argc < 2 || argc > 3 || (argc == 3 && !flip) || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: flip_echo PORTFILE [--flip]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
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
		serve_in_child(lfd, fd, flip, self);
		close(fd);
	}
}
