"""Where the one-shot windowed group job's CPU time goes.

Profiles ``windowagg.aggregate_windows`` (one thread) on the job of
bench_frame.py — 10^6 events, 1,000 string keys, 60 s tumbling windows,
count/mean/std/max/p99 — with cProfile on a CPU clock, and prints the
functions by own time (library calls appear as ``_call``).

    WINDOWAGG_LIBRARY=build/release/lib/libwindowagg.so \\
        python3 bindings/python/bench/profile_frame.py [events] [jobs]
"""
from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time

import numpy as np
import pandas as pd

import windowagg


def main() -> None:
    n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 10**6
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    keys = 1000
    rng = np.random.default_rng(1)
    start = np.datetime64("2024-05-01T00:00:00", "ns")
    ts = start + (np.arange(n) * 10**6).astype("timedelta64[ns]")  # 1,000 events/s
    code = rng.integers(0, keys, n)
    names = np.array([f"svc-{i:04d}" for i in range(keys)], dtype=object)[code]
    df = pd.DataFrame({"ts": ts, "key": pd.array(names, dtype="str"), "v": rng.lognormal(size=n)})
    aggs = ["count", "mean", "std", "max", "p99"]

    def job() -> None:
        windowagg.aggregate_windows(df, "v", by="key", on="ts", size="60s", aggs=aggs, threads=1)

    job()  # warm-up
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(jobs):
        job()
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    print(f"{n:.0e} events, {keys} string keys, {jobs} jobs, "
          f"{stats.total_tt / jobs * 1e3:.0f} ms of CPU per job")
    stats.sort_stats("tottime").print_stats(12)
    print(out.getvalue())


if __name__ == "__main__":
    main()
