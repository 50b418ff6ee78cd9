#!/usr/bin/env python3
"""Checks that #include "..." lines follow preforkd's layering (run by `make lint`).

Dependencies run one way: common/ <- server/, common/ <- client/.
  - common/ includes nothing from server/, client/ or test/;
  - client/ includes nothing from server/ (clients build with -Icommon only);
  - server/ includes nothing from client/;
  - nothing outside test/ includes from test/; tests may include anything.
And the modules of one directory never include each other in a cycle. A module is a
.c file with its .h (server/admin.c and server/admin.h are the module server/admin);
module A uses module B when A's .c or .h includes B's header.

An include is resolved as the compiler does for quotes: first next to the including
file, then in the include directories (common/, server/, client/, in that order).
A quoted include that names no file of the tree is an error too.
Prints each violation as FILE:LINE: MESSAGE; exit status 0 clean, 1 violations,
2 usage.
"""

import argparse
import os
import re
import sys

DIRS = ("common", "server", "client", "test")
SEARCH = ("common", "server", "client")
# Which top directories each may include from (besides itself).
ALLOWED = {
    "common": set(),
    "server": {"common"},
    "client": {"common"},
    "test": {"common", "server", "client"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
SOURCE = re.compile(r"\.[ch]$")


def top_dir(path):
    return path.split("/", 1)[0]


def module_of(path):
    return os.path.splitext(path)[0]


def source_files(root):
    """Every .c and .h under the governed directories, relative to root, sorted."""
    found = []
    for d in DIRS:
        for base, subdirs, files in os.walk(os.path.join(root, d)):
            subdirs.sort()
            for name in files:
                if SOURCE.search(name):
                    rel = os.path.relpath(os.path.join(base, name), root)
                    found.append(rel.replace(os.sep, "/"))
    return sorted(found)


def resolve(root, including, name):
    """The tree-relative path the compiler would open, or None."""
    candidates = [os.path.dirname(including)] + list(SEARCH)
    for d in candidates:
        rel = os.path.normpath(os.path.join(d, name)).replace(os.sep, "/")
        if rel.startswith("../"):
            continue
        if os.path.isfile(os.path.join(root, rel)):
            return rel
    return None


def read_includes(root, path):
    """(line number, quoted name) for each #include "..." of a file."""
    out = []
    with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                out.append((n, m.group(1)))
    return out


def find_cycle(graph, nodes, start):
    """A cycle from start through the strongly connected set `nodes`, as a list."""
    path, on_path = [start], {start: 0}

    def walk(node):
        for nxt in sorted(graph.get(node, ())):
            if nxt not in nodes:
                continue
            if nxt == start:
                return True
            if nxt in on_path:
                continue
            on_path[nxt] = len(path)
            path.append(nxt)
            if walk(nxt):
                return True
            path.pop()
            del on_path[nxt]
        return False

    walk(start)
    return path + [start]


def strongly_connected(graph):
    """Tarjan's algorithm: the sets of nodes that reach each other (size > 1)."""
    index, low, stack, on_stack, result = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                result.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(result, key=min)


def check(root):
    errors = []
    graph = {}  # module -> modules of the same directory it includes
    why = {}  # (module, module) -> first "file:line includes name"
    for path in source_files(root):
        src_dir = top_dir(path)
        for line, name in read_includes(root, path):
            target = resolve(root, path, name)
            where = "%s:%d" % (path, line)
            if target is None:
                errors.append('%s: #include "%s" names no file of the tree' % (where, name))
                continue
            dst_dir = top_dir(target)
            if dst_dir not in DIRS:
                continue
            if dst_dir != src_dir and dst_dir not in ALLOWED[src_dir]:
                errors.append('%s: #include "%s" (%s): %s/ may not include from %s/'
                              % (where, name, target, src_dir, dst_dir))
                continue
            a, b = module_of(path), module_of(target)
            if dst_dir == src_dir and src_dir != "test" and a != b:
                graph.setdefault(a, set()).add(b)
                why.setdefault((a, b), '%s includes "%s"' % (where, name))
    # Each set of modules that reach each other is one violation; a cycle through
    # each of its modules is printed, with the include line behind every step.
    for group in strongly_connected(graph):
        covered = set()
        lines = ["include cycle among %s:" % ", ".join(sorted(group))]
        for start in sorted(group):
            if start in covered:
                continue
            cycle = find_cycle(graph, group, start)
            covered.update(cycle)
            lines.append("  " + " -> ".join(cycle))
            lines += ["    " + why[(cycle[i], cycle[i + 1])] for i in range(len(cycle) - 1)]
        errors.append("\n".join(lines))
    return errors


def main():
    parser = argparse.ArgumentParser(
        description="Check that #include lines follow preforkd's layering "
        "(common <- server, common <- client, no cycles).")
    parser.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."),
                        help="the source tree to check (default: this script's tree)")
    args = parser.parse_args()
    if not os.path.isdir(args.root):
        print("check-layering: %s: not a directory" % args.root, file=sys.stderr)
        return 2
    errors = check(os.path.abspath(args.root))
    for e in errors:
        print(e)
    if errors:
        print("check-layering: %d violation%s" % (len(errors), "" if len(errors) == 1 else "s"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
