#!/usr/bin/python3
"""Where fills run, without a device: `--gpu auto|on|off` for `anafs run`
and the mount, the host emulation (ANAFS_GPU_EMULATE=1) standing in for a
device, and its fault injection (ANAFS_GPU_FAULT=oom).

1. `anafs run`: --gpu off is the reference; --gpu on with no device says
   so on stderr and gives the same bytes; the emulated device (on, auto)
   gives byte-identical unweighted histograms and weighted sums within
   1e-12 relative; with the fault injected every task falls back and the
   bytes are the reference's; a bad --gpu value is a usage error.
2. A mount (thread workers, so the log sees the tasks): the job's log has
   the choice ("fills on GPU host emulation"), the counts of device fills
   and nodes,
   and with the fault one line per task that fell back, the job done;
   progress.json has a "gpu" field; hist.json is `anafs run`'s.

Usage: gpu_check.py ANAFS DATA_DIR
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mount_util as mu  # noqa: E402
from mount_util import check, section  # noqa: E402

QUERY = """dataset {data}/bench/nano_like_zstd_500k.root
tree Events
define good = Jet_pt > 20
hist met = MET_pt bins=50 range=0,200
hist jpt = Jet_pt[good] bins=40 range=0,200
hist jpt_eta = Jet_pt[good], Jet_eta[good] bins=40,30 range=0,200,-3,3
hist jvar = Jet_pt edges=0,10,20,25,30,40,60,100,250
hist jw = Jet_pt[good] bins=40 range=0,200 weight=MET_pt
"""
WEIGHTED = {"jw"}


def env_of(tmp, **kw):
    e = dict(os.environ)
    for k in ("ANAFS_GPU", "ANAFS_GPU_EMULATE", "ANAFS_GPU_FAULT"):
        e.pop(k, None)
    e["ANAFS_COLCACHE_DIR"] = os.path.join(tmp, "columns")
    e.update(kw)
    return e


def run(anafs, query, out, gpu, env):
    args = [anafs, "run", query, "-j", "2", "-o", out] + (["--gpu", gpu] if gpu else [])
    return subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)


def close(a, b):
    """Every number of a and b (nested) within 1e-12 relative."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    return a == b


def same_as_reference(ref, out, what, exact_all):
    a, b = json.load(open(ref)), json.load(open(out))
    for k in a:
        if k in WEIGHTED and not exact_all:
            check(close(a[k], b[k]), "%s: %s within 1e-12 relative" % (what, k))
        else:
            check(json.dumps(a[k]) == json.dumps(b[k]), "%s: %s identical" % (what, k))
    if exact_all:
        check(open(ref, "rb").read() == open(out, "rb").read(), "%s: hist.json bytes identical" % what)


def test_run(anafs, data, tmp):
    q = os.path.join(tmp, "gpu.query")
    mu.write(q, QUERY.format(data=data))
    ref = os.path.join(tmp, "off.json")
    r = run(anafs, q, ref, "off", env_of(tmp))
    check(r.returncode == 0, "--gpu off runs", r.stderr)
    # Default (auto) and on, on this machine as it is (no emulation).
    for gpu in (None, "on"):
        out = os.path.join(tmp, "plain-%s.json" % gpu)
        r = run(anafs, q, out, gpu, env_of(tmp))
        check(r.returncode == 0, "--gpu %s runs" % gpu, r.stderr)
        if r.returncode:
            continue
        if gpu == "on" and "no device" in r.stderr:
            check("--gpu on: fills on the CPU: no device" in r.stderr,
                  "--gpu on without a device says so", r.stderr)
        same_as_reference(ref, out, "--gpu %s (this machine)" % gpu, False)
    # The emulated device.
    for gpu in ("on", "auto"):
        out = os.path.join(tmp, "emu-%s.json" % gpu)
        r = run(anafs, q, out, gpu, env_of(tmp, ANAFS_GPU_EMULATE="1"))
        check(r.returncode == 0 and not r.stderr, "emulated --gpu %s runs quietly" % gpu, r.stderr)
        if not r.returncode:
            same_as_reference(ref, out, "emulated --gpu %s" % gpu, False)
    # A device that fails: every task falls back, nothing fails.
    out = os.path.join(tmp, "oom.json")
    r = run(anafs, q, out, "on", env_of(tmp, ANAFS_GPU_EMULATE="1", ANAFS_GPU_FAULT="oom"))
    check(r.returncode == 0, "a device out of memory does not fail the job", r.stderr)
    if not r.returncode:
        same_as_reference(ref, out, "fallback after oom", True)
    r = run(anafs, q, out, "maybe", env_of(tmp))
    check(r.returncode == 2 and "--gpu auto|on|off" in r.stderr, "--gpu maybe is a usage error",
          r.stderr)
    # ANAFS_GPU=off in the environment is --gpu off (what workers read).
    r = run(anafs, q, out, None, env_of(tmp, ANAFS_GPU="off", ANAFS_GPU_EMULATE="1"))
    check(r.returncode == 0, "ANAFS_GPU=off runs", r.stderr)
    if not r.returncode:
        same_as_reference(ref, out, "ANAFS_GPU=off", True)


def mount_job(anafs, data, tmp, tag, env, ref):
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        m = mu.Mount(anafs, tmp, tag, "--backend", "threads", "--workers", "2", "--gpu", "on",
                     "--no-reuse")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    job = m.submit("gpu", QUERY.format(data=data))
    st = mu.cat_wait(m.mnt, job, 300)
    check(st == "done", "%s: the job is done" % tag, st)
    log = mu.read("%s/%s/log" % (m.jobs, job))
    prog = json.loads(mu.read("%s/%s/progress.json" % (m.jobs, job)))
    check(os.path.exists(ref), "%s: anafs run --gpu off left its hist.json" % tag)
    if os.path.exists(ref):
        # After the fault every fill ran on the CPU: the same bytes; on the
        # emulated device the weighted sums within 1e-12.
        same_as_reference(ref, "%s/%s/hist.json" % (m.jobs, job), "%s: the mount's" % tag,
                          "fault" in tag)
    m.umount()
    return log, prog


def test_mount(anafs, data, tmp):
    ref = os.path.join(tmp, "off.json")
    log, prog = mount_job(anafs, data, tmp, "emu", env_of(tmp, ANAFS_GPU_EMULATE="1"), ref)
    # On a machine with a device the device is the real one, not the emulation.
    check("fills on GPU " in log and "(--gpu on: every fill and operation)" in log, "the log names the device",
          log)
    check("histogram fills ran on the device" in log, "the log counts the device's fills", log)
    check("evaluation nodes ran on the device" in log, "the log counts the device's nodes", log)
    check(prog.get("gpu", "").startswith("fills on GPU "), "progress.json names the device",
          prog)
    log, prog = mount_job(anafs, data, tmp, "fault",
                          env_of(tmp, ANAFS_GPU_EMULATE="1", ANAFS_GPU_FAULT="oom"), ref)
    falls = [ln for ln in log.splitlines()
             if "device out of memory on " in ln and "the task's fills went on on the CPU" in ln]
    check(len(falls) >= 1, "the log has a line per task that fell back", log)
    check("histogram fills ran on the device" not in log, "no fill ran on the failed device", log)
    check("evaluation nodes ran on the device" not in log, "no node ran on the failed device", log)


def main():
    anafs, data = mu.setup(__doc__)
    tmp = mu.tmpdir("anafs-gpu-")
    section(test_run, anafs, data, tmp, budget=300)
    section(test_mount, anafs, data, tmp, budget=300)
    return mu.finish()


if __name__ == "__main__":
    sys.exit(main())
