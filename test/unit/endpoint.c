/* Unit tests: the master's socket endpoint (server/endpoint.c), through a toy user
 * that is not the admin socket: requests end at a newline; "big N" is answered with
 * N bytes, "wait" is answered later, anything else is echoed. The loop's clock is
 * passed in, so deadlines are tested without waiting for them. */
#include "endpoint.h"
#include "clock.h"
#include "parse.h"
#include "strbuf.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MS NS_PER_MS
#define SEC NS_PER_SEC

static struct endpoint ep;
static char sock_path[128];
static enum endpoint_input last_how;
static uint64_t waiting_token;

static int toy_accept(void *arg, struct endpoint *e, struct endpoint_client *c, uint64_t now)
{
	(void)arg;
	(void)e;
	(void)c;
	(void)now;
	return 0;
}

static long toy_complete(const char *in, size_t len)
{
	const char *nl = memchr(in, '\n', len);

	return nl ? nl - in : -1;
}

static void toy_request(void *arg, struct endpoint *e, struct endpoint_client *c,
                        enum endpoint_input how, size_t len, uint64_t now)
{
	struct strbuf b = { 0 };
	char err[128];
	long n;

	(void)arg;
	last_how = how;
	if (how == ENDPOINT_COMPLETE && strcmp(c->in, "wait") == 0) {
		waiting_token = c->token;
		endpoint_wait(c);
		return;
	}
	if (how == ENDPOINT_COMPLETE && strncmp(c->in, "big ", 4) == 0 &&
	    parse_long("big", c->in + 4, 0, LONG_MAX, &n, err, sizeof err) == 0) {
		for (long i = 0; i < n; i++)
			strbuf_append(&b, "x", 1);
	} else {
		strbuf_printf(&b, "%s: %.*s\n",
		              how == ENDPOINT_TOO_LONG ? "too long"
		              : how == ENDPOINT_EOF    ? "eof"
		                                       : "echo",
		              (int)(len < 20 ? len : 20), c->in);
	}
	endpoint_reply(e, c, &b, "out of memory\n", now);
}

static const struct endpoint_ops toy_ops = {
	.name = "toy",
	.accept = toy_accept,
	.complete = toy_complete,
	.request = toy_request,
	.timeout_reply = "timed out\n",
	.closing_reply = "closing\n",
};

static const struct endpoint_limits toy_limits = {
	.request_max = 64,
	.request_ns = 1 * SEC,
	.progress_ns = 1 * SEC,
	.reply_ns = 10 * SEC,
	.send_chunk = 4096,
};

static int connect_and_send(const char *data, size_t len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
	    (len && write(fd, data, len) != (ssize_t)len)) {
		perror("connect_and_send");
		exit(1);
	}
	return fd;
}

static void turn(uint64_t now)
{
	struct pollfd pfd[ENDPOINT_POLLFDS];

	endpoint_fill_pollfds(&ep, pfd, now);
	if (poll(pfd, ENDPOINT_POLLFDS, 50) < 0)
		perror("poll");
	endpoint_serve(&ep, pfd, now, NULL);
}

/* Reads what is there now, at most LEN bytes; -1 at EOF before anything. */
static long read_now(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);

	if (n == 0)
		return -1;
	return n < 0 ? 0 : n;
}

/* Reads to EOF (the server has finished or cut the reply); returns the bytes. BUF
 * (LEN bytes) gets the start of them, NUL-terminated. */
static size_t read_to_eof(int fd, char *buf, size_t len)
{
	static char sink[65536];
	size_t got = 0;

	for (;;) {
		ssize_t n = recv(fd, sink, sizeof sink, 0);

		if (n <= 0)
			break;
		if (buf && got < len - 1)
			memcpy(buf + got, sink,
			       (size_t)n < len - 1 - got ? (size_t)n : len - 1 - got);
		got += (size_t)n;
	}
	if (buf)
		buf[got < len - 1 ? got : len - 1] = '\0';
	return got;
}

static void test_basics(uint64_t t)
{
	char buf[256];
	int a = connect_and_send("hello\nignored", 13);
	int b = connect_and_send("no end", 6);
	int c;

	turn(t);
	CHECK(read_to_eof(a, buf, sizeof buf) && strcmp(buf, "echo: hello\n") == 0,
	      "a request is answered and the connection closed");
	if (shutdown(b, SHUT_WR) < 0)
		perror("shutdown");
	turn(t);
	CHECK(read_to_eof(b, buf, sizeof buf) && strcmp(buf, "eof: no end\n") == 0 &&
	              last_how == ENDPOINT_EOF,
	      "a half-close ends a request without its end marker");
	memset(buf, 'a', 100);
	c = connect_and_send(buf, 100);
	turn(t);
	CHECK(read_to_eof(c, buf, sizeof buf) && strncmp(buf, "too long: aaaa", 14) == 0 &&
	              last_how == ENDPOINT_TOO_LONG,
	      "request_max bytes without an end are too long");
	CHECK(ep.nclients == 0, "every slot is free again");
	close(a);
	close(b);
	close(c);
}

