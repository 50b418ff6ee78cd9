#!/usr/bin/env bats
# Every program has a man page (docs/NAME.1 or docs/NAME.8) that mandoc -Tlint finds
# clean, with the sections an operator looks for, and that names every long option the
# program's --help lists, so the pages and the programs stay in step.

load helpers

PROGRAMS="preforkd preforkctl prefork-client prefork-bench"

setup() {
	command -v mandoc >/dev/null || {
		echo "mandoc is not installed (scripts/install-test-deps.sh installs it)" >&2
		return 1
	}
}

# Pages are rendered with mandoc -Tascii and its bold and underline overstrikes
# (X backspace X) removed with sed, which every system has (col may be missing).

# page NAME: the program's man page in docs/.
page() {
	local p
	for p in "$ROOT/docs/$1.1" "$ROOT/docs/$1.8"; do
		[ -f "$p" ] && { echo "$p"; return 0; }
	done
	echo "no man page for $1 in docs/" >&2
	return 1
}

@test "every man page is mandoc -Tlint clean" {
	local p
	for p in "$ROOT"/docs/*.1 "$ROOT"/docs/*.8; do
		run mandoc -Tlint "$p"
		echo "$p: $output"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
	done
}

@test "every program has a man page with its name, options, exit status and examples" {
	local b p text want
	want=$(sed -n 's/^#define PREFORKD_VERSION "\(.*\)"$/\1/p' "$ROOT/common/version.h")
	for b in $PROGRAMS; do
		p=$(page "$b")
		text=$(mandoc -Tascii "$p" | sed 's/.\x08//g')
		grep -q "^\.TH ${b^^} [18] \"[0-9-]*\" \"preforkd $want\"" "$p" || {
			echo "$p: .TH does not name ${b^^} and preforkd $want"
			return 1
		}
		[[ "$text" == *NAME*"$b - "* ]]
		[[ "$text" == *$'\n'OPTIONS$'\n'* ]]
		[[ "$text" == *$'\n'"EXIT STATUS"$'\n'* ]]
		[[ "$text" == *$'\n'EXAMPLES$'\n'* ]]
	done
}

@test "every long option in a program's --help is in its man page" {
	local b p text opt missing=""
	for b in $PROGRAMS; do
		p=$(page "$b")
		text=$(mandoc -Tascii "$p" | sed 's/.\x08//g')
		run "$ROOT/bin/$b" --help
		[ "$status" -eq 0 ]
		# shellcheck disable=SC2013 # one option a word
		for opt in $(grep -o -- '--[a-z][a-z-]*[a-z]' <<<"$output" | sort -u); do
			grep -q -- "$opt\b" <<<"$text" || missing="$missing $b:$opt"
		done
	done
	[ -z "$missing" ] || {
		echo "options missing from the man pages:$missing"
		return 1
	}
}
