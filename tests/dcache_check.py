#!/usr/bin/python3
"""The disk cache from outside: a full cache folder, and `anafs cache`.

Usage: dcache_check.py full|cli TEST_DCACHE ANAFS

full: in a private mount namespace (unshare -m), a 4 MiB tmpfs is the
cache folder while `test_dcache fill` reads 12 MiB of fake remote files
through it with a 1 GiB limit: every byte right, the blocks stay within
the tmpfs, the blocks it could not keep are counted.  Needs root and
unshare (exit 77 otherwise, and says so).

cli: `test_dcache fill` fills a cache folder; `anafs cache ls`, `stat`
(text and --json) and `purge URL` / `purge` are run on it and their output
parsed; a missing folder is an error that says so.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

failures = 0


def check(ok, what, detail=""):
    global failures
    if not ok:
        failures += 1
        print("FAIL %s %s" % (what, detail))
    else:
        print("ok   %s" % what)


def kv(text):
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = int(v)
    return out


def fill(helper, folder, nbytes, env):
    r = subprocess.run([helper, "fill", folder, str(nbytes)], capture_output=True, text=True,
                       env=env, timeout=120)
    return r, kv(r.stdout)


def full_child(helper, anafs, tmp):
    folder = os.path.join(tmp, "cache")
    os.makedirs(folder)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", folder],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("SKIP cannot mount a tmpfs: %s" % r.stderr.strip())
        return 77
    try:
        env = dict(os.environ, ANAFS_CACHE_SIZE="1G", ANAFS_CACHE_BLOCK="64K")
        r, c = fill(helper, folder, 12 << 20, env)
        check(r.returncode == 0 and c.get("ok") == 1, "every byte read through a full cache is right",
              r.stderr[-400:])
        check(c.get("used", 1 << 40) <= 4 << 20, "the index's blocks fit in the tmpfs", c)
        check(c.get("evictions", 0) > 0, "a full disk evicted blocks to make room", c)
        # Now the disk full of something the cache cannot evict.
        r = subprocess.run([anafs, "cache", "purge", "--dir", folder], capture_output=True,
                           text=True)
        check(r.returncode == 0, "purged", r.stderr)
        fd = os.open(os.path.join(folder, "ballast"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"x" * 4096)
        except OSError:
            pass
        # Room for the index to open, not for a block (64 KiB).
        os.ftruncate(fd, max(0, os.fstat(fd).st_size - (40 << 10)))
        os.close(fd)
        r, c = fill(helper, folder, 4 << 20, env)
        check(r.returncode == 0 and c.get("ok") == 1,
              "every byte right with no room at all", r.stderr[-400:])
        check(c.get("not_kept", 0) > 0, "the blocks it could not keep are counted", c)
        check(c.get("bytes_fetched") == 8 << 20, "each read fetched (nothing kept)", c)
    finally:
        subprocess.run(["umount", "-l", folder], capture_output=True)
    return 1 if failures else 0


def full(helper, anafs, tmp):
    if os.getuid() != 0 or not shutil.which("unshare"):
        print("SKIP the full-disk check needs root and unshare")
        return 77
    r = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable,
                        os.path.abspath(__file__), "full-child", helper, anafs, tmp],
                       capture_output=True, text=True, timeout=240)
    sys.stdout.write(r.stdout)
    if r.returncode == 77:
        return 77
    check(r.returncode == 0, "the full-disk checks in their namespace", r.stderr[-500:])
    return 1 if failures else 0


def run(anafs, *args):
    return subprocess.run([anafs, "cache"] + list(args), capture_output=True, text=True,
                          timeout=60)


def cli(helper, anafs, tmp):
    folder = os.path.join(tmp, "cache")
    env = dict(os.environ, ANAFS_CACHE_BLOCK="64K")
    env.pop("ANAFS_CACHE_SIZE", None)
    r, c = fill(helper, folder, 6 << 20, env)
    check(r.returncode == 0 and c.get("ok") == 1, "the helper filled a cache", r.stderr[-300:])
    files = ["root://fake//file%d.root" % i for i in range(3)]
    r = run(anafs, "ls", "--dir", folder)
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and len(lines) == 3, "ls: one line per file", r.stdout + r.stderr)
    for line, url in zip(lines, files):
        fields = line.split()
        check(fields[0] == url and fields[1] == "%d/%d" % (2 << 20, 2 << 20)
              and fields[3] == "32", "ls: %s fully cached, 32 blocks" % url, line)
    r = run(anafs, "ls", "--json", "--dir", folder)
    ls = json.loads(r.stdout)
    check([f["url"] for f in ls] == files and all(f["cached"] == 2 << 20 for f in ls),
          "ls --json: the files and their bytes", r.stdout[:300])
    r = run(anafs, "stat", "--dir", folder)
    text = dict(line.split(None, 1) for line in r.stdout.splitlines() if line.strip())
    check(r.returncode == 0 and text.get("files") == "3"
          and text.get("blocks", "").startswith("96 ")
          and text.get("misses") is not None and text.get("hits") is not None,
          "stat: files, blocks and the counters", r.stdout)
    r = run(anafs, "stat", "--json", "--dir", folder)
    st = json.loads(r.stdout)
    check(st["used"] == 6 << 20 and st["files"] == 3 and st["blocks"] == 96
          # each file's last two blocks come with its first (a ROOT file's
          # metadata): fetched ahead, not missed
          and st["node"]["misses"] == 90 and st["node"]["bytes_fetched"] == 90 << 16
          and st["node"]["bytes_prefetched"] == 6 << 16
          and st["node"]["hits"] == c["hits"] and 0 < st["node"]["hit_ratio"] < 1,
          "stat --json: usage and node-wide counters", r.stdout)
    r = run(anafs, "purge", files[1], "--dir", folder)
    check(r.returncode == 0 and "32 blocks" in r.stdout, "purge URL", r.stdout + r.stderr)
    r = run(anafs, "ls", "--json", "--dir", folder)
    check([f["url"] for f in json.loads(r.stdout)] == [files[0], files[2]],
          "purge URL removed that file only", r.stdout)
    blocks = sum(len(fs) for _, _, fs in os.walk(os.path.join(folder, "blocks")))
    check(blocks == 64, "its block files are gone (%d left)" % blocks)
    r = run(anafs, "purge", "--dir", folder)
    st = json.loads(run(anafs, "stat", "--json", "--dir", folder).stdout)
    check(r.returncode == 0 and st["blocks"] == 0 and st["used"] == 0, "purge: everything")
    r = run(anafs, "stat", "--dir", os.path.join(tmp, "nope"))
    check(r.returncode == 1 and "no such cache folder" in r.stderr, "a missing folder says so",
          r.stderr)
    r = run(anafs, "frob", "--dir", folder)
    check(r.returncode == 2, "an unknown subcommand is a usage error")
    return 1 if failures else 0


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    mode, helper = sys.argv[1], sys.argv[2]
    if mode == "full-child":
        return full_child(helper, sys.argv[3], sys.argv[4])
    tmp = tempfile.mkdtemp(prefix="dcache_check.")
    try:
        if mode == "full":
            return full(helper, sys.argv[3], tmp)
        return cli(helper, sys.argv[3], tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
