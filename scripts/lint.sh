#!/usr/bin/env bash
# Static checks (`make lint`): C formatting (clang-format, pinned), clang-tidy,
# cppcheck, shellcheck on every shell script, the include layering and the man pages.
# Prints "ok N - CHECK" or "not ok N - CHECK" per check, with the findings, then one
# closing line "N passed, N failed". Exit status 0 only when every check passed.
# Usage: scripts/lint.sh [--fix] [CHECK...]
#   CHECK    format, tidy, cppcheck, shell, layering, man (default: all, in that order)
#   --fix    format: rewrite the drifting files with clang-format instead of failing
# Environment (the Makefile sets them): LLVM_VERSION (14), CLANG_FORMAT, CLANG_TIDY,
# LINT_CPPFLAGS (the compiler's -std, -D and -I flags), LINT_JOBS (default: nproc),
# LINT_INSTALL=0 (never install a missing tool).
set -euo pipefail

all_checks=(format tidy cppcheck shell layering man)
fix=0
checks=()
for arg in "$@"; do
	case "$arg" in
	-h | --help)
		sed -n '2,11s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	--fix) fix=1 ;;
	format | tidy | cppcheck | shell | layering | man) checks+=("$arg") ;;
	*)
		echo "lint: unknown check '$arg' (try --help)" >&2
		exit 2
		;;
	esac
done
[ ${#checks[@]} -gt 0 ] || checks=("${all_checks[@]}")

cd "$(dirname "$0")/.."
LLVM_VERSION=${LLVM_VERSION:-14}
CLANG_FORMAT=${CLANG_FORMAT:-clang-format-$LLVM_VERSION}
CLANG_TIDY=${CLANG_TIDY:-clang-tidy-$LLVM_VERSION}
LINT_CPPFLAGS=${LINT_CPPFLAGS:--std=c11 -D_GNU_SOURCE -Icommon -Iserver}
LINT_JOBS=${LINT_JOBS:-$(nproc 2>/dev/null || echo 2)}
read -r -a cppflags <<<"$LINT_CPPFLAGS"

# Missing tools are installed when we may (root or sudo), unless LINT_INSTALL=0; a
# check whose tool is still missing afterwards fails and says which package it needs.
if [ "${LINT_INSTALL:-1}" != 0 ]; then
	LLVM_VERSION=$LLVM_VERSION scripts/install-lint-deps.sh ||
		echo "# lint: could not install every lint tool; the checks that need one say so"
fi

# The files each check reads, found afresh so that a new file is never skipped.
c_files() {
	find common server client test -name '*.[ch]' -type f | LC_ALL=C sort
}
# Shell scripts: by name, or by a shebang naming sh, bash or bats.
shell_files() {
	find . \( -name .git -o -name build -o -name bin \) -prune -o -type f -print |
		sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
		case "$f" in
		*.sh | *.bash | *.bats) echo "$f" ;;
		*.md | *.c | *.h | *.[0-9] | *.py) ;;
		*) head -c 64 "$f" 2>/dev/null | head -1 |
			grep -qE '^#!.*[/ ](ba)?sh( |$)|^#!.*[/ ]bats( |$)' && echo "$f" ;;
		esac
	done
}

# need TOOL PACKAGE: the tool is installed, or the check fails naming the package.
need() {
	command -v "$1" >/dev/null && return 0
	echo "$1 is not installed: install the Debian package $2 (scripts/install-lint-deps.sh)"
	return 1
}

# need_llvm TOOL PACKAGE: installed and of the pinned major version. clang-format's
# output differs between versions, so another version would report drift that the
# pinned one does not (or hide some).
need_llvm() {
	local v
	need "$1" "$2" || return 1
	v=$("$1" --version | sed -n 's/.*version \([0-9][0-9.]*\).*/\1/p' | head -1)
	if [ "${v%%.*}" != "$LLVM_VERSION" ]; then
		echo "$1 is version ${v:-unknown}; lint is pinned to LLVM $LLVM_VERSION" \
			"(Makefile LLVM_VERSION): install $2 and use its binary," \
			"or run make lint CLANG_FORMAT=... CLANG_TIDY=... naming version $LLVM_VERSION"
		return 1
	fi
}

