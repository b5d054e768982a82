#!/usr/bin/python3
"""Validate hist.json files against the UHI histogram schema.

Usage: hist_schema_check.py SCHEMA PATH...   (a PATH may be a directory: its
*.json files are checked).  Each file must be strict JSON (no NaN, Infinity
or -Infinity tokens, which Python's json module would otherwise accept) and
valid under the schema (Draft 7), and its storage arrays must nest as its
axes say (one level per axis, flow bins included).  Run with Debian's
/usr/bin/python3, which has python3-jsonschema.  Exit status 0 when every file passes, 1 otherwise.
"""
import json
import os
import sys

import jsonschema


def no_constants(token):
    raise ValueError(f"non-finite number token {token!r}")


def load_strict(text):
    return json.loads(text, parse_constant=no_constants)


def axis_extent(axis):
    """Bins a storage array holds along axis, flow bins included."""
    kind = axis.get("type")
    if kind == "regular":
        n = axis["bins"]
    elif kind == "variable":
        n = len(axis["edges"]) - 1 if isinstance(axis["edges"], list) else None
    elif kind in ("category_str", "category_int"):
        return len(axis["categories"]) + bool(axis["flow"])
    elif kind == "boolean":
        return 2
    else:
        return None
    if n is None:
        return None
    return n + bool(axis["underflow"]) + bool(axis["overflow"])


def shape_of(arr):
    """The extents of a nested list that is a full N-D array, or None."""
    if not isinstance(arr, list):
        return ()
    inner = [shape_of(a) for a in arr]
    if any(i is None for i in inner) or len(set(inner)) > 1:
        return None
    return (len(arr),) + (inner[0] if inner else ())


def shape_problems(doc):
    """Storage arrays whose nesting does not match the axes (the schema
    cannot say that a histogram's arrays have its axes' extents)."""
    out = []
    for name, h in doc.items() if isinstance(doc, dict) else []:
        axes, storage = h.get("axes", []), h.get("storage", {})
        want = tuple(axis_extent(a) for a in axes)
        if None in want or "index" in storage:
            continue
        for key, arr in storage.items():
            if key == "type" or isinstance(arr, str):
                continue
            got = shape_of(arr)
            if got != want:
                out.append(f"{name}/storage/{key}: shape {got}, the axes make {want}")
    return out


def problems(validator, text):
    """Every reason text is not a valid hist.json, as strings."""
    try:
        doc = load_strict(text)
    except ValueError as e:
        return [f"not strict JSON: {e}"]
    out = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in err.absolute_path) or "(top)"
        out.append(f"{where}: {err.message}")
    if not isinstance(doc, dict):
        out.append("top level is not an object")
    elif not out:
        out += shape_problems(doc)
    return out


def self_test(validator):
    """The checker must reject what it exists to catch."""
    good = ('{"h":{"uhi_schema":1,"axes":[{"type":"regular","lower":0,"upper":1,'
            '"bins":1,"underflow":true,"overflow":true,"circular":false}],'
            '"storage":{"type":"int","values":[0,1,0]}}}')
    bad = [
        good.replace('"values":[0,1,0]', '"values":[0,NaN,0]'),
        good.replace('"upper":1', '"upper":Infinity'),
        good.replace('"bins":1', '"bins":-1'),
        good.replace('"axes"', '"metadata":{"x":[1]},"axes"'),
        good.replace('"values":[0,1,0]', '"values":[0,1]'),
        good.replace('"values":[0,1,0]', '"values":[[0],[1],[0]]'),
    ]
    assert not problems(validator, good), problems(validator, good)
    for b in bad:
        assert problems(validator, b), f"self-test: accepted {b}"


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    self_test(validator)

    files = []
    for p in argv[2:]:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, n) for n in os.listdir(p) if n.endswith(".json"))
        else:
            files.append(p)
    if not files:
        print("hist_schema_check: no JSON files found in " + " ".join(argv[2:]), file=sys.stderr)
        return 1
    failed = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        errs = problems(validator, text)
        if errs:
            failed += 1
            print(f"{path}: INVALID", file=sys.stderr)
            for e in errs[:20]:
                print(f"  {e}", file=sys.stderr)
        else:
            print(f"{path}: ok")
    print(f"hist_schema_check: {len(files) - failed}/{len(files)} valid")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
