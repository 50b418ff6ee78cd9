/* Worker process: the hot path of preforkd. accept4 -> serve -> close, with the
 * scoreboard updated by plain relaxed stores, no allocation and no extra syscalls:
 * timeouts and TCP_NODELAY come from the listener, which every accepted socket
 * inherits (after a reload that changed the waits, see set_limits). Linux wakes one blocked
 * accept() waiter per connection (exclusive wait queue, FIFO), so no accept lock is needed and
 * there is no thundering herd. */
#include "worker.h"

#include "clock.h"
#include "config.h"
#include "drain.h"
#include "log.h"
#include "net.h"
#include "privdrop.h"
#include "proctitle.h"
#include "scoreboard.h"
#include "service.h"
#include "worker_fault.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t quit_now; /* written only by the SIGQUIT handler (C11 7.14.1.1) */

static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void on_quit(int sig)
{
	(void)sig;
	stop_requested = 1;
	quit_now = 1;
}

/* No SA_RESTART: a signal must interrupt a blocking accept4() so the loop sees it.
 * sigaction() fails only for a signal that cannot be caught: logged, never expected. */
static void set_disposition(int sig, void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	if (sigaction(sig, &sa, NULL) < 0)
		log_error("sigaction %d: %s", sig, strerror(errno));
}

static void install_worker_signals(void)
{
	static const int ignored[] = {
		SIGINT, SIGHUP, SIGPIPE, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2
	};
	sigset_t all;

	/* SIGINT from a terminal's Ctrl-C reaches the whole process group: the master
	 * alone decides how to stop, so workers ignore it (and the job-control ones). */
	for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
		set_disposition(ignored[i], SIG_IGN);
	set_disposition(SIGCHLD, SIG_DFL);
	set_disposition(SIGTERM, on_term);
	set_disposition(SIGQUIT, on_quit);
	sigemptyset(&all);
	if (sigprocmask(SIG_SETMASK, &all, NULL) < 0)
		log_error("sigprocmask: %s", strerror(errno));
}

/* PR_SET_PDEATHSIG fires when the parent dies; if it died before the call, the
 * getppid() check catches it. Either way no orphan keeps the port bound. */
static void bind_to_master(pid_t master_pid)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
		log_error("prctl PR_SET_PDEATHSIG: %s", strerror(errno));
		_exit(WORKER_EXIT_FATAL);
	}
	if (getppid() != master_pid)
		_exit(WORKER_EXIT_FATAL);
}

/* Out of fds or memory: pause instead of spinning on an accept4() that fails at
 * once; the connection stays queued for a worker that can take it. */
static void pause_after_resource_error(int err)
{
	static uint64_t last_log_ns;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 50 * (long)NS_PER_MS };
	uint64_t now = clock_now_ns();

	if (last_log_ns == 0 || now - last_log_ns >= 10 * NS_PER_SEC) {
		log_warn("accept4: %s; pausing (logged at most every 10 s)", strerror(err));
		last_log_ns = now;
	}
	nanosleep(&ts, NULL);
}

/* Returns the accepted fd, -1 to try again, or exits on an unrecoverable error. */
static int accept_connection(const struct worker_args *a)
{
	socklen_t len = sizeof a->slot->peer;
	int fd = accept4(a->listen_fd, (struct sockaddr *)&a->slot->peer, &len, SOCK_CLOEXEC);

	if (fd >= 0)
		return fd;
	switch (errno) {
	case EINTR:
	case EAGAIN:       /* SO_RCVTIMEO on the listener: a periodic wake-up when idle */
	case ECONNABORTED: /* the client left before we took it */
	case EPROTO:
	case ENETDOWN:
	case ENOPROTOOPT:
	case EHOSTDOWN:
	case ENONET:
	case EHOSTUNREACH:
	case EOPNOTSUPP:
	case ENETUNREACH:
		return -1; /* accept(2): network errors on Linux are reported here; retry */
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		pause_after_resource_error(errno);
		return -1;
	default:
		log_error("accept4: %s; worker exits", strerror(errno));
		_exit(WORKER_EXIT_FATAL);
	}
}

