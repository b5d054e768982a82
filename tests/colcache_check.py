#!/usr/bin/python3
"""The column cache through `anafs run`, as a user meets it.

1. A query run twice over a copy of a shared file: the second run decodes
   nothing (every basket a hit, no miss, nothing stored) and gives the same
   hist.json; another cut and binning over the same branches too, with the
   bytes of a run without the cache.
2. The file rewritten in place with other content (same path, same inode,
   another size and time): the next run reads the new data, the bytes of a
   run without the cache, never a column of the old file.
3. A job larger than a small ANAFS_COLCACHE_SIZE, on two threads, twice:
   right both times, the folder within its limit, entries evicted.

Usage: colcache_check.py ANAFS SHARED_DATA
Exit status: 0 when every check passed, 1 otherwise.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

FAILED = []

QUERY = """dataset data.root
define goodjet = Jet_pt > 30 && abs(Jet_eta) < 2.4
filter met: MET_pt > %d
hist met = MET_pt bins=%d range=0,200
hist jetpt = Jet_pt[goodjet] bins=%d range=0,300
hist njet = nJet bins=15 range=0,15
"""


def check(cond, what, detail=""):
    print("%s %s%s" % ("ok  " if cond else "FAIL", what, (": " + detail) if detail and not cond else ""))
    if not cond:
        FAILED.append(what)
    return cond


class Env:
    def __init__(self, anafs, tmp):
        self.anafs = anafs
        self.tmp = tmp
        self.env = dict(os.environ)
        self.env["ANAFS_CACHE_DIR"] = os.path.join(tmp, "dcache")
        os.makedirs(self.env["ANAFS_CACHE_DIR"])
        self.env["ANAFS_COLCACHE_DIR"] = os.path.join(tmp, "columns")
        self.env.pop("ANAFS_COLCACHE", None)
        self.env.pop("ANAFS_COLCACHE_SIZE", None)

    def run(self, query, extra=None, threads=1):
        path = os.path.join(self.tmp, "q.anq")
        with open(path, "w") as f:
            f.write(query)
        env = dict(self.env, **(extra or {}))
        r = subprocess.run([self.anafs, "run", path, "-j%d" % threads], capture_output=True,
                           text=True, timeout=300, cwd=self.tmp, env=env)
        if r.returncode != 0:
            check(False, "anafs run", r.stderr[-500:])
        return r.stdout

    def columns(self, extra=None):
        env = dict(self.env, **(extra or {}))
        r = subprocess.run([self.anafs, "cache", "stat", "--json"], capture_output=True,
                           text=True, timeout=60, env=env)
        st = json.loads(r.stdout) if r.returncode == 0 else {}
        return st.get("columns") or {}


def folder_bytes(folder):
    total = 0
    for sub in os.listdir(folder):
        if len(sub) == 2 and not sub.startswith("."):
            for name in os.listdir(os.path.join(folder, sub)):
                if not name.startswith("."):
                    total += os.path.getsize(os.path.join(folder, sub, name))
    return total


def delta(a, b, key):
    return b.get(key, 0) - a.get(key, 0)


def second_run(e, data_dir):
    shutil.copyfile(os.path.join(data_dir, "bench", "nano_like_zlib_200k.root"),
                    os.path.join(e.tmp, "data.root"))
    q = QUERY % (20, 50, 50)
    s0 = e.columns()
    h1 = e.run(q)
    s1 = e.columns()
    check(delta(s0, s1, "misses") > 0 and delta(s0, s1, "stores") == delta(s0, s1, "misses"),
          "the first run decodes and stores every basket it reads", json.dumps(s1))
    h2 = e.run(q)
    s2 = e.columns()
    check(h1 and h2 == h1, "the second run gives the same hist.json")
    check(delta(s1, s2, "hits") == delta(s0, s1, "misses") and delta(s1, s2, "misses") == 0
          and delta(s1, s2, "stores") == 0,
          "the second run decodes nothing: every basket a hit", json.dumps(s2))
    q2 = QUERY % (45, 20, 30)
    h3 = e.run(q2)
    s3 = e.columns()
    check(delta(s2, s3, "misses") == 0 and delta(s2, s3, "hits") > 0,
          "another cut and binning over the same branches: served from the cache")
    check(h3 == e.run(q2, {"ANAFS_COLCACHE": "off"}) and h3 != h1,
          "its hist.json is the one without the cache")
    return q, h1


def rewritten(e, data_dir, q, h1):
    path = os.path.join(e.tmp, "data.root")
    ino = os.stat(path).st_ino
    # In place: the same path and inode, other bytes, another size and time.
    with open(os.path.join(data_dir, "bench", "nano_like_lzma_100k.root"), "rb") as src, \
            open(path, "r+b") as dst:
        dst.truncate(0)
        shutil.copyfileobj(src, dst)
    check(os.stat(path).st_ino == ino, "the file was rewritten in place")
    s0 = e.columns()
    h = e.run(q)
    s1 = e.columns()
    truth = e.run(q, {"ANAFS_COLCACHE": "off"})
    check(h and h != h1, "the rewritten file gives another hist.json")
    check(h == truth, "... the new data's, as without the cache")
    check(delta(s0, s1, "misses") > 0 and delta(s0, s1, "hits") == 0,
          "no column of the old file is served for the new one", json.dumps(s1))
    check(e.run(q) == truth, "and again from the cache")


def small_cache(e, data_dir):
    # Three files of 200000 entries: about 14 MB of decoded baskets of up to
    # 1 MB each, through a cache of 6 MB (entries up to a quarter of it kept).
    limit = 6 << 20
    extra = {"ANAFS_COLCACHE_DIR": os.path.join(e.tmp, "small"),
             "ANAFS_COLCACHE_SIZE": str(limit)}
    for i in range(3):
        shutil.copyfile(os.path.join(data_dir, "bench", "nano_like_zlib_200k.root"),
                        os.path.join(e.tmp, "big%d.root" % i))
    q = (QUERY % (20, 50, 50)).replace("dataset data.root", "dataset big*.root")
    truth = e.run(q, {"ANAFS_COLCACHE": "off"})
    for n in (1, 2):
        h = e.run(q, extra, threads=2)
        st = e.columns(extra)
        used = folder_bytes(extra["ANAFS_COLCACHE_DIR"])
        check(h == truth, "run %d with a cache smaller than the job: the right hist.json" % n)
        check(used <= limit and st.get("used") == used,
              "run %d: the folder within its limit (%d of %d bytes, counted %s)"
              % (n, used, limit, st.get("used")))
    check(st.get("evictions", 0) > 0 and st.get("bytes_stored", 0) > limit,
          "more was stored than fits, and evicted", json.dumps(st))


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    anafs, data_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    tmp = tempfile.mkdtemp(prefix="colcache_check.")
    try:
        e = Env(anafs, tmp)
        q, h1 = second_run(e, data_dir)
        rewritten(e, data_dir, q, h1)
        small_cache(e, data_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failure(s)" % len(FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
