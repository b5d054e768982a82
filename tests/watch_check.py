#!/usr/bin/python3
"""anafs watch and anafs status on a real mount, as a user sees them.

`anafs watch` runs in a tmux pane of fixed size (a private tmux server on
its own socket), read back with capture-pane: the job's line is redrawn in
place (one line in the pane, never a scroll of lines), its percentage
moves, the line follows a narrower pane, the cursor is hidden while it
draws and shown again after, and the exit code is the job's (3 cancelled,
130 for Ctrl-C, which leaves the job alone).  Piped, it prints a few plain
lines and exits 0 for a job that is done, seen at once through its `wait`
file (with a tick of an hour); 4 for an invalid job; 2 for a
job that does not exist.  `anafs status` prints aligned lines for a done,
a paused, a cancelled and an invalid job, and the same as JSON.

The slow job reads many copies of the LZMA bench file with the column
cache off (so each copy is decoded again) on one worker.  Every wait is a
bounded poll; nothing asserts a duration.

usage: watch_check.py ANAFS DATA_DIR
"""
import atexit
import json
import os
import re
import shutil
import subprocess
import sys

import mount_util as mu
from mount_util import check, wait_for

anafs, data = mu.setup(__doc__)
if not shutil.which("tmux"):
    print("SKIP: tmux is missing (packaging/deps.sh installs it)")
    sys.exit(77)
tmp = mu.tmpdir("anafs-watch-")
os.environ["ANAFS_COLCACHE"] = "off"
os.environ["ANAFS_COLCACHE_DIR"] = os.path.join(tmp, "colcache")
os.environ.pop("ANAFS_MOUNT", None)
LZMA = os.path.join(data, "bench/nano_like_lzma_100k.root")
SOCK = os.path.join(tmp, "tmux.sock")


def tmux(*args):
    return subprocess.run(["tmux", "-S", SOCK, "-f", "/dev/null", *args], capture_output=True,
                          text=True, timeout=30)


atexit.register(lambda: tmux("kill-server"))  # runs before mount_util's cleanup


def pane(name, cmd, width=100, height=12):
    """cmd in a new detached pane; its exit code is printed as EXIT=N."""
    r = tmux("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height),
             "bash", "-c", "LANG=C.UTF-8 %s; echo EXIT=$?; exec sleep 600" % cmd)
    check(r.returncode == 0, "tmux starts a pane for %s" % name, r.stderr)


def screen(name):
    """The pane's lines, trailing blank ones dropped."""
    lines = tmux("capture-pane", "-p", "-t", name).stdout.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def cursor_shown(name):
    return tmux("display", "-p", "-t", name, "#{cursor_flag}").stdout.strip() == "1"


def exit_of(name, secs=120):
    """The EXIT=N the pane printed, waiting for it at most secs."""
    got = {}

    def done():
        for line in screen(name):
            mt = re.match(r"EXIT=(\d+)$", line)
            if mt:
                got["code"] = int(mt.group(1))
        return "code" in got
    wait_for(done, secs, step=0.1)
    return got.get("code")


