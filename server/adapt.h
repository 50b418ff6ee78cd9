/* The adaptive pool's rule: given what the master sampled (workers, idle ones, the
 * accept queue), the bounds and the spare-idle band, and what it decided before,
 * how many workers the pool should run now, and why. Pure: no clock, no system
 * call, so the unit tests can drive it through any load.
 *
 * Rule: calls only libc (snprintf); reads its input and writes only the struct
 * adapt_state and the decision it is handed. master.c owns both, applies the
 * decision (spawns, stops one idle worker) and exports the state in the pool. */
#ifndef PREFORKD_ADAPT_H
#define PREFORKD_ADAPT_H

#include <stddef.h>
#include <stdint.h>

/* Idle workers must stay above HIGH this long before the first one is stopped: a
 * worker costs a fork (about a millisecond) to start again, so the hold only has
 * to outlast the lulls of a steady load (a burst's gaps, a client's think time),
 * and 5 s is 50 samples or more (a 100 ms tick at most). PHP-FPM's process_idle_timeout is 10 s,
 * uWSGI's cheaper-overload 3 s. */
#define ADAPT_HOLD_NS (5000000000ULL)
/* Then one more every 100 ms while the surplus lasts: the workers a
 * burst added are gone seconds after the hold, not the minute that Apache's one a
 * second takes for 60. */
#define ADAPT_STEP_NS (100000000ULL)
/* While the pool may still grow, the master samples it this often (idle or not): a
 * burst waits at most this long for its growth. 40 wake-ups a second cost the
 * master about 0.2 % of a core (four system calls each; README "Adaptive pool"). */
#define ADAPT_TICK_NS (25000000ULL)

enum adapt_action { ADAPT_HOLD, ADAPT_GROW, ADAPT_SHRINK };

enum adapt_reason {
	ADAPT_WHY_NONE,    /* nothing has been decided yet */
	ADAPT_WHY_QUEUE,   /* connections wait in the accept queue */
	ADAPT_WHY_SPARE,   /* fewer idle workers than LOW */
	ADAPT_WHY_SURPLUS, /* more idle workers than HIGH, for the hold */
	ADAPT_WHY_BACKOFF, /* would grow, but starts are failing (crash-loop back-off) */
	ADAPT_WHY_AT_MAX,  /* would grow, but the pool is at MAX */
	ADAPT_WHY_RANGE,   /* the bounds moved (scale, SIGTTIN/SIGTTOU, reload) */
};

/* One sample of the pool. Counts are of the current generation's workers that are
 * not told to stop. */
struct adapt_input {
	uint64_t now_ns;
	long target;    /* the count the master keeps now (spawns catch up with it) */
	long live;      /* workers running */
	long idle;      /* of those, waiting in accept() */
	long starting;  /* of those, not yet in accept(): idle soon */
	uint64_t queue; /* connections in the accept queue */
	long min, max;  /* the bounds; min == max: a fixed pool, the rule is off */
	long low, high; /* the spare-idle band */
	int backoff;    /* a crash loop's back-off holds: no growth */
	int rolling;    /* older workers are being replaced: no shrink */
};

/* What the rule remembers between samples, and its last decision (shown in status
 * and stats). */
struct adapt_state {
	uint64_t prev_queue;    /* the queue at the previous sample */
	uint64_t surplus_since; /* since when idle > HIGH; 0: it is not */
	uint64_t last_shrink_ns;
	/* the last decision that did something (or was held back) */
	enum adapt_action last_action;
	enum adapt_reason last_reason;
	long last_delta;         /* workers added (> 0) or stopped (< 0) */
	long last_target;        /* the target it set */
	uint64_t last_queue;     /* the queue it saw */
	int last_growing;        /* ... and it had grown since the sample before */
	long last_idle;          /* the idle workers it saw */
	uint64_t last_ns;        /* when (monotonic); 0: never */
	uint64_t grows, shrinks; /* decisions taken, since start */
	uint64_t grown, shrunk;  /* workers added and stopped by them */
};

struct adapt_decision {
	enum adapt_action action;
	enum adapt_reason reason;
	long target; /* the new target; for a shrink, one less than before */
};

/* The defaults of the spare-idle band for bounds MIN..MAX (README, "Adaptive
 * pool"): LOW one idle worker per 32 of MAX, at least 1; HIGH twice LOW, at least
 * LOW + 2, so that a load that moves by one connection either way never crosses
 * both edges; neither above MAX. */
void adapt_default_spare(long min, long max, long *low, long *high);

/* The rule (README, "Adaptive pool"). Growth: at once, by the shortfall (queued
 * connections plus LOW, less the idle and starting workers), plus the queue's growth
 * since the last sample while it keeps growing (queued at both samples); never past MAX, nothing
 * during a crash-loop back-off. Shrink: one worker, when idle > HIGH has held for ADAPT_HOLD_NS
 * (then every ADAPT_STEP_NS), never below MIN, not during a rolling restart. Otherwise hold.
 * Updates st (its memory and, when something was decided or held back, its last decision). */
struct adapt_decision adapt_decide(struct adapt_state *st, const struct adapt_input *in);

/* The decision as text: "grow +3: queue 12 growing", "shrink -1: 5 idle > 3 for 5 s". */
void adapt_describe(const struct adapt_state *st, char *buf, size_t len);

const char *adapt_action_name(enum adapt_action a);

#endif
