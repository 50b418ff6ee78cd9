#!/usr/bin/env bash
# Benchmarks preforkd's HTTP static file service beside nginx and Apache prefork
# (mpm_prefork) with the same number of workers, serving the same 1 KiB and 1 MiB
# files from one directory: requests/s, p50/p99, client errors and server CPU per
# request, without and with keep-alive, in paired rounds; then each server's worker
# PSS. What `make bench-http` runs. The servers run in the foreground as children
# of this script, on loopback ports, with configs written to a temp dir; never the
# system services or their configs. scripts/benchstat.py computes the medians,
# ratios and verdicts.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: scripts/bench-http.sh [OPTION]...
Prints HTTP figures for preforkd, nginx and Apache prefork (what `make bench-http`
runs after an -O2 build). Benchmarks are not tests: nothing here fails because of
a figure.

  --workers N          workers of every server (default 4)
  --duration SECONDS   length of one run, whole seconds (default 2)
  --rounds N           paired rounds of each cell (default 5): each round runs
                       the three servers back to back in rotating order, and the
                       median of the rounds' preforkd/nginx ratios is kept
  --keepalive-timeout SECONDS  every server's keep-alive timeout (default 2)
  --no-install         do not install missing tools; stop instead
  --quick              a small run: 2 workers, 1 s runs, 2 rounds (also
                       BENCH_QUICK=1); later options override
  -h, --help           show this help

Environment: BENCH_QUICK=1 as --quick; BENCH_WORKERS, BENCH_DURATION, BENCH_ROUNDS
as the options (so `make bench-http BENCH_QUICK=1` works).

Needs nginx, apache2 (mpm_prefork) and wrk; missing ones are installed with
scripts/apt-install-nodaemon.sh, which lets no service start. The load is wrk,
on the same machine: without keep-alive (every request on a new connection,
"Connection: close") at 4 x workers connections, and with keep-alive at
workers and at 4 x workers connections (more clients than workers: preforkd's
pressure rule makes an idle keep-alive connection yield; Apache prefork's
queued clients wait for a worker's connection to end). Server CPU per request
is utime+stime of the server's processes (/proc/PID/stat, reaped children
included) over the requests. Compare ratios from one run, not absolute figures.
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFORKD=${PREFORKD:-$ROOT/bin/preforkd}
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

quick() { workers=2 duration=1 rounds=2; }
workers=4 duration=2 rounds=5
[ "${BENCH_QUICK:-0}" != 1 ] || quick
workers=${BENCH_WORKERS:-$workers}
duration=${BENCH_DURATION:-$duration}
rounds=${BENCH_ROUNDS:-$rounds}
ka_timeout=2
install=1

die_usage() {
	echo "bench-http.sh: $*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--workers) need_arg "$@"; workers=$2; shift ;;
	--duration) need_arg "$@"; duration=$2; shift ;;
	--rounds) need_arg "$@"; rounds=$2; shift ;;
	--keepalive-timeout) need_arg "$@"; ka_timeout=$2; shift ;;
	--no-install) install=0 ;;
	--quick) quick ;;
	-h | --help) usage; exit 0 ;;
	*) die_usage "unknown option '$1' (see --help)" ;;
	esac
	shift
done

# wrk takes whole seconds.
[[ $duration =~ ^[1-9][0-9]*$ ]] || die_usage "--duration: expected whole seconds >= 1, got '$duration'"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die_usage "--rounds: expected N >= 1, got '$rounds'"
[[ $workers =~ ^[1-9][0-9]*$ && $workers -le 256 ]] ||
	die_usage "--workers: expected 1..256, got '$workers'"
[[ $ka_timeout =~ ^[1-9][0-9]*$ ]] ||
	die_usage "--keepalive-timeout: expected whole seconds >= 1, got '$ka_timeout'"
[ -x "$PREFORKD" ] || die_usage "no preforkd at $PREFORKD: run make first"
find_python || die_usage "python3 is needed (apt-get install python3)"

# ---- the tools ----

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
APACHE_MODS=/usr/lib/apache2/modules
WRK=$(command -v wrk || echo /usr/bin/wrk)

