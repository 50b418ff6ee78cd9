#!/usr/bin/env bats
# Recycling and hung workers: what workers publish of themselves in their slot (RSS,
# CPU time, their operation and since when), --max-rss, and the report a hung
# worker leaves before it is killed. Faults come from the test build
# (bin/test/preforkd, see test/README.md): grow-after:N:MIB, hang-after:N.

bats_require_minimum_version 1.5.0
PREFORKD="$(cd "$BATS_TEST_DIRNAME/.." && pwd)/bin/test/preforkd"
load helpers

# echo_until_rss_exit: echo round trips, each answered in full, until a worker has
# left for --max-rss (it samples its RSS about once a second).
echo_until_rss_exit() {
	local i out
	for ((i = 0; i < 50; i++)); do
		out=$(echo_once "round $i")
		[ "$out" = "round $i" ] || return 1
		[ "$(stat_json .restarts.rss)" -ge 1 ] && return 0
		sleep 0.2
	done
	return 1
}

suite_cleanup() {
	[ -z "${HUNG_FAULT_DIR:-}" ] || rm -rf "$HUNG_FAULT_DIR"
}

@test "a worker publishes its RSS, CPU time and operation in stats, status and Prometheus" {
	start_server --workers 1
	run echo_once "hello"
	[ "$output" = "hello" ]
	[ "$(stat_json '.workers[0].rss_bytes > 0')" = true ]
	[ "$(stat_json '.workers[0].cpu_seconds >= 0')" = true ]
	wait_until 5 stat_is '.workers[0].op' accept
	[ "$(stat_json '.workers[0].op_seconds >= 0')" = true ]
	[ "$(stat_json '.cpu_seconds >= 0')" = true ]
	[ "$(stat_json .max_rss_bytes)" -eq 0 ]
	# A busy worker: reading from its client, since the accept.
	hold_worker
	wait_until 5 stat_is '.workers[0].op' read
	[ "$(stat_json '.workers[0].peer != null')" = true ]
	release_worker
	run "$CTL" -s "$SERVER_ADMIN" workers
	[[ "$output" == *"RSS"*"CPU"*"OP"*"LAST EXIT"* ]]
	run "$CTL" -s "$SERVER_ADMIN" stats prometheus
	assert_match "$output" $'\n''preforkd_worker_rss_bytes\{slot="0"\} [1-9][0-9]*'
	assert_match "$output" $'\n''preforkd_worker_cpu_seconds_total\{slot="0"\} [0-9.e+-]+'
	assert_match "$output" $'\n''preforkd_worker_exits_total\{cause="rss"\} 0'
	assert_match "$output" $'\n''preforkd_workers_cpu_seconds_total [0-9.e+-]+'
}

@test "an http worker between two requests of a connection shows op keepalive" {
	mkdir "$BATS_TEST_TMPDIR/www"
	echo hello >"$BATS_TEST_TMPDIR/www/index.html"
	start_server --workers 1 --service http --root "$BATS_TEST_TMPDIR/www" \
		--keepalive-timeout 10
	local conn
	exec {conn}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
	printf 'GET /index.html HTTP/1.1\r\nHost: test\r\n\r\n' >&"$conn"
	wait_until 5 stat_is '.workers[0].op' keepalive
	[ "$(stat_json '.workers[0].op_seconds >= 0')" = true ]
	exec {conn}>&-
	wait_until 5 stat_is '.workers[0].op' accept
}

