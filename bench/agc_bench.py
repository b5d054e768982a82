#!/usr/bin/python3
"""agc_bench.py -- the speed of the AGC ttbar analysis (examples/agc_ttbar.query)
in one run: its rate on one and two cores, the cost of its variations, where
the time goes, and the cost of merely reading the same data.

    /usr/bin/python3 bench/agc_bench.py [--runs N] [--copies N] [--anafs PATH]
        [--query Q] [--no-callgrind] [--json FILE] [--timeout S] [--keep]

Every query it times is generated from the example, in a temp folder under
/tmp that it removes at the end (unless --keep):

  - each `sample` line lists its files --copies times (default 16: 3.2 M
    events, a few seconds on one core).  Before timing, the bench checks
    that anafs plans a file listed twice as two files (the histograms'
    entries double); if it does not, it copies the files N times under
    distinct names into the temp folder instead and says so;
  - the variation sets keep some of the example's `vary` lines and drop the
    others: 0 (nominal), object-level ones (on Jet_pt: the selection is
    recomputed), weight-only ones, and mixes of both;
  - two baselines over the same files: a filter on nJet and one histogram of
    Jet_pt ("read: nJet, Jet_pt"), and every branch the analysis reads,
    summed per event after a filter that keeps 5% of the events ("read: AGC
    branches, 5% kept": all of the analysis's decoding, almost none of its
    computing), so that the analysis's cost over reading its data shows.

Each configuration runs --runs times (default 3), round by round (every
configuration once per round, every other round in reverse order, so a burst
of load moves one round of each, not all runs of one); the table gives the median wall time, the spread
(max - min over the runs, in % of the median), the user+system CPU time of
the anafs process (os.wait4), and the ratio to the nominal query.  With
valgrind installed, each configuration also runs once under
`valgrind --tool=callgrind` over a single copy of the data with -j 1, and
the table gives its instruction count (Ir): the comparison this noisy
machine does not disturb.

Every hist.json is checked: the runs of one query give the same bytes (-j 1
and -j 2 included), and the nominal cells of every variation set are the
nominal query's.  A difference is printed loudly and makes the exit status
1 (a timing of a wrong answer is worthless).  Timings are printed, never
asserted.  Exit status: 0, 1 (a run failed or a result differed), 2 usage.
"""
import argparse
import datetime
import glob
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The variation sets, by the names of examples/agc_ttbar.query's `vary`
# lines.  OBJ change Jet_pt (the selection and every jet quantity are
# computed again for them); the rest change the weight only.
OBJ = ["pt_scale_up", "pt_res_up"]
BTAG = ["btag_var_%d_%s" % (i, d) for i in range(4) for d in ("up", "down")]
SETS = [
    # (key, label, variations)
    ("nominal", "0: nominal", []),
    ("o1", "1: 1 obj", ["pt_scale_up"]),
    ("o2", "2: 2 obj", OBJ),
    ("m3", "3: 2 obj + 1 w", OBJ + BTAG[:1]),
    ("m9", "9: 2 obj + 7 w", OBJ + BTAG[:7]),
    ("all", "12: 2 obj + 10 w", None),  # None: every vary line of the query
    ("w1", "1: 1 w", BTAG[:1]),
    ("w3", "3: 3 w", BTAG[:3]),
    ("w9", "9: 9 w", BTAG + ["scale_var_up"]),
]
# The sets counted under callgrind (one copy, -j 1; about 7 s each here).
CG_KEYS = ["nominal", "o1", "m3", "m9", "all", "w1", "w3", "w9", "read_min", "read_all"]
BASELINES = [("read_min", "read: nJet, Jet_pt"), ("read_all", "read: AGC branches, 5% kept")]
BRANCH_RE = re.compile(r"\b(?:Electron|Muon|Jet)_[A-Za-z0-9_]+\b")


def say(*a):
    print(*a, flush=True)


# --- generated queries ----------------------------------------------------

def logical_lines(text):
    """The query's statements: continuation lines joined, comments kept."""
    out, cur = [], ""
    for line in text.splitlines():
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        out.append(cur + line)
        cur = ""
    if cur:
        out.append(cur)
    return out


def strip_comment(line):
    # The AGC query quotes no '#'; a '#' in a label would need a real lexer.
    return line.split("#", 1)[0].rstrip()


