#!/usr/bin/python3
"""The AGC ttbar analysis (examples/agc_ttbar.query) computed with numpy, as
an independent reference for tests/agc_check.py.

Usage: agc_ref.py COL_DUMP AGC_DIR      print the summary table and the
                                        reference's own checks

It shares no code with anafs beyond the ROOT reader's decoding: col_dump
(tests/col_dump.c) writes each branch as .npy files, and everything after
that is written here from the analysis definition below.

The analysis
------------
Samples: ttbar, single_top_t, wjets (simulation, with the cross sections
of SAMPLES) and data, lumi = 3378 pb^-1.  Event weight w = genWeight for
simulation, 1 for data.  A simulation histogram is scaled by
c = xsec * lumi / sumw (values * c, variances * c^2), sumw = the sum of
Runs/genEventSumw over the sample's files.

Objects: electrons pt > 30, |eta| < 2.1, cutBased == 4, sip3d < 4; muons
pt > 30, |eta| < 2.1, tightId, sip3d < 4, pfRelIso04_all < 0.15; jets
pt > 30, |eta| < 2.4, jetId % 8 >= 4, kept in file order; a b-tag is a
selected jet with btagCSVV2 >= 0.5.

Events: exactly one selected lepton, at least four selected jets, at least
one b-tag.  Region 4j1b: exactly one b-tag, filled with HT (the sum of the
selected jets' pt).  Region 4j2b: two or more, filled with the mass of the
trijet (three distinct selected jets, i < j < k, massive four-vectors
summed) of highest summed pT among those whose largest btagCSVV2 is > 0.5
(first on ties); the mass is negative, -sqrt(-m^2), when space-like, and
an event with no such trijet fills nothing.

Histograms: 25 regular bins over [50, 550) with underflow and overflow,
weighted (sum of w and of w^2 per bin).

Variations, after "nominal": pt_scale_up (simulation jets' pt * 1.03
before the jet selection), pt_res_up (simulation jets' pt * N(1, 0.05)
from anafs's reproducible random_normal, below), btag_var_{0..3}_{up,down}
(w * (1 +- 0.075 * pt_i / 50), pt_i the i-th selected jet's pt, in
simulation only), scale_var_up/down
(w * 1.025 / 0.975 for wjets only).  A pt variation recomputes the
selection, the regions and the observables.
"""
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

LUMI = 3378.0  # pb^-1
# name, file, cross section in pb (None: data)
SAMPLES = [
    ("ttbar", "agc_like_ttbar.root", 729.84),
    ("single_top_t", "agc_like_single_top_t.root", 234.79),
    ("wjets", "agc_like_wjets.root", 15487.16),
    ("data", "agc_like_data.root", None),
]
VARIATIONS = (["nominal", "pt_scale_up", "pt_res_up"]
              + ["btag_var_%d_%s" % (i, d) for i in range(4) for d in ("up", "down")]
              + ["scale_var_up", "scale_var_down"])
HISTS = ["ht_4j1b", "mbjj_4j2b"]
NBINS, LO, HI = 25, 50.0, 550.0

BRANCHES = (["Electron_pt", "Electron_eta", "Electron_cutBased", "Electron_sip3d",
             "Muon_pt", "Muon_eta", "Muon_tightId", "Muon_sip3d", "Muon_pfRelIso04_all",
             "Jet_pt", "Jet_eta", "Jet_phi", "Jet_mass", "Jet_jetId", "Jet_btagCSVV2"])
# random_normal's call site: the first (and only) one written in the query.
RANDOM_SITE = 1
# Caps of the padded arrays; asserted, not assumed.
MAX_JETS = 64       # jets per event before selection
MAX_SEL_JETS = 20   # selected jets of a 4j2b event: C(20, 3) = 1140 trijets


# ---- reading ----

