#!/usr/bin/python3
"""remote_bench.py -- anafs over root:// at a given round-trip time, against
local files and against XCache, in one run.

    /usr/bin/python3 bench/remote_bench.py [--rtt 20,100] [--runs N] [-j N]
        [--files K] [--file F] [--timeout S] [--keep] [--anafs PATH] [--tmp DIR]

Needs root (network namespace, xrootd's -R), unshare, ip, and Debian's
xrootd, xrdcp, xrdfs; without them it says what is missing and exits 77.
What it does (see bench/README.md):

  1. re-executes itself under `unshare -n` (xrootd binds every interface;
     here every server listens on the namespace's own loopback only);
  2. hard-links (or copies) K copies of the bench file into an export folder
     owned by user xrootd and starts an origin xrootd on it;
  3. for each RTT starts bench/delay_proxy.py in front of the origin (the
     far-away server), and checks with an echo server behind a proxy of the
     same RTT that one small round trip costs one RTT;
  4. starts XCache (xrootd with the pss/pfc plugins) in front of the proxy
     (the site cache: client -> XCache locally, XCache -> proxy -> origin)
     and checks it with xrdcp, cold then warm;
  5. times `anafs run -j N` of the benchmark query (bench_query's) over the
     same files: root:// through the proxy with no cache and no prefetch,
     with a cold and a warm disk cache, the local files, and root://
     through XCache cold and warm; every hist.json is compared with the
     local run's, byte for byte;
  6. prints the medians, their ratio to local, and whether the goals are
     met (printed, never asserted).

Exit status: 0 when every run ran and gave the local run's hist.json; 1
when some run failed (a mode anafs does not support yet among them: it is
reported and the rest goes on) or a hist.json differed; 77 when skipped.
"""
import argparse
import os
import pwd
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
# bench_query's query (two filters, a jagged mask, three histograms) and
# its file, as bench_cat has them; the project's network namespace and
# free port (the Slurm test's).
from bench_cat import DEFAULT_FILE, QUERY_BODY  # noqa: E402
from slurm_util import NETNS_MARK, free_port, netns  # noqa: E402

BINARIES = ("xrootd", "xrdcp", "xrdfs", "unshare", "ip")
XRD_LIBDIR = "/usr/lib/x86_64-linux-gnu"

# Goals of the remote-data issue, printed with whether they are met.
GOAL_COLD = 1.3
GOAL_WARM = 1.05


def say(*a):
    print(*a, flush=True)


def skip(msg):
    say("remote_bench: skipped: " + msg)
    sys.exit(77)


# --- servers' lifetimes --------------------------------------------------

def wait_port(port, proc, seconds, what, log=None):
    """Until something accepts on 127.0.0.1:port; fails if proc exits."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("%s exited (status %s) before listening%s"
                               % (what, proc.returncode, log_tail(log)))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("%s not listening on port %d after %d s%s"
                       % (what, port, seconds, log_tail(log)))


def log_tail(path, lines=15):
    if not path:
        return ""
    try:
        with open(path, errors="replace") as f:
            tail = f.read().splitlines()[-lines:]
    except OSError:
        return ""
    return "\n  " + "\n  ".join(tail)


def stop_proc(proc, what, seconds=10):
    """End a process this bench started, by its PID: SIGTERM, then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        say("  %s (pid %d) did not stop on SIGTERM in %d s: SIGKILL" % (what, proc.pid, seconds))
        proc.kill()
        proc.wait(seconds)


# --- servers --------------------------------------------------------------

