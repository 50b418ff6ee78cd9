#!/usr/bin/env bats
# How the binaries are linked. Full RELRO with BIND_NOW makes the master resolve
# every dynamic symbol before it forks, so a worker never runs the dynamic linker
# (its pages stay out of the worker's memory) and never writes to the GOT.

load helpers

teardown() {
	teardown_servers
}

@test "every binary is linked with full RELRO and BIND_NOW" {
	command -v readelf >/dev/null || skip "readelf (binutils) is not installed"
	local b
	for b in preforkd test/preforkd prefork-client preforkctl prefork-bench; do
		run readelf -d "$ROOT/bin/$b"
		[ "$status" -eq 0 ]
		[[ "$output" =~ FLAGS_1\).*NOW ]] || {
			echo "bin/$b is not linked with -z now"
			return 1
		}
		run readelf -lW "$ROOT/bin/$b"
		[[ "$output" == *GNU_RELRO* ]] || {
			echo "bin/$b has no RELRO segment"
			return 1
		}
	done
}

@test "a worker serving connections never maps in the dynamic linker's code" {
	start_server --workers 1
	echo_once hello
	local w ld_text
	w=$(worker_pids)
	# The dynamic linker's executable mapping, and how much of it the worker holds.
	ld_text=$(awk '/^[0-9a-f]+-[0-9a-f]+ r-xp .*\/ld-linux/ { on = 1; next }
		/^[0-9a-f]+-/ { on = 0 } on && /^Rss:/ { print $2 }' "/proc/$w/smaps")
	echo "worker $w: dynamic linker text resident: ${ld_text:-not mapped} kB"
	[ -z "$ld_text" ] || [ "$ld_text" -eq 0 ]
}
