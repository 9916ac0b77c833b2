"""Time windows: tumbling and hopping closed windows, sliding bounds, lateness."""

from __future__ import annotations

import math

import numpy as np
import pytest

import windowagg
from windowagg import Aggregator

from conftest import assert_quantiles_within


def _brute_windows(ts, vals, keys, starts, width):
    """{(key, start): values} of every window [start, start+width) holding data."""
    out = {}
    for k in np.unique(keys):
        m = keys == k
        for s in starts:
            sel = vals[m & (ts >= s) & (ts < s + width)]
            if len(sel):
                out[(int(k), int(s))] = sel
    return out


def _check_polled(polled, expected, qs, alpha):
    got = {}
    for i in range(len(polled["key"])):
        key = (int(polled["key"][i]), int(polled["window_start"][i]))
        assert key not in got, f"window {key} polled twice"
        got[key] = i
    assert set(got) == set(expected)
    for key, i in got.items():
        w = expected[key]
        assert polled["count"][i] == len(w)
        assert polled["sum"][i] == pytest.approx(w.sum(), rel=1e-12, abs=1e-9)
        assert polled["min"][i] == w.min() and polled["max"][i] == w.max()
        if len(w) > 1:
            assert polled["stddev"][i] == pytest.approx(w.std(ddof=1), rel=1e-9, abs=1e-12)
        qv = np.array([polled["q" + format(q, "g")][i] for q in qs])
        assert_quantiles_within(qv, w, np.array(qs), alpha, what=key)


@pytest.mark.parametrize("keyed", [False, True])
def test_tumbling_windows_match_brute_force(rng: np.random.Generator, keyed: bool) -> None:
    n, width = 5000, 100
    ts = np.sort(rng.integers(0, 10_000, n))
    vals = rng.normal(50, 20, n)
    keys = rng.integers(0, 5, n).astype(np.uint64) if keyed else np.zeros(n, np.uint64)
    qs = [0.0, 0.5, 0.99, 1.0]
    with Aggregator(time_unit="ns", window="tumbling", size=width) as agg:
        polled_parts = []
        for chunk in np.array_split(np.arange(n), 37):
            agg.push(vals[chunk], timestamps=ts[chunk], keys=keys[chunk] if keyed else None)
            polled_parts.append(agg.poll_windows(quantiles=qs))
        agg.advance(20_000)
        polled_parts.append(agg.poll_windows(quantiles=qs))
        polled = {c: np.concatenate([p[c] for p in polled_parts]) for c in polled_parts[0]}
        assert np.all(polled["window_end"] - polled["window_start"] == width)
        # within one series, windows come in order of their start
        for k in np.unique(polled["key"]):
            starts = polled["window_start"][polled["key"] == k]
            assert np.all(np.diff(starts) > 0)
        expected = _brute_windows(ts, vals, keys, range(0, 10_000, width), width)
        _check_polled(polled, expected, qs, 0.01)
        assert agg.pending_windows() == (0, 0)
        assert len(agg.poll_windows()["key"]) == 0


def test_hopping_windows_match_brute_force(rng: np.random.Generator) -> None:
    n, width, slide = 3000, 60, 15
    ts = np.sort(rng.integers(0, 3000, n))
    vals = rng.exponential(3.0, n)
    keys = np.zeros(n, np.uint64)
    with Aggregator(time_unit="ns", window="hopping", size=width, slide=slide) as agg:
        agg.push(vals, timestamps=ts)
        agg.advance(10_000)
        polled = agg.poll_windows(quantiles=[0.5, 0.9])
        assert np.all(polled["window_end"] - polled["window_start"] == width)
        expected = _brute_windows(ts, vals, keys, range(-width + slide, 3000, slide), width)
        _check_polled(polled, expected, [0.5, 0.9], 0.01)


def test_poll_in_pages_and_max_windows() -> None:
    with Aggregator(time_unit="ns", window="tumbling", size=10) as agg:
        agg.push(np.arange(100, dtype=float), timestamps=np.arange(100) * 10)
        agg.advance(10**6)
        assert agg.pending_windows()[0] == 100
        first = agg.poll_windows(max_windows=7)
        assert len(first["key"]) == 7 and list(first["window_start"]) == [i * 10 for i in range(7)]
        rest = agg.poll_windows(page=9)
        assert len(rest["key"]) == 93 and rest["window_start"][0] == 70
        assert agg.pending_windows()[0] == 0


def test_pending_window_queue_never_drops() -> None:
    # Issue 12: past max_pending_windows, windows wait instead of being dropped.
    with Aggregator(time_unit="ns", window="tumbling", size=1, max_pending_windows=5) as agg:
        agg.push(np.ones(20), timestamps=np.arange(20))
        agg.advance(100)
        pending, dropped = agg.pending_windows()
        assert pending == 20 and dropped == 0
        assert list(agg.poll_windows(max_windows=3)["window_start"]) == [0, 1, 2]
        assert list(agg.poll_windows()["window_start"]) == list(range(3, 20))
        assert agg.pending_windows() == (0, 0)


