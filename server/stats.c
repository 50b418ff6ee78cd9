/* Stats: one snapshot of the master and the scoreboard, rendered as the `status`
 * summary, the `workers` table, "key: value" text, JSON or Prometheus text. Text and
 * JSON come from one walk over the fields (struct emitter), so the two formats can
 * never disagree about which fields exist or what they are called. */
#include "stats.h"

#include "addr.h"
#include "clock.h"
#include "config.h"
#include "hist.h"
#include "log.h"
#include "pool.h"
#include "scoreboard.h"
#include "service.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the snapshot ---- */

struct latency {
	uint64_t count, p50, p90, p99, p999, max; /* microseconds */
};

struct pool_stats {
	long configured;
	int running, busy, idle, starting, stopping;
};

struct snapshot {
	const struct pool *m;
	uint64_t now_ns;
	struct pool_stats pool;
	struct sb_totals totals; /* retired + every live slot */
	struct latency latency;
	uint64_t restarts;
};

static double ns_to_s(uint64_t ns)
{
	return (double)ns / (double)NS_PER_SEC;
}

static int is_live(const struct pool *m, int slot)
{
	return m->children[slot].pid > 0;
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
}

/* A worker told to stop is "stopping" whatever its slot says: it no longer counts
 * toward the target, even while it finishes a connection. */
static enum worker_state effective_state(const struct pool *m, int slot)
{
	enum worker_state st = sb_state(&m->slots[slot]);

	if (m->children[slot].stopping)
		return WS_STOPPING;
	return st == WS_EMPTY || st > WS_STOPPING ? WS_STARTING : st;
}

static const char *state_name(enum worker_state st)
{
	static const char *const names[] = {
		[WS_EMPTY] = "empty", [WS_STARTING] = "starting", [WS_IDLE] = "idle",
		[WS_BUSY] = "busy",   [WS_STOPPING] = "stopping",
	};

	return names[st];
}

static void count_state(struct pool_stats *p, enum worker_state st)
{
	p->running++;
	if (st == WS_BUSY)
		p->busy++;
	else if (st == WS_IDLE)
		p->idle++;
	else if (st == WS_STOPPING)
		p->stopping++;
	else
		p->starting++;
}

static void take_snapshot(struct snapshot *s, const struct pool *m, uint64_t now)
{
	memset(s, 0, sizeof *s);
	s->m = m;
	s->now_ns = now;
	s->pool.configured = m->target;
	s->totals = m->retired;
	for (int i = 0; i < SLOTS_MAX; i++) {
		if (!is_live(m, i))
			continue;
		count_state(&s->pool, effective_state(m, i));
		scoreboard_fold(&s->totals, &m->slots[i]);
	}
	/* The master's own dropped log lines count with its workers'. */
	s->totals.counters[C_LOG_DROPPED] += log_dropped();
	measure_latency(s->totals.hist, &s->latency);
	for (int c = 0; c < EXIT_CAUSE_COUNT; c++)
		if (c != EXIT_CAUSE_STOPPED)
			s->restarts += m->exits[c];
}

/* One live slot's counters and histogram, read with atomic loads. */
static void read_slot(const struct pool *m, int slot, struct sb_totals *out)
{
	memset(out, 0, sizeof *out);
	scoreboard_fold(out, &m->slots[slot]);
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
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, len, "%lluB", (unsigned long long)n);
		return;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
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
	return c[C_ERR_TIMEOUT] + c[C_ERR_RESET] + c[C_ERR_OTHER];
}

/* ---- the worker table ---- */

static void render_table_header(struct strbuf *b)
{
	strbuf_printf(b, "%4s %7s %4s %-8s %6s %8s %8s %8s %5s %7s %7s %-21s %6s  %s\n", "SLOT",
	              "PID", "GEN", "STATE", "AGE", "CONNS", "IN", "OUT", "ERRS", "P50", "P99",
	              "PEER", "BUSY", "LAST EXIT");
}

