#!/usr/bin/env python3
"""No call circles between the files of one folder (CODE_STYLE.md): in every
static library of the build, file A may use what file B defines only when
B does not (directly or through others) use A.  Read from the objects with
nm, so it sees real calls, not just includes.
    check_calls.py BUILDDIR"""
import collections
import glob
import os
import subprocess
import sys


def graph(lib):
    defs, uses = {}, collections.defaultdict(set)
    objs = sorted(glob.glob(lib + ".p/*.o"))
    for o in objs:
        out = subprocess.run(["nm", o], capture_output=True, text=True,
                             check=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "TDBRV":
                defs[f[2]] = o
            elif len(f) == 2 and f[0] == "U":
                uses[o].add(f[1])
    return {o: {defs[s] for s in uses[o] if defs.get(s, o) != o} for o in objs}


def cycles(g):
    found, color = [], {}

    def dfs(u, stack):
        color[u] = 1
        stack.append(u)
        for v in sorted(g[u]):
            if color.get(v) == 1:
                found.append(stack[stack.index(v):] + [v])
            elif not color.get(v):
                dfs(v, stack)
        stack.pop()
        color[u] = 2

    for u in sorted(g):
        if not color.get(u):
            dfs(u, [])
    return found


def main():
    build = sys.argv[1]
    libs = [l for l in glob.glob(os.path.join(build, "**", "*.a"), recursive=True)
            if "/tests/" not in l]
    bad = 0
    for lib in sorted(libs):
        for c in cycles(graph(lib)):
            bad += 1
            names = " -> ".join(os.path.basename(o)[:-2] for o in c)
            print("call circle in %s: %s" % (os.path.relpath(lib, build), names))
    print("check_calls: %d libraries, %d circles" % (len(libs), bad))
    return 1 if bad or not libs else 0


if __name__ == "__main__":
    sys.exit(main())
