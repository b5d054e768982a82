#!/usr/bin/python3
"""The Python module (python/anafs) against a real mount: Job by number,
name and path, submit() of text and of a file, jobs(), status, progress,
wait() with and without a timeout, cutflow, summary, log, hists() of 1-D,
2-D, category, weighted and sample histograms (with numpy and without),
live() outside a notebook, an invalid query.

Usage: python_check.py ANAFS SHARED_DATA PYTHON_DIR

Figures are checked against hist.json read with json alone, and the
summary file against means computed here from the bins.  Exit status 0
when every check passed, 1 otherwise, 77 when /dev/fuse is missing.
"""
import io
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mount_util import (Mount, check, finish, long_query, read, section, setup,  # noqa: E402
                        tmpdir, wait_for)

DIMUON = "root/nano_dimuon.root"
TTBAR, DATA = "agc/agc_like_ttbar.root", "agc/agc_like_data.root"


def plain_query(data):
    return ("dataset %s\ntree Events\n"
            'hist met = MET_pt bins=20 range=0,200 label="MET [GeV]" title="Missing E_T"\n'
            "hist pt_eta = Muon_pt, Muon_eta bins=10,6 range=0,100,-2.4,2.4\n"
            "hist nmu = nMuon categories=0,1,2,3\n"
            "hist wmet = MET_pt bins=4 range=0,200 weight=MET_pt\n"
            % os.path.join(data, DIMUON))


def sample_query(data):
    return ("lumi 3378\n"
            "sample ttbar xsec=729.84 sumw=auto %s\n"
            "sample data data %s\n"
            "weight w = is_data ? 1 : genWeight\n"
            "filter four_jets: sum(Jet_pt > 30) >= 4\n"
            "hist njet = nJet bins=4 range=4,8\n"
            % (os.path.join(data, TTBAR), os.path.join(data, DATA)))


def strip_flow(a, axes):
    """The storage array a without flow bins, by the axes' flags (json only)."""
    if not axes:
        return a
    ax = axes[0]
    lo = 1 if ax.get("underflow") else 0
    n = len(ax["categories"]) if "categories" in ax else (
        ax["bins"] if ax["type"] == "regular" else len(ax["edges"]) - 1)
    return [strip_flow(x, axes[1:]) for x in a[lo:lo + n]]


def tolist(a):
    return a.tolist() if hasattr(a, "tolist") else a


def jobs_and_names(env):
    anafs, m = env["anafs"], env["m"]
    j = anafs.submit(plain_query(env["data"]), name="plain", mount=m.mnt)
    check(j.name == "plain" and j.number == int(os.readlink(m.jobs + "/plain")),
          "submit(text, name=) returns the job jobs/plain points at", j)
    check(j.wait() == "done", "wait() gives done", j.status)
    check(j.status == "done" and j.over, "status is done, over is true")
    qfile = os.path.join(env["tmp"], "again.query")
    with open(qfile, "w") as f:
        f.write(plain_query(env["data"]))
    j2 = anafs.submit(qfile, mount=m.mnt)
    check(j2.name == "again" and j2.number > j.number,
          "submit(path) names the job after the file, a new number", j2)
    check(j2.query == plain_query(env["data"]), "the job's query is the file's text")
    check(j2.wait(timeout=120) == "done", "wait(timeout) gives done")
    os.environ["ANAFS_MOUNT"] = m.mnt
    check(anafs.Job(j.number) == j and anafs.Job(str(j.number)) == j,
          "Job(number) with $ANAFS_MOUNT is the same job")
    check(anafs.Job("plain") == j, "Job(name) is the newest job of that name")
    check(anafs.Job(m.jobs + "/again").number == j2.number and
          anafs.Job(m.jobs + "/%d" % j.number, mount=None) == j,
          "Job(path) of jobs/NAME and of jobs/N")
    check([x.number for x in anafs.jobs()] == m.job_dirs(), "jobs() lists every job by number")
    for bad in ("nosuch", 999):
        try:
            anafs.Job(bad)
            check(False, "Job(%r) raises AnafsError" % bad)
        except anafs.AnafsError as e:
            check("no job" in str(e), "Job(%r) raises AnafsError" % bad, e)
    del os.environ["ANAFS_MOUNT"]
    try:
        anafs.Job(1)
        check(False, "Job(1) without a mount raises")
    except anafs.AnafsError as e:
        check("ANAFS_MOUNT" in str(e), "Job(1) without a mount names $ANAFS_MOUNT", e)
    p = j.progress
    check(p["status"] == "done" and p["percent"] == 100 and p["job"] == j.number,
          "progress is progress.json as a dict", p)
    check(j.cutflow == read(j.path + "/cutflow") and j.cutflow.startswith("filter"),
          "cutflow is the mount's text")
    check(j.log == read(j.path + "/log") and "done:" in j.log, "log is the job's log")
    env["plain"] = j


