"""Shared fixtures and helpers for the windowagg Python tests.

The library is located like the package does it: set WINDOWAGG_LIBRARY to
``<build>/libwindowagg.so`` (the test command does).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG_ROOT = os.path.dirname(HERE)
if PKG_ROOT not in sys.path:  # run from a checkout without pip install
    sys.path.insert(0, PKG_ROOT)

import windowagg  # noqa: E402


def call_or_skip_unsupported(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """Runs fn; skips the test (with the library's message) on AGGREGATOR_EUNSUPPORTED.

    Serialization and merging may be unimplemented in the C library for a while;
    those tests skip rather than fail on that status only.
    """
    try:
        return fn(*args, **kw)
    except windowagg.UnsupportedError as e:
        pytest.skip(f"library returned AGGREGATOR_EUNSUPPORTED: {e.message}")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


def assert_stats_close(got: "windowagg.WindowStats", ref: dict, scale: float, what: str = "") -> None:
    """Compares a WindowStats against reference count/sum/mean/min/max/std.

    scale bounds the magnitude of the window's sum terms (n * max|x|), so sums
    near zero are compared with an absolute tolerance relative to it.
    """
    assert got.count == ref["count"], (what, got, ref)
    tol = 1e-11 * max(scale, 1.0)
    assert abs(got.sum - ref["sum"]) <= tol, (what, "sum", got.sum, ref["sum"])
    if ref["count"] == 0:
        assert np.isnan(got.mean) and np.isnan(got.min) and np.isnan(got.max)
        return
    assert abs(got.mean - ref["mean"]) <= tol / ref["count"] + 1e-12 * abs(ref["mean"]), (
        what, "mean", got.mean, ref["mean"])
    assert got.min == ref["min"], (what, "min", got.min, ref["min"])
    assert got.max == ref["max"], (what, "max", got.max, ref["max"])
    if ref["count"] < 2:
        assert np.isnan(got.stddev) and np.isnan(got.variance), (what, got)
    else:
        assert got.stddev == pytest.approx(ref["std"], rel=1e-7, abs=1e-9 * scale / ref["count"]), (
            what, "std", got.stddev, ref["std"])
        assert got.variance == pytest.approx(got.stddev ** 2, rel=1e-9, abs=1e-300)


def assert_quantiles_within(got: np.ndarray, window: np.ndarray, qs: np.ndarray, alpha: float,
                            what: str = "") -> None:
    """Relative-error guarantee: |x' - x| <= alpha*|x| for the value x of rank
    floor(q*(n-1)) (numpy method="lower"); q=0 and q=1 exact."""
    if len(window) == 0:
        assert np.all(np.isnan(got)), (what, got)
        return
    exact = np.quantile(window, qs, method="lower")
    for q, g, x in zip(qs, got, exact):
        if q == 0.0 or q == 1.0:
            assert g == x, (what, q, g, x)
        else:
            # a relative slack of 1e-12 for the float arithmetic of the bound itself
            assert abs(g - x) <= alpha * abs(x) * (1 + 1e-12) + 1e-300, (what, q, g, x, alpha)


def same_stats(a: "windowagg.WindowStats", b: "windowagg.WindowStats") -> bool:
    """Field-by-field equality where NaN equals NaN (empty or 1-value windows)."""
    if a._fields != b._fields:
        return False
    for x, y in zip(a, b):
        if isinstance(x, float) and isinstance(y, float) and x != x and y != y:
            continue
        if x != y:
            return False
    return True


_MOMENTS = ("sum", "mean", "variance", "stddev")


def close_stats(a: "windowagg.WindowStats", b: "windowagg.WindowStats", rel: float = 1e-12) -> bool:
    """Like same_stats, but sum/mean/variance/stddev may differ by rel (a few ulps:
    a restored state may recompute its moments in another order)."""
    for name, x, y in zip(a._fields, a, b):
        if isinstance(x, float) and isinstance(y, float):
            if x != x and y != y:
                continue
            if name in _MOMENTS:
                if abs(x - y) > rel * max(abs(x), abs(y)) + 1e-300:
                    return False
                continue
        if x != y:
            return False
    return True
