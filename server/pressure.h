/* Pressure on the pool: connections wait in the listener's accept queue and no
 * worker is idle. The master samples the queue (TCP_INFO), keeps the episodes and
 * picks which connections to evict; the workers read the pressure flag from the
 * scoreboard header and do the rest (worker.c).
 *
 * Rule: pure bookkeeping and one read-only getsockopt(). It reads and writes only
 * the struct pool_pressure and the candidate arrays it is handed; master.c owns
 * both and does the signalling and logging. Calls only libc. */
#ifndef PREFORKD_PRESSURE_H
#define PREFORKD_PRESSURE_H

#include "pool.h"

#include <stddef.h>
#include <stdint.h>

/* How often the master samples while every worker is busy or pressure is on. One
 * sample costs one getsockopt(TCP_INFO) and a walk of the slots (README,
 * "Pressure"); a pool with an idle worker is not sampled on a timer at all. */
#define PRESSURE_TICK_NS (100 * 1000000ULL)
/* While pressure is on, the tick is shorter: the master sees a connection's bytes
 * only at its samples and dates them there (struct progress_seen), so a worker
 * freed by an eviction and handed a trickling client is judged a sample late; a
 * short tick keeps that lag, and the wait before each eviction, small. */
#define PRESSURE_ACTIVE_TICK_NS (25 * 1000000ULL)
/* An episode ends after this long without pressure: a pool that keeps up between
 * bursts is one episode, not a log line per burst. */
#define PRESSURE_EPISODE_GAP_NS (1000000000ULL)

/* However long the queue, a connection that moved a byte within this long is never
 * dropped: above the gap of a client that is busy talking (a packet and its
 * retransmission on a fast path), and long against one tick. It bounds how fast a
 * queue behind trickling clients drains (about clients x floor / workers): 200 ms
 * keeps 16 of them before 2 workers under 2 s (README, "Pressure"). */
#define PRESSURE_IDLE_FLOOR_NS (200 * 1000000ULL)

enum pressure_event { PRESSURE_NO_CHANGE, PRESSURE_BEGAN, PRESSURE_ENDED };

/* The listener's accept queue (Linux: tcpi_unacked on a listener) and its limit
 * (tcpi_sacked: the backlog). -1 with errno when getsockopt fails. */
int pressure_read_queue(int listen_fd, uint64_t *queue, uint64_t *backlog);

/* One sample: the queue now and how many live workers are idle. Updates the
 * state, the maximum and the time under pressure; says when an episode begins or
 * ends. */
enum pressure_event pressure_update(struct pool_pressure *p, uint64_t now_ns, uint64_t queue,
                                    uint64_t backlog, int idle_workers);

/* What the master last saw of one worker's connection, to judge how long it has
 * moved no byte. The worker publishes no time for its bytes (that would cost a
 * clock read per call on the hot path): it counts them in its slot, as it always
 * did, and the master dates a change of the count at the sample that saw it. A
 * connection therefore looks at most one sample's interval LESS stalled than it
 * is, never more, so one that makes progress is never taken for stalled. Kept by
 * the master, one per slot; progress_start() when a worker is spawned. */
struct progress_seen {
	uint64_t seq;        /* the connection (conn_seq) at the last sample */
	uint64_t bytes;      /* the slot's bytes in + out at the last sample */
	uint64_t sampled_ns; /* that sample: taken after the counts were read */
	uint64_t moved_ns;   /* the connection moved its last byte at or before this */
};

/* A new worker: its slot's counts are 0 from before its fork. */
void progress_start(struct progress_seen *p, uint64_t now_ns);

/* One sample of a slot: its conn_seq, its bytes in + out (read after conn_seq),
 * the connection's start (busy_since_ns, read after conn_seq) and now_ns, read
 * after all three. Returns how long the connection has, at least, moved nothing:
 * - the count changed: a byte moved since the last sample, dated now (0);
 * - a new connection and an unchanged count: it has moved nothing since it began,
 *   or (if it began before the last sample, whose reads may have caught its
 *   first bytes) since that sample;
 * - the same connection and count: the stall goes on growing. */
uint64_t progress_see(struct progress_seen *p, uint64_t seq, uint64_t bytes, uint64_t start_ns,
                      uint64_t now_ns);

/* A busy worker's connection as the master read it from the scoreboard. */
struct evict_candidate {
	int slot;
	uint64_t seq;     /* its conn_seq */
	uint64_t bytes;   /* the slot's bytes in + out when judged (progress_seen) */
	uint64_t idle_ns; /* since its last byte either way, at least (progress_see) */
};

/* How long a busy connection may go without moving a byte, under pressure, before
 * it is dropped: --pressure-idle (idle_ns) when there are no more queued
 * connections than busy workers, else shortened in proportion (idle_ns x busy /
 * queue) so that the queue, freed a worker at a time, still drains in about
 * idle_ns; never below PRESSURE_IDLE_FLOOR_NS (nor above idle_ns). 0 stays 0. */
uint64_t pressure_idle_limit(uint64_t idle_ns, size_t busy, uint64_t queue);

/* Orders the candidates longest idle first and returns how many of the first
 * `want` have been idle at least min_idle_ns: those are the ones to evict. With
 * min_idle_ns 0 (eviction disabled) none. */
size_t pressure_pick(struct evict_candidate *c, size_t n, uint64_t min_idle_ns, size_t want);

/* How long until the next of the candidates not yet stalled for min_idle_ns would
 * be (if it moves nothing meanwhile), so that the master wakes then rather than a
 * tick later; UINT64_MAX when none is below it. */
uint64_t pressure_next_due(const struct evict_candidate *c, size_t n, uint64_t min_idle_ns);

#endif