missing=()
[ -x "$NGINX" ] || missing+=(nginx-light)
[ -x "$APACHE" ] && [ -e "$APACHE_MODS/mod_mpm_prefork.so" ] || missing+=(apache2)
[ -x "$WRK" ] || missing+=(wrk)
if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$install" -eq 0 ]; then
		echo "bench-http.sh: missing ${missing[*]} (--no-install given)" >&2
		exit 3
	fi
	echo "installing ${missing[*]} (no service of theirs may start)"
	"$ROOT/scripts/apt-install-nodaemon.sh" --update "${missing[@]}"
	# The packages' own daemons must not run: we start ours, on our ports.
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		for unit in nginx apache2; do
			if systemctl is-active --quiet "$unit"; then
				echo "bench-http.sh: warning: the system's $unit service is running" >&2
			fi
		done
	fi
	NGINX=$(command -v nginx || echo /usr/sbin/nginx)
	APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
	WRK=$(command -v wrk || echo /usr/bin/wrk)
fi
# Without systemd: a system daemon would have left its pid file.
for pidfile in /run/nginx.pid /run/apache2/apache2.pid; do
	if [ -r "$pidfile" ] && process_alive "$(head -1 "$pidfile")"; then
		echo "bench-http.sh: warning: a system daemon runs ($pidfile); not ours, left alone" >&2
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/preforkd-bench-http.XXXXXX")
servers=() # pids of every server started (their masters), stopped by pid at exit

stop_server() { # stop_server PID: SIGTERM, SIGKILL after 10 s, reap.
	local pid=$1 p rest=()
	stop_pid "$pid" 10 || true
	for p in "${servers[@]}"; do [ "$p" = "$pid" ] || rest+=("$p"); done
	servers=("${rest[@]}")
}