def col_dump(tool, path, tree, outdir, branches):
    """Run col_dump; return its meta.json, or None when tree is absent."""
    p = subprocess.run([tool, path, tree, outdir] + branches, capture_output=True, text=True)
    if p.returncode not in (0, 3):
        raise RuntimeError("col_dump %s %s exited %d: %s" % (path, tree, p.returncode,
                                                            p.stderr.strip()))
    with open(os.path.join(outdir, "meta.json")) as f:
        meta = json.load(f)
    return meta if p.returncode == 0 else None


class Column:
    """One branch: values, and for a list branch the offsets."""

    def __init__(self, outdir, name):
        self.values = np.load(os.path.join(outdir, name + ".npy"))
        off = os.path.join(outdir, name + ".offsets.npy")
        self.offsets = np.load(off) if os.path.exists(off) else None


def load_sample(tool, agc_dir, fname, is_data, tmp):
    """The columns of one file's Events tree and its Runs sumw."""
    path = os.path.join(agc_dir, fname)
    out = os.path.join(tmp, fname + ".Events")
    names = BRANCHES + ([] if is_data else ["genWeight"])
    meta = col_dump(tool, path, "Events", out, names)
    if meta is None:
        raise RuntimeError("%s has no Events tree" % path)
    cols = {n: Column(out, n) for n in names}
    s = {"entries": meta["entries"], "fingerprint": int(meta["fingerprint"]),
         "cols": cols, "sumw": None}
    runs_out = os.path.join(tmp, fname + ".Runs")
    runs = col_dump(tool, path, "Runs", runs_out, [] if is_data else ["genEventSumw"])
    if not is_data:
        if runs is None:
            raise RuntimeError("%s has no Runs tree" % path)
        s["sumw"] = float(np.load(os.path.join(runs_out, "genEventSumw.npy")).sum())
    return s


# ---- jagged helpers ----

def event_index(offsets):
    """For each value of a list branch, the entry it belongs to."""
    return np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))


def count_per_event(mask, offsets):
    """How many values of each entry mask keeps."""
    return np.bincount(event_index(offsets)[mask], minlength=len(offsets) - 1)


def pad(values, counts, width, fill=0.0):
    """The lists given by values and counts as rows of width columns."""
    assert counts.max(initial=0) <= width, "a list longer than the cap %d" % width
    out = np.full((len(counts), width), fill, dtype=values.dtype)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    row = np.repeat(np.arange(len(counts)), counts)
    out[row, np.arange(len(values)) - starts[row]] = values
    return out


# ---- random_normal ----

M64 = np.uint64


def mix(z):
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    z = z + M64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> M64(30))) * M64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> M64(27))) * M64(0x94D049BB133111EB)
    return z ^ (z >> M64(31))


def random_normal(mean, sigma, site, fingerprint, entry, index):
    """anafs's random_normal(mean, sigma, like) for the elements at (entry,
    index) of a file with that fingerprint, from call site site."""
    with np.errstate(over="ignore"):
        h = mix(np.full(entry.shape, M64(fingerprint ^ site), dtype=np.uint64))
        h = mix(h ^ entry.astype(np.uint64))
        h = mix(h ^ index.astype(np.uint64))
        u1 = ((h >> M64(11)) + M64(1)).astype(np.float64) * 2.0 ** -53
        u2 = (mix(h) >> M64(11)).astype(np.float64) * 2.0 ** -53
    z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)
    return mean + sigma * z


def jet_pt_res_factor(s):
    """N(1, 0.05) per jet of sample s, as pt_res_up draws it."""
    off = s["cols"]["Jet_pt"].offsets
    entry = event_index(off)
    index = np.arange(off[-1]) - off[entry]
    return random_normal(1.0, 0.05, RANDOM_SITE, s["fingerprint"], entry, index)


# ---- the analysis ----

