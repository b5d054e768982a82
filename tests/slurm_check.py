#!/usr/bin/python3
"""Workers as Slurm pilots, against a real one-node Slurm this test starts
and ends itself (slurm_util.py: munged, slurmctld, slurmd from a temp
folder, inside a private network namespace).

Usage: slurm_check.py ANAFS SHARED_DATA TEST_LAUNCH

1. test_launch slurm: the launcher driven directly (the batch script, the
   secret never on a command line, scale up, pending pilots withdrawn, a
   pilot that ends replaced, stop).
2. A real mount with backend slurm (STATE/workers.conf): a job whose
   hist.json is byte for byte `anafs run`'s; pilots submitted while tasks
   wait (at most max_workers), released once idle; the workers file lists
   them; the time from submission to the first partial histogram printed
   as a figure (not asserted).
3. A pilot signalled as Slurm does at its time limit (`scancel
   --signal=TERM --full`): its worker hands its task back, the pilot ends,
   and the job still ends with anafs run's bytes.
4. A pilot of a one-minute slurm.time: its worker leaves at its own
   --time-limit (50 s), before Slurm's, handing back what it runs; the
   floor (min_workers 1) brings another; a job across that moment ends
   with anafs run's bytes.

Exit status: 0 when every check passed, 1 otherwise, 77 when the Slurm or
munge binaries, /dev/fuse or fusermount3 are missing.
"""
import atexit
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mount_util as mu  # noqa: E402
import slurm_util  # noqa: E402

SLURM = {}


def squeue(state=None):
    """{id: state} of the anafs pilots Slurm knows, ended ones included;
    with state, only those of that daemon (their script, %o, lay in its
    state folder)."""
    r = subprocess.run(["squeue", "--noheader", "--me", "--name=anafs-pilot", "--states=all",
                        "-o", "%i %T %o"], capture_output=True, text=True, timeout=30)
    out = {}
    for line in r.stdout.splitlines():
        f = line.split(None, 2)
        if len(f) >= 2 and (state is None or (len(f) == 3 and f[2].startswith(state + "/"))):
            out[f[0]] = f[1]
    return out


def active(state=None):
    return {i: s for i, s in squeue(state).items()
            if s in ("PENDING", "RUNNING", "CONFIGURING")}


def section_launcher(test_launch):
    r = subprocess.run([test_launch, "slurm"], capture_output=True, text=True, timeout=400)
    print(r.stdout[-3000:] + r.stderr[-6000:], flush=True)
    mu.check(r.returncode == 0, "test_launch slurm: the launcher against a real Slurm",
             r.stdout[-500:])
    mu.check(not active(), "no pilot of test_launch is left in the queue", active())


def reference(anafs, tmp, text, name):
    q = os.path.join(tmp, name + ".query")
    mu.write(q, text)
    r = subprocess.run([anafs, "run", q], capture_output=True, timeout=300)
    if r.returncode:
        raise RuntimeError("anafs run %s: %s" % (name, r.stderr.decode(errors="replace")))
    return r.stdout


def mount(anafs, tmp, tag, conf):
    state = os.path.join(tmp, "state-" + tag)
    os.makedirs(state, mode=0o700, exist_ok=True)
    mu.write(os.path.join(state, "workers.conf"), conf)
    return mu.Mount(anafs, tmp, tag, "--no-reuse", state=state)


CONF = """# a one-node Slurm: at most two pilots, released 3 s after they idle
backend = slurm
listen = tcp://127.0.0.1:0
min_workers = 0
max_workers = 2
idle_timeout = 3
linger = 10
slurm.time = 10:00
slurm.mem = 200M
"""


def listed(seen, workers_text):
    """Note in seen what the workers file shows: a Slurm worker's row, a
    running pilot's line.  True once both were seen."""
    if re.search(r"^\d+ +\S+ +\d+ +slurm ", workers_text, re.M):
        seen["row"] = True
    # The launcher polls squeue every 2 s: a short pilot may be listed
    # PENDING (or COMPLETING) and never RUNNING there; any state will do.
    if re.search(r"^slurm \d+ [A-Z_]+", workers_text, re.M):
        seen["pilot"] = True
    return len(seen) == 2


