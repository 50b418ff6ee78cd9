/* udp_echo_ref: the reference of `make bench`'s UDP section (scripts/bench.sh): the
 * simplest UDP echo there is, one process, one blocking recvfrom() and one sendto()
 * per datagram, no defence, no counters. Usage: udp_echo_ref PORT (on 127.0.0.1).
 * Stopped by SIGTERM's default action. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	static char buf[65536];
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: udp_echo_ref PORT\n");
		return 2;
	}
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		fprintf(stderr, "udp_echo_ref: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		struct sockaddr_storage from;
		socklen_t len = sizeof from;
		ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "udp_echo_ref: recvfrom: %s\n", strerror(errno));
			return 1;
		}
		/* a full socket buffer drops the answer, as the kernel would drop it later */
		(void)sendto(fd, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&from, len);
	}
}
