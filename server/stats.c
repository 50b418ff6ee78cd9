/* Stats: one snapshot of the pool, rendered as the `status` summary, the `workers`
 * table, "key: value" text, JSON or Prometheus text. Every statistic is one row of
 * a field table below (its path, Prometheus family, type, help and unit), and the
 * three machine formats are walks over those tables: adding a stat is one row.
 *
 * Rule: stats reads the pool through a const struct pool * and the scoreboard
 * slots it points to, and changes neither: it writes only its own snapshot and the
 * strbuf it is handed. It calls the pool's read-only helpers, the scoreboard's
 * readers (sb_state, sb_get, scoreboard_fold into its own copy), adapt_describe
 * (the adaptive pool's last decision, as text), common/ (hist,
 * addr, strbuf, log_dropped) and sockdiag (the kernel's view of busy workers'
 * connections, asked once per reply that shows them). It never sees struct master
 * or the admin module (the admin socket's path comes with the pool); admin.c calls
 * it, it calls nothing back. */
#include "stats.h"

#include "adapt.h"
#include "addr.h"
#include "admin_proto.h"
#include "agent.h"
#include "clock.h"
#include "config.h"
#include "hist.h"
#include "log.h"
#include "pool.h"
#include "scoreboard.h"
#include "service.h"
#include "sockdiag.h"
#include "strbuf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the snapshot ---- */

struct latency {
	uint64_t count, p50, p90, p99, p999, max; /* microseconds */
	double sum_seconds;                       /* estimated from bucket midpoints */
};

/* One live worker, its scoreboard slot read once. */
struct worker_view {
	uint64_t slot, pid, generation;
	enum worker_state state; /* as shown: a worker told to stop is stopping */
	const char *state_name;
	double age_seconds;
	uint64_t counters[C_COUNT];      /* this worker's */
	uint64_t slot_counters[C_COUNT]; /* the slot's: its earlier workers' and this one's */
	struct latency latency;
	/* --service http: per request */
	struct latency request_time;
	const char *peer;    /* the client while busy, else NULL */
	double busy_seconds; /* how long the connection has lasted while busy, else < 0 */
	const struct exit_record *last_exit;
	/* What the worker published (scoreboard.h): its op and for how long; its RSS
	 * (STAT_NONE before its first sample) and CPU time at its last sample, and
	 * the slot's CPU with its earlier workers' (exact, from wait4) */
	const char *op;
	double op_seconds;
	uint64_t rss_bytes, rss_gauge; /* the gauge: 0 while unknown */
	double cpu_seconds, slot_cpu_seconds, sample_age_seconds;
	char peer_text[ADDR_TEXT_MAX];
	/* A busy worker's connection: its four numbers, the client's from the slot,
	 * the server's and the TCP figures from the kernel (sockdiag); NULL and
	 * STAT_NONE where unknown. */
	struct sockaddr_storage peer_addr; /* the slot's peer, copied once */
	const char *client_ip, *server_ip, *server, *tcp_state;
	uint64_t client_port, server_port, rtt_us, rttvar_us, retransmits;
	char client_ip_text[INET6_ADDRSTRLEN], server_ip_text[INET6_ADDRSTRLEN];
	char server_text[ADDR_TEXT_MAX];
};

/* One listener as the tables show it. */
struct listener_view {
	const char *address, *kind;
	uint64_t accepted;
	uint64_t queue, backlog; /* STAT_NONE where the kernel does not say (Unix, UDP) */
	uint64_t queue_gauge;    /* for Prometheus: 0 where unknown */
	int inherited;
};

/* A nullable count that is unknown: null in JSON, "-" in text. */
#define STAT_NONE UINT64_MAX

/* An exit record as the tables show it. */
struct exit_view {
	uint64_t slot, pid, connections;
	time_t when;
	const char *cause, *detail;
	double lifetime_seconds;
	char detail_text[96];
};

/* Everything the renderers show, read once: scoreboard slots are written by the
 * workers meanwhile, so each is copied here and every format shows the same copy.
 * The pool itself does not change while a reply is built. */
struct snapshot {
	const struct pool *p;
	uint64_t now_ns;
	const char *version, *state, *service, *admin_socket;
	const char *admin_group;         /* NULL: none */
	const char *config_file;         /* NULL: the command line only */
	const char *metrics;             /* --metrics-listen as bound; NULL: not served */
	const char *agent;               /* --agent-listen as bound; NULL: not served */
	char agent_line[AGENT_LINE_MAX]; /* what the agent says now, without its newline */
	int maint;                       /* preforkctl maint on */
	time_t config_loaded;
	const char *listen[LISTENERS_MAX + 1]; /* NULL-terminated */
	struct listener_view listeners[LISTENERS_MAX];
	size_t nlisteners;
	uint64_t empty_wakeups;
	uint64_t pid, generation;
	time_t started;
	double uptime_seconds;
	int stopping;
	uint64_t configured, running;
	/* the adaptive pool (adapt.h); min == max: fixed */
	int adaptive;
	uint64_t pool_min, pool_max, spare_low, spare_high;
	uint64_t grows, shrinks, grown, shrunk;
	const char *decision; /* NULL: none yet */
	char decision_text[192];
	double decision_age;                 /* seconds since; < 0: none yet */
	uint64_t by_state[WS_KEEPALIVE + 1]; /* live workers per shown state */
	struct sb_totals totals;             /* retired + every live slot */
	struct latency latency;
	struct latency queue_wait; /* --queue-wait: time in the accept queue */
	/* --service http: head complete to response sent */
	struct latency request_time;
	int queue_wait_on;
	uint64_t restarts;  /* exits of every cause but "stopped" */
	double cpu_seconds; /* every worker's CPU: exact for the gone, sampled for the live */
	uint64_t max_rss;   /* --max-rss, 0 = off */
	uint64_t exits[EXIT_CAUSE_COUNT];
	uint64_t fork_failures, slots_exhausted_events;
	int slots_exhausted, crash_loop, crash_loop_failing;
	uint64_t failed_starts, failed_probes;
	double backoff_seconds, next_start_seconds;
	int pressure;
	uint64_t queue, queue_max, backlog, pressure_episodes, evict_requests;
	double pressure_seconds;
	double crash_loop_seconds, crash_loop_limit; /* how long so far; 0 = never a failure */
	size_t nworkers;
	struct worker_view *workers; /* the live ones, by slot */
	size_t nbusy;                /* of them with a connection */
	int tcp_known;               /* the kernel told their connections' TCP figures */
};

static double ns_to_s(uint64_t ns)
{
	return (double)ns / (double)NS_PER_SEC;
}

/* The histogram keeps no exact sum: estimate it from bucket midpoints (each bucket
 * is at most 12.5 % wide, so is the error). */
static double hist_sum_seconds(const uint64_t *hist)
{
	double sum = 0;

	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		if (hist[i])
			sum += (double)hist[i] *
			       ((double)hist_bucket_low(i) + (double)hist_bucket_high(i)) / 2e6;
	return sum;
}

/* Percentiles are bucket upper bounds (hist.h), so a reported p99 is never better
 * than what was measured; "max" is the upper bound of the highest bucket used. */
static void measure_latency(const uint64_t *hist, struct latency *l)
{
	l->count = hist_total(hist);
	l->p50 = hist_percentile(hist, 0.50);
	l->p90 = hist_percentile(hist, 0.90);
	l->p99 = hist_percentile(hist, 0.99);
	l->p999 = hist_percentile(hist, 0.999);
	l->max = hist_percentile(hist, 1.0);
	l->sum_seconds = hist_sum_seconds(hist);
}

static const char *state_name(enum worker_state st)
{
	static const char *const names[] = {
		[WS_EMPTY] = "empty", [WS_STARTING] = "starting", [WS_IDLE] = "idle",
		[WS_BUSY] = "busy",   [WS_STOPPING] = "stopping", [WS_KEEPALIVE] = "keepalive",
	};

	return names[st];
}

/* A worker told to stop is "stopping" whatever its slot says: it no longer counts
 * toward the target, even while it finishes a connection. */
static enum worker_state shown_state(const struct child *c, enum worker_state st)
{
	if (c->stopping)
		return WS_STOPPING;
	return st == WS_EMPTY || st > WS_KEEPALIVE ? WS_STARTING : st;
}

/* An address's IP as text (NULL if not TCP/IP) and its port. */
static const char *split_address(const struct sockaddr_storage *ss, char *ip, size_t len,
                                 uint64_t *port)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET && inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)len)) {
		*port = ntohs(in->sin_port);
		return ip;
	}
	if (ss->ss_family == AF_INET6 && inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)len)) {
		*port = ntohs(in6->sin6_port);
		return ip;
	}
	*port = STAT_NONE;
	return NULL;
}

/* The kernel's view of a worker's connection, or (C NULL) none yet. */
static void view_connection(struct worker_view *w, const struct sockdiag_conn *c)
{
	if (!c) {
		w->client_ip = w->server_ip = w->server = w->tcp_state = NULL;
		w->client_port = w->server_port = STAT_NONE;
		w->rtt_us = w->rttvar_us = w->retransmits = STAT_NONE;
		return;
	}
	w->server_ip = split_address(&c->local, w->server_ip_text, sizeof w->server_ip_text,
	                             &w->server_port);
	addr_format((const struct sockaddr *)&c->local, w->server_text, sizeof w->server_text);
	w->server = w->server_text;
	w->tcp_state = sockdiag_state_name(c->state);
	if (c->has_rtt) {
		w->rtt_us = c->rtt_us;
		w->rttvar_us = c->rttvar_us;
	}
	if (c->has_retrans)
		w->retransmits = c->total_retrans;
}

static int same_port(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_port ==
		       ((const struct sockaddr_in *)b)->sin_port;
	return a->ss_family == AF_INET6 && ((const struct sockaddr_in6 *)a)->sin6_port ==
	                                           ((const struct sockaddr_in6 *)b)->sin6_port;
}

static int same_endpoint(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;

	if (!same_port(a, b))
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof a6->sin6_addr) == 0;
}

/* sockdiag's callback: a connection to the listener's port whose client is a busy
 * worker's peer is that worker's (a client's address and port name one connection
 * to one server port). One that no process holds (no inode: still in the accept
 * queue, or closed by an earlier worker and lingering in FIN_WAIT2) is nobody's. */
static void match_connection(const struct sockdiag_conn *c, void *arg)
{
	struct snapshot *s = arg;

	if (c->inode == 0 || !same_port(&c->local, &s->p->listen_addr))
		return;
	for (size_t k = 0; k < s->nworkers; k++) {
		struct worker_view *w = &s->workers[k];

		if (w->peer && !w->tcp_state && same_endpoint(&w->peer_addr, &c->peer)) {
			view_connection(w, c);
			return;
		}
	}
}

/* One sock_diag dump for all busy workers; without it (no sock_diag, a sandbox
 * without AF_NETLINK) their kernel figures stay unknown. */
static void view_connections(struct snapshot *s)
{
	const struct sockaddr *l = (const struct sockaddr *)&s->p->listen_addr;
	char err[128];

	if (s->nbusy == 0 || (l->sa_family != AF_INET && l->sa_family != AF_INET6))
		return;
	s->tcp_known =
		sockdiag_dump(l, SOCKDIAG_TIMEOUT_MS, match_connection, s, err, sizeof err) == 0;
}

/* What the worker published of itself: op, RSS and CPU (scoreboard.h). */
static void view_samples(struct snapshot *s, struct sb_slot *sb, const struct child *c,
                         struct worker_view *w)
{
	uint64_t act = atomic_load_explicit(&sb->activity, memory_order_relaxed);
	uint64_t since = sb_op_since_ns(act), sampled = sb_get(&sb->sampled_ns);
	uint64_t cpu = sb_get(&sb->cpu_ns);

