"""A one-node Slurm that a test starts as its own processes and ends by PID.

Debian 12's slurmctld, slurmd and munge, run from a private temp folder
(slurm.conf, the munge key and socket, spool and state folders, pid and
log files), inside a private network namespace: slurmctld and slurmd bind
every interface, so the test first re-executes itself under `unshare -n`
and brings up lo there (netns()).  The FUSE mount works there as usual:
only the network is private.

    slurm_util.netns()             # first thing in main(); re-executes
    s = slurm_util.Slurm(tmp)      # a folder of the test's own
    s.start()                      # munged, slurmctld, slurmd; the node idle
    os.environ.update(s.env())     # SLURM_CONF for sbatch/squeue/scancel
    ...
    s.stop()                       # scancel all, then the daemons by PID

Known facts this leans on: NodeName must equal `hostname -s`;
proctrack/linuxproc and task/none need no cgroups; SchedulerParameters=
batch_sched_delay=0,sched_min_interval=0 starts a job within about a
second.  The daemons run as root (SlurmUser=root), as the test does.

Run alone (`slurm_util.py`) it starts the cluster, runs one sbatch job and
prints what it did: a check of the harness by hand.
"""
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

NETNS_MARK = "ANAFS_SLURM_NETNS"
BINARIES = ("munged", "mungekey", "munge", "unmunge", "slurmctld", "slurmd", "sbatch",
            "squeue", "scancel", "sinfo", "unshare", "ip")


def missing():
    """The binaries this needs that are not installed (an empty list: all there)."""
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return [b for b in BINARIES if not shutil.which(b, path=path)]


def netns():
    """Run the rest of this process inside a private network namespace:
    the first call re-executes the script under `unshare -n` (exiting with
    its status); inside, it brings lo up and makes this process the
    subreaper of what the daemons leave behind (slurmstepd), so the end can
    find and end them by PID."""
    if os.environ.get(NETNS_MARK) != "in":
        env = dict(os.environ, **{NETNS_MARK: "in"})
        r = subprocess.run(["unshare", "-n", sys.executable] + sys.argv, env=env)
        sys.exit(r.returncode)
    # Slurm resolves its listening address with AI_ADDRCONFIG, which finds
    # nothing for IPv4 while only 127/8 is configured: a second address on
    # lo (private to this namespace, reachable from nowhere) satisfies it.
    for cmd in (["ip", "link", "set", "lo", "up"],
                ["ip", "addr", "add", "10.254.0.1/32", "dev", "lo"]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr))
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except OSError:
        pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def mem_mb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 1024


