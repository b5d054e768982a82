#!/usr/bin/python3
"""Jupyter for real: Debian's Jupyter Notebook serving a real anafs mount,
driven by a headless Chromium (Debian's, through playwright-core from npm)
as a user would: open jobs/N/ in the file browser and an SVG plot from
it, open a .query file in the editor and save it (a new job appears), run
a notebook cell calling anafs.Job(N).live() and see its plot change while
the job runs (two screenshots differ), the cell ending with the job.

Usage: jupyter_check.py ANAFS SHARED_DATA PYTHON_DIR NPM_DIR

The server listens on 127.0.0.1 only, with a token, no browser; its
config, data and runtime folders are private.  playwright-core is
installed into NPM_DIR by npm when it is not there.  The slow job is
paused, resumed and paused again by the driver, so that nothing depends
on how fast the machine is.  Exit status 0 when every check passed, 1
otherwise, 77 when Jupyter Notebook, ipykernel, chromium, node or npm's
playwright-core (or /dev/fuse) is missing.  JUPYTER_SHOT=FILE copies the
screenshot of the live cell to FILE (docs/img/jupyter-live.png).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mount_util import (Mount, cat_wait, check, children, finish,  # noqa: E402
                        paused_job, popen, setup, small_query, tmpdir, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
PLAYWRIGHT = "playwright-core@1.61.1"  # the last release that runs on node 18 (Debian 12)


def skip(why):
    print("SKIP: %s" % why, flush=True)
    sys.exit(77)


def chromium():
    for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or ""):
        if p and os.access(p, os.X_OK):
            return p
    return None


def need_tools(npm_dir):
    """The tools, or exit 77 naming the missing one; returns (chromium,
    playwright module folder)."""
    r = subprocess.run(["/usr/bin/python3", "-c", "import notebook, ipykernel"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        skip("Jupyter Notebook or ipykernel is missing (Debian: jupyter-notebook "
             "python3-ipykernel): %s" % r.stderr.strip()[-200:])
    chrome = chromium()
    if not chrome:
        skip("chromium is missing (Debian: chromium)")
    if not shutil.which("node"):
        skip("node is missing (Debian: nodejs)")
    mod = os.path.join(npm_dir, "node_modules", "playwright-core")
    if not os.path.isfile(os.path.join(mod, "package.json")):
        if not shutil.which("npm"):
            skip("npm is missing (Debian: npm) and %s is not installed" % PLAYWRIGHT)
        os.makedirs(npm_dir, exist_ok=True)
        r = subprocess.run(["npm", "install", "--prefix", npm_dir, "--no-save", "--no-audit",
                            "--no-fund", "--loglevel=error", PLAYWRIGHT],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0 or not os.path.isfile(os.path.join(mod, "package.json")):
            skip("npm could not install %s: %s" % (PLAYWRIGHT, r.stderr.strip()[-300:]))
    return chrome, mod


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def notebook(job):
    """A one-cell notebook calling Job(job).live()."""
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                   "source": "import anafs\nanafs.Job(%d).live(interval=0.3)" % job}],
        "metadata": {"kernelspec": {"name": "anafs-test", "display_name": "Python 3 (anafs)",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


def start_jupyter(tmp, mnt, pydir):
    """Jupyter Notebook on 127.0.0.1 with its root at the mount; a kernel
    spec of /usr/bin/python3 with the module on its path."""
    dirs = {k: os.path.join(tmp, "jupyter-" + k) for k in ("config", "data", "runtime", "ipython")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    spec = os.path.join(dirs["data"], "kernels", "anafs-test")
    os.makedirs(spec)
    with open(os.path.join(spec, "kernel.json"), "w") as f:
        json.dump({"argv": ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f",
                            "{connection_file}"],
                   "display_name": "Python 3 (anafs)", "language": "python",
                   "env": {"PYTHONPATH": pydir, "ANAFS_MOUNT": mnt}}, f)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=dirs["config"], JUPYTER_DATA_DIR=dirs["data"],
               JUPYTER_PATH=dirs["data"], JUPYTER_RUNTIME_DIR=dirs["runtime"],
               IPYTHONDIR=dirs["ipython"], HOME=tmp, PYTHONPATH=pydir)
    port, token = free_port(), os.urandom(12).hex()
    log = open(os.path.join(tmp, "jupyter.log"), "w")
    args = ["/usr/bin/python3", "-m", "notebook", "--no-browser", "--ip=127.0.0.1",
            "--port=%d" % port, "--port-retries=0", "--notebook-dir=" + mnt,
            "--NotebookApp.token=" + token, "--ContentsManager.allow_hidden=True",
            "--MappingKernelManager.default_kernel_name=anafs-test"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    p = popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    base = "http://127.0.0.1:%d" % port

    def up():
        with urllib.request.urlopen(base + "/api/status?token=" + token, timeout=5) as r:
            return r.status == 200
    if not check(wait_for(up, 60, 0.2) and p.poll() is None,
                 "Jupyter Notebook serves the mount on 127.0.0.1 with a token",
                 open(log.name).read()[-2000:]):
        raise RuntimeError("no Jupyter server")
    check(not urllib_ok(base + "/api/status"), "without the token the server refuses")
    return p, base, token, log.name


def urllib_ok(u):
    try:
        with urllib.request.urlopen(u, timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def stop_jupyter(p):
    """SIGTERM: the server shuts its kernels down; what is left of them is
    ended by PID."""
    kids = children(p.pid)
    p.terminate()
    if not wait_for(lambda: p.poll() is not None, 20, 0.1):
        p.kill()  # mount_util's cleanup waits for it
    for k in kids:
        try:
            os.kill(k, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main(pydir, npm_dir):
    anafs_bin, data = setup(__doc__)
    chrome, pw = need_tools(npm_dir)
    tmp = tmpdir("anafs-jupyter-")
    os.environ["ANAFS_COLCACHE_DIR"] = os.path.join(tmp, "colcache")
    m = Mount(anafs_bin, tmp, "jup", "--no-reuse", "--workers", "2")
    done = m.submit("dimuon", small_query(data, 20))
    check(cat_wait(m.mnt, done) == "done", "job %s (dimuon) is done" % done)
    slow = paused_job(m, data, "slow", copies=60)
    with open(os.path.join(m.jobs, ".live.ipynb"), "w") as f:  # a scratch file of the mount
        json.dump(notebook(int(slow)), f)
    server, base, token, jlog = start_jupyter(tmp, m.mnt, pydir)
    out = os.path.join(tmp, "shots")
    os.makedirs(out)
    cfg = {"playwright": pw, "chromium": chrome, "base": base, "token": token, "mnt": m.mnt,
           "done_job": int(done), "query_name": "dimuon", "slow_job": int(slow),
           "notebook": "jobs/.live.ipynb", "out": out}
    cfg_path = os.path.join(tmp, "drive.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    t = time.time()
    try:
        r = subprocess.run(["node", os.path.join(HERE, "jupyter_drive.js"), cfg_path],
                           capture_output=True, text=True, timeout=240, cwd=tmp)
        text, rc = r.stdout + r.stderr, r.returncode
    except subprocess.TimeoutExpired as e:
        text, rc = (e.stdout or b"").decode() + "\n(the driver ran past 240 s)", -1
    print(text.rstrip(), flush=True)
    print("    (the browser: %.1f s)" % (time.time() - t), flush=True)
    fails = [ln for ln in text.splitlines() if ln.startswith("FAIL")]
    check(rc == 0 and not fails and "ok   the plot in the cell changes" in text,
          "every check of the browser passed", "; ".join(fails)[:1500] or "rc %s" % rc)
    shot = os.path.join(out, "jupyter-live.png")
    if os.environ.get("JUPYTER_SHOT") and os.path.exists(shot):
        shutil.copyfile(shot, os.environ["JUPYTER_SHOT"])
    stop_jupyter(server)
    if fails or rc:
        print("--- jupyter.log (its end):\n%s" % open(jlog).read()[-3000:], flush=True)
    if m.status(slow) not in ("done", "cancelled"):
        m.ctl(slow, "cancel")
    return finish()


if __name__ == "__main__":
    # setup() takes ANAFS and SHARED_DATA; the module's and npm's folders follow.
    if len(sys.argv) != 5:
        print(__doc__)
        sys.exit(2)
    npm = os.path.abspath(sys.argv.pop(4))
    sys.exit(main(os.path.abspath(sys.argv.pop(3)), npm))
