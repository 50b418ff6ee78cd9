/* Unit tests: stats renders a pool filled by hand, with no master behind it. The
 * same counter reads the same in text, JSON and Prometheus; a dead child's folded
 * counters are in the totals; each format keeps its structure; the field table
 * keeps its rules. (test/admin.bats parses a live server's JSON with jq.) */
#include "admin_proto.h"
#include "config.h"
#include "hist.h"
#include "pool.h"
#include "scoreboard.h"
#include "service.h"
#include "stats.h"
#include "strbuf.h"
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define NS 1000000000ULL
#define NOW (5000 * NS)

static struct sb_slot slots[SLOTS_MAX];
static struct pool pool;
static struct config cfg;

/* A worker's slot as the worker leaves it: counters, and n connections of `us`. */
static void fill_slot(int i, enum worker_state st, uint64_t accepted, uint64_t bytes, uint64_t us,
                      uint64_t n)
{
	scoreboard_reset_slot(&slots[i]);
	sb_set_state(&slots[i], st);
	sb_add(&slots[i].counters[C_ACCEPTED], accepted);
	sb_add(&slots[i].counters[C_COMPLETED], accepted - 1);
	sb_add(&slots[i].counters[C_ERR_RESET], 1);
	sb_add(&slots[i].counters[C_BYTES_IN], bytes);
	sb_add(&slots[i].counters[C_BYTES_OUT], bytes);
	sb_add(&slots[i].hist[hist_bucket(us)], n);
}

static void start_child(int i, pid_t pid, unsigned generation)
{
	pool.children[i] = (struct child){ .pid = pid,
		                           .generation = generation,
		                           .started_ns = NOW - 60 * NS,
		                           .started_wall = 1700000000 };
}

/* Slot 0: idle, 10 connections. Slot 1: busy with 10.1.2.3:4567, 4 connections.
 * Slot 2: its child died of SIGSEGV after 7 connections; the master folded its
 * counters into the retired totals, which already held 1000 from earlier ones. */
static void fill_pool(void)
{
	struct sockaddr_in *peer = (struct sockaddr_in *)&slots[1].peer;

	config_defaults(&cfg);
	memset(&pool, 0, sizeof pool);
	pool.cfg = &cfg;
	pool.pid = 4242;
	pool.admin_path = "/run/a\"b\x01.sock";
	snprintf(pool.listen_text, sizeof pool.listen_text, "127.0.0.1:7777");
	pool.started_ns = NOW - 100 * NS;
	pool.started_wall = 1699999960;
	pool.target = 3;
	pool.generation = 2;
	pool.slots = slots;

	fill_slot(0, WS_IDLE, 10, 100, 200, 10);
	start_child(0, 5000, 2);
	fill_slot(1, WS_BUSY, 4, 40, 900, 3);
	atomic_store(&slots[1].busy_since_ns, NOW - 2 * NS);
	peer->sin_family = AF_INET;
	peer->sin_port = htons(4567);
	inet_pton(AF_INET, "10.1.2.3", &peer->sin_addr);
	start_child(1, 5001, 2);
	/* Slot 1's earlier workers read 500 bytes and accepted 50 connections (the
	 * master folded them into the slot, and into the retired totals). */
	pool.children[1].slot_counters[C_BYTES_IN] = 500;
	pool.children[1].slot_counters[C_ACCEPTED] = 50;

	pool.retired.counters[C_ACCEPTED] = 1000;
	pool.retired.counters[C_COMPLETED] = 1000;
	fill_slot(2, WS_BUSY, 7, 70, 50, 6);
	scoreboard_fold(&pool.retired, &slots[2]);
	scoreboard_reset_slot(&slots[2]);
	pool.children[2].last_exit = (struct exit_record){ .valid = 1,
		                                           .when = 1700000030,
		                                           .pid = 4999,
		                                           .cause = EXIT_CAUSE_SIGNAL,
		                                           .status = SIGSEGV,
		                                           .core = 1,
		                                           .lifetime_ns = 30 * NS,
		                                           .connections = 7 };
	pool.exits[EXIT_CAUSE_SIGNAL] = 1;
	pool.exits[EXIT_CAUSE_STOPPED] = 2;
	pool.recent_exits[0] = pool.children[2].last_exit;
	pool.recent_next = 1;
}

