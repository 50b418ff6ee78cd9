/* The agent endpoint: opening its TCP listener, and serving it as a user of the
 * endpoint module. HAProxy's agent-check connects, sends nothing (unless the server
 * line has agent-send), reads one line and closes; so the line is written as the
 * connection is accepted, never waiting for input, and whatever the peer did send
 * is read and dropped as the connection closes (endpoint.c, drain_input).
 *
 * May call: endpoint, pool (the read-only view the master exports), scoreboard (a
 * slot's state), net, addr, log. Never calls into master.c and changes no master
 * state: a check only looks. Touches only struct agent. */
#include "agent.h"

#include "clock.h"
#include "config.h"
#include "log.h"
#include "net.h"
#include "pool.h"
#include "scoreboard.h"
#include "strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* An agent reply is one short line: it fits any socket buffer at once. The limits
 * only bound a peer that connects and then neither reads nor leaves. */
#define AGENT_BACKLOG 16
#define AGENT_REQUEST_MAX 256
#define AGENT_REQUEST_MS 1000
#define AGENT_PROGRESS_MS 1000
#define AGENT_REPLY_MS 2000
#define AGENT_SEND_CHUNK 4096

/* ---- the line ---- */

/* A worker holds a connection while busy, and between the requests of a keep-alive
 * one; a worker told to stop (reload, scale down) no longer counts toward MAX. */
void agent_view_of(const struct pool *pool, struct agent_view *v)
{
	memset(v, 0, sizeof *v);
	v->max = pool_max_workers(pool);
	v->maint = pool->maint != 0;
	v->stopping = pool->stopping != 0;
	v->crash_loop = pool->failed_starts > 0;
	for (int i = 0; i < SLOTS_MAX; i++) {
		const struct child *c = &pool->children[i];
		enum worker_state st;

		if (!child_is_live(c) || c->stopping)
			continue;
		st = sb_state(&pool->slots[i]);
		v->busy += st == WS_BUSY || st == WS_KEEPALIVE;
		v->ready += st == WS_IDLE || st == WS_BUSY || st == WS_KEEPALIVE;
	}
}

/* Free: every worker up to MAX that holds no connection (idle, starting, or room to
 * grow); during a crash loop starts fail, so only idle workers that serve count. */
int agent_percent(const struct agent_view *v)
{
	long free_workers = v->crash_loop ? v->ready - v->busy : v->max - v->busy, pct;

	if (v->max <= 0)
		return AGENT_PERCENT_MIN;
	if (free_workers < 0)
		free_workers = 0;
	pct = free_workers * 100 / v->max;
	if (pct < AGENT_PERCENT_MIN)
		pct = AGENT_PERCENT_MIN;
	return pct > 100 ? 100 : (int)pct;
}

/* Every line names both states, operational (up, down) and administrative (ready,
 * drain, maint): HAProxy changes only what a line names, so a line that left one
 * out could never undo an earlier one. The weight goes only with "up ready"; a
 * reason follows '#', which HAProxy logs. The operator's maint wins over a stop's
 * drain: it is the stronger of the two (not even persistent clients). */
/* A crash loop is down only while no worker can serve: a growth or a rolling
 * restart whose new workers fail leaves the others serving, and one bad start on
 * every host must not take the whole farm out of the balancer. */
size_t agent_format(const struct agent_view *v, char *buf, size_t len)
{
	const char *admin = v->maint ? "maint" : v->stopping ? "drain" : "ready";
	const char *why = v->crash_loop ? " # crash-loop" : "";
	int down = v->crash_loop && v->ready == 0 && !v->stopping;
	int n;

	if (down)
		n = snprintf(buf, len, "down %s maxconn:%ld%s\n", admin, v->max, why);
	else if (v->maint || v->stopping)
		n = snprintf(buf, len, "up %s maxconn:%ld\n", admin, v->max);
	else
		n = snprintf(buf, len, "up ready %d%% maxconn:%ld%s\n", agent_percent(v), v->max,
		             why);
	if (n < 0)
		n = 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}

/* ---- serving: the endpoint's user ---- */

