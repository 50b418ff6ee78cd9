#!/usr/bin/env bats
# How the binaries are linked. Full RELRO with BIND_NOW makes the master resolve
# every dynamic symbol before it forks, so a worker never runs the dynamic linker
# (its pages stay out of the worker's memory) and never writes to the GOT.

load helpers

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

@test "a serving worker holds none of the dynamic linker's code in memory" {
	command -v readelf >/dev/null || skip "readelf (binutils) is not installed"
	local interp ld w ld_text
	# The dynamic linker as the binary names it, and as the kernel maps it.
	interp=$(readelf -lW "$PREFORKD" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
	[ -n "$interp" ]
	ld=$(realpath "$interp")
	start_server --workers 1
	echo_once hello
	w=$(worker_pids)
	grep -q " $ld\$" "/proc/$w/maps"
	# Resident kB of its executable mapping in the worker (Rss of the r-xp entry).
	ld_text=$(awk -v ld="$ld" '$2 ~ /^r-x/ && $NF == ld { on = 1; next }
		/^[0-9a-f]+-[0-9a-f]+ / { on = 0 } on && /^Rss:/ { print $2 }' "/proc/$w/smaps")
	echo "worker $w: $ld text resident: ${ld_text:-none} kB"
	[ -n "$ld_text" ]
	[ "$ld_text" -eq 0 ]
}
