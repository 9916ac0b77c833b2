"""Names of a whole column go to ``aggregator_push_named`` as one buffer (issue
16, item 4): pyarrow arrays, pandas and polars string columns, NumPy str/bytes
and object arrays and lists of str are packed from their Arrow buffers (or
converted by pyarrow in C), with no Python work per name, and give the same
series as the per-name path; bad elements are still refused naming the index."""

from __future__ import annotations

import numpy as np
import pytest

import windowagg
from windowagg import Aggregator
from windowagg import _aggregator as A

pa = pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")

NAMES = ["cpu", "mem", "", "ünï", "x" * 300, "cpu", "mem", "cpu"]


def _columns() -> dict:
    cols = {
        "list": list(NAMES),
        "tuple": tuple(NAMES),
        "numpy str": np.array(NAMES),
        "numpy object": np.array(NAMES, dtype=object),
        "numpy bytes": np.array([x.encode() for x in NAMES]),
        "pandas str": pd.Series(NAMES, dtype="str"),
        "pandas string[python]": pd.Series(NAMES, dtype="string[python]"),
        "pandas object": pd.Series(NAMES, dtype=object),
        "pandas category": pd.Series(NAMES, dtype="category"),
        "pandas Index": pd.Index(NAMES),
        "arrow string": pa.array(NAMES),
        "arrow large_string": pa.array(NAMES, pa.large_string()),
        "arrow string_view": pa.array(NAMES, pa.string_view()),
        "arrow sliced": pa.array(["skipped", "also"] + NAMES)[2:],
        "arrow large sliced": pa.array(["skipped"] + NAMES, pa.large_string())[1:],
        "arrow chunked": pa.chunked_array([NAMES[:3], NAMES[3:]]),
        "arrow dictionary": pa.array(NAMES).dictionary_encode(),
        "arrow binary": pa.array([x.encode() for x in NAMES], pa.binary()),
    }
    try:
        import polars as pl
    except ImportError:
        return cols
    cols["polars String"] = pl.Series(NAMES)
    cols["polars Categorical"] = pl.Series(NAMES, dtype=pl.Categorical)
    return cols


def _series(keys: object) -> dict:
    with Aggregator(size=100) as agg:
        agg.push(np.arange(len(NAMES), dtype=float), keys=keys)
        cols = agg.all_stats(names=True)
        return {n: (int(k), float(s)) for n, k, s in zip(cols["name"], cols["key"], cols["sum"])}


@pytest.mark.parametrize("kind", list(_columns()))
def test_column_names_match_the_per_name_path(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _series([x.encode() for x in NAMES])  # (bytes: the per-name path)
    col = _columns()[kind]

    def per_name(*_: object) -> None:
        raise AssertionError("a name was packed one at a time in Python")

    monkeypatch.setattr(A, "_encode_name", per_name)
    assert _series(col) == expected
    assert expected["ünï"][0] == windowagg.hash_key("ünï")
    assert expected["cpu"][1] == 0.0 + 5.0 + 7.0


def test_names_of_a_large_frame_column() -> None:
    rng = np.random.default_rng(0)
    uniq = np.array([f"svc-{i:04d}" for i in range(1000)], dtype=object)
    codes = rng.integers(0, 1000, 100_000)
    col = pd.Series(uniq[codes], dtype="str")
    v = rng.standard_normal(100_000)
    with Aggregator(size=10**6) as agg:
        agg.push(v, keys=col)
        cols = agg.all_stats(names=True)
    got = dict(zip(cols["name"], cols["count"]))
    ref = pd.Series(v).groupby(uniq[codes]).count()
    assert len(got) == 1000 and all(got[n] == c for n, c in ref.items())


@pytest.mark.parametrize(
    "keys, error, match",
    [
        (pd.Series(["a", None, "b"], dtype="str"), windowagg.InputTypeError, r"index 1"),
        (pa.array(["a", "b", None]), windowagg.InputTypeError, r"index 2"),
        (np.array(["a", 3, "b"], dtype=object), windowagg.InputTypeError, r"mixes integer ids"),
        (["a", "\udc80", "b"], windowagg.InvalidArgumentError, r"keys\[1\].*not valid Unicode"),
        (pd.Series(["a", 1.5, "b"], dtype=object), windowagg.InputTypeError, r"index 1"),
    ],
)
def test_bad_names_are_refused_naming_the_element(keys: object, error: type, match: str) -> None:
    with Aggregator(size=10) as agg:
        agg.push([1.0], keys=["a"])
        before = agg.to_bytes()
        with pytest.raises(error, match=match):
            agg.push([1.0, 2.0, 3.0], keys=keys)
        assert agg.to_bytes() == before


def test_length_mismatch_of_an_arrow_column() -> None:
    with Aggregator(size=10) as agg:
        with pytest.raises(windowagg.InvalidArgumentError, match="keys has 2 elements but values has 3"):
            agg.push([1.0, 2.0, 3.0], keys=pa.array(["a", "b"]))
