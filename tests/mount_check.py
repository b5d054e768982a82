#!/usr/bin/python3
"""The mount as users use it: real mounts in private temporary directories,
driven with cp, shell redirection, cat, json.load, tail -f, make, mv, echo
into ctl, concurrent readers, a bad query, unmount with jobs running, and a
second uid on an --allow-other mount.

Usage: mount_check.py ANAFS SHARED_DATA SCHEMA

Every mount is unmounted however the test ends (fusermount3 -u, then -u -z);
every process the test starts is ended by its PID.  Exit status: 0 when every
check passed, 1 otherwise, 77 when /dev/fuse or fusermount3 is missing.
"""
import atexit
import errno
import json
import os
import queue
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

import jsonschema

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mount_util import (FAILED, MOUNTS, PROCS, TMPDIRS, as_user, cat_wait, check,  # noqa: E402
                        lock_holders, read, sh, wait_for)
from mount_util import cleanup as cleanup_all, section as section_budget  # noqa: E402

PY = "/usr/bin/python3"
BENCH = "bench/nano_like_lzma_100k.root"
DIMUON = "root/nano_dimuon.root"
JOB_FILES = ["query", "status", "error", "progress", "progress.json", "hist.json",
             "cutflow", "summary", "log", "ctl", "wait"]
PROGRESS_KEYS = {"job", "status", "percent", "events_done", "events_total", "tasks_done",
                 "tasks_total", "workers", "rate", "eta_seconds", "bytes_read",
                 "cache_hit_ratio", "job_cache"}
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \S")


# ---- processes and mounts ----

def cleanup():
    """Every process and mount of the test (mount_util.cleanup), by PID."""
    cleanup_all()


def section(fn, *args):
    """A group of checks; the long jobs on a loaded machine take minutes."""
    section_budget(fn, *args, budget=450)


class Env:
    def __init__(self, anafs, data, schema):
        self.anafs = os.path.abspath(anafs)
        self.data = os.path.abspath(data)
        with open(schema) as f:
            self.validator = jsonschema.Draft7Validator(json.load(f))
        self.tmp = tempfile.mkdtemp(prefix="anafs-mount-")
        TMPDIRS.append(self.tmp)
        self.nq = 0
        self.refs = {}

    def path(self, name):
        return os.path.join(self.data, name)

    def query(self, text, name):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def mount(self, tag, *opts, state=None):
        """A daemon-mode mount at a new private directory; returns (mnt, state)."""
        mnt = os.path.join(self.tmp, "mnt-" + tag)
        os.makedirs(mnt, exist_ok=True)
        state = state or os.path.join(self.tmp, "state-" + tag)
        MOUNTS.append((mnt, state))
        r = subprocess.run([self.anafs, "mount", mnt, "--state", state] + list(opts),
                           capture_output=True, text=True, timeout=60, cwd=self.tmp)
        if not check(r.returncode == 0, "anafs mount %s exits 0" % " ".join(opts),
                     r.stderr):
            raise RuntimeError("mount failed")
        end = time.time() + 10
        while not os.path.ismount(mnt) and time.time() < end:
            time.sleep(0.05)
        check(os.path.ismount(mnt), "the mount is there after anafs mount returns")
        return mnt, state

    def umount(self, mnt, state):
        r = subprocess.run([self.anafs, "umount", mnt, "--state", state],
                           capture_output=True, text=True, timeout=60)
        return r

    def run_ref(self, qpath, *extra):
        key = (open(qpath).read(), extra)
        if key not in self.refs:
            r = subprocess.run([self.anafs, "run", qpath] + list(extra), capture_output=True,
                               timeout=300)
            if r.returncode != 0:
                raise RuntimeError("anafs run %s: %s" % (qpath, r.stderr))
            self.refs[key] = r.stdout
        return self.refs[key]


def status(mnt, job):
    return read("%s/jobs/%s/status" % (mnt, job)).strip()


def jobs_of(mnt):
    """The numbered job directories."""
    return sorted(int(n) for n in os.listdir(mnt + "/jobs") if n.isdigit())


def one_new_job(mnt, before, what):
    """Check exactly one job appeared since before (the list of job numbers)."""
    new = [j for j in jobs_of(mnt) if j not in before]
    detail = ["%d: %s" % (j, status(mnt, j)) for j in new]
    return check(len(new) == 1, "%s makes exactly one job" % what, detail)


# ---- queries ----

