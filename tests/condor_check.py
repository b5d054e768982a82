#!/usr/bin/python3
"""Workers as HTCondor pilots, through a test double of condor_submit,
condor_q and condor_rm (tests/condor/): HTCondor is not packaged for
Debian 12.  The double records every call and, here, runs each job on
this machine: the anafs worker in a scratch folder holding the job's
input files, as an execute node would.

Usage: condor_check.py ANAFS SHARED_DATA

A real mount with backend htcondor and `tools = tests/condor` in
STATE/workers.conf:
  - the generated submit description: every key, the extra lines, the
    secret nowhere in it (it travels as the input file `secret`);
  - a job whose hist.json is byte for byte `anafs run`'s, pilots submitted
    while its tasks wait (at most max_workers), released once idle;
  - a running pilot put on hold: the launcher notices, logs the reason and
    removes it (condor_rm); the job still ends with anafs run's bytes;
  - at unmount the pilot kept by min_workers is removed.

Exit status: 0 when every check passed, 1 otherwise, 77 when /dev/fuse or
fusermount3 is missing.
"""
import atexit
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "condor"))
import condor_double  # noqa: E402
import mount_util as mu  # noqa: E402

CONF = """backend = htcondor
tools = %s
listen = tcp://127.0.0.1:0
min_workers = 1
max_workers = 3
idle_timeout = 2
linger = 10
htcondor.request_memory = 500MB
htcondor.request_cpus = 1
htcondor.extra = +ProjectName = "anafs-test"; requirements = (OpSys == "LINUX")
"""


def live(dbl):
    """{C.P: status} of the double's jobs still in its queue."""
    jobs = condor_double.load(dbl, "jobs.json", {"jobs": {}})["jobs"]
    return {j: v["status"] for j, v in jobs.items() if v["status"] not in (0, 3)}


def running(dbl):
    jobs = condor_double.load(dbl, "jobs.json", {"jobs": {}})["jobs"]
    return [j for j, v in jobs.items() if v["status"] == 2 and condor_double.alive(v)]


def check_description(text, state, anafs, secret):
    want = ["universe = vanilla", "executable = %s" % anafs, "transfer_executable = false",
            "initialdir = %s/pilots" % state, "should_transfer_files = YES",
            "when_to_transfer_output = ON_EXIT", "transfer_input_files = secret",
            "output = condor-$(Cluster).$(Process).out",
            "error = condor-$(Cluster).$(Process).err", "log = condor.log",
            "batch_name = anafs-pilot", "request_memory = 500MB", "request_cpus = 1",
            '+ProjectName = "anafs-test"', 'requirements = (OpSys == "LINUX")']
    lines = text.splitlines()
    for w in want:
        mu.check(w in lines, "the submit description has: %s" % w, text)
    args = [line for line in lines if line.startswith("arguments = ")]
    mu.check(len(args) == 1 and "worker --connect tcp://127.0.0.1:" in args[0] and
             "--backend htcondor --pilot $(Cluster).$(Process) --secret-file secret" in args[0],
             "the arguments start the worker with its pilot id and --secret-file", args)
    mu.check(any(line.startswith("queue ") for line in lines), "it ends with queue N", text)
    mu.check(secret.hex() not in text.lower() and secret not in text.encode(errors="replace"),
             "the secret is not in the submit description (job ClassAds are public)")
    keys, n = condor_double.parse_submit(text)
    mu.check(1 <= n <= 3, "it queues 1 to max_workers pilots at once (%d)" % n)


