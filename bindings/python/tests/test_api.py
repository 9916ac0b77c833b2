"""API surface: configuration, conversions, keys, errors, lifecycle."""

from __future__ import annotations

import array
import ctypes
import math

import numpy as np
import pytest

import windowagg
from windowagg import Aggregator
from windowagg import _aggregator as A

from conftest import same_stats


# ------------------------------------------------------------- basics ---


def test_version() -> None:
    assert windowagg.version() == "1.0.0"
    assert windowagg.version_number() == 10000
    assert windowagg.library_path


def test_struct_sizes_match_the_library() -> None:
    # aggregator_config_init writes struct_size = sizeof(aggregator_config) of the library.
    scratch = ctypes.create_string_buffer(4096)
    windowagg._lib.lib.aggregator_config_init(ctypes.addressof(scratch))
    size = int.from_bytes(scratch.raw[:4], "little")
    assert size == ctypes.sizeof(windowagg._lib.Config) == 96
    assert ctypes.sizeof(windowagg._lib.Stats) == 104
    assert ctypes.sizeof(windowagg._lib.KeyStats) == 112
    assert ctypes.sizeof(windowagg._lib.Cursor) == 16
    assert windowagg._lib.KEY_STATS_DTYPE.itemsize == 112


def test_library_is_cdll_so_calls_release_the_gil() -> None:
    lib = windowagg._lib.lib
    assert isinstance(lib, ctypes.CDLL) and not isinstance(lib, ctypes.PyDLL)
    assert lib.aggregator_push._flags_ & ctypes._FUNCFLAG_PYTHONAPI == 0  # type: ignore[attr-defined]


