#!/usr/bin/env bats
# make install puts the binaries, the man pages, the systemd unit (its ExecStart
# following PREFIX), the logrotate snippet and the sample configuration in place under
# DESTDIR; make uninstall removes exactly those files and nothing else (an edited
# configuration stays, and install never overwrites one). Run on a copy of the tree, built
# there, so the suite's own bin/ (perhaps a sanitizer build) is left alone.

load helpers

# One copy and one build for the whole file; each test installs from it.
setup_file() {
	export TREE="$BATS_FILE_TMPDIR/tree"
	mkdir "$TREE"
	tar -C "$ROOT" --exclude=./build --exclude=./bin --exclude=./.git \
		--exclude=./preforkd.sock -cf - . | tar -C "$TREE" -xf -
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$TREE" all
}

# mk TARGET VAR=VALUE...: make in the copy, as an operator runs it, not as a sub-make.
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$TREE" "$@"
}

# files DIR: every file and symlink under DIR, relative, sorted.
files() {
	(cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort)
}

@test "make install into DESTDIR with PREFIX: what lands, and the unit's ExecStart" {
	local dest="$BATS_TEST_TMPDIR/dest" prefix=/opt/preforkd-test got want m
	mk install DESTDIR="$dest" PREFIX="$prefix"
	got=$(files "$dest")
	echo "installed:"
	echo "$got"
	want=$(printf '%s\n' etc/logrotate.d/preforkd opt/preforkd-test/etc/preforkd.conf \
		opt/preforkd-test/bin/prefork-bench opt/preforkd-test/bin/prefork-client \
		opt/preforkd-test/bin/preforkctl opt/preforkd-test/lib/systemd/system/preforkd.service \
		opt/preforkd-test/sbin/preforkd \
		opt/preforkd-test/share/man/man1/prefork-bench.1 \
		opt/preforkd-test/share/man/man1/prefork-client.1 \
		opt/preforkd-test/share/man/man8/preforkctl.8 \
		opt/preforkd-test/share/man/man8/preforkd.8 | sort)
	[ "$got" = "$want" ]
	# The programs run from where they landed; the pages are the ones in docs/.
	"$dest$prefix/sbin/preforkd" --version
	"$dest$prefix/bin/preforkctl" --version
	for m in prefork-bench.1 prefork-client.1; do
		cmp "$dest$prefix/share/man/man1/$m" "$ROOT/docs/$m"
	done
	for m in preforkd.8 preforkctl.8; do cmp "$dest$prefix/share/man/man8/$m" "$ROOT/docs/$m"; done
	[ "$(stat -c %a "$dest$prefix/sbin/preforkd")" = 755 ]
	[ "$(stat -c %a "$dest$prefix/lib/systemd/system/preforkd.service")" = 644 ]
	[ "$(stat -c %a "$dest/etc/logrotate.d/preforkd")" = 644 ]
	# The unit starts the binary under PREFIX, and names /usr/local nowhere else.
	local unit="$dest$prefix/lib/systemd/system/preforkd.service"
	grep -q "^ExecStart=$prefix/sbin/preforkd " "$unit"
	if grep -v '^#' "$unit" | grep -q /usr/local; then return 1; fi
	cmp "$dest/etc/logrotate.d/preforkd" "$ROOT/scripts/preforkd.logrotate"
	cmp "$dest$prefix/etc/preforkd.conf" "$ROOT/scripts/preforkd.conf"
	[ "$(stat -c %a "$dest$prefix/etc/preforkd.conf")" = 644 ]
	"$dest$prefix/sbin/preforkd" -T -c "$dest$prefix/etc/preforkd.conf" >/dev/null
}

@test "the installed unit and logrotate snippet parse" {
	local dest="$BATS_TEST_TMPDIR/dest" unit
	mk install DESTDIR="$dest" PREFIX=/usr
	unit="$dest/usr/lib/systemd/system/preforkd.service"
	grep -q '^ExecStart=/usr/sbin/preforkd ' "$unit"
	if command -v systemd-analyze >/dev/null; then
		# Only syntax: the binary and the user do not exist under DESTDIR's root.
		# (Its complaints about a parse name the line: "preforkd.service:12: ...".)
		run systemd-analyze verify "$unit"
		echo "$output"
		if grep -q 'preforkd\.service:[0-9]*:\|Unknown\|Invalid' <<<"$output"; then return 1; fi
	fi
	# logrotate comes with the test tools (scripts/install-test-deps.sh): never skipped.
	logrotate --debug --state "$BATS_TEST_TMPDIR/state" "$dest/etc/logrotate.d/preforkd"
	grep -q 'systemctl kill --signal=USR1 --kill-whom=main preforkd.service' \
		"$dest/etc/logrotate.d/preforkd"
}

@test "make uninstall removes exactly what make install put there, nothing else" {
	local dest="$BATS_TEST_TMPDIR/dest" prefix=/opt/preforkd-test
	# Another program's files in the same directories, there before and after.
	mkdir -p "$dest$prefix/bin" "$dest$prefix/share/man/man8" "$dest/etc/logrotate.d"
	echo other >"$dest$prefix/bin/other-tool"
	echo other >"$dest$prefix/share/man/man8/other.8"
	echo other >"$dest/etc/logrotate.d/other"
	mk install DESTDIR="$dest" PREFIX="$prefix"
	[ "$(files "$dest" | wc -l)" -eq 14 ]
	mk uninstall DESTDIR="$dest" PREFIX="$prefix"
	run files "$dest"
	echo "left after uninstall:"
	echo "$output"
	[ "$output" = "$(printf '%s\n' etc/logrotate.d/other opt/preforkd-test/bin/other-tool \
		opt/preforkd-test/share/man/man8/other.8)" ]
	# A second uninstall finds nothing to do and does not fail.
	mk uninstall DESTDIR="$dest" PREFIX="$prefix"
}

@test "an operator's configuration survives make install and make uninstall" {
	local dest="$BATS_TEST_TMPDIR/dest" conf
	conf="$dest/etc/preforkd.conf"
	mk install DESTDIR="$dest" PREFIX=/usr SYSCONFDIR=/etc
	cmp "$conf" "$ROOT/scripts/preforkd.conf"
	echo "workers 3" >>"$conf"
	run mk install DESTDIR="$dest" PREFIX=/usr SYSCONFDIR=/etc
	[ "$status" -eq 0 ]
	[[ "$output" == *"keeping $conf"* ]]
	tail -1 "$conf" | grep -qx "workers 3"
	run mk uninstall DESTDIR="$dest" PREFIX=/usr SYSCONFDIR=/etc
	[ "$status" -eq 0 ]
	[[ "$output" == *"keeping $conf: changed since it was installed"* ]]
	[ "$(files "$dest")" = etc/preforkd.conf ]
}
