"""Helpers of the mount tests: checks, daemons, mounts and processes that
are cleaned up by PID however a test ends, bounded waits.

Every process a test starts is recorded here and ended by its PID; every
mount is unmounted (fusermount3 -u, then -u -z); every temporary folder is
removed.  Nothing here ever ends a process it did not start.
"""
import atexit
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

FAILED = []
PROCS = []      # every Popen started
MOUNTS = []     # (mount point, state folder) of every mount made
LOGS = []       # the daemons' logs, shown when a check failed
TMPDIRS = []

DIMUON = "root/nano_dimuon.root"
BENCH = "bench/nano_like_zstd_500k.root"


def check(cond, what, detail=""):
    if cond:
        print("ok   %s" % what, flush=True)
    else:
        FAILED.append(what)
        print("FAIL %s%s" % (what, (": " + str(detail)[:2000]) if detail else ""), flush=True)
    return cond


def section(fn, *args, budget=120):
    """Run one group of checks; an exception fails the group, not the test.
    A mount that hangs would hang the test in the kernel, where no timeout
    reaches: past budget seconds a watchdog kills the group's daemons (by
    PID), which fails every call still blocked in the mount."""
    print("--- %s" % fn.__name__, flush=True)
    t = time.time()
    dog = threading.Timer(budget, kill_daemons, args=(fn.__name__,))
    dog.daemon = True
    dog.start()
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - report and go on
        import traceback
        traceback.print_exc()
        check(False, "%s raised" % fn.__name__, repr(e))
    finally:
        dog.cancel()
    print("    (%s: %.1f s)" % (fn.__name__, time.time() - t), flush=True)


def kill_daemons(why):
    """SIGKILL every daemon of ours: the foreground children and the
    holders of our state folders' locks."""
    FAILED.append("%s: the mount hung; its daemons were killed" % why)
    print("FAIL %s: still running past its budget: killing its daemons" % why, flush=True)
    for p in PROCS:
        if p.poll() is None and isinstance(p.args, list) and "mount" in p.args:
            p.kill()
    for _, state in MOUNTS:
        for pid in lock_holders(state):
            os.kill(pid, signal.SIGKILL)


def wait_for(pred, secs, step=0.02):
    """pred() until it is true, at most secs; OSError counts as false."""
    end = time.time() + secs
    while True:
        try:
            if pred():
                return True
        except OSError:
            pass
        if time.time() >= end:
            return False
        time.sleep(step)


def read(p, mode="r"):
    with open(p, mode) as f:
        return f.read()


def write(p, text):
    with open(p, "w") as f:
        f.write(text)


def sh(cmd, timeout=60, cwd=None, input=None):
    """A shell command line, as a user types it."""
    return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, input=input)


def progress(mnt, job):
    return json.loads(read("%s/jobs/%s/progress.json" % (mnt, job)))


def dump_daemon(mnt):
    """The stacks of our daemon serving mnt, for a wait that never ends."""
    for m, state in MOUNTS:
        if m != mnt or not shutil.which("gdb"):
            continue
        for pid in lock_holders(state):
            for p, what in [(pid, "daemon")] + [(c, "worker") for c in children(pid)]:
                r = subprocess.run(["gdb", "-p", str(p), "-batch", "-ex",
                                    "thread apply all bt"],
                                   capture_output=True, text=True, timeout=60)
                print("--- stacks of the %s %d of %s:\n%s" % (what, p, mnt, r.stdout[-20000:]),
                      flush=True)


def children(pid):
    """The PIDs whose parent is pid (the daemon's local workers)."""
    out = []
    for d in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        if d.isdigit() and int(st[st.rindex(")") + 2:].split()[1]) == pid:
            out.append(int(d))
    return out


def cat_wait(mnt, job, secs=300):
    """cat jobs/JOB/wait: the job's final status.  One that does not end
    prints the daemon's stacks, then raises."""
    try:
        r = sh("cat '%s/jobs/%s/wait'" % (mnt, job), timeout=secs)
    except subprocess.TimeoutExpired:
        print("cat wait of job %s did not end in %d s" % (job, secs), flush=True)
        for name in ("progress.json", "log"):
            try:
                r = sh("tail -c 6000 '%s/jobs/%s/%s'" % (mnt, job, name), timeout=20)
                print("--- jobs/%s/%s:\n%s%s" % (job, name, r.stdout, r.stderr), flush=True)
            except subprocess.TimeoutExpired:
                print("--- jobs/%s/%s: no answer in 20 s" % (job, name), flush=True)
        dump_daemon(mnt)
        raise
    return r.stdout.strip()


