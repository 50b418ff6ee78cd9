/* prefork-bench: load generator for the TCP echo protocol (RFC 862). Each thread, a loader, drives
 * its share of the connections from one edge-triggered epoll set, checks every reply byte for byte
 * and keeps latencies in a bounded log-linear histogram; --rate runs open loop, timed from the
 * schedule. --udp: each loader keeps its share of datagrams outstanding on one UDP socket, and a
 * datagram with no answer within --timeout is lost, and counted so. Built on common/ (clock,
 * histogram, addresses, number parsing), nothing of server/. */
#include "addr.h"
#include "clock.h"
#include "hist.h"
#include "parse.h"
#include "version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define MAX_SIZE (64L << 20)
/* --udp: the largest payload over IPv4; each datagram opens with its 8-byte sequence number */
#define UDP_MAX_SIZE 65507
#define UDP_MIN_SIZE 8
#define UDP_BATCH 32
#define MAX_CONCURRENCY 100000
#define MAX_THREADS 256
/* Payloads start at a random offset into a random pool: two transactions share a payload with
 * probability 2^-16, so a server that replays an old reply is caught. 64 KiB of offsets keep
 * small payloads in the L2 cache: with 1 MiB, each send and each check missed it. */
#define POOL_SPREAD (1u << 16)
#define RBUF_LEN (256u << 10)
/* The kernel copies the echo from skb data that starts at or near a page boundary. When the
 * destination sits at nearly the same page offset (as a fresh malloc'd mmap chunk does, at 16),
 * rep movsb runs several times slower on AMD Zen: measured, 33 % of all CPU went to the copy at
 * 16 KiB. Starting mid-page keeps the two apart. */
#define RBUF_PAGE_OFFSET 2048
#define CONNECT_PAUSE_NS (10 * NS_PER_MS)
#define MAX_EVENTS 512
/* Histogram: exact below 256 us, then 128 buckets per power of two: at most 0.8 % wide, and
 * reporting the middle of a bucket keeps the error under 0.4 %. Latencies up to 2^40 us. */
#define LAT_BITS 7
#define LAT_BUCKETS HIST_BUCKETS_BITS(LAT_BITS)

enum err_kind {
	ERR_CONNECT,
	ERR_RESET,
	ERR_TIMEOUT,
	ERR_SHORT,
	ERR_MISMATCH,
	ERR_OTHER,
	ERR_KINDS
};
static const char *const err_names[ERR_KINDS] = { "connect", "reset",    "timeout",
	                                          "short",   "mismatch", "other" };

enum conn_state { CONN_IDLE, CONN_WRITING, CONN_READING };
enum echo_status { ECHO_MORE, ECHO_DONE, ECHO_FAILED };

/* Intrusive list: a slot is always in at most one of its loader's lists. */
struct link {
	struct link *prev, *next;
};

struct conn {
	struct link link;
	int fd;
	enum conn_state state;
	bool established; /* a send succeeded on this socket */
	bool peer_closed; /* EPOLLRDHUP seen: the peer's FIN is queued behind its data */
	bool send_queued; /* on the loader's sendq until the end of this pass */
	const unsigned char *payload;
	size_t woff, roff;
	uint64_t origin; /* latency counts from here: the start, or the scheduled start */
	uint64_t due;    /* in flight: the deadline; paused: when to retry */
};

/* --udp: one outstanding datagram. Slot i of a loader with n slots sends the sequence numbers
 * i, i + n, i + 2n...: an answer names its slot, and an answer to an earlier round is late. */
struct udp_slot {
	uint64_t seq;
	uint64_t sent_ns;
	bool outstanding, pending; /* sent, not answered; to be sent in this pass */
};

struct stats {
	_Atomic uint64_t ok; /* single writer; the main thread reads it for the progress line */
	uint64_t sent, lost, late; /* --udp */
	_Atomic uint64_t errors[ERR_KINDS];
	uint64_t max_us;
	uint64_t hist[LAT_BUCKETS];
};

/* One thread of the load: its share of the connections, its epoll set, its figures. ("Worker"
 * means only the server's worker processes.) */
struct loader {
	int id;
	int epfd;
	pthread_t tid;
	struct conn *conns;
	long nconns;
	/* in flight (ordered by deadline), paused after a connect error (ordered by retry time),
	 * ready to restart after another error, idle (open loop only) */
	struct link inflight, paused, ready, idle;
	uint64_t rng;
	unsigned next_src;
	/* open loop: this thread takes slots id, id + T, id + 2T... of the global schedule */
	uint64_t next_slot, next_due;
	uint64_t finished_ns;
	unsigned char *rbuf, *rbuf_block;
	int ufd; /* --udp: this loader's socket */
	struct udp_slot *uslots;
	/* Transactions begun in this pass of the event loop, sent together at its end. */
	struct conn **sendq;
	long nsendq;
	struct stats stats;
};

struct options {
	const char *target;
	long long concurrency;
	double duration;    /* seconds; 0 = no limit */
	long long requests; /* 0 = no limit */
	long long size;
	bool keepalive;
	double rate; /* per second; 0 = closed loop */
	long long threads;
	double timeout;
	long long sources;
	bool json, quiet, udp;
};

struct summary {
	uint64_t ok, errors[ERR_KINDS], max_us, hist[LAT_BUCKETS];
	uint64_t sent, lost, late; /* --udp */
	double seconds;
};

static struct options opt = {
	.target = "127.0.0.1:7777",
	.concurrency = 1,
	.size = 64,
	.threads = 1,
	.timeout = 5,
	.sources = 16,
};

/* Set before the threads start, read-only afterwards. */
static struct host_port target;
static struct sockaddr_storage dst;
static socklen_t dst_len;
static bool spread_sources;
static unsigned char *pool;
static uint64_t start_ns, end_ns, timeout_ns;
static int signal_pipe[2] = { -1, -1 }; /* signal handler and finished loaders -> main thread */
static int wake_fd = -1;                /* main thread -> every loader's epoll set */

/* 1: start nothing new, let what is in flight finish; 2: abandon what is in flight. */
static atomic_int stop_level;
/* With --requests: transactions not yet claimed by any thread. */
static _Atomic long long budget;
/* A thread's epoll_wait failed: its share of the run ended early, so the figures are short. */
static atomic_bool run_failed;

/* ---- small helpers ---- */