static char *render(enum stats_format f)
{
	struct strbuf b = { 0 };

	stats_render(&b, &pool, f, NOW);
	strbuf_append(&b, "", 1); /* NUL-terminated */
	return b.failed ? NULL : b.data;
}

static char *render_status(int workers_only)
{
	struct strbuf b = { 0 };

	if (workers_only)
		stats_render_workers(&b, &pool, NOW);
	else
		stats_render_status(&b, &pool, NOW);
	strbuf_append(&b, "", 1);
	return b.failed ? NULL : b.data;
}

/* The value of a whole line "PREFIX VALUE" (text: "key:", Prometheus: a sample). */
static int line_value(const char *out, const char *prefix, char *val, size_t len)
{
	size_t n = strlen(prefix);

	for (const char *l = out; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (strncmp(l, prefix, n) == 0 && l[n] == ' ') {
			size_t v = strcspn(l + n + 1, "\n");

			snprintf(val, len, "%.*s", (int)v, l + n + 1);
			return 1;
		}
	return 0;
}

static int has_line(const char *out, const char *line)
{
	size_t n = strlen(line);

	for (const char *l = out; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (strncmp(l, line, n) == 0 && (l[n] == '\n' || l[n] == '\0'))
			return 1;
	return 0;
}

/* The JSON member `name` inside the object that `object` opens ("\"totals\": {"). */
static int json_member(const char *json, const char *object, const char *name, char *val,
                       size_t len)
{
	char key[64];
	const char *o = strstr(json, object), *m;

	snprintf(key, sizeof key, "\"%s\": ", name);
	m = o ? strstr(o, key) : NULL;
	if (!m)
		return 0;
	m += strlen(key);
	snprintf(val, len, "%.*s", (int)strcspn(m, ",\n"), m);
	return 1;
}

/* One counter in the three formats: text key, Prometheus sample, JSON object and
 * member. */
static void check_same(const char *text, const char *json, const char *prom, const char *key,
                       const char *sample, const char *object, const char *member, const char *want)
{
	char t[64] = "", p[64] = "", j[64] = "";
	char tk[96];

	snprintf(tk, sizeof tk, "%s:", key);
	line_value(text, tk, t, sizeof t);
	line_value(prom, sample, p, sizeof p);
	json_member(json, object, member, j, sizeof j);
	CHECK(strcmp(t, want) == 0 && strcmp(p, want) == 0 && strcmp(j, want) == 0,
	      "%s = %s in text (%s), JSON (%s) and Prometheus (%s)", key, want, t, j, p);
}

/* Text: every key once, and every object's keys together (else JSON, written by
 * the same walk, would name an object twice). */
static int text_keys_nest(const char *text)
{
	char keys[256][128];
	int n = 0;

	for (const char *l = text; *l && n < 256; l = strchr(l, '\n') + 1) {
		size_t k = strcspn(l, ":");

		snprintf(keys[n++], sizeof keys[0], "%.*s", (int)k, l);
		if (!strchr(l, '\n'))
			break;
	}
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++) {
			if (strcmp(keys[i], keys[j]) == 0)
				return 0;
			/* Each prefix of key j ending at '.' or '[' shared with key i must
			 * also be shared by every key between them. */
			for (size_t c = 1; keys[j][c]; c++) {
				if (keys[j][c] != '.' && keys[j][c] != '[')
					continue;
				if (strncmp(keys[i], keys[j], c) != 0 ||
				    (keys[i][c] != '.' && keys[i][c] != '['))
					continue;
				for (int m = i + 1; m < j; m++)
					if (strncmp(keys[m], keys[j], c) != 0)
						return 0;
			}
		}
	return n > 0;
}

/* JSON: brackets balance outside strings, and nothing follows the document. */
static int json_balanced(const char *json)
{
	int depth = 0, in_string = 0;
	const char *s = json;

	for (; *s; s++) {
		if (in_string) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '"')
				in_string = 0;
			else if ((unsigned char)*s < 0x20)
				return 0;
			continue;
		}
		if (*s == '"')
			in_string = 1;
		else if (*s == '{' || *s == '[')
			depth++;
		else if ((*s == '}' || *s == ']') && --depth == 0)
			break;
	}
	return *s == '}' && strcmp(s, "}\n") == 0;
}