static void test_request_deadline(uint64_t t)
{
	char buf[64];
	int fd = connect_and_send("slow", 4);

	turn(t);
	turn(t + toy_limits.request_ns - 1);
	CHECK(ep.nclients == 1 && read_now(fd, buf, sizeof buf) == 0,
	      "a request may take request_ns");
	turn(t + toy_limits.request_ns);
	CHECK(read_to_eof(fd, buf, sizeof buf) && strcmp(buf, "timed out\n") == 0 &&
	              ep.nclients == 0,
	      "past it the client is told and closed");
	close(fd);
}

/* With timeout_reply_if_input (HTTP's 408), a client that sent nothing is closed
 * without a word; one that sent part of a request is told. */
static void test_timeout_reply_if_input(uint64_t t)
{
	struct endpoint_ops quiet = toy_ops;
	char buf[64];
	int silent, partial;

	quiet.timeout_reply_if_input = 1;
	ep.ops = &quiet;
	silent = connect_and_send("", 0);
	partial = connect_and_send("slow", 4);
	turn(t);
	turn(t + toy_limits.request_ns);
	CHECK(read_to_eof(silent, buf, sizeof buf) == 0, "a silent client is closed untold");
	CHECK(read_to_eof(partial, buf, sizeof buf) && strcmp(buf, "timed out\n") == 0,
	      "a client that sent part of a request is told");
	CHECK(ep.nclients == 0, "both are gone");
	ep.ops = &toy_ops;
	close(silent);
	close(partial);
}

/* A reader that takes nothing is cut off once progress_ns passes without a chunk
 * taken; it sees fewer bytes than it asked for. */
static void test_stalled_reader(uint64_t t)
{
	int fd = connect_and_send("big 2000000\n", 12);
	size_t got;

	turn(t);
	turn(t + toy_limits.progress_ns - 1);
	CHECK(ep.nclients == 1, "a reader that has not read yet keeps its slot for progress_ns");
	turn(t + toy_limits.progress_ns);
	CHECK(ep.nclients == 0, "then it is cut off");
	got = read_to_eof(fd, NULL, 0);
	CHECK(got > 0 && got < 2000000, "the reader sees the cut: %zu of 2000000 bytes", got);
	close(fd);
}

/* A reader that takes 64 KiB every STEP_NS of the loop's clock. Returns the bytes it
 * got before EOF; *end_ns is the clock then. */
static size_t slow_reader(uint64_t t, uint64_t step_ns, long size, uint64_t *end_ns)
{
	static char buf[65536];
	char req[32];
	int fd;
	size_t got = 0;

	snprintf(req, sizeof req, "big %ld\n", size);
	fd = connect_and_send(req, strlen(req));
	turn(t);
	for (int i = 0; i < 10000; i++) {
		long n = read_now(fd, buf, sizeof buf);

		if (n < 0)
			break;
		got += (size_t)n;
		t += step_ns;
		turn(t);
	}
	close(fd);
	*end_ns = t;
	return got;
}

static void test_slow_reader(uint64_t t)
{
	uint64_t end;
	size_t got = slow_reader(t, 700 * MS, 1000000, &end);

	CHECK(got == 1000000, "a reader taking 64 KiB every 0.7 s gets all of 1 MB (%zu bytes)",
	      got);
	CHECK(end - t > toy_limits.progress_ns * 5, "over many progress deadlines (%.1f s)",
	      (double)(end - t) / SEC);
	got = slow_reader(t + 100 * SEC, 700 * MS, 4000000, &end);
	CHECK(got < 4000000 && ep.nclients == 0,
	      "the same reader is cut off at reply_ns on a 4 MB reply (%zu bytes)", got);
}

