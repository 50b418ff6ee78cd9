/* Worker process: the hot path of preforkd. accept4 -> serve -> close, with the
 * scoreboard updated by plain relaxed stores, no allocation and no extra syscalls:
 * timeouts and TCP_NODELAY come from the listener, which every accepted socket
 * inherits (after a reload that changed the waits, see set_limits). Linux wakes one blocked
 * accept() waiter per connection (exclusive wait queue, FIFO), so no accept lock is needed and
 * there is no thundering herd.
 *
 * That is the single-listener path (listeners_single_stream). With several
 * listeners, or a UDP one, each worker waits in its own epoll with EPOLLEXCLUSIVE
 * on every listener (the master made them all O_NONBLOCK): the kernel wakes one or
 * more waiters per event; one that finds the queue already emptied (EAGAIN)
 * counts an empty wake-up (C_EMPTY_WAKEUPS) and waits again. */
#include "worker.h"

#include "clock.h"
#include "config.h"
#include "log.h"
#include "net.h"
#include "privdrop.h"
#include "proctitle.h"
#include "scoreboard.h"
#include "service.h"
#include "worker_fault.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t quit_now;    /* written only by the SIGQUIT handler (C11 7.14.1.1) */
static volatile sig_atomic_t evict_noted; /* SIGUSR2: the master may want a connection dropped */

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

