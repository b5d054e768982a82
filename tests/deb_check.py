#!/usr/bin/python3
"""The Debian package: built from the built tree by packaging/mkdeb.sh (what
`make deb` runs) into a temporary folder, checked by lintian when it is
installed (an error fails), extracted with dpkg-deb -x, its files and
control checked, and its systemd user unit run as systemd would run it.

Without systemd (a test has no user manager), the unit is run by hand, the
equivalent of `systemctl --user start anafs@ana-run2` and `stop`: the
lines ExecStartPre, ExecStart and ExecStop of the extracted
anafs@.service, with systemd's specifiers substituted (%h the home, %i the
instance, %I it unescaped, %S ~/.local/state, %E ~/.config), the
EnvironmentFile read and $VAR expanded as systemd does, in the unit's
WorkingDirectory, and /usr/bin/anafs taken from the extracted tree.  Then
the mount must serve: a query submitted there gives the hist.json of
`anafs run`; after ExecStop the folder is unmounted and the daemon gone.
systemd-analyze verify checks the unit file itself when it can run.

Usage: deb_check.py BUILD_DIR SHARED_DATA

Exit status: 0 when every check passed, 1 otherwise, 77 when /dev/fuse,
fusermount3 or dpkg-deb is missing.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mount_util as mu  # noqa: E402
from mount_util import check  # noqa: E402

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSTANCE = "ana-run2"  # systemd-escape ana/run2: the unit mounts ~/ana/run2
UNIT = "usr/lib/systemd/user/anafs@.service"


def unescape(s):
    """systemd's %I: '-' is '/', \\xNN the byte NN."""
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)),
                  s.replace("-", "/"))


def unit_service(path):
    """The [Service] section of a unit file: key -> list of values."""
    keys, section = {}, None
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line:
            k, v = line.split("=", 1)
            keys.setdefault(k.strip(), []).append(v.strip())
    return keys


def specifiers(s, spec):
    """%X replaced as systemd does; an unknown specifier is an error."""
    def one(m):
        if m.group(1) not in spec:
            raise ValueError("specifier %%%s is not one this test knows" % m.group(1))
        return spec[m.group(1)]
    return re.sub(r"%(.)", one, s)


def env_file(path):
    """KEY=VALUE lines, as systemd's EnvironmentFile= reads them."""
    env = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line and line[0] not in "#;" and "=" in line:
            k, v = line.split("=", 1)
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                v = v[1:-1]
            env[k.strip()] = v
    return env


def command(line, env, root):
    """An Exec line as a list: a word $VAR splits into VAR's words, ${VAR}
    stays one word; /usr/... programs come from the extracted tree."""
    words = []
    for w in shlex.split(line):
        m = re.fullmatch(r"\$(\w+)", w)
        if m:
            words += env.get(m.group(1), "").split()
        else:
            words.append(re.sub(r"\$\{(\w+)\}", lambda g: env.get(g.group(1), ""), w))
    if words[0].startswith("/usr/bin/anafs"):
        words[0] = os.path.join(root, words[0].lstrip("/"))
    return words


def build(build_dir, tmp):
    r = subprocess.run(["bash", os.path.join(SRC, "packaging/mkdeb.sh"), build_dir,
                        os.path.join(tmp, "out")], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "packaging/mkdeb.sh builds the package", r.stderr)
    deb = r.stdout.strip()
    check(re.fullmatch(r"anafs_[0-9.]+-[0-9]+_[a-z0-9]+\.deb", os.path.basename(deb)),
          "the package is named anafs_VERSION_ARCH.deb", deb)
    return deb


def lint(deb):
    if not shutil.which("lintian"):
        print("note: lintian is not installed (packaging/deps.sh installs it): not run")
        return
    r = subprocess.run(["lintian", "--tag-display-limit", "0", "-I", deb],
                       capture_output=True, text=True, timeout=120)
    tags = [t for t in r.stdout.splitlines() if re.match(r"^[EWIPX]: ", t)]
    print("lintian:\n  " + "\n  ".join(tags or ["(no tags)"]))
    errors = [t for t in tags if t.startswith("E: ")]
    check(not errors and r.returncode in (0, 1) and "E:" not in r.stderr,
          "lintian finds no error", "\n".join(errors) + r.stderr[-2000:])


