/* flip_echo: a test-only echo server that can lie. It binds 127.0.0.1:0, writes its
 * port to PORTFILE (via a temporary file and rename, so a reader never sees half a
 * number) and echoes one connection at a time; with --flip it flips the lowest bit
 * of the first byte of every reply chunk, which prefork-bench must report as a
 * mismatch. Usage: flip_echo PORTFILE [--flip]. Stops on SIGTERM. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int write_port_file(const char *path, unsigned port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

static void serve(int fd, int flip)
{
	char buf[16384];
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0) {
		if (flip)
			buf[0] ^= 1;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);

			if (w < 0)
				return;
			off += w;
		}
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	int flip = argc > 2 && strcmp(argv[2], "--flip") == 0;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (argc < 2) {
		fprintf(stderr, "usage: flip_echo PORTFILE [--flip]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 128) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &len) < 0) {
		perror("flip_echo: listen");
		return 1;
	}
	if (write_port_file(argv[1], ntohs(a.sin_port)) < 0) {
		perror("flip_echo: port file");
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
		serve(fd, flip);
		close(fd);
	}
}
