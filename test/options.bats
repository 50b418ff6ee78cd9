#!/usr/bin/env bats
# Start-up errors: bad options exit 2 with one line naming the option and value;
# an address in use exits 1 with the reason; --help and --version tell the truth.

load helpers

@test "an address already in use exits 1 with the reason" {
	start_server --workers 1
	run "$PREFORKD" --listen "$SERVER_ADDR" --workers 1 --admin "$BATS_TEST_TMPDIR/second.sock"
	[ "$status" -eq 1 ]
	[[ "$output" == *"preforkd: cannot listen on $SERVER_ADDR: Address already in use"* ]]
	# The running server is untouched.
	run echo_once "unharmed"
	[ "$output" = "unharmed" ]
}

@test "bad option values exit 2 with one line naming option and value" {
	run "$PREFORKD" --workers abc
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "preforkd: --workers: expected an integer 1..1024, got 'abc'" ]
	run "$PREFORKD" --workers 0
	[ "$status" -eq 2 ]
	run "$PREFORKD" --backlog 70000
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == *"--backlog"*"70000"* ]]
	run "$PREFORKD" --listen 127.0.0.1
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == *"--listen"*"127.0.0.1"* ]]
	run "$PREFORKD" --service gopher
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == *"--service"*"gopher"* ]]
	run "$PREFORKD" --idle-timeout -3
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == *"--idle-timeout"*"-3"* ]]
	run "$PREFORKD" --no-such-option
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == *"--no-such-option"* ]]
	run "$PREFORKD" --workers
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == *"--workers: missing value"* ]]
}

@test "--worker-timeout not above every per-connection wait exits 2 naming both options" {
	run "$PREFORKD" --worker-timeout 10 --idle-timeout 30
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "preforkd: --worker-timeout (10 s) must be 0 or greater than --idle-timeout (30 s)"* ]]
	run "$PREFORKD" --worker-timeout 5 --idle-timeout 4 --first-byte-timeout 5
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == *"--worker-timeout"*"--first-byte-timeout (5 s)"* ]]
}

@test "an unresolvable host exits with a clear error" {
	run "$PREFORKD" --listen no-such-host.invalid:0 --admin "$BATS_TEST_TMPDIR/x.sock"
	[ "$status" -ne 0 ]
	[[ "$output" == *"no-such-host.invalid"* ]]
}

@test "--help lists every option and --version prints the version" {
	run "$PREFORKD" --help
	[ "$status" -eq 0 ]
	for opt in --listen --workers --backlog --service --idle-timeout --grace --pidfile \
		--first-byte-timeout --worker-timeout --log --admin --quiet --verbose --help --version; do
		[[ "$output" == *"$opt"* ]] || { echo "missing $opt"; return 1; }
	done
	run "$PREFORKD" --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^preforkd\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "port 0 picks a free port and the log names it" {
	start_server --workers 1
	[ "$SERVER_PORT" -gt 0 ]
	log_has "listening on 127.0.0.1:$SERVER_PORT"
	log_has "started preforkd"
	log_has "worker spawned: slot 0 pid"
}

# refuses PROGRAM PATTERN ARGS...: PROGRAM exits 2 and its first line matches PATTERN.
refuses() {
	local pattern=$2
	run "$ROOT/bin/$1" "${@:3}"
	echo "$1 ${*:3} -> exit $status: $output"
	[ "$status" -eq 2 ]
	# shellcheck disable=SC2053 # PATTERN is a glob on purpose
	[[ "${lines[0]}" == $pattern ]]
}

@test "numbers are plain decimal in every program: blanks, signs, hex, exponents, inf refused" {
	# Each command line ends with an unknown option: a number taken by mistake would
	# leave it to be the one named, and nothing ever starts.
	refuses preforkd "preforkd: --grace: expected seconds 0..86400, got '0x1p-3'" \
		--grace 0x1p-3 --no-such-option
	refuses preforkd "preforkd: --idle-timeout: *'1e1'" --idle-timeout 1e1 --no-such-option
	refuses preforkd "preforkd: --worker-timeout: *'inf'" --worker-timeout inf --no-such-option
	refuses preforkd "preforkd: --workers: *' 2'" --workers ' 2' --no-such-option
	refuses preforkd "preforkd: --max-requests: *'"$'\t'"5'" --max-requests $'\t5' \
		--no-such-option
	refuses preforkd "preforkd: --grace: *'+1'" --grace +1 --no-such-option
	refuses prefork-client "prefork-client: --timeout: expected seconds *'0x1p-3'" \
		--timeout 0x1p-3 --no-such-option
	refuses preforkctl "preforkctl: --timeout: *'1e1'" --timeout 1e1 --no-such-option
	refuses preforkctl "preforkctl: --count: *' 3'" --count ' 3' --no-such-option
	refuses prefork-bench "prefork-bench: --duration: *'0x1p-3'" --duration 0x1p-3 \
		--no-such-option
	# plain decimals are still taken: a leading point, a leading 0
	refuses preforkd "preforkd: --no-such-option*" --grace .5 --workers 010 --no-such-option
}

@test "an unknown short option is named as -x in every program, even inside -xq" {
	refuses preforkd "preforkd: -x: unknown option" -xq
	refuses preforkd "preforkd: -x: unknown option" --quiet -qxq
	refuses preforkd "preforkd: --daemon: takes no value" --daemon=yes
	refuses prefork-client "prefork-client: -x: unknown option" -xq
	refuses prefork-client "prefork-client: -x: unknown option" --timeout 1 -xq
	refuses preforkctl "preforkctl: -x: unknown option" -xq
	refuses preforkctl "preforkctl: -x: unknown option" --json -jxq
	refuses prefork-bench "prefork-bench: unknown option '-x' (see --help)" -xq
	refuses prefork-bench "prefork-bench: unknown option '-x' (see --help)" --quiet -kxq
}
