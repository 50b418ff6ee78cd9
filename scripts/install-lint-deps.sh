#!/usr/bin/env bash
# Installs the tools `make lint` needs when they are missing: clang-format and
# clang-tidy of the pinned LLVM version (Debian packages clang-format-N and
# clang-tidy-N; N is LLVM_VERSION, 14 by default, as in the Makefile), shellcheck,
# cppcheck, mandoc and python3. Uses apt-get as root, or through sudo, via
# apt-install-nodaemon.sh. Prints nothing when all are present.
# Usage: scripts/install-lint-deps.sh
set -euo pipefail

case "${1:-}" in
-h | --help)
	sed -n '2,7s/^# \{0,1\}//p' "$0"
	exit 0
	;;
esac

v=${LLVM_VERSION:-14}
need=()
command -v "clang-format-$v" >/dev/null || need+=("clang-format-$v")
command -v "clang-tidy-$v" >/dev/null || need+=("clang-tidy-$v")
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v cppcheck >/dev/null || need+=(cppcheck)
command -v mandoc >/dev/null || need+=(mandoc)
command -v python3 >/dev/null || need+=(python3)
[ ${#need[@]} -gt 0 ] || exit 0

echo "# installing lint tools: ${need[*]}"
"$(dirname "$0")/apt-install-nodaemon.sh" --update "${need[@]}"
