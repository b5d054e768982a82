#!/usr/bin/python3
"""Jobs over root:// against a real xrootd server, through the disk cache:
hist.json is the bytes of the same job over the local files, cold and
warm, and every fault ends in the right bytes or a clear error naming the
URL, never a wrong byte.

Usage: remote_check.py ANAFS SHARED_DATA

The test re-executes itself in a private network namespace (xrootd binds
every interface), starts Debian's xrootd as user xrootd exporting copies
of three benchmark files, and checks:
- cold and warm: a mount with two local worker processes runs the job
  over root://HOST//d/*.root; hist.json is anafs run's over the local
  copies; the cold job fetched no block twice although both workers
  prefetch the same blocks at once; the warm job fetched nothing;
- anafs run (threads) over root:// cold and warm: the same bytes, each
  block fetched once, and ANAFS_XRD_TRACE=1's lines;
- the server stopped mid-job and started again 2 s later: the job waits
  and ends with the same bytes;
- a file removed on the server: a new job is invalid, naming the URL and
  the server's reason; a job paused mid-way whose file is then removed
  fails naming it, or ends right from the cache (never wrong bytes);
- a block corrupted and one cut short in the cache folder: dropped,
  fetched again, the same bytes, counted as corrupt;
- the cache on a full disk (a 3 MiB tmpfs in a private mount namespace):
  the same bytes, blocks not kept counted;
- a file changed on the server between two jobs: the second job gives
  the new file's bytes;
- a job queued behind another has its first tasks' data fetched into the
  node's cache by the worker ahead of its run, and then runs right with
  the server stopped; cancelling a job whose reads retry against a server
  that is gone takes effect at once.
Exit status: 0 when every check passed, 1 otherwise, 77 when the server,
unshare, /dev/fuse or root are missing.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mount_util as mu  # noqa: E402
import xrd_util  # noqa: E402
from mount_util import check, wait_for  # noqa: E402

FILES = {"d/a_lz4.root": "bench/nano_like_lz4_200k.root",
         "d/b_zlib.root": "bench/nano_like_zlib_200k.root",
         "d/c_lzma.root": "bench/nano_like_lzma_100k.root"}
TMP = None
ANAFS = None


def query(dataset):
    return """dataset %s