	w->op = sb_op(act) == WOP_NONE ? NULL : worker_op_name(sb_op(act));
	w->op_seconds = w->op && s->now_ns > since ? ns_to_s(s->now_ns - since) : w->op ? 0 : -1;
	w->rss_bytes = sampled ? sb_get(&sb->rss_bytes) : STAT_NONE;
	if (w->rss_bytes == 0)
		w->rss_bytes = STAT_NONE; /* /proc/self/statm was not readable */
	w->rss_gauge = w->rss_bytes == STAT_NONE ? 0 : w->rss_bytes;
	w->cpu_seconds = ns_to_s(cpu);
	w->slot_cpu_seconds = ns_to_s(c->slot_cpu_ns + cpu);
	w->sample_age_seconds = sampled && s->now_ns > sampled ? ns_to_s(s->now_ns - sampled) : -1;
	s->cpu_seconds += w->cpu_seconds;
}

/* One live slot, read with atomic loads; its counters are added to the totals. */
static void view_worker(struct snapshot *s, int slot, struct worker_view *w)
{
	const struct child *c = &s->p->children[slot];
	struct sb_slot *sb = &s->p->slots[slot];
	enum worker_state raw = sb_state(sb);
	struct sb_totals t;

	memset(&t, 0, sizeof t);
	scoreboard_fold(&t, sb);
	for (int k = 0; k < C_COUNT; k++)
		s->totals.counters[k] += t.counters[k];
	for (unsigned k = 0; k < HIST_BUCKETS; k++) {
		s->totals.hist[k] += t.hist[k];
		s->totals.qwait_hist[k] += t.qwait_hist[k];
		s->totals.req_hist[k] += t.req_hist[k];
	}
	for (unsigned k = 0; k < LISTENERS_MAX; k++)
		s->totals.listener_accepted[k] += t.listener_accepted[k];
	w->slot = (uint64_t)slot;
	w->pid = (uint64_t)c->pid;
	w->generation = c->generation;
	w->state = shown_state(c, raw);
	w->state_name = state_name(w->state);
	w->age_seconds = ns_to_s(s->now_ns - c->started_ns);
	memcpy(w->counters, t.counters, sizeof w->counters);
	for (int k = 0; k < C_COUNT; k++)
		w->slot_counters[k] = c->slot_counters[k] + t.counters[k];
	measure_latency(t.hist, &w->latency);
	measure_latency(t.req_hist, &w->request_time);
	w->peer = NULL;
	w->busy_seconds = -1;
	view_connection(w, NULL);
	if (raw == WS_BUSY) {
		uint64_t since = sb_get(&sb->busy_since_ns);

		/* one copy, shown and matched: the worker may overwrite the slot's */
		memcpy(&w->peer_addr, &sb->peer, sizeof w->peer_addr);
		addr_format((const struct sockaddr *)&w->peer_addr, w->peer_text,
		            sizeof w->peer_text);
		w->peer = w->peer_text;
		w->client_ip = split_address(&w->peer_addr, w->client_ip_text,
		                             sizeof w->client_ip_text, &w->client_port);
		w->busy_seconds = s->now_ns > since ? ns_to_s(s->now_ns - since) : 0;
	}
	w->last_exit = &c->last_exit;
	view_samples(s, sb, c, w);
}

static void view_adaptive(struct snapshot *s, const struct pool *p)
{
	const struct adapt_state *a = &p->adapt;

	s->adaptive = pool_is_adaptive(p);
	s->pool_min = (uint64_t)pool_min_workers(p);
	s->pool_max = (uint64_t)pool_max_workers(p);
	s->spare_low = (uint64_t)p->spare_low;
	s->spare_high = (uint64_t)p->spare_high;
	s->grows = a->grows;
	s->shrinks = a->shrinks;
	s->grown = a->grown;
	s->shrunk = a->shrunk;
	s->decision = NULL;
	s->decision_age = -1;
	if (a->last_ns == 0)
		return;
	adapt_describe(a, s->decision_text, sizeof s->decision_text);
	s->decision = s->decision_text;
	s->decision_age = s->now_ns > a->last_ns ? ns_to_s(s->now_ns - a->last_ns) : 0;
}

/* The line the agent would send now (agent.h), for status. */
static void view_agent(struct snapshot *s, const struct pool *p)
{
	struct agent_view v;
	size_t n;

	agent_view_of(p, &v);
	n = agent_format(&v, s->agent_line, sizeof s->agent_line);
	if (n > 0 && s->agent_line[n - 1] == '\n')
		s->agent_line[n - 1] = '\0';
}

static void view_pool(struct snapshot *s, const struct pool *p)
{
	s->version = PREFORKD_VERSION;
	s->pid = (uint64_t)p->pid;
	s->stopping = p->stopping != 0;
	s->state = p->stopping             ? ADMIN_STATE_STOPPING
	           : p->crash_loop_failing ? ADMIN_STATE_FAILING
	                                   : ADMIN_STATE_RUNNING;
	s->started = p->started_wall;
	s->uptime_seconds = ns_to_s(s->now_ns - p->started_ns);
	for (size_t i = 0; p->listeners && i < p->listeners->n; i++)
		s->listen[i] = p->listeners->l[i].text;
	s->service = p->cfg->service->name;
	s->admin_socket = p->admin_path;
	s->admin_group = p->cfg->admin_group;
	s->config_file = p->cfg->config_path;
	s->metrics = p->metrics_addr;
	s->agent = p->agent_addr;
	s->maint = p->maint != 0;
	view_agent(s, p);
	s->config_loaded = p->cfg->loaded;
	s->generation = p->generation;
	s->configured = (uint64_t)p->target;
	view_adaptive(s, p);
	s->cpu_seconds = ns_to_s(p->retired_cpu_ns);
	s->max_rss = p->cfg->max_rss;
	memcpy(s->exits, p->exits, sizeof s->exits);
	for (int c = 0; c < EXIT_CAUSE_COUNT; c++)
		if (c != EXIT_CAUSE_STOPPED)
			s->restarts += p->exits[c];
	s->fork_failures = p->fork_failures_total;
	s->slots_exhausted = p->slots_exhausted != 0;
	s->slots_exhausted_events = p->slots_exhausted_events;
	s->crash_loop = p->failed_starts > 0;
	s->failed_starts = p->failed_starts;
	s->failed_probes = p->failed_probes;
	s->backoff_seconds = ns_to_s(p->backoff_ns);
	s->next_start_seconds =
		p->next_spawn_ns > s->now_ns ? ns_to_s(p->next_spawn_ns - s->now_ns) : 0;
	s->pressure = p->pressure.active;
	s->queue = p->pressure.queue;
	s->queue_max = p->pressure.queue_max;
	s->backlog = p->pressure.backlog;
	s->pressure_episodes = p->pressure.episodes;
	s->pressure_seconds = ns_to_s(p->pressure.total_ns);
	s->evict_requests = p->pressure.evict_requests;
	s->crash_loop_failing = p->crash_loop_failing != 0;
	s->crash_loop_seconds = p->failed_starts > 0 && s->now_ns > p->crash_loop_since_ns
	                                ? ns_to_s(s->now_ns - p->crash_loop_since_ns)
	                                : 0;
	s->crash_loop_limit = p->cfg->crash_loop_limit;
}

/* Each listener: its connections accepted (the workers gone included) and, for TCP,
 * its accept queue and backlog (TCP_INFO on a listener: tcpi_unacked, tcpi_sacked). */
