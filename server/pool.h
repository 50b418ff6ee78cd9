/* The pool: the master's record of its children and of their exits, as one
 * read-only view that the master exports. Stats, notify and the admin replies read
 * it and never see struct master.
 *
 * Rule: only master.c writes a struct pool (struct master embeds it); every other
 * module takes a const struct pool * and changes nothing in it, nor in the
 * scoreboard slots it points to. pool.{h,c} take types from scoreboard.h, addr.h,
 * adapt.h and config.h, call only libc, and their helpers read a pool or an exit record,
 * never write one. Nothing here includes master.h, admin.h, stats.h or notify.h. */
#ifndef PREFORKD_POOL_H
#define PREFORKD_POOL_H

#include "adapt.h"
#include "addr.h"
#include "listeners.h"
#include "scoreboard.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

struct config;

/* pool.listen_text: every listener's text, joined */
#define POOL_LISTEN_TEXT_MAX 1024

enum exit_cause {
	EXIT_CAUSE_CODE,     /* exited with an unexpected code */
	EXIT_CAUSE_SIGNAL,   /* killed by a signal it was not sent by the master */
	EXIT_CAUSE_TIMEOUT,  /* killed by the master: busy with no progress */
	EXIT_CAUSE_RECYCLED, /* served --max-requests and retired */
	EXIT_CAUSE_STOPPED,  /* asked to stop: scale down, reload, shutdown */
	EXIT_CAUSE_RSS,      /* its RSS passed --max-rss: finished its connection, retired */
	EXIT_CAUSE_COUNT
};

struct exit_record {
	int valid;
	time_t when;
	pid_t pid;
	enum exit_cause cause;
	int status; /* exit code, or signal number */
	int core;   /* dumped core */
	uint64_t lifetime_ns;
	uint64_t connections;
	uint64_t rss_bytes; /* its last published RSS (0: never sampled) */
	uint64_t cpu_ns;    /* CPU time it used, user + system, from wait4() */
};

/* The master's record of one child, kept in the slot of the child's scoreboard
 * entry. (The worker process itself is worker.c.) */
struct child {
	pid_t pid; /* 0 = slot free */
	unsigned generation;
	uint64_t started_ns;
	time_t started_wall;
	int stopping; /* told to stop; no longer counts toward the target */
	int killed_for_timeout;
	uint64_t progress_mark;
	uint64_t progress_ns;
	uint64_t signalled_ns;
	uint64_t hang_limit_ns; /* --worker-timeout when it was spawned; 0 = never */
	uint64_t max_rss;       /* --max-rss when it was spawned (the limit it applies) */
	uint64_t spawn_seq;     /* order of spawning: tells a crash-loop probe from its elders */
	uint64_t evict_seq;     /* the connection last asked to drop (pressure), and when */
	uint64_t evict_bytes;   /* the byte count it was judged by, SB_EVICT_YIELD for a yield */
	uint64_t evict_sent_ns;
	struct exit_record last_exit; /* the last child that used this slot */
	/* Counters of the children that used this slot before, folded at each exit: a
	 * slot's per-slot metrics add the live child's and never go backwards. */
	uint64_t slot_counters[C_COUNT];
	uint64_t slot_cpu_ns; /* likewise the CPU time of its earlier children */
};

#define RECENT_EXITS 16

/* The accept queue and the pressure on the pool, as the master last sampled them
 * (pressure.h). */
struct pool_pressure {
	int active;  /* at the last sample: connections queued and no worker idle */
	int sampled; /* a sample has been taken */
	uint64_t queue, queue_max, backlog; /* now, the largest seen at a sample, limit */
	uint64_t episodes;                  /* episodes begun */
	uint64_t total_ns;                  /* time under pressure, at the tick's grain */
	int in_episode;
	uint64_t episode_start_ns, last_active_ns, last_sample_ns;
	uint64_t episode_evictions; /* connections the master asked workers to drop */
	uint64_t evict_requests;    /* since start */
};

struct pool {
	const struct config *cfg;
	pid_t pid; /* the master's */
	/* every listener (owned by the master; read-only here) */
	const struct listener_set *listeners;
	/* "A, B": the listeners' texts, for the log and the process title */
	char listen_text[POOL_LISTEN_TEXT_MAX];
	/* the first TCP listener as bound: its family and port (status's sock_diag);
	 * family AF_UNSPEC when there is none */
	struct sockaddr_storage listen_addr;
	const char *admin_path; /* the admin socket's absolute path (owned by admin.c) */
	/* --metrics-listen as bound (owned by metrics.c); NULL: not served */
	const char *metrics_addr;
	/* --agent-listen as bound (owned by agent.c); NULL: not served */
	const char *agent_addr;
	uint64_t started_ns;
	time_t started_wall;
	long target; /* the workers the master keeps now: within min..max */
	/* The adaptive pool (adapt.h): the rule moves the target within these bounds
	 * and keeps idle workers within the spare band; min == max is a fixed pool.
	 * Read them with pool_min_workers() and pool_max_workers(). */
	long min_workers, max_workers;
	long spare_low, spare_high;
	struct adapt_state adapt;
	unsigned generation;
	int draining; /* graceful stop: the listener drops new SYNs, workers empty it */
	int stopping;
	/* `preforkctl maint on`: the agent tells a load balancer MAINT (agent.h); the
	 * pool itself serves on as before. Set only by the master. */
	int maint;
	/* children[i] runs in the scoreboard's slots[i]; a free slot's counters are 0 */
	struct sb_slot *slots;
	struct sb_header *shared; /* the scoreboard's pool-wide header */
	struct pool_pressure pressure;
	struct child children[SLOTS_MAX];
	struct sb_totals retired; /* folded from every child that exited */
	uint64_t retired_cpu_ns;  /* their CPU time, exact (wait4) */
	uint64_t exits[EXIT_CAUSE_COUNT];
	struct exit_record recent_exits[RECENT_EXITS]; /* a ring: the newest is recent_next-1 */
	unsigned recent_next;
	/* crash-loop back-off: an episode begins with a failed start and ends when a
	 * worker started during it proves itself (master.c, "crash loops") */
	unsigned failed_starts;       /* failed starts reaped during the episode */
	unsigned failed_probes;       /* the back-off doubles once per failed probe */
	uint64_t crash_loop_since_ns; /* the episode's first failed start (monotonic) */
	/* The episode has lasted --crash-loop-limit and the pool is still short of
	 * workers: every start in that time failed. Reported as failing (status,
	 * STATUS=, stats) until the episode ends or the pool no longer needs a start. */
	int crash_loop_failing;
	uint64_t backoff_ns;
	uint64_t next_spawn_ns; /* no start before this: crash-loop or fork-failure back-off */
	int slots_exhausted;    /* a spawn found no free slot; logged once until one frees */
	uint64_t slots_exhausted_events;
	uint64_t fork_failures_total;
};

static inline int child_is_live(const struct child *c)
{
	return c->pid > 0;
}

int pool_live_count(const struct pool *p);
/* The bounds of the pool's size (--workers MIN..MAX, scale, SIGTTIN/SIGTTOU): the one
 * way other modules read them. Equal on a fixed pool. */
long pool_min_workers(const struct pool *p);
long pool_max_workers(const struct pool *p);
static inline int pool_is_adaptive(const struct pool *p)
{
	return pool_min_workers(p) < pool_max_workers(p);
}
const char *exit_cause_name(enum exit_cause c);
void exit_record_describe(const struct exit_record *r, char *buf, size_t len);

#endif
