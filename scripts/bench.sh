#!/usr/bin/env bash
# Benchmarks preforkd with prefork-bench, side by side with the reference servers in
# ../shared/bench when present: a matrix of rates and latencies, then the targets
# (rate and server CPU per transaction against ref_prefork_echo, one worker's PSS,
# evenness of the spread, prefork-bench against echobench), the pool under
# pressure and under a burst of clients, and the UDP echo against a single-process
# recvfrom/sendto loop (scripts/bench/udp_echo_ref.c). What `make bench` runs.
# This script starts, loads and stops the servers and collects raw figures;
# scripts/benchstat.py computes every median, ratio and verdict from them.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: scripts/bench.sh [OPTION]...
Prints performance figures for preforkd (what `make bench` runs after an -O2 build).
Benchmarks are not tests: nothing here fails because of a figure.

  --workers "LIST"       worker counts of the matrix (default "1 2 4 8")
  --concurrency "LIST"   client concurrency (default "1 16 64")
  --sizes "LIST"         payload bytes (default "64 16384")
  --modes "LIST"         short and/or keepalive (default "short keepalive")
  --duration SECONDS     length of one cell (default 2.5)
  --rounds N             rounds of each target measurement (default 15): each
                         round runs preforkd (on its defaults and with
                         --defer-accept 0) and two references back to back,
                         and the median of the rounds' ratios is kept
  --round-duration SECONDS  length of each run in a round (default 1)
  --sources N            client source addresses 127.0.0.1..N (default 16)
  --no-ref               skip the reference servers even when present
  --no-matrix            skip the matrix (section 1)
  --no-counts            skip the syscall and instruction counts (section 5)
  --counted-tx N         transactions of the shorter callgrind run of section 5;
                         the longer runs 5 x N (default 2000)
  --no-pressure          skip the pressure section (6)
  --pressure-duration SECONDS  how long normal clients run in section 6, beside
                         the silent and trickling ones (default 60)
  --no-burst             skip the burst section (7)
  --no-udp               skip the UDP echo section (8): preforkd on a udp:
                         listener (--udp-rate 0) with each of --udp-workers,
                         against scripts/bench/udp_echo_ref.c (one process,
                         recvfrom/sendto), prefork-bench --udp at concurrency
                         --udp-concurrency
  --no-listeners         skip section 9: one listener (blocking accept4) against
                         two (each worker in epoll with EPOLLEXCLUSIVE)
  --udp-workers "LIST"   worker counts of section 8 (default "1 2 4")
  --udp-concurrency N    datagrams outstanding in section 8 (default 64)
  --burst-pool MIN..MAX  the pools of section 7: fixed MIN, fixed MAX, and the
                         adaptive --workers MIN..MAX when this preforkd has it
                         (default 4..64)
  --burst-phases "LIST"  section 7's load, CLIENTS:SECONDS phases
                         (default "1:1 64:5 1:15"): keep-alive echo clients of
                         20 round trips each, 50 ms think time between them.
                         The phase with the most clients is the burst; the
                         last should outlast the adaptive pool's shrink hold
  --quick                a small run: 2 workers, concurrency 16, 64 B, 1 s cells,
                         5 rounds, 10 s of pressure, burst phases "1:1 64:3 1:13"
                         (also BENCH_QUICK=1); later options override
  -h, --help             show this help

Environment: BENCH_QUICK=1 as --quick; BENCH_DURATION, BENCH_WORKERS,
BENCH_CONCURRENCY, BENCH_SIZES, BENCH_MODES, BENCH_ROUNDS, BENCH_BURST_POOL,
BENCH_BURST_PHASES as the options (so `make bench BENCH_QUICK=1` works).

Measures, per cell: transactions/s, p50 and p99 latency (us), failed transactions,
and server CPU per transaction: machine busy time (/proc/stat) minus the load
generator's own CPU (its rusage), divided by the transactions. The server and the
load generator share this machine's cores: compare ratios from one run, not
absolute figures across machines or sessions.
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF_SRC="$ROOT/../shared/bench"
PREFORKD=${PREFORKD:-$ROOT/bin/preforkd}
BENCH=${PREFORK_BENCH:-$ROOT/bin/prefork-bench}
CTL=${PREFORKCTL:-$ROOT/bin/preforkctl}
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

quick() {
	workers_list=2 conc_list=16 sizes_list=64 duration=1 rounds=5 pressure_duration=10
	burst_phases="1:1 64:3 1:13"
}
do_pressure=1
pressure_duration=60
do_burst=1
do_udp=1
do_listeners=1
listener_rounds=6
udp_workers="1 2 4"
udp_conc=64
burst_pool=4..64
burst_phases="1:1 64:5 1:15"
workers_list="1 2 4 8" conc_list="1 16 64" sizes_list="64 16384" duration=2.5 rounds=15
round_duration=1
cell= # the run length of load(), set by the paired sections; never from the environment
[ "${BENCH_QUICK:-0}" != 1 ] || quick
workers_list=${BENCH_WORKERS:-$workers_list}
conc_list=${BENCH_CONCURRENCY:-$conc_list}
sizes_list=${BENCH_SIZES:-$sizes_list}
modes_list=${BENCH_MODES:-short keepalive}
duration=${BENCH_DURATION:-$duration}
rounds=${BENCH_ROUNDS:-$rounds}
burst_pool=${BENCH_BURST_POOL:-$burst_pool}
burst_phases=${BENCH_BURST_PHASES:-$burst_phases}
sources=16
use_ref=1
matrix=1
do_counts=1
counted_tx=2000
launcher=() # a command that runs the servers, for the counted section (valgrind)