@test "--max-rss: a worker that grows past it finishes its connection and is replaced, cause rss" {
	export PREFORKD_TEST_FAULT=grow-after:1:96
	start_server --workers 1 --max-rss 48M --pressure-idle 0
	local victim
	victim=$(worker_pids)
	echo_until_rss_exit
	wait_until 5 log_has "pid $victim cause rss"
	log_has "worker rss [0-9.]* MiB is above --max-rss 48.0 MiB after [0-9]* connections: retiring"
	log_has "worker exited: slot 0 pid $victim cause rss (rss [0-9.]* MiB above --max-rss 48.0 MiB)"
	[ "$(stat_json .restarts.rss)" -eq 1 ]
	[ "$(stat_json .restarts.total)" -eq 1 ]
	[ "$(stat_json '.last_exits[0].cause')" = rss ]
	[ "$(stat_json .max_rss_bytes)" -eq $((48 << 20)) ]
	# Nothing was lost: every connection completed.
	[ "$(stat_json .totals.errors.other)" -eq 0 ]
	wait_until 5 has_workers 1
	process_gone "$victim"
	run "$CTL" -s "$SERVER_ADMIN" status
	[[ "$output" == *"recycled 0, rss 1)"* ]]
	run "$CTL" -s "$SERVER_ADMIN" stats prometheus
	assert_match "$output" $'\n''preforkd_worker_exits_total\{cause="rss"\} 1'
	# The replacement's CPU time joins the slot's, which never goes backwards.
	[ "$(stat_json '.cpu_seconds > 0')" = true ]
}

@test "--max-rss: an idle worker above it leaves at an idle wake-up, with no more traffic" {
	export PREFORKD_TEST_FAULT=grow-after:1:96
	# The listener's receive timeout (the shorter wait, 0.5 s) wakes an idle worker.
	start_server --workers 1 --max-rss 48M --first-byte-timeout 0.5 --idle-timeout 0.5 \
		--worker-timeout 2 --pressure-idle 0
	local victim
	victim=$(worker_pids)
	run echo_once "grow"
	[ "$output" = "grow" ]
	wait_until 10 log_has "pid $victim cause rss"
	[ "$(stat_json .restarts.rss)" -eq 1 ]
	[ "$(stat_json .totals.accepted)" -eq 1 ]
	wait_until 5 has_workers 1
}

@test "--max-rss from the configuration file takes effect with a reload" {
	export PREFORKD_TEST_FAULT=grow-after:1:96
	local f="$BATS_TEST_TMPDIR/preforkd.conf"
	printf 'max-rss 0\n' >"$f"
	start_server --workers 1 --config "$f" --pressure-idle 0
	local i
	for i in 1 2 3; do
		run echo_once "before $i"
		[ "$output" = "before $i" ]
	done
	sleep 1.2
	run echo_once "still"
	[ "$output" = "still" ]
	[ "$(stat_json .restarts.rss)" -eq 0 ]
	printf 'max-rss 48M\n' >"$f"
	run "$CTL" -s "$SERVER_ADMIN" reload
	[ "$status" -eq 0 ]
	[ "$(stat_json .max_rss_bytes)" -eq $((48 << 20)) ]
	wait_until 10 stat_is '.workers | map(select(.generation == 2 and .state == "idle")) | length' 1
	echo_until_rss_exit
	# The new generation took another slot: its exit is that slot's last.
	[ "$(stat_json '.last_exits | map(select(.cause == "rss")) | length')" -eq 1 ]
}

@test "--max-rss takes K, M and G and refuses other sizes" {
	run "$PREFORKD" --max-rss 12X
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == *"--max-rss"*"12X"* ]]
	run "$PREFORKD" --max-rss -1
	[ "$status" -eq 2 ]
	run "$PREFORKD" --max-rss 2000G
	[ "$status" -eq 2 ]
	run "$PREFORKD" --listen 127.0.0.1:0 --max-rss 3M -T
	[ "$status" -eq 0 ]
	[[ "$output" == *"max-rss 3145728"* ]]
	run "$PREFORKD" --listen 127.0.0.1:0 --max-rss 1g -T
	[[ "$output" == *"max-rss 1073741824"* ]]
}