static void count_result(struct sb_slot *slot, enum serve_result r)
{
	static const enum counter which[] = {
		[SERVE_OK] = C_COMPLETED,
		[SERVE_TIMEOUT] = C_ERR_TIMEOUT,
		[SERVE_RESET] = C_ERR_RESET,
		[SERVE_OTHER] = C_ERR_OTHER,
	};

	sb_add(&slot->counters[which[r]], 1);
}

/* The listener's SO_RCVTIMEO, which accepted sockets inherit: the shorter of the
 * two per-connection waits, so a blocking recv() returns in time for either. */
double worker_recv_slice(const struct config *cfg)
{
	return cfg->first_byte_timeout < cfg->idle_timeout ? cfg->first_byte_timeout
	                                                   : cfg->idle_timeout;
}

/* The limits in nanoseconds, computed once per worker. */
static struct conn_limits limits;

/* The listener's SO_RCVTIMEO is set once, at start; a reload that changes the waits
 * gives new workers another slice. conn_recv_wait() counts on the socket's timeout
 * being its slice (a shorter one would cut idle clients early), so such a worker sets
 * its own on each connection: one setsockopt() more per connection, until the next
 * restart. A worker whose slice is the listener's adds nothing. */
static int own_slice_per_connection;
static struct timeval own_slice;

static void compare_listener_slice(int listen_fd, double slice)
{
	struct timeval tv;
	socklen_t len = sizeof tv;
	double diff;

	own_slice.tv_sec = (time_t)slice;
	own_slice.tv_usec = (suseconds_t)((slice - (double)own_slice.tv_sec) * 1e6);
	if (getsockopt(listen_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) < 0) {
		log_warn("getsockopt SO_RCVTIMEO on the listener: %s; setting it on each "
		         "connection",
		         strerror(errno));
		own_slice_per_connection = 1;
		return;
	}
	/* The kernel keeps it in jiffies, rounded up: within 10 ms it is the same. */
	diff = (double)tv.tv_sec + (double)tv.tv_usec / 1e6 - slice;
	own_slice_per_connection = diff > 0.01 || diff < -0.01;
}

static void set_limits(const struct config *cfg, int listen_fd)
{
	limits = (struct conn_limits){
		.first_byte_ns = seconds_to_ns(cfg->first_byte_timeout),
		.idle_ns = seconds_to_ns(cfg->idle_timeout),
		.slice_ns = seconds_to_ns(worker_recv_slice(cfg)),
	};
	compare_listener_slice(listen_fd, worker_recv_slice(cfg));
}

static void serve_connection(const struct worker_args *a, int fd, int last)
{
	struct sb_slot *slot = a->slot;
	uint64_t t0 = clock_now_ns(), us;
	/* The first-byte wait starts at the accept: the kernel's TCP_DEFER_ACCEPT
	 * wait, if any, is already over. */
	struct conn_waits waits = { .lim = &limits, .wait_start_ns = t0, .waiting = 1 };
	struct serve_ctx ctx = { .slot = slot,
		                 .quit_now = &quit_now,
		                 .waits = &waits,
		                 .cfg = a->cfg,
		                 .stopping = &stop_requested,
		                 .last_connection = last };
	enum serve_result r;

	if (own_slice_per_connection &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &own_slice, sizeof own_slice) < 0)
		log_warn("setsockopt SO_RCVTIMEO: %s", strerror(errno));
	atomic_store_explicit(&slot->busy_since_ns, t0, memory_order_relaxed);
	sb_set_state(slot, WS_BUSY);
	sb_add(&slot->counters[C_ACCEPTED], 1);
	worker_fault_before_serve(sb_get(&slot->counters[C_ACCEPTED]));
	r = a->cfg->service->serve(fd, &ctx);
	/* close() of a TCP socket only fails with EINTR/EIO after the fd is released
	 * on Linux; there is nothing to retry. */
	close(fd);
	us = (clock_now_ns() - t0) / 1000;
	sb_add(&slot->hist[hist_bucket(us)], 1);
	count_result(slot, r);
}

