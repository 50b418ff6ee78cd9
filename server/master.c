/* The supervisor. The loop reads as a checklist: wait for a signal, an admin
 * request or a timer; take pending signals; reap the dead; kill the hung; bring the
 * pool to its target; move a shutdown along. Nothing here blocks except poll().
 *
 * Rule: the master decides. master.c is the only writer of struct master and of
 * the pool it exports (m->pool, pool.h); the scoreboard slots are written by their
 * workers, and here only reset, marked starting or folded once their worker is
 * gone, except the pressure fields the master owns: the shared header's pressure
 * flag and a slot's evict_seq/evict_bytes (pressure.h). It may call admin,
 * metrics and agent (serve their sockets), notify (with the const pool), pressure (the
 * accept queue and the eviction rule), adapt (the adaptive pool's rule),
 * hang_report (with the const pool, before a hung worker is killed), signals,
 * drain, daemon, pidfile, upgrade (the binary upgrade: it starts and watches the
 * new master, this loop decides), scoreboard, worker (in a new child) and common/. It never
 * calls stats: replies are the admin and metrics modules' business. Other modules
 * see only a const struct pool *; admin.c calls nothing here: it queues requests
 * that this loop takes (admin_next_request), applies and answers. */
#include "master.h"

#include "access_log.h"
#include "activation.h"
#include "adapt.h"
#include "clock.h"
#include "config_reload.h"
#include "daemon.h"
#include "drain.h"
#include "hang_report.h"
#include "log.h"
#include "net.h"
#include "notify.h"
#include "pidfile.h"
#include "pressure.h"
#include "proctitle.h"
#include "service.h"
#include "signals.h"
#include "upgrade.h"
#include "worker.h"
#include "worker_fault.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define BACKOFF_FIRST_NS (100 * NS_PER_MS)
#define BACKOFF_MAX_NS (30 * NS_PER_SEC)
#define RESIGNAL_NS (100 * NS_PER_MS)
/* A worker still starting after this long is not counted on to relieve a queue. */
#define START_STUCK_NS (1 * NS_PER_SEC)

/* ---- spawning ---- */

static long worker_request_limit(const struct config *cfg)
{
	if (cfg->max_requests == 0)
		return 0;
	if (cfg->max_requests_jitter == 0)
		return cfg->max_requests;
	return cfg->max_requests + random() % (cfg->max_requests_jitter + 1);
}

/* Everything a new worker needs, gathered before fork(): the master's own state
 * lives in a mapping that workers do not inherit (see master_run). */
struct child_plan {
	struct worker_args args;
	/* admin_fds() (at most ADMIN_POLLFDS + 1), metrics_fds(), agent_fds(), the
	 * pidfile's lock, the upgrade's pipe (either end), inherited fds unused */
	int close_fds[ADMIN_POLLFDS + METRICS_POLLFDS + AGENT_POLLFDS + 4 + ACTIVATION_FDS_MAX];
	int nclose;
};

static void plan_child(const struct master *m, int slot, long max_requests, struct child_plan *p)
{
	p->args = (struct worker_args){
		.cfg = m->pool.cfg,
		.listeners = m->listeners,
		.slot = &m->pool.slots[slot],
		.shared = m->pool.shared,
		.master_pid = getpid(),
		.max_requests = max_requests,
		.slot_index = slot,
		.generation = m->pool.generation,
	};
	p->nclose = admin_fds(&m->admin, p->close_fds);
	p->nclose += metrics_fds(&m->metrics, p->close_fds + p->nclose);
	p->nclose += agent_fds(&m->agent, p->close_fds + p->nclose);
	if (m->pidfile.lock_fd >= 0)
		p->close_fds[p->nclose++] = m->pidfile.lock_fd;
	/* inherited fds kept for the upgrade (reserved names): never a worker's */
	for (size_t i = 0; i < m->activation.n; i++)
		if (!m->activation.fds[i].taken)
			p->close_fds[p->nclose++] = m->activation.fds[i].fd;
	/* A worker holding the write end would hide its master's death from the old
	 * master (no EOF). */
	if (m->upgrade_ready_fd >= 0)
		p->close_fds[p->nclose++] = m->upgrade_ready_fd;
	if (m->upgrade.ready_fd >= 0)
		p->close_fds[p->nclose++] = m->upgrade.ready_fd;
}

static void run_child(const struct child_plan *p)
{
	signals_close_in_child();
	for (int i = 0; i < p->nclose; i++)
		close(p->close_fds[i]);
	worker_run(&p->args);
}

static int find_free_slot(const struct master *m)
{
	int slots = test_fault_slots(SLOTS_MAX);

	for (int i = 0; i < slots; i++)
		if (!child_is_live(&m->pool.children[i]))
			return i;
	return -1;
}

static void note_fork_failure(struct master *m, uint64_t now, int err)
{
	uint64_t delay = BACKOFF_FIRST_NS << (m->fork_failures < 8 ? m->fork_failures : 8);

	if (delay > BACKOFF_MAX_NS)
		delay = BACKOFF_MAX_NS;
	m->fork_failures++;
	m->pool.fork_failures_total++;
	m->pool.next_spawn_ns = now + delay;
	log_error("fork: %s; serving with %d workers, next try in %.1f s", strerror(err),
	          pool_live_count(&m->pool), (double)delay / NS_PER_SEC);
}

static int spawn_worker(struct master *m, uint64_t now)
{
	int slot = find_free_slot(m);
	struct child *w;
	struct child_plan plan;
	sigset_t saved;
	pid_t pid;

	if (slot < 0) {
		/* Every slot is taken: old workers still finishing their connections
		 * after reloads. Said once; retried each turn as they leave. */
		if (!m->pool.slots_exhausted) {
			m->pool.slots_exhausted_events++;
			log_warn("cannot start a worker: all %d slots are taken by workers "
			         "still finishing (reloads faster than connections end); "
			         "retrying as they exit",
			         test_fault_slots(SLOTS_MAX));
		}
		m->pool.slots_exhausted = 1;
		return -1;
	}
	/* The jitter is drawn here, not in the child: random() in a child never advances
	 * the master's state, so every worker would draw the same one and retire in step. */
	plan_child(m, slot, worker_request_limit(m->pool.cfg), &plan);
	scoreboard_reset_slot(&m->pool.slots[slot]);
	progress_start(&m->seen[slot], now);
	sb_set_state(&m->pool.slots[slot], WS_STARTING);
	signals_block_all(&saved);
	pid = fork();
	if (pid == 0)
		run_child(&plan);
	signals_restore(&saved);
	if (pid < 0) {
		sb_set_state(&m->pool.slots[slot], WS_EMPTY);
		note_fork_failure(m, now, errno);
		return -1;
	}
	m->fork_failures = 0;
	m->pool.slots_exhausted = 0;
	w = &m->pool.children[slot];
	w->pid = pid;
	w->spawn_seq = ++m->spawns;
	w->generation = m->pool.generation;
	w->started_ns = now;
	w->started_wall = time(NULL);
	w->stopping = 0;
	w->killed_for_timeout = 0;
	w->evict_seq = 0; /* the old worker's last target is not this one's connection */
	w->evict_bytes = 0;
	w->progress_mark = 0;
	w->progress_ns = now;
	w->hang_limit_ns = seconds_to_ns(m->cfg->worker_timeout);
	w->max_rss = m->cfg->max_rss;
	log_info("worker spawned: slot %d pid %ld generation %u", slot, (long)pid,
	         m->pool.generation);
	return 0;
}

/* ---- reaping ---- */

static int find_slot_by_pid(const struct master *m, pid_t pid)
{
	for (int i = 0; i < SLOTS_MAX; i++)
		if (m->pool.children[i].pid == pid)
			return i;
	return -1;
}

