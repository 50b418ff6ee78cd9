#!/usr/bin/env bash
# Installs the tools the test suites need when they are missing: bats, jq,
# promtool (Debian package prometheus), ss (iproute2), setpriv and setsid
# (util-linux), script (bsdutils), readelf (binutils), ps (procps). Uses apt-get as
# root, or through sudo. Prints nothing when all are present.
# Usage: scripts/install-test-deps.sh
set -euo pipefail

case "${1:-}" in
-h | --help)
	sed -n '2,6s/^# \{0,1\}//p' "$0"
	exit 0
	;;
esac

need=()
command -v bats >/dev/null || need+=(bats)
command -v jq >/dev/null || need+=(jq)
command -v promtool >/dev/null || need+=(prometheus)
command -v ss >/dev/null || need+=(iproute2)
{ command -v setpriv && command -v setsid; } >/dev/null || need+=(util-linux)
command -v script >/dev/null || need+=(bsdutils)
command -v readelf >/dev/null || need+=(binutils)
command -v ps >/dev/null || need+=(procps)
[ ${#need[@]} -gt 0 ] || exit 0

echo "# installing test tools: ${need[*]}"
if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null; then
	sudo=(sudo)
else
	echo "install-test-deps: need root or sudo to install: ${need[*]}" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null; then
	echo "install-test-deps: no apt-get; install these yourself: ${need[*]}" >&2
	exit 1
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
