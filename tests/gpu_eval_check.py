#!/usr/bin/python3
"""The program evaluated on a device against the CPU, through `anafs run`:
every tree of every shared file (data/root) and of the bench files
(data/bench) through a query made from its branches (flat and jagged,
integer, floating and boolean; arithmetic, %, comparisons, logic, abs,
sqrt, floor, min/max, ?:, the reductions and list masks, a filter), and
the benchmark queries (bench/bench_query.c's two and gpu_check.py's) on
the bench files.  Each runs with --gpu off and --gpu on; hist.json must be
byte-identical (unweighted histograms only; the weighted one of the
benchmark queries within 1e-12 relative per number).

Without --device the device is the host emulation (ANAFS_GPU_EMULATE=1):
the whole path on any machine.  With --device the real one: skipped (77)
when `anafs run --gpu on` finds none.

Usage: gpu_eval_check.py [--device] ANAFS DATA_DIR
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpu_check  # noqa: E402
import mount_util as mu  # noqa: E402
from gpu_check import WEIGHTED, close  # noqa: E402
from mount_util import check  # noqa: E402

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
INTS = {"int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"}
FLOATS = {"float32", "float64"}
MAX_FLAT, MAX_LISTS, MAX_TREES = 6, 6, 3

BENCH = [
    """define goodjet = Jet_pt > 30 && abs(Jet_eta) < 2.4
filter trig: HLT_IsoMu24
filter twojets: sum(goodjet) >= 2
hist met = MET_pt bins=50 range=0,200
hist jetpt = Jet_pt[goodjet] bins=50 range=0,300
hist dphi = delta_phi(MET_phi, Jet_phi[goodjet][0]) bins=32 range=-pi,pi
""",
    """define good = Jet_pt > 30 && abs(Jet_eta) < 2.4
hist met = MET_pt bins=50 range=0,200
hist njet = nJet bins=15 range=0,15
hist jetpt = Jet_pt[good] bins=50 range=0,300
""",
    gpu_check.QUERY.split("\n", 2)[2],  # less its dataset and tree lines
]


def run(anafs, query, out, gpu, env):
    return subprocess.run([anafs, "run", query, "-j", "2", "-o", out, "--gpu", gpu],
                          capture_output=True, text=True, timeout=300, env=env)


def tree_query(path, tree):
    """A query over tree's branches, or None when it has none to use."""
    flat, lists = [], {}
    for b in tree["branches"]:
        t, name = b.get("type", ""), b["name"]
        if not NAME.match(name) or (t not in INTS and t not in FLOATS and t != "bool"):
            continue
        if b.get("kind") == "flat" and len(flat) < MAX_FLAT:
            flat.append((name, t))
        elif b.get("kind") == "jagged" and b.get("counter") and len(lists) < MAX_LISTS:
            lists[name] = (t, b["counter"])
    if not flat and not lists:
        return None
    q = ["dataset %s" % path, "tree %s" % tree["name"]]
    h = []
    for i, (c, t) in enumerate(flat):
        if t == "bool":
            h.append("hist f%d = %s ? 1.5 : 0.5 bins=2 range=0,2" % (i, c))
        elif t in INTS:
            h.append("hist f%d = (%s * 3 + 1) %% 7 bins=15 range=-7,8" % (i, c))
            h.append("hist g%d = abs(%s) > 2 && %s != 5 ? 1.5 : 0.5 bins=2 range=0,2" % (i, c, c))
        else:
            h.append("hist f%d = (%s * 2.5 - 1) %% 7.5 bins=30 range=-7.5,7.5" % (i, c))
            h.append("hist g%d = sqrt(abs(%s)) - floor(sqrt(abs(%s))) bins=20 range=0,1" % (i, c, c))
            h.append("hist m%d = min(%s, 0.5) / max(abs(%s), 1.0) bins=20 range=-1,1" % (i, c, c))
    for i, (c, (t, _)) in enumerate(lists.items()):
        if t == "bool":
            h.append("hist l%d = sum(%s) bins=10 range=0,10" % (i, c))
            h.append("hist a%d = any(%s) ? (all(%s) ? 2.5 : 1.5) : 0.5 bins=3 range=0,3" % (i, c, c))
            continue
        h.append("hist l%d = sum(%s) %% 10 bins=20 range=-10,10" % (i, c))
        h.append("hist k%d = count(%s[%s > 0]) bins=12 range=0,12" % (i, c, c))
        h.append("hist x%d = max(%s) %% 5 bins=20 range=-5,5" % (i, c))
        h.append("hist e%d = (%s[abs(%s) < 1000] * 2) %% 3 bins=24 range=-3,3" % (i, c, c))
    if flat and flat[0][1] != "bool":
        h.append("filter half: %s %% 2 < 1" % flat[0][0])
        h.append("hist after = %s %% 4 bins=16 range=-4,4" % flat[0][0])
    elif flat:
        h.append("filter half: %s" % flat[0][0])
        h.append("hist after = 1 bins=2 range=0,2")
    return "\n".join(q + h) + "\n"


