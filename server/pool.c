/* The pool's read-only helpers: how many children live, and how an exit is named
 * and described (in the log, status and stats alike).
 *
 * Rule: as pool.h says: libc only, and nothing here writes a pool. */
#include "pool.h"

#include <stdio.h>
#include <string.h>

static const char *const cause_names[] = {
	[EXIT_CAUSE_CODE] = "exit",       [EXIT_CAUSE_SIGNAL] = "signal",
	[EXIT_CAUSE_TIMEOUT] = "timeout", [EXIT_CAUSE_RECYCLED] = "recycled",
	[EXIT_CAUSE_STOPPED] = "stopped", [EXIT_CAUSE_RSS] = "rss",
};

const char *exit_cause_name(enum exit_cause c)
{
	return cause_names[c];
}

void exit_record_describe(const struct exit_record *r, char *buf, size_t len)
{
	switch (r->cause) {
	case EXIT_CAUSE_SIGNAL:
		snprintf(buf, len, "signal %d (%s)%s", r->status, strsignal(r->status),
		         r->core ? ", core dumped" : "");
		break;
	case EXIT_CAUSE_CODE:
		snprintf(buf, len, "exit code %d", r->status);
		break;
	default:
		snprintf(buf, len, "%s", cause_names[r->cause]);
	}
}

int pool_live_count(const struct pool *p)
{
	int n = 0;

	for (int i = 0; i < SLOTS_MAX; i++)
		n += child_is_live(&p->children[i]);
	return n;
}

long pool_min_workers(const struct pool *p)
{
	return p->min_workers;
}

long pool_max_workers(const struct pool *p)
{
	return p->max_workers;
}
