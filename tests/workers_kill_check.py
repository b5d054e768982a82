#!/usr/bin/python3
"""Worker processes under kill -9, and a coordinator under attack: every job
still ends with the hist.json (and cutflow) of an undisturbed anafs run,
byte for byte.

Usage: workers_kill_check.py ANAFS SHARED_DATA WIRE_PEER [--rounds N] [--minutes M]

The daemon runs `anafs mount --foreground` as our child with two local
worker processes.  Each round submits a job and, at a random moment while
it runs, does one of:
  - kill -9 of one worker process (mid-task: its task runs again elsewhere,
    the daemon starts a new worker);
  - kill -9 of every worker at once;
  - kill -9 of the daemon: the workers keep running and keep what they
    finished; `anafs mount` again resumes the job from its last merged task
    and the workers reconnect and deliver what they kept.
The suite runs 20 rounds (seed printed; ANAFS_KILL_SEED replays it); the
soak in bench/ runs more (--rounds, --minutes).  Then a hostile section:
while a job runs, tools/wire_peer floods the coordinator's socket with
garbage, forged and replayed frames, a wrong secret and idle connections
(bounded in count and time): the job's bytes are unchanged and the daemon's
log names the refused peers; then 200 peers that leave mid-connection (which
can leave nng 1.5.2's listener deaf) and every worker killed: the next job is
run by workers that connect anew.

Worker processes are found as the descendants the daemon started: the
processes whose command line is `anafs worker` with this test's state
folder in it.  Only those, the daemon and wire_peer are ever signalled.
Exit status: 0 when every check passed, 1 otherwise, 77 when /dev/fuse or
fusermount3 is missing.
"""
import atexit
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mount_util import FAILED, check, progress  # noqa: E402
from mount_kill_check import is_stale, query_text  # noqa: E402

STATE = {"daemon": None, "mnt": None, "tmp": None, "log": None, "state": None}
KINDS = ("worker", "workers", "daemon")


def our_workers():
    """PIDs of the worker processes of this test's daemon (or of an earlier
    one we killed): `anafs worker` with our state folder on its command line."""
    pids = []
    state = STATE["state"]
    if not state:
        return pids
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 2 and argv[1] == b"worker" and \
                any(state.encode() in a for a in argv):
            try:
                with open("/proc/%s/stat" % d) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        continue
            except OSError:
                continue
            pids.append(int(d))
    return pids


def end_workers():
    """SIGTERM our workers, then SIGKILL what is left after 5 s."""
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        pids = our_workers()
        for p in pids:
            try:
                os.kill(p, sig)
            except OSError:
                pass
        end = time.time() + wait
        while our_workers() and time.time() < end:
            time.sleep(0.05)


def cleanup():
    d, mnt = STATE["daemon"], STATE["mnt"]
    if d is not None and d.poll() is None:
        d.send_signal(signal.SIGTERM)
        try:
            d.wait(timeout=15)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait(timeout=10)
    end_workers()
    if mnt and (os.path.ismount(mnt) or is_stale(mnt)):
        r = subprocess.run(["fusermount3", "-u", mnt], capture_output=True, timeout=30)
        if r.returncode != 0:
            subprocess.run(["fusermount3", "-u", "-z", mnt], capture_output=True, timeout=30)
    if STATE["log"]:
        STATE["log"].close()
        STATE["log"] = None
    if STATE["tmp"] and not os.environ.get("ANAFS_KEEP"):
        shutil.rmtree(STATE["tmp"], ignore_errors=True)
        STATE["tmp"] = None


def start_daemon(anafs, mnt, state):
    """anafs mount --foreground as our child; returns once the mount serves."""
    d = subprocess.Popen([anafs, "mount", mnt, "--state", state, "--workers", "2", "--no-reuse",
                          "--backend", "local", "--set", "linger=30", "--foreground"],
                         stdout=STATE["log"], stderr=STATE["log"], cwd=STATE["tmp"])
    STATE["daemon"] = d
    end = time.time() + 20
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


def daemon_log():
    with open(os.path.join(STATE["tmp"], "daemon.log"), errors="replace") as f:
        return f.read()


def submit(mnt, text, name):
    with open("%s/jobs/%s.query" % (mnt, name), "w") as f:
        f.write(text)
    return os.readlink("%s/jobs/%s" % (mnt, name))


def read(p, mode="r"):
    with open(p, mode) as f:
        return f.read()


def wait_done(mnt, job, secs=300):
    r = subprocess.run(["cat", "%s/jobs/%s/wait" % (mnt, job)], capture_output=True,
                       text=True, timeout=secs)
    return r.stdout.strip()


