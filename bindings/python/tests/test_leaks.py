"""10^4 create/push/close cycles keep the process's RSS flat."""

from __future__ import annotations

import gc
import os

import numpy as np

from windowagg import Aggregator


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _cycle(values: np.ndarray, ts: np.ndarray, names: list, i: int) -> None:
    kind = ("count", "sliding", "tumbling", "hopping")[i % 4]
    kw = dict(slide=25) if kind == "hopping" else {}
    with Aggregator(time_unit="ns", window=kind, size=100, **kw) as agg:
        if kind == "count":
            agg.push(values, keys=names)
        else:
            agg.push(values, timestamps=ts, keys=names)
            if kind in ("tumbling", "hopping"):
                agg.advance(10_000)
                agg.poll_windows(quantiles=[0.5])
        agg.quantiles([0.5, 0.99])
        agg.all_stats(quantiles=[0.9], names=True)
    if i % 7 == 0:
        Aggregator(size=50).push(values)  # closed by the garbage collector, not close()


def test_create_push_close_cycles_keep_rss_flat() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=256)
    ts = np.arange(256, dtype=np.int64) * 10
    names = [f"series-{i % 8}" for i in range(256)]
    for i in range(1000):  # warm-up: allocator pools, caches, lazily loaded code
        _cycle(values, ts, names, i)
    gc.collect()
    before = _rss_bytes()
    for i in range(10_000):
        _cycle(values, ts, names, i)
    gc.collect()
    growth = _rss_bytes() - before
    # A leaked handle would cost kilobytes per cycle (tens of MiB in total).
    assert growth < 8 * 1024 * 1024, f"RSS grew by {growth / 2**20:.1f} MiB over 10^4 cycles"