def dimuon_text(env):
    return """# dimuon spectrum, absolute dataset path
dataset  %s
tree     Events
define   good = Muon_pt > 5 && abs(Muon_eta) < 2.4
filter   twomu: sum(good) == 2
filter   opposite: sum(Muon_charge[good]) == 0
define   mass = inv_mass(Muon_pt[good], Muon_eta[good], Muon_phi[good], Muon_mass[good])
hist     mass bins=30 range=0,150 label="m(mu mu) [GeV]" title="Opposite-sign dimuons"
hist     mu_pt = Muon_pt[good] bins=20 range=0,100 weight=MET_pt
hist     met = MET_pt bins=20 range=0,200
""" % env.path(DIMUON)


def long_text(env, copies):
    b = env.path(BENCH)
    return """# a long job: one bench file read %d times
dataset %s
tree Events
define good = Jet_pt > 20 && abs(Jet_eta) < 2.4
filter j: sum(good) >= 1
define ht = sum(Jet_pt[good])
hist jpt = Jet_pt[good] bins=50 range=0,200 weight=MET_pt * 0.37
hist ht bins=100 range=0,1000 weight=sqrt(MET_pt) + exp(-Jet_pt[0]/100)
hist met = MET_pt bins=20 range=0,200
hist dphi = delta_phi(Jet_phi[good], MET_phi) bins=64 range=-pi,pi weight=hypot(MET_pt, 1.5)
hist pteta = Jet_pt, Jet_eta bins=50,48 range=0,200,-2.4,2.4 weight=1.0/(1.0+Jet_mass)
""" % (copies, " ".join([b] * copies))


# ---- the checks ----

def basics(env, mnt):
    r = sh("ls '%s'" % mnt)
    check(r.returncode == 0 and r.stdout.split() == ["README", "cache", "jobs", "workers"],
          "ls of the root shows README cache jobs workers", r.stdout + r.stderr)
    r = sh("cat '%s/README'" % mnt)
    check(r.returncode == 0 and "jobs/" in r.stdout and "wait" in r.stdout,
          "cat README says how to submit", r.stdout + r.stderr)
    for f in ("workers", "cache"):
        r = sh("cat '%s/%s'" % (mnt, f))
        check(r.returncode == 0 and r.stdout.strip(), "cat %s prints something" % f, r.stderr)


def submit_cp(env, mnt):
    text = dimuon_text(env)
    q = env.query(text, "q.query")
    r = sh("cp '%s' '%s/jobs/'" % (q, mnt))
    check(r.returncode == 0, "cp q.query MNT/jobs/ exits 0", r.stderr)
    one_new_job(mnt, [], "cp")
    jobs = os.listdir(mnt + "/jobs")
    check("1" in jobs and "q" in jobs, "jobs/1 and jobs/q appear", jobs)
    check(os.path.islink(mnt + "/jobs/q") and os.readlink(mnt + "/jobs/q") == "1",
          "jobs/q -> 1")
    check(cat_wait(mnt, "q") == "done", "cat jobs/q/wait prints done")
    j = mnt + "/jobs/1"
    check(status(mnt, 1) == "done", "status is done")
    hist = read(j + "/hist.json", "rb")
    ref = env.run_ref(q)
    check(hist == ref, "hist.json equals anafs run byte for byte",
          "%d vs %d bytes" % (len(hist), len(ref)))
    r = subprocess.run([PY, "-c", "import json,sys; json.load(open(sys.argv[1]))",
                        j + "/hist.json"], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "python3 -c json.load(open(hist.json)) works", r.stderr)
    doc = json.loads(hist)
    errs = [e.message for e in env.validator.iter_errors(doc)]
    check(not errs, "hist.json is valid UHI (schema)", errs[:3])
    check(read(j + "/cutflow", "rb") == env.run_ref(q, "--cutflow"),
          "cutflow equals anafs run --cutflow")
    names = sorted(doc)
    want = sorted([n + ".svg" for n in names] + [n + ".csv" for n in names])
    check(sorted(os.listdir(j + "/hist")) == want, "hist/ lists NAME.svg and NAME.csv",
          os.listdir(j + "/hist"))
    for n in names:
        svg = read("%s/hist/%s.svg" % (j, n))
        check(svg.lstrip().startswith(("<svg", "<?xml")), "hist/%s.svg is SVG" % n, svg[:80])
        csv = read("%s/hist/%s.csv" % (j, n)).splitlines()
        check(len(csv) > 1 and re.search(r"[A-Za-z]", csv[0]) and "," in csv[0],
              "hist/%s.csv has a header line" % n, csv[:2])
    prog = read(j + "/progress")
    check("100.0%" in prog, "progress says 100.0%", prog)
    try:
        pj = json.loads(read(j + "/progress.json"))
        check(set(pj) >= PROGRESS_KEYS, "progress.json has the expected keys",
              PROGRESS_KEYS - set(pj))
        check(pj.get("status") == "done" and pj.get("tasks_done") == pj.get("tasks_total")
              and pj.get("events_done") == pj.get("events_total") and pj.get("job") == 1,
              "progress.json: done, every task and event", pj)
    except ValueError as e:
        check(False, "progress.json parses", e)
    log = read(j + "/log").splitlines()
    check(log and all(LOG_LINE.match(l) for l in log), "log lines are timestamped", log[:5])
    check(any("submitted" in l for l in log) and any(" done" in l for l in log),
          "log has submitted and done", log)
    check(read(j + "/query") == text, "query equals what was written")


