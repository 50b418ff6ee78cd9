/* Unit tests: the adaptive pool's rule. Growth follows the queue and the spare
 * band, a shrink waits for the hold and stops one worker at a time, a steady load
 * never makes the count flap, and the crash-loop back-off and the bounds hold it. */
#include "adapt.h"
#include "unit.h"

#include <stdlib.h>

#define MS 1000000ULL
#define SEC 1000000000ULL

static struct adapt_input sample(uint64_t now, long target, long idle, uint64_t queue)
{
	return (struct adapt_input){
		.now_ns = now,
		.target = target,
		.live = target,
		.idle = idle,
		.queue = queue,
		.min = 2,
		.max = 32,
		.low = 1,
		.high = 3,
	};
}

static void test_defaults(void)
{
	long lo, hi;

	adapt_default_spare(1, 8, &lo, &hi);
	CHECK(lo == 1 && hi == 3, "1..8 keeps 1..3 idle (%ld..%ld)", lo, hi);
	adapt_default_spare(4, 256, &lo, &hi);
	CHECK(lo == 8 && hi == 16, "4..256 keeps 8..16 idle (%ld..%ld)", lo, hi);
	adapt_default_spare(1, 2, &lo, &hi);
	CHECK(lo == 1 && hi == 2, "no end above MAX (%ld..%ld)", lo, hi);
}

static void test_growth(void)
{
	struct adapt_state st = { 0 };
	struct adapt_input in = sample(1 * SEC, 2, 0, 5);
	struct adapt_decision d = adapt_decide(&st, &in);
	char text[160];

	CHECK(d.action == ADAPT_GROW && d.reason == ADAPT_WHY_QUEUE && d.target == 2 + 5 + 1,
	      "a queue of 5 and no idle worker: one worker each and the spare at once (%ld)",
	      d.target);
	/* the new workers are starting; the queue kept growing meanwhile */
	in = sample(1 * SEC + 100 * MS, 8, 0, 5);
	in.live = 2;
	in.starting = 0;
	d = adapt_decide(&st, &in);
	CHECK(d.action == ADAPT_HOLD, "workers not yet spawned cover the queue: hold");
	in = sample(1 * SEC + 200 * MS, 8, 0, 12);
	in.live = 8;
	in.starting = 6;
	d = adapt_decide(&st, &in);
	/* 12 queued + 1 spare - 6 coming = 7, and the queue grew by 7: 14 more */
	CHECK(d.action == ADAPT_GROW && d.target == 8 + 7 + 7,
	      "a queue that keeps growing adds its growth too (%ld)", d.target);
	adapt_describe(&st, text, sizeof text);
	CHECK(strcmp(text, "grow +14 to 22: queue 12 growing, no worker idle") == 0,
	      "the decision says what and why: '%s'", text);
	in = sample(2 * SEC, 22, 0, 400);
	d = adapt_decide(&st, &in);
	CHECK(d.action == ADAPT_GROW && d.target == 32, "never above MAX (%ld)", d.target);
	in = sample(2 * SEC + 100 * MS, 32, 0, 500);
	d = adapt_decide(&st, &in);
	CHECK(d.action == ADAPT_HOLD && st.last_reason == ADAPT_WHY_AT_MAX,
	      "at MAX it holds, and says why");
	CHECK(st.grows == 3 && st.grown == 30, "grows counted: %llu, +%llu",
	      (unsigned long long)st.grows, (unsigned long long)st.grown);
}

static void test_spare(void)
{
	struct adapt_state st = { 0 };
	struct adapt_input in = sample(1 * SEC, 4, 0, 0);
	struct adapt_decision d = adapt_decide(&st, &in);

	CHECK(d.action == ADAPT_GROW && d.reason == ADAPT_WHY_SPARE && d.target == 5,
	      "no idle worker, nothing queued: grow to the spare low (%ld)", d.target);
	in = sample(1 * SEC, 4, 1, 2);
	d = adapt_decide(&st, &in);
	CHECK(d.action == ADAPT_HOLD, "a queue beside an idle worker is about to be taken");
	in = sample(1 * SEC, 4, 0, 0);
	in.backoff = 1;
	d = adapt_decide(&st, &in);
	CHECK(d.action == ADAPT_HOLD && st.last_reason == ADAPT_WHY_BACKOFF,
	      "no growth while starts fail (crash-loop back-off)");
	in = sample(1 * SEC, 4, 0, 9);
	in.min = in.max = 4;
	d = adapt_decide(&st, &in);
	CHECK(d.action == ADAPT_HOLD && d.target == 4, "a fixed pool never moves");
	in = sample(1 * SEC, 40, 0, 0);
	d = adapt_decide(&st, &in);
	CHECK(d.action == ADAPT_SHRINK && d.reason == ADAPT_WHY_RANGE && d.target == 32,
	      "a target outside the bounds is brought back at once");
}