static void view_listeners(struct snapshot *s)
{
	static const char *const kinds[] = {
		[LISTENER_TCP] = "tcp", [LISTENER_UNIX] = "unix", [LISTENER_UDP] = "udp"
	};
	const struct listener_set *set = s->p->listeners;

	for (size_t i = 0; set && i < set->n; i++) {
		const struct listener *l = &set->l[i];
		struct listener_view *v = &s->listeners[i];
		struct tcp_info ti;
		socklen_t len = sizeof ti;

		v->address = l->text;
		v->kind = kinds[l->kind];
		v->inherited = l->inherited;
		v->accepted = s->totals.listener_accepted[i];
		v->queue = v->backlog = STAT_NONE;
		if (l->kind == LISTENER_TCP &&
		    getsockopt(l->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) {
			v->queue = v->queue_gauge = ti.tcpi_unacked;
			v->backlog = ti.tcpi_sacked;
		}
		s->nlisteners++;
	}
	s->empty_wakeups = s->totals.counters[C_EMPTY_WAKEUPS];
}

/* Returns -1 when there is no memory for the worker views. KERNEL: ask the kernel
 * about busy workers' connections (not for Prometheus, which shows none of it). */
static int take_snapshot(struct snapshot *s, const struct pool *p, uint64_t now, int kernel)
{
	int live = pool_live_count(p);

	memset(s, 0, sizeof *s);
	s->p = p;
	s->now_ns = now;
	view_pool(s, p);
	s->totals = p->retired;
	s->workers = calloc(live > 0 ? (size_t)live : 1, sizeof *s->workers);
	if (!s->workers)
		return -1;
	for (int i = 0; i < SLOTS_MAX && s->nworkers < (size_t)live; i++) {
		struct worker_view *w = &s->workers[s->nworkers];

		if (!child_is_live(&p->children[i]))
			continue;
		view_worker(s, i, w);
		s->by_state[w->state]++;
		s->nbusy += w->peer != NULL;
		s->nworkers++;
	}
	if (kernel)
		view_connections(s);
	s->running = s->nworkers;
	/* The master's own dropped log lines count with its workers'. */
	s->totals.counters[C_LOG_DROPPED] += log_dropped();
	measure_latency(s->totals.hist, &s->latency);
	measure_latency(s->totals.qwait_hist, &s->queue_wait);
	measure_latency(s->totals.req_hist, &s->request_time);
	s->queue_wait_on = p->cfg->queue_wait;
	view_listeners(s);
	return 0;
}

static void free_snapshot(struct snapshot *s)
{
	free(s->workers);
	s->workers = NULL;
}

static void view_exit(const struct exit_record *r, int slot, struct exit_view *x)
{
	x->slot = (uint64_t)slot;
	x->pid = (uint64_t)r->pid;
	x->when = r->when;
	x->cause = exit_cause_name(r->cause);
	exit_record_describe(r, x->detail_text, sizeof x->detail_text);
	x->detail = x->detail_text;
	x->lifetime_seconds = ns_to_s(r->lifetime_ns);
	x->connections = r->connections;
}

/* ---- the field tables ----
 *
 * Adding a stat: if its value is not in a view yet, add it to struct snapshot,
 * worker_view or exit_view and fill it in view_pool(), view_worker() or
 * view_exit() (a new scoreboard counter is already there: counters[C_NEW]); then
 * write one row. The row's place sets its place in text, JSON and Prometheus;
 * stats_check_fields() (run by the unit test) says if it breaks a rule. Document
 * it in the README's "Stats fields". A worker's counter goes to Prometheus as its
 * slot's, in a row without a path on slot_counters[C_NEW] (see worker_fields). */

/* How a value is kept in its view, and so how each format writes it. */
enum stat_unit {
	SU_COUNT,         /* uint64_t */
	SU_BYTES,         /* uint64_t */
	SU_MICROSECONDS,  /* uint64_t */
	SU_SECONDS,       /* double; with SF_NULLABLE, < 0 is none */
	SU_BOOL,          /* int: true/false, 1/0 in Prometheus */
	SU_TEXT,          /* const char *; with SF_NULLABLE, NULL is none */
	SU_TEXT_LIST,     /* const char *[], NULL-terminated: a JSON array */
	SU_TIME,          /* time_t, wall clock: UTC text, epoch seconds in Prometheus */
	SU_INFO,          /* Prometheus only: preforkd_info and its labels */
	SU_HISTOGRAM,     /* uint64_t[HIST_BUCKETS] of microseconds: Prometheus only */
	SU_EXIT,          /* const struct exit_record *: an object of exit_fields or null */
	SU_EXIT_LIST,     /* the last exit of every slot (snapshot only) */
	SU_WORKER_LIST,   /* every live worker: worker_fields (snapshot only) */
	SU_LISTENER_LIST, /* every listener: listener_fields (snapshot only) */
};

enum prom_type { PROM_NONE, PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM };

#define SF_NULLABLE 1 /* the value may be absent: null in JSON, "-" in text */
#define SF_LISTED 2   /* only where the record stands in a list (it says its slot) */

struct stat_field {
	const char *path;  /* text key and JSON path in its table; NULL: Prometheus only */
	const char *prom;  /* Prometheus family; NULL: not exported */
	const char *label; /* this sample's label within its family, e.g. kind="reset" */
	const char *help;  /* the family's help, on its first row */
	size_t off;        /* the value's place in the table's view */
	enum stat_unit unit;
	enum prom_type type;
	int flags;
};

struct stat_table {
	const char *name; /* for stats_check_fields() */
	const struct stat_field *f;
	size_t n;
};

/* clang-format off */
#define S(m) offsetof(struct snapshot, m)
#define W(m) offsetof(struct worker_view, m)
#define X(m) offsetof(struct exit_view, m)
#define L(m) offsetof(struct listener_view, m)
#define TABLE(a) { #a, a, sizeof (a) / sizeof (a)[0] }

/* A row: where and how it is shown, where its value is. */
#define STAT(path_, unit_, off_, flags_, prom_, type_, label_, help_)            \
	{ .path = (path_), .unit = (unit_), .off = (off_), .flags = (flags_),    \
	  .prom = (prom_), .type = (type_), .label = (label_), .help = (help_) }
/* A row shown in text and JSON only. */
#define ROW(path, unit, off, flags) STAT(path, unit, off, flags, NULL, PROM_NONE, NULL, NULL)

/* The view's latency object, in microseconds; Prometheus gets the pool's histogram
 * only. */
#define LATENCY_ROWS(V)                                                     \
	ROW("service_time_us.count", SU_COUNT, V(latency.count), 0),        \
	ROW("service_time_us.p50", SU_MICROSECONDS, V(latency.p50), 0),     \
	ROW("service_time_us.p90", SU_MICROSECONDS, V(latency.p90), 0),     \
	ROW("service_time_us.p99", SU_MICROSECONDS, V(latency.p99), 0),     \
	ROW("service_time_us.p99_9", SU_MICROSECONDS, V(latency.p999), 0),  \
	ROW("service_time_us.max", SU_MICROSECONDS, V(latency.max), 0)
/* --service http: per request, from its head complete to its response sent */
#define REQUEST_TIME_ROWS(P, V)                                                    \
	ROW(P "request_time_us.count", SU_COUNT, V(request_time.count), 0),        \
	ROW(P "request_time_us.p50", SU_MICROSECONDS, V(request_time.p50), 0),     \
	ROW(P "request_time_us.p90", SU_MICROSECONDS, V(request_time.p90), 0),     \
	ROW(P "request_time_us.p99", SU_MICROSECONDS, V(request_time.p99), 0),     \
	ROW(P "request_time_us.p99_9", SU_MICROSECONDS, V(request_time.p999), 0),  \
	ROW(P "request_time_us.max", SU_MICROSECONDS, V(request_time.max), 0)
/* clang-format on */

/* Per-listener Prometheus samples are labelled listener="ADDRESS". */
static const struct stat_field listener_fields[] = {
	ROW("address", SU_TEXT, L(address), 0),
	ROW("kind", SU_TEXT, L(kind), 0),
	ROW("inherited", SU_BOOL, L(inherited), 0),
	STAT("accepted", SU_COUNT, L(accepted), 0, "preforkd_listener_accepted_total", PROM_COUNTER,
	     NULL, "Connections accepted on each listener, including by workers that are gone."),
	ROW("queue", SU_COUNT, L(queue), SF_NULLABLE),
	STAT(NULL, SU_COUNT, L(queue_gauge), 0, "preforkd_listener_queue", PROM_GAUGE, NULL,
	     "Connections in each TCP listener's accept queue (0 where not known)."),
	ROW("backlog", SU_COUNT, L(backlog), SF_NULLABLE),
};

static const struct stat_field exit_fields[] = {
	ROW("slot", SU_COUNT, X(slot), SF_LISTED),
	ROW("pid", SU_COUNT, X(pid), 0),
	ROW("when", SU_TIME, X(when), 0),
	ROW("cause", SU_TEXT, X(cause), 0),
	ROW("detail", SU_TEXT, X(detail), 0),
	ROW("lifetime_seconds", SU_SECONDS, X(lifetime_seconds), 0),
	ROW("connections", SU_COUNT, X(connections), 0),
};

/* Per-worker Prometheus samples are labelled with their slot alone, never the pid:
 * a recycling pool would make new series with every worker it starts. A slot's
 * counters there are the slot's (slot_counters: its earlier workers' folded in, so
 * they never go backwards when its worker is replaced); text and JSON show this
 * worker's own, with its pid. Per-worker latency stays out of Prometheus (a summary
 * cannot be aggregated; histograms per slot would be too many series). */
static const struct stat_field worker_fields[] = {
	ROW("slot", SU_COUNT, W(slot), 0),
	ROW("pid", SU_COUNT, W(pid), 0),
	STAT("generation", SU_COUNT, W(generation), 0, "preforkd_worker_generation", PROM_GAUGE,
	     NULL, "Generation of the worker in this slot (preforkd_generation is the newest)."),
	ROW("state", SU_TEXT, W(state_name), 0),
	STAT("age_seconds", SU_SECONDS, W(age_seconds), 0, "preforkd_worker_age_seconds",
	     PROM_GAUGE, NULL, "Seconds since the worker in this slot started."),
	ROW("accepted", SU_COUNT, W(counters[C_ACCEPTED]), 0),
	STAT(NULL, SU_COUNT, W(slot_counters[C_ACCEPTED]), 0, "preforkd_worker_accepted_total",
	     PROM_COUNTER, NULL,
	     "Connections accepted in this slot, by its worker and earlier ones."),
	ROW("completed", SU_COUNT, W(counters[C_COMPLETED]), 0),
	STAT(NULL, SU_COUNT, W(slot_counters[C_COMPLETED]), 0, "preforkd_worker_completed_total",
	     PROM_COUNTER, NULL,
	     "Connections served without an error in this slot, by any worker."),
	ROW("errors.timeout", SU_COUNT, W(counters[C_ERR_TIMEOUT]), 0),
	ROW("errors.reset", SU_COUNT, W(counters[C_ERR_RESET]), 0),
	ROW("errors.other", SU_COUNT, W(counters[C_ERR_OTHER]), 0),
	ROW("errors.evicted", SU_COUNT, W(counters[C_ERR_EVICTED]), 0),
	ROW("http_requests", SU_COUNT, W(counters[C_HTTP_REQUESTS]), 0),
	ROW("bytes_in", SU_BYTES, W(counters[C_BYTES_IN]), 0),
	STAT(NULL, SU_BYTES, W(slot_counters[C_BYTES_IN]), 0,
	     "preforkd_worker_received_bytes_total", PROM_COUNTER, NULL,
	     "Bytes read in this slot, by its worker and earlier ones."),
	ROW("bytes_out", SU_BYTES, W(counters[C_BYTES_OUT]), 0),
	STAT(NULL, SU_BYTES, W(slot_counters[C_BYTES_OUT]), 0, "preforkd_worker_sent_bytes_total",
	     PROM_COUNTER, NULL, "Bytes written in this slot, by its worker and earlier ones."),
	ROW("http_body_bytes", SU_BYTES, W(counters[C_HTTP_BODY_BYTES]), 0),
	ROW("udp.datagrams_in", SU_COUNT, W(counters[C_DGRAM_IN]), 0),
	ROW("udp.datagrams_out", SU_COUNT, W(counters[C_DGRAM_OUT]), 0),
	STAT(NULL, SU_COUNT, W(slot_counters[C_DGRAM_IN]), 0,
	     "preforkd_worker_udp_datagrams_received_total", PROM_COUNTER, NULL,
	     "Datagrams received in this slot, by its worker and earlier ones."),
	ROW("peer", SU_TEXT, W(peer), SF_NULLABLE),
	STAT("busy_seconds", SU_SECONDS, W(busy_seconds), SF_NULLABLE,
	     "preforkd_worker_busy_seconds", PROM_GAUGE, NULL,
	     "How long the current connection has been served; 0 when idle."),
	ROW("client_ip", SU_TEXT, W(client_ip), SF_NULLABLE),
	ROW("client_port", SU_COUNT, W(client_port), SF_NULLABLE),
	ROW("server_ip", SU_TEXT, W(server_ip), SF_NULLABLE),
	ROW("server_port", SU_COUNT, W(server_port), SF_NULLABLE),
	ROW("tcp_state", SU_TEXT, W(tcp_state), SF_NULLABLE),
	ROW("rtt_us", SU_MICROSECONDS, W(rtt_us), SF_NULLABLE),
	ROW("rttvar_us", SU_MICROSECONDS, W(rttvar_us), SF_NULLABLE),
	ROW("retransmits", SU_COUNT, W(retransmits), SF_NULLABLE),
	LATENCY_ROWS(W),
	REQUEST_TIME_ROWS("http_", W),
	ROW("op", SU_TEXT, W(op), SF_NULLABLE),
	ROW("op_seconds", SU_SECONDS, W(op_seconds), SF_NULLABLE),
	ROW("rss_bytes", SU_BYTES, W(rss_bytes), SF_NULLABLE),
	STAT(NULL, SU_BYTES, W(rss_gauge), 0, "preforkd_worker_rss_bytes", PROM_GAUGE, NULL,
	     "Resident memory of the worker in this slot, as it last sampled it (about once "
	     "a second); 0 before its first sample."),
	ROW("cpu_seconds", SU_SECONDS, W(cpu_seconds), 0),
	STAT(NULL, SU_SECONDS, W(slot_cpu_seconds), 0, "preforkd_worker_cpu_seconds_total",
	     PROM_COUNTER, NULL,
	     "CPU time (user + system) used in this slot: its earlier workers' (exact) and "
	     "its worker's at its last sample."),
	ROW("sample_age_seconds", SU_SECONDS, W(sample_age_seconds), SF_NULLABLE),
	ROW("last_exit", SU_EXIT, W(last_exit), 0),
};

static const struct stat_field global_fields[] = {
	STAT(NULL, SU_INFO, 0, 0, "preforkd_info", PROM_GAUGE, NULL,
	     "Constant 1, labelled with version, service and listen address."),
	ROW("version", SU_TEXT, S(version), 0),
	ROW("pid", SU_COUNT, S(pid), 0),
	ROW("state", SU_TEXT, S(state), 0),
	STAT("started", SU_TIME, S(started), 0, "preforkd_start_time_seconds", PROM_GAUGE, NULL,
	     "Start time of the master, seconds since the Unix epoch."),
	STAT("uptime_seconds", SU_SECONDS, S(uptime_seconds), 0, "preforkd_uptime_seconds",
	     PROM_GAUGE, NULL, "Seconds since the master started."),
	STAT(NULL, SU_BOOL, S(stopping), 0, "preforkd_stopping", PROM_GAUGE, NULL,
	     "1 while the server shuts down."),
	ROW("listen", SU_TEXT_LIST, S(listen), 0),
	ROW("service", SU_TEXT, S(service), 0),
	ROW("admin_socket", SU_TEXT, S(admin_socket), 0),
	ROW("metrics_listen", SU_TEXT, S(metrics), SF_NULLABLE),
	ROW("agent_listen", SU_TEXT, S(agent), SF_NULLABLE),
	STAT("maint", SU_BOOL, S(maint), 0, "preforkd_maint", PROM_GAUGE, NULL,
	     "1 while an operator has set maintenance (preforkctl maint on): the agent-check "
	     "says maint."),
	ROW("admin_group", SU_TEXT, S(admin_group), SF_NULLABLE),
	ROW("config.file", SU_TEXT, S(config_file), SF_NULLABLE),
	STAT("config.loaded", SU_TIME, S(config_loaded), 0, "preforkd_config_load_time_seconds",
	     PROM_GAUGE, NULL,
	     "When the configuration was last loaded, seconds since the Unix epoch."),
	STAT("generation", SU_COUNT, S(generation), 0, "preforkd_generation", PROM_GAUGE, NULL,
	     "Worker generation; each reload adds one."),
	STAT("pool.configured", SU_COUNT, S(configured), 0, "preforkd_workers_configured",
	     PROM_GAUGE, NULL, "Target number of workers."),
	ROW("pool.running", SU_COUNT, S(running), 0),
	ROW("pool.adaptive", SU_BOOL, S(adaptive), 0),
	STAT("pool.min", SU_COUNT, S(pool_min), 0, "preforkd_workers_min", PROM_GAUGE, NULL,
	     "Lower bound of the pool (--workers MIN..MAX; equal bounds: a fixed pool)."),
	STAT("pool.max", SU_COUNT, S(pool_max), 0, "preforkd_workers_max", PROM_GAUGE, NULL,
	     "Upper bound of the pool."),
	STAT("pool.spare_low", SU_COUNT, S(spare_low), 0, "preforkd_workers_spare", PROM_GAUGE,
	     "bound=\"low\"", "Idle workers an adaptive pool keeps (--spare LOW..HIGH)."),
	STAT("pool.spare_high", SU_COUNT, S(spare_high), 0, "preforkd_workers_spare", PROM_GAUGE,
	     "bound=\"high\"", NULL),
	ROW("pool.last_decision", SU_TEXT, S(decision), SF_NULLABLE),
	ROW("pool.last_decision_seconds_ago", SU_SECONDS, S(decision_age), SF_NULLABLE),
	STAT("pool.grows", SU_COUNT, S(grows), 0, "preforkd_pool_grows_total", PROM_COUNTER, NULL,
	     "Times the adaptive pool's rule grew the pool."),
	STAT("pool.shrinks", SU_COUNT, S(shrinks), 0, "preforkd_pool_shrinks_total", PROM_COUNTER,
	     NULL, "Times the adaptive pool's rule stopped an idle worker."),
	STAT("pool.workers_added", SU_COUNT, S(grown), 0, "preforkd_pool_workers_added_total",
	     PROM_COUNTER, NULL, "Workers the adaptive pool's rule added, in all its growths."),
	STAT("pool.busy", SU_COUNT, S(by_state[WS_BUSY]), 0, "preforkd_workers", PROM_GAUGE,
	     "state=\"busy\"", "Live worker processes by state."),
	STAT("pool.idle", SU_COUNT, S(by_state[WS_IDLE]), 0, "preforkd_workers", PROM_GAUGE,
	     "state=\"idle\"", NULL),
	STAT("pool.starting", SU_COUNT, S(by_state[WS_STARTING]), 0, "preforkd_workers", PROM_GAUGE,
	     "state=\"starting\"", NULL),
	STAT("pool.stopping", SU_COUNT, S(by_state[WS_STOPPING]), 0, "preforkd_workers", PROM_GAUGE,
	     "state=\"stopping\"", NULL),
	STAT("pool.keepalive", SU_COUNT, S(by_state[WS_KEEPALIVE]), 0, "preforkd_workers",
	     PROM_GAUGE, "state=\"keepalive\"", NULL),
	STAT("totals.accepted", SU_COUNT, S(totals.counters[C_ACCEPTED]), 0,
	     "preforkd_connections_accepted_total", PROM_COUNTER, NULL,
	     "Connections accepted by any worker, including workers that are gone."),
	STAT("totals.completed", SU_COUNT, S(totals.counters[C_COMPLETED]), 0,
	     "preforkd_connections_completed_total", PROM_COUNTER, NULL,
	     "Connections served to the end without an error."),
	STAT("totals.errors.timeout", SU_COUNT, S(totals.counters[C_ERR_TIMEOUT]), 0,
	     "preforkd_connection_errors_total", PROM_COUNTER, "kind=\"timeout\"",
	     "Connections that ended in an error, by kind."),
	STAT("totals.errors.reset", SU_COUNT, S(totals.counters[C_ERR_RESET]), 0,
	     "preforkd_connection_errors_total", PROM_COUNTER, "kind=\"reset\"", NULL),
	STAT("totals.errors.other", SU_COUNT, S(totals.counters[C_ERR_OTHER]), 0,
	     "preforkd_connection_errors_total", PROM_COUNTER, "kind=\"other\"", NULL),
	STAT("totals.errors.evicted", SU_COUNT, S(totals.counters[C_ERR_EVICTED]), 0,
	     "preforkd_connection_errors_total", PROM_COUNTER, "kind=\"evicted\"", NULL),
	STAT("totals.bytes_in", SU_BYTES, S(totals.counters[C_BYTES_IN]), 0,
	     "preforkd_received_bytes_total", PROM_COUNTER, NULL, "Bytes read from clients."),
	STAT("totals.bytes_out", SU_BYTES, S(totals.counters[C_BYTES_OUT]), 0,
	     "preforkd_sent_bytes_total", PROM_COUNTER, NULL, "Bytes written to clients."),
	STAT("totals.log_lines_dropped", SU_COUNT, S(totals.counters[C_LOG_DROPPED]), 0,
	     "preforkd_log_lines_dropped_total", PROM_COUNTER, NULL,
	     "Log lines dropped because the log (or the workers' pipe to it) was full."),
	STAT("totals.http.requests", SU_COUNT, S(totals.counters[C_HTTP_REQUESTS]), 0,
	     "preforkd_http_requests_total", PROM_COUNTER, NULL,
	     "HTTP requests answered or refused (--service http)."),
	STAT("totals.http.responses.1xx", SU_COUNT, S(totals.counters[C_HTTP_1XX]), 0,
	     "preforkd_http_responses_total", PROM_COUNTER, "class=\"1xx\"",
	     "HTTP responses by status class."),
	STAT("totals.http.responses.2xx", SU_COUNT, S(totals.counters[C_HTTP_2XX]), 0,
	     "preforkd_http_responses_total", PROM_COUNTER, "class=\"2xx\"", NULL),
	STAT("totals.http.responses.3xx", SU_COUNT, S(totals.counters[C_HTTP_3XX]), 0,
	     "preforkd_http_responses_total", PROM_COUNTER, "class=\"3xx\"", NULL),
	STAT("totals.http.responses.4xx", SU_COUNT, S(totals.counters[C_HTTP_4XX]), 0,
	     "preforkd_http_responses_total", PROM_COUNTER, "class=\"4xx\"", NULL),
	STAT("totals.http.responses.5xx", SU_COUNT, S(totals.counters[C_HTTP_5XX]), 0,
	     "preforkd_http_responses_total", PROM_COUNTER, "class=\"5xx\"", NULL),
	STAT("totals.http.keepalive_reuses", SU_COUNT, S(totals.counters[C_HTTP_KEEPALIVE_REUSES]),
	     0, "preforkd_http_keepalive_reuses_total", PROM_COUNTER, NULL,
	     "HTTP requests that came on a connection after its first request."),
	STAT("totals.http.keepalive_yields", SU_COUNT, S(totals.counters[C_HTTP_KEEPALIVE_YIELDS]),
	     0, "preforkd_http_keepalive_yields_total", PROM_COUNTER, NULL,
	     "Idle keep-alive connections a worker gave up under pressure for a waiting one."),
	STAT("totals.http.body_bytes", SU_BYTES, S(totals.counters[C_HTTP_BODY_BYTES]), 0,
	     "preforkd_http_body_bytes_total", PROM_COUNTER, NULL,
	     "Bytes of HTTP response bodies sent (files, listings, error pages), heads not "
	     "included."),
	STAT("totals.http.access_log_failed", SU_COUNT,
	     S(totals.counters[C_HTTP_ACCESS_LOG_FAILED]), 0,
	     "preforkd_http_access_log_failed_total", PROM_COUNTER, NULL,
	     "Access log lines a worker could not write (a full disk, an I/O error)."),
	STAT("totals.udp.datagrams_in", SU_COUNT, S(totals.counters[C_DGRAM_IN]), 0,
	     "preforkd_udp_datagrams_received_total", PROM_COUNTER, NULL,
	     "Datagrams received on udp: listeners."),
	STAT("totals.udp.datagrams_out", SU_COUNT, S(totals.counters[C_DGRAM_OUT]), 0,
	     "preforkd_udp_datagrams_sent_total", PROM_COUNTER, NULL,
	     "Datagrams sent in answer on udp: listeners."),
	STAT("totals.udp.bytes_in", SU_BYTES, S(totals.counters[C_DGRAM_BYTES_IN]), 0,
	     "preforkd_udp_received_bytes_total", PROM_COUNTER, NULL,
	     "Payload bytes of the datagrams received on udp: listeners."),
	STAT("totals.udp.bytes_out", SU_BYTES, S(totals.counters[C_DGRAM_BYTES_OUT]), 0,
	     "preforkd_udp_sent_bytes_total", PROM_COUNTER, NULL,
	     "Payload bytes of the datagrams sent on udp: listeners."),
	STAT("totals.udp.refused_port", SU_COUNT, S(totals.counters[C_DGRAM_REFUSED_PORT]), 0,
	     "preforkd_udp_datagrams_unanswered_total", PROM_COUNTER, "reason=\"port\"",
	     "Datagrams received and not answered, by reason: a source port below 1024, the "
	     "source over --udp-rate, the reply not sent, larger than the buffer."),
	STAT("totals.udp.rate_limited", SU_COUNT, S(totals.counters[C_DGRAM_RATE_LIMITED]), 0,
	     "preforkd_udp_datagrams_unanswered_total", PROM_COUNTER, "reason=\"rate\"", NULL),
	STAT("totals.udp.send_dropped", SU_COUNT, S(totals.counters[C_DGRAM_SEND_DROPPED]), 0,
	     "preforkd_udp_datagrams_unanswered_total", PROM_COUNTER, "reason=\"send\"", NULL),
	STAT("totals.udp.truncated", SU_COUNT, S(totals.counters[C_DGRAM_TRUNCATED]), 0,
	     "preforkd_udp_datagrams_unanswered_total", PROM_COUNTER, "reason=\"truncated\"", NULL),
	REQUEST_TIME_ROWS("http.", S),
	STAT(NULL, SU_HISTOGRAM, S(totals.req_hist), 0, "preforkd_http_request_duration_seconds",
	     PROM_HISTOGRAM, NULL,
	     "HTTP request service time, request head complete to response sent (sum "
	     "estimated from buckets)."),
	LATENCY_ROWS(S),
	STAT(NULL, SU_HISTOGRAM, S(totals.hist), 0, "preforkd_service_time_seconds", PROM_HISTOGRAM,
	     NULL, "Connection service time, accept to close (sum estimated from buckets)."),
	ROW("queue_wait_us.measured", SU_BOOL, S(queue_wait_on), 0),
	ROW("queue_wait_us.count", SU_COUNT, S(queue_wait.count), 0),
	ROW("queue_wait_us.p50", SU_MICROSECONDS, S(queue_wait.p50), 0),
	ROW("queue_wait_us.p90", SU_MICROSECONDS, S(queue_wait.p90), 0),
	ROW("queue_wait_us.p99", SU_MICROSECONDS, S(queue_wait.p99), 0),
	ROW("queue_wait_us.p99_9", SU_MICROSECONDS, S(queue_wait.p999), 0),
	ROW("queue_wait_us.max", SU_MICROSECONDS, S(queue_wait.max), 0),
	STAT(NULL, SU_HISTOGRAM, S(totals.qwait_hist), 0, "preforkd_queue_wait_seconds",
	     PROM_HISTOGRAM, NULL,
	     "Time in the accept queue, from the first data's kernel receive time to the "
	     "accept (--queue-wait; empty without it)."),
	STAT("restarts.total", SU_COUNT, S(restarts), 0, "preforkd_restarts_total", PROM_COUNTER,
	     NULL,
	     "Workers replaced after an exit that was not requested (every cause but stopped)."),
	STAT("restarts.exit_code", SU_COUNT, S(exits[EXIT_CAUSE_CODE]), 0,
	     "preforkd_worker_exits_total", PROM_COUNTER, "cause=\"exit\"",
	     "Worker exits by cause (exit code, signal, timeout kill, recycled, RSS above "
	     "--max-rss, stopped on request)."),
	STAT("restarts.signal", SU_COUNT, S(exits[EXIT_CAUSE_SIGNAL]), 0,
	     "preforkd_worker_exits_total", PROM_COUNTER, "cause=\"signal\"", NULL),
	STAT("restarts.timeout", SU_COUNT, S(exits[EXIT_CAUSE_TIMEOUT]), 0,
	     "preforkd_worker_exits_total", PROM_COUNTER, "cause=\"timeout\"", NULL),
	STAT("restarts.recycled", SU_COUNT, S(exits[EXIT_CAUSE_RECYCLED]), 0,
	     "preforkd_worker_exits_total", PROM_COUNTER, "cause=\"recycled\"", NULL),
	STAT("restarts.rss", SU_COUNT, S(exits[EXIT_CAUSE_RSS]), 0, "preforkd_worker_exits_total",
	     PROM_COUNTER, "cause=\"rss\"", NULL),
	STAT("stopped_on_request", SU_COUNT, S(exits[EXIT_CAUSE_STOPPED]), 0,
	     "preforkd_worker_exits_total", PROM_COUNTER, "cause=\"stopped\"", NULL),
	ROW("max_rss_bytes", SU_BYTES, S(max_rss), 0),
	STAT("cpu_seconds", SU_SECONDS, S(cpu_seconds), 0, "preforkd_workers_cpu_seconds_total",
	     PROM_COUNTER, NULL,
	     "CPU time (user + system) of every worker: exact for those gone, at the last "
	     "sample for the live ones."),
	STAT("fork_failures", SU_COUNT, S(fork_failures), 0, "preforkd_fork_failures_total",
	     PROM_COUNTER, NULL, "fork() calls that failed."),
	STAT("slots_exhausted", SU_BOOL, S(slots_exhausted), 0, "preforkd_slots_exhausted",
	     PROM_GAUGE, NULL,
	     "1 while every worker slot is taken and new workers wait for old ones to exit."),
	ROW("slots_exhausted_events", SU_COUNT, S(slots_exhausted_events), 0),
	ROW("crash_loop.active", SU_BOOL, S(crash_loop), 0),
	STAT("crash_loop.failed_starts", SU_COUNT, S(failed_starts), 0,
	     "preforkd_crash_loop_failed_starts", PROM_GAUGE, NULL,
	     "Failed starts in a row; restarts back off while it is above 0."),
	ROW("crash_loop.failed_probes", SU_COUNT, S(failed_probes), 0),
	STAT("crash_loop.backoff_seconds", SU_SECONDS, S(backoff_seconds), 0,
	     "preforkd_crash_loop_backoff_seconds", PROM_GAUGE, NULL, "Current restart back-off."),
	ROW("crash_loop.next_start_in_seconds", SU_SECONDS, S(next_start_seconds), 0),
	ROW("crash_loop.duration_seconds", SU_SECONDS, S(crash_loop_seconds), 0),
	ROW("crash_loop.limit_seconds", SU_SECONDS, S(crash_loop_limit), 0),
	STAT("crash_loop.failing", SU_BOOL, S(crash_loop_failing), 0, "preforkd_crash_loop_failing",
	     PROM_GAUGE, NULL,
	     "1 while every worker start has failed for --crash-loop-limit: the server is "
	     "failing."),
	STAT("pressure.active", SU_BOOL, S(pressure), 0, "preforkd_pressure", PROM_GAUGE, NULL,
	     "1 while connections wait in the accept queue and no worker is idle."),
	STAT("pressure.queue", SU_COUNT, S(queue), 0, "preforkd_accept_queue", PROM_GAUGE, NULL,
	     "Connections in the listener's accept queue at the master's last sample."),
	STAT("pressure.queue_max", SU_COUNT, S(queue_max), 0, "preforkd_accept_queue_max",
	     PROM_GAUGE, NULL, "Largest accept queue seen at a sample since start."),
	STAT("pressure.backlog", SU_COUNT, S(backlog), 0, "preforkd_accept_queue_backlog",
	     PROM_GAUGE, NULL, "The accept queue's limit (the listen backlog)."),
	STAT("pressure.episodes", SU_COUNT, S(pressure_episodes), 0,
	     "preforkd_pressure_episodes_total", PROM_COUNTER, NULL,
	     "Times the pool came under pressure."),
	STAT("pressure.seconds", SU_SECONDS, S(pressure_seconds), 0,
	     "preforkd_pressure_seconds_total", PROM_COUNTER, NULL,
	     "Time under pressure, at the sampling tick's grain."),
	STAT("pressure.evict_requests", SU_COUNT, S(evict_requests), 0,
	     "preforkd_pressure_evict_requests_total", PROM_COUNTER, NULL,
	     "Stalled connections the master asked a worker to drop."),
	STAT("pressure.closed_at_accept", SU_COUNT, S(totals.counters[C_EVICTED_EARLY]), 0,
	     "preforkd_pressure_closed_at_accept_total", PROM_COUNTER, NULL,
	     "Connections closed under pressure because they had sent nothing (part of "
	     "the evicted errors)."),
	ROW("last_exits", SU_EXIT_LIST, 0, 0),
	STAT("empty_wakeups", SU_COUNT, S(empty_wakeups), 0, "preforkd_empty_wakeups_total",
	     PROM_COUNTER, NULL,
	     "Workers woken for a listener whose connection another worker took first "
	     "(several listeners: epoll's EPOLLEXCLUSIVE wakes one or more)."),
	ROW("listeners", SU_LISTENER_LIST, 0, 0),
	ROW("workers", SU_WORKER_LIST, 0, 0),
};

static const struct stat_table global_table = TABLE(global_fields);
static const struct stat_table worker_table = TABLE(worker_fields);
static const struct stat_table exit_table = TABLE(exit_fields);
static const struct stat_table listener_table = TABLE(listener_fields);
static const struct stat_table *const tables[] = { &global_table, &worker_table, &exit_table,
	                                           &listener_table };

static const void *field_ptr(const void *view, const struct stat_field *f)
{
	return (const char *)view + f->off;
}

static uint64_t field_u64(const void *view, const struct stat_field *f)
{
	uint64_t v;

	memcpy(&v, field_ptr(view, f), sizeof v);
	return v;
}

static double field_double(const void *view, const struct stat_field *f)
{
	double v;

	memcpy(&v, field_ptr(view, f), sizeof v);
	return v;
}

static const char *field_text(const void *view, const struct stat_field *f)
{
	const char *v;

	memcpy(&v, field_ptr(view, f), sizeof v);
	return v;
}

/* ---- human formatting ---- */

static void format_duration(double s, char *buf, size_t len)
{
	long t = (long)s;

	if (s < 1)
		snprintf(buf, len, "%.0fms", s * 1000);
	else if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (t < 3600)
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, len, "%ldh%02ldm", t / 3600, t % 3600 / 60);
	else
		snprintf(buf, len, "%ldd%02ldh", t / 86400, t % 86400 / 3600);
}

