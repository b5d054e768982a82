#!/usr/bin/python3
"""ref_check.py -- compare what the ROOT reader reads with reference.json.

usage: ref_check.py REF_DUMP DATA_DIR [-v] [FILE.root ...]

For every file listed in DATA_DIR/reference.json (or only the files named),
run REF_DUMP (tests/ref_dump.c) on it with the reference histograms as
requests on stdin, and check every tree and branch the reference lists:
entry counts, kinds and types, value counts, exact integer sums, float sums
to 1e-9 relative, min, max, NaN and Inf counts, jagged multiplicities, the
first entries and every histogram bin.

Values of Float16_t and Double32_t leaves with a range are compared to
within a few units in the last place (two quantization steps for 32 bits):
the reference computes them as uproot does, raw * ((hi - lo) / 2**nbits) +
lo (in float32 for Float16_t, and with 2**32 where ROOT uses 0xffffffff for
32 bits), while ROOT's TBufferFile::ReadWithFactor computes raw / factor +
lo in double.  Both decode the same stored integers.

Plain TBranch branches must be read and match.  TBranchElement branches
(and their sub-branches) may be reported unsupported; if the reader returns
values for them they must match like any other.  Exit status 0 when
everything matched, 1 otherwise.
"""
import json
import math
import os
import re
import subprocess
import sys

INT_TYPES = {"bool", "int8", "uint8", "int16", "uint16", "int32", "uint32",
             "int64", "uint64"}
FLOAT_TYPES = {"float32", "float64"}
REL_TOL = 1e-9
MAX_DETAIL = 30
PACKED = re.compile(r"As(Double32|Float16)\(([-+.0-9eE]+), ([-+.0-9eE]+), (\d+)")


class Branch:
    """The outcome for one reference branch (or one leaf of a leaf list)."""

    def __init__(self, file, tree, name):
        self.file, self.tree, self.name = file, tree, name
        self.status = "ok"  # ok, unsupported, unchecked, failed
        self.problems = []  # (field, expected, got)

    def fail(self, field, expected, got):
        self.status = "failed"
        self.problems.append((field, expected, got))


def packed_tolerance(ref):
    """How far a Float16_t/Double32_t value with a range may be from the
    reference (see the top of this file); 0 for every other leaf."""
    m = PACKED.match(ref.get("interpretation", ""))
    if not m:
        return 0.0
    lo, hi, nbits = float(m.group(2)), float(m.group(3)), int(m.group(4))
    if not lo < hi:  # no range: the bits are copied, no arithmetic
        return 0.0
    ulp = 2.0 ** (-23 if m.group(1) == "Float16" else -52)
    tol = 8 * ulp * max(abs(lo), abs(hi))  # rounding of the two formulas
    if nbits == 32:  # 2**32 against 0xffffffff: up to one step apart
        tol += 2 * (hi - lo) / 2.0 ** 32
    return tol


def num_eq(a, b, tol=0.0):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    try:
        a, b = float(a), float(b)
    except (TypeError, ValueError):
        return False
    return a == b or abs(a - b) <= tol


def head_eq(ref, got, tol=0.0):
    """Comparison of heads; "nan" strings equal "nan" strings."""
    if isinstance(ref, list) or isinstance(got, list):
        return (isinstance(ref, list) and isinstance(got, list)
                and len(ref) == len(got)
                and all(head_eq(r, g, tol) for r, g in zip(ref, got)))
    if isinstance(ref, str) or isinstance(got, str):
        return ref == got
    return num_eq(ref, got, tol)


def sum_eq(dtype, ref, got, col, tol=0.0):
    if dtype in INT_TYPES:
        return isinstance(ref, int) and int(got) == ref
    if ref is None:  # every value NaN: nothing was summed
        return col.get("n_nan") == col.get("count")
    g = float(got)
    if math.isinf(ref) or math.isinf(g):
        return ref == g
    return abs(ref - g) <= REL_TOL * max(abs(ref), abs(g)) + tol * col.get("count", 0)


def expected_kind(ref):
    """The reader's kind name for a reference branch, or None: either."""
    kind = ref["kind"]
    if kind in ("flat", "fixed", "jagged", "string"):
        return kind
    head = ref.get("head")
    if kind == "element" and head and not isinstance(head[0], list):
        return "flat"
    return None