static enum exit_cause classify_exit(const struct child *w, int status)
{
	if (w->killed_for_timeout)
		return EXIT_CAUSE_TIMEOUT;
	if (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_RECYCLED)
		return EXIT_CAUSE_RECYCLED;
	if (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_RSS)
		return EXIT_CAUSE_RSS;
	if (w->stopping && WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_STOPPED)
		return EXIT_CAUSE_STOPPED;
	if (w->stopping && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return EXIT_CAUSE_STOPPED; /* grace period over, or fast stop */
	return WIFSIGNALED(status) ? EXIT_CAUSE_SIGNAL : EXIT_CAUSE_CODE;
}

/* A worker that died mid-connection leaves that connection accepted but neither
 * completed nor failed: count it as an error so the totals still add up. */
static void fold_retired_counters(struct master *m, int slot)
{
	struct sb_slot *s = &m->pool.slots[slot];
	uint64_t ended = sb_get(&s->counters[C_COMPLETED]) + sb_get(&s->counters[C_ERR_TIMEOUT]) +
	                 sb_get(&s->counters[C_ERR_RESET]) + sb_get(&s->counters[C_ERR_OTHER]) +
	                 sb_get(&s->counters[C_ERR_EVICTED]);
	uint64_t accepted = sb_get(&s->counters[C_ACCEPTED]);

	if (accepted > ended)
		sb_add(&s->counters[C_ERR_OTHER], accepted - ended);
	for (int i = 0; i < C_COUNT; i++)
		m->pool.children[slot].slot_counters[i] += sb_get(&s->counters[i]);
	scoreboard_fold(&m->pool.retired, s);
	scoreboard_reset_slot(s);
}

/* Whatever --min-uptime says, failed starts cost at least FAILED_START_COST_NS each
 * on average: a virtual clock (fail_tat_ns) moves on by that much per failed start,
 * and nothing is spawned while it runs more than FAILED_START_BURST_NS ahead of real
 * time. A pool whose every start fails therefore forks at most ~10 workers per second
 * in the long run, even when its workers reach accept() before dying (which ends
 * each episode) or --min-uptime is 0. A healthy pool never pays it. */
#define FAILED_START_COST_NS (100 * NS_PER_MS)
#define FAILED_START_BURST_NS (NS_PER_SEC)

static uint64_t spawn_gate_ns(const struct master *m)
{
	return m->fail_tat_ns > FAILED_START_BURST_NS ? m->fail_tat_ns - FAILED_START_BURST_NS : 0;
}

/* One step of back-off per failed probe, never one per reaped worker: the workers
 * of a batch that fails together (spawned before the last step was taken) add
 * nothing; a worker spawned since (in back-off: the single probe) adds a step. */
static void note_failed_start(struct master *m, uint64_t now, int slot, const struct child *w)
{
	uint64_t gate;

	if (m->pool.failed_starts == 0) {
		m->pool.crash_loop_since_ns = now;
		m->episode_seq = m->spawns;
		m->step_seq = 0;
		m->pool.failed_probes = 0;
		m->pool.backoff_ns = 0;
	}
	m->pool.failed_starts++;
	m->fail_tat_ns = (m->fail_tat_ns > now ? m->fail_tat_ns : now) + FAILED_START_COST_NS;
	if (m->pool.failed_probes == 0 || w->spawn_seq > m->step_seq) {
		m->pool.failed_probes++;
		m->step_seq = m->spawns;
		m->pool.backoff_ns = m->pool.backoff_ns ? m->pool.backoff_ns * 2 : BACKOFF_FIRST_NS;
		if (m->pool.backoff_ns > BACKOFF_MAX_NS)
			m->pool.backoff_ns = BACKOFF_MAX_NS;
		m->pool.next_spawn_ns = now + m->pool.backoff_ns;
	}
	gate = spawn_gate_ns(m);
	if (m->pool.next_spawn_ns < gate)
		m->pool.next_spawn_ns = gate;
	log_warn("crash loop: slot %d failed to start; %u failed starts, %u failed probes "
	         "in a row, next start in %.1f s",
	         slot, m->pool.failed_starts, m->pool.failed_probes,
	         (double)(m->pool.next_spawn_ns - now) / NS_PER_SEC);
}

/* A failed start is a worker that never proved it can work: it died before it
 * first entered accept() (whatever killed it), or it left on its own (an exit code
 * other than "stopped" or "recycled", or a crash signal) having served nothing,
 * whatever its age. Restarting those at once would only make a fork storm. A ready
 * worker killed from outside (SIGKILL, SIGTERM: an operator, the OOM killer), or one
 * that served and then died, is replaced at once: the pool itself is healthy. */
static int is_failed_start(const struct master *m, const struct exit_record *r, int status,
                           int was_ready)
{
	if (m->pool.stopping || (r->cause != EXIT_CAUSE_SIGNAL && r->cause != EXIT_CAUSE_CODE))
		return 0;
	if (!was_ready)
		return 1;
	if (r->connections > 0)
		return 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status) != WORKER_EXIT_STOPPED &&
		       WEXITSTATUS(status) != WORKER_EXIT_RECYCLED &&
		       WEXITSTATUS(status) != WORKER_EXIT_RSS;
	switch (WTERMSIG(status)) {
	case SIGSEGV:
	case SIGBUS:
	case SIGILL:
	case SIGFPE:
	case SIGABRT:
		return 1;
	default:
		return 0;
	}
}

/* An exit for --max-rss says by how much, from the RSS the worker last published
 * and the limit it was started with (a reload may have changed it since). */
static void describe_rss_exit(const struct child *w, const struct exit_record *r, char *buf,
                              size_t len)
{
	buf[0] = '\0';
	if (r->cause == EXIT_CAUSE_RSS)
		snprintf(buf, len, " (rss %.1f MiB above --max-rss %.1f MiB)",
		         (double)r->rss_bytes / (1 << 20), (double)w->max_rss / (1 << 20));
}

static void record_exit(struct master *m, int slot, int status, const struct rusage *ru,
                        uint64_t now)
{
	struct child *w = &m->pool.children[slot];
	struct exit_record *r = &w->last_exit;
	char cause[96], rss[96];
	int was_ready;

	r->valid = 1;
	r->when = time(NULL);
	r->pid = w->pid;
	r->cause = classify_exit(w, status);
	r->status = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
	r->core = WIFSIGNALED(status) && WCOREDUMP(status);
	r->lifetime_ns = now - w->started_ns;
	r->connections = sb_get(&m->pool.slots[slot].counters[C_ACCEPTED]);
	r->rss_bytes = sb_get(&m->pool.slots[slot].rss_bytes);
	/* Exact, from the kernel: nothing of it is lost with the worker's last sample. */
	r->cpu_ns =
		(uint64_t)ru->ru_utime.tv_sec * NS_PER_SEC + (uint64_t)ru->ru_utime.tv_usec * 1000 +
		(uint64_t)ru->ru_stime.tv_sec * NS_PER_SEC + (uint64_t)ru->ru_stime.tv_usec * 1000;
	m->pool.retired_cpu_ns += r->cpu_ns;
	w->slot_cpu_ns += r->cpu_ns;
	was_ready = sb_state(&m->pool.slots[slot]) != WS_STARTING;
	m->pool.exits[r->cause]++;
	m->pool.recent_exits[m->pool.recent_next++ % RECENT_EXITS] = *r;
	exit_record_describe(r, cause, sizeof cause);
	describe_rss_exit(w, r, rss, sizeof rss);
	log_msg(r->cause == EXIT_CAUSE_STOPPED || r->cause == EXIT_CAUSE_RECYCLED ||
	                        r->cause == EXIT_CAUSE_RSS
	                ? LOG_INFO
	                : LOG_WARN,
	        "worker exited: slot %d pid %ld cause %s%s after %.3f s, %llu connections", slot,
	        (long)w->pid, cause, rss, (double)r->lifetime_ns / NS_PER_SEC,
	        (unsigned long long)r->connections);
	if (is_failed_start(m, r, status, was_ready))
		note_failed_start(m, now, slot, w);
}

static void reap_children(struct master *m, uint64_t now)
{
	for (;;) {
		int status, slot;
		struct rusage ru;
		/* wait4: waitpid() that also says the child's CPU time */
		pid_t pid = wait4(-1, &status, WNOHANG, &ru);

		if (pid == 0 || (pid < 0 && errno == ECHILD))
			return;
		if (pid < 0) {
			if (errno != EINTR)
				log_error("wait4: %s", strerror(errno));
			if (errno != EINTR)
				return;
			continue;
		}
		if (upgrade_reaped(&m->upgrade, pid, status))
			continue; /* the new master of a binary upgrade */
		slot = find_slot_by_pid(m, pid);
		if (slot < 0) {
			log_warn("reaped unknown child pid %ld", (long)pid);
			continue;
		}
		record_exit(m, slot, status, &ru, now);
		fold_retired_counters(m, slot);
		m->pool.children[slot].pid = 0;
		m->pool.children[slot].stopping = 0;
	}
}

/* ---- supervision ---- */

static void signal_worker(struct child *w, int sig, uint64_t now)
{
	if (kill(w->pid, sig) < 0 && errno != ESRCH)
		log_error("kill %ld: %s", (long)w->pid, strerror(errno));
	w->signalled_ns = now;
}

static void stop_worker(struct master *m, int slot, uint64_t now)
{
	m->pool.children[slot].stopping = 1;
	signal_worker(&m->pool.children[slot], SIGTERM, now);
}

/* A busy worker whose counters have not moved for --worker-timeout is stuck. Each is
 * judged by the limit of its own configuration: after a reload, an older worker still
 * serves with the per-connection waits it was started with. */
static void kill_hung_workers(struct master *m, uint64_t now)
{
	for (int i = 0; i < SLOTS_MAX; i++) {
		struct child *w = &m->pool.children[i];
		struct sb_slot *s = &m->pool.slots[i];
		uint64_t mark, limit = w->hang_limit_ns;

		if (!child_is_live(w) || w->killed_for_timeout)
			continue;
		mark = sb_get(&s->counters[C_ACCEPTED]) + sb_get(&s->counters[C_BYTES_IN]) +
		       sb_get(&s->counters[C_BYTES_OUT]);
		if (sb_state(s) != WS_BUSY || mark != w->progress_mark) {
			w->progress_mark = mark;
			w->progress_ns = now;
			continue;
		}
		if (limit == 0 || now - w->progress_ns < limit)
			continue;
		hang_report_log(&m->pool, i, now, now - w->progress_ns);
		w->killed_for_timeout = 1;
		signal_worker(w, SIGKILL, now);
	}
}

/* ---- pressure (pressure.h) ---- */

static int idle_workers(const struct master *m)
{
	int n = 0;

	for (int i = 0; i < SLOTS_MAX; i++)
		if (child_is_live(&m->pool.children[i]) && !m->pool.children[i].stopping &&
		    sb_state(&m->pool.slots[i]) == WS_IDLE)
			n++;
	return n;
}

/* Every live worker's slot, read as the worker publishes it: the state and
 * conn_seq (acquire) first, so that the bytes and the start read after them are
 * this connection's or a later one's; the clock after every read, so that a
 * change is never dated before it happened (progress_see). Called at every turn
 * of the loop, so the stall of a connection is known to a turn (100 ms while no
 * worker is idle) when pressure begins. Returns the sample's time; the busy
 * connections go into c, *n of them. */