static void on_evict(int sig)
{
	(void)sig;
	evict_noted = 1;
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
	static const int ignored[] = { SIGINT, SIGHUP, SIGPIPE, SIGTTIN, SIGTTOU, SIGUSR1 };
	sigset_t all;

	/* SIGINT from a terminal's Ctrl-C reaches the whole process group: the master
	 * alone decides how to stop, so workers ignore it (and the job-control ones). */
	for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
		set_disposition(ignored[i], SIG_IGN);
	set_disposition(SIGCHLD, SIG_DFL);
	set_disposition(SIGTERM, on_term);
	set_disposition(SIGQUIT, on_quit);
	/* Without SA_RESTART, like the others: it must cut a blocking recv() or poll()
	 * short so that conn_recv/conn_send ask evict_requested(). */
	set_disposition(SIGUSR2, on_evict);
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
static int accept_connection(const struct worker_args *a, int listen_fd)
{
	socklen_t len = sizeof a->slot->peer;
	int fd = accept4(listen_fd, (struct sockaddr *)&a->slot->peer, &len,
	                 SOCK_CLOEXEC | a->cfg->service->accept_flags);

	if (fd >= 0)
		return fd;
	switch (errno) {
	case EINTR:
	case EAGAIN:       /* SO_RCVTIMEO on the listener: a periodic wake-up when idle; or
	                    * O_NONBLOCK (the caller's business) */
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
		/* an idle keep-alive connection given up under pressure: nothing was cut */
		[SERVE_YIELDED] = C_COMPLETED,
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

/* ---- the pressure defence (pressure.h) ---- */

static struct sb_slot *own_slot;
static int conn_fd = -1;          /* the connection being served, for evict_requested() */
static uint64_t pressure_idle_ns; /* 0: this worker drops nothing */
static int conn_evicted;          /* the connection being served was dropped */

/* conn_recv/conn_send ask this when a wait is interrupted or a slice passes. The
 * master wrote the seq of the connection it wants dropped before its SIGUSR2; a
 * signal meant for a connection already finished finds another seq and changes
 * nothing. A connection that moved a byte since the master saw it stalled is kept
 * too: the master wrote the byte count it judged by (evict_bytes, before the seq),
 * and this worker's own count (every service adds to it as bytes move, before its
 * next wait) must still be that. No clock: the master judged the stall. (The
 * master asks again if it still wants the connection.) errno is left as it was. */
static int has_unread(int fd)
{
	char b;
	int saved = errno;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	errno = saved;
	return n > 0;
}

static int evict_requested(void)
{
	uint64_t target, judged, bytes;

	if (!evict_noted)
		return 0;
	evict_noted = 0;
	target = atomic_load_explicit(&own_slot->evict_seq, memory_order_acquire);
	judged = sb_get(&own_slot->evict_bytes);
	bytes = sb_get(&own_slot->counters[C_BYTES_IN]) + sb_get(&own_slot->counters[C_BYTES_OUT]);
	if (pressure_idle_ns == 0 ||
	    !sb_evict_wanted(target, sb_get(&own_slot->conn_seq), judged, bytes))
		return 0;
	/* A yield is meant for the wait between keep-alive requests. The master may
	 * have read WS_KEEPALIVE with a byte count that already holds the next
	 * request's first bytes: a worker that has left the wait (it is busy with
	 * that request) keeps the connection. A yield is not an eviction: the
	 * service counts it. */
	if (judged & SB_EVICT_YIELD)
		return sb_state(own_slot) == WS_KEEPALIVE;
	/* Bytes the client sent that this worker has not read yet are progress too:
	 * a worker slow to be scheduled must not make its client look stalled. One
	 * peek, on this rare path only. */
	if (has_unread(conn_fd))
		return 0;
	conn_evicted = 1;
	return 1;
}

/* Under pressure a connection with nothing to read when it is accepted is closed at
 * once: one non-blocking peek, and only under pressure (the flag is a plain load).
 * Only with --defer-accept: then the kernel queued it either with its first data
 * or after the client stayed silent for the whole defer period, so "nothing to
 * read" means silent for seconds. Without it, a client that connects and then
 * writes would be cut between its connect and its first write. A client that sent
 * its request, or closed, is served as always. */
static int silent_under_pressure(const struct worker_args *a, int fd, enum listener_kind kind)
{
	char c;

	if (kind != LISTENER_TCP ||
	    !atomic_load_explicit(&a->shared->pressure, memory_order_relaxed) ||
	    pressure_idle_ns == 0 || a->cfg->defer_accept == 0)
		return 0;
	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
	       (errno == EAGAIN || errno == EWOULDBLOCK);
}

static void set_limits(const struct config *cfg, int listen_fd)
{
	limits = (struct conn_limits){
		.first_byte_ns = seconds_to_ns(cfg->first_byte_timeout),
		.idle_ns = seconds_to_ns(cfg->idle_timeout),
		.slice_ns = seconds_to_ns(worker_recv_slice(cfg)),
		.abandon = evict_requested,
	};
	pressure_idle_ns = seconds_to_ns(cfg->pressure_idle);
	compare_listener_slice(listen_fd, worker_recv_slice(cfg));
}

/* Queue wait, with --queue-wait: the accept against the kernel's receive time of
 * the first data (both CLOCK_REALTIME: the kernel stamps packets with it). With
 * TCP_DEFER_ACCEPT a connection joins the queue with its first data, so this is
 * its whole time in the queue; data that came after the accept (or none) means
 * the connection did not wait with data: 0. A clock step between the two reads
 * as 0 or as a long wait once; it is a statistic, never a deadline. */
static uint64_t clock_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void record_queue_wait(struct sb_slot *slot, uint64_t accepted_real, uint64_t first_rx)
{
	uint64_t us = first_rx && first_rx < accepted_real ? (accepted_real - first_rx) / 1000 : 0;

	sb_add(&slot->qwait_hist[hist_bucket(us)], 1);
}

static uint64_t serve_connection(const struct worker_args *a, int fd, int last, size_t li)
{
	enum listener_kind kind = a->listeners.l[li].kind;
	/* queue-wait stamps: TCP only (the services clear waits.stamp_first once used) */
	int stamp = a->cfg->queue_wait && kind == LISTENER_TCP;
	struct sb_slot *slot = a->slot;
	uint64_t t0 = clock_now_ns(), us;
	/* The first-byte wait starts at the accept: the kernel's TCP_DEFER_ACCEPT
	 * wait, if any, is already over. */
	struct conn_waits waits = {
		.lim = &limits,
		.wait_start_ns = t0,
		.waiting = 1,
		.stamp_first = stamp,
	};
	uint64_t accepted_real = stamp ? clock_real_ns() : 0;
	struct serve_ctx ctx = { .slot = slot,
		                 .quit_now = &quit_now,
		                 .waits = &waits,
		                 .cfg = a->cfg,
		                 .stopping = &stop_requested,
		                 .last_connection = last };
	enum serve_result r = SERVE_OTHER;
	uint64_t end;
	int early;

	/* An accepted Unix socket does not inherit the listener's SO_RCVTIMEO: it gets
	 * its slice here, so its first-byte and idle deadlines hold. */
	if ((own_slice_per_connection || kind == LISTENER_UNIX) &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &own_slice, sizeof own_slice) < 0)
		log_warn("setsockopt SO_RCVTIMEO: %s", strerror(errno));
	/* busy_since_ns before conn_seq (release): a master that reads the new seq
	 * (acquire) reads this connection's start, never the last one's. */
	atomic_store_explicit(&slot->busy_since_ns, t0, memory_order_relaxed);
	atomic_store_explicit(&slot->conn_in0, sb_get(&slot->counters[C_BYTES_IN]),
	                      memory_order_relaxed);
	atomic_store_explicit(&slot->conn_out0, sb_get(&slot->counters[C_BYTES_OUT]),
	                      memory_order_relaxed);
	sb_set_op(slot, WOP_READ, t0);
	atomic_store_explicit(&slot->conn_seq, sb_get(&slot->conn_seq) + 1, memory_order_release);
	conn_evicted = 0;
	conn_fd = fd;
	sb_set_state(slot, WS_BUSY);
	sb_add(&slot->counters[C_ACCEPTED], 1);
	sb_add(&slot->listener_accepted[li], 1);
	worker_fault_before_serve(sb_get(&slot->counters[C_ACCEPTED]));
	early = silent_under_pressure(a, fd, kind);
	if (!early)
		r = a->cfg->service->serve(fd, &ctx);
	/* close() of a TCP socket only fails with EINTR/EIO after the fd is released
	 * on Linux; there is nothing to retry. */
	close(fd);
	end = clock_now_ns();
	us = (end - t0) / 1000;
	sb_add(&slot->hist[hist_bucket(us)], 1);
	if (stamp && !early)
		record_queue_wait(slot, accepted_real, waits.first_rx_real_ns);
	if (early || (conn_evicted && r != SERVE_YIELDED)) {
		sb_add(&slot->counters[C_ERR_EVICTED], 1);
		if (early)
			sb_add(&slot->counters[C_EVICTED_EARLY], 1);
	} else {
		count_result(slot, r);
	}
	return end;
}

/* ---- samples: RSS and CPU time, published for the master ----
 *
 * Under the shipped unit the master cannot read this process's /proc/PID, so the
 * worker reads its own and publishes the figures in its slot. Once per tick at
 * most, never per connection: the tick is checked against a clock the loop has
 * already read (the end of a connection, an idle accept wake-up), and a sample
 * costs two syscalls: a pread() of /proc/self/statm, kept open from the start
 * (one open for the worker's life), and clock_gettime(CLOCK_PROCESS_CPUTIME_ID),
 * which the vDSO cannot answer. */
#define SAMPLE_TICK_NS NS_PER_SEC

static int statm_fd = -1;
static uint64_t page_bytes;
static uint64_t next_sample_ns;

static void open_samples(void)
{
	long page = sysconf(_SC_PAGESIZE);

	page_bytes = page > 0 ? (uint64_t)page : 4096;
	/* Before the privilege drop: /proc/self is the same process after it, and the
	 * fd keeps working whatever the process's ids become. */
	statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (statm_fd < 0)
		log_warn("/proc/self/statm: %s; this worker's RSS is not known (nor --max-rss "
		         "applied)",
		         strerror(errno));
}

/* statm: "size resident shared text lib data dt", in pages. 0 when unknown. */
static uint64_t read_rss(void)
{
	char buf[128];
	ssize_t n, i = 0;
	uint64_t resident = 0;
	int digits = 0;

	if (statm_fd < 0)
		return 0;
	do
		n = pread(statm_fd, buf, sizeof buf, 0);
	while (n < 0 && errno == EINTR);
	/* Digits by hand: strtoull() would bring more of libc's pages into every
	 * worker (its locale tables), for two small numbers. */
	while (i < n && buf[i] != ' ')
		i++; /* past "size" */
	for (i++; i < n && buf[i] >= '0' && buf[i] <= '9' && digits < 19; i++, digits++)
		resident = resident * 10 + (uint64_t)(buf[i] - '0');
	if (digits == 0 || (i < n && buf[i] != ' '))
		return 0;
	return resident * page_bytes;
}

static void take_sample(struct sb_slot *slot, uint64_t now)
{
	struct timespec cpu;
	uint64_t rss = read_rss();

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0)
		atomic_store_explicit(&slot->cpu_ns,
		                      (uint64_t)cpu.tv_sec * NS_PER_SEC + (uint64_t)cpu.tv_nsec,
		                      memory_order_relaxed);
	atomic_store_explicit(&slot->rss_bytes, rss, memory_order_relaxed);
	atomic_store_explicit(&slot->sampled_ns, now, memory_order_relaxed);
	next_sample_ns = now + SAMPLE_TICK_NS;
}

/* At most once per tick; then --max-rss: a worker above it has finished its
 * connection (or is idle) and leaves, for the master to replace at once. */
static void sample_tick(const struct worker_args *a, uint64_t now, long served)
{
	uint64_t rss;

	if (now < next_sample_ns)
		return;
	take_sample(a->slot, now);
	rss = sb_get(&a->slot->rss_bytes);
	if (a->cfg->max_rss == 0 || rss <= a->cfg->max_rss)
		return;
	log_info("worker rss %.1f MiB is above --max-rss %.1f MiB after %ld connections: "
	         "retiring",
	         (double)rss / (1 << 20), (double)a->cfg->max_rss / (1 << 20), served);
	sb_set_op(a->slot, WOP_STOPPING, now);
	sb_set_state(a->slot, WS_STOPPING);
	_exit(WORKER_EXIT_RSS);
}

/* Once the queues are empty, how long a draining worker waits for more: handshakes
 * in flight when the filter went on, and connections that TCP_DEFER_ACCEPT held
 * back until their first data, still join a queue; whatever joins later is reset
 * when the listener closes. */
#define DRAIN_SETTLE_MS 100

/* The stream listeners the master drains (its own: it filtered them and made them
 * non-blocking before its SIGTERM, and set their bits in the shared header). */
static size_t drained_listeners(const struct worker_args *a, struct pollfd *p, size_t *idx)
{
	unsigned mask = atomic_load_explicit(&a->shared->drain, memory_order_acquire);
	size_t n = 0;

	for (size_t i = 0; i < a->listeners.n; i++) {
		const struct listener *l = &a->listeners.l[i];

		if (!(mask & (1u << i)) || l->kind == LISTENER_UDP)
			continue;
		p[n] = (struct pollfd){ .fd = l->fd, .events = POLLIN, .revents = 0 };
		idx[n++] = i;
	}
	return n;
}

/* Every worker wakes when one connection arrives (poll() is not exclusive); the
 * ones that lose the race find EAGAIN and wait again. Returns how many listeners
 * are ready (their revents set), 0 when nothing came for DRAIN_SETTLE_MS. */
static int more_to_drain(struct pollfd *p, size_t n)
{
	uint64_t deadline = clock_now_ns() + DRAIN_SETTLE_MS * NS_PER_MS;

	for (;;) {
		uint64_t now = clock_now_ns();
		int rc;

		if (quit_now || now >= deadline)
			return 0;
		rc = poll(p, n, (int)((deadline - now + NS_PER_MS - 1) / NS_PER_MS));
		if (rc > 0)
			return rc;
		if (rc == 0 || errno != EINTR)
			return 0;
	}
}

/* Graceful stop: the owned listeners drop new connections and are non-blocking
 * now, so take what the kernel already queued on each until every queue is empty
 * and nothing more arrives for DRAIN_SETTLE_MS. SIGQUIT (quit_now) abandons the
 * rest. Each accept follows a poll() that found its listener ready: nothing spins,
 * and a listener left blocking (its filter failed) costs at most one slice. */
static void drain_queue(const struct worker_args *a)
{
	struct pollfd p[LISTENERS_MAX];
	size_t idx[LISTENERS_MAX];
	size_t n = drained_listeners(a, p, idx);

	while (n > 0 && !quit_now && more_to_drain(p, n) > 0) {
		for (size_t k = 0; k < n && !quit_now; k++) {
			socklen_t len = sizeof a->slot->peer;
			int fd;

			if (!(p[k].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			fd = accept4(p[k].fd, (struct sockaddr *)&a->slot->peer, &len,
			             SOCK_CLOEXEC | a->cfg->service->accept_flags);
			if (fd >= 0) {
				(void)serve_connection(a, fd, 1, idx[k]);
				sb_set_state(a->slot, WS_STOPPING);
				continue;
			}
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO ||
			    errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			log_error("accept4 while emptying the queue: %s; worker exits",
			          strerror(errno));
			return;
		}
	}
}

/* After a serve: the worker's own bookkeeping, then idle again. */
static void after_serve(const struct worker_args *a, uint64_t now, long served)
{
	worker_fault_after_serve((unsigned long)served);
	if (a->max_requests > 0 && served >= a->max_requests) {
		sb_set_state(a->slot, WS_STOPPING);
		_exit(WORKER_EXIT_RECYCLED);
	}
	sample_tick(a, now, served);
	sb_set_op(a->slot, WOP_ACCEPT, now);
	sb_set_state(a->slot, WS_IDLE);
}

/* The single-listener path: a blocking accept4(), woken each slice by the
 * listener's SO_RCVTIMEO. Another holder of the listener (systemd, the other
 * master during an upgrade) may have made the shared open file description
 * O_NONBLOCK: then accept4() returns EAGAIN at once, so after an EAGAIN that came
 * before its slice the worker poll()s the listener for a slice before it accepts
 * again, and never spins. */
static void run_single(const struct worker_args *a)
{
	int lfd = a->listeners.l[0].fd;
	long served = 0;
	uint64_t slice_ns = seconds_to_ns(worker_recv_slice(a->cfg)), waited = clock_now_ns();
	int slice_ms = (int)(slice_ns / NS_PER_MS) + 1;

	while (!stop_requested) {
		int fd = accept_connection(a, lfd);
		uint64_t now;

		if (fd < 0) {
			/* A wake-up of an idle worker (the listener's SO_RCVTIMEO): its
			 * tick too. */
			now = clock_now_ns();
			if (errno == EAGAIN && now - waited < slice_ns / 2 && !stop_requested) {
				struct pollfd p = { .fd = lfd, .events = POLLIN, .revents = 0 };

				if (poll(&p, 1, slice_ms) < 0 && errno != EINTR)
					log_warn("poll on the listener: %s", strerror(errno));
				now = clock_now_ns();
			}
			waited = now;
			sample_tick(a, now, served);
			continue;
		}
		now = serve_connection(a, fd, a->max_requests > 0 && served + 1 >= a->max_requests,
		                       0);
		served++;
		after_serve(a, now, served);
		waited = now;
	}
}

/* Several listeners, or a UDP one: this worker's own epoll, EPOLLEXCLUSIVE on
 * each (one or more waiters woken per event), level-triggered, the slice as its
 * timeout (the sample tick). */
static void run_epoll(const struct worker_args *a)
{
	struct epoll_event ev[LISTENERS_MAX];
	int slice_ms = (int)(seconds_to_ns(worker_recv_slice(a->cfg)) / NS_PER_MS) + 1;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	long served = 0;
	struct dgram_ctx dctx = {
		.slot = a->slot, .cfg = a->cfg, .stopping = &stop_requested, .quit_now = &quit_now
	};

	if (ep < 0) {
		log_error("epoll_create1: %s; worker exits", strerror(errno));
		_exit(WORKER_EXIT_FATAL);
	}
	for (size_t i = 0; i < a->listeners.n; i++) {
		struct epoll_event e = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.u64 = i };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, a->listeners.l[i].fd, &e) < 0) {
			log_error("epoll_ctl %s: %s; worker exits", a->listeners.l[i].text,
			          strerror(errno));
			_exit(WORKER_EXIT_FATAL);
		}
	}
	while (!stop_requested) {
		int n = epoll_wait(ep, ev, LISTENERS_MAX, slice_ms);
		uint64_t now;

		if (n < 0 && errno != EINTR) {
			log_error("epoll_wait: %s; worker exits", strerror(errno));
			_exit(WORKER_EXIT_FATAL);
		}
		for (int k = 0; k < n && !stop_requested; k++) {
			size_t li = (size_t)ev[k].data.u64;
			const struct listener *l = &a->listeners.l[li];
			int fd;

			if (l->kind == LISTENER_UDP) {
				dctx.listener = (int)li;
				sb_set_state(a->slot, WS_BUSY);
				if (a->cfg->service->serve_datagram(l->fd, &dctx) < 0)
					_exit(WORKER_EXIT_FATAL);
				sb_set_state(a->slot, WS_IDLE);
				continue;
			}
			fd = accept_connection(a, l->fd);
			if (fd < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					sb_add(&a->slot->counters[C_EMPTY_WAKEUPS], 1);
				continue;
			}
			now = serve_connection(
				a, fd, a->max_requests > 0 && served + 1 >= a->max_requests, li);
			served++;
			after_serve(a, now, served);
		}
		sample_tick(a, clock_now_ns(), served);
	}
	close(ep);
}

