#!/usr/bin/python3
"""The layout of docs/internals.md holds in the code: each folder includes
only its own headers and those of folders below it (no arrow runs back up),
a private *_int.h is included only inside its own folder, and no source
file grows past 900 lines.

Usage: layout_check.py SOURCE_DIR
"""
import os
import re
import sys

# Bottom up, as docs/internals.md lists them.
ORDER = ["util", "gpu", "cache", "rootio", "exec/corr", "exec/ql", "exec/hist", "exec/result", "exec/eval",
         "exec/plan", "exec/wire", "exec/worker", "exec/store", "exec/coord", "exec/dist",
         "fs", "cmd"]
MAX_LINES = 900
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    top = sys.argv[1]
    owner, files = {}, []
    for folder in ORDER:
        d = os.path.join(top, folder)
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h")):
                files.append((folder, name))
                if name.endswith(".h"):
                    owner[name] = folder
    owner["anafs_version.h"] = "util"  # generated into build/gen, part of util
    bad = []
    for folder, name in files:
        path = os.path.join(top, folder, name)
        text = open(path, encoding="utf-8").read()
        lines = text.count("\n")
        if lines > MAX_LINES:
            bad.append("%s/%s: %d lines (at most %d)" % (folder, name, lines, MAX_LINES))
        for inc in INCLUDE.findall(text):
            o = owner.get(os.path.basename(inc))
            if o is None:
                bad.append("%s/%s includes \"%s\", which no folder has" % (folder, name, inc))
            elif inc.endswith("_int.h") and o != folder:
                bad.append("%s/%s includes %s, private to %s" % (folder, name, inc, o))
            elif ORDER.index(o) > ORDER.index(folder):
                bad.append("%s/%s includes %s of %s, a folder above it" % (folder, name, inc, o))
    for b in bad:
        print("FAIL " + b)
    print("%d files in %d folders; %d problem(s)" % (len(files), len(ORDER), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
