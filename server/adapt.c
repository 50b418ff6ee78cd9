/* The adaptive pool's rule (adapt.h): grow at once on the queue or a short spare,
 * shrink one idle worker at a time after a hold, hold otherwise. */
#include "adapt.h"

#include <stdio.h>

void adapt_default_spare(long min, long max, long *low, long *high)
{
	long lo = max / 32 > 1 ? max / 32 : 1;
	long hi = lo * 2 > lo + 2 ? lo * 2 : lo + 2;

	(void)min;
	*low = lo > max ? max : lo;
	*high = hi > max ? max : hi;
}

static void note(struct adapt_state *st, const struct adapt_input *in, enum adapt_action a,
                 enum adapt_reason why, long delta, long target)
{
	st->last_action = a;
	st->last_reason = why;
	st->last_delta = delta;
	st->last_target = target;
	st->last_queue = in->queue;
	st->last_idle = in->idle;
	st->last_ns = in->now_ns;
}

/* Workers that will wait in accept() soon, beyond the idle ones: those starting,
 * and those the target has but that are not spawned yet. */
static long coming(const struct adapt_input *in)
{
	long pending = in->target > in->live ? in->target - in->live : 0;

	return in->starting + pending;
}

/* How many workers to add now, before the bounds: the spare band's shortfall, or,
 * with no worker idle and connections queued, one per queued connection plus LOW,
 * plus the queue's growth since the last sample while it grows (what the next
 * sample is likely to add). A queue beside an idle worker is one it is about to
 * take: no demand. */
static long shortfall(const struct adapt_input *in, uint64_t prev_queue, enum adapt_reason *why)
{
	long soon = in->idle + coming(in);
	long need = in->low - soon;

	*why = ADAPT_WHY_SPARE;
	if (in->queue > 0 && in->idle == 0) {
		/* a queue that was there at the last sample and is longer now */
		uint64_t growth =
			prev_queue > 0 && in->queue > prev_queue ? in->queue - prev_queue : 0;
		long q = in->queue > (uint64_t)in->max ? in->max : (long)in->queue;
		long g = growth > (uint64_t)in->max ? in->max : (long)growth;
		long qneed = q + in->low - coming(in);

		if (qneed > 0 && qneed + g > need) {
			need = qneed + g;
			*why = ADAPT_WHY_QUEUE;
		}
	}
	return need > 0 ? need : 0;
}

static int may_shrink(struct adapt_state *st, const struct adapt_input *in)
{
	if (in->idle <= in->high || in->target <= in->min || in->rolling || coming(in) > 0) {
		st->surplus_since = 0;
		return 0;
	}
	if (st->surplus_since == 0) {
		st->surplus_since = in->now_ns;
		return 0;
	}
	if (in->now_ns - st->surplus_since < ADAPT_HOLD_NS)
		return 0;
	/* one more per step while the surplus lasts */
	return st->last_shrink_ns < st->surplus_since ||
	       in->now_ns - st->last_shrink_ns >= ADAPT_STEP_NS;
}

struct adapt_decision adapt_decide(struct adapt_state *st, const struct adapt_input *in)
{
	struct adapt_decision d = { ADAPT_HOLD, ADAPT_WHY_NONE, in->target };
	uint64_t prev = st->prev_queue;
	enum adapt_reason why;
	long need;
	if (in->target < in->min || in->target > in->max) {
		d.target = in->target < in->min ? in->min : in->max;
		d.action = d.target > in->target ? ADAPT_GROW : ADAPT_SHRINK;
		d.reason = ADAPT_WHY_RANGE;
		note(st, in, d.action, d.reason, d.target - in->target, d.target);
		st->surplus_since = 0;
		st->prev_queue = in->queue;
		return d;
	}
	need = in->min < in->max ? shortfall(in, prev, &why) : 0;
	st->prev_queue = in->queue;
	if (need > 0) {
		st->surplus_since = 0;
		if (in->backoff || in->target >= in->max) {
			d.reason = in->backoff ? ADAPT_WHY_BACKOFF : ADAPT_WHY_AT_MAX;
			if (st->last_action != ADAPT_HOLD || st->last_reason != d.reason)
				note(st, in, ADAPT_HOLD, d.reason, 0, in->target);
			return d;
		}
		d.action = ADAPT_GROW;
		d.reason = why;
		d.target = in->target + need > in->max ? in->max : in->target + need;
		st->grows++;
		st->grown += (uint64_t)(d.target - in->target);
		note(st, in, d.action, d.reason, d.target - in->target, d.target);
		st->last_growing = prev > 0 && in->queue > prev;
		return d;
	}
	if (in->min < in->max && may_shrink(st, in)) {
		d.action = ADAPT_SHRINK;
		d.reason = ADAPT_WHY_SURPLUS;
		d.target = in->target - 1;
		st->last_shrink_ns = in->now_ns;
		st->shrinks++;
		st->shrunk++;
		note(st, in, d.action, d.reason, -1, d.target);
	}
	return d;
}

const char *adapt_action_name(enum adapt_action a)
{
	static const char *const names[] = {
		[ADAPT_HOLD] = "hold",
		[ADAPT_GROW] = "grow",
		[ADAPT_SHRINK] = "shrink",
	};

	return names[a];
}

void adapt_describe(const struct adapt_state *st, char *buf, size_t len)
{
	const char *a = adapt_action_name(st->last_action);
	unsigned long long q = (unsigned long long)st->last_queue;

	switch (st->last_reason) {
	case ADAPT_WHY_NONE:
		snprintf(buf, len, "none yet");
		break;
	case ADAPT_WHY_QUEUE:
		snprintf(buf, len, "%s %+ld to %ld: queue %llu%s, no worker idle", a,
		         st->last_delta, st->last_target, q, st->last_growing ? " growing" : "");
		break;
	case ADAPT_WHY_SPARE:
		snprintf(buf, len, "%s %+ld to %ld: %ld idle, below the spare low", a,
		         st->last_delta, st->last_target, st->last_idle);
		break;
	case ADAPT_WHY_SURPLUS:
		snprintf(buf, len, "%s %+ld to %ld: %ld idle, above the spare high for the hold", a,
		         st->last_delta, st->last_target, st->last_idle);
		break;
	case ADAPT_WHY_BACKOFF:
		snprintf(buf, len,
		         "hold at %ld: would grow (queue %llu, %ld idle), but starts "
		         "are failing (crash-loop back-off)",
		         st->last_target, q, st->last_idle);
		break;
	case ADAPT_WHY_AT_MAX:
		snprintf(buf, len,
		         "hold at %ld: would grow (queue %llu, %ld idle), but the pool "
		         "is at its maximum",
		         st->last_target, q, st->last_idle);
		break;
	case ADAPT_WHY_RANGE:
		snprintf(buf, len, "%s %+ld to %ld: the range changed", a, st->last_delta,
		         st->last_target);
		break;
	}
}