static uint64_t next_random(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void bump(_Atomic uint64_t *n)
{
	atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
}

static void init_list(struct link *l)
{
	l->prev = l->next = l;
}

static bool is_empty(const struct link *l)
{
	return l->next == l;
}

static void append_conn(struct link *l, struct conn *c)
{
	c->link.prev = l->prev;
	c->link.next = l;
	l->prev->next = &c->link;
	l->prev = &c->link;
}

/* Safe on a slot in no list: an unlinked slot points at itself. */
static void unlink_conn(struct conn *c)
{
	c->link.prev->next = c->link.next;
	c->link.next->prev = c->link.prev;
	init_list(&c->link);
}

static struct conn *first_conn(const struct link *l)
{
	return is_empty(l) ? NULL : (struct conn *)((char *)l->next - offsetof(struct conn, link));
}

/* Moves every slot of from into to (empty), so that slots re-queued meanwhile wait a turn. */
static void take_list(struct link *to, struct link *from)
{
	init_list(to);
	if (is_empty(from))
		return;
	to->next = from->next;
	to->prev = from->prev;
	to->next->prev = to;
	to->prev->next = to;
	init_list(from);
}

/* ---- latency histogram ---- */

static void record_latency(struct stats *s, uint64_t ns)
{
	uint64_t us = ns / 1000;

	s->hist[hist_bucket_bits(us, LAT_BITS)]++;
	if (us > s->max_us)
		s->max_us = us;
}

/* The smallest latency that at least q of the transactions did not exceed: the middle of its
 * bucket, never above the largest latency seen. */
static uint64_t latency_at(const struct summary *s, double q)
{
	int b = hist_quantile_bucket_bits(s->hist, LAT_BITS, q);
	uint64_t mid;

	if (b < 0)
		return 0;
	mid = hist_bucket_mid_bits((unsigned)b, LAT_BITS);
	return mid < s->max_us ? mid : s->max_us;
}

/* ---- one transaction ---- */

static enum err_kind classify_errno(int e, bool established)
{
	switch (e) {
	case ECONNRESET:
	case EPIPE:
		return established ? ERR_RESET : ERR_CONNECT;
	case ETIMEDOUT:
		return established ? ERR_TIMEOUT : ERR_CONNECT;
	case ENOTCONN: /* shutdown() after the peer's RST has closed the socket */
		return established ? ERR_RESET : ERR_CONNECT;
	case ECONNREFUSED:
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
	case EADDRNOTAVAIL: /* no source port left */
		return ERR_CONNECT;
	default:
		return ERR_OTHER;
	}
}

static void close_connection(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	c->established = false;
}

/* Counts the error and frees the slot. A slot that never got connected pauses before it tries
 * again, so a refused port or a full fd table costs no busy loop. */
static void fail_transaction(struct loader *ld, struct conn *c, enum err_kind kind)
{
	bool pause = kind == ERR_CONNECT || !c->established;

	bump(&ld->stats.errors[kind]);
	unlink_conn(c);
	close_connection(c);
	c->state = CONN_IDLE;
	if (opt.rate > 0) {
		append_conn(&ld->idle, c); /* the schedule paces it */
	} else if (pause) {
		c->due = clock_now_ns() + CONNECT_PAUSE_NS;
		append_conn(&ld->paused, c);
	} else {
		append_conn(&ld->ready, c);
	}
}

/* Slot k is due k / rate seconds after the start: computed afresh, not summed, so that rounding
 * never adds a slot to a run (3000/s for 1 s is 3000 slots, whatever the thread count). */
static void advance_schedule(struct loader *ld)
{
	ld->next_slot += (uint64_t)opt.threads;
	ld->next_due = start_ns + (uint64_t)((double)ld->next_slot * (double)NS_PER_SEC / opt.rate);
}

static bool may_start_more(const struct loader *ld, uint64_t now)
{
	if (atomic_load_explicit(&stop_level, memory_order_relaxed) > 0)
		return false;
	if (opt.requests > 0 && atomic_load_explicit(&budget, memory_order_relaxed) <= 0)
		return false;
	if (opt.rate > 0)
		return ld->next_due < end_ns;
	return now < end_ns;
}

static bool claim_budget(void)
{
	return opt.requests == 0 || atomic_fetch_sub_explicit(&budget, 1, memory_order_relaxed) > 0;
}

static int bind_source(struct loader *ld, int fd)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	int one = 1;

	src.sin_addr.s_addr = htonl(0x7f000001u + ld->next_src);
	ld->next_src = (ld->next_src + 1) % (unsigned)opt.sources;
	/* Defer the port choice to connect(), which may then reuse a port for another 4-tuple;
	 * bind() alone would reserve a port per source address and run out as fast. */
	if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) < 0)
		return -1;
	return bind(fd, (struct sockaddr *)&src, sizeof src);
}

static int open_connection(struct loader *ld, struct conn *c)
{
	/* Edge-triggered, registered once for the socket's life: no epoll_ctl per phase. */
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		                  .data.ptr = c };
	int one = 1;
	int fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		fail_transaction(ld, c, classify_errno(errno, false));
		return -1;
	}
	c->fd = fd;
	c->established = false;
	/* Keep-alive waits for each reply, so Nagle's algorithm could only delay a request. */
	if (opt.keepalive && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
		fail_transaction(ld, c, ERR_OTHER);
		return -1;
	}
	if (spread_sources && bind_source(ld, fd) < 0) {
		fail_transaction(ld, c, classify_errno(errno, false));
		return -1;
	}
	if (epoll_ctl(ld->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		fail_transaction(ld, c, ERR_OTHER);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&dst, dst_len) < 0 && errno != EINPROGRESS) {
		fail_transaction(ld, c, classify_errno(errno, false));
		return -1;
	}
	return 0;
}

/* Reads what has arrived and checks it against what was sent: a byte that differs, or one more
 * than was sent, is a mismatch. */
static enum echo_status read_echo(struct loader *ld, struct conn *c)
{
	/* Observed before the reads below: a FIN that was queued then sits behind all data. */
	bool fin_seen = c->peer_closed;
	bool complete;

	for (;;) {
		ssize_t n = recv(c->fd, ld->rbuf, RBUF_LEN, 0);

		if (n > 0) {
			if ((size_t)n > c->woff - c->roff ||
			    memcmp(ld->rbuf, c->payload + c->roff, (size_t)n) != 0) {
				fail_transaction(ld, c, ERR_MISMATCH);
				return ECHO_FAILED;
			}
			c->roff += (size_t)n;
			complete = c->state == CONN_READING && c->roff == (size_t)opt.size;
			if (complete && opt.keepalive)
				return ECHO_DONE;
			if ((size_t)n == RBUF_LEN)
				continue;
			/* A short read emptied the queue: the next arrival raises a new edge, so
			 * another recv now would only return EAGAIN. If the FIN was already
			 * queued, that empty queue is the end of the stream: a complete echo,
			 * or a short one that the next recv reports (no edge would come). */
			if (fin_seen && !complete)
				continue;
			return complete && fin_seen ? ECHO_DONE : ECHO_MORE;
		}
		if (n == 0) {
			if (!opt.keepalive && c->state == CONN_READING &&
			    c->roff == (size_t)opt.size)
				return ECHO_DONE;
			fail_transaction(ld, c, ERR_SHORT);
			return ECHO_FAILED;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return ECHO_MORE;
		fail_transaction(ld, c, classify_errno(errno, true));
		return ECHO_FAILED;
	}
}

static enum echo_status send_payload(struct loader *ld, struct conn *c)
{
	size_t size = (size_t)opt.size;