die_usage() {
	echo "bench.sh: $*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--workers) need_arg "$@"; workers_list=$2; shift ;;
	--concurrency) need_arg "$@"; conc_list=$2; shift ;;
	--sizes) need_arg "$@"; sizes_list=$2; shift ;;
	--modes) need_arg "$@"; modes_list=$2; shift ;;
	--duration) need_arg "$@"; duration=$2; shift ;;
	--rounds) need_arg "$@"; rounds=$2; shift ;;
	--round-duration) need_arg "$@"; round_duration=$2; shift ;;
	--sources) need_arg "$@"; sources=$2; shift ;;
	--no-ref) use_ref=0 ;;
	--no-matrix) matrix=0 ;;
	--no-counts) do_counts=0 ;;
	--no-pressure) do_pressure=0 ;;
	--pressure-duration) need_arg "$@"; pressure_duration=$2; shift ;;
	--no-burst) do_burst=0 ;;
	--no-udp) do_udp=0 ;;
	--no-listeners) do_listeners=0 ;;
	--udp-workers) need_arg "$@"; udp_workers=$2; shift ;;
	--udp-concurrency) need_arg "$@"; udp_conc=$2; shift ;;
	--burst-pool) need_arg "$@"; burst_pool=$2; shift ;;
	--burst-phases) need_arg "$@"; burst_phases=$2; shift ;;
	--counted-tx) need_arg "$@"; counted_tx=$2; shift ;;
	--quick) quick ;;
	-h | --help) usage; exit 0 ;;
	*) die_usage "unknown option '$1' (see --help)" ;;
	esac
	shift
done

# seconds VALUE: a decimal number of seconds above zero.
seconds() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ && $1 =~ [1-9] ]]; }
seconds "$duration" || die_usage "--duration: expected seconds > 0, got '$duration'"
seconds "$pressure_duration" || die_usage "--pressure-duration: expected seconds > 0, got '$pressure_duration'"
seconds "$round_duration" || die_usage "--round-duration: expected seconds > 0, got '$round_duration'"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die_usage "--rounds: expected N >= 1, got '$rounds'"
for m in $modes_list; do
	case "$m" in short | keepalive) ;; *) die_usage "--modes: short or keepalive, got '$m'" ;; esac
done
if ! [[ $burst_pool =~ ^([1-9][0-9]*)[.][.]([1-9][0-9]*)$ ]] ||
	((BASH_REMATCH[1] >= BASH_REMATCH[2])); then
	die_usage "--burst-pool: expected MIN..MAX with 1 <= MIN < MAX, got '$burst_pool'"
fi
burst_min=${BASH_REMATCH[1]} burst_max=${BASH_REMATCH[2]}
for ph in $burst_phases; do
	if ! [[ $ph =~ ^[0-9]+:([0-9.]+)$ ]] || ! seconds "${BASH_REMATCH[1]}"; then
		die_usage "--burst-phases: expected CLIENTS:SECONDS, got '$ph'"
	fi
done
[ -n "${burst_phases// /}" ] || die_usage "--burst-phases: expected CLIENTS:SECONDS phases"
for v in $workers_list $conc_list $sizes_list $sources $counted_tx $udp_workers $udp_conc; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || die_usage "expected a positive integer, got '$v'"
done
[ -x "$PREFORKD" ] || die_usage "no preforkd at $PREFORKD: run make first"
[ -x "$BENCH" ] || die_usage "no prefork-bench at $BENCH: run make first"
command -v jq >/dev/null || die_usage "jq is needed (apt-get install jq)"
find_python || die_usage "python3 is needed (apt-get install python3)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/preforkd-bench.XXXXXX")
servers=() # pids of every server started, stopped by pid at exit
HZ=$(getconf CLK_TCK)
# A transaction that waits past this is counted as a timeout. Keep-alive with more
# clients than workers leaves the extra connections queued (a prefork worker
# serves one connection at a time): they time out and reconnect, and the run
# ends once the last of them has timed out, which lowers those rows' rates alike
# for every server.
load_timeout=1

stop_server() { # stop_server PID: SIGTERM, SIGKILL after 10 s, reap.
	local pid=$1 p rest=()
	stop_pid "$pid" 10 || true
	for p in "${servers[@]}"; do [ "$p" = "$pid" ] || rest+=("$p"); done
	servers=("${rest[@]}")
}