class Query:
    """The example, split into its header (lumi, sample, tree), its
    statements and its vary lines; writes variants of it."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.dir = os.path.dirname(self.path)
        with open(self.path) as f:
            self.lines = logical_lines(f.read())
        self.varies = {}  # name -> line
        self.samples = []  # (line's tokens before the files, [paths])
        self.branches = set()
        self.weight = None
        for line in self.lines:
            code = strip_comment(line)
            tok = code.split()
            if not tok:
                continue
            if tok[0] == "vary":
                self.varies[tok[1].rstrip(":")] = line
            elif tok[0] == "sample":
                head = tok[:2]
                files = []
                for t in tok[2:]:
                    if t == "data" or "=" in t:
                        head.append(t)
                    else:
                        files.append(t if os.path.isabs(t) or "://" in t
                                     else os.path.normpath(os.path.join(self.dir, t)))
                self.samples.append((head, files))
            elif tok[0] == "weight":
                self.weight = code
            if tok[0] != "vary":
                self.branches.update(BRANCH_RE.findall(code))
        if not self.samples:
            raise RuntimeError("%s has no sample line" % path)

    def check_sets(self):
        for key, label, names in SETS:
            for n in names or []:
                if n not in self.varies:
                    raise RuntimeError("%s has no `vary %s` line (set %s)" % (self.path, n, label))

    def header(self, files_of):
        """lumi, sample and tree lines, each sample's files given by files_of."""
        kept = [strip_comment(line) for line in self.lines]
        lumi = [c for c in kept if c.split()[:1] == ["lumi"]]
        tree = [c for c in kept if c.split()[:1] == ["tree"]]
        samples = [" ".join(head + files_of(files)) for head, files in self.samples]
        return lumi + samples + tree

    def analysis(self, files_of, keep):
        """The example with only the vary lines named in keep (None: all)."""
        out = self.header(files_of)
        for line in self.lines:
            tok = strip_comment(line).split()
            if not tok or tok[0] in ("lumi", "tree", "sample"):
                continue
            if tok[0] == "vary" and keep is not None and tok[1].rstrip(":") not in keep:
                continue
            out.append(line)
        return "\n".join(out) + "\n"

    def baseline(self, files_of, everything):
        """The reading baselines.  Without everything: a filter on nJet and
        a histogram of Jet_pt.  With it: every branch the analysis reads
        (and the weight line, which reads genWeight), summed per event
        after a filter that keeps about 5% of the events, so that every
        basket is decoded as in the analysis while the evaluator computes
        almost nothing."""
        out = self.header(files_of)
        if not everything:
            out.append("filter njet: nJet >= 4")
            out.append("hist jet_pt = Jet_pt bins=25 range=50,550")
            return "\n".join(out) + "\n"
        if self.weight:
            out.append(self.weight)
        out.append("filter few: nJet >= 9")
        out.append("hist jet_pt = Jet_pt bins=25 range=50,550")
        terms = " + ".join("sum(%s)" % b for b in sorted(self.branches))
        out.append("define touch = " + terms)
        out.append("hist touch bins=25 range=0,5000")
        return "\n".join(out) + "\n"


# --- running anafs ----------------------------------------------------------

class Result:
    def __init__(self, key, label, jobs):
        self.key, self.label, self.jobs = key, label, jobs
        self.wall, self.cpu = [], []
        self.rss_kb = 0
        self.ir = None
        self.split = None  # {part: Ir}: ir_split()
        self.error = None
        self.ref = None  # the first run's hist.json, bytes

    def med(self, xs):
        return statistics.median(xs) if xs and not self.error else None


def run_anafs(args, query, jobs, out, log, valgrind_out=None):
    """One `anafs run`: (status, wall s, user+sys s, max RSS KB)."""
    cmd = [args.anafs, "run", query, "-j", str(jobs), "-o", out]
    if valgrind_out:
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + valgrind_out] + cmd
    with open(log, "w") as err:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        killer = threading.Timer(args.timeout, lambda: os.kill(p.pid, signal.SIGKILL))
        killer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            killer.cancel()
        dt = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, dt, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def log_tail(path, n=5):
    try:
        with open(path) as f:
            return " | ".join(f.read().strip().splitlines()[-n:])
    except OSError:
        return ""


