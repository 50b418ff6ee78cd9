#!/usr/bin/env bash
# Stress and chaos run: drives preforkd with prefork-bench while, optionally, killing
# workers, reloading and scaling the pool, then checks that nothing was lost and
# nothing was left behind. Exit 0 only when every check of the verdict holds. This
# script drives the processes and collects what happened; scripts/benchstat.py
# judges the figures and prints the verdict.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: scripts/stress.sh [OPTION]... [-- PREFORKD_OPTION...]
Runs prefork-bench against preforkd for --duration seconds, optionally injecting
faults at the same time, then prints a verdict. Exit 0 when every check holds,
1 when one fails, 2 on bad usage.

Target (default: start a private preforkd on 127.0.0.1:0 in a temp dir):
  --workers N            workers of the preforkd this script starts (default 4)
  --server PATH          preforkd binary to start (default bin/preforkd)
  -- PREFORKD_OPTION...  more options for the preforkd this script starts
  --connect HOST:PORT    target a running preforkd instead; loopback only
                         (127.x, localhost, [::1]): its workers get killed
                         and inspected, so it must run on this machine
  --pid PID              that server's master pid: needed for faults and for the
                         worker, zombie and orphan checks
  --admin PATH           that server's admin socket, for the totals check

Load (prefork-bench):
  --duration SECONDS     how long the load runs (default 10)
  --concurrency N        concurrent clients (default 16)
  --size BYTES           payload per transaction, 1..67108864 (default 64)
  --keepalive            keep-alive connections (default: one connection per
                         transaction). A keep-alive client holds its worker for
                         the whole run: keep --concurrency <= workers, or the
                         clients left in the accept queue time out and fail
  --timeout SECONDS      per-transaction timeout (default 10)
  --sources N            spread client addresses over 127.0.0.1..N (default 16)
  --bench PATH           prefork-bench binary (default bin/prefork-bench)
  --ctl PATH             preforkctl binary (default bin/preforkctl)

Faults, during the load:
  --kill-every MS        SIGKILL a random worker every MS milliseconds (at least
                         10, the resolution of the script's clock; 0 = never)
  --reload-every SECONDS SIGHUP the master (rolling restart) every SECONDS
                         (at least 0.01; 0 = never, the default)
  --scale-flap           SIGTTIN and SIGTTOU the master alternately (ends even)
  --flap-every SECONDS   interval of --scale-flap, at least 0.01 (default 1)

Output:
  --json                 print the verdict as one JSON object on stdout
  --keep                 keep the temp dir (server log, client output)
  -q, --quiet            print only the verdict
  -h, --help             show this help

Verdict checks:
  mismatches   prefork-bench saw no reply that differs from what it sent
  failures     failed transactions <= workers killed (a worker holds one
               connection; queued ones wait in the shared accept queue), and
               zero when only reloads or scaling were done
  workers      the live worker count is back to its target
  zombies      no worker is left in state Z
  orphans      no worker outlives its master or is re-parented
  totals       server counters (preforkctl stats json) agree with the client:
               the server's accepted = completed + errors (a connection lost
               with a killed worker is an error); errors <= the client's
               failed + workers killed; and the server's completed lies
               between the client's completed minus workers killed (a worker
               killed after its last byte went out counts an error while its
               client got the whole echo) and the client's completed plus its
               failed (a client that timed out may still be served); exact
               when nothing failed and nothing was killed. With --keepalive
               the server counts connections, so echoed bytes are compared
  server exit  (started server only) SIGTERM stops it with exit 0
EOF
}

# ---- options ----

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
duration=10
concurrency=16
size=64
keepalive=0
timeout=10
sources=16
workers=4
kill_every_ms=0
reload_every=0
scale_flap=0
flap_every=1
connect=""
master_pid=""
admin=""
server_bin=${PREFORKD:-$ROOT/bin/preforkd}
bench_bin=${PREFORK_BENCH:-$ROOT/bin/prefork-bench}
ctl_bin=${PREFORKCTL:-$ROOT/bin/preforkctl}
json=0
keep=0
quiet=0
server_args=()

die_usage() {
	echo "stress.sh: $*" >&2
	echo "Try 'scripts/stress.sh --help'." >&2
	exit 2
}

# No leading zeros: bash arithmetic would read 08 as a bad octal number.
is_uint() { [[ $1 =~ ^(0|[1-9][0-9]*)$ ]]; }
is_num() { [[ $1 =~ ^(0|[1-9][0-9]*)([.][0-9]+)?$ ]]; }

