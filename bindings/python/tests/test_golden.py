"""Format-v1 golden files (tests/golden/*.wagg, made once by
tests/golden/make_golden.c) through the Python binding.

Each file is restored with ``Aggregator.from_bytes`` and must answer what
``golden.json`` says (count, min, max, bounds, counters exact; sum, mean,
variance, stddev to 1e-12 relative; quantiles exact), give the same bytes
back from ``to_bytes``, and damaged copies must raise CorruptStateError /
StateVersionError.
"""

from __future__ import annotations

import json
import math
import os
import struct
from typing import Any, Dict, List

import numpy as np
import pytest

import windowagg

GOLDEN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests", "golden")
_INT64_MIN = -(2**63)


def _golden() -> Dict[str, Any]:
    with open(os.path.join(GOLDEN_DIR, "golden.json")) as f:
        g = json.load(f)
    assert g["format_version"] == 1 and len(g["files"]) >= 4
    return g


GOLDEN = _golden()
FILES = [f["file"] for f in GOLDEN["files"]]


def _entry(name: str) -> Dict[str, Any]:
    return next(f for f in GOLDEN["files"] if f["file"] == name)


def _read(name: str) -> bytes:
    with open(os.path.join(GOLDEN_DIR, name), "rb") as f:
        return f.read()


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _close(got: float, want: float) -> bool:
    if math.isnan(want):
        return math.isnan(got)
    return got == want or abs(got - want) <= 1e-12 * abs(want)


def _check_stats(what: str, got: Any, want: Dict[str, Any]) -> None:
    g = got._asdict() if hasattr(got, "_asdict") else dict(got)
    wm = g["watermark"]
    if wm is None:
        wm = _INT64_MIN
    assert g["count"] == want["count"], what
    assert _bits(float(g["min"])) == _bits(float(want["min"])), (what, g["min"], want["min"])
    assert _bits(float(g["max"])) == _bits(float(want["max"])), (what, g["max"], want["max"])
    for f in ("sum", "mean", "variance", "stddev"):
        assert _close(float(g[f]), float(want[f])), (what, f, g[f], want[f])
    for f in ("window_start", "window_end", "late", "rejected", "total"):
        assert int(g[f]) == want[f], (what, f, g[f], want[f])
    assert int(wm) == want["watermark"], (what, wm, want["watermark"])


def _check_q(what: str, got: List[float], want: List[str]) -> None:
    assert len(got) == len(want), what
    for i, (a, b) in enumerate(zip(got, want)):
        assert _bits(float(a)) == _bits(float(b)), (what, i, a, b)


@pytest.mark.parametrize("name", FILES)
def test_golden_v1_restore(name: str) -> None:
    f = _entry(name)
    data = _read(name)
    assert len(data) == f["bytes"]
    qs = GOLDEN["q"]
    a = windowagg.Aggregator.from_bytes(data)
    try:
        withq = f["config"]["quantiles"] != 0
        _check_stats("all", a.stats(), f["all"]["stats"])
        if withq:
            _check_q("all", list(a.quantiles(qs)), f["all"]["q"])
        else:
            with pytest.raises(windowagg.UnsupportedError):
                a.quantiles(qs)
        assert a.key_count() == len(f["keys"])
        for k in f["keys"]:
            what = f"key {k['key']}"
            _check_stats(what, a.key_stats(k["key"]), k["stats"])
            assert a.key_name(k["key"], raw=True).hex() == k["name_hex"], what
            if withq:
                _check_q(what, list(a.key_quantiles(k["key"], qs)), k["q"])
        if f["config"]["window_kind"] in (2, 3):
            assert a.pending_windows()[0] == len(f["windows"])
            cols = a.poll_windows(quantiles=qs if withq else None)
            assert len(cols["key"]) == len(f["windows"])
            for i, w in enumerate(f["windows"]):
                what = f"window {i}"
                assert int(cols["key"][i]) == w["key"], what
                row = {c: cols[c][i] for c in cols if not c.startswith("q")}
                _check_stats(what, row, w["stats"])
                if withq:
                    qcols = [c for c in cols if c.startswith("q")]
                    _check_q(what, [cols[c][i] for c in qcols], w["q"])
            assert a.pending_windows()[0] == 0
    finally:
        a.close()


@pytest.mark.parametrize("name", FILES)
def test_golden_v1_canonical(name: str) -> None:
    data = _read(name)
    a = windowagg.Aggregator.from_bytes(data)
    try:
        assert a.to_bytes() == data
        b = windowagg.Aggregator.from_bytes(a.to_bytes(), threading="single")
        try:
            assert b.to_bytes() == data
        finally:
            b.close()
    finally:
        a.close()


def _fix_checksum(b: bytearray) -> None:
    """Rewrites the trailing XXH3-64 (the library's key hash, seed 0)."""
    b[-8:] = struct.pack("<Q", windowagg.hash_key(bytes(b[:-8])))


@pytest.mark.parametrize("name", FILES)
def test_golden_v1_damaged(name: str) -> None:
    good = _read(name)
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x5A
    with pytest.raises(windowagg.CorruptStateError):
        windowagg.Aggregator.from_bytes(bytes(flipped))
    with pytest.raises(windowagg.CorruptStateError):
        windowagg.Aggregator.from_bytes(good[:-1])
    with pytest.raises(windowagg.CorruptStateError):
        windowagg.Aggregator.from_bytes(b"")
    with pytest.raises(windowagg.CorruptStateError):
        windowagg.Aggregator.from_bytes(good + b"\0")
    bumped = bytearray(good)
    bumped[4] = 2
    _fix_checksum(bumped)
    with pytest.raises(windowagg.StateVersionError):
        windowagg.Aggregator.from_bytes(bytes(bumped))
    # merge of a damaged copy leaves the target unchanged
    a = windowagg.Aggregator.from_bytes(good)
    try:
        with pytest.raises(windowagg.CorruptStateError):
            a.merge(bytes(flipped))
        assert a.to_bytes() == good
    finally:
        a.close()
