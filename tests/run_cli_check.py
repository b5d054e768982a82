#!/usr/bin/python3
"""`anafs run` as a user runs it: hist.json on stdout or in a file, the
cutflow, determinism across thread counts, dataset paths, and the exit
status and message of each failure.

Usage: run_cli_check.py ANAFS ROOT_DIR SCHEMA

Counts are checked against reference.json (the NMuon and Muon_Px
histograms of uproot-HZZ-zlib.root).  Every query is written into a private
temporary directory.  Exit status: 0 when every check passed, 1 otherwise.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import jsonschema

HZZ = "uproot-HZZ-zlib.root"
BIG = "uproot-hepdata-example.root"  # 75000 entries: several tasks
FAILED = []


def check(cond, what, detail=""):
    if cond:
        print("ok   %s" % what)
    else:
        FAILED.append(what)
        print("FAIL %s%s" % (what, (": " + detail) if detail else ""))
    return cond


class Env:
    def __init__(self, anafs, root_dir, schema, tmp):
        self.anafs = os.path.abspath(anafs)
        self.root = os.path.abspath(root_dir)
        self.validator = jsonschema.Draft7Validator(schema)
        self.tmp = tmp
        with open(os.path.join(self.root, "reference.json")) as f:
            self.ref = json.load(f)
        self.nq = 0

    def data(self, name):
        return os.path.join(self.root, name)

    def query(self, text, name=None, where=None):
        """Write text into a query file; returns its path."""
        self.nq += 1
        path = os.path.join(where or self.tmp, name or "q%d.anq" % self.nq)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run(self, *args, cwd=None, stdin=None):
        return subprocess.run([self.anafs, "run"] + list(args), capture_output=True,
                              text=True, timeout=300, cwd=cwd or self.tmp, input=stdin)

    def hzz_ref(self, branch):
        return self.ref["files"][HZZ]["trees"]["events;1"]["histograms"][branch]["minmax"]

    def valid_json(self, what, text):
        """Parse and validate hist.json; None when it is not."""
        if not check(not re.search(r"\bNaN\b|\bInfinity\b", text), what + ": no NaN/Infinity"):
            return None
        try:
            doc = json.loads(text)
        except ValueError as e:
            check(False, what + ": stdout is JSON", str(e))
            return None
        errs = list(self.validator.iter_errors(doc))
        check(not errs, what + ": hist.json follows the UHI schema",
              errs[0].message if errs else "")
        return doc


def values(doc, name):
    return doc[name]["storage"]["values"]


def nmuon_counts(env):
    """Events by NMuon (0..4) from the reference minmax histogram over
    [0, 4): value v lands in bin 5v, and 4 (the max) in overflow."""
    r = env.hzz_ref("NMuon")
    assert r["lo"] == 0 and r["hi"] == 4 and r["nbins"] == 20
    return [r["counts"][5 * v] for v in range(4)] + [r["overflow"]]


def test_good(env):
    r = env.hzz_ref("Muon_Px")
    q = env.query("dataset %s\ntree events\nhist mpx = Muon_Px bins=20 range=%r,%r\n"
                  % (env.data(HZZ), r["lo"], r["hi"]))
    p = env.run(q)
    check(p.returncode == 0, "good query: exit 0", p.stderr)
    doc = env.valid_json("good query", p.stdout)
    if doc:
        want = [r["underflow"]] + r["counts"] + [r["overflow"]]
        check(list(doc) == ["mpx"] and values(doc, "mpx") == want,
              "good query: Muon_Px counts equal the reference", "%s" % doc)
        check(doc["mpx"]["metadata"].get("entries") == sum(want),
              "good query: metadata.entries is the number of fills")
    check(p.stdout.startswith('{\n "mpx": {\n  "uhi_schema": 1,\n')
          and p.stdout.endswith("\n}\n"),
          "good query: hist.json is pretty-printed (query.md#histjson), "
          "ending in a newline", p.stdout[:80])

    # The query on stdin ("-"): paths relative to the current directory.
    p2 = env.run("-", cwd=env.root, stdin="dataset %s\ntree events\nhist mpx = Muon_Px "
                 "bins=20 range=%r,%r\n" % (HZZ, r["lo"], r["hi"]))
    check(p2.returncode == 0 and p2.stdout == p.stdout,
          "query on stdin: same hist.json, dataset relative to the working directory",
          p2.stderr)


def test_cutflow(env):
    n = nmuon_counts(env)
    q = env.query("dataset %s\ntree events\nfilter NMuon >= 1\nfilter two: NMuon >= 2\n"
                  "filter NMuon >= 3 && NMuon < 4\nhist h = NMuon bins=5 range=0,5\n"
                  % env.data(HZZ))
    p = env.run("--cutflow", "-j", "2", q)
    check(p.returncode == 0, "--cutflow: exit 0", p.stderr)
    lines = p.stdout.splitlines()
    check(len(lines) == 5, "--cutflow: header, all events, one line per filter, nothing else",
          repr(p.stdout))
    if len(lines) < 5:
        return
    check(lines[0].split() == ["filter", "events", "eff", "cumul"], "--cutflow: header line",
          lines[0])
    total = sum(n)
    check(lines[1].split() == ["all", "events", str(total)],
          "--cutflow: 'all events' line has the tree's %d entries" % total, lines[1])
    want = [("NMuon >= 1", total - n[0]), ("two", n[2] + n[3] + n[4]),
            ("NMuon >= 3 && NMuon < 4", n[3])]
    prev = total
    for (name, count), line in zip(want, lines[2:]):
        m = re.match(r"(.*\S)\s+(\d+)\s+([\d.]+)%\s+([\d.]+)%$", line)
        ok = m and m.group(1) == name and int(m.group(2)) == count
        check(ok, "--cutflow: filter '%s' passes %d events" % (name, count), line)
        if m:
            eff = 100.0 * count / prev if prev else 0.0
            cum = 100.0 * count / total
            check(abs(float(m.group(3)) - eff) < 0.006 and abs(float(m.group(4)) - cum) < 0.006,
                  "--cutflow: '%s' efficiency %.2f%% and cumulative %.2f%%" % (name, eff, cum),
                  line)
        check(count <= prev, "--cutflow: counts do not increase")
        prev = count


def test_output_file(env):
    q = env.query("dataset %s\ntree events\nhist n = NMuon bins=5 range=0,5\n" % env.data(HZZ))
    p0 = env.run(q)
    out = os.path.join(env.tmp, "out.json")
    p = env.run("-o", out, q)
    check(p.returncode == 0 and p.stdout == "", "-o FILE: exit 0, nothing on stdout",
          p.stderr + p.stdout)
    got = open(out).read() if os.path.exists(out) else None
    check(got is not None and got == p0.stdout, "-o FILE: the file holds the hist.json of stdout")
    n = nmuon_counts(env)
    if got:
        doc = env.valid_json("-o FILE", got)
        check(doc and values(doc, "n") == [0] + n + [0], "-o FILE: NMuon counts",
              str(doc and values(doc, "n")))
    # -o with --cutflow: the histograms in the file, the cutflow on stdout.
    out2 = os.path.join(env.tmp, "out2.json")
    p = env.run("--cutflow", "-o", out2, q)
    check(p.returncode == 0 and p.stdout.startswith("filter") and os.path.exists(out2)
          and open(out2).read() == p0.stdout,
          "-o FILE --cutflow: hist.json in the file, the cutflow on stdout", p.stderr)
    bad = env.run("-o", os.path.join(env.tmp, "no", "such", "dir.json"), q)
    check(bad.returncode == 1 and "dir.json" in bad.stderr,
          "-o into a missing directory: exit 1, the message names the file", bad.stderr)


def test_determinism(env):
    q = env.query("dataset %s\ntree ntuple\n"
                  "hist px = px bins=50 range=-3,3\n"
                  "hist w = px bins=50 range=-3,3 weight=py * pz + 0.1\n"
                  "hist pxpy = px, py bins=10,10 range=-2,2,-2,2 weight=sqrt(abs(pz))\n"
                  "filter pz > 0.5\n"
                  "hist pz = pz bins=40 range=0,10 weight=1 / (pz * 3)\n"
                  % env.data(BIG))
    outs = {}
    for j in ("1", "2", "3", "8"):
        p = env.run("-j", j, q)
        check(p.returncode == 0, "-j %s: exit 0" % j, p.stderr)
        outs[j] = p.stdout
    check(all(o == outs["1"] for o in outs.values()),
          "-j 1, 2, 3, 8: byte-identical hist.json (weighted sums merged in one order)")
    doc = env.valid_json("determinism", outs["1"])
    if doc:
        check(sum(values(doc, "px")) == 75000, "all 75000 entries of %s filled" % BIG)
        check(doc["w"]["storage"]["type"] == "weighted" and "variances" in doc["w"]["storage"],
              "weighted histogram: weighted storage with variances")
    p = env.run("-j2", q)
    check(p.returncode == 0 and p.stdout == outs["1"], "-j2 (joined) as -j 2", p.stderr)


def test_query_errors(env):
    q = env.query("dataset %s\ntree events\n\nhist h = Muon_Pxx bins=10 range=0,1\n"
                  % env.data(HZZ), name="typo.anq")
    p = env.run(q)
    check(p.returncode == 1, "unknown branch: exit 1", "exit %d" % p.returncode)
    check(p.stdout == "", "unknown branch: nothing on stdout", p.stdout[:200])
    lines = p.stderr.splitlines()
    check(len(lines) >= 3 and lines[0].startswith(q + ":4:10: error: ")
          and "Muon_Pxx" in lines[0],
          "unknown branch: 'file:line:col: error:' names the branch", p.stderr)
    if len(lines) >= 3:
        check("hist h = Muon_Pxx" in lines[1] and lines[2].strip().startswith("^")
              and lines[2].index("^") == lines[1].index("Muon_Pxx"),
              "unknown branch: the line, a caret under the name", p.stderr)
    check(re.search(r"hint: did you mean .*Muon_Px", p.stderr) is not None,
          "unknown branch: 'hint: did you mean' Muon_Px", p.stderr)

    p = env.run(env.query("dataset %s\ntree events\nhist h = NMuon bins=10 range=1,0\n"
                          % env.data(HZZ)))
    check(p.returncode == 1 and ":3:" in p.stderr and "range" in p.stderr,
          "bad range: exit 1, line 3, about the range", p.stderr)
    p = env.run(env.query("tree events\nhist h = NMuon bins=10 range=0,1\n"))
    check(p.returncode == 1 and "dataset" in p.stderr, "no dataset: exit 1, says so", p.stderr)
    p = env.run(env.query("dataset %s\ntree nosuchtree\nhist h = NMuon bins=10 range=0,1\n"
                          % env.data(HZZ)))
    check(p.returncode == 1 and "nosuchtree" in p.stderr,
          "missing tree: exit 1, the message names the tree", p.stderr)
    p = env.run(os.path.join(env.tmp, "no-such-query.anq"))
    check(p.returncode == 1 and "no-such-query.anq" in p.stderr,
          "missing query file: exit 1, the message names it", p.stderr)


def test_dataset_errors(env):
    missing = os.path.join(env.tmp, "absent", "nofile.root")
    p = env.run(env.query("dataset %s %s\ntree events\nhist h = NMuon bins=10 range=0,1\n"
                          % (env.data(HZZ), missing)))
    check(p.returncode == 1 and "nofile.root" in p.stderr,
          "missing file in dataset: exit 1, the message names the file", p.stderr)
    p = env.run(env.query("dataset %s\ntree events\nhist h = NMuon bins=10 range=0,1\n"
                          % os.path.join(env.tmp, "nothing-*.root")))
    check(p.returncode == 1 and p.stdout == "" and "nothing-*.root" in p.stderr,
          "glob matching nothing: exit 1, the message names the pattern", p.stderr)
    notroot = env.query("this is not a ROOT file\n", name="notroot.root")
    p = env.run(env.query("dataset %s\ntree events\nhist h = NMuon bins=10 range=0,1\n" % notroot))
    check(p.returncode == 1 and "notroot.root" in p.stderr,
          "not a ROOT file: exit 1, the message names it", p.stderr)


def test_usage(env):
    q = env.query("dataset %s\ntree events\nhist h = NMuon bins=10 range=0,1\n" % env.data(HZZ))
    cases = [[], ["-j"], ["-j", "0", q], ["-j", "x", q], ["-j", "-3", q], ["-j0", q],
             ["--bogus", q], [q, q], ["-o"], [q, "-o"], ["-j", "1"]]
    for args in cases:
        p = env.run(*args)
        check(p.returncode == 2 and "usage" in p.stderr and p.stdout == "",
              "usage error %s: exit 2 with the usage" % " ".join(args).replace(env.tmp, "T"),
              "exit %d %s" % (p.returncode, p.stderr.strip()))


def test_relative_paths(env):
    sub = os.path.join(env.tmp, "analysis")
    os.makedirs(os.path.join(sub, "data"))
    os.symlink(env.data(HZZ), os.path.join(sub, "data", "a.root"))
    os.symlink(env.data(HZZ), os.path.join(sub, "data", "b.root"))
    one = env.query("dataset data/a.root\ntree events\nhist n = NMuon bins=5 range=0,5\n",
                    name="one.anq", where=sub)
    n = nmuon_counts(env)
    elsewhere = os.path.join(env.tmp, "elsewhere")
    os.makedirs(elsewhere)
    p = env.run(one, cwd=elsewhere)
    check(p.returncode == 0, "relative dataset: resolved from the query's folder", p.stderr)
    doc = env.valid_json("relative dataset", p.stdout) if p.returncode == 0 else None
    check(doc and values(doc, "n") == [0] + n + [0], "relative dataset: NMuon counts")
    p = env.run(os.path.join("analysis", "one.anq"), cwd=env.tmp)
    check(p.returncode == 0 and p.stdout and json.loads(p.stdout) == doc,
          "relative query path: dataset still relative to the query's folder", p.stderr)

    for text, what in [("dataset data/a.root data/b.root\n", "two paths on one line"),
                       ("dataset data/a.root\ndataset data/b.root\n", "two dataset lines"),
                       ("dataset data/*.root\n", "a glob")]:
        q = env.query(text + "tree events\nhist n = NMuon bins=5 range=0,5\n"
                      "hist px = Muon_Px bins=7 range=-50,50 weight=0.5\n", where=sub)
        p = env.run("-j", "2", q, cwd=elsewhere)
        two = env.valid_json("two files (%s)" % what, p.stdout) if p.returncode == 0 else None
        check(two and values(two, "n") == [0] + [2 * k for k in n] + [0],
              "the same file twice (%s): counts exactly double" % what,
              p.stderr or str(two and values(two, "n")))
        p1 = env.run(env.query("dataset data/a.root\ntree events\nhist n = NMuon bins=5 "
                               "range=0,5\nhist px = Muon_Px bins=7 range=-50,50 weight=0.5\n",
                               where=sub))
        single = json.loads(p1.stdout) if p1.returncode == 0 else None
        check(two and single and values(two, "px") ==
              [2 * v for v in values(single, "px")] and
              two["px"]["storage"]["variances"] == [2 * v for v in single["px"]["storage"]["variances"]],
              "the same file twice (%s): weighted sums exactly double" % what)


def test_filter_order(env):
    n = nmuon_counts(env)
    q = env.query("dataset %s\ntree events\n"
                  "hist before = NMuon bins=5 range=0,5\n"
                  "filter NMuon >= 2\n"
                  "hist after = NMuon bins=5 range=0,5\n"
                  "define two = NMuon == 2\n"
                  "filter two\n"
                  "hist last = NMuon bins=5 range=0,5\n" % env.data(HZZ))
    p = env.run("-j", "2", q)
    doc = env.valid_json("filter order", p.stdout) if p.returncode == 0 else None
    check(p.returncode == 0, "filters and hists interleaved: exit 0", p.stderr)
    if doc:
        check(list(doc) == ["before", "after", "last"], "histograms in query order", str(list(doc)))
        check(values(doc, "before") == [0] + n + [0], "a hist before a filter sees every event",
              str(values(doc, "before")))
        check(values(doc, "after") == [0, 0, 0, n[2], n[3], n[4], 0],
              "a hist after a filter sees only the events passing it", str(values(doc, "after")))
        check(values(doc, "last") == [0, 0, 0, n[2], 0, 0, 0],
              "a hist after two filters sees the events passing both", str(values(doc, "last")))


def test_limits(env):
    """What the query language promises to refuse with an error, not a crash
    or a silently different result."""
    d = env.data(HZZ)
    # Nesting: QL_MAX_DEPTH bounds expressions; a long chain must not crash.
    for what, expr in [("a chain of 30000 '+'", "+".join(["1"] * 30000)),
                       ("a chain of 30000 '**'", "**".join(["1"] * 30000)),
                       ("30000 nested indexes", "Muon_Px" + "[0]" * 30000),
                       ("300 nested parentheses", "(" * 300 + "1" + ")" * 300)]:
        p = env.run(env.query("dataset %s\ntree events\nhist h = %s bins=1 range=0,1\n"
                              % (d, expr)))
        check(p.returncode in (0, 1) and (p.returncode == 0 or ":3:" in p.stderr),
              "%s: a result or an error at line 3, not a crash" % what,
              "exit %d %s" % (p.returncode, p.stderr[:200]))
    # Every histogram of the query is in hist.json.
    q = env.query("dataset %s\ntree events\n" % d +
                  "".join("hist h%d = NMuon bins=1 range=0,%d\n" % (i, i + 1)
                          for i in range(1100)))
    p = env.run("-j", "2", q)
    doc = json.loads(p.stdout) if p.returncode == 0 else {}
    check(p.returncode == 1 or len(doc) == 1100,
          "1100 histograms: all in hist.json (or an error)",
          "exit %d, %d histograms" % (p.returncode, len(doc)))
    # Masked lists line up only when their masks are the same expression,
    # whether or not the masks are continued over several lines.
    for sep in (" ", " \\\n    "):
        q = env.query("dataset %s\ntree events\n"
                      "hist d = count(Muon_Px[Muon_Px > 0 &&%sMuon_Py > 1000] + "
                      "Muon_Py[Muon_Px > 0 &&%sMuon_Py > 0]) bins=4 range=0,4\n" % (d, sep, sep))
        p = env.run(q)
        check(p.returncode == 1 and "line up" in p.stderr,
              "lists under different masks%s: refused" %
              (" (continued lines)" if "\\" in sep else ""),
              "exit %d %s" % (p.returncode, (p.stderr or p.stdout)[:300]))
    # An integer and a float literal that print alike are different masks:
    # x % 0 is 0 for integers, NaN for floats.
    imask, fmask = "Muon_Charge % 0 == 0", "Muon_Charge % 0.0 == 0"
    p = env.run(env.query("dataset %s\ntree events\nhist s = count(Muon_Px[%s] + Muon_Py[%s]) "
                          "bins=5 range=0,5\n" % (d, imask, fmask)))
    check(p.returncode == 1 and "line up" in p.stderr,
          "lists under masks '%s' and '%s': refused" % (imask, fmask),
          "exit %d %s" % (p.returncode, (p.stderr or p.stdout)[:300]))
    n = nmuon_counts(env)
    alone = "hist a = count(Muon_Px[%s]) bins=5 range=0,5\n" % imask
    p = env.run(env.query("dataset %s\ntree events\nhist b = count(Muon_Py[%s]) bins=5 "
                          "range=0,5\n%s" % (d, fmask, alone)))
    doc = json.loads(p.stdout) if p.returncode == 0 else {}
    check(doc and values(doc, "a") == [0] + n + [0] and values(doc, "b") == [0, 2421] + [0] * 5,
          "masks '%s' and '%s' in two histograms: each its own list" % (imask, fmask),
          "exit %d %s" % (p.returncode, {k: values(doc, k) for k in doc} if doc else p.stderr))


def main():
    if len(sys.argv) != 4:
        print("usage: run_cli_check.py ANAFS ROOT_DIR SCHEMA", file=sys.stderr)
        return 2
    anafs, root_dir, schema_path = sys.argv[1:]
    with open(schema_path) as f:
        schema = json.load(f)
    with tempfile.TemporaryDirectory(prefix="anafs-runcli-") as tmp:
        env = Env(anafs, root_dir, schema, os.path.realpath(tmp))
        for t in (test_good, test_cutflow, test_output_file, test_determinism,
                  test_query_errors, test_dataset_errors, test_usage, test_relative_paths,
                  test_filter_order, test_limits):
            t(env)
    if FAILED:
        print("%d checks failed:" % len(FAILED))
        for f in FAILED:
            print("  " + f)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
