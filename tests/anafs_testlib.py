"""What the integration tests share: checks that count, shell commands as a
user types them, real mounts in private temporary folders that are
unmounted however a test ends, processes ended by their PID, and acting as
a second uid.

A test script calls main(run, argv_count, doc): it skips with 77 when
/dev/fuse or fusermount3 is missing, registers the cleanup, runs
run(*argv) and returns 0 when every check passed, 1 otherwise.
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
import time

FAILED = []
MOUNTS = []     # (mountpoint, state dir) of every mount made
PROCS = []      # every Popen started
TMPDIRS = []

PY = "/usr/bin/python3"


def check(cond, what, detail=""):
    if cond:
        print("ok   %s" % what, flush=True)
    else:
        FAILED.append(what)
        print("FAIL %s%s" % (what, (": " + str(detail)[:2000]) if detail else ""), flush=True)
    return cond


def section(fn, *args):
    """Run one group of checks; an exception fails the group, not the test."""
    print("--- %s" % fn.__name__, flush=True)
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - report and go on
        import traceback
        traceback.print_exc()
        check(False, "%s raised" % fn.__name__, repr(e))


def sh(cmd, timeout=60, cwd=None, input=None):
    """A shell command line, as a user types it."""
    return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, input=input)


def read(p, mode="r"):
    with open(p, mode) as f:
        return f.read()


def wait_for(pred, secs, step=0.05):
    end = time.time() + secs
    while time.time() < end:
        try:
            if pred():
                return True
        except OSError:
            pass
        time.sleep(step)
    return False


def lock_holders(state):
    """PIDs of processes holding state/daemon.lock open (our own daemons)."""
    lock = os.path.realpath(os.path.join(state, "daemon.lock"))
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            for fd in os.listdir("/proc/%s/fd" % p):
                try:
                    if os.readlink("/proc/%s/fd/%s" % (p, fd)) == lock:
                        pids.append(int(p))
                        break
                except OSError:
                    pass
        except OSError:
            pass
    return pids


def is_stale(mnt):
    try:
        os.stat(mnt)
        return False
    except OSError as e:
        return e.errno == errno.ENOTCONN


def fusermount_u(mnt):
    r = subprocess.run(["fusermount3", "-u", mnt], capture_output=True, timeout=30)
    if r.returncode != 0 and (os.path.ismount(mnt) or is_stale(mnt)):
        subprocess.run(["fusermount3", "-u", "-z", mnt], capture_output=True, timeout=30)


def cleanup():
    for p in PROCS:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=10)
            except Exception:  # noqa: BLE001
                pass
    for mnt, state in MOUNTS:
        try:
            if os.path.ismount(mnt) or is_stale(mnt):
                fusermount_u(mnt)
            end = time.time() + 10
            while lock_holders(state) and time.time() < end:
                time.sleep(0.1)
            for pid in lock_holders(state):  # a daemon of ours that did not stop
                os.kill(pid, signal.SIGKILL)
        except Exception:  # noqa: BLE001
            pass
    MOUNTS.clear()
    for d in TMPDIRS:
        shutil.rmtree(d, ignore_errors=True)
    TMPDIRS.clear()


class Env:
    """A private temporary folder, and mounts made in it."""

    def __init__(self, anafs, data):
        self.anafs = os.path.abspath(anafs)
        self.data = os.path.abspath(data)
        self.tmp = tempfile.mkdtemp(prefix="anafs-test-")
        os.chmod(self.tmp, 0o755)
        TMPDIRS.append(self.tmp)

    def path(self, name):
        return os.path.join(self.data, name)

    def file(self, name, text):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def mount(self, tag, *opts, state=None, prefix=""):
        """A daemon-mode mount at a new private folder; returns (mnt, state).
        prefix: shell words run before anafs (e.g. 'ulimit -n 256;')."""
        mnt = os.path.join(self.tmp, "mnt-" + tag)
        os.makedirs(mnt, exist_ok=True)
        state = state or os.path.join(self.tmp, "state-" + tag)
        MOUNTS.append((mnt, state))
        words = " ".join("'%s'" % w for w in [self.anafs, "mount", mnt, "--state", state] +
                         list(opts))
        r = sh("%s %s" % (prefix, words), cwd=self.tmp)
        if not check(r.returncode == 0, "anafs mount %s exits 0" % " ".join(opts), r.stderr):
            raise RuntimeError("mount failed: " + r.stderr)
        check(wait_for(lambda: os.path.ismount(mnt), 10), "the mount is there")
        return mnt, state

    def umount(self, mnt, state):
        return subprocess.run([self.anafs, "umount", mnt, "--state", state],
                              capture_output=True, text=True, timeout=60)

    def run(self, qpath, *extra, timeout=300, prefix=""):
        """anafs run, as a shell command (prefix: e.g. 'ulimit -n 256;')."""
        words = " ".join("'%s'" % w for w in [self.anafs, "run", qpath] + list(extra))
        return subprocess.run(["bash", "-c", "%s %s" % (prefix, words)], capture_output=True,
                              timeout=timeout)


def status(mnt, job):
    return read("%s/jobs/%s/status" % (mnt, job)).strip()


def progress(mnt, job):
    return json.loads(read("%s/jobs/%s/progress.json" % (mnt, job)))


def submit(mnt, name, text):
    """Write jobs/NAME.query as cp would; the new job's number."""
    with open("%s/jobs/%s.query" % (mnt, name), "w") as f:
        f.write(text)
    return os.readlink("%s/jobs/%s" % (mnt, name))


def dump_daemon(mnt):
    """The stacks of the daemon serving mnt (ours), for a test that hangs."""
    for m, state in MOUNTS:
        if m != mnt or not shutil.which("gdb"):
            continue
        for pid in lock_holders(state):
            r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt"],
                               capture_output=True, text=True, timeout=60)
            print("--- stacks of the daemon %d of %s:\n%s" % (pid, mnt, r.stdout[-20000:]),
                  flush=True)


def cat_wait(mnt, job, secs=300):
    try:
        r = sh("cat '%s/jobs/%s/wait'" % (mnt, job), timeout=secs)
    except subprocess.TimeoutExpired:
        print("cat wait of job %s did not end in %d s" % (job, secs), flush=True)
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


def main(run, nargs, doc):
    if len(sys.argv) != nargs + 1:
        print(doc)
        return 2
    if not os.path.exists("/dev/fuse") or not shutil.which("fusermount3"):
        print("SKIP: /dev/fuse or fusermount3 is missing")
        return 77
    atexit.register(cleanup)
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, lambda *_: sys.exit(1))
    try:
        run(*sys.argv[1:])
    finally:
        cleanup()
    print("%d check(s) failed" % len(FAILED) if FAILED else "all checks passed")
    for f in FAILED:
        print("  failed: %s" % f)
    return 1 if FAILED else 0
