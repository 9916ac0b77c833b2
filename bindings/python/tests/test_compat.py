"""The compatibility constructor (one name, one error in every binding) and
the extensible stats read (issue 13, step 5)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

import windowagg
from windowagg import Aggregator
from windowagg import _lib as L


@pytest.mark.parametrize("capacity", [0, -1, 2**32 + 1])
def test_new_count_bad_capacity_is_config_error(capacity: int) -> None:
    with pytest.raises(windowagg.ConfigError) as ei:
        Aggregator.new_count(capacity)
    assert ei.value.status == 2 and ei.value.status_name == "AGGREGATOR_ECONFIG"
    assert "capacity" in ei.value.message


def test_new_count_has_no_quantiles() -> None:
    with Aggregator.new_count(3) as agg:
        assert agg.config["quantiles"] is False
        agg.push([1.0, 2.0, 3.0])
        with pytest.raises(windowagg.UnsupportedError):
            agg.quantiles(0.5)


def test_legacy_is_a_deprecated_alias() -> None:
    with pytest.warns(DeprecationWarning, match="new_count"):
        agg = Aggregator.legacy(2)
    agg.push([1.0, 2.0, 3.0])
    assert agg.stats().mean == 2.5
    agg.close()
    with pytest.warns(DeprecationWarning), pytest.raises(windowagg.ConfigError):
        Aggregator.legacy(0)


def test_stats_ex_equals_stats() -> None:
    with Aggregator(window="count", size=4) as agg:
        agg.push([1.0, 2.0, 3.0, 4.0, 5.0], keys=[7, 7, 7, 8, 8])
        assert agg.stats_ex() == agg.stats()
        assert agg.key_stats_ex(7) == agg.key_stats(7)
        with pytest.raises(windowagg.KeyNotFoundError):
            agg.key_stats_ex(99)
    with Aggregator(window="tumbling", size=10, time_unit="ns") as empty:  # NaN fields, watermark None
        a, b = empty.stats_ex(), empty.stats()
        assert a.count == b.count == 0 and a.watermark is None and np.isnan(a.mean)
        np.testing.assert_equal(tuple(a), tuple(b))


def _handle_with_data() -> Aggregator:
    agg = Aggregator(window="count", size=8)
    agg.push([1.0, 2.0, 3.0, 4.0])
    return agg


def test_stats_ex_smaller_struct_size_writes_only_known_fields() -> None:
    """A host built against an older header (struct_size covering only
    count and sum) gets those and nothing past them."""
    with _handle_with_data() as agg:
        buf = (ctypes.c_uint8 * ctypes.sizeof(L.StatsEx))(*([0xAB] * ctypes.sizeof(L.StatsEx)))
        s = L.StatsEx.from_buffer(buf)
        size = L.StatsEx.stats.offset + L.Stats.mean.offset  # head + count + sum
        s.struct_size = size
        s.reserved = 0
        assert L.lib.aggregator_get_stats_ex(agg._h, ctypes.byref(s)) == 0
        assert s.struct_size == size and s.stats.count == 4 and s.stats.sum == 10.0
        assert bytes(buf[size:]) == b"\xab" * (len(buf) - size), "wrote past struct_size"


def test_stats_ex_larger_struct_size_zero_fills() -> None:
    """A host built against a newer header (bigger struct) gets the fields
    this library knows and zeros after them."""
    with _handle_with_data() as agg:
        known = L.lib.aggregator_stats_ex_size()
        assert known == ctypes.sizeof(L.StatsEx)
        extra = 64
        buf = (ctypes.c_uint8 * (known + extra + 8))(*([0xAB] * (known + extra + 8)))
        s = L.StatsEx.from_buffer(buf)
        s.struct_size = known + extra
        assert L.lib.aggregator_get_stats_ex(agg._h, ctypes.byref(s)) == 0
        assert s.struct_size == known + extra and s.stats.count == 4 and s.stats.mean == 2.5
        assert bytes(buf[known:known + extra]) == bytes(extra), "newer fields not zero-filled"
        assert bytes(buf[known + extra:]) == b"\xab" * 8, "wrote past struct_size"


@pytest.mark.parametrize("size", [0, 4, 12, 4096 + 8])
def test_stats_ex_bad_struct_size_is_refused(size: int) -> None:
    with _handle_with_data() as agg:
        buf = (ctypes.c_uint8 * 8192)()
        s = L.StatsEx.from_buffer(buf)
        s.struct_size = size
        assert L.lib.aggregator_get_stats_ex(agg._h, ctypes.byref(s)) == 1  # EINVAL
        assert L.lib.aggregator_last_status() == 1
        assert "struct_size" in L.last_error()
        assert bytes(buf[8:]) == bytes(len(buf) - 8), "a refused read wrote"
