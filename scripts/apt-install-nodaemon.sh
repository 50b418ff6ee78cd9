#!/usr/bin/env bash
# Installs Debian packages with apt-get so that none of their services runs, now or
# at boot: while apt-get runs, a policy-rc.d that refuses every action (exit 101)
# keeps invoke-rc.d and deb-systemd-invoke from starting anything; then the systemd
# units and init scripts of every package this run installed are disabled. A
# policy-rc.d that was there before is put back, also when the install fails.
# Packages that were installed before are left as they are.
# Usage: scripts/apt-install-nodaemon.sh [--update] PACKAGE...
#   --update   run apt-get update first
# Needs root; re-runs itself through sudo otherwise. POLICY_RC_D names the policy
# file (default /usr/sbin/policy-rc.d).
set -euo pipefail

update=0
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help)
		sed -n '2,11s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	--update)
		update=1
		shift
		;;
	--)
		shift
		break
		;;
	-*)
		echo "apt-install-nodaemon: unknown option '$1' (try --help)" >&2
		exit 2
		;;
	*) break ;;
	esac
done
if [ $# -eq 0 ]; then
	echo "apt-install-nodaemon: no package named (try --help)" >&2
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "apt-install-nodaemon: need root or sudo to install: $*" >&2
		exit 1
	fi
	args=()
	[ "$update" -eq 0 ] || args+=(--update)
	exec sudo env POLICY_RC_D="${POLICY_RC_D:-/usr/sbin/policy-rc.d}" "$0" "${args[@]}" -- "$@"
fi
for tool in apt-get dpkg dpkg-query; do
	if ! command -v "$tool" >/dev/null; then
		echo "apt-install-nodaemon: no $tool; install these yourself: $*" >&2
		exit 1
	fi
done

policy=${POLICY_RC_D:-/usr/sbin/policy-rc.d}
saved=$(mktemp -d)
had_policy=0

# shellcheck disable=SC2317 # run by the EXIT trap
restore_policy() {
	if [ "$had_policy" -eq 1 ]; then
		mv -f "$saved/policy-rc.d" "$policy"
	else
		rm -f "$policy"
	fi
	rmdir "$saved"
}

# Installed packages, one name a line.
installed() {
	dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" { print $2 }' | sort
}

if [ -e "$policy" ] || [ -L "$policy" ]; then
	cp -a "$policy" "$saved/policy-rc.d"
	had_policy=1
fi
trap restore_policy EXIT
# A signal ends the script through exit, so the EXIT trap restores the policy.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
printf '#!/bin/sh\n# apt-install-nodaemon: no service may start while packages install.\nexit 101\n' \
	>"$policy.new.$$"
chmod 0755 "$policy.new.$$"
mv -f "$policy.new.$$" "$policy"

before=$(installed)
if [ "$update" -eq 1 ]; then
	apt-get update -qq
fi
# Another apt-get may hold dpkg's lock for a while: wait for it rather than fail.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	-o DPkg::Lock::Timeout=300 "$@" >/dev/null

# Disable what the new packages ship, so that nothing starts at the next boot either.
status=0
for pkg in $(comm -13 <(echo "$before") <(installed)); do
	while read -r file; do
		name=${file##*/}
		case "$name" in *@.*) continue ;; esac # a template has no instance to disable
		case "$file" in
		/lib/systemd/system/*.service | /lib/systemd/system/*.socket | \
			/lib/systemd/system/*.timer | /lib/systemd/system/*.path | \
			/usr/lib/systemd/system/*.service | /usr/lib/systemd/system/*.socket | \
			/usr/lib/systemd/system/*.timer | /usr/lib/systemd/system/*.path)
			if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
				systemctl disable --now --quiet "$name" || status=1
			elif command -v deb-systemd-helper >/dev/null; then
				# It acts only for a maintainer script: say whose.
				DPKG_MAINTSCRIPT_PACKAGE=$pkg deb-systemd-helper disable "$name" || status=1
			fi
			echo "# apt-install-nodaemon: $pkg: $name disabled"
			;;
		/etc/init.d/*)
			if command -v update-rc.d >/dev/null; then
				update-rc.d "$name" disable >/dev/null 2>&1 || status=1
			fi
			echo "# apt-install-nodaemon: $pkg: init script $name disabled"
			;;
		esac
	done < <(dpkg -L "$pkg")
done
if [ "$status" -ne 0 ]; then
	echo "apt-install-nodaemon: could not disable every service of: $*" >&2
fi
exit "$status"
