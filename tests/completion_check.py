#!/usr/bin/python3
"""Bash completion of anafs (packaging/anafs.bash-completion), run as bash
runs it: `bash -c` sources the file, sets COMP_WORDS and COMP_CWORD, calls
the completion function and prints COMPREPLY.  Checked: every subcommand of
`anafs help`, each subcommand's options, option values (--backend,
folders), query and ROOT files, and the job numbers and names of a mount
($ANAFS_MOUNT, or --mount DIR on the line) for watch and status, from a
plain folder laid out as a mount's jobs/ is.

Usage: completion_check.py ANAFS COMPLETION_FILE

Exit status: 0 when every check passed, 1 otherwise.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mount_util import FAILED, check  # noqa: E402 (ok/FAIL lines, as every test prints them)


OPTIONS = {
    "ls": {"--json"},
    "run": {"-j", "--cutflow", "-o", "--hist-memory"},
    "mount": {"--state", "--workers", "--backend", "--set", "--foreground", "--allow-other",
              "--hist-memory", "--no-reuse"},
    "umount": {"--state"},
    "submit": {"--mount", "--name"},
    "watch": {"--mount", "--interval"},
    "status": {"--mount", "--json"},
    "workers": {"--mount", "--scale"},
    "worker": {"--connect", "--secret-file", "--state", "--linger", "--time-limit"},
    "cache": {"--dir", "--json"},
}


class Completer:
    def __init__(self, script):
        self.script = script

    def __call__(self, words, cwd=None, mount=None):
        """COMPREPLY for the command line words (the last one being
        completed), as a set."""
        arr = " ".join("'%s'" % w.replace("'", "'\\''") for w in words)
        code = ("source '%s' || exit 3\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\nCOMP_LINE=\"${COMP_WORDS[*]}\"\n"
                "_anafs\nprintf '%%s\\n' \"${COMPREPLY[@]}\"\n"
                % (self.script, arr, len(words) - 1))
        env = {k: v for k, v in os.environ.items() if k != "ANAFS_MOUNT"}
        if mount:
            env["ANAFS_MOUNT"] = mount
        r = subprocess.run(["bash", "--norc", "--noprofile", "-c", code], capture_output=True,
                           text=True, cwd=cwd, env=env, timeout=30)
        if r.returncode != 0 or r.stderr:
            check(False, "completion of %r runs cleanly" % words, r.stderr)
        return {w for w in r.stdout.splitlines() if w}


def help_commands(anafs):
    r = subprocess.run([anafs, "help"], capture_output=True, text=True, timeout=30)
    return [m.group(1) for m in re.finditer(r"^  (\S+)", r.stdout.split("commands:", 1)[-1], re.M)]


def fake_mount(top, jobs, names):
    """A folder laid out as a mount's jobs/: N/ folders, NAME -> N links,
    NAME.query files, an editor's scratch file."""
    d = os.path.join(top, "jobs")
    os.makedirs(d)
    for n in jobs:
        os.mkdir(os.path.join(d, str(n)))
    for name, n in names.items():
        os.symlink(str(n), os.path.join(d, name))
        open(os.path.join(d, name + ".query"), "w").close()
    open(os.path.join(d, ".%s.query.swp" % next(iter(names))), "w").close()
    return top


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    anafs, script = sys.argv[1], os.path.abspath(sys.argv[2])
    comp = Completer(script)
    tmp = tempfile.mkdtemp(prefix="anafs-completion-")
    try:
        cmds = help_commands(anafs)
        got = comp(["anafs", ""])
        check(len(cmds) >= 10 and set(cmds) <= got,
              "every subcommand of anafs help completes", sorted(set(cmds) - got))
        check(set(OPTIONS) <= got, "watch and status complete too", sorted(set(OPTIONS) - got))
        check(comp(["anafs", "wo"]) == {"worker", "workers"}, "anafs wo<TAB>: worker, workers")
        for cmd, opts in OPTIONS.items():
            got = comp(["anafs", cmd, "-"])
            check(opts <= got, "anafs %s -<TAB> offers its options" % cmd, sorted(opts - got))
        check(comp(["anafs", "mount", "--hist"]) == {"--hist-memory"}, "options complete by prefix")
        check(comp(["anafs", "mount", "d", "--backend", ""]) == {"local", "slurm", "htcondor",
                                                                 "threads"},
              "--backend offers the backends")
        check(comp(["anafs", "cache", ""]) == {"ls", "stat", "purge"}, "anafs cache <TAB>")

        files = os.path.join(tmp, "files")
        os.makedirs(os.path.join(files, "sub"))
        for f in ("a.query", "b.root", "c.txt"):
            open(os.path.join(files, f), "w").close()
        check(comp(["anafs", "run", ""], cwd=files) == {"a.query", "sub"},
              "anafs run <TAB>: query files and folders")
        check(comp(["anafs", "submit", ""], cwd=files) == {"a.query", "sub"},
              "anafs submit <TAB>: query files and folders")
        check(comp(["anafs", "ls", ""], cwd=files) == {"b.root", "sub"},
              "anafs ls <TAB>: ROOT files and folders")
        check(comp(["anafs", "mount", ""], cwd=files) == {"sub"}, "anafs mount <TAB>: folders")
        check(comp(["anafs", "mount", "sub", "--state", ""], cwd=files) == {"sub"},
              "--state <TAB>: folders")
        check(comp(["anafs", "run", "a.query", "-o", ""], cwd=files) == {"a.query", "b.root",
                                                                         "c.txt", "sub"},
              "-o <TAB>: any file")

        m1 = fake_mount(os.path.join(tmp, "m1"), [1, 2, 10], {"dimuon": 1, "met": 10})
        m2 = fake_mount(os.path.join(tmp, "m 2"), [1, 3], {"jets": 3})
        check(comp(["anafs", "watch", ""], mount=m1) == {"1", "2", "10", "dimuon", "met"},
              "anafs watch <TAB>: job numbers and names of $ANAFS_MOUNT")
        check(comp(["anafs", "watch", "1", "d"], mount=m1) == {"dimuon"},
              "anafs watch 1 d<TAB>: dimuon")
        check(comp(["anafs", "status", "--mount", m2.replace(" ", "\\ "), ""], mount=m1)
              == {"1", "3", "jets"},
              "--mount DIR on the line wins over $ANAFS_MOUNT (a path with a space)")
        check(comp(["anafs", "watch", "--mount", "'%s'" % m2, ""]) == {"1", "3", "jets"},
              "--mount 'DIR' quoted")
        check(comp(["anafs", "watch", ""]) == set(), "no mount: no job offered")
        home = os.path.join(tmp, "home")
        fake_mount(os.path.join(home, "ana"), [7], {"x": 7})
        os.environ["HOME"] = home
        check(comp(["anafs", "watch", "--mount", "~/ana", ""]) == {"7", "x"},
              "--mount ~/ana: ~ is the home folder")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d check(s) failed" % len(FAILED) if FAILED else "all checks passed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