static uint64_t sample_progress(struct master *m, struct evict_candidate *c, size_t *n)
{
	struct {
		enum worker_state st;
		uint64_t seq, bytes, start;
	} r[SLOTS_MAX];
	uint64_t now;

	for (int i = 0; i < SLOTS_MAX; i++) {
		struct sb_slot *s = &m->pool.slots[i];

		if (!child_is_live(&m->pool.children[i]))
			continue;
		r[i].st = sb_state(s);
		r[i].seq = atomic_load_explicit(&s->conn_seq, memory_order_acquire);
		r[i].bytes = sb_get(&s->counters[C_BYTES_IN]) + sb_get(&s->counters[C_BYTES_OUT]);
		r[i].start = sb_get(&s->busy_since_ns);
	}
	now = clock_now_ns();
	*n = 0;
	for (int i = 0; i < SLOTS_MAX; i++) {
		uint64_t idle;

		if (!child_is_live(&m->pool.children[i]))
			continue;
		idle = progress_see(&m->seen[i], r[i].seq, r[i].bytes, r[i].start, now);
		/* A worker between keep-alive requests (the http service) serves nobody
		 * right now: it goes first, at once, whatever its idle time. */
		if (r[i].st == WS_KEEPALIVE && r[i].seq != 0)
			c[(*n)++] = (struct evict_candidate){ i, r[i].seq, r[i].bytes, UINT64_MAX };
		else if (r[i].st == WS_BUSY && r[i].seq != 0)
			c[(*n)++] = (struct evict_candidate){ i, r[i].seq, r[i].bytes, idle };
	}
	return now;
}

/* One connection freed per queued one, the longest stalled first, once stalled
 * longer than the limit for this queue (pressure_idle_limit). The target's seq,
 * and the byte count that showed it stalled, are written before the signal; the
 * worker drops only a match that has moved nothing since (worker.c). A worker
 * already asked about the same connection is asked again only after RESIGNAL_NS:
 * the signal may have landed while it was not blocked. */
static void evict_stalled(struct master *m, uint64_t now, struct evict_candidate *c, size_t n)
{
	uint64_t limit = pressure_idle_limit(seconds_to_ns(m->cfg->pressure_idle), n,
	                                     m->pool.pressure.queue);
	size_t k = pressure_pick(c, n, limit, (size_t)m->pool.pressure.queue);
	uint64_t due = pressure_next_due(c, n, limit);

	m->next_judge_ns = due == UINT64_MAX ? 0 : now + due;
	for (size_t i = 0; i < k; i++) {
		struct child *w = &m->pool.children[c[i].slot];

		uint64_t judged = c[i].bytes | (c[i].idle_ns == UINT64_MAX ? SB_EVICT_YIELD : 0);

		if (w->evict_seq == c[i].seq && w->evict_bytes == judged &&
		    now - w->evict_sent_ns < RESIGNAL_NS)
			continue;
		/* A new request, or a keep-alive connection asked again after it moved. */
		if (w->evict_seq != c[i].seq || w->evict_bytes != judged) {
			m->pool.pressure.evict_requests++;
			m->pool.pressure.episode_evictions++;
			if (c[i].idle_ns == UINT64_MAX)
				log_debug("pressure: asking slot %d pid %ld to give up its idle "
				          "keep-alive connection",
				          c[i].slot, (long)w->pid);
			else
				log_debug("pressure: asking slot %d pid %ld to drop its connection "
				          "(no progress for %.1f s)",
				          c[i].slot, (long)w->pid,
				          (double)c[i].idle_ns / NS_PER_SEC);
		}
		/* The count it was judged by, then the seq (release): a worker that reads
		 * the seq (acquire) reads this count or a later sample's. */
		atomic_store_explicit(&m->pool.slots[c[i].slot].evict_bytes, judged,
		                      memory_order_relaxed);
		atomic_store_explicit(&m->pool.slots[c[i].slot].evict_seq, c[i].seq,
		                      memory_order_release);
		w->evict_seq = c[i].seq;
		w->evict_bytes = judged;
		w->evict_sent_ns = now;
		if (kill(w->pid, SIGUSR2) < 0 && errno != ESRCH)
			log_error("kill %ld SIGUSR2: %s", (long)w->pid, strerror(errno));
	}
}

static void log_pressure_event(const struct master *m, enum pressure_event ev, uint64_t now)
{
	const struct pool_pressure *p = &m->pool.pressure;

	if (ev == PRESSURE_BEGAN)
		log_warn("pressure: all %d workers are busy and %llu connections wait in the "
		         "accept queue (backlog %llu); consider more --workers",
		         pool_live_count(&m->pool), (unsigned long long)p->queue,
		         (unsigned long long)p->backlog);
	else if (ev == PRESSURE_ENDED)
		log_info("pressure over after %.1f s: %llu connections asked to be dropped, "
		         "queue peaked at %llu since start",
		         (double)(p->last_active_ns - p->episode_start_ns) / NS_PER_SEC,
		         (unsigned long long)p->episode_evictions,
		         (unsigned long long)p->queue_max);
	(void)now;
}

/* Sampled at every turn of the loop; the loop turns every PRESSURE_TICK_NS while no
 * worker is idle, every PRESSURE_ACTIVE_TICK_NS while pressure is on
 * (poll_timeout_ms). Off while stopping: the queue is being drained then, and
 * nothing is evicted. The progress of every connection is sampled at each turn
 * too, pressure or not (sample_progress). */
/* An adaptive pool below MAX that may start workers now grows on the queue in this
 * turn (adapt_pool): that is capacity, so no pressure yet; the pressure rules act
 * once the pool is at MAX or its starts are held back. */
static int may_grow(const struct master *m, uint64_t now)
{
	if (!pool_is_adaptive(&m->pool) || m->pool.target >= m->pool.max_workers ||
	    m->pool.failed_starts > 0 || now < m->pool.next_spawn_ns || m->fork_failures > 0 ||
	    m->pool.slots_exhausted)
		return 0;
	/* A start that hangs (its set-up blocks) is capacity that never comes: the rule
	 * counts it as on its way, so pressure must not wait for it. */
	for (int i = 0; i < SLOTS_MAX; i++) {
		const struct child *w = &m->pool.children[i];

		if (child_is_live(w) && !w->stopping &&
		    sb_state(&m->pool.slots[i]) == WS_STARTING &&
		    now - w->started_ns > START_STUCK_NS)
			return 0;
	}
	return 1;
}

/* The stream listeners' accept queues, summed (TCP: TCP_INFO; a Unix listener's
 * queue is not read here). */
static int read_queues(struct master *m, uint64_t *queue, uint64_t *backlog)
{
	uint64_t q = 0, b = 0;
	int rc = 0, any = 0;

	for (size_t i = 0; i < m->listeners.n; i++) {
		uint64_t lq = 0, lb = 0;

		if (m->listeners.l[i].kind != LISTENER_TCP)
			continue;
		if (pressure_read_queue(m->listeners.l[i].fd, &lq, &lb) < 0) {
			rc = -1;
			continue;
		}
		any = 1;
		q += lq;
		b += lb;
	}
	*queue = q;
	if (any)
		*backlog = b;
	return rc;
}

static void watch_pressure(struct master *m, uint64_t now)
{
	struct pool_pressure *p = &m->pool.pressure;
	uint64_t queue = 0, backlog = p->backlog, sampled;
	struct evict_candidate c[SLOTS_MAX];
	size_t n;
	enum pressure_event ev;
	static int failed_logged;

	if (!m->pool.stopping && read_queues(m, &queue, &backlog) < 0 && !failed_logged) {
		failed_logged = 1;
		log_warn("pressure: TCP_INFO on the listener: %s; the accept queue is not "
		         "measured (logged once)",
		         strerror(errno));
	}
	ev = pressure_update(p, now, queue, backlog,
	                     m->pool.stopping || may_grow(m, now) ? 1 : idle_workers(m));
	log_pressure_event(m, ev, now);
	if (atomic_load_explicit(&m->pool.shared->pressure, memory_order_relaxed) != p->active)
		atomic_store_explicit(&m->pool.shared->pressure, p->active, memory_order_relaxed);
	sampled = sample_progress(m, c, &n);
	m->next_judge_ns = 0;
	if (p->active)
		evict_stalled(m, sampled, c, n);
}

/* Only a worker started during the current episode ends it, by reaching accept()
 * and then staying up --min-uptime or serving a connection: the fault that killed
 * its predecessors is gone. Older workers prove nothing about new starts (a crash
 * at start while an old worker serves must stay throttled). */
static void reset_backoff_when_stable(struct master *m, uint64_t now)
{
	uint64_t min_up = seconds_to_ns(m->pool.cfg->min_uptime);

	if (m->pool.failed_starts == 0)
		return;
	for (int i = 0; i < SLOTS_MAX; i++) {
		const struct child *w = &m->pool.children[i];
		struct sb_slot *s = &m->pool.slots[i];

		if (!child_is_live(w) || w->stopping || w->spawn_seq <= m->episode_seq ||
		    sb_state(s) == WS_STARTING)
			continue;
		if (now - w->started_ns < min_up && sb_get(&s->counters[C_ACCEPTED]) == 0)
			continue;
		log_info("workers start cleanly again after %u failed starts: back-off reset",
		         m->pool.failed_starts);
		m->pool.failed_starts = 0;
		m->pool.failed_probes = 0;
		m->pool.backoff_ns = 0;
		/* The probe's failure set the next start a whole back-off away: fill the
		 * pool now, not up to 30 s later (the failed-start rate bound aside). */
		m->pool.next_spawn_ns = spawn_gate_ns(m) > now ? spawn_gate_ns(m) : now;
		return;
	}
}

