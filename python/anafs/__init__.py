"""anafs — analysis jobs of an anafs mount, from Python and Jupyter.

An anafs mount serves every job as files (docs/mount.md); this module only
reads those files and, to submit, writes a query file into jobs/.  Jobs
belong to the mount's daemon: closing the notebook or the kernel loses
nothing, and a new kernel picks the job up by its number or name.

    import anafs
    job = anafs.submit("dimuon.query", mount="~/ana")   # or anafs.Job(3)
    job.live()                      # plots and progress, redrawn until the job ends
    job.wait()                      # 'done'
    h = job.hists()["mass"]         # hist.Hist when hist is installed
    print(job.summary)

The mount defaults to $ANAFS_MOUNT.  Standard library only; numpy, hist and
IPython are used when importable.
"""
import json
import os
import time

from ._hists import Axis, Hist, have_hist, read_hists
from ._live import live as _live

__all__ = ["Job", "submit", "jobs", "Hist", "Axis", "have_hist", "OVER", "AnafsError"]
__version__ = "0.1.0"

OVER = ("done", "failed", "cancelled", "invalid")
"""The statuses of a job that is over: it never changes again."""


class AnafsError(Exception):
    """A job or mount that is not what was asked for (no such job, no
    mount given, a submission whose job cannot be found)."""


def _mount_of(mount):
    m = mount if mount is not None else os.environ.get("ANAFS_MOUNT")
    if not m:
        raise AnafsError("no mount: pass mount=... or set $ANAFS_MOUNT")
    m = os.path.abspath(os.path.expanduser(str(m)))
    if not os.path.isdir(os.path.join(m, "jobs")):
        raise AnafsError("%s is not an anafs mount (it has no jobs/ folder)" % m)
    return m


def _text(name, doc, results=False, strip=False):
    """A property reading jobs/N/name; a results file an invalid job lacks
    reads as ""."""
    def get(self):
        try:
            t = self._read(name)
        except FileNotFoundError:
            if not results:
                raise
            return ""
        return t.rstrip("\n") if strip else t
    return property(get, doc=doc)


class Job:
    """One job of a mount: Job(3), Job("dimuon"), Job("~/ana/jobs/3").

    A name means the newest job of that name when the Job is made (the
    mount's jobs/NAME symlink); the Job then stays that job.  A path to a
    job's folder (or to a jobs/NAME link) needs no mount.  Reading any
    property reads the job's files again: it is always current."""

    def __init__(self, job, mount=None):
        self.name = None
        spec = os.path.expanduser(str(job))
        if isinstance(job, int) or spec.isdigit():
            self.mount = _mount_of(mount)
            self.number = int(spec)
        elif os.sep in spec or (mount is None and os.path.isdir(spec)):
            real = os.path.realpath(spec)
            base, number = os.path.split(real)
            if not number.isdigit() or os.path.basename(base) != "jobs":
                raise AnafsError("%s is not a job's folder (MOUNT/jobs/N)" % spec)
            self.mount, self.number = os.path.dirname(base), int(number)
            if os.path.islink(spec):
                self.name = os.path.basename(spec.rstrip(os.sep))
        else:
            self.mount = _mount_of(mount)
            link = os.path.join(self.mount, "jobs", spec)
            try:
                self.number = int(os.readlink(link))
            except (OSError, ValueError):
                raise AnafsError("no job named %r in %s" % (spec, self.mount)) from None
            self.name = spec
        self.path = os.path.join(self.mount, "jobs", str(self.number))
        if not os.path.isdir(self.path):
            raise AnafsError("no job %d in %s" % (self.number, self.mount))

    def _read(self, name, mode="r"):
        with open(os.path.join(self.path, name), mode) as f:
            return f.read()

    # ---- what the job says ----

    @property
    def status(self):
        """One word: queued, running, paused, done, failed, cancelled, invalid."""
        return self._read("status").strip()

    @property
    def over(self):
        """Whether the job has ended (its results are final)."""
        return self.status in OVER

    @property
    def progress(self):
        """progress.json as a dict: percent, events_done, events_total,
        tasks_done, tasks_total, workers, rate, eta_seconds, status, ..."""
        return json.loads(self._read("progress.json"))

    progress_line = _text("progress", "The one-line progress text (jobs/N/progress).",
                          strip=True)
    query = _text("query", "The submitted text, byte for byte.")
    error = _text("error", 'Why the job is invalid or failed; "" otherwise.')
    cutflow = _text("cutflow", 'The cutflow table as text; "" for an invalid job.', results=True)
    summary = _text("summary", "One line per histogram: entries, mean, std, underflow, "
                    'overflow; "" for an invalid job.', results=True)
    log = _text("log", "The job's log: timestamped lines.")

    def hist_json(self):
        """hist.json as a dict (partial while the job runs)."""
        return json.loads(self._read("hist.json"))

    def hists(self, kind="auto"):
        """{name: histogram} from hist.json.  kind "auto": hist.Hist objects
        when hist (with UHI serialization) is installed, else anafs.Hist
        (values(), variances(), axes[i].edges, as numpy arrays when numpy is
        there); "hist" or "plain" to choose.  Partial while running."""
        return read_hists(self.hist_json(), kind)

    def hist(self, name, kind="auto"):
        """One histogram of hists(); KeyError names the ones there are."""
        h = self.hists(kind)
        if name not in h:
            raise KeyError("job %d has no histogram %r (it has %s)"
                           % (self.number, name, ", ".join(h) or "none"))
        return h[name]

    def svg_names(self):
        """The histograms that have a plot (hist/NAME.svg), in hist.json's order."""
        try:
            files = os.listdir(os.path.join(self.path, "hist"))
        except FileNotFoundError:
            return []
        svgs = {f[:-4] for f in files if f.endswith(".svg")}
        try:
            order = list(self.hist_json())
        except (OSError, ValueError):
            order = []
        return [n for n in order if n in svgs] + sorted(svgs - set(order))

    def svg(self, name):
        """The SVG text of histogram name's plot."""
        return self._read(os.path.join("hist", name + ".svg"))

    # ---- waiting and watching ----

    def wait(self, timeout=None, poll=0.25):
        """Block until the job is over; return its final status.  Without a
        timeout it reads jobs/N/wait, which the mount answers when the job
        ends; with one it polls the status and raises TimeoutError when
        timeout seconds pass first (the job goes on)."""
        if timeout is None:
            while True:
                s = self._read("wait").strip()
                if s in OVER:
                    return s
                time.sleep(poll)  # an interrupted read: ask again
        end = time.monotonic() + timeout
        while True:
            s = self.status
            if s in OVER:
                return s
            if time.monotonic() >= end:
                raise TimeoutError("job %d is still %s after %g s" % (self.number, s, timeout))
            time.sleep(min(poll, max(0.0, end - time.monotonic())))

    def live(self, interval=1.0, timeout=None, names=None, out=None):
        """Show the job's plots and progress, redrawn as the job advances,
        until it ends (or timeout seconds pass); returns its status then.
        In a notebook: one output area updated in place (IPython.display);
        elsewhere: a progress line printed each time it changes (to out,
        default sys.stdout).  names: the histograms to show (default all).
        Interrupting the kernel stops the display, not the job."""
        return _live(self, interval=interval, timeout=timeout, names=names, out=out)

    # ---- control ----

    def ctl(self, command):
        """Write cancel, pause, resume or rerun to jobs/N/ctl."""
        with open(os.path.join(self.path, "ctl"), "w") as f:
            f.write(command + "\n")

    def cancel(self):
        self.ctl("cancel")

    def __eq__(self, other):
        return isinstance(other, Job) and (self.mount, self.number) == (other.mount, other.number)

    def __hash__(self):
        return hash((self.mount, self.number))

    def __repr__(self):
        try:
            st = self.status
        except OSError:
            st = "?"
        return "anafs.Job(%d%s, %s, mount=%r)" % (
            self.number, ", %r" % self.name if self.name else "", st, self.mount)


