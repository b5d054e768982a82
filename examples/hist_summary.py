#!/usr/bin/python3
"""Print a hist.json (UHI) as text: each 1-D histogram as a bar chart.

usage: hist_summary.py HIST_JSON
"""
import json
import sys


def edges(axis):
    if axis["type"] == "variable":
        return axis["edges"]
    lo, hi, n = axis["lower"], axis["upper"], axis["bins"]
    return [lo + (hi - lo) * i / n for i in range(n + 1)]


def main(path):
    hists = json.load(open(path))
    for name, h in hists.items():
        meta = h.get("metadata", {})
        title = meta.get("title", "")
        print(f"{name}: {meta.get('entries', 0)} entries" + (f"  ({title})" if title else ""))
        if len(h["axes"]) != 1:
            print(f"  {len(h['axes'])}-D histogram, see the JSON")
            continue
        values = h["storage"]["values"]
        e = edges(h["axes"][0])
        inner = values[1:-1]
        top = max(inner) if inner and max(inner) > 0 else 1
        for i, v in enumerate(inner):
            bar = "#" * round(40 * v / top)
            print(f"  [{e[i]:8.4g}, {e[i + 1]:8.4g})  {v:10.6g} {bar}")
        print(f"  underflow {values[0]:g}, overflow {values[-1]:g}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
