#!/usr/bin/env python3
"""Reads the #include "..." lines of the C sources and fails on an import circle or on a
dependency that points up the layers.

A module is a file name without its extension (x.c and x.h are one module). Layers, from
the bottom: core (include/causalkv/ and the plain src/*.c they declare: no libevent, no
I/O), net (src/net/: libevent, no domain logic), glue (the other src/ files), tools. A
module may include modules of its own layer or below, never above, and the module graph
has no cycle. Exit status 1 with every problem listed; 0 and a one-line summary."""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
LAYER_RANK = {"core": 0, "net": 1, "glue": 2, "tools": 3}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SYSTEM = re.compile(r'^\s*#\s*include\s+<([^>]+)>', re.M)


def sources():
    for top in ("include", "src", "tools"):
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if f.endswith((".c", ".h")):
                    yield os.path.join(d, f)


def module_of(path):
    return os.path.splitext(os.path.basename(path))[0]


def core_modules():
    """Modules with a public header in include/causalkv/, plus private core headers: a
    header in src/ with no .c of its own, included only by core modules."""
    core = {module_of(f) for f in os.listdir(os.path.join(ROOT, "include", "causalkv"))
            if f.endswith(".h")}
    src = os.path.join(ROOT, "src")
    for f in os.listdir(src):
        mod = module_of(f)
        if not f.endswith(".h") or os.path.exists(os.path.join(src, mod + ".c")):
            continue
        includers = set()
        for path in sources():
            if '"%s"' % f in open(path, encoding="utf-8").read() and module_of(path) != mod:
                includers.add(module_of(path))
        if includers and includers <= core:
            core.add(mod)
    return core


def layer_of(path, core):
    rel = os.path.relpath(path, ROOT)
    if rel.startswith("tools" + os.sep):
        return "tools"
    if rel.startswith(os.path.join("src", "net") + os.sep):
        return "net"
    if rel.startswith("include" + os.sep) or module_of(path) in core:
        return "core"
    return "glue"


def main():
    core = core_modules()
    layer, edges, problems = {}, {}, []
    for path in sources():
        mod = module_of(path)
        lay = layer_of(path, core)
        if layer.setdefault(mod, lay) != lay:
            problems.append("%s: module %s is in two layers" % (path, mod))
        text = open(path, encoding="utf-8").read()
        for inc in INCLUDE.findall(text):
            target = module_of(inc)
            if target != mod:
                edges.setdefault(mod, set()).add(target)
        if lay == "core":
            for inc in SYSTEM.findall(text):
                if inc.startswith("event2/"):
                    problems.append("%s: a core module includes <%s>" % (
                        os.path.relpath(path, ROOT), inc))
    for mod, targets in sorted(edges.items()):
        for t in sorted(targets):
            if t not in layer:
                continue  # a header outside the tree
            if LAYER_RANK[layer[t]] > LAYER_RANK[layer[mod]]:
                problems.append("%s (%s) includes %s (%s): a dependency that points up the layers" % (
                    mod, layer[mod], t, layer[t]))
    # cycles: depth-first search with colours
    colour, stack = {}, []

    def visit(m):
        colour[m] = 1
        stack.append(m)
        for t in sorted(edges.get(m, ())):
            if colour.get(t) == 1:
                problems.append("import circle: " + " -> ".join(stack[stack.index(t):] + [t]))
            elif t in layer and colour.get(t) is None:
                visit(t)
        stack.pop()
        colour[m] = 2

    for m in sorted(layer):
        if colour.get(m) is None:
            visit(m)
    if problems:
        for p in problems:
            print("check_layers: " + p)
        return 1
    print("check_layers: %d modules, %d include edges, no circle, layers respected" % (
        len(layer), sum(len(v) for v in edges.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
