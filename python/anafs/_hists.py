"""hist.json read back: UHI histograms as plain objects, or as hist.Hist.

The plain objects follow UHI's PlottableHistogram protocol (kind, values(),
variances(), counts(), axes with edges and labels), so mplhep.histplot and
other UHI tools take them as they are; numpy arrays when numpy is
importable, nested lists otherwise.  Standard library only.
"""
import math

try:
    import numpy as _np
except ImportError:  # pragma: no cover - exercised without numpy
    _np = None

_KINDS = {"int": "COUNT", "weighted": "COUNT", "mean": "MEAN", "weighted_mean": "MEAN"}


class Axis:
    """One axis of a histogram: regular, variable or category.

    edges: the bin edges (regular and variable axes; None for categories);
    categories: the categories (category axes; None otherwise); label and
    name from the axis's metadata; underflow, overflow: whether the stored
    values hold those bins (for a category axis overflow is its "other"
    bin).  len(axis) is the number of bins; axis[i] a bin's (lower, upper)
    or its category."""

    def __init__(self, d):
        self.type = d.get("type", "")
        meta = d.get("metadata") or {}
        self.label = meta.get("label") or meta.get("name") or ""
        self.name = meta.get("name", "")
        self.categories = None
        self.edges = None
        if self.type == "regular":
            n, lo, hi = int(d["bins"]), float(d["lower"]), float(d["upper"])
            self.edges = [lo + (hi - lo) * i / n for i in range(n + 1)]
        elif self.type == "variable":
            self.edges = [float(e) for e in d["edges"]]
        elif self.type in ("category_int", "category_str"):
            self.categories = list(d["categories"])
        else:
            raise ValueError("hist.json: unknown axis type %r" % self.type)
        if self.categories is not None:
            self.underflow, self.overflow = False, bool(d.get("flow", False))
        else:
            self.underflow = bool(d.get("underflow", True))
            self.overflow = bool(d.get("overflow", True))
        self.traits = _Traits(bool(d.get("circular", False)), self.categories is not None)
        if _np is not None and self.edges is not None:
            self.edges = _np.asarray(self.edges)

    @property
    def centers(self):
        if self.edges is None:
            return None
        c = [(a + b) / 2 for a, b in zip(list(self.edges[:-1]), list(self.edges[1:]))]
        return _np.asarray(c) if _np is not None else c

    @property
    def widths(self):
        if self.edges is None:
            return None
        w = [b - a for a, b in zip(list(self.edges[:-1]), list(self.edges[1:]))]
        return _np.asarray(w) if _np is not None else w

    def __len__(self):
        return len(self.categories) if self.categories is not None else len(self.edges) - 1

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, i):
        if self.categories is not None:
            return self.categories[i]
        return (float(self.edges[i]), float(self.edges[i + 1]))

    def _flow_slice(self):
        """The stored bins that are not flow bins."""
        return slice(1 if self.underflow else 0, (1 if self.underflow else 0) + len(self))

    def __repr__(self):
        if self.categories is not None:
            return "Axis(%s %r, label=%r)" % (self.type, self.categories, self.label)
        return "Axis(%s, %d bins from %g to %g, label=%r)" % (
            self.type, len(self), self.edges[0], self.edges[-1], self.label)


class _Traits:
    def __init__(self, circular, discrete):
        self.circular, self.discrete = circular, discrete


def _cut(a, slices):
    """a (nested lists or an array) without the flow bins: slices[d] per axis."""
    if _np is not None:
        return _np.asarray(a, dtype=float)[tuple(slices)]

    def rec(x, d):
        if d == len(slices):
            return x
        return [rec(e, d + 1) for e in x[slices[d]]]
    return rec(a, 0)