def hists_plain(env):
    anafs, j = env["anafs"], env["plain"]
    doc = json.loads(read(j.path + "/hist.json"))
    hs = j.hists()
    check(list(hs) == list(doc), "hists() keys are hist.json's, in order", list(hs))
    met, pe, nmu, w = hs["met"], hs["pt_eta"], hs["nmu"], hs["wmet"]
    check(isinstance(met, anafs.Hist) and met.kind == "COUNT" and met.ndim == 1,
          "hists() gives anafs.Hist without the hist package", type(met))
    check(met.title == "Missing E_T" and met.axes[0].label == "MET [GeV]" and
          met.entries == doc["met"]["metadata"]["entries"], "title, label and entries")
    check(tolist(met.edges) == [10.0 * i for i in range(21)], "1-D edges", tolist(met.edges))
    check(tolist(met.values()) == strip_flow(doc["met"]["storage"]["values"],
                                             doc["met"]["axes"]),
          "1-D values() leave out the flow bins")
    check(tolist(met.values(flow=True)) == doc["met"]["storage"]["values"],
          "values(flow=True) is the stored array")
    check(tolist(met.variances()) == tolist(met.values()), "int storage: variances are counts")
    check(len(met.axes[0]) == 20 and met.axes[0][0] == (0.0, 10.0), "axis length and bins")
    want = strip_flow(doc["pt_eta"]["storage"]["values"], doc["pt_eta"]["axes"])
    check(pe.ndim == 2 and tolist(pe.values()) == want and len(want) == 10 and len(want[0]) == 6,
          "2-D values() are 10 x 6 without flow", tolist(pe.values())[:1])
    check(tolist(pe.edges[1])[0] == -2.4 and len(pe.edges[1]) == 7, "2-D edges per axis")
    check(nmu.axes[0].categories == [0, 1, 2, 3] and nmu.axes[0].traits.discrete and
          tolist(nmu.values()) == doc["nmu"]["storage"]["values"][:4],
          "integer categories, values per category", tolist(nmu.values()))
    check(w.storage_type == "weighted" and
          tolist(w.variances()) == strip_flow(doc["wmet"]["storage"]["variances"],
                                              doc["wmet"]["axes"]),
          "weighted: variances() are the sums of squared weights")
    try:
        j.hists(kind="hist") if not anafs.have_hist() else None
        check(anafs.have_hist(), "hists(kind='hist') without hist raises ImportError")
    except ImportError:
        check(True, "hists(kind='hist') without hist raises ImportError")
    if anafs.have_hist():
        hh = j.hists(kind="hist")["met"]
        check(tolist(hh.values()) == tolist(met.values()), "hist.Hist values equal the plain ones")


