/* Unit tests: the admin socket's requests (server/admin.c). A command that changes
 * the server becomes a request that waits, turns of the loop later if need be, for
 * the master's answer, without a deadline of its own, while other clients are
 * served; commands that only look are answered at once. The loop's clock is passed
 * in, so "ten seconds later" takes no time. */
#include "admin.h"
#include "clock.h"
#include "config.h"
#include "unit.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct admin adm;

static int connect_and_send(const char *line)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memcpy(sun.sun_path, adm.path, strlen(adm.path) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
	    write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
		perror("connect_and_send");
		exit(1);
	}
	return fd;
}

/* One turn of the master's loop as far as the admin socket goes, at NOW. No master:
 * only commands that do not render statistics are sent. */
static void turn(uint64_t now)
{
	struct pollfd pfd[ADMIN_POLLFDS];

	admin_fill_pollfds(&adm, pfd, now);
	if (poll(pfd, ADMIN_POLLFDS, 100) < 0)
		perror("poll");
	admin_serve(&adm, NULL, pfd, now);
}

static int nothing_to_read(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

/* The whole reply, judged as preforkctl judges it. */
static enum admin_reply_kind read_reply(int fd, char *body, size_t len)
{
	struct admin_reply r;
	enum admin_reply_kind kind;

	if (admin_read_reply(fd, clock_now_ns() + 5 * NS_PER_SEC, &r) < 0)
		return ADMIN_REPLY_TRUNCATED;
	kind = r.kind;
	snprintf(body, len, "%.*s", (int)r.body_len, r.body ? r.body : "");
	admin_reply_free(&r);
	return kind;
}

static void test_answer_later(uint64_t t0)
{
	struct admin_pending p, none;
	char body[4096];
	int stop = connect_and_send("stop\n"), help;

	turn(t0);
	CHECK(admin_next_request(&adm, &p) == 1 && p.req.cmd == ADMIN_CMD_STOP,
	      "stop is queued as a request for the master");
	CHECK(p.uid == geteuid() && p.pid == getpid() && p.token != 0,
	      "the request carries who asked (uid %u pid %ld)", (unsigned)p.uid, (long)p.pid);
	CHECK(admin_next_request(&adm, &none) == 0, "a request is taken once");
	help = connect_and_send("help\n");
	for (int s = 1; s <= 10; s++)
		turn(t0 + (uint64_t)s * NS_PER_SEC);
	CHECK(read_reply(help, body, sizeof body) == ADMIN_REPLY_OK &&
	              strncmp(body, "commands (one per connection):\n", 31) == 0,
	      "another client is answered while the request waits");
	CHECK(nothing_to_read(stop), "ten seconds of turns later, still no answer and no timeout");
	CHECK(!admin_answering(&adm), "nothing is being answered yet");
	CHECK(admin_reply_ok(&adm, p.token, "ok: stopping preforkd (pid %d)", 7) == 0,
	      "the master answers the request");
	CHECK(read_reply(stop, body, sizeof body) == ADMIN_REPLY_OK &&
	              strcmp(body, "ok: stopping preforkd (pid 7)\n") == 0,
	      "the waiting client gets the answer, framed");
	CHECK(admin_reply_ok(&adm, p.token, "again") < 0, "a request is answered once");
	CHECK(adm.ep.nclients == 0, "every client slot is free again");
	close(stop);
	close(help);
}

static void test_refusal_and_order(uint64_t t0)
{
	/* Zeroed: when the first check fails, the reply below goes to token 0, nobody. */
	struct admin_pending first = { 0 }, second = { 0 };
	char body[256];
	int a = connect_and_send("scale 5\n");
	int b = connect_and_send("reload\n");

	turn(t0);
	turn(t0);
	CHECK(admin_next_request(&adm, &first) == 1 && admin_next_request(&adm, &second) == 1 &&
	              first.req.cmd == ADMIN_CMD_SCALE && first.req.workers == 5 &&
	              second.req.cmd == ADMIN_CMD_RELOAD,
	      "requests are taken in the order they arrived");
	CHECK(admin_reply_error(&adm, first.token, "server is stopping") == 0 &&
	              read_reply(a, body, sizeof body) == ADMIN_REPLY_ERROR &&
	              strcmp(body, "server is stopping") == 0,
	      "a refusal is one error line");
	/* The client gives up before the answer: nobody to tell, nothing breaks. */
	close(b);
	admin_reply_ok(&adm, second.token, "ok: reloading");
	turn(t0 + NS_PER_SEC);
	CHECK(adm.ep.nclients == 0, "a client that left before its answer frees its slot");
	close(a);
}

static void test_bad_line(uint64_t t0)
{
	struct admin_pending p;
	char body[256];
	int fd = connect_and_send("scale 0\n");

	turn(t0);
	CHECK(admin_next_request(&adm, &p) == 0, "an invalid request never reaches the master");
	CHECK(read_reply(fd, body, sizeof body) == ADMIN_REPLY_ERROR &&
	              strcmp(body, "scale: expected an integer 1..1024, got '0'") == 0,
	      "it is refused by the admin module itself");
	close(fd);
	turn(t0);
}

int main(void)
{
	char dir[] = "/tmp/preforkd-unit-admin.XXXXXX", path[256];
	struct config cfg;
	uint64_t t0 = clock_now_ns();

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof path, "%s/a.sock", dir);
	config_defaults(&cfg);
	cfg.admin_path = path;
	if (admin_open(&adm, &cfg, -1, -1) < 0)
		return 1;
	test_answer_later(t0);
	test_refusal_and_order(t0 + 20 * NS_PER_SEC);
	test_bad_line(t0 + 40 * NS_PER_SEC);
	admin_close(&adm);
	snprintf(path, sizeof path, "%s/a.sock.lock", dir);
	(void)unlink(path); /* cleanup: a leftover in /tmp harms no test */
	(void)rmdir(dir);
	return unit_done();
}
