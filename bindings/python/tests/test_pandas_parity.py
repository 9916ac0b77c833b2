"""Parity with pandas rolling windows, on random and real data.

Count windows vs ``Series.rolling(n, min_periods=1)`` (our count window holds
the values seen so far while fewer than n arrived, like min_periods=1);
variance/stddev are sample statistics (ddof=1) on both sides.

Time windows vs ``Series.rolling("60s")``: pandas' time window at a row with
time t covers (t - 60s, t]. Our sliding window with watermark W is the 60/pane
panes ending with the pane containing W, i.e. [W - 60 + pane, W + pane) at pane
granularity. With integer-second timestamps that are multiples of the pane
width, both hold exactly the timestamps W-60 < ts <= W; comparing right after
pushing the row whose time is the watermark (timestamps non-decreasing) makes
the two windows identical, ties included (pandas' window at row i excludes the
later rows with the same time, and we have not pushed them yet).

Real data: hourly Seattle temperatures of 2010 (8759 rows) and monthly stock
prices of five companies, shipped inside the ``vega_datasets`` package and
read from its installed files (``vega_datasets.local_data``), no network.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from windowagg import Aggregator

from conftest import assert_quantiles_within, assert_stats_close

QS = np.array([0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0])


def _seattle_temps() -> pd.DataFrame:
    from vega_datasets import local_data  # bundled CSV; no download

    df = local_data.seattle_temps()
    assert len(df) == 8759 and df["date"].is_monotonic_increasing
    return df


def _stocks() -> pd.DataFrame:
    from vega_datasets import local_data

    return local_data.stocks()


def _rolling_reference(s: pd.Series, window) -> pd.DataFrame:
    r = s.rolling(window, min_periods=1)
    return pd.DataFrame({
        "count": r.count().to_numpy(),
        "sum": r.sum().to_numpy(),
        "mean": r.mean().to_numpy(),
        "min": r.min().to_numpy(),
        "max": r.max().to_numpy(),
        "std": r.std(ddof=1).to_numpy(),
    })


def _batch_bounds(rng: np.random.Generator, n: int, max_batch: int):
    """Batch ends: a stretch of single-value pushes, then random sizes."""
    ends = list(range(1, min(n, 20) + 1))
    pos = ends[-1]
    while pos < n:
        pos = min(n, pos + int(rng.integers(1, max_batch + 1)))
        ends.append(pos)
    return ends


def _stream_count_parity(values: np.ndarray, n: int, rng: np.random.Generator,
                         alpha: float = 0.01, what: str = "") -> None:
    ref = _rolling_reference(pd.Series(values), n)
    amax = np.abs(values).max()
    start = 0
    with Aggregator(window="count", size=n, accuracy=alpha) as agg:
        for end in _batch_bounds(rng, len(values), max_batch=max(2, n // 3)):
            agg.push(values[start:end])
            start = end
            i = end - 1
            row = ref.iloc[i]
            got = agg.stats()
            assert_stats_close(got, dict(row), scale=row["count"] * amax, what=f"{what} row {i}")
            assert (got.window_start, got.window_end, got.total) == (max(0, end - n), end, end)
            window = values[max(0, end - n):end]
            assert_quantiles_within(agg.quantiles(QS), window, QS, alpha, what=f"{what} row {i}")


@pytest.mark.parametrize("n", [1, 2, 37, 1000])
def test_count_windows_random(rng: np.random.Generator, n: int) -> None:
    values = rng.normal(0.0, 1.0, 6000) * rng.choice([1.0, 1e3], 6000)
    values[rng.random(6000) < 0.02] = 0.0  # zeros exercise the sketch's zero count
    _stream_count_parity(values, n, rng, what=f"random n={n}")


def test_count_windows_large_offset(rng: np.random.Generator) -> None:
    # A large mean with a small spread: naive sum-of-squares variance would fail.
    values = 1e6 + rng.normal(0.0, 0.1, 5000)
    _stream_count_parity(values, 500, rng, what="offset")


@pytest.mark.parametrize("alpha", [0.001, 0.05])
def test_count_windows_other_accuracies(rng: np.random.Generator, alpha: float) -> None:
    values = rng.lognormal(0.0, 2.0, 3000) * rng.choice([-1.0, 1.0], 3000)
    _stream_count_parity(values, 300, rng, alpha=alpha, what=f"alpha={alpha}")


def test_count_windows_real_seattle_temperatures(rng: np.random.Generator) -> None:
    temps = _seattle_temps()["temp"].to_numpy(dtype=np.float64)
    for n in (24, 168):  # a day and a week of hourly readings
        _stream_count_parity(temps, n, rng, what=f"seattle n={n}")


def test_count_windows_real_stock_prices_keyed(rng: np.random.Generator) -> None:
    """Five series in one handle, named keys, vs groupby().rolling()."""
    df = _stocks()
    n = 12
    ref = (df.groupby("symbol", sort=False)["price"]
             .rolling(n, min_periods=1).agg(["count", "sum", "mean", "min", "max", "std"])
             .reset_index(level=0))
    ref = ref.sort_index()  # back in row order
    prices = df["price"].to_numpy(np.float64)
    symbols = df["symbol"].to_numpy()
    # Interleave the series (rows by date), each series keeping its own order.
    order = np.argsort(df["date"].to_numpy(), kind="stable")
    start = 0
    with Aggregator(window="count", size=n) as agg:
        for end in _batch_bounds(rng, len(order), 40):
            rows = order[start:end]
            agg.push(prices[rows], keys=list(symbols[rows]))
            start = end
            for sym in set(symbols[rows]):
                last = rows[symbols[rows] == sym][-1]
                r = ref.loc[last]
                got = agg.key_stats(sym)
                assert_stats_close(got, dict(r), scale=r["count"] * prices.max(), what=f"{sym} row {last}")
                seen = np.flatnonzero((symbols == sym) & (np.arange(len(df)) <= last))
                window = prices[seen[-n:]]
                assert_quantiles_within(agg.key_quantiles(sym, QS), window, QS, 0.01, what=sym)
        frame = agg.all_stats_frame()
        assert list(frame.index) == sorted(set(symbols))


def _stream_time_parity(ts: np.ndarray, values: np.ndarray, index: pd.DatetimeIndex,
                        window: str, agg: Aggregator, rng: np.random.Generator,
                        width: int, push_ts=None, what: str = "") -> None:
    ref = _rolling_reference(pd.Series(values, index=index), window)
    amax = np.abs(values).max()
    push_ts = ts if push_ts is None else push_ts
    start = 0
    for end in _batch_bounds(rng, len(values), 50):
        agg.push(values[start:end], timestamps=push_ts[start:end])
        start = end
        i = end - 1
        row = ref.iloc[i]
        got = agg.stats()
        assert_stats_close(got, dict(row), scale=row["count"] * amax, what=f"{what} row {i}")
        assert got.watermark == ts[i] and got.late == 0
        win = values[(ts > ts[i] - width) & (np.arange(len(ts)) <= i)]
        assert_quantiles_within(agg.quantiles(QS), win, QS, 0.01, what=f"{what} row {i}")


@pytest.mark.parametrize("pane", [1, 5])
def test_sliding_time_windows_random_vs_rolling_60s(rng: np.random.Generator, pane: int) -> None:
    n = 6000
    gaps = rng.choice([0, 0, 1, 1, 2, 3, 7, 30, 90], n)  # ties, bursts and gaps longer than the window
    ts = (1_700_000_000 + np.cumsum(gaps)) * pane  # integer seconds, multiples of the pane
    values = rng.normal(10.0, 5.0, n)
    index = pd.to_datetime(ts, unit="s")
    with Aggregator(window="sliding", size=60, pane=pane, time_unit="s") as agg:
        _stream_time_parity(ts, values, index, "60s", agg, rng, 60, what=f"pane={pane}")


def test_sliding_time_windows_real_seattle_vs_rolling_24h(rng: np.random.Generator) -> None:
    df = _seattle_temps()
    index = pd.DatetimeIndex(df["date"])
    ts = index.to_numpy().astype("datetime64[h]").astype(np.int64)
    values = df["temp"].to_numpy(np.float64)
    # datetime64 timestamps are converted to the handle's unit (hours).
    with Aggregator(window="sliding", size="24h", pane="1h", time_unit="h") as agg:
        _stream_time_parity(ts, values, index, "24h", agg, rng, 24,
                            push_ts=index.to_numpy(), what="seattle 24h")


def test_tumbling_real_seattle_daily_vs_resample() -> None:
    df = _seattle_temps()
    s = pd.Series(df["temp"].to_numpy(np.float64), index=pd.DatetimeIndex(df["date"]))
    ref = s.resample("1D").agg(["count", "sum", "mean", "min", "max", "std"])
    with Aggregator(window="tumbling", size="1D", time_unit="s") as agg:
        agg.push(s.to_numpy(), timestamps=s.index.to_numpy())
        agg.advance(np.datetime64("2011-01-02"))
        w = agg.poll_windows_frame(aggs=["count", "sum", "mean", "min", "max", "std"])
    assert w.index.names == ["key", "window_start"]
    w = w.droplevel("key")  # one series (key 0)
    assert len(w) == len(ref)
    pd.testing.assert_index_equal(w.index, ref.index.as_unit("s"), check_names=False)
    np.testing.assert_array_equal(w["count"].to_numpy(), ref["count"].to_numpy())
    np.testing.assert_allclose(w["sum"].to_numpy(), ref["sum"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(w["mean"].to_numpy(), ref["mean"].to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(w["min"].to_numpy(), ref["min"].to_numpy())
    np.testing.assert_array_equal(w["max"].to_numpy(), ref["max"].to_numpy())
    np.testing.assert_allclose(w["std"].to_numpy(), ref["std"].to_numpy(), rtol=1e-9)


AGGS = ["count", "sum", "mean", "min", "max", "std"]


def _assert_frames_match(got: pd.DataFrame, ref: pd.DataFrame) -> None:
    """Same index (names, values, dtype incl. timezone) and stats as pandas."""
    assert list(got.index.names) == list(ref.index.names)
    pd.testing.assert_index_equal(got.index, ref.index, exact=False, check_names=True)
    np.testing.assert_array_equal(got["count"].to_numpy(), ref["count"].to_numpy())
    for c in ("sum", "mean", "std"):
        np.testing.assert_allclose(got[c].to_numpy(np.float64), ref[c].to_numpy(np.float64),
                                   rtol=1e-9, atol=1e-9)
    for c in ("min", "max"):
        np.testing.assert_array_equal(got[c].to_numpy(), ref[c].to_numpy())


@pytest.mark.parametrize("tz", [None, "America/Los_Angeles", "Asia/Kolkata"])
def test_keyed_tumbling_stocks_vs_groupby_grouper(tz) -> None:
    """Five named series, 1-year tumbling windows of monthly prices, vs
    ``groupby(["key", pd.Grouper(freq=...)])``; tz-aware input keeps its
    timezone in the result's window_start level."""
    df = _stocks().rename(columns={"symbol": "key"})
    t = pd.DatetimeIndex(df["date"])
    if tz is not None:
        t = t.tz_localize("UTC").tz_convert(tz)  # the same instants, shown in tz
    df = df.assign(window_start=t).sort_values("window_start", kind="stable")
    origin = pd.Timestamp(0, tz="UTC") if tz is None else pd.Timestamp(0, tz="UTC").tz_convert(tz)
    if tz is None:
        origin = "epoch"
    ref = (df.groupby(["key", pd.Grouper(key="window_start", freq="672h", origin=origin)])["price"]
             .agg(AGGS))
    ref = ref[ref["count"] > 0]
    with Aggregator(window="tumbling", size="672h") as agg:  # 28 days
        agg.push(df["price"], timestamps=df["window_start"], keys=df["key"])
        agg.advance(df["window_start"].iloc[-1] + pd.Timedelta("28D"))
        got = agg.poll_windows_frame(aggs=AGGS + ["window_end"], quantiles=[0.5])
    assert list(got.columns) == AGGS + ["window_end", "p50"]
    assert got.index.levels[1].dtype.kind == "M"
    if tz is not None:
        assert str(got.index.levels[1].tz) == tz and str(got["window_end"].dt.tz) == tz
    _assert_frames_match(got, ref)
    ends = got.index.get_level_values("window_start") + pd.Timedelta("28D")
    assert (got["window_end"].to_numpy() == ends.to_numpy()).all()