def as_user(uid, fn):
    """Run fn in a forked child as uid; returns {'ok': value} or {'errno': n, 'err': str}."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            res = {"ok": fn()}
        except OSError as e:
            res = {"errno": e.errno, "err": str(e)}
        except BaseException as e:  # noqa: BLE001
            res = {"errno": None, "err": repr(e)}
        try:
            os.write(wfd, json.dumps(res, default=str).encode())
        finally:
            os._exit(0)
    os.close(wfd)
    data = b""
    end = time.time() + 120
    while time.time() < end:
        chunk = os.read(rfd, 65536)
        if not chunk:
            break
        data += chunk
    os.close(rfd)
    os.waitpid(pid, 0)
    return json.loads(data.decode() or "{}")


def popen(args, **kw):
    p = subprocess.Popen(args, **kw)
    PROCS.append(p)
    return p


def stale(mnt):
    """Whether mnt is a dead FUSE mount (statfs is never cached)."""
    try:
        os.statvfs(mnt)
        return False
    except OSError as e:
        return e.errno == errno.ENOTCONN


def unmount(mnt):
    """fusermount3 -u; -u -z if that fails.  Nothing here asks the mount
    itself anything (a hung mount would hang the cleanup)."""
    r = subprocess.run(["fusermount3", "-u", mnt], capture_output=True, timeout=30)
    if r.returncode != 0:
        subprocess.run(["fusermount3", "-u", "-z", mnt], capture_output=True, timeout=30)


def lock_holders(state):
    """PIDs of the processes holding STATE/daemon.lock open: the daemons
    of a state folder this test made (so ours to end)."""
    lock = os.path.realpath(os.path.join(state, "daemon.lock"))
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            if any(os.readlink("/proc/%s/fd/%s" % (p, fd)) == lock
                   for fd in os.listdir("/proc/%s/fd" % p)):
                pids.append(int(p))
        except OSError:
            pass
    return pids


def bounded(fn, secs):
    """fn() in a thread, at most secs: a hung mount must fail a check, not
    hang the test.  Returns (seconds, value); raises TimeoutError."""
    out = {}

    def run():
        t = time.perf_counter()
        try:
            out["v"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            out["e"] = e
        out["t"] = time.perf_counter() - t

    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(secs)
    if th.is_alive():
        raise TimeoutError("no answer within %.0f s" % secs)
    if "e" in out:
        raise out["e"]
    return out["t"], out.get("v")


def kill_all():
    """SIGKILL every process we started, daemons first (a blocked reader
    of a hung daemon ends only once its daemon does); wait at most 20 s."""
    daemons = [p for p in PROCS if isinstance(p.args, list) and "mount" in p.args]
    for p in daemons + [p for p in PROCS if p not in daemons]:
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass
    end = time.time() + 20
    for p in PROCS:
        try:
            p.wait(timeout=max(0.01, end - time.time()))
        except Exception:  # noqa: BLE001
            pass
    PROCS.clear()


def show_logs():
    """The tail of every daemon's log: what a failed check wants to know."""
    for p in LOGS:
        try:
            tail = read(p)[-3000:]
        except OSError:
            continue
        if tail.strip():
            print("--- the daemon's log %s (its end):\n%s" % (p, tail), flush=True)


def cleanup():
    kill_all()
    if FAILED:
        show_logs()
    LOGS.clear()
    for mnt, state in MOUNTS:
        try:
            unmount(mnt)
            end = time.time() + 10
            while lock_holders(state) and time.time() < end:
                time.sleep(0.1)
            for pid in lock_holders(state):  # a daemon of ours that did not stop
                os.kill(pid, signal.SIGKILL)
            unmount(mnt)  # the dead mount a killed daemon leaves
        except Exception:  # noqa: BLE001
            pass
    MOUNTS.clear()
    for d in TMPDIRS:
        shutil.rmtree(d, ignore_errors=True)
    TMPDIRS.clear()