def submit_shell(env, mnt):
    text = dimuon_text(env).replace("bins=30", "bins=15")
    before = jobs_of(mnt)
    r = sh("cat > '%s/jobs/h.query' <<'EOF'\n%sEOF\n" % (mnt, text))
    check(r.returncode == 0, "heredoc into jobs/h.query exits 0", r.stderr)
    one_new_job(mnt, before, "cat > jobs/h.query <<EOF")
    check(cat_wait(mnt, "h") == "done", "heredoc job: cat wait prints done")
    check(read(mnt + "/jobs/h/hist.json", "rb") == env.run_ref(env.query(text, "h.query")),
          "heredoc job: hist.json equals anafs run")
    ptext = "dataset %s\ntree Events\nhist met = MET_pt bins=10 range=0,100\n" % env.path(DIMUON)
    before = jobs_of(mnt)
    r = sh("printf 'dataset %s\\ntree Events\\nhist met = MET_pt bins=10 range=0,100\\n' > "
           "'%s/jobs/x.query'" % (env.path(DIMUON), mnt))
    check(r.returncode == 0, "printf > jobs/x.query exits 0", r.stderr)
    one_new_job(mnt, before, "printf > jobs/x.query")
    check(cat_wait(mnt, "x") == "done", "printf job: cat wait prints done")
    check(read(mnt + "/jobs/x/query") == ptext, "printf job: query is what printf wrote")
    check(read(mnt + "/jobs/x/hist.json", "rb") == env.run_ref(env.query(ptext, "x.query")),
          "printf job: hist.json equals anafs run")
    # An editor's save: write a hidden temporary, rename it over the name.
    etext = ptext.replace("bins=10", "bins=12")
    r = sh("cat > '%s/jobs/.tmp123' <<'EOF'\n%sEOF\n" % (mnt, etext))
    check(r.returncode == 0, "write jobs/.tmp123 exits 0", r.stderr)
    check(not os.path.exists(mnt + "/jobs/ed"), "no job before the rename")
    before = jobs_of(mnt)
    r = sh("mv '%s/jobs/.tmp123' '%s/jobs/ed.query'" % (mnt, mnt))
    check(r.returncode == 0, "mv .tmp123 ed.query exits 0", r.stderr)
    one_new_job(mnt, before, "mv .tmp123 ed.query")
    check(cat_wait(mnt, "ed") == "done", "renamed query became a job: wait prints done")
    check(read(mnt + "/jobs/ed/query") == etext, "renamed job: query is the saved text")
    check(not os.path.exists(mnt + "/jobs/.tmp123"), "the temporary is gone after mv")


