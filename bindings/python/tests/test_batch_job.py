"""``windowagg.aggregate_windows``: the one-shot windowed group job over a whole
DataFrame (issue 16, item 4). It reorders the batch (window, key) before the
push and may split the keys over threads; the results must stay those of
pandas' groupby and of the streaming path on the same frame."""

from __future__ import annotations

import numpy as np
import pytest

import windowagg
from windowagg import Aggregator

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

ALPHA = 0.01
AGGS = ["count", "mean", "std", "min", "max", "p99"]


def _same(out: "pd.DataFrame", ref: "pd.DataFrame") -> None:
    """Equal frames; var/std to 1e-12 relative (the library computes them per
    run of a series' values and merges runs, so other run lengths round
    differently in the last bits); quantiles within 2 alpha of each other (a
    pane keeps its values raw, exact, until buckets are smaller, and where
    that happens depends on how the values were batched: each answer is
    within alpha of the exact one); every other column exactly."""
    loose = [c for c in out.columns if c in ("std", "var")]
    quantiles = [c for c in out.columns if c.startswith("p") and c[1:].isdigit()]
    pd.testing.assert_frame_equal(out.drop(columns=loose + quantiles),
                                  ref.drop(columns=loose + quantiles),
                                  check_exact=True, check_index_type=False)
    for c in loose:
        np.testing.assert_allclose(out[c].to_numpy(), ref[c].to_numpy(), rtol=1e-12)
    for c in quantiles:
        np.testing.assert_allclose(out[c].to_numpy(), ref[c].to_numpy(), rtol=2 * ALPHA)


def _frame(n: int = 20_000, keys: int = 37, names: bool = True, shuffle: bool = False,
           tz: object = None, seed: int = 1) -> "pd.DataFrame":
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-05-01T00:00:00", "ns")
    ts = start + np.sort(rng.integers(0, 900 * 10**9, n)).astype("timedelta64[ns]")
    code = rng.integers(0, keys, n)
    key = (pd.array(np.array([f"k{i:03d}" for i in range(keys)], dtype=object)[code], dtype="str")
           if names else code.astype(np.uint64) * 1000 + 7)
    df = pd.DataFrame({"ts": ts, "key": key, "v": rng.lognormal(size=n)})
    if tz is not None:
        df["ts"] = df["ts"].dt.tz_localize("UTC").dt.tz_convert(tz)
    if shuffle:
        df = df.iloc[rng.permutation(n)].reset_index(drop=True)
    return df


def _check_vs_pandas(out: "pd.DataFrame", df: "pd.DataFrame", freq: str = "60s") -> None:
    g = df.groupby(["key", pd.Grouper(key="ts", freq=freq)])["v"]
    ref = g.agg(["count", "mean", "std", "min", "max"])
    ref = ref[ref["count"] > 0]
    assert list(out.index.names) == ["key", "window_start"]
    assert out.index.equals(ref.index)  # same groups, same order, same timezone
    np.testing.assert_array_equal(out["count"].to_numpy(), ref["count"].to_numpy())
    np.testing.assert_array_equal(out["min"].to_numpy(), ref["min"].to_numpy())
    np.testing.assert_array_equal(out["max"].to_numpy(), ref["max"].to_numpy())
    np.testing.assert_allclose(out["mean"].to_numpy(), ref["mean"].to_numpy(), rtol=1e-14)
    np.testing.assert_allclose(out["std"].to_numpy(), ref["std"].to_numpy(), rtol=1e-9)
    exact = g.quantile(0.99, interpolation="lower").loc[ref.index].to_numpy()
    assert np.all(np.abs(out["p99"].to_numpy() - exact) <= ALPHA * np.abs(exact) + 1e-12)


@pytest.mark.parametrize("names", [True, False], ids=["str keys", "uint64 keys"])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shuffle", [False, True], ids=["time order", "any order"])
def test_matches_pandas_groupby(names: bool, threads: int, shuffle: bool) -> None:
    df = _frame(names=names, shuffle=shuffle)
    out = windowagg.aggregate_windows(df, "v", by="key", on="ts", size="60s", aggs=AGGS,
                                      threads=threads)
    _check_vs_pandas(out, df)


def test_tz_aware_timestamps_and_the_index() -> None:
    df = _frame(tz="America/New_York").set_index("ts")
    out = windowagg.aggregate_windows(df, "v", by="key", size="5min", aggs=AGGS, threads=2)
    assert str(out.index.levels[1].tz) == "America/New_York"
    _check_vs_pandas(out, df.reset_index(), freq="5min")