def timed(args, tmp, res, query, rnd):
    out = os.path.join(tmp, "out", "%s-j%d-%d.json" % (res.key, res.jobs, rnd))
    log = out[:-5] + ".log"
    rc, dt, cpu, rss = run_anafs(args, query, res.jobs, out, log)
    if rc != 0 or not os.path.exists(out):
        res.error = "status %d: %s" % (rc, log_tail(log))
        say("  %-22s -j %d  FAILED: %s" % (res.label, res.jobs, res.error))
        return None
    with open(out, "rb") as f:
        got = f.read()
    note = ""
    if res.ref is None:
        res.ref = got
    elif got != res.ref:
        res.error = "hist.json differs between runs"
        note = "  *** hist.json DIFFERS from its first run's: %s ***" % out
    res.wall.append(dt)
    res.cpu.append(cpu)
    res.rss_kb = max(res.rss_kb, rss)
    say("  %-22s -j %d  %6.3f s  cpu %6.3f s%s" % (res.label, res.jobs, dt, cpu, note))
    if not args.keep and not note:
        os.unlink(out)
        os.unlink(log)
    return got


def callgrind(args, tmp, res, query):
    out = os.path.join(tmp, "out", "cg-%s.json" % res.key)
    cg = os.path.join(tmp, "out", "cg-%s.out" % res.key)
    log = out[:-5] + ".log"
    rc, dt, _, _ = run_anafs(args, query, 1, out, log, valgrind_out=cg)
    m = None
    if rc == 0 and os.path.exists(cg):
        with open(cg) as f:
            for line in f:
                m = re.match(r"(?:summary|totals):\s+(\d+)", line) or m
    if not m:
        say("  %-22s callgrind FAILED (status %d): %s" % (res.label, rc, log_tail(log)))
        return None
    res.ir = int(m.group(1))
    res.split = ir_split(cg)
    say("  %-22s callgrind %8.1f M Ir  (%.1f s)" % (res.label, res.ir / 1e6, dt))
    with open(out, "rb") as f:
        return f.read()


# Where the instructions go, by the object and source file callgrind names.
PARTS = [
    ("decompress", lambda fn, obj: re.search(r"lib(zstd|lz4|z|deflate|lzma)\.so", obj)),
    ("evaluator", lambda fn, obj: re.match(r"(.*/)?exec/(eval|hist)/", fn)),
    ("reader", lambda fn, obj: re.match(r"(.*/)?rootio/", fn)),
    ("libm", lambda fn, obj: "libm.so" in obj or fn.startswith("./math/")),
    # Doubles to text and back: hist.json and the job store's results
    # (util/jsonw.c's shortest round trip is snprintf then strtod).
    ("json", lambda fn, obj: re.search(r"printf|hack_digit|strtod|str_to_mpn|mpn_|jsonw|jsonr", fn)),
    ("other", lambda fn, obj: True),
]
# "  52,700,273 ( 8.91%)  exec/eval/eval_run.c:run_pass [/path/anafs]"; the
# object is left out for a few functions of libc and ld.so.
ANNOTATE_RE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S.*?)(?:\s+\[(.*)\])?\s*$")


def ir_split(cg):
    """{part: Ir} of a callgrind output file, by callgrind_annotate's
    self cost of every function; None without callgrind_annotate."""
    if not shutil.which("callgrind_annotate"):
        return None
    r = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", "--auto=no", cg],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    split = dict((p, 0) for p, _ in PARTS)
    for line in r.stdout.splitlines():
        m = ANNOTATE_RE.match(line)
        if not m:
            continue
        ir, fn, obj = int(m.group(1).replace(",", "")), m.group(2), m.group(3) or ""
        if fn == "PROGRAM TOTALS":
            continue
        split[next(p for p, f in PARTS if f(fn, obj))] += ir
    return split


def events_of(args, tmp, query):
    """The events of the query's files, from --cutflow's "all events" lines."""
    r = subprocess.run([args.anafs, "run", query, "-j", "1", "--cutflow", "-o",
                        os.path.join(tmp, "cutflow.json")],
                       capture_output=True, text=True, timeout=args.timeout)
    if r.returncode != 0:
        raise RuntimeError("anafs run %s failed: %s" % (query, r.stderr.strip()))
    n = sum(int(m.group(1)) for m in re.finditer(r"^all events\s+(\d+)", r.stdout, re.M))
    if not n:
        raise RuntimeError("no 'all events' line in the cutflow of %s" % query)
    return n


