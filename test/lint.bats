#!/usr/bin/env bats
# The static checks behind `make lint`: the include layering check on small trees
# made for each test (it must catch each kind of violation and pass a clean tree),
# the refusal of an LLVM tool of another version, and the runner's result lines.

ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
LAYERING="$ROOT/scripts/check-layering.py"

# A clean tree: common/ stands alone, server/ and client/ use common/, a unit test
# uses both, and server's modules call one way (master -> stats -> pool).
make_tree() {
	T="$BATS_TEST_TMPDIR/tree"
	mkdir -p "$T/common" "$T/server" "$T/client" "$T/test/unit"
	printf '#include "strbuf.h"\n' >"$T/common/strbuf.c"
	: >"$T/common/strbuf.h"
	printf '#include "strbuf.h"\n#include "pool.h"\n' >"$T/server/pool.h"
	printf '#include "pool.h"\n' >"$T/server/stats.h"
	printf '#include "stats.h"\n#include "pool.h"\n' >"$T/server/stats.c"
	printf '#include "stats.h"\n' >"$T/server/master.h"
	printf '#include "master.h"\n#include "strbuf.h"\n' >"$T/server/master.c"
	printf '#include "strbuf.h"\n' >"$T/client/ctl.c"
	printf '#include "stats.h"\n#include "strbuf.h"\n#include "unit.h"\n' >"$T/test/unit/stats.c"
	: >"$T/test/unit/unit.h"
}

# add_include FILE NAME: FILE (relative to the tree) gains #include "NAME".
add_include() {
	printf '#include "%s"\n' "$2" >>"$T/$1"
}

layering() {
	run python3 "$LAYERING" --root "$T"
}

@test "the layering check passes a clean tree" {
	make_tree
	layering
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "common/ including a server header is a violation" {
	make_tree
	add_include common/strbuf.c stats.h
	layering
	[ "$status" -eq 1 ]
	[[ "$output" == *'common/strbuf.c:2: #include "stats.h" (server/stats.h): common/ may not include from server/'* ]]
}

@test "common/ including a client header is a violation" {
	make_tree
	: >"$T/client/ctl.h"
	add_include common/strbuf.h ctl.h
	layering
	[ "$status" -eq 1 ]
	[[ "$output" == *'common/strbuf.h:1: #include "ctl.h" (client/ctl.h): common/ may not include from client/'* ]]
}

@test "client/ including a server header is a violation" {
	make_tree
	add_include client/ctl.c master.h
	layering
	[ "$status" -eq 1 ]
	[[ "$output" == *'client/ctl.c:2: #include "master.h" (server/master.h): client/ may not include from server/'* ]]
}

@test "server/ including a client header is a violation" {
	make_tree
	: >"$T/client/ctl.h"
	add_include server/master.c ctl.h
	layering
	[ "$status" -eq 1 ]
	[[ "$output" == *'server/master.c:3: #include "ctl.h" (client/ctl.h): server/ may not include from client/'* ]]
}

@test "a relative include is resolved before the rule is applied" {
	make_tree
	add_include client/ctl.c ../server/pool.h
	layering
	[ "$status" -eq 1 ]
	[[ "$output" == *'client/ctl.c:2: #include "../server/pool.h" (server/pool.h): client/ may not include from server/'* ]]
}

@test "only tests include from test/" {
	make_tree
	add_include server/stats.c ../test/unit/unit.h
	layering
	[ "$status" -eq 1 ]
	[[ "$output" == *'server/stats.c:3: #include "../test/unit/unit.h" (test/unit/unit.h): server/ may not include from test/'* ]]
}

@test "a header next to the including file wins over the include path" {
	make_tree
	# common/ and client/ both have a ctl.h: the client's own is the one it gets.
	: >"$T/client/ctl.h"
	: >"$T/common/ctl.h"
	add_include client/ctl.c ctl.h
	layering
	[ "$status" -eq 0 ]
	# From server/, the same name resolves through the include path to common/.
	add_include server/stats.c ctl.h
	layering
	[ "$status" -eq 0 ]
}

@test "a quoted include that names no file of the tree is a violation" {
	make_tree
	add_include server/master.c nosuch.h
	layering
	[ "$status" -eq 1 ]
	[[ "$output" == *'server/master.c:3: #include "nosuch.h" names no file of the tree'* ]]
}

@test "an include cycle among server modules is printed with its include lines" {
	make_tree
	# pool.h -> master.h -> stats.h -> pool.h: a module cycle through three headers.
	add_include server/pool.h master.h
	layering
	[ "$status" -eq 1 ]
	[[ "$output" == *"include cycle among server/master, server/pool, server/stats:"* ]]
	[[ "$output" == *"server/master -> server/stats -> server/pool -> server/master"* ]]
	[[ "$output" == *'server/master.h:1 includes "stats.h"'* ]]
	[[ "$output" == *'server/stats.c:2 includes "pool.h"'* ]]
	[[ "$output" == *'server/pool.h:3 includes "master.h"'* ]]
	[[ "$output" == *"check-layering: 1 violation"* ]]
}

@test "a module is its .c and its .h: a .c including back closes a cycle" {
	make_tree
	# stats.c uses master while master.h uses stats: the shape of an admin module
	# that calls the master which embeds it.
	add_include server/stats.c master.h
	layering
	[ "$status" -eq 1 ]
	[[ "$output" == *"server/master -> server/stats -> server/master"* ]]
	[[ "$output" == *'server/stats.c:3 includes "master.h"'* ]]
}

@test "lint refuses an LLVM tool of another version and names the package" {
	local fake="$BATS_TEST_TMPDIR/clang-format-15"
	printf '#!/bin/sh\necho "Debian clang-format version 15.0.7"\n' >"$fake"
	chmod +x "$fake"
	LINT_INSTALL=0 LLVM_VERSION=14 CLANG_FORMAT=$fake run "$ROOT/scripts/lint.sh" format
	[ "$status" -eq 1 ]
	[[ "$output" == *"not ok 1 - format"* ]]
	[[ "$output" == *"version 15.0.7; lint is pinned to LLVM 14"* ]]
	[[ "$output" == *"install clang-format-14"* ]]
	[[ "${lines[-1]}" == "0 passed, 1 failed" ]]
}

@test "lint prints one result per check and a closing count" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	LINT_INSTALL=0 run "$ROOT/scripts/lint.sh" man
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "ok 1 - man ("* ]]
	[[ "${lines[-1]}" == "1 passed, 0 failed" ]]
	LINT_INSTALL=0 run "$ROOT/scripts/lint.sh" frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown check 'frobnicate'"* ]]
}
