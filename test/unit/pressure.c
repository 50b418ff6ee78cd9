/* Unit tests: the pressure bookkeeping (episodes, the sampled maximum, the time
 * under pressure), the master's view of each connection's stall, the choice of
 * connections to evict, and the worker's rule that drops a connection only when
 * the master's target is the one it serves and it has moved nothing since. */
#include "pressure.h"
#include "scoreboard.h"
#include "unit.h"

#define MS 1000000ULL

static void test_episodes(void)
{
	struct pool_pressure p = { 0 };

	CHECK(pressure_update(&p, 1000 * MS, 3, 511, 1) == PRESSURE_NO_CHANGE && !p.active,
	      "a queue with an idle worker is no pressure");
	CHECK(pressure_update(&p, 1100 * MS, 0, 511, 0) == PRESSURE_NO_CHANGE && !p.active,
	      "every worker busy with nothing queued is no pressure");
	CHECK(pressure_update(&p, 1200 * MS, 4, 511, 0) == PRESSURE_BEGAN && p.active &&
	              p.episodes == 1,
	      "a queue and no idle worker begins an episode");
	CHECK(pressure_update(&p, 1300 * MS, 7, 511, 0) == PRESSURE_NO_CHANGE && p.episodes == 1,
	      "it is said once per episode");
	CHECK(pressure_update(&p, 1400 * MS, 0, 511, 1) == PRESSURE_NO_CHANGE && !p.active &&
	              p.in_episode,
	      "the flag drops at once, the episode only after a quiet gap");
	CHECK(pressure_update(&p, 1500 * MS, 2, 511, 0) == PRESSURE_NO_CHANGE && p.episodes == 1,
	      "pressure within the gap is the same episode");
	CHECK(pressure_update(&p, 1600 * MS, 0, 511, 2) == PRESSURE_NO_CHANGE, "quiet again");
	CHECK(pressure_update(&p, 2600 * MS, 0, 511, 2) == PRESSURE_ENDED && !p.in_episode,
	      "a second without pressure ends the episode");
	CHECK(p.queue_max == 7 && p.queue == 0 && p.backlog == 511,
	      "queue now, its sampled maximum and the backlog");
	CHECK(p.total_ns == 300 * MS,
	      "time under pressure counts from each sample that found it "
	      "(%llu ms)",
	      (unsigned long long)(p.total_ns / MS));
	CHECK(pressure_update(&p, 2700 * MS, 1, 511, 0) == PRESSURE_BEGAN && p.episodes == 2,
	      "a new episode after the gap");
}

static void test_limit(void)
{
	CHECK(pressure_idle_limit(1000 * MS, 2, 1) == 1000 * MS,
	      "a short queue: --pressure-idle itself");
	CHECK(pressure_idle_limit(1000 * MS, 2, 2) == 1000 * MS,
	      "as many queued as busy: the same");
	CHECK(pressure_idle_limit(1000 * MS, 2, 4) == 500 * MS,
	      "twice as many queued: half, so the queue drains in about --pressure-idle");
	CHECK(pressure_idle_limit(1000 * MS, 2, 100) == PRESSURE_IDLE_FLOOR_NS,
	      "never below the floor");
	CHECK(pressure_idle_limit(100 * MS, 2, 100) == 100 * MS,
	      "a --pressure-idle below the floor is kept");
	CHECK(pressure_idle_limit(0, 2, 100) == 0, "0 (off) stays 0");
	CHECK(pressure_idle_limit(1000 * MS, 0, 5) == 1000 * MS, "no busy worker: unchanged");
}

static void test_pick(void)
{
	struct evict_candidate c[] = {
		{ 0, 11, 7, 300 * MS },  /* trickling: a byte 300 ms ago */
		{ 1, 22, 7, 5000 * MS }, /* silent for 5 s */
		{ 2, 33, 7, 2000 * MS },
		{ 3, 44, 7, 0 },
	};
	size_t k;

	k = pressure_pick(c, 4, 1000 * MS, 1);
	CHECK(k == 1 && c[0].slot == 1 && c[0].seq == 22,
	      "one queued connection: the longest stalled is chosen");
	k = pressure_pick(c, 4, 1000 * MS, 10);
	CHECK(k == 2 && c[1].slot == 2, "never one that moved a byte within --pressure-idle");
	CHECK(pressure_next_due(c, 4, 1000 * MS) == 700 * MS,
	      "the next to reach the limit: the trickling one, in 700 ms");
	CHECK(pressure_next_due(c, 4, 100 * MS) == 100 * MS, "or the one that just moved");
	CHECK(pressure_next_due(c, 2, 100 * MS) == UINT64_MAX, "none below the limit: none due");
	k = pressure_pick(c, 4, 0, 10);
	CHECK(k == 0, "--pressure-idle 0 evicts nothing");
	k = pressure_pick(c, 0, 1000 * MS, 10);
	CHECK(k == 0, "no busy worker, nothing to pick");
}

/* The master's view of a stall: a change of the byte count is dated at the sample
 * that saw it, a new connection starts unmoved, an unchanged one grows. */
