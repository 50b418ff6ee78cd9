/* The metrics endpoint (--metrics-listen): GET /metrics over HTTP, the same text as
 * the admin socket's `stats prometheus`, served from the master's poll() loop by the
 * endpoint module (endpoint.h) with the admin socket's limits: 16 clients at once,
 * a 4 KiB request head within its deadline, the reply sent as fast as the reader
 * takes it. One request per connection, then close. */
#ifndef PREFORKD_METRICS_H
#define PREFORKD_METRICS_H

#include "addr.h"
#include "endpoint.h"

#include <poll.h>
#include <stdint.h>

#define METRICS_POLLFDS ENDPOINT_POLLFDS

struct config;
struct pool;

/* All zero means "not open": --metrics-listen not given, or not opened yet. */
struct metrics {
	int open;
	char addr[ADDR_TEXT_MAX]; /* where it listens, as bound (port 0 resolved) */
	struct endpoint ep;
};

/* Start-up: binds and listens on cfg->metrics_listen, if given (INHERITED >= 0: the
 * socket a binary upgrade handed over, under the name "metrics"). Reports on stderr
 * and returns -1 on failure; 0 (and stays closed) without the option. */
int metrics_open(struct metrics *mx, const struct config *cfg, int inherited);
/* Fills METRICS_POLLFDS entries (fd -1 where there is nothing to wait for). */
void metrics_fill_pollfds(const struct metrics *mx, struct pollfd *pfd, uint64_t now_ns);
/* The poll timeout, shortened to the nearest metrics deadline. */
int metrics_timeout_ms(const struct metrics *mx, uint64_t now_ns, int timeout_ms);
/* Accepts, reads, answers from POOL (the master's read-only view) and expires
 * clients; never blocks. */
void metrics_serve(struct metrics *mx, const struct pool *pool, const struct pollfd *pfd,
                   uint64_t now_ns);
/* The endpoint's fds, for a new worker to close. Writes at most METRICS_POLLFDS. */
int metrics_fds(const struct metrics *mx, int *fds);
/* At exit: close every client and the listener. */
void metrics_close(struct metrics *mx);

#endif
