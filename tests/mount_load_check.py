#!/usr/bin/python3
"""The mount under load and hostile use: 500 readers blocked on a paused
job's wait while every other operation answers; blocked readers killed,
interrupted, freed by cancel, woken through poll; SIGTERM of the daemon
with readers blocked; 50 writers of one name at once.

Usage: mount_load_check.py ANAFS SHARED_DATA

Before the mount moved to libfuse's low-level API, ten readers of wait
froze the mount (ls, status, the resume that would free them), the
readers could not be killed and SIGTERM never ended the daemon; 50
parallel writers of one name shared a draft.  Latency bounds here are
loose (2 s) so that a loaded machine does not fail them; the medians are
printed, and bench/bench_cat.py measures them properly.  Exit status: 0
when every check passed, 1 otherwise, 77 when /dev/fuse or fusermount3 is
missing.
"""
import errno
import os
import select
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mount_util import (Mount, bounded, check, finish, paused_job, percentile, popen,  # noqa: E402
                        read, section, setup, small_query, tmpdir, wait_for)

NWAITERS = 500

# A reader that does not retry on EINTR (cat and Python's os.read do):
# it prints what its one read(2) of the file returned, and its errno.
RAW_READER = r"""
import ctypes, os, signal, sys
signal.signal(signal.SIGINT, lambda *a: None)
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(sys.argv[1], os.O_RDONLY)
buf = ctypes.create_string_buffer(64)
n = libc.read(fd, buf, 64)
print(n, ctypes.get_errno(), buf.raw[:max(n, 0)].decode().strip(), flush=True)
"""


def in_read(p):
    """Whether process p is inside read(2) (x86_64: syscall 0)."""
    try:
        return read("/proc/%d/syscall" % p.pid).split()[0] == "0"
    except (OSError, IndexError):
        return False


