#!/usr/bin/python3
"""The core that runs jobs under hostile input, through real mounts and
anafs run: a dataset of 2,000 files (submission does not wait for it, and
it runs under `ulimit -n 256`), a file lacking a branch, a FIFO matching a
pattern (and one that replaces a file while the daemon is down), a file
truncated while it is read, a file changed between a stop and a restart, a
root-only file named by another uid on a shared mount, histograms over the
memory cap, a damaged page of the job database, and a state folder that
fills up.

Usage: core_check.py ANAFS SHARED_DATA

Exit status: 0 when every check passed, 1 otherwise, 77 when /dev/fuse or
fusermount3 is missing.  The full-disk case runs in a private mount
namespace (unshare -m) with a 2 MB tmpfs; it is skipped, and says so, when
that is not allowed.
"""
import os
import resource
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mount_util  # noqa: E402
from mount_util import (Mount, as_user, cat_wait, check, progress, read,  # noqa: E402
                        section, sh, tmpdir, wait_for)

DIMUON = "root/nano_dimuon.root"
LZ4 = "bench/nano_like_lz4_200k.root"
HISTS = ("hist met = MET_pt bins=20 range=0,200 weight=MET_pt * 0.5\n"
         "hist n = nMuon bins=6 range=0,6\n")
JETS = ("define good = Jet_pt > 20\nhist ht = sum(Jet_pt[good]) bins=50 range=0,500"
        " weight=MET_pt\n")


class Env:
    """The test's private folder, its anafs and the shared data."""

    def __init__(self, anafs, data):
        self.anafs, self.data = anafs, data
        self.tmp = tmpdir("anafs-core-")

    def path(self, name):
        return os.path.join(self.data, name)

    def file(self, name, text):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def mount(self, tag, *opts, state=None, preexec=None):
        """A mount made as `anafs mount` makes it: (mount point, state)."""
        m = Mount(self.anafs, self.tmp, tag, *opts, state=state, preexec=preexec)
        return m.mnt, m.state

    def umount(self, mnt, state):
        return subprocess.run([self.anafs, "umount", mnt, "--state", state],
                              capture_output=True, text=True, timeout=60)

    def run(self, qpath, *extra, timeout=300, preexec=None):
        return subprocess.run([self.anafs, "run", qpath] + list(extra), capture_output=True,
                              timeout=timeout, preexec_fn=preexec)


def few_files():
    """As `ulimit -n 256` would."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def status(mnt, job):
    return read("%s/jobs/%s/status" % (mnt, job)).strip()


def submit(mnt, name, text):
    """Write jobs/NAME.query as cp would; the new job's number."""
    with open("%s/jobs/%s.query" % (mnt, name), "w") as f:
        f.write(text)
    return os.readlink("%s/jobs/%s" % (mnt, name))


def log_of(mnt, job):
    return read("%s/jobs/%s/log" % (mnt, job))


def many_files(env):
    # Under ThreadSanitizer (make tsan) each open of a file costs a tenth of a
    # second: 300 files still pass the limit of 256 descriptors.
    nfiles = 300 if os.environ.get("ANAFS_TSAN") else 2000
    d = os.path.join(env.tmp, "many")
    os.makedirs(d)
    for i in range(nfiles):
        os.symlink(env.path(DIMUON), os.path.join(d, "f%04d.root" % i))
    q = env.file("many.query", "dataset many/*.root\n" + HISTS)
    r = env.run(q, timeout=600, preexec=few_files)
    check(r.returncode == 0, "anafs run over %d files under ulimit -n 256" % nfiles,
          r.stderr[-500:])
    ref = r.stdout
    mnt, state = env.mount("many", preexec=few_files)
    t0 = time.time()
    job = submit(mnt, "many", read(q))
    closed = time.time() - t0
    p = progress(mnt, job)
    print("close() of a %d-file query returned in %.3f s; then %s, %d tasks known"
          % (nfiles, closed, p["status"], p["tasks_total"]), flush=True)
    check(p["status"] == "queued" and p["tasks_total"] == 0,
          "close() returns before the %d files are planned" % nfiles, p)
    check(cat_wait(mnt, job, 600) == "done", "the job ends done under ulimit -n 256",
          read("%s/jobs/%s/error" % (mnt, job)))
    check(read("%s/jobs/%s/hist.json" % (mnt, job), "rb") == ref,
          "its hist.json is anafs run's, byte for byte")
    check(progress(mnt, job)["tasks_total"] == nfiles, "a task per file")
    env.umount(mnt, state)