	/* Until a send succeeds the connect may still be under way; a send of zero bytes still
	 * tells, so an empty payload never half-closes a socket that is not connected yet. */
	while (c->woff < size || !c->established) {
		ssize_t n = send(c->fd, c->payload + c->woff, size - c->woff, MSG_NOSIGNAL);

		if (n >= 0) {
			c->established = true;
			c->woff += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			fail_transaction(ld, c, classify_errno(errno, c->established));
			return ECHO_FAILED;
		}
		/* The server echoes as it reads: a large payload stalls both sides unless the
		 * echo is drained while the send buffer is full. */
		if (c->established && read_echo(ld, c) == ECHO_FAILED)
			return ECHO_FAILED;
		return ECHO_MORE;
	}
	if (!opt.keepalive && shutdown(c->fd, SHUT_WR) < 0) {
		fail_transaction(ld, c, classify_errno(errno, true));
		return ECHO_FAILED;
	}
	c->state = CONN_READING;
	return ECHO_MORE;
}

static void begin_transaction(struct loader *ld, struct conn *c, uint64_t origin)
{
	c->payload = pool + (next_random(&ld->rng) & (POOL_SPREAD - 1));
	c->woff = c->roff = 0;
	c->peer_closed = false;
	c->origin = origin;
	/* Origins only grow within a thread, so the in-flight list stays ordered by deadline. */
	c->due = origin + timeout_ns;
	c->state = CONN_WRITING;
	append_conn(&ld->inflight, c);
	if (c->fd < 0 && open_connection(ld, c) < 0)
		return;
	/* On loopback the handshake is usually complete when connect() returns, so the send
	 * need not wait for an epoll round; it waits only for the end of this pass, so that
	 * the requests begun in one pass reach the server back to back and a prefork
	 * server's workers find them queued instead of being woken one request at a time
	 * (measured against a 2-worker preforkd: 0.3 context switches per transaction in the
	 * server instead of 1.0). */
	if (!c->send_queued) {
		c->send_queued = true;
		ld->sendq[ld->nsendq++] = c;
	}
}

static void flush_sends(struct loader *ld)
{
	for (long i = 0; i < ld->nsendq; i++) {
		struct conn *c = ld->sendq[i];

		c->send_queued = false;
		/* An event in the same pass may have sent already, or failed the transaction. */
		if (c->state == CONN_WRITING && c->woff == 0 && c->fd >= 0)
			send_payload(ld, c);
	}
	ld->nsendq = 0;
}

/* A slot freed by success: closed loop starts the next transaction on it at once. */
static void reuse_slot(struct loader *ld, struct conn *c, uint64_t now)
{
	if (opt.rate > 0) {
		append_conn(&ld->idle, c);
		return;
	}
	if (may_start_more(ld, now) && claim_budget()) {
		begin_transaction(ld, c, now);
		return;
	}
	close_connection(c);
}

static void finish_transaction(struct loader *ld, struct conn *c)
{
	uint64_t now = clock_now_ns();

	record_latency(&ld->stats, now - c->origin);
	bump(&ld->stats.ok);
	unlink_conn(c);
	c->state = CONN_IDLE;
	/* A keep-alive server may close after a reply: reconnect rather than send into it. */
	if (!opt.keepalive || c->peer_closed)
		close_connection(c);
	reuse_slot(ld, c, now);
}

/* An idle keep-alive connection (open loop) should hear nothing: bytes are a mismatch, and a
 * close is the server's right; the next transaction reconnects. */
static void check_idle_connection(struct loader *ld, struct conn *c)
{
	ssize_t n = recv(c->fd, ld->rbuf, RBUF_LEN, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		bump(&ld->stats.errors[ERR_MISMATCH]);
	close_connection(c);
}

static void handle_event(struct loader *ld, struct conn *c, uint32_t events)
{
	bool readable = events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);

	if (events & (EPOLLRDHUP | EPOLLHUP))
		c->peer_closed = true;
	switch (c->state) {
	case CONN_WRITING:
		if (readable && c->established && read_echo(ld, c) == ECHO_FAILED)
			return;
		send_payload(ld, c);
		return;
	case CONN_READING:
		if (readable && read_echo(ld, c) == ECHO_DONE)
			finish_transaction(ld, c);
		return;
	case CONN_IDLE:
		if (readable && c->fd >= 0)
			check_idle_connection(ld, c);
		return;
	}
}

/* ---- the thread loop ---- */

static void expire_transactions(struct loader *ld, uint64_t now)
{
	struct conn *c;

	while ((c = first_conn(&ld->inflight)) && c->due <= now)
		fail_transaction(ld, c, ERR_TIMEOUT);
}

static void restart_ready(struct loader *ld, uint64_t now)
{
	struct link batch;
	struct conn *c;

	take_list(&batch, &ld->ready);
	while ((c = first_conn(&batch))) {
		unlink_conn(c);
		if (may_start_more(ld, now) && claim_budget())
			begin_transaction(ld, c, now);
	}
}

static void resume_paused(struct loader *ld, uint64_t now)
{
	struct conn *c;

	/* A slot that fails again is re-queued with a later time, behind the ones due now. */
	while ((c = first_conn(&ld->paused)) && c->due <= now) {
		unlink_conn(c);
		if (may_start_more(ld, now) && claim_budget())
			begin_transaction(ld, c, now);
	}
}

/* Open loop: every schedule slot that is due takes an idle connection. A slot that finds none
 * waits (the backlog); one that waited past its timeout counts as a timeout without being sent,
 * so a stalled server cannot hide a stall by making the schedule wait. */
static void run_schedule(struct loader *ld, uint64_t now)
{
	while (ld->next_due <= now && may_start_more(ld, now)) {
		uint64_t origin = ld->next_due;
		struct conn *c = first_conn(&ld->idle);

		if (origin + timeout_ns > now && !c)
			return;
		if (!claim_budget())
			return;
		advance_schedule(ld);
		if (origin + timeout_ns <= now) {
			bump(&ld->stats.errors[ERR_TIMEOUT]);
			continue;
		}
		unlink_conn(c);
		begin_transaction(ld, c, origin);
	}
}

static void start_slots(struct loader *ld, uint64_t now)
{
	for (long i = 0; i < ld->nconns; i++) {
		struct conn *c = &ld->conns[i];

		if (opt.rate > 0)
			append_conn(&ld->idle, c);
		else if (may_start_more(ld, now) && claim_budget())
			begin_transaction(ld, c, now);
	}
}

static bool loader_finished(const struct loader *ld, uint64_t now)
{
	if (atomic_load_explicit(&stop_level, memory_order_relaxed) >= 2)
		return true;
	if (!is_empty(&ld->inflight))
		return false;
	if (opt.rate == 0 && is_empty(&ld->ready) && is_empty(&ld->paused))
		return true;
	return !may_start_more(ld, now);
}

static uint64_t next_wake(const struct loader *ld, uint64_t now)
{
	const struct conn *c;
	uint64_t wake = UINT64_MAX;

	if ((c = first_conn(&ld->inflight)))
		wake = c->due;
	if ((c = first_conn(&ld->paused)) && c->due < wake)
		wake = c->due;
	/* A send in flush_sends() may have failed a transaction after restart_ready() ran:
	 * that slot restarts in the next pass, not after the next event, which may never
	 * come when no other connection is open. */
	if (!is_empty(&ld->ready))
		wake = now;
	if (opt.rate > 0 && !is_empty(&ld->idle) && ld->next_due < wake && may_start_more(ld, now))
		wake = ld->next_due;
	return wake;
}

/* Waits with nanosecond precision where the kernel offers it, so that an open-loop schedule is
 * kept to the microsecond rather than rounded up to milliseconds. */
static int wait_precisely(int epfd, struct epoll_event *evs, uint64_t wake, uint64_t left)
{
#if defined(__GLIBC_PREREQ) && __GLIBC_PREREQ(2, 35)
	static atomic_bool no_pwait2; /* kernels before 5.11 */

	if (!atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
		struct timespec ts = { (time_t)(left / NS_PER_SEC), (long)(left % NS_PER_SEC) };
		int n = epoll_pwait2(epfd, evs, MAX_EVENTS, wake == UINT64_MAX ? NULL : &ts, NULL);

		if (n >= 0 || errno != ENOSYS)
			return n;
		atomic_store_explicit(&no_pwait2, true, memory_order_relaxed);
	}
#endif
	return epoll_wait(epfd, evs, MAX_EVENTS,
	                  wake == UINT64_MAX ? -1 : (int)((left + NS_PER_MS - 1) / NS_PER_MS));
}

static int wait_events(struct loader *ld, struct epoll_event *evs, uint64_t wake, uint64_t now)
{
	int n = wait_precisely(ld->epfd, evs, wake, wake > now ? wake - now : 0);

	if (n < 0 && errno == EINTR)
		return 0;
	if (n < 0)
		fprintf(stderr, "prefork-bench: epoll_wait: %s\n", strerror(errno));
	return n;
}

static void close_all(struct loader *ld)
{
	for (long i = 0; i < ld->nconns; i++)
		close_connection(&ld->conns[i]);
}

static void tell_main(char note)
{
	ssize_t r = write(signal_pipe[1], &note, 1);

	(void)r; /* a full pipe already holds enough notes to wake the main thread */
}

/* ---- --udp: datagrams ---- */

/* Where datagram seq's payload starts in the pool: fixed by seq, so an answer is checked
 * without keeping what was sent. */
static const unsigned char *udp_payload(uint64_t seq)
{
	return pool + (size_t)((seq * 0x9e3779b97f4a7c15ULL) >> 48) % POOL_SPREAD;
}

static int open_udp_socket(struct loader *ld)
{
	int fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int buf = 1 << 20;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ld };

