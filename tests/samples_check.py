#!/usr/bin/python3
"""Samples through `anafs run`: where sumw=auto takes its sum from, and how
hist.json scales each sample, against sums col_dump reads independently.

Usage: samples_check.py ANAFS COL_DUMP ROOT_DIR AGC_DIR

With `weight genWeight` and every event in one bin, a simulation sample's
scaled integral is xsec * lumi * (sum of genWeight) / sumw: exactly xsec *
lumi when sumw is the sum of genWeight (a file without a Runs tree), the
events' share of the Runs tree's sum otherwise.  Data are never scaled.
Exit status 0 when every check passed, 1 otherwise.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

FAILED = []


def check(cond, what, detail=""):
    print("%s %s" % ("ok  " if cond else "FAIL", what), flush=True)
    if not cond:
        FAILED.append(what)
        if detail:
            print("     %s" % str(detail)[:2000])


def column(col_dump, path, tree, branch, tmp):
    """The values of branch in tree of path, or None when there is no tree."""
    out = tempfile.mkdtemp(dir=tmp)
    r = subprocess.run([col_dump, path, tree, out, branch], capture_output=True, timeout=120)
    if r.returncode == 3:
        return None
    if r.returncode != 0:
        raise RuntimeError("col_dump %s %s: %s" % (path, tree, r.stderr.decode()))
    return np.load(os.path.join(out, branch + ".npy"))


def run(anafs, tmp, text, name):
    """hist.json of the query, or (None, stderr) when it is refused."""
    q = os.path.join(tmp, name + ".query")
    with open(q, "w") as f:
        f.write(text)
    r = subprocess.run([anafs, "run", "-j", "2", q], capture_output=True, timeout=300)
    if r.returncode != 0:
        return None, r.stderr.decode()
    return json.loads(r.stdout), r.stderr.decode()


def integral(h, sample=None):
    """The sum of values over every bin of h (of one sample's cells)."""
    axes = h["axes"]
    v = np.array(h["storage"]["values"], dtype=float)
    if sample is not None:
        names = [a.get("metadata", {}).get("name") for a in axes]
        k = names.index("sample")
        v = np.take(v, axes[k]["categories"].index(sample), axis=k)
    return float(v.sum())


def near(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


def main():
    anafs, col_dump, root, agc = (os.path.abspath(a) for a in sys.argv[1:5])
    tmp = tempfile.mkdtemp(prefix="anafs-samples-")
    noruns = os.path.join(root, "nanoAOD_2015_CMS_Open_Data_ttbar.root")
    old = os.path.join(root, "nano_dy_SpecialTree.root")  # Runs/genEventSumw_
    new = os.path.join(root, "pfnano.root")               # Runs/genEventSumw
    data = os.path.join(agc, "agc_like_data.root")
    sums = {}
    for path in (noruns, old, new):
        w = column(col_dump, path, "Events", "genWeight", tmp)
        runs = None
        for b in ("genEventSumw", "genEventSumw_"):
            try:
                runs = column(col_dump, path, "Runs", b, tmp)
            except RuntimeError:
                continue
            if runs is not None:
                break
        sums[path] = (float(np.sum(w)), None if runs is None else float(np.sum(runs)), len(w))
    check(sums[noruns][1] is None, "the 2015 ttbar file has no Runs tree")
    check(sums[old][1] is not None and sums[new][1] is not None,
          "the DY and PFNano files have one", sums)

    # 1. sumw=auto without a Runs tree: the sum of genWeight, in every task.
    text = ("lumi 2\nsample tt xsec=10 sumw=auto %s %s\nweight genWeight\n"
            "hist all = MET_pt bins=1 range=-1e30,1e30\n" % (noruns, noruns))
    h, err = run(anafs, tmp, text, "noruns")
    check(h is not None and near(integral(h["all"], "tt"), 20.0),
          "no Runs tree: sumw is the sum of genWeight (integral = xsec * lumi)",
          err if h is None else integral(h["all"], "tt"))
    # 2. and 3. the Runs tree's sum, by either name.
    for path, what in ((new, "genEventSumw"), (old, "genEventSumw_")):
        sw, runs, n = sums[path]
        text = ("lumi 2\nsample s xsec=10 sumw=auto %s\nweight genWeight\n"
                "hist all = genWeight bins=1 range=-1e30,1e30\n" % path)
        h, err = run(anafs, tmp, text, "runs")
        want = 20.0 * sw / runs
        check(h is not None and near(integral(h["all"], "s"), want),
              "Runs/%s: sumw is the Runs tree's sum (integral %.9g)" % (what, want),
              err if h is None else integral(h["all"], "s"))
    # 4. sumw=NUMBER, and data (never scaled) in the same query.
    sw, _, n = sums[noruns]
    text = ("lumi 2\nsample tt xsec=10 sumw=%r %s\nsample d data %s\n"
            "weight w = is_data ? 1 : genWeight\n"
            "hist all = run bins=1 range=-1e30,1e30\n" % (sw / 4, noruns, data))
    h, err = run(anafs, tmp, text, "given")
    check(h is not None and near(integral(h["all"], "tt"), 80.0),
          "sumw=NUMBER: scaled by xsec * lumi / NUMBER",
          err if h is None else integral(h["all"], "tt"))
    check(h is not None and integral(h["all"], "d") == 50000.0,
          "data are counted, not scaled", err if h is None else integral(h["all"], "d"))
    # 5. refusals naming the place.
    cases = [
        ("sample a %s\nsample b %s\nhist m = MET_pt bins=1 range=0,1\n" % (noruns, noruns),
         "is in samples a and b"),
        ("sample a %s\nsample b data %s\nhist m = genWeight bins=1 range=0,1\n" % (noruns, data),
         "unknown name 'genWeight' (in sample b)"),
        ("sample a sumw=auto %s\nhist m = MET_pt bins=1 range=0,1\n"
         % os.path.join(root, "nano_dimuon.root"), "neither a Runs tree"),
    ]
    for text, want in cases:
        h, err = run(anafs, tmp, text, "bad")
        check(h is None and want in err and ".query:" in err, "refused: %s" % want, err)
    print("%d checks failed" % len(FAILED) if FAILED else "all checks passed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
