/* The metrics endpoint: opening its TCP listener, and serving it as a user of the
 * endpoint module, which accepts, reads, writes and keeps every client within its
 * deadlines. Here: where a request head ends, what it asks (metrics_http.c judges
 * it), and the whole response, rendered by stats.c as `stats prometheus` is.
 *
 * May call: endpoint, metrics_http, stats (from the pool view the master exports),
 * net, addr, log. Never calls into master.c and changes no master state: a scrape
 * only looks. Touches only struct metrics. */
#include "metrics.h"

#include "clock.h"
#include "config.h"
#include "log.h"
#include "metrics_http.h"
#include "net.h"
#include "stats.h"
#include "strbuf.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The admin socket's limits (admin_proto.h), but for the head's deadline: a remote
 * scraper's request crosses the network after the handshake, so it gets 2 s where a
 * local command line gets 1 s. */
#define METRICS_BACKLOG 16
#define METRICS_REQUEST_MS 2000
#define METRICS_PROGRESS_MS 1000
#define METRICS_REPLY_MS 30000
#define METRICS_SEND_CHUNK 4096

_Static_assert(METRICS_HTTP_HEAD_MAX <= ENDPOINT_REQUEST_MAX, "a head fits a request");

/* What endpoint_serve passes to the ops: the master is only read. */
struct metrics_turn {
	struct metrics *mx;
	const struct pool *pool;
};

#define TIMEOUT_BODY "408 Request Timeout: the request head did not come in time\n"

static const char timeout_reply[] = "HTTP/1.1 408 Request Timeout\r\n"
				    "Content-Type: text/plain; charset=utf-8\r\n"
				    "Content-Length: 59\r\n"
				    "Connection: close\r\n"
				    "\r\n" TIMEOUT_BODY;
_Static_assert(sizeof TIMEOUT_BODY - 1 == 59, "the 408's Content-Length");

/* When even the reply's buffer could not be had. */
static const char reply_oom[] = "HTTP/1.1 500 Internal Server Error\r\n"
				"Content-Length: 0\r\n"
				"Connection: close\r\n"
				"\r\n";

static int accept_client(void *arg, struct endpoint *e, struct endpoint_client *c, uint64_t now)
{
	(void)arg;
	(void)e;
	(void)now;
	log_debug("metrics: client %s", c->peer);
	return 0;
}

static long head_end(const char *in, size_t len)
{
	return metrics_http_head_end(in, len);
}

static void reply_error(struct endpoint *e, struct endpoint_client *c, int status, int head_only,
                        const char *why, uint64_t now)
{
	struct strbuf b = { 0 };

	log_debug("metrics: %d to %s: %s", status, c->peer, why);
	metrics_http_error(&b, status, head_only, why);
	endpoint_reply(e, c, &b, reply_oom, now);
}

/* The body is rendered first: Content-Length comes before it. */
static void reply_metrics(struct metrics_turn *t, struct endpoint_client *c, int head_only,
                          uint64_t now)
{
	struct strbuf body = { 0 }, b = { 0 };

	stats_render(&body, t->pool, STATS_PROMETHEUS, now);
	if (body.failed) {
		strbuf_free(&body);
		endpoint_reply(&t->mx->ep, c, &b, reply_oom, now);
		return;
	}
	metrics_http_respond(&b, 200, head_only, METRICS_HTTP_CONTENT_TYPE, body.data, body.len);
	strbuf_free(&body);
	log_debug("metrics: 200 to %s, %zu bytes", c->peer, b.len);
	endpoint_reply(&t->mx->ep, c, &b, reply_oom, now);
}

/* The head in c->in (LEN bytes, its blank line excluded). A peer that leaves having
 * sent nothing is closed without a word; one that leaves mid-head sent a bad one. */
static void take_head(void *arg, struct endpoint *e, struct endpoint_client *c,
                      enum endpoint_input how, size_t len, uint64_t now)
{
	struct metrics_turn *t = arg;
	struct metrics_http_request r;
	struct strbuf none = { 0 };

	if (how == ENDPOINT_TOO_LONG) {
		reply_error(e, c, 431, 0, "the request head is longer than 4096 bytes", now);
		return;
	}
	if (how == ENDPOINT_EOF) {
		if (len == 0) {
			endpoint_reply(e, c, &none, "", now);
			return;
		}
		reply_error(e, c, 400, 0, "the connection was half-closed before the head ended",
		            now);
		return;
	}
	metrics_http_parse(c->in, len, &r);
	if (r.status != 200) {
		reply_error(e, c, r.status, r.head_only, r.why, now);
		return;
	}
	reply_metrics(t, c, r.head_only, now);
}

static const struct endpoint_ops metrics_ops = {
	.name = "metrics",
	.accept = accept_client,
	.complete = head_end,
	.request = take_head,
	.timeout_reply = timeout_reply,
	.closing_reply = NULL, /* no client ever waits for the master */
	.timeout_reply_if_input = 1,
};

/* ---- opening ---- */

static int is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}

int metrics_open(struct metrics *mx, const struct config *cfg, int inherited)
{
	static const struct endpoint_limits lim = {
		.request_max = METRICS_HTTP_HEAD_MAX,
		.request_ns = METRICS_REQUEST_MS * NS_PER_MS,
		.progress_ns = METRICS_PROGRESS_MS * NS_PER_MS,
		.reply_ns = METRICS_REPLY_MS * NS_PER_MS,
		.send_chunk = METRICS_SEND_CHUNK,
	};
	struct sockaddr_storage ss;
	int fd;

	memset(mx, 0, sizeof *mx);
	mx->ep.listen_fd = -1;
	if (!cfg->metrics_listen)
		return 0;
	fd = endpoint_listen("--metrics-listen", cfg->metrics_listen, METRICS_BACKLOG, inherited,
	                     &ss, mx->addr, sizeof mx->addr);
	if (fd < 0)
		return -1;
	endpoint_init(&mx->ep, fd, &metrics_ops, &lim);
	mx->open = 1;
	if (is_loopback(&ss))
		log_info("metrics on http://%s/metrics", mx->addr);
	else
		log_warn("metrics on http://%s/metrics: not a loopback address, so whoever can "
		         "reach it can read the stats",
		         mx->addr);
	return 0;
}

/* ---- the loop's calls ---- */

void metrics_fill_pollfds(const struct metrics *mx, struct pollfd *pfd, uint64_t now_ns)
{
	if (mx->open) {
		endpoint_fill_pollfds(&mx->ep, pfd, now_ns);
		return;
	}
	for (int i = 0; i < METRICS_POLLFDS; i++)
		pfd[i] = (struct pollfd){ .fd = -1, .events = 0, .revents = 0 };
}

int metrics_timeout_ms(const struct metrics *mx, uint64_t now_ns, int timeout_ms)
{
	return mx->open ? endpoint_timeout_ms(&mx->ep, now_ns, timeout_ms) : timeout_ms;
}

void metrics_serve(struct metrics *mx, const struct pool *pool, const struct pollfd *pfd,
                   uint64_t now_ns)
{
	struct metrics_turn t = { mx, pool };

	if (mx->open)
		endpoint_serve(&mx->ep, pfd, now_ns, &t);
}

int metrics_fds(const struct metrics *mx, int *fds)
{
	return mx->open ? endpoint_fds(&mx->ep, fds) : 0;
}

void metrics_close(struct metrics *mx)
{
	if (!mx->open)
		return;
	endpoint_close(&mx->ep);
	mx->open = 0;
}