while [ $# -gt 0 ]; do
	case "$1" in
	--duration) need_arg "$@"; duration=$2; shift ;;
	--concurrency | -c) need_arg "$@"; concurrency=$2; shift ;;
	--size | -s) need_arg "$@"; size=$2; shift ;;
	--keepalive) keepalive=1 ;;
	--timeout) need_arg "$@"; timeout=$2; shift ;;
	--sources) need_arg "$@"; sources=$2; shift ;;
	--workers) need_arg "$@"; workers=$2; shift ;;
	--kill-every) need_arg "$@"; kill_every_ms=$2; shift ;;
	--reload-every) need_arg "$@"; reload_every=$2; shift ;;
	--scale-flap) scale_flap=1 ;;
	--flap-every) need_arg "$@"; flap_every=$2; shift ;;
	--connect) need_arg "$@"; connect=$2; shift ;;
	--pid) need_arg "$@"; master_pid=$2; shift ;;
	--admin) need_arg "$@"; admin=$2; shift ;;
	--server) need_arg "$@"; server_bin=$2; shift ;;
	--bench) need_arg "$@"; bench_bin=$2; shift ;;
	--ctl) need_arg "$@"; ctl_bin=$2; shift ;;
	--json) json=1 ;;
	--keep) keep=1 ;;
	-q | --quiet) quiet=1 ;;
	-h | --help) usage; exit 0 ;;
	--) shift; server_args=("$@"); break ;;
	*) die_usage "unknown option '$1'" ;;
	esac
	shift
done

