#!/usr/bin/env bats
# Stats on a live server, with every kind of field set (traffic, a dead worker's
# exit, a busy worker): `stats` and `stats json` name the same fields in the same
# order, JSON names no key twice, Prometheus passes promtool. The renderers alone
# are unit-tested without a server in test/unit/stats.c.

# shellcheck disable=SC2153 # the SERVER_* variables come from helpers.bash
load helpers

teardown() {
	[ -z "${HELD:-}" ] || release_worker
	teardown_servers
}

start_busy_server() {
	start_server --workers 2
	[ "$(echo_once "one")" = one ]
	kill -KILL "$(worker_pids | head -1)"
	wait_until 5 json_true '.restarts.signal == 1 and .pool.idle == 2'
	hold_worker
	wait_until 5 json_true '.pool.busy == 1 and .pool.idle == 1'
}

@test "stats and stats json name the same fields in the same order; no JSON key twice" {
	start_busy_server
	"$CTL" -s "$SERVER_ADMIN" stats >"$BATS_TEST_TMPDIR/stats.txt"
	"$CTL" -s "$SERVER_ADMIN" stats json >"$BATS_TEST_TMPDIR/stats.json"
	python3 - "$BATS_TEST_TMPDIR/stats.txt" "$BATS_TEST_TMPDIR/stats.json" <<'PY'
import json, sys

def no_twice(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        sys.exit("a JSON object names a key twice: %s" % keys)
    return dict(pairs)

def leaves(v, path):
    if isinstance(v, dict):
        for k, x in v.items():
            yield from leaves(x, path + "." + k if path else k)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from leaves(x, "%s[%d]" % (path, i))
    else:
        yield path

doc = json.load(open(sys.argv[2]), object_pairs_hook=no_twice)
text = [line.split(": ", 1)[0] for line in open(sys.argv[1]).read().splitlines()]
js = list(leaves(doc, ""))
if text != js:
    sys.exit("text keys %s\n  != JSON paths %s" % (text, js))
workers = doc["workers"]
if not (any(w["peer"] for w in workers) and any(w["last_exit"] for w in workers) and
        doc["last_exits"]):
    sys.exit("expected a busy worker, a slot's last exit and the list of exits")
PY
}

@test "stats prometheus with a busy worker and a dead one passes promtool" {
	start_busy_server
	"$CTL" -s "$SERVER_ADMIN" stats prometheus >"$BATS_TEST_TMPDIR/metrics.txt"
	promtool check metrics <"$BATS_TEST_TMPDIR/metrics.txt"
	grep -q '^preforkd_worker_busy_seconds{slot="[0-9]*"} [0-9.e-]*$' \
		"$BATS_TEST_TMPDIR/metrics.txt"
	grep -qx 'preforkd_worker_exits_total{cause="signal"} 1' "$BATS_TEST_TMPDIR/metrics.txt"
}

# prom_series FILE: the per-worker series in a Prometheus scrape, name and labels.
prom_series() {
	grep '^preforkd_worker_[a-z_]*{' "$1" | sed 's/ .*//' | sort
}

recycled_and_ready() {
	json_true ".restarts.recycled >= $1 and .pool.idle == .pool.configured"
}

@test "Prometheus keys per-worker series by slot: recycled workers make no new series" {
	start_server --workers 2 --max-requests 3
	local metrics="$BATS_TEST_TMPDIR/metrics" old_pids
	old_pids=$(worker_pids | sort)
	"$CTL" -s "$SERVER_ADMIN" stats prometheus >"$metrics.before"
	for i in $(seq 1 16); do
		[ "$(echo_once "m$i")" = "m$i" ]
	done
	wait_until 10 recycled_and_ready 4
	"$CTL" -s "$SERVER_ADMIN" stats prometheus >"$metrics.after"
	promtool check metrics <"$metrics.after"
	# Other pids (four workers at least were replaced), the same series: each
	# labelled with its slot alone.
	[ "$old_pids" != "$(worker_pids | sort)" ]
	run grep -c 'pid=' "$metrics.after"
	assert_eq "$output" 0
	assert_eq "$(prom_series "$metrics.after")" "$(prom_series "$metrics.before")"
	grep -qx 'preforkd_worker_accepted_total{slot="0"} [0-9]*' "$metrics.after"
	# A slot's counters fold in its earlier workers': with every connection made in
	# slots that stay live, the slots add up to the pool's total (16), and JSON keeps
	# each worker's own count with its pid.
	local slots total
	slots=$(awk '/^preforkd_worker_accepted_total\{/ { n += $2 } END { print n }' \
		"$metrics.after")
	total=$(awk '/^preforkd_connections_accepted_total / { print $2 }' "$metrics.after")
	assert_eq "$total" 16
	assert_eq "$slots" "$total" "the slots add up to the total"
	json_true '[.workers[] | .pid > 0 and .accepted < 4] | all'
}

@test "Prometheus buckets start below 100 us, are cumulative and end at _count; worker latency in JSON only" {
	start_server --workers 2
	for i in $(seq 1 10); do
		[ "$(echo_once "h$i")" = "h$i" ]
	done
	local metrics="$BATS_TEST_TMPDIR/metrics.txt"
	"$CTL" -s "$SERVER_ADMIN" stats prometheus >"$metrics"
	promtool check metrics <"$metrics"
	python3 - "$metrics" <<'PY'
import re, sys

bounds, counts, count = [], [], None
for line in open(sys.argv[1]):
    m = re.match(r'preforkd_service_time_seconds_bucket\{le="([^"]+)"\} (\d+)$', line)
    if m:
        bounds.append(float(m.group(1)))
        counts.append(int(m.group(2)))
    m = re.match(r'preforkd_service_time_seconds_count (\d+)$', line)
    if m:
        count = int(m.group(1))
if not bounds or bounds[0] >= 100e-6:
    sys.exit("the first bucket bound is not below 100 us: %s" % bounds[:1])
if bounds != sorted(bounds) or bounds[-1] != float("inf"):
    sys.exit("bounds do not rise to +Inf: %s" % bounds)
if counts != sorted(counts) or counts[-1] != count or count < 10:
    sys.exit("buckets %s are not cumulative up to _count %s" % (counts, count))
PY
	run grep -E 'preforkd_worker_service_time|quantile=|^# TYPE .* summary' "$metrics"
	assert_eq "$status" 1
	json_true '[.workers[] | .service_time_us.count >= 0 and .service_time_us.p99 >= 0] | all'
	json_true '.service_time_us.count == 10'
}
