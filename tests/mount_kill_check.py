#!/usr/bin/python3
"""kill -9 of the daemon at random moments, then anafs mount again: every
unfinished job resumes from its last merged task and ends with the hist.json
(and cutflow) of a run never interrupted, byte for byte.

Usage: mount_kill_check.py ANAFS SHARED_DATA

The daemon runs with --foreground as a child of this test, so the PID killed
is always our own.  At most 12 kills in at most 120 s; a second job is
submitted between kills so that several jobs resume.  The random moments come
from a seed printed at the start (set ANAFS_KILL_SEED to replay one).  Every
mount is unmounted however the test ends.  Exit status: 0 when every check
passed, 1 otherwise, 77 when /dev/fuse or fusermount3 is missing.
"""
import atexit
import errno
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mount_util import FAILED, check, progress  # noqa: E402

STATE = {"daemon": None, "mnt": None, "tmp": None, "log": None}

# Tasks of 50k entries: 4 quick ones per zlib copy, 2 slow ones per lzma copy, so
# that tasks end out of order and partial results wait for their turn to merge.
BENCH = ("bench/nano_like_zlib_200k.root", "bench/nano_like_lzma_100k.root")
MAX_KILLS = 12
MAX_SECS = 120


def query_text(data, copies, bins):
    b = " ".join(os.path.join(data, f) for f in BENCH)
    return """# %d copies of two files: %d tasks; weighted fills, so the merge order shows in the bytes
dataset %s
tree Events
define good = Jet_pt > 20 && abs(Jet_eta) < 2.4
filter onejet: sum(good) >= 1
define ht = sum(Jet_pt[good])
hist jpt = Jet_pt[good] bins=%d range=0,200 weight=MET_pt * 0.37
hist ht bins=100 range=0,1000 weight=sqrt(MET_pt) + exp(-Jet_pt[0]/100)
filter lowmet: MET_pt < 80
hist dphi = delta_phi(Jet_phi[good], MET_phi) bins=64 range=-pi,pi weight=hypot(MET_pt, 1.5)
hist pteta = Jet_pt, Jet_eta bins=50,48 range=0,200,-2.4,2.4 weight=1.0/(1.0+Jet_mass)
hist met = MET_pt bins=20 range=0,200
""" % (copies, 6 * copies, " ".join([b] * copies), bins)


def is_stale(mnt):
    try:
        os.stat(mnt)
        return False
    except OSError as e:
        return e.errno == errno.ENOTCONN


def cleanup():
    d, mnt = STATE["daemon"], STATE["mnt"]
    if d is not None and d.poll() is None:
        d.send_signal(signal.SIGTERM)  # --foreground: SIGTERM unmounts and stops
        try:
            d.wait(timeout=15)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait(timeout=10)
    if mnt and (os.path.ismount(mnt) or is_stale(mnt)):
        r = subprocess.run(["fusermount3", "-u", mnt], capture_output=True, timeout=30)
        if r.returncode != 0:
            subprocess.run(["fusermount3", "-u", "-z", mnt], capture_output=True, timeout=30)
    if STATE["log"]:
        STATE["log"].close()
        STATE["log"] = None
    if STATE["tmp"]:
        shutil.rmtree(STATE["tmp"], ignore_errors=True)
        STATE["tmp"] = None


def start_daemon(anafs, mnt, state):
    """anafs mount --foreground as our child; returns once the mount serves."""
    d = subprocess.Popen([anafs, "mount", mnt, "--state", state, "--workers", "2",
                          "--foreground"], stdout=STATE["log"], stderr=STATE["log"],
                         cwd=STATE["tmp"])
    STATE["daemon"] = d
    end = time.time() + 15
    while time.time() < end:
        if d.poll() is not None:
            return False
        try:
            if os.path.ismount(mnt):
                os.listdir(mnt + "/jobs")
                return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


def read(p, mode="r"):
    with open(p, mode) as f:
        return f.read()


def submit(mnt, text, name):
    with open("%s/jobs/%s.query" % (mnt, name), "w") as f:
        f.write(text)
    return os.readlink("%s/jobs/%s" % (mnt, name))