static void format_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n / 1024;
	int u = 0;

	if (n < 1024) {
		snprintf(buf, len, "%lluB", (unsigned long long)n);
		return;
	}
	do { /* n >= 1024: at least once, so u is never -1 */
		v /= 1024;
		u++;
	} while (v >= 1024 && u < 4);
	snprintf(buf, len, "%.1f%s", v, units[u]);
}

/* Microseconds; "-" when nothing was measured, so an idle server shows no zeros
 * that look like measurements. */
static void format_us(uint64_t us, uint64_t count, char *buf, size_t len)
{
	if (count == 0)
		snprintf(buf, len, "-");
	else if (us < 1000)
		snprintf(buf, len, "%lluus", (unsigned long long)us);
	else if (us < 1000000)
		snprintf(buf, len, "%.1fms", (double)us / 1e3);
	else
		snprintf(buf, len, "%.2fs", (double)us / 1e6);
}

/* Wall-clock times are shown in UTC, as in the log. */
static void format_wall(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == 0 || !gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "-");
}

static void describe_exit_short(const struct exit_record *r, char *buf, size_t len)
{
	if (!r->valid)
		snprintf(buf, len, "-");
	else if (r->cause == EXIT_CAUSE_CODE)
		snprintf(buf, len, "exit %d", r->status);
	else if (r->cause == EXIT_CAUSE_SIGNAL)
		snprintf(buf, len, "signal %d%s", r->status, r->core ? "+core" : "");
	else
		snprintf(buf, len, "%s", exit_cause_name(r->cause));
}