def compare_stats(br, ref, col):
    """Compare the stats of one reference branch or leaf with a column."""
    dtype = ref.get("dtype")
    tol = packed_tolerance(ref)
    got = col.get("type")
    # An object branch's member declared unsigned but stored as ROOT's
    # "counter" code carries its signedness only in the class's streamer
    # info, which anafs does not read: accept the other signedness there
    # (object branches are outside NanoAOD scope); the values still match.
    signed_only = (ref.get("class") == "TBranchElement" and got and dtype
                   and got.lstrip("u") == dtype.lstrip("u"))
    if dtype is not None and got != dtype and not signed_only:
        br.fail("type", dtype, got)
    if "count" not in ref:
        return
    for field in ("count", "total_chars", "n_nan", "n_inf",
                  "n_empty_entries", "max_multiplicity"):
        if field in ref and ref[field] != col.get(field):
            br.fail(field, ref[field], col.get(field))
    if dtype != "string" and "sum" in ref:
        if "sum" not in col or not sum_eq(dtype, ref["sum"], col["sum"], col, tol):
            br.fail("sum", ref["sum"], col.get("sum"))
        for field in ("min", "max"):
            if not num_eq(ref[field], col.get(field), tol):
                br.fail(field, ref[field], col.get(field))
    if "head" in ref and not head_eq(ref["head"], col.get("head"), tol):
        br.fail("head", ref["head"], col.get("head"))


def compare_shape(br, ref, col):
    """Kind, fixed length and counter of a readable column."""
    kind = expected_kind(ref)
    if kind is not None and col["kind"] != kind:
        br.fail("kind", kind, col["kind"])
    if ref["kind"] == "fixed" and col.get("fixed_len") != ref.get("fixed_len"):
        br.fail("fixed_len", ref.get("fixed_len"), col.get("fixed_len"))
    if ref["kind"] == "jagged" and ref.get("counter") is not None \
            and col.get("counter") != ref["counter"]:
        br.fail("counter", ref["counter"], col.get("counter"))


def compare_hists(br, tree, name, requests, dump):
    for hname, h in sorted(tree["histograms"].get(name, {}).items()):
        got = dump["hists"].get(requests[(tree["key"], name, hname)])
        if got is None:
            br.fail("hist " + hname, "histogram", "none printed")
            continue
        for field, gfield in (("counts", "counts"), ("underflow", "underflow"),
                              ("overflow", "overflow"), ("n_nan_skipped", "n_nan")):
            if h[field] != got.get(gfield):
                br.fail("hist %s %s" % (hname, field), h[field], got.get(gfield))


def unsupported_ancestor(name, columns):
    """True when the column of an ancestor branch is reported unsupported."""
    parts = name.split("/")
    for i in range(1, len(parts)):
        col = columns.get("/".join(parts[:i]))
        if col is not None and col["kind"] == "unsupported":
            return True
    return False


def check_column(br, ref, col, is_element):
    """Common checks of a column that the reference expects to exist."""
    if col.get("kind") == "unsupported":
        if is_element:
            br.status = "unsupported"
        else:
            br.fail("kind", ref.get("kind"), "unsupported: %s" % col.get("note"))
        return False
    if "error" in col:
        br.fail("read", "values", col["error"])
        return False
    return True


def check_branch(file, tree, name, ref, dump, requests):
    """Check one reference branch; returns a list of Branch outcomes."""
    cols = dump["columns"].get(tree["key"], {})
    is_element = ref["class"] == "TBranchElement"
    if ref["kind"] == "group":
        return [Branch(file, tree["key"], name)]
    if ref["kind"] == "leaflist":
        out = []
        for leaf, stats in ref["leaf_stats"].items():
            br = Branch(file, tree["key"], name + "." + leaf)
            col = cols.get(br.name)
            if col is None:
                br.fail("column", br.name, "missing")
            elif check_column(br, ref, col, is_element):
                if col["kind"] != "flat":
                    br.fail("kind", "flat", col["kind"])
                compare_stats(br, stats, col)
            out.append(br)
        return out
    br = Branch(file, tree["key"], name)
    col = cols.get(name)
    if col is None:
        if is_element and unsupported_ancestor(name, cols):
            br.status = "unsupported"
        else:
            br.fail("column", name, "missing")
        return [br]
    if not check_column(br, ref, col, is_element):
        return [br]
    if "count" not in ref and "dtype" not in ref:
        br.status = "unchecked"  # read, but the reference has no values
        return [br]
    compare_shape(br, ref, col)
    compare_stats(br, ref, col)
    compare_hists(br, tree, name, requests, dump)
    return [br]