def setup(doc):
    """Arguments, the skip, the cleanup; returns (anafs, data dir)."""
    if len(sys.argv) != 3:
        print(doc)
        sys.exit(2)
    if not os.path.exists("/dev/fuse") or not shutil.which("fusermount3"):
        print("SKIP: /dev/fuse or fusermount3 is missing")
        sys.exit(77)
    atexit.register(cleanup)
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, lambda *_: sys.exit(1))
    return os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])


def finish():
    cleanup()
    print("%d check(s) failed" % len(FAILED) if FAILED else "all checks passed")
    for f in FAILED:
        print("  failed: %s" % f)
    return 1 if FAILED else 0


def tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    TMPDIRS.append(d)
    return d


class Mount:
    """An anafs daemon on a private mount point: in the background (as
    `anafs mount` leaves it) or as our --foreground child (whose PID a
    test may signal)."""

    def __init__(self, anafs, tmp, tag, *opts, foreground=False, state=None, preexec=None):
        self.anafs, self.tmp = anafs, tmp
        self.mnt = os.path.join(tmp, "mnt-" + tag)
        self.state = state or os.path.join(tmp, "state-" + tag)
        self.jobs = os.path.join(self.mnt, "jobs")
        self.log = os.path.join(tmp, "daemon-%s.log" % tag)
        self.daemon = None
        os.makedirs(self.mnt, exist_ok=True)
        MOUNTS.append((self.mnt, self.state))
        LOGS.append(self.log if foreground else os.path.join(self.state, "daemon.log"))
        args = [anafs, "mount", self.mnt, "--state", self.state] + list(opts)
        if foreground:
            self.daemon = popen(args + ["--foreground"], stdout=open(self.log, "w"),
                                stderr=subprocess.STDOUT, cwd=tmp, preexec_fn=preexec)
        else:
            r = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=tmp,
                               preexec_fn=preexec)
            self.stderr = r.stderr
            if r.returncode != 0:
                raise RuntimeError("anafs mount: %s" % r.stderr)
        if not wait_for(lambda: os.path.ismount(self.mnt) and os.listdir(self.jobs) is not None,
                        20):
            raise RuntimeError("the mount %s does not serve" % self.mnt)

    def umount(self):
        return subprocess.run([self.anafs, "umount", self.mnt, "--state", self.state],
                              capture_output=True, text=True, timeout=60)

    def daemon_log(self):
        """What the daemon said: its stderr (foreground) or STATE/daemon.log."""
        p = self.log if self.daemon else os.path.join(self.state, "daemon.log")
        try:
            return read(p)
        except OSError:
            return ""

    def job_dirs(self):
        return sorted(int(n) for n in os.listdir(self.jobs) if n.isdigit())

    def status(self, job):
        return read("%s/%s/status" % (self.jobs, job)).strip()

    def submit(self, name, text):
        """Write jobs/NAME.query; returns the job number."""
        write("%s/%s.query" % (self.jobs, name), text)
        return os.readlink("%s/%s" % (self.jobs, name))

    def ctl(self, job, cmd):
        write("%s/%s/ctl" % (self.jobs, job), cmd + "\n")


def small_query(data, bins):
    """A query of the 40-event file: done in a moment."""
    return ("dataset %s\ntree Events\nhist met = MET_pt bins=%d range=0,200\n"
            % (os.path.join(data, DIMUON), bins))


def long_query(data, copies):
    """A query of copies x 500k events, ten tasks per copy."""
    b = os.path.join(data, BENCH)
    return ("dataset %s\ntree Events\ndefine good = Jet_pt > 20\n"
            "hist met = MET_pt bins=50 range=0,200\n"
            "hist jpt = Jet_pt[good] bins=40 range=0,200 weight=MET_pt\n"
            % " ".join([b] * copies))


def paused_job(m, data, name, copies=60):
    """A long job, paused at once: at most the tasks it had started finish."""
    job = m.submit(name, long_query(data, copies))
    m.ctl(job, "pause")
    check(wait_for(lambda: m.status(job) == "paused", 10), "job %s (%s) is paused" % (job, name),
          m.status(job))
    return job


def percentile(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")
