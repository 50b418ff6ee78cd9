#!/usr/bin/env bats
# scripts/bench.sh, what `make bench` runs: a tiny run prints every section, reports
# memory and spread, and leaves no server behind; bad usage exits 2. The figures
# themselves are never asserted: speed lives in `make bench`, not in tests.

load helpers

BENCH_SH="$ROOT/scripts/bench.sh"
REF_DIR="$ROOT/../shared/bench"

setup() {
	# bench.sh makes its temp dir here: the test can see that it is removed.
	export TMPDIR="$BATS_TEST_TMPDIR/tmp"
	mkdir -p "$TMPDIR"
	SID_FILE="$BATS_TEST_TMPDIR/bench.sid"
}

# session_procs SID: pids of live processes still in that session. A zombie left
# by a pipeline stage as bench.sh exits is skipped: init reaps it.
session_procs() {
	ps -e -o sid=,pid=,stat= | awk -v s="$1" '$1 == s && $3 !~ /^Z/ { print $2 }'
}

session_empty() {
	[ -z "$(session_procs "$1")" ]
}

teardown() {
	[ -z "${HTTP_TMP:-}" ] || rm -rf "$HTTP_TMP"
	[ -s "$SID_FILE" ] || return 0
	local sid left
	sid=$(cat "$SID_FILE")
	left=$(session_procs "$sid" | tr '\n' ' ')
	[ -n "$left" ] || return 0
	# shellcheck disable=SC2086 # a list of pids
	kill -KILL $left 2>/dev/null || true
	wait_until 5 session_empty "$sid"
}

@test "a tiny bench run prints every section and leaves no process behind" {
	# In a session of its own, every server bench.sh starts can be found afterwards.
	# shellcheck disable=SC2016 # expanded by the inner bash
	run timeout 300 setsid -w bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$SID_FILE" \
		"$BENCH_SH" --workers 1 --concurrency 1 --sizes 64 --modes "short keepalive" \
		--duration 0.3 --rounds 1 --round-duration 0.3 --counted-tx 200 \
		--burst-pool 2..8 --burst-phases "1:0.3 8:0.6 1:0.4" 3>&-
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"== 1. matrix"* ]]
	# one matrix row per mode: workers, concurrency, mode, size, then figures
	[ "$(grep -cE '^ +1 +1 (short|keepalive) +64 \| +[0-9]+ ' <<<"$output")" -eq 2 ]
	[[ "$output" =~ "preforkd worker:"\ +PSS\ [0-9]+\ kB.*"target PSS <= 150 kB: "(met|MISSED) ]]
	[[ "$output" =~ "preforkd spread:"\ +connections\ per\ worker\ [0-9\ ]+\ -\>\ CV\ [0-9.]+ ]]
	if [ -d "$REF_DIR" ]; then
		[[ "$output" == *"== 2. targets"* ]]
		[ "$(grep -c '^  preforkd (defaults) ' <<<"$output")" -eq 3 ]
		[ "$(grep -c '^  --defer-accept 0 ' <<<"$output")" -eq 3 ]
		[ "$(grep -c '^  control: ref2/ref ' <<<"$output")" -eq 3 ]
		[[ "$output" == *"== 4. prefork-bench vs echobench"* ]]
		[ "$(grep -cE '^(ref_epoll_echo|preforkd 2 workers), .* (met|MISSED) ' <<<"$output")" -eq 3 ]
	fi
	[[ "$output" == *"== 5. the hot path, counted"* ]]
	if readelf -d "$ROOT/bin/preforkd" | grep -q 'lib[a-z]*san'; then
		[[ "$output" == *"skipped: "*"built with sanitizers"* ]]
	else
		if command -v strace >/dev/null; then
			grep -Eq '^preforkd +.*accept4 1\.00 .*= [0-9.]+ syscalls per transaction$' <<<"$output"
		fi
		if command -v valgrind >/dev/null; then
			grep -Eq '^preforkd +[0-9]+ user-space instructions per transaction$' <<<"$output"
		fi
	fi
	[[ "$output" == *"== 7. burst"* ]]
	# a block for each pool: a line a phase, then the pool's line
	[[ "$output" == *"fixed 2 workers (--workers 2)"* ]]
	[[ "$output" == *"fixed 8 workers (--workers 8)"* ]]
	[ "$(grep -cE '^  (1 x 0.3|8 x 0.6|1 x 0.4) s +[0-9]+ ' <<<"$output")" -ge 6 ]
	grep -Eq '^  pool: 2 workers throughout; at most 2 of the 8 workers needed; at the end [0-9]+ workers' <<<"$output"
	grep -Eq '^ +[0-9.]+ +[18] +[0-9]+  [#.]+$' <<<"$output"
	# this build has the adaptive pool: its block, its chart and the verdict
	[[ "$output" == *"adaptive (--workers 2..8)"* ]]
	[[ "$output" == *"worker count over time (adaptive):"* ]]
	grep -Eq '^adaptive p99 during the burst .*: (met|MISSED|-)' <<<"$output"
	[[ "$output" == *"== done"* ]]
	wait_until 5 session_empty "$(cat "$SID_FILE")" || {
		ps -o pid,ppid,stat,args --sid "$(cat "$SID_FILE")"
		return 1
	}
	[ -z "$(ls -A "$TMPDIR")" ]
}