/* In back-off one probe runs at a time: the next is started only once the last one
 * has failed (and its back-off passed) or ended the episode. */
static int probe_running(const struct master *m)
{
	for (int i = 0; i < SLOTS_MAX; i++) {
		const struct child *w = &m->pool.children[i];

		if (child_is_live(w) && !w->stopping && w->spawn_seq > m->episode_seq)
			return 1;
	}
	return 0;
}

struct pool_count {
	int current;       /* current generation, not stopping */
	int current_ready; /* of those, reached accept() */
	int old;           /* older generation, not yet told to stop */
};

static struct pool_count count_pool(const struct master *m)
{
	struct pool_count c = { 0, 0, 0 };

	for (int i = 0; i < SLOTS_MAX; i++) {
		const struct child *w = &m->pool.children[i];

		if (!child_is_live(w) || w->stopping)
			continue;
		if (w->generation != m->pool.generation) {
			c.old++;
			continue;
		}
		c.current++;
		if (sb_state(&m->pool.slots[i]) != WS_STARTING)
			c.current_ready++;
	}
	return c;
}

/* Stop n workers: older generations first, then the highest slots, so a scaled-down
 * pool keeps the low slots. */
static void stop_surplus(struct master *m, int n, int old_only, uint64_t now)
{
	for (int pass = 0; pass < 2 && n > 0; pass++) {
		for (int i = SLOTS_MAX - 1; i >= 0 && n > 0; i--) {
			struct child *w = &m->pool.children[i];
			int old = w->generation != m->pool.generation;

			if (!child_is_live(w) || w->stopping || (pass == 0) != old)
				continue;
			stop_worker(m, i, now);
			n--;
		}
		if (old_only)
			return;
	}
}

static void maintain_pool(struct master *m, uint64_t now)
{
	struct pool_count c = count_pool(m);
	int ready = c.current_ready < m->pool.target ? c.current_ready : (int)m->pool.target;

	/* Rolling restart: one old worker leaves for each new one that accepts. */
	if (c.old > 0 && c.old + ready > m->pool.target)
		stop_surplus(m, c.old + ready - (int)m->pool.target, 1, now);
	if (c.current > m->pool.target)
		stop_surplus(m, c.current - (int)m->pool.target, 0, now);
	if (c.current < m->pool.target && m->pool.failed_starts > 0) {
		/* In a crash loop, probe with one worker at a time. */
		if (now >= m->pool.next_spawn_ns && !probe_running(m))
			spawn_worker(m, now);
		return;
	}
	while (c.current < m->pool.target && now >= m->pool.next_spawn_ns) {
		if (spawn_worker(m, now) < 0)
			break;
		c.current++;
	}
}

/* ---- the adaptive pool (adapt.h) ---- */

/* The idle worker of the current generation in the highest slot (a shrunk pool
 * keeps the low slots), or -1. */
static int pick_idle_worker(const struct master *m)
{
	for (int i = SLOTS_MAX - 1; i >= 0; i--) {
		const struct child *w = &m->pool.children[i];

		if (child_is_live(w) && !w->stopping && w->generation == m->pool.generation &&
		    sb_state(&m->pool.slots[i]) == WS_IDLE)
			return i;
	}
	return -1;
}

static void sample_for_rule(const struct master *m, uint64_t now, struct adapt_input *in)
{
	const struct pool *p = &m->pool;

	*in = (struct adapt_input){
		.now_ns = now,
		.target = p->target,
		.queue = p->pressure.queue,
		.min = p->min_workers,
		.max = p->max_workers,
		.low = p->spare_low,
		.high = p->spare_high,
		.backoff = now < p->next_spawn_ns,
	};
	for (int i = 0; i < SLOTS_MAX; i++) {
		const struct child *w = &p->children[i];
		enum worker_state st;

		if (!child_is_live(w) || w->stopping)
			continue;
		if (w->generation != p->generation) {
			in->rolling = 1;
			continue;
		}
		st = sb_state(&p->slots[i]);
		in->live++;
		in->idle += st == WS_IDLE;
		in->starting += st == WS_STARTING;
	}
	/* In a crash loop the rule holds while a start it asked for is still owed (the
	 * probes, one at a time, go on in maintain_pool); with none owed it may ask
	 * again, so a pool scaled down during an episode still gets the probe that can
	 * end it. */
	if (p->failed_starts > 0 && p->target > in->live)
		in->backoff = 1;
}

/* One turn of the rule, after the queue was sampled (watch_pressure) and before the
 * pool is brought to its target (maintain_pool spawns what a growth added). A
 * shrink stops one idle worker here: it is in accept(), so it leaves between
 * connections (a connection it takes meanwhile is finished first). */
static void adapt_pool(struct master *m, uint64_t now)
{
	struct adapt_input in;
	struct adapt_decision d;
	uint64_t before = m->pool.adapt.last_ns;
	char why[160];
	int slot;

	sample_for_rule(m, now, &in);
	/* The worker a shrink would stop, picked now: with none idle the rule sees none
	 * (so a shrink it counts is one it makes). */
	slot = pick_idle_worker(m);
	if (slot < 0)
		in.idle = 0;
	d = adapt_decide(&m->pool.adapt, &in);
	if (m->pool.adapt.last_ns == before)
		return;
	adapt_describe(&m->pool.adapt, why, sizeof why);
	if (d.action == ADAPT_HOLD) {
		log_warn("adaptive pool: %s", why); /* said once per cause */
		return;
	}
	log_info("adaptive pool: %s", why);
	if (d.action == ADAPT_SHRINK && d.reason == ADAPT_WHY_SURPLUS)
		stop_worker(m, slot, now); /* a connection it takes meanwhile is finished first */
	m->pool.target = d.target;
}

/* SIGTERM may land just before a worker blocks in accept4() (or, between keep-alive
 * requests, in its wait): its flag is set but nothing wakes it. Idle workers told to
 * stop are signalled again until they go. */
static void resignal_stopping(struct master *m, uint64_t now)
{
	for (int i = 0; i < SLOTS_MAX; i++) {
		struct child *w = &m->pool.children[i];
		enum worker_state st;

		if (!child_is_live(w) || !w->stopping || now - w->signalled_ns < RESIGNAL_NS)
			continue;
		st = sb_state(&m->pool.slots[i]);
		if (st == WS_IDLE || st == WS_STARTING || st == WS_KEEPALIVE)
			signal_worker(w, SIGTERM, now);
	}
}

static void kill_all(struct master *m, uint64_t now)
{
	for (int i = 0; i < SLOTS_MAX; i++) {
		if (!child_is_live(&m->pool.children[i]))
			continue;
		m->pool.children[i].stopping = 1;
		signal_worker(&m->pool.children[i], SIGKILL, now);
	}
	m->killed_all = 1;
}

static void advance_shutdown(struct master *m, uint64_t now)
{
	if (m->killed_all || now < m->stop_deadline_ns)
		return;
	log_warn("grace period over: killing %d workers still serving", pool_live_count(&m->pool));
	kill_all(m, now);
}

/* ---- requests ---- */

/* The spare band for the current bounds: the configured one (--spare), or the
 * defaults for these bounds; neither end above MAX. */
static void set_spare(struct master *m)
{
	struct pool *p = &m->pool;
	long low = m->cfg->spare_low, high = m->cfg->spare_high;

	/* An adaptive pool shrinks only while more than HIGH are idle: HIGH stays below
	 * MAX (defaults of a small MAX, or a range scaled down under a given HIGH). */
	long cap = p->min_workers < p->max_workers ? p->max_workers - 1 : p->max_workers;

	if (low < 0)
		adapt_default_spare(p->min_workers, p->max_workers, &low, &high);
	p->spare_high = high > cap ? cap : high;
	p->spare_low = low > p->spare_high ? p->spare_high : low;
}

/* New bounds; the target is kept within them (the rule moves it from there). */
static void set_bounds(struct master *m, long min, long max)
{
	struct pool *p = &m->pool;

	p->min_workers = min;
	p->max_workers = max;
	if (p->target < min)
		p->target = min;
	if (p->target > max)
		p->target = max;
	set_spare(m);
}

/* `scale N` (min == max: a fixed pool of N) or `scale MIN..MAX`. */
static int master_scale(struct master *m, long min, long max, char *err, size_t errlen)
{
	if (min < 1 || max > WORKERS_MAX || min > max) {
		snprintf(err, errlen, "worker count must be 1..%d with MIN <= MAX, got %ld..%ld",
		         WORKERS_MAX, min, max);
		return -1;
	}
	if (m->pool.stopping) {
		snprintf(err, errlen, "server is stopping");
		return -1;
	}
	if (min == max)
		log_info("scaling from %ld to %ld workers", m->pool.target, min);
	else
		log_info("scaling to an adaptive pool of %ld..%ld workers (now %ld)", min, max,
		         m->pool.target);
	if (min == max)
		m->pool.target = min;
	set_bounds(m, min, max);
	return 0;
}

/* The configuration built again (config_reload.h) and installed: a file that does
 * not parse changes nothing. A `workers` that the file changed sets the target; one
 * it left alone keeps a count scaled since. */
