#!/usr/bin/python3
"""Plots of a mount, as a physicist gets them: the AGC analysis with plot
options as hist/NAME.svg (simulation stacked by sample, data with a ratio
panel, the variations' band, log y), the options in hist.json's metadata
(valid UHI), a plot statement's overlay as hist/NAME.svg with no .csv, and
every SVG rendered by rsvg-convert.

Usage: plot_mount_check.py ANAFS SHARED_DATA SCHEMA [OUTDIR]

With OUTDIR, the SVGs and their PNGs are left there (docs/plots.md's
gallery comes from them).  Exit status: 0 when every check passed, 1
otherwise, 77 when /dev/fuse, fusermount3 or rsvg-convert is missing.
"""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mount_util import Mount, cat_wait, check, finish, read, setup, tmpdir  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PLOT_LINES = ('defaults bins=25 range=50,550 plot_label="CMS Open Data" '
              'plot_lumi="3.4 fb^{-1} (13 TeV)"')


def agc_query(data):
    """examples/agc_ttbar.query with absolute paths, plot options and a log plot."""
    text = read(os.path.join(HERE, "..", "examples", "agc_ttbar.query"))
    text = text.replace("../../shared/data/agc/", os.path.join(data, "agc") + "/")
    text = text.replace("defaults bins=25 range=50,550", PLOT_LINES)
    return text + ('hist     ht_4j1b_log = sum(jet_pt) region=4j1b label="H_{T} [GeV]" logy=true\n'
                   'hist     njet = count(jet_pt) bins=6 range=3.5,9.5 label="N_{jets}" logy=true\n')


def overlay_query(data):
    f = os.path.join(data, "agc", "agc_like_ttbar.root")
    return ("dataset %s\ntree Events\n"
            "hist ele_pt = Electron_pt bins=40 range=0,200 title=\"Electrons\" label=\"p_{T} [GeV]\"\n"
            "hist mu_pt = Muon_pt bins=40 range=0,200 title=\"Muons\" label=\"p_{T} [GeV]\"\n"
            "plot lepton_pt = ele_pt, mu_pt logy=true title=\"Leptons in t#bar{t}\"\n" % f)


def render(svg_text, path):
    """Write the SVG, render it; the PNG's size or None."""
    with open(path, "w") as f:
        f.write(svg_text)
    png = path[:-4] + ".png"
    r = subprocess.run(["rsvg-convert", "-o", png, path], capture_output=True, timeout=120)
    if r.returncode != 0 or not os.path.exists(png):
        return None
    with open(png, "rb") as f:
        head = f.read(24)
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def main():
    if len(sys.argv) not in (4, 5):
        print(__doc__)
        return 2
    schema, out = sys.argv[3], (sys.argv[4] if len(sys.argv) == 5 else None)
    sys.argv = sys.argv[:3]
    anafs, data = setup(__doc__)
    if not shutil.which("rsvg-convert"):
        print("SKIP: rsvg-convert not installed")
        return 77
    tmp = tmpdir("anafs-plots-")
    out = out or os.path.join(tmp, "out")
    os.makedirs(out, exist_ok=True)
    os.environ["ANAFS_COLCACHE_DIR"] = os.path.join(tmp, "colcache")
    m = Mount(anafs, tmp, "plots", "--no-reuse")

    job = m.submit("agc", agc_query(data))
    check(cat_wait(m.mnt, job) == "done", "the AGC query with plot options is done")
    hdir = "%s/%s/hist" % (m.jobs, job)
    names = sorted(os.listdir(hdir))
    check("ht_4j1b.svg" in names and "ht_4j1b_log.svg" in names, "hist/ lists the plots", names)
    hj = json.loads(read("%s/%s/hist.json" % (m.jobs, job)))
    meta = hj["ht_4j1b"]["metadata"]
    check(meta.get("plot_label") == "CMS Open Data" and meta.get("plot_lumi", "").startswith("3.4 fb"),
          "the defaults' label line is in hist.json's metadata", meta)
    check("plot_logy" not in meta and hj["ht_4j1b_log"]["metadata"].get("plot_logy") is True,
          "logy=true is in its histogram's metadata only", hj["ht_4j1b_log"]["metadata"])
    jpath = os.path.join(tmp, "hist.json")
    with open(jpath, "w") as f:
        json.dump(hj, f)
    r = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "hist_schema_check.py"), schema, jpath],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "hist.json with plot options is valid UHI", r.stdout + r.stderr)

    for name, want in (("ht_4j1b", ['class="stack"', 'class="ratio"', 'class="band"', ">ttbar<",
                                    ">wjets<", ">Data<", ">CMS</tspan>", "syst. unc."]),
                       ("ht_4j1b_log", ['class="stack"', 'dy="-4.6">']),
                       ("njet", ['class="stack"'])):
        svg = read("%s/%s.svg" % (hdir, name))
        missing = [w for w in want if w not in svg]
        check(not missing, "%s.svg: a stack of samples with data, ratio and band" % name, missing)
        check(not re.search(r">[^<]*\d[eE][+-]\d", svg), "%s.svg writes no 1e+06 numbers" % name)
        check(render(svg, os.path.join(out, "mount-%s.svg" % name)) == (640, 480),
              "%s.svg renders at 640x480" % name)

    job2 = m.submit("overlay", overlay_query(data))
    check(cat_wait(m.mnt, job2) == "done", "the overlay query is done")
    hdir = "%s/%s/hist" % (m.jobs, job2)
    names = sorted(os.listdir(hdir))
    check("lepton_pt.svg" in names and "lepton_pt.csv" not in names,
          "a plot statement adds NAME.svg alone", names)
    check(not os.path.exists(hdir + "/lepton_pt.csv"), "lepton_pt.csv is not there")
    svg = read(hdir + "/lepton_pt.svg")
    missing = [w for w in ('class="line"', ">Electrons<", ">Muons<", "t\u0304") if w not in svg]
    check(not missing, "the overlay draws both histograms with a legend", missing)
    check(render(svg, os.path.join(out, "mount-lepton_pt.svg")) == (640, 480), "the overlay renders")
    meta = json.loads(read("%s/%s/hist.json" % (m.jobs, job2)))["ele_pt"]["metadata"]
    check(not any(k.startswith("plot_") for k in meta), "a histogram without options has no plot_ keys",
          meta)
    m.umount()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
