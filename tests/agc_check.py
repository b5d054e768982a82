#!/usr/bin/python3
"""The AGC ttbar query (examples/agc_ttbar.query) run by `anafs run` gives the
histograms of the numpy reference (tests/agc_ref.py) bin for bin.

Usage: agc_check.py ANAFS COL_DUMP AGC_DIR SCHEMA QUERY

The reference reads the four AGC-like files of AGC_DIR through col_dump and
computes ht_4j1b and mbjj_4j2b for every sample and variation.  The query
is run with `anafs run -j 2` and `-j 1`: the two hist.json files must be
the same bytes, valid against the UHI schema with no NaN or Infinity token,
and every bin of every (sample, variation) must agree with the reference:
|anafs - ref| <= 1e-9 * max(1, |ref|), for values and for variances.
Samples and variations are found by name on the category axes (named in
their metadata), not by position.  The cutflow is not compared: its
per-sample format is not settled.

Exit status: 0 when everything agrees, 1 otherwise, 2 on bad usage.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import jsonschema
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agc_ref  # noqa: E402

RTOL = 1e-9
SHOW = 10  # differences printed before the count
BAD_TOKENS = re.compile(r"\bNaN\b|-?\bInfinity\b")


class Failures:
    def __init__(self):
        self.n = 0

    def __call__(self, msg):
        self.n += 1
        print("FAIL " + msg)


def run_anafs(anafs, query, jobs, out, fail):
    """anafs run -j jobs QUERY -o out; the bytes written, or None."""
    cmd = [anafs, "run", "-j", str(jobs), query, "-o", out]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        fail("%s: no result within 120 s" % " ".join(cmd))
        return None
    if p.returncode != 0:
        fail("%s exited %d:\n%s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
        return None
    with open(out, "rb") as f:
        return f.read()


def axis_size(ax):
    if ax.get("type") in ("regular", "variable"):
        return ax["bins"] + bool(ax.get("underflow")) + bool(ax.get("overflow"))
    return len(ax.get("categories", [])) + bool(ax.get("flow"))


def layout(name, h, fail):
    """(values, variances) of h as arrays [bin][sample][variation] in the
    reference's order, or None after saying why not."""
    axes = h.get("axes", [])
    reg = [i for i, a in enumerate(axes) if a.get("type") == "regular"]
    cat = {a.get("metadata", {}).get("name"): i for i, a in enumerate(axes)
           if a.get("type") == "category_str"}
    if len(axes) != 3 or len(reg) != 1 or set(cat) != {"sample", "variation"}:
        fail("%s: axes %s, expected one regular axis and category_str axes named "
             "sample and variation" % (name, json.dumps(axes)))
        return None
    r = axes[reg[0]]
    if (r.get("bins"), r.get("lower"), r.get("upper"), r.get("underflow"), r.get("overflow")) != \
            (agc_ref.NBINS, agc_ref.LO, agc_ref.HI, True, True):
        fail("%s: regular axis %s, expected %d bins over [%g, %g) with both flows"
             % (name, json.dumps(r), agc_ref.NBINS, agc_ref.LO, agc_ref.HI))
        return None
    want = {"sample": [s for s, _, _ in agc_ref.SAMPLES], "variation": agc_ref.VARIATIONS}
    pick = []
    for key in ("sample", "variation"):
        got = axes[cat[key]].get("categories", [])
        if sorted(got) != sorted(want[key]):
            fail("%s: %s categories %s, expected %s" % (name, key, got, want[key]))
            return None
        pick.append([got.index(c) for c in want[key]])
    st = h.get("storage", {})
    if st.get("type") != "weighted" or "index" in st or "values" not in st:
        fail("%s: storage %s..., expected dense weighted" % (name, json.dumps(st)[:200]))
        return None
    shape = tuple(axis_size(a) for a in axes)
    out = []
    for key in ("values", "variances"):
        a = np.array(st.get(key), dtype=np.float64)
        if a.shape != shape:
            fail("%s: %s of shape %s, the axes say %s" % (name, key, a.shape, shape))
            return None
        a = np.transpose(a, (reg[0], cat["sample"], cat["variation"]))
        out.append(a[:, pick[0], :][:, :, pick[1]])
    return out


def compare(doc, ref, fail):
    """Every bin of every histogram, sample and variation against ref."""
    if set(doc) != set(agc_ref.HISTS):
        fail("histograms %s, expected %s" % (sorted(doc), agc_ref.HISTS))
    ndiff = nbins = 0
    for name in agc_ref.HISTS:
        if name not in doc:
            continue
        got = layout(name, doc[name], fail)
        if got is None:
            continue
        for si, (sample, _, _) in enumerate(agc_ref.SAMPLES):
            for vi, var in enumerate(agc_ref.VARIATIONS):
                for what, g, want in (("value", got[0][:, si, vi], ref[name][sample][var][0]),
                                      ("variance", got[1][:, si, vi], ref[name][sample][var][1])):
                    nbins += len(want)
                    for b in np.flatnonzero(np.abs(g - want) > RTOL * np.maximum(1, np.abs(want))):
                        ndiff += 1
                        if ndiff <= SHOW:
                            label = ("underflow" if b == 0 else "overflow" if b == agc_ref.NBINS + 1
                                     else "bin %d [%g, %g)" % (b, agc_ref.LO + (b - 1) * 20,
                                                               agc_ref.LO + b * 20))
                            fail("%s %s %s %s %s: anafs %r, reference %r"
                                 % (name, sample, var, label, what, float(g[b]), float(want[b])))
    if ndiff > SHOW:
        fail("%d more bins differ" % (ndiff - SHOW))
    print("%d of %d bins (values and variances) agree within %g" % (nbins - ndiff, nbins, RTOL))


def main():
    if len(sys.argv) != 6:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    anafs, tool, agc_dir, schema_path, query = sys.argv[1:]
    fail = Failures()
    ref, rows, loaded = agc_ref.compute(tool, agc_dir)
    agc_ref.print_summary(rows)
    for b in agc_ref.self_checks(ref, loaded):
        fail("reference: " + b)
    with open(schema_path) as f:
        validator = jsonschema.Draft7Validator(json.load(f))
    with tempfile.TemporaryDirectory(prefix="anafs-agc-") as tmp:
        two = run_anafs(anafs, query, 2, os.path.join(tmp, "j2.json"), fail)
        if two is None:
            print("%d failed" % fail.n)
            return 1
        one = run_anafs(anafs, query, 1, os.path.join(tmp, "j1.json"), fail)
        if one is not None and one != two:
            fail("hist.json of -j 1 (%d bytes) differs from -j 2's (%d bytes)"
                 % (len(one), len(two)))
    text = two.decode()
    if BAD_TOKENS.search(text):
        fail("hist.json holds NaN or Infinity")
    try:
        doc = json.loads(text)
    except ValueError as e:
        fail("hist.json is not JSON: %s" % e)
        return 1
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        fail("hist.json does not follow the UHI schema: %s at %s"
             % (errors[0].message, "/".join(map(str, errors[0].path))))
    compare(doc, ref, fail)
    print("%d failed" % fail.n if fail.n else "anafs agrees with the reference")
    return 1 if fail.n else 0


if __name__ == "__main__":
    sys.exit(main())