class Hist:
    """A histogram of hist.json as a plain object (no hist package needed).

    name, title, value_label, entries, skipped_fills from its metadata;
    axes (Axis); storage_type ("int", "weighted", "mean", "weighted_mean").
    values(), variances(), counts() leave the flow bins out unless
    flow=True; edges is the first axis's edges (1-D) or a tuple of every
    axis's.  For a 1-D histogram plot() draws it with matplotlib."""

    def __init__(self, name, d):
        self.name = name
        meta = d.get("metadata") or {}
        self.title = meta.get("title", "")
        self.value_label = meta.get("value_label", "")
        self.entries = meta.get("entries")
        self.skipped_fills = meta.get("skipped_fills")
        self.axes = [Axis(a) for a in d["axes"]]
        st = d["storage"]
        self.storage_type = st["type"]
        if self.storage_type not in _KINDS:
            raise ValueError("hist.json: %s: unknown storage %r" % (name, self.storage_type))
        self.kind = _KINDS[self.storage_type]
        self._st = st
        self.ndim = len(self.axes)

    def _field(self, key, flow):
        a = self._st.get(key)
        if a is None:
            return None
        if flow:
            return _np.asarray(a, dtype=float) if _np is not None else a
        return _cut(a, [ax._flow_slice() for ax in self.axes])

    def values(self, flow=False):
        """Counts (int), sums of weights (weighted) or means (profiles)."""
        return self._field("values", flow)

    def variances(self, flow=False):
        """UHI's variances: counts for int storage (Poisson), sums of squared
        weights for weighted, the variance of a profile's sample."""
        if self.storage_type == "int":
            return self._field("values", flow)
        return self._field("variances", flow)

    def counts(self, flow=False):
        """Fill counts: the values of int storage, the effective counts
        (sumw^2 / sumw2) of weighted storage, a profile's counts."""
        if self.storage_type == "int":
            return self.values(flow)
        if self.storage_type == "mean":
            return self._field("counts", flow)
        key = "values" if self.storage_type == "weighted" else "sum_of_weights"
        key2 = "variances" if self.storage_type == "weighted" else "sum_of_weights_squared"
        w, w2 = self._field(key, flow), self._field(key2, flow)
        if _np is not None:
            with _np.errstate(divide="ignore", invalid="ignore"):
                return _np.where(w2 > 0, w * w / _np.where(w2 > 0, w2, 1), 0.0)
        return _map2(lambda a, b: a * a / b if b > 0 else 0.0, w, w2)

    @property
    def edges(self):
        e = [a.edges for a in self.axes]
        return e[0] if self.ndim == 1 else tuple(e)

    def sum(self, flow=False):
        return _total(self.values(flow))

    def plot(self, ax=None, **kw):
        """Draw a 1-D histogram as a step line with matplotlib (which must be
        installed); returns the matplotlib Axes."""
        import matplotlib.pyplot as plt  # only when asked for
        if self.ndim != 1 or self.axes[0].edges is None:
            raise ValueError("%s: plot() draws 1-D histograms of a regular or variable axis"
                             % self.name)
        ax = ax or plt.gca()
        e, v = list(self.axes[0].edges), list(self.values())
        ax.stairs(v, e, label=kw.pop("label", self.name), **kw)
        ax.set_xlabel(self.axes[0].label)
        ax.set_ylabel(self.value_label or "Entries")
        if self.title:
            ax.set_title(self.title)
        return ax

    def __repr__(self):
        return "anafs.Hist(%r, %s, %s, entries=%s)" % (
            self.name, self.storage_type, " x ".join(str(len(a)) for a in self.axes),
            self.entries)


def _map2(f, a, b):
    if isinstance(a, list):
        return [_map2(f, x, y) for x, y in zip(a, b)]
    return f(a, b)


def _total(a):
    if _np is not None:
        return float(_np.sum(a))
    if isinstance(a, list):
        return math.fsum(_total(x) for x in a)
    return float(a)


def to_hist_hist(name, d):
    """d as a hist.Hist, through uhi.io.json where hist can read UHI (hist
    2.8 and later); None when the installed hist cannot."""
    if not have_hist():
        return None
    import json

    import hist
    from uhi.io import json as uhi_json
    obj = json.loads(json.dumps(d), object_hook=uhi_json.object_hook)
    h = hist.Hist(obj)
    if not h.name:
        try:
            h.name = name
        except AttributeError:
            pass
    return h


def have_hist():
    """Whether hist.Hist objects can be made from hist.json here: hist with
    UHI serialization (hist 2.8, boost-histogram 1.5) and uhi.io.json."""
    try:
        import hist
        from uhi.io import json  # noqa: F401
    except ImportError:
        return False
    return hasattr(hist.Hist, "_from_uhi_")


def read_hists(doc, kind="auto"):
    """{name: histogram} of a parsed hist.json.  kind: "auto" (hist.Hist
    when hist reads UHI, else Hist), "hist" (hist.Hist, ImportError
    without it) or "plain" (Hist)."""
    if kind not in ("auto", "hist", "plain"):
        raise ValueError("kind must be 'auto', 'hist' or 'plain', not %r" % kind)
    use_hist = kind == "hist" or (kind == "auto" and have_hist())
    if kind == "hist" and not have_hist():
        raise ImportError("hists(kind='hist') needs the packages hist and uhi")
    out = {}
    for name, d in doc.items():
        out[name] = to_hist_hist(name, d) if use_hist else Hist(name, d)
    return out