class Xrootd:
    """One xrootd process: config in its own folder under tmp, run as user
    xrootd (-R), stderr to NAME.log, ended by PID."""

    def __init__(self, tmp, name, body):
        self.tmp, self.name, self.body = tmp, name, body
        self.proc = None
        self.port = None
        self.dir = os.path.join(tmp, "xrd-" + name)
        os.makedirs(self.dir, exist_ok=True)
        chown_xrootd(self.dir)
        self.log = os.path.join(tmp, name + ".log")

    def start(self, tries=3):
        for attempt in range(tries):
            self.port = free_port()
            cfg = os.path.join(self.dir, "xrootd.cfg")
            with open(cfg, "w") as f:
                f.write("# written by bench/remote_bench.py\n")
                f.write("xrd.port %d\n" % self.port)
                f.write("all.adminpath %s\n" % os.path.join(self.dir, "admin"))
                f.write("all.pidpath %s\n" % os.path.join(self.dir, "run"))
                f.write(self.body)
            logf = open(self.log, "a")
            logf.write("=== start %s port %d\n" % (self.name, self.port))
            logf.flush()
            self.proc = subprocess.Popen(
                ["xrootd", "-c", cfg, "-n", self.name, "-R", "xrootd"],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                cwd=self.dir)
            logf.close()
            try:
                wait_port(self.port, self.proc, 20, "xrootd " + self.name, self.log)
                return self
            except RuntimeError:
                stop_proc(self.proc, "xrootd " + self.name)
                if attempt == tries - 1:
                    raise
        return self

    def stop(self):
        stop_proc(self.proc, "xrootd " + self.name)
        self.proc = None


class Proxy:
    """bench/delay_proxy.py in a process of its own (its own core's worth of
    Python, not this one's)."""

    def __init__(self, target_port, rtt_ms, log):
        self.rtt_ms = rtt_ms
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "delay_proxy.py"),
             "--target", "127.0.0.1:%d" % target_port, "--rtt-ms", str(rtt_ms)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=open(log, "a"), text=True)
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self.read_lines, daemon=True)
        self.reader.start()
        line = self.next_line(10)
        if not line.startswith("listening "):
            self.stop()
            raise RuntimeError("delay_proxy.py did not start: %r%s" % (line, log_tail(log)))
        self.port = int(line.split()[2])

    def read_lines(self):
        for line in self.proc.stdout:
            with open(self.log, "a") as f:
                f.write(line)
            self.lines.put(line.strip())
        self.lines.put("")

    def next_line(self, seconds):
        try:
            return self.lines.get(timeout=seconds)
        except queue.Empty:
            return ""

    def counts(self):
        """(connections, bytes up, bytes down) so far, asked with SIGUSR1."""
        self.proc.send_signal(signal.SIGUSR1)
        f = self.next_line(5).replace(",", "").split()
        if len(f) != 7 or f[0] != "connections":
            raise RuntimeError("delay proxy: no counts on SIGUSR1 (%r)" % " ".join(f))
        return int(f[1]), int(f[4]), int(f[6])

    def stop(self):
        """End it by its PID; returns its last line (connections, bytes
        each way) or ""."""
        if self.proc.poll() is not None:
            return ""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            return ""
        self.reader.join(5)
        last = ""
        while True:
            line = self.next_line(0.1)
            if not line:
                return last
            last = line


def chown_xrootd(path):
    pw = pwd.getpwnam("xrootd")
    os.chown(path, pw.pw_uid, pw.pw_gid)


def origin_config(export):
    return "all.export %s r/o\n" % export


def xcache_config(proxy_port, cache_dir, args):
    # Directive names as in the XRootD 5.5 proxy and file-cache reference
    # (pss_config): the proxy storage plugin as the OSS, its origin, the
    # file cache (pfc) as its cache library, the cache's disk space.
    lib = lambda name: os.path.join(XRD_LIBDIR, name)
    return "".join([
        "all.export /\n",
        "ofs.osslib %s\n" % lib("libXrdPss.so"),
        "pss.origin 127.0.0.1:%d\n" % proxy_port,
        "pss.cachelib %s\n" % lib("libXrdPfc.so"),
        "oss.localroot %s\n" % cache_dir,
        "pfc.ram %s\n" % args.xcache_ram,
        "pfc.blocksize %s\n" % args.xcache_blocksize,
        "pfc.prefetch %d\n" % args.xcache_prefetch,
        "pfc.diskusage 0.90 0.95\n",
    ])


# --- checks of the servers ------------------------------------------------

def run_cmd(cmd, timeout, env=None):
    t = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        rc, out = r.returncode, (r.stdout + r.stderr).strip()
    except subprocess.TimeoutExpired:
        rc, out = 124, "timed out after %d s" % timeout
    return rc, out, time.perf_counter() - t


