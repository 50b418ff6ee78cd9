/* Unit tests: the pressure bookkeeping (episodes, the sampled maximum, the time
 * under pressure), the choice of connections to evict, and the worker's rule that
 * drops a connection only when the master's target is the one it serves. */
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
		{ 0, 11, 300 * MS },  /* trickling: a byte 300 ms ago */
		{ 1, 22, 5000 * MS }, /* silent for 5 s */
		{ 2, 33, 2000 * MS },
		{ 3, 44, 0 },
	};
	size_t k;

	k = pressure_pick(c, 4, 1000 * MS, 1);
	CHECK(k == 1 && c[0].slot == 1 && c[0].seq == 22,
	      "one queued connection: the longest stalled is chosen");
	k = pressure_pick(c, 4, 1000 * MS, 10);
	CHECK(k == 2 && c[1].slot == 2, "never one that moved a byte within --pressure-idle");
	k = pressure_pick(c, 4, 0, 10);
	CHECK(k == 0, "--pressure-idle 0 evicts nothing");
	k = pressure_pick(c, 0, 1000 * MS, 10);
	CHECK(k == 0, "no busy worker, nothing to pick");
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

int main(void)
{
	test_episodes();
	test_limit();
	test_pick();
	test_seq_match();
	return unit_done();
}
