"""Several Python threads pushing into one handle (ctypes releases the GIL)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from windowagg import Aggregator

N_THREADS = 6
BATCHES = 150
BATCH = 1000
N_KEYS = 16


def test_concurrent_pushes_keep_every_value() -> None:
    rng = np.random.default_rng(11)
    data = [rng.integers(0, 1000, (BATCHES, BATCH)).astype(np.float64) for _ in range(N_THREADS)]
    keys = [rng.integers(0, N_KEYS, (BATCHES, BATCH)).astype(np.uint64) for _ in range(N_THREADS)]
    errors: list = []
    per_key_total = BATCHES * BATCH * N_THREADS  # an upper bound of values per key
    with Aggregator(window="count", size=per_key_total) as agg:
        start = threading.Barrier(N_THREADS + 1)

        def worker(t: int) -> None:
            try:
                start.wait()
                for b in range(BATCHES):
                    if b % 3 == 0:
                        agg.push(data[t][b], keys=keys[t][b])
                    else:  # readers interleaved with writers
                        agg.push(data[t][b], keys=keys[t][b])
                        agg.stats()
                        agg.key_quantiles(int(keys[t][b][0]), [0.5])
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(N_THREADS)]
        for th in threads:
            th.start()
        start.wait()
        for th in threads:
            th.join()
        assert not errors, errors
        allv = np.concatenate([d.ravel() for d in data])
        allk = np.concatenate([k.ravel() for k in keys])
        s = agg.stats()
        assert s.total == s.count == len(allv)
        assert s.sum == allv.sum()  # integers: exact in any order
        assert s.min == allv.min() and s.max == allv.max()
        cols = agg.all_stats()
        for k, cnt, sm in zip(cols["key"], cols["count"], cols["sum"]):
            m = allk == k
            assert cnt == m.sum() and sm == allv[m].sum()


def test_concurrent_pushes_single_series_arrival_clock() -> None:
    with Aggregator(window="sliding", size=10**9, clock="arrival") as agg:
        chunk = np.ones(BATCH)

        def worker() -> None:
            for _ in range(BATCHES):
                agg.push(chunk)

        threads = [threading.Thread(target=worker) for _ in range(N_THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        s = agg.stats()
        assert s.count == s.total == N_THREADS * BATCHES * BATCH
        assert s.watermark == N_THREADS * BATCHES * BATCH - 1


def test_gil_is_released_during_a_long_push() -> None:
    """While one thread is inside a long native push, another thread keeps running
    Python code: the longest pause the main thread sees is far shorter than the push."""
    big = np.random.default_rng(0).normal(size=5_000_000)
    with Aggregator(window="count", size=1000, quantiles=True) as agg:
        done = threading.Event()
        duration = []

        def pusher() -> None:
            t0 = time.perf_counter()
            agg.push(big)
            duration.append(time.perf_counter() - t0)
            done.set()

        th = threading.Thread(target=pusher)
        last = time.perf_counter()
        longest_pause = 0.0
        steps = 0
        th.start()
        while not done.is_set():
            now = time.perf_counter()
            longest_pause = max(longest_pause, now - last)
            last = now
            steps += 1
        th.join()
        assert duration[0] > 0.05, f"push too short to tell ({duration[0]:.3f} s)"
        # Holding the GIL for the whole push would make one pause as long as the push.
        assert longest_pause < duration[0] / 2, (longest_pause, duration[0], steps)