def contents(deb, root):
    r = subprocess.run(["dpkg-deb", "-x", deb, root], capture_output=True, text=True)
    check(r.returncode == 0, "dpkg-deb -x extracts the package", r.stderr)
    want = ["usr/bin/anafs", "usr/share/man/man1/anafs.1.gz",
            "usr/share/man/man5/anafs-query.5.gz",
            "usr/share/bash-completion/completions/anafs", UNIT,
            "usr/share/doc/anafs/copyright", "usr/share/doc/anafs/changelog.Debian.gz",
            "usr/share/doc/anafs/docs/install.md", "usr/share/doc/anafs/docs/query.md",
            "usr/lib/anafs/anafs-xrd.so"]
    if os.path.exists(os.path.join(SRC, "python/anafs/__init__.py")):
        want.append("usr/lib/python3/dist-packages/anafs/__init__.py")
    missing = [p for p in want if not os.path.isfile(os.path.join(root, p))]
    check(not missing, "the package holds the binary, XRootD module, man pages, completion, "
          "unit, Python module and docs", missing)
    binary = os.path.join(root, "usr/bin/anafs")
    check(os.access(binary, os.X_OK), "usr/bin/anafs is executable")
    r = subprocess.run(["readelf", "-S", binary], capture_output=True, text=True)
    check(r.returncode == 0 and ".debug_info" not in r.stdout, "the binary is stripped")
    r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and r.stdout.startswith("anafs "),
          "the packaged anafs runs: --version", r.stdout + r.stderr)
    # root:// loads the XRootD module at its first URL: the packaged one,
    # found beside the packaged binary (not the build tree's), and only then.
    module = os.path.join(root, "usr/lib/anafs/anafs-xrd.so")
    r = subprocess.run(["readelf", "-S", module], capture_output=True, text=True)
    check(r.returncode == 0 and ".debug_info" not in r.stdout, "the XRootD module is stripped")
    env = dict(os.environ, LD_DEBUG="files", ANAFS_XRD_TIMEOUT="1")
    env.pop("ANAFS_XRD_MODULE", None)
    r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, env=env)
    check("anafs-xrd.so" not in r.stderr and "XrdCl" not in r.stderr,
          "the packaged anafs loads no XRootD client for --version")
    r = subprocess.run([binary, "ls", "root://127.0.0.1:1//none.root"], capture_output=True,
                       text=True, timeout=60, env=env)
    loaded = [l for l in r.stderr.splitlines() if "file=" in l and "anafs-xrd.so" in l]
    check(loaded and os.path.realpath(module) in os.path.realpath(loaded[0].split("file=")[1].split()[0])
          and "could not be loaded" not in r.stderr,
          "a root:// URL loads the packaged XRootD module", "\n".join(loaded) or r.stderr[-2000:])
    r = subprocess.run(["dpkg-deb", "-f", deb, "Depends", "Recommends"],
                       capture_output=True, text=True)
    check("libfuse3-3" in r.stdout and "fuse3" in r.stdout.replace("libfuse3", "")
          and "python3" in r.stdout, "Depends has the libraries and fuse3, Recommends python3",
          r.stdout)
    for page in want[1:3]:
        r = subprocess.run(["man", "--warnings", "-l", os.path.join(root, page)],
                           capture_output=True, text=True, env=dict(os.environ, MANWIDTH="80"))
        check(r.returncode == 0 and not r.stderr.strip(), "man renders %s without a warning"
              % os.path.basename(page), r.stderr)


def verify(root, tmp):
    """systemd-analyze verify of the unit, with the extracted binary."""
    if not shutil.which("systemd-analyze"):
        return
    d, rt = os.path.join(tmp, "units"), os.path.join(tmp, "runtime")
    os.makedirs(d)
    os.makedirs(rt, mode=0o700)
    text = open(os.path.join(root, UNIT), encoding="utf-8").read()
    path = os.path.join(d, "anafs@ana.service")
    mu.write(path, text.replace("/usr/bin/anafs", os.path.join(root, "usr/bin/anafs")))
    env = dict(os.environ, XDG_RUNTIME_DIR=rt, MANPATH=os.path.join(root, "usr/share/man"))
    r = subprocess.run(["systemd-analyze", "--user", "verify", path], capture_output=True,
                       text=True, env=env, timeout=60)
    if "Failed to initialize manager" in r.stderr:  # no user manager can start here
        print("note: systemd-analyze cannot run here: %s" % r.stderr.strip()[:300])
        return
    check(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
          "systemd-analyze verify finds nothing to say about the unit", r.stdout + r.stderr)


