/* The scoreboard: shared memory with one slot per possible worker. A worker writes
 * only its own slot; the master reads every slot and folds a dead worker's counters
 * into the retired totals before the slot is reused. */
#ifndef PREFORKD_SCOREBOARD_H
#define PREFORKD_SCOREBOARD_H

#include "config.h"
#include "hist.h"

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

/* The slots live in memory shared between processes: only lock-free atomics are
 * address-free there (C11 7.17.5; a lock-based one would lock a per-process lock). */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_LONG_LOCK_FREE == 2 &&
                       ATOMIC_LLONG_LOCK_FREE == 2,
               "the scoreboard needs lock-free (process-shared) 32- and 64-bit atomics");

/* Twice the worker limit: a rolling restart starts the new generation beside the
 * old one before the old one is told to stop. */
#define SLOTS_MAX (2 * WORKERS_MAX)

/* WS_KEEPALIVE: between two requests of one connection (HTTP keep-alive), a
 * worker the master may ask to yield under pressure. */
enum worker_state { WS_EMPTY, WS_STARTING, WS_IDLE, WS_BUSY, WS_STOPPING, WS_KEEPALIVE };

enum counter {
	C_ACCEPTED,
	C_COMPLETED,
	C_BYTES_IN,
	C_BYTES_OUT,
	C_ERR_TIMEOUT,
	C_ERR_RESET,
	C_ERR_OTHER,
	C_ERR_EVICTED,   /* closed by the pressure defence (pressure.h); at accept or later */
	C_EVICTED_EARLY, /* of those, closed at accept with nothing to read */
	C_LOG_DROPPED,   /* log lines the worker dropped: the pipe to the master was full */
	/* --service http: requests, responses by status class, requests on a reused
	 * connection */
	C_HTTP_REQUESTS,
	C_HTTP_1XX,
	C_HTTP_2XX,
	C_HTTP_3XX,
	C_HTTP_4XX,
	C_HTTP_5XX,
	C_HTTP_KEEPALIVE_REUSES,
	C_HTTP_KEEPALIVE_YIELDS, /* idle keep-alive connections given up under pressure */
	/* bytes of response bodies sent (files, pages); access log lines not written */
	C_HTTP_BODY_BYTES,
	C_HTTP_ACCESS_LOG_FAILED,
	/* epoll woke this worker for a stream listener whose connection another worker
	 * took first (accept4 found EAGAIN): wake-ups per connection, with several
	 * listeners */
	C_EMPTY_WAKEUPS,
	/* udp: listeners (service_echo_dgram.c): datagrams and their bytes received
	 * and answered; those not answered, by why: a source port below 1024
	 * (udp_guard.h), the source over --udp-rate, the reply not sent (the socket's
	 * buffer full, an error), larger than the service's buffer (truncated) */
	C_DGRAM_IN,
	C_DGRAM_OUT,
	C_DGRAM_BYTES_IN,
	C_DGRAM_BYTES_OUT,
	C_DGRAM_REFUSED_PORT,
	C_DGRAM_RATE_LIMITED,
	C_DGRAM_SEND_DROPPED,
	C_DGRAM_TRUNCATED,
	C_COUNT
};

struct sb_slot {
	_Atomic int state;
	_Atomic uint64_t busy_since_ns;
	_Atomic uint64_t counters[C_COUNT];
	/* accept4() writes the peer here directly; a reader may see it torn while a
	 * connection starts, which is harmless for a status display. */
	struct sockaddr_storage peer;
	_Atomic uint64_t hist[HIST_BUCKETS];
	/* The pressure defence (pressure.h). The worker numbers its connections
	 * (conn_seq, set at accept after busy_since_ns); the master sees a connection's
	 * progress in the byte counters above, which every service adds to as bytes
	 * move (struct progress_seen). It writes the count that showed the target
	 * stalled into evict_bytes and the target's seq into evict_seq, then sends
	 * SIGUSR2; the worker drops its connection only when evict_seq is the one it
	 * serves (sb_evict_matches) and its count is still evict_bytes. */
	_Atomic uint64_t conn_seq;
	_Atomic uint64_t evict_bytes;
	_Atomic uint64_t evict_seq;
	/* Time in the accept queue, microseconds: accept against the kernel's receive
	 * timestamp of the first data (worker.c, "queue wait") */
	_Atomic uint64_t qwait_hist[HIST_BUCKETS];
	/* --service http: per request, head complete to response sent, microseconds */
	_Atomic uint64_t req_hist[HIST_BUCKETS];
	/* What the master needs to know of its worker and cannot read in its
	 * /proc/PID under the shipped unit (another uid, not dumpable, ProtectProc):
	 * published by the worker itself. activity: its operation and since when, one
	 * word (sb_set_op) so that a reader never pairs an op with another's time.
	 * rss_bytes and cpu_ns: its resident memory and CPU time (user + system),
	 * sampled together on a tick (worker.c, "samples"), sampled_ns the tick's time;
	 * 0 until the first sample. conn_in0/conn_out0: the byte counters when the
	 * current connection began, so that its own bytes are the difference. */
	_Atomic uint64_t activity;
	_Atomic uint64_t rss_bytes;
	_Atomic uint64_t cpu_ns;
	_Atomic uint64_t sampled_ns;
	_Atomic uint64_t conn_in0;
	_Atomic uint64_t conn_out0;
	/* connections accepted on each listener (its index in the listener set) */
	_Atomic uint64_t listener_accepted[LISTENERS_MAX];
} __attribute__((aligned(64)));

