#!/usr/bin/python3
"""speed_bench.py -- issue 12's figures in one run: per query, anafs's
events/s per core against the bare decompression of the branches it reads
and against uproot+numpy (when uproot is installed); the second run with
the decoded-column cache warm against the first; the time to the first
partial histogram on a mount; one and two cores.

    /usr/bin/python3 bench/speed_bench.py [--anafs PATH] [--bench-query PATH]
        [--copies N] [--runs N] [--seconds S] [--partial-copies N,N] [--keep]

What it runs, in a temp folder under /tmp (removed at the end unless --keep):

  - the data: --copies (default 20) symbolic links to
    ../shared/data/bench/nano_like_zstd_500k.root (500,000 events each),
    each a file of its own to anafs;
  - the queries: "issue" (MET_pt, Jet_pt, Jet_eta, nJet: a jagged mask,
    three histograms) and "bench" (bench_query's: six branches, two
    filters, a jagged mask, three histograms);
  - evaluator and bare decompression, 1 core: build/bench/bench_query
    --seconds S (its rows "anafs evaluator" and "bare decompression of the
    query's branches", when it prints them), for the same queries over one
    copy: the same baskets through the compression library alone, in the
    same process;
  - whole jobs: `anafs run -j1` and `-j2` of each query over every copy
    with the column cache off (ANAFS_COLCACHE=off): events / wall time,
    planning and merging included; then with a fresh column cache folder
    (ANAFS_COLCACHE_DIR under /dev/shm, as the default): a first run that fills it and
    a second, warm, run (a changed binning, as a user re-runs);
  - uproot+numpy: the "issue" query with uproot.iterate over the same
    files on one core, when `import uproot` works with /usr/bin/python3;
  - the first partial: a mount (--no-reuse, 2 workers) on a folder of
    its own; the "issue" query over each count of --partial-copies
    (default 20,200) copies written to jobs/; the time from its close()
    to the first progress.json with a merged task (tasks_done >= 1), and
    to the end.

Each timing is the median of --runs runs (default 3); every hist.json of one
query and binning must be the same bytes at -j1 and -j2, with and without
the cache (a difference is printed and makes the exit status 1).  Timings
are printed, never asserted.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(ROOT, "..", "shared", "data", "bench", "nano_like_zstd_500k.root")
EVENTS = 500000

QUERIES = {
    "issue": """dataset {files}
tree Events
define good = Jet_pt > 30 && abs(Jet_eta) < 2.4
hist met = MET_pt bins={bins} range=0,200
hist njet = sum(good) bins=10 range=0,10
hist jetpt = Jet_pt[good] bins=50 range=0,300
""",
    "bench": """dataset {files}
tree Events
define goodjet = Jet_pt > 30 && abs(Jet_eta) < 2.4
filter trig: HLT_IsoMu24
filter twojets: sum(goodjet) >= 2
hist met = MET_pt bins={bins} range=0,200
hist jetpt = Jet_pt[goodjet] bins=50 range=0,300
hist dphi = delta_phi(MET_phi, Jet_phi[goodjet][0]) bins=32 range=-pi,pi
""",
}

FAILED = []


def run_job(anafs, qfile, jobs, env):
    t = time.monotonic()
    r = subprocess.run([anafs, "run", qfile, "-j", str(jobs)], capture_output=True,
                       env=env, timeout=600)
    wall = time.monotonic() - t
    if r.returncode:
        FAILED.append("anafs run %s -j%d: %s" % (qfile, jobs, r.stderr.decode()[-500:]))
    return wall, r.stdout


def write_query(tmp, name, files, bins):
    p = os.path.join(tmp, "%s-%d.query" % (name, bins))
    with open(p, "w") as f:
        f.write(QUERIES[name].format(files=" ".join(files), bins=bins))
    return p


def median(v):
    return statistics.median(v) if v else float("nan")


def bench_query_rows(path, seconds):
    """bench_query's rows: {label: events/s}, and its text."""
    if not os.access(path, os.X_OK):
        return {}, "(no %s)" % path
    r = subprocess.run([path, "--seconds", str(seconds)], capture_output=True, text=True,
                       timeout=600)
    rows = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^(\S.*?)\s{2,}([0-9.]+e[+-][0-9]+)", line)
        if m:
            rows[m.group(1).strip()] = float(m.group(2))
    return rows, r.stdout