def trijets(pt, eta, phi, m, b, nsel):
    """The 4j2b observable for rows of selected jets padded to a width K:
    returns (mass, has) per row.  Each jet's four-vector is computed once
    and the three summed in index order, i < j < k in lexicographic order."""
    px, py = pt * np.cos(phi), pt * np.sin(phi)
    pz = pt * np.sinh(eta)
    en = np.sqrt(px * px + py * py + pz * pz + m * m)
    width = pt.shape[1]
    n = len(pt)
    best_pt = np.full(n, -np.inf)
    best_m = np.zeros(n)
    has = np.zeros(n, dtype=bool)
    for i, j, k in itertools.combinations(range(width), 3):
        ok = (k < nsel) & (np.maximum(np.maximum(b[:, i], b[:, j]), b[:, k]) > 0.5)
        sx = px[:, i] + px[:, j] + px[:, k]
        sy = py[:, i] + py[:, j] + py[:, k]
        sz = pz[:, i] + pz[:, j] + pz[:, k]
        se = en[:, i] + en[:, j] + en[:, k]
        spt = np.hypot(sx, sy)
        m2 = se * se - sx * sx - sy * sy - sz * sz
        mass = np.where(m2 >= 0, np.sqrt(np.abs(m2)), -np.sqrt(np.abs(m2)))
        # Strictly greater: the first of equal pTs stays, as argmax.
        take = ok & (~has | (spt > best_pt))
        best_pt = np.where(take, spt, best_pt)
        best_m = np.where(take, mass, best_m)
        has |= ok
    return best_m, has


def trijet_loop(pt, eta, phi, m, b):
    """The same for one event's selected jets, plainly, for the self-check."""
    best = None
    for i, j, k in itertools.combinations(range(len(pt)), 3):
        if max(b[i], b[j], b[k]) <= 0.5:
            continue
        p = [0.0, 0.0, 0.0, 0.0]
        for q in (i, j, k):
            px, py, pz = pt[q] * math.cos(phi[q]), pt[q] * math.sin(phi[q]), pt[q] * math.sinh(eta[q])
            for d, v in enumerate((px, py, pz, math.sqrt(px * px + py * py + pz * pz + m[q] * m[q]))):
                p[d] += v
        spt = math.hypot(p[0], p[1])
        m2 = p[3] ** 2 - p[0] ** 2 - p[1] ** 2 - p[2] ** 2
        if best is None or spt > best[0]:
            best = (spt, math.sqrt(m2) if m2 >= 0 else -math.sqrt(-m2))
    return None if best is None else best[1]


def mix_int(z):
    """mix() on one Python int, for the self-check."""
    z = (z + 0x9E3779B97F4A7C15) & (2 ** 64 - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2 ** 64 - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2 ** 64 - 1)
    return z ^ (z >> 31)


def random_normal_int(mean, sigma, site, fingerprint, entry, index):
    """random_normal for one element with Python ints, for the self-check."""
    h = mix_int(mix_int(mix_int(fingerprint ^ site) ^ entry) ^ index)
    u1 = ((h >> 11) + 1) * 2.0 ** -53
    u2 = (mix_int(h) >> 11) * 2.0 ** -53
    return mean + sigma * (math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2))


def event_loop(c, e):
    """One event of the nominal analysis, plainly: (passes, nbtag, HT)."""
    def vals(name):
        col = c[name]
        return col.values[col.offsets[e]:col.offsets[e + 1]].tolist()
    nlep = sum(1 for pt, eta, cb, sip in zip(vals("Electron_pt"), vals("Electron_eta"),
                                             vals("Electron_cutBased"), vals("Electron_sip3d"))
               if pt > 30 and abs(eta) < 2.1 and cb == 4 and sip < 4)
    nlep += sum(1 for pt, eta, tid, sip, iso in zip(vals("Muon_pt"), vals("Muon_eta"),
                                                    vals("Muon_tightId"), vals("Muon_sip3d"),
                                                    vals("Muon_pfRelIso04_all"))
                if pt > 30 and abs(eta) < 2.1 and tid and sip < 4 and iso < 0.15)
    jets = [(pt, b) for pt, eta, jid, b in zip(vals("Jet_pt"), vals("Jet_eta"), vals("Jet_jetId"),
                                               vals("Jet_btagCSVV2"))
            if pt > 30 and abs(eta) < 2.4 and jid % 8 >= 4]
    nb = sum(1 for _, b in jets if b >= 0.5)
    ht = 0.0
    for pt, _ in jets:
        ht += pt
    return nlep == 1 and len(jets) >= 4 and nb >= 1, nb, ht