static int reread_config(struct master *m, char *msg, size_t msglen)
{
	struct config next;
	char note[256];

	if (config_reload(m->cfg, &next, note, sizeof note, msg, msglen) < 0)
		return -1;
	if (config_apply(m->cfg, &next, &m->listeners, msg, msglen) < 0) {
		config_release(&next);
		return -1;
	}
	int bounds = next.workers != m->cfg->workers || next.workers_max != m->cfg->workers_max;

	config_release(m->cfg);
	*m->cfg = next;
	if (bounds) {
		if (m->cfg->workers == m->cfg->workers_max)
			m->pool.target = m->cfg->workers;
		set_bounds(m, m->cfg->workers, m->cfg->workers_max);
	} else {
		set_spare(m);
	}
	snprintf(msg, msglen, " (%s re-read)%s", m->cfg->config_path, note);
	return 0;
}

/* Re-reads the --config file, if any, then starts the rolling restart. Returns 0
 * with msg "" or " (FILE re-read)[; needs a restart to take effect: KEYS]", or -1
 * with msg saying why nothing changed. */
static int master_reload(struct master *m, const char *why, char *msg, size_t msglen)
{
	msg[0] = '\0';
	if (m->pool.stopping) {
		snprintf(msg, msglen, "server is stopping");
		return -1;
	}
	if (m->cfg->config_path && reread_config(m, msg, msglen) < 0) {
		log_error("reload (%s) refused, nothing changed: %s", why, msg);
		/* RELOADING=1 now, READY=1 at the next tick (no old worker to wait for): a
		 * manager waiting on the reload (Type=notify-reload) is answered at once. */
		notify_reloading();
		return -1;
	}
	m->pool.generation++;
	log_info("reloading (%s): rolling restart to generation %u", why, m->pool.generation);
	notify_reloading();
	return 0;
}

/* A graceful stop: every stream listener this master made stops taking new
 * connections (TCP: the SYN filter; Unix: its file removed, so connect() fails),
 * and the workers, told through the shared header before their SIGTERM, empty the
 * queues. Inherited listeners are left alone. */
static void begin_drain(struct master *m)
{
	unsigned mask = 0;

	for (size_t i = 0; i < m->listeners.n; i++) {
		struct listener *l = &m->listeners.l[i];

		if (l->inherited || l->kind == LISTENER_UDP)
			continue;
		if (l->kind == LISTENER_TCP && drain_begin(l->fd) < 0)
			continue;
		if (l->kind == LISTENER_UNIX) {
			listeners_unlink(l);
			if (set_nonblocking(l->fd) < 0)
				continue;
		}
		mask |= 1u << i;
	}
	if (!mask)
		return;
	m->pool.draining = 1;
	atomic_store_explicit(&m->pool.shared->drain, mask, memory_order_release);
}

static void take_over_when_old_gone(struct master *m);

static void master_stop(struct master *m, int fast, const char *why)
{
	uint64_t now = clock_now_ns();

	if (m->pool.stopping && !fast)
		return;
	/* Whose listeners to drain: the old master may have gone since the last tick. */
	take_over_when_old_gone(m);
	log_info("stopping (%s)%s", why, fast ? ": killing workers now" : "");
	if (!m->pool.stopping) {
		m->pool.stopping = 1;
		notify_stopping();
		m->stop_deadline_ns = now + seconds_to_ns(m->pool.cfg->grace);
		/* Before the workers hear of it: each then empties the queue and exits. */
		if (!fast)
			begin_drain(m);
		for (int i = 0; i < SLOTS_MAX; i++)
			if (child_is_live(&m->pool.children[i]))
				stop_worker(m, i, now);
	}
	if (fast)
		kill_all(m, now);
}

/* ---- a crash loop that does not end ---- */

/* The pool still needs a start that has not come: fewer workers of the current
 * generation than the target (than MIN, for an adaptive pool), counting only those started before
 * the episode (a worker started during it is on trial until it ends the episode). A pool scaled
 * down to the workers it has needs no start, so a lingering episode is no failure. */
static int pool_short(const struct master *m)
{
	long have = 0;

	for (int i = 0; i < SLOTS_MAX; i++) {
		const struct child *w = &m->pool.children[i];

		if (child_is_live(w) && !w->stopping && w->generation == m->pool.generation &&
		    w->spawn_seq <= m->episode_seq)
			have++;
	}
	/* An adaptive pool at MIN or above serves: a growth that cannot start is no
	 * outage (it is retried with the back-off). */
	return have < (pool_is_adaptive(&m->pool) ? m->pool.min_workers : m->pool.target);
}

/* An episode that has lasted --crash-loop-limit while the pool is short means every
 * start in that time failed: the server is failing, not running (status, STATUS=,
 * stats say so), and with --crash-loop-exit it stops gracefully and exits
 * PREFORKD_EXIT_CRASH_LOOP, for a supervisor to restart it or give up. It recovers
 * (running again) when the episode ends: a start succeeded. */
static void judge_crash_loop(struct master *m, uint64_t now)
{
	uint64_t limit = seconds_to_ns(m->cfg->crash_loop_limit);
	int failing = limit > 0 && m->pool.failed_starts > 0 &&
	              now - m->pool.crash_loop_since_ns >= limit && pool_short(m);

	if (failing == m->pool.crash_loop_failing)
		return;
	m->pool.crash_loop_failing = failing;
	if (!failing) {
		log_info("crash loop: no longer failing: %s",
		         m->pool.failed_starts ? "the pool needs no more starts"
		                               : "workers start cleanly again");
		return;
	}
	log_error("crash loop: every worker start has failed for %.1f s (--crash-loop-limit "
	          "%g): failing; %u failed starts in a row, %d workers running (target %ld)",
	          (double)(now - m->pool.crash_loop_since_ns) / NS_PER_SEC,
	          m->cfg->crash_loop_limit, m->pool.failed_starts, pool_live_count(&m->pool),
	          m->pool.target);
	if (!m->cfg->crash_loop_exit)
		return;
	log_error("crash loop: --crash-loop-exit: stopping, exit status %d",
	          PREFORKD_EXIT_CRASH_LOOP);
	m->exit_code = PREFORKD_EXIT_CRASH_LOOP;
	master_stop(m, 0, "crash loop, --crash-loop-exit");
}

/* maint on|off: only the agent's line changes (agent.h); the pool serves on, so
 * connections a balancer still sends (or that come around it) are served. */
static void apply_maint(struct master *m, const struct admin_pending *p)
{
	int was = m->pool.maint;
	const char *agent = m->agent.open ? "" : " (no --agent-listen: nobody is told)";

	m->pool.maint = p->req.maint;
	if (was != m->pool.maint)
		log_info("maintenance %s (admin, uid %u pid %ld)", m->pool.maint ? "on" : "off",
		         (unsigned)p->uid, (long)p->pid);
	admin_reply_ok(&m->admin, p->token, "ok: maintenance %s%s%s",
	               m->pool.maint ? "on: the agent says maint" : "off: the agent says ready",
	               was == m->pool.maint ? " (unchanged)" : "", agent);
}

/* The admin module only asks (admin.h): each request it has queued is carried out
 * here, as a step of this loop, and answered. `stop` is answered before it acts, and
 * the loop does not end while that answer is being sent, so the client that asked
 * hears it before the server goes away. */
/* ---- binary upgrade (upgrade.h) ---- */

#define OLDBIN_SUFFIX ".oldbin"
#define ROLLBACK_SLACK_NS (5 * NS_PER_SEC)

/* The listeners to hand over, as (fd, name) pairs: every one goes, in order, under
 * a name no reserved one takes; the new master matches them to its --listen by
 * address (listeners.c). Returns how many were written to FDS. */
static size_t handover_listeners(const struct master *m, struct upgrade_fd *fds)
{
	for (size_t i = 0; i < m->listeners.n; i++)
		fds[i] = (struct upgrade_fd){ m->listeners.l[i].fd,
			                      m->listeners.l[i].inherited
			                              ? UPGRADE_FD_LISTEN_INHERITED
			                              : UPGRADE_FD_LISTEN_OWNED };
	return m->listeners.n;
}

/* The listeners, then the admin socket and the two instance locks: the new master
 * holds the same open file descriptions, so the locks stay held across the exec. */
static size_t handover_fds(const struct master *m, struct upgrade_fd *fds)
{
	size_t n = handover_listeners(m, fds);

	if (m->admin.open) {
		fds[n++] = (struct upgrade_fd){ m->admin.ep.listen_fd, UPGRADE_FD_ADMIN };
		fds[n++] = (struct upgrade_fd){ m->admin.lock_fd, UPGRADE_FD_ADMIN_LOCK };
	}
	if (m->pidfile.lock_fd >= 0)
		fds[n++] = (struct upgrade_fd){ m->pidfile.lock_fd, UPGRADE_FD_PID_LOCK };
	/* The same --metrics-listen and --agent-listen: the new master could not bind
	 * them while this one holds them. */
	if (m->metrics.open)
		fds[n++] = (struct upgrade_fd){ m->metrics.ep.listen_fd, UPGRADE_FD_METRICS };
	if (m->agent.open)
		fds[n++] = (struct upgrade_fd){ m->agent.ep.listen_fd, UPGRADE_FD_AGENT };
	return n;
}

/* SIGUSR2 or `upgrade [PATH]`: the pidfile becomes PIDFILE.oldbin (the new master
 * writes its own), then the new binary starts with our sockets. 0, or -1 with the
 * refusal in ERR and nothing changed. */
