"""plot_render_check.py — the SVGs that test_plot wrote, as a viewer sees them.

Usage: plot_render_check.py DIR

Each DIR/*.svg must parse as XML with an <svg> root of 640x480 and a viewBox,
and rsvg-convert must render it to DIR/NAME.png: a PNG of 640x480 pixels.
Exits 77 (skip) when rsvg-convert is not installed (packaging/deps.sh
installs it with librsvg2-bin)."""
import glob
import os
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


def check(svg):
    errors = []
    try:
        root = ET.parse(svg).getroot()
    except ET.ParseError as e:
        return [f"not well-formed XML: {e}"]
    if root.tag != SVG_NS + "svg":
        errors.append(f"root element is {root.tag}")
    for attr, want in (("width", "640"), ("height", "480"), ("viewBox", "0 0 640 480")):
        if root.get(attr) != want:
            errors.append(f"{attr}={root.get(attr)!r}, expected {want!r}")
    if not root.findall(f".//{SVG_NS}text"):
        errors.append("no text elements")
    png = svg[:-4] + ".png"
    r = subprocess.run(["rsvg-convert", "-o", png, svg], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        errors.append(f"rsvg-convert exited {r.returncode}: {r.stderr.strip()}")
    elif os.path.getsize(png) < 1000:
        errors.append(f"{png}: only {os.path.getsize(png)} bytes")
    elif png_size(png) != (640, 480):
        errors.append(f"{png}: size {png_size(png)}, expected (640, 480)")
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