static void test_answer_later(uint64_t t)
{
	char buf[64];
	struct endpoint_client *c;
	struct strbuf b = { 0 };
	int fd = connect_and_send("wait\n", 5);

	turn(t);
	turn(t + 100 * SEC);
	c = endpoint_find(&ep, waiting_token);
	CHECK(c && read_now(fd, buf, sizeof buf) == 0,
	      "a waiting client has no deadline: still there 100 s later, unanswered");
	strbuf_printf(&b, "answer\n");
	c->flush_at_exit = 1;
	endpoint_reply(&ep, c, &b, "oom\n", t + 100 * SEC);
	CHECK(!endpoint_flushing(&ep), "an answer that fits the buffer is sent at once");
	CHECK(read_to_eof(fd, buf, sizeof buf) && strcmp(buf, "answer\n") == 0,
	      "the answer reaches it");
	CHECK(endpoint_find(&ep, waiting_token) == NULL, "the token is spent");
	close(fd);
}

static void test_accepts_per_turn(uint64_t t)
{
	int fds[ENDPOINT_CLIENTS_MAX + 4], answered = 0;
	char buf[64];

	for (int i = 0; i < ENDPOINT_CLIENTS_MAX + 4; i++)
		fds[i] = connect_and_send("hi\n", 3);
	turn(t);
	for (int i = 0; i < ENDPOINT_CLIENTS_MAX + 4; i++)
		answered += read_now(fds[i], buf, sizeof buf) > 0;
	CHECK(answered == ENDPOINT_CLIENTS_MAX, "one turn accepts %d clients, no more (%d)",
	      ENDPOINT_CLIENTS_MAX, answered);
	turn(t);
	for (int i = 0; i < ENDPOINT_CLIENTS_MAX + 4; i++) {
		answered += read_now(fds[i], buf, sizeof buf) > 0;
		close(fds[i]);
	}
	CHECK(answered == ENDPOINT_CLIENTS_MAX + 4, "the rest are taken the next turn");
}

static void test_fd_exhaustion(uint64_t t)
{
	struct rlimit old, low;
	struct pollfd pfd[ENDPOINT_POLLFDS];
	char buf[64];
	int fd = connect_and_send("hi\n", 3), probe;

	if (getrlimit(RLIMIT_NOFILE, &old) < 0)
		return;
	probe = dup(0);
	low = old;
	low.rlim_cur = (rlim_t)probe; /* every fd from here on is refused */
	close(probe);
	/* Not turn(): poll() refuses more fds than the limit. The listener is ready. */
	endpoint_fill_pollfds(&ep, pfd, t);
	pfd[0].revents = POLLIN;
	if (setrlimit(RLIMIT_NOFILE, &low) < 0) /* lowering is always allowed */
		perror("setrlimit");
	endpoint_serve(&ep, pfd, t, NULL);
	if (setrlimit(RLIMIT_NOFILE, &old) < 0) /* back to a value we had */
		perror("setrlimit");
	endpoint_fill_pollfds(&ep, pfd, t + 50 * MS);
	CHECK(pfd[0].fd == -1, "accept4 out of fds: the listener is left out for a while");
	endpoint_fill_pollfds(&ep, pfd, t + 100 * MS);
	CHECK(pfd[0].fd == ep.listen_fd, "and polled again 100 ms later");
	CHECK(endpoint_timeout_ms(&ep, t, 1000) <= 100, "the pause shortens the poll timeout");
	turn(t + 100 * MS);
	CHECK(read_to_eof(fd, buf, sizeof buf) && strcmp(buf, "echo: hi\n") == 0,
	      "then the waiting client is served");
	close(fd);
}

static void test_close(uint64_t t)
{
	char buf[64];
	int fd = connect_and_send("wait\n", 5);

	turn(t);
	endpoint_close(&ep);
	CHECK(read_to_eof(fd, buf, sizeof buf) && strcmp(buf, "closing\n") == 0,
	      "closing tells a waiting client");
	close(fd);
}

int main(void)
{
	char dir[] = "/tmp/preforkd-unit-endpoint.XXXXXX";
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	uint64_t t = clock_now_ns();
	int lfd;

	if (!mkdtemp(dir))
		return 1;
	snprintf(sock_path, sizeof sock_path, "%s/e.sock", dir);
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(lfd, 64) < 0)
		return 1;
	endpoint_init(&ep, lfd, &toy_ops, &toy_limits);
	test_basics(t);
	test_request_deadline(t + 10 * SEC);
	test_timeout_reply_if_input(t + 15 * SEC);
	test_stalled_reader(t + 20 * SEC);
	test_slow_reader(t + 30 * SEC);
	test_answer_later(t + 300 * SEC);
	test_accepts_per_turn(t + 500 * SEC);
	test_fd_exhaustion(t + 600 * SEC);
	test_close(t + 700 * SEC);
	(void)unlink(sock_path); /* cleanup: a leftover in /tmp harms no test */
	(void)rmdir(dir);
	return unit_done();
}
