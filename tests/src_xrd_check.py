#!/usr/bin/python3
"""root:// sources against a real xrootd server (xrd_util.py), inside a
private network namespace: the shared ROOT files and two benchmark files
are copied into its export folder, then test_src_xrd reads them through
the server and asks this driver, over a pipe, to stop the server and
start it again (see tests/test_src_xrd.c for what it checks).

Usage: src_xrd_check.py TEST_SRC_XRD SHARED_DATA

Exit status: test_src_xrd's (0: every check passed), 77 when the server
cannot run here (not root, xrootd or unshare missing).
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xrd_util  # noqa: E402

BENCH = ("nano_like_lzma_100k.root", "nano_like_zlib_200k.root")
NANO = "nano_dimuon.root"


def serve(x, rfd, wfd, child):
    """Answer test_src_xrd's requests until it closes its end."""
    timers = []
    with os.fdopen(rfd, "r") as r, os.fdopen(wfd, "w") as w:
        for line in r:
            cmd = line.split()
            try:
                for t in timers:
                    t.join()
                timers.clear()
                if cmd == ["stop"]:
                    x.stop()
                elif cmd == ["start"]:
                    x.start()
                elif len(cmd) == 2 and cmd[0] == "start-in":
                    t = threading.Timer(float(cmd[1]), x.start)
                    t.start()
                    timers.append(t)
                else:
                    raise ValueError("unknown request %r" % line)
                print("driver: %s done (%.1f s)" % (" ".join(cmd), time.time() - T0), flush=True)
                w.write("ok\n")
            except (OSError, RuntimeError, ValueError) as e:
                w.write("failed: %s\n" % e)
            w.flush()
    for t in timers:
        t.join()


T0 = time.time()


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    why = xrd_util.missing()
    if why:
        print("SKIP: %s" % why)
        return 77
    xrd_util.netns()
    prog, data = os.path.abspath(sys.argv[1]), sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="anafs-src-xrd-")
    x = xrd_util.Xrootd(tmp)
    try:
        files = sorted(glob.glob(os.path.join(data, "root", "*.root")))
        files += [os.path.join(data, "bench", b) for b in BENCH]
        for f in files:
            x.put("data/" + os.path.basename(f), f)
        x.start()
        print("xrootd on port %d, %d files" % (x.port, len(files)), flush=True)
        env = dict(os.environ, ANAFS_XRD_TIMEOUT="30", **xrd_util.CLIENT_ENV)
        to_driver_r, to_driver_w = os.pipe()
        to_child_r, to_child_w = os.pipe()
        child = subprocess.Popen([prog, str(to_child_r), str(to_driver_w), x.url("data"),
                                  x.path("data"), NANO], env=env,
                                 pass_fds=(to_child_r, to_driver_w))
        os.close(to_child_r)
        os.close(to_driver_w)
        th = threading.Thread(target=serve, args=(x, to_driver_r, to_child_w, child))
        th.start()
        try:
            rc = child.wait(timeout=270)
        except subprocess.TimeoutExpired:
            child.kill()
            rc = child.wait()
            print("FAIL: test_src_xrd ran past 270 s")
        th.join(timeout=30)
        print("src_xrd_check: %.1f s, exit %d" % (time.time() - T0, rc))
        if rc != 0:
            print("xrootd log:\n" + x.log_tail())
        return 1 if rc < 0 else rc
    finally:
        x.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
