"""The extensible pages (issue 13, step 5): ``aggregator_list_stats_ex`` and
``aggregator_poll_windows_ex`` fill records whose size the caller gives.

``all_stats`` and ``poll_windows`` read through them (so aggregates appended
to ``aggregator_stats_ex`` become columns); these tests check they give what
the fixed-struct calls give, and, through raw ctypes calls, that an older
(smaller) record gets the fields it knows with nothing written past its
element size, a newer (larger) one is zero-filled, and a bad size is refused
naming ``elem_size``.
"""

from __future__ import annotations

import ctypes
from typing import Dict, List, Tuple

import numpy as np
import pytest

import windowagg
from windowagg import Aggregator
from windowagg import _lib as L

GUARD = 0xAB
EINVAL = 1


def _fed(advance: bool) -> Aggregator:
    agg = Aggregator(window="tumbling", size=100, time_unit="ns")
    i = np.arange(300)
    agg.push(i * 0.5 - 20, timestamps=i * 7, keys=(i % 5).astype(np.uint64) * 1000003)
    if advance:
        agg.advance(5000)
    return agg


def _fixed_list(agg: Aggregator, q: List[float]) -> Tuple[np.ndarray, np.ndarray]:
    """Every series through aggregator_list_stats (the fixed struct)."""
    cur, n = L.Cursor(), ctypes.c_size_t()
    recs, qvs = [], []
    qa = np.array(q, dtype=np.float64)
    while not cur.done:
        rec = np.empty(2, dtype=L.KEY_STATS_DTYPE)
        qv = np.empty((2, len(q)), dtype=np.float64)
        assert L.lib.aggregator_list_stats(agg._h, ctypes.byref(cur), rec.ctypes.data, 2, qa.ctypes.data,
                                           len(q), qv.ctypes.data, ctypes.byref(n)) == 0
        recs.append(rec[:n.value])
        qvs.append(qv[:n.value])
    return np.concatenate(recs), np.concatenate(qvs)


def _fixed_poll(agg: Aggregator) -> np.ndarray:
    n = ctypes.c_size_t()
    out = []
    while True:
        rec = np.empty(3, dtype=L.KEY_STATS_DTYPE)
        assert L.lib.aggregator_poll_windows(agg._h, rec.ctypes.data, 3, None, 0, None, ctypes.byref(n)) == 0
        if n.value == 0:
            return np.concatenate(out)
        out.append(rec[:n.value])


def _same(cols: Dict[str, np.ndarray], rec: np.ndarray) -> None:
    np.testing.assert_array_equal(cols["key"], rec["key"])
    for f in L.STATS_FIELDS:
        np.testing.assert_array_equal(cols[f], rec[f], err_msg=f)  # NaN == NaN here


def test_all_stats_equals_fixed_list_stats() -> None:
    with _fed(advance=False) as agg:
        rec, qv = _fixed_list(agg, [0.5, 0.9])
        cols = agg.all_stats(quantiles=[0.5, 0.9], page=2)
        assert len(cols["key"]) == 5 and (cols["count"] > 0).all()
        _same(cols, rec)
        np.testing.assert_array_equal(cols["q0.5"], qv[:, 0])
        np.testing.assert_array_equal(cols["q0.9"], qv[:, 1])


def test_poll_windows_equals_fixed_poll_windows() -> None:
    with _fed(advance=True) as a, _fed(advance=True) as b:
        fixed = _fixed_poll(a)
        cols = b.poll_windows(page=3)
        assert len(fixed) == 5 * 21
        # The queue's order across series follows each handle's series
        # table, which differs between handles: compare by (start, key).
        order = np.lexsort((cols["key"], cols["window_start"]))
        fixed = fixed[np.lexsort((fixed["key"], fixed["window_start"]))]
        _same({k: v[order] for k, v in cols.items()}, fixed)
        assert b.pending_windows()[0] == 0