def main():
    anafs, data = mu.setup(__doc__)
    tmp = mu.tmpdir("anafs-condor-")
    dbl = os.path.join(tmp, "double")
    os.makedirs(dbl)
    mu.write(os.path.join(dbl, "run"), "")
    os.environ["ANAFS_CONDOR_DOUBLE"] = dbl
    atexit.register(condor_double.leftovers, dbl)

    text = mu.long_query(data, 40)
    q = os.path.join(tmp, "ref.query")
    mu.write(q, text)
    ref = mu.sh("'%s' run '%s'" % (anafs, q), timeout=300).stdout.encode()
    text2 = mu.long_query(data, 60)
    mu.write(q, text2)
    ref2 = mu.sh("'%s' run '%s'" % (anafs, q), timeout=300).stdout.encode()

    state = os.path.join(tmp, "state-condor")
    os.makedirs(state, mode=0o700)
    mu.write(os.path.join(state, "workers.conf"), CONF % os.path.join(HERE, "condor"))
    m = mu.Mount(anafs, tmp, "condor", "--no-reuse", state=state)
    mu.check(mu.wait_for(lambda: len(running(dbl)) == 1, 30, 0.2),
             "min_workers = 1: one pilot runs before any job", live(dbl))
    with open(os.path.join(state, "secret"), "rb") as f:
        secret = f.read()
    subs = [c for c in condor_double.calls(dbl) if c["tool"] == "condor_submit"]
    if mu.check(subs, "condor_submit was called"):
        check_description(subs[0]["submit"], state, os.path.realpath(anafs), secret)
    copy = os.path.join(state, "pilots", "secret")
    mu.check(os.path.exists(copy) and os.stat(copy).st_mode & 0o777 == 0o600 and
             mu.read(copy, "rb") == secret, "STATE/pilots/secret is a 0600 copy of the secret")
    scratch = os.path.join(dbl, "scratch", "1.0", "secret")
    mu.check(os.path.exists(scratch) and mu.read(scratch, "rb") == secret,
             "the pilot's scratch folder got the secret as an input file")

    # A job: scaled up while its tasks wait, its bytes anafs run's.
    job = m.submit("condor", text)
    most = 0
    end = time.time() + 300
    while time.time() < end and m.status(job) in ("queued", "running"):
        most = max(most, len(running(dbl)))
        time.sleep(0.1)
    status = mu.cat_wait(m.mnt, job, 120)
    mu.check(status == "done", "the job on HTCondor pilots is done", status)
    mu.check(mu.read("%s/%s/hist.json" % (m.jobs, job), "rb") == ref,
             "hist.json from HTCondor pilots is byte for byte anafs run's")
    n_jobs = len(condor_double.load(dbl, "jobs.json", {"jobs": {}})["jobs"])
    mu.check(most >= 2 and most <= 3,
             "pilots were added while tasks waited, at most max_workers (%d at most running, "
             "%d submitted)" % (most, n_jobs))
    mu.check(mu.wait_for(lambda: len(live(dbl)) == 1, 60, 0.5),
             "the pilots above min_workers are released once idle", live(dbl))

    # A busy pilot put on hold (the double ends its worker with SIGTERM, as
    # HTCondor evicts): noticed, logged, removed; the job is unharmed.
    job2 = m.submit("condor-hold", text2)
    held = None
    end = time.time() + 120
    while time.time() < end and held is None and m.status(job2) in ("queued", "running"):
        r = running(dbl)
        if len(r) >= 2 and mu.progress(m.mnt, job2).get("tasks_done", 0) >= 2:
            held = sorted(r)[-1]
        else:
            time.sleep(0.05)
    if mu.check(held, "two pilots run the second job"):
        states = {held: [5]}
        condor_double.save(dbl, "states.json", states)
        mu.check(mu.wait_for(lambda: "pilot %s is held" % held in m.daemon_log(), 30, 0.2),
                 "the launcher logs the held pilot with its reason", m.daemon_log()[-1500:])
        mu.check(mu.wait_for(lambda: any(c["tool"] == "condor_rm" and held in c["argv"]
                                         for c in condor_double.calls(dbl)), 30, 0.2),
                 "and removes it with condor_rm %s" % held)
    status = mu.cat_wait(m.mnt, job2, 300)
    mu.check(status == "done", "the job with a held pilot is done", status)
    mu.check(mu.read("%s/%s/hist.json" % (m.jobs, job2), "rb") == ref2,
             "its hist.json is byte for byte anafs run's")

    # Unmount: the pilot kept by the floor is removed.
    kept = list(live(dbl))
    r = m.umount()
    mu.check(r.returncode == 0, "anafs umount", r.stderr)
    mu.check(mu.wait_for(lambda: not running(dbl), 30, 0.2),
             "at unmount the remaining pilot is removed (%s)" % kept, live(dbl))
    rms = [c["argv"] for c in condor_double.calls(dbl) if c["tool"] == "condor_rm"]
    mu.check(kept and any(kept[0] in a for a in rms), "condor_rm %s at unmount" % kept, rms)
    mu.check(all(c["rc"] == 0 for c in condor_double.calls(dbl)),
             "every call of the double succeeded",
             [c for c in condor_double.calls(dbl) if c["rc"]][:3])
    print("calls of the double: %s" % json.dumps(
        [c["tool"] for c in condor_double.calls(dbl)])[:600], flush=True)
    return mu.finish()


if __name__ == "__main__":
    sys.exit(main())