class Slurm:
    """munged, slurmctld and slurmd on this host, from folder dir (made)."""

    def __init__(self, dir, cpus=2):
        self.dir = os.path.abspath(dir)
        self.cpus = cpus
        self.host = socket.gethostname().split(".")[0]
        self.procs = []  # (name, Popen), in the order started
        self.conf = os.path.join(self.dir, "slurm.conf")
        self.sock = os.path.join(self.dir, "munge", "munge.socket")

    def env(self):
        """What sbatch, squeue, scancel and sinfo need: SLURM_CONF."""
        return {"SLURM_CONF": self.conf}

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def log(self, name):
        try:
            with open(self.path("log", name + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def logs(self):
        """The tail of every daemon's log: what a failed start wants to know."""
        return "\n".join("--- %s:\n%s" % (n, self.log(n)[-3000:])
                         for n in ("munged", "slurmctld", "slurmd"))

    def write_conf(self):
        for d in ("munge", "state", "spool", "log", "run"):
            os.makedirs(self.path(d), mode=0o700, exist_ok=True)
        lines = [
            "ClusterName=anafs-test",
            "SlurmctldHost=%s(127.0.0.1)" % self.host,
            "SlurmctldPort=%d" % free_port(),
            "SlurmdPort=%d" % free_port(),
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            "AuthInfo=socket=%s" % self.sock,
            "StateSaveLocation=%s" % self.path("state"),
            "SlurmdSpoolDir=%s" % self.path("spool"),
            "SlurmctldPidFile=%s" % self.path("run", "slurmctld.pid"),
            "SlurmdPidFile=%s" % self.path("run", "slurmd.pid"),
            "SlurmctldLogFile=%s" % self.path("log", "slurmctld.log"),
            "SlurmdLogFile=%s" % self.path("log", "slurmd.log"),
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "JobCompType=jobcomp/none",
            "AccountingStorageType=accounting_storage/none",
            "MpiDefault=none",
            "SwitchType=switch/none",
            "ReturnToService=2",
            "SchedulerType=sched/backfill",
            "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "KillWait=5",
            "MinJobAge=300",  # ended jobs stay listed (squeue --states=all) 5 min
            "InactiveLimit=0",
            "SlurmdTimeout=60",
            "NodeName=%s NodeAddr=127.0.0.1 CPUs=%d RealMemory=%d State=UNKNOWN"
            % (self.host, self.cpus, max(256, mem_mb() - 512)),
            "PartitionName=test Nodes=%s Default=YES MaxTime=INFINITE State=UP" % self.host,
        ]
        with open(self.conf, "w") as f:
            f.write("\n".join(l for l in lines if l) + "\n")

    def spawn(self, name, args):
        out = open(self.path("log", name + ".out"), "w")
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=dict(os.environ, **self.env()))
        out.close()
        self.procs.append((name, p))
        return p

    def run(self, args, timeout=30):
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                              env=dict(os.environ, **self.env()))

    def wait(self, what, pred, secs):
        end = time.time() + secs
        while time.time() < end:
            for name, p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError("%s exited (%s) while waiting for %s\n%s"
                                       % (name, p.returncode, what, self.logs()))
            try:
                if pred():
                    return
            except (OSError, subprocess.TimeoutExpired):
                pass
            time.sleep(0.2)
        raise RuntimeError("no %s within %d s\n%s" % (what, secs, self.logs()))

    def start_munge(self):
        key = self.path("munge", "munge.key")
        r = subprocess.run(["mungekey", "--create", "--keyfile", key], capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0:  # an older mungekey: 1 KiB of random bytes does as well
            with open(key, "wb") as f:
                f.write(os.urandom(1024))
        os.chmod(key, 0o600)
        self.spawn("munged", ["munged", "--foreground", "--force",
                              "--socket", self.sock, "--key-file", key,
                              "--pid-file", self.path("run", "munged.pid"),
                              "--seed-file", self.path("munge", "munged.seed"),
                              "--log-file", self.path("log", "munged.log")])

        def works():
            m = subprocess.run(["munge", "-n", "--socket", self.sock], capture_output=True,
                               timeout=10)
            if m.returncode != 0:
                return False
            u = subprocess.run(["unmunge", "--socket", self.sock], input=m.stdout,
                               capture_output=True, timeout=10)
            return u.returncode == 0
        self.wait("munge -n | unmunge", works, 30)

    def node_state(self):
        r = self.run(["sinfo", "-h", "-N", "-o", "%T"], timeout=10)
        return r.stdout.strip() if r.returncode == 0 else ""

    def start(self):
        """Write the configuration, start the daemons, wait until the node
        is idle (at most a minute).  Raises RuntimeError with the daemons'
        logs when it cannot."""
        self.write_conf()
        self.start_munge()
        self.spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", self.conf])
        self.wait("slurmctld answering", lambda: self.run(["sinfo", "-h"], 10).returncode == 0,
                  60)
        self.spawn("slurmd", ["slurmd", "-D", "-f", self.conf, "-N", self.host])
        self.wait("the node idle", lambda: self.node_state().rstrip("*") == "idle", 90)

    def jobs(self):
        """{id: state} of every job squeue lists."""
        r = self.run(["squeue", "-h", "-o", "%i %T"], timeout=20)
        out = {}
        for line in r.stdout.splitlines():
            f = line.split()
            if len(f) == 2:
                out[f[0]] = f[1]
        return out

    def stop(self):
        """scancel every job, wait (bounded) for the queue to empty, then end
        the daemons by PID (SIGTERM, SIGKILL after 10 s) and whatever
        slurmstepd they left (our children as the subreaper)."""
        if any(n == "slurmctld" and p.poll() is None for n, p in self.procs):
            try:
                self.run(["scancel", "--user", "root"], timeout=20)
                end = time.time() + 30
                while self.jobs() and time.time() < end:
                    time.sleep(0.5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)
        self.procs.clear()
        reap_orphans()


def our_children():
    """PIDs whose parent is this process (orphans handed to us, the subreaper)."""
    me = os.getpid()
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
            if int(st.rsplit(")", 1)[1].split()[1]) == me:
                pids.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return pids


def reap_orphans():
    """End the slurmstepd and job processes that were handed to us (this
    process being their subreaper), by PID, and reap them.  Only processes
    whose parent is us, so only ours; bounded."""
    known = set()
    for _ in range(3):
        kids = [p for p in our_children() if p not in known]
        for pid in kids:
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    cmd = f.read().split(b"\0")[0]
            except OSError:
                continue
            if b"slurmstepd" in cmd or b"anafs" in cmd:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            known.add(pid)
        end = time.time() + 5
        while time.time() < end:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.1)


def main():
    if missing():
        print("SKIP: missing %s" % " ".join(missing()))
        return 77
    netns()
    import tempfile
    tmp = tempfile.mkdtemp(prefix="anafs-slurm-")
    s = Slurm(tmp)
    try:
        t = time.time()
        s.start()
        print("slurm up in %.1f s (node %s)" % (time.time() - t, s.host))
        out = os.path.join(tmp, "hello.out")
        t = time.time()
        r = s.run(["sbatch", "--parsable", "-o", out, "--wrap", "echo hello from $SLURM_JOB_ID"])
        print("sbatch:", r.returncode, r.stdout.strip(), r.stderr.strip())
        end = time.time() + 60
        while time.time() < end and not (os.path.exists(out) and open(out).read()):
            time.sleep(0.1)
        print("output after %.1f s: %r" % (time.time() - t, open(out).read()
                                             if os.path.exists(out) else None))
        return 0
    finally:
        s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