def _hopping_job(n, nkeys):
    i = np.arange(n)
    keys = ((i * 7919) ^ (i >> 3)) % nkeys
    return (i % 97 - 40).astype(np.float64), i // 3, keys.astype(np.uint64)


def _brute_hopping(ts, keys, width, slide):
    out = {}
    for t, k in zip(ts.tolist(), keys.tolist()):
        last = t // slide
        for m in range(last - width // slide + 1, last + 1):
            out[(k, m * slide)] = out.get((k, m * slide), 0) + 1
    return out


def test_hopping_batch_job_past_max_pending_polls_every_window() -> None:
    vals, ts, keys = _hopping_job(30000, 40)
    want = _brute_hopping(ts, keys, 20, 5)
    assert len(want) > 20 * 500
    with Aggregator(time_unit="ns", window="hopping", size=20, slide=5, max_pending_windows=500) as agg:
        for i in range(0, len(vals), 1000):
            agg.push(vals[i:i + 1000], timestamps=ts[i:i + 1000], keys=keys[i:i + 1000])
        agg.advance(np.iinfo(np.int64).max)
        assert agg.pending_windows() == (len(want), 0)
        got = agg.poll_windows(quantiles=[0.0, 1.0], page=64)
        assert len(got["key"]) == len(want)
        seen = {}
        for k, s, c in zip(got["key"].tolist(), got["window_start"].tolist(),
                           got["count"].tolist()):
            assert want[(k, s)] == c
            assert seen.get(k, -(1 << 62)) < s  # each series in order
            seen[k] = s
        assert agg.pending_windows() == (0, 0)


def test_unpolled_windows_bounded_by_memory_limit() -> None:
    vals, ts, keys = _hopping_job(400000, 200)
    with Aggregator(time_unit="ns", window="hopping", size=20, slide=5, max_pending_windows=1000,
                    memory_limit=4 << 20) as agg:
        accepted = 0
        with pytest.raises(windowagg.MemoryLimitError):
            for i in range(0, len(vals), 1000):
                before = agg.to_bytes()
                try:
                    agg.push(vals[i:i + 1000], timestamps=ts[i:i + 1000],
                             keys=keys[i:i + 1000])
                except windowagg.MemoryLimitError:
                    assert agg.to_bytes() == before  # refused whole
                    raise
                accepted = i + 1000
        agg.advance(np.iinfo(np.int64).max)
        want = _brute_hopping(ts[:accepted], keys[:accepted], 20, 5)
        got = agg.poll_windows()
        assert len(got["key"]) == len(want)


def test_closed_windows_unsupported_on_count_and_sliding() -> None:
    for kind in ("count", "sliding"):
        with Aggregator(time_unit="ns", window=kind, size=60) as agg:
            with pytest.raises(windowagg.UnsupportedError):
                agg.poll_windows()


def test_tumbling_read_describes_the_open_window() -> None:
    with Aggregator(time_unit="ns", window="tumbling", size=10) as agg:
        agg.push([1.0, 2.0, 3.0], timestamps=[3, 12, 15])
        s = agg.stats()
        assert (s.window_start, s.window_end) == (10, 20)
        assert s.count == 2 and s.sum == 5.0 and s.watermark == 15


def test_late_values_counted_and_left_out() -> None:
    with Aggregator(time_unit="ns", window="tumbling", size=10, lateness=5) as agg:
        agg.push([1.0, 2.0, 3.0], timestamps=[20, 16, 14])  # 14 < 20 - 5: late
        s = agg.stats()
        assert s.late == 1 and s.total == 2
        agg.advance(35)  # closes [10,20) and [20,30) (35 >= 30 + 5)
        w = agg.poll_windows()
        assert list(w["window_start"]) == [10, 20]
        assert list(w["sum"]) == [2.0, 1.0]


def test_sliding_window_bounds_and_expiry() -> None:
    with Aggregator(time_unit="ns", window="sliding", size=60, pane=10) as agg:
        agg.push([1.0, 2.0], timestamps=[5, 59])
        s = agg.stats()
        # panes of width 10; the window is the 6 panes ending with the watermark's pane
        assert (s.window_start, s.window_end) == (0, 60) and s.count == 2
        agg.push([3.0], timestamps=[65])
        s = agg.stats()
        assert (s.window_start, s.window_end) == (10, 70) and s.count == 2 and s.sum == 5.0
        agg.advance(200)
        s = agg.stats()
        assert s.count == 0 and s.sum == 0 and math.isnan(s.mean) and s.watermark == 200
        agg.push([9.0], timestamps=[100])  # pane older than the window: late
        assert agg.stats().late == 1


def test_negative_timestamps_floor_division() -> None:
    with Aggregator(time_unit="ns", window="tumbling", size=10) as agg:
        agg.push([1.0, 2.0], timestamps=[-15, -11])
        agg.advance(0)
        w = agg.poll_windows()
        assert list(w["window_start"]) == [-20] and list(w["window_end"]) == [-10]
        assert w["count"][0] == 2


def test_key_ttl_expires_idle_series() -> None:
    with Aggregator(time_unit="ns", window="sliding", size=100, key_ttl=50) as agg:
        agg.push([1.0, 2.0], timestamps=[0, 10], keys=[1, 2])
        agg.push([3.0], timestamps=[55], keys=[2])
        agg.advance(62)  # series 1 idle for 62 > 50, series 2 for 7
        assert 1 not in agg and 2 in agg


def test_hopping_read_describes_the_window_closing_first() -> None:
    # D = 60, S = 15: the watermark 15 is in slide pane [15, 30), so the read
    # window is [30 - 60, 30) = [-30, 30).
    with Aggregator(time_unit="ns", window="hopping", size=60, slide=15) as agg:
        agg.push([1.0, 2.0, 3.0], timestamps=[3, 12, 15])
        s = agg.stats()
        assert (s.window_start, s.window_end) == (-30, 30)
        assert s.count == 3 and s.sum == 6.0
        agg.push([4.0], timestamps=[44])  # pane [30, 45): window [-15, 45)
        s = agg.stats()
        assert (s.window_start, s.window_end) == (-15, 45) and s.count == 4


def test_hopping_windows_close_with_lateness() -> None:
    with Aggregator(time_unit="ns", window="hopping", size=20, slide=10, lateness=5) as agg:
        agg.push([1.0, 2.0], timestamps=[0, 12])
        agg.advance(24)  # [-10,10) closes at 15, [0,20) at 25
        w = agg.poll_windows()
        assert list(zip(w["window_start"], w["window_end"])) == [(-10, 10)]
        agg.advance(25)
        w = agg.poll_windows()
        assert list(zip(w["window_start"], w["window_end"], w["sum"])) == [(0, 20, 3.0)]


def _model_accept(ts: np.ndarray, lateness: int, pane: int = 0, npanes: int = 0):
    """The header's lateness rule, value by value in push order: a value is late
    if t < watermark - lateness (watermark = largest accepted time before it) or,
    for sliding windows, if its pane is older than the window's oldest pane."""
    wm = None
    accepted = np.zeros(len(ts), dtype=bool)
    for i, t in enumerate(ts):
        late = wm is not None and t < wm - lateness
        if not late and pane and wm is not None:
            late = t // pane < wm // pane - npanes + 1
        if not late:
            accepted[i] = True
            wm = t if wm is None else max(wm, t)
    return accepted


@pytest.mark.parametrize("kind, lateness", [("tumbling", 0), ("tumbling", 25), ("hopping", 0), ("hopping", 40)])
def test_out_of_order_with_lateness_matches_model(rng: np.random.Generator, kind: str, lateness: int) -> None:
    n, width, slide = 4000, 50, 10
    ts = np.arange(n) * 2 + rng.integers(-60, 1, n)  # disorder of up to 60 time units
    vals = rng.normal(size=n)
    keys = rng.integers(0, 3, n).astype(np.uint64)
    acc = _model_accept(ts, lateness)
    assert 0 < (~acc).sum() < n  # the data does have late values
    kw = dict(slide=slide) if kind == "hopping" else {}
    with Aggregator(time_unit="ns", window=kind, size=width, lateness=lateness, **kw) as agg:
        parts = []
        for chunk in np.array_split(np.arange(n), 29):
            agg.push(vals[chunk], timestamps=ts[chunk], keys=keys[chunk])
            parts.append(agg.poll_windows(quantiles=[0.5]))
        assert agg.stats().late == (~acc).sum()
        assert agg.stats().total == acc.sum()
        agg.advance(10**9)
        parts.append(agg.poll_windows(quantiles=[0.5]))
    polled = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
    step = width if kind == "tumbling" else slide
    lo = (ts.min() // step) * step - width
    expected = _brute_windows(ts[acc], vals[acc], keys[acc], range(lo, ts.max() + 1, step), width)
    _check_polled(polled, expected, [0.5], 0.01)


def test_sliding_out_of_order_matches_model(rng: np.random.Generator) -> None:
    n, width, pane, lateness = 3000, 60, 5, 20
    ts = np.arange(n) + rng.integers(-90, 1, n)
    vals = rng.normal(size=n)
    npanes = width // pane
    with Aggregator(time_unit="ns", window="sliding", size=width, pane=pane, lateness=lateness) as agg:
        for end in range(100, n + 1, 100):
            agg.push(vals[end - 100:end], timestamps=ts[end - 100:end])
            acc = _model_accept(ts[:end], lateness, pane, npanes)
            wm = ts[:end][acc].max()
            first_pane = wm // pane - npanes + 1
            inwin = acc & (ts[:end] // pane >= first_pane)
            w = vals[:end][inwin]
            s = agg.stats()
            assert s.late == (~acc).sum(), end
            assert s.watermark == wm and s.count == len(w), end
            assert s.window_start == first_pane * pane and s.window_end == (wm // pane + 1) * pane
            assert s.sum == pytest.approx(w.sum(), abs=1e-9)
            assert s.min == w.min() and s.max == w.max()
            assert_quantiles_within(agg.quantiles(np.array([0.1, 0.5, 0.9])), w,
                                    np.array([0.1, 0.5, 0.9]), 0.01, what=end)
