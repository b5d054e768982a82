#!/usr/bin/python3
"""Local worker processes behind a real mount: the same job on 1, 2 and 4
`anafs worker` processes gives the hist.json of `anafs run`, byte for byte,
and so does the AGC analysis (samples, regions, variations: each worker
plans its task's file alone and must find its sample from its name);
kill -9 of one worker mid-task, and of two at once, changes nothing in the
bytes; the `workers` file lists the workers with their pids; unmounting
ends them.

Usage: workers_check.py ANAFS SHARED_DATA

Each mount runs `anafs mount --foreground --backend local` as our child,
its workers set by --workers N or by STATE/workers.conf.  Worker
processes are found in the `workers` file and signalled only when their
command line is `anafs worker` with this test's state folder in it.  Exit
status: 0 when every check passed, 1 otherwise, 77 when /dev/fuse or
fusermount3 is missing.
"""
import atexit
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mount_util as mu  # noqa: E402
from mount_util import check, wait_for  # noqa: E402

TMP = None
ROW = re.compile(r"^(\d+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(.*)$")


def query(data, zlib, lzma):
    """Weighted fills over several files: the bytes show the merge order."""
    files = ([os.path.join(data, "bench/nano_like_zlib_200k.root")] * zlib
             + [os.path.join(data, "bench/nano_like_lzma_100k.root")] * lzma)
    return """dataset %s
tree Events
define good = Jet_pt > 20 && abs(Jet_eta) < 2.4
filter onejet: sum(good) >= 1
hist jpt = Jet_pt[good] bins=50 range=0,200 weight=MET_pt * 0.37
hist ht = sum(Jet_pt[good]) bins=100 range=0,1000 weight=sqrt(MET_pt)
hist met = MET_pt bins=20 range=0,200
""" % " ".join(files)


def reference(anafs, text, name):
    path = os.path.join(TMP, name + ".query")
    mu.write(path, text)
    r = subprocess.run([anafs, "run", path], capture_output=True, timeout=300, cwd=TMP)
    if r.returncode != 0:
        raise RuntimeError("anafs run: %s" % r.stderr.decode()[-2000:])
    return r.stdout


def ours(pid):
    """Whether pid is a worker of this test: `anafs worker` with our folder."""
    try:
        cmd = mu.read("/proc/%d/cmdline" % pid, "rb").split(b"\0")
    except OSError:
        return False
    return len(cmd) > 1 and cmd[1] == b"worker" and any(TMP.encode() in a for a in cmd)


def alive(pid):
    try:
        st = mu.read("/proc/%d/stat" % pid).rsplit(")", 1)[1].split()
        return st[0] != "Z"
    except (OSError, IndexError):
        return False


def workers(m):
    """The workers file's rows: dicts of id, host, pid, backend, state, rest."""
    rows = []
    for line in mu.read(os.path.join(m.mnt, "workers")).splitlines():
        r = ROW.match(line)
        if r:
            rows.append({"id": int(r.group(1)), "host": r.group(2), "pid": int(r.group(3)),
                         "backend": r.group(4), "state": r.group(5), "rest": r.group(6)})
    return rows


def mount(anafs, tag, n, conf=False):
    """A mount with n local workers (--workers, or workers.conf)."""
    state = os.path.join(TMP, "state-" + tag)
    os.makedirs(state, mode=0o700, exist_ok=True)
    lines = "linger = 5\n"  # a worker orphaned by a failed test ends soon
    opts = ["--backend", "local"]
    if conf:
        lines = "# written by workers_check\nworkers = %d\n%s" % (n, lines)
    else:
        opts += ["--workers", str(n)]
    mu.write(os.path.join(state, "workers.conf"), lines)
    m = mu.Mount(anafs, TMP, tag, *opts, foreground=True, state=state)
    check(wait_for(lambda: len([w for w in workers(m) if w["state"] == "idle"]) == n, 30),
          "%s: %d workers are listed, idle" % (tag, n), mu.read(os.path.join(m.mnt, "workers")))
    return m


def run_job(m, name, text, want, what, secs=300):
    job = m.submit(name, text)
    status = mu.cat_wait(m.mnt, job, secs)
    got = mu.read("%s/%s/hist.json" % (m.jobs, job), "rb")
    check(status == "done" and got == want, "%s: the job is done with the bytes of anafs run"
          % what, "status %s, %d bytes vs %d" % (status, len(got), len(want)))
    return job


def unmount(m, pids):
    r = m.umount()
    check(r.returncode == 0, "anafs umount", r.stderr)
    if m.daemon:
        try:
            m.daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            check(False, "the daemon ends at umount")
    check(wait_for(lambda: not any(alive(p) for p in pids), 10),
          "umount ends the worker processes", [p for p in pids if alive(p)])