def missing_branch(env, mnt):
    text = "dataset %s %s %s\n%s" % (env.path(DIMUON), env.path(DIMUON),
                                     env.path("root/uproot-HZZ-zlib.root"), HISTS)
    job = submit(mnt, "nobranch", text)
    check(cat_wait(mnt, job, 60) == "invalid", "a file lacking a branch: the job is invalid")
    err = read("%s/jobs/%s/error" % (mnt, job))
    check("uproot-HZZ-zlib.root" in err and "MET_pt" in err,
          "the error names the file and the branch", err)
    log = log_of(mnt, job)
    check("running" not in log and progress(mnt, job)["tasks_done"] == 0,
          "no task ran before the file was found", log)


def fifo(env, mnt):
    d = os.path.join(env.tmp, "withfifo")
    os.makedirs(d)
    shutil.copy(env.path(DIMUON), os.path.join(d, "a.root"))
    os.mkfifo(os.path.join(d, "b.root"))
    job = submit(mnt, "fifo", "dataset withfifo/*.root\n" + HISTS)
    check(cat_wait(mnt, job, 60) == "invalid", "a FIFO matching the pattern: the job is invalid")
    err = read("%s/jobs/%s/error" % (mnt, job))
    check("b.root" in err and "FIFO" in err, "the error names the FIFO", err)


def pause_planned(mnt, job):
    """Pause job at once, then let it be planned (the planner plans paused
    jobs too): its files are recorded, and at most the few tasks that
    started before the pause have run."""
    try:
        with open("%s/jobs/%s/ctl" % (mnt, job), "w") as f:
            f.write("pause\n")
        paused = ""
    except OSError as e:
        paused = str(e)
    check(not paused, "pause written to ctl of the new job", paused)
    check(wait_for(lambda: progress(mnt, job)["tasks_total"] > 0, 60),
          "the paused job is planned")
    p = progress(mnt, job)
    check(p["status"] == "paused" and p["tasks_done"] < p["tasks_total"],
          "it is paused, unfinished", p)


def fifo_at_restart(env):
    mnt, state = env.mount("fiforestart")
    x = os.path.join(env.tmp, "x.root")
    shutil.copy(env.path(LZ4), x)
    job = submit(mnt, "x", "dataset %s\n%s" % (" ".join([x] * 400), JETS))
    pause_planned(mnt, job)
    check(status(mnt, job) == "paused", "the job is paused")
    check(env.umount(mnt, state).returncode == 0, "umount with a paused job")
    os.unlink(x)
    os.mkfifo(x)
    mnt, state = env.mount("fiforestart", state=state)
    r = sh("ls '%s/jobs'" % mnt, timeout=20)
    check(r.returncode == 0 and job in r.stdout.split(), "the mount serves at once", r.stderr)
    check(wait_for(lambda: status(mnt, job) == "failed", 30),
          "the job whose file became a FIFO fails at resume", status(mnt, job))
    err = read("%s/jobs/%s/error" % (mnt, job))
    check("x.root" in err and "FIFO" in err, "its error names the FIFO", err)
    env.umount(mnt, state)