def start_waiters(path, n):
    ps = [popen(["cat", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
          for _ in range(n)]
    blocked = wait_for(lambda: all(in_read(p) for p in ps), 60, 0.1)
    check(blocked, "%d readers of wait are blocked in read" % n,
          "%d of %d" % (sum(in_read(p) for p in ps), n))
    return ps


def raw_readers(path, n):
    ps = [popen([sys.executable, "-c", RAW_READER, path], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True) for _ in range(n)]
    wait_for(lambda: all(in_read(p) for p in ps), 30, 0.05)
    return ps


def responsive(m, job):
    """Every other operation answers while the waiters block."""
    j = "%s/%s" % (m.jobs, job)
    ops = {
        "ls jobs/": lambda: os.listdir(m.jobs),
        "cat status": lambda: read(j + "/status"),
        "stat progress": lambda: os.stat(j + "/progress"),
        "cat progress.json": lambda: read(j + "/progress.json"),
        "cat workers": lambda: read(m.mnt + "/workers"),
        "echo pause > ctl": lambda: m.ctl(job, "pause"),
    }
    lat = {k: [] for k in ops}
    end = time.time() + 20
    for _ in range(40):
        for k, fn in ops.items():
            lat[k].append(bounded(fn, 10)[0])
        if time.time() > end:
            break
    for k, v in lat.items():
        print("    %-20s median %.2f ms, p99 %.2f ms, max %.2f ms (%d)"
              % (k, 1e3 * statistics.median(v), 1e3 * percentile(v, 0.99), 1e3 * max(v), len(v)))
    worst = max(max(v) for v in lat.values())
    check(worst < 2.0, "with %d waiters every operation answers within 2 s (worst %.3f s)"
          % (NWAITERS, worst))
    t = bounded(lambda: subprocess.run(["ls", "-l", j], capture_output=True, timeout=30), 30)[0]
    check(t < 2.0, "ls -l jobs/N answers (%.3f s)" % t)


def waiters(anafs, data, tmp):
    m = Mount(anafs, tmp, "waiters", "--workers", "1")
    job = paused_job(m, data, "long")
    ws = start_waiters("%s/%s/wait" % (m.jobs, job), NWAITERS)
    responsive(m, job)
    # Killing a blocked reader works (the kernel's interrupt is answered).
    victims = ws[:10]
    for p in victims:
        p.kill()
    check(wait_for(lambda: all(p.poll() is not None for p in victims), 5),
          "kill -9 of 10 blocked readers ends them within 5 s")
    # A signal interrupts a read that does not retry: EINTR.
    raws = raw_readers("%s/%s/wait" % (m.jobs, job), 5)
    for p in raws:
        p.send_signal(signal.SIGINT)
    outs = [p.communicate(timeout=10)[0].split() for p in raws]
    check(all(o[:2] == ["-1", str(errno.EINTR)] for o in outs),
          "SIGINT to a blocked read: EINTR", outs)
    # poll: not ready while paused, ready once over.
    fd = os.open("%s/%s/wait" % (m.jobs, job), os.O_RDONLY)
    sfd = os.open("%s/%s/status" % (m.jobs, job), os.O_RDONLY)
    try:
        first = os.read(sfd, 64)
        pl = select.poll()
        pl.register(fd, select.POLLIN)
        ps = select.poll()
        ps.register(sfd, select.POLLIN)
        check(pl.poll(300) == [] and ps.poll(300) == [],
              "poll on wait and status of a paused job: not ready", first)
        t = time.time()
        m.ctl(job, "cancel")
        check(bool(pl.poll(5000)), "poll on wait wakes when the job is cancelled")
        check(bool(ps.poll(5000)), "poll on status wakes when the status changes")
        os.lseek(sfd, 0, os.SEEK_SET)
        check(os.read(sfd, 64) == b"cancelled\n", "status read again from 0: the new status")
        # Every remaining waiter gets the status.
        rest = ws[10:]
        outs = [p.communicate(timeout=30) for p in rest]
        secs = time.time() - t
        good = sum(o[0] == b"cancelled\n" for o in outs)
        check(good == len(rest), "cancel frees every blocked reader with 'cancelled' "
              "(%d of %d, %.2f s)" % (good, len(rest), secs), set(outs))
    finally:
        os.close(fd)
        os.close(sfd)
    r = m.umount()
    check(r.returncode == 0, "umount after the waiters", r.stderr)


def sigterm(anafs, data, tmp):
    """SIGTERM of a --foreground daemon with readers blocked: it unmounts
    and exits within a second; the readers get EINTR (cat retries and then
    sees the mount gone) or the status."""
    m = Mount(anafs, tmp, "term", "--workers", "1", foreground=True)
    job = paused_job(m, data, "long")
    done = m.submit("small", small_query(data, 10))
    check(wait_for(lambda: m.status(done) == "done", 30), "a small job is done")
    ws = start_waiters("%s/%s/wait" % (m.jobs, job), 200)
    raws = raw_readers("%s/%s/wait" % (m.jobs, job), 5)
    t = time.time()
    m.daemon.send_signal(signal.SIGTERM)
    try:
        m.daemon.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    secs = time.time() - t
    # The promise is a second (0.34 s measured in a normal build); a
    # ThreadSanitizer build (make tsan), slower at everything, took 1.5 s
    # with worker processes to stop, so there the bound is looser.
    bound = 3.0 if os.environ.get("ANAFS_TSAN") else 1.0
    check(m.daemon.returncode == 0 and secs < bound,
          "SIGTERM with 205 readers blocked: the daemon exits 0 within %g s (%.3f s, rc %s)"
          % (bound, secs, m.daemon.returncode), m.daemon_log()[-1000:])
    check(not os.path.ismount(m.mnt), "the mount is gone after SIGTERM")
    outs = [p.communicate(timeout=10)[0].split() for p in raws]
    check(all(o[:2] == ["-1", str(errno.EINTR)] for o in outs),
          "a blocked read that does not retry gets EINTR", outs)
    ends = [p.communicate(timeout=10) for p in ws]
    secs = time.time() - t
    check(all(p.returncode != 0 for p in ws) and secs < 5,
          "every blocked cat ends, with an error, within 5 s (%.2f s)" % secs,
          set(e[1][-60:] for e in ends))
    check("signal 15" in m.daemon_log(), "the daemon's log names the signal", m.daemon_log())


def writers(anafs, data, tmp):
    """50 writers of one name at once, twice: each submits exactly its text."""
    m = Mount(anafs, tmp, "writers", "--workers", "2")
    srcs = []
    for i in range(50):
        p = os.path.join(tmp, "w%02d.query" % i)
        with open(p, "w") as f:
            f.write(small_query(data, 10 + i))
        srcs.append(p)
    texts = {read(p) for p in srcs}
    for label, cmd in (("cp", "cp '%s' '%s/same.query'"),
                       ("cat >", "cat '%s' > '%s/same.query'")):
        before = set(m.job_dirs())
        ps = [popen(["sh", "-c", cmd % (p, m.jobs)], stderr=subprocess.PIPE) for p in srcs]
        res = [(p.wait(timeout=120), p.stderr.read().decode()) for p in ps]
        ok = sum(rc == 0 for rc, _ in res)
        new = sorted(set(m.job_dirs()) - before)
        qs = [read("%s/%d/query" % (m.jobs, j)) for j in new]
        # cp creates with O_EXCL when the name does not exist yet: racing cps
        # may get EEXIST, as on any filesystem; a shell's > never does.
        refused = [e for rc, e in res if rc and "File exists" not in e]
        check(not refused and (label == "cp" or ok == 50),
              "50 parallel %s to jobs/same.query: %d succeed" % (label, ok), refused[:3])
        check(len(new) == ok, "%s: one job per writer that succeeded (%d jobs)" % (label, len(new)))
        check(all(q in texts for q in qs), "%s: every job's query is one writer's text" % label,
              [q for q in qs if q not in texts][:2])
        check(len(set(qs)) == len(qs), "%s: no writer's text submitted twice" % label)
    r = m.umount()
    check(r.returncode == 0, "umount after the writers", r.stderr)


def main():
    anafs, data = setup(__doc__)
    tmp = tmpdir("anafs-load-")
    for fn in (waiters, sigterm, writers):
        section(fn, anafs, data, tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
