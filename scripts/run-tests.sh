#!/usr/bin/env bash
# Runs every unit test binary and every BATS suite, then prints one closing line
# "N passed, N failed". Exit status 0 only when nothing failed.
# Usage: scripts/run-tests.sh [BATS_FILE...]   (default: test/*.bats)
set -euo pipefail

case "${1:-}" in
-h | --help)
	sed -n '2,4s/^# \{0,1\}//p' "$0"
	exit 0
	;;
esac

cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Each line "ok ..." or "not ok ..." (TAP) counts once.
count_tap() {
	local p f
	p=$(grep -c '^ok ' "$log" || true)
	f=$(grep -c '^not ok ' "$log" || true)
	passed=$((passed + p))
	failed=$((failed + f))
}

for t in bin/test/unit-*; do
	[ -x "$t" ] || continue
	echo "# unit: $t"
	if ! "$t" >"$log" 2>&1; then
		grep -q '^not ok ' "$log" || echo "not ok - $t exited non-zero" >>"$log"
	fi
	cat "$log"
	count_tap
done

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(test/*.bats)
for s in "${suites[@]}"; do
	echo "# bats: $s"
	bats --tap "$s" >"$log" 2>&1 || true
	cat "$log"
	# A suite that could not run at all reports no plan line: count it as failed.
	grep -q '^1\.\.' "$log" || failed=$((failed + 1))
	count_tap
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