def summary_lines(env):
    """jobs/N/summary against figures computed here from hist.json."""
    j = env["plain"]
    doc = json.loads(read(j.path + "/hist.json"))
    lines = j.summary.splitlines()
    check(lines[0].split() == ["name", "entries", "mean", "std", "underflow", "overflow"],
          "summary header", lines[:1])
    rows = {ln.split()[0]: ln.split() for ln in lines[1:]}
    check(list(rows) == list(doc), "one summary line per histogram, in order", list(rows))
    check(all(ln == ln.rstrip() for ln in lines), "no trailing blanks")
    widths = {len(ln) for ln in lines}
    check(len(widths) == 1, "columns aligned: every line as long", widths)
    for name in ("met", "wmet"):
        h = doc[name]
        ax = h["axes"][0]
        v = h["storage"]["values"]
        step = (ax["upper"] - ax["lower"]) / ax["bins"]
        c = [ax["lower"] + step * (i + 0.5) for i in range(ax["bins"])]
        inner = v[1:-1]
        sw = sum(inner)
        mean = sum(a * b for a, b in zip(inner, c)) / sw
        std = math.sqrt(sum(a * (b - mean) ** 2 for a, b in zip(inner, c)) / sw)
        r = rows[name]
        check(int(r[1]) == h["metadata"]["entries"] and
              math.isclose(float(r[2]), mean, rel_tol=1e-5) and
              math.isclose(float(r[3]), std, rel_tol=1e-5) and
              math.isclose(float(r[4]), v[0], rel_tol=1e-5) and
              math.isclose(float(r[5]), v[-1], rel_tol=1e-5),
              "%s: entries, mean, std, underflow, overflow from the bins" % name, r)
    pe = rows["pt_eta"]
    check(pe[2].count(",") == 1 and pe[4].count(",") == 1, "2-D: one figure per axis", pe)
    v = doc["pt_eta"]["storage"]["values"]
    under_y = sum(row[0] for row in v)
    check(float(pe[4].split(",")[1]) == under_y, "2-D: underflow along y sums every x", pe)
    ax = doc["nmu"]["axes"][0]
    other = doc["nmu"]["storage"]["values"][4] if ax["flow"] else None
    check(rows["nmu"][4] == "-" and rows["nmu"][5] == ("-" if other is None else str(other)),
          "integer categories: no underflow; the overflow is the other bin", rows["nmu"])


def samples(env):
    anafs, m = env["anafs"], env["m"]
    j = anafs.submit(sample_query(env["data"]), name="samples", mount=m.mnt)
    check(j.wait(timeout=240) == "done", "the sample job is done", j.error)
    doc = json.loads(read(j.path + "/hist.json"))["njet"]
    h = j.hists()["njet"]
    check(h.ndim == 2 and h.axes[1].categories == ["ttbar", "data"] and
          h.axes[1].name == "sample" and not h.axes[1].overflow,
          "samples: a sample axis without flow", h.axes)
    vals = tolist(h.values())
    check(vals == strip_flow(doc["storage"]["values"], doc["axes"]) and len(vals) == 4 and
          len(vals[0]) == 2, "samples: values()[bin][sample], 4 x 2", vals)
    check(tolist(h.variances()) == strip_flow(doc["storage"]["variances"], doc["axes"]),
          "samples: variances()")
    r = j.summary.splitlines()[1].split()
    ttbar = [row[0] for row in vals]
    c = [4.5, 5.5, 6.5, 7.5]
    mean = sum(a * b for a, b in zip(ttbar, c)) / sum(ttbar)
    check(r[0] == "njet" and math.isclose(float(r[2]), mean, rel_tol=1e-5),
          "samples: the summary is the simulation's, as its plot", (r, mean))
    env["samples"] = j


def without_numpy(env):
    """The module with numpy hidden: nested lists, same numbers."""
    code = ("import sys, json; sys.modules['numpy'] = None; sys.path.insert(0, %r)\n"
            "import anafs\n"
            "j = anafs.Job(%d, mount=%r)\n"
            "h = j.hists()\n"
            "print(json.dumps({k: [v.values(), v.variances(), v.edges, v.counts()]"
            " for k, v in h.items()}))\n"
            % (env["pydir"], env["samples"].number, env["m"].mnt))
    r = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 0, "the module runs without numpy", r.stderr[-2000:])
    if r.returncode:
        return
    got = json.loads(r.stdout)["njet"]
    h = env["samples"].hists()["njet"]
    check(got[0] == tolist(h.values()) and got[1] == tolist(h.variances()) and
          got[2][0] == tolist(h.edges[0]) and got[2][1] is None,
          "without numpy: values, variances and edges as lists", got[:1])
    check(all(isinstance(x, float) for row in got[3] for x in row), "without numpy: counts()")


