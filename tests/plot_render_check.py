"""plot_render_check.py — the SVGs that test_plot and test_plot_set wrote,
as a viewer sees them.

Usage: plot_render_check.py DIR

Each DIR/*.svg must parse as XML with an <svg> root whose width and height
(640x480 unless the plot's size= says otherwise) match its viewBox, and
rsvg-convert must render it to DIR/NAME.png of that many pixels.  No text
may write a number as 2.5e+06.  Features are measured where they are drawn:
a plot named *log* has 10^n tick labels (superscripts); in stack-sum, whose
data is the sum of the stack, every data point sits on the stack's top and
every ratio point on the line at 1; a stack with data has its ratio panel
and band.  Exits 77 (skip) when rsvg-convert is not installed
(packaging/deps.sh installs it with librsvg2-bin)."""
import glob
import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

SVG_NS = "{http://www.w3.org/2000/svg}"


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


STEP = re.compile(r"[ML](-?[\d.]+) (-?[\d.]+)H(-?[\d.]+)")
E_NUMBER = re.compile(r"\d[eE][+-]?\d")


def stack_top(root):
    """The top edge of the last stacked layer: (x0, x1, y) steps."""
    paths = [p for p in root.iter(SVG_NS + "path") if p.get("class") == "stack"]
    if not paths:
        return []
    steps = [tuple(map(float, m)) for m in STEP.findall(paths[-1].get("d"))]
    return [(x0, x1, y) for x0, y, x1 in steps if x1 > x0]


def circles(group):
    return [(float(c.get("cx")), float(c.get("cy"))) for c in group.iter(SVG_NS + "circle")]


def check_stack_sum(root):
    """Data equal to the stack's sum: points on its top, ratio points on 1."""
    errors = []
    top = stack_top(root)
    data = [g for g in root.iter(SVG_NS + "g") if g.get("class") == "data"]
    ratio = [g for g in root.iter(SVG_NS + "g") if g.get("class") == "ratio"]
    if not top or len(data) != 2 or len(ratio) != 1:
        return [f"stack-sum: {len(top)} stack steps, {len(data)} data groups, {len(ratio)} ratio panels"]
    main = circles(data[0])
    if len(main) < 10:
        errors.append(f"stack-sum: only {len(main)} data points")
    for cx, cy in main:
        ys = [y for x0, x1, y in top if x0 <= cx <= x1]
        if not ys or abs(ys[0] - cy) > 0.11:
            errors.append(f"stack-sum: data point at ({cx}, {cy}) is not on the stack's top {ys}")
    one = [p for p in root.iter(SVG_NS + "path") if p.get("stroke") == "#666"]
    if not one:
        return errors + ["stack-sum: no line at 1 in the ratio panel"]
    y1 = float(one[0].get("d").split()[1].split("H")[0])
    for cx, cy in circles(ratio[0]):
        if abs(cy - y1) > 0.11:
            errors.append(f"stack-sum: ratio point at ({cx}, {cy}) is not on 1 (y {y1})")
    return errors


def check_features(name, root):
    errors = []
    texts = ["".join(t.itertext()) for t in root.iter(SVG_NS + "text")]
    for t in texts:
        if E_NUMBER.search(t):
            errors.append(f"a number in exponent form: {t!r}")
    if "log" in name:
        sup = [t for t in root.iter(SVG_NS + "text")
               if (t.text or "").endswith("10") and any(float(s.get("dy", "0")) < 0 for s in t)]
        if len(sup) < 2:
            errors.append(f"{len(sup)} tick labels 10^n with a superscript on a log plot")
    if name.startswith("stack"):
        classes = {p.get("class") for p in root.iter()}
        if "stack" not in classes or "band" not in classes:
            errors.append("a stack without its layers or band")
        if name != "stack-nodata" and "ratio" not in classes:
            errors.append("a stack with data has no ratio panel")
    if name == "stack-sum":
        errors += check_stack_sum(root)
    return errors


def check(svg):
    errors = []
    try:
        root = ET.parse(svg).getroot()
    except ET.ParseError as e:
        return [f"not well-formed XML: {e}"]
    if root.tag != SVG_NS + "svg":
        errors.append(f"root element is {root.tag}")
    w, h = root.get("width"), root.get("height")
    if root.get("viewBox") != f"0 0 {w} {h}" or not (w or "").isdigit() or not (h or "").isdigit():
        errors.append(f"width={w!r} height={h!r} viewBox={root.get('viewBox')!r}")
        return errors
    if not root.findall(f".//{SVG_NS}text"):
        errors.append("no text elements")
    errors += check_features(os.path.basename(svg)[:-4], root)
    png = svg[:-4] + ".png"
    r = subprocess.run(["rsvg-convert", "-o", png, svg], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        errors.append(f"rsvg-convert exited {r.returncode}: {r.stderr.strip()}")
    elif os.path.getsize(png) < 1000:
        errors.append(f"{png}: only {os.path.getsize(png)} bytes")
    elif png_size(png) != (int(w), int(h)):
        errors.append(f"{png}: size {png_size(png)}, expected ({w}, {h})")
    return errors


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if not shutil.which("rsvg-convert"):
        print("SKIP: rsvg-convert not installed (apt-get install librsvg2-bin)")
        sys.exit(77)
    svgs = sorted(glob.glob(os.path.join(sys.argv[1], "*.svg")))
    if len(svgs) < 5:
        sys.exit(f"only {len(svgs)} SVG files in {sys.argv[1]}")
    failed = 0
    for svg in svgs:
        errors = check(svg)
        for e in errors:
            print(f"{svg}: {e}")
        failed += bool(errors)
        if not errors:
            print(f"ok {os.path.basename(svg)} ({os.path.getsize(svg)} bytes)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
