"""The compatibility constructor and the extensible stats read.

Kept out of ``_aggregator.py`` so the ABI-facing pieces of issue 13 live in
one small module: :meth:`Aggregator.new_count` (``aggregator_new``) and
:meth:`Aggregator.stats_ex` / :meth:`Aggregator.key_stats_ex`
(``aggregator_get_stats_ex`` / ``aggregator_get_key_stats_ex``).
"""

from __future__ import annotations

import ctypes
from typing import Any, Optional

from . import _errors as E
from ._lib import StatsEx, last_error, lib


def _new_count(cls: Any, capacity: int) -> Any:
    h = lib.aggregator_new(int(capacity))
    if not h:
        # aggregator_new returns no status: the library's own status of the
        # failure classifies it (ECONFIG for a bad capacity, ENOMEM), so the
        # same failure is the same error as in C, C++ and Go.
        st = lib.aggregator_last_status() or E.EINTERNAL
        raise E.error_for_status(st, last_error() or f"aggregator_new({capacity}) failed")
    return cls._adopt(h, "shared", "ns")


def _stats_ex(call: Any, key: Optional[int]) -> Any:
    """``call`` is the handle's guarded call (``Aggregator._call``)."""
    from ._aggregator import _to_window_stats

    s = StatsEx()
    lib.aggregator_stats_ex_init(ctypes.byref(s))
    if key is None:
        st = call(lib.aggregator_get_stats_ex, ctypes.byref(s))
    else:
        st = call(lib.aggregator_get_key_stats_ex, key, ctypes.byref(s))
    if st:
        raise E.error_for_status(st, last_error())
    return _to_window_stats(s.stats)