static int begin_upgrade(struct master *m, const char *path, char *err, size_t errlen)
{
	struct upgrade_fd fds[ACTIVATION_FDS_MAX];
	size_t n;
	char perr[512];

	if (m->pool.stopping) {
		snprintf(err, errlen, "the server is stopping");
		return -1;
	}
	if (m->upgrade_ready_fd >= 0 || m->takeover_pending) {
		snprintf(err, errlen,
		         "this master's own upgrade is not over: the old master (pid %ld) is "
		         "still there",
		         (long)m->old_master);
		return -1;
	}
	if (m->upgrade.phase != UPGRADE_IDLE) {
		snprintf(err, errlen,
		         "an upgrade is already in progress (new master pid %ld, started %.1f s "
		         "ago)",
		         (long)m->upgrade.pid,
		         (double)(clock_now_ns() - m->upgrade.started_ns) / NS_PER_SEC);
		return -1;
	}
	if (!path || !path[0])
		path = upgrade_default_path();
	if (upgrade_check_path(path, err, errlen) < 0)
		return -1;
	n = handover_fds(m, fds);
	if (pidfile_rename(&m->pidfile, OLDBIN_SUFFIX, perr, sizeof perr) < 0) {
		snprintf(err, errlen, "pidfile: %s", perr);
		return -1;
	}
	/* A rolled-back new master has --grace for its workers' connections, and a
	 * little more to exit, before SIGKILL. */
	if (upgrade_spawn(&m->upgrade, path, fds, n, seconds_to_ns(m->cfg->upgrade_timeout),
	                  seconds_to_ns(m->cfg->grace) + ROLLBACK_SLACK_NS, err, errlen) < 0) {
		if (pidfile_rename(&m->pidfile, OLDBIN_SUFFIX, perr, sizeof perr) < 0)
			log_error("upgrade: restoring the pidfile: %s", perr);
		return -1;
	}
	log_info("upgrade: started %s as pid %ld with %zu fds; waiting up to %.1f s for its "
	         "workers",
	         path, (long)m->upgrade.pid, n + 1, m->cfg->upgrade_timeout);
	return 0;
}

static void request_upgrade(struct master *m, const struct admin_pending *p)
{
	char err[768];

	if (begin_upgrade(m, p->req.path, err, sizeof err) < 0) {
		log_warn("upgrade refused: %s", err);
		admin_reply_error(&m->admin, p->token, "upgrade refused: %s", err);
		return;
	}
	/* Answered with the outcome: the client's wait has no deadline of its own. */
	m->upgrade_client = 1;
	m->upgrade_token = p->token;
}

/* The new master's workers serve. Ours stop as on a graceful stop but without the
 * drain: the queue is shared with the new workers, so what is queued is theirs to
 * take, and the listeners live on in the new master. */
static void finish_upgrade(struct master *m, uint64_t now)
{
	pid_t succ = m->upgrade.pid;

	log_info("upgrade: new master pid %ld ready after %.3f s; stopping this master's "
	         "workers",
	         (long)succ, (double)(now - m->upgrade.started_ns) / NS_PER_SEC);
	upgrade_release(&m->upgrade);
	admin_hand_over(&m->admin);
	/* A stopping master's agent-check says "drain": a load balancer must hear the
	 * new master instead. */
	if (m->metrics.open)
		endpoint_stop_accepting(&m->metrics.ep);
	if (m->agent.open)
		endpoint_stop_accepting(&m->agent.ep);
	if (m->upgrade_client)
		admin_reply_ok(&m->admin, m->upgrade_token, "ok: upgraded: new master pid %ld",
		               (long)succ);
	m->upgrade_client = 0;
	notify_main_pid((long)succ);
	/* Never drained, a Unix socket's file never removed: the new master serves
	 * them now. */
	for (size_t i = 0; i < m->listeners.n; i++)
		m->listeners.l[i].inherited = 1;
	master_stop(m, 0, "binary upgrade: handed over");
}

/* No byte: the new master is told to go, the pidfile is ours again, and this
 * master goes on as if nothing had happened. The admin client hears it once the
 * new master is gone. */
static void watch_upgrade(struct master *m, const struct pollfd *pfd, uint64_t now)
{
	char err[512];
	enum upgrade_event ev = m->pool.stopping && m->upgrade.phase == UPGRADE_WAITING
	                                ? upgrade_abort(&m->upgrade, "this master is stopping", now)
	                                : upgrade_step(&m->upgrade, pfd, now);

	switch (ev) {
	case UPGRADE_READY:
		finish_upgrade(m, now);
		break;
	case UPGRADE_FAILED:
		if (pidfile_rename(&m->pidfile, OLDBIN_SUFFIX, err, sizeof err) < 0)
			log_error("upgrade: restoring the pidfile: %s", err);
		log_error("upgrade to %s failed: %s; rolled back, pid %ld serves on",
		          m->upgrade.path, m->upgrade.why, (long)getpid());
		break;
	case UPGRADE_GONE:
		if (m->upgrade_client)
			admin_reply_error(&m->admin, m->upgrade_token,
			                  "upgrade to %s failed, rolled back: %s", m->upgrade.path,
			                  m->upgrade.why);
		m->upgrade_client = 0;
		break;
	case UPGRADE_NONE:
		break;
	}
}

/* The new master, once the old one has been told: the listeners it made and handed
 * over are this master's now, to drain at a graceful stop and, for a Unix socket,
 * to remove at exit (the file as it is now: the one the old master bound). Those
 * the old master had inherited itself (systemd's) stay inherited. Not before: a
 * new master rolled back must leave the old one's listeners as they are. */
static void own_handed_over_listeners(struct master *m)
{
	for (size_t i = 0; i < m->listeners.n; i++) {
		struct listener *l = &m->listeners.l[i];

		for (size_t k = 0; k < m->activation.n; k++) {
			const struct activation_fd *f = &m->activation.fds[k];

			if (f->fd != l->fd || strcmp(f->name, UPGRADE_FD_LISTEN_OWNED) != 0)
				continue;
			l->inherited = 0;
			if (l->kind == LISTENER_UNIX)
				l->unix_made = lstat(l->text + 5, &l->unix_st) == 0;
		}
	}
}

/* The new master: once every worker it starts with is at accept(), one byte to the
 * old master, which then stops its own. */
static void tell_old_master(struct master *m)
{
	struct pool_count c;

	if (m->upgrade_ready_fd < 0)
		return;
	c = count_pool(m);
	if (c.current_ready < m->pool.target)
		return;
	log_info("upgrade: %d workers ready; telling the old master", c.current_ready);
	upgrade_signal_ready(m->upgrade_ready_fd);
	m->upgrade_ready_fd = -1;
	m->takeover_pending = 1;
}

/* The new master, once the old one (its parent until then) is gone: the admin
 * socket's file, the listeners it made and the pidfile are this master's now. Not
 * when the byte is written: an old master whose deadline passed before it read the
 * byte rolls back, and this master's stop must then leave them as they are. */
static void take_over_when_old_gone(struct master *m)
{
	if (!m->takeover_pending || getppid() == m->old_master)
		return;
	m->takeover_pending = 0;
	admin_own_file(&m->admin);
	own_handed_over_listeners(m);
	pidfile_own(&m->pidfile);
	log_info("upgrade: the old master (pid %ld) is gone; its listeners are this master's",
	         (long)m->old_master);
}

static void apply_request(struct master *m, const struct admin_pending *p)
{
	struct admin *a = &m->admin;
	long from = m->pool.target;
	char msg[1024];
	char err[128];

	switch (p->req.cmd) {
	case ADMIN_CMD_SCALE:
		if (master_scale(m, p->req.workers, p->req.workers_max, err, sizeof err) < 0)
			admin_reply_error(a, p->token, "%s", err);
		else if (p->req.workers == p->req.workers_max)
			admin_reply_ok(a, p->token, "ok: scaling from %ld to %ld workers", from,
			               p->req.workers);
		else
			admin_reply_ok(a, p->token,
			               "ok: adaptive pool of %ld..%ld workers (now %ld, spare "
			               "%ld..%ld idle)",
			               p->req.workers, p->req.workers_max, m->pool.target,
			               m->pool.spare_low, m->pool.spare_high);
		break;
	case ADMIN_CMD_RELOAD:
		if (m->pool.stopping) {
			admin_reply_error(a, p->token, "server is stopping");
			break;
		}
		if (master_reload(m, "admin reload", msg, sizeof msg) < 0) {
			admin_reply_error(a, p->token, "reload refused, nothing changed: %s", msg);
			break;
		}
		admin_reply_ok(a, p->token, "ok: reloading: rolling restart to generation %u%s",
		               m->pool.generation, msg);
		break;
	case ADMIN_CMD_MAINT:
		apply_maint(m, p);
		break;
	case ADMIN_CMD_UPGRADE:
		request_upgrade(m, p);
		break;
	case ADMIN_CMD_STOP:
		admin_reply_ok(a, p->token, "ok: stopping preforkd (pid %ld)", (long)getpid());
		master_stop(m, 0, "admin stop");
		break;
	default: /* only the commands that change the server are queued */
		log_error("admin: '%s' queued as a request", admin_commands[p->req.cmd].name);
		admin_reply_error(a, p->token, "internal error");
		break;
	}
}

static void apply_admin_requests(struct master *m)
{
	struct admin_pending p;

	while (admin_next_request(&m->admin, &p))
		apply_request(m, &p);
}

/* SIGUSR1 and the access log: the workers hold the fd they inherited. When the path
 * is another file now (rotated), a rolling restart hands the new one to a new
 * generation; the old workers finish what they serve into the old file, which the
 * rotation left in place. The same file: nothing to do. */
static void reopen_access_log(struct master *m)
{
	char err[768];
	int rc = access_log_reopen(err, sizeof err);

	if (rc < 0)
		log_error("cannot reopen access log %s: %s; still writing to the old file",
		          access_log_path(), err);
	if (rc <= 0 || m->pool.stopping)
		return;
	m->pool.generation++;
	log_info("access log reopened (SIGUSR1): rolling restart to generation %u to "
	         "write to the new file",
	         m->pool.generation);
}