# uint_in VALUE MIN MAX / positive VALUE: option value checks.
uint_in() { is_uint "$1" && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
positive() { is_num "$1" && [[ $1 =~ [1-9] ]]; }
# interval VALUE: seconds, at least 10 ms, the resolution of now_ms (a shorter one
# would only signal in a tighter loop); off_or_interval also takes 0, for off.
# ms_of keeps whole milliseconds, so 0.0099 s reads as 9 ms: too short.
interval() { is_num "$1" && [ "$(ms_of "$1")" -ge 10 ]; }
off_or_interval() { [ "$1" = 0 ] || interval "$1"; }

positive "$duration" || die_usage "--duration: expected seconds > 0, got '$duration'"
uint_in "$concurrency" 1 100000 || die_usage "--concurrency: expected 1..100000, got '$concurrency'"
uint_in "$size" 1 67108864 || die_usage "--size: expected 1..67108864 bytes, got '$size'"
positive "$timeout" || die_usage "--timeout: expected seconds > 0, got '$timeout'"
uint_in "$sources" 1 254 || die_usage "--sources: expected 1..254, got '$sources'"
uint_in "$workers" 1 1024 || die_usage "--workers: expected 1..1024, got '$workers'"
{ [ "$kill_every_ms" = 0 ] || uint_in "$kill_every_ms" 10 86400000; } ||
	die_usage "--kill-every: expected 0 (off) or milliseconds >= 10, got '$kill_every_ms'"
off_or_interval "$reload_every" || die_usage "--reload-every: expected 0 (off) or seconds >= 0.01, got '$reload_every'"
interval "$flap_every" || die_usage "--flap-every: expected seconds >= 0.01, got '$flap_every'"
[ -z "$master_pid" ] || is_uint "$master_pid" || die_usage "--pid: expected a pid, got '$master_pid'"

faults=0
reloading=1 # off_or_interval let through 0 or an interval
[ "$reload_every" != 0 ] || reloading=0
[ "$kill_every_ms" -eq 0 ] && [ "$reloading" -eq 0 ] && [ "$scale_flap" -eq 0 ] || faults=1
if [ -n "$connect" ]; then
	[[ $connect =~ :[0-9]+$ ]] || die_usage "--connect: expected HOST:PORT, got '$connect'"
	case "$connect" in
	127.*:* | localhost:* | "[::1]:"*) ;;
	*) die_usage "--connect: loopback addresses only (127.x, localhost, [::1]), got '$connect'" ;;
	esac
	[ "$faults" -eq 0 ] || [ -n "$master_pid" ] || die_usage "faults on a running server need its master --pid"
	[ ${#server_args[@]} -eq 0 ] || die_usage "options after -- are for a preforkd this script starts"
else
	[ -z "$master_pid" ] || die_usage "--pid goes with --connect"
	[ -x "$server_bin" ] || die_usage "no preforkd at $server_bin (run make, or give --server)"
fi
[ -x "$bench_bin" ] || die_usage "no prefork-bench at $bench_bin (run make, or give --bench)"
command -v jq >/dev/null || die_usage "jq is needed (apt-get install jq)"
find_python || die_usage "python3 is needed (apt-get install python3)"

# ---- state and clean-up ----

tmp=$(mktemp -d "${TMPDIR:-/tmp}/preforkd-stress.XXXXXX")
started_server=""
bench_pid=""
loop_pids=()

say() {
	[ "$quiet" -eq 1 ] || echo "stress: $*" >&2
}

# wait_gone PID SECONDS: polls until PID is gone (or a zombie of someone else).
wait_gone() { wait_until -q "$2" process_gone "$1"; }

# Stops by pid (stop_pid: SIGTERM, then SIGKILL) whatever is still running.
cleanup() {
	local pid
	touch "$tmp/stop" 2>/dev/null || true
	for pid in "${loop_pids[@]}"; do stop_pid "$pid" 2 || true; done
	loop_pids=()
	if [ -n "$bench_pid" ]; then
		stop_pid "$bench_pid" 2 || true
		bench_pid=""
	fi
	if [ -n "$started_server" ]; then
		stop_pid "$started_server" 5 || true
		started_server=""
	fi
	if [ "$keep" -eq 1 ]; then
		echo "stress: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the server ----

worker_pids() {
	child_pids "$master_pid"
}

worker_count() {
	# Live workers: children of the master that are not zombies.
	ps -o stat= --ppid "$master_pid" 2>/dev/null | awk '!/^Z/ { n++ } END { print n + 0 }'
}

zombie_count() {
	ps -o stat= --ppid "$master_pid" 2>/dev/null | awk '/^Z/ { n++ } END { print n + 0 }'
}

count_is() { [ "$(worker_count)" -eq "$1" ]; }
no_zombies() { [ "$(zombie_count)" -eq 0 ]; }
# A server that exits at once (a bad option after --) need not be waited for.
listening_or_gone() { log_listening "$tmp/preforkd.log" || process_gone "$started_server"; }

start_server() {
	admin=$tmp/preforkd.sock
	: >"$tmp/preforkd.log"
	"$server_bin" --listen 127.0.0.1:0 --workers "$workers" --pidfile "$tmp/preforkd.pid" \
		--log "$tmp/preforkd.log" --admin "$admin" --grace 2 "${server_args[@]}" </dev/null >/dev/null 2>"$tmp/preforkd.err" &
	started_server=$!
	master_pid=$started_server
	wait_until -q 10 listening_or_gone || true
	if ! log_listening "$tmp/preforkd.log"; then
		cat "$tmp/preforkd.err" "$tmp/preforkd.log" >&2
		fail_early "preforkd did not start"
	fi
	connect=127.0.0.1:$(listen_port "$tmp/preforkd.log")
	wait_until -q 10 count_is "$workers" || fail_early "preforkd did not reach $workers workers"
	say "started preforkd pid $master_pid on $connect with $workers workers"
}

# fail_early MESSAGE: the run could not be judged; with --json the verdict says so too.
fail_early() {
	echo "stress: $1" >&2
	if [ "$json" -eq 1 ]; then
		jq -n --arg e "$1" '{ pass: false, error: $e, checks: [] }'
	fi
	exit 1
}

# ---- server totals through preforkctl ----

ctl_available() {
	[ -x "$ctl_bin" ] && [ -n "$admin" ] && [ -S "$admin" ]
}

# configured_workers: the server's target worker count (.pool.configured), or fails.
configured_workers() {
	ctl_available || return 1
	"$ctl_bin" -s "$admin" stats --json 2>/dev/null | jq_in -er '.pool.configured'
}

# server_totals: prints "accepted completed errors bytes_in bytes_out busy" from
# `preforkctl stats --json` (keys .totals.* and .pool.busy), or fails.
server_totals() {
	local out
	out=$("$ctl_bin" -s "$admin" stats --json 2>/dev/null) || return 1
	jq_in -er '[.totals.accepted, .totals.completed, ([.totals.errors[]] | add),
		.totals.bytes_in, .totals.bytes_out, .pool.busy] | map(tostring) | join(" ")' <<<"$out"
}

# ---- fault loops (each runs in the background until $tmp/stop appears) ----

# nap MS: sleeps up to MS, in steps, returning early once the run is over.
nap() {
	local until=$(($(now_ms) + $1)) left
	while [ ! -e "$tmp/stop" ]; do
		left=$((until - $(now_ms)))
		[ "$left" -gt 0 ] || return 0
		[ "$left" -le 100 ] || left=100
		sleep "$(printf '0.%03d' "$left")"
	done
	return 1
}

# Picks a live worker at random and SIGKILLs it; records its pid.
kill_loop() {
	local victims victim
	while nap "$kill_every_ms"; do
		mapfile -t victims < <(ps -o pid=,stat= --ppid "$master_pid" 2>/dev/null | awk '$2 !~ /^Z/ { print $1 }')
		[ "${#victims[@]}" -gt 0 ] || continue
		victim=${victims[RANDOM % ${#victims[@]}]}
		if kill -KILL "$victim" 2>/dev/null; then
			echo "$victim" >>"$tmp/killed"
		fi
	done
}

reload_loop() {
	local ms
	ms=$(ms_of "$reload_every")
	while nap "$ms"; do
		kill -HUP "$master_pid" 2>/dev/null && echo hup >>"$tmp/reloads"
	done
}

# TTIN, then TTOU, and so on; a TTIN not yet matched is matched on the way out, so
# the target ends where it began.
flap_loop() {
	local ms up=0
	ms=$(ms_of "$flap_every")
	while nap "$ms"; do
		if [ "$up" -eq 0 ]; then
			kill -TTIN "$master_pid" 2>/dev/null && up=1 && echo ttin >>"$tmp/flaps"
		else
			kill -TTOU "$master_pid" 2>/dev/null && up=0 && echo ttou >>"$tmp/flaps"
		fi
	done
	if [ "$up" -eq 1 ]; then
		kill -TTOU "$master_pid" 2>/dev/null && echo ttou >>"$tmp/flaps"
	fi
	return 0
}

# Records every worker pid seen, for the orphan check at the end.
watch_loop() {
	while nap 200; do
		worker_pids >>"$tmp/seen"
	done
}

start_loop() {
	("$@") </dev/null &
	loop_pids+=($!)
}

stop_loops() {
	local pid
	touch "$tmp/stop"
	for pid in "${loop_pids[@]}"; do
		# Each loop ends within one nap step (100 ms); the bound is a safety net.
		wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	loop_pids=()
}

lines() {
	if [ -f "$1" ]; then grep -c . "$1" || true; else echo 0; fi
}

# ---- run ----

if [ -z "$connect" ]; then
	start_server
elif [ -n "$master_pid" ]; then
	process_alive "$master_pid" || die_usage "--pid $master_pid is not running"
	# Its children get SIGKILLed: make sure it is a preforkd.
	case "$(ps -o comm= -p "$master_pid")" in
	*preforkd*) ;;
	*) die_usage "--pid $master_pid is not a preforkd ($(ps -o comm= -p "$master_pid"))" ;;
	esac
	# The target is what the server aims for, which differs from the live count
	# while it scales or restarts; without preforkctl the live count is the guess.
	workers=$(configured_workers) || workers=$(worker_count)
	say "targeting $connect, master pid $master_pid with a target of $workers workers"
else
	say "targeting $connect (no --pid: worker, zombie and orphan checks skipped)"
fi

totals_before=""
if ctl_available; then
	totals_before=$(server_totals) || totals_before=""
fi
server_comm=""
if [ -n "$master_pid" ]; then
	worker_pids >"$tmp/seen"
	server_comm=$(ps -o comm= -p "$master_pid")
fi

bench_args=(--connect "$connect" -c "$concurrency" -d "$duration" -s "$size" --timeout "$timeout" --json -q)
[ "$keepalive" -eq 0 ] || bench_args+=(--keepalive)
case "$connect" in 127.*) bench_args+=(--sources "$sources") ;; esac

say "load: ${duration}s at concurrency $concurrency, ${size} B, $([ "$keepalive" -eq 1 ] && echo keep-alive || echo short connections)"
"$bench_bin" "${bench_args[@]}" </dev/null >"$tmp/bench.json" 2>"$tmp/bench.err" &
bench_pid=$!

if [ -n "$master_pid" ]; then
	start_loop watch_loop
	[ "$kill_every_ms" -eq 0 ] || start_loop kill_loop
	[ "$reloading" -eq 0 ] || start_loop reload_loop
	[ "$scale_flap" -eq 0 ] || start_loop flap_loop
fi

# prefork-bench bounds itself; this deadline only guards against it hanging.
bench_limit=$((($(ms_of "$duration") + $(ms_of "$timeout")) / 1000 + 15))
bench_rc=0
if ! wait_gone "$bench_pid" "$bench_limit"; then
	echo "stress: prefork-bench still running after ${bench_limit}s: killing it" >&2
	kill -KILL "$bench_pid" 2>/dev/null || true
fi
wait "$bench_pid" || bench_rc=$?
bench_pid=""
stop_loops

kills=$(lines "$tmp/killed")
reloads=$(lines "$tmp/reloads")
flaps=$(lines "$tmp/flaps")
[ "$kills" -eq 0 ] || say "killed $kills workers"
[ "$reloads" -eq 0 ] || say "sent $reloads SIGHUP"
[ "$flaps" -eq 0 ] || say "sent $flaps SIGTTIN/SIGTTOU"

# ---- client figures ----

if ! client=$(benchstat stress-client "$tmp/bench.json" 2>/dev/null); then
	head -c 4000 "$tmp/bench.err" >&2
	fail_early "prefork-bench exited $bench_rc without a JSON summary"
fi
say "client: $client"

# ---- checks made here; benchstat.py adds those on the figures ----

: >"$tmp/checks"
# check NAME PASS|FAIL|SKIP DETAIL
check() {
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$tmp/checks"
}

final_workers=-1
if [ -n "$master_pid" ]; then
	# Replacements, rolling restarts and scale-downs settle within a few seconds
	# (a worker killed before serving anything may be restarted after a back-off).
	if wait_until -q 15 count_is "$workers"; then
		final_workers=$workers
		check workers PASS "$workers workers, the target"
	else
		final_workers=$(worker_count)
		check workers FAIL "$final_workers workers, target $workers"
	fi
	if wait_until -q 5 no_zombies; then
		check zombies PASS "no zombie worker"
	else
		check zombies FAIL "$(zombie_count) zombie workers"
	fi
else
	check workers SKIP "no --pid"
	check zombies SKIP "no --pid"
fi

# A connection the client abandoned at the end may still be in the server's
# hands for a moment: wait until no worker is busy and the books balance.
totals_after=""
balanced() {
	local a d e busy
	totals_after=$(server_totals) || return 1
	read -r a d e _ _ busy <<<"$totals_after"
	[ "$busy" -eq 0 ] && [ "$a" -eq $((d + e)) ]
}
totals_args=()
if [ -z "$admin" ] || ! [ -x "$ctl_bin" ]; then
	check totals SKIP "skipped: preforkctl not available"
elif ! ctl_available || ! server_totals >/dev/null; then
	check totals FAIL "preforkctl -s $admin stats --json did not answer"
else
	wait_until -q 10 balanced || true
	totals_args=(--totals-before "${totals_before:-0 0 0 0 0 0}" --totals-after "$totals_after")
fi

# The workers alive now, replacements started since the last sample among them,
# are the ones that must not outlive the server.
[ -z "$master_pid" ] || worker_pids >>"$tmp/seen"
server_stopped=0
if [ -n "$started_server" ]; then
	server_stopped=1
	seen_workers=$(worker_pids)
	kill -TERM "$started_server"
	if wait_gone "$started_server" 15; then
		local_rc=0
		wait "$started_server" || local_rc=$?
		started_server=""
		if [ "$local_rc" -eq 0 ]; then
			check "server exit" PASS "SIGTERM: exit 0"
		else
			check "server exit" FAIL "SIGTERM: exit $local_rc"
			tail -5 "$tmp/preforkd.err" >&2 || true
		fi
	else
		check "server exit" FAIL "still running 15 s after SIGTERM"
	fi
	for w in $seen_workers; do wait_gone "$w" 2 || true; done
fi

if [ -n "$master_pid" ]; then
	orphans=""
	while read -r w; do
		info=$(ps -o ppid=,comm= -p "$w" 2>/dev/null || true)
		[ -n "$info" ] || continue
		read -r ppid wcomm <<<"$info"
		# A pid reused by another program is not ours. A worker names its slot in
		# its comm (preforkd-w3); the master keeps the program's name.
		case "$wcomm" in "$server_comm" | preforkd-w[0-9]*) ;; *) continue ;; esac
		if [ "$server_stopped" -eq 1 ] || [ "$ppid" != "$master_pid" ]; then
			orphans="$orphans $w"
		fi
	done < <(sort -un "$tmp/seen")
	if [ -z "$orphans" ]; then
		check orphans PASS "all $(sort -u "$tmp/seen" | grep -c .) workers seen are gone or children of the master"
	else
		check orphans FAIL "workers outlived or left their master:$orphans"
	fi
fi

# ---- the verdict ----

report=()
[ "$json" -eq 0 ] || report=(--json)
benchstat stress-verdict "${report[@]}" --checks "$tmp/checks" "${totals_args[@]}" \
	--bench-json "$tmp/bench.json" --bench-rc "$bench_rc" --bench-err "$tmp/bench.err" \
	--kills "$kills" --reloads "$reloads" --flaps "$flaps" --keepalive "$keepalive" \
	--size "$size" --target "$connect" --duration "$duration" --concurrency "$concurrency" \
	--target-workers "$workers" --final-workers "$final_workers"
