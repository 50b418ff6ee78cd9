#!/usr/bin/env bats
# Every installed program answers --version with one line "NAME VERSION", the version
# written once, in common/version.h.

load helpers

@test "every binary prints one line 'NAME VERSION' for --version, from common/version.h" {
	local want b
	want=$(sed -n 's/^#define PREFORKD_VERSION "\(.*\)"$/\1/p' "$ROOT/common/version.h")
	[ -n "$want" ]
	for b in preforkd prefork-client preforkctl prefork-bench; do
		# run captures stdout and stderr together: the line must be all there is.
		run "$ROOT/bin/$b" --version
		echo "$b: exit $status, output '$output'"
		[ "$status" -eq 0 ]
		[ "$output" = "$b $want" ]
	done
}

@test "-v is --version in every binary (preforkd's --verbose has no short form)" {
	local want b
	want=$(sed -n 's/^#define PREFORKD_VERSION "\(.*\)"$/\1/p' "$ROOT/common/version.h")
	for b in preforkd prefork-client preforkctl prefork-bench; do
		run "$ROOT/bin/$b" -v
		echo "$b: exit $status, output '$output'"
		[ "$status" -eq 0 ]
		[ "$output" = "$b $want" ]
	done
	# -v acts at once, whatever else is on the command line.
	run "$ROOT/bin/preforkd" --workers 0 -v
	[ "$status" -eq 0 ]
	[ "$output" = "preforkd $want" ]
	run "$ROOT/bin/preforkd" --help
	[[ "$output" == *"      --verbose "* ]]
	[[ "$output" == *"  -v, --version "* ]]
}

@test "--version is listed in every binary's --help" {
	local b
	for b in preforkd prefork-client preforkctl prefork-bench; do
		run "$ROOT/bin/$b" --help
		[ "$status" -eq 0 ]
		[[ "$output" == *"--version"*"show the version and exit"* ]] || {
			echo "$b --help does not list --version"
			return 1
		}
	done
}