cleanup() {
	local pid
	for pid in "${servers[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

has_children() { [ "$(child_count "$1")" -eq "$2" ]; }
has_children_at_least() { [ "$(child_count "$1")" -ge "$2" ]; }
listening() { [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]; }

# start_preforkd WORKERS [OPTION...]: sets SRV_PID, SRV_PORT, SRV_LOG, SRV_ADMIN.
# WORKERS N is a fixed pool; MIN..MAX an adaptive one, which starts at MIN or more.
started_preforkd=0
start_preforkd() {
	local w=$1 least=${1%%..*}
	shift
	started_preforkd=$((started_preforkd + 1))
	SRV_LOG=$tmp/preforkd.$started_preforkd.log
	SRV_ADMIN=$tmp/preforkd.$started_preforkd.sock
	: >"$SRV_LOG"
	"${launcher[@]}" "$PREFORKD" --listen 127.0.0.1:0 --workers "$w" --log "$SRV_LOG" --admin "$SRV_ADMIN" \
		--grace 2 "$@" </dev/null >/dev/null 2>&1 &
	SRV_PID=$!
	servers+=("$SRV_PID")
	wait_until -q 10 log_listening "$SRV_LOG" || { cat "$SRV_LOG" >&2; exit 1; }
	SRV_PORT=$(listen_port "$SRV_LOG")
	if [ "$least" = "$w" ]; then
		wait_until -q 10 has_children "$SRV_PID" "$w"
	else
		wait_until -q 10 has_children_at_least "$SRV_PID" "$least"
	fi || { echo "preforkd: workers did not start" >&2; exit 1; }
}

# start_ref PROGRAM WORKERS...: a reference server on a free port (they take no port
# 0, so try a few random ones). Sets SRV_PID, SRV_PORT, SRV_ERR.
start_ref() {
	local prog=$1 try
	shift
	SRV_ERR=$tmp/$(basename "$prog").err
	for try in 1 2 3 4 5 6 7 8; do
		SRV_PORT=$((20000 + RANDOM % 12000))
		listening "$SRV_PORT" && continue
		"${launcher[@]}" "$prog" "$SRV_PORT" "$@" </dev/null >/dev/null 2>"$SRV_ERR" &
		SRV_PID=$!
		servers+=("$SRV_PID")
		if wait_until -q 5 listening "$SRV_PORT" && process_alive "$SRV_PID"; then
			[ $# -eq 0 ] || wait_until -q 5 has_children "$SRV_PID" "$1" || exit 1
			return 0
		fi
		stop_server "$SRV_PID"
		: "$try"
	done
	echo "bench.sh: could not start $prog" >&2
	exit 1
}

# The two counters below are read by builtins, so that reading them costs (almost)
# nothing inside the window they measure.

# busy_ticks: machine busy time so far (all CPUs, clock ticks), from /proc/stat:
# user, nice, system, irq, softirq. Not steal: on a VM that is time the host gave
# to others, which no process here spent.
busy_ticks() {
	local user nice system irq softirq
	read -r _ user nice system _ _ irq softirq _ </proc/stat
	echo $((user + nice + system + irq + softirq))
}

# tree_ticks PID: CPU time of a process and its live children (clock ticks): utime
# and stime, fields 14 and 15 of /proc/PID/stat, counted after the command name,
# which is in brackets and may hold spaces.
tree_ticks() {
	local p sum=0 stat f
	for p in "$1" $(child_pids "$1"); do
		{ read -r stat <"/proc/$p/stat"; } 2>/dev/null || continue
		read -ra f <<<"${stat##*) }"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}

# load TOOL PORT SERVER_PID CONC MODE SIZE: one measured run. TOOL is
# prefork-bench or echobench. Prints (benchstat.py load):
#   ok tps p50_us p99_us failed server_us_per_tx process_us_per_tx generator_cpu_pct
load() {
	local tool=$1 port=$2 spid=$3 conc=$4 mode=$5 size=$6
	local b0 b1 p0 p1 out=$tmp/load.out err=$tmp/load.err
	local cmd=()
	if [ "$tool" = prefork-bench ]; then
		cmd=("$BENCH" --connect "127.0.0.1:$port" -c "$conc" -d "${cell:-$duration}" -s "$size"
			--timeout "$load_timeout" --sources "$sources" --json -q)
		[ "$mode" = short ] || cmd+=(--keepalive)
	else
		cmd=("$REF_SRC/echobench" -p "$port" -c "$conc" -d "${cell:-$duration}" -s "$size"
			-t "$((load_timeout * 1000))" -B "$sources" -q)
		[ "$mode" = short ] || cmd+=(-k)
	fi
	b0=$(busy_ticks)
	p0=$(tree_ticks "$spid")
	# `times` in the subshell reports the CPU of the load generator it waited for.
	(
		rc=0
		"${cmd[@]}" </dev/null >"$out" 2>"$err" || rc=$?
		echo "$rc"
		times
	) >"$tmp/times"
	b1=$(busy_ticks)
	p1=$(tree_ticks "$spid")
	benchstat load --tool "$tool" --port "$port" --out "$out" --err "$err" \
		--times "$tmp/times" --busy $((b1 - b0)) --proc $((p1 - p0)) --hz "$HZ"
}

heading() {
	printf '\n== %s ==\n' "$*"
}

ref_ok=0
if [ "$use_ref" -eq 1 ] && [ -d "$REF_SRC" ]; then
	# The reference directory may be read-only: build there when it can, else into
	# the temp dir.
	if make -s -C "$REF_SRC" >/dev/null 2>&1; then
		ref_ok=1
	else
		mkdir -p "$tmp/ref"
		if cc -O2 -o "$tmp/ref/echobench" "$REF_SRC/echobench.c" &&
			cc -O2 -o "$tmp/ref/ref_epoll_echo" "$REF_SRC/ref_epoll_echo.c" &&
			cc -O2 -o "$tmp/ref/ref_prefork_echo" "$REF_SRC/ref_prefork_echo.c" -lm; then
			REF_SRC=$tmp/ref
			ref_ok=1
		fi
	fi
fi
REF_PREFORK=$REF_SRC/ref_prefork_echo
REF_EPOLL=$REF_SRC/ref_epoll_echo

heading "preforkd benchmark"
echo "machine:  $(nproc) CPUs, $(uname -sr), $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo "load:     prefork-bench on the same machine, ${duration} s per cell, ${sources} source addresses, loopback"
if [ "$ref_ok" -eq 1 ]; then
	echo "refs:     ref_prefork_echo, ref_epoll_echo, echobench from ../shared/bench"
else
	echo "refs:     none (../shared/bench not present or --no-ref): preforkd alone"
fi
# How busy the machine is over one second before we start (percent of all CPUs),
# to warn that other work will blur the figures.
idle_busy=$(benchstat machine-busy 1)
echo "before:   machine ${idle_busy}% busy with other work (load average $(cut -d' ' -f1-3 /proc/loadavg))"
[ "$idle_busy" -lt 10 ] || echo "WARNING:  the machine is not idle: other work will blur these figures"
echo "columns:  tx/s = transactions per second; p50/p99 = latency in us; fail = failed"
echo "          transactions; cpu = server CPU per transaction in us (machine busy"
echo "          time minus the load generator's CPU); rate and cpu ratios are preforkd/ref"

# ---- 1. the matrix ----

if [ "$matrix" -eq 1 ]; then
	heading "1. matrix: preforkd$([ "$ref_ok" -eq 1 ] && echo " vs ref_prefork_echo (same workers, same load)")"
	if [ "$ref_ok" -eq 1 ]; then
		printf '%3s %4s %-9s %5s | %8s %6s %6s %4s %5s | %8s %6s %6s %5s | %5s %5s\n' \
			wrk conc mode size "tx/s" p50 p99 fail cpu "ref tx/s" p50 p99 cpu rate cpu
	else
		printf '%3s %4s %-9s %5s | %8s %6s %6s %4s %5s\n' wrk conc mode size "tx/s" p50 p99 fail cpu
	fi
	for w in $workers_list; do
		start_preforkd "$w"
		pf_pid=$SRV_PID pf_port=$SRV_PORT
		if [ "$ref_ok" -eq 1 ]; then
			start_ref "$REF_PREFORK" "$w"
			ref_pid=$SRV_PID ref_port=$SRV_PORT
		fi
		for mode in $modes_list; do
			for size in $sizes_list; do
				for c in $conc_list; do
					figures=("$(load prefork-bench "$pf_port" "$pf_pid" "$c" "$mode" "$size")")
					if [ "$ref_ok" -eq 1 ]; then
						figures+=("$(load prefork-bench "$ref_port" "$ref_pid" "$c" "$mode" "$size")")
					fi
					benchstat matrix-row "$w" "$c" "$mode" "$size" "${figures[@]}"
				done
			done
		done
		stop_server "$pf_pid"
		[ "$ref_ok" -eq 0 ] || stop_server "$ref_pid"
	done
fi

# ---- 2. rate and CPU per transaction against ref_prefork_echo ----

# compare LABEL WORKERS CONC MODE: $rounds rounds against four servers at once:
# preforkd on its defaults, preforkd with --defer-accept 0, ref_prefork_echo and a
# second ref_prefork_echo. Each round runs all four back to back, in an order that
# rotates; benchstat.py targets turns each round into three ratios to ref:
# preforkd's (the target), preforkd's without TCP_DEFER_ACCEPT (the reference has
# none, so this row differs from it only by preforkd's own code), and ref2's, an
# A/A control from the same moments that shows how far a ratio strays when nothing
# differs.
compare() {
	local label=$1 w=$2 c=$3 mode=$4 i k who cell=$round_duration
	local names=(pf nd ref ref2) order tps cpu own gen
	# A balanced Latin square (Williams): over 4 rounds each server runs in every
	# position once and right after each of the others once, so what a run leaves
	# behind (TIME_WAIT sockets, a warm or cold cache) falls on all of them alike.
	local square=("0 1 3 2" "1 2 0 3" "2 3 1 0" "3 0 2 1")
	local -A port pid
	: >"$tmp/rounds"
	start_preforkd "$w"
	pid[pf]=$SRV_PID port[pf]=$SRV_PORT
	start_preforkd "$w" --defer-accept 0
	pid[nd]=$SRV_PID port[nd]=$SRV_PORT
	start_ref "$REF_PREFORK" "$w"
	pid[ref]=$SRV_PID port[ref]=$SRV_PORT
	start_ref "$REF_PREFORK" "$w"
	pid[ref2]=$SRV_PID port[ref2]=$SRV_PORT
	for ((i = 0; i < rounds; i++)); do
		order=()
		for k in ${square[i % 4]}; do order+=("${names[k]}"); done
		for who in "${order[@]}"; do
			read -r _ tps _ _ _ cpu own gen \
				< <(load prefork-bench "${port[$who]}" "${pid[$who]}" "$c" "$mode" 64)
			echo "$i $who $tps $cpu $own $gen" >>"$tmp/rounds"
		done
	done
	for who in "${names[@]}"; do stop_server "${pid[$who]}"; done
	benchstat targets "$label" "$tmp/rounds"
}

if [ "$ref_ok" -eq 1 ]; then
	heading "2. targets: preforkd vs ref_prefork_echo ($rounds rounds of ${round_duration} s, 64 B)"
	echo "Each round runs four servers back to back, in rotating order: preforkd on its"
	echo "defaults, preforkd with --defer-accept 0 (like the reference, no"
	echo "TCP_DEFER_ACCEPT), and two ref_prefork_echo. Each preforkd and the second"
	echo "reference give one ratio to the first reference per round; ref2/ref is a"
	echo "control: how far ratios stray here when nothing differs. Shown: the median"
	echo "ratio and, in brackets, the quartiles of the rounds' ratios (half the rounds"
	echo "lie between them). Targets: rate >= 0.97, cpu <= 1.05."
	echo "cpu = machine busy time minus the load generator's CPU, per transaction;"
	echo "proc = CPU of the servers' own processes (/proc/PID/stat), a cross-check that"
	echo "other load on the machine cannot inflate; gen = the load generator's CPU."
	printf '%-28s %8s %8s  %-21s  %-21s  %-14s %4s\n' "" "tx/s" "ref tx/s" "rate ratio" \
		"cpu ratio" "proc ratio" gen
	compare "short, 2 workers, c16" 2 16 short
	compare "short, 4 workers, c64" 4 64 short
	compare "keep-alive, 16 workers, c16" 16 16 keepalive
fi

# ---- 3. memory and evenness ----

heading "3. memory of one worker and evenness of the spread (4 workers, short, c16, 64 B)"

pss_of() { awk '/^Pss:/ { print $2; exit }' "/proc/$1/smaps_rollup" 2>/dev/null || echo "?"; }
rss_of() { awk '/^Rss:/ { print $2; exit }' "/proc/$1/smaps_rollup" 2>/dev/null || echo "?"; }
# USS: the pages only this process holds (Private_Clean + Private_Dirty). Unlike
# PSS it does not depend on how many other processes on the machine share libc.
uss_of() { awk '/^Private_(Clean|Dirty):/ { n += $2 } END { print n + 0 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo "?"; }

# Per-worker connection counts of a running preforkd from preforkctl, if it can.
ctl_worker_counts() {
	[ -x "$CTL" ] || return 1
	"$CTL" -s "$SRV_ADMIN" stats --json 2>/dev/null |
		jq_in -er '[.workers[] | (.connections // .accepted // .counters.accepted)] | select(length > 0) | map(tostring) | join(" ")'
}

start_preforkd 4
pf_pid=$SRV_PID
load prefork-bench "$SRV_PORT" "$pf_pid" 16 short 64 >/dev/null
first_worker=$(child_pids "$pf_pid" | head -1)
pf_pss=$(pss_of "$first_worker") pf_rss=$(rss_of "$first_worker") pf_uss=$(uss_of "$first_worker")
pf_master_pss=$(pss_of "$pf_pid")
if counts=$(ctl_worker_counts); then
	count_src="preforkctl stats --json"
else
	counts=""
	count_src="the workers' exit log lines (preforkctl not available)"
fi
stop_server "$pf_pid"
if [ -z "$counts" ]; then
	counts=$(sed -n 's/.*worker exited: .* \([0-9][0-9]*\) connections$/\1/p' "$SRV_LOG" | tr "\n" " " | sed "s/ $//")
fi
# shellcheck disable=SC2086 # a list of numbers
pf_cv=$(benchstat cv $counts)

printf 'preforkd worker:           PSS %s kB (USS %s kB, RSS %s kB; master PSS %s kB)   target PSS <= 150 kB: %s\n' \
	"$pf_pss" "$pf_uss" "$pf_rss" "$pf_master_pss" \
	"$(benchstat verdict "$pf_pss" 150 le)"
printf 'preforkd spread:           connections per worker %s -> CV %s (from %s)\n' "$counts" "$pf_cv" "$count_src"
if [ "$ref_ok" -eq 1 ]; then
	start_ref "$REF_PREFORK" 4
	ref_pid=$SRV_PID
	load prefork-bench "$SRV_PORT" "$ref_pid" 16 short 64 >/dev/null
	first_worker=$(child_pids "$ref_pid" | head -1)
	ref_pss=$(pss_of "$first_worker") ref_rss=$(rss_of "$first_worker") ref_uss=$(uss_of "$first_worker")
	stop_server "$ref_pid"
	ref_counts=$(sed -n 's/^accepts: *//p' "$SRV_ERR")
	ref_cv=$(sed -n 's/.* cv \([0-9.]*\).*/\1/p' "$SRV_ERR")
	printf 'ref_prefork_echo worker:   PSS %s kB (USS %s kB, RSS %s kB)\n' "$ref_pss" "$ref_uss" "$ref_rss"
	printf 'ref_prefork_echo spread:   connections per worker %s -> CV %s\n' "$ref_counts" "$ref_cv"
fi

# ---- 4. the load generator against echobench ----

if [ "$ref_ok" -eq 1 ]; then
	heading "4. prefork-bench vs echobench against the same server ($rounds paired rounds of ${round_duration} s, 64 B)"
	echo "target: prefork-bench reaches >= 1.0 x echobench's rate (median of the rounds' ratios)"
	printf '%-34s %13s %10s  %-21s %8s %7s\n' "" "prefork-bench" "echobench" "ratio" "gen cpu" "eb cpu"
	# tools LABEL CONC MODE: the current server (SRV_PID, SRV_PORT).
	tools() {
		local label=$1 c=$2 mode=$3 i order tool tps gen cell=$round_duration
		: >"$tmp/rounds"
		for ((i = 0; i < rounds; i++)); do
			order="prefork-bench echobench"
			[ $((i % 2)) -eq 0 ] || order="echobench prefork-bench"
			for tool in $order; do
				read -r _ tps _ _ _ _ _ gen < <(load "$tool" "$SRV_PORT" "$SRV_PID" "$c" "$mode" 64)
				if [ "$tool" = prefork-bench ]; then
					echo "$i pb $tps $gen" >>"$tmp/rounds"
				else
					echo "$i eb $tps $gen" >>"$tmp/rounds"
				fi
			done
		done
		benchstat tools "$label" "$tmp/rounds"
	}
	start_ref "$REF_EPOLL"
	tools "ref_epoll_echo, short, c16" 16 short
	tools "ref_epoll_echo, keep-alive, c16" 16 keepalive
	stop_server "$SRV_PID"
	start_preforkd 2
	tools "preforkd 2 workers, short, c16" 16 short
	stop_server "$SRV_PID"
fi

# ---- 5. the hot path, counted ----

# Timings on a shared machine stray by several percent between runs (see the
# controls above); these counts do not. Per short transaction, one worker: the
# system calls it makes (strace -c), and the instructions it runs in user space
# (callgrind, from the difference of two runs, so start-up cancels out).
if [ "$do_counts" -eq 1 ]; then
	heading "5. the hot path, counted (1 worker, short connections, 64 B, c4)"
fi

# tracer_of PID: the pid tracing PID, 0 when none.
tracer_of() { awk '/^TracerPid:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
traced() { [ "$(tracer_of "$1")" != 0 ]; }

# syscalls_per_tx LABEL: the current server (SRV_PID, SRV_PORT, one worker).
# Prints a skip line, never fails the run, when strace cannot attach (ptrace
# restricted) or the load completes nothing.
syscalls_per_tx() {
	local w spid ok
	w=$(child_pids "$SRV_PID" | head -1)
	strace -c -q -p "$w" -o "$tmp/strace.out" 2>"$tmp/strace.err" &
	spid=$!
	if ! wait_until -q 5 traced "$w"; then
		kill "$spid" 2>/dev/null || true
		wait "$spid" 2>/dev/null || true
		printf '%-18s skipped: strace could not attach (%s)\n' "$1" "$(head -1 "$tmp/strace.err")"
		return 0
	fi
	ok=$("$BENCH" --connect "127.0.0.1:$SRV_PORT" -n 2000 -c 4 --json -q 2>/dev/null | jq -r .ok) || ok=0
	kill -INT "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	if ! [[ $ok =~ ^[1-9][0-9]*$ ]]; then
		printf '%-18s skipped: the load completed no transaction\n' "$1"
		return 0
	fi
	benchstat syscalls "$1" "$ok" "$tmp/strace.out"
}

# worker_ir START_FN N: sets WORKER_IR to the instructions one worker ran in user
# space by the end of N transactions (callgrind), or to 0. START_FN starts the
# server; it runs here, not in a subshell, so the server is in $servers for the
# clean-up trap whatever happens.
WORKER_IR=0
worker_ir() {
	local start=$1 n=$2 f
	WORKER_IR=0
	rm -f "$tmp"/cg.*
	launcher=(valgrind -q --vgdb=no --tool=callgrind "--callgrind-out-file=$tmp/cg.%p")
	"$start"
	launcher=()
	"$BENCH" --connect "127.0.0.1:$SRV_PORT" -n "$n" -c 4 --timeout 30 --json -q \
		>/dev/null 2>&1 || true
	stop_server "$SRV_PID"
	for f in "$tmp"/cg.*; do
		[[ -e $f && $f != "$tmp/cg.$SRV_PID" ]] || continue
		WORKER_IR=$(awk '/^summary:/ { print $2; exit }' "$f")
	done
	[[ $WORKER_IR =~ ^[0-9]+$ ]] || WORKER_IR=0
}

start_counted_preforkd() { start_preforkd 1; }
start_counted_ref() { start_ref "$REF_PREFORK" 1; }

# instructions_per_tx LABEL START_FN: the difference of a run of counted_tx
# transactions and one of 5 x counted_tx, so that start-up and exit cancel out.
instructions_per_tx() {
	local a b
	worker_ir "$2" "$counted_tx"
	a=$WORKER_IR
	worker_ir "$2" $((5 * counted_tx))
	b=$WORKER_IR
	benchstat instructions "$1" "$a" "$b" $((4 * counted_tx))
}

# sanitized BINARY: built with ASan or UBSan (linked in, or as a shared runtime),
# whose own work strace and valgrind would count (valgrind cannot run ASan at all).
sanitized() {
	local syms
	syms=$(readelf -sW "$1" 2>/dev/null) || return 1
	[[ $syms == *__asan_init* || $syms == *__ubsan_handle* ]]
}

if [ "$do_counts" -eq 1 ]; then
	if sanitized "$PREFORKD"; then
		echo "skipped: $PREFORKD is built with sanitizers, which strace and valgrind would count"
	else
		if command -v strace >/dev/null; then
			start_preforkd 1
			syscalls_per_tx preforkd
			stop_server "$SRV_PID"
			if [ "$ref_ok" -eq 1 ]; then
				start_ref "$REF_PREFORK" 1
				syscalls_per_tx ref_prefork_echo
				stop_server "$SRV_PID"
			fi
		else
			echo "syscalls: skipped (no strace; apt-get install strace)"
		fi
		if command -v valgrind >/dev/null; then
			instructions_per_tx preforkd start_counted_preforkd
			[ "$ref_ok" -eq 0 ] || instructions_per_tx ref_prefork_echo start_counted_ref
		else
			echo "instructions: skipped (no valgrind; apt-get install valgrind)"
		fi
	fi
fi

# ---- 6. pressure: silent and trickling clients against the pool ----

# The issue's scenario: 2 workers on the defaults; 200 connections that send
# nothing and 16 that send one byte every 5 s (neither reconnects once closed),
# and a normal client every 100 ms; its wait is connect to the end of its echo.
# Once with the defence (the default --pressure-idle 1), once without (0).
pressure_run() {
	local label=$1 out
	shift
	out=$tmp/pressure.$started_preforkd.json
	start_preforkd 2 "$@"
	"$ROOT/scripts/pressure-load.py" --port "$SRV_PORT" --silent 200 --trickle 16 --gap 5 \
		--normal-every 0.1 --duration "$pressure_duration" >"$out" 2>"$tmp/pressure.err" ||
		echo '{}' >"$out"
	"$CTL" -s "$SRV_ADMIN" stats json >"$tmp/pressure.stats" 2>/dev/null || echo '{}' >"$tmp/pressure.stats"
	stop_server "$SRV_PID"
	printf '%-26s %6s %6s %8s %8s %8s %8s %8s %8s\n' "$label" \
		"$(jq -r '.normal.count // "?"' "$out")" "$(jq -r '.normal.failed // "?"' "$out")" \
		"$(jq -r '.normal.p50 // "-"' "$out")" "$(jq -r '.normal.p99 // "-"' "$out")" \
		"$(jq -r '.normal.max // "-"' "$out")" \
		"$(jq -r '.totals.errors.evicted // "?"' "$tmp/pressure.stats")" \
		"$(jq -r '.pressure.closed_at_accept // "?"' "$tmp/pressure.stats")" \
		"$(jq -r '.pressure.episodes // "?"' "$tmp/pressure.stats")"
}

if [ "$do_pressure" -eq 1 ]; then
	heading "6. pressure: 2 workers, 200 silent + 16 trickling clients, a normal client every 100 ms for ${pressure_duration} s"
	echo "columns:  normal = normal clients started; failed = no echo within 60 s; p50/p99/max"
	echo "          = their wait in s (connect to the end of the echo); evicted = connections"
	echo "          the defence closed, of which at accept; episodes = pressure episodes"
	printf '%-26s %6s %6s %8s %8s %8s %8s %8s %8s\n' defence normal failed p50 p99 max evicted at-accept episodes
	pressure_run "on (--pressure-idle 1)"
	pressure_run "off (--pressure-idle 0)" --pressure-idle 0
fi

# ---- 7. burst: a jump in clients that need workers ----

# Keep-alive clients (scripts/burst-load.py) that each hold a worker for 20 round
# trips with think time between them, jumping from 1 to 64 and back, against a
# fixed pool of MIN, one of MAX and the adaptive pool; the pool is sampled every
# 100 ms through the admin socket. benchstat.py prints the blocks and the verdict.

# adaptive_pool: this preforkd takes --workers MIN..MAX (checked with -T, which
# parses the options and prints the configuration, binding nothing).
adaptive_pool() {
	"$PREFORKD" --listen 127.0.0.1:0 --workers "$burst_pool" -T >/dev/null 2>&1
}

# burst_run LABEL WORKERS MAX_WORKERS: one pool under the burst; its JSON is left
# in $tmp/burst.WORKERS.json (an empty run's when the load failed).
burst_run() {
	local label=$1 w=$2 max=$3 out=$tmp/burst.$2.json
	start_preforkd "$w"
	if ! "$ROOT/scripts/burst-load.py" --port "$SRV_PORT" --admin "$SRV_ADMIN" \
		--phases "$burst_phases" >"$out" 2>"$tmp/burst.err"; then
		echo "burst-load.py failed: $(head -1 "$tmp/burst.err")" >&2
		echo '{"phases": [], "samples": [], "lag_us": []}' >"$out"
	fi
	stop_server "$SRV_PID"
	benchstat burst-row "$label" "$out" --max-workers "$max"
}

if [ "$do_burst" -eq 1 ]; then
	heading "7. burst: keep-alive clients jumping ${burst_phases// / -> } (CLIENTS:SECONDS), pools of $burst_min, $burst_max and $burst_pool"
	echo "Each client makes 20 round trips of 64 B, 50 ms (0.5..1.5 x) apart, on one connection,"
	echo "then reconnects: it holds a worker all along. rt = a round trip after the first;"
	echo "first = connect to the first echo (the wait for a free worker is in it); req = both,"
	echo "what a request waits; a request that timed out or was given up (unserved) counts"
	echo "with its wait so far. The pool is sampled every 100 ms (preforkctl stats pool.*)."
	burst_run "fixed $burst_min workers (--workers $burst_min)" "$burst_min" "$burst_min"
	burst_run "fixed $burst_max workers (--workers $burst_max)" "$burst_max" "$burst_max"
	if adaptive_pool; then
		burst_run "adaptive (--workers $burst_pool)" "$burst_pool" "$burst_max"
		echo "worker count over time (adaptive):"
		benchstat burst-chart "$tmp/burst.$burst_pool.json"
		benchstat burst-verdict --fixed-max "$tmp/burst.$burst_max.json" \
			--adaptive "$tmp/burst.$burst_pool.json" --min "$burst_min" --max "$burst_max"
	else
		echo "worker count over time (fixed $burst_max, for the shape: no adaptive pool here):"
		benchstat burst-chart "$tmp/burst.$burst_max.json"
		benchstat burst-verdict --fixed-max "$tmp/burst.$burst_max.json" \
			--min "$burst_min" --max "$burst_max"
	fi
fi

# ---- 8. UDP echo ----

# udp_load PORT: prefork-bench --udp for one cell; prints the row's figures.
udp_load() {
	local out=$tmp/udp.json
	if ! "$BENCH" --udp --connect "127.0.0.1:$1" -c "$udp_conc" -t 2 -d "$duration" -s 64 \
		--timeout 0.5 --json -q </dev/null >"$out" 2>"$tmp/udp.err"; then
		echo "prefork-bench --udp failed: $(head -1 "$tmp/udp.err")"
		return 0
	fi
	jq -r '"\(.tps | floor)/s  lost \(.lost) of \(.sent) (\(.loss * 100 | . * 1000 | round / 1000) %)  p50 \(.latency_us.p50) us  p99 \(.latency_us.p99) us  mismatch \(.errors.mismatch)"' "$out"
}

udp_bound() { [ -n "$(ss -Huln "sport = :$1" 2>/dev/null)" ]; }

# start_udp_ref PROGRAM: as start_ref, for a UDP port. Sets SRV_PID, SRV_PORT.
start_udp_ref() {
	local try
	for try in 1 2 3 4 5 6 7 8; do
		SRV_PORT=$((20000 + RANDOM % 12000))
		udp_bound "$SRV_PORT" && continue
		"$1" "$SRV_PORT" </dev/null >/dev/null 2>"$tmp/udp_echo_ref.err" &
		SRV_PID=$!
		servers+=("$SRV_PID")
		if wait_until -q 5 udp_bound "$SRV_PORT" && process_alive "$SRV_PID"; then
			return 0
		fi
		stop_server "$SRV_PID"
		: "$try"
	done
	echo "bench.sh: could not start $1" >&2
	exit 1
}

if [ "$do_udp" -eq 1 ]; then
	heading "8. UDP echo: preforkd (udp:, --udp-rate 0) vs a single-process recvfrom/sendto loop"
	echo "prefork-bench --udp, $udp_conc datagrams of 64 B outstanding from 2 threads (a socket each),"
	echo "${duration} s; a datagram with no answer within 0.5 s is lost. Every worker"
	echo "receives on the one socket; a worker takes up to 16 datagrams per recvmmsg()."
	if cc -O2 -o "$tmp/udp_echo_ref" "$ROOT/scripts/bench/udp_echo_ref.c"; then
		start_udp_ref "$tmp/udp_echo_ref"
		printf '  %-26s %s\n' "udp_echo_ref (1 process)" "$(udp_load "$SRV_PORT")"
		stop_server "$SRV_PID"
	else
		echo "  udp_echo_ref: does not build; no reference"
	fi
	for w in $udp_workers; do
		SRV_LOG=$tmp/preforkd.udp.$w.log
		: >"$SRV_LOG"
		"$PREFORKD" --listen udp:127.0.0.1:0 --workers "$w" --udp-rate 0 --log "$SRV_LOG" \
			--admin "$tmp/preforkd.udp.$w.sock" --grace 2 </dev/null >/dev/null 2>&1 &
		SRV_PID=$!
		servers+=("$SRV_PID")
		wait_until -q 10 log_listening "$SRV_LOG" || { cat "$SRV_LOG" >&2; exit 1; }
		wait_until -q 10 has_children "$SRV_PID" "$w" || exit 1
		printf '  %-26s %s\n' "preforkd --workers $w" "$(udp_load "$(listen_port "$SRV_LOG")")"
		stop_server "$SRV_PID"
	done
fi

# ---- 9. several listeners: the epoll path against the single-listener accept4 ----

# wakeups_per_conn: (accepted + empty wake-ups) / accepted, from the admin socket.
wakeups_per_conn() {
	"$CTL" -s "$SRV_ADMIN" stats --json 2>/dev/null |
		jq -r '(.totals.accepted // 0) as $a | (.empty_wakeups // .totals.empty_wakeups // 0) as $e
			| if $a > 0 then (($a + $e) / $a * 1000 | round / 1000) else "n/a" end'
}

if [ "$do_listeners" -eq 1 ]; then
	heading "9. several listeners: epoll (EPOLLEXCLUSIVE) vs one listener's blocking accept4"
	echo "preforkd --workers 4, prefork-bench -c 16, 64 B short connections to the first"
	echo "listener, $listener_rounds rounds of ${round_duration} s alternating the two"
	echo "servers; tx/s and cpu (machine busy time per transaction) as medians; wake-ups"
	echo "per connection = (accepted + empty wake-ups) / accepted over the whole run."
	declare -A lport lpid ladmin
	start_preforkd 4
	lpid[one]=$SRV_PID lport[one]=$SRV_PORT ladmin[one]=$SRV_ADMIN
	start_preforkd 4 --listen 127.0.0.1:0
	lpid[two]=$SRV_PID lport[two]=$SRV_PORT ladmin[two]=$SRV_ADMIN
	: >"$tmp/listener.rounds"
	cell=$round_duration
	for ((i = 0; i < listener_rounds; i++)); do
		for who in one two; do
			[ $((i % 2)) -eq 0 ] || who=$([ "$who" = one ] && echo two || echo one)
			read -r _ tps _ _ _ cpu _ _ \
				< <(load prefork-bench "${lport[$who]}" "${lpid[$who]}" 16 short 64)
			echo "$who $tps $cpu" >>"$tmp/listener.rounds"
		done
	done
	unset cell
	for who in one two; do
		SRV_ADMIN=${ladmin[$who]}
		printf '  %-22s tx/s %8s  cpu %8s  wake-ups/conn %s\n' \
			"$([ "$who" = one ] && echo "1 listener (accept4)" || echo "2 listeners (epoll)")" \
			"$(awk -v w="$who" '$1 == w { print $2 }' "$tmp/listener.rounds" | sort -n |
				awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "n/a" }')" \
			"$(awk -v w="$who" '$1 == w { print $3 }' "$tmp/listener.rounds" | sort -n |
				awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "n/a" }')" \
			"$(wakeups_per_conn)"
	done
	stop_server "${lpid[one]}"
	stop_server "${lpid[two]}"
fi

heading "done (load average now $(cut -d' ' -f1-3 /proc/loadavg))"