def same_as_ref(mnt, job, ref, what):
    base = "%s/jobs/%s/" % (mnt, job)
    hist, cut = read(base + "hist.json", "rb"), read(base + "cutflow", "rb")
    ok = check(hist == ref[0], "%s: hist.json is byte for byte that of anafs run" % what,
               "%d vs %d bytes" % (len(hist), len(ref[0])))
    ok &= check(cut == ref[1], "%s: cutflow equals anafs run --cutflow (no task counted "
                "twice)" % what, cut)
    p = progress(mnt, job)
    ok &= check(p["tasks_done"] == p["tasks_total"] and p["events_done"] == p["events_total"],
                "%s: every task and event counted once" % what, p)
    return ok


def wait_running(mnt, job, secs=60):
    """Until the job runs with work left (True), or is over (False)."""
    end = time.time() + secs
    while time.time() < end:
        p = progress(mnt, job)
        if p["status"] == "running" and p["tasks_done"] < p["tasks_total"]:
            return True
        if p["status"] in ("done", "failed", "cancelled", "invalid"):
            return False
        time.sleep(0.01)
    return False


def kill_round(anafs, mnt, state, rnd, kind, text, ref, n):
    """One round: submit, kill at a random moment while it runs, check."""
    job = submit(mnt, text, "k%d" % n)
    hit = wait_running(mnt, job)
    time.sleep(rnd.uniform(0.0, 0.5))
    p = progress(mnt, job)
    mid = hit and p["status"] == "running"
    if kind == "daemon":
        STATE["daemon"].kill()
        STATE["daemon"].wait(timeout=30)
        left = our_workers()
        if not start_daemon(anafs, mnt, state):
            check(False, "round %d: anafs mount again after kill -9 of the daemon" % n,
                  daemon_log()[-3000:])
            return False
        what = "daemon killed, %d workers left running" % len(left)
    else:
        pids = our_workers()
        victims = pids if kind == "workers" else rnd.sample(pids, min(1, len(pids)))
        for v in victims:
            try:
                os.kill(v, signal.SIGKILL)
            except OSError:
                pass
        what = "%d of %d workers killed" % (len(victims), len(pids))
    print("round %d (%s): %s at %d/%d tasks" % (n, kind, what, p["tasks_done"],
          p["tasks_total"]), flush=True)
    status = wait_done(mnt, job)
    check(status == "done", "round %d (%s): the job ends done" % (n, kind),
          status + read("%s/jobs/%s/log" % (mnt, job))[-2000:])
    if status == "done":
        same_as_ref(mnt, job, ref, "round %d (%s)" % (n, kind))
    return mid


def hostile(anafs, peer, mnt, state, text, ref):
    """Attack the coordinator's socket while a job runs."""
    url = "ipc://%s/workers.sock" % state
    secret = os.path.join(state, "secret")
    job = submit(mnt, text, "hostile")
    wait_running(mnt, job)
    procs = []
    for mode in ("garbage", "badsecret", "noauth-result", "replay", "slow"):
        args = [peer, url, mode, "--count", "200", "--seconds", "8"]
        if mode == "replay":
            args += ["--secret-file", secret]
        procs.append((mode, subprocess.Popen(args, stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT, text=True)))
    for mode, pr in procs:
        try:
            out, _ = pr.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            pr.kill()
            out, _ = pr.communicate(timeout=10)
        print("wire_peer %s: rc %d: %s" % (mode, pr.returncode, out.strip()[-300:]), flush=True)
        if mode == "badsecret":
            check(pr.returncode == 0, "a peer with a wrong secret gets no WELCOME", out)
    status = wait_done(mnt, job)
    check(status == "done", "the job attacked ends done", status)
    if status == "done":
        same_as_ref(mnt, job, ref, "the job attacked")
    # Peers that connect and leave before nng's connection header: with
    # nng 1.5.2 they can stop the listener taking connections; the
    # daemon's watchdog must notice and listen again.  Then every worker
    # is killed: the job after must be run by workers that connect anew.
    sock = os.path.join(state, "workers.sock")
    for _ in range(200):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(sock)
        except OSError:
            pass
        s.close()
    time.sleep(0.2)
    for v in our_workers():
        try:
            os.kill(v, signal.SIGKILL)
        except OSError:
            pass
    # Still serving: a new job runs as well.
    job2 = submit(mnt, text, "after")
    check(wait_done(mnt, job2) == "done", "a job after the attack ends done")
    same_as_ref(mnt, job2, ref, "the job after the attack")
    log = daemon_log()
    refused = [l for l in log.splitlines()
               if re.search(r"refus|authenticat|malformed|drop", l, re.I)]
    print("daemon log: %d lines about refused peers, e.g.:\n  %s" % (
        len(refused), "\n  ".join(refused[:6])), flush=True)
    check(len(refused) >= 3, "the daemon's log names the refused peers", log[-3000:])
    check(len(log) < 2000000, "a flood does not flood the log (%d bytes)" % len(log))
    print("the listener was %s" % ("found deaf and listened on again" if "listening again" in log
                                   else "never found deaf"), flush=True)