static uint64_t errors_of(const uint64_t *c)
{
	return c[C_ERR_TIMEOUT] + c[C_ERR_RESET] + c[C_ERR_OTHER] + c[C_ERR_EVICTED];
}

/* ---- the worker table ---- */

static void render_table_header(struct strbuf *b)
{
	strbuf_printf(b,
	              "%4s %7s %4s %-8s %6s %8s %8s %8s %5s %7s %7s %-21s %6s %8s %7s %-16s  "
	              "%s\n",
	              "SLOT", "PID", "GEN", "STATE", "AGE", "CONNS", "IN", "OUT", "ERRS", "P50",
	              "P99", "PEER", "BUSY", "RSS", "CPU", "OP", "LAST EXIT");
}

static void render_table_row(struct strbuf *b, const struct worker_view *w)
{
	const struct latency *l = &w->latency;
	char age[32], in[32], out[32], p50[32], p99[32], last[48], busy[32] = "-";
	char rss[32] = "-", cpu[32], op[48] = "-", opfor[32];

	format_duration(w->age_seconds, age, sizeof age);
	format_bytes(w->counters[C_BYTES_IN], in, sizeof in);
	format_bytes(w->counters[C_BYTES_OUT], out, sizeof out);
	format_us(l->p50, l->count, p50, sizeof p50);
	format_us(l->p99, l->count, p99, sizeof p99);
	if (w->busy_seconds >= 0)
		format_duration(w->busy_seconds, busy, sizeof busy);
	describe_exit_short(w->last_exit, last, sizeof last);
	if (w->rss_bytes != STAT_NONE)
		format_bytes(w->rss_bytes, rss, sizeof rss);
	snprintf(cpu, sizeof cpu, "%.2fs", w->cpu_seconds);
	if (w->op) {
		format_duration(w->op_seconds, opfor, sizeof opfor);
		snprintf(op, sizeof op, "%s/%s", w->op, opfor);
	}
	strbuf_printf(b,
	              "%4llu %7llu %4llu %-8s %6s %8llu %8s %8s %5llu %7s %7s %-21s %6s %8s %7s "
	              "%-16s  %s\n",
	              (unsigned long long)w->slot, (unsigned long long)w->pid,
	              (unsigned long long)w->generation, w->state_name, age,
	              (unsigned long long)w->counters[C_ACCEPTED], in, out,
	              (unsigned long long)errors_of(w->counters), p50, p99, w->peer ? w->peer : "-",
	              busy, rss, cpu, op, last);
}

static void render_workers(struct strbuf *b, const struct snapshot *s)
{
	render_table_header(b);
	for (size_t k = 0; k < s->nworkers; k++)
		render_table_row(b, &s->workers[k]);
}

/* The busy workers' connections, one line each under the worker table: the four
 * numbers, then the kernel's TCP state, RTT and retransmits ("-" where unknown). */
static void render_connections(struct strbuf *b, const struct snapshot *s)
{
	if (s->nbusy == 0)
		return;
	strbuf_printf(b, "\n%4s %7s %-21s %-21s %-12s %7s %7s %7s\n", "SLOT", "PID", "CLIENT",
	              "SERVER", "TCP STATE", "RTT", "RTTVAR", "RETRANS");
	for (size_t k = 0; k < s->nworkers; k++) {
		const struct worker_view *w = &s->workers[k];
		char rtt[32] = "-", rttvar[32] = "-", retrans[24] = "-";

		if (!w->peer)
			continue;
		if (w->rtt_us != STAT_NONE) {
			format_us(w->rtt_us, 1, rtt, sizeof rtt);
			format_us(w->rttvar_us, 1, rttvar, sizeof rttvar);
		}
		if (w->retransmits != STAT_NONE)
			snprintf(retrans, sizeof retrans, "%llu",
			         (unsigned long long)w->retransmits);
		strbuf_printf(b, "%4llu %7llu %-21s %-21s %-12s %7s %7s %7s\n",
		              (unsigned long long)w->slot, (unsigned long long)w->pid, w->peer,
		              w->server ? w->server : "-", w->tcp_state ? w->tcp_state : "-", rtt,
		              rttvar, retrans);
	}
	if (!s->tcp_known)
		strbuf_printf(b, "(no TCP state, RTT or server address: the kernel's sock_diag "
		                 "did not answer; see the log)\n");
}