def echo_rtt(rtt_ms, tmp, rounds=10):
    """A proxy of this RTT in front of an echo server: the median time of a
    100-byte write and its echo, on one connection after connecting."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(10)

    def serve():
        try:
            c, _ = srv.accept()
        except OSError:
            return
        c.settimeout(10)
        try:
            while True:
                d = c.recv(1 << 16)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        c.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    proxy = Proxy(srv.getsockname()[1], rtt_ms, os.path.join(tmp, "echo-proxy.log"))
    times = []
    try:
        c = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(rounds):
            t = time.perf_counter()
            c.sendall(b"x" * 100)
            got = 0
            while got < 100:
                d = c.recv(100)
                if not d:
                    raise RuntimeError("echo through the proxy: connection closed")
                got += len(d)
            times.append(time.perf_counter() - t)
        c.close()
    finally:
        proxy.stop()
        srv.close()
        th.join(5)
    return statistics.median(times), min(times), max(times)


def xrdcp_time(url, dest, timeout):
    if os.path.exists(dest):
        os.unlink(dest)
    rc, out, dt = run_cmd(["xrdcp", "-f", "-s", url, dest], timeout)
    if rc != 0:
        raise RuntimeError("xrdcp %s: status %d: %s" % (url, rc, out))
    return dt


def same_bytes(a, b):
    return os.path.getsize(a) == os.path.getsize(b) and open(a, "rb").read() == open(b, "rb").read()


# --- the measurements -----------------------------------------------------

class Mode:
    def __init__(self, rtt, name, label):
        self.rtt, self.name, self.label = rtt, name, label
        self.times = []
        self.errors = []
        self.mismatch = 0

    def median(self):
        """The median time, or None when a run failed or gave another
        hist.json than the local run's (a time of a wrong answer)."""
        if not self.times or self.errors or self.mismatch:
            return None
        return statistics.median(self.times)


def write_query(tmp, name, dataset):
    path = os.path.join(tmp, "queries", name + ".query")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("# written by bench/remote_bench.py\n")
        f.write("dataset %s\n" % dataset)
        f.write(QUERY_BODY)
    return path


def anafs_env(cache, prefetch=True, timeout=None, size_only=False):
    env = dict(os.environ)
    env.pop(NETNS_MARK, None)
    for k in ("ANAFS_CACHE", "ANAFS_CACHE_DIR", "ANAFS_PREFETCH", "ANAFS_XRD_IDENTITY"):
        env.pop(k, None)
    # The decoded-column cache would serve every run after the first from
    # memory, local and remote alike: this bench is about the bytes.
    env["ANAFS_COLCACHE"] = "off"
    if size_only:
        # XCache answers opens (and stats, once it holds a file) with the
        # time of its own copy: docs/cache.md.
        env["ANAFS_XRD_IDENTITY"] = "size"
    if cache is None:
        env["ANAFS_CACHE"] = "off"
    else:
        env["ANAFS_CACHE_DIR"] = cache
    if not prefetch:
        env["ANAFS_PREFETCH"] = "0"
    if timeout:
        env["ANAFS_XRD_TIMEOUT"] = str(timeout)
    return env


class Runner:
    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.ref = None  # the local run's hist.json, bytes
        self.count = 0

    def run(self, mode, query, env):
        """One `anafs run` of query: its wall time into mode, its hist.json
        compared with the reference.  A failure is printed and recorded,
        and makes it return False; a different hist.json is printed and
        counted in mode.mismatch."""
        self.count += 1
        out = os.path.join(self.tmp, "out", "%04d-%s.json" % (self.count, mode.name))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        cmd = [self.args.anafs, "run", query, "-j", str(self.args.jobs), "-o", out]
        t = time.perf_counter()
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                               timeout=self.args.timeout)
            rc, err = r.returncode, (r.stderr or r.stdout).strip()
        except subprocess.TimeoutExpired:
            rc, err = 124, "timed out after %d s" % self.args.timeout
        dt = time.perf_counter() - t
        tag = "  %-16s run %d:" % (mode.label, len(mode.times) + len(mode.errors) + 1)
        if rc != 0 or not os.path.exists(out):
            first = err.splitlines()[0] if err else "(no message)"
            # The table gets the reason alone (the message names the URL).
            mode.errors.append("status %d: %s" % (rc, first.rsplit(": ", 1)[-1]))
            say("%s FAILED (anafs run status %d after %.2f s): %s" % (tag, rc, dt, first))
            return False
        with open(out, "rb") as f:
            got = f.read()
        if self.ref is None:
            self.ref = got
        if got != self.ref:
            mode.mismatch += 1
            say("%s %.3f s  *** hist.json DIFFERS from the local run's (%s vs %s bytes): %s ***"
                % (tag, dt, len(got), len(self.ref), out))
            mode.times.append(dt)
            return True
        mode.times.append(dt)
        say("%s %.3f s" % (tag, dt))
        if not self.args.keep:
            os.unlink(out)
        return True


