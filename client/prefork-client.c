/* prefork-client: one request. Connects, writes the message (arguments joined by
 * spaces, or stdin byte for byte), half-closes, copies the reply to stdout until
 * EOF; with --udp, sends the message as one datagram and prints the one reply.
 * Exit 0 on success, 1 on a network error or timeout, 2 on bad usage. */
#include "addr.h"
#include "clock.h"
#include "net.h"
#include "parse.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF 65536
/* The largest UDP payload over IPv4 (65535 - 8 - 20). */
#define DGRAM_MAX 65507

struct client {
	const char *connect;
	int udp;
	double timeout;
	uint64_t deadline_ns;
	int fd;
};

static void usage(void)
{
	printf("Usage: prefork-client [--connect HOST:PORT] [--udp] [--timeout SECONDS]\n"
	       "                     [MESSAGE...]\n"
	       "Send one request to a preforkd server and print the reply.\n"
	       "\n"
	       "The MESSAGE words are sent joined by single spaces; with no MESSAGE, standard\n"
	       "input is sent byte for byte. The client then half-closes the connection and\n"
	       "copies the reply to standard output until the server closes.\n"
	       "\n"
	       "  -c, --connect HOST:PORT  server address (default 127.0.0.1:7777);\n"
	       "                           IPv6 as [ADDR]:PORT, a Unix socket as\n"
	       "                           unix:/PATH\n"
	       "  -u, --udp                send the message as one UDP datagram (at most\n"
	       "                           65507 bytes) to a udp: listener and print the one\n"
	       "                           datagram that answers it\n"
	       "  -t, --timeout SECONDS    give up when the whole exchange takes longer\n"
	       "                           (default 10; with --udp: no reply by then is a\n"
	       "                           timeout, as a datagram or its answer may be lost\n"
	       "                           or refused by the server's defence)\n"
	       "  -h, --help               show this help and exit\n"
	       "  -v, --version            show the version and exit\n"
	       "\n"
	       "Exit status: 0 reply received, 1 connection error or timeout, 2 bad usage.\n");
}

static int fail_io(const struct client *c, const char *what)
{
	const char *why = errno == ETIMEDOUT ? "timed out" : strerror(errno);

	fprintf(stderr, "prefork-client: %s %s: %s\n", what, c->connect, why);
	return 1;
}

static int send_args(struct client *c, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (i > 0 && write_full(c->fd, " ", 1, c->deadline_ns) < 0)
			return -1;
		if (write_full(c->fd, argv[i], strlen(argv[i]), c->deadline_ns) < 0)
			return -1;
	}
	return 0;
}

/* stdin is copied as it comes, so a large input never has to fit in memory; the
 * reply is drained in between so neither side's buffers fill up and deadlock. */
static int drain_reply(struct client *c, char *buf, int *eof);

static int stdout_write(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_stdin(struct client *c, char *buf, int *eof)
{
	static char in[BUF];

	for (;;) {
		ssize_t n = read(STDIN_FILENO, in, sizeof in);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "prefork-client: reading stdin: %s\n", strerror(errno));
			return -2;
		}
		if (n == 0)
			return 0;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = send(c->fd, in + off, (size_t)(n - off), MSG_NOSIGNAL);

			if (w > 0) {
				off += w;
				continue;
			}
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno != EAGAIN)
				return -1;
			if (drain_reply(c, buf, eof) < 0)
				return -1;
			if (wait_fd(c->fd, POLLOUT | POLLIN, c->deadline_ns) < 0)
				return -1;
		}
	}
}

/* Reads what is available now without blocking; copies it to stdout. */
static int drain_reply(struct client *c, char *buf, int *eof)
{
	while (!*eof) {
		ssize_t n = read(c->fd, buf, BUF);

		if (n == 0) {
			*eof = 1;
			break;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -1;
		if (stdout_write(buf, (size_t)n) < 0) {
			fprintf(stderr, "prefork-client: writing stdout: %s\n", strerror(errno));
			return -2;
		}
	}
	return 0;
}

static int read_reply(struct client *c, char *buf, int *eof)
{
	while (!*eof) {
		ssize_t n = read_some(c->fd, buf, BUF, c->deadline_ns);

		if (n < 0)
			return -1;
		if (n == 0) {
			*eof = 1;
			break;
		}
		if (stdout_write(buf, (size_t)n) < 0) {
			fprintf(stderr, "prefork-client: writing stdout: %s\n", strerror(errno));
			return -2;
		}
	}
	return 0;
}

static int exchange(struct client *c, int argc, char **argv)
{
	static char buf[BUF];
	int eof = 0, rc;

	rc = argc > 0 ? send_args(c, argc, argv) : send_stdin(c, buf, &eof);
	if (rc == -2)
		return 1;
	if (rc < 0)
		return fail_io(c, "sending to");
	if (shutdown(c->fd, SHUT_WR) < 0 && errno != ENOTCONN)
		return fail_io(c, "half-closing");
	rc = read_reply(c, buf, &eof);
	if (rc == -2)
		return 1;
	if (rc < 0)
		return fail_io(c, "reading from");
	return 0;
}

/* ---- --udp: one datagram each way ---- */

/* The message in buf: the words joined by spaces, or stdin; -1 when it does not
 * fit one datagram. */
static ssize_t datagram_message(int argc, char **argv, char *buf)
{
	size_t n = 0;

	for (int i = 0; i < argc; i++) {
		size_t len = strlen(argv[i]);

		if (n + (i > 0) + len > DGRAM_MAX)
			return -1;
		if (i > 0)
			buf[n++] = ' ';
		memcpy(buf + n, argv[i], len);
		n += len;
	}
	if (argc > 0)
		return (ssize_t)n;
	for (;;) {
		ssize_t r = read(STDIN_FILENO, buf + n, DGRAM_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "prefork-client: reading stdin: %s\n", strerror(errno));
			return -2;
		}
		if (r == 0)
			return (ssize_t)n;
		n += (size_t)r;
		if (n > DGRAM_MAX)
			return -1;
	}
}

