#!/usr/bin/env bats
# The README's first screen works exactly as written: its two set-up commands are
# `make run` and `make test`, and its five first steps (start, echo, status, a short
# load run, stop) are read from the README itself and run on a fresh copy of the tree,
# so this test fails as soon as the README and the programs drift apart.
#
# The steps use the defaults (127.0.0.1:7777, the default admin socket: for root
# /run/preforkd/preforkd.sock). They run in private network and mount namespaces
# (unshare -rmn, with a tmpfs on /run), where that port is free, nothing the test starts
# can be reached from outside, and the machine's own /run is never touched. As another
# user the test gives the steps a private XDG_RUNTIME_DIR and runs only when the port
# is free.

load helpers

teardown() {
	local f pid
	for f in "$BATS_TEST_TMPDIR"/*.pgid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		# make run and the preforkd it started share their own process group.
		if kill -0 -- "-$pid" 2>/dev/null; then
			echo "left running: process group $pid" >&2
			kill -KILL -- "-$pid" 2>/dev/null || true
			return 1
		fi
	done
}

# readme_block N: the lines of the Nth ```sh block of the README's first screen (the
# text before the first "## " heading), comments and blank lines removed.
readme_block() {
	awk -v want="$1" '/^## / { exit }
		/^```sh$/ { n++; on = (n == want); next }
		/^```$/ { on = 0; next }
		on' "$ROOT/README.md" | sed 's/[[:space:]]*#.*$//' | grep -v '^[[:space:]]*$'
}

# first_steps DIR STEP1 STEP2...: runs STEP1 (the start) in the background in its own
# process group, waits until the server answers, then runs every other step in order,
# saving each one's output and exit status as DIR/step-N.out and DIR/step-N.rc. Ends
# by waiting (bounded) for the start command to return: its status is step-1.rc.
# Runs inside the network namespace, so it uses nothing from the BATS helpers.
first_steps() {
	local dir=$1 start=$2 n=2 pid i step
	shift 2
	if [ -n "${IN_NETNS:-}" ]; then
		ip link set lo up || return 1
		mount -t tmpfs tmpfs /run || return 1
	fi
	cd "$dir/tree" || return 1
	setsid bash -c "$start" </dev/null >"$dir/step-1.out" 2>&1 3>&- &
	pid=$!
	echo "$pid" >"$dir/start.pgid"
	# The build comes first: allow it time on a loaded machine or a sanitizer build.
	for ((i = 0; i < 2400; i++)); do
		bin/preforkctl status >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	for step in "$@"; do
		timeout 60 bash -c "$step" </dev/null >"$dir/step-$n.out" 2>&1
		echo $? >"$dir/step-$n.rc"
		n=$((n + 1))
	done
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo timeout >"$dir/step-1.rc"
		return 0
	fi
	wait "$pid"
	echo $? >"$dir/step-1.rc"
}

@test "the README's first screen: two set-up commands, make run and make test" {
	mapfile -t setup < <(readme_block 1)
	printf 'set-up: %s\n' "${setup[@]}"
	[ "${#setup[@]}" -eq 2 ]
	[ "${setup[0]}" = "make run" ]
	[ "${setup[1]}" = "make test" ]
}

@test "the README's five first steps work as written on a fresh copy of the tree" {
	local steps dir="$BATS_TEST_TMPDIR" i
	mapfile -t steps < <(readme_block 2)
	printf 'step: %s\n' "${steps[@]}"
	[ "${#steps[@]}" -eq 5 ]
	[ "${steps[0]}" = "make run" ]
	[[ "${steps[2]}" == *preforkctl\ status* ]]
	[[ "${steps[3]}" == *prefork-bench* ]]

	# A fresh clone holds no build output: copy the tree without it.
	mkdir "$dir/tree"
	tar -C "$ROOT" --exclude=./build --exclude=./bin --exclude=./.git \
		--exclude=./preforkd.sock -cf - . | tar -C "$dir/tree" -xf -
	# A newcomer's shell has no make of its own around it.
	local -a env=(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u PREFORKD)
	# As another user, /run is not ours to mount over (and / shows as nobody's in a
	# user namespace): such a user's server uses XDG_RUNTIME_DIR, made private here.
	if [ "$(id -u)" -ne 0 ]; then
		mkdir -m 0700 "$dir/xdg"
		env+=(XDG_RUNTIME_DIR="$dir/xdg")
	fi
	if [ "$(id -u)" -eq 0 ] && unshare -rmn --propagation private true 2>/dev/null; then
		"${env[@]}" IN_NETNS=1 unshare -rmn --propagation private \
			bash -c "$(declare -f first_steps); first_steps \"\$@\"" \
			first_steps "$dir" "${steps[@]}"
	elif [ "$(id -u)" -ne 0 ] && ! ss -Htln 'sport = :7777' | grep -q .; then
		"${env[@]}" bash -c "$(declare -f first_steps); first_steps \"\$@\"" \
			first_steps "$dir" "${steps[@]}"
	else
		skip "no private namespaces, and running as root or 127.0.0.1:7777 is in use"
	fi
	for i in 1 2 3 4 5; do
		echo "== step $i (exit $(cat "$dir/step-$i.rc" 2>/dev/null)): ${steps[i - 1]}"
		cat "$dir/step-$i.out" 2>/dev/null || true
	done
	[ "$(cat "$dir/step-2.rc")" = 0 ]
	[ "$(cat "$dir/step-2.out")" = hello ]
	[ "$(cat "$dir/step-3.rc")" = 0 ]
	grep -q ' - running, pid ' "$dir/step-3.out"
	[ "$(cat "$dir/step-4.rc")" = 0 ]
	grep -q '^errors .* mismatch 0 ' "$dir/step-4.out"
	[ "$(cat "$dir/step-5.rc")" = 0 ]
	# The server stopped gracefully and make run returned success.
	[ "$(cat "$dir/step-1.rc")" = 0 ]
	grep -q 'info: stopped$' "$dir/step-1.out"
	rm -f "$dir/start.pgid"
}
