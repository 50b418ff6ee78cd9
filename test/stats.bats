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

json_is() {
	"$CTL" -s "$SERVER_ADMIN" stats json | jq -e "$1" >/dev/null
}

start_busy_server() {
	start_server --workers 2
	[ "$(echo_once "one")" = one ]
	kill -KILL "$(worker_pids | head -1)"
	wait_until 5 json_is '.restarts.signal == 1 and .pool.idle == 2'
	hold_worker
	wait_until 5 json_is '.pool.busy == 1 and .pool.idle == 1'
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
	grep -q '^preforkd_worker_busy_seconds{slot="[0-9]*",pid="[0-9]*"} [0-9.e-]*$' \
		"$BATS_TEST_TMPDIR/metrics.txt"
	grep -qx 'preforkd_worker_exits_total{cause="signal"} 1' "$BATS_TEST_TMPDIR/metrics.txt"
}