def leptons(c):
    """Selected electrons + muons per event."""
    ele = ((c["Electron_pt"].values > 30) & (np.abs(c["Electron_eta"].values) < 2.1)
           & (c["Electron_cutBased"].values == 4) & (c["Electron_sip3d"].values < 4))
    mu = ((c["Muon_pt"].values > 30) & (np.abs(c["Muon_eta"].values) < 2.1)
          & (c["Muon_tightId"].values != 0) & (c["Muon_sip3d"].values < 4)
          & (c["Muon_pfRelIso04_all"].values < 0.15))
    return (count_per_event(ele, c["Electron_pt"].offsets)
            + count_per_event(mu, c["Muon_pt"].offsets))


def selected_jets(c, jet_pt, rows=None):
    """Padded arrays (pt, eta, phi, mass, btag) of the selected jets, in file
    order, and their count per event; rows limits them to some events."""
    off = c["Jet_pt"].offsets
    ok = (jet_pt > 30) & (np.abs(c["Jet_eta"].values) < 2.4) & (c["Jet_jetId"].values % 8 >= 4)
    nsel = count_per_event(ok, off)
    keep = ok if rows is None else ok & np.isin(event_index(off), rows)
    nk = nsel if rows is None else nsel[rows]
    width = max(int(nk.max(initial=0)), 4)
    out = [pad(v[keep], nk, width) for v in
           (jet_pt, c["Jet_eta"].values, c["Jet_phi"].values, c["Jet_mass"].values,
            c["Jet_btagCSVV2"].values)]
    return out, nsel


def analyse(s, jet_pt):
    """Selection, regions and observables of sample s with these jet pts
    (the file's, or a variation's).  Returns per-event arrays."""
    c = s["cols"]
    n = s["entries"]
    assert np.diff(c["Jet_pt"].offsets).max(initial=0) <= MAX_JETS
    (pt, _, _, _, b), nsel = selected_jets(c, jet_pt)
    nbtag = ((b >= 0.5) & (np.arange(pt.shape[1]) < nsel[:, None])).sum(axis=1)
    one_lepton = leptons(c) == 1
    four_jets = one_lepton & (nsel >= 4)
    one_btag = four_jets & (nbtag >= 1)
    r1 = one_btag & (nbtag == 1)
    r2 = one_btag & (nbtag >= 2)
    # HT summed in list order, as a loop over the list does.
    ht = np.zeros(n)
    for k in range(pt.shape[1]):
        ht = ht + np.where(k < nsel, pt[:, k], 0.0)
    rows2 = np.flatnonzero(r2)
    (p2, e2, f2, m2, b2), _ = selected_jets(c, jet_pt, rows2)
    assert p2.shape[1] <= MAX_SEL_JETS, "a 4j2b event with %d selected jets" % p2.shape[1]
    mass, has = trijets(p2, e2, f2, m2, b2, nsel[rows2])
    mbjj = np.full(n, np.nan)
    mbjj[rows2[has]] = mass[has]
    return {"one_lepton": one_lepton, "four_jets": four_jets, "one_btag": one_btag,
            "r1": r1, "r2": r2, "ht": ht, "mbjj": mbjj, "lead_pt": pt[:, :4]}


def bin_index(x):
    """anafs's regular-axis rule: 0 underflow, 1..NBINS, NBINS+1 overflow."""
    t = NBINS * (x - LO) / (HI - LO)
    b = np.clip(t, 0, NBINS).astype(np.int64)  # truncation, as (int)t
    b = np.where(b < NBINS, b + 1, NBINS)
    return np.where(x < LO, 0, np.where(x >= HI, NBINS + 1, b))


def fill(x, w):
    """(values, variances) over NBINS + 2 bins of x weighted by w."""
    b = bin_index(x)
    return (np.bincount(b, weights=w, minlength=NBINS + 2),
            np.bincount(b, weights=w * w, minlength=NBINS + 2))