/* Once the queue is empty, how long a draining worker waits for more: handshakes in
 * flight when the filter went on, and connections that TCP_DEFER_ACCEPT held back
 * until their first data, still join the queue; whatever joins later is reset when
 * the listener closes. */
#define DRAIN_SETTLE_MS 100

/* Every worker wakes when one connection arrives (poll() is not exclusive); the
 * ones that lose the race find EAGAIN and wait again. */
static int more_to_drain(int listen_fd)
{
	struct pollfd p = { .fd = listen_fd, .events = POLLIN, .revents = 0 };
	uint64_t deadline = clock_now_ns() + DRAIN_SETTLE_MS * NS_PER_MS;

	for (;;) {
		uint64_t now = clock_now_ns();
		int rc;

		if (quit_now || now >= deadline)
			return 0;
		rc = poll(&p, 1, (int)((deadline - now + NS_PER_MS - 1) / NS_PER_MS));
		if (rc > 0)
			return 1;
		if (rc == 0 || errno != EINTR)
			return 0;
	}
}

/* Graceful stop of an owned listener: it drops new SYNs and is non-blocking now, so
 * take what the kernel already queued until accept4() says the queue is empty and
 * nothing more arrives for DRAIN_SETTLE_MS. SIGQUIT (quit_now) abandons the rest. */
static void drain_queue(const struct worker_args *a)
{
	while (!quit_now) {
		socklen_t len = sizeof a->slot->peer;
		int fd = accept4(a->listen_fd, (struct sockaddr *)&a->slot->peer, &len,
		                 SOCK_CLOEXEC);

		if (fd >= 0) {
			serve_connection(a, fd, 1);
			sb_set_state(a->slot, WS_STOPPING);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			log_error("accept4 while emptying the queue: %s; worker exits",
			          strerror(errno));
			return;
		}
		if (!more_to_drain(a->listen_fd))
			return;
	}
}

void worker_run(const struct worker_args *a)
{
	long served = 0;

	/* First: from here on a line goes to the master's pipe, never blocking. */
	log_enter_worker(&a->slot->counters[C_LOG_DROPPED]);
	proctitle_set_worker(a->slot_index, a->generation);
	install_worker_signals();
	set_limits(a->cfg, a->listen_fd);
	/* Before PR_SET_PDEATHSIG: the kernel clears it when a process changes its ids. */
	if (privdrop_apply() < 0)
		_exit(WORKER_EXIT_FATAL);
	bind_to_master(a->master_pid);
	if (a->cfg->service->worker_init && a->cfg->service->worker_init(a->cfg) < 0)
		_exit(WORKER_EXIT_FATAL);
	worker_fault_at_start();
	sb_set_state(a->slot, WS_IDLE);
	worker_fault_when_ready();
	while (!stop_requested) {
		int fd = accept_connection(a);

		if (fd < 0)
			continue;
		serve_connection(a, fd, a->max_requests > 0 && served + 1 >= a->max_requests);
		served++;
		worker_fault_after_serve((unsigned long)served);
		if (a->max_requests > 0 && served >= a->max_requests) {
			sb_set_state(a->slot, WS_STOPPING);
			_exit(WORKER_EXIT_RECYCLED);
		}
		sb_set_state(a->slot, WS_IDLE);
	}
	sb_set_state(a->slot, WS_STOPPING);
	if (!quit_now && drain_wanted(a->listen_fd))
		drain_queue(a);
	log_debug("worker stops: told to by %s", quit_now ? "SIGQUIT" : "SIGTERM");
	_exit(WORKER_EXIT_STOPPED);
}
