#!/usr/bin/env python3
"""Per-row rolling aggregates: windowagg vs pandas vs polars, same run.

The job (issue 16 item 3): a DataFrame of N events over G named groups, in
time order (groups interleaved), and for EVERY row the count, mean, std, max
and p99 of its group's last 60 s (pandas' window (t - 60s, t]):

- windowagg.rolling(df, "60s", by="g", on="ts", ...)  -> pandas layout
  (MultiIndex (g, ts), groups sorted); also order="input" (rows as given)
  and rolling_arrays (NumPy in, dict of arrays out: no frame building);
- pandas: df.groupby("g").rolling("60s", on="ts")["x"].agg([...]) plus
  .quantile(0.99) (agg takes no quantile);
- polars (a) rolling_*_by(...).over("g") expressions, (b) df.rolling(
  index_column="ts", period="60s", group_by="g").agg(...).

All are end to end from the DataFrame to the result. Quantiles are exact in
all three (pandas/polars 'linear' interpolation; windowagg matches pandas
bit for bit, see tests/test_rolling.py). Each timing is the best of
--repeat runs; ratios are against the other tools' times of this run.

Usage (from the repository root):
    WINDOWAGG_LIBRARY=$PWD/build/release/lib/libwindowagg.so \\
        python3 bindings/python/bench/bench_rolling.py [--sizes 10000,1000000] \\
        [--groups 1000] [--per-window 100] [--keys str,int] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from typing import Callable, Dict, List

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import windowagg  # noqa: E402

AGGS = ["count", "mean", "std", "max"]
Q = 0.99


def best(fn: Callable[[], object], repeat: int) -> float:
    t = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t


def make_frame(n: int, groups: int, per_window: float, keys: str, seed: int = 1) -> pd.DataFrame:
    """n events in time order; each group's 60 s window holds ~per_window events."""
    rng = np.random.default_rng(seed)
    rate = groups * per_window / 60.0  # events per second, all groups
    gaps = rng.exponential(1e9 / rate, n).astype(np.int64)
    ts = pd.to_datetime(1_700_000_000 * 10**9 + np.cumsum(gaps), unit="ns", utc=True)
    g = rng.integers(0, groups, n)
    key = np.array([f"host-{i:04d}" for i in range(groups)], dtype=object)[g] if keys == "str" else g
    return pd.DataFrame({"g": key, "ts": ts, "x": rng.lognormal(3, 1, n)})


def run(n: int, groups: int, per_window: float, keys: str, repeat: int) -> Dict[str, float]:
    df = make_frame(n, groups, per_window, keys)
    out: Dict[str, float] = {}
    rows = windowagg.rolling_arrays(df["x"].to_numpy(), "60s", timestamps=df["ts"],
                                    keys=df["g"].to_numpy(), aggs=["count"])["count"]
    out["(mean rows per window)"] = float(rows.mean())

    out["windowagg rolling (pandas layout)"] = best(
        lambda: windowagg.rolling(df, "60s", by="g", on="ts", values="x", aggs=AGGS, quantiles=[Q]),
        repeat)
    out["windowagg rolling order=input"] = best(
        lambda: windowagg.rolling(df, "60s", by="g", on="ts", values="x", aggs=AGGS, quantiles=[Q],
                                  order="input"), repeat)
    out["windowagg rolling_arrays"] = best(
        lambda: windowagg.rolling_arrays(df["x"].to_numpy(), "60s", timestamps=df["ts"],
                                         keys=df["g"].to_numpy(), aggs=AGGS, quantiles=[Q]), repeat)

    def pandas_job():
        r = df.groupby("g").rolling("60s", on="ts")["x"]
        a = r.agg(AGGS)
        a["p99"] = r.quantile(Q)
        return a
    out["pandas groupby.rolling"] = best(pandas_job, repeat)

    try:
        import polars as pl
    except ImportError:  # pragma: no cover
        return out
    pdf = pl.from_pandas(df)

    def polars_by():
        x, by = pl.col("x"), "ts"
        return pdf.select(
            pl.col("g"), pl.col("ts"),
            x.is_not_null().cast(pl.Float64).rolling_sum_by(by, "60s").over("g").alias("count"),
            x.rolling_mean_by(by, "60s").over("g").alias("mean"),
            x.rolling_std_by(by, "60s").over("g").alias("std"),
            x.rolling_max_by(by, "60s").over("g").alias("max"),
            x.rolling_quantile_by(by, "60s", quantile=Q, interpolation="linear").over("g").alias("p99"),
        )
    out["polars rolling_*_by.over"] = best(polars_by, repeat)

    def polars_rolling():
        x = pl.col("x")
        return pdf.sort("g", "ts").rolling(index_column="ts", period="60s", group_by="g").agg(
            pl.len().alias("count"), x.mean().alias("mean"), x.std().alias("std"),
            x.max().alias("max"), x.quantile(Q, "linear").alias("p99"))
    out["polars group_by rolling"] = best(polars_rolling, repeat)
    return out


def check(groups: int, per_window: float, keys: str) -> None:
    """windowagg equals pandas on a small frame of the same shape."""
    df = make_frame(5000, groups, per_window, keys, seed=2)
    got = windowagg.rolling(df, "60s", by="g", on="ts", values="x", aggs=AGGS, quantiles=[Q])
    r = df.groupby("g").rolling("60s", on="ts")["x"]
    ref = r.agg(AGGS)
    ref["p99"] = r.quantile(Q)
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-9, equal_nan=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,1000000")
    ap.add_argument("--groups", type=int, default=1000)
    ap.add_argument("--per-window", type=float, default=100.0,
                    help="mean events in one group's 60 s window")
    ap.add_argument("--keys", default="str,int")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    try:
        import polars as pl
        pl_version = pl.__version__
    except ImportError:  # pragma: no cover
        pl_version = "not installed"
    print(f"# bench_rolling: python {platform.python_version()}, numpy {np.__version__}, "
          f"pandas {pd.__version__}, polars {pl_version}, windowagg {windowagg.version()} "
          f"({windowagg.library_path})")
    print(f"# job: per-row count/mean/std/max/p99 over 60 s per group; groups {args.groups}, "
          f"~{args.per_window:g} events per group window, best of {args.repeat}, cpus {os.cpu_count()}")
    for keys in args.keys.split(","):
        check(args.groups, args.per_window, keys)
        for n in (int(s) for s in args.sizes.split(",")):
            res = run(n, args.groups, args.per_window, keys, args.repeat)
            ours = res["windowagg rolling (pandas layout)"]
            mean_rows = res.pop("(mean rows per window)")
            print(f"\n## {n:,} events, {keys} keys (mean rows per window {mean_rows:.1f})")
            print(f"{'formulation':38s} {'seconds':>10s} {'ns/row':>8s} {'vs windowagg':>13s}")
            for name, t in res.items():
                print(f"{name:38s} {t:10.4f} {t / n * 1e9:8.0f} {t / ours:12.2f}x")


if __name__ == "__main__":
    main()