def test_sliding_all_stats_frame_vs_last_24h_groupby_tz_aware() -> None:
    """Hourly Seattle temperatures split into two named series, tz-aware
    timestamps; the frame at the end is pandas' groupby over the last 24 h."""
    temps = _seattle_temps()
    t = pd.DatetimeIndex(temps["date"]).tz_localize("US/Pacific", ambiguous="NaT",
                                                      nonexistent="NaT")
    keep = ~t.isna()
    df = pd.DataFrame({"value": temps["temp"].to_numpy()[keep], "ts": t[keep]})
    df["key"] = np.where(df.index % 2 == 0, "even", "odd")
    df = df.sort_values("ts", kind="stable")
    with Aggregator(window="sliding", size="24h", pane="1h") as agg:
        agg.push(df["value"], timestamps=df["ts"], keys=df["key"])
        got = agg.all_stats_frame(aggs=AGGS + ["watermark"])
    last = df["ts"].iloc[-1]
    win = df[df["ts"] > last - pd.Timedelta("24h")]
    ref = win.groupby("key")["value"].agg(AGGS)
    _assert_frames_match(got, ref)
    assert (got["watermark"] == last).all() and str(got["watermark"].dt.tz) == "US/Pacific"


def test_nan_default_matches_pandas_skipna(rng: np.random.Generator) -> None:
    """NaN values are skipped (and counted in ``rejected``) by default, as
    pandas' aggregations skip them."""
    n = 3000
    ts = pd.date_range("2024-01-01", periods=n, freq="7s", tz="UTC")
    v = rng.normal(size=n)
    v[rng.random(n) < 0.1] = np.nan
    key = rng.choice(["x", "y", "z"], n)
    df = pd.DataFrame({"v": v, "key": key, "window_start": ts})
    ref = df.groupby(["key", pd.Grouper(key="window_start", freq="5min")])["v"].agg(AGGS)
    with Aggregator(window="tumbling", size="5min") as agg:
        agg.push(df["v"], timestamps=df["window_start"], keys=df["key"])
        agg.advance(ts[-1] + pd.Timedelta("5min"))
        got = agg.poll_windows_frame()
        assert agg.stats().rejected == np.isnan(v).sum()  # skipped values are counted
    assert list(got.columns) == ["count", "mean", "std", "min", "max"]  # the default columns
    ref = ref[ref.index.isin(got.index)].assign(sum=0.0)
    _assert_frames_match(got.assign(sum=0.0), ref)


