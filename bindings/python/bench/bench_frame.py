#!/usr/bin/env python3
"""The windowed group job of issue 16, end to end from a DataFrame to the
result frame: windowagg vs polars vs pandas, in one run, on the same data.

The job: N events (time-sorted datetime64[ns] timestamps, ``--rate`` events
per second, lognormal values) over ``--keys`` groups, ``--window`` tumbling
windows, count / mean / std / max / p99 per group per window. Every
formulation starts from its DataFrame (pandas or polars, built once before
timing) and ends with the result DataFrame:

* windowagg ``aggregate_windows`` (the one-shot batch job) from the pandas
  frame and from the polars frame;
* windowagg streaming: ``Aggregator.push`` of the whole frame, ``advance``,
  ``poll_windows_frame`` (the path a stream takes; up to 10^6 events unless
  ``--streaming-max``);
* polars ``group_by(key, col(ts).dt.truncate(window)).agg(...)`` and
  ``group_by_dynamic(ts, every=window, group_by=key).agg(...)`` (p99:
  polars' ``quantile(0.99)``, exact);
* pandas ``groupby([key, pd.Grouper(key=ts, freq=window)])`` with
  ``agg([count, mean, std, max])`` and ``quantile(0.99)`` (exact).

Keys are either names (``"svc-0042"``: pandas' default ``str`` column,
polars ``String``) or integers (uint64). Each formulation runs once to warm
up, then ``--repeat`` times, the formulations interleaved round-robin so a
noisy moment hits them alike; the table shows min and median ms and the min
time relative to the fastest polars formulation measured in the same run
(below 1: faster than polars). windowagg's p99 is within ``accuracy`` (1%
relative) of the exact value; its counts, means and maxima are checked
against polars' before timing.

Usage:
    WINDOWAGG_LIBRARY=build/release/lib/libwindowagg.so python3 bindings/python/bench/bench_frame.py
    ... bench_frame.py --sizes 1e4,1e6 --repeat 3        # quicker
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import pandas as pd  # noqa: E402
import polars as pl  # noqa: E402

import windowagg  # noqa: E402

AGGS = ["count", "mean", "std", "max", "p99"]


def make_data(n: int, keys: int, rate: float, names: bool, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-05-01T00:00:00", "ns")
    span = max(1, int(n / rate * 1e9))
    ts = start + np.sort(rng.integers(0, span, n)).astype("timedelta64[ns]")
    code = rng.integers(0, keys, n)
    if names:
        labels = np.array([f"svc-{i:04d}" for i in range(keys)], dtype=object)
        key = pd.array(labels[code], dtype="str")
    else:
        key = code.astype(np.uint64)
    return pd.DataFrame({"ts": ts, "key": key, "v": rng.lognormal(size=n)})


def jobs(pdf: pd.DataFrame, window: str, threads: Any, streaming: bool) -> Dict[str, Callable[[], Any]]:
    plf = pl.from_pandas(pdf)
    every = window

    def wa_pandas() -> Any:
        return windowagg.aggregate_windows(pdf, "v", by="key", on="ts", size=window, aggs=AGGS,
                                           threads=threads)

    def wa_polars() -> Any:
        return windowagg.aggregate_windows(plf, "v", by="key", on="ts", size=window, aggs=AGGS,
                                           threads=threads)

    def wa_stream() -> Any:
        agg = windowagg.Aggregator(window="tumbling", size=window)
        agg.push(pdf["v"], timestamps=pdf["ts"], keys=pdf["key"])
        agg.advance(pdf["ts"].iloc[-1] + pd.Timedelta(window))
        out = agg.poll_windows_frame(aggs=AGGS)
        agg.close()
        return out

    aggs = [pl.len().alias("count"), pl.col("v").mean().alias("mean"),
            pl.col("v").std().alias("std"), pl.col("v").max().alias("max"),
            pl.col("v").quantile(0.99).alias("p99")]

    def pl_truncate() -> Any:
        return plf.group_by("key", pl.col("ts").dt.truncate(every).alias("window_start")).agg(aggs)

    def pl_dynamic() -> Any:
        return plf.group_by_dynamic("ts", every=every, group_by="key").agg(aggs)

    def pandas_groupby() -> Any:
        g = pdf.groupby(["key", pd.Grouper(key="ts", freq=pd.Timedelta(window))])["v"]
        out = g.agg(["count", "mean", "std", "max"])
        out["p99"] = g.quantile(0.99)
        return out

    out = {
        "windowagg aggregate_windows (pandas frame)": wa_pandas,
        "windowagg aggregate_windows (polars frame)": wa_polars,
    }
    if streaming:
        out["windowagg streaming push + poll_windows_frame"] = wa_stream
    out.update({
        "polars dt.truncate + group_by": pl_truncate,
        "polars group_by_dynamic": pl_dynamic,
        "pandas groupby + Grouper": pandas_groupby,
    })
    return out


def check(results: Dict[str, Any]) -> None:
    """windowagg's counts and maxima equal polars', means within 1e-12."""
    ref = results["polars dt.truncate + group_by"].sort("key", "window_start")
    ref_count = ref["count"].to_numpy()
    for name, r in results.items():
        if not name.startswith("windowagg"):
            continue
        assert len(r) == len(ref), (name, len(r), len(ref))
        assert (r["count"].to_numpy() == ref_count).all(), name
        assert (r["max"].to_numpy() == ref["max"].to_numpy()).all(), name
        np.testing.assert_allclose(r["mean"].to_numpy(), ref["mean"].to_numpy(), rtol=1e-12)


def run(sizes: List[int], keys: int, rate: float, window: str, repeat: int, threads: Any,
        streaming_max: int) -> List[Tuple[str, ...]]:
    rows: List[Tuple[str, ...]] = []
    for n in sizes:
        for names in (True, False):
            pdf = make_data(n, keys, rate, names)
            fns = jobs(pdf, window, threads, n <= streaming_max)
            first = {name: fn() for name, fn in fns.items()}  # warm-up, and the results
            check(first)
            groups = len(first["polars dt.truncate + group_by"])
            times: Dict[str, List[float]] = {name: [] for name in fns}
            for _ in range(repeat):
                for name, fn in fns.items():
                    t0 = time.perf_counter()
                    fn()
                    times[name].append((time.perf_counter() - t0) * 1e3)
            best_polars = min(min(times[k]) for k in times if k.startswith("polars"))
            for name in fns:
                lo, med = min(times[name]), statistics.median(times[name])
                rows.append((f"{n:.0e}", "str" if names else "uint64", f"{groups}", name,
                             f"{lo:.1f}", f"{med:.1f}", f"{lo / best_polars:.2f}"))
            print(f"  done: {n:.0e} events, {'str' if names else 'uint64'} keys: "
                  + "; ".join(f"{r[3]} {r[4]} ms" for r in rows[-len(fns):]), file=sys.stderr)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e4,1e6,1e7", help="events per job (default 1e4,1e6,1e7)")
    ap.add_argument("--keys", type=int, default=1000, help="groups (default 1000)")
    ap.add_argument("--rate", type=float, default=1000.0, help="events per second of event time (default 1000)")
    ap.add_argument("--window", default="60s", help="tumbling window (default 60s)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per formulation (default 5)")
    ap.add_argument("--threads", type=int, default=None,
                    help="windowagg threads (default: aggregate_windows' own choice: the CPUs, "
                         "at most one per 65,536 rows)")
    ap.add_argument("--streaming-max", type=float, default=1e6,
                    help="largest size that also times the streaming path (default 1e6)")
    a = ap.parse_args()
    sizes = [int(float(x)) for x in a.sizes.split(",")]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print("# windowed group job: DataFrame -> per-(key, window) count/mean/std/max/p99 frame\n")
    print(f"settings: keys={a.keys}, window={a.window} tumbling, rate={a.rate:g} events/s "
          f"(10^6 events = {1e6 / a.rate / pd.Timedelta(a.window).total_seconds():.0f} windows), "
          f"repeat={a.repeat} (+1 warm-up), windowagg threads="
          f"{a.threads or f'auto (min(CPUs={os.cpu_count()}, rows/65536))'}, "
          f"polars threads={pl.thread_pool_size()}, accuracy=0.01")
    print(f"versions: windowagg {windowagg.version()} ({windowagg.library_path}), polars {pl.__version__}, "
          f"pandas {pd.__version__}, numpy {np.__version__}, Python {platform.python_version()}; "
          f"CPUs={os.cpu_count()}, load average at start={load:.2f}\n")
    rows = run(sizes, a.keys, a.rate, a.window, a.repeat, a.threads, int(a.streaming_max))
    header = ("events", "keys", "groups out", "formulation", "ms min", "ms median",
              "min vs fastest polars")
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    if hasattr(os, "getloadavg"):
        print(f"\nload average at end={os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