/* Each TTIN/TTOU is one step of both bounds (a fixed pool: of its size), clamped
 * to 1..WORKERS_MAX; an adaptive pool keeps its width until a bound is clamped. */
static void step_bounds(struct master *m, long step)
{
	long min = m->pool.min_workers + step, max = m->pool.max_workers + step;
	int fixed = m->pool.min_workers == m->pool.max_workers;
	char err[128];

	if (m->pool.stopping)
		return;
	min = min < 1 ? 1 : min > WORKERS_MAX ? WORKERS_MAX : min;
	max = max < 1 ? 1 : max > WORKERS_MAX ? WORKERS_MAX : max;
	if (min == m->pool.min_workers && max == m->pool.max_workers)
		return;
	if (!fixed && step > 0)
		m->pool.target += step; /* one more (fewer) worker now, as on a fixed pool */
	else if (!fixed)
		m->pool.target = m->pool.target + step < min ? min : m->pool.target + step;
	if (master_scale(m, min, max, err, sizeof err) < 0)
		log_warn("SIGTTIN/SIGTTOU ignored: %s", err);
}

static void handle_signals(struct master *m, const struct signal_counts *sig)
{
	char err[1024];

	if (sig->n[SIGQUIT])
		master_stop(m, 1, "SIGQUIT");
	if (sig->n[SIGTERM])
		master_stop(m, 0, "SIGTERM");
	if (sig->n[SIGINT])
		master_stop(m, 0, "SIGINT");
	if (sig->n[SIGHUP])
		if (master_reload(m, "SIGHUP", err, sizeof err) < 0 && m->pool.stopping)
			log_warn("SIGHUP ignored: %s", err); /* other refusals are logged there */
	if (sig->n[SIGTTIN] || sig->n[SIGTTOU])
		step_bounds(m, (long)sig->n[SIGTTIN] - (long)sig->n[SIGTTOU]);
	if (sig->n[SIGUSR1]) {
		if (log_reopen() == 0)
			log_info("log file reopened (SIGUSR1)");
		reopen_access_log(m);
	}
	if (sig->n[SIGUSR2]) {
		log_info("binary upgrade (SIGUSR2)");
		if (begin_upgrade(m, NULL, err, sizeof err) < 0)
			log_warn("SIGUSR2 ignored: upgrade refused: %s", err);
	}
}

/* ---- the loop ---- */

static int poll_timeout_ms(const struct master *m, uint64_t now)
{
	uint64_t wait = NS_PER_SEC;

	/* Stopping workers are re-signalled; starting ones (a rolling restart waits for
	 * them) are checked often so an old worker leaves as soon as its successor is
	 * ready. */
	for (int i = 0; i < SLOTS_MAX; i++) {
		const struct child *w = &m->pool.children[i];

		if (child_is_live(w) && (w->stopping || w->generation != m->pool.generation ||
		                         sb_state(&m->pool.slots[i]) == WS_STARTING)) {
			wait = RESIGNAL_NS / 4;
			break;
		}
	}
	/* A new master of an upgrade looks for its workers' readiness (tell_old_master)
	 * on the short tick too: they may all be ready before the first poll; and then
	 * for the old master's exit (take_over_when_old_gone), which nothing signals. */
	if ((m->upgrade_ready_fd >= 0 || m->takeover_pending) && wait > RESIGNAL_NS / 4)
		wait = RESIGNAL_NS / 4;
	/* Pressure needs every worker busy: sample on a short tick only then, or while
	 * it lasts (an idle pool is not woken for it). */
	if (wait > PRESSURE_TICK_NS && !m->pool.stopping &&
	    (m->pool.pressure.active || m->pool.pressure.in_episode || idle_workers(m) == 0))
		wait = PRESSURE_TICK_NS;
	/* An adaptive pool is sampled on the tick all the time: idle workers are taken
	 * without a word to the master, and growth must not wait longer than a tick, a
	 * short one while the pool may still grow (ADAPT_TICK_NS). */
	if (wait > PRESSURE_TICK_NS && !m->pool.stopping && pool_is_adaptive(&m->pool))
		wait = PRESSURE_TICK_NS;
	if (wait > ADAPT_TICK_NS && !m->pool.stopping && may_grow(m, now))
		wait = ADAPT_TICK_NS;
	if (wait > PRESSURE_ACTIVE_TICK_NS && !m->pool.stopping && m->pool.pressure.active)
		wait = PRESSURE_ACTIVE_TICK_NS;
	/* And at the moment the next busy connection may be judged stalled, not a tick
	 * after: on a loaded machine each tick comes late, and per eviction that adds up. */
	if (!m->pool.stopping && m->pool.pressure.active && m->next_judge_ns > now &&
	    m->next_judge_ns - now < wait)
		wait = m->next_judge_ns - now;
	if (m->pool.stopping && !m->killed_all && m->stop_deadline_ns > now &&
	    m->stop_deadline_ns - now < wait)
		wait = m->stop_deadline_ns - now;
	if (!m->pool.stopping && m->pool.next_spawn_ns > now && m->pool.next_spawn_ns - now < wait)
		wait = m->pool.next_spawn_ns - now;
	/* The episode becomes a failure the moment it has lasted --crash-loop-limit. */
	if (!m->pool.stopping && m->pool.failed_starts > 0 && !m->pool.crash_loop_failing &&
	    m->pool.cfg->crash_loop_limit > 0) {
		uint64_t at =
			m->pool.crash_loop_since_ns + seconds_to_ns(m->pool.cfg->crash_loop_limit);

		if (at > now && at - now < wait)
			wait = at - now;
	}
	/* A crash-loop probe ends the episode the moment it has stayed --min-uptime. */
	for (int i = 0; i < SLOTS_MAX && m->pool.failed_starts > 0; i++) {
		const struct child *w = &m->pool.children[i];
		uint64_t proven = w->started_ns + seconds_to_ns(m->pool.cfg->min_uptime);

		if (child_is_live(w) && w->spawn_seq > m->episode_seq && proven > now &&
		    proven - now < wait)
			wait = proven - now;
	}
	return (int)((wait + NS_PER_MS - 1) / NS_PER_MS);
}

/* poll() failed for a reason other than a signal (ENOMEM, or EINVAL once the fd
 * limit was lowered under us): nothing it reported is valid, but the loop must go
 * on (reap, kill the hung, keep the pool, stop on request) without spinning. So
 * wait as long as poll() would have, within 10..100 ms (a signal cuts it short),
 * then carry on with the turn as if poll() had timed out. Logged every 10 s. */
#define POLL_RETRY_NS (100 * NS_PER_MS)

static void wait_after_poll_failure(struct pollfd *pfd, int n, int timeout_ms, int err,
                                    uint64_t now)
{
	static uint64_t last_log_ns;
	uint64_t wait = (uint64_t)timeout_ms * NS_PER_MS;
	struct timespec ts;

	if (last_log_ns == 0 || now - last_log_ns >= 10 * NS_PER_SEC) {
		log_error("poll: %s; retrying every %d ms (logged at most every 10 s)",
		          strerror(err), (int)(POLL_RETRY_NS / NS_PER_MS));
		last_log_ns = now;
	}
	for (int i = 0; i < n; i++)
		pfd[i].revents = 0;
	if (timeout_ms < 0 || wait > POLL_RETRY_NS)
		wait = POLL_RETRY_NS;
	if (wait < POLL_RETRY_NS / 10)
		wait = POLL_RETRY_NS / 10; /* even a due timer: never a busy loop */
	ts.tv_sec = (time_t)(wait / NS_PER_SEC);
	ts.tv_nsec = (long)(wait % NS_PER_SEC);
	/* EINTR: a signal, which this turn takes next. */
	if (nanosleep(&ts, NULL) < 0 && errno != EINTR)
		log_error("nanosleep: %s", strerror(errno));
}

static void run_loop(struct master *m)
{
	for (;;) {
		struct pollfd pfd[1 + ADMIN_POLLFDS + 1 + METRICS_POLLFDS + AGENT_POLLFDS + 1] = {
			{ .fd = signals_fd(), .events = POLLIN }
		};
		struct pollfd *log_pfd = &pfd[1 + ADMIN_POLLFDS];
		struct pollfd *metrics_pfd = &pfd[1 + ADMIN_POLLFDS + 1];
		struct pollfd *agent_pfd = metrics_pfd + METRICS_POLLFDS;
		struct pollfd *upgrade_pfd = agent_pfd + AGENT_POLLFDS;
		uint64_t now = clock_now_ns();
		struct signal_counts sigs;
		int rc, timeout_ms;

		if (m->pool.stopping && pool_live_count(&m->pool) == 0 &&
		    !admin_answering(&m->admin) && m->upgrade.phase == UPGRADE_IDLE)
			return;
		notify_tick(&m->pool);
		admin_fill_pollfds(&m->admin, pfd + 1, now);
		*log_pfd = (struct pollfd){ .fd = log_pipe_fd(), .events = POLLIN };
		metrics_fill_pollfds(&m->metrics, metrics_pfd, now);
		agent_fill_pollfds(&m->agent, agent_pfd, now);
		upgrade_fill_pollfd(&m->upgrade, upgrade_pfd);
		timeout_ms = admin_timeout_ms(&m->admin, now, poll_timeout_ms(m, now));
		timeout_ms = upgrade_timeout_ms(&m->upgrade, now, timeout_ms);
		timeout_ms = metrics_timeout_ms(&m->metrics, now, timeout_ms);
		timeout_ms = agent_timeout_ms(&m->agent, now, timeout_ms);
		rc = poll(pfd, sizeof pfd / sizeof pfd[0], timeout_ms);
		if (rc < 0 && errno != EINTR)
			wait_after_poll_failure(pfd, sizeof pfd / sizeof pfd[0], timeout_ms, errno,
			                        now);
		now = clock_now_ns();
		if (rc > 0 && log_pfd->revents)
			log_drain_pipe();
		signals_take(&sigs);
		handle_signals(m, &sigs);
		admin_serve(&m->admin, &m->pool, pfd + 1, now);
		apply_admin_requests(m);
		metrics_serve(&m->metrics, &m->pool, metrics_pfd, now);
		agent_serve(&m->agent, &m->pool, agent_pfd, now);
		reap_children(m, now);
		watch_upgrade(m, upgrade_pfd, now);
		kill_hung_workers(m, now);
		watch_pressure(m, now);
		if (m->pool.stopping) {
			resignal_stopping(m, now);
			advance_shutdown(m, now);
			continue;
		}
		reset_backoff_when_stable(m, now);
		judge_crash_loop(m, now);
		if (m->pool.stopping)
			continue; /* --crash-loop-exit */
		adapt_pool(m, now);
		maintain_pool(m, now);
		tell_old_master(m);
		take_over_when_old_gone(m);
		resignal_stopping(m, now);
	}
}