def sec_counts(anafs, data):
    """1, 2 and 4 workers: the bytes of anafs run."""
    text = query(data, 3, 3)
    want = reference(anafs, text, "counts")
    for n, conf in ((1, False), (2, True), (4, False)):
        m = mount(anafs, "n%d" % n, n, conf=conf)
        rows = workers(m)
        pids = [w["pid"] for w in rows]
        check(all(ours(p) for p in pids) and len(set(pids)) == n,
              "%d workers: the workers file lists %d worker processes by pid" % (n, n), rows)
        check(all(w["backend"] == "local" and w["host"] == os.uname().nodename[:16]
                  for w in rows), "%d workers: each is local, on this host" % n, rows)
        run_job(m, "counts", text, want, "%d worker%s" % (n, "s" if n > 1 else ""))
        done = sum(int(w["rest"].split()[1]) if w["rest"].startswith("-") else 0
                   for w in workers(m))
        check(done == 18, "%d workers: the workers file counts the 18 tasks done" % n,
              mu.read(os.path.join(m.mnt, "workers")))
        unmount(m, pids)


def sec_analysis(anafs, data):
    """examples/agc_ttbar.query on 2 worker processes: the bytes of anafs
    run, hist.json and the per-sample cutflow."""
    here = os.path.dirname(os.path.abspath(__file__))
    text = mu.read(os.path.join(here, "..", "examples", "agc_ttbar.query"))
    text = text.replace("../../shared/data", data)
    want = reference(anafs, text, "agc")
    path = os.path.join(TMP, "agc.query")
    r = subprocess.run([anafs, "run", "--cutflow", path], capture_output=True, timeout=300,
                       cwd=TMP)
    m = mount(anafs, "agc", 2)
    pids = [w["pid"] for w in workers(m)]
    job = run_job(m, "agc", text, want, "the AGC analysis on 2 workers")
    got = mu.read("%s/%s/cutflow" % (m.jobs, job), "rb")
    check(r.returncode == 0 and got == r.stdout and b"sample data (data)" in got,
          "the AGC analysis on 2 workers: the cutflow per sample of anafs run", got[:2000])
    unmount(m, pids)


def busy_pids(m, k):
    """Up to k pids of workers busy now (ours only)."""
    return [w["pid"] for w in workers(m) if w["state"] == "busy" and ours(w["pid"])][:k]


def sec_kills(anafs, data):
    """kill -9 of one busy worker, then of two at once, mid-job."""
    # 180 slow tasks: long enough that k busy workers are seen mid-job on
    # a loaded machine (with 60 the job once ended between two looks).
    text = query(data, 0, 90)
    want = reference(anafs, text, "kills")
    for n, k in ((2, 1), (3, 2)):
        what = "kill -9 of %d of %d workers" % (k, n)
        m = mount(anafs, "kill%d" % k, n)
        before = set(w["pid"] for w in workers(m))
        job = m.submit("kills", text)
        victims = []
        wait_for(lambda: len(busy_pids(m, k)) == k and mu.progress(m.mnt, job)["tasks_done"] >= 2,
                 60, step=0.01)
        victims = busy_pids(m, k)
        check(len(victims) == k, "%s: %d workers are seen busy" % (what, k), workers(m))
        for p in victims:
            os.kill(p, signal.SIGKILL)
        status = mu.cat_wait(m.mnt, job, 300)
        got = mu.read("%s/%s/hist.json" % (m.jobs, job), "rb")
        check(status == "done" and got == want, "%s: the job ends with the bytes of anafs run"
              % what, "status %s" % status)
        log = m.daemon_log()
        check(log.count("its tasks run again elsewhere") >= k,
              "%s: the daemon says the lost tasks run again" % what, log[-3000:])
        check(wait_for(lambda: len([w for w in workers(m) if w["state"] == "idle"]) == n, 30),
              "%s: the daemon starts new workers in their place" % what, workers(m))
        now = set(w["pid"] for w in workers(m))
        check(not (now & set(victims)) and len(now - before) == k,
              "%s: the dead are replaced by %d new processes" % (what, k), (before, now))
        unmount(m, list(before | now))


def end_strays():
    """Worker processes of ours still there (a failed check): SIGKILL."""
    if not TMP:
        return
    for p in os.listdir("/proc"):
        if p.isdigit() and ours(int(p)):
            try:
                os.kill(int(p), signal.SIGKILL)
            except OSError:
                pass


def main():
    global TMP
    anafs, data = mu.setup(__doc__)
    TMP = mu.tmpdir("anafs-workers-")
    atexit.register(end_strays)  # runs before mount_util's cleanup
    mu.section(sec_counts, anafs, data, budget=240)
    mu.section(sec_analysis, anafs, data, budget=120)
    mu.section(sec_kills, anafs, data, budget=240)
    return mu.finish()


if __name__ == "__main__":
    sys.exit(main())