cleanup() {
	local pid kids
	for pid in "${servers[@]}"; do
		# SIGKILL on a master would orphan nginx's or Apache's workers: ask first,
		# then kill the master and the workers it still has, by pid.
		kids=$(child_pids "$pid")
		kill -TERM "$pid" 2>/dev/null || true
		if ! wait_until -q 5 process_gone "$pid"; then
			# shellcheck disable=SC2086 # a list of pids
			kill -KILL "$pid" $kids 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The files, readable by the unprivileged user the servers' workers run as.
www=$tmp/www
mkdir -p "$www"
head -c 1024 /dev/urandom >"$www/1k.bin"
head -c 1048576 /dev/urandom >"$www/1m.bin"
chmod 0755 "$tmp" "$www"
chmod 0644 "$www"/*.bin
# As root, every server's workers drop to nobody (Apache refuses to serve as root),
# who must reach the files: TMPDIR's path must be open to others.
run_user=()
if [ "$(id -u)" -eq 0 ]; then
	run_user=(nobody "$(id -gn nobody)")
	if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$www/1k.bin"; then
		echo "bench-http.sh: nobody cannot read $www: set TMPDIR to a directory others can reach" >&2
		exit 1
	fi
fi

listening() { [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]; }
has_children() { [ "$(child_count "$1")" -ge "$2" ]; }

# free_port: a port nothing listens on (nginx and Apache take no port 0).
free_port() {
	local p try
	for try in 1 2 3 4 5 6 7 8 9 10; do
		p=$((20000 + RANDOM % 12000))
		listening "$p" || { echo "$p"; return 0; }
		: "$try"
	done
	return 1
}

# start_preforkd: sets PID[preforkd], PORT[preforkd].
declare -A PID PORT
start_preforkd() {
	local log=$tmp/preforkd.log user=()
	[ "${#run_user[@]}" -eq 0 ] || user=(--user "${run_user[0]}")
	: >"$log"
	"$PREFORKD" --service http --root "$www" --listen 127.0.0.1:0 --workers "$workers" \
		--keepalive-timeout "$ka_timeout" --log "$log" --admin "$tmp/preforkd.sock" \
		--grace 2 "${user[@]}" </dev/null >/dev/null 2>&1 &
	PID[preforkd]=$!
	servers+=("${PID[preforkd]}")
	wait_until -q 10 log_listening "$log" || { cat "$log" >&2; exit 1; }
	PORT[preforkd]=$(listen_port "$log")
	wait_until -q 10 has_children "${PID[preforkd]}" "$workers" ||
		{ cat "$log" >&2; echo "bench-http.sh: preforkd's workers did not start" >&2; exit 1; }
}

start_nginx() {
	local port dir=$tmp/nginx as=""
	port=$(free_port) || { echo "bench-http.sh: no free port" >&2; exit 1; }
	mkdir -p "$dir"
	[ "${#run_user[@]}" -eq 0 ] || as="user ${run_user[0]} ${run_user[1]};"
	cat >"$dir/nginx.conf" <<EOF
# Written by preforkd's bench-http.sh: a self-contained nginx for one run.
daemon off;
master_process on;
$as
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout ${ka_timeout}s;
	keepalive_requests 100;
	default_type application/octet-stream;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	server {
		listen 127.0.0.1:$port;
		root $www;
	}
}
EOF
	"$NGINX" -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" </dev/null >/dev/null 2>"$dir/stderr" &
	PID[nginx]=$!
	PORT[nginx]=$port
	servers+=("${PID[nginx]}")
	if ! wait_until -q 10 listening "$port" || ! wait_until -q 10 has_children "${PID[nginx]}" "$workers"; then
		cat "$dir/stderr" "$dir/error.log" >&2 2>/dev/null || true
		echo "bench-http.sh: nginx did not start" >&2
		exit 1
	fi
}

start_apache() {
	local port dir=$tmp/apache as=""
	port=$(free_port) || { echo "bench-http.sh: no free port" >&2; exit 1; }
	mkdir -p "$dir"
	[ "${#run_user[@]}" -eq 0 ] || as="User ${run_user[0]}
Group ${run_user[1]}"
	cat >"$dir/apache2.conf" <<EOF
# Written by preforkd's bench-http.sh: a self-contained Apache prefork for one run.
ServerRoot $dir
ServerName 127.0.0.1
LoadModule mpm_prefork_module $APACHE_MODS/mod_mpm_prefork.so
LoadModule authz_core_module $APACHE_MODS/mod_authz_core.so
$as
Listen 127.0.0.1:$port
PidFile $dir/apache2.pid
ErrorLog $dir/error.log
Mutex file:$dir default
DocumentRoot $www
<Directory />
	Require all granted
	AllowOverride None
</Directory>
StartServers $workers
MinSpareServers $workers
MaxSpareServers $workers
ServerLimit $workers
MaxRequestWorkers $workers
MaxConnectionsPerChild 0
KeepAlive On
KeepAliveTimeout $ka_timeout
MaxKeepAliveRequests 100
EnableSendfile On
EOF
	# In a session of its own: Apache's parent signals its whole process group
	# when it stops, which would otherwise be this script's and its caller's.
	# (setsid execs in place here: a background job of a script leads no group,
	# so $! is Apache's parent.)
	setsid "$APACHE" -d "$dir" -f "$dir/apache2.conf" -DFOREGROUND </dev/null >/dev/null 2>"$dir/stderr" &
	PID[apache]=$!
	PORT[apache]=$port
	servers+=("${PID[apache]}")
	if ! wait_until -q 10 listening "$port" || ! wait_until -q 10 has_children "${PID[apache]}" "$workers" ||
		[ "$(cat "/proc/${PID[apache]}/comm" 2>/dev/null)" != "${APACHE##*/}" ]; then
		cat "$dir/stderr" "$dir/error.log" >&2 2>/dev/null || true
		echo "bench-http.sh: Apache did not start" >&2
		exit 1
	fi
}

HZ=$(getconf CLK_TCK)

# tree_ticks PID: CPU time of a server (clock ticks): utime, stime, cutime and
# cstime of its master (fields 14-17 of /proc/PID/stat, counted after the command
# name, which is in brackets and may hold spaces; the c- fields hold the workers
# it reaped), plus utime and stime of its live workers.
tree_ticks() {
	local p sum=0 stat f
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || { echo 0; return; }
	read -ra f <<<"${stat##*) }"
	sum=$((f[11] + f[12] + f[13] + f[14]))
	for p in $(child_pids "$1"); do
		{ read -r stat <"/proc/$p/stat"; } 2>/dev/null || continue
		read -ra f <<<"${stat##*) }"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}