def main():
    args = sys.argv[1:]
    rounds, minutes = 20, 10.0
    if "--rounds" in args:
        i = args.index("--rounds")
        rounds = int(args[i + 1])
        del args[i:i + 2]
    if "--minutes" in args:
        i = args.index("--minutes")
        minutes = float(args[i + 1])
        del args[i:i + 2]
    if len(args) != 3:
        print(__doc__)
        return 2
    if not os.path.exists("/dev/fuse") or not shutil.which("fusermount3"):
        print("SKIP: /dev/fuse or fusermount3 is missing")
        return 77
    anafs, data, peer = (os.path.abspath(a) for a in args)
    seed = int(os.environ.get("ANAFS_KILL_SEED") or time.time_ns() % 1000000)
    print("seed %d (ANAFS_KILL_SEED=%d replays these moments)" % (seed, seed), flush=True)
    rnd = random.Random(seed)
    atexit.register(cleanup)
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, lambda *_: sys.exit(1))
    tmp = tempfile.mkdtemp(prefix="anafs-wkill-")
    STATE["tmp"] = tmp
    STATE["log"] = open(os.path.join(tmp, "daemon.log"), "w")
    mnt, state = os.path.join(tmp, "mnt"), os.path.join(tmp, "state")
    os.mkdir(mnt)
    STATE["mnt"], STATE["state"] = mnt, state

    texts = [query_text(data, 2, 50), query_text(data, 1, 40)]
    refs = []
    for i, text in enumerate(texts):
        q = os.path.join(tmp, "q%d.query" % i)
        with open(q, "w") as f:
            f.write(text)
        r1 = subprocess.run([anafs, "run", q], capture_output=True, timeout=300)
        r2 = subprocess.run([anafs, "run", "--cutflow", q], capture_output=True, timeout=300)
        if r1.returncode or r2.returncode:
            check(False, "anafs run of reference query %d" % i, r1.stderr + r2.stderr)
            return 1
        refs.append((r1.stdout, r2.stdout))

    if not check(start_daemon(anafs, mnt, state), "the mount with worker processes serves",
                 daemon_log()[-2000:]):
        return 1
    end = time.time() + minutes * 60
    mids = {k: 0 for k in KINDS}
    done = 0
    for n in range(rounds):
        if time.time() > end:
            break
        kind = KINDS[n % 3] if n < 3 else rnd.choice(KINDS)
        k = n % 2
        mids[kind] += kill_round(anafs, mnt, state, rnd, kind, texts[k], refs[k], n + 1)
        done += 1
        if FAILED:
            break
    check(done == rounds or time.time() > end, "%d kill rounds ran (%d asked)" % (done, rounds))
    for kind in KINDS:
        check(mids[kind] >= 1, "a kill of kind '%s' hit a job mid-run (%d times)"
              % (kind, mids[kind]))
    log = daemon_log()
    check("running it again" in "".join(
        read("%s/jobs/%s/log" % (mnt, j)) for j in os.listdir(mnt + "/jobs")
        if j.isdigit()), "a task whose worker was killed ran again (job logs)")
    hostile(anafs, peer, mnt, state, texts[1], refs[1])
    r = subprocess.run([anafs, "umount", mnt, "--state", state], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0, "anafs umount at the end exits 0", r.stderr)
    try:
        STATE["daemon"].wait(timeout=30)
        check(STATE["daemon"].returncode == 0, "the daemon exits 0 after umount",
              STATE["daemon"].returncode)
    except subprocess.TimeoutExpired:
        check(False, "the daemon exits after umount")
    # The daemon's own workers end with it; those of killed daemons end
    # once told or after their linger.
    t0 = time.time()
    while our_workers() and time.time() - t0 < 40:
        time.sleep(0.2)
    check(not our_workers(), "no worker process outlives the daemon by more than its linger",
          our_workers())
    check("AddressSanitizer" not in log and "runtime error" not in log,
          "no sanitizer report in the daemon's log", log[-3000:])
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