/* Prometheus: each family's HELP, TYPE, then its samples and no other's; no
 * family twice. A histogram's or summary's samples may add _bucket/_sum/_count. */
static int prom_grouped(const char *prom)
{
	char fams[64][96], cur[96] = "", type[32] = "";
	int nf = 0;

	for (const char *l = prom; *l; l = strchr(l, '\n') + 1) {
		char name[128];

		if (sscanf(l, "# HELP %95s", cur) == 1) {
			for (int i = 0; i < nf; i++)
				if (strcmp(fams[i], cur) == 0)
					return 0;
			if (nf == 64)
				return 0;
			snprintf(fams[nf++], sizeof fams[0], "%s", cur);
		} else if (sscanf(l, "# TYPE %127s %31s", name, type) == 2) {
			if (strcmp(name, cur) != 0)
				return 0;
		} else {
			size_t n = strcspn(l, "{ ");
			size_t c = strlen(cur);
			const char *suffix = l + c;

			if (n < c || strncmp(l, cur, c) != 0)
				return 0;
			if (n > c && !((strcmp(type, "histogram") == 0 &&
			                strncmp(suffix, "_bucket", n - c) == 0) ||
			               strncmp(suffix, "_sum", n - c) == 0 ||
			               strncmp(suffix, "_count", n - c) == 0))
				return 0;
		}
		if (!strchr(l, '\n'))
			break;
	}
	return nf > 0;
}

static void test_table_rules(void)
{
	char err[256] = "";
	int rc = stats_check_fields(err, sizeof err);

	CHECK(rc == 0, "every row of the field table keeps its rules%s%s", rc ? ": " : "", err);
}

static void test_same_value_everywhere(const char *text, const char *json, const char *prom)
{
	/* 10 + 4 live, 7 from the dead child, 1000 retired before. */
	check_same(text, json, prom, "totals.accepted", "preforkd_connections_accepted_total",
	           "\"totals\": {", "accepted", "1021");
	check_same(text, json, prom, "totals.errors.reset",
	           "preforkd_connection_errors_total{kind=\"reset\"}", "\"errors\": {", "reset",
	           "3");
	check_same(text, json, prom, "totals.bytes_in", "preforkd_received_bytes_total",
	           "\"totals\": {", "bytes_in", "210");
	check_same(text, json, prom, "pool.busy", "preforkd_workers{state=\"busy\"}", "\"pool\": {",
	           "busy", "1");
	check_same(text, json, prom, "restarts.signal",
	           "preforkd_worker_exits_total{cause=\"signal\"}", "\"restarts\": {", "signal",
	           "1");
	check_same(text, json, prom, "restarts.total", "preforkd_restarts_total", "\"restarts\": {",
	           "total", "1");
	check_same(text, json, prom, "workers[1].generation",
	           "preforkd_worker_generation{slot=\"1\"}", "\"pid\": 5001", "generation", "2");
	check_same(text, json, prom, "service_time_us.count", "preforkd_service_time_seconds_count",
	           "\"service_time_us\": {", "count", "19");
}

/* Text and JSON show a worker's own counters, with its pid; Prometheus shows its
 * slot's, labelled by the slot alone, earlier workers' counts folded in. */