def fmt_ratio(x, base):
    return "%.2f" % (x / base) if x is not None and base else "-"


def main():
    ap = argparse.ArgumentParser(
        description="anafs over root:// at given round-trip times, against local files "
                    "and XCache (see bench/README.md)")
    ap.add_argument("--rtt", default="20,100", help="round-trip times in ms, comma-separated")
    ap.add_argument("--runs", type=int, default=3, help="runs of each mode (median)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2,
                    help="anafs run -j (default: the cores)")
    ap.add_argument("--files", type=int, default=48,
                    help="copies of the bench file in the dataset (default 48, 24 M events)")
    ap.add_argument("--file", default=DEFAULT_FILE, help="the bench file")
    ap.add_argument("--anafs", default=os.path.join(ROOT, "build", "anafs"),
                    help="the anafs binary (default build/anafs)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds for one anafs run")
    ap.add_argument("--xrd-timeout", type=int, default=60, help="ANAFS_XRD_TIMEOUT")
    ap.add_argument("--xcache-blocksize", default="1M", help="XCache pfc.blocksize (1M)")
    ap.add_argument("--xcache-prefetch", type=int, default=10,
                    help="XCache pfc.prefetch, blocks ahead (10)")
    ap.add_argument("--xcache-ram", default="2g", help="XCache pfc.ram (2g)")
    ap.add_argument("--tmp", default=None, help="folder for the temp folder (default $TMPDIR or /tmp)")
    ap.add_argument("--keep", action="store_true", help="leave the temp folder")
    args = ap.parse_args()
    try:
        rtts = [float(x) for x in args.rtt.split(",") if x.strip()]
    except ValueError:
        ap.error("--rtt: comma-separated numbers of ms")
    if not rtts or any(r < 0 for r in rtts) or args.runs < 1 or args.files < 1 or args.jobs < 1:
        ap.error("--rtt, --runs, --files and -j must be positive")
    args.anafs = os.path.abspath(args.anafs)
    args.file = os.path.abspath(args.file)

    if os.geteuid() != 0:
        skip("needs root (a network namespace, and xrootd -R xrootd)")
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    os.environ["PATH"] = path
    miss = [b for b in BINARIES if not shutil.which(b)]
    if miss:
        skip("missing: " + ", ".join(miss) + " (Debian: apt-get install xrootd-server xrootd-client util-linux iproute2)")
    try:
        pwd.getpwnam("xrootd")
    except KeyError:
        skip("no user xrootd (it comes with Debian's xrootd-server)")
    for lib in ("libXrdPss-5.so", "libXrdPfc-5.so"):
        if not os.path.exists(os.path.join(XRD_LIBDIR, lib)):
            skip("missing %s/%s (XCache)" % (XRD_LIBDIR, lib))
    if not os.access(args.anafs, os.X_OK):
        skip("%s not built (make build)" % args.anafs)
    if not os.path.isfile(args.file):
        skip("%s not found" % args.file)

    netns()
    tmp = tempfile.mkdtemp(prefix="anafs-remote-bench-", dir=args.tmp)
    os.chmod(tmp, 0o755)
    servers = []
    status = 0
    try:
        status = bench(args, rtts, tmp, servers)
    finally:
        for s in reversed(servers):
            s.stop()
        if args.keep:
            say("temp folder kept: %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(status)


def bench(args, rtts, tmp, servers):
    # The export folder: K names for the bench file (hard links when on the
    # same filesystem, else copies), and a small file for the timing checks.
    export = os.path.join(tmp, "export")
    os.makedirs(export)
    chown_xrootd(export)
    linked = True
    names = []
    for i in range(args.files):
        dst = os.path.join(export, "nano_%03d.root" % i)
        try:
            os.link(args.file, dst)
        except OSError:
            linked = False
            shutil.copyfile(args.file, dst)
            os.chmod(dst, 0o444)
        names.append(dst)
    small = os.path.join(export, "small.bin")
    with open(small, "wb") as f:
        f.write(os.urandom(4096))
    os.chmod(small, 0o444)
    size = os.path.getsize(args.file)
    say("remote_bench: %d %s of %s (%.1f MB each, %.0f MB in all), anafs run -j %d, %d run(s) a mode"
        % (args.files, "hard links" if linked else "copies", os.path.basename(args.file),
           size / 1e6, size * args.files / 1e6, args.jobs, args.runs))
    say("temp folder %s" % tmp)

    origin = Xrootd(tmp, "origin", origin_config(export)).start()
    servers.append(origin)
    rc, out, dt = run_cmd(["xrdfs", "127.0.0.1:%d" % origin.port, "stat", names[0]], 30)
    if rc != 0:
        raise RuntimeError("xrdfs stat on the origin failed: %s%s" % (out, log_tail(origin.log)))
    say("origin xrootd: pid %d, port %d, exports %s" % (origin.proc.pid, origin.port, export))
    direct_small = xrdcp_time("root://127.0.0.1:%d/%s" % (origin.port, small),
                              os.path.join(tmp, "small.copy"), 60)
    direct_big = xrdcp_time("root://127.0.0.1:%d/%s" % (origin.port, names[0]),
                            os.path.join(tmp, "big.copy"), 120)
    os.unlink(os.path.join(tmp, "big.copy"))
    say("xrdcp from the origin directly: 4 KB %.3f s, %.0f MB %.3f s" % (direct_small, size / 1e6, direct_big))

    runner = Runner(args, tmp)
    local_q = write_query(tmp, "local", os.path.join(export, "*.root"))
    modes = []
    status = 0
    checks = []

    for rtt in rtts:
        say("")
        say("=== RTT %g ms" % rtt)
        med, lo, hi = echo_rtt(rtt, tmp)
        ok = abs(med * 1e3 - rtt) <= max(2.0, 0.1 * rtt)
        checks.append(ok)
        say("delay proxy check: a 100-byte echo round trip through a %g ms proxy: median %.1f ms "
            "(min %.1f, max %.1f): %s" % (rtt, med * 1e3, lo * 1e3, hi * 1e3,
                                           "about one RTT" if ok else "NOT one RTT"))
        proxy = Proxy(origin.port, rtt, os.path.join(tmp, "proxy-%g.log" % rtt))
        servers.append(proxy)
        purl = "root://127.0.0.1:%d/" % proxy.port
        t_small = xrdcp_time(purl + small, os.path.join(tmp, "small.copy"), 60)
        say("xrdcp of 4 KB through the proxy: %.3f s (direct %.3f s): %.1f round trips"
            % (t_small, direct_small, (t_small - direct_small) / (rtt / 1e3) if rtt else 0))

        # XCache in front of the proxy, checked with xrdcp of one bench file.
        xc_cache = os.path.join(tmp, "xcache-%g" % rtt)

        def xcache_fresh():
            shutil.rmtree(xc_cache, ignore_errors=True)
            os.makedirs(xc_cache)
            chown_xrootd(xc_cache)
            x = Xrootd(tmp, "xcache-%g" % rtt, xcache_config(proxy.port, xc_cache, args)).start()
            return x

        xc = xcache_fresh()
        servers.append(xc)
        xurl = "root://127.0.0.1:%d/" % xc.port
        say("XCache: pid %d, port %d, origin 127.0.0.1:%d (the proxy), cache %s, blocksize %s, prefetch %d"
            % (xc.proc.pid, xc.port, proxy.port, xc_cache, args.xcache_blocksize, args.xcache_prefetch))
        copy = os.path.join(tmp, "big.copy")
        try:
            _, _, d0 = proxy.counts()
            cold = xrdcp_time(xurl + names[0], copy, 300)
            good_cold = same_bytes(copy, args.file)
            _, _, d1 = proxy.counts()
            warm = xrdcp_time(xurl + names[0], copy, 300)
            good_warm = same_bytes(copy, args.file)
            _, _, d2 = proxy.counts()
            os.unlink(copy)
            delayed = cold - direct_big >= 2 * rtt / 1e3 and d1 - d0 >= size
            not_delayed = warm < cold and d2 - d1 < size // 100
            ok = good_cold and good_warm and delayed and not_delayed
            checks.append(ok)
            say("xrdcp %.0f MB through XCache: cold %.3f s (%s, %.1f MB through the proxy), "
                "warm %.3f s (%s, %.3f MB through the proxy); from the origin directly %.3f s"
                % (size / 1e6, cold, "same bytes" if good_cold else "BYTES DIFFER", (d1 - d0) / 1e6,
                   warm, "same bytes" if good_warm else "BYTES DIFFER", (d2 - d1) / 1e6, direct_big))
            say("  cold read delayed by the proxy (the file through it, cold - direct >= 2 RTT): %s; "
                "warm read not (under 1%% of it through the proxy, faster than cold): %s"
                % ("yes" if delayed else "NO", "yes" if not_delayed else "NO"))
        except RuntimeError as e:
            checks.append(False)
            say("XCache check FAILED: %s%s" % (e, log_tail(xc.log)))
        rc, out, _ = run_cmd(["xrdfs", "127.0.0.1:%d" % xc.port, "ls", export], 60)
        xc_lists = rc == 0 and os.path.basename(names[0]) in out
        if not xc_lists:
            say("XCache does not list %s (%s): its query names the files one by one"
                % (export, out.splitlines()[0] if out else "status %d" % rc))

        qp = write_query(tmp, "proxy-%g" % rtt, "root://127.0.0.1:%d/%s/*.root" % (proxy.port, export))
        if xc_lists:
            xq_data = "root://127.0.0.1:%d/%s/*.root" % (xc.port, export)
        else:
            xq_data = " ".join("root://127.0.0.1:%d/%s" % (xc.port, n) for n in names)
        qx = write_query(tmp, "xcache-%g" % rtt, xq_data)

        m = {k: Mode(rtt, k, lab) for k, lab in (
            ("local", "local"), ("nocache", "root:// no cache"),
            ("cold", "root:// cold"), ("warm", "root:// warm"),
            ("xc_cold", "XCache cold"), ("xc_warm", "XCache warm"))}
        modes.extend(m.values())
        xt = args.xrd_timeout
        for _ in range(args.runs):
            runner.run(m["local"], local_q, anafs_env(None))
        for _ in range(args.runs):
            if not runner.run(m["nocache"], qp, anafs_env(None, prefetch=False, timeout=xt)):
                break
        cache = None
        for i in range(args.runs):
            if cache:
                shutil.rmtree(cache, ignore_errors=True)
            cache = os.path.join(tmp, "anafs-cache-%g-%d" % (rtt, i))
            os.makedirs(cache)
            if not runner.run(m["cold"], qp, anafs_env(cache, timeout=xt)):
                cache = None
                break
        if cache:
            for _ in range(args.runs):
                runner.run(m["warm"], qp, anafs_env(cache, timeout=xt))
            shutil.rmtree(cache, ignore_errors=True)
        else:
            m["warm"].errors.append("no cold cache to start from")
            say("  %-16s not run: the cold runs failed" % m["warm"].label)
        for i in range(args.runs):
            # Cold: XCache's cache emptied and XCache restarted.
            xc.stop()
            servers.remove(xc)
            xc = xcache_fresh()
            servers.append(xc)
            qx = rewrite_port(qx, xc.port)
            if not runner.run(m["xc_cold"], qx, anafs_env(None, timeout=xt, size_only=True)):
                break
        if not m["xc_cold"].errors:
            for _ in range(args.runs):
                runner.run(m["xc_warm"], qx, anafs_env(None, timeout=xt, size_only=True))
        else:
            m["xc_warm"].errors.append("the cold runs failed")
            say("  %-16s not run: the cold runs failed" % m["xc_warm"].label)
        xc.stop()
        servers.remove(xc)
        say("delay proxy (RTT %g ms) at its end: %s" % (rtt, proxy.stop() or "(no count)"))
        servers.remove(proxy)

    status = report(args, rtts, modes, checks)
    return status


def rewrite_port(query, port):
    """The XCache query again, for a restarted XCache on another port."""
    with open(query) as f:
        lines = f.read().splitlines(True)
    out = []
    for line in lines:
        if line.startswith("dataset "):
            parts = []
            for u in line.split()[1:]:
                host, _, rest = u[len("root://"):].partition("/")
                parts.append("root://127.0.0.1:%d/%s" % (port, rest))
            line = "dataset " + " ".join(parts) + "\n"
        out.append(line)
    with open(query, "w") as f:
        f.writelines(out)
    return query


def report(args, rtts, modes, checks):
    say("")
    say("anafs run -j %d of the bench_query query over %d copies of %s, median of %d run(s)"
        % (args.jobs, args.files, os.path.basename(args.file), args.runs))
    say("")
    say("| RTT ms | mode | median s | ratio to local | runs |")
    say("|---:|---|---:|---:|---|")
    failed = mismatched = 0
    for rtt in rtts:
        ms = {m.name: m for m in modes if m.rtt == rtt}
        base = ms["local"].median()
        for m in ms.values():
            med = m.median()
            if m.errors:
                failed += 1
                cell, runs = "FAILED", m.errors[0]
            else:
                cell = "%.3f" % statistics.median(m.times)
                runs = ", ".join("%.2f" % t for t in m.times)
            if m.mismatch:
                mismatched += 1
                cell += " WRONG"
                runs += " (%d hist.json DIFFERED)" % m.mismatch
            say("| %g | %s | %s | %s | %s |" % (rtt, m.label, cell, fmt_ratio(med, base), runs))
    say("")
    say("Goals (printed, not asserted):")
    for rtt in rtts:
        ms = {m.name: m for m in modes if m.rtt == rtt}
        base = ms["local"].median()
        cold, warm, xc = ms["cold"].median(), ms["warm"].median(), ms["xc_cold"].median()

        def verdict(ok):
            return "met" if ok else "NOT met"

        if cold is not None and base:
            say("  RTT %g ms: anafs cold within %.2fx of local: %.2fx, %s"
                % (rtt, GOAL_COLD, cold / base, verdict(cold <= GOAL_COLD * base)))
        else:
            say("  RTT %g ms: anafs cold within %.2fx of local: not measured (a run failed or gave a wrong hist.json)" % (rtt, GOAL_COLD))
        if warm is not None and base:
            say("  RTT %g ms: anafs warm within %.2fx of local: %.2fx, %s"
                % (rtt, GOAL_WARM, warm / base, verdict(warm <= GOAL_WARM * base)))
        else:
            say("  RTT %g ms: anafs warm within %.2fx of local: not measured (a run failed or gave a wrong hist.json)" % (rtt, GOAL_WARM))
        if cold is not None and xc is not None:
            say("  RTT %g ms: anafs cold ahead of XCache cold: %.3f s vs %.3f s, %s"
                % (rtt, cold, xc, verdict(cold < xc)))
        else:
            say("  RTT %g ms: anafs cold ahead of XCache cold: not measured (a run failed or gave a wrong hist.json)" % rtt)
    bad_checks = checks.count(False)
    say("")
    if mismatched:
        say("*** %d mode(s) gave a hist.json different from the local run's: "
            "their timings are of a wrong answer ***" % mismatched)
    if failed:
        say("%d mode(s) failed (see FAILED above)" % failed)
    if bad_checks:
        say("%d check(s) of the proxy or XCache failed (see above)" % bad_checks)
    return 1 if (failed or mismatched or bad_checks) else 0


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:
        say("remote_bench: " + str(e))
        sys.exit(1)
