#!/usr/bin/python3
"""Reused results on a real mount: a query submitted again over unchanged
files, with other comments, blanks and define order, takes the stored
result at once (marked in its log and progress), byte-identical to a fresh
run; `echo rerun > ctl` runs it afresh; a changed file, another binning,
another histogram order, another owner's job, --no-reuse: each runs.  The
store keeps what can be reused across a restart of the daemon.

usage: reuse_check.py ANAFS SHARED_DATA
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mount_util import (BENCH, DIMUON, Mount, cat_wait, check, finish, progress,  # noqa: E402
                        read, section, setup, tmpdir, wait_for)

QUERY = """# the dimuon selection
dataset {data}
tree Events
define good = Muon_pt > 5
define ngood = sum(good)
define lowmet = MET_pt < 500
filter two: ngood >= 2 && lowmet
hist met = MET_pt bins=20 range=0,200 weight=MET_pt
hist mupt = Muon_pt[good] bins=30 range=0,150
"""

# The same query: other comments, blanks, a continuation, the defines swapped.
SAME = """dataset   {data}     # where
tree Events

define lowmet = MET_pt<500   # before the others
define good = Muon_pt>5
define ngood = sum( good )   # used by the filter
filter two : ngood >= \\
   2&&lowmet
hist met = MET_pt bins=20 range=0,200 weight = MET_pt
# the muons
hist mupt = Muon_pt[good] bins=30 range=0,150
"""

OTHER_ORDER = """dataset {data}
tree Events
define good = Muon_pt > 5
define ngood = sum(good)
define lowmet = MET_pt < 500
filter two: ngood >= 2 && lowmet
hist mupt = Muon_pt[good] bins=30 range=0,150
hist met = MET_pt bins=20 range=0,200 weight=MET_pt
"""


def job_files(m, job):
    d = "%s/%s" % (m.jobs, job)
    return {n: read("%s/%s" % (d, n), "rb") for n in ("hist.json", "cutflow")}


def run(m, name, text):
    job = m.submit(name, text)
    check(cat_wait(m.mnt, job, 120) == "done", "job %s (%s) is done" % (job, name),
          read("%s/%s/log" % (m.jobs, job)))
    return job


def reused_from(m, job):
    return progress(m.mnt, job).get("reused_from")


def reuse(m, data, tmp):
    f = os.path.join(tmp, "dimuon.root")
    shutil.copy(os.path.join(data, DIMUON), f)
    a = run(m, "dimuon", QUERY.format(data=f))
    check(reused_from(m, a) is None, "the first job ran (reused_from null)", progress(m.mnt, a))
    first = job_files(m, a)

    b = run(m, "again", SAME.format(data=f))
    check(reused_from(m, b) == int(a), "the same query (other comments, blanks, define order) "
          "took job %s's result" % a, progress(m.mnt, b))
    log = read("%s/%s/log" % (m.jobs, b))
    check("reused the result of job %s" % a in log, "its log says it reused job %s" % a, log)
    check("reused the result of job %s" % a in read("%s/%s/progress" % (m.jobs, b)),
          "its progress says so", read("%s/%s/progress" % (m.jobs, b)))
    check(read("%s/%s/status" % (m.jobs, b)) == "done\n", "its status is done")
    p = progress(m.mnt, b)
    check(p["percent"] == 100 and p["tasks_done"] == p["tasks_total"] and
          p["events_done"] == p["events_total"] > 0, "its progress is complete", p)
    check(job_files(m, b) == first, "the reused hist.json and cutflow are the first job's bytes")

    # rerun: a new job of the same name, run afresh, the same bytes.
    m.ctl(b, "rerun")
    check(wait_for(lambda: int(os.readlink("%s/again" % m.jobs)) > int(b), 10),
          "echo rerun > ctl makes a new job of the same name")
    c = os.readlink("%s/again" % m.jobs)
    check(cat_wait(m.mnt, c, 120) == "done", "the rerun job is done")
    check(reused_from(m, c) is None, "the rerun job ran afresh", progress(m.mnt, c))
    check("a fresh run of job %s's query" % b in read("%s/%s/log" % (m.jobs, c)),
          "its log names the job it reruns", read("%s/%s/log" % (m.jobs, c)))
    check("runs afresh as job %s" % c in read("%s/%s/log" % (m.jobs, b)),
          "the rerun job's number is in the old job's log")
    check(job_files(m, c) == first, "a fresh run gives the reused bytes")

    # Another binning, another histogram order: each runs.
    d = run(m, "bins", QUERY.format(data=f).replace("bins=20", "bins=21"))
    check(reused_from(m, d) is None, "another binning runs", progress(m.mnt, d))
    e = run(m, "order", OTHER_ORDER.format(data=f))
    check(reused_from(m, e) is None, "another histogram order runs", progress(m.mnt, e))

    # The file changed (its modification time): the job runs, and a new
    # content gives the new result.
    os.utime(f, (time.time() + 5, time.time() + 5))
    g = run(m, "touched", QUERY.format(data=f))
    check(reused_from(m, g) is None, "after the file changed the job runs", progress(m.mnt, g))
    check(job_files(m, g) == first, "the same content gives the same bytes")
    shutil.copy(os.path.join(data, BENCH), f + ".new")
    os.replace(f + ".new", f)
    h = run(m, "replaced", QUERY.format(data=f))
    check(reused_from(m, h) is None, "over a replaced file the job runs", progress(m.mnt, h))
    check(job_files(m, h)["hist.json"] != first["hist.json"],
          "and its result is the new file's, not the stored one")
    k = run(m, "replaced2", SAME.format(data=f))
    check(reused_from(m, k) == int(h), "then the new result is the one reused",
          progress(m.mnt, k))
    return f, job_files(m, h), (int(h), int(k))


def restart(anafs, data, tmp, f, want, src):
    """The reuse survives the daemon: a new mount of the same state."""
    m = Mount(anafs, tmp, "reuse2", "--workers", "1", state=os.path.join(tmp, "state-reuse"))
    j = run(m, "after_restart", QUERY.format(data=f))
    check(reused_from(m, j) in src, "after a restart the stored result is reused",
          progress(m.mnt, j))
    check(job_files(m, j) == want, "with the same bytes")
    check(m.umount().returncode == 0, "umount")


def no_reuse(anafs, data, tmp, f):
    m = Mount(anafs, tmp, "noreuse", "--workers", "1", "--no-reuse")
    a = run(m, "one", QUERY.format(data=f))
    b = run(m, "two", QUERY.format(data=f))
    check(reused_from(m, b) is None, "with --no-reuse the second job runs too",
          progress(m.mnt, b))
    check(job_files(m, a) == job_files(m, b), "with the same bytes")
    check(m.umount().returncode == 0, "umount")


def main():
    anafs, data = setup(__doc__)
    tmp = tmpdir("anafs-reuse-")
    m = Mount(anafs, tmp, "reuse", "--workers", "1", state=os.path.join(tmp, "state-reuse"))
    out = []
    section(lambda: out.append(reuse(m, data, tmp)), budget=200)
    check(m.umount().returncode == 0, "umount")
    if out:
        f, want, src = out[0]
        section(restart, anafs, data, tmp, f, want, src)
        section(no_reuse, anafs, data, tmp, f)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