def truncated(env):
    big = os.path.join(env.tmp, "big.root")
    shutil.copy(env.path(LZ4), big)
    # 2000 times the file: a few seconds of work, so the cut 0.3 s in meets
    # the run while it reads (150 times took 0.3 s in all by now).
    q = env.file("big.query", "dataset %s\n%s" % (" ".join([big] * 2000), JETS))
    # The reader must meet the cut: with the column cache on, the copies
    # after the first are its decoded columns (the file's identity as
    # planned), and the run may be over before the cut.
    p = subprocess.Popen([env.anafs, "run", q, "-j", "2"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, ANAFS_COLCACHE="off"))
    time.sleep(0.3)
    os.truncate(big, os.path.getsize(big) // 2)
    _, err = p.communicate(timeout=300)
    check(p.returncode == 1, "anafs run over a file cut while read exits 1 (no signal)",
          "exit %s: %s" % (p.returncode, err[-400:]))
    check("big.root" in err, "its message names the file", err[-400:])
    # The same in the mount: the job fails, the daemon and other jobs go on.
    shutil.copy(env.path(LZ4), big)
    mnt, state = env.mount("trunc")
    job = submit(mnt, "big", read(q))
    check(wait_for(lambda: progress(mnt, job)["events_done"] > 0, 60), "the job runs")
    os.truncate(big, os.path.getsize(big) // 2)
    check(cat_wait(mnt, job, 120) == "failed", "a job whose file is cut while read fails")
    err = read("%s/jobs/%s/error" % (mnt, job))
    check("big.root" in err, "its error names the file", err)
    other = submit(mnt, "after", "dataset %s\n%s" % (env.path(DIMUON), HISTS))
    check(cat_wait(mnt, other, 60) == "done", "the daemon lives on: the next job is done")
    env.umount(mnt, state)


def changed_at_restart(env):
    c = os.path.join(env.tmp, "c.root")
    shutil.copy(env.path(LZ4), c)
    mnt, state = env.mount("changed")
    job = submit(mnt, "c", "dataset %s\n%s" % (" ".join([c] * 400), JETS))
    pause_planned(mnt, job)
    check(env.umount(mnt, state).returncode == 0, "umount with a paused job")
    with open(c, "ab") as f:
        f.write(b"appended while the daemon was down")
    mnt, state = env.mount("changed", state=state)
    check(wait_for(lambda: status(mnt, job) == "failed", 30),
          "a job whose file changed while stopped fails at resume", status(mnt, job))
    log = log_of(mnt, job)
    check("cannot resume" in log and "c.root" in log and "changed" in log,
          "its log says which file changed", log)
    env.umount(mnt, state)


def shadow(env):
    if os.getuid() != 0 or not os.path.exists("/etc/shadow"):
        print("SKIP the shared-mount access check: not root, or no /etc/shadow")
        return
    mnt, state = env.mount("shared", "--allow-other")
    size = str(os.path.getsize("/etc/shadow"))
    head = read("/etc/shadow", "rb")[:12].decode(errors="replace")

    def submit_shadow():
        with open(mnt + "/jobs/shadow.query", "w") as f:
            f.write("dataset /etc/shadow\nhist x = MET_pt bins=2 range=0,1\n")
        return os.readlink(mnt + "/jobs/shadow")
    res = as_user(65534, submit_shadow)
    check("ok" in res, "uid 65534 submits a query naming /etc/shadow", res)
    job = res.get("ok")
    if job:
        check(cat_wait(mnt, job, 60) == "invalid", "the job is refused (invalid)")
        err = read("%s/jobs/%s/error" % (mnt, job))
        check("permission denied" in err, "its error says permission denied", err)
        check(size not in err and head not in err,
              "its error carries neither the size nor bytes of the file", err)
    env.umount(mnt, state)


def memory_cap(env, mnt):
    hists = "".join("hist h%d = MET_pt bins=1000000 range=0,1\n" % i for i in range(4000))
    q = env.file("huge.query", "dataset %s\n%s" % (env.path(DIMUON), hists))
    r = env.run(q, timeout=120)
    err = r.stderr.decode()
    check(r.returncode == 1 and "GiB" in err and "histograms" in err,
          "anafs run of 4000 histograms of a million bins: refused with the figure", err[-500:])
    r = sh("cp '%s' '%s/jobs/'" % (q, mnt))
    check(r.returncode != 0 and "Invalid argument" in r.stderr,
          "cp of it into jobs/ fails with EINVAL", r.stderr)
    err = read(mnt + "/jobs/huge/error")
    check("GiB" in err and "hint:" in err, "jobs/huge/error gives the figure and a hint", err)


def smash_page_with(db, marker, others):
    """Overwrite the first page of sqlite file db holding marker and none of
    others (an overflow page of one job's row, not a page rows share); its
    number."""
    with open(db, "r+b") as f:
        head = f.read(100)
        size = int.from_bytes(head[16:18], "big") or 65536
        f.seek(0)
        data = f.read()
        pages = [i for i in range(len(data) // size)
                 if marker in data[i * size:(i + 1) * size]
                 and not any(o in data[i * size:(i + 1) * size] for o in others)]
        if not pages:
            return None
        f.seek(pages[0] * size)
        f.write(b"\xa5" * size)
        return pages[0] + 1


def damaged(env):
    mnt, state = env.mount("damaged")
    jobs = {}
    for name in ("keep1", "hurt", "keep2"):
        pad = "# %s\n" % ("MARK-%s-" % name.upper() * 2000)  # query text on pages of its own
        jobs[name] = submit(mnt, name, pad + "dataset %s\n%s" % (env.path(DIMUON), HISTS))
        check(cat_wait(mnt, jobs[name], 60) == "done", "job %s done" % name)
    before = read("%s/jobs/%s/hist.json" % (mnt, jobs["keep2"]), "rb")
    check(env.umount(mnt, state).returncode == 0, "umount")
    page = smash_page_with(os.path.join(state, "anafs.db"), b"MARK-HURT-" * 40,
                           [b"MARK-KEEP1-", b"MARK-KEEP2-"])
    check(page is not None, "a page holding only job hurt's query was found and overwritten")
    m = Mount(env.anafs, env.tmp, "damaged", state=state)
    check("damaged" in m.stderr and jobs["hurt"] in m.stderr,
          "the mount says the database is damaged and which job", m.stderr)
    r = sh("ls '%s/jobs'" % mnt)
    check(all(j in r.stdout.split() for j in jobs.values()), "every job is listed", r.stdout)
    check(status(mnt, jobs["hurt"]) == "failed", "the damaged job is failed")
    err = read("%s/jobs/%s/error" % (mnt, jobs["hurt"]))
    check("damaged" in err, "its error says its record is damaged", err)
    check(read("%s/jobs/%s/hist.json" % (mnt, jobs["keep2"]), "rb") == before
          and status(mnt, jobs["keep1"]) == "done",
          "the other jobs are intact")
    env.umount(mnt, state)


def full_disk_child(anafs, data):
    """In a private mount namespace: a state folder of 2 MB fills up."""
    env = Env(anafs, data)
    state = os.path.join(env.tmp, "state-full")
    os.makedirs(state)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", state],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("SKIP the full-disk check: cannot mount a tmpfs (%s)" % r.stderr.strip())
        return
    try:
        mnt, state = env.mount("full", state=state)
        text = ("dataset %s\nhist big = MET_pt bins=1000000 range=0,1000 weight=MET_pt\n"
                % env.path(DIMUON))
        job = submit(mnt, "big", text)
        check(cat_wait(mnt, job, 120) == "failed", "a result the state folder cannot hold: "
              "the job fails (cat wait returns)")
        err = read("%s/jobs/%s/error" % (mnt, job))
        check("no space left" in err, "its error says the state folder is full", err)
        small = submit(mnt, "small", "dataset %s\n%s" % (env.path(DIMUON), HISTS))
        check(cat_wait(mnt, small, 60) in ("done", "failed"), "the next job ends too")
        env.umount(mnt, state)
    finally:
        mount_util.cleanup()
        subprocess.run(["umount", "-l", state], capture_output=True)


def full_disk(env):
    if os.getuid() != 0 or not shutil.which("unshare"):
        print("SKIP the full-disk check: needs root and unshare")
        return
    r = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable,
                        os.path.abspath(__file__), "--full-disk", env.anafs, env.data],
                       capture_output=True, text=True, timeout=300)
    sys.stdout.write(r.stdout)
    fails = [ln for ln in r.stdout.splitlines() if ln.startswith("FAIL")]
    check(r.returncode == 0 and not fails, "the full-disk checks (in their own namespace)",
          (r.returncode, fails, r.stderr[-500:]))


def run(anafs, data):
    env = Env(anafs, data)
    budget = 600  # the watchdog's: ThreadSanitizer makes every step slow
    section(many_files, env, budget=budget)
    mnt, state = env.mount("main")
    for fn in (missing_branch, fifo, memory_cap):
        section(fn, env, mnt, budget=budget)
    env.umount(mnt, state)
    for fn in (fifo_at_restart, truncated, changed_at_restart, shadow, damaged, full_disk):
        section(fn, env, budget=budget)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--full-disk":
        full_disk_child(sys.argv[2], sys.argv[3])
        sys.exit(1 if mount_util.FAILED else 0)
    run(*mount_util.setup(__doc__))
    sys.exit(mount_util.finish())