/* ---- status ---- */

static void render_crash_loop_line(struct strbuf *b, const struct snapshot *s)
{
	if (!s->crash_loop)
		strbuf_printf(b, "Crash loop: no\n");
	else
		strbuf_printf(b,
		              "Crash loop: yes: %llu failed starts in a row (%llu failed probes), "
		              "back-off %.1fs, next start in %.1fs\n",
		              (unsigned long long)s->failed_starts,
		              (unsigned long long)s->failed_probes, s->backoff_seconds,
		              s->next_start_seconds);
	if (s->crash_loop_failing) {
		char lasted[32], limit[32];

		format_duration(s->crash_loop_seconds, lasted, sizeof lasted);
		format_duration(s->crash_loop_limit, limit, sizeof limit);
		strbuf_printf(
			b,
			"   Failing: every worker start has failed for %s (--crash-loop-limit "
			"%s)\n",
			lasted, limit);
	}
	if (s->slots_exhausted)
		strbuf_printf(b, "     Slots: all taken by workers still finishing; "
		                 "new workers wait for them\n");
}

/* Only for an adaptive pool: its range, spare band and the rule's last decision. */
static void render_adaptive_line(struct strbuf *b, const struct snapshot *s)
{
	char ago[32];

	if (!s->adaptive)
		return;
	strbuf_printf(b,
	              "  Adaptive: %llu..%llu workers, %llu..%llu idle kept; %llu grows (+%llu), "
	              "%llu shrinks\n",
	              (unsigned long long)s->pool_min, (unsigned long long)s->pool_max,
	              (unsigned long long)s->spare_low, (unsigned long long)s->spare_high,
	              (unsigned long long)s->grows, (unsigned long long)s->grown,
	              (unsigned long long)s->shrinks);
	if (!s->decision) {
		strbuf_printf(b, "  Decision: none yet\n");
		return;
	}
	format_duration(s->decision_age, ago, sizeof ago);
	strbuf_printf(b, "  Decision: %s (%s ago)\n", s->decision, ago);
}

static void render_status_header(struct strbuf *b, const struct snapshot *s)
{
	const uint64_t *n = s->by_state;
	char since[32], up[32], loaded[32], keepalive[40] = "";

	/* Shown only when some are: only the http service keeps connections alive. */
	if (n[WS_KEEPALIVE])
		snprintf(keepalive, sizeof keepalive, ", %llu keepalive",
		         (unsigned long long)n[WS_KEEPALIVE]);
	format_wall(s->started, since, sizeof since);
	format_duration(s->uptime_seconds, up, sizeof up);
	admin_status_line(b, s->version, s->state, (unsigned long long)s->pid);
	strbuf_printf(b, "     Since: %s (up %s)\n", since, up);
	strbuf_printf(b, "    Listen: %s (service %s)\n", s->p->listen_text, s->service);
	for (size_t i = 0; s->nlisteners > 1 && i < s->nlisteners; i++) {
		const struct listener_view *v = &s->listeners[i];

		strbuf_printf(b, "      %-4s %s: %llu accepted", v->kind, v->address,
		              (unsigned long long)v->accepted);
		if (v->queue != STAT_NONE)
			strbuf_printf(b, ", queue %llu/%llu", (unsigned long long)v->queue,
			              (unsigned long long)v->backlog);
		strbuf_printf(b, "%s\n", v->inherited ? " (inherited)" : "");
	}
	if (s->admin_group)
		strbuf_printf(b, "     Admin: %s (group %s may read)\n", s->admin_socket,
		              s->admin_group);
	else
		strbuf_printf(b, "     Admin: %s\n", s->admin_socket);
	if (s->metrics)
		strbuf_printf(b, "   Metrics: http://%s/metrics\n", s->metrics);
	else
		strbuf_printf(b, "   Metrics: off (--metrics-listen)\n");
	if (s->agent)
		strbuf_printf(b, "     Agent: %s says '%s'%s\n", s->agent, s->agent_line,
		              s->maint ? " (maint on)" : "");
	else
		strbuf_printf(b, "     Agent: off (--agent-listen)%s\n",
		              s->maint ? "; maint on" : "");
	format_wall(s->config_loaded, loaded, sizeof loaded);
	strbuf_printf(b, "    Config: %s, loaded %s\n",
	              s->config_file ? s->config_file : "none (command line only)", loaded);
	strbuf_printf(b,
	              "   Workers: %llu configured, %llu running (%llu busy, %llu idle, %llu "
	              "starting, %llu stopping%s), generation %llu\n",
	              (unsigned long long)s->configured, (unsigned long long)s->running,
	              (unsigned long long)n[WS_BUSY], (unsigned long long)n[WS_IDLE],
	              (unsigned long long)n[WS_STARTING], (unsigned long long)n[WS_STOPPING],
	              keepalive, (unsigned long long)s->generation);
	render_adaptive_line(b, s);
	strbuf_printf(b,
	              "  Restarts: %llu (exit code %llu, signal %llu, timeout %llu, recycled "
	              "%llu, rss %llu); %llu stopped on request; %llu fork failures\n",
	              (unsigned long long)s->restarts,
	              (unsigned long long)s->exits[EXIT_CAUSE_CODE],
	              (unsigned long long)s->exits[EXIT_CAUSE_SIGNAL],
	              (unsigned long long)s->exits[EXIT_CAUSE_TIMEOUT],
	              (unsigned long long)s->exits[EXIT_CAUSE_RECYCLED],
	              (unsigned long long)s->exits[EXIT_CAUSE_RSS],
	              (unsigned long long)s->exits[EXIT_CAUSE_STOPPED],
	              (unsigned long long)s->fork_failures);
	render_crash_loop_line(b, s);
}

static void render_pressure_line(struct strbuf *b, const struct snapshot *s)
{
	char total[32];

	format_duration(s->pressure_seconds, total, sizeof total);
	strbuf_printf(b,
	              "  Pressure: %s: accept queue %llu (max %llu at a sample), backlog %llu; "
	              "%llu episodes, %s in all; %llu evicted (%llu closed at accept)\n",
	              s->pressure ? "YES" : "no", (unsigned long long)s->queue,
	              (unsigned long long)s->queue_max, (unsigned long long)s->backlog,
	              (unsigned long long)s->pressure_episodes, total,
	              (unsigned long long)s->totals.counters[C_ERR_EVICTED],
	              (unsigned long long)s->totals.counters[C_EVICTED_EARLY]);
}

static void render_status_totals(struct strbuf *b, const struct snapshot *s)
{
	const uint64_t *c = s->totals.counters;
	const struct latency *l = &s->latency;
	char in[32], out[32], p50[32], p90[32], p99[32], p999[32], max[32];

	format_bytes(c[C_BYTES_IN], in, sizeof in);
	format_bytes(c[C_BYTES_OUT], out, sizeof out);
	strbuf_printf(b,
	              "    Totals: %llu accepted, %llu completed, %llu errors (timeout %llu, "
	              "reset %llu, other %llu, evicted %llu); %s in, %s out\n",
	              (unsigned long long)c[C_ACCEPTED], (unsigned long long)c[C_COMPLETED],
	              (unsigned long long)errors_of(c), (unsigned long long)c[C_ERR_TIMEOUT],
	              (unsigned long long)c[C_ERR_RESET], (unsigned long long)c[C_ERR_OTHER],
	              (unsigned long long)c[C_ERR_EVICTED], in, out);
	render_pressure_line(b, s);
	if (c[C_LOG_DROPPED] > 0)
		strbuf_printf(b, "       Log: %llu lines dropped (the log could not keep up)\n",
		              (unsigned long long)c[C_LOG_DROPPED]);
	format_us(l->p50, l->count, p50, sizeof p50);
	format_us(l->p90, l->count, p90, sizeof p90);
	format_us(l->p99, l->count, p99, sizeof p99);
	format_us(l->p999, l->count, p999, sizeof p999);
	format_us(l->max, l->count, max, sizeof max);
	strbuf_printf(b,
	              "   Latency: p50 %s, p90 %s, p99 %s, p99.9 %s, max %s (%llu connections)\n",
	              p50, p90, p99, p999, max, (unsigned long long)l->count);
	l = &s->queue_wait;
	if (!s->queue_wait_on) {
		strbuf_printf(b, "Queue wait: not measured (--queue-wait)\n");
		return;
	}
	format_us(l->p50, l->count, p50, sizeof p50);
	format_us(l->p90, l->count, p90, sizeof p90);
	format_us(l->p99, l->count, p99, sizeof p99);
	format_us(l->p999, l->count, p999, sizeof p999);
	format_us(l->max, l->count, max, sizeof max);
	strbuf_printf(b,
	              "Queue wait: p50 %s, p90 %s, p99 %s, p99.9 %s, max %s (%llu connections)\n",
	              p50, p90, p99, p999, max, (unsigned long long)l->count);
}

#define STATUS_EXITS 5

/* The newest few entries of the pool's ring of recent exits, newest first. */
static void render_recent_exits(struct strbuf *b, const struct pool *p)
{
	for (unsigned k = 0; k < STATUS_EXITS && k < RECENT_EXITS && k < p->recent_next; k++) {
		const struct exit_record *r =
			&p->recent_exits[(p->recent_next - 1 - k) % RECENT_EXITS];
		char when[32], detail[96], life[32];

		if (!r->valid)
			continue;
		format_wall(r->when, when, sizeof when);
		exit_record_describe(r, detail, sizeof detail);
		format_duration(ns_to_s(r->lifetime_ns), life, sizeof life);
		strbuf_printf(b, "%s %s pid %ld %s after %s, %llu connections\n",
		              k == 0 ? "Last exits:" : "           ", when, (long)r->pid, detail,
		              life, (unsigned long long)r->connections);
	}
}

/* ---- one walk, two formats: "key: value" lines or JSON ---- */

#define EMIT_DEPTH 8
#define EMIT_KEY_MAX 128

struct emitter {
	struct strbuf *b;
	int json;
	int depth;
	int count[EMIT_DEPTH]; /* members written so far, per open container */
	int is_array[EMIT_DEPTH];
	size_t key_len[EMIT_DEPTH]; /* text: length of the key prefix, per container */
	char key[EMIT_KEY_MAX];
};

static void json_escape(struct strbuf *b, const char *s)
{
	strbuf_append(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			strbuf_printf(b, "\\%c", c);
		else if (c < 0x20)
			strbuf_printf(b, "\\u%04x", c);
		else
			strbuf_append(b, s, 1);
	}
	strbuf_append(b, "\"", 1);
}

static void indent(struct strbuf *b, int level)
{
	for (int i = 0; i < level; i++)
		strbuf_append(b, "  ", 2);
}

/* Starts the next member of the open container: JSON writes its separator and name;
 * text computes its full key (a JSON path: "totals.errors.reset", "workers[0].pid"). */
static void begin_member(struct emitter *e, const char *name, char *key, size_t keylen)
{
	int d = e->depth;
	int base = (int)e->key_len[d];

	if (e->json) {
		strbuf_append(e->b, e->count[d] ? ",\n" : "\n", e->count[d] ? 2 : 1);
		indent(e->b, d + 1);
		if (!e->is_array[d] && name) {
			json_escape(e->b, name);
			strbuf_append(e->b, ": ", 2);
		}
	} else if (e->is_array[d]) {
		snprintf(key, keylen, "%.*s[%d]", base, e->key, e->count[d]);
	} else {
		snprintf(key, keylen, "%.*s%s%s", base, e->key, base ? "." : "", name ? name : "?");
	}
	e->count[d]++;
}