@test "a hung worker's report names slot, pid, peer, busy time, bytes, op, RSS and the kernel's view" {
	start_hung_once
	local victim=$HUNG_PID
	# shellcheck disable=SC2153 # CLIENT comes from helpers.bash
	"$CLIENT" --connect "$SERVER_ADDR" --timeout 10 "stuck" >/dev/null 2>&1 3>&- &
	local client=$!
	wait_until 10 log_has "pid $victim cause timeout"
	wait "$client" || true
	local line kernel
	line=$(grep "worker hung: slot 0 pid $victim made no progress" "$SERVER_LOG")
	assert_match "$line" "made no progress for [0-9.]+ s \(--worker-timeout 1\): "
	assert_match "$line" "peer 127\.0\.0\.1:[0-9]+, busy [0-9.]+ s, "
	# It hung before reading anything: no byte of this connection moved.
	assert_match "$line" "connection bytes in 0 out 0, "
	assert_match "$line" "op read for [0-9.]+ s, rss [0-9.]+ MiB, cpu [0-9.]+ s \(sampled [0-9.]+ s ago\); killing it"
	kernel=$(grep "worker hung: slot 0 pid $victim, kernel: " "$SERVER_LOG")
	# Each is either what the kernel showed or why it could not be read.
	assert_match "$kernel" "wchan [^;]+; syscall [^;]+; stack .+"
	if [ -r "/proc/$SERVER_PID/syscall" ] && [ "$(uname -m)" = x86_64 ]; then
		# The test fault blocks in pause().
		assert_match "$kernel" "syscall pause \(nr 34\)"
	fi
	[ "$(stat_json .restarts.timeout)" -eq 1 ]
}

@test "without ptrace and admin capabilities the hang report says what it could not read" {
	[ "$(id -u)" -eq 0 ] || skip "needs root (workers as nobody, capabilities dropped)"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	# As under the shipped unit: workers of another user, a master whose bounding set
	# has neither CAP_SYS_PTRACE nor CAP_SYS_ADMIN. The first line comes from the
	# slot and is whole; the kernel line names each file it could not read, and why.
	cat >"$BATS_TEST_TMPDIR/capless" <<EOF
#!/bin/sh
exec setpriv --inh-caps -sys_ptrace,-sys_admin --bounding-set -sys_ptrace,-sys_admin \\
	"$PREFORKD" "\$@"
EOF
	chmod +x "$BATS_TEST_TMPDIR/capless"
	# The fault file where a worker running as nobody can see it (the suite's own
	# temp dir is root's alone); removed by teardown.
	HUNG_FAULT_DIR=$(mktemp -d /tmp/preforkd-fault.XXXXXX)
	chmod 711 "$HUNG_FAULT_DIR"
	PREFORKD="$BATS_TEST_TMPDIR/capless" start_hung_once --user nobody
	local victim=$HUNG_PID cap_eff
	[ "$(stat -c %u "/proc/$victim")" -eq "$(id -u nobody)" ]
	# The master holds neither CAP_SYS_PTRACE (bit 19) nor CAP_SYS_ADMIN (bit 21).
	cap_eff=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$SERVER_PID/status")
	[ $((16#$cap_eff >> 19 & 1)) -eq 0 ] && [ $((16#$cap_eff >> 21 & 1)) -eq 0 ] ||
		fail "the master still has CAP_SYS_PTRACE or CAP_SYS_ADMIN: CapEff $cap_eff"
	"$CLIENT" --connect "$SERVER_ADDR" --timeout 10 "stuck" >/dev/null 2>&1 3>&- &
	local client=$!
	wait_until 10 log_has "pid $victim cause timeout"
	wait "$client" || true
	log_has "worker hung: slot 0 pid $victim made no progress for .*: peer 127\.0\.0\.1:[0-9]*, busy"
	local kernel
	kernel=$(grep "worker hung: slot 0 pid $victim, kernel: " "$SERVER_LOG")
	assert_match "$kernel" "wchan 0 \(running, or not shown without ptrace access\); "
	assert_match "$kernel" "syscall unreadable \((EPERM|EACCES): the worker runs as another user, is not dumpable, or the master lacks the capability\); "
	assert_match "$kernel" "stack unreadable \(EACCES: "
	[ "$(stat_json .restarts.timeout)" -eq 1 ]
}