static void test_progress_seen(void)
{
	struct progress_seen p;

	progress_start(&p, 1000 * MS);
	CHECK(progress_see(&p, 0, 0, 0, 1100 * MS) == 100 * MS, "a new worker, nothing yet");
	CHECK(progress_see(&p, 1, 0, 1150 * MS, 1200 * MS) == 50 * MS,
	      "a new connection that moved nothing is stalled since its start");
	CHECK(progress_see(&p, 1, 0, 1150 * MS, 1500 * MS) == 350 * MS,
	      "nothing moved: the stall grows");
	CHECK(progress_see(&p, 1, 3, 1150 * MS, 1600 * MS) == 0,
	      "a byte moved since the last sample: dated at this sample, not before");
	CHECK(progress_see(&p, 1, 3, 1150 * MS, 1900 * MS) == 300 * MS,
	      "and the stall grows from there");
	CHECK(progress_see(&p, 2, 5, 1950 * MS, 2000 * MS) == 0,
	      "a new connection that moved bytes: dated at the sample");
	CHECK(progress_see(&p, 2, 5, 1950 * MS, 2100 * MS) == 100 * MS, "then it grows");
	/* The last sample read seq 2, but connection 3 had begun (at 2050) and may have
	 * moved the bytes that sample counted: only that sample bounds its last byte. */
	CHECK(progress_see(&p, 3, 5, 2050 * MS, 2200 * MS) == 100 * MS,
	      "a connection begun before the last sample is dated no earlier than it");
	CHECK(progress_see(&p, 4, 5, 2250 * MS, 2300 * MS) == 50 * MS,
	      "one begun after it, with the count unchanged, since its start");
	progress_start(&p, 5000 * MS);
	CHECK(p.bytes == 0 && p.seq == 0 && progress_see(&p, 1, 0, 5010 * MS, 5100 * MS) == 90 * MS,
	      "a respawned slot starts afresh");
}

/* Never more stalled than it is: a trickling connection (a byte every 200 ms),
 * sampled every 50 to 150 ms, never looks stalled longer than it has been, and at
 * most one sample interval (150 ms) less. */
static void test_progress_conservative(void)
{
	struct progress_seen p;
	uint64_t t = 10 * MS, next_byte = 200 * MS, last_byte = 10 * MS, bytes = 0, rnd = 12345;
	uint64_t worst_over = 0, worst_under = 0;

	progress_start(&p, 0);
	progress_see(&p, 1, 0, 10 * MS, 10 * MS);
	for (int i = 0; i < 2000; i++) {
		uint64_t idle, truth;

		rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
		t += 50 * MS + (rnd >> 33) % (100 * MS); /* 50..150 ms */
		while (next_byte <= t) {
			bytes++;
			last_byte = next_byte;
			next_byte += 200 * MS;
		}
		idle = progress_see(&p, 1, bytes, 10 * MS, t);
		truth = t - last_byte;
		if (idle > truth && idle - truth > worst_over)
			worst_over = idle - truth;
		if (truth > idle && truth - idle > worst_under)
			worst_under = truth - idle;
	}
	CHECK(worst_over == 0, "never judged more stalled than it is (by %llu ms)",
	      (unsigned long long)(worst_over / MS));
	CHECK(worst_under > 0 && worst_under <= 150 * MS,
	      "and less by at most the longest sample interval (%llu ms)",
	      (unsigned long long)(worst_under / MS));
}

/* The race: the master read seq 5 and wrote it to evict_seq; meanwhile the worker
 * finished connection 5 and took 6. The signal lands on 6, which must be kept. */
static void test_seq_match(void)
{
	struct sb_slot s;

	scoreboard_reset_slot(&s);
	CHECK(!sb_evict_matches(sb_get(&s.evict_seq), 0), "a fresh slot matches nothing");
	atomic_store(&s.conn_seq, 5);
	atomic_store(&s.evict_seq, 5);
	CHECK(sb_evict_matches(sb_get(&s.evict_seq), sb_get(&s.conn_seq)),
	      "the target connection matches");
	atomic_store(&s.conn_seq, 6);
	CHECK(!sb_evict_matches(sb_get(&s.evict_seq), sb_get(&s.conn_seq)),
	      "the next connection of the same worker does not");
	CHECK(!sb_evict_matches(0, 0), "a slot never targeted does not");
}

/* The master judged connection 5 stalled with 40 bytes counted; a byte that moved
 * before the signal was handled keeps it. */
static void test_unmoved(void)
{
	CHECK(sb_evict_wanted(5, 5, 40, 40), "the target, unmoved since it was judged: dropped");
	CHECK(!sb_evict_wanted(5, 5, 40, 41), "the target that moved a byte since: kept");
	CHECK(!sb_evict_wanted(5, 6, 40, 40), "another connection, even unmoved: kept");
	CHECK(!sb_evict_wanted(0, 0, 0, 0), "a slot never targeted: kept");
}

int main(void)
{
	test_episodes();
	test_limit();
	test_progress_seen();
	test_progress_conservative();
	test_pick();
	test_seq_match();
	test_unmoved();
	return unit_done();
}