/* A connected socket: only the server's answer is received, and an ICMP port
 * unreachable comes back as ECONNREFUSED. */
static int exchange_udp(struct client *c, const struct sockaddr *sa, socklen_t len, int argc,
                        char **argv)
{
	static char buf[DGRAM_MAX + 1];
	ssize_t n = datagram_message(argc, argv, buf);

	if (n == -2)
		return 1;
	if (n < 0) {
		fprintf(stderr,
		        "prefork-client: the message is larger than one datagram (%d "
		        "bytes)\n",
		        DGRAM_MAX);
		return 1;
	}
	c->fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0 || connect(c->fd, sa, len) < 0)
		return fail_io(c, "cannot connect to");
	if (send(c->fd, buf, (size_t)n, 0) < 0)
		return fail_io(c, "sending to");
	for (;;) {
		ssize_t r;

		if (wait_fd(c->fd, POLLIN, c->deadline_ns) < 0) {
			if (errno == ETIMEDOUT) {
				fprintf(stderr,
				        "prefork-client: no answer from udp:%s within %g s\n",
				        c->connect, c->timeout);
				return 1;
			}
			return fail_io(c, "waiting for");
		}
		r = recv(c->fd, buf, sizeof buf, MSG_TRUNC);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return fail_io(c, "reading from");
		if (stdout_write(buf, (size_t)r < sizeof buf ? (size_t)r : sizeof buf) < 0) {
			fprintf(stderr, "prefork-client: writing stdout: %s\n", strerror(errno));
			return 1;
		}
		return 0;
	}
}

static int parse_args(struct client *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "udp", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	char err[256];
	struct host_port hp;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:c:t:uhv", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (strncmp(optarg, "unix:", 5) == 0) {
				if (strlen(optarg + 5) == 0 ||
				    strlen(optarg + 5) >=
				            sizeof((struct sockaddr_un *)0)->sun_path) {
					fprintf(stderr,
					        "prefork-client: --connect: bad Unix path '%s'\n",
					        optarg + 5);
					return 2;
				}
			} else if (addr_split(optarg, &hp, err, sizeof err) < 0) {
				fprintf(stderr, "prefork-client: --connect: %s\n", err);
				return 2;
			}
			c->connect = optarg;
			break;
		case 't':
			if (parse_seconds("--timeout", optarg, 0.001, 86400, &c->timeout, err,
			                  sizeof err) < 0) {
				fprintf(stderr, "prefork-client: %s\n", err);
				return 2;
			}
			break;
		case 'u':
			c->udp = 1;
			break;
		case 'h':
			usage();
			return 0;
		case 'v':
			printf("prefork-client %s\n", PREFORKD_VERSION);
			return 0;
		default:
			fprintf(stderr, "prefork-client: %s\n",
			        parse_getopt_error(opt, argv, opts, err, sizeof err));
			fprintf(stderr, "Try 'prefork-client --help' for more information.\n");
			return 2;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct client c = { .connect = "127.0.0.1:7777", .timeout = 10, .fd = -1 };
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct host_port hp;
	char err[512];
	int rc = parse_args(&c, argc, argv);

	if (rc >= 0)
		return rc;
	(void)signal(SIGPIPE, SIG_IGN); /* cannot fail for SIGPIPE */
	c.deadline_ns = clock_now_ns() + seconds_to_ns(c.timeout);
	if (strncmp(c.connect, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		memset(sun, 0, sizeof *sun);
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, c.connect + 5, strlen(c.connect + 5) + 1);
		len = sizeof *sun;
	} else if (addr_split(c.connect, &hp, err, sizeof err) < 0 ||
	           addr_resolve(&hp, 0, &ss, &len, err, sizeof err) < 0) {
		fprintf(stderr, "prefork-client: %s: %s\n", c.connect, err);
		return 1;
	}
	if (c.udp) {
		rc = exchange_udp(&c, (struct sockaddr *)&ss, len, argc - optind, argv + optind);
		if (c.fd >= 0)
			close(c.fd);
		return rc;
	}
	c.fd = connect_tcp((struct sockaddr *)&ss, len, c.deadline_ns);
	if (c.fd < 0)
		return fail_io(&c, "cannot connect to");
	rc = exchange(&c, argc - optind, argv + optind);
	close(c.fd);
	return rc;
}
