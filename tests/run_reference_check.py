#!/usr/bin/python3
"""Histograms of the shared ROOT files, made by `anafs run` end to end, equal
the reference histograms of reference.json bin for bin.

Usage: run_reference_check.py ANAFS ROOT_DIR SCHEMA [--mount]

For every tree of reference.json with histograms (branch -> {minmax,
nice_q10_q90: {nbins, lo, hi, counts, underflow, overflow, n_nan_skipped}})
one query is written with a hist statement per reference histogram, the
same 20 regular bins over the same [lo, hi), and run with `anafs run -j 2`.
The storage values [underflow, counts..., overflow] must equal the
reference exactly, metadata.skipped_fills must equal n_nan_skipped, and
every hist.json must be valid against the UHI schema with no NaN or
Infinity token.  Branches whose names the query language cannot write
(not an identifier) and branches that are not plain numbers are skipped
and counted.  With --mount, every query is then also submitted through a
real mount (cp into jobs/) and each job's hist.json must be the bytes
`anafs run` printed: the two are one executor.  Exit status: 0 when
everything compared equal, 1 otherwise (77: --mount without /dev/fuse).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import jsonschema

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")
# Words the query language gives a meaning of its own.
RESERVED = {"and", "or", "not", "true", "false", "pi"}
NUMERIC_KINDS = {"flat", "fixed", "jagged"}
NUMERIC_DTYPES = {"bool", "int8", "uint8", "int16", "uint16", "int32", "uint32",
                  "int64", "uint64", "float32", "float64"}
BAD_TOKENS = re.compile(r"\bNaN\b|-?\bInfinity\b")


def plain_number(branch):
    """True for a branch anafs reads as numbers: flat, fixed or jagged."""
    return (branch is not None and branch.get("class") == "TBranch"
            and branch.get("kind") in NUMERIC_KINDS
            and branch.get("dtype") in NUMERIC_DTYPES)


def tree_names(trees):
    """Map 'path;cycle' to what a query writes: the path for the highest
    cycle of that path (the one a name without cycle means), 'path;cycle'
    for older cycles."""
    highest = {}
    for key, t in trees.items():
        path = t.get("path", key.rsplit(";", 1)[0])
        cycle = t.get("cycle", int(key.rsplit(";", 1)[1]))
        highest[path] = max(highest.get(path, cycle), cycle)
    out = {}
    for key, t in trees.items():
        path = t.get("path", key.rsplit(";", 1)[0])
        cycle = t.get("cycle", int(key.rsplit(";", 1)[1]))
        out[key] = path if cycle == highest[path] else "%s;%d" % (path, cycle)
    return out


class Checker:
    def __init__(self, anafs, root_dir, schema):
        self.anafs = anafs
        self.root_dir = root_dir
        self.validator = jsonschema.Draft7Validator(schema)
        self.passed = 0
        self.failed = 0
        self.skipped_name = 0
        self.skipped_type = 0
        self.queries = 0
        self.outputs = []  # (query path, what anafs run printed)

    def fail(self, what, why):
        self.failed += 1
        print("FAIL %s: %s" % (what, why))

    def run_query(self, tmp, fname, tkey, tree, hists):
        """hists: list of (key, branch, flavour, ref)."""
        lines = ["# %s %s" % (fname, tkey),
                 "dataset \"%s\"" % os.path.abspath(os.path.join(self.root_dir, fname)),
                 "tree %s" % tree]
        for key, branch, _, ref in hists:
            lines.append("hist %s = %s bins=%d range=%r,%r" %
                         (key, branch, ref["nbins"], float(ref["lo"]), float(ref["hi"])))
        qpath = os.path.join(tmp, "q%d.anq" % self.queries)
        self.queries += 1
        with open(qpath, "w") as f:
            f.write("\n".join(lines) + "\n")
        where = "%s %s" % (fname, tkey)
        p = subprocess.run([self.anafs, "run", "-j", "2", qpath], capture_output=True,
                           text=True, timeout=300)
        if p.returncode != 0:
            for _ in hists:
                self.fail(where, "anafs run exited %d: %s" % (p.returncode, p.stderr.strip()))
            return
        self.outputs.append((qpath, p.stdout.encode()))
        self.compare(where, p.stdout, hists)

    def compare(self, where, text, hists):
        if BAD_TOKENS.search(text):
            self.fail(where, "hist.json holds NaN or Infinity")
        try:
            doc = json.loads(text)
        except ValueError as e:
            for _ in hists:
                self.fail(where, "stdout is not JSON: %s" % e)
            return
        errors = sorted(self.validator.iter_errors(doc), key=lambda e: list(e.path))
        if errors:
            self.fail(where, "hist.json does not follow the UHI schema: %s at %s" %
                      (errors[0].message, "/".join(map(str, errors[0].path))))
        if set(doc) != {h[0] for h in hists}:
            self.fail(where, "histograms %s, expected %s" % (sorted(doc), sorted(h[0] for h in hists)))
        for key, branch, flavour, ref in hists:
            what = "%s %s %s" % (where, branch, flavour)
            h = doc.get(key)
            if h is None:
                continue
            want = [ref["underflow"]] + list(ref["counts"]) + [ref["overflow"]]
            ax = h.get("axes", [{}])[0]
            got = h.get("storage", {}).get("values")
            skipped = h.get("metadata", {}).get("skipped_fills")
            why = []
            if (ax.get("type") != "regular" or ax.get("bins") != ref["nbins"]
                    or ax.get("lower") != ref["lo"] or ax.get("upper") != ref["hi"]
                    or ax.get("underflow") is not True or ax.get("overflow") is not True):
                why.append("axis %s, expected %d regular bins over [%r, %r) with flow" %
                           (json.dumps(ax), ref["nbins"], ref["lo"], ref["hi"]))
            if h.get("storage", {}).get("type") != "int":
                why.append("storage type %r, expected 'int'" % h.get("storage", {}).get("type"))
            if got != want:
                why.append("values %s, expected %s" % (got, want))
            if skipped != ref["n_nan_skipped"]:
                why.append("skipped_fills %r, expected %d" % (skipped, ref["n_nan_skipped"]))
            if why:
                self.fail(what, "; ".join(why))
            else:
                self.passed += 1

    def through_mount(self, tmp):
        """Submit every query through a mount; hist.json must be anafs run's."""
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import mount_util as t
        try:
            m = t.Mount(os.path.abspath(self.anafs), t.tmpdir("anafs-runref-mnt-"), "ref",
                        "--workers", "2")
            jobs = []
            for i, (qpath, _) in enumerate(self.outputs):
                jobs.append(m.submit("ref%d" % i, t.read(qpath)))
            same = 0
            for job, (qpath, out) in zip(jobs, self.outputs):
                st = t.cat_wait(m.mnt, job, 120)
                got = t.read("%s/%s/hist.json" % (m.jobs, job), "rb")
                if st == "done" and got == out:
                    same += 1
                else:
                    self.fail("mount " + qpath, "job %s %s: hist.json differs from anafs run "
                              "(%d vs %d bytes)" % (job, st, len(got), len(out)))
            print("%d of %d queries: the mount's hist.json is anafs run's, byte for byte"
                  % (same, len(self.outputs)))
            m.umount()
        finally:
            t.cleanup()

    def run(self, ref, mount=False):
        with tempfile.TemporaryDirectory(prefix="anafs-runref-") as tmp:
            for fname, f in sorted(ref["files"].items()):
                names = tree_names(f.get("trees", {}))
                for tkey, t in sorted(f.get("trees", {}).items()):
                    hists = []
                    for branch, flavours in sorted(t.get("histograms", {}).items()):
                        if not IDENT.match(branch) or branch in RESERVED:
                            self.skipped_name += len(flavours)
                            continue
                        if not plain_number(t.get("branches", {}).get(branch)):
                            self.skipped_type += len(flavours)
                            continue
                        for flavour, h in sorted(flavours.items()):
                            hists.append(("h%d" % len(hists), branch, flavour, h))
                    if hists:
                        self.run_query(tmp, fname, tkey, names[tkey], hists)
            if mount:
                self.through_mount(tmp)


def main():
    mount = sys.argv[-1] == "--mount"
    args = sys.argv[1:-1] if mount else sys.argv[1:]
    if len(args) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    if mount and not os.path.exists("/dev/fuse"):
        print("SKIP: no /dev/fuse")
        return 77
    anafs, root_dir, schema_path = args
    with open(os.path.join(root_dir, "reference.json")) as f:
        ref = json.load(f)
    with open(schema_path) as f:
        schema = json.load(f)
    c = Checker(anafs, root_dir, schema)
    c.run(ref, mount)
    print("%d passed, %d failed (%d queries; skipped: %d histograms of branches not "
          "written as names, %d of branches not plain numbers)" %
          (c.passed, c.failed, c.queries, c.skipped_name, c.skipped_type))
    if c.passed == 0:
        print("FAIL: nothing was compared")
        return 1
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
