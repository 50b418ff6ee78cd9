#!/usr/bin/env bats
# Process titles: ps tells the master (with its listen address) from each worker
# (its slot and generation), without an exec; a worker's comm names its slot, the
# master's stays the program's name.

load helpers

args_of() {
	ps -o args= -p "$1"
}

comm_of() {
	cat "/proc/$1/comm"
}

# titles_of_workers: "SLOT GEN" per worker, from their titles, sorted.
titles_of_workers() {
	local w
	for w in $(worker_pids); do
		args_of "$w" | sed -n 's/^preforkd: worker \([0-9]*\) (gen \([0-9]*\))$/\1 \2/p'
	done | sort -n
}

@test "ps shows the master with its listen address and each worker with its slot and generation" {
	start_server --workers 2
	[ "$(args_of "$SERVER_PID")" = "preforkd: master 127.0.0.1:$SERVER_PORT" ]
	[ "$(comm_of "$SERVER_PID")" = preforkd ]
	[ "$(titles_of_workers)" = "$(printf '0 1\n1 1')" ]
	local w slot
	for w in $(worker_pids); do
		slot=$(args_of "$w" | sed -n 's/^preforkd: worker \([0-9]*\) .*/\1/p')
		[ "$(comm_of "$w")" = "preforkd-w$slot" ]
	done
	# The options still read as given, though their argv area now holds the title.
	[ "$("$CTL" -s "$SERVER_ADMIN" stats json | jq -r .pool.configured)" -eq 2 ]
	echo_once hello | grep -qx hello
}

# gen_2_only: the reload is over: two workers, both of generation 2.
gen_2_only() {
	[ "$(titles_of_workers | awk '{ print $2 }' | sort -u)" = 2 ] &&
		[ "$(titles_of_workers | grep -c .)" -eq 2 ]
}

@test "after a reload, the new workers' titles show the new generation" {
	start_server --workers 2
	kill -HUP "$SERVER_PID"
	wait_until 20 gen_2_only
	[ "$(args_of "$SERVER_PID")" = "preforkd: master 127.0.0.1:$SERVER_PORT" ]
}