static void emit_open(struct emitter *e, const char *name, int array)
{
	char key[EMIT_KEY_MAX];

	begin_member(e, name, key, sizeof key);
	if (e->depth + 1 >= EMIT_DEPTH)
		return; /* cannot happen: stats_check_fields() bounds the nesting */
	e->depth++;
	e->count[e->depth] = 0;
	e->is_array[e->depth] = array;
	if (e->json) {
		strbuf_append(e->b, array ? "[" : "{", 1);
	} else {
		snprintf(e->key, sizeof e->key, "%s", key);
		e->key_len[e->depth] = strlen(e->key);
	}
}

static void emit_close(struct emitter *e)
{
	int d = e->depth;

	e->depth--;
	if (!e->json)
		return;
	if (e->count[d]) {
		strbuf_append(e->b, "\n", 1);
		indent(e->b, d);
	}
	strbuf_append(e->b, e->is_array[d] ? "]" : "}", 1);
}

/* A leaf: `json` is the value as JSON, `text` as shown after "key: ". */
static void emit_leaf(struct emitter *e, const char *name, const char *json, const char *text)
{
	char key[EMIT_KEY_MAX];

	begin_member(e, name, key, sizeof key);
	if (e->json)
		strbuf_append(e->b, json, strlen(json));
	else
		strbuf_printf(e->b, "%s: %s\n", key, text);
}

static void emit_u64(struct emitter *e, const char *name, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof num, "%llu", (unsigned long long)v);
	emit_leaf(e, name, num, num);
}

static void emit_seconds(struct emitter *e, const char *name, double v)
{
	char num[32];

	snprintf(num, sizeof num, "%.3f", v);
	emit_leaf(e, name, num, num);
}

static void emit_bool(struct emitter *e, const char *name, int v)
{
	emit_leaf(e, name, v ? "true" : "false", v ? "true" : "false");
}

static void emit_null(struct emitter *e, const char *name)
{
	emit_leaf(e, name, "null", "-");
}

/* Text values stay on one line whatever a path contains. */
static void emit_str(struct emitter *e, const char *name, const char *s)
{
	char key[EMIT_KEY_MAX];

	begin_member(e, name, key, sizeof key);
	if (e->json) {
		json_escape(e->b, s);
		return;
	}
	strbuf_printf(e->b, "%s: ", key);
	for (; *s; s++)
		strbuf_append(e->b, (unsigned char)*s < 0x20 ? "?" : s, 1);
	strbuf_append(e->b, "\n", 1);
}

/* ---- text and JSON from the tables ---- */

static void emit_fields(struct emitter *e, const struct stat_table *t, const void *view, int skip,
                        const struct snapshot *s);

static void emit_exit(struct emitter *e, const char *name, const struct exit_record *r, int slot,
                      const struct snapshot *s)
{
	struct exit_view x;

	if (!r->valid) {
		emit_null(e, name);
		return;
	}
	view_exit(r, slot, &x);
	emit_open(e, name, 0);
	emit_fields(e, &exit_table, &x, slot < 0 ? SF_LISTED : 0, s);
	emit_close(e);
}

static void emit_lists(struct emitter *e, const struct stat_field *f, const struct snapshot *s)
{
	emit_open(e, f->path, 1);
	if (f->unit == SU_EXIT_LIST) {
		for (int i = 0; i < SLOTS_MAX; i++)
			if (s->p->children[i].last_exit.valid)
				emit_exit(e, NULL, &s->p->children[i].last_exit, i, s);
	} else if (f->unit == SU_LISTENER_LIST) {
		for (size_t k = 0; k < s->nlisteners; k++) {
			emit_open(e, NULL, 0);
			emit_fields(e, &listener_table, &s->listeners[k], 0, s);
			emit_close(e);
		}
	} else {
		for (size_t k = 0; k < s->nworkers; k++) {
			emit_open(e, NULL, 0);
			emit_fields(e, &worker_table, &s->workers[k], 0, s);
			emit_close(e);
		}
	}
	emit_close(e);
}

static void emit_field(struct emitter *e, const struct stat_field *f, const char *name,
                       const void *view, const struct snapshot *s)
{
	char when[32];
	const char *text;

	switch (f->unit) {
	case SU_COUNT:
	case SU_BYTES:
	case SU_MICROSECONDS:
		if ((f->flags & SF_NULLABLE) && field_u64(view, f) == STAT_NONE)
			emit_null(e, name);
		else
			emit_u64(e, name, field_u64(view, f));
		break;
	case SU_SECONDS:
		if ((f->flags & SF_NULLABLE) && field_double(view, f) < 0)
			emit_null(e, name);
		else
			emit_seconds(e, name, field_double(view, f));
		break;
	case SU_BOOL:
		emit_bool(e, name, *(const int *)field_ptr(view, f));
		break;
	case SU_TEXT:
		text = field_text(view, f);
		if (text)
			emit_str(e, name, text);
		else
			emit_null(e, name);
		break;
	case SU_TEXT_LIST:
		emit_open(e, name, 1);
		for (const char *const *l = field_ptr(view, f); *l; l++)
			emit_str(e, NULL, *l);
		emit_close(e);
		break;
	case SU_TIME:
		format_wall(*(const time_t *)field_ptr(view, f), when, sizeof when);
		emit_str(e, name, when);
		break;
	case SU_EXIT:
		emit_exit(e, name, *(const struct exit_record *const *)field_ptr(view, f), -1, s);
		break;
	case SU_EXIT_LIST:
	case SU_WORKER_LIST:
	case SU_LISTENER_LIST:
		emit_lists(e, f, s);
		break;
	case SU_INFO:
	case SU_HISTOGRAM:
		break; /* Prometheus only */
	}
}

/* The row's path lies in object `prefix` (a path of `len` bytes). */
static int in_object(const struct stat_field *f, const char *prefix, size_t len)
{
	return f->path && strncmp(f->path, prefix, len) == 0 && f->path[len] == '.';
}

/* The rows' paths nest: "a.b.c" is member c of object b of object a. Objects are
 * opened and closed as the paths move on, so a table must keep each object's rows
 * together (stats_check_fields() makes sure). */
static void emit_fields(struct emitter *e, const struct stat_table *t, const void *view, int skip,
                        const struct snapshot *s)
{
	char open[EMIT_KEY_MAX] = ""; /* the path of the innermost open object */
	int opened = 0;

	for (size_t i = 0; i < t->n; i++) {
		const struct stat_field *f = &t->f[i];
		const char *leaf;
		size_t parent;

		if (!f->path || (f->flags & skip))
			continue;
		leaf = strrchr(f->path, '.');
		parent = leaf ? (size_t)(leaf - f->path) : 0;
		leaf = leaf ? leaf + 1 : f->path;
		/* Close what this path is not in. */
		while (opened > 0 &&
		       !(strlen(open) <= parent && in_object(f, open, strlen(open)))) {
			char *dot = strrchr(open, '.');

			emit_close(e);
			opened--;
			*(dot ? dot : open) = '\0';
		}
		/* Open what it is in. */
		while (strlen(open) < parent) {
			size_t from = strlen(open) + (open[0] ? 1 : 0);
			/* the next dot: at the latest, the one before the leaf */
			size_t to = (size_t)(strchr(f->path + from, '.') - f->path);
			char name[EMIT_KEY_MAX];

			snprintf(name, sizeof name, "%.*s", (int)(to - from), f->path + from);
			emit_open(e, name, 0);
			opened++;
			snprintf(open, sizeof open, "%.*s", (int)to, f->path);
		}
		emit_field(e, f, leaf, view, s);
	}
	while (opened-- > 0)
		emit_close(e);
}

static void render_emitted(struct strbuf *b, const struct snapshot *s, int json)
{
	struct emitter e;

	memset(&e, 0, sizeof e);
	e.b = b;
	e.json = json;
	if (json)
		strbuf_append(b, "{", 1);
	emit_fields(&e, &global_table, s, 0, s);
	if (json)
		strbuf_append(b, "\n}\n", 3);
}

/* ---- Prometheus text exposition format from the tables ---- */

static const char *const prom_type_names[] = {
	[PROM_NONE] = "untyped",
	[PROM_COUNTER] = "counter",
	[PROM_GAUGE] = "gauge",
	[PROM_HISTOGRAM] = "histogram",
};

static void prom_family(struct strbuf *b, const struct stat_field *f)
{
	strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", f->prom, f->help, f->prom,
	              prom_type_names[f->type]);
}

/* Label values escape backslash, double quote and newline. */
static void prom_label_value(struct strbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			strbuf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			strbuf_append(b, "\\n", 2);
		else
			strbuf_append(b, s, 1);
	}
}

/* "name{labels} " with the instance's labels (a worker's slot) first. */
static void prom_sample(struct strbuf *b, const char *name, const char *suffix,
                        const char *instance, const char *label)
{
	int any = instance[0] || (label && label[0]);

	strbuf_printf(b, "%s%s%s%s%s%s%s ", name, suffix, any ? "{" : "", instance,
	              instance[0] && label && label[0] ? "," : "", label ? label : "",
	              any ? "}" : "");
}

/* Fixed bucket bounds, so series stay stable across scrapes and instances: powers of
 * two from 4 us to 2^26 us (67 s), 25 buckets and +Inf. Loopback connections take a
 * few to a few hundred microseconds, keep-alive ones up to --idle-timeout and more.
 * Each bound is where an internal log-linear bucket begins (a power of two always
 * is), so every internal bucket lies wholly below or wholly above it and the counts
 * are exact, not interpolated: a value recorded as v us (its duration truncated)
 * lasted less than bound us exactly when its bucket ends below the bound. A 1-2-5
 * series would not be: 50 us falls inside the internal bucket 48..51. */
static const uint64_t prom_bounds_us[] = {
	1ULL << 2,  1ULL << 3,  1ULL << 4,  1ULL << 5,  1ULL << 6,  1ULL << 7,  1ULL << 8,
	1ULL << 9,  1ULL << 10, 1ULL << 11, 1ULL << 12, 1ULL << 13, 1ULL << 14, 1ULL << 15,
	1ULL << 16, 1ULL << 17, 1ULL << 18, 1ULL << 19, 1ULL << 20, 1ULL << 21, 1ULL << 22,
	1ULL << 23, 1ULL << 24, 1ULL << 25, 1ULL << 26,
};

#define PROM_NBOUNDS (sizeof prom_bounds_us / sizeof prom_bounds_us[0])

static void prom_histogram(struct strbuf *b, const char *name, const uint64_t *hist)
{
	uint64_t n = 0;
	unsigned i = 0;

	/* Cumulative: each bound adds the internal buckets that end below it. */
	for (size_t k = 0; k < PROM_NBOUNDS; k++) {
		for (; i < HIST_BUCKETS && hist_bucket_high(i) < prom_bounds_us[k]; i++)
			n += hist[i];
		strbuf_printf(b, "%s_bucket{le=\"%.9g\"} %llu\n", name,
		              (double)prom_bounds_us[k] / 1e6, (unsigned long long)n);
	}
	strbuf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	              (unsigned long long)hist_total(hist));
	strbuf_printf(b, "%s_sum %.9g\n%s_count %llu\n", name, hist_sum_seconds(hist), name,
	              (unsigned long long)hist_total(hist));
}

static void prom_info(struct strbuf *b, const struct stat_field *f, const struct snapshot *s)
{
	strbuf_printf(b, "%s{version=\"", f->prom);
	prom_label_value(b, s->version);
	strbuf_printf(b, "\",service=\"");
	prom_label_value(b, s->service);
	strbuf_printf(b, "\",listen=\"");
	prom_label_value(b, s->p->listen_text);
	strbuf_printf(b, "\"} 1\n");
}

