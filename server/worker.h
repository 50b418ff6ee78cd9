/* A worker process: with one stream listener it blocks in accept4() on it; with
 * several (or any UDP one) it waits in its own epoll. Serves one connection at a
 * time through the configured service. */
#ifndef PREFORKD_WORKER_H
#define PREFORKD_WORKER_H

#include "listeners.h"

#include <sys/types.h>

struct config;
struct sb_header;
struct sb_slot;

/* Exit codes a worker uses so the master can tell why it left. */
#define WORKER_EXIT_STOPPED 0  /* asked to stop (SIGTERM) */
#define WORKER_EXIT_FATAL 1    /* a setup or accept error it cannot recover from */
#define WORKER_EXIT_RECYCLED 3 /* served its --max-requests */
#define WORKER_EXIT_RSS 4      /* its RSS passed --max-rss */

struct worker_args {
	const struct config *cfg;
	/* a copy of the master's (its state is not mapped in workers) */
	struct listener_set listeners;
	struct sb_slot *slot;
	struct sb_header *shared; /* the pool-wide pressure flag */
	pid_t master_pid;
	long max_requests; /* this worker's limit with its jitter; 0 = none */
	int slot_index;    /* for its process title */
	unsigned generation;
};

double worker_recv_slice(const struct config *cfg);
void worker_run(const struct worker_args *a) __attribute__((noreturn));

#endif
