"""A test double of HTCondor's condor_submit, condor_q and condor_rm.

HTCondor is not packaged for Debian 12, so the htcondor launcher is tested
against these: the three tools (small scripts beside this file that call
main()) keep their state in the folder named by $ANAFS_CONDOR_DOUBLE:

  calls.log    one JSON object a call: {"tool", "argv", "submit" (the
               description's text, for condor_submit)}
  jobs.json    the queue: {"next": cluster, "jobs": {"C.P": {...}}}
  states.json  (written by a test) job states to play back: {"C.P": [s,
               ...]} or {"C.*": [...]}: each condor_q call reports the next
               (the last one repeats); 0 means "not in the queue"
  fail         (written by a test) tool names, one a line: those fail
               with exit status 1 and an error on stderr
  run          (written by a test) if present, condor_submit starts every
               job without a played-back state on this machine: the
               executable with its arguments, in a scratch folder holding
               its transfer_input_files, stdout and stderr to its output
               and error; condor_q reports it running (2) while it lives
               and drops it from the queue once it exits; condor_rm, a
               hold (5) or a removal (3) from states.json end it with
               SIGTERM, as HTCondor does.

Every process it starts is recorded in jobs.json (pid and start time), so
a test can end the leftovers by PID: leftovers().
"""
import fcntl
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys

STATUS_IDLE, STATUS_RUNNING, STATUS_REMOVED, STATUS_COMPLETED, STATUS_HELD = 1, 2, 3, 4, 5


def folder():
    d = os.environ.get("ANAFS_CONDOR_DOUBLE")
    if not d or not os.path.isdir(d):
        sys.stderr.write("ERROR: ANAFS_CONDOR_DOUBLE is not a folder (the test double needs one)\n")
        sys.exit(2)
    return d