# --- checks of the results --------------------------------------------------

def nominal_cells(blob):
    """{hist: (values, variances)} of the nominal variation, as nested lists."""
    out = {}
    for name, h in json.loads(blob).items():
        axes, st = h["axes"], h["storage"]
        vi = [i for i, a in enumerate(axes) if a.get("metadata", {}).get("name") == "variation"]

        def pick(x, depth=0, vi=vi, axes=axes):
            if not vi:
                return x
            if depth == vi[0]:
                return x[axes[vi[0]]["categories"].index("nominal")]
            return [pick(y, depth + 1) for y in x]
        out[name] = tuple(pick(st[k]) for k in ("values", "variances") if k in st)
    return out


def entries(blob):
    return {n: h["metadata"]["entries"] for n, h in json.loads(blob).items()}


# --- the bench ----------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="timed runs of each configuration (median)")
    ap.add_argument("--copies", type=int, default=16,
                    help="times each sample's files are listed (default 16: 3.2 M events)")
    ap.add_argument("--anafs", default=os.path.join(ROOT, "build", "anafs"))
    ap.add_argument("--query", default=os.path.join(ROOT, "examples", "agc_ttbar.query"))
    ap.add_argument("--no-callgrind", action="store_true", help="skip the instruction counts")
    ap.add_argument("--json", metavar="FILE", help="write every figure to FILE")
    ap.add_argument("--timeout", type=int, default=300, help="seconds for one anafs run")
    ap.add_argument("--keep", action="store_true", help="leave the temp folder")
    args = ap.parse_args()
    # Every run decodes its baskets: the decoded-column cache (on by
    # default) would serve the timed runs after the first from memory.
    os.environ["ANAFS_COLCACHE"] = "off"
    if args.runs < 1 or args.copies < 1:
        ap.error("--runs and --copies must be at least 1")
    if not os.access(args.anafs, os.X_OK):
        say("agc_bench: no anafs at %s (build it, or give --anafs)" % args.anafs)
        sys.exit(1)
    q = Query(args.query)
    q.check_sets()
    use_cg = not args.no_callgrind and shutil.which("valgrind")
    tmp = tempfile.mkdtemp(prefix="anafs-agc-bench-")
    os.makedirs(os.path.join(tmp, "out"))
    try:
        rc = bench(args, q, tmp, use_cg)
    finally:
        if args.keep:
            say("temp folder kept: " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(rc)


def write(tmp, name, text):
    path = os.path.join(tmp, name + ".query")
    with open(path, "w") as f:
        f.write("# written by bench/agc_bench.py: %s\n" % name)
        f.write(text)
    return path


def plan_copies(args, q, tmp):
    """How the N-copy queries list their files: the same paths N times when
    anafs plans a file listed twice as two files, else N real copies."""
    once = write(tmp, "probe1", q.baseline(lambda fs: fs, False))
    twice = write(tmp, "probe2", q.baseline(lambda fs: fs + fs, False))
    e1, e2 = events_of(args, tmp, once), events_of(args, tmp, twice)
    if e2 == 2 * e1:
        say("a file listed twice in a sample is read twice (%d then %d events): "
            "the queries list each file %d times" % (e1, e2, args.copies))
        return (lambda fs: fs * args.copies), e1, "listed"
    say("a file listed twice in a sample gives %d events, not 2 x %d: "
        "copying the files %d times under %s" % (e2, e1, args.copies, tmp))
    where = {}
    for head, files in q.samples:
        for pat in files:
            paths = sorted(glob.glob(pat)) or [pat]
            where[pat] = []
            for src in paths:
                for i in range(args.copies):
                    dst = os.path.join(tmp, "copies", "%03d_%s" % (i, os.path.basename(src)))
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    shutil.copyfile(src, dst)
                    where[pat].append(dst)
    return (lambda fs: [c for f in fs for c in where[f]]), e1, "copied"


def bench(args, q, tmp, use_cg):
    say("agc_bench: %s, anafs %s, %s" % (os.path.relpath(q.path, ROOT), args.anafs,
                                        datetime.datetime.now().strftime("%Y-%m-%d %H:%M")))
    say("load average at the start: %.2f %.2f %.2f" % os.getloadavg())
    files_n, ev1, how = plan_copies(args, q, tmp)
    ev_n = ev1 * args.copies

    def query(key, files_of):
        if key == "read_min":
            return q.baseline(files_of, False)
        if key == "read_all":
            return q.baseline(files_of, True)
        names = dict((k, v) for k, _, v in SETS)[key]
        return q.analysis(files_of, names)

    keys = [k for k, _, _ in SETS] + [k for k, _ in BASELINES]
    labels = dict([(k, l) for k, l, _ in SETS] + BASELINES)
    qn = {k: write(tmp, k, query(k, files_n)) for k in keys}
    q1 = {k: write(tmp, k + "-1copy", query(k, lambda fs: fs)) for k in keys}
    j1 = {k: Result(k, labels[k], 1) for k in keys}
    j2 = {k: Result(k, labels[k], 2) for k in ("all", "nominal", "read_all")}
    say("%d events a copy, %d copies (%s): %d events a run; %d run(s) of each"
        % (ev1, args.copies, how, ev_n, args.runs))

    problems = []
    blobs = {}
    for rnd in range(args.runs):
        say("round %d of %d" % (rnd + 1, args.runs))
        # Every other round in reverse, so that no configuration always
        # runs just after the same neighbour (or at the same point of a
        # slow drift of the machine's load).
        order = [(j1[k], k) for k in keys] + [(res, k) for k, res in j2.items()]
        for res, k in order[::-1] if rnd % 2 else order:
            got = timed(args, tmp, res, qn[k], rnd)
            if got is not None and res.jobs == 1:
                blobs.setdefault(k, got)

    # Checks: -j 2 gives -j 1's bytes; the nominal cells of every set are
    # the nominal query's; the entries of N copies are N times one copy's.
    for k, res in j2.items():
        if res.ref is not None and j1[k].ref is not None and res.ref != j1[k].ref:
            problems.append("%s: -j 2 gave another hist.json than -j 1" % labels[k])
            res.error = "differs from -j 1"
    if "nominal" in blobs:
        ref = nominal_cells(blobs["nominal"])
        for k, _, _ in SETS:
            if k in blobs and nominal_cells(blobs[k]) != ref:
                problems.append("%s: its nominal cells differ from the nominal query's" % labels[k])
                j1[k].error = "nominal cells differ"

    cg_blob = {}
    if use_cg:
        say("callgrind, one copy (%d events), -j 1" % ev1)
        for k in [k for k in keys if k in CG_KEYS]:
            got = callgrind(args, tmp, j1[k], q1[k])
            if got is not None:
                cg_blob[k] = got
        if "nominal" in cg_blob and "nominal" in blobs:
            want = {n: e * args.copies for n, e in entries(cg_blob["nominal"]).items()}
            if entries(blobs["nominal"]) != want:
                problems.append("the nominal query over %d copies did not fill %d times "
                                "one copy's entries" % (args.copies, args.copies))
    for r in list(j1.values()) + list(j2.values()):
        if r.error:
            problems.append("%s -j %d: %s" % (r.label, r.jobs, r.error))

    report(args, ev1, ev_n, j1, j2, keys, use_cg)
    say("load average at the end: %.2f %.2f %.2f" % os.getloadavg())
    if args.json:
        dump(args, ev1, ev_n, how, j1, j2, problems)
    if problems:
        say("")
        for p in sorted(set(problems)):
            say("*** " + p + " ***")
        return 1
    return 0


def spread(xs):
    return 100.0 * (max(xs) - min(xs)) / statistics.median(xs) if xs else 0.0


def fmt(x, f="%.3f"):
    return f % x if x is not None else "-"


def per_set(label):
    """The number of variations a set's label starts with ("9: ...")."""
    return max(1, int(label.split(":")[0]))


def report(args, ev1, ev_n, j1, j2, keys, use_cg):
    say("")
    say("## Throughput: %d events a run, median of %d" % (ev_n, args.runs))
    say("")
    say("| query | -j | wall s | spread | events/s | events/s per core | CPU s | events per CPU s | speedup | RSS MB |")
    say("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for k in j2:
        one = j1[k].med(j1[k].wall)
        for r in (j1[k], j2[k]):
            w, c = r.med(r.wall), r.med(r.cpu)
            if w is None:
                say("| %s | %d | FAILED | | | | | | | |" % (r.label, r.jobs))
                continue
            say("| %s | %d | %.3f | %.0f%% | %.2f M | %.2f M | %.3f | %.2f M | %s | %.0f |"
                % (r.label, r.jobs, w, spread(r.wall), ev_n / w / 1e6, ev_n / w / r.jobs / 1e6,
                   c, ev_n / c / 1e6, fmt(one / w if one else None, "%.2fx"), r.rss_kb / 1024))
    say("")
    say("speedup: -j 1 wall / -j 2 wall (2.00x would be perfect); spread: (max - min) / median "
        "of the wall times")
    say("")
    say("## Variations and baselines: -j 1, %d events a run; Ir: callgrind, one copy (%d events)"
        % (ev_n, ev1))
    say("")
    say("| variations (obj: on Jet_pt, w: weight only) | wall s | spread | x nominal | CPU s "
        "| CPU x nominal | ns CPU/event | Ir M | Ir x nominal | Ir/event |")
    say("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    nom = j1["nominal"]
    nw, nc, ni = nom.med(nom.wall), nom.med(nom.cpu), nom.ir
    for k in keys:
        r = j1[k]
        w, c = r.med(r.wall), r.med(r.cpu)
        if w is None:
            say("| %s | FAILED: %s | | | | | | | | |" % (r.label, r.error))
            continue
        ir = r.ir
        say("| %s | %.3f | %.0f%% | %s | %.3f | %s | %.0f | %s | %s | %s |"
            % (r.label, w, spread(r.wall), fmt(w / nw if nw else None, "%.2f"), c,
               fmt(c / nc if nc else None, "%.2f"), 1e9 * c / ev_n,
               fmt(ir / 1e6 if ir else None, "%.1f"),
               fmt(ir / ni if ir and ni else None, "%.3f"),
               fmt(ir / ev1 if ir else None, "%.0f")))
    split = [k for k in keys if j1[k].split]
    if not split:
        if not use_cg:
            say("")
            say("(no valgrind, or --no-callgrind: no instruction counts)")
        return
    parts = [p for p, _ in PARTS]
    say("")
    say("## Where the instructions go (callgrind self cost, one copy, -j 1), M Ir")
    say("")
    say("| variations | " + " | ".join(parts) + " | total | over nominal | a variation |")
    say("|---|" + "---:|" * (len(parts) + 3))
    for k in split:
        r = j1[k]
        extra = (r.ir - ni) if ni else None
        each = "-"
        if extra is not None and k not in ("nominal", "read_min", "read_all"):
            each = "%.1f" % (extra / 1e6 / per_set(r.label))
        say("| %s | %s | %.1f | %s | %s |"
            % (r.label, " | ".join("%.1f" % (r.split[p] / 1e6) for p in parts), r.ir / 1e6,
               fmt(extra / 1e6 if extra is not None else None, "%+.1f"), each))
    say("")
    say("decompress: libzstd and the other codecs; reader: rootio/; evaluator: exec/eval/ and "
        "exec/hist/; libm: the math library; json: doubles to text and back (printf, strtod, "
        "util/json*: hist.json and the results); other: the rest (memcpy, the loader, the "
        "job store, planning).")
    ra, rm = j1["read_all"], j1["read_min"]
    if ni and ra.ir and nom.split and ra.split:
        say("The nominal query runs %.2fx the instructions of reading its branches (%s); "
            "beyond decompression, %.1f M against %.1f M."
            % (ni / ra.ir, ra.label, (ni - nom.split["decompress"]) / 1e6,
               (ra.ir - ra.split["decompress"]) / 1e6))
    if ni and rm.ir:
        say("Reading nJet and Jet_pt alone: %.2fx the nominal query's instructions." % (rm.ir / ni))


def dump(args, ev1, ev_n, how, j1, j2, problems):
    def one(r):
        return {"label": r.label, "jobs": r.jobs, "wall_s": r.wall, "cpu_s": r.cpu,
                "wall_median_s": r.med(r.wall), "cpu_median_s": r.med(r.cpu),
                "max_rss_kb": r.rss_kb, "callgrind_ir": r.ir, "error": r.error}
    doc = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
           "anafs": args.anafs, "runs": args.runs, "copies": args.copies, "files": how,
           "events_per_copy": ev1, "events_per_run": ev_n,
           "j1": {k: one(r) for k, r in j1.items()},
           "j2": {k: one(r) for k, r in j2.items()}, "problems": problems}
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=1)


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        say("agc_bench: %s" % e)
        sys.exit(1)