def section_mount(anafs, data, tmp):
    text = mu.long_query(data, 40)
    ref = reference(anafs, tmp, text, "slurm")
    m = mount(anafs, tmp, "slurm", CONF)
    time.sleep(3)
    mu.check(not active(), "no pilot is submitted while nothing waits (min_workers 0)", active())
    t0 = time.time()
    job = m.submit("slurm", text)
    seen, most, first_partial, workers_text, shown = set(), 0, None, "", {}
    end = time.time() + 300
    while time.time() < end:
        a = active()
        seen |= set(a)
        most = max(most, len([s for s in a.values() if s != "PENDING"]))
        p = mu.progress(m.mnt, job)
        if first_partial is None and p.get("tasks_done", 0) > 0:
            first_partial = time.time() - t0
        if not listed(shown, workers_text):
            workers_text = mu.read(os.path.join(m.mnt, "workers"))
            listed(shown, workers_text)
        if p["status"] not in ("queued", "running"):
            break
        time.sleep(0.2)
    status = mu.cat_wait(m.mnt, job, 60)
    mu.check(status == "done", "the job on Slurm pilots is done", status)
    hist = mu.read("%s/%s/hist.json" % (m.jobs, job), "rb")
    mu.check(hist == ref, "hist.json from Slurm pilots is byte for byte anafs run's",
             "%d vs %d bytes" % (len(hist), len(ref)))
    mu.check(1 <= len(seen) and most <= 2,
             "pilots were submitted while tasks waited, at most max_workers running "
             "(%d submitted, %d at most running)" % (len(seen), most))
    # Idle pilots stay connected idle_timeout (3 s) after the job: time to look.
    mu.check(listed(shown, workers_text) or mu.wait_for(
        lambda: listed(shown, mu.read(os.path.join(m.mnt, "workers"))), 10, 0.1),
        "the workers file lists the Slurm workers and their pilots",
        mu.read(os.path.join(m.mnt, "workers")))
    if first_partial is not None:
        print("figure: submission to the first partial histogram on Slurm: %.2f s"
              % first_partial, flush=True)
    mu.check(mu.wait_for(lambda: not active(), 90, 0.5),
             "the pilots are released once idle (idle_timeout 3 s)", active())
    outs = [f for f in os.listdir(os.path.join(m.state, "pilots")) if f.startswith("slurm-")]
    mu.check(outs, "each pilot's output is STATE/pilots/slurm-ID.out", outs)
    scripts = [f for f in os.listdir(os.path.join(m.state, "pilots")) if f.startswith("pilot-")]
    mu.check(not scripts, "no pilot's script (it holds the secret) is left", scripts)
    return m


def busy_pilot(mnt):
    """The Slurm job id of a busy Slurm worker in the workers file (its pid
    is on this host: the job id is in its environment), or None."""
    for line in mu.read(os.path.join(mnt, "workers")).splitlines():
        f = line.split()
        if len(f) > 5 and f[3] == "slurm" and f[4] == "busy" and f[2].isdigit():
            try:
                env = mu.read("/proc/%s/environ" % f[2], "rb").split(b"\0")
            except OSError:
                continue
            for v in env:
                if v.startswith(b"SLURM_JOB_ID="):
                    return v.split(b"=", 1)[1].decode()
    return None


def section_time_limit(anafs, data, tmp, m):
    """SIGTERM to a busy pilot, as Slurm sends at the time limit."""
    text = mu.long_query(data, 40)
    ref = reference(anafs, tmp, text, "slurm-term")
    job = m.submit("slurm-term", text)
    victim = None
    end = time.time() + 120
    while time.time() < end and victim is None:
        p = mu.progress(m.mnt, job)
        if p["status"] not in ("queued", "running"):
            break
        victim = busy_pilot(m.mnt) if p.get("tasks_done", 0) >= 2 else None
        if victim is None:
            time.sleep(0.05)
    if not mu.check(victim, "a pilot is busy while the job runs"):
        return
    r = subprocess.run(["scancel", "--signal=TERM", "--full", victim], capture_output=True,
                       text=True, timeout=30)
    mu.check(r.returncode == 0, "scancel --signal=TERM --full %s" % victim, r.stderr)
    mu.check(mu.wait_for(lambda: victim not in active(), 60, 0.5),
             "the signalled pilot ends", squeue())
    status = mu.cat_wait(m.mnt, job, 300)
    mu.check(status == "done", "the job whose pilot was signalled is done", status)
    hist = mu.read("%s/%s/hist.json" % (m.jobs, job), "rb")
    mu.check(hist == ref, "its hist.json is still byte for byte anafs run's",
             "%d vs %d bytes" % (len(hist), len(ref)))
    out = os.path.join(m.state, "pilots", "slurm-%s.out" % victim)
    said = mu.read(out) if os.path.exists(out) else ""
    mu.check("terminated (SIGTERM)" in said, "the worker took the SIGTERM as its end", said)
    # Tasks of this query take milliseconds: whether the signal found one
    # running is chance, so it is printed, not asserted.
    print("    the signalled pilot: %s" % (re.findall(r"\d+ running task\S* handed back", said)
                                           or ["(no hand-back line)"])[0], flush=True)