static void test_per_slot(const char *text, const char *json, const char *prom)
{
	char v[64] = "";

	CHECK(line_value(text, "workers[1].bytes_in:", v, sizeof v) && strcmp(v, "40") == 0 &&
	              json_member(json, "\"pid\": 5001", "bytes_in", v, sizeof v) &&
	              strcmp(v, "40") == 0,
	      "text and JSON show the worker's own bytes_in (%s)", v);
	CHECK(has_line(prom, "preforkd_worker_received_bytes_total{slot=\"1\"} 540") &&
	              has_line(prom, "preforkd_worker_accepted_total{slot=\"1\"} 54") &&
	              has_line(prom, "preforkd_worker_accepted_total{slot=\"0\"} 10"),
	      "Prometheus shows the slot's counters, its earlier workers' folded in");
	CHECK(!strstr(prom, "pid="), "no Prometheus sample is labelled with a pid");
	CHECK(!strstr(prom, "preforkd_worker_service_time") && !strstr(prom, "quantile=") &&
	              !strstr(prom, "summary"),
	      "per-worker latency is not in Prometheus");
	CHECK(json_member(json, "\"pid\": 5001", "p99", v, sizeof v) && strcmp(v, "959") == 0,
	      "per-worker latency is in JSON (p99 %s)", v);
}

/* A sample's value as an integer, or -1 when it is none. */
static long long number(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	return end == s || (*end && *end != '\n') ? -1 : v;
}

/* The value of bucket `le` of the service-time histogram, or -1. */
static long long bucket(const char *prom, const char *le)
{
	char sample[96], v[64];

	snprintf(sample, sizeof sample, "preforkd_service_time_seconds_bucket{le=\"%s\"}", le);
	return line_value(prom, sample, v, sizeof v) ? number(v) : -1;
}

/* Buckets from 4 us, cumulative, each an exact count: 6 connections of 50 us,
 * 10 of 200 us, 3 of 900 us. */
static void test_buckets(const char *prom)
{
	long long last = 0, count = -1;
	int n = 0, rising = 1;
	char v[64];

	CHECK(strstr(prom, "preforkd_service_time_seconds_bucket{le=\"4e-06\"} 0\n") ==
	              strstr(prom, "preforkd_service_time_seconds_bucket"),
	      "the first bucket bound is 4 us");
	for (const char *l = strstr(prom, "preforkd_service_time_seconds_bucket"); l;
	     l = strstr(l + 1, "preforkd_service_time_seconds_bucket")) {
		long long c = number(strchr(l, ' ') + 1);

		rising &= c >= last;
		last = c;
		n++;
	}
	CHECK(rising, "buckets are cumulative");
	if (line_value(prom, "preforkd_service_time_seconds_count", v, sizeof v))
		count = number(v);
	CHECK(n == 26 && count == 19 && last == 19 && bucket(prom, "+Inf") == 19,
	      "26 buckets, the last (+Inf) equal to _count (%d buckets, %lld, %lld)", n, last,
	      count);
	CHECK(bucket(prom, "3.2e-05") == 0 && bucket(prom, "6.4e-05") == 6 &&
	              bucket(prom, "0.000128") == 6 && bucket(prom, "0.000256") == 16 &&
	              bucket(prom, "0.000512") == 16 && bucket(prom, "0.001024") == 19 &&
	              bucket(prom, "67.108864") == 19,
	      "each bucket counts exactly the connections below its bound");
}

/* A value one below a bound counts toward it; the bound's own value does not (it
 * lasted at least that long): the bound begins an internal bucket. */
static void test_bucket_edges(void)
{
	char *prom;

	sb_add(&slots[0].hist[hist_bucket(255)], 1);
	sb_add(&slots[0].hist[hist_bucket(256)], 1);
	prom = render(STATS_PROMETHEUS);
	CHECK(prom && bucket(prom, "0.000256") == 17 && bucket(prom, "0.000512") == 18,
	      "255 us is below the 256 us bound, 256 us is not");
	free(prom);
	fill_pool();
}