static void render_table_row(struct strbuf *b, const struct pool *m, int i, uint64_t now)
{
	const struct child *w = &m->children[i];
	enum worker_state st = effective_state(m, i);
	char age[32], in[32], out[32], p50[32], p99[32], last[48];
	char peer[ADDR_TEXT_MAX] = "-", busy[32] = "-";
	struct sb_totals t;
	struct latency l;

	read_slot(m, i, &t);
	measure_latency(t.hist, &l);
	format_duration(ns_to_s(now - w->started_ns), age, sizeof age);
	format_bytes(t.counters[C_BYTES_IN], in, sizeof in);
	format_bytes(t.counters[C_BYTES_OUT], out, sizeof out);
	format_us(l.p50, l.count, p50, sizeof p50);
	format_us(l.p99, l.count, p99, sizeof p99);
	if (sb_state(&m->slots[i]) == WS_BUSY) {
		uint64_t since = sb_get(&m->slots[i].busy_since_ns);

		addr_format((const struct sockaddr *)&m->slots[i].peer, peer, sizeof peer);
		format_duration(ns_to_s(now > since ? now - since : 0), busy, sizeof busy);
	}
	describe_exit_short(&w->last_exit, last, sizeof last);
	strbuf_printf(b, "%4d %7ld %4u %-8s %6s %8llu %8s %8s %5llu %7s %7s %-21s %6s  %s\n", i,
	              (long)w->pid, w->generation, state_name(st), age,
	              (unsigned long long)t.counters[C_ACCEPTED], in, out,
	              (unsigned long long)errors_of(t.counters), p50, p99, peer, busy, last);
}

void stats_render_workers(struct strbuf *b, const struct pool *m, uint64_t now_ns)
{
	render_table_header(b);
	for (int i = 0; i < SLOTS_MAX; i++)
		if (is_live(m, i))
			render_table_row(b, m, i, now_ns);
}

/* ---- status ---- */

static void render_crash_loop_line(struct strbuf *b, const struct pool *m, uint64_t now)
{
	uint64_t next = m->next_spawn_ns > now ? m->next_spawn_ns - now : 0;

	if (m->failed_starts == 0)
		strbuf_printf(b, "Crash loop: no\n");
	else
		strbuf_printf(b,
		              "Crash loop: yes: %u failed starts in a row (%u failed probes), "
		              "back-off %.1fs, next start in %.1fs\n",
		              m->failed_starts, m->failed_probes, ns_to_s(m->backoff_ns),
		              ns_to_s(next));
	if (m->slots_exhausted)
		strbuf_printf(b, "     Slots: all taken by workers still finishing; "
		                 "new workers wait for them\n");
}

static void render_status_header(struct strbuf *b, const struct snapshot *s)
{
	const struct pool *m = s->m;
	const struct pool_stats *p = &s->pool;
	char since[32], up[32];

	format_wall(m->started_wall, since, sizeof since);
	format_duration(ns_to_s(s->now_ns - m->started_ns), up, sizeof up);
	strbuf_printf(b, "preforkd %s - %s, pid %ld\n", PREFORKD_VERSION,
	              m->stopping ? "stopping" : "running", (long)m->pid);
	strbuf_printf(b, "     Since: %s (up %s)\n", since, up);
	strbuf_printf(b, "    Listen: %s (service %s)\n", m->listen_text, m->cfg->service->name);
	strbuf_printf(b, "     Admin: %s\n", m->admin_path);
	strbuf_printf(b,
	              "   Workers: %ld configured, %d running (%d busy, %d idle, %d starting, "
	              "%d stopping), generation %u\n",
	              p->configured, p->running, p->busy, p->idle, p->starting, p->stopping,
	              m->generation);
	strbuf_printf(b,
	              "  Restarts: %llu (exit code %llu, signal %llu, timeout %llu, recycled "
	              "%llu); %llu stopped on request; %llu fork failures\n",
	              (unsigned long long)s->restarts,
	              (unsigned long long)m->exits[EXIT_CAUSE_CODE],
	              (unsigned long long)m->exits[EXIT_CAUSE_SIGNAL],
	              (unsigned long long)m->exits[EXIT_CAUSE_TIMEOUT],
	              (unsigned long long)m->exits[EXIT_CAUSE_RECYCLED],
	              (unsigned long long)m->exits[EXIT_CAUSE_STOPPED],
	              (unsigned long long)m->fork_failures_total);
	render_crash_loop_line(b, m, s->now_ns);
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
	              "reset %llu, other %llu); %s in, %s out\n",
	              (unsigned long long)c[C_ACCEPTED], (unsigned long long)c[C_COMPLETED],
	              (unsigned long long)errors_of(c), (unsigned long long)c[C_ERR_TIMEOUT],
	              (unsigned long long)c[C_ERR_RESET], (unsigned long long)c[C_ERR_OTHER], in,
	              out);
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
}