def run_unit(root, data, tmp):
    home = os.path.join(tmp, "home")
    os.makedirs(os.path.join(home, ".config/anafs"))
    os.symlink(data, os.path.join(home, "data"))
    spec = {"h": home, "i": INSTANCE, "I": unescape(INSTANCE), "%": "%",
            "S": os.path.join(home, ".local/state"), "E": os.path.join(home, ".config")}
    svc = unit_service(os.path.join(root, UNIT))
    check(svc.get("Type") == ["simple"] and "--foreground" in svc["ExecStart"][0],
          "the unit is Type=simple with anafs mount --foreground", svc)
    # What a user puts in ~/.config/anafs/INSTANCE.env.
    mu.write(os.path.join(home, ".config/anafs/%s.env" % INSTANCE),
             "# options of anafs mount\nANAFS_MOUNT_OPTS=--no-reuse --workers 2\n")
    env = dict(os.environ, HOME=home, ANAFS_COLCACHE_DIR=os.path.join(tmp, "colcache"),
               ANAFS_CACHE_DIR=os.path.join(tmp, "cache"))
    for f in svc.get("EnvironmentFile", []):
        f = specifiers(f, spec)
        optional = f.startswith("-")
        f = f.lstrip("-")
        if os.path.exists(f) or not optional:
            env.update(env_file(f))
    check(env.get("ANAFS_MOUNT_OPTS") == "--no-reuse --workers 2",
          "the unit reads ~/.config/anafs/INSTANCE.env")
    cwd = specifiers(svc.get("WorkingDirectory", ["/"])[0], spec)
    cmd = {k: [command(specifiers(v, spec), env, root) for v in svc.get(k, [])]
           for k in ("ExecStartPre", "ExecStart", "ExecStop")}
    mnt = os.path.join(home, "ana/run2")
    state = os.path.join(home, ".local/state/anafs@" + INSTANCE)
    mu.MOUNTS.append((mnt, state))
    log = os.path.join(tmp, "daemon.log")
    mu.LOGS.append(log)
    for c in cmd["ExecStartPre"]:
        r = subprocess.run(c, capture_output=True, text=True, cwd=cwd, env=env, timeout=60)
        check(r.returncode == 0, "ExecStartPre %s" % " ".join(c), r.stderr)
    check(os.path.isdir(mnt), "ExecStartPre made ~/ana/run2 (the instance, unescaped)")
    daemon = mu.popen(cmd["ExecStart"][0], cwd=cwd, env=env, stdout=open(log, "w"),
                      stderr=subprocess.STDOUT)
    up = mu.wait_for(lambda: os.path.ismount(mnt) and os.listdir(mnt + "/jobs") is not None, 60)
    if not check(up, "ExecStart mounts ~/ana/run2", mu.read(log)):
        return
    check(os.path.isfile(os.path.join(state, "anafs.db")),
          "the instance's state is ~/.local/state/anafs@INSTANCE")
    # A relative dataset path: the unit runs in the home folder, and
    # `anafs run` of a query file there reads the same file.
    query = "dataset data/%s\ntree Events\nhist met = MET_pt bins=20 range=0,200\n" % mu.DIMUON
    qfile = os.path.join(home, "met.query")
    mu.write(qfile, query)
    mu.write(os.path.join(mnt, "jobs/met.query"), query)
    job = os.readlink(os.path.join(mnt, "jobs/met"))
    check(mu.cat_wait(mnt, job, secs=120) == "done", "the job submitted to the unit's mount is done",
          mu.read(os.path.join(mnt, "jobs", job, "error")))
    got = mu.read(os.path.join(mnt, "jobs", job, "hist.json"))
    r = subprocess.run([os.path.join(root, "usr/bin/anafs"), "run", qfile], capture_output=True,
                       text=True, env=env, timeout=120)
    check('"met"' in got and r.returncode == 0 and r.stdout == got,
          "its hist.json is the bytes of anafs run", r.stderr + got[:300] + r.stdout[:300])
    for c in cmd["ExecStop"]:
        r = subprocess.run(c, capture_output=True, text=True, cwd=cwd, env=env, timeout=60)
        check(r.returncode == 0, "ExecStop %s exits 0" % " ".join(c), r.stderr)
    check(not os.path.ismount(mnt), "after ExecStop ~/ana/run2 is unmounted")
    try:
        rc = daemon.wait(timeout=60)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, "after ExecStop the daemon is gone, exit status 0", rc)
    check(not mu.lock_holders(state), "no process holds the state folder's lock")


def main():
    build_dir, data = mu.setup(__doc__)
    for tool in ("dpkg-deb", "dpkg-shlibdeps", "readelf"):
        if not shutil.which(tool):
            print("SKIP: %s is missing (packaging/deps.sh installs dpkg-dev)" % tool)
            return 77
    tmp = mu.tmpdir("anafs-deb-")
    root = os.path.join(tmp, "root")
    deb = build(build_dir, tmp)
    if os.path.isfile(deb):
        lint(deb)
        contents(deb, root)
        verify(root, tmp)
        mu.section(run_unit, root, data, tmp, budget=180)
    return mu.finish()


if __name__ == "__main__":
    sys.exit(main())