tree Events
define good = Jet_pt > 20 && abs(Jet_eta) < 2.4
filter onejet: sum(good) >= 1
hist jpt = Jet_pt[good] bins=50 range=0,200 weight=MET_pt * 0.37
hist ht = sum(Jet_pt[good]) bins=100 range=0,1000
hist met = MET_pt bins=20 range=0,200
""" % dataset


def run(text, name, env=None, cache=None, timeout=300):
    """anafs run of text: (return code, stdout bytes, stderr text)."""
    path = os.path.join(TMP, name + ".query")
    mu.write(path, text)
    e = dict(os.environ, **(env or {}))
    if cache:
        e["ANAFS_CACHE_DIR"] = cache
    r = subprocess.run([ANAFS, "run", "-j", "2", path], capture_output=True, timeout=timeout,
                       cwd=TMP, env=e)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


def mount_with(env, tag, *args):
    """A foreground mount whose daemon (and its workers or threads) start
    with env added to ours."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return mu.Mount(ANAFS, TMP, tag, "--no-reuse", *args, foreground=True)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def cache_stat(cache):
    r = subprocess.run([ANAFS, "cache", "stat", "--dir", cache, "--json"], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("anafs cache stat: %s" % r.stderr)
    return json.loads(r.stdout)


def settled(cache):
    """`anafs cache stat --json` once the node's counters stop moving
    (worker processes flush theirs about every second)."""
    st = cache_stat(cache)
    for _ in range(20):
        time.sleep(1.2)
        now = cache_stat(cache)
        if now["node"] == st["node"]:
            return now
        st = now
    return st


def node(st, key):
    """A node-wide counter of `anafs cache stat --json`."""
    return st["node"][key]


def local_ref(x, name):
    """hist.json of anafs run over the export folder's files, read locally."""
    rc, out, err = run(query(os.path.join(x.export, "d/*.root")), name, env={"ANAFS_CACHE": "off"})
    if rc != 0:
        raise RuntimeError("anafs run over local files: %s" % err[-2000:])
    return out


def total_size(x):
    return sum(os.path.getsize(x.path(r)) for r in FILES)


def cold_and_warm(x, ref):
    cache = os.path.join(TMP, "cache-mount")
    os.environ["ANAFS_CACHE_DIR"] = cache  # the daemon and its workers inherit it
    try:
        m = mu.Mount(ANAFS, TMP, "cw", "--backend", "local", "--workers", "2", "--no-reuse",
                     foreground=True)
    finally:
        del os.environ["ANAFS_CACHE_DIR"]
    remote = query(x.url("d/*.root"))
    job = m.submit("cold", remote)
    status = mu.cat_wait(m.mnt, job, 240)
    check(status == "done", "cold job over root:// is done", mu.read("%s/%s/error" % (m.jobs, job))
          if status != "done" else "")
    got = mu.read("%s/%s/hist.json" % (m.jobs, job), "rb")
    check(got == ref, "cold job's hist.json is anafs run's over the local files",
          "%d bytes against %d" % (len(got), len(ref)))
    st = settled(cache)
    fetched = (node(st, "bytes_fetched") + node(st, "bytes_prefetched") +
               node(st, "bytes_warmed"))
    check(0 < fetched <= total_size(x) + 2 * st["block_size"] * len(FILES),
          "the cold job fetched each block once (two workers, prefetch, read-ahead)",
          "%d bytes fetched for %d bytes of files: %s" % (fetched, total_size(x), st))
    text = mu.read(os.path.join(m.mnt, "cache"))
    check("hit" in text and "prefetch" in text, "the mount's cache file shows the counters", text)
    prog = json.loads(mu.read("%s/%s/progress.json" % (m.jobs, job)))
    jc = prog.get("job_cache") or {}
    check("cache" in prog and jc.get("hits", 0) > 0 and
          jc.get("misses", 0) + jc.get("bytes_prefetched", 0) > 0,
          "the cold job's progress.json has its own cache figures (hits, and misses or "
          "prefetched blocks used) beside the node's", prog)

    job2 = m.submit("warm", remote)
    status = mu.cat_wait(m.mnt, job2, 240)
    got = mu.read("%s/%s/hist.json" % (m.jobs, job2), "rb")
    check(status == "done" and got == ref, "warm job's hist.json is anafs run's", status)
    st2 = settled(cache)
    check(node(st2, "bytes_fetched") == node(st, "bytes_fetched") and
          node(st2, "bytes_prefetched") == node(st, "bytes_prefetched") and
          node(st2, "bytes_warmed") == node(st, "bytes_warmed") and
          node(st2, "hits") > node(st, "hits"),
          "the warm job read every block from the cache, none from the server",
          "before %s\nafter %s" % (st["node"], st2["node"]))
    prog2 = json.loads(mu.read("%s/%s/progress.json" % (m.jobs, job2)))
    jc2 = prog2.get("job_cache") or {}
    check(jc2.get("hits", 0) > 0 and jc2.get("misses") == 0 and jc2.get("bytes_fetched") == 0
          and prog2.get("cache_hit_ratio") == 1,
          "the warm job's own figures: every read a hit, nothing fetched", prog2)
    m.umount()


def server_restart(x, ref):
    cache = os.path.join(TMP, "cache-restart")
    os.environ.update({"ANAFS_CACHE_DIR": cache, "ANAFS_XRD_TIMEOUT": "60"})
    try:
        m = mu.Mount(ANAFS, TMP, "rs", "--backend", "local", "--workers", "2", "--no-reuse",
                     foreground=True)
    finally:
        del os.environ["ANAFS_CACHE_DIR"]
        del os.environ["ANAFS_XRD_TIMEOUT"]
    job = m.submit("restart", query(x.url("d/*.root")))
    started = wait_for(lambda: json.loads(mu.read("%s/%s/progress.json" % (m.jobs, job)))
                       ["events_done"] > 0, 60)
    x.stop()
    stopped_at = json.loads(mu.read("%s/%s/progress.json" % (m.jobs, job)))
    time.sleep(2)
    x.start()
    status = mu.cat_wait(m.mnt, job, 240)
    got = mu.read("%s/%s/hist.json" % (m.jobs, job), "rb")
    check(started and stopped_at["percent"] < 100, "the server was stopped mid-job",
          stopped_at)
    check(status == "done" and got == ref,
          "server stopped mid-job and restarted: the job waits and gives anafs run's bytes",
          "%s %s" % (status, mu.read("%s/%s/error" % (m.jobs, job))))
    m.umount()


def file_removed(x):
    cache = os.path.join(TMP, "cache-removed")
    x.put("gone/x.root", os.path.join(DATA, FILES["d/c_lzma.root"]))
    url = x.url("gone/x.root")
    os.unlink(x.path("gone/x.root"))
    rc, out, err = run(query(url), "removed", cache=cache)
    check(rc != 0 and url in err and ("no such file" in err.lower() or "not found" in err.lower()),
          "a removed file: the job fails naming the URL and the server's reason", err[-1500:])
    # Removed while a job over it is paused: the files after it in the
    # dataset (the same URL again) read from the server fail naming the
    # URL; read from the disk cache (which holds every block of the file as
    # planned once one pass read it), they give the right bytes.  Never
    # anything else.
    local = os.path.join(TMP, "gone-y.root")
    shutil.copyfile(os.path.join(DATA, FILES["d/a_lz4.root"]), local)
    rc, want, err = run(query(" ".join([local] * 40)), "removed-ref", env={"ANAFS_CACHE": "off"})
    check(rc == 0, "anafs run of the file 40 times, locally", err[-1000:])
    for tag, cache_env in (("rm-nocache", {"ANAFS_CACHE": "off"}),
                           ("rm-cache", {"ANAFS_CACHE_DIR": os.path.join(TMP, "cache-rm")})):
        x.put("gone/y.root", local)
        url = x.url("gone/y.root")
        m = mount_with(cache_env, tag, "--backend", "threads", "--workers", "1")
        job = m.submit("removed", query(" ".join([url] * 40)))
        wait_for(lambda: m.status(job) != "queued", 30)
        m.ctl(job, "pause")
        paused = wait_for(lambda: m.status(job) == "paused", 20)
        os.unlink(x.path("gone/y.root"))
        if paused:
            m.ctl(job, "resume")
        status = mu.cat_wait(m.mnt, job, 240)
        err = mu.read("%s/%s/error" % (m.jobs, job))
        failed = status == "failed" and url in err
        if tag == "rm-nocache":
            check(paused and failed,
                  "a file removed while its job runs, no disk cache: the job fails naming the URL",
                  "%s: %s" % (status, err))
        else:
            got = mu.read("%s/%s/hist.json" % (m.jobs, job), "rb") if status == "done" else b""
            check(paused and (failed or (status == "done" and got == want)),
                  "a file removed while its job runs, with the disk cache: the planned file's "
                  "bytes from the cache, or a failure naming the URL (%s)" % status,
                  "%s: %s" % (status, err))
        m.umount()


def thread_run(x, ref):
    """anafs run (the thread backend, whose workers prefetch a window of
    tasks and files ahead) over root:// with a cold cache: the same bytes,
    each block fetched once; ANAFS_XRD_TRACE=1 shows the calls."""
    cache = os.path.join(TMP, "cache-run")
    rc, out, err = run(query(x.url("d/*.root")), "thread-run", cache=cache,
                       env={"ANAFS_XRD_TRACE": "1"})
    check(rc == 0 and out == ref, "anafs run over root:// with a cold cache: the same bytes",
          err[-1000:])
    st = settled(cache)
    fetched = node(st, "bytes_fetched") + node(st, "bytes_prefetched")
    check(0 < fetched <= total_size(x) + 2 * st["block_size"] * len(FILES),
          "each block fetched once (two threads, the window ahead, the files' tails)",
          "%d bytes for %d: %s" % (fetched, total_size(x), st["node"]))
    calls = [l.split() for l in err.splitlines() if l.startswith("xrd-trace ")]
    kinds = {c[7] for c in calls if len(c) > 7}
    check({"dirlist", "open"} <= kinds and ("readv" in kinds or "read" in kinds)
          and all(c[-2] == "rc" for c in calls),
          "ANAFS_XRD_TRACE=1 writes a line per call: the listing, opens, reads",
          "%d lines, kinds %s: %s" % (len(calls), sorted(kinds), err[-1500:]))
    rc, out, err = run(query(x.url("d/*.root")), "thread-run-warm", cache=cache)
    check(rc == 0 and out == ref and "xrd-trace" not in err,
          "the warm run: the same bytes, and no trace without ANAFS_XRD_TRACE", err[-500:])


def corrupt_blocks(x, ref):
    cache = os.path.join(TMP, "cache-corrupt")
    rc, out, err = run(query(x.url("d/*.root")), "corrupt-fill", cache=cache)
    check(rc == 0 and out == ref, "a job fills the cache with the right bytes", err[-1000:])
    blocks = sorted(os.path.join(d, f) for d, _, fs in os.walk(os.path.join(cache, "blocks"))
                    for f in fs)
    check(len(blocks) >= 4, "the cache folder holds block files", len(blocks))
    # Blocks every job reads again: each file's first (its header).  With
    # the baskets in the column cache a job reads only the files' metadata,
    # and a block fetched ahead that no job reads is never checked.
    firsts = [b for b in blocks if b.endswith(".0")]
    check(len(firsts) >= 2, "each file's first block is cached", blocks)
    before = node(cache_stat(cache), "corrupt")
    with open(firsts[0], "r+b") as f:  # a flipped byte in the data
        f.seek(-100, os.SEEK_END)
        b = f.read(1)
        f.seek(-100, os.SEEK_END)
        f.write(bytes([b[0] ^ 0x40]))
    with open(firsts[1], "r+b") as f:  # cut short
        f.truncate(max(1, os.path.getsize(firsts[1]) // 2))
    rc, out, err = run(query(x.url("d/*.root")), "corrupt-again", cache=cache)
    check(rc == 0 and out == ref, "corrupted and truncated blocks: the same bytes", err[-1000:])
    after = node(cache_stat(cache), "corrupt")
    check(after >= before + 2, "both bad blocks were detected and counted",
          "%d then %d" % (before, after))


def disk_full(x, ref):
    cache = os.path.join(TMP, "cache-full")
    os.makedirs(cache)
    q = os.path.join(TMP, "full.query")
    mu.write(q, query(x.url("d/*.root")))
    out = os.path.join(TMP, "full.json")
    script = ('mount -t tmpfs -o size=3m tmpfs "$1" && ANAFS_CACHE_DIR="$1" "$2" run -j 2 "$3" '
              '> "$4" && "$2" cache stat --dir "$1" --json; r=$?; umount "$1"; exit $r')
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                        cache, ANAFS, q, out], capture_output=True, text=True, timeout=300)
    check(r.returncode == 0 and mu.read(out, "rb") == ref,
          "the cache on a full 3 MiB disk: the same bytes", r.stderr[-1500:])
    try:
        st = json.loads(r.stdout)
        check(node(st, "not_kept") > 0 and st["used"] <= 3 << 20,
              "blocks that did not fit were served, not kept, and counted", st)
    except ValueError:
        check(False, "anafs cache stat on the full disk gives JSON", r.stdout[-500:])


def file_changed(x):
    cache = os.path.join(TMP, "cache-changed")
    x.put("chg/f.root", os.path.join(DATA, FILES["d/c_lzma.root"]))
    url = x.url("chg/f.root")
    rc, first, err = run(query(url), "changed-1", cache=cache)
    check(rc == 0, "a job over the first version", err[-1000:])
    x.put("chg/f.root", os.path.join(DATA, FILES["d/b_zlib.root"]))
    rc, second, err = run(query(url), "changed-2", cache=cache)
    rc2, ref, _ = run(query(x.path("chg/f.root")), "changed-ref", env={"ANAFS_CACHE": "off"})
    check(rc == 0 and rc2 == 0 and second == ref and second != first,
          "a file changed on the server between two jobs: the second has the new bytes",
          err[-1000:])


class Proxy:
    """bench/delay_proxy.py in front of the server: a way to hold one job's
    reads (SIGSTOP) while others go to the server directly."""

    def __init__(self, x, rtt_ms):
        tool = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "bench", "delay_proxy.py")
        self.proc = subprocess.Popen(["/usr/bin/python3", tool, "--target",
                                      "127.0.0.1:%d" % x.port, "--rtt-ms", str(rtt_ms)],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 3 or line[0] != "listening":
            self.proc.kill()
            raise RuntimeError("delay_proxy.py did not start: %r" % line)
        self.port = int(line[2])

    def url(self, rel):
        return "root://127.0.0.1:%d//%s" % (self.port, rel)

    def end(self):
        if self.proc.poll() is None:
            self.proc.kill()  # also when stopped
        self.proc.wait(timeout=30)


def warm_queued(x):
    """A job planned and queued behind another (one worker slot) has its
    first tasks' data fetched into the node's cache by the worker while
    the other runs: the queued job's log says so, and it then runs with the
    server down, giving the local run's bytes.  Job A reads through a
    delaying proxy that the test stops, so that A holds the only slot for
    as long as the test wants, whatever the machine's speed.  A is then
    cancelled with its proxy gone and ANAFS_XRD_TIMEOUT at 600 s: its
    task, and the prefetch of its file, give up at the cancel instead of
    retrying for ten minutes, or B would never get the slot in time."""
    cache = os.path.join(TMP, "cache-warmq")
    one = "d/c_lzma.root"
    rc, ref, err = run(query(x.path(one)), "warmq-ref", env={"ANAFS_CACHE": "off"})
    check(rc == 0, "anafs run over the local file", err[-1000:])
    env = {"ANAFS_CACHE_DIR": cache, "ANAFS_XRD_TIMEOUT": "600",
           "XRD_REQUESTTIMEOUT": "60", "XRD_STREAMTIMEOUT": "60"}
    m = mount_with(env, "wq", "--backend", "local", "--workers", "1")
    proxy = Proxy(x, 200)
    try:
        a = m.submit("hold", query(proxy.url("d/a_lz4.root")))
        running = wait_for(lambda: m.status(a) != "queued", 60)
        os.kill(proxy.proc.pid, signal.SIGSTOP)
        held = running and m.status(a) == "running"
        check(held, "job A runs and holds the only slot (its reads stopped)", m.status(a))
        b = m.submit("queued", query(x.url(one)))
        log = "%s/%s/log" % (m.jobs, b)
        planned = wait_for(lambda: json.loads(mu.read("%s/%s/progress.json" % (m.jobs, b)))
                           ["tasks_total"] > 0, 60)
        tasks = json.loads(mu.read("%s/%s/progress.json" % (m.jobs, b)))["tasks_total"]
        warmed = planned and wait_for(lambda: mu.read(log).count("warmed task") >= tasks, 60)
        check(warmed and m.status(b) == "queued",
              "job B, queued behind A, had its data warmed by the worker", mu.read(log))
        # From here the server is gone: B can only run from the cache.
        x.stop()
        m.ctl(a, "cancel")
        proxy.end()  # A's reads fail at once and free the slot
        status = mu.cat_wait(m.mnt, b, 240)
        got = mu.read("%s/%s/hist.json" % (m.jobs, b), "rb") if status == "done" else b""
        check(status == "done" and got == ref,
              "job A's cancel freed the slot at once against a server gone; job B ran "
              "from the warmed cache with the server down: anafs run's bytes",
              "%s: %s\n%s" % (status, mu.read("%s/%s/error" % (m.jobs, b)), mu.read(log)))
        st = settled(cache)
        check(node(st, "bytes_warmed") > 0, "the cache counts the warmed bytes", st["node"])
    finally:
        proxy.end()
        if not x.proc:
            x.start()
        m.umount()


def main():
    global TMP, ANAFS, DATA
    why = xrd_util.missing()
    if why or not shutil.which("unshare"):
        print("SKIP: %s" % (why or "unshare is missing"))
        return 77
    xrd_util.netns()
    ANAFS, DATA = mu.setup(__doc__)
    os.environ.update(xrd_util.CLIENT_ENV)
    TMP = mu.tmpdir("anafs-remote-")
    x = xrd_util.Xrootd(os.path.join(TMP, "xrd"))
    for rel, src in FILES.items():
        x.put(rel, os.path.join(DATA, src))
    x.start()
    try:
        ref = local_ref(x, "ref")
        mu.section(cold_and_warm, x, ref, budget=300)
        mu.section(thread_run, x, ref, budget=200)
        mu.section(server_restart, x, ref, budget=300)
        mu.section(corrupt_blocks, x, ref, budget=200)
        mu.section(disk_full, x, ref, budget=200)
        mu.section(file_removed, x, budget=200)
        mu.section(file_changed, x, budget=200)
        mu.section(warm_queued, x, budget=300)
    finally:
        x.stop()
    return mu.finish()


if __name__ == "__main__":
    sys.exit(main())