static void test_shrink(void)
{
	struct adapt_state st = { 0 };
	struct adapt_decision d;
	struct adapt_input in;
	uint64_t t = 10 * SEC;
	int shrinks = 0;
	long target = 10;

	for (uint64_t now = t; now < t + ADAPT_HOLD_NS; now += 100 * MS) {
		in = sample(now, target, 8, 0);
		d = adapt_decide(&st, &in);
		shrinks += d.action == ADAPT_SHRINK;
	}
	CHECK(shrinks == 0, "no shrink before the hold");
	in = sample(t + ADAPT_HOLD_NS, target, 8, 0);
	d = adapt_decide(&st, &in);
	CHECK(d.action == ADAPT_SHRINK && d.target == 9, "after the hold: one worker less");
	in = sample(t + ADAPT_HOLD_NS + ADAPT_STEP_NS / 2, 9, 7, 0);
	d = adapt_decide(&st, &in);
	CHECK(d.action == ADAPT_HOLD, "the next one waits a step");
	in = sample(t + ADAPT_HOLD_NS + ADAPT_STEP_NS, 9, 7, 0);
	d = adapt_decide(&st, &in);
	CHECK(d.action == ADAPT_SHRINK && d.target == 8, "then one per step");
	in = sample(t + ADAPT_HOLD_NS + ADAPT_STEP_NS + 100 * MS, 8, 3, 0);
	(void)adapt_decide(&st, &in);
	in = sample(t + ADAPT_HOLD_NS + 3 * ADAPT_STEP_NS, 8, 6, 0);
	d = adapt_decide(&st, &in);
	CHECK(d.action == ADAPT_HOLD, "idle back within HIGH restarts the hold");
	in = sample(t + ADAPT_HOLD_NS + 3 * ADAPT_STEP_NS + 100 * MS, 8, 6, 0);
	in.rolling = 1;
	d = adapt_decide(&st, &in);
	CHECK(d.action == ADAPT_HOLD, "no shrink during a rolling restart");
	/* an idle pool goes down to HIGH idle workers, never below MIN, and stays */
	target = 8;
	for (uint64_t now = 100 * SEC; now < 200 * SEC; now += 100 * MS) {
		in = sample(now, target, target, 0);
		target = adapt_decide(&st, &in).target;
	}
	CHECK(target == 3, "an idle pool shrinks to HIGH idle workers (%ld)", target);
	target = 8;
	for (uint64_t now = 200 * SEC; now < 300 * SEC; now += 100 * MS) {
		in = sample(now, target, target, 0);
		in.min = 5;
		target = adapt_decide(&st, &in).target;
	}
	CHECK(target == 5, "and never below MIN (%ld)", target);
}

/* A steady load: L connections, one more or one fewer at each sample, workers ready
 * a sample after they are added. The count must settle and then stay within one of
 * where it settled. */
static void test_steady_load(long load, long low, long high)
{
	struct adapt_state st = { 0 };
	long target = 2, live = 2, lo = 1 << 20, hi = 0;

	srandom(7);
	for (long tick = 0; tick < 6000; tick++) { /* 10 minutes of 100 ms samples */
		long now_load = load + random() % 3 - 1;
		struct adapt_input in = sample((uint64_t)tick * 100 * MS + SEC, target,
		                               live > now_load ? live - now_load : 0,
		                               now_load > live ? (uint64_t)(now_load - live) : 0);

		in.live = live;
		in.low = low;
		in.high = high;
		live = target; /* the last decision's workers are ready now */
		target = adapt_decide(&st, &in).target;
		if (tick >= 300) { /* after 30 s */
			lo = target < lo ? target : lo;
			hi = target > hi ? target : hi;
		}
	}
	CHECK(hi - lo <= 2 && hi >= load,
	      "a steady load of %ld +-1 (spare %ld..%ld): the count stays in %ld..%ld", load, low,
	      high, lo, hi);
}

int main(void)
{
	test_defaults();
	test_growth();
	test_spare();
	test_shrink();
	test_steady_load(10, 1, 3);
	test_steady_load(20, 2, 4);
	test_steady_load(5, 0, 0);
	return unit_done();
}