void worker_run(const struct worker_args *a)
{
	uint64_t now;

	/* First: from here on a line goes to the master's pipe, never blocking. */
	log_enter_worker(&a->slot->counters[C_LOG_DROPPED]);
	own_slot = a->slot;
	proctitle_set_worker(a->slot_index, a->generation);
	install_worker_signals();
	set_limits(a->cfg, a->listeners.l[0].fd);
	open_samples();
	/* Before PR_SET_PDEATHSIG: the kernel clears it when a process changes its ids. */
	if (privdrop_apply() < 0)
		_exit(WORKER_EXIT_FATAL);
	bind_to_master(a->master_pid);
	if (a->cfg->service->worker_init && a->cfg->service->worker_init(a->cfg) < 0)
		_exit(WORKER_EXIT_FATAL);
	worker_fault_at_start();
	now = clock_now_ns();
	take_sample(a->slot, now);
	sb_set_op(a->slot, WOP_ACCEPT, now);
	sb_set_state(a->slot, WS_IDLE);
	worker_fault_when_ready();
	if (listeners_single_stream(&a->listeners))
		run_single(a);
	else
		run_epoll(a);
	sb_set_op(a->slot, WOP_STOPPING, clock_now_ns());
	sb_set_state(a->slot, WS_STOPPING);
	if (!quit_now && atomic_load_explicit(&a->shared->drain, memory_order_acquire))
		drain_queue(a);
	log_debug("worker stops: told to by %s", quit_now ? "SIGQUIT" : "SIGTERM");
	_exit(WORKER_EXIT_STOPPED);
}