/* What endpoint_serve passes to the ops: the master is only read. */
struct agent_turn {
	struct agent *ag;
	const struct pool *pool;
};

static void reply_line(struct agent_turn *t, struct endpoint *e, struct endpoint_client *c,
                       uint64_t now)
{
	struct agent_view v;
	struct strbuf b = { 0 };
	char line[AGENT_LINE_MAX];
	size_t n;

	agent_view_of(t->pool, &v);
	n = agent_format(&v, line, sizeof line);
	strbuf_append(&b, line, n);
	log_debug("agent: %s: %.*s", c->peer, (int)(n > 0 ? n - 1 : 0), line);
	/* Should even that buffer fail, the fallback says nothing it cannot know. */
	endpoint_reply(e, c, &b, "up\n", now);
}

/* The line goes out as soon as the connection is taken: the check sends nothing to
 * wait for. -1 tells the endpoint the client has its reply. */
static int accept_client(void *arg, struct endpoint *e, struct endpoint_client *c, uint64_t now)
{
	reply_line(arg, e, c, now);
	return -1;
}

/* Never called for a client answered at accept; here for the endpoint's contract. */
static long never_complete(const char *in, size_t len)
{
	(void)in;
	(void)len;
	return -1;
}

static void take_input(void *arg, struct endpoint *e, struct endpoint_client *c,
                       enum endpoint_input how, size_t len, uint64_t now)
{
	(void)how;
	(void)len;
	reply_line(arg, e, c, now);
}

static const struct endpoint_ops agent_ops = {
	.name = "agent",
	.accept = accept_client,
	.complete = never_complete,
	.request = take_input,
	.timeout_reply = NULL,
	.closing_reply = NULL, /* no client ever waits for the master */
	.timeout_reply_if_input = 0,
};

/* ---- opening ---- */

int agent_open(struct agent *ag, const struct config *cfg, int inherited)
{
	static const struct endpoint_limits lim = {
		.request_max = AGENT_REQUEST_MAX,
		.request_ns = AGENT_REQUEST_MS * NS_PER_MS,
		.progress_ns = AGENT_PROGRESS_MS * NS_PER_MS,
		.reply_ns = AGENT_REPLY_MS * NS_PER_MS,
		.send_chunk = AGENT_SEND_CHUNK,
	};
	struct sockaddr_storage ss;
	int fd;

	memset(ag, 0, sizeof *ag);
	ag->ep.listen_fd = -1;
	if (!cfg->agent_listen)
		return 0;
	fd = endpoint_listen("--agent-listen", cfg->agent_listen, AGENT_BACKLOG, inherited, &ss,
	                     ag->addr, sizeof ag->addr);
	if (fd < 0)
		return -1;
	endpoint_init(&ag->ep, fd, &agent_ops, &lim);
	ag->open = 1;
	log_info("agent-check on %s", ag->addr);
	return 0;
}

/* ---- the loop's calls ---- */

void agent_fill_pollfds(const struct agent *ag, struct pollfd *pfd, uint64_t now_ns)
{
	if (ag->open) {
		endpoint_fill_pollfds(&ag->ep, pfd, now_ns);
		return;
	}
	for (int i = 0; i < AGENT_POLLFDS; i++)
		pfd[i] = (struct pollfd){ .fd = -1, .events = 0, .revents = 0 };
}

int agent_timeout_ms(const struct agent *ag, uint64_t now_ns, int timeout_ms)
{
	return ag->open ? endpoint_timeout_ms(&ag->ep, now_ns, timeout_ms) : timeout_ms;
}

void agent_serve(struct agent *ag, const struct pool *pool, const struct pollfd *pfd,
                 uint64_t now_ns)
{
	struct agent_turn t = { ag, pool };

	if (ag->open)
		endpoint_serve(&ag->ep, pfd, now_ns, &t);
}

int agent_fds(const struct agent *ag, int *fds)
{
	return ag->open ? endpoint_fds(&ag->ep, fds) : 0;
}

void agent_close(struct agent *ag)
{
	if (!ag->open)
		return;
	endpoint_close(&ag->ep);
	ag->open = 0;
}