def uproot_rate(files):
    code = r"""
import sys, time, numpy as np, uproot
files = sys.argv[1:]
t = time.monotonic(); n = 0
h1 = np.zeros(50); h2 = np.zeros(10); h3 = np.zeros(50)
for a in uproot.iterate([f + ":Events" for f in files], ["MET_pt", "Jet_pt", "Jet_eta", "nJet"],
                        library="np", step_size="100 MB"):
    n += len(a["MET_pt"])
    h1 += np.histogram(a["MET_pt"], 50, (0, 200))[0]
    counts = a["nJet"]
    pt = np.concatenate(a["Jet_pt"]) if len(a["Jet_pt"]) else np.zeros(0)
    eta = np.concatenate(a["Jet_eta"]) if len(a["Jet_eta"]) else np.zeros(0)
    good = (pt > 30) & (np.abs(eta) < 2.4)
    idx = np.repeat(np.arange(len(counts)), counts)
    h2 += np.histogram(np.bincount(idx[good], minlength=len(counts)), 10, (0, 10))[0]
    h3 += np.histogram(pt[good], 50, (0, 300))[0]
print(n / (time.monotonic() - t))
"""
    r = subprocess.run(["/usr/bin/python3", "-c", code] + files, capture_output=True, text=True,
                       timeout=900)
    if r.returncode:
        return None, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "failed"
    return float(r.stdout.strip()), ""


