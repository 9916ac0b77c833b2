"""Inputs the binding used to convert silently (issue 12, item 17): each is now
converted exactly or refused with an error naming the argument and the index,
and a refused call leaves the state unchanged."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import windowagg
from windowagg import Aggregator


def _same_state(agg: Aggregator, before: bytes) -> None:
    assert agg.to_bytes() == before


# ------------------------------------------------------- masked arrays ---


def test_masked_values_are_missing_refused_under_reject() -> None:
    with Aggregator(size=100, nonfinite="reject") as agg:
        agg.push([1.0, 2.0])
        before = agg.to_bytes()
        data = np.ma.array([5.0, 1e300, 7.0], mask=[False, True, False])
        with pytest.raises(windowagg.NonFiniteValueError, match=r"values\[1\] is masked") as ei:
            agg.push(data)
        assert ei.value.status == 3
        _same_state(agg, before)
        # also through process_batch and for integer masked arrays
        with pytest.raises(windowagg.NonFiniteValueError, match=r"values\[0\] is masked"):
            agg.push(np.ma.array([9, 1], mask=[True, False]))
        _same_state(agg, before)


def test_masked_values_are_skipped_and_counted_under_skip() -> None:
    with Aggregator(size=100, nonfinite="skip") as agg:
        data = np.ma.array([5.0, 1e300, 7.0], mask=[False, True, False])
        agg.push(data)
        s = agg.stats()
        assert (s.count, s.max, s.rejected) == (2, 7.0, 1)  # 1e300 (masked out) not used
        assert data.data[1] == 1e300 and data.mask[1]  # the caller's array is untouched
        ints = np.ma.array(np.array([3, 4], dtype=np.int32), mask=[True, False])
        agg.push(ints)
        assert agg.stats().count == 3 and agg.stats().rejected == 2


def test_masked_array_without_masked_entries_is_taken_as_is() -> None:
    with Aggregator(size=100) as agg:
        agg.push(np.ma.array([1.0, 2.0]))  # mask = nomask
        agg.push(np.ma.array([3.0], mask=[False]))
        assert agg.stats().sum == 6.0


def test_masked_timestamps_keys_and_quantiles_are_refused() -> None:
    with Aggregator(time_unit="ns", window="tumbling", size=10) as agg:
        agg.push([1.0], timestamps=[1], keys=[1])
        before = agg.to_bytes()
        with pytest.raises(windowagg.InvalidArgumentError, match="timestamps: masked entry at index 1"):
            agg.push([1.0, 2.0], timestamps=np.ma.array([2, 99], mask=[False, True]))
        with pytest.raises(windowagg.InvalidArgumentError, match="keys: masked entry at index 0"):
            agg.push([1.0], timestamps=[3], keys=np.ma.array([7], mask=[True], dtype=np.uint64))
        _same_state(agg, before)
        with pytest.raises(windowagg.InvalidArgumentError, match="quantiles: masked"):
            agg.quantiles(np.ma.array([0.5, 0.9], mask=[False, True]))


# --------------------------------------------------- datetime64 ranges ---


def test_datetime64_overflow_is_refused_naming_the_index() -> None:
    with Aggregator(window="tumbling", size=10, time_unit="ns") as agg:  # 1677..2262
        agg.push([1.0], timestamps=[5])
        before = agg.to_bytes()
        ts = np.array(["2020-01-01", "3000-01-01"], dtype="datetime64[D]")
        with pytest.raises(windowagg.InvalidArgumentError, match=r"3000-01-01 at index 1 does not fit time_unit 'ns'"):
            agg.push([1.0, 2.0], timestamps=ts)
        with pytest.raises(windowagg.InvalidArgumentError, match="index 0"):
            agg.push([1.0], timestamps=np.array(["1600-01-01"], dtype="datetime64[s]"))
        with pytest.raises(windowagg.InvalidArgumentError, match="index 0"):
            agg.push([1.0], timestamps=np.array([10**13], dtype="datetime64[Y]"))
        _same_state(agg, before)


def test_datetime64_conversions_are_exact_up_to_the_limits() -> None:
    with Aggregator(time_unit="ns", window="sliding", size="10s") as agg:  # ns
        last_day = np.array(["2262-04-11"], dtype="datetime64[D]")
        agg.push([1.0], timestamps=last_day)
        assert agg.stats().watermark == int(last_day.astype("datetime64[ns]").astype(np.int64)[0])
        assert agg.stats().watermark == 106751 * 86400 * 10**9
    with Aggregator(window="sliding", size="10s", time_unit="s") as agg:
        # numpy's own ns -> s cast wraps to the year 2262 near the lower limit
        low = np.array(["1677-09-21T00:12:43.145224193", "1677-09-21T00:12:44.5"], dtype="datetime64[ns]")
        agg.push([1.0, 2.0], timestamps=low)
        assert agg.stats().watermark == -9223372036  # floor(-9223372035.35...) s
        cols = agg.all_stats()
        assert cols["count"][0] == 2 and cols["late"][0] == 0  # nothing read as 2262
    with Aggregator(window="tumbling", size=10, time_unit="s") as agg:
        # a unit with a multiplier, and calendar units
        agg.push([1.0], timestamps=np.array([3], dtype="datetime64[7s]"))
        assert agg.stats().watermark == 21
        agg.push([1.0], timestamps=np.array(["1971"], dtype="datetime64[Y]"))
        assert agg.stats().watermark == 365 * 86400


def test_pandas_timezone_aware_timestamps_are_utc_instants() -> None:
    pd = pytest.importorskip("pandas")
    ts = pd.Series(pd.to_datetime(["2024-01-01T01:00:00", "2024-01-01T01:00:30"]).tz_localize("Europe/Paris"))
    with Aggregator(window="sliding", size="60s", time_unit="s") as agg:
        agg.push([1.0, 2.0], timestamps=ts)
        assert agg.stats().watermark == int(np.datetime64("2024-01-01T00:00:30", "s").astype(np.int64))
        agg.push([3.0], timestamps=pd.DatetimeIndex(ts).tz_convert("UTC")[1:])
        assert agg.stats().count == 3


def test_advance_refuses_overflow_and_non_integers() -> None:
    with Aggregator(time_unit="ns", window="tumbling", size=10) as agg:
        agg.push([1.0], timestamps=[5])
        before = agg.to_bytes()
        with pytest.raises(windowagg.InvalidArgumentError, match="does not fit time_unit 'ns'"):
            agg.advance(dt.datetime(3000, 1, 1))
        with pytest.raises(windowagg.InvalidArgumentError, match="does not fit"):
            agg.advance(np.datetime64("3000-01-01"))
        for bad in ("5", 5.9, True, None):
            with pytest.raises(windowagg.InputTypeError, match="watermark"):
                agg.advance(bad)  # type: ignore[arg-type]
        _same_state(agg, before)
        # a timezone-aware datetime is converted to UTC
        agg.advance(dt.datetime(2030, 1, 1, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))))
        assert agg.stats().watermark == int(np.datetime64("2030-01-01T00:00", "ns").astype(np.int64))


def test_durations_refuse_overflow() -> None:
    for size in (np.timedelta64(10**6, "D"), dt.timedelta(days=999_999_999),
                 "99999999999999999999s", np.timedelta64(1, "Y")):
        with pytest.raises(windowagg.ConfigError, match="size"):
            Aggregator(time_unit="ns", window="sliding", size=size)
    assert Aggregator(time_unit="ns", window="sliding", size=dt.timedelta(days=100_000)).config["size"] == 864 * 10**16
    with pytest.raises(windowagg.ConfigError, match="not a whole number"):
        Aggregator(window="sliding", size=dt.timedelta(microseconds=1), time_unit="ms")


# ----------------------------------------------------------------- keys ---


@pytest.mark.parametrize("keys", [[3, "a"], ["b", 4], (b"x", np.uint64(1)),
                                  np.array([3, "a"], dtype=object)])
def test_mixed_key_kinds_are_refused(keys: object) -> None:
    with Aggregator(size=10) as agg:
        agg.push([1.0, 2.0], keys=[1, 2])
        before = agg.to_bytes()
        with pytest.raises(windowagg.InputTypeError, match="mixes integer ids and str/bytes names"):
            agg.push([1.0, 2.0], keys=keys)
        _same_state(agg, before)
        assert "3" not in agg.key_names().values()


def test_integer_keys_in_objects_and_out_of_range() -> None:
    with Aggregator(size=10) as agg:
        agg.push([1.0, 2.0], keys=np.array([8, 2**64 - 1], dtype=object))
        agg.push([1.0], keys=[2**63])
        assert sorted(agg.keys().tolist()) == [8, 2**63, 2**64 - 1]
        before = agg.to_bytes()
        with pytest.raises(windowagg.InvalidArgumentError, match=r"keys\[1\] = 18446744073709551616"):
            agg.push([1.0, 2.0], keys=[1, 2**64])
        with pytest.raises(windowagg.InvalidArgumentError, match=r"keys\[0\] = -1"):
            agg.push([1.0, 2.0], keys=[-1, 2**63])  # numpy would make this float64
        with pytest.raises(windowagg.InvalidArgumentError, match=r"keys\[1\]: a name that is not valid"):
            agg.push([1.0, 2.0], keys=["ok", "\ud800"])
        _same_state(agg, before)


# ------------------------------------------- strings are never numbers ---


def test_strings_are_not_parsed_as_numbers() -> None:
    with Aggregator(time_unit="ns", window="tumbling", size=10) as agg:
        agg.push([1.0], timestamps=[1])
        before = agg.to_bytes()
        with pytest.raises(windowagg.InputTypeError, match=r"values\[1\] is a str"):
            agg.push(np.array([1.0, "1.5"], dtype=object), timestamps=[2, 3])
        with pytest.raises(windowagg.InputTypeError, match=r"timestamps\[0\] is a float"):
            agg.push([1.0], timestamps=np.array([7.9], dtype=object))
        with pytest.raises(windowagg.InputTypeError, match="got NoneType"):
            agg.push(None)  # type: ignore[arg-type]
        _same_state(agg, before)
        for bad in ("0.5", None, [0.5, None], ["0.5"]):
            with pytest.raises(windowagg.InputTypeError, match="quantile"):
                agg.quantiles(bad)
    with pytest.raises(windowagg.ConfigError, match="accuracy"):
        Aggregator(accuracy="0.01")  # type: ignore[arg-type]


def test_decimal_fraction_none_and_pandas_na_still_convert() -> None:
    import decimal
    import fractions

    with Aggregator(size=10, nonfinite="skip") as agg:
        agg.push([decimal.Decimal("1.5"), fractions.Fraction(1, 2), None])
        s = agg.stats()
        assert (s.count, s.sum, s.rejected) == (2, 2.0, 1)


# ------------------------------------------------- other argument checks ---


def test_pages_and_blobs_are_checked() -> None:
    with Aggregator(time_unit="ns", window="tumbling", size=10) as agg:
        agg.push([1.0], timestamps=[1])
        for bad in (0, -1, 1.5):
            with pytest.raises(windowagg.InvalidArgumentError, match="page"):
                agg.all_stats(page=bad)  # type: ignore[arg-type]
            with pytest.raises(windowagg.InvalidArgumentError, match="page"):
                agg.keys(page=bad)  # type: ignore[arg-type]
        with pytest.raises(windowagg.InvalidArgumentError, match="max_windows"):
            agg.poll_windows(max_windows=-1)
        for bad in ("WAGG", [1, 2, 3], 42, None):
            with pytest.raises(windowagg.InputTypeError):
                Aggregator.from_bytes(bad)  # type: ignore[arg-type]
            with pytest.raises(windowagg.InputTypeError):
                agg.merge(bad)  # type: ignore[arg-type]
