#!/usr/bin/python3
"""Summarize a hist.json (UHI): one line per histogram, not every bin.

usage: hist_summary.py [--bins] HIST_JSON

Each line: the name, the entries, the mean and standard deviation of the
bins (from the bin centres, weighted by their contents; flow bins left
out), underflow and overflow, a sparkline of the bins (lowest ▁ to
highest █, more than 32 bins summed in groups) and the axis label, e.g.

  hist    entries  mean     std      under  over   bins: lowest ▁ to highest █
  mjj       1.04M  238.4    160.1    0      20.6k  ▁▃▅▇████▇▇▆▆▅▅▄▄▄▃▃▃▃▂▂▂▂▂▂▁▁▁▁▁  m_{jj} [GeV]

A 2-D histogram gets its entries and axes only.  --bins prints every bin
of each 1-D histogram as well, as text bars.
"""
import json
import math
import sys

SPARK = "▁▂▃▄▅▆▇█"


def edges(axis):
    if axis["type"] == "variable":
        return axis["edges"]
    if axis["type"] in ("integer",):
        return [axis["lower"] + i for i in range(axis["upper"] - axis["lower"] + 1)]
    lo, hi, n = axis["lower"], axis["upper"], axis["bins"]
    return [lo + (hi - lo) * i / n for i in range(n + 1)]


def short(v):
    """1234567 as 1.23M: numbers that fit a summary line."""
    a = abs(v)
    for lim, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= lim:
            return "%.3g%s" % (v / lim, suffix)
    return "%.4g" % v


def split_flow(axis, values):
    """(underflow, inner bins, overflow) of a 1-D histogram's values."""
    lo = 1 if axis.get("underflow") else 0
    hi = 1 if axis.get("overflow") else 0
    inner = values[lo:len(values) - hi]
    return (values[0] if lo else 0), inner, (values[-1] if hi else 0)


def spark(inner, width=32):
    """The bins as one character each; more than width bins are summed in
    groups so that the line stays short."""
    k = max(1, math.ceil(len(inner) / width))
    inner = [sum(inner[i:i + k]) for i in range(0, len(inner), k)]
    top = max(inner) if inner else 0
    if top <= 0:
        return SPARK[0] * len(inner)
    return "".join(SPARK[min(7, int(8 * v / top))] if v > 0 else " " for v in inner)


def header(namew):
    return "%-*s  %7s  %-7s  %-7s  %-6s %-6s %s" % (namew, "hist", "entries", "mean", "std",
                                                   "under", "over", "bins: lowest ▁ to highest █")


def summary(name, h, namew):
    meta = h.get("metadata", {})
    axes = h["axes"]
    head = "%-*s  %7s" % (namew, name, short(meta.get("entries", 0)))
    if len(axes) != 1:
        shape = "x".join(str(a.get("bins", len(edges(a)) - 1)) for a in axes)
        return "%s  %d-D, %s bins (see hist.json)" % (head, len(axes), shape)
    ax = axes[0]
    under, inner, over = split_flow(ax, h["storage"]["values"])
    e = edges(ax)
    centres = [(e[i] + e[i + 1]) / 2 for i in range(len(inner))]
    tot = sum(inner)
    mean = std = "-"
    if tot > 0:
        m = sum(c * v for c, v in zip(centres, inner)) / tot
        var = sum(v * (c - m) ** 2 for c, v in zip(centres, inner)) / tot
        mean, std = short(m), short(math.sqrt(max(var, 0)))
    label = ax.get("metadata", {}).get("label", "")
    return "%s  %-7s  %-7s  %-6s %-6s %s  %s" % (head, mean, std, short(under), short(over),
                                                spark(inner), label)


def bins(h):
    ax = h["axes"][0]
    _, inner, _ = split_flow(ax, h["storage"]["values"])
    e = edges(ax)
    top = max(inner) if inner and max(inner) > 0 else 1
    for i, v in enumerate(inner):
        print(f"    [{e[i]:8.4g}, {e[i + 1]:8.4g})  {v:10.6g} {'#' * round(40 * v / top)}")


def main(args):
    every = "--bins" in args
    args = [a for a in args if a != "--bins"]
    if len(args) != 1:
        sys.exit(__doc__)
    hists = json.load(open(args[0]))
    namew = max([len(n) for n in hists] + [4])
    print(header(namew))
    for name, h in hists.items():
        print(summary(name, h, namew))
        if every and len(h["axes"]) == 1:
            bins(h)


if __name__ == "__main__":
    main(sys.argv[1:])