#define STATUS_EXITS 5

/* The newest few entries of the master's ring of recent exits, newest first. */
static void render_recent_exits(struct strbuf *b, const struct pool *m)
{
	for (unsigned k = 0; k < STATUS_EXITS && k < RECENT_EXITS && k < m->recent_next; k++) {
		const struct exit_record *r = &m->recent_exits[(m->recent_next - 1 - k) % RECENT_EXITS];
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

void stats_render_status(struct strbuf *b, const struct pool *m, uint64_t now_ns)
{
	struct snapshot s;

	take_snapshot(&s, m, now_ns);
	render_status_header(b, &s);
	render_status_totals(b, &s);
	render_recent_exits(b, m);
	strbuf_printf(b, "\n");
	stats_render_workers(b, m, now_ns);
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
		return; /* cannot happen with the fixed layout below */
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

/* ---- the fields ---- */

static void emit_latency(struct emitter *e, const char *name, const struct latency *l)
{
	emit_open(e, name, 0);
	emit_u64(e, "count", l->count);
	emit_u64(e, "p50", l->p50);
	emit_u64(e, "p90", l->p90);
	emit_u64(e, "p99", l->p99);
	emit_u64(e, "p99_9", l->p999);
	emit_u64(e, "max", l->max);
	emit_close(e);
}

static void emit_errors(struct emitter *e, const uint64_t *c)
{
	emit_open(e, "errors", 0);
	emit_u64(e, "timeout", c[C_ERR_TIMEOUT]);
	emit_u64(e, "reset", c[C_ERR_RESET]);
	emit_u64(e, "other", c[C_ERR_OTHER]);
	emit_close(e);
}

static void emit_pool(struct emitter *e, const struct pool_stats *p)
{
	emit_open(e, "pool", 0);
	emit_u64(e, "configured", (uint64_t)p->configured);
	emit_u64(e, "running", (uint64_t)p->running);
	emit_u64(e, "busy", (uint64_t)p->busy);
	emit_u64(e, "idle", (uint64_t)p->idle);
	emit_u64(e, "starting", (uint64_t)p->starting);
	emit_u64(e, "stopping", (uint64_t)p->stopping);
	emit_close(e);
}

static void emit_totals(struct emitter *e, const uint64_t *c)
{
	emit_open(e, "totals", 0);
	emit_u64(e, "accepted", c[C_ACCEPTED]);
	emit_u64(e, "completed", c[C_COMPLETED]);
	emit_errors(e, c);
	emit_u64(e, "bytes_in", c[C_BYTES_IN]);
	emit_u64(e, "bytes_out", c[C_BYTES_OUT]);
	emit_u64(e, "log_lines_dropped", c[C_LOG_DROPPED]);
	emit_close(e);
}

static void emit_restarts(struct emitter *e, const struct snapshot *s)
{
	const struct pool *m = s->m;

	emit_open(e, "restarts", 0);
	emit_u64(e, "total", s->restarts);
	emit_u64(e, "exit_code", m->exits[EXIT_CAUSE_CODE]);
	emit_u64(e, "signal", m->exits[EXIT_CAUSE_SIGNAL]);
	emit_u64(e, "timeout", m->exits[EXIT_CAUSE_TIMEOUT]);
	emit_u64(e, "recycled", m->exits[EXIT_CAUSE_RECYCLED]);
	emit_close(e);
	emit_u64(e, "stopped_on_request", m->exits[EXIT_CAUSE_STOPPED]);
	emit_u64(e, "fork_failures", m->fork_failures_total);
	emit_bool(e, "slots_exhausted", m->slots_exhausted);
	emit_u64(e, "slots_exhausted_events", m->slots_exhausted_events);
}

static void emit_crash_loop(struct emitter *e, const struct pool *m, uint64_t now)
{
	emit_open(e, "crash_loop", 0);
	emit_bool(e, "active", m->failed_starts > 0);
	emit_u64(e, "failed_starts", m->failed_starts);
	emit_u64(e, "failed_probes", m->failed_probes);
	emit_seconds(e, "backoff_seconds", ns_to_s(m->backoff_ns));
	emit_seconds(e, "next_start_in_seconds",
	             m->next_spawn_ns > now ? ns_to_s(m->next_spawn_ns - now) : 0);
	emit_close(e);
}

static void emit_exit(struct emitter *e, const char *name, const struct exit_record *r, int slot)
{
	char when[32], detail[96];

	if (!r->valid) {
		emit_null(e, name);
		return;
	}
	format_wall(r->when, when, sizeof when);
	exit_record_describe(r, detail, sizeof detail);
	emit_open(e, name, 0);
	if (slot >= 0)
		emit_u64(e, "slot", (uint64_t)slot);
	emit_u64(e, "pid", (uint64_t)r->pid);
	emit_str(e, "when", when);
	emit_str(e, "cause", exit_cause_name(r->cause));
	emit_str(e, "detail", detail);
	emit_seconds(e, "lifetime_seconds", ns_to_s(r->lifetime_ns));
	emit_u64(e, "connections", r->connections);
	emit_close(e);
}

static void emit_last_exits(struct emitter *e, const struct pool *m)
{
	emit_open(e, "last_exits", 1);
	for (int i = 0; i < SLOTS_MAX; i++)
		if (m->children[i].last_exit.valid)
			emit_exit(e, NULL, &m->children[i].last_exit, i);
	emit_close(e);
}

static void emit_peer(struct emitter *e, const struct pool *m, int i, uint64_t now)
{
	char peer[ADDR_TEXT_MAX];
	uint64_t since;

	if (sb_state(&m->slots[i]) != WS_BUSY) {
		emit_null(e, "peer");
		emit_null(e, "busy_seconds");
		return;
	}
	since = sb_get(&m->slots[i].busy_since_ns);
	addr_format((const struct sockaddr *)&m->slots[i].peer, peer, sizeof peer);
	emit_str(e, "peer", peer);
	emit_seconds(e, "busy_seconds", now > since ? ns_to_s(now - since) : 0);
}

static void emit_worker(struct emitter *e, const struct pool *m, int i, uint64_t now)
{
	const struct child *w = &m->children[i];
	struct sb_totals t;
	struct latency l;

	read_slot(m, i, &t);
	measure_latency(t.hist, &l);
	emit_open(e, NULL, 0);
	emit_u64(e, "slot", (uint64_t)i);
	emit_u64(e, "pid", (uint64_t)w->pid);
	emit_u64(e, "generation", w->generation);
	emit_str(e, "state", state_name(effective_state(m, i)));
	emit_seconds(e, "age_seconds", ns_to_s(now - w->started_ns));
	emit_u64(e, "accepted", t.counters[C_ACCEPTED]);
	emit_u64(e, "completed", t.counters[C_COMPLETED]);
	emit_errors(e, t.counters);
	emit_u64(e, "bytes_in", t.counters[C_BYTES_IN]);
	emit_u64(e, "bytes_out", t.counters[C_BYTES_OUT]);
	emit_peer(e, m, i, now);
	emit_latency(e, "service_time_us", &l);
	emit_exit(e, "last_exit", &w->last_exit, -1);
	emit_close(e);
}

static void emit_stats(struct emitter *e, const struct snapshot *s)
{
	const struct pool *m = s->m;
	char started[32];

	format_wall(m->started_wall, started, sizeof started);
	emit_str(e, "version", PREFORKD_VERSION);
	emit_u64(e, "pid", (uint64_t)m->pid);
	emit_str(e, "state", m->stopping ? "stopping" : "running");
	emit_str(e, "started", started);
	emit_seconds(e, "uptime_seconds", ns_to_s(s->now_ns - m->started_ns));
	emit_open(e, "listen", 1);
	emit_str(e, NULL, m->listen_text);
	emit_close(e);
	emit_str(e, "service", m->cfg->service->name);
	emit_str(e, "admin_socket", m->admin_path);
	emit_u64(e, "generation", m->generation);
	emit_pool(e, &s->pool);
	emit_totals(e, s->totals.counters);
	emit_latency(e, "service_time_us", &s->latency);
	emit_restarts(e, s);
	emit_crash_loop(e, m, s->now_ns);
	emit_last_exits(e, m);
	emit_open(e, "workers", 1);
	for (int i = 0; i < SLOTS_MAX; i++)
		if (is_live(m, i))
			emit_worker(e, m, i, s->now_ns);
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
	emit_stats(&e, s);
	if (json)
		strbuf_append(b, "\n}\n", 3);
}

/* ---- Prometheus text exposition format ---- */

static void prom_family(struct strbuf *b, const char *name, const char *type, const char *help)
{
	strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
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

static void prom_u64(struct strbuf *b, const char *name, const char *type, const char *help,
                     uint64_t v)
{
	prom_family(b, name, type, help);
	strbuf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void prom_double(struct strbuf *b, const char *name, const char *help, double v)
{
	prom_family(b, name, "gauge", help);
	strbuf_printf(b, "%s %.9g\n", name, v);
}

static void render_prom_info(struct strbuf *b, const struct snapshot *s)
{
	const struct pool *m = s->m;

	prom_family(b, "preforkd_info", "gauge",
	            "Constant 1, labelled with version, service and listen address.");
	strbuf_printf(b, "preforkd_info{version=\"%s\",service=\"", PREFORKD_VERSION);
	prom_label_value(b, m->cfg->service->name);
	strbuf_printf(b, "\",listen=\"");
	prom_label_value(b, m->listen_text);
	strbuf_printf(b, "\"} 1\n");
	prom_u64(b, "preforkd_start_time_seconds", "gauge",
	         "Start time of the master, seconds since the Unix epoch.",
	         (uint64_t)m->started_wall);
	prom_double(b, "preforkd_uptime_seconds", "Seconds since the master started.",
	            ns_to_s(s->now_ns - m->started_ns));
	prom_u64(b, "preforkd_stopping", "gauge", "1 while the server shuts down.",
	         (uint64_t)(m->stopping != 0));
	prom_u64(b, "preforkd_generation", "gauge", "Worker generation; each reload adds one.",
	         m->generation);
}

static void render_prom_pool(struct strbuf *b, const struct snapshot *s)
{
	const struct pool_stats *p = &s->pool;

	prom_u64(b, "preforkd_workers_configured", "gauge", "Target number of workers.",
	         (uint64_t)p->configured);
	prom_family(b, "preforkd_workers", "gauge", "Live worker processes by state.");
	strbuf_printf(b, "preforkd_workers{state=\"busy\"} %d\n", p->busy);
	strbuf_printf(b, "preforkd_workers{state=\"idle\"} %d\n", p->idle);
	strbuf_printf(b, "preforkd_workers{state=\"starting\"} %d\n", p->starting);
	strbuf_printf(b, "preforkd_workers{state=\"stopping\"} %d\n", p->stopping);
}

static void render_prom_totals(struct strbuf *b, const struct snapshot *s)
{
	const uint64_t *c = s->totals.counters;

	prom_u64(b, "preforkd_connections_accepted_total", "counter",
	         "Connections accepted by any worker, including workers that are gone.",
	         c[C_ACCEPTED]);
	prom_u64(b, "preforkd_connections_completed_total", "counter",
	         "Connections served to the end without an error.", c[C_COMPLETED]);
	prom_family(b, "preforkd_connection_errors_total", "counter",
	            "Connections that ended in an error, by kind.");
	strbuf_printf(b, "preforkd_connection_errors_total{kind=\"timeout\"} %llu\n",
	              (unsigned long long)c[C_ERR_TIMEOUT]);
	strbuf_printf(b, "preforkd_connection_errors_total{kind=\"reset\"} %llu\n",
	              (unsigned long long)c[C_ERR_RESET]);
	strbuf_printf(b, "preforkd_connection_errors_total{kind=\"other\"} %llu\n",
	              (unsigned long long)c[C_ERR_OTHER]);
	prom_u64(b, "preforkd_received_bytes_total", "counter", "Bytes read from clients.",
	         c[C_BYTES_IN]);
	prom_u64(b, "preforkd_sent_bytes_total", "counter", "Bytes written to clients.",
	         c[C_BYTES_OUT]);
	prom_u64(b, "preforkd_log_lines_dropped_total", "counter",
	         "Log lines dropped because the log (or the workers' pipe to it) was full.",
	         c[C_LOG_DROPPED]);
}

/* Fixed bucket bounds, so series stay stable across scrapes and instances. A
 * log-linear bucket counts toward a bound only when all of it lies below it. */
static const double prom_bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
	                              0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
	                              1,      2.5,     5,      10,    30,     60 };

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

static void render_prom_histogram(struct strbuf *b, const uint64_t *hist)
{
	const char *name = "preforkd_service_time_seconds";

	prom_family(b, name, "histogram",
	            "Connection service time, accept to close (sum estimated from buckets).");
	for (size_t k = 0; k < sizeof prom_bounds / sizeof prom_bounds[0]; k++) {
		uint64_t n = 0;

		for (unsigned i = 0; i < HIST_BUCKETS; i++)
			if ((double)hist_bucket_high(i) <= prom_bounds[k] * 1e6)
				n += hist[i];
		strbuf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, prom_bounds[k],
		              (unsigned long long)n);
	}
	strbuf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	              (unsigned long long)hist_total(hist));
	strbuf_printf(b, "%s_sum %.9g\n%s_count %llu\n", name, hist_sum_seconds(hist), name,
	              (unsigned long long)hist_total(hist));
}

static void render_prom_exits(struct strbuf *b, const struct snapshot *s)
{
	const struct pool *m = s->m;

	prom_family(b, "preforkd_worker_exits_total", "counter",
	            "Worker exits by cause (exit code, signal, timeout kill, recycled, stopped on "
	            "request).");
	for (int c = 0; c < EXIT_CAUSE_COUNT; c++)
		strbuf_printf(b, "preforkd_worker_exits_total{cause=\"%s\"} %llu\n",
		              exit_cause_name((enum exit_cause)c), (unsigned long long)m->exits[c]);
	prom_u64(b, "preforkd_restarts_total", "counter",
	         "Workers replaced after an exit that was not requested (every cause but stopped).",
	         s->restarts);
	prom_u64(b, "preforkd_fork_failures_total", "counter", "fork() calls that failed.",
	         m->fork_failures_total);
	prom_u64(b, "preforkd_crash_loop_failed_starts", "gauge",
	         "Failed starts in a row; restarts back off while it is above 0.",
	         m->failed_starts);
	prom_double(b, "preforkd_crash_loop_backoff_seconds", "Current restart back-off.",
	            ns_to_s(m->backoff_ns));
	prom_u64(b, "preforkd_slots_exhausted", "gauge",
	         "1 while every worker slot is taken and new workers wait for old ones to exit.",
	         (uint64_t)m->slots_exhausted);
}

/* One per-worker family: a sample per live slot, labelled slot and pid. */
enum worker_metric { WM_ACCEPTED, WM_COMPLETED, WM_BYTES_IN, WM_BYTES_OUT, WM_AGE, WM_BUSY };

static const struct {
	const char *name, *type, *help;
} worker_families[] = {
	[WM_ACCEPTED] = { "preforkd_worker_accepted_total", "counter",
	                  "Connections accepted by this worker." },
	[WM_COMPLETED] = { "preforkd_worker_completed_total", "counter",
	                   "Connections this worker served without an error." },
	[WM_BYTES_IN] = { "preforkd_worker_received_bytes_total", "counter",
	                  "Bytes this worker read." },
	[WM_BYTES_OUT] = { "preforkd_worker_sent_bytes_total", "counter",
	                   "Bytes this worker wrote." },
	[WM_AGE] = { "preforkd_worker_age_seconds", "gauge", "Seconds since this worker started." },
	[WM_BUSY] = { "preforkd_worker_busy_seconds", "gauge",
	              "How long the current connection has been served; 0 when idle." },
};

static double worker_metric_value(const struct pool *m, int i, enum worker_metric k, uint64_t now)
{
	struct sb_slot *s = &m->slots[i];
	uint64_t since;

	switch (k) {
	case WM_ACCEPTED:
		return (double)sb_get(&s->counters[C_ACCEPTED]);
	case WM_COMPLETED:
		return (double)sb_get(&s->counters[C_COMPLETED]);
	case WM_BYTES_IN:
		return (double)sb_get(&s->counters[C_BYTES_IN]);
	case WM_BYTES_OUT:
		return (double)sb_get(&s->counters[C_BYTES_OUT]);
	case WM_AGE:
		return ns_to_s(now - m->children[i].started_ns);
	case WM_BUSY:
		since = sb_get(&s->busy_since_ns);
		return sb_state(s) == WS_BUSY && now > since ? ns_to_s(now - since) : 0;
	}
	return 0;
}

static void render_prom_worker_family(struct strbuf *b, const struct snapshot *s,
                                      enum worker_metric k)
{
	const struct pool *m = s->m;

	prom_family(b, worker_families[k].name, worker_families[k].type, worker_families[k].help);
	for (int i = 0; i < SLOTS_MAX; i++)
		if (is_live(m, i))
			strbuf_printf(b,
			              k < WM_AGE ? "%s{slot=\"%d\",pid=\"%ld\"} %.0f\n"
			                         : "%s{slot=\"%d\",pid=\"%ld\"} %.6f\n",
			              worker_families[k].name, i, (long)m->children[i].pid,
			              worker_metric_value(m, i, k, s->now_ns));
}

static void render_prom_worker_summary(struct strbuf *b, const struct snapshot *s)
{
	static const double q[] = { 0.5, 0.9, 0.99, 0.999 };
	const char *name = "preforkd_worker_service_time_seconds";
	const struct pool *m = s->m;

	prom_family(b, name, "summary",
	            "Service time of this worker's connections (bucket upper bounds).");
	for (int i = 0; i < SLOTS_MAX; i++) {
		struct sb_totals t;

		if (!is_live(m, i))
			continue;
		read_slot(m, i, &t);
		for (size_t k = 0; k < sizeof q / sizeof q[0]; k++)
			strbuf_printf(b, "%s{slot=\"%d\",pid=\"%ld\",quantile=\"%g\"} %.9g\n", name,
			              i, (long)m->children[i].pid, q[k],
			              (double)hist_percentile(t.hist, q[k]) / 1e6);
		strbuf_printf(b, "%s_sum{slot=\"%d\",pid=\"%ld\"} %.9g\n", name, i,
		              (long)m->children[i].pid, hist_sum_seconds(t.hist));
		strbuf_printf(b, "%s_count{slot=\"%d\",pid=\"%ld\"} %llu\n", name, i,
		              (long)m->children[i].pid, (unsigned long long)hist_total(t.hist));
	}
}

static void render_prometheus(struct strbuf *b, const struct snapshot *s)
{
	render_prom_info(b, s);
	render_prom_pool(b, s);
	render_prom_totals(b, s);
	render_prom_histogram(b, s->totals.hist);
	render_prom_exits(b, s);
	for (int k = WM_ACCEPTED; k <= WM_BUSY; k++)
		render_prom_worker_family(b, s, (enum worker_metric)k);
	render_prom_worker_summary(b, s);
}

void stats_render(struct strbuf *b, const struct pool *m, enum stats_format f, uint64_t now_ns)
{
	struct snapshot s;

	take_snapshot(&s, m, now_ns);
	if (f == STATS_PROMETHEUS)
		render_prometheus(b, &s);
	else
		render_emitted(b, &s, f == STATS_JSON);
}