def slow_query(copies):
    lines = ["dataset " + " ".join([LZMA] * 10)] * (copies // 10)
    return "\n".join(lines + ["tree Events", "define good = Jet_pt > 30",
                              "hist jpt = Jet_pt[good] bins=40 range=0,400",
                              "hist jeta = Jet_eta bins=40 range=-5,5", ""])


m = mu.Mount(anafs, tmp, "w", "--no-reuse", "--workers", "1")
WATCH = "%s watch --mount %s" % (anafs, m.mnt)
jobs = {}


def watch_tty():
    job = m.submit("slow", slow_query(120))
    jobs["cancelled"] = job
    pane("a", "%s slow --interval 0.2" % WATCH)
    shots, percents = [], set()

    def two_percents():
        s = screen("a")
        if s:
            shots.append(s)
            for line in s:
                mt = re.search(r"(\d+\.\d)%", line)
                if mt and 0 < float(mt.group(1)) < 100:
                    percents.add(mt.group(1))
        return len(percents) >= 2
    check(wait_for(two_percents, 120, step=0.1), "the percentage moves on the pane",
          shots[-3:])
    check(shots and all(len(s) == 1 for s in shots),
          "every capture shows one line for the one job (redrawn in place)",
          [s for s in shots if len(s) != 1][:3])
    last = shots[-1][0] if shots else ""
    check(re.match(r"^%s slow +\[.+\] +\d+\.\d%% +running +.* ev/s +ETA \d+:\d\d:\d\d +1 worker$"
                   % job, last), "the line: number, name, bar, percent, status, events, rate, ETA, workers",
          last)
    check(len(last) <= 99, "the line fits the 100-column pane", len(last))
    check(not cursor_shown("a"), "the cursor is hidden while the line redraws")

    tmux("resize-window", "-t", "a", "-x", "60")
    check(wait_for(lambda: len(screen("a")) == 1 and 0 < len(screen("a")[0]) <= 59
                   and "%" in screen("a")[0], 60, step=0.1),
          "after a resize to 60 columns: still one line, cut to the new width", screen("a"))
    m.ctl(job, "cancel")
    code = exit_of("a")
    check(code == 3, "a cancelled job: anafs watch exits 3", code)
    s = screen("a")
    check(len(s) == 2 and "cancelled" in s[0] and s[1] == "EXIT=3",
          "the final line says cancelled, then the shell's EXIT line", s)
    check(cursor_shown("a"), "the cursor is shown again once watch exits")


def watch_interrupt():
    job = mu.paused_job(m, data, "held")
    jobs["paused"] = job
    pane("b", "%s %s" % (WATCH, job))
    check(wait_for(lambda: any("paused" in l for l in screen("b")), 60, step=0.1),
          "watch shows the paused job", screen("b"))
    tmux("send-keys", "-t", "b", "C-c")
    code = exit_of("b")
    check(code == 130, "Ctrl-C: anafs watch exits 130", (code, screen("b")))
    check(cursor_shown("b"), "Ctrl-C: the cursor is shown again")
    check(m.status(job) == "paused", "Ctrl-C leaves the job as it was", m.status(job))


def watch_plain():
    job = m.submit("short", slow_query(20))
    jobs["done"] = job
    # --interval 3600: the end is seen through jobs/N/wait, not the next tick
    # (a watch that missed it would outlast the timeout).
    r = subprocess.run([anafs, "watch", job, "--mount", m.mnt, "--interval", "3600"],
                       capture_output=True, text=True, timeout=300)
    lines = r.stdout.splitlines()
    check(r.returncode == 0, "piped, a job that ends done: exit 0", (r.returncode, r.stderr))
    check(lines and all(l.startswith("job %s short " % job) for l in lines),
          "piped: plain lines, one job each", lines)
    check("\x1b" not in r.stdout, "piped: no terminal escapes")
    check(1 <= len(lines) <= 13, "piped: a line per 10% moved or status changed, no more",
          len(lines))
    check(lines and "100.0%  done " in lines[-1],
          "piped: the last line is the job done", lines[-1:])

    # With no job named: every job not over (here the paused one).
    p = mu.popen([anafs, "watch", "--mount", m.mnt], stdout=subprocess.PIPE, text=True)
    first = p.stdout.readline()
    check(first.startswith("job %s held " % jobs["paused"]) and "paused" in first,
          "no job named: it watches the paused job", first)
    m.ctl(jobs["paused"], "cancel")
    rest = p.stdout.read()
    p.wait(timeout=120)
    check(p.returncode == 3 and "cancelled" in rest, "...and exits 3 once it is cancelled",
          (p.returncode, rest))


def watch_errors():
    job = m.submit("bad", "dataset /nonexistent/x.root\ntree Events\nhist m = MET_pt bins=2 range=0,1\n")
    jobs["invalid"] = job
    check(wait_for(lambda: m.status(job) == "invalid", 60), "the bad job is invalid")
    r = subprocess.run([anafs, "watch", "bad", "--mount", m.mnt], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 4 and "invalid" in r.stdout, "an invalid job: exit 4",
          (r.returncode, r.stdout, r.stderr))
    for arg in ("nosuch", "999"):
        r = subprocess.run([anafs, "watch", arg, "--mount", m.mnt], capture_output=True,
                           text=True, timeout=60)
        check(r.returncode == 2 and "%s: no such job" % arg in r.stderr,
              "a job that does not exist (%s): exit 2, said" % arg, (r.returncode, r.stderr))
    r = subprocess.run([anafs, "watch"], capture_output=True, text=True, timeout=60)
    check(r.returncode == 2 and "usage" in r.stderr, "no mount: usage, exit 2", r.stderr)


def status():
    jobs["paused"] = mu.paused_job(m, data, "held2")
    env = dict(os.environ, ANAFS_MOUNT=m.mnt)
    r = subprocess.run([anafs, "status"], capture_output=True, text=True, timeout=60, env=env)
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and lines and lines[0].split() == ["job", "name", "status",
                                                               "progress", "age"],
          "anafs status: a header", r.stdout + r.stderr)
    rows = {l.split()[0]: l for l in lines[1:]}
    col = lines[0].index("status") if lines else 0
    want = {"done": ("short", "100.0%"), "paused": ("held2", None),
            "cancelled": ("slow", None), "invalid": ("bad", "0.0%")}
    for st, (name, pct) in want.items():
        row = rows.get(jobs.get(st, "-"), "")
        f = row.split()
        ok = len(f) == 5 and f[1] == name and re.match(r"^\d+\.\d%$", f[3]) \
            and re.match(r"^\d+[smhd]$", f[4]) and (pct is None or f[3] == pct)
        check(ok and f[2] == st, "status: the %s job's line" % st, row)
        check(row[col - 2:col] == "  " and row[col:].startswith(st),
              "status: the %s job's status in the status column" % st, (col, row))
    r = subprocess.run([anafs, "status", "--json"], capture_output=True, text=True, timeout=60,
                       env=env)
    try:
        doc = json.loads(r.stdout)
        by = {str(j["job"]): j for j in doc["jobs"]}
        check(by[jobs["done"]]["name"] == "short" and by[jobs["done"]]["status"] == "done"
              and by[jobs["invalid"]]["status"] == "invalid"
              and by[jobs["paused"]]["status"] == "paused"
              and all(j["age_seconds"] >= 0 for j in doc["jobs"]),
              "status --json: the jobs, names and statuses", doc)
    except (ValueError, KeyError) as e:
        check(False, "status --json parses", (e, r.stdout))


mu.section(watch_tty, budget=240)
mu.section(watch_interrupt, budget=120)
mu.section(watch_plain, budget=240)
mu.section(watch_errors, budget=120)
mu.section(status, budget=60)
sys.exit(mu.finish())