def test_integer_timestamps_need_a_unit_and_time_windows_need_timestamps() -> None:
    import windowagg

    with Aggregator(window="tumbling", size="1min") as agg:
        with pytest.raises(windowagg.InputTypeError, match="time_unit="):
            agg.push([1.0, 2.0], timestamps=[60, 120])  # seconds? ms? refused
        with pytest.raises(windowagg.InputTypeError, match="time_unit="):
            agg.push([1.0], timestamps=np.array([60], dtype=np.int64))  # the zero-copy path too
        with pytest.raises(windowagg.InputTypeError, match="time_unit="):
            agg.advance(120)
        with pytest.raises(windowagg.InvalidArgumentError, match='clock="arrival"'):
            agg.push(np.ones(3))  # no timestamps: not counted as time
        with pytest.raises(windowagg.InvalidArgumentError, match='clock="arrival"'):
            agg.push([1.0, 2.0], keys=["a", "b"])
        assert agg.stats().total == 0
    with pytest.raises(windowagg.ConfigError, match="time_unit="):
        Aggregator(window="sliding", size=60)  # 60 what?
    with Aggregator(window="tumbling", size=60, time_unit="s") as agg:  # explicit: fine
        agg.push([1.0, 2.0], timestamps=[60, 130])
        agg.advance(180)
        w = agg.poll_windows_frame()
        assert list(w.index.get_level_values("window_start")) == [60, 120]
    with Aggregator(window="tumbling", size=3, clock="arrival") as agg:  # explicit opt-in
        agg.push(np.ones(7))
        assert agg.stats().total == 7
    with Aggregator(window="tumbling", size="1min") as agg:  # datetime64 needs no unit
        agg.push([1.0], timestamps=np.array(["2024-01-01T00:00:30"], dtype="datetime64[s]"))
        assert agg.stats().count == 1