def with_hist_stub(env):
    """The hist.Hist path, through stand-ins of hist and uhi.io.json (the
    real ones are not Debian packages): hists() hands each histogram's
    UHI dict, through uhi's object_hook, to hist.Hist, as the UHI
    documentation says a reader does."""
    stub = os.path.join(env["tmp"], "stub")
    os.makedirs(os.path.join(stub, "hist"))
    os.makedirs(os.path.join(stub, "uhi", "io"))
    files = {
        "hist/__init__.py": "class Hist:\n    _from_uhi_ = True\n    name = ''\n"
                            "    def __init__(self, ir):\n        self.ir = ir\n",
        "uhi/__init__.py": "", "uhi/io/__init__.py": "",
        "uhi/io/json.py": "def object_hook(d):\n    if 'uhi_schema' in d:\n"
                          "        d = dict(d, _hooked=1)\n    return d\n",
    }
    for name, text in files.items():
        with open(os.path.join(stub, name), "w") as f:
            f.write(text)
    code = ("import sys, json; sys.path[:0] = [%r, %r]\n"
            "import anafs\n"
            "h = anafs.Job(%d, mount=%r).hists()\n"
            "print(json.dumps({k: [type(v).__module__, v.name, v.ir] for k, v in h.items()}))\n"
            % (stub, env["pydir"], env["plain"].number, env["m"].mnt))
    r = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True,
                       timeout=60)
    got = json.loads(r.stdout) if r.returncode == 0 else {}
    doc = json.loads(read(env["plain"].path + "/hist.json"))
    ok = list(got) == list(doc) and all(
        g[0] == "hist" and g[1] == k and g[2].pop("_hooked", 0) == 1 and g[2] == doc[k]
        for k, g in got.items())
    check(ok, "with hist installed, hists() gives hist.Hist(uhi IR) named after the key",
          r.stderr[-1500:] or str(got)[:500])


def live_and_wait(env):
    anafs, m = env["anafs"], env["m"]
    j = anafs.submit(long_query(env["data"], 40), name="slow", mount=m.mnt)
    j.ctl("pause")
    check(wait_for(lambda: j.status == "paused", 30), "the slow job is paused", j.status)
    try:
        j.wait(timeout=0.5)
        check(False, "wait(timeout) of a paused job raises TimeoutError")
    except TimeoutError as e:
        check("paused" in str(e), "wait(timeout) of a paused job raises TimeoutError", e)
    out = io.StringIO()
    check(j.live(interval=0.1, timeout=0.5, out=out) == "paused" and "paused" in out.getvalue(),
          "live(timeout) returns while paused, the progress line printed", out.getvalue())
    j.ctl("resume")
    out = io.StringIO()
    st = j.live(interval=0.1, out=out)
    text = out.getvalue()
    check(st == "done" and j.status == "done", "live() follows the job to its end", st)
    check(text.endswith(j.summary) and text[:-len(j.summary)].rstrip().endswith("done"),
          "live() printed its progress lines, the last one done, then the summary",
          text[-600:])


def invalid(env):
    anafs, m = env["anafs"], env["m"]
    j = anafs.submit("dataset nope.root\ntree Events\nhist x = MET_pt bins=2 range=0,1\n",
                     name="bad", mount=m.mnt)
    check(j.wait() == "invalid" and "nope.root" in j.error, "an invalid query: status, error",
          j.error)
    check(j.hists() == {} and j.summary == "" and j.cutflow == "",
          "an invalid job: no histograms, no summary, no cutflow")
    for bad in ("12", "a/b", ".x"):
        try:
            anafs.submit("x", name=bad, mount=m.mnt)
            check(False, "submit(name=%r) is refused" % bad)
        except ValueError:
            check(True, "submit(name=%r) is refused" % bad)


def main(pydir):
    anafs_bin, data = setup(__doc__)
    sys.path.insert(0, pydir)
    import anafs
    tmp = tmpdir("anafs-python-")
    os.environ["ANAFS_COLCACHE_DIR"] = os.path.join(tmp, "colcache")
    os.environ.pop("ANAFS_MOUNT", None)
    m = Mount(anafs_bin, tmp, "py", "--no-reuse", "--workers", "2")
    env = {"anafs": anafs, "m": m, "data": data, "tmp": tmp, "pydir": pydir}
    for fn in (jobs_and_names, hists_plain, summary_lines, samples, without_numpy,
               with_hist_stub, live_and_wait, invalid):
        if fn in (jobs_and_names,) or "plain" in env:
            section(fn, env)
    return finish()


if __name__ == "__main__":
    # setup() takes ANAFS and SHARED_DATA; the module's folder comes third.
    sys.exit(main(os.path.abspath(sys.argv.pop(3)) if len(sys.argv) == 4 else ""))