def sample_hists(name, s, is_data, xsec):
    """{hist: {variation: (values, variances)}} of one sample, and its
    nominal analysis for the summary."""
    c = s["cols"]
    w = np.ones(s["entries"]) if is_data else c["genWeight"].values.astype(np.float64)
    pt0 = c["Jet_pt"].values
    nominal = analyse(s, pt0)
    varied = {"nominal": nominal,
              "pt_scale_up": nominal if is_data else analyse(s, pt0 * 1.03),
              "pt_res_up": nominal if is_data else analyse(s, pt0 * jet_pt_res_factor(s))}
    scale = 1.0 if is_data else xsec * LUMI / s["sumw"]
    out = {h: {} for h in HISTS}
    for v in VARIATIONS:
        a = varied.get(v, nominal)
        wv = w
        if v.startswith("btag_var_") and not is_data:
            i, sign = int(v.split("_")[2]), (1.0 if v.endswith("_up") else -1.0)
            wv = w * (1 + sign * 0.075 * a["lead_pt"][:, i] / 50)
        elif v.startswith("scale_var_") and name == "wjets":
            wv = w * (1.025 if v.endswith("_up") else 0.975)
        for h, region, x in (("ht_4j1b", a["r1"], a["ht"]),
                             ("mbjj_4j2b", a["r2"] & ~np.isnan(a["mbjj"]), a["mbjj"])):
            val, var = fill(x[region], wv[region])
            out[h][v] = (val * scale, var * scale * scale)
    return out, nominal


def compute(tool, agc_dir):
    """The reference: {hist: {sample: {variation: (values, variances)}}},
    the summary rows, and the samples' columns (for the self-checks)."""
    ref = {h: {} for h in HISTS}
    rows, loaded = [], {}
    with tempfile.TemporaryDirectory(prefix="anafs-agcref-") as tmp:
        for name, fname, xsec in SAMPLES:
            is_data = xsec is None
            s = load_sample(tool, agc_dir, fname, is_data, tmp)
            loaded[name] = s
            hists, a = sample_hists(name, s, is_data, xsec)
            for h in HISTS:
                ref[h][name] = hists[h]
            rows.append({"sample": name, "entries": s["entries"], "sumw": s["sumw"],
                         "one_lepton": int(a["one_lepton"].sum()),
                         "four_jets": int(a["four_jets"].sum()),
                         "one_btag": int(a["one_btag"].sum()),
                         "4j1b": int(a["r1"].sum()), "4j2b": int(a["r2"].sum()),
                         "mbjj_fills": int((a["r2"] & ~np.isnan(a["mbjj"])).sum()),
                         "ht_4j1b": float(hists["ht_4j1b"]["nominal"][0].sum()),
                         "mbjj_4j2b": float(hists["mbjj_4j2b"]["nominal"][0].sum())})
    return ref, rows, loaded


# ---- the reference's own checks ----