# wrk's own summary, one line: requests, duration (us), p50 and p99 latency (us),
# errors (connect, read, write, timeout, and non-2xx/3xx responses), then each kind.
cat >"$tmp/report.lua" <<'EOF'
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("wrk-summary %d %d %.0f %.0f %d connect %d read %d write %d timeout %d status %d\n",
		summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
		e.connect + e.read + e.write + e.timeout + e.status,
		e.connect, e.read, e.write, e.timeout, e.status))
end
EOF

# load WHO CONC MODE FILE: one run against a server. Prints
#   RPS P50_US P99_US ERRORS CPU_US_PER_REQUEST
load() {
	local who=$1 conc=$2 mode=$3 file=$4 t0 t1 threads=2 hdr=() line req us p50 p99 err kinds
	[ "$conc" -ge 2 ] || threads=1
	[ "$mode" = keepalive ] || hdr=(-H "Connection: close")
	t0=$(tree_ticks "${PID[$who]}")
	# A request queued behind a keep-alive connection may wait its timeout out:
	# wrk's own limit sits well above, so that such waits show in p99.
	"$WRK" -t "$threads" -c "$conc" -d "${duration}s" --timeout "$((ka_timeout * 4 + 5))s" \
		-s "$tmp/report.lua" "${hdr[@]}" "http://127.0.0.1:${PORT[$who]}/$file" \
		</dev/null >"$tmp/wrk.out" 2>"$tmp/wrk.err" || true
	t1=$(tree_ticks "${PID[$who]}")
	line=$(grep '^wrk-summary ' "$tmp/wrk.out" || true)
	if [ -z "$line" ]; then
		echo "bench-http.sh: wrk against $who gave no summary: $(cat "$tmp/wrk.err" "$tmp/wrk.out" | head -c 300)" >&2
		echo "0 0 0 1 0"
		return 0
	fi
	read -r _ req us p50 p99 err kinds <<<"$line"
	[ "$err" -eq 0 ] || echo "  errors of $who: $kinds" >>"$tmp/errors"
	awk -v req="$req" -v us="$us" -v p50="$p50" -v p99="$p99" -v err="$err" \
		-v ticks=$((t1 - t0)) -v hz="$HZ" 'BEGIN {
			rps = us > 0 ? req * 1e6 / us : 0
			cpu = req > 0 ? ticks * 1e6 / hz / req : 0
			printf "%.1f %d %d %d %.2f\n", rps, p50, p99, err, cpu
		}'
}

# cell LABEL CONC MODE FILE [benchstat option...]: $rounds rounds, each running
# the three servers back to back; the order rotates through all six orders of
# three, so each server runs first, last, and after each other alike.
cell() {
	local label=$1 conc=$2 mode=$3 file=$4 i who
	shift 4
	local orders=("preforkd nginx apache" "nginx apache preforkd" "apache preforkd nginx"
		"preforkd apache nginx" "apache nginx preforkd" "nginx preforkd apache")
	: >"$tmp/rounds"
	: >"$tmp/errors"
	for ((i = 0; i < rounds; i++)); do
		for who in ${orders[i % 6]}; do
			echo "$i $who $(load "$who" "$conc" "$mode" "$file")" >>"$tmp/rounds"
		done
	done
	benchstat http-cell "$label" "$tmp/rounds" "$@"
	cat "$tmp/errors"
}

pss_of() { awk '/^Pss:/ { print $2; exit }' "/proc/$1/smaps_rollup" 2>/dev/null || echo "?"; }
# private_of PID: the pages only this process maps (kB): what one more worker costs.
private_of() {
	awk '/^Private_(Clean|Dirty):/ { n += $2 } END { print n + 0 }' \
		"/proc/$1/smaps_rollup" 2>/dev/null || echo "?"
}