# One clang-format run over every C file; a summary per drifting file (the places
# themselves: $CLANG_FORMAT --dry-run FILE).
check_format() {
	local files out drift
	need_llvm "$CLANG_FORMAT" "clang-format-$LLVM_VERSION" || return 1
	mapfile -t files < <(c_files)
	if [ "$fix" -eq 1 ]; then
		"$CLANG_FORMAT" -i "${files[@]}"
		return
	fi
	out=$("$CLANG_FORMAT" --dry-run --Werror "${files[@]}" 2>&1) && return 0
	drift=$(grep -E '^[^ :]+:[0-9]+:[0-9]+: error: code should be clang-formatted' <<<"$out" |
		cut -d: -f1 | uniq -c | awk '{ print $2 ": " $1 " place" ($1 == 1 ? "" : "s") " differ from .clang-format" }')
	if [ -z "$drift" ]; then
		echo "$out" # clang-format itself failed: say why
		return 1
	fi
	echo "$drift"
	echo "$(grep -c . <<<"$drift") of ${#files[@]} files drift from .clang-format;" \
		"make format rewrites them"
	return 1
}

# One clang-tidy per file, LINT_JOBS at a time; each file's findings are kept apart
# and printed in file order, so parallel output never interleaves.
check_tidy() {
	local out rc=0
	need_llvm "$CLANG_TIDY" "clang-tidy-$LLVM_VERSION" || return 1
	out=$(mktemp -d)
	# The test build's flags: the fault-injection code is checked too.
	# shellcheck disable=SC2016 # expanded by the inner sh
	c_files | grep '\.c$' | OUT=$out TIDY=$CLANG_TIDY xargs -P "$LINT_JOBS" -I{} sh -c '
		f=$1; shift
		log=$OUT/$(echo "$f" | tr / _)
		"$TIDY" --quiet "$f" -- "$@" >"$log" 2>&1 || echo "$f" >"$log.failed"
	' _ {} "${cppflags[@]}" -DPREFORKD_TEST_FAULTS || rc=1
	for f in "$out"/*; do
		case "$f" in *.failed) rc=1 ;; *) grep -v ' warnings\? generated\.$' "$f" || true ;; esac
	done
	rm -rf "$out"
	return "$rc"
}

# cppcheck takes the -D and -I flags of the build; its C standard is spelt --std.
check_cppcheck() {
	local flag defs=()
	need cppcheck cppcheck || return 1
	for flag in "${cppflags[@]}"; do
		case "$flag" in -D* | -U* | -I*) defs+=("$flag") ;; esac
	done
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--std=c11 "${defs[@]}" common server client
}

# Every @test runs in its own subshell, so shellcheck 0.9 takes a variable set in one
# test and read in another (or in a helper) for a change that is lost (SC2030/SC2031;
# koalaman/shellcheck issues 2431 and 2873): in .bats files only, those two are off.
check_shell() {
	local f bats=() other=() rc=0
	need shellcheck shellcheck || return 1
	while read -r f; do
		case "$f" in *.bats) bats+=("$f") ;; *) other+=("$f") ;; esac
	done < <(shell_files)
	[ ${#other[@]} -eq 0 ] || shellcheck -x "${other[@]}" || rc=1
	[ ${#bats[@]} -eq 0 ] || shellcheck -x -e SC2030,SC2031 "${bats[@]}" || rc=1
	# A command substitution in wait_until's arguments runs once, before the first
	# try: a `test "$(stat)" -ge 1` given to wait_until tests one old value until time
	# is up. The condition belongs in a function that wait_until calls.
	if grep -nE 'wait_until([[:space:]]+-q)?[[:space:]]+[^[:space:]]+[[:space:]]+(test|\[)[[:space:]].*(\$\([^(]|`)' \
		"${bats[@]}" "${other[@]}"; then
		echo "wait_until with test or [ on a command substitution: it is read only once"
		rc=1
	fi
	return "$rc"
}

check_layering() {
	need python3 python3 || return 1
	python3 scripts/check-layering.py
}

check_man() {
	need mandoc mandoc || return 1
	mandoc -Tlint docs/*.[0-9]
}

passed=0
failed=0
n=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for c in "${checks[@]}"; do
	n=$((n + 1))
	start=$SECONDS
	if "check_$c" >"$log" 2>&1; then
		echo "ok $n - $c ($((SECONDS - start)) s)"
		passed=$((passed + 1))
	else
		echo "not ok $n - $c ($((SECONDS - start)) s)"
		failed=$((failed + 1))
	fi
	sed 's/^/# /' "$log"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