LIMIT_CONF = """# one pilot kept, of a minute: its worker leaves at 50 s
backend = slurm
listen = tcp://127.0.0.1:0
min_workers = 1
max_workers = 1
idle_timeout = 600
linger = 10
slurm.time = 1
slurm.mem = 200M
"""


def section_own_limit(anafs, data, tmp):
    """A pilot of slurm.time = 1 minute: its worker's --time-limit (50 s)
    comes first; it hands its task back and exits before Slurm's limit, the
    floor brings a new pilot, and a job across that moment is unharmed."""
    # Long enough to cross the worker's limit; under ThreadSanitizer
    # (ANAFS_TSAN, make tsan) each file costs tens of times more.
    text = mu.long_query(data, 60 if os.environ.get("ANAFS_TSAN") else 400)
    ref = reference(anafs, tmp, text, "slurm-limit")
    m = mount(anafs, tmp, "slurm-limit", LIMIT_CONF)
    mu.check(mu.wait_for(lambda: "RUNNING" in active(m.state).values(), 60, 0.2),
             "min_workers = 1: a pilot runs before any job", squeue(m.state))
    first = [i for i, s in active(m.state).items() if s == "RUNNING"][:1]
    t0 = time.time()
    time.sleep(45)  # the job starts some seconds before the worker's limit
    job = m.submit("slurm-limit", text)
    t1 = time.time()
    status = mu.cat_wait(m.mnt, job, 300)
    print("    the job ran from %.0f s to %.0f s of the pilot's life" % (t1 - t0, time.time() - t0),
          flush=True)
    mu.check(status == "done", "the job across the pilot's time limit is done", status)
    mu.check(mu.read("%s/%s/hist.json" % (m.jobs, job), "rb") == ref,
             "its hist.json is byte for byte anafs run's")
    if not first:
        return
    mu.check(mu.wait_for(lambda: first[0] not in active(m.state), 90, 0.5),
             "the one-minute pilot ended", squeue(m.state))
    left = time.time() - t0
    end = squeue(m.state).get(first[0], "(gone)")
    mu.check(end == "COMPLETED", "it ended by itself (COMPLETED), before Slurm's limit "
             "(TIMEOUT)", end)
    out = os.path.join(m.state, "pilots", "slurm-%s.out" % first[0])
    said = mu.read(out) if os.path.exists(out) else ""
    mu.check("time limit reached" in said, "its worker says its time limit was reached",
             said + "\n" + m.daemon_log()[-2000:])
    print("    the pilot was seen ended %.0f s after it ran: %s" % (
        left, (re.findall(r"\d+ running task\S* handed back", said) or ["?"])[0]), flush=True)
    for line in m.daemon_log().splitlines():
        if "leaving" in line or "again elsewhere" in line:
            print("    daemon: %s" % line, flush=True)
    mu.check(mu.wait_for(lambda: any(i != first[0] and s == "RUNNING"
                                     for i, s in active(m.state).items()), 60, 0.5),
             "the floor brings a new pilot", squeue(m.state))


def stop_slurm():
    s, dirs = SLURM.get("s"), SLURM.get("dirs", [])
    SLURM.clear()
    if s:
        s.stop()
    for d in dirs:
        subprocess.run(["rm", "-rf", d])


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    gone = slurm_util.missing()
    if gone:
        print("SKIP: the Slurm or munge binaries are missing: %s" % " ".join(gone))
        return 77
    slurm_util.netns()
    test_launch = os.path.abspath(sys.argv.pop())
    # Registered before mount_util's cleanup, so it runs after: the mounts
    # go first (their daemons cancel their pilots), then Slurm.
    atexit.register(stop_slurm)
    anafs, data = mu.setup(__doc__)
    sdir = tempfile.mkdtemp(prefix="anafs-slurmd-")
    SLURM["dirs"] = [sdir]
    s = slurm_util.Slurm(sdir)
    t = time.time()
    try:
        s.start()
    except RuntimeError as e:
        mu.check(False, "a one-node Slurm starts", str(e)[-4000:])
        return mu.finish()
    SLURM["s"] = s
    os.environ.update(s.env())
    print("slurm: up in %.1f s on node %s" % (time.time() - t, s.host), flush=True)
    tmp = mu.tmpdir("anafs-slurm-check-")
    mu.section(section_launcher, test_launch, budget=300)
    holder = {}

    def mount_part(anafs, data, tmp):
        holder["m"] = section_mount(anafs, data, tmp)
    mu.section(mount_part, anafs, data, tmp, budget=240)
    if holder.get("m"):
        mu.section(section_time_limit, anafs, data, tmp, holder["m"], budget=240)
    mu.section(section_own_limit, anafs, data, tmp, budget=300)
    rc = mu.finish()
    if rc:
        print(s.logs()[-4000:])
    return rc


if __name__ == "__main__":
    sys.exit(main())