def first_partial(anafs, tmp, copies, runs):
    mnt, state = os.path.join(tmp, "mnt"), os.path.join(tmp, "state")
    os.makedirs(mnt, exist_ok=True)
    r = subprocess.run([anafs, "mount", mnt, "--state", state, "--workers", "2", "--no-reuse"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode:
        FAILED.append("anafs mount: " + r.stderr)
        return {}
    out = {}
    try:
        for n in copies:
            firsts, ends = [], []
            for k in range(runs):
                files = [DATA] * n
                text = QUERIES["issue"].format(files=" ".join(files), bins=50)
                name = "partial%d_%d" % (n, k)
                t0 = time.monotonic()
                with open(os.path.join(mnt, "jobs", name + ".query"), "w") as f:
                    f.write(text)
                job = os.readlink(os.path.join(mnt, "jobs", name))
                pj = os.path.join(mnt, "jobs", job, "progress.json")
                first = None
                deadline = t0 + 300
                while time.monotonic() < deadline:
                    p = json.load(open(pj))
                    if first is None and p["tasks_done"] >= 1:
                        first = time.monotonic() - t0
                    if p["status"] in ("done", "failed", "invalid", "cancelled"):
                        break
                    time.sleep(0.002)
                ends.append(time.monotonic() - t0)
                if p["status"] != "done":
                    FAILED.append("partial job %s: %s" % (job, p["status"]))
                if first is not None:
                    firsts.append(first)
            out[n] = (median(firsts), median(ends))
    finally:
        subprocess.run([anafs, "umount", mnt, "--state", state], capture_output=True, timeout=60)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--anafs", default=os.path.join(ROOT, "build", "anafs"))
    ap.add_argument("--bench-query", default=os.path.join(ROOT, "build", "bench", "bench_query"))
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2)
    ap.add_argument("--partial-copies", default="20,200")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if not os.path.exists(DATA):
        print("no %s" % DATA)
        return 2
    tmp = tempfile.mkdtemp(prefix="anafs-speed-")
    # The column cache's folders on memory, as its default is (/dev/shm).
    shm = tempfile.mkdtemp(prefix="anafs-speed-cc-",
                           dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        files = []
        for i in range(a.copies):
            p = os.path.join(tmp, "copy%03d.root" % i)
            os.symlink(os.path.abspath(DATA), p)
            files.append(p)
        nev = EVENTS * a.copies
        print("speed_bench: %d copies of %s (%d events), %d runs each, %d cores" %
              (a.copies, os.path.basename(DATA), nev, a.runs, os.cpu_count()))

        rows, text = bench_query_rows(a.bench_query, a.seconds)
        print("\n--- build/bench/bench_query --seconds %g (one copy, one core):" % a.seconds)
        print(text.rstrip())

        env_off = dict(os.environ, ANAFS_COLCACHE="off")
        table = []
        for name in QUERIES:
            q50 = write_query(tmp, name, files, 50)
            q40 = write_query(tmp, name, files, 40)
            res = {}
            outs = {}
            for j in (1, 2):
                walls = []
                for _ in range(a.runs):
                    w, out = run_job(a.anafs, q50, j, env_off)
                    walls.append(w)
                    outs.setdefault(50, set()).add(out)
                res["cold-j%d" % j] = median(walls)
                # The column cache: a fresh folder, filled by a first run,
                # then the same branches with another binning.
                firsts, seconds = [], []
                for k in range(a.runs):
                    cc = os.path.join(shm, "cc-%s-%d-%d" % (name, j, k))
                    env = dict(os.environ, ANAFS_COLCACHE_DIR=cc)
                    env.pop("ANAFS_COLCACHE", None)
                    w1, out1 = run_job(a.anafs, q50, j, env)
                    w2, out2 = run_job(a.anafs, q40, j, env)
                    outs[50].add(out1)
                    outs.setdefault(40, set()).add(out2)
                    firsts.append(w1)
                    seconds.append(w2)
                    shutil.rmtree(cc, ignore_errors=True)
                res["fill-j%d" % j] = median(firsts)
                res["warm-j%d" % j] = median(seconds)
            for b, s in outs.items():
                if len(s) != 1:
                    FAILED.append("%s bins=%d: hist.json differs between runs" % (name, b))
            table.append((name, res))

        print("\n--- whole jobs: anafs run over %d copies (plan and merge included), "
              "median of %d" % (a.copies, a.runs))
        print("%-6s %-34s %10s %14s %14s" % ("query", "run", "wall s", "events/s", "per core"))
        for name, res in table:
            for key, label in (("cold-j1", "-j1, column cache off"),
                               ("cold-j2", "-j2, column cache off"),
                               ("fill-j1", "-j1, column cache filled"),
                               ("warm-j1", "-j1, second run, cache warm"),
                               ("fill-j2", "-j2, column cache filled"),
                               ("warm-j2", "-j2, second run, cache warm")):
                w = res[key]
                cores = 2 if key.endswith("j2") else 1
                print("%-6s %-34s %10.3f %14.4g %14.4g" % (name, label, w, nev / w,
                                                           nev / w / cores))
            print("%-6s 2 cores / 1 core (cache off):   %.2fx" %
                  (name, res["cold-j1"] / res["cold-j2"]))
            print("%-6s second run / cold run (-j1):     %.2fx" %
                  (name, res["cold-j1"] / res["warm-j1"]))
            print("%-6s second run / cold run (-j2):     %.2fx" %
                  (name, res["cold-j2"] / res["warm-j2"]))

        issue_cold = nev / [r for n, r in table if n == "issue"][0]["cold-j1"]
        ev = rows.get("anafs evaluator (1 core)") or rows.get("anafs evaluator, query 2 (1 core)")
        bare = None
        for k, v in rows.items():
            if k.startswith("bare decompression"):
                bare = v
                break
        print("\n--- ratios, one core")
        if ev and bare:
            print("bench_query evaluator / bare decompression of its branches: %.2f" % (ev / bare))
        up, why = uproot_rate(files[:4])
        if up:
            print("uproot+numpy, issue query, 1 core: %.4g events/s; anafs -j1 whole job / "
                  "uproot: %.2fx" % (up, issue_cold / up))
        else:
            print("uproot+numpy: not measured (%s)" % why)

        print("\n--- first partial histogram on a mount (2 workers), issue query, median of %d"
              % a.runs)
        counts = [int(x) for x in a.partial_copies.split(",") if x]
        fp = first_partial(a.anafs, tmp, counts, a.runs)
        print("%10s %10s %16s %12s" % ("copies", "events", "first partial s", "done s"))
        for n in counts:
            if n in fp:
                print("%10d %10d %16.3f %12.3f" % (n, n * EVENTS, fp[n][0], fp[n][1]))
    finally:
        shutil.rmtree(shm, ignore_errors=True)
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    for f in FAILED:
        print("FAILED: " + f)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