/* ---- start-up ---- */

static int open_listener(struct master *m)
{
	const struct config *cfg = m->pool.cfg;
	struct listen_params p = {
		.specs = cfg->listen,
		.n_specs = cfg->n_listen,
		.fallback = CONFIG_LISTEN_DEFAULT,
		.backlog = (int)cfg->backlog,
		.recv_timeout = worker_recv_slice(cfg),
		.defer_accept = (int)cfg->defer_accept,
		.queue_wait = cfg->queue_wait,
		.unix_mode = (unsigned)cfg->unix_mode,
		.unix_owner = cfg->unix_owner,
	};
	char err[1024];

	if (listeners_open(&m->listeners, &p, &m->activation, err, sizeof err) < 0) {
		fprintf(stderr, "preforkd: %s\n", err);
		log_error("%s", err);
		return -1;
	}
	for (size_t i = 0; i < m->listeners.n; i++) {
		const struct listener *l = &m->listeners.l[i];

		if (l->kind == LISTENER_UDP && !cfg->service->serve_datagram) {
			fprintf(stderr, "preforkd: %s: the service %s has no datagram form\n",
			        l->text, cfg->service->name);
			return -1;
		}
		if (l->kind == LISTENER_TCP && m->pool.listen_addr.ss_family == AF_UNSPEC)
			m->pool.listen_addr = l->addr;
	}
	/* Workers that wait in epoll must never block in accept4() on a listener another
	 * worker emptied first. */
	if (!listeners_single_stream(&m->listeners) &&
	    listeners_set_nonblocking(&m->listeners, err, sizeof err) < 0) {
		fprintf(stderr, "preforkd: %s\n", err);
		return -1;
	}
	listeners_join(&m->listeners, m->pool.listen_text, sizeof m->pool.listen_text);
	m->pool.listeners = &m->listeners;
	return 0;
}

static int open_pidfile(struct master *m, struct activation *act)
{
	char err[512];
	int lock = activation_take(act, UPGRADE_FD_PID_LOCK);

	pidfile_init(&m->pidfile);
	if (!m->pool.cfg->pidfile)
		return 0;
	if (pidfile_create(&m->pidfile, m->pool.cfg->pidfile, lock, err, sizeof err) < 0) {
		fprintf(stderr, "preforkd: %s\n", err);
		return -1;
	}
	return 0;
}

static int start_master(struct master *m)
{
	struct activation *act = &m->activation;
	int admin_fd, admin_lock, metrics_fd, agent_fd;
	size_t unused;

	m->pool.pid = getpid();
	m->pool.started_ns = clock_now_ns();
	m->pool.started_wall = time(NULL);
	m->pool.target = m->pool.cfg->workers;
	set_bounds(m, m->pool.cfg->workers, m->pool.cfg->workers_max);
	m->pool.generation = 1;
	srandom((unsigned)getpid() ^ (unsigned)m->pool.started_ns);
	m->upgrade_ready_fd = activation_take(act, UPGRADE_FD_READY);
	m->old_master = m->upgrade_ready_fd >= 0 ? getppid() : 0;
	admin_fd = activation_take(act, UPGRADE_FD_ADMIN);
	admin_lock = activation_take(act, UPGRADE_FD_ADMIN_LOCK);
	/* Before the listeners: these two names are not reserved. */
	metrics_fd = m->pool.cfg->metrics_listen ? activation_take(act, UPGRADE_FD_METRICS) : -1;
	agent_fd = m->pool.cfg->agent_listen ? activation_take(act, UPGRADE_FD_AGENT) : -1;
	if (open_pidfile(m, act) < 0 ||
	    admin_open(&m->admin, m->pool.cfg, admin_fd, admin_lock) < 0)
		return -1;
	if (signals_install() < 0 || open_listener(m) < 0 ||
	    metrics_open(&m->metrics, m->pool.cfg, metrics_fd) < 0 ||
	    agent_open(&m->agent, m->pool.cfg, agent_fd) < 0)
		return -1;
	unused = activation_close_untaken(act);
	if (unused > 0)
		log_warn("closed %zu inherited fds that nothing here uses", unused);
	m->pool.metrics_addr = m->metrics.open ? m->metrics.addr : NULL;
	m->pool.agent_addr = m->agent.open ? m->agent.addr : NULL;
	m->pool.slots = scoreboard_create(&m->pool.shared);
	if (!m->pool.slots)
		return -1;
	if (log_pipe_open() < 0) {
		log_error("pipe2 for the workers' log lines: %s", strerror(errno));
		return -1;
	}
	log_info("started preforkd %s (pid %ld, %ld workers, service %s)", PREFORKD_VERSION,
	         (long)getpid(), m->pool.target, m->cfg->service->name);
	if (pool_is_adaptive(&m->pool))
		log_info("adaptive pool: %ld..%ld workers, %ld..%ld idle", m->pool.min_workers,
		         m->pool.max_workers, m->pool.spare_low, m->pool.spare_high);
	log_info("listening on %s", m->pool.listen_text);
	proctitle_set_master(m->pool.listen_text);
	return 0;
}

/* Connections whose handshake completed after the last worker found the queue
 * empty are reset by the close that follows: say how many. */
static void report_drain_leftovers(const struct master *m)
{
	for (size_t i = 0; i < m->listeners.n; i++) {
		const struct listener *l = &m->listeners.l[i];
		struct tcp_info ti;
		socklen_t len = sizeof ti;

		if (l->kind != LISTENER_TCP || l->inherited)
			continue;
		if (getsockopt(l->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) {
			log_warn("graceful stop: TCP_INFO on %s: %s", l->text, strerror(errno));
			continue;
		}
		/* On a listener, tcpi_unacked is the accept queue's length. */
		if (ti.tcpi_unacked > 0)
			log_warn("graceful stop: %u connections reached the queue of %s after "
			         "the workers had emptied it; closing the listener resets them",
			         ti.tcpi_unacked, l->text);
	}
}

/* The master's state (mostly the slot table: about 280 kB) lives in a mapping that
 * fork() leaves out of workers. A worker neither holds nor shares the pages the
 * master writes, which keeps its PSS small; a worker that touched master state by
 * mistake would fault rather than read a stale copy (unless a later mapping of its
 * own had taken the address). */
static struct master *master_alloc(void)
{
	struct master *m =
		mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED) {
		fprintf(stderr, "preforkd: mmap for the master's state: %s\n", strerror(errno));
		return NULL;
	}
	if (madvise(m, sizeof *m, MADV_DONTFORK) < 0)
		log_warn("madvise MADV_DONTFORK: %s; workers share the master's pages",
		         strerror(errno));
	return m;
}

int master_run(struct config *cfg, const struct activation *inherited)
{
	struct master *m = master_alloc();
	int rc = 0;

	if (!m)
		return 1;
	m->cfg = cfg;
	m->pool.cfg = cfg;
	m->activation = *inherited;
	m->pool.admin_path = m->admin.path; /* filled in by admin_open() */
	m->upgrade_ready_fd = -1;
	upgrade_init(&m->upgrade);
	if (start_master(m) < 0) {
		listeners_close(&m->listeners);
		metrics_close(&m->metrics);
		agent_close(&m->agent);
		admin_close(&m->admin);
		pidfile_remove(&m->pidfile);
		rc = 1;
	} else {
		/* Before the first fork: workers must not inherit the pipe to the waiting
		 * parent. */
		daemon_ready();
		maintain_pool(m, clock_now_ns());
		run_loop(m);
		/* Every worker is gone: whatever they logged is in the pipe. */
		log_drain_pipe_all();
		metrics_close(&m->metrics);
		agent_close(&m->agent);
		admin_close(&m->admin);
		if (m->pool.draining)
			report_drain_leftovers(m);
		listeners_close(&m->listeners);
		pidfile_remove(&m->pidfile);
		if (m->exit_code)
			log_info("stopped (exit status %d: a crash loop that did not end)",
			         m->exit_code);
		else
			log_info("stopped");
		rc = m->exit_code;
	}
	(void)munmap(m, sizeof *m); /* fails only for a bad range */
	return rc;
}