def test_count_window_basics() -> None:
    with Aggregator(window="count", size=4) as agg:
        s = agg.stats()
        assert s.count == 0 and s.sum == 0 and math.isnan(s.mean)
        agg.push(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
        s = agg.stats()
        assert (s.count, s.sum, s.mean, s.min, s.max) == (4, 18.0, 4.5, 3.0, 6.0)
        assert s.variance == pytest.approx(np.var([3, 4, 5, 6], ddof=1))
        assert s.stddev == pytest.approx(np.std([3, 4, 5, 6], ddof=1))
        assert (s.window_start, s.window_end) == (2, 6)
        assert s.total == 6
        assert s.watermark == 6  # count windows: arrival number of the next value
        assert same_stats(agg.key_stats(0), s)
        assert agg.quantiles(0.0) == 3.0 and agg.quantiles(1.0) == 6.0
        qs = agg.quantiles([0.0, 0.5, 1.0])
        assert isinstance(qs, np.ndarray) and qs.dtype == np.float64 and qs.shape == (3,)
        assert list(agg.key_quantiles(0, [0.0, 1.0])) == [3.0, 6.0]
        assert agg.key_count() == 1 == len(agg)
        assert list(agg.keys()) == [0]
        assert agg.memory_usage() > 0
        assert agg.key_memory_usage(0) > 0
        assert 0 in agg and 7 not in agg


def test_config_roundtrip_and_durations() -> None:
    with Aggregator(window="sliding", size="60s", pane="1s", lateness="5s", time_unit="s",
                    accuracy=0.02, quantiles=False, nonfinite="skip", max_keys=10,
                    key_policy="evict_lru", key_ttl="1h", memory_limit=1 << 30,
                    threading="single", max_pending_windows=7) as agg:
        c = agg.config
        assert c["window"] == "sliding" and c["size"] == 60 and c["pane"] == 1
        assert c["lateness"] == 5 and c["key_ttl"] == 3600
        assert c["accuracy"] == 0.02 and c["quantiles"] is False
        assert c["nonfinite"] == "skip" and c["max_keys"] == 10
        assert c["key_policy"] == "evict_lru" and c["threading"] == "single"
        assert c["memory_limit"] == 1 << 30 and c["max_pending_windows"] == 7
    import datetime
    with Aggregator(time_unit="ns", window="hopping", size=datetime.timedelta(minutes=1),
                    slide=np.timedelta64(10, "s")) as agg:
        c = agg.config
        assert (c["size"], c["slide"]) == (60 * 10**9, 10 * 10**9)  # default unit: ns
    # default pane: the largest divisor of D that is <= max(1, D/60)
    for size in (60, 30, 600, 3600, 7 * 60 * 13, 61 * 60 + 1):
        with Aggregator(time_unit="ns", window="sliding", size=size) as agg:
            assert agg.config["pane"] == _default_pane(size), size


def _default_pane(d: int) -> int:
    limit = max(1, d // 60)
    return max(p for p in range(1, limit + 1) if d % p == 0)


@pytest.mark.parametrize(
    "kw, field",
    [
        (dict(window="bogus"), "window"),
        (dict(nonfinite="drop"), "nonfinite"),
        (dict(key_policy="lru"), "key_policy"),
        (dict(threading="multi"), "threading"),
        (dict(time_unit="fortnight"), "time_unit"),
        (dict(window="sliding", size="60 parsecs"), "size"),
        (dict(window="sliding", size="1500ms", time_unit="s"), "size"),
        (dict(max_keys=-1), "max_keys"),
        (dict(window="count", size=2.5), "size"),
        (dict(window="count", size=2**70), "size"),
    ],
)
def test_python_side_config_errors(kw: dict, field: str) -> None:
    with pytest.raises(windowagg.ConfigError, match=field) as ei:
        Aggregator(**kw)
    assert isinstance(ei.value, ValueError)


@pytest.mark.parametrize(
    "kw, field",
    [
        (dict(window="count", size=0), "window_size"),
        (dict(window="count", size=2**32 + 1), "window_size"),
        (dict(time_unit="ns", window="sliding", size=-5), "window_size"),
        (dict(time_unit="ns", window="sliding", size=60, pane=7), "pane_width"),
        (dict(time_unit="ns", window="hopping", size=60, slide=7), "slide"),
        (dict(time_unit="ns", window="hopping", size=60, slide=0), "slide"),
        (dict(time_unit="ns", window="hopping", size=60, slide=120), "slide"),
        (dict(accuracy=0.9), "relative_accuracy"),
        (dict(accuracy=1e-6), "relative_accuracy"),
        (dict(time_unit="ns", lateness=-1, window="tumbling", size=10), "allowed_lateness"),
    ],
)
def test_library_config_errors_name_the_field(kw: dict, field: str) -> None:
    with pytest.raises(windowagg.ConfigError) as ei:
        Aggregator(**kw)
    assert ei.value.status == 2 and ei.value.status_name == "AGGREGATOR_ECONFIG"
    assert field in ei.value.message, ei.value.message


def test_new_count_and_process_batch() -> None:
    agg = Aggregator.new_count(3)
    assert math.isnan(agg.process_batch(np.array([], dtype=np.float64)))
    assert agg.process_batch([1.0, 2.0]) == 1.5
    assert agg.process_batch(np.array([3.0, 4.0])) == 3.0
    with pytest.raises(windowagg.NonFiniteValueError):
        agg.process_batch([1.0, float("nan")])
    assert agg.stats().mean == 3.0  # refused batch left the window alone
    agg.close()
    with pytest.raises(windowagg.ConfigError):
        Aggregator.new_count(0)


def test_process_batch_on_keyed_handle_uses_series_0() -> None:
    with Aggregator(window="count", size=10) as agg:
        agg.push([100.0], keys=[5])
        assert agg.process_batch([1.0, 3.0]) == 2.0
        assert agg.key_stats(5).count == 1


def test_process_batch_skip_all_nonfinite_returns_nan() -> None:
    with Aggregator(window="count", size=10, nonfinite="skip") as agg:
        assert math.isnan(agg.process_batch([float("nan")]))
        assert agg.process_batch([2.0]) == 2.0


# -------------------------------------------------------- conversions ---


def test_zero_copy_inputs_are_not_converted() -> None:
    v = np.arange(5, dtype=np.float64)
    t = np.arange(5, dtype=np.int64)
    k = np.arange(5, dtype=np.uint64)
    assert A._as_values(v) is v
    assert A._as_timestamps(t, "ns")[0] is t
    ids, named = A._as_keys(k, 5)
    assert ids is k and named is None
    # The pointer read by the fast path is the array's data pointer.
    assert windowagg._lib.array_address(v) == v.ctypes.data
    assert windowagg._lib.array_address(v[2:]) == v[2:].ctypes.data


@pytest.mark.parametrize(
    "values",
    [
        [1, 2, 3],
        (1.0, 2.0, 3.0),
        np.array([1, 2, 3], dtype=np.int32),
        np.array([1, 2, 3], dtype=np.uint64),
        np.array([1, 2, 3], dtype=np.float32),
        np.array([1.0, 9.0, 2.0, 9.0, 3.0])[::2],  # strided view: copied once
        np.array([1.0, 2.0, 3.0], dtype=">f8"),  # big-endian
        array.array("d", [1.0, 2.0, 3.0]),  # buffer protocol
        memoryview(np.array([1.0, 2.0, 3.0])),
    ],
)
def test_values_conversions(values: object) -> None:
    with Aggregator(size=10) as agg:
        agg.push(values)
        s = agg.stats()
        assert (s.count, s.sum, s.min, s.max) == (3, 6.0, 1.0, 3.0)


def test_pandas_series_input() -> None:
    pd = pytest.importorskip("pandas")
    with Aggregator(size=10) as agg:
        agg.push(pd.Series([1.0, 2.0, 3.0]))
        assert agg.stats().sum == 6.0


def test_none_in_a_list_is_nan() -> None:
    with Aggregator(size=10, nonfinite="reject") as agg:
        with pytest.raises(windowagg.NonFiniteValueError):
            agg.push([1.0, None])
    with Aggregator(size=10, nonfinite="skip") as agg:
        agg.push([1.0, None])
        assert agg.stats().rejected == 1
    with Aggregator(size=10) as agg:  # the default: skipped and counted, like pandas
        agg.push([1.0, None, 3.0])
        s = agg.stats()
        assert (s.count, s.sum, s.rejected) == (2, 4.0, 1)


def test_scalar_push_is_a_batch_of_one() -> None:
    with Aggregator(size=10) as agg:
        agg.push(2.5)
        agg.push(3)
        assert agg.stats().count == 2 and agg.stats().sum == 5.5


@pytest.mark.parametrize(
    "values",
    [
        np.array([1 + 2j, 3 + 0j]),
        ["a", "b"],
        np.array(["1.0", "2.0"]),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
    ],
)
def test_values_of_wrong_type(values: object) -> None:
    with Aggregator(size=10) as agg:
        with pytest.raises(TypeError) as ei:
            agg.push(values)
        assert isinstance(ei.value, windowagg.WindowaggError)
        assert agg.stats().total == 0


def test_wrong_ndim_mismatched_lengths_keep_state() -> None:
    with Aggregator(size=10, time_unit="ns") as agg:
        agg.push(np.array([1.0, 2.0]))
        before = agg.stats()
        with pytest.raises(windowagg.InvalidArgumentError, match="ndim=2"):
            agg.push(np.ones((2, 2)))
        with pytest.raises(ValueError, match="timestamps has 3 elements but values has 2"):
            agg.push([1.0, 2.0], timestamps=[1, 2, 3])
        with pytest.raises(ValueError, match="keys has 1 elements but values has 2"):
            agg.push([1.0, 2.0], keys=[1])
        with pytest.raises(ValueError, match="keys has 3 elements"):
            agg.push([1.0, 2.0], keys=["a", "b", "c"])
        with pytest.raises(ValueError, match="negative key"):
            agg.push([1.0, 2.0], keys=[1, -2])
        with pytest.raises(TypeError):
            agg.push([1.0, 2.0], keys=[1.5, 2.5])
        assert same_stats(agg.stats(), before)


def test_nonfinite_reject_is_atomic_and_names_the_element() -> None:
    with Aggregator(size=100, nonfinite="reject") as agg:
        agg.push(np.array([1.0, 2.0]))
        before = agg.stats()
        for bad in (np.nan, np.inf, -np.inf):
            v = np.array([5.0, 6.0, 7.0, bad, 8.0])
            with pytest.raises(windowagg.NonFiniteValueError) as ei:
                agg.push(v)
            assert ei.value.status == 3
            assert isinstance(ei.value, ValueError)
            assert "3" in ei.value.message, ei.value.message  # the element index
            assert same_stats(agg.stats(), before)


def test_nonfinite_skip_counts_rejected() -> None:
    with Aggregator(size=100, nonfinite="skip") as agg:
        agg.push(np.array([1.0, np.nan, 2.0, np.inf, -np.inf]))
        s = agg.stats()
        assert (s.count, s.sum, s.rejected, s.total) == (2, 3.0, 3, 2)


def test_quantiles_off_and_bad_q() -> None:
    with Aggregator(size=10, quantiles=False) as agg:
        agg.push([1.0, 2.0])
        with pytest.raises(windowagg.UnsupportedError):
            agg.quantiles([0.5])
    with Aggregator(size=10) as agg:
        agg.push([1.0, 2.0])
        for bad in (1.5, -0.1, float("nan")):
            with pytest.raises(windowagg.InvalidArgumentError):
                agg.quantiles([0.5, bad])
        assert math.isnan(Aggregator(size=3).quantiles(0.5))


def test_mixing_timestamped_and_untimestamped_pushes() -> None:
    with Aggregator(time_unit="ns", window="sliding", size=60) as agg:
        agg.push([1.0], timestamps=[10])
        with pytest.raises(windowagg.InvalidArgumentError):
            agg.push([2.0])
        assert agg.stats().count == 1
    with Aggregator(time_unit="ns", window="sliding", size=60, clock="arrival") as agg:
        agg.push([1.0])
        with pytest.raises(windowagg.InvalidArgumentError):
            agg.push([2.0], timestamps=[10])


def test_timestamp_conversions() -> None:
    with Aggregator(window="sliding", size="60s", pane="1s", time_unit="s") as agg:
        ts = np.array(["2024-01-01T00:00:00", "2024-01-01T00:00:30"], dtype="datetime64[ns]")
        agg.push([1.0, 2.0], timestamps=ts)
        assert agg.stats().watermark == int(ts[1].astype("datetime64[s]").astype(np.int64))
        agg.push([3.0], timestamps=np.array([ts[1].astype("datetime64[s]").astype(np.int64)], np.uint32))
        with pytest.raises(windowagg.InputTypeError):
            agg.push([1.0], timestamps=[1.5])
        with pytest.raises(windowagg.InvalidArgumentError, match="NaT"):
            agg.push([1.0], timestamps=np.array(["NaT"], dtype="datetime64[s]"))
        assert agg.stats().count == 3


# ------------------------------------------------------------------ keys ---


def test_hash_key_is_xxh3_64_seed_0() -> None:
    assert windowagg.hash_key(b"") == 0x2D06800538D394C2
    assert windowagg.hash_key("cpu") == 0xECAA9C725D358ABE == windowagg.hash_key(b"cpu")
    assert windowagg.hash_key(bytearray(b"cpu")) == windowagg.hash_key(memoryview(b"cpu"))
    with pytest.raises(TypeError):
        windowagg.hash_key(5)  # type: ignore[arg-type]


def test_numeric_keys() -> None:
    with Aggregator(size=100) as agg:
        agg.push([1.0, 2.0, 3.0, 4.0], keys=np.array([1, 2, 1, 2**64 - 1], dtype=np.uint64))
        agg.push([10.0], keys=[2])
        agg.push([20.0, 30.0], keys=7)  # one key for the batch
        assert sorted(int(k) for k in agg.keys()) == [1, 2, 7, 2**64 - 1]
        assert agg.key_stats(1).sum == 4.0
        assert agg.key_stats(2).sum == 12.0
        assert agg.key_stats(7).count == 2
        assert agg.key_stats(np.uint64(2**64 - 1)).sum == 4.0
        assert agg.key_name(1) == ""
        assert agg.stats().count == 7
        with pytest.raises(windowagg.KeyNotFoundError) as ei:
            agg.key_stats(3)
        assert isinstance(ei.value, KeyError) and ei.value.status == 4
        with pytest.raises(KeyError):
            agg.key_quantiles(3, [0.5])
        with pytest.raises(windowagg.InvalidArgumentError):
            agg.key_stats(-1)
        agg.remove_key(1)
        with pytest.raises(KeyError):
            agg.key_stats(1)
        with pytest.raises(KeyError):
            agg.remove_key(1)
        assert agg.key_count() == 3


def test_named_keys() -> None:
    with Aggregator(size=100) as agg:
        agg.push([1.0, 2.0, 3.0, 4.0], keys=["cpu", "mem", "cpu", "ünï"])
        agg.push([5.0], keys=[b"mem"])
        agg.push(np.array([6.0, 7.0]), keys=np.array(["disk", "disk"]))
        agg.push([8.0, 9.0], keys="net")
        assert agg.key_stats("cpu").sum == 4.0
        assert agg.key_stats(b"mem").sum == 7.0
        assert agg.key_stats(windowagg.hash_key("ünï")).sum == 4.0
        assert agg.key_stats("disk").count == 2
        assert agg.key_stats("net").sum == 17.0
        assert agg.key_name(windowagg.hash_key("ünï")) == "ünï"
        assert agg.key_name("ünï", raw=True) == "ünï".encode()
        names = agg.key_names()
        assert sorted(names.values()) == sorted(["cpu", "mem", "ünï", "disk", "net"])
        assert all(windowagg.hash_key(n) == k for k, n in names.items())
        assert set(int(k) for k in agg.keys()) == set(names)
        assert list(agg.key_quantiles("cpu", [0.0, 1.0])) == [1.0, 3.0]


def test_long_names_and_many_keys() -> None:
    with Aggregator(size=4) as agg:
        long_name = "x" * 100_000
        agg.push([1.0], keys=[long_name])
        assert agg.key_name(long_name) == long_name
        names = [f"series-{i}" for i in range(10_000)]
        agg.push(np.arange(10_000, dtype=float), keys=names)
        table = agg.key_names()
        assert len(table) == 10_001 and table[windowagg.hash_key(long_name)] == long_name
        assert len(agg.keys()) == 10_001
        st = agg.all_stats()
        assert len(st["key"]) == 10_001
        assert st["sum"].sum() == pytest.approx(1.0 + np.arange(10_000).sum())


def test_all_stats_and_frame() -> None:
    with Aggregator(size=100) as agg:
        agg.push([1.0, 2.0, 3.0, 4.0, 5.0], keys=["a", "b", "a", "b", "a"])
        cols = agg.all_stats(quantiles=[0.0, 1.0], names=True)
        assert set(cols) >= {"key", "count", "sum", "mean", "min", "max", "variance", "stddev",
                             "window_start", "window_end", "late", "rejected", "total",
                             "watermark", "q0", "q1", "name"}
        assert cols["key"].dtype == np.uint64 and cols["sum"].dtype == np.float64
        by = {n: i for i, n in enumerate(cols["name"])}
        a, b = by["a"], by["b"]
        assert cols["sum"][a] == 9.0 and cols["sum"][b] == 6.0
        assert cols["q0"][a] == 1.0 and cols["q1"][a] == 5.0 and cols["q1"][b] == 4.0
        assert cols["key"][a] == windowagg.hash_key("a")
        pd = pytest.importorskip("pandas")
        df = agg.all_stats_frame(quantiles=[0.5])
        assert isinstance(df, pd.DataFrame) and len(df) == 2
        assert list(df.index) == ["a", "b"] and df.index.name == "key"
        assert list(df.columns) == ["count", "mean", "std", "min", "max", "p50"]
        assert df.loc["b", "count"] == 2
        full = agg.all_stats_frame(aggs="all")
        assert list(full.columns) == ["count", "sum", "mean", "min", "max", "var", "std",
                                      "window_start", "window_end", "late", "rejected",
                                      "total", "watermark"]
    with Aggregator(size=10) as agg:
        cols = agg.all_stats(quantiles=[0.5])
        assert all(len(v) == 0 for v in cols.values())


def test_key_limit_policies() -> None:
    with Aggregator(size=10, max_keys=2) as agg:
        agg.push([1.0, 2.0], keys=[1, 2])
        before = agg.stats()
        with pytest.raises(windowagg.KeyLimitError) as ei:
            agg.push([3.0, 4.0], keys=[1, 3])
        assert ei.value.status == 7
        assert same_stats(agg.stats(), before) and agg.key_count() == 2
    with Aggregator(size=10, max_keys=2, key_policy="evict_lru") as agg:
        # (one batch holding more new keys than max_keys is refused whole by the library)
        for k in (1, 2, 1, 3):
            agg.push([float(k)], keys=[k])
        assert agg.key_count() == 2 and 2 not in agg and 1 in agg and 3 in agg
    with Aggregator(size=10, max_keys=2, key_policy="overflow") as agg:
        agg.push([1.0, 2.0, 3.0, 4.0], keys=[1, 2, 3, 4])
        assert agg.key_stats(windowagg.OVERFLOW_KEY).sum == 7.0


def test_memory_limit() -> None:
    with Aggregator(size=1000, memory_limit=1 << 20) as agg:
        agg.push(np.ones(10), keys=np.arange(10, dtype=np.uint64))
        assert agg.memory_usage() <= 1 << 20
        before = agg.stats()
        with pytest.raises(windowagg.MemoryLimitError) as ei:
            agg.push(np.ones(100_000), keys=np.arange(100, 100_100, dtype=np.uint64))
        assert ei.value.status == 8
        assert same_stats(agg.stats(), before) and agg.key_count() == 10
        assert agg.memory_usage() <= 1 << 20


def test_error_hierarchy() -> None:
    E = windowagg
    assert issubclass(E.ConfigError, (E.WindowaggError, ValueError))
    assert issubclass(E.InvalidArgumentError, ValueError)
    assert issubclass(E.NonFiniteValueError, ValueError)
    assert issubclass(E.KeyNotFoundError, KeyError)
    assert issubclass(E.NoMemoryError, MemoryError)
    assert issubclass(E.InputTypeError, TypeError)
    assert issubclass(E.ClosedError, ValueError)
    assert issubclass(E.LibraryNotFoundError, ImportError)
    for status in range(1, 14):
        err = windowagg._errors.error_for_status(status, "detail")
        assert isinstance(err, E.WindowaggError) and err.status == status
        assert str(err) == "detail"
        assert windowagg._lib.status_string(status)
    assert str(E.KeyNotFoundError("key 5 not found")) == "key 5 not found"


def test_use_after_close() -> None:
    agg = Aggregator(size=10, time_unit="ns")
    agg.push([1.0])
    agg.close()
    agg.close()  # safe twice
    assert agg.closed and "closed" in repr(agg)
    calls = [
        lambda: agg.push(np.ones(1)),
        lambda: agg.push([1.0], timestamps=[1]),
        lambda: agg.process_batch(np.ones(1)),
        lambda: agg.process_batch([1.0]),
        agg.stats, lambda: agg.key_stats(0), lambda: agg.quantiles([0.5]),
        lambda: agg.key_quantiles(0, [0.5]), agg.all_stats, agg.keys, agg.key_names,
        lambda: agg.key_name(0), lambda: agg.remove_key(0), agg.memory_usage,
        lambda: agg.key_memory_usage(0), lambda: agg.advance(5), agg.poll_windows,
        agg.pending_windows, agg.key_count, agg.to_bytes, lambda: agg.merge(b""),
        lambda: agg.config,
    ]
    for c in calls:
        with pytest.raises(windowagg.ClosedError):
            c()


def test_context_manager_closes() -> None:
    with Aggregator(size=10) as agg:
        pass
    assert agg.closed


def test_repr() -> None:
    with Aggregator(time_unit="ns", window="tumbling", size=10) as agg:
        assert "tumbling" in repr(agg) and "size=10" in repr(agg)


def test_merged_quantiles_over_many_series(rng: np.random.Generator) -> None:
    from conftest import assert_quantiles_within

    qs = np.array([0.0, 0.05, 0.5, 0.95, 0.999, 1.0])
    values = rng.standard_cauchy(20_000)
    keys = rng.integers(0, 50, 20_000).astype(np.uint64)
    with Aggregator(size=1 << 20) as agg:
        agg.push(values, keys=keys)
        assert_quantiles_within(agg.quantiles(qs), values, qs, 0.01, "all series")
        cols = agg.all_stats(quantiles=qs, page=7)  # several pages of list_stats
        assert len(cols["key"]) == 50 and len(set(cols["key"].tolist())) == 50
        for i, k in enumerate(cols["key"]):
            mine = values[keys == k]
            got = np.array([cols["q" + format(q, "g")][i] for q in qs])
            np.testing.assert_array_equal(got, agg.key_quantiles(int(k), qs))
            assert_quantiles_within(got, mine, qs, 0.01, f"key {k}")
            assert cols["count"][i] == len(mine)


def test_zero_subnormal_and_signed_values() -> None:
    tiny = 5e-324
    with Aggregator(size=100) as agg:
        agg.push([tiny, -tiny, 1e-310, 0.0, -0.0, 1.0, -3.0])
        s = agg.stats()
        assert s.min == -3.0 and s.max == 1.0 and s.count == 7
        assert s.sum == tiny - tiny + 1e-310 + 1.0 - 3.0
        # subnormals and zeros are counted as zero by the sketch (and only by it)
        assert agg.quantiles(0.5) == 0.0
        assert agg.quantiles(0.0) == -3.0 and agg.quantiles(1.0) == 1.0
    with Aggregator(size=100) as agg:
        agg.push([tiny, 2 * tiny])
        assert agg.stats().min == tiny and agg.stats().max == 2 * tiny


def test_process_batch_on_time_window_uses_arrival_clock() -> None:
    with Aggregator(window="sliding", size=10, clock="arrival") as agg:  # pane 1, arrival order
        assert agg.process_batch(np.arange(1.0, 21.0)) == 15.5
    with Aggregator(window="sliding", size="10s") as agg:  # event clock: refused
        with pytest.raises(windowagg.InvalidArgumentError, match='clock="arrival"'):
            agg.process_batch(np.arange(1.0, 21.0))


def test_empty_pushes_do_not_fix_the_clock() -> None:
    with Aggregator(time_unit="ns", window="sliding", size=60, clock="arrival") as agg:
        agg.push([], timestamps=[])
        agg.push(np.empty(0), keys=[])
        agg.push([1.0])  # no timestamps: still allowed
        assert agg.stats().count == 1


def test_unknown_key_name_and_memory_accounting() -> None:
    with Aggregator(size=64) as agg:
        with pytest.raises(windowagg.KeyNotFoundError):
            agg.key_name(12345)
        with pytest.raises(windowagg.KeyNotFoundError):
            agg.key_memory_usage(12345)
        empty = agg.memory_usage()
        agg.push(np.ones(64_000), keys=np.arange(64_000, dtype=np.uint64) % 1000)
        full = agg.memory_usage()
        assert full > empty
        assert agg.key_memory_usage(5) > 0
        for k in range(1000):
            agg.remove_key(k)
        assert agg.key_count() == 0
        assert agg.memory_usage() < full
