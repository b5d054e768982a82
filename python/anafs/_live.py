"""Job.live(): the job's plots and progress, redrawn while it runs.

In a Jupyter kernel the display is one output area (IPython.display with a
display_id) replaced in place: a progress bar with the mount's progress
line, then every plot of hist/ as an inline SVG image.  The plots are read
again only when the job's result changed (hist.json's mtime moved).
Anywhere else the progress line is printed each time it changes, and the
summary once the job ends.  Nothing is written: stopping the display (or
closing the notebook) leaves the job running in the mount's daemon.
"""
import base64
import html
import os
import sys
import time


def in_notebook():
    """Whether we run in a Jupyter kernel (IPython with a kernel)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and hasattr(ip, "kernel")


def _result_key(job):
    try:
        st = os.stat(os.path.join(job.path, "hist.json"))
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _plots_html(job, names):
    parts = []
    for n in names:
        try:
            svg = job.svg(n)
        except OSError:
            continue
        b64 = base64.b64encode(svg.encode()).decode("ascii")
        parts.append('<img src="data:image/svg+xml;base64,%s" alt="%s" title="%s" '
                     'style="width:360px;margin:2px">' % (b64, html.escape(n), html.escape(n)))
    return '<div class="anafs-plots" style="display:flex;flex-wrap:wrap">%s</div>' % "".join(parts)


def _progress_html(job, line, pct, status):
    colour = {"done": "#2a7d2a", "failed": "#b22", "invalid": "#b22",
              "cancelled": "#888"}.get(status, "#1f4e9c")
    return ('<div class="anafs-progress" style="font-family:monospace;margin:4px 0">'
            '<b>job %d</b>%s <progress value="%.1f" max="100" style="width:16em;'
            'accent-color:%s"></progress><br>%s</div>'
            % (job.number, " (%s)" % html.escape(job.name) if job.name else "", pct, colour,
               html.escape(line.strip())))


def _state(job):
    """(status, percent, progress line), read from the mount."""
    try:
        p = job.progress
        return p.get("status", "?"), float(p.get("percent") or 0), job.progress_line
    except (OSError, ValueError):
        s = job.status
        return s, 0.0, s


def live(job, interval=1.0, timeout=None, names=None, out=None):
    """See Job.live()."""
    end = None if timeout is None else time.monotonic() + timeout
    notebook = out is None and in_notebook()
    out = out or sys.stdout
    handle, last_key, plots, last_html, last_line = None, object(), "", None, None
    status = job.status
    try:
        while True:
            status, pct, line = _state(job)
            over = status in ("done", "failed", "cancelled", "invalid")
            if notebook:
                key = _result_key(job)
                if key != last_key:
                    last_key = key
                    plots = _plots_html(job, names if names is not None else job.svg_names())
                page = _progress_html(job, line, pct, status) + plots
                if over and job.error:
                    page += "<pre>%s</pre>" % html.escape(job.error)
                if page != last_html:
                    handle = _show(handle, page)
                    last_html = page
            elif line != last_line:
                out.write(line.strip() + "\n")
                out.flush()
                last_line = line
            if over:
                if not notebook:
                    out.write(job.error or job.summary)
                    out.flush()
                return status
            if end is not None and time.monotonic() >= end:
                return status
            time.sleep(interval if end is None else max(0.0, min(interval,
                                                                  end - time.monotonic())))
    except KeyboardInterrupt:
        msg = "display stopped; job %d goes on (%s)" % (job.number, status)
        if notebook:
            _show(handle, (last_html or "") + "<p><i>%s</i></p>" % html.escape(msg))
        else:
            out.write(msg + "\n")
        return status


def _show(handle, page):
    from IPython.display import HTML, display
    if handle is None:
        return display(HTML(page), display_id=True)
    handle.update(HTML(page))
    return handle
