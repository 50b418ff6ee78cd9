#!/usr/bin/env bats
# scripts/apt-install-nodaemon.sh installs packages so that none of their services
# runs: a refusing policy-rc.d during the install, restored afterwards even when the
# install fails, and the units and init scripts of the new packages disabled. Proven
# against stand-ins for apt-get, dpkg and the service tools on PATH, and a policy
# file in the test's directory, so the test installs nothing.

load helpers

setup() {
	[ "$(id -u)" -eq 0 ] || skip "the script re-runs itself through sudo when not root"
	FAKE="$BATS_TEST_TMPDIR/fake"
	mkdir -p "$FAKE"
	export POLICY_RC_D="$BATS_TEST_TMPDIR/policy-rc.d"
	export FAKE_LOG="$BATS_TEST_TMPDIR/calls.log"
	export FAKE_STATE="$BATS_TEST_TMPDIR/installed"
	printf 'already\n' >"$FAKE_STATE"
	: >"$FAKE_LOG"
	# apt-get: records what the policy answers while it installs, then "installs".
	cat >"$FAKE/apt-get" <<'SH'
#!/usr/bin/env bash
[ "$1" = update ] && { echo "apt-get update" >>"$FAKE_LOG"; exit 0; }
if [ -x "$POLICY_RC_D" ]; then
	"$POLICY_RC_D" svc start; echo "policy during install: $?" >>"$FAKE_LOG"
else
	echo "policy during install: none" >>"$FAKE_LOG"
fi
[ -z "${FAKE_APT_FAIL:-}" ] || exit 100
for a in "$@"; do case "$a" in -* | install | DPkg*) ;; *) echo "$a" >>"$FAKE_STATE" ;; esac; done
SH
	cat >"$FAKE/dpkg-query" <<'SH'
#!/usr/bin/env bash
sed 's/^/ii  /' "$FAKE_STATE"
SH
	cat >"$FAKE/dpkg" <<'SH'
#!/usr/bin/env bash
[ "$1" = -L ] || exit 2
printf '%s\n' /usr/bin/"$2" /lib/systemd/system/"$2".service \
	/usr/lib/systemd/system/"$2"@.service /lib/systemd/system/"$2".socket /etc/init.d/"$2"
SH
	for t in deb-systemd-helper update-rc.d systemctl; do
		# shellcheck disable=SC2016 # expanded when the fake tool runs
		printf '#!/usr/bin/env bash\necho "%s ${DPKG_MAINTSCRIPT_PACKAGE:-} $*" >>"$FAKE_LOG"\n' \
			"$t" >"$FAKE/$t"
	done
	chmod +x "$FAKE"/*
	export PATH="$FAKE:$PATH"
}

disabled() {
	grep -qx -e "deb-systemd-helper $1 disable $2" -e "systemctl  disable --now --quiet $2" \
		"$FAKE_LOG"
}

@test "apt-install-nodaemon: no service may start during the install; new ones are disabled" {
	run "$ROOT/scripts/apt-install-nodaemon.sh" --update svc
	cat "$FAKE_LOG"
	[ "$status" -eq 0 ]
	grep -qx 'apt-get update' "$FAKE_LOG"
	grep -qx 'policy during install: 101' "$FAKE_LOG"
	[ ! -e "$POLICY_RC_D" ]
	disabled svc svc.service
	disabled svc svc.socket
	grep -qx 'update-rc.d  svc disable' "$FAKE_LOG"
	# A template unit has no instance to disable; a package that was there is untouched.
	if grep -q 'svc@' "$FAKE_LOG"; then return 1; fi
	if grep -q 'already' "$FAKE_LOG"; then return 1; fi
}

@test "apt-install-nodaemon: a policy-rc.d that was there is put back, also after a failure" {
	printf '#!/bin/sh\n# the admin'"'"'s own\nexit 0\n' >"$POLICY_RC_D"
	chmod 0750 "$POLICY_RC_D"
	cp -a "$POLICY_RC_D" "$BATS_TEST_TMPDIR/orig"
	run "$ROOT/scripts/apt-install-nodaemon.sh" svc
	[ "$status" -eq 0 ]
	cmp "$POLICY_RC_D" "$BATS_TEST_TMPDIR/orig"
	[ "$(stat -c %a "$POLICY_RC_D")" = 750 ]
	FAKE_APT_FAIL=1 run "$ROOT/scripts/apt-install-nodaemon.sh" other
	cat "$FAKE_LOG"
	[ "$status" -ne 0 ]
	[ "$(grep -c 'policy during install: 101' "$FAKE_LOG")" -eq 2 ]
	cmp "$POLICY_RC_D" "$BATS_TEST_TMPDIR/orig"
	if grep -q 'other' "$FAKE_LOG"; then return 1; fi
	# Without one before, a failed install leaves none either.
	rm "$POLICY_RC_D"
	FAKE_APT_FAIL=1 run "$ROOT/scripts/apt-install-nodaemon.sh" other
	[ "$status" -ne 0 ]
	[ ! -e "$POLICY_RC_D" ]
}

@test "apt-install-nodaemon: --help, and a clear error without a package" {
	run "$ROOT/scripts/apt-install-nodaemon.sh" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: scripts/apt-install-nodaemon.sh [--update] PACKAGE..."* ]]
	run "$ROOT/scripts/apt-install-nodaemon.sh"
	[ "$status" -eq 2 ]
	[[ "$output" == *"no package named"* ]]
}

@test "install-test-deps.sh installs through apt-install-nodaemon.sh" {
	grep -q 'apt-install-nodaemon.sh' "$ROOT/scripts/install-test-deps.sh"
	if grep -q 'apt-get install' "$ROOT/scripts/install-test-deps.sh"; then return 1; fi
}
