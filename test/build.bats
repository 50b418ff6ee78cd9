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

@test "the code a worker runs is linked together, before the master's alone" {
	command -v nm >/dev/null || skip "nm (binutils) is not installed"
	local side
	# The Makefile's WORKER_SIDE list, as make reads it, as source files.
	# shellcheck disable=SC2016 # $(WORKER_SIDE) is make's, not the shell's
	side=$(make -s --no-print-directory -C "$ROOT" \
		--eval 'print-worker-side: ; @echo $(WORKER_SIDE)' print-worker-side |
		tr -s '[:blank:]' '\n' | grep . | sed 's/$/.c/')
	[ -n "$side" ] || fail "the Makefile names no WORKER_SIDE objects"
	# Each function's source file, in address order (nm -l reads the debug info).
	# The cold parts GCC splits off (NAME.cold, in .text.unlikely) and a sanitizer
	# build's constructors (_sub_I_*, _sub_D_*) form groups of their own, in the
	# same order: left out here.
	nm -l -n --defined-only "$PREFORKD" |
		awk '$2 ~ /^[tT]$/ && NF == 4 && $3 !~ /\.cold(\.[0-9]+)?$|^_sub_[ID]_/ { print $4 }' |
		sed -E 's#^.*/((server|common)/[a-z_]+\.c):[0-9]+$#\1#; t; d' >"$BATS_TEST_TMPDIR/order"
	[ -s "$BATS_TEST_TMPDIR/order" ] ||
		fail "nm -l finds no source lines in $PREFORKD: was it built without -g?"
	awk -v side="$side" '
		BEGIN { n = split(side, s, "\n"); for (i = 1; i <= n; i++) w[s[i]] = 1 }
		$0 == "server/main.c" { next }
		$0 in w { if (other) { print "worker-side " $0 " after " other; bad = 1 }; last = $0; next }
		!other { other = $0 }
		END { if (!last) { print "no worker-side function found"; bad = 1 }; exit bad }
	' "$BATS_TEST_TMPDIR/order"
}