/* A worker's operation, for status and the hang report. WOP_READ: waiting for or
 * reading the client's bytes (a request's head, echo's data); WOP_SERVICE: the
 * service works on a request (opens a file, builds a reply); WOP_WRITE: sending,
 * or waiting for the client to take what was sent; WOP_KEEPALIVE: between two
 * requests of a connection; WOP_CLOSE: closing (http's lingering close). */
enum worker_op {
	WOP_NONE,
	WOP_ACCEPT,
	WOP_READ,
	WOP_SERVICE,
	WOP_WRITE,
	WOP_KEEPALIVE,
	WOP_CLOSE,
	WOP_STOPPING,
	WOP_COUNT
};

/* The op in the low 8 bits, its start (CLOCK_MONOTONIC, microseconds: 56 bits
 * last 2000 years) above them. One plain store: no syscall, no locked
 * instruction; the caller passes a time it has already read. */
static inline void sb_set_op(struct sb_slot *s, enum worker_op op, uint64_t since_ns)
{
	atomic_store_explicit(&s->activity, (since_ns / 1000) << 8 | (uint64_t)op,
	                      memory_order_relaxed);
}

static inline enum worker_op sb_op(uint64_t activity)
{
	unsigned op = (unsigned)(activity & 0xff);

	return op < WOP_COUNT ? (enum worker_op)op : WOP_NONE;
}

static inline uint64_t sb_op_since_ns(uint64_t activity)
{
	return (activity >> 8) * 1000;
}

const char *worker_op_name(enum worker_op op);

/* Pool-wide, next to the slots: written by the master, read by every worker with
 * a plain load (no syscall on the hot path). */
struct sb_header {
	_Atomic int pressure; /* connections wait in the queue and no worker is idle */
	/* A graceful stop: set by the master before its SIGTERMs, one bit per listener
	 * (its index in the set) whose queue a worker told to stop then empties: the
	 * ones this master owns. Never read from a listener's blocking state, which
	 * other holders share and may change; and a bit, not the worker's copy of the
	 * set, because a new master of an upgrade takes the listeners it was handed as
	 * its own only after its workers started. */
	_Atomic unsigned drain;
} __attribute__((aligned(64)));

/* Plain counters folded from workers that are gone. */
struct sb_totals {
	uint64_t counters[C_COUNT];
	uint64_t hist[HIST_BUCKETS];
	uint64_t qwait_hist[HIST_BUCKETS];
	uint64_t req_hist[HIST_BUCKETS];
	uint64_t listener_accepted[LISTENERS_MAX];
};

/* One shared mapping: the header, then SLOTS_MAX slots. */
struct sb_slot *scoreboard_create(struct sb_header **header);

/* One writer per slot, so an increment needs no locked instruction: load and store
 * are each atomic, and nobody else stores. */
static inline void sb_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
	                      memory_order_relaxed);
}

static inline uint64_t sb_get(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* A state change publishes what the worker wrote before it (busy_since_ns and the
 * peer accept4() filled in, before WS_BUSY): release here, acquire in the reader,
 * so a master that sees WS_BUSY also sees them. (A later connection may still
 * overwrite the peer while the master reads it: a torn display, never a crash.) */
static inline void sb_set_state(struct sb_slot *s, enum worker_state st)
{
	atomic_store_explicit(&s->state, st, memory_order_release);
}

static inline enum worker_state sb_state(struct sb_slot *s)
{
	return (enum worker_state)atomic_load_explicit(&s->state, memory_order_acquire);
}

/* The worker's side of an eviction: drop the connection only if the master's target
 * is the one being served now. The master may have read the slot just before the
 * worker finished that connection and took the next: then the seqs differ. Seqs
 * start at 1, so a slot never targeted (evict_seq 0) never matches. */
static inline int sb_evict_matches(uint64_t evict_seq, uint64_t conn_seq)
{
	return evict_seq != 0 && evict_seq == conn_seq;
}

/* And only if it has moved no byte since the master judged it stalled: the master
 * wrote the count it judged by (evict_bytes); the worker's own count is still that. */
/* The master marks a request to a worker between keep-alive requests (the http
 * service) as a yield: the top bit of evict_bytes (a byte count never reaches it).
 * The worker honours a yield only while it still waits between requests. */
#define SB_EVICT_YIELD (1ULL << 63)

static inline int sb_evict_wanted(uint64_t evict_seq, uint64_t conn_seq, uint64_t evict_bytes,
                                  uint64_t bytes)
{
	return sb_evict_matches(evict_seq, conn_seq) && (evict_bytes & ~SB_EVICT_YIELD) == bytes;
}

void scoreboard_reset_slot(struct sb_slot *s);
void scoreboard_fold(struct sb_totals *t, struct sb_slot *s);
void scoreboard_sum(struct sb_totals *out, const struct sb_totals *retired, struct sb_slot *slots,
                    const int *live, int nslots);

#endif