def bad_query(env, mnt):
    # A syntax error: close() fails with EINVAL, so cp says so.
    text = ("dataset %s\ntree Events\nhist nope = Muon_pt bins=10 range=0,\n"
            % env.path(DIMUON))
    bad = env.query(text, "syntax.query")
    before = jobs_of(mnt)
    r = sh("cp '%s' '%s/jobs/'" % (bad, mnt))
    check(r.returncode != 0, "cp of a query with a syntax error exits non-zero", r.returncode)
    check("Invalid argument" in r.stderr, "cp prints Invalid argument", r.stderr)
    check(wait_for(lambda: os.path.islink(mnt + "/jobs/syntax"), 5), "jobs/syntax exists")
    one_new_job(mnt, before, "cp of a query with a syntax error")
    check(status(mnt, "syntax") == "invalid", "jobs/syntax/status is invalid")
    err = read(mnt + "/jobs/syntax/error")
    check(re.search(r"syntax.query:3:\d+: error:", err) and "^" in err,
          "jobs/syntax/error has file:line:col: error: and a caret", err)
    # An unknown branch is found when the job is planned, after close():
    # cp succeeds and the job becomes invalid, its error saying where.
    text = ("dataset %s\ntree Events\nhist nope = Muon_ptt bins=10 range=0,1\n"
            % env.path(DIMUON))
    bad = env.query(text, "bad.query")
    before = jobs_of(mnt)
    r = sh("cp '%s' '%s/jobs/'" % (bad, mnt))
    check(r.returncode == 0, "cp of a query naming an unknown branch exits 0", r.stderr)
    check(wait_for(lambda: os.path.islink(mnt + "/jobs/bad"), 5), "jobs/bad exists")
    one_new_job(mnt, before, "cp of a bad query")
    check(cat_wait(mnt, "bad") == "invalid", "cat wait of the job prints invalid")
    check(status(mnt, "bad") == "invalid", "jobs/bad/status is invalid")
    err = read(mnt + "/jobs/bad/error")
    check(re.search(r"\d+:\d+: error:", err) and "^" in err and "hint:" in err,
          "jobs/bad/error has line:col: error:, a caret and hint:", err)
    check("3:13" in err, "the error points at line 3 column 13", err)
    r = subprocess.run([env.anafs, "submit", bad, "--mount", mnt], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 1 and "error:" in r.stderr and "Muon_ptt" in r.stderr,
          "anafs submit bad.query exits 1 with the error on stderr",
          "rc=%d %s" % (r.returncode, r.stderr))
    good = env.query(dimuon_text(env), "good.query")
    before = jobs_of(mnt)
    r = subprocess.run([env.anafs, "submit", good, "--mount", mnt], capture_output=True,
                       text=True, timeout=60)
    n = r.stdout.strip()
    check(r.returncode == 0 and n.isdigit(), "anafs submit good.query prints the job number",
          r.stdout + r.stderr)
    one_new_job(mnt, before, "anafs submit")
    if n.isdigit():
        check(os.readlink(mnt + "/jobs/good") == n, "jobs/good -> the printed number")
        check(cat_wait(mnt, n) == "done", "submitted job is done")
    # Bad input must leave other jobs alone.
    check(status(mnt, 1) == "done", "job 1 untouched by the bad query")