static void test_dead_child(const char *text, const char *json, const char *prom)
{
	char v[64] = "";

	CHECK(line_value(text, "pool.running:", v, sizeof v) && strcmp(v, "2") == 0,
	      "the dead child is not running (pool.running: %s)", v);
	CHECK(has_line(text, "last_exits[0].slot: 2") &&
	              has_line(text, "last_exits[0].pid: 4999") &&
	              has_line(text, "last_exits[0].detail: signal 11 (Segmentation fault), "
	                             "core dumped"),
	      "its exit is listed with its slot, pid and cause");
	CHECK(!strstr(text, "workers[2]") && !strstr(prom, "slot=\"2\""),
	      "it has no worker entry and no per-worker samples");
	CHECK(strstr(json, "\"last_exit\": null") != NULL,
	      "a slot that never lost a child has a null last_exit");
}

static void test_absent_values(const char *text, const char *json, const char *prom)
{
	CHECK(has_line(text, "workers[0].peer: -") &&
	              has_line(text, "workers[1].peer: 10.1.2.3:4567"),
	      "an idle worker has no peer; a busy one shows its client");
	CHECK(strstr(json, "\"peer\": null") && strstr(json, "\"busy_seconds\": 2.000"),
	      "JSON writes absent values as null");
	CHECK(has_line(prom, "preforkd_worker_busy_seconds{slot=\"0\"} 0") &&
	              has_line(prom, "preforkd_worker_busy_seconds{slot=\"1\"} 2"),
	      "Prometheus writes an idle worker's busy time as 0");
}

/* The busy connection's fields: the client's from the slot; what only the kernel
 * knows is absent here (no listener, so no sock_diag dump), and never in Prometheus. */
static void test_connection_fields(const char *text, const char *json, const char *prom)
{
	CHECK(has_line(text, "workers[1].client_ip: 10.1.2.3") &&
	              has_line(text, "workers[1].client_port: 4567") &&
	              has_line(text, "workers[1].server_port: -") &&
	              has_line(text, "workers[1].tcp_state: -") &&
	              has_line(text, "workers[1].rtt_us: -") &&
	              has_line(text, "workers[0].client_port: -"),
	      "a busy worker's client ip and port; unknown TCP figures and idle workers: -");
	CHECK(strstr(json, "\"client_port\": 4567") && strstr(json, "\"retransmits\": null"),
	      "JSON: the client port as a number, unknown figures as null");
	CHECK(!strstr(prom, "client_port") && !strstr(prom, "rtt"),
	      "Prometheus shows no connection fields");
}

static void test_escaping(const char *text, const char *json)
{
	CHECK(has_line(text, "admin_socket: /run/a\"b?.sock"),
	      "text replaces a control character in a value with '?'");
	CHECK(strstr(json, "\"admin_socket\": \"/run/a\\\"b\\u0001.sock\"") != NULL,
	      "JSON escapes quotes and control characters");
}

static void test_structure(const char *text, const char *json, const char *prom)
{
	CHECK(text_keys_nest(text), "text keys are unique and each object's keys stand together");
	CHECK(json_balanced(json), "the JSON document's brackets balance");
	CHECK(prom_grouped(prom), "each Prometheus family is written once, samples together");
}

static void test_tables(void)
{
	char *status = render_status(0), *workers = render_status(1);

	CHECK(status && strstr(status, "Totals: 1021 accepted, 1018 completed, 3 errors"),
	      "status shows the same totals");
	CHECK(status && strstr(status, "Last exits: 2023-11-14T22:13:50Z pid 4999 signal 11 "
	                               "(Segmentation fault), core dumped after 30.0s, 7 "
	                               "connections"),
	      "status shows the latest exit");
	CHECK(workers && strstr(workers, "   0    5000    2 idle") &&
	              strstr(workers, "   1    5001    2 busy") &&
	              strstr(workers, "10.1.2.3:4567") && !strstr(workers, "4999"),
	      "the workers table has a row per live worker");
	CHECK(workers && strstr(workers, "CLIENT                SERVER                TCP STATE") &&
	              strstr(workers,
	                     "   1    5001 10.1.2.3:4567         -                     -") &&
	              strstr(workers, "sock_diag did not answer"),
	      "the busy worker's connection under the table, '-' for what the kernel did not say");
	free(status);
	free(workers);
}

