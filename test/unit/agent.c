/* Unit tests: the agent-check line (server/agent.c): the free-capacity percentage
 * and its floor, maxconn, and the words for each state, as HAProxy reads them; and
 * the view taken of a pool. */
#include "agent.h"
#include "pool.h"
#include "scoreboard.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

/* A line as a test's name shows it: without its newline. */
#define SHOWN(line) (int)strcspn((line), "\n"), (line)

static const char *line_of(const struct agent_view *v)
{
	static char buf[AGENT_LINE_MAX];

	agent_format(v, buf, sizeof buf);
	return buf;
}

static void test_percent(void)
{
	struct agent_view v = { .max = 16, .busy = 6 };

	CHECK(agent_percent(&v) == 62, "10 of 16 free is 62 %% (rounded down): %d",
	      agent_percent(&v));
	v.busy = 0;
	CHECK(agent_percent(&v) == 100, "an idle pool is 100 %%");
	v.busy = 16;
	CHECK(agent_percent(&v) == AGENT_PERCENT_MIN,
	      "a full pool is the floor, %d %%, never the 0 %% HAProxy takes as DRAIN",
	      AGENT_PERCENT_MIN);
	v.busy = 20;
	CHECK(agent_percent(&v) == AGENT_PERCENT_MIN, "more busy than MAX is the floor too");
	v = (struct agent_view){ .max = 200, .busy = 199 };
	CHECK(agent_percent(&v) == AGENT_PERCENT_MIN, "0.5 %% free is the floor, not 0");
	v = (struct agent_view){ .max = 0 };
	CHECK(agent_percent(&v) == AGENT_PERCENT_MIN, "MAX 0 divides by nothing");
}

static void test_lines(void)
{
	struct agent_view v = { .max = 16, .busy = 6 };

	CHECK(strcmp(line_of(&v), "up ready 62% maxconn:16\n") == 0, "ready: '%.*s'",
	      SHOWN(line_of(&v)));
	v.maint = 1;
	CHECK(strcmp(line_of(&v), "up maint maxconn:16\n") == 0, "maint: '%.*s'",
	      SHOWN(line_of(&v)));
	v.maint = 0;
	v.stopping = 1;
	CHECK(strcmp(line_of(&v), "up drain maxconn:16\n") == 0, "stopping: '%.*s'",
	      SHOWN(line_of(&v)));
	v.maint = 1;
	CHECK(strcmp(line_of(&v), "up maint maxconn:16\n") == 0,
	      "maint wins over a stop's drain: '%.*s'", SHOWN(line_of(&v)));
	v = (struct agent_view){ .max = 4, .crash_loop = 1 };
	CHECK(strcmp(line_of(&v), "down ready maxconn:4 # crash-loop\n") == 0, "crash loop: '%.*s'",
	      SHOWN(line_of(&v)));
	v.maint = 1;
	CHECK(strcmp(line_of(&v), "down maint maxconn:4 # crash-loop\n") == 0,
	      "crash loop in maint: '%.*s'", SHOWN(line_of(&v)));
	v = (struct agent_view){ .max = 4, .crash_loop = 1, .ready = 2, .busy = 1 };
	CHECK(strcmp(line_of(&v), "up ready 25% maxconn:4 # crash-loop\n") == 0,
	      "a crash loop with workers still serving stays up, its free share only the idle "
	      "ones: '%.*s'",
	      SHOWN(line_of(&v)));
	v = (struct agent_view){ .max = 4, .crash_loop = 1, .stopping = 1 };
	CHECK(strcmp(line_of(&v), "up drain maxconn:4\n") == 0,
	      "a stopping server restarts nothing: drain, not down: '%.*s'", SHOWN(line_of(&v)));
}

static void test_short_buffer(void)
{
	struct agent_view v = { .max = 1024, .busy = 1 };
	char buf[8];
	size_t n = agent_format(&v, buf, sizeof buf);

	CHECK(n == sizeof buf - 1 && buf[n] == '\0', "a short buffer is cut, NUL-terminated");
	v.max = 1024;
	n = agent_format(&v, (char[AGENT_LINE_MAX]){ 0 }, AGENT_LINE_MAX);
	CHECK(n == strlen("up ready 99% maxconn:1024\n"), "the longest ready line fits");
}

/* A pool of 4 (MAX 4): one busy, one keep-alive, one idle, one starting, and a
 * stopping old worker that no longer counts. */
static void test_view(void)
{
	struct pool *p = calloc(1, sizeof *p);
	struct sb_slot *slots = calloc((size_t)SLOTS_MAX, sizeof *slots);
	static const enum worker_state states[] = { WS_BUSY, WS_KEEPALIVE, WS_IDLE, WS_STARTING,
		                                    WS_BUSY };
	struct agent_view v;

	SETUP(p && slots);
	if (!p || !slots) {
		free(slots);
		free(p);
		return;
	}
	p->slots = slots;
	p->target = 4;
	p->min_workers = 4;
	p->max_workers = 4;
	for (int i = 0; i < 5; i++) {
		p->children[i].pid = 100 + i;
		sb_set_state(&slots[i], states[i]);
	}
	p->children[4].stopping = 1;
	agent_view_of(p, &v);
	CHECK(v.max == 4 && v.busy == 2,
	      "busy and keep-alive count, a stopping worker not: %ld/%ld", v.busy, v.max);
	CHECK(v.ready == 3, "idle, busy and keep-alive can serve, a starting one not yet: %ld",
	      v.ready);
	CHECK(strcmp(line_of(&v), "up ready 50% maxconn:4\n") == 0, "the pool's line: '%.*s'",
	      SHOWN(line_of(&v)));
	p->maint = 1;
	p->failed_starts = 3;
	agent_view_of(p, &v);
	CHECK(v.maint && v.crash_loop && !v.stopping, "maint and a crash loop are seen");
	free(slots);
	free(p);
}

int main(void)
{
	test_percent();
	test_lines();
	test_short_buffer();
	test_view();
	return unit_done();
}
