#!/usr/bin/python3
"""A real xrootd server that a test starts as its own process and ends by PID.

Debian's /usr/bin/xrootd, run from a private temp folder (the config file,
the export folder, admin and pid folders owned by user xrootd, the log),
as user xrootd (it refuses root: `-R xrootd`), inside a private network
namespace: xrootd binds every interface, so the test first re-executes
itself under `unshare -n` and brings up lo there (netns()).

    xrd_util.netns()               # first thing in main(); re-executes
    x = xrd_util.Xrootd(tmp)       # a folder of the test's own
    x.start()                      # waits until it answers
    x.put("a.root", src_path)      # a file in the export folder
    x.url("a.root")                # root://127.0.0.1:PORT//a.root
    x.stop(); x.start()            # the same port again: a restart

Run alone (`xrd_util.py`) it starts a server, stats its root with xrdfs
and stops it: a check of the harness by hand.
"""
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time

from slurm_util import free_port  # noqa: F401 (a port of loopback)

NETNS_MARK = "ANAFS_XRD_NETNS"
BINARIES = ("xrootd", "unshare", "ip")
USER = "xrootd"

# The client's own retries and timeouts, short: a test that waits for the
# server down must not wait for XrdCl's defaults (minutes).
CLIENT_ENV = {
    "XRD_CONNECTIONWINDOW": "1",
    "XRD_CONNECTIONRETRY": "1",
    "XRD_REQUESTTIMEOUT": "10",
    "XRD_STREAMTIMEOUT": "5",
    "XRD_TIMEOUTRESOLUTION": "1",
}


def missing():
    """Why the server cannot run here ("" when it can): not root, binaries
    or the xrootd user missing."""
    if os.geteuid() != 0:
        return "not root (unshare -n and xrootd -R need it)"
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    lack = [b for b in BINARIES if not shutil.which(b, path=path)]
    if lack:
        return "missing %s" % " ".join(lack)
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return "no user %s" % USER
    return ""


def netns():
    """Run the rest of this process inside a private network namespace:
    the first call re-executes the script under `unshare -n` (exiting with
    its status); inside, it brings lo up."""
    if os.environ.get(NETNS_MARK) != "in":
        env = dict(os.environ, **{NETNS_MARK: "in"})
        r = subprocess.run(["unshare", "-n", sys.executable] + sys.argv, env=env)
        sys.exit(r.returncode)
    r = subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("ip link set lo up: %s" % r.stderr)


class Xrootd:
    def __init__(self, tmp, port=None):
        self.tmp = tmp
        self.port = port or free_port()
        self.export = os.path.join(tmp, "export")
        self.admin = os.path.join(tmp, "admin")
        self.conf = os.path.join(tmp, "xrootd.cfg")
        self.log = os.path.join(tmp, "xrootd.log")
        self.proc = None
        pw = pwd.getpwnam(USER)
        # xrootd drops to its user before it reads its config and makes its
        # home folder (in its working folder, tmp): all of tmp is its.
        for d in (self.export, self.admin):
            os.makedirs(d, exist_ok=True)
        os.chmod(tmp, 0o755)
        for d in (tmp, self.export, self.admin):
            os.chown(d, pw.pw_uid, pw.pw_gid)
        with open(self.conf, "w") as f:
            f.write("all.export /\n"
                    "oss.localroot %s\n"
                    "xrd.port %d\n"
                    "all.adminpath %s\n"
                    "all.pidpath %s\n" % (self.export, self.port, self.admin, self.admin))

    def url(self, rel=""):
        return "root://127.0.0.1:%d//%s" % (self.port, rel.lstrip("/"))

    def path(self, rel):
        return os.path.join(self.export, rel.lstrip("/"))

    def put(self, rel, src):
        """Copy src into the export folder as rel (readable by xrootd),
        keeping its modification time."""
        dst = self.path(rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        st = os.stat(src)
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.chmod(dst, 0o644)
        return dst

    def answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def start(self, timeout=30):
        """Start xrootd and wait until it takes connections.  Raises
        RuntimeError with the end of its log when it cannot."""
        logf = open(self.log, "a")
        self.proc = subprocess.Popen(["xrootd", "-c", self.conf, "-R", USER, "-n", "anafs"],
                                     stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.tmp)
        logf.close()
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                break
            if self.answers():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("xrootd did not answer on port %d:\n%s" % (self.port, self.log_tail()))

    def log_tail(self, n=30):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self):
        """End the server by PID (SIGTERM, SIGKILL after 10 s) and wait
        until its port is closed."""
        p, self.proc = self.proc, None
        if p is None:
            return
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        end = time.time() + 10
        while self.answers() and time.time() < end:
            time.sleep(0.05)


def main():
    why = missing()
    if why:
        print("SKIP: %s" % why)
        return 77
    netns()
    import tempfile
    tmp = tempfile.mkdtemp(prefix="anafs-xrd-")
    x = Xrootd(tmp)
    try:
        t = time.time()
        x.start()
        print("xrootd up on port %d in %.2f s" % (x.port, time.time() - t))
        r = subprocess.run(["xrdfs", "127.0.0.1:%d" % x.port, "stat", "/"],
                           capture_output=True, text=True, timeout=30)
        print(r.stdout, r.stderr)
        return r.returncode
    finally:
        x.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