def compare(ref, out, what, weighted):
    a, b = json.load(open(ref)), json.load(open(out))
    weighted = weighted & set(a)
    check(a.keys() == b.keys(), "%s: the same histograms" % what)
    for k in a:
        if k in weighted:
            check(close(a[k], b.get(k)), "%s: %s within 1e-12 relative" % (what, k))
        else:
            check(json.dumps(a[k]) == json.dumps(b.get(k)), "%s: %s identical" % (what, k))
    if not weighted:
        check(open(ref, "rb").read() == open(out, "rb").read(), "%s: hist.json bytes identical" % what)


def both(anafs, tmp, env, tag, text, weighted=()):
    """text run on the CPU and the device; True when both ran."""
    q = os.path.join(tmp, tag + ".query")
    mu.write(q, text)
    ref, out = os.path.join(tmp, tag + "-off.json"), os.path.join(tmp, tag + "-on.json")
    r = run(anafs, q, ref, "off", env)
    if r.returncode:
        return False  # a tree the query language cannot read as made
    r = run(anafs, q, out, "on", env)
    check(r.returncode == 0 and "no device" not in r.stderr, "%s: --gpu on runs on the device" % tag,
          r.stderr)
    if r.returncode == 0:
        compare(ref, out, tag, set(weighted))
    return True


def main():
    args = sys.argv[1:]
    device = bool(args) and args[0] == "--device"
    if device:
        args = args[1:]
    if len(args) != 2:
        print(__doc__)
        return 2
    anafs, data = os.path.abspath(args[0]), os.path.abspath(args[1])
    tmp = mu.tmpdir("anafs-gpueval-")
    env = gpu_check.env_of(tmp) if device else gpu_check.env_of(tmp, ANAFS_GPU_EMULATE="1")
    if device:
        probe = os.path.join(tmp, "probe.query")
        mu.write(probe, "dataset %s/root/uproot-HZZ-zlib.root\nhist n = NJet bins=5 range=0,5\n" % data)
        r = run(anafs, probe, os.path.join(tmp, "probe.json"), "on", env)
        if "no device" in r.stderr:
            print("SKIP: no device (anafs run --gpu on: %s)" % r.stderr.strip())
            return 77
    ran = 0
    files = []
    for sub in ("root", "bench"):
        d = os.path.join(data, sub)
        files += sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".root"))
    for path in files:
        r = subprocess.run([anafs, "ls", "--json", path], capture_output=True, text=True, timeout=60)
        if r.returncode:
            continue  # a file rootio refuses (the shared set has some on purpose)
        trees = [t for t in json.loads(r.stdout).get("trees", []) if t.get("entries", 0) > 0]
        for i, t in enumerate(trees[:MAX_TREES]):
            text = tree_query(path, t)
            tag = "%s-%d" % (os.path.basename(path)[:-5], i)
            if text and both(anafs, tmp, env, tag, text):
                ran += 1
    for path in sorted(f for f in files if "/bench/" in f):
        for i, body in enumerate(BENCH):
            text = "dataset %s\ntree Events\n%s" % (path, body)
            tag = "bench%d-%s" % (i, os.path.basename(path)[:-5])
            check(both(anafs, tmp, env, tag, text, WEIGHTED), "%s: the benchmark query runs" % tag)
            ran += 1
    print("%d queries compared" % ran)
    check(ran >= 20, "at least 20 queries compared", str(ran))
    return mu.finish()


if __name__ == "__main__":
    sys.exit(main())