def too_big(env, mnt):
    before = len(jobs_of(mnt))
    r = sh("head -c 1100000 /dev/zero | tr '\\0' '#' > '%s/jobs/big.query'" % mnt)
    check(r.returncode != 0 and "File too large" in r.stderr,
          "a query over 1 MiB: the shell says File too large", r.stderr)
    fd = os.open(mnt + "/jobs/big2.query", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        n = os.write(fd, b"#" * (1 << 20))
        check(n == 1 << 20, "1 MiB exactly may be written", n)
        try:
            os.write(fd, b"#")
            check(False, "a write past 1 MiB fails with EFBIG", "no error")
        except OSError as e:
            check(e.errno == errno.EFBIG, "a write past 1 MiB fails with EFBIG", e)
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
    # Nothing half-written may run; one failed write makes one job at most.
    check(len(jobs_of(mnt)) <= before + 2, "at most one job per over-size query",
          "%d new jobs" % (len(jobs_of(mnt)) - before))
    for name in ("big", "big2"):
        p = "%s/jobs/%s" % (mnt, name)
        st = status(mnt, name) if os.path.exists(p) else "none"
        check(st in ("none", "invalid"), "a query cut at EFBIG is not queued (%s: %s)"
              % (name, st))


def writes_elsewhere(env, mnt):
    j = mnt + "/jobs/1"
    r = sh("echo x > '%s/status'" % j)
    check(r.returncode != 0 and "Permission denied" in r.stderr,
          "echo x > status: Permission denied", r.stderr)
    try:
        with open(j + "/hist.json", "w"):
            pass
        check(False, "open(hist.json, 'w') fails with EACCES", "opened")
    except OSError as e:
        check(e.errno == errno.EACCES, "open(hist.json, 'w') fails with EACCES", e)
    r = sh("echo hello > '%s/ctl'" % j)
    check(r.returncode != 0 and "Invalid argument" in r.stderr,
          "echo hello > ctl: Invalid argument", r.stderr)
    r = sh("mkdir '%s/jobs/x'" % mnt)
    check(r.returncode != 0, "mkdir jobs/x fails", r.stderr)
    check(not os.path.isdir(mnt + "/jobs/x") or os.path.islink(mnt + "/jobs/x"),
          "no directory x after mkdir")
    r = sh("rm '%s/query'" % j)
    check(r.returncode != 0 and os.path.exists(j + "/query"), "rm jobs/1/query fails",
          r.stderr)
    r = sh("rm -f '%s/jobs/q'" % mnt)
    check(r.returncode != 0 and os.path.islink(mnt + "/jobs/q"), "rm of a job link fails",
          r.stderr)
    r = sh("touch '%s/README'" % mnt)
    check(r.returncode != 0, "touch README fails", r.stderr)
    r = sh("echo x > '%s/newfile'" % mnt)
    check(r.returncode != 0, "creating a file at the root fails", r.stderr)


def sizes_and_mtimes(env, mnt):
    j = mnt + "/jobs/1"
    files = [j + "/" + f for f in JOB_FILES if f not in ("ctl", "wait")]
    files += [j + "/hist/" + h for h in os.listdir(j + "/hist")]
    files += [mnt + "/README", mnt + "/workers", mnt + "/cache"]
    bad = []
    for p in files:
        size = os.stat(p).st_size
        n = len(read(p, "rb"))
        if size != n:
            bad.append("%s: st_size %d, read %d" % (p[len(mnt):], size, n))
    check(not bad, "st_size equals what read returns, every file of a done job", bad)
    size, n = os.stat(j + "/wait").st_size, len(read(j + "/wait", "rb"))
    check(size == n, "wait of a done job: st_size equals what read returns",
          "st_size %d, read %d" % (size, n))
    # progress, progress.json, workers and cache carry now as mtime (docs/mount.md).
    stable = ["hist.json", "status", "query", "cutflow", "log", "error", "wait", "ctl"]
    stable += ["hist/" + h for h in os.listdir(j + "/hist")]
    t0 = {f: os.stat(j + "/" + f).st_mtime_ns for f in stable}
    time.sleep(1.1)
    t1 = {f: os.stat(j + "/" + f).st_mtime_ns for f in stable}
    check(t0["hist.json"] == t1["hist.json"], "hist.json mtime does not move at rest")
    moved = [f for f in stable if t0[f] != t1[f]]
    check(not moved, "no file of a done job changes mtime at rest", moved)


def makefile(env, mnt):
    d = tempfile.mkdtemp(prefix="make-", dir=env.tmp)
    with open(d + "/Makefile", "w") as f:
        f.write("out.txt: %s/jobs/1/hist.json\n\tcp $< $@\n" % mnt)
    r1 = sh("make", cwd=d)
    check(r1.returncode == 0 and os.path.exists(d + "/out.txt"), "make builds out.txt",
          r1.stdout + r1.stderr)
    check(read(d + "/out.txt", "rb") == read(mnt + "/jobs/1/hist.json", "rb"),
          "out.txt is hist.json")
    r2 = sh("make", cwd=d)
    check(r2.returncode == 0 and "up to date" in r2.stdout and "cp " not in r2.stdout,
          "second make: up to date", r2.stdout + r2.stderr)
    # cat wait as a barrier in a rule.
    with open(d + "/Makefile", "w") as f:
        f.write("all:\n\t@test \"$$(cat %s/jobs/1/wait)\" = done && echo barrier-ok\n" % mnt)
    r3 = sh("make", cwd=d)
    check(r3.returncode == 0 and "barrier-ok" in r3.stdout, "cat wait as a Makefile barrier",
          r3.stdout + r3.stderr)


def not_other_user(env, mnt):
    """Without --allow-other, another uid does not see the mount."""
    os.chmod(env.tmp, 0o755)
    res = as_user(65534, lambda: os.listdir(mnt + "/jobs"))
    check(res.get("errno") in (errno.EACCES, errno.EPERM),
          "without --allow-other, uid 65534 cannot list the mount", res)


# ---- a long job ----

def calibrate(env):
    """A query that takes more than 2 s on one thread; returns (path, text, secs)."""
    copies = 6
    for _ in range(4):
        text = long_text(env, copies)
        q = env.query(text, "long.query")
        t = time.time()
        env.run_ref(q)
        secs = time.time() - t
        if secs > 2.0:
            break
        copies = min(60, copies * 2)
    check(secs > 2.0, "the long query takes more than 2 s (%.1f s, %d copies)"
          % (secs, copies))
    return q, text, secs


class Tail:
    """tail -f of a file; lines arrive on a queue."""

    def __init__(self, path):
        self.p = subprocess.Popen(["tail", "-n", "+1", "-f", path], stdout=subprocess.PIPE,
                                  text=True)
        PROCS.append(self.p)
        self.q = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.p.stdout:
            self.q.put(line.rstrip("\n"))

    def expect(self, word, secs):
        end = time.time() + secs
        seen = []
        while time.time() < end:
            try:
                line = self.q.get(timeout=max(0.01, end - time.time()))
            except queue.Empty:
                break
            seen.append(line)
            if word in line:
                return True, seen
        return False, seen

    def stop(self):
        self.p.kill()
        self.p.wait(timeout=10)


def readers(env, mnt, job, secs, nthreads=20):
    """nthreads loop on hist.json while the job runs; returns (loads, failures, percents)."""
    path = "%s/jobs/%s/hist.json" % (mnt, job)
    stop = time.time() + secs
    fails, counts = [], [0] * nthreads
    lock = threading.Lock()

    def loop(k):
        i = 0
        while time.time() < stop and i < 100000:
            i += 1
            try:
                with open(path) as f:
                    doc = json.load(f)
                if k == 0 and i % 10 == 1:
                    errs = [e.message for e in env.validator.iter_errors(doc)]
                    if errs:
                        raise ValueError("schema: %s" % errs[:2])
                counts[k] += 1
            except Exception as e:  # noqa: BLE001
                with lock:
                    fails.append(repr(e))
    ts = [threading.Thread(target=loop, args=(k,)) for k in range(nthreads)]
    for t in ts:
        t.start()
    percents = []
    while time.time() < stop:
        try:
            percents.append(json.loads(read("%s/jobs/%s/progress.json" % (mnt, job)))["percent"])
        except (OSError, ValueError) as e:
            fails.append("progress.json: %r" % e)
        time.sleep(0.2)
    for t in ts:
        t.join(timeout=secs + 30)
    return sum(counts), fails, percents


def long_jobs(env):
    q, text, secs = calibrate(env)
    ref = env.run_ref(q)
    mnt, state = env.mount("long", "--workers", "1", "--no-reuse")
    r = sh("cp '%s' '%s/jobs/L1.query'" % (q, mnt))
    check(r.returncode == 0, "long job submitted", r.stderr)
    j1 = os.readlink(mnt + "/jobs/L1")
    check(wait_for(lambda: status(mnt, j1) == "running", 10), "long job is running")
    tail = Tail("%s/jobs/%s/log" % (mnt, j1))
    try:
        ok, seen = tail.expect("running", 5)
        check(ok, "tail -f shows the log so far", seen)
        r = sh("echo pause > '%s/jobs/%s/ctl'" % (mnt, j1))
        check(r.returncode == 0, "echo pause > ctl exits 0", r.stderr)
        check(wait_for(lambda: status(mnt, j1) == "paused", 3), "status becomes paused",
              status(mnt, j1))
        ok, seen = tail.expect("paused", 5)
        check(ok, "tail -f sees the paused line appear", seen)
        # A second long job runs while the first is paused (one worker).
        r = sh("cp '%s' '%s/jobs/L2.query'" % (q, mnt))
        j2 = os.readlink(mnt + "/jobs/L2")
        check(wait_for(lambda: status(mnt, j2) == "running", 10),
              "a job submitted while the other is paused runs", status(mnt, j2))
        # Cancel the running second job; a waiter started before sees it.
        w = subprocess.Popen(["cat", "%s/jobs/%s/wait" % (mnt, j2)], stdout=subprocess.PIPE,
                             text=True)
        PROCS.append(w)
        time.sleep(0.3)
        r = sh("echo cancel > '%s/jobs/%s/ctl'" % (mnt, j2))
        check(r.returncode == 0, "echo cancel > ctl exits 0", r.stderr)
        try:
            out, _ = w.communicate(timeout=5)
            check(out.strip() == "cancelled", "a blocked cat wait prints cancelled", out)
        except subprocess.TimeoutExpired:
            w.kill()
            check(False, "a blocked cat wait returns after cancel")
        check(status(mnt, j2) == "cancelled", "status is cancelled")
        check(cat_wait(mnt, j2, 10) == "cancelled", "cat wait prints cancelled")
        r = sh("echo resume > '%s/jobs/%s/ctl'" % (mnt, j2))
        check(r.returncode != 0 and "Invalid argument" in r.stderr,
              "resume of a cancelled job: Invalid argument", r.stderr)
        check(status(mnt, j2) == "cancelled", "a cancelled job stays cancelled")
        # Resume the first.
        r = sh("echo resume > '%s/jobs/%s/ctl'" % (mnt, j1))
        check(r.returncode == 0, "echo resume > ctl exits 0", r.stderr)
        check(wait_for(lambda: status(mnt, j1) == "running", 5), "status becomes running",
              status(mnt, j1))
        ok, seen = tail.expect("resumed", 5)
        check(ok, "tail -f sees the resumed line appear", seen)
    finally:
        tail.stop()
    # 20 readers of hist.json while it runs.
    loads, fails, percents = readers(env, mnt, j1, min(4.0, secs))
    check(not fails, "20 concurrent readers: json.load of a partial hist.json never fails "
          "(%d loads)" % loads, fails[:5])
    check(loads > 20, "the readers read (%d loads)" % loads)
    check(len(set(percents)) >= 2, "progress moves while the job runs", percents)
    check(cat_wait(mnt, j1) == "done", "the long job ends done")
    check(read("%s/jobs/%s/hist.json" % (mnt, j1), "rb") == ref,
          "long job: hist.json equals anafs run after pause/resume and readers")
    check(status(mnt, j2) == "cancelled", "the cancelled job is still cancelled")
    pj = json.loads(read("%s/jobs/%s/progress.json" % (mnt, j2)))
    check(pj["tasks_done"] < pj["tasks_total"], "the cancelled job did not run to the end", pj)

    # Unmount with a job running, mount again: it resumes.
    r = sh("cp '%s' '%s/jobs/L3.query'" % (q, mnt))
    j3 = os.readlink(mnt + "/jobs/L3")
    check(wait_for(lambda: json.loads(read("%s/jobs/%s/progress.json" % (mnt, j3)))
                   ["tasks_done"] >= 1, 30), "third long job makes progress")
    check(status(mnt, j3) == "running", "third long job is running before umount")
    r = env.umount(mnt, state)
    check(r.returncode == 0, "anafs umount with a job running exits 0", r.stderr)
    check(not os.path.ismount(mnt), "the mount is gone after anafs umount")
    check(not lock_holders(state), "the daemon has stopped after anafs umount")
    mnt2, _ = env.mount("long", "--workers", "1", "--no-reuse", state=state)
    check(status(mnt2, j3) in ("running", "queued", "done"), "after mount again the job "
          "is active", status(mnt2, j3))
    check(os.readlink(mnt2 + "/jobs/L3") == j3, "jobs/L3 link survives the remount")
    check(cat_wait(mnt2, j3) == "done", "the resumed job ends done")
    check(read("%s/jobs/%s/hist.json" % (mnt2, j3), "rb") == ref,
          "resumed job: hist.json equals anafs run byte for byte")
    log = read("%s/jobs/%s/log" % (mnt2, j3))
    check(re.search(r"resumed at task [1-9]", log), "log says resumed at task K>0", log)
    check(status(mnt2, j1) == "done" and status(mnt2, j2) == "cancelled",
          "finished jobs keep their status across the remount")
    r = env.umount(mnt2, state)
    check(r.returncode == 0, "final anafs umount exits 0", r.stderr)


def wait_interrupt(env):
    """cat wait on a running job blocks; SIGINT ends it and the daemon goes on."""
    q = env.query(long_text(env, 12), "wait.query")
    mnt, state = env.mount("wait", "--workers", "1")
    r = sh("cp '%s' '%s/jobs/'" % (q, mnt))
    j2 = os.readlink(mnt + "/jobs/wait")
    check(wait_for(lambda: status(mnt, j2) == "running", 10), "the job runs")
    # cat wait blocks and SIGINT ends it.
    p = subprocess.Popen(["cat", "%s/jobs/%s/wait" % (mnt, j2)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    PROCS.append(p)
    time.sleep(1.0)
    check(p.poll() is None, "cat wait blocks while the job runs")
    p.send_signal(signal.SIGINT)
    t = time.time()
    try:
        p.wait(timeout=2.0)
        check(True, "cat wait exits within 2 s of SIGINT (%.2f s)" % (time.time() - t))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)
        check(False, "cat wait exits within 2 s of SIGINT")
    time.sleep(0.5)
    try:
        st = status(mnt, j2)
        check(st == "running", "the daemon still serves after an interrupted cat wait, "
              "the job goes on", st)
    except OSError as e:
        check(False, "the daemon still serves after an interrupted cat wait", e)
        return
    r = sh("echo cancel > '%s/jobs/%s/ctl'" % (mnt, j2))
    check(r.returncode == 0 and cat_wait(mnt, j2, 10) == "cancelled", "then cancelled")
    r = env.umount(mnt, state)
    check(r.returncode == 0, "umount exits 0", r.stderr)


# ---- another uid ----

def other_users(env):
    if os.getuid() != 0:
        print("SKIP allow_other checks: not root (cannot act as a second uid)")
        return
    os.chmod(env.tmp, 0o755)
    mnt, state = env.mount("other", "--allow-other", "--workers", "1")
    q = env.query(long_text(env, 6), "long.query")
    small = env.query(dimuon_text(env), "small.query")
    r = sh("cp '%s' '%s/jobs/rootjob.query'" % (small, mnt))
    jr = os.readlink(mnt + "/jobs/rootjob")
    check(cat_wait(mnt, jr) == "done", "root's job done")
    res = as_user(65534, lambda: read("%s/jobs/%s/hist.json" % (mnt, jr)))
    check("ok" in res and json.loads(res["ok"]), "uid 65534 reads root's hist.json", res)

    def write_ctl():
        with open("%s/jobs/%s/ctl" % (mnt, jr), "w") as f:
            f.write("cancel\n")
    res = as_user(65534, write_ctl)
    check(res.get("errno") == errno.EACCES, "uid 65534 cannot write root's ctl (EACCES)", res)
    # jobs/NAME.query belongs to its newest job's user: others cannot save it.
    before = jobs_of(mnt)
    st = os.stat(mnt + "/jobs/rootjob.query")
    res = as_user(65534, lambda: open(mnt + "/jobs/rootjob.query", "w").close())
    check(st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o644 and
          res.get("errno") == errno.EACCES and jobs_of(mnt) == before,
          "jobs/rootjob.query is root's, 0644: uid 65534 cannot save it (EACCES)",
          (st.st_uid, oct(st.st_mode), res))

    # A root long job that the other user may not cancel while it runs.
    r = sh("cp '%s' '%s/jobs/rootlong.query'" % (q, mnt))
    jrl = os.readlink(mnt + "/jobs/rootlong")

    def cancel(job):
        def f():
            with open("%s/jobs/%s/ctl" % (mnt, job), "w") as fh:
                fh.write("cancel\n")
        return f
    res = as_user(65534, cancel(jrl))
    check(res.get("errno") == errno.EACCES and status(mnt, jrl) in ("queued", "running"),
          "uid 65534 cannot cancel root's running job", (res, status(mnt, jrl)))

    def submit_own():
        with open(mnt + "/jobs/nobody.query", "w") as f:
            f.write(read(q))
        j = os.readlink(mnt + "/jobs/nobody")
        st = os.stat("%s/jobs/%s" % (mnt, j))
        return [j, st.st_uid, os.stat("%s/jobs/%s/ctl" % (mnt, j)).st_uid]
    res = as_user(65534, submit_own)
    check("ok" in res, "uid 65534 submits its own job", res)
    if "ok" not in res:
        return
    jn, duid, cuid = res["ok"]
    check(duid == 65534 and cuid == 65534, "the job dir and its files belong to 65534",
          res["ok"])
    check("uid 65534" in read("%s/jobs/%s/log" % (mnt, jn)), "log names the submitting uid")
    res = as_user(65534, cancel(jn))
    check("ok" in res, "uid 65534 cancels its own job", res)
    check(wait_for(lambda: status(mnt, jn) == "cancelled", 5), "its job is cancelled",
          status(mnt, jn))
    # The mounter may cancel anything.
    res = as_user(65534, submit_own)
    jn2 = res.get("ok", [None])[0]
    if check(jn2 is not None, "uid 65534 submits a second job", res):
        r = sh("echo cancel > '%s/jobs/%s/ctl'" % (mnt, jn2))
        check(r.returncode == 0 and status(mnt, jn2) == "cancelled",
              "root (the mounter) cancels uid 65534's job", r.stderr)
    r = sh("echo cancel > '%s/jobs/%s/ctl'" % (mnt, jrl))
    check(r.returncode == 0 and status(mnt, jrl) == "cancelled", "root cancels its own job")
    r = env.umount(mnt, state)
    check(r.returncode == 0, "umount of the --allow-other mount exits 0", r.stderr)


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    if not os.path.exists("/dev/fuse") or not shutil.which("fusermount3"):
        print("SKIP: /dev/fuse or fusermount3 is missing")
        return 77
    atexit.register(cleanup)
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, lambda *_: sys.exit(1))
    env = Env(*sys.argv[1:])
    try:
        mnt, state = env.mount("main")
        for fn in (basics, submit_cp, submit_shell, bad_query, too_big, writes_elsewhere,
                   sizes_and_mtimes, makefile):
            section(fn, env, mnt)
        if os.getuid() == 0:
            section(not_other_user, env, mnt)
        r = env.umount(mnt, state)
        check(r.returncode == 0, "anafs umount exits 0", r.stderr)
        check(not os.path.ismount(mnt), "the mount is gone after anafs umount")
        section(long_jobs, env)
        section(other_users, env)
        section(wait_interrupt, env)
    finally:
        cleanup()
    print("%d check(s) failed" % len(FAILED) if FAILED else "all checks passed")
    for f in FAILED:
        print("  failed: %s" % f)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
