/* The load balancer's agent (--agent-listen): HAProxy's agent-check protocol, one
 * line per connection written at once, such as "up ready 62% maxconn:16", then
 * close; served from the master's poll() loop by the endpoint module (endpoint.h)
 * with its limits on clients and deadlines. The line says the pool's free capacity
 * and whether the host takes connections (ready, drain while stopping, maint on an
 * operator's word, down during a crash loop). */
#ifndef PREFORKD_AGENT_H
#define PREFORKD_AGENT_H

#include "addr.h"
#include "endpoint.h"

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_POLLFDS ENDPOINT_POLLFDS
#define AGENT_LINE_MAX 96
/* The least percentage sent while up and ready: a full host stays in the farm at
 * the lowest weight instead of the 0 % that HAProxy treats as DRAIN. */
#define AGENT_PERCENT_MIN 1

struct config;
struct pool;

/* What the line is made of: the pool, as the master exports it, reduced. */
struct agent_view {
	long max;       /* MAX workers (pool_max_workers): maxconn, and 100 % */
	long busy;      /* running workers holding a connection */
	int maint;      /* preforkctl maint on */
	int stopping;   /* a graceful or fast stop: drain */
	int crash_loop; /* a crash-loop episode: starts fail, back-off holds */
	long ready;     /* running workers that can serve (past their start, any generation) */
};

/* The view of POOL. */
void agent_view_of(const struct pool *pool, struct agent_view *v);
/* The percentage of free capacity: (MAX - busy) / MAX (during a crash loop, (ready -
 * busy) / MAX: starts fail), rounded down, within AGENT_PERCENT_MIN..100. */
int agent_percent(const struct agent_view *v);
/* The agent line for V, newline included, in BUF (at least AGENT_LINE_MAX bytes);
 * returns its length. Pure. */
size_t agent_format(const struct agent_view *v, char *buf, size_t len);

/* All zero means "not open": --agent-listen not given, or not opened yet. */
struct agent {
	int open;
	char addr[ADDR_TEXT_MAX]; /* where it listens, as bound (port 0 resolved) */
	struct endpoint ep;
};

/* Start-up: binds and listens on cfg->agent_listen, if given (INHERITED >= 0: the
 * socket a binary upgrade handed over, under the name "agent"). Reports on stderr and
 * returns -1 on failure; 0 (and stays closed) without the option. */
int agent_open(struct agent *ag, const struct config *cfg, int inherited);
/* Fills AGENT_POLLFDS entries (fd -1 where there is nothing to wait for). */
void agent_fill_pollfds(const struct agent *ag, struct pollfd *pfd, uint64_t now_ns);
/* The poll timeout, shortened to the nearest agent deadline. */
int agent_timeout_ms(const struct agent *ag, uint64_t now_ns, int timeout_ms);
/* Accepts and answers from POOL (the master's read-only view); never blocks. */
void agent_serve(struct agent *ag, const struct pool *pool, const struct pollfd *pfd,
                 uint64_t now_ns);
/* The endpoint's fds, for a new worker to close. Writes at most AGENT_POLLFDS. */
int agent_fds(const struct agent *ag, int *fds);
/* At exit: close every client and the listener. */
void agent_close(struct agent *ag);

#endif