def jobs(mount=None):
    """Every job of the mount, by number."""
    m = _mount_of(mount)
    nums = sorted(int(n) for n in os.listdir(os.path.join(m, "jobs")) if n.isdigit())
    return [Job(n, mount=m) for n in nums]


def _query_text(text_or_path):
    """(text, name from the path or None)."""
    s = str(text_or_path)
    if "\n" not in s and s.strip() and os.path.isfile(os.path.expanduser(s)):
        p = os.path.expanduser(s)
        with open(p) as f:
            base = os.path.basename(p)
            return f.read(), base[:-6] if base.endswith(".query") else base
    return s, None


def submit(text_or_path, name=None, mount=None):
    """Submit a query: write it as MOUNT/jobs/NAME.query (nothing else) and
    return the new Job.  text_or_path is the query's text or a query file's
    path (name then defaults to the file's name without .query); name
    defaults to "notebook" for text.  A query that does not parse still
    makes a job, whose status is invalid and whose error says why.  Dataset
    paths that are relative start at the folder where the mount was made."""
    text, from_path = _query_text(text_or_path)
    name = name or from_path or "notebook"
    if name.endswith(".query"):
        name = name[:-6]
    if not name or "/" in name or name.startswith(".") or name.isdigit():
        raise ValueError("bad job name %r: a file name, not all digits" % name)
    m = _mount_of(mount)
    jobs_dir = os.path.join(m, "jobs")
    link = os.path.join(jobs_dir, name)
    before = _newest(jobs_dir)
    with open(link + ".query", "w") as f:
        f.write(text)
    # At close() the mount made the job and pointed jobs/NAME at it.
    try:
        n = int(os.readlink(link))
    except (OSError, ValueError):
        n = None
    if n is None or n <= before or _job_text(jobs_dir, n) != text:
        n = _find_submitted(jobs_dir, before, text)
    job = Job(n, mount=m)
    job.name = name
    return job


def _newest(jobs_dir):
    return max((int(d) for d in os.listdir(jobs_dir) if d.isdigit()), default=0)


def _job_text(jobs_dir, n):
    try:
        with open(os.path.join(jobs_dir, str(n), "query")) as f:
            return f.read()
    except OSError:
        return None


def _find_submitted(jobs_dir, before, text):
    """Another submission of the same name raced ours: our job is the
    newest one after `before` whose query is our text."""
    for n in sorted((int(d) for d in os.listdir(jobs_dir) if d.isdigit()), reverse=True):
        if n <= before:
            break
        if _job_text(jobs_dir, n) == text:
            return n
    raise AnafsError("the query was written to %s, but no new job with its text appeared"
                     % jobs_dir)