def run_dump(binary, path, requests):
    """Run ref_dump on one file; returns the parsed output."""
    lines = []
    for (tkey, column, _), (index, h) in sorted(requests.items(),
                                                 key=lambda kv: kv[1][0]):
        lines.append("%s\t%s\t%r\t%r\t%d" % (tkey, column, float(h["lo"]),
                                             float(h["hi"]), h["nbins"]))
    proc = subprocess.run([binary, path], input="".join(l + "\n" for l in lines)
                          .encode(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    dump = {"trees": {}, "columns": {}, "hists": {}, "errors": [], "done": False}
    for raw in proc.stdout.decode("utf-8", "surrogateescape").splitlines():
        try:
            obj = json.loads(raw)
        except ValueError:
            dump["errors"].append("unparsable line: " + raw[:200])
            continue
        if "done" in obj:
            dump["done"] = True
        elif "file" in obj:
            dump["errors"].append("file: " + obj.get("error", "?"))
        elif "hist" in obj:
            dump["hists"][obj["hist"]] = obj
        elif "column" in obj:
            dump["columns"].setdefault(obj["tree"], {})[obj["column"]] = obj
        else:
            dump["trees"][obj["tree"]] = obj
    if proc.returncode not in (0, 1) or not dump["done"]:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-8:]
        dump["errors"].append("ref_dump exited %d%s: %s" % (
            proc.returncode, "" if dump["done"] else " before the end",
            " | ".join(tail)))
    return dump


def check_file(binary, data_dir, fname, fref):
    """Check one file; returns (outcomes, file-level problems, extras)."""
    requests = {}
    for tkey, tree in fref["trees"].items():
        tree["key"] = tkey
        for bname, hs in sorted(tree["histograms"].items()):
            for hname, h in sorted(hs.items()):
                requests[(tkey, bname, hname)] = (len(requests), h)
    dump = run_dump(binary, os.path.join(data_dir, fname), requests)
    index = {k: v[0] for k, v in requests.items()}
    out, extras = [], []
    problems = list(dump["errors"])
    for tkey, tree in fref["trees"].items():
        t = dump["trees"].get(tkey)
        tree_bad = None
        if t is None:
            tree_bad = "tree not listed"
        elif "error" in t:
            tree_bad = t["error"]
        elif t.get("entries") != tree["entries"]:
            problems.append("%s: entries %s, expected %d" % (
                tkey, t.get("entries"), tree["entries"]))
        expected = set()
        for bname, ref in tree["branches"].items():
            if tree_bad is not None:
                br = Branch(fname, tkey, bname)
                br.fail("tree", tkey, tree_bad)
                out.append(br)
                continue
            for br in check_branch(fname, tree, bname, ref, dump, index):
                expected.add(br.name)
                out.append(br)
        for cname, col in dump["columns"].get(tkey, {}).items():
            if cname not in expected and col.get("kind") != "unsupported":
                extras.append("%s: %s" % (tkey, cname))
    for tkey in dump["trees"]:
        if tkey not in fref["trees"]:
            problems.append("tree %s is not in the reference" % tkey)
    return out, problems, extras


def short(v, n=110):
    s = json.dumps(v) if not isinstance(v, str) else v
    return s if len(s) <= n else s[:n] + "..."


def report(results, verbose):
    npass = nfail = 0
    failed = []
    by_field = {}
    for fname, (out, problems, extras) in results:
        counts = {"ok": 0, "unsupported": 0, "unchecked": 0, "failed": 0}
        for br in out:
            counts[br.status] += 1
            if br.status == "failed":
                failed.append(br)
                for field, _, _ in br.problems:
                    by_field.setdefault(field.split(" ")[0] if not field.startswith("hist")
                                        else "hist", set()).add((fname, br.tree, br.name))
        bad = counts["failed"] + len(problems) + len(extras)
        print("%-42s ok %5d  unsupported %3d  unchecked %2d  failed %5d%s" % (
            fname, counts["ok"], counts["unsupported"], counts["unchecked"],
            counts["failed"], "" if not (problems or extras) else
            "  +%d file problems" % (len(problems) + len(extras))))
        for p in problems:
            print("    problem: " + short(p, 300))
        for e in extras[:5]:
            print("    unexpected readable column (not in the reference): " + e)
        if len(extras) > 5:
            print("    ... %d more unexpected columns" % (len(extras) - 5))
        npass += counts["ok"] + counts["unsupported"] + counts["unchecked"]
        nfail += counts["failed"] + (1 if problems or extras else 0)
    if by_field:
        print("\nfailures by field:")
        for field, names in sorted(by_field.items(), key=lambda kv: -len(kv[1])):
            ex = sorted(names)[:3]
            print("  %-18s %5d branches, e.g. %s" % (
                field, len(names), "; ".join("%s %s %s" % e for e in ex)))
    if failed:
        print("\nfirst failures:")
    for br in failed[: None if verbose else MAX_DETAIL]:
        for field, exp, got in br.problems[:4]:
            print("  %s %s %s: %s expected %s got %s" % (
                br.file, br.tree, br.name, field, short(exp), short(got)))
        if len(br.problems) > 4:
            print("    ... %d more fields" % (len(br.problems) - 4))
    if len(failed) > MAX_DETAIL and not verbose:
        print("  ... %d more failing branches (-v lists all)" % (len(failed) - MAX_DETAIL))
    print("\n%d passed, %d failed" % (npass, nfail))
    return nfail


def main(argv):
    verbose = "-v" in argv
    args = [a for a in argv[1:] if a != "-v"]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary, data_dir, only = args[0], args[1], set(args[2:])
    with open(os.path.join(data_dir, "reference.json")) as f:
        ref = json.load(f)
    results = []
    for fname, fref in sorted(ref["files"].items()):
        if not only or fname in only:
            results.append((fname, check_file(binary, data_dir, fname, fref)))
    return 1 if report(results, verbose) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
