#!/usr/bin/python3
"""The mount's files tell the truth and every write is the job its writer
meant: a reader's close submits nothing; NAME.query stays as the newest
job's text and saving it again (Jupyter, an editor) submits once; the
rules for names; fstat against read; wait read byte by byte; poll; the
state folder's modes and a read-only one; a mount point with a space;
anafs umount returns once the daemon has exited; jobs/ in numeric order.

Usage: mount_files_check.py ANAFS SHARED_DATA

Exit status: 0 when every check passed, 1 otherwise, 77 when /dev/fuse or
fusermount3 is missing.
"""
import errno
import os
import shutil
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mount_util import (Mount, check, finish, long_query, paused_job, read,  # noqa: E402
                        section, setup, small_query, tmpdir, wait_for, write)


def new_jobs(m, before):
    return sorted(set(m.job_dirs()) - set(before))


def drafts(m, data):
    """A reader's close submits nothing; a writer submits its own text once."""
    text = small_query(data, 11)
    before = m.job_dirs()
    p = m.jobs + "/mid.query"
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text[:25].encode())
        r = read(p)  # a cat of the query while it is written
        check(new_jobs(m, before) == [], "a reader closing a query being written makes no job",
              new_jobs(m, before))
        check(r == "", "a reader of a query being written sees no half query", r)
        check(os.fstat(fd).st_size == 25, "fstat of the writer: its own 25 bytes",
              os.fstat(fd).st_size)
        os.write(fd, text[25:].encode())
    finally:
        os.close(fd)
    new = new_jobs(m, before)
    check(len(new) == 1 and read("%s/%d/query" % (m.jobs, new[0])) == text,
          "the writer's close submits its whole text, once", new)
    # A shell's > closes a duplicate before it writes; exec 3> writes twice.
    before = m.job_dirs()
    r = subprocess.run(["bash", "-c", "exec 3>'%s/sh.query'; printf '%%s' \"$1\" >&3; exec 3>&-"
                        % m.jobs, "-", text], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and len(new_jobs(m, before)) == 1,
          "exec 3> then one write: one job", (r.stderr, new_jobs(m, before)))
    before = m.job_dirs()
    r = subprocess.run(["bash", "-c", "touch '%s/empty.query'" % m.jobs], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0 and new_jobs(m, before) == [] and
          not os.path.exists(m.jobs + "/empty.query"),
          "touch of a new query makes no job, and no file stays", r.stderr)


def jupyter(m, data):
    """Write, close, stat, read back, write again: two jobs; and the way
    Jupyter saves (a .~ copy, the file written in place, the copy removed)."""
    p = m.jobs + "/nb.query"
    t1, t2, t3 = small_query(data, 12), small_query(data, 13), small_query(data, 14)
    before = m.job_dirs()
    write(p, t1)
    st = os.stat(p)
    check(stat.S_ISREG(st.st_mode) and st.st_size == len(t1) and st.st_mode & 0o200,
          "after the save, stat of NAME.query: a writable file of the text's size",
          (oct(st.st_mode), st.st_size, len(t1)))
    check(read(p) == t1, "NAME.query reads back as the text saved")
    write(p, t2)
    new = new_jobs(m, before)
    check(len(new) == 2 and os.readlink(m.jobs + "/nb") == str(new[-1]),
          "saving again submits a second job; jobs/nb points at it", new)
    check(read(p) == t2 and os.stat(p).st_size == len(t2), "NAME.query is the newest text")
    # jupyter_server's atomic_writing: copy to .~NAME, write in place, fsync, remove.
    before = m.job_dirs()
    tmp = m.jobs + "/.~nb.query"
    shutil.copy2(p, tmp)
    with open(p, "w") as f:
        f.write(t3)
        f.flush()
        os.fsync(f.fileno())
    os.remove(tmp)
    check(len(new_jobs(m, before)) == 1 and read(p) == t3 and not os.path.exists(tmp),
          "a Jupyter save (.~ copy, write in place, fsync, remove) submits once",
          new_jobs(m, before))
    # An editor's save by rename: write a scratch file, rename it onto NAME.query.
    before = m.job_dirs()
    write(m.jobs + "/.nb.query.tmp", t1)
    os.rename(m.jobs + "/.nb.query.tmp", p)
    check(len(new_jobs(m, before)) == 1 and read(p) == t1,
          "rename of a scratch file onto NAME.query submits once", new_jobs(m, before))
    # shutil.copy (copyfile, then chmod) and cp -p (utime, chmod, chown) work.
    src = os.path.join(m.tmp, "src.query")
    write(src, t2)
    before = m.job_dirs()
    shutil.copy(src, p)
    r = subprocess.run(["cp", "-p", src, p], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and len(new_jobs(m, before)) == 2,
          "shutil.copy and cp -p onto NAME.query: a job each", (r.stderr, new_jobs(m, before)))
    if shutil.which("vim"):
        before = m.job_dirs()
        r = subprocess.run(["vim", "-u", "DEFAULTS", "-N", "-es", "-c", "%s/bins=13/bins=15/",
                            "-c", "wq", p], capture_output=True, text=True, timeout=60,
                           cwd=m.tmp, env=dict(os.environ, HOME=m.tmp))
        new = new_jobs(m, before)
        check(r.returncode == 0 and len(new) == 1 and "bins=15" in read(p),
              "vim edits NAME.query and saves: one new job", (r.stdout, r.stderr, new))
        check([n for n in os.listdir(m.jobs) if n.endswith((".swp", "~"))] == [],
              "vim leaves no swap or backup file")