def load(d, name, default):
    try:
        with open(os.path.join(d, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def save(d, name, value):
    tmp = os.path.join(d, name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(value, f, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(d, name))


def start_time(pid):
    """The start time of pid from /proc (None when it is gone or a zombie):
    with the pid it names one process, whatever pids are reused."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return None if fields[0] in ("Z", "X") else fields[19]
    except (OSError, IndexError):
        return None


def alive(job):
    return bool(job.get("pid")) and start_time(job["pid"]) == job.get("start")


def end_process(job):
    if alive(job):
        try:
            os.kill(job["pid"], signal.SIGTERM)
        except OSError:
            pass


def parse_submit(text):
    """The description's keys (lower-cased) and the count of `queue N`."""
    keys, queue = {}, None
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.lower().split()[0] == "queue":
            rest = s.split()[1:]
            queue = int(rest[0]) if rest else 1
            continue
        if "=" not in s:
            raise ValueError("line %d: not key = value: %s" % (n, s))
        k, v = s.split("=", 1)
        keys[k.strip().lower()] = v.strip()
    if queue is None:
        raise ValueError("no queue statement")
    for k in ("universe", "executable"):
        if k not in keys:
            raise ValueError("no %s" % k)
    return keys, queue


def arguments(value):
    """HTCondor's new argument syntax: the whole in double quotes, words
    split on blanks, single quotes group, '' is a quote."""
    if not (value.startswith('"') and value.endswith('"')):
        return value.split()
    return shlex.split(value[1:-1].replace('""', '"'))


def expand(v, cluster, proc):
    return v.replace("$(Cluster)", str(cluster)).replace("$(Process)", str(proc))


def run_job(d, keys, cluster, proc):
    """Start one job here: a scratch folder with its input files, its
    output and error where the description says.  Returns pid, start."""
    init = keys.get("initialdir", os.getcwd())
    scratch = os.path.join(d, "scratch", "%d.%d" % (cluster, proc))
    os.makedirs(scratch, exist_ok=True)
    for f in filter(None, (x.strip() for x in keys.get("transfer_input_files", "").split(","))):
        src = f if os.path.isabs(f) else os.path.join(init, f)
        shutil.copy2(src, os.path.join(scratch, os.path.basename(f)))

    def where(k):
        p = expand(keys.get(k, "/dev/null"), cluster, proc)
        return p if os.path.isabs(p) else os.path.join(init, p)
    argv = [keys["executable"]] + [expand(a, cluster, proc)
                                   for a in arguments(keys.get("arguments", ""))]
    with open(where("output"), "w") as out, open(where("error"), "w") as err:
        p = subprocess.Popen(argv, cwd=scratch, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                             start_new_session=True, close_fds=True)
    return p.pid, start_time(p.pid)


def played(states, jid, job):
    """The next played-back state of job jid, or None when none is scripted."""
    script = states.get(jid) or states.get(jid.split(".")[0] + ".*")
    if not script:
        return None
    i = min(job.get("polls", 0), len(script) - 1)
    job["polls"] = job.get("polls", 0) + 1
    return script[i]


def condor_submit(d, argv, db, log):
    files = [a for a in argv if not a.startswith("-")]
    if "-terse" not in argv or len(files) != 1:
        raise ValueError("usage: condor_submit -terse FILE")
    with open(files[0]) as f:
        text = f.read()
    log["submit"] = text
    keys, n = parse_submit(text)
    cluster = db["next"]
    db["next"] += 1
    run = os.path.exists(os.path.join(d, "run"))
    states = load(d, "states.json", {})
    for proc in range(n):
        jid = "%d.%d" % (cluster, proc)
        job = {"status": STATUS_IDLE, "keys": keys}
        if run and played(states, jid, {}) is None:
            job["pid"], job["start"] = run_job(d, keys, cluster, proc)
            job["status"] = STATUS_RUNNING
        db["jobs"][jid] = job
    return "%d.0 - %d.%d\n" % (cluster, cluster, n - 1)


def condor_q(d, argv, db, log):
    if "-af" not in argv:
        raise ValueError("this double answers only -af")
    at = argv.index("-af")
    want, attrs = argv[:at], argv[at + 1:]
    states = load(d, "states.json", {})
    out = []
    for jid in sorted(db["jobs"], key=lambda j: tuple(map(int, j.split(".")))):
        job = db["jobs"][jid]
        if want and jid not in want and jid.split(".")[0] not in want:
            continue
        s = played(states, jid, job)
        if s is not None:
            if s in (STATUS_HELD, STATUS_REMOVED) and job["status"] != s:
                if s == STATUS_HELD:
                    job["hold"] = "Test double: the job was put on hold"
                end_process(job)  # HTCondor evicts a held or removed job
            job["status"] = s
        elif job["status"] == STATUS_RUNNING and job.get("pid") and not alive(job):
            job["status"] = 0  # it exited: it leaves the queue
        if job["status"] == 0:
            continue
        vals = {"ClusterId": jid.split(".")[0], "ProcId": jid.split(".")[1],
                "JobStatus": str(job["status"]),
                "HoldReason": job.get("hold", "undefined") if job["status"] == 5 else "undefined"}
        out.append(" ".join(vals.get(a, "undefined") for a in attrs))
        if job["status"] == STATUS_REMOVED:
            job["status"] = 0  # reported removed once, then gone
    return "".join(line + "\n" for line in out)


def condor_rm(d, argv, db, log):
    out, missing = [], []
    for a in argv:
        jobs = [j for j in db["jobs"] if j == a or j.split(".")[0] == a]
        live = [j for j in jobs if db["jobs"][j]["status"] not in (0, STATUS_REMOVED)]
        if not live:
            missing.append(a)
        for j in live:
            end_process(db["jobs"][j])
            db["jobs"][j]["status"] = STATUS_REMOVED
            out.append("Job %s marked for removal" % j)
    if missing:
        raise LookupError("Couldn't find/remove all jobs matching %s" % " ".join(missing))
    return "".join(line + "\n" for line in out)


TOOLS = {"condor_submit": condor_submit, "condor_q": condor_q, "condor_rm": condor_rm}


def main(tool):
    d = folder()
    argv = sys.argv[1:]
    with open(os.path.join(d, "lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        log = {"tool": tool, "argv": argv}
        db = load(d, "jobs.json", {"next": 1, "jobs": {}})
        rc, out = 0, ""
        try:
            fail = load_lines(os.path.join(d, "fail"))
            if tool in fail:
                raise RuntimeError("the test double was told to fail")
            out = TOOLS[tool](d, argv, db, log)
        except (ValueError, LookupError, RuntimeError, OSError) as e:
            sys.stderr.write("ERROR: %s: %s\n" % (tool, e))
            rc = 1
        save(d, "jobs.json", db)
        log["rc"] = rc
        with open(os.path.join(d, "calls.log"), "a") as f:
            f.write(json.dumps(log) + "\n")
    sys.stdout.write(out)
    return rc


def load_lines(p):
    try:
        with open(p) as f:
            return [line.strip() for line in f if line.strip()]
    except OSError:
        return []


def calls(d):
    """The calls recorded so far, oldest first."""
    try:
        with open(os.path.join(d, "calls.log")) as f:
            return [json.loads(line) for line in f if line.strip()]
    except OSError:
        return []


def leftovers(d):
    """End (SIGKILL, by PID) every process this double started that still
    lives: for a test's cleanup.  Returns how many."""
    n = 0
    for job in load(d, "jobs.json", {"jobs": {}})["jobs"].values():
        if alive(job):
            try:
                os.kill(job["pid"], signal.SIGKILL)
                n += 1
            except OSError:
                pass
    return n