	if (fd < 0)
		return -1;
	/* Room for every outstanding datagram's answer; the kernel caps it at rmem_max. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
	if (spread_sources) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(ld->id % opt.sources));
		if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0)
			goto fail;
	}
	/* Connected: only the target's answers arrive, and an ICMP port unreachable is
	 * reported (ECONNREFUSED). */
	if (connect(fd, (struct sockaddr *)&dst, dst_len) < 0 ||
	    epoll_ctl(ld->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		goto fail;
	ld->ufd = fd;
	return 0;
fail:
	close(fd);
	return -1;
}

static void udp_queue(struct loader *ld, struct udp_slot *u, uint64_t now)
{
	u->pending = may_start_more(ld, now) && claim_budget();
}

/* Sends the pending datagrams, UDP_BATCH at a time. A full socket buffer leaves the rest
 * pending for the next pass; a refusal (ICMP port unreachable) counts as a connect error. */
static uint64_t udp_send_pending(struct loader *ld, uint64_t now)
{
	struct mmsghdr m[UDP_BATCH];
	struct iovec iov[UDP_BATCH][2];
	long idx[UDP_BATCH] = { 0 };
	long i = 0;

	while (i < ld->nconns) {
		int n = 0, r;

		for (; i < ld->nconns && n < UDP_BATCH; i++) {
			struct udp_slot *u = &ld->uslots[i];

			if (!u->pending)
				continue;
			iov[n][0] = (struct iovec){ &u->seq, sizeof u->seq };
			iov[n][1] = (struct iovec){ (void *)udp_payload(u->seq),
				                    (size_t)opt.size - sizeof u->seq };
			memset(&m[n], 0, sizeof m[n]);
			m[n].msg_hdr.msg_iov = iov[n];
			m[n].msg_hdr.msg_iovlen = 2;
			idx[n++] = i;
		}
		if (n == 0)
			break;
		r = sendmmsg(ld->ufd, m, (unsigned)n, 0);
		if (r < 0 && errno == ECONNREFUSED) {
			bump(&ld->stats.errors[ERR_CONNECT]);
			return now + CONNECT_PAUSE_NS; /* the server's port is closed: try again */
		}
		if (r < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == EINTR))
			return now + NS_PER_MS;
		if (r < 0) {
			bump(&ld->stats.errors[ERR_OTHER]);
			return now + CONNECT_PAUSE_NS;
		}
		for (int k = 0; k < r; k++) {
			struct udp_slot *u = &ld->uslots[idx[k]];

			u->pending = false;
			u->outstanding = true;
			u->sent_ns = now;
			ld->stats.sent++;
		}
		if (r < n)
			i = idx[r]; /* the rest of this batch again */
	}
	return UINT64_MAX;
}

/* One answer: its slot's current datagram, byte for byte, or a late answer to an earlier
 * one (already counted lost), or a mismatch. */
static void udp_answer(struct loader *ld, const unsigned char *p, size_t len, uint64_t now)
{
	uint64_t seq;
	struct udp_slot *u;

	if (len < sizeof seq) {
		bump(&ld->stats.errors[ERR_MISMATCH]);
		return;
	}
	memcpy(&seq, p, sizeof seq);
	u = &ld->uslots[seq % (uint64_t)ld->nconns];
	if (!u->outstanding || seq != u->seq) {
		if (seq < u->seq || (!u->outstanding && seq == u->seq))
			ld->stats.late++;
		else
			bump(&ld->stats.errors[ERR_MISMATCH]);
		return;
	}
	u->outstanding = false;
	if (len != (size_t)opt.size ||
	    memcmp(p + sizeof seq, udp_payload(seq), len - sizeof seq) != 0) {
		bump(&ld->stats.errors[ERR_MISMATCH]);
	} else {
		record_latency(&ld->stats, now - u->sent_ns);
		bump(&ld->stats.ok);
	}
	u->seq += (uint64_t)ld->nconns;
	udp_queue(ld, u, now);
}

static void udp_receive(struct loader *ld, uint64_t now)
{
	struct mmsghdr m[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	size_t each = (size_t)opt.size + 1; /* one byte more: a longer answer shows */
	int batch = RBUF_LEN / each < UDP_BATCH ? (int)(RBUF_LEN / each) : UDP_BATCH;

	for (;;) {
		int n;

		for (int k = 0; k < batch; k++) {
			iov[k] = (struct iovec){ ld->rbuf + (size_t)k * each, each };
			memset(&m[k], 0, sizeof m[k]);
			m[k].msg_hdr.msg_iov = &iov[k];
			m[k].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(ld->ufd, m, (unsigned)batch, MSG_DONTWAIT, NULL);
		if (n < 0 && errno == ECONNREFUSED) {
			bump(&ld->stats.errors[ERR_CONNECT]);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		for (int k = 0; k < n; k++)
			udp_answer(ld, ld->rbuf + (size_t)k * each, m[k].msg_len, now);
	}
}

/* Outstanding datagrams past --timeout are lost; returns the next deadline. */
static uint64_t udp_expire(struct loader *ld, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (long i = 0; i < ld->nconns; i++) {
		struct udp_slot *u = &ld->uslots[i];

		if (!u->outstanding)
			continue;
		if (atomic_load_explicit(&stop_level, memory_order_relaxed) >= 2) {
			u->outstanding = false; /* abandoned, uncounted, as with TCP */
		} else if (now - u->sent_ns >= timeout_ns) {
			u->outstanding = false;
			ld->stats.lost++;
			u->seq += (uint64_t)ld->nconns;
			udp_queue(ld, u, now);
		} else if (u->sent_ns + timeout_ns < next) {
			next = u->sent_ns + timeout_ns;
		}
	}
	return next;
}

static bool udp_busy(const struct loader *ld)
{
	for (long i = 0; i < ld->nconns; i++)
		if (ld->uslots[i].outstanding || ld->uslots[i].pending)
			return true;
	return false;
}

static void run_udp_loader(struct loader *ld)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t now = clock_now_ns();

	ld->uslots = calloc((size_t)ld->nconns, sizeof *ld->uslots);
	ld->ufd = -1;
	if (!ld->uslots || open_udp_socket(ld) < 0) {
		fprintf(stderr, "prefork-bench: udp socket for thread %d: %s\n", ld->id,
		        strerror(errno));
		atomic_store(&run_failed, true);
		return;
	}
	for (long i = 0; i < ld->nconns; i++) {
		ld->uslots[i].seq = (uint64_t)i;
		udp_queue(ld, &ld->uslots[i], now);
	}
	for (;;) {
		uint64_t wake, expiry;

		(void)udp_expire(ld, now); /* lost ones make room for their next datagram */
		wake = udp_send_pending(ld, now);
		expiry = udp_expire(ld, now);
		if (expiry < wake)
			wake = expiry;
		if (!udp_busy(ld))
			break;
		if (wait_events(ld, evs, wake, now) < 0) {
			atomic_store(&run_failed, true);
			break;
		}
		now = clock_now_ns();
		udp_receive(ld, now);
		/* SIGINT, SIGTERM: what is pending is not sent */
		if (atomic_load_explicit(&stop_level, memory_order_relaxed) > 0)
			for (long i = 0; i < ld->nconns; i++)
				ld->uslots[i].pending = false;
	}
	close(ld->ufd);
}

static void *run_loader(void *arg)
{
	struct loader *ld = arg;
	struct epoll_event evs[MAX_EVENTS];
	uint64_t now = clock_now_ns();

	if (opt.udp) {
		run_udp_loader(ld);
		ld->finished_ns = clock_now_ns();
		tell_main('D');
		return NULL;
	}
	start_slots(ld, now);
	for (;;) {
		int n;

		expire_transactions(ld, now);
		restart_ready(ld, now);
		resume_paused(ld, now);
		if (opt.rate > 0)
			run_schedule(ld, now);
		flush_sends(ld);
		if (loader_finished(ld, now))
			break;
		n = wait_events(ld, evs, next_wake(ld, now), now);
		if (n < 0) {
			atomic_store(&run_failed, true);
			break;
		}
		for (int i = 0; i < n; i++)
			if (evs[i].data.ptr) /* NULL: the main thread's wake-up */
				handle_event(ld, evs[i].data.ptr, evs[i].events);
		now = clock_now_ns();
	}
	close_all(ld);
	ld->finished_ns = clock_now_ns();
	tell_main('D');
	return NULL;
}

/* ---- options ---- */

static void print_help(void)
{
	printf("Usage: prefork-bench [OPTION]...\n"
	       "Load generator for the TCP echo protocol (RFC 862). Every transaction sends a\n"
	       "payload from a random offset into a random pool (two share one with odds of\n"
	       "1 in 65536) and checks the echo byte for byte.\n"
	       "\n"
	       "  --connect HOST:PORT     server (default 127.0.0.1:7777). HOST is an IPv4\n"
	       "                          address, an IPv6 one in brackets ([::1]:7777), or a\n"
	       "                          name: its first IPv4 address is used, else its first\n"
	       "                          IPv6 one\n"
	       "  -c, --concurrency N     connections in flight at once, 1..100000 (default 1)\n"
	       "  -d, --duration SECONDS  run time, decimals allowed (default 5 unless -n)\n"
	       "  -n, --requests N        stop after N transactions, successful or not; with\n"
	       "                          -d, whichever comes first. Alone, it is still\n"
	       "                          bounded: each transaction ends by --timeout\n"
	       "  -s, --size BYTES        payload per transaction, 0..67108864 (default 64)\n"
	       "  -k, --keepalive         each connection sends the payload and reads it back,\n"
	       "                          again and again; one round trip is one transaction.\n"
	       "                          Without it: short connections, one transaction each\n"
	       "                          (connect, send, half-close, read to EOF, close)\n"
	       "  -r, --rate R            open loop: start R transactions per second in all,\n"
	       "                          on a fixed schedule whatever the server does.\n"
	       "                          Latency counts from the scheduled start, so a\n"
	       "                          stalling server cannot hide its stalls; when every\n"
	       "                          connection is busy the schedule runs on and the\n"
	       "                          backlog starts as soon as a connection is free.\n"
	       "                          Without it: closed loop, each connection starts its\n"
	       "                          next transaction when the last one ends\n"
	       "  -t, --threads T         threads, each with its own epoll set and an even\n"
	       "                          share of the connections and of --rate, 1..256, at\n"
	       "                          most one per connection (default 1)\n"
	       "      --timeout SECONDS   limit per transaction (default 5). With --rate it\n"
	       "                          counts from the scheduled start, and a backlogged\n"
	       "                          transaction that could not start in time counts as\n"
	       "                          a timeout without being sent\n"
	       "      --sources N         for an IPv4 loopback target, spread source addresses\n"
	       "                          over 127.0.0.1..127.0.0.N, 1..254 (default 16): one\n"
	       "                          address runs out of ephemeral ports under short\n"
	       "                          connections. Ignored for other targets\n"
	       "      --udp               datagrams to a udp: listener instead of TCP: each\n"
	       "                          connection is one datagram outstanding, sent on the\n"
	       "                          thread's own socket (with --sources, each thread\n"
	       "                          its own source address). A datagram carries an\n"
	       "                          8-byte sequence number then the payload (--size\n"
	       "                          8..65507 in all); its answer must match byte for\n"
	       "                          byte. One with no answer within --timeout is lost:\n"
	       "                          counted, and the slot sends the next. Not with\n"
	       "                          --keepalive or --rate\n"
	       "      --json              print one JSON object on stdout instead of the table\n"
	       "  -q, --quiet             no progress line\n"
	       "  -h, --help              show this help and exit\n"
	       "  -v, --version           show the version and exit\n"
	       "\n"
	       "Errors are counted by kind: connect (refused, unreachable, no source port\n"
	       "left), reset, timeout, short (EOF before the whole echo), mismatch (a byte\n"
	       "differs, or more bytes came back than were sent: never a success; with\n"
	       "--keepalive, bytes that trail a complete echo are caught by the next round\n"
	       "trip on that connection), other.\n"
	       "After an error the connection starts a new transaction: at once when it had\n"
	       "been established, 10 ms later when it never was (a refused or failed\n"
	       "connect), so a closed port costs no busy loop. With --rate the schedule\n"
	       "decides when it starts.\n"
	       "\n"
	       "At the end of the duration or count nothing new starts, and transactions in\n"
	       "flight get at most --timeout to finish, then count as timeouts. SIGINT or\n"
	       "SIGTERM ends the run early the same way; a second one abandons what is in\n"
	       "flight, uncounted. The summary is printed in every case. Each second a\n"
	       "progress line goes to stderr when it is a terminal (not with --quiet or\n"
	       "--json).\n"
	       "\n"
	       "JSON keys: ok, errors.{connect,reset,timeout,short,mismatch,other},\n"
	       "duration_s, tps, latency_us.{p50,p90,p99,p999,max} (histogram, within 0.4 %%),\n"
	       "concurrency, threads, size, keepalive, rate (null in closed loop); with --udp\n"
	       "also udp (true), sent, lost, late (answers that came after their datagram was\n"
	       "counted lost), loss (lost / sent).\n"
	       "\n"
	       "Exit status: 0 the run completed, even with connect, reset or timeout errors;\n"
	       "1 a mismatch was seen; 2 bad usage, an unresolvable address, a failure to\n"
	       "start, or a run that broke off (epoll_wait failed).\n");
}

enum { OPT_CONNECT = 256, OPT_TIMEOUT, OPT_SOURCES, OPT_JSON, OPT_VERSION, OPT_UDP };

static const struct option long_options[] = {
	{ "connect", required_argument, NULL, OPT_CONNECT },
	{ "concurrency", required_argument, NULL, 'c' },
	{ "duration", required_argument, NULL, 'd' },
	{ "requests", required_argument, NULL, 'n' },
	{ "size", required_argument, NULL, 's' },
	{ "keepalive", no_argument, NULL, 'k' },
	{ "rate", required_argument, NULL, 'r' },
	{ "threads", required_argument, NULL, 't' },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "sources", required_argument, NULL, OPT_SOURCES },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "udp", no_argument, NULL, OPT_UDP },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* Names an option the way --help does, whichever spelling was used. */
static const char *name_option(int val)
{
	static char name[32];

	for (const struct option *o = long_options; o->name; o++)
		if (o->val == val) {
			snprintf(name, sizeof name, "--%s", o->name);
			return name;
		}
	return NULL;
}

/* Prints the one-line complaint about the command line; returns -1. */
__attribute__((format(printf, 1, 2))) static int complain(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "prefork-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int parse_integer(int val, const char *text, long long min, long long max, long long *out)
{
	char err[256];

	if (parse_llong(name_option(val), text, min, max, out, err, sizeof err) < 0)
		return complain("%s", err);
	return 0;
}

static int parse_number(int val, const char *text, double min, double max, double *out)
{
	char err[256];

	if (parse_decimal(name_option(val), text, min, max, out, err, sizeof err) < 0)
		return complain("%s", err);
	return 0;
}

static int split_target(const char *text)
{
	char err[ADDR_TEXT_MAX + 128];

	if (addr_split_peer(text, &target, err, sizeof err) < 0)
		return complain("--connect: %s", err);
	return 0;
}

static int complain_getopt(int c, char **argv)
{
	char name[64];

	if (c == ':')
		return complain("%s: missing value", name_option(optopt));
	/* a known option can only be refused when it was given a value it does not take */
	if (optopt != 0 && name_option(optopt))
		return complain("%s: takes no value", name_option(optopt));
	return complain("unknown option '%s' (see --help)",
	                parse_bad_option(argv, long_options, name, sizeof name));
}

static int apply_option(int c, const char *arg)
{
	switch (c) {
	case OPT_CONNECT:
		opt.target = arg;
		return split_target(arg);
	case 'c':
		return parse_integer(c, arg, 1, MAX_CONCURRENCY, &opt.concurrency);
	case 'd':
		return parse_number(c, arg, 0.001, 1e6, &opt.duration);
	case 'n':
		return parse_integer(c, arg, 1, 1000000000000LL, &opt.requests);
	case 's':
		return parse_integer(c, arg, 0, MAX_SIZE, &opt.size);
	case 'k':
		opt.keepalive = true;
		return 0;
	case 'r':
		return parse_number(c, arg, 0.001, 1e7, &opt.rate);
	case 't':
		return parse_integer(c, arg, 1, MAX_THREADS, &opt.threads);
	case OPT_TIMEOUT:
		return parse_number(c, arg, 0.001, 3600, &opt.timeout);
	case OPT_SOURCES:
		return parse_integer(c, arg, 1, 254, &opt.sources);
	case OPT_JSON:
		opt.json = true;
		return 0;
	case OPT_UDP:
		opt.udp = true;
		return 0;
	case 'q':
		opt.quiet = true;
		return 0;
	}
	return -1;
}

/* Returns -1 to run, else the exit status (0 after --help or --version, 2 on bad usage). */
static int parse_options(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:d:n:s:kr:t:qhv", long_options, NULL)) != -1) {
		if (c == 'h') {
			print_help();
			return 0;
		}
		if (c == OPT_VERSION || c == 'v') {
			printf("prefork-bench %s\n", PREFORKD_VERSION);
			return 0;
		}
		if (c == '?' || c == ':') {
			complain_getopt(c, argv);
			return 2;
		}
		if (apply_option(c, optarg) < 0)
			return 2;
	}
	if (optind < argc) {
		complain("unexpected argument '%s' (see --help)", argv[optind]);
		return 2;
	}
	if (target.host[0] == '\0' && split_target(opt.target) < 0)
		return 2;
	/* an empty round trip exchanges nothing, so nothing would ever complete it */
	if (opt.keepalive && opt.size == 0) {
		complain("--size: 0 needs short connections, not --keepalive");
		return 2;
	}
	if (opt.udp && (opt.keepalive || opt.rate > 0)) {
		complain("--udp: %s applies to TCP only", opt.keepalive ? "--keepalive" : "--rate");
		return 2;
	}
	if (opt.udp && (opt.size < UDP_MIN_SIZE || opt.size > UDP_MAX_SIZE)) {
		complain("--size: with --udp, %d..%d (a datagram opens with its sequence number)",
		         UDP_MIN_SIZE, UDP_MAX_SIZE);
		return 2;
	}
	if (opt.duration == 0 && opt.requests == 0)
		opt.duration = 5;
	if (opt.threads > opt.concurrency)
		opt.threads = opt.concurrency;
	return -1;
}

/* ---- set-up ---- */

static int resolve_target(void)
{
	char err[ADDR_TEXT_MAX + 128];

	if (addr_resolve_prefer(&target, 0, AF_INET, &dst, &dst_len, err, sizeof err) < 0)
		return complain("--connect: %s", err);
	if (dst.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&dst;

		spread_sources = opt.sources > 1 && (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	return 0;
}

/* One socket per connection, plus a few for epoll sets and pipes. */
static int raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)opt.concurrency + (rlim_t)opt.threads + 32;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		fprintf(stderr,
		        "prefork-bench: --concurrency %lld needs %llu open files; the hard limit "
		        "is %llu (ulimit -n)\n",
		        opt.concurrency, (unsigned long long)need, (unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr, "prefork-bench: setrlimit: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int fill_pool(void)
{
	size_t len = (size_t)opt.size + POOL_SPREAD;
	uint64_t s = (clock_now_ns() ^ ((uint64_t)getpid() << 40)) | 1;

	pool = malloc(len + sizeof s);
	if (!pool) {
		fprintf(stderr, "prefork-bench: cannot allocate %zu bytes of payload\n", len);
		return -1;
	}
	for (size_t i = 0; i < len; i += sizeof s) {
		uint64_t r = next_random(&s);

		memcpy(pool + i, &r, sizeof r);
	}
	return 0;
}

static void note_signal(int sig)
{
	int saved = errno;

	(void)sig;
	tell_main('I');
	errno = saved;
}

static int setup_signals(void)
{
	struct sigaction sa = { .sa_handler = note_signal };

	if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		fprintf(stderr, "prefork-bench: pipe2: %s\n", strerror(errno));
		return -1;
	}
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake_fd < 0) {
		fprintf(stderr, "prefork-bench: eventfd: %s\n", strerror(errno));
		return -1;
	}
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	(void)signal(SIGPIPE, SIG_IGN); /* cannot fail for SIGPIPE */
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) {
		fprintf(stderr, "prefork-bench: sigaction: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static struct loader *make_loader(int id, long first_conn_index)
{
	struct loader *ld = calloc(1, sizeof *ld);
	/* The wake-up is edge-triggered and never read: each write raises one more edge. */
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.ptr = NULL };

	if (!ld)
		return NULL;
	ld->id = id;
	ld->nconns = (long)(opt.concurrency / opt.threads + (id < opt.concurrency % opt.threads));
	ld->conns = calloc((size_t)ld->nconns, sizeof *ld->conns);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers. */
	ld->sendq = calloc((size_t)ld->nconns, sizeof *ld->sendq);
	ld->rbuf_block = aligned_alloc(4096, RBUF_LEN + 4096);
	ld->rbuf = ld->rbuf_block ? ld->rbuf_block + RBUF_PAGE_OFFSET : NULL;
	ld->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!ld->conns || !ld->sendq || !ld->rbuf || ld->epfd < 0 ||
	    epoll_ctl(ld->epfd, EPOLL_CTL_ADD, wake_fd, &ev) < 0) {
		free(ld->conns);
		free(ld->sendq);
		free(ld->rbuf_block);
		free(ld);
		return NULL; /* start-up fails: the epoll fd goes with the process */
	}
	init_list(&ld->inflight);
	init_list(&ld->paused);
	init_list(&ld->ready);
	init_list(&ld->idle);
	for (long i = 0; i < ld->nconns; i++) {
		ld->conns[i].fd = -1;
		init_list(&ld->conns[i].link);
	}
	ld->rng = (start_ns ^ ((uint64_t)(id + 1) * 0x9e3779b97f4a7c15ULL)) | 1;
	ld->next_src = (unsigned)(first_conn_index % opt.sources);
	if (opt.rate > 0) {
		ld->next_slot = (uint64_t)id;
		ld->next_due = start_ns + (uint64_t)((double)id * (double)NS_PER_SEC / opt.rate);
	}
	return ld;
}

static int start_loaders(struct loader **loaders)
{
	sigset_t block, old;
	long given = 0;

	/* Signals go to the main thread only: the loaders never see EINTR from them. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	(void)pthread_sigmask(SIG_BLOCK, &block, &old); /* fails only for a bad "how" */
	start_ns = clock_now_ns();
	end_ns = opt.duration > 0 ? start_ns + seconds_to_ns(opt.duration) : UINT64_MAX;
	for (int i = 0; i < opt.threads; i++) {
		loaders[i] = make_loader(i, given);
		if (!loaders[i]) {
			fprintf(stderr, "prefork-bench: cannot set up thread %d: %s\n", i,
			        strerror(errno));
			return -1;
		}
		given += loaders[i]->nconns;
		errno = pthread_create(&loaders[i]->tid, NULL, run_loader, loaders[i]);
		if (errno != 0) {
			fprintf(stderr, "prefork-bench: pthread_create: %s\n", strerror(errno));
			return -1;
		}
	}
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/* ---- the main thread: signals, progress, report ---- */

static void stop_loaders(void)
{
	uint64_t one = 1;
	ssize_t r;

	if (atomic_load(&stop_level) < 2)
		atomic_fetch_add(&stop_level, 1);
	r = write(wake_fd, &one, sizeof one);
	(void)r; /* the eventfd counter cannot overflow in any run */
}

/* Reads the notes in the pipe; returns how many loaders have finished. */
static int read_notes(void)
{
	char notes[64];
	ssize_t n;
	int finished = 0;

	while ((n = read(signal_pipe[0], notes, sizeof notes)) > 0)
		for (ssize_t i = 0; i < n; i++) {
			if (notes[i] == 'D')
				finished++;
			else
				stop_loaders();
		}
	return finished;
}

static void print_progress(struct loader **loaders, uint64_t now, uint64_t *last_ok)
{
	uint64_t ok = 0, errors = 0;

	for (int i = 0; i < opt.threads; i++) {
		ok += atomic_load_explicit(&loaders[i]->stats.ok, memory_order_relaxed);
		for (int e = 0; e < ERR_KINDS; e++)
			errors += atomic_load_explicit(&loaders[i]->stats.errors[e],
			                               memory_order_relaxed);
	}
	fprintf(stderr, "\r%7.1f s  %llu ok  %llu/s  %llu errors   ",
	        (double)(now - start_ns) / (double)NS_PER_SEC, (unsigned long long)ok,
	        (unsigned long long)(ok - *last_ok), (unsigned long long)errors);
	*last_ok = ok;
}

static void watch_loaders(struct loader **loaders)
{
	bool progress = !opt.quiet && !opt.json && isatty(STDERR_FILENO);
	uint64_t next_tick = start_ns + NS_PER_SEC, last_ok = 0;
	bool printed = false;
	int finished = 0;

	while (finished < opt.threads) {
		struct pollfd p = { .fd = signal_pipe[0], .events = POLLIN };
		uint64_t now = clock_now_ns();
		int timeout = -1;

		if (progress)
			timeout = next_tick > now ? (int)((next_tick - now) / NS_PER_MS) + 1 : 0;
		if (poll(&p, 1, timeout) > 0)
			finished += read_notes();
		now = clock_now_ns();
		if (progress && now >= next_tick) {
			print_progress(loaders, now, &last_ok);
			printed = true;
			next_tick += NS_PER_SEC;
		}
	}
	if (printed)
		fputc('\n', stderr);
}

static void merge_results(struct loader **loaders, struct summary *s)
{
	uint64_t last = start_ns;

	memset(s, 0, sizeof *s);
	for (int i = 0; i < opt.threads; i++) {
		struct stats *st = &loaders[i]->stats;

		(void)pthread_join(loaders[i]->tid, NULL); /* fails only for a bad thread */
		s->ok += atomic_load(&st->ok);
		s->sent += st->sent;
		s->lost += st->lost;
		s->late += st->late;
		for (int e = 0; e < ERR_KINDS; e++)
			s->errors[e] += atomic_load(&st->errors[e]);
		for (unsigned b = 0; b < LAT_BUCKETS; b++)
			s->hist[b] += st->hist[b];
		if (st->max_us > s->max_us)
			s->max_us = st->max_us;
		if (loaders[i]->finished_ns > last)
			last = loaders[i]->finished_ns;
	}
	/* An open-loop run lasts its whole schedule even when the last transaction ends early,
	 * or a run at 200/s for 1 s would report 201/s. */
	if (opt.rate > 0 && last < end_ns && end_ns != UINT64_MAX &&
	    atomic_load(&stop_level) == 0 && (opt.requests == 0 || atomic_load(&budget) > 0))
		last = end_ns;
	s->seconds = (double)(last - start_ns) / (double)NS_PER_SEC;
}

static double tps_of(const struct summary *s)
{
	return s->seconds > 0 ? (double)s->ok / s->seconds : 0;
}

/* --udp: the share of the datagrams sent that had no answer within --timeout. */
static double loss_of(const struct summary *s)
{
	return s->sent > 0 ? (double)s->lost / (double)s->sent : 0;
}

static void print_json(const struct summary *s)
{
	printf("{\"ok\":%llu,\"errors\":{", (unsigned long long)s->ok);
	for (int e = 0; e < ERR_KINDS; e++)
		printf("%s\"%s\":%llu", e ? "," : "", err_names[e],
		       (unsigned long long)s->errors[e]);
	printf("},\"duration_s\":%.6f,\"tps\":%.1f,\"latency_us\":{\"p50\":%llu,\"p90\":%llu,"
	       "\"p99\":%llu,\"p999\":%llu,\"max\":%llu},\"concurrency\":%lld,\"threads\":%lld,"
	       "\"size\":%lld,\"keepalive\":%s,\"rate\":",
	       s->seconds, tps_of(s), (unsigned long long)latency_at(s, 0.50),
	       (unsigned long long)latency_at(s, 0.90), (unsigned long long)latency_at(s, 0.99),
	       (unsigned long long)latency_at(s, 0.999), (unsigned long long)s->max_us,
	       opt.concurrency, opt.threads, opt.size, opt.keepalive ? "true" : "false");
	if (opt.rate > 0)
		printf("%.15g", opt.rate);
	else
		printf("null");
	if (opt.udp)
		printf(",\"udp\":true,\"sent\":%llu,\"lost\":%llu,\"late\":%llu,\"loss\":%.6f",
		       (unsigned long long)s->sent, (unsigned long long)s->lost,
		       (unsigned long long)s->late, loss_of(s));
	printf("}\n");
}

static void print_table(const struct summary *s)
{
	printf("target        %s, %s, %lld B, concurrency %lld, %lld thread%s, ", opt.target,
	       opt.udp         ? "udp datagrams"
	       : opt.keepalive ? "keep-alive"
	                       : "short connections",
	       opt.size, opt.concurrency, opt.threads, opt.threads > 1 ? "s" : "");
	if (opt.rate > 0)
		printf("open loop at %.15g/s\n", opt.rate);
	else
		printf("closed loop\n");
	printf("duration      %.3f s\n", s->seconds);
	printf("transactions  %llu ok, %.1f/s\n", (unsigned long long)s->ok, tps_of(s));
	if (opt.udp)
		printf("datagrams     %llu sent, %llu lost (%.3f %%), %llu late answers\n",
		       (unsigned long long)s->sent, (unsigned long long)s->lost, 100 * loss_of(s),
		       (unsigned long long)s->late);
	printf("latency (us)  p50 %llu  p90 %llu  p99 %llu  p99.9 %llu  max %llu\n",
	       (unsigned long long)latency_at(s, 0.50), (unsigned long long)latency_at(s, 0.90),
	       (unsigned long long)latency_at(s, 0.99), (unsigned long long)latency_at(s, 0.999),
	       (unsigned long long)s->max_us);
	printf("errors       ");
	for (int e = 0; e < ERR_KINDS; e++)
		printf(" %s %llu", err_names[e], (unsigned long long)s->errors[e]);
	printf("\n");
}

/* Nothing needs it at exit, but LeakSanitizer builds count what is not freed. */
static void free_loaders(struct loader **loaders)
{
	for (int i = 0; i < opt.threads; i++) {
		if (!loaders[i])
			continue;
		close(loaders[i]->epfd);
		free(loaders[i]->conns);
		free(loaders[i]->sendq);
		free(loaders[i]->uslots);
		free(loaders[i]->rbuf_block);
		free(loaders[i]);
	}
	free(loaders);
	free(pool);
}

int main(int argc, char **argv)
{
	static struct summary sum;      /* 35 KB of histogram */
	static struct loader **loaders; /* static: a failed start exits without freeing it */
	int rc = parse_options(argc, argv);

	if (rc >= 0)
		return rc;
	if (resolve_target() < 0 || raise_fd_limit() < 0 || fill_pool() < 0 || setup_signals() < 0)
		return 2;
	timeout_ns = seconds_to_ns(opt.timeout);
	atomic_store(&budget, opt.requests);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers. */
	loaders = calloc((size_t)opt.threads, sizeof *loaders);
	if (!loaders || start_loaders(loaders) < 0)
		return 2;
	watch_loaders(loaders);
	merge_results(loaders, &sum);
	if (opt.json)
		print_json(&sum);
	else
		print_table(&sum);
	free_loaders(loaders);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "prefork-bench: writing the results: %s\n", strerror(errno));
		return 2;
	}
	if (sum.errors[ERR_MISMATCH] > 0)
		return 1;
	if (atomic_load(&run_failed)) {
		fprintf(stderr,
		        "prefork-bench: the run broke off early; its figures are incomplete\n");
		return 2;
	}
	return 0;
}