static void prom_value(struct strbuf *b, const struct stat_field *f, const void *view,
                       const char *instance, const struct snapshot *s)
{
	double d;

	switch (f->unit) {
	case SU_COUNT:
	case SU_BYTES:
	case SU_MICROSECONDS:
		prom_sample(b, f->prom, "", instance, f->label);
		strbuf_printf(b, "%llu\n", (unsigned long long)field_u64(view, f));
		break;
	case SU_SECONDS:
		d = field_double(view, f);
		prom_sample(b, f->prom, "", instance, f->label);
		strbuf_printf(b, "%.9g\n", d < 0 ? 0 : d); /* none: 0 */
		break;
	case SU_BOOL:
		prom_sample(b, f->prom, "", instance, f->label);
		strbuf_printf(b, "%d\n", *(const int *)field_ptr(view, f) != 0);
		break;
	case SU_TIME:
		prom_sample(b, f->prom, "", instance, f->label);
		strbuf_printf(b, "%llu\n", (unsigned long long)*(const time_t *)field_ptr(view, f));
		break;
	case SU_INFO:
		prom_info(b, f, s);
		break;
	case SU_HISTOGRAM:
		prom_histogram(b, f->prom, field_ptr(view, f));
		break;
	case SU_TEXT:
	case SU_TEXT_LIST:
	case SU_EXIT:
	case SU_EXIT_LIST:
	case SU_WORKER_LIST:
	case SU_LISTENER_LIST:
		break; /* stats_check_fields() refuses these in Prometheus */
	}
}

static int same_family(const struct stat_field *a, const struct stat_field *b)
{
	return a->prom && b->prom && strcmp(a->prom, b->prom) == 0;
}

static int first_of_family(const struct stat_table *t, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (same_family(&t->f[k], &t->f[i]))
			return 0;
	return 1;
}

struct prom_instances {
	const void *views; /* nviews views, stride bytes apart */
	size_t nviews, stride;
	int workers;   /* labelled with their slot */
	int listeners; /* labelled with their address */
};

/* Each family once, at its first row: its rows for every instance (a family's
 * samples must stay together, whatever else the table puts between its rows). */
static void render_prom_table(struct strbuf *b, const struct stat_table *t,
                              const struct prom_instances *in, const struct snapshot *s);

/* listener="ADDRESS", with the exposition format's escapes (\\, \", \n). */
static void listener_label(char *buf, size_t len, const struct listener_view *v)
{
	size_t n = (size_t)snprintf(buf, len, "listener=\"");

	for (const char *c = v->address; *c && n + 4 < len; c++) {
		if (*c == '\\' || *c == '"' || *c == '\n')
			buf[n++] = '\\';
		if (*c == '\n')
			buf[n++] = 'n';
		else
			buf[n++] = *c;
	}
	snprintf(buf + n, len - n, "\"");
}

static void render_prom_family(struct strbuf *b, const struct stat_table *t, size_t i,
                               const struct prom_instances *in, const struct snapshot *s)
{
	prom_family(b, &t->f[i]);
	for (size_t v = 0; v < in->nviews; v++) {
		const void *view = (const char *)in->views + v * in->stride;
		char instance[2 * LISTENER_TEXT_MAX + 16] = "";

		if (in->workers) {
			const struct worker_view *w = view;

			snprintf(instance, sizeof instance, "slot=\"%llu\"",
			         (unsigned long long)w->slot);
		}
		if (in->listeners)
			listener_label(instance, sizeof instance, view);
		for (size_t k = i; k < t->n; k++)
			if (same_family(&t->f[k], &t->f[i]))
				prom_value(b, &t->f[k], view, instance, s);
	}
}

static void render_prom_table(struct strbuf *b, const struct stat_table *t,
                              const struct prom_instances *in, const struct snapshot *s)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct stat_field *f = &t->f[i];

		if (f->unit == SU_WORKER_LIST) {
			struct prom_instances w = { s->workers, s->nworkers, sizeof *s->workers, 1,
				                    0 };

			render_prom_table(b, &worker_table, &w, s);
		} else if (f->unit == SU_LISTENER_LIST) {
			struct prom_instances l = { s->listeners, s->nlisteners,
				                    sizeof *s->listeners, 0, 1 };

			render_prom_table(b, &listener_table, &l, s);
		} else if (f->prom && first_of_family(t, i)) {
			render_prom_family(b, t, i, in, s);
		}
	}
}

static void render_prometheus(struct strbuf *b, const struct snapshot *s)
{
	struct prom_instances one = { s, 1, sizeof *s, 0, 0 };

	render_prom_table(b, &global_table, &one, s);
}

/* ---- the entry points ---- */

/* Without memory for the snapshot the reply is marked failed: the admin module
 * answers "out of memory" as for any reply it could not build. */
static int snapshot_or_fail(struct strbuf *b, struct snapshot *s, const struct pool *p,
                            uint64_t now, int kernel)
{
	if (take_snapshot(s, p, now, kernel) == 0)
		return 0;
	b->failed = 1;
	return -1;
}

void stats_render_workers(struct strbuf *b, const struct pool *p, uint64_t now_ns)
{
	struct snapshot s;

	if (snapshot_or_fail(b, &s, p, now_ns, 1) < 0)
		return;
	render_workers(b, &s);
	render_connections(b, &s);
	free_snapshot(&s);
}

void stats_render_status(struct strbuf *b, const struct pool *p, uint64_t now_ns)
{
	struct snapshot s;

	if (snapshot_or_fail(b, &s, p, now_ns, 1) < 0)
		return;
	render_status_header(b, &s);
	render_status_totals(b, &s);
	render_recent_exits(b, p);
	strbuf_printf(b, "\n");
	render_workers(b, &s);
	render_connections(b, &s);
	free_snapshot(&s);
}

void stats_render(struct strbuf *b, const struct pool *p, enum stats_format f, uint64_t now_ns)
{
	struct snapshot s;

	if (snapshot_or_fail(b, &s, p, now_ns, f != STATS_PROMETHEUS) < 0)
		return;
	if (f == STATS_PROMETHEUS)
		render_prometheus(b, &s);
	else
		render_emitted(b, &s, f == STATS_JSON);
	free_snapshot(&s);
}

/* ---- the tables' rules ---- */

/* JSON: an object's rows stand together (else it would be written twice), and no
 * leaf shares a name with an object or another leaf. */
static int check_paths(const struct stat_table *t, char *err, size_t errlen)
{
	for (size_t i = 0; i < t->n; i++) {
		const char *path = t->f[i].path;
		int dots = 0;

		if (!path)
			continue;
		for (const char *d = strchr(path, '.'); d; d = strchr(d + 1, '.')) {
			size_t len = (size_t)(d - path), j = i + 1;

			dots++;
			while (j < t->n && (!t->f[j].path || in_object(&t->f[j], path, len)))
				j++;
			for (; j < t->n; j++)
				if (in_object(&t->f[j], path, len)) {
					snprintf(err, errlen,
					         "%s: %s: the rows of object %.*s are apart (%s "
					         "comes between)",
					         t->name, t->f[j].path, (int)len, path,
					         t->f[j - 1].path ? t->f[j - 1].path : "a row");
					return -1;
				}
		}
		if (dots > 3) {
			snprintf(err, errlen, "%s: %s: nested too deep", t->name, path);
			return -1;
		}
		for (size_t j = 0; j < t->n; j++)
			if (j != i && t->f[j].path &&
			    (strcmp(t->f[j].path, path) == 0 ||
			     in_object(&t->f[j], path, strlen(path)))) {
				snprintf(err, errlen, "%s: %s: the name is used twice", t->name,
				         path);
				return -1;
			}
	}
	return 0;
}

static int valid_prom_name(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == ':'))
			return 0;
	return 1;
}

static int prom_unit_fits(const struct stat_field *f)
{
	switch (f->unit) {
	case SU_COUNT:
	case SU_BYTES:
	case SU_MICROSECONDS:
		/* an unknown count has no Prometheus value */
		return !(f->flags & SF_NULLABLE) &&
		       (f->type == PROM_COUNTER || f->type == PROM_GAUGE);
	case SU_SECONDS:
	case SU_BOOL:
	case SU_TIME:
		return f->type == PROM_COUNTER || f->type == PROM_GAUGE;
	case SU_INFO:
		return f->type == PROM_GAUGE;
	case SU_HISTOGRAM:
		return f->type == PROM_HISTOGRAM && !f->path;
	default:
		return 0;
	}
}

/* Prometheus: a family is named once in all the tables, its first row carries
 * its help and type, its other rows the same type, no help, and distinct labels;
 * counters end in _total. */
static int check_family(const struct stat_table *t, size_t i, char *err, size_t errlen)
{
	const struct stat_field *f = &t->f[i];
	size_t rows = 0;

	if (!valid_prom_name(f->prom) || !f->help || !prom_unit_fits(f) ||
	    (f->type == PROM_COUNTER) !=
	            (strlen(f->prom) > 6 && strcmp(f->prom + strlen(f->prom) - 6, "_total") == 0)) {
		snprintf(err, errlen, "%s: %s: bad name, help, type or unit", t->name, f->prom);
		return -1;
	}
	for (size_t j = i; j < t->n; j++) {
		const struct stat_field *g = &t->f[j];

		if (!same_family(g, f))
			continue;
		rows++;
		if (j > i && (g->help || g->type != f->type || g->unit != f->unit)) {
			snprintf(err, errlen, "%s: %s: a second help, type or unit", t->name,
			         f->prom);
			return -1;
		}
		for (size_t k = i; k < j; k++)
			if (same_family(&t->f[k], f) &&
			    (!g->label || !t->f[k].label || strcmp(g->label, t->f[k].label) == 0)) {
				snprintf(err, errlen, "%s: %s: samples without distinct labels",
				         t->name, f->prom);
				return -1;
			}
	}
	return 0;
}

static int check_families(char *err, size_t errlen)
{
	size_t nt = sizeof tables / sizeof tables[0];

	for (size_t a = 0; a < nt; a++)
		for (size_t i = 0; i < tables[a]->n; i++) {
			const struct stat_field *f = &tables[a]->f[i];

			if (!f->path && !f->prom) {
				snprintf(err, errlen, "%s: row %zu is shown nowhere",
				         tables[a]->name, i);
				return -1;
			}
			if (!f->prom || !first_of_family(tables[a], i))
				continue;
			if (check_family(tables[a], i, err, errlen) < 0)
				return -1;
			for (size_t b = a + 1; b < nt; b++)
				for (size_t j = 0; j < tables[b]->n; j++)
					if (same_family(&tables[b]->f[j], f)) {
						snprintf(err, errlen, "%s: in two tables", f->prom);
						return -1;
					}
		}
	return 0;
}

/* The emitters recurse into the tables a row names; these rules bound the depth at
 * three (the snapshot, a worker, an exit): lists are the snapshot's alone and an
 * exit holds no exit. A histogram is the pool's alone too: one per slot would be
 * 28 series per worker. */
static int check_nesting(char *err, size_t errlen)
{
	for (size_t a = 0; a < sizeof tables / sizeof tables[0]; a++)
		for (size_t i = 0; i < tables[a]->n; i++) {
			const struct stat_field *f = &tables[a]->f[i];
			int list = f->unit == SU_EXIT_LIST || f->unit == SU_WORKER_LIST ||
			           f->unit == SU_LISTENER_LIST || f->unit == SU_HISTOGRAM;

			if ((list && tables[a] != &global_table) ||
			    (f->unit == SU_EXIT && tables[a] == &exit_table)) {
				snprintf(err, errlen, "%s: %s: a nested table in the wrong place",
				         tables[a]->name, f->path ? f->path : f->prom);
				return -1;
			}
		}
	return 0;
}

/* Each Prometheus bucket bound rises and begins an internal bucket, so its count is
 * exact (see prom_bounds_us). */
static int check_bounds(char *err, size_t errlen)
{
	for (size_t k = 0; k < PROM_NBOUNDS; k++) {
		uint64_t us = prom_bounds_us[k];

		if ((k > 0 && us <= prom_bounds_us[k - 1]) ||
		    hist_bucket_low(hist_bucket(us)) != us) {
			snprintf(err, errlen,
			         "Prometheus bucket bound %llu us does not rise or begin a "
			         "histogram bucket",
			         (unsigned long long)us);
			return -1;
		}
	}
	return 0;
}

int stats_check_fields(char *err, size_t errlen)
{
	if (check_bounds(err, errlen) < 0)
		return -1;
	for (size_t a = 0; a < sizeof tables / sizeof tables[0]; a++)
		if (check_paths(tables[a], err, errlen) < 0)
			return -1;
	if (check_nesting(err, errlen) < 0)
		return -1;
	return check_families(err, errlen);
}
