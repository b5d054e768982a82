#!/usr/bin/python3
"""`anafs ls` as a user runs it: text and JSON listings of shared files
against reference.json, and the exit status and message of every failure."""
import json
import os
import subprocess
import sys

anafs, data = sys.argv[1], sys.argv[2]
ref = json.load(open(f"{data}/reference.json"))
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL", what)
    return cond


def run(*args):
    p = subprocess.run([anafs, *args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


# JSON listing of every file: trees, entries, kinds, counters, types.
for name, f in sorted(ref["files"].items()):
    rc, out, err = run("ls", "--json", f"{data}/{name}")
    check(rc == 0, f"{name}: exit {rc}: {err.strip()}")
    if rc:
        continue
    doc = json.loads(out)
    got = {f'{t["name"]};{t["cycle"]}': t for t in doc["trees"]}
    check(set(got) == set(f["trees"]), f"{name}: trees {sorted(got)} != {sorted(f['trees'])}")
    for tkey, t in f["trees"].items():
        g = got.get(tkey)
        if not g:
            continue
        check(g["entries"] == t["entries"], f"{name} {tkey}: entries {g['entries']}")
        cols = {b["name"]: b for b in g["branches"]}
        for bname, b in t["branches"].items():
            if b["class"] != "TBranch" or b["kind"] == "leaflist":
                continue
            c = cols.get(bname)
            check(c is not None, f"{name} {tkey} {bname}: not listed")
            if not c:
                continue
            check(c["kind"] == b["kind"], f"{name} {tkey} {bname}: kind {c['kind']} != {b['kind']}")
            check(c["type"] == b["dtype"], f"{name} {tkey} {bname}: type {c['type']} != {b['dtype']}")
            if b["kind"] == "jagged":
                check(c.get("counter") == b["counter"], f"{name} {tkey} {bname}: counter {c.get('counter')}")
            if b["kind"] == "fixed":
                check(c.get("fixed_len") == b["fixed_len"], f"{name} {tkey} {bname}: fixed_len")
            check(c["baskets"] == b["baskets"]["total"],
                  f"{name} {tkey} {bname}: baskets {c['baskets']} != {b['baskets']['total']}")

# The text listing: a header line per tree and a row per branch.
rc, out, err = run("ls", f"{data}/uproot-HZZ-zlib.root")
check(rc == 0 and out.startswith("events;1  2421 entries"), f"text header: {out[:60]!r}")
check(any(l.split()[:3] == ["Jet_Px", "float32[NJet]", "jagged"] for l in out.splitlines()),
      "text row for Jet_Px")
rc, out, err = run("ls", f"{data}/uproot-issue31.root", "T")
check(rc == 0 and out.startswith("T;2 ") and "T;1" not in out, f"T lists the highest cycle: {out[:40]!r}")
rc, out, err = run("ls", f"{data}/uproot-nesteddirs.root", "one/two/tree")
check(rc == 0 and out.startswith("one/two/tree;1  100 entries"), f"nested: {out[:40]!r}")

# The text listing fits 100 columns on every shared file; a name or type is
# cut (ending in "…") only when longer than its column, and --json keeps it
# whole.
import glob  # noqa: E402
import os  # noqa: E402

for path in sorted(glob.glob(f"{data}/*.root")):
    name = os.path.basename(path)
    rc, out, err = run("ls", path)
    rc2, js, err2 = run("ls", "--json", path)
    if not check(rc == 0 and rc2 == 0, f"{name}: ls exit {rc}/{rc2}: {err.strip()}{err2.strip()}"):
        continue
    lines = out.splitlines()
    long = [l for l in lines if len(l) > 100]
    check(not long, f"{name}: {len(long)} lines over 100 columns: {long[:1]!r}")
    trees = json.loads(js)["trees"]
    rows = [l for l in lines if l.startswith("  ") and not l.startswith("      (")
            and not l.startswith("  branch ")]
    branches = [b for t in trees for b in t["branches"]]
    if not check(len(rows) == len(branches), f"{name}: {len(rows)} rows, {len(branches)} branches"):
        continue
    for row, b in zip(rows, branches):
        cell = row[2:].split("  ")[0]
        full = b["name"]
        if cell.endswith("\u2026"):
            check(len(full) > len(cell) and full.startswith(cell[:-1]),
                  f"{name}: {full!r} cut as {cell!r} though it fits")
        else:
            check(cell == full, f"{name}: row {row!r} does not show {full!r}")
rc, out, _ = run("ls", f"{data}/nano_dimuon.root")
check("\u2026" in out, "nano_dimuon.root: its long branch names are cut with an ellipsis")

# Failures: status and a message that names the file.
for args, status, words in [
    ((), 2, "usage"),
    (("--json",), 2, "usage"),
    (("/nonexistent/x.root",), 1, "/nonexistent/x.root: No such file"),
    ((f"{data}/MANIFEST.md",), 1, "not a ROOT file"),
    ((f"{data}/uproot-HZZ-zlib.root", "nope"), 1, "no tree 'nope'"),
    ((f"{data}/uproot-HZZ-zlib.root", "a", "b"), 2, "usage"),
]:
    rc, out, err = run("ls", *args)
    check(rc == status and words in err, f"ls {args}: exit {rc}, stderr {err.strip()!r}")
rc, out, err = run("--version")
check(rc == 0 and out.startswith("anafs "), f"--version: {out!r}")
# The XRootD client is a module loaded at the first root:// URL: a local
# command never loads it, and a module that cannot be loaded is named.
env = dict(os.environ, LD_DEBUG="files")
env.pop("ANAFS_XRD_MODULE", None)
p = subprocess.run([anafs, "ls", f"{data}/uproot-HZZ-zlib.root"], capture_output=True,
                   text=True, timeout=120, env=env)
check(p.returncode == 0 and "anafs-xrd.so" not in p.stderr and "libXrdCl" not in p.stderr,
      "ls of a local file loads no XRootD client")
p = subprocess.run([anafs, "ls", "root://127.0.0.1:1//none.root"], capture_output=True,
                   text=True, timeout=120,
                   env=dict(os.environ, ANAFS_XRD_MODULE="/nonexistent/anafs-xrd.so"))
check(p.returncode == 1 and "root://127.0.0.1:1//none.root" in p.stderr
      and "XRootD client module could not be loaded (/nonexistent/anafs-xrd.so: not there)"
      in p.stderr, f"a missing XRootD module is named: {p.stderr.strip()!r}")
rc, out, err = run("frobnicate")
check(rc == 2 and "unknown command" in err, "unknown command")

print(f"cli_ls: {failures} failures")
sys.exit(1 if failures else 0)
