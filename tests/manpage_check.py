#!/usr/bin/python3
"""The man pages against the command: every subcommand that `anafs help`
lists has its entry in anafs(1) (a tag in COMMANDS and a SYNOPSIS line),
every option `anafs help` shows is named there, anafs-query(5) has every
statement and histogram option of docs/query.md's tables, and man renders
anafs(1) and anafs-query(5) without a warning (MANWIDTH=80 man --warnings
-l).

Usage: manpage_check.py ANAFS PACKAGING_DIR

Exit status: 0 when every check passed, 1 otherwise, 77 when man is missing.
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mount_util import FAILED, check  # noqa: E402 (ok/FAIL lines, as every test prints them)

def render(page):
    r = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING=""))
    check(r.returncode == 0 and not r.stderr.strip(),
          "man renders %s without a warning" % os.path.basename(page), r.stderr)
    # Plain text: no overstrike (bold, underline) and no hyphenation marks.
    return re.sub(r".\x08", "", r.stdout).replace("\u2010", "-").replace("\u2212", "-")


def section(text, name):
    m = re.search(r"^%s\n(.*?)(?=^\S)" % re.escape(name), text, re.M | re.S)
    return m.group(1) if m else ""


def render_quiet(page):
    r = subprocess.run(["man", "-l", page], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MANWIDTH="80"))
    return re.sub(r".\x08", "", r.stdout).replace("\u2010", "-").replace("\u2212", "-")


def table(md, heading):
    """The first column of the table under a heading of docs/query.md."""
    m = re.search(r"^#+ %s\n(.*?)(?=^#)" % re.escape(heading), md, re.M | re.S)
    rows = re.findall(r"^\| (.*?) \|", m.group(1) if m else "", re.M)
    return [r for r in rows if r not in ("statement", "option") and not r.startswith("---")]


def query_page(page, query_md):
    """anafs-query(5) against docs/query.md: every statement and every
    histogram option of its tables."""
    md = open(query_md, encoding="utf-8").read()
    stmts = {re.match(r"`(\w+)", r).group(1) for r in table(md, "Statements")
             if re.match(r"`(\w+)", r)}
    statements = section(page, "STATEMENTS") + section(page, "SYNOPSIS")
    missing = sorted(w for w in stmts if not re.search(r"(?<![\w-])%s\b" % w, statements))
    check(len(stmts) >= 10 and not missing,
          "anafs-query(5) has every statement of docs/query.md", missing or stmts)
    opts = {o for r in table(md, "Histogram options") for o in re.findall(r"(\w+)=", r)}
    missing = sorted(o for o in opts if not re.search(r"(?<![\w-])%s=" % o, page))
    check(len(opts) >= 8 and not missing,
          "anafs-query(5) has every histogram option of docs/query.md", missing or opts)


def help_commands(anafs):
    """The commands `anafs help` lists, and the options on their lines."""
    r = subprocess.run([anafs, "help"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "anafs help exits 0", r.stderr)
    cmds, opts, body = [], set(), r.stdout.split("commands:", 1)[-1]
    for line in body.splitlines():
        m = re.match(r"^  (\S+)", line)
        if m:
            cmds.append(m.group(1))
        # A command's line, or its usage continued (indented less than
        # the descriptions' column): the options it shows.
        if line.startswith("  ") and not line.startswith(" " * 20):
            usage = re.split(r"\s{2,}", line.strip())[0]
            opts.update(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", usage))
    return cmds, opts


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    if not shutil.which("man"):
        print("SKIP: man is missing (man-db)")
        return 77
    anafs, pkg = sys.argv[1], sys.argv[2]
    page = render(os.path.join(pkg, "anafs.1"))
    render(os.path.join(pkg, "anafs-query.5"))
    cmds, opts = help_commands(anafs)
    check(len(cmds) >= 10, "anafs help lists the commands", cmds)
    commands, synopsis = section(page, "COMMANDS"), section(page, "SYNOPSIS")
    tags = {line.split()[0] for line in commands.splitlines()
            if re.match(r"^ {7}\S", line)}
    for c in cmds:
        check(c in tags, "anafs(1) describes '%s' in COMMANDS" % c, sorted(tags))
        check(re.search(r"^\s+anafs %s\b" % re.escape(c), synopsis, re.M) is not None,
              "anafs(1) has '%s' in its SYNOPSIS" % c)
    missing = sorted(o for o in opts if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o),
                                                       page))
    check(not missing, "every option anafs help shows is in anafs(1)", missing)
    for s in ("ENVIRONMENT", "EXIT STATUS", "EXAMPLES", "FILES", "THE FILES OF A MOUNT"):
        check(section(page, s).strip() != "", "anafs(1) has a section %s" % s)
    query_page(render_quiet(os.path.join(pkg, "anafs-query.5")),
               os.path.join(os.path.dirname(pkg), "docs/query.md"))
    for var in ("ANAFS_MOUNT", "ANAFS_COLCACHE_DIR", "ANAFS_XRD_TIMEOUT", "ANAFS_CACHE_DIR"):
        check(var in section(page, "ENVIRONMENT"), "anafs(1) ENVIRONMENT names %s" % var)
    print("%d check(s) failed" % len(FAILED) if FAILED else "all checks passed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