def paused_or_finished(p):
    """A paused job starts no task, but the tasks it ran when paused finish
    and merge: if they were its last, it is done (docs/mount.md, ctl)."""
    return p["status"] == "paused" or (p["status"] == "done" and
                                        p["tasks_done"] == p["tasks_total"])


def resume(mnt, job):
    """Write resume to a paused job's ctl.  A job that finished meanwhile
    refuses it with EINVAL, as documented: that is a success too."""
    try:
        with open("%s/jobs/%s/ctl" % (mnt, job), "w") as f:
            f.write("resume\n")
        return True
    except OSError as e:
        st = progress(mnt, job)
        print("resume of job %s: %s; it is %s" % (job, e, st["status"]), flush=True)
        return e.errno == errno.EINVAL and paused_or_finished(st) and st["status"] == "done"


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    if not os.path.exists("/dev/fuse") or not shutil.which("fusermount3"):
        print("SKIP: /dev/fuse or fusermount3 is missing")
        return 77
    anafs, data = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    seed = int(os.environ.get("ANAFS_KILL_SEED") or time.time_ns() % 1000000)
    print("seed %d (ANAFS_KILL_SEED=%d replays these moments)" % (seed, seed), flush=True)
    rnd = random.Random(seed)
    atexit.register(cleanup)
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, lambda *_: sys.exit(1))
    tmp = tempfile.mkdtemp(prefix="anafs-kill-")
    STATE["tmp"] = tmp
    STATE["log"] = open(os.path.join(tmp, "daemon.log"), "w")
    mnt, state = os.path.join(tmp, "mnt"), os.path.join(tmp, "state")
    os.mkdir(mnt)
    STATE["mnt"] = mnt

    texts = {"A": query_text(data, 5, 50), "B": query_text(data, 3, 40)}
    refs = {}
    for name, text in texts.items():
        q = os.path.join(tmp, name + ".query")
        with open(q, "w") as f:
            f.write(text)
        r1 = subprocess.run([anafs, "run", q], capture_output=True, timeout=300)
        r2 = subprocess.run([anafs, "run", "--cutflow", q], capture_output=True, timeout=300)
        if r1.returncode or r2.returncode:
            check(False, "anafs run of the reference query %s" % name, r1.stderr + r2.stderr)
            return 1
        refs[name] = (r1.stdout, r2.stdout)

    if not check(start_daemon(anafs, mnt, state), "the first mount serves"):
        return 1
    jobs = {"A": submit(mnt, texts["A"], "A")}
    print("job A is %s" % jobs["A"], flush=True)
    kills, mounts_ok, seen_done = 0, True, {}
    kills_while = {"A": 0, "B": 0}   # kills while the job was not done
    kills_mid = {"A": 0, "B": 0}     # kills while it ran with some tasks merged
    paused_a = False
    start = time.time()
    while kills < MAX_KILLS and time.time() - start < MAX_SECS:
        try:
            before = {n: progress(mnt, j) for n, j in jobs.items()}
        except (OSError, ValueError) as e:
            check(False, "progress.json readable after a remount", e)
            break
        for n, p in before.items():  # merged tasks never go back
            if p["tasks_done"] < seen_done.get(n, 0):
                check(False, "job %s: tasks_done never decreases" % n,
                      "%d after %d" % (p["tasks_done"], seen_done[n]))
            seen_done[n] = p["tasks_done"]
        if all(p["status"] == "done" for p in before.values()) and "B" in jobs:
            break
        time.sleep(rnd.uniform(0.05, 0.8))
        try:
            live = {n: progress(mnt, j) for n, j in jobs.items()}
        except (OSError, ValueError):
            live = {}
        STATE["daemon"].kill()
        STATE["daemon"].wait(timeout=30)
        kills += 1
        for n, p in live.items():
            kills_while[n] += p["status"] != "done"
            kills_mid[n] += p["status"] == "running" and p["tasks_done"] > 0
        print("kill %d at %.2f s: %s" % (kills, time.time() - start,
              {n: "%s %d/%d" % (p["status"], p["tasks_done"], p["tasks_total"])
               for n, p in before.items()}), flush=True)
        if not start_daemon(anafs, mnt, state):
            mounts_ok = False
            check(False, "anafs mount again after kill %d serves" % kills,
                  read(os.path.join(tmp, "daemon.log"))[-2000:])
            return 1
        if paused_a:
            pa = progress(mnt, jobs["A"])
            check(paused_or_finished(pa), "a paused job stays paused after kill %d (or "
                  "finished with the tasks it had running)" % kills, pa)
        if kills == 2:
            jobs["B"] = submit(mnt, texts["B"], "B")
            print("job B is %s" % jobs["B"], flush=True)
        pa = progress(mnt, jobs["A"])
        if kills >= MAX_KILLS // 2 and not paused_a and pa["status"] == "running" \
                and pa["tasks_done"] > 0 and kills_mid["A"] > 0 \
                and progress(mnt, jobs["B"])["status"] == "queued":
            # Let B run under the remaining kills: pause A (it must stay paused,
            # unless the tasks it had running were its last).
            try:
                with open("%s/jobs/%s/ctl" % (mnt, jobs["A"]), "w") as f:
                    f.write("pause\n")
                paused_a = True
                print("paused job A", flush=True)
            except OSError as e:  # A finished since progress.json said running
                pa = progress(mnt, jobs["A"])
                check(e.errno == errno.EINVAL and pa["status"] == "done",
                      "pause of a job that just finished: EINVAL", (e, pa))
    check(mounts_ok, "anafs mount serves again after each of %d kill -9" % kills)
    check(kills >= 3, "the daemon was killed several times (%d)" % kills)
    for n, j in jobs.items():
        check(kills_while[n] >= 1, "job %s was killed while unfinished (%d times)"
              % (n, kills_while[n]))
    check(kills_mid["A"] >= 1, "job A was killed while running with tasks merged (%d times; "
          "job B %d times)" % (kills_mid["A"], kills_mid["B"]))
    if paused_a:
        check(resume(mnt, jobs["A"]), "job A resumes, or had finished while paused")
    # Let every job finish.
    for n, j in jobs.items():
        r = subprocess.run(["cat", "%s/jobs/%s/wait" % (mnt, j)], capture_output=True,
                           text=True, timeout=300)
        check(r.stdout.strip() == "done", "job %s ends done" % n, r.stdout + r.stderr)
    for n, j in jobs.items():
        base = "%s/jobs/%s/" % (mnt, j)
        hist = read(base + "hist.json", "rb")
        check(hist == refs[n][0], "job %s: hist.json is byte for byte that of anafs run" % n,
              "%d vs %d bytes" % (len(hist), len(refs[n][0])))
        check(read(base + "cutflow", "rb") == refs[n][1],
              "job %s: cutflow equals anafs run --cutflow (no task counted twice)" % n,
              read(base + "cutflow"))
        p = progress(mnt, j)
        check(p["tasks_done"] == p["tasks_total"] and p["events_done"] == p["events_total"],
              "job %s: tasks_done == tasks_total, events_done == events_total" % n, p)
        log = read(base + "log")
        ks = [(int(a), int(b)) for a, b in re.findall(r"resumed at task (\d+) of (\d+)", log)]
        check(len(ks) >= kills_while[n], "job %s: a 'resumed at task K' line per restart "
              "while unfinished (%d lines, %d kills)" % (n, len(ks), kills_while[n]), log)
        check(all(ks[i][0] <= ks[i + 1][0] for i in range(len(ks) - 1)),
              "job %s: K never decreases in 'resumed at task K'" % n, ks)
        check(all(k <= t == p["tasks_total"] for k, t in ks),
              "job %s: K <= the job's task count" % n, ks)
        check(not re.search(r"failed|cannot resume", log), "job %s: no failure in its log" % n,
              log)
    # A clean stop at the end.
    d = STATE["daemon"]
    r = subprocess.run([anafs, "umount", mnt, "--state", state], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0, "anafs umount at the end exits 0", r.stderr)
    try:
        d.wait(timeout=30)
        check(d.returncode == 0, "the daemon exits 0 after umount", d.returncode)
    except subprocess.TimeoutExpired:
        check(False, "the daemon exits after umount")
    print("%d check(s) failed" % len(FAILED) if FAILED else "all checks passed")
    for f in FAILED:
        print("  failed: %s" % f)
    return 1 if FAILED else 0


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        cleanup()
    sys.exit(rc)
