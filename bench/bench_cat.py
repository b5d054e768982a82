#!/usr/bin/python3
"""bench_cat.py -- latency of `cat jobs/N/hist.json` on an anafs mount, and
what 50 readers looping on it do to a running job's throughput.

Mounts anafs in a temporary folder (its own state folder, so nothing of the
user's is touched), then:

  idle      R readers loop open/read/close on the hist.json of a job that is
            done (1 reader, then --readers readers), for --idle-seconds;
  alone     a long job (--copies copies of --file in one dataset) runs with
            nobody reading: its throughput is events / (wall time from the
            close() that submitted it to the end of `cat jobs/N/wait`);
  readers   the same job again while --readers threads loop open/read/close
            on its hist.json until it is over (each sleeping --pause seconds
            between reads, 0 by default): per-read latency and its
            throughput.

  waiters   --waiters processes block in `cat jobs/N/wait` on a paused
            job while one reader loops open/read/close on its status for
            --idle-seconds: the latency every other operation sees while
            the mount holds that many blocked reads (median, p99).  A read
            that gets no answer in 10 s is reported as a frozen mount, and
            the daemon is killed (by its PID) to end the run.

alone and readers alternate --rounds times; the table shows medians.  Every
read is checked to be one whole JSON snapshot ('{' ... '}\\n').  The mount is
unmounted however the benchmark ends; the whole run is bounded by --budget
seconds (a job still running then is cancelled).

usage: bench/bench_cat.py [--anafs build/anafs] [--file F] [--copies N]
           [--workers N] [--readers N] [--rounds N] [--idle-seconds S]
           [--pause S] [--waiters N] [--budget S]
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_FILE = os.path.join(ROOT, "..", "shared", "data", "bench", "nano_like_zstd_500k.root")

# The query of bench_query: two filters, a jagged mask, three histograms.
QUERY_BODY = """define goodjet = Jet_pt > 30 && abs(Jet_eta) < 2.4
filter trig: HLT_IsoMu24
filter twojets: sum(goodjet) >= 2
hist met = MET_pt bins=50 range=0,200
hist jetpt = Jet_pt[goodjet] bins=50 range=0,300
hist dphi = delta_phi(MET_phi, Jet_phi[goodjet][0]) bins=32 range=-pi,pi
"""


class Budget(Exception):
    pass


TICK = os.sysconf("SC_CLK_TCK")


def daemon_pid(mnt):
    """The anafs daemon serving mnt (it forked away from `anafs mount`)."""
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                argv = open(f"/proc/{d}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if len(argv) > 2 and argv[1] == b"mount" and os.fsencode(mnt) in argv:
                return int(d)
    return None


def cpu_s(stat_path):
    """utime + stime of a process or thread, in seconds (0 if it is gone)."""
    try:
        f = open(stat_path).read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / TICK


def threads_cpu(pid):
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        out[int(t)] = cpu_s(f"/proc/{pid}/task/{t}/stat")
    return out


def read_all(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while True:
            b = os.read(fd, 1 << 16)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        os.close(fd)


def submit(mnt, name, text):
    """Write jobs/NAME.query; returns (job number, time close() returned)."""
    path = os.path.join(mnt, "jobs", name + ".query")
    with open(path, "w") as f:
        f.write(text)
    t = time.perf_counter()
    return int(os.readlink(os.path.join(mnt, "jobs", name))), t


def wait_job(mnt, job, deadline):
    """Block on jobs/N/wait in a helper thread (a blocked read cannot time
    out by itself); returns (status, time it returned)."""
    out = {}

    def waiter():
        out["status"] = read_all(os.path.join(mnt, "jobs", str(job), "wait")).decode().strip()
        out["t"] = time.perf_counter()

    th = threading.Thread(target=waiter, daemon=True)
    th.start()
    th.join(max(0.0, deadline - time.monotonic()))
    if th.is_alive():
        with open(os.path.join(mnt, "jobs", str(job), "ctl"), "w") as f:
            f.write("cancel\n")
        th.join(10)
        raise Budget(f"job {job} still running when the time budget ran out: cancelled")
    return out["status"], out["t"]


class Readers:
    """n threads looping open/read/close on path until stop() or until
    `until` (a monotonic time)."""

    def __init__(self, path, n, until=None, pause=0.0,
                 whole=lambda b: b.startswith(b"{") and b.endswith(b"}\n")):
        self.path, self.until, self.pause, self.whole = path, until, pause, whole
        self.stop_ev = threading.Event()
        self.lat = [[] for _ in range(n)]
        self.bad = [0] * n
        self.threads = [threading.Thread(target=self.loop, args=(i,), daemon=True)
                        for i in range(n)]

    def loop(self, i):
        lat, path, pc = self.lat[i], self.path, time.perf_counter
        while not self.stop_ev.is_set():
            if self.until and time.monotonic() >= self.until:
                break
            t0 = pc()
            try:
                b = read_all(path)
            except OSError:
                self.bad[i] += 1
                continue
            lat.append(pc() - t0)
            if not self.whole(b):
                self.bad[i] += 1
            if self.pause:
                self.stop_ev.wait(self.pause)

    def start(self):
        self.t0 = time.perf_counter()
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join()
        self.t1 = time.perf_counter()

    def summary(self):
        lat = sorted(x for v in self.lat for x in v)
        n = len(lat)
        secs = self.t1 - self.t0
        return {
            "reads": n,
            "reads_per_s": n / secs if secs > 0 else 0.0,
            "median_ms": 1e3 * lat[n // 2] if n else float("nan"),
            "p99_ms": 1e3 * lat[min(n - 1, int(0.99 * n))] if n else float("nan"),
            "max_ms": 1e3 * lat[-1] if n else float("nan"),
            "bad": sum(self.bad),
        }


def in_read(pid):
    """Whether process pid is blocked in read(2) (x86_64: syscall 0)."""
    try:
        return open(f"/proc/{pid}/syscall").read().split()[0] == "0"
    except (OSError, IndexError):
        return False


def waiters_phase(mnt, query, n, secs, pid):
    """n `cat wait` processes on a paused job; the latency of `cat status`
    meanwhile.  Returns the summary row, or None if the mount froze."""
    job, _ = submit(mnt, "paused", query)
    jdir = os.path.join(mnt, "jobs", str(job))
    with open(os.path.join(jdir, "ctl"), "w") as f:
        f.write("pause\n")
    ps = [subprocess.Popen(["cat", os.path.join(jdir, "wait")], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL) for _ in range(n)]
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and not all(in_read(p.pid) for p in ps):
            time.sleep(0.1)
        blocked = sum(in_read(p.pid) for p in ps)
        r = Readers(os.path.join(jdir, "status"), 1, until=time.monotonic() + secs,
                    whole=lambda b: b == b"paused\n")
        r.start()
        r.threads[0].join(secs + 10)
        if r.threads[0].is_alive():
            print(f"waiters: {blocked} blocked readers: `cat status` got no answer in "
                  f"10 s (the mount is frozen); killing the daemon {pid}", flush=True)
            os.kill(pid, signal.SIGKILL)
            return None
        r.stop()
        s = r.summary()
        s["readers"] = 1
        with open(os.path.join(jdir, "ctl"), "w") as f:
            f.write("cancel\n")
        return s, blocked
    finally:
        for p in ps:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def run_job(mnt, name, text, readers, deadline, pid, pause=0.0):
    """One job, with or without readers.  CPU: the daemon's whole (every
    thread, live or gone) and its worker threads' (the scheduler's threads
    live as long as the daemon; they are the threads that burn CPU while
    nobody reads), and this process's (the readers')."""
    th0, d0, c0 = threads_cpu(pid), cpu_s(f"/proc/{pid}/stat"), os.times()
    job, t0 = submit(mnt, name, text)
    r = None
    if readers:
        r = Readers(os.path.join(mnt, "jobs", str(job), "hist.json"), readers, pause=pause)
        r.start()
    try:
        status, t1 = wait_job(mnt, job, deadline)
    finally:
        if r:
            r.stop()
    if status != "done":
        raise RuntimeError(f"job {job} ended {status}")
    th1, d1, c1 = threads_cpu(pid), cpu_s(f"/proc/{pid}/stat"), os.times()
    prog = json.loads(read_all(os.path.join(mnt, "jobs", str(job), "progress.json")))
    ev = prog["events_total"]
    delta = {t: th1[t] - th0.get(t, 0.0) for t in th1}
    res = {"job": job, "events": ev, "wall_s": t1 - t0, "rate": ev / (t1 - t0),
           "daemon_cpu": d1 - d0, "thread_cpu": delta,
           "client_cpu": (c1.user - c0.user) + (c1.system - c0.system)}
    if r:
        res.update(r.summary())
    return res


def mount(anafs, mnt, state, workers, cwd):
    subprocess.run([anafs, "mount", mnt, "--state", state, "--workers", str(workers), "--no-reuse"],
                   cwd=cwd, check=True)


def unmount(anafs, mnt, state):
    r = subprocess.run([anafs, "umount", mnt, "--state", state],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode != 0:  # the daemon died: clear the dead mount
        subprocess.run(["fusermount3", "-u", "-z", mnt],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def fmt_row(label, s):
    return (f"{label:<28} {s['readers']:>7} {s['reads']:>8} {s['reads_per_s']:>9.0f} "
            f"{s['median_ms']:>9.3f} {s['p99_ms']:>8.3f} {s['max_ms']:>8.2f} {s['bad']:>4}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\nusage:")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--anafs", default=os.path.join(ROOT, "build", "anafs"),
                    help="the anafs binary (default: build/anafs)")
    ap.add_argument("--file", default=DEFAULT_FILE,
                    help="the ROOT file of the dataset (default: "
                         "../shared/data/bench/nano_like_zstd_500k.root)")
    ap.add_argument("--copies", type=int, default=48,
                    help="copies of --file in the long job's dataset (default 48)")
    ap.add_argument("--workers", type=int, default=2, help="anafs mount --workers (default 2)")
    ap.add_argument("--readers", type=int, default=50, help="reader threads (default 50)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="alone/readers rounds, alternating (default 3)")
    ap.add_argument("--idle-seconds", type=float, default=3.0,
                    help="length of each idle measurement (default 3)")
    ap.add_argument("--pause", type=float, default=0.0,
                    help="seconds each reader sleeps between reads while the job runs "
                         "(default 0: loop flat out)")
    ap.add_argument("--waiters", type=int, default=500,
                    help="readers blocked on wait for the waiters figure (default 500; 0: skip)")
    ap.add_argument("--budget", type=float, default=170.0,
                    help="seconds the whole run may take (default 170)")
    a = ap.parse_args()
    deadline = time.monotonic() + a.budget
    data = os.path.abspath(a.file)
    if not os.path.exists(data):
        sys.exit(f"bench_cat: {data}: no such file (see ../shared/data/bench)")
    query = "dataset " + " ".join([data] * a.copies) + "\n" + QUERY_BODY

    tmp = tempfile.mkdtemp(prefix="anafs-bench-cat.")
    mnt, state = os.path.join(tmp, "mnt"), os.path.join(tmp, "state")
    os.mkdir(mnt)
    mount(a.anafs, mnt, state, a.workers, tmp)
    rows, alone, loaded = [], [], []
    pid = daemon_pid(mnt)
    try:
        if not pid:
            raise RuntimeError("cannot find the anafs daemon's process")
        print(f"anafs mounted on {mnt}: {a.workers} workers, {os.cpu_count()} cores; "
              f"job: {a.copies} x {os.path.basename(data)}")
        # Idle: a small job, done, then readers on its hist.json.
        small = "dataset " + data + "\n" + QUERY_BODY
        job, _ = submit(mnt, "idle", small)
        wait_job(mnt, job, deadline)
        hj = os.path.join(mnt, "jobs", str(job), "hist.json")
        for n in (1, a.readers):
            r = Readers(hj, n, until=time.monotonic() + a.idle_seconds)
            r.start()
            for t in r.threads:
                t.join()
            r.stop()
            s = r.summary()
            s["readers"] = n
            rows.append(("idle (job done)", s))
            print(fmt_row("idle (job done)", s), flush=True)
        # Every other operation while many reads of wait are blocked.
        if a.waiters:
            w = waiters_phase(mnt, query, a.waiters, a.idle_seconds, pid)
            if w:
                s, blocked = w
                rows.append((f"status, {blocked} waiters", s))
                print(fmt_row(f"status, {blocked} waiters", s), flush=True)
            else:
                raise Budget("the mount froze with blocked waiters")
        # Alone and with readers, alternating so that drift in the
        # machine's load moves both sides alike.
        for i in range(a.rounds):
            x = run_job(mnt, f"alone{i}", query, 0, deadline, pid)
            alone.append(x)
            print(f"round {i + 1}: alone    {x['events'] / 1e6:.2f}M events "
                  f"{x['wall_s']:6.2f} s  {x['rate'] / 1e6:6.2f}M ev/s", flush=True)
            y = run_job(mnt, f"readers{i}", query, a.readers, deadline, pid, a.pause)
            y["readers"] = a.readers
            loaded.append(y)
            print(f"round {i + 1}: readers  {y['events'] / 1e6:.2f}M events "
                  f"{y['wall_s']:6.2f} s  {y['rate'] / 1e6:6.2f}M ev/s  "
                  f"{y['reads']} reads, median {y['median_ms']:.3f} ms, "
                  f"p99 {y['p99_ms']:.3f} ms", flush=True)
    except Budget as e:
        print(f"bench_cat: {e}", file=sys.stderr)
    finally:
        unmount(a.anafs, mnt, state)
        shutil.rmtree(tmp, ignore_errors=True)

    if loaded:
        med = {k: statistics.median(y[k] for y in loaded)
               for k in ("reads", "reads_per_s", "median_ms", "p99_ms", "max_ms", "bad")}
        med["readers"] = a.readers
        rows.append(("job running (median/round)", med))
    print()
    print(f"{'reads of hist.json, status':<28} {'readers':>7} {'reads':>8} {'reads/s':>9} "
          f"{'median ms':>9} {'p99 ms':>8} {'max ms':>8} {'bad':>4}")
    for label, s in rows:
        print(fmt_row(label, s))
    if alone and loaded:
        ra = statistics.median(x["rate"] for x in alone)
        rl = statistics.median(y["rate"] for y in loaded)
        print()
        print(f"{'job throughput':<28} {'M ev/s':>8} {'wall s':>8}   (median of {len(alone)})")
        print(f"{'alone':<28} {ra / 1e6:>8.2f} "
              f"{statistics.median(x['wall_s'] for x in alone):>8.2f}")
        print(f"{f'with {a.readers} readers':<28} {rl / 1e6:>8.2f} "
              f"{statistics.median(y['wall_s'] for y in loaded):>8.2f}")
        print(f"{'ratio (readers / alone)':<28} {rl / ra:>8.3f}")
        # The worker threads: those that ran the alone jobs.
        busy = {t for x in alone for t, c in x["thread_cpu"].items() if c > 0.25 * x["wall_s"]}
        for x in alone + loaded:
            x["worker_cpu"] = sum(c for t, c in x["thread_cpu"].items() if t in busy)
        ncpu = os.cpu_count()
        print()
        print(f"{'CPU, core-seconds per run':<28} {'workers':>8} {'per Mev':>8} "
              f"{'fuse+rest':>9} {'readers':>8} {'of wall':>8}")
        for label, v in (("alone", alone), (f"with {a.readers} readers", loaded)):
            w = statistics.median(x["worker_cpu"] for x in v)
            per = statistics.median(x["worker_cpu"] / (x["events"] / 1e6) for x in v)
            rest = statistics.median(x["daemon_cpu"] - x["worker_cpu"] for x in v)
            cl = statistics.median(x["client_cpu"] for x in v)
            cap = statistics.median(x["wall_s"] for x in v) * ncpu
            print(f"{label:<28} {w:>8.2f} {per:>8.3f} {rest:>9.2f} {cl:>8.2f} "
                  f"{(w + rest + cl) / cap:>7.0%}")
        per_read = statistics.median((y["daemon_cpu"] - y["worker_cpu"]) / y["reads"]
                                     for y in loaded if y["reads"])
        cl_read = statistics.median(y["client_cpu"] / y["reads"] for y in loaded if y["reads"])
        print(f"daemon CPU per hist.json read (FUSE threads): {per_read * 1e6:.0f} us; "
              f"reader side (open/read/close, Python): {cl_read * 1e6:.0f} us; "
              f"{len(busy)} worker threads, {ncpu} cores")
    bad = sum(s["bad"] for _, s in rows)
    return 1 if bad or not loaded else 0


if __name__ == "__main__":
    sys.exit(main())