def names(m, data):
    """One rule set for every name under jobs/, with the reason logged."""
    refused = {
        "a b.query": errno.EINVAL, "x;y.query": errno.EINVAL, "new\nline.query": errno.EINVAL,
        "123.query": errno.EINVAL, "4913": errno.EINVAL, "notes.txt": errno.EINVAL,
        "x.query.query": errno.EINVAL, "x~.query": errno.EINVAL,
        "a" * 201 + ".query": errno.ENAMETOOLONG,
    }
    for name, want in refused.items():
        try:
            os.close(os.open(m.jobs + "/" + name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
            got = 0
        except OSError as e:
            got = e.errno
        check(got == want, "create jobs/%r: %s" % (name[:24], errno.errorcode[want]),
              errno.errorcode.get(got, got))
    check(wait_for(lambda: "a name may not hold a space" in m.daemon_log(), 5),
          "the daemon's log says why a name was refused", m.daemon_log()[-500:])
    long_name = "a" * 200
    before = m.job_dirs()
    write("%s/%s.query" % (m.jobs, long_name), small_query(data, 9))
    check(len(new_jobs(m, before)) == 1 and os.path.islink("%s/%s" % (m.jobs, long_name)),
          "a NAME of exactly 200 characters submits")
    before = m.job_dirs()
    write(m.jobs + "/..query", small_query(data, 9))
    check(new_jobs(m, before) == [] and "..query" in os.listdir(m.jobs),
          "..query is a hidden scratch file, not a job named '.'")
    os.remove(m.jobs + "/..query")
    for what, fn, want in (
            ("mkfifo", lambda: os.mkfifo(m.jobs + "/f.query"), errno.EPERM),
            ("mkdir", lambda: os.mkdir(m.jobs + "/d"), errno.EPERM),
            ("symlink", lambda: os.symlink("1", m.jobs + "/s"), errno.EPERM)):
        try:
            fn()
            got = 0
        except OSError as e:
            got = e.errno
        check(got == want, "%s under jobs/: %s" % (what, errno.errorcode[want]), got)
    # mv over a job's link must not replace it.
    target = os.readlink(m.jobs + "/nb")
    write(m.jobs + "/.x.tmp", "junk\n")
    r = subprocess.run(["mv", "-T", m.jobs + "/.x.tmp", m.jobs + "/nb"], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode != 0 and "File exists" in r.stderr and os.readlink(m.jobs + "/nb") == target,
          "mv -T onto a job's link: File exists, the link unchanged", r.stderr)
    r = subprocess.run(["mv", m.jobs + "/.x.tmp", m.jobs + "/nb"], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode != 0 and os.readlink(m.jobs + "/nb") == target,
          "mv into a job's folder (through its link) fails, the link unchanged", r.stderr)
    os.remove(m.jobs + "/.x.tmp")
    r = subprocess.run(["rm", "-f", m.jobs + "/nb.query"], capture_output=True, text=True)
    check(r.returncode != 0 and os.path.exists(m.jobs + "/nb.query"),
          "rm of NAME.query fails; it stays", r.stderr)


def snapshot_sizes(m, data):
    """fstat of an open file is the size of the snapshot it reads, for every
    kind of file, while the job merges."""
    job = m.submit("grow", long_query(data, 80))
    files = ["status", "error", "progress", "progress.json", "hist.json", "cutflow", "summary",
             "query", "hist/met.svg", "hist/met.csv", "../../workers", "../../cache",
             "../grow.query"]
    bad, rounds = [], 0
    end = time.time() + 8
    while time.time() < end and (rounds < 5 or m.status(job) in ("queued", "running")):
        rounds += 1
        for f in files:
            fd = os.open("%s/%s/%s" % (m.jobs, job, f), os.O_RDONLY)
            try:
                size = os.fstat(fd).st_size
                data_ = b""
                while True:
                    b = os.read(fd, 4096)
                    if not b:
                        break
                    data_ += b
                after = os.fstat(fd).st_size
            finally:
                os.close(fd)
            if size != len(data_) or after != len(data_):
                bad.append("%s: fstat %d/%d, read %d" % (f, size, after, len(data_)))
        time.sleep(0.05)
    check(not bad, "fstat equals what the descriptor reads, every file, %d rounds" % rounds,
          bad[:5])
    if m.status(job) in ("queued", "running"):
        m.ctl(job, "cancel")
    # log: fstat is its size now; the descriptor reads what was appended since.
    job = paused_job(m, data, "logged")
    fd = os.open("%s/%s/log" % (m.jobs, job), os.O_RDONLY)
    try:
        n0 = len(os.read(fd, 1 << 20))
        m.ctl(job, "cancel")
        grew = wait_for(lambda: os.fstat(fd).st_size > n0, 5)
        more = os.read(fd, 1 << 20)
        check(grew and n0 + len(more) == os.fstat(fd).st_size,
              "log: fstat grows with it and the descriptor reads the new lines", more)
    finally:
        os.close(fd)


def wait_bytes(m, data):
    """wait read with a tiny buffer gives the status byte by byte."""
    job = m.submit("tiny", small_query(data, 8))
    r = subprocess.run(["dd", "if=%s/%s/wait" % (m.jobs, job), "bs=1", "status=none"],
                       capture_output=True, timeout=60)
    check(r.returncode == 0 and r.stdout == b"done\n", "dd bs=1 of wait: done\\n", r)
    fd = os.open("%s/%s/wait" % (m.jobs, job), os.O_RDONLY)
    try:
        check(os.pread(fd, 10, 3) == b"e\n" and os.pread(fd, 10, 5) == b"",
              "pread of wait at offset 3: 'e\\n'; at 5: end of file")
    finally:
        os.close(fd)


def listing(m, data):
    """jobs/ lists the job numbers ascending, then the names."""
    while len(m.job_dirs()) < 12:
        m.submit("fill", small_query(data, 7))
    names = os.listdir(m.jobs)
    nums = [n for n in names if n.isdigit()]
    rest = [n for n in names if not n.isdigit()]
    check(names == nums + rest and nums == sorted(nums, key=int) and rest == sorted(rest),
          "readdir of jobs/: numbers ascending, then names", names[:16])


def state_modes(anafs, data, tmp):
    """The state folder 0700, its files 0600, whatever its mode was."""
    state = os.path.join(tmp, "state-modes")
    os.makedirs(state, mode=0o755)
    os.chmod(state, 0o755)
    m = Mount(anafs, tmp, "modes", "--workers", "1", state=state)
    m.submit("m", small_query(data, 6))
    modes = {n: stat.S_IMODE(os.stat(os.path.join(state, n)).st_mode) for n in os.listdir(state)}
    check(stat.S_IMODE(os.stat(state).st_mode) == 0o700, "the state folder is 0700",
          oct(os.stat(state).st_mode))
    check(all(v == 0o600 for v in modes.values()) and "anafs.db" in modes,
          "every file of the state folder is 0600 (anafs.db, -wal, -shm, daemon.lock)",
          {k: oct(v) for k, v in modes.items()})
    pid = int(read(os.path.join(state, "daemon.lock")).split()[0])
    r = m.umount()
    gone = not os.path.exists("/proc/%d" % pid) or read("/proc/%d/stat" % pid).split(") ")[1][0] == "Z"
    check(r.returncode == 0 and gone, "anafs umount returns once the daemon has exited", r.stderr)


def state_readonly(anafs, data, tmp):
    """A read-only state folder says so."""
    if os.getuid() != 0 or not shutil.which("unshare"):
        print("SKIP read-only state folder: needs root and unshare for a read-only bind mount")
        return
    state = os.path.join(tmp, "state-ro")
    mnt = os.path.join(tmp, "mnt-ro")
    os.makedirs(state)
    os.makedirs(mnt)
    r = subprocess.run(["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$1" "$1" && '
                        'exec "$2" mount "$3" --state "$1"', "-", state, anafs, mnt],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and "is read-only" in r.stderr and "another" not in r.stderr,
          "a read-only state folder: 'state directory ... is read-only'", (r.returncode, r.stderr))


def space_in_path(anafs, data, tmp):
    """'already mounted' for a mount point whose path has a space."""
    m = Mount(anafs, tmp, "with space", "--workers", "1")
    r = subprocess.run([anafs, "mount", m.mnt, "--state", os.path.join(tmp, "state-other")],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and "already mounted" in r.stderr,
          "anafs mount on a mount point with a space that anafs serves: already mounted",
          r.stderr)
    check(m.umount().returncode == 0, "umount of the mount point with a space")


def main():
    anafs, data = setup(__doc__)
    tmp = tmpdir("anafs-files-")
    m = Mount(anafs, tmp, "files", "--workers", "2")
    for fn in (drafts, jupyter, names, snapshot_sizes, wait_bytes, listing):
        section(fn, m, data)
    r = m.umount()
    check(r.returncode == 0, "umount of the files mount", r.stderr)
    for fn in (state_modes, state_readonly, space_in_path):
        section(fn, anafs, data, tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
