/* Scoreboard memory and the read-side arithmetic. The mapping is anonymous and
 * shared, made before the first fork, so every worker inherits it; untouched slots
 * cost no memory. */
#include "scoreboard.h"

#include "log.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

_Static_assert(sizeof(struct sb_header) % _Alignof(struct sb_slot) == 0,
               "the slots follow the header aligned");

struct sb_slot *scoreboard_create(struct sb_header **header)
{
	char *p = mmap(NULL, sizeof(struct sb_header) + sizeof(struct sb_slot) * (size_t)SLOTS_MAX,
	               PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		log_error("mmap scoreboard: %s", strerror(errno));
		return NULL;
	}
	*header = (struct sb_header *)(void *)p;
	return (struct sb_slot *)(void *)(p + sizeof(struct sb_header));
}

void scoreboard_reset_slot(struct sb_slot *s)
{
	atomic_store_explicit(&s->state, WS_EMPTY, memory_order_relaxed);
	atomic_store_explicit(&s->busy_since_ns, 0, memory_order_relaxed);
	for (int i = 0; i < C_COUNT; i++)
		atomic_store_explicit(&s->counters[i], 0, memory_order_relaxed);
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		atomic_store_explicit(&s->hist[i], 0, memory_order_relaxed);
		atomic_store_explicit(&s->qwait_hist[i], 0, memory_order_relaxed);
		atomic_store_explicit(&s->req_hist[i], 0, memory_order_relaxed);
	}
	atomic_store_explicit(&s->conn_seq, 0, memory_order_relaxed);
	atomic_store_explicit(&s->evict_bytes, 0, memory_order_relaxed);
	atomic_store_explicit(&s->evict_seq, 0, memory_order_relaxed);
	atomic_store_explicit(&s->activity, 0, memory_order_relaxed);
	atomic_store_explicit(&s->rss_bytes, 0, memory_order_relaxed);
	atomic_store_explicit(&s->cpu_ns, 0, memory_order_relaxed);
	atomic_store_explicit(&s->sampled_ns, 0, memory_order_relaxed);
	atomic_store_explicit(&s->conn_in0, 0, memory_order_relaxed);
	atomic_store_explicit(&s->conn_out0, 0, memory_order_relaxed);
	for (unsigned i = 0; i < LISTENERS_MAX; i++)
		atomic_store_explicit(&s->listener_accepted[i], 0, memory_order_relaxed);
	memset(&s->peer, 0, sizeof s->peer);
}

const char *worker_op_name(enum worker_op op)
{
	static const char *const names[WOP_COUNT] = {
		[WOP_NONE] = "none",   [WOP_ACCEPT] = "accept",
		[WOP_READ] = "read",   [WOP_SERVICE] = "service",
		[WOP_WRITE] = "write", [WOP_KEEPALIVE] = "keepalive",
		[WOP_CLOSE] = "close", [WOP_STOPPING] = "stopping",
	};

	return (unsigned)op < WOP_COUNT ? names[op] : "none";
}

/* Called only after the slot's worker has been reaped: nothing writes it any more. */
void scoreboard_fold(struct sb_totals *t, struct sb_slot *s)
{
	for (int i = 0; i < C_COUNT; i++)
		t->counters[i] += sb_get(&s->counters[i]);
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		t->hist[i] += sb_get(&s->hist[i]);
		t->qwait_hist[i] += sb_get(&s->qwait_hist[i]);
		t->req_hist[i] += sb_get(&s->req_hist[i]);
	}
	for (unsigned i = 0; i < LISTENERS_MAX; i++)
		t->listener_accepted[i] += sb_get(&s->listener_accepted[i]);
}

void scoreboard_sum(struct sb_totals *out, const struct sb_totals *retired, struct sb_slot *slots,
                    const int *live, int nslots)
{
	*out = *retired;
	for (int i = 0; i < nslots; i++)
		if (live[i])
			scoreboard_fold(out, &slots[i]);
}
