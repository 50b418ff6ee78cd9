#!/usr/bin/env bash
# Installs the tools the test suites need when they are missing: bats, jq, mandoc,
# curl, python3 (test/http.bats), h11 (python3-h11) and node (nodejs) for
# test/http-conformance.bats, promtool (Debian package prometheus), ss (iproute2),
# setpriv and setsid (util-linux), script (bsdutils), readelf (binutils), ps (procps),
# logrotate, haproxy (test/agent.bats). Uses apt-get as root, or through sudo, via
# apt-install-nodaemon.sh, so that no service a package ships (haproxy's, prometheus's)
# is started or enabled. Prints nothing when all are present.
# Usage: scripts/install-test-deps.sh
set -euo pipefail

case "${1:-}" in
-h | --help)
	sed -n '2,8s/^# \{0,1\}//p' "$0"
	exit 0
	;;
esac

need=()
command -v bats >/dev/null || need+=(bats)
command -v jq >/dev/null || need+=(jq)
command -v mandoc >/dev/null || need+=(mandoc)
command -v curl >/dev/null || need+=(curl)
command -v promtool >/dev/null || need+=(prometheus)
command -v ss >/dev/null || need+=(iproute2)
{ command -v setpriv && command -v setsid; } >/dev/null || need+=(util-linux)
command -v script >/dev/null || need+=(bsdutils)
command -v readelf >/dev/null || need+=(binutils)
command -v ps >/dev/null || need+=(procps)
command -v logrotate >/dev/null || need+=(logrotate)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
# Debian's module is for Debian's python3, which may not be the first on PATH.
{ python3 -c 'import h11' || /usr/bin/python3 -c 'import h11'; } >/dev/null 2>&1 ||
	need+=(python3-h11)
command -v node >/dev/null || need+=(nodejs)
command -v haproxy >/dev/null || need+=(haproxy)
[ ${#need[@]} -gt 0 ] || exit 0

echo "# installing test tools: ${need[*]}"
# Some of these packages ship services (prometheus does): none may start.
"$(dirname "$0")/apt-install-nodaemon.sh" --update "${need[@]}"