def _raw_list(agg: Aggregator, elem: int, cap: int) -> Tuple[int, bytearray, int]:
    buf = bytearray([GUARD]) * (cap * elem + 64)
    arr = (ctypes.c_uint8 * len(buf)).from_buffer(buf)
    cur, n = L.Cursor(), ctypes.c_size_t(7)
    st = L.lib.aggregator_list_stats_ex(agg._h, ctypes.byref(cur), ctypes.addressof(arr), elem, cap,
                                        None, 0, None, ctypes.byref(n))
    return st, buf, n.value


def test_older_smaller_record_gets_its_fields_and_nothing_past_it() -> None:
    """A host whose header knew only count and sum: 32-byte records."""
    elem = 8 + L.StatsEx.stats.offset + L.Stats.mean.offset
    assert elem == 32
    with _fed(advance=False) as agg:
        rec, _ = _fixed_list(agg, [])
        st, buf, n = _raw_list(agg, elem, cap=8)
        assert st == 0 and n == 5
        page = np.frombuffer(bytes(buf[:n * elem]), dtype=np.dtype(
            [("key", np.uint64), ("struct_size", np.uint32), ("reserved", np.uint32),
             ("count", np.uint64), ("sum", np.float64)]))
        np.testing.assert_array_equal(page["key"], rec["key"])
        np.testing.assert_array_equal(page["count"], rec["count"])
        np.testing.assert_array_equal(page["sum"], rec["sum"])
        assert (page["struct_size"] == elem - 8).all() and (page["reserved"] == 0).all()
        assert bytes(buf[n * elem:]) == bytes([GUARD]) * (len(buf) - n * elem), "wrote past the records"


def test_newer_larger_record_is_zero_filled() -> None:
    known = ctypes.sizeof(L.KeyStatsEx)
    assert known == 8 + L.lib.aggregator_stats_ex_size()
    elem = known + 40
    with _fed(advance=True) as agg:
        buf = bytearray([GUARD]) * (6 * elem + 64)
        arr = (ctypes.c_uint8 * len(buf)).from_buffer(buf)
        n = ctypes.c_size_t()
        assert L.lib.aggregator_poll_windows_ex(agg._h, ctypes.addressof(arr), elem, 6, None, 0, None,
                                                ctypes.byref(n)) == 0
        assert n.value == 6
        for i in range(6):
            r = L.KeyStatsEx.from_buffer_copy(bytes(buf[i * elem:i * elem + known]))
            assert r.stats.struct_size == elem - 8 and r.stats.stats.count > 0
            assert bytes(buf[i * elem + known:(i + 1) * elem]) == bytes(40), "newer fields not zero-filled"
        assert bytes(buf[6 * elem:]) == bytes([GUARD]) * 64


@pytest.mark.parametrize("elem", [0, 8, 12, 20, 4104 + 8])
def test_bad_elem_size_is_refused_naming_it(elem: int) -> None:
    with _fed(advance=True) as agg:
        pending = agg.pending_windows()[0]
        st, buf, n = _raw_list(agg, elem, cap=4)
        assert st == EINVAL and n == 0 and "elem_size" in L.last_error()
        assert bytes(buf) == bytes([GUARD]) * len(buf), "a refused call wrote"
        arr = (ctypes.c_uint8 * 8192)()
        nn = ctypes.c_size_t(7)
        assert L.lib.aggregator_poll_windows_ex(agg._h, ctypes.addressof(arr), elem, 4, None, 0, None,
                                                ctypes.byref(nn)) == EINVAL
        assert nn.value == 0 and "elem_size" in L.last_error()
        assert bytes(arr) == bytes(8192)
        assert agg.pending_windows()[0] == pending > 0, "a refused poll moved windows"


def test_poll_windows_on_count_handle_is_unsupported() -> None:
    with Aggregator(window="count", size=4) as agg:
        with pytest.raises(windowagg.UnsupportedError):
            agg.poll_windows()