# worker_pss WHO: the PSS (kB) of each worker, its private part, then the master's PSS.
worker_pss() {
	local p list=() priv=()
	for p in $(child_pids "${PID[$1]}"); do
		list+=("$(pss_of "$p")")
		priv+=("$(private_of "$p")")
	done
	printf '  %-9s workers %s kB (median %s; private %s); master %s kB\n' "$1" "${list[*]}" \
		"$(benchstat median "${list[@]}")" "$(benchstat median "${priv[@]}")" \
		"$(pss_of "${PID[$1]}")"
}

heading() {
	printf '\n== %s ==\n' "$*"
}

start_preforkd
start_nginx
start_apache

heading "preforkd HTTP benchmark"
echo "machine:  $(nproc) CPUs, $(uname -sr), $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo "servers:  preforkd --service http, $("$NGINX" -v 2>&1 | sed 's/.*: //'), $("$APACHE" -v | sed -n 's/^Server version: //p') mpm_prefork;"
echo "          $workers workers each, keep-alive timeout ${ka_timeout} s, 100 requests a connection, sendfile"
echo "load:     $("$WRK" -v 2>&1 | head -1 | cut -d' ' -f1-2) on the same machine, ${duration} s a run, $rounds paired rounds a cell, loopback"
idle_busy=$(benchstat machine-busy 1)
echo "before:   machine ${idle_busy}% busy with other work (load average $(cut -d' ' -f1-3 /proc/loadavg))"
[ "$idle_busy" -lt 10 ] || echo "WARNING:  the machine is not idle: other work will blur these figures"
echo "columns:  req/s, p50, p99 (us; p99 the median round's, then the worst round's),"
echo "          client errors (all rounds), server CPU per request (us); medians of the rounds."
echo "          Ratios: median of the rounds' preforkd/nginx ratios (quartiles or extremes)."
printf '  %-9s %9s %8s %9s %9s %6s %8s\n' server "req/s" p50 p99 "p99 max" errors "cpu/req"

limit_us=$((ka_timeout * 1000000))
c4=$((workers * 4))
heading "without keep-alive (Connection: close), $c4 connections"
cell "1 KiB, close, c$c4" "$c4" close 1k.bin --rate-target 1.0 --cpu-target 1.0
cell "1 MiB, close, c$c4" "$c4" close 1m.bin --rate-target 1.0 --cpu-target 1.0
heading "keep-alive, $workers connections (= workers)"
cell "1 KiB, keep-alive, c$workers" "$workers" keepalive 1k.bin --rate-target 0.8
cell "1 MiB, keep-alive, c$workers" "$workers" keepalive 1m.bin --rate-target 0.8
heading "keep-alive, $c4 connections (4 x workers: the pressure rule)"
echo "More clients than workers: a prefork worker serves one connection at a time."
echo "preforkd makes an idle keep-alive connection yield to a queued one; Apache"
echo "prefork's queued clients wait until a worker's connection ends (its"
echo "KeepAliveTimeout, or MaxKeepAliveRequests); nginx multiplexes."
cell "1 KiB, keep-alive, c$c4" "$c4" keepalive 1k.bin --p99-limit-us "$limit_us"
cell "1 MiB, keep-alive, c$c4" "$c4" keepalive 1m.bin --p99-limit-us "$limit_us"

heading "worker memory (PSS from /proc/PID/smaps_rollup, after the runs)"
echo "PSS shares each shared page among the processes that map it: libc's text weighs"
echo "more on a machine that runs few processes; 'private' is what one more worker costs."
worker_pss preforkd
worker_pss nginx
worker_pss apache
pf_pss=()
for p in $(child_pids "${PID[preforkd]}"); do pf_pss+=("$(pss_of "$p")"); done
pf_med=$(benchstat median "${pf_pss[@]}")
echo "  preforkd worker PSS target <= 200 kB: $(benchstat verdict "$pf_med" 200 le)"

for who in preforkd nginx apache; do stop_server "${PID[$who]}"; done
heading "done (load average now $(cut -d' ' -f1-3 /proc/loadavg))"