@pytest.mark.parametrize("text, ns", [
    ("60s", 60 * 10**9), ("1.5s", 1_500_000_000), ("1m30s", 90 * 10**9), ("1m", 60 * 10**9),
    ("5min", 300 * 10**9), ("1h", 3600 * 10**9), ("1d", 86400 * 10**9), ("1D", 86400 * 10**9),
    ("1w", 7 * 86400 * 10**9), ("250ms", 250 * 10**6), ("1us", 1000), ("1h30m", 5400 * 10**9),
    ("1 days 02:00:00", 26 * 3600 * 10**9),
])
def test_durations_in_pandas_and_polars_forms(text: str, ns: int) -> None:
    assert Aggregator(window="tumbling", size=text).config["size"] == ns
    assert pd.Timedelta(text).value == ns  # the same reading as pandas


def test_duration_objects_and_calendar_units_refused() -> None:
    import windowagg

    assert Aggregator(window="tumbling", size=pd.Timedelta("90s")).config["size"] == 90 * 10**9
    assert Aggregator(window="tumbling", size=pd.offsets.Minute(2)).config["size"] == 120 * 10**9
    for bad in ("1mo", "1y", "2q", "1i", "bogus"):
        with pytest.raises(windowagg.ConfigError, match="size"):
            Aggregator(window="tumbling", size=bad)


def test_empty_watermark_is_missing_not_int64_min() -> None:
    with Aggregator(window="count", size=10) as agg:
        agg.push([1.0], keys=[7])
        agg.remove_key(7)
        agg.push([2.0], keys=[8])
        f = agg.all_stats_frame(aggs=["count", "watermark"])
        assert list(f.index) == [8]
        assert str(f["watermark"].dtype) == "Int64"
    with Aggregator(window="sliding", size="1min", pane="1s", tz="Europe/Berlin") as agg:
        f = agg.all_stats_frame(aggs="all")
        assert len(f) == 0 and str(f["watermark"].dtype) == "datetime64[ns, Europe/Berlin]"