def self_checks(ref, loaded):
    """Cheap checks of the reference by other means.  Returns failures."""
    bad = []

    def same(h, s, v, w=None, want=True):
        a, b = ref[h][s][v], ref[h][s]["nominal" if w is None else w]
        eq = np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
        if eq != want:
            bad.append("%s %s: %s %s %s" % (h, s, v, "differs from" if want else "equals",
                                             w or "nominal"))

    for name, _, xsec in SAMPLES:
        s = loaded[name]
        if xsec is not None:
            gw = s["cols"]["genWeight"].values
            seq = 0.0
            for x in gw.tolist():
                seq += x
            if s["sumw"] not in (seq, math.fsum(gw)):
                bad.append("%s: Runs sumw %r is not the sum of genWeight (%r in order, %r exact)"
                           % (name, s["sumw"], seq, math.fsum(gw)))
        for h in HISTS:
            same(h, name, "pt_scale_up", want=xsec is None)
            same(h, name, "pt_res_up", want=xsec is None)
            for v in ("scale_var_up", "scale_var_down"):
                same(h, name, v, want=name != "wjets")
            for i in range(4):
                same(h, name, "btag_var_%d_up" % i, want=xsec is None)
                up, down = ref[h][name]["btag_var_%d_up" % i], ref[h][name]["btag_var_%d_down" % i]
                nom = ref[h][name]["nominal"][0]
                if not np.allclose(up[0] + down[0], 2 * nom, rtol=1e-12, atol=1e-9):
                    bad.append("%s %s btag_var_%d: up + down != 2 nominal" % (h, name, i))
    # The selection and HT against a plain loop over each sample's first events.
    for name, _, _ in SAMPLES:
        c = loaded[name]["cols"]
        a = analyse(loaded[name], c["Jet_pt"].values)
        for e in range(1000):
            ok, nb, ht = event_loop(c, e)
            got = (bool(a["one_btag"][e]), bool(a["r1"][e]), bool(a["r2"][e]))
            if got != (ok, ok and nb == 1, ok and nb >= 2) or (ok and a["ht"][e] != ht):
                bad.append("%s entry %d: vectorised (pass, 4j1b, 4j2b) %s HT %r, loop %s %r"
                           % (name, e, got, a["ht"][e], (ok, nb), ht))
                break
    # random_normal in numpy uint64 against Python ints, for some jets.
    s = loaded["ttbar"]
    r = jet_pt_res_factor(s)
    off = s["cols"]["Jet_pt"].offsets
    for e in (0, 1, 3, 4999, 49999):
        for i in range(off[e + 1] - off[e]):
            want = random_normal_int(1.0, 0.05, RANDOM_SITE, s["fingerprint"], e, i)
            if abs(r[off[e] + i] - want) > 1e-12:
                bad.append("random_normal entry %d jet %d: %r, by ints %r" % (e, i, r[off[e] + i], want))
    # random_normal over ttbar's jets: mean 1 and sigma 0.05 within 5 sigma.
    n = len(r)
    if abs(r.mean() - 1) > 5 * 0.05 / math.sqrt(n) or abs(r.std() / 0.05 - 1) > 5 / math.sqrt(2 * n):
        bad.append("random_normal: mean %.6f sigma %.6f over %d jets" % (r.mean(), r.std(), n))
    # The vectorised trijet against a loop over the first 200 ttbar events.
    s = loaded["ttbar"]
    c = s["cols"]
    rows = np.arange(200)
    (pt, eta, phi, m, b), nsel = selected_jets(c, c["Jet_pt"].values, rows)
    mass, has = trijets(pt, eta, phi, m, b, nsel[rows])
    compared = 0
    for e in rows:
        k = nsel[e]
        want = trijet_loop(pt[e, :k], eta[e, :k], phi[e, :k], m[e, :k], b[e, :k])
        got = mass[e] if has[e] else None
        if (want is None) != (got is None) or (want is not None and
                                               abs(got - want) > 1e-9 * max(1, abs(want))):
            bad.append("trijet of ttbar entry %d: vectorised %r, loop %r" % (e, got, want))
        compared += want is not None
    if compared < 20:
        bad.append("trijet check: only %d of 200 events had a trijet" % compared)
    return bad


def print_summary(rows, out=sys.stdout):
    cols = ["sample", "entries", "one_lepton", "four_jets", "one_btag", "4j1b", "4j2b",
            "mbjj_fills", "ht_4j1b", "mbjj_4j2b"]
    print("%-13s %7s %10s %9s %8s %6s %6s %10s %12s %12s" % tuple(cols), file=out)
    for r in rows:
        print("%-13s %7d %10d %9d %8d %6d %6d %10d %12.4f %12.4f" %
              tuple(r[k] for k in cols), file=out)
    print("(events passing each step in turn; ht_4j1b and mbjj_4j2b: nominal integrals"
          " with flow, simulation scaled by xsec * lumi / sumw)", file=out)


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    ref, rows, loaded = compute(sys.argv[1], sys.argv[2])
    print_summary(rows)
    bad = self_checks(ref, loaded)
    for b in bad:
        print("FAIL reference: " + b)
    print("reference self-checks: %s" % ("%d failed" % len(bad) if bad else "all passed"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
