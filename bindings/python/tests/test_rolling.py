"""windowagg.rolling / rolling_arrays (aggregator_rolling) vs pandas'
``df.groupby(by).rolling(window, on=...).agg(...)``, row by row.

Data: the real data sets test_pandas_parity.py uses (hourly Seattle
temperatures, monthly stock prices by symbol; bundled with vega_datasets, no
network) and randomized frames with string keys, tz-aware timestamps, ties,
gaps, NaN and +-Inf values. count/min/max and the quantiles (exact, pandas'
'linear' interpolation) must agree exactly up to rounding of the
interpolation; sum/mean/var/std up to floating tolerance (pandas adds and
subtracts, windowagg only merges).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import windowagg
from test_pandas_parity import _seattle_temps, _stocks

AGGS = ["count", "sum", "mean", "min", "max", "var", "std"]
QS = [0.0, 0.1, 0.5, 0.99, 1.0]


def _reference(df: pd.DataFrame, window, by, on, col: str, min_periods=None) -> pd.DataFrame:
    g = df.groupby(by) if by is not None else df
    if isinstance(window, str):  # pandas' rolling takes offsets, not "1m30s": its Timedelta does
        window = pd.Timedelta(window)
    r = g.rolling(window, on=on, min_periods=min_periods)[col]
    out = {a: getattr(r, a)() for a in AGGS}
    for q in QS:
        out[windowagg._aggregator._p_column(q)] = r.quantile(q)
    return pd.DataFrame(out)


def _assert_frames(got: pd.DataFrame, ref: pd.DataFrame, what: str) -> None:
    pd.testing.assert_index_equal(got.index, ref.index, exact=False, check_names=True)
    assert list(got.columns) == list(ref.columns), what
    scale = np.nanmax(np.abs(ref["max"].to_numpy())) if ref["max"].notna().any() else 1.0
    for c in ref.columns:
        g, r = got[c].to_numpy(), ref[c].to_numpy(dtype=np.float64)
        np.testing.assert_array_equal(np.isnan(g), np.isnan(r), err_msg=f"{what}: NaN pattern of {c}")
        m = ~np.isnan(r)
        if c in ("count", "min", "max"):
            np.testing.assert_array_equal(g[m], r[m], err_msg=f"{what}: {c}")
        else:  # sums of up to window * scale; var/std relative
            atol = 1e-9 * scale * (1 if c.startswith("p") or c == "mean" else 100)
            np.testing.assert_allclose(g[m], r[m], rtol=1e-9, atol=atol, err_msg=f"{what}: {c}")


def _ours(df, window, by, on, col, min_periods=None, **kw) -> pd.DataFrame:
    return windowagg.rolling(df, window, by=by, on=on, values=col, aggs=AGGS, quantiles=QS,
                             min_periods=min_periods, **kw)


@pytest.mark.parametrize("window", [24, 168, "24h", "7D", "90min"])
def test_real_seattle_temperatures(window) -> None:
    df = _seattle_temps()
    ref = _reference(df, window, None, "date", "temp")
    _assert_frames(_ours(df, window, None, "date", "temp"), ref, f"seattle {window}")


@pytest.mark.parametrize("window", [3, 12, "90D", "365D"])
def test_real_stock_prices_by_symbol(window) -> None:
    df = _stocks()
    assert df.groupby("symbol")["date"].apply(lambda s: s.is_monotonic_increasing).all()
    ref = _reference(df, window, "symbol", "date" if isinstance(window, str) else None, "price")
    got = _ours(df, window, "symbol", "date" if isinstance(window, str) else None, "price")
    _assert_frames(got, ref, f"stocks {window}")
    # order="input": the same numbers, aligned with the frame's rows
    inp = windowagg.rolling(df, window, by="symbol", on="date" if isinstance(window, str) else None,
                            values="price", aggs=AGGS, quantiles=QS, order="input")
    pd.testing.assert_index_equal(inp.index, df.index)
    np.testing.assert_array_equal(
        inp.to_numpy(), got.reset_index(drop=True).set_index(_group_rows(df, "symbol")).sort_index().to_numpy())


def _group_rows(df: pd.DataFrame, by: str) -> np.ndarray:
    """The input row of each row of a groupby-ordered result."""
    return np.concatenate([ix for _, ix in sorted(df.groupby(by).indices.items())])


def _random_frame(rng: np.random.Generator, n: int, groups: int, tz) -> pd.DataFrame:
    names = np.array([f"host-{i:03d}" for i in range(groups)])
    g = names[rng.integers(0, groups, n)]
    gaps = rng.choice([0, 0, 1, 2, 5, 30, 61, 300], n) * 10**9 + rng.integers(0, 10**9, n) * (rng.random(n) < 0.3)
    t = pd.to_datetime(1_700_000_000 * 10**9 + np.cumsum(gaps), unit="ns")
    if tz is not None:
        t = t.tz_localize("UTC").tz_convert(tz)
    x = np.round(rng.lognormal(0, 1.5, n) * rng.choice([-1, 1], n), 3)
    x[rng.random(n) < 0.05] = np.nan
    x[rng.random(n) < 0.01] = np.inf
    x[rng.random(n) < 0.01] = -np.inf
    x[rng.random(n) < 0.05] = 2.5  # repeats: ties in the order statistics
    return pd.DataFrame({"host": g, "ts": t, "x": x}, index=pd.RangeIndex(100, 100 + n))


@pytest.mark.parametrize("tz", [None, "UTC", "America/New_York"])
@pytest.mark.parametrize("window", ["60s", "1.5s", "1m30s", pd.Timedelta(minutes=10), 1, 5, 50])
def test_random_frames_tz_nan_inf(rng, tz, window) -> None:
    df = _random_frame(rng, 3000, 37, tz)
    on = "ts" if not isinstance(window, int) else None
    ref = _reference(df, window, "host", on, "x")
    got = _ours(df, window, "host", on, "x")
    _assert_frames(got, ref, f"random tz={tz} window={window}")
    if on:
        assert str(got.index.dtypes["ts"]) == str(df["ts"].dtype)  # timezone kept


@pytest.mark.parametrize("min_periods", [0, 1, 3])
@pytest.mark.parametrize("window", ["30s", 4])
def test_min_periods(rng, min_periods, window) -> None:
    df = _random_frame(rng, 1500, 11, "UTC")
    on = "ts" if isinstance(window, str) else None
    ref = _reference(df, window, "host", on, "x", min_periods=min_periods)
    _assert_frames(_ours(df, window, "host", on, "x", min_periods=min_periods), ref,
                   f"min_periods={min_periods} window={window}")


def test_unsorted_rows_are_sorted_stably_by_time(rng) -> None:
    df = _random_frame(rng, 2000, 7, "Europe/Paris")
    shuffled = df.sample(frac=1.0, random_state=3)
    # pandas refuses groups out of time order; its answer on the time-sorted frame is the truth.
    with pytest.raises(ValueError):
        shuffled.groupby("host").rolling("60s", on="ts")["x"].mean()
    ref = _reference(shuffled.sort_values("ts", kind="stable"), "60s", "host", "ts", "x")
    got = _ours(shuffled, "60s", "host", "ts", "x")
    _assert_frames(got, ref, "shuffled")
    inp = _ours(shuffled, "60s", "host", "ts", "x", order="input")
    pd.testing.assert_index_equal(inp.index, shuffled.index)
    srt = shuffled.sort_values("ts", kind="stable")
    labels = srt.index[_group_rows(srt, "host")]  # the input row of each row of ref
    expected = pd.DataFrame(ref.to_numpy(), index=labels, columns=ref.columns).loc[shuffled.index]
    np.testing.assert_allclose(inp.to_numpy(), expected.to_numpy(), rtol=1e-9, atol=1e-6)


def test_no_groups_datetime_index_and_rolling_arrays(rng) -> None:
    df = _random_frame(rng, 2000, 1, "Asia/Tokyo").set_index("ts")
    ref = _reference(df, "45s", None, None, "x")
    got = windowagg.rolling(df, "45s", values="x", aggs=AGGS, quantiles=QS)
    _assert_frames(got, ref, "datetime index")
    arr = windowagg.rolling_arrays(df["x"].to_numpy(), "45s", timestamps=df.index, aggs=AGGS,
                                   quantiles=QS)
    for c in ref.columns:
        np.testing.assert_array_equal(arr[c], got[c].to_numpy())
    from_series = windowagg.rolling(df["x"], "45s", aggs=AGGS, quantiles=QS)  # a Series: flat columns
    pd.testing.assert_frame_equal(from_series, got)


def test_multiple_keys_missing_keys_and_several_columns(rng) -> None:
    df = _random_frame(rng, 1200, 5, None)
    df["dc"] = np.where(rng.random(len(df)) < 0.5, "eu", "us")
    df["y"] = rng.normal(size=len(df))
    df.loc[df.index[::97], "dc"] = None  # missing keys: left out, like groupby's dropna
    ref = df.groupby(["dc", "host"]).rolling("2min", on="ts")[["x", "y"]].agg(["mean", "max"])
    got = windowagg.rolling(df, "2min", by=["dc", "host"], on="ts", values=["x", "y"],
                            aggs=["mean", "max"])
    pd.testing.assert_index_equal(got.index, ref.index)
    assert list(got.columns) == list(ref.columns)
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-12, equal_nan=True)
    inp = windowagg.rolling(df, "2min", by=["dc", "host"], on="ts", values="x", aggs=["mean"],
                            order="input")
    assert inp["mean"][df["dc"].isna()].isna().all()


def test_integer_times_need_a_unit() -> None:
    df = pd.DataFrame({"k": [1, 1, 2, 1], "t": [0, 30, 40, 61], "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(windowagg.InputTypeError, match="on column 't'.*unit"):
        windowagg.rolling(df, "60s", by="k", on="t", values="x", aggs=["sum"])
    got = windowagg.rolling(df, "60s", by="k", on="t", values="x", aggs=["sum"], time_unit="s",
                            order="input")
    assert got["sum"].tolist() == [1.0, 3.0, 3.0, 6.0]  # (61 - 60, 61] holds t=30 and t=61
    ms = windowagg.rolling_arrays(df["x"], "60s", timestamps=df["t"] * 1000, keys=df["k"],
                                  aggs=["sum"], time_unit="ms")
    assert ms["sum"].tolist() == [1.0, 3.0, 3.0, 6.0]


def test_bad_input_is_refused_clearly() -> None:
    df = pd.DataFrame({"k": ["a", "b"], "t": pd.to_datetime([0, 1], unit="s"), "x": [1.0, 2.0]})
    with pytest.raises(windowagg.InvalidArgumentError, match="needs times"):
        windowagg.rolling(df, "60s", by="k", values="x")
    with pytest.raises(windowagg.InvalidArgumentError, match="unknown aggregate 'avg'"):
        windowagg.rolling(df, 2, by="k", values="x", aggs=["avg"])
    with pytest.raises(windowagg.InvalidArgumentError, match="window: 0 rows"):
        windowagg.rolling(df, 0, by="k", values="x")
    with pytest.raises(windowagg.InvalidArgumentError, match="positive duration"):
        windowagg.rolling(df, "-5s", by="k", on="t", values="x")
    with pytest.raises(windowagg.InvalidArgumentError, match="no column 'nope'"):
        windowagg.rolling(df, 2, by="nope", values="x")
    with pytest.raises(windowagg.InvalidArgumentError, match="min_periods 3 is larger"):
        windowagg.rolling(df, 2, by="k", values="x", min_periods=3)
    with pytest.raises(windowagg.InvalidArgumentError, match="quantiles: 1.5"):
        windowagg.rolling(df, 2, by="k", values="x", quantiles=[1.5])
    with pytest.raises(windowagg.InvalidArgumentError, match="keys: expected 2"):
        windowagg.rolling_arrays([1.0, 2.0], 2, keys=[1, 2, 3])
    with pytest.raises(windowagg.InvalidArgumentError, match="timestamps: 1 for 2"):
        windowagg.rolling_arrays([1.0, 2.0], "1s", timestamps=pd.to_datetime([0], unit="s"))
    with pytest.raises(windowagg.InvalidArgumentError, match="pass timestamps"):
        windowagg.rolling_arrays([1.0, 2.0], "1s")
    with pytest.raises(windowagg.InvalidArgumentError, match="order"):
        windowagg.rolling(df, 2, by="k", values="x", order="sorted")