@test "bench.sh --help names every option; bad values exit 2 with one line" {
	run_ok "$BENCH_SH" --help
	local o
	for o in --workers --concurrency --sizes --modes --duration --rounds --round-duration \
		--sources --no-ref --no-matrix --no-counts --no-burst --burst-pool --burst-phases \
		--quick --help; do
		assert_contains "$output" "$o" "--help mentions $o"
	done
	run_expect 2 "$BENCH_SH" --rounds 0
	assert_eq "$output" "bench.sh: --rounds: expected N >= 1, got '0'"
	run_expect 2 "$BENCH_SH" --modes sideways
	assert_eq "$output" "bench.sh: --modes: short or keepalive, got 'sideways'"
	run_expect 2 "$BENCH_SH" --workers 0
	assert_eq "${#lines[@]}" 1
	run_expect 2 "$BENCH_SH" --duration 0
	assert_eq "$output" "bench.sh: --duration: expected seconds > 0, got '0'"
	run_expect 2 "$BENCH_SH" --duration 0.00
	run_expect 2 "$BENCH_SH" --round-duration 1e3
	run_expect 2 "$BENCH_SH" --rounds
	assert_eq "$output" "bench.sh: --rounds needs a value"
	run_expect 2 "$BENCH_SH" --burst-pool 8..4
	assert_eq "$output" "bench.sh: --burst-pool: expected MIN..MAX with 1 <= MIN < MAX, got '8..4'"
	run_expect 2 "$BENCH_SH" --burst-phases "1:2 64"
	assert_eq "$output" "bench.sh: --burst-phases: expected CLIENTS:SECONDS, got '64'"
	run_expect 2 "$BENCH_SH" --frobnicate
	assert_contains "$output" "'--frobnicate'"
	assert_eq "$(ls -A "$TMPDIR")" ""
}

# procs_under DIR: live processes whose command line names DIR (not this awk).
procs_under() {
	ps -e -o pid=,stat=,args= | awk -v d="$1" 'index($0, d) && $2 !~ /^Z/ && !/ awk / { print }'
}

no_procs_under() {
	[ -z "$(procs_under "$1")" ]
}

# scripts/bench-http.sh, what `make bench-http` runs. The smoke run needs nginx,
# Apache and wrk already there: a test installs nothing.
BENCH_HTTP_SH="$ROOT/scripts/bench-http.sh"

@test "a tiny bench-http run prints every cell and leaves no process behind" {
	command -v nginx >/dev/null || skip "no nginx (make bench-http installs it)"
	command -v apache2 >/dev/null || skip "no apache2 (make bench-http installs it)"
	[ -e /usr/lib/apache2/modules/mod_mpm_prefork.so ] || skip "no Apache mpm_prefork"
	command -v wrk >/dev/null || skip "no wrk (make bench-http installs it)"
	# As root the servers' workers run as nobody, who must reach the files.
	HTTP_TMP=$(mktemp -d /tmp/bench-http-test.XXXXXX)
	chmod 0755 "$HTTP_TMP"
	export TMPDIR=$HTTP_TMP
	# shellcheck disable=SC2016 # expanded by the inner bash
	run timeout 300 setsid -w bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$SID_FILE" \
		"$BENCH_HTTP_SH" --no-install --workers 1 --duration 1 --rounds 1 3>&-
	echo "$output"
	[ "$status" -eq 0 ]
	# six cells of three servers each, and a ratio line for each cell
	[ "$(grep -cE '^  (preforkd|nginx|apache) +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+$' <<<"$output")" -eq 18 ]
	[ "$(grep -c '^  preforkd/nginx: rate ' <<<"$output")" -eq 6 ]
	[ "$(grep -cE '^  preforkd p99 [0-9]+ us .*: (met|MISSED)$' <<<"$output")" -eq 2 ]
	[[ "$output" =~ "preforkd worker PSS target <= 200 kB: "(met|MISSED) ]]
	[[ "$output" == *"== done"* ]]
	wait_until 5 session_empty "$(cat "$SID_FILE")" || {
		ps -o pid,ppid,stat,args --sid "$(cat "$SID_FILE")"
		return 1
	}
	# Apache runs in a session of its own: look for it by its config's directory.
	wait_until 5 no_procs_under "$HTTP_TMP" || {
		procs_under "$HTTP_TMP"
		return 1
	}
	[ -z "$(ls -A "$TMPDIR")" ]
}

@test "bench-http.sh --help names every option; bad values exit 2 with one line" {
	run_ok "$BENCH_HTTP_SH" --help
	local o
	for o in --workers --duration --rounds --keepalive-timeout --no-install --quick --help; do
		assert_contains "$output" "$o" "--help mentions $o"
	done
	run_expect 2 "$BENCH_HTTP_SH" --rounds 0
	assert_eq "$output" "bench-http.sh: --rounds: expected N >= 1, got '0'"
	run_expect 2 "$BENCH_HTTP_SH" --duration 0.5
	assert_eq "$output" "bench-http.sh: --duration: expected whole seconds >= 1, got '0.5'"
	run_expect 2 "$BENCH_HTTP_SH" --workers 0
	assert_eq "${#lines[@]}" 1
	run_expect 2 "$BENCH_HTTP_SH" --workers
	assert_eq "$output" "bench-http.sh: --workers needs a value"
	run_expect 2 "$BENCH_HTTP_SH" --frobnicate
	assert_contains "$output" "'--frobnicate'"
	assert_eq "$(ls -A "$TMPDIR")" ""
}