/* A crash loop past --crash-loop-limit: "failing" in every format, and in the
 * status line that preforkctl judges. */
static void test_failing(void)
{
	char *text, *prom, *json, *status;
	char state[ADMIN_STATE_MAX] = "";

	cfg.crash_loop_limit = 60;
	pool.failed_starts = 12;
	pool.crash_loop_since_ns = NOW - 75 * NS;
	pool.crash_loop_failing = 1;
	text = render(STATS_TEXT);
	json = render(STATS_JSON);
	prom = render(STATS_PROMETHEUS);
	status = render_status(0);
	CHECK(text && has_line(text, "state: failing") &&
	              has_line(text, "crash_loop.failing: true") &&
	              has_line(text, "crash_loop.duration_seconds: 75.000") &&
	              has_line(text, "crash_loop.limit_seconds: 60.000"),
	      "text says failing, for how long and the limit");
	CHECK(json && strstr(json, "\n  \"state\": \"failing\",\n") &&
	              strstr(json, "\"failing\": true"),
	      "JSON says failing");
	CHECK(prom && has_line(prom, "preforkd_crash_loop_failing 1"),
	      "preforkd_crash_loop_failing is 1");
	CHECK(status && admin_status_state(status, strlen(status), state, sizeof state) == 0 &&
	              strcmp(state, ADMIN_STATE_FAILING) == 0 &&
	              strstr(status, "   Failing: every worker start has failed for 1m15s "
	                             "(--crash-loop-limit 1m00s)\n"),
	      "the status line says failing (%s), and a line says since when", state);
	free(text);
	free(json);
	free(prom);
	free(status);
	pool.failed_starts = 0;
	pool.crash_loop_failing = 0;
	text = render(STATS_TEXT);
	prom = render(STATS_PROMETHEUS);
	CHECK(text && has_line(text, "state: running") &&
	              has_line(text, "crash_loop.failing: false") &&
	              has_line(text, "crash_loop.duration_seconds: 0.000") && prom &&
	              has_line(prom, "preforkd_crash_loop_failing 0"),
	      "once the episode ends: running, 0");
	free(text);
	free(prom);
}

static void test_stopping(void)
{
	char *text, *prom;

	pool.stopping = 1;
	pool.children[0].stopping = 1;
	text = render(STATS_TEXT);
	prom = render(STATS_PROMETHEUS);
	CHECK(text && has_line(text, "state: stopping") && has_line(text, "pool.stopping: 1") &&
	              has_line(text, "workers[0].state: stopping"),
	      "a stopping pool and a worker told to stop say so");
	CHECK(prom && has_line(prom, "preforkd_stopping 1"), "preforkd_stopping is 1");
	free(text);
	free(prom);
}

int main(void)
{
	char *text, *json, *prom;

	test_table_rules();
	fill_pool();
	CHECK(pool_live_count(&pool) == 2, "two children live");
	text = render(STATS_TEXT);
	json = render(STATS_JSON);
	prom = render(STATS_PROMETHEUS);
	CHECK(text && json && prom, "the three formats render");
	if (!text || !json || !prom)
		return unit_done();
	test_same_value_everywhere(text, json, prom);
	test_per_slot(text, json, prom);
	test_buckets(prom);
	test_bucket_edges();
	test_dead_child(text, json, prom);
	test_absent_values(text, json, prom);
	test_connection_fields(text, json, prom);
	test_escaping(text, json);
	test_structure(text, json, prom);
	test_tables();
	test_failing();
	test_stopping();
	free(text);
	free(json);
	free(prom);
	return unit_done();
}