@pytest.mark.parametrize("threads", [1, 3])
def test_identical_to_the_streaming_path(threads: int) -> None:
    df = _frame(n=30_000, keys=50)
    stream = Aggregator(window="tumbling", size="60s")
    stream.push(df["v"], timestamps=df["ts"], keys=df["key"])
    stream.advance(df["ts"].iloc[-1] + pd.Timedelta("60s"))
    ref = stream.poll_windows_frame(aggs=AGGS + ["sum", "var", "window_end"])
    out = windowagg.aggregate_windows(df, "v", by="key", on="ts", size="60s",
                                      aggs=AGGS + ["sum", "var", "window_end"],
                                      threads=threads)
    _same(out, ref)


def test_hopping_windows_identical_to_the_streaming_path() -> None:
    df = _frame(n=10_000, keys=20, names=False)
    stream = Aggregator(window="hopping", size="60s", slide="20s")
    stream.push(df["v"], timestamps=df["ts"], keys=df["key"])
    stream.advance(df["ts"].iloc[-1] + pd.Timedelta("60s"))
    ref = stream.poll_windows_frame(aggs=AGGS)
    out = windowagg.aggregate_windows(df, "v", by="key", on="ts", window="hopping",
                                      size="60s", slide="20s", aggs=AGGS, threads=2)
    _same(out, ref)


def test_polars_input_gives_the_same_frame() -> None:
    pl = pytest.importorskip("polars")
    df = _frame(n=5_000, keys=9)
    ref = windowagg.aggregate_windows(df, "v", by="key", on="ts", size="60s", aggs=AGGS)
    out = windowagg.aggregate_windows(pl.from_pandas(df), "v", by="key", on="ts", size="60s",
                                      aggs=AGGS)
    pd.testing.assert_frame_equal(out, ref, check_exact=True)


def test_one_series_without_by() -> None:
    df = _frame(n=5_000)
    out = windowagg.aggregate_windows(df, "v", on="ts", size="60s", aggs=["count", "max"])
    ref = df.set_index("ts")["v"].resample("60s").agg(["count", "max"])
    assert out.index.name == "window_start"
    assert out.index.equals(ref.index.rename("window_start").as_unit("ns")) or list(out.index) == list(ref.index)
    np.testing.assert_array_equal(out["count"].to_numpy(), ref["count"].to_numpy())
    np.testing.assert_array_equal(out["max"].to_numpy(), ref["max"].to_numpy())


def test_nan_values_are_skipped_like_pandas() -> None:
    df = _frame(n=5_000, keys=5)
    df.loc[df.index[::7], "v"] = np.nan
    out = windowagg.aggregate_windows(df, "v", by="key", on="ts", size="60s", aggs=AGGS)
    _check_vs_pandas(out, df)
    assert out["count"].sum() == df["v"].notna().sum()


def test_integer_timestamps_need_a_unit() -> None:
    df = pd.DataFrame({"t": [0, 30, 61, 125], "k": ["a", "b", "a", "a"], "v": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(windowagg.InputTypeError, match="time_unit"):
        windowagg.aggregate_windows(df, "v", by="k", on="t", size="60s")
    out = windowagg.aggregate_windows(df, "v", by="k", on="t", size=60, time_unit="s",
                                      aggs=["count", "max"])
    assert list(out.index) == [("a", 0), ("a", 60), ("a", 120), ("b", 0)]
    assert list(out["max"]) == [1.0, 3.0, 4.0, 2.0]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(by="nope"), windowagg.InvalidArgumentError, "no column 'nope'"),
        (dict(by="key", window="sliding"), windowagg.ConfigError, "tumbling"),
        (dict(by="key", threads=0), windowagg.InvalidArgumentError, "threads"),
        (dict(by="key", aggs=["count", "bogus"]), windowagg.InvalidArgumentError, "bogus"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type, match: str) -> None:
    df = _frame(n=100)
    with pytest.raises(error, match=match):
        windowagg.aggregate_windows(df, "v", on="ts", size="60s", **kwargs)


def test_missing_key_is_refused() -> None:
    df = pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=3, freq="s"),
                       "key": pd.array(["a", None, "b"], dtype="str"), "v": [1.0, 2.0, 3.0]})
    with pytest.raises(windowagg.InputTypeError, match="index 1"):
        windowagg.aggregate_windows(df, "v", by="key", on="ts", size="60s")


def test_empty_frame() -> None:
    df = _frame(n=0)
    out = windowagg.aggregate_windows(df, "v", by="key", on="ts", size="60s", aggs=["count"])
    assert len(out) == 0 and list(out.columns) == ["count"]
