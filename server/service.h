/* The service interface: a worker hands each accepted connection to serve(). Adding
 * a protocol is a new service_NAME.c and one line in the table in service.c. */
#ifndef PREFORKD_SERVICE_H
#define PREFORKD_SERVICE_H

#include <signal.h>

struct config;
struct conn_waits;
struct sb_slot;

/* How a connection ended, for the error counters. */
/* SERVE_YIELDED: an idle keep-alive connection given up under pressure at the
 * master's request (not an eviction: no request was cut). */
enum serve_result { SERVE_OK, SERVE_TIMEOUT, SERVE_RESET, SERVE_OTHER, SERVE_YIELDED };

struct serve_ctx {
	struct sb_slot *slot;                  /* this worker's scoreboard slot: byte counters */
	volatile const sig_atomic_t *quit_now; /* set by SIGQUIT: abandon the connection */
	struct conn_waits *waits; /* this connection's deadlines, for conn_recv/conn_send */
	const struct config *cfg;
	/* set by SIGTERM (graceful stop, reload, shrink): finish what is in flight, start
	 * nothing new that could wait (an idle keep-alive connection is closed) */
	volatile const sig_atomic_t *stopping;
	int last_connection; /* the worker retires after this one (--max-requests) */
};

/* What a datagram service is handed with a readable UDP socket. */
struct dgram_ctx {
	struct sb_slot *slot;
	const struct config *cfg;
	volatile const sig_atomic_t *stopping;
	volatile const sig_atomic_t *quit_now;
	int listener; /* its index in the listener set: the per-listener counters */
};

struct service {
	const char *name;
	const char *summary;
	enum serve_result (*serve)(int fd, const struct serve_ctx *ctx);
	/* Optional: once per worker, after the privilege drop and before the first
	 * accept (open what every connection uses). 0, or -1 having logged why: the
	 * worker then exits with its fatal code. */
	int (*worker_init)(const struct config *cfg);
	/* Flags the worker adds to SOCK_CLOEXEC when it accepts a connection for this
	 * service: SOCK_NONBLOCK for a service that waits with poll() itself, which
	 * saves the fcntl() per connection. 0: a blocking socket whose waits are bounded
	 * by the timeouts it inherits from the listener (conn_recv/conn_send). */
	int accept_flags;
	/* Datagram services (udp: listeners): called when the worker finds a UDP
	 * listener readable. Takes a bounded batch of what is queued without blocking
	 * (MSG_DONTWAIT), answers it, counts it in the slot, and returns: 0, or -1
	 * having logged a fatal error (the worker exits). NULL: the service has no
	 * datagram form, and a udp: listener with it is a configuration error. */
	int (*serve_datagram)(int fd, const struct dgram_ctx *ctx);
};

const struct service *service_find(const char *name);
const char *service_names(void);

extern const struct service service_echo;
extern const struct service service_http;

#endif
