"""windowagg vs Spark's ``percentile_approx`` on lognormal and Pareto latencies.

Per series and per window (tumbling, and Spark-style sliding = hopping), the
exact quantiles come from NumPy; the table gives each method's largest
relative error against them and the wall time of each Spark job, all in the
same run:

* ``spark percentile_approx``: ``groupBy(series, window(ts, D[, S]))
  .agg(percentile_approx(value, qs, accuracy))`` — error measured against the
  exact value of Spark's own rank convention (the smallest value whose
  empirical CDF reaches q: NumPy ``method="inverted_cdf"``);
* ``windowagg window_quantiles``: :func:`windowagg_spark.window_quantiles`
  (``groupBy(series).applyInPandas``, windowagg's own windows);
* ``windowagg quantiles_agg``: :func:`windowagg_spark.quantiles_agg` over
  Spark's ``window()`` grouping;

both windowagg rows measured against the exact value of rank floor(q*(n-1))
(NumPy ``method="lower"``), the value windowagg's alpha guarantee is about.

Run (prints the settings and a Markdown table)::

    PYTHONPATH=bindings/python WINDOWAGG_LIBRARY=<build>/lib/libwindowagg.so \\
        python3 examples/spark/compare_quantiles.py --rows 1000000
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Dict, List, Sequence

import numpy as np
import pandas as pd

import windowagg_spark as ws

QS = (0.5, 0.99, 0.999)
ACCURACY = 10000  # percentile_approx's default accuracy
START = pd.Timestamp("2024-11-03T07:00:00Z")  # spans the US fall-back (09:00Z)
SPAN = pd.Timedelta("4 hours")
SESSION_TZ = "America/Los_Angeles"
# (series, distribution, parameter): latencies in ms
DISTRIBUTIONS = (
    ("lognormal-s1.0", "lognormal", 1.0),   # median 20 ms, sigma 1.0
    ("lognormal-s1.5", "lognormal", 1.5),
    ("pareto-a1.5", "pareto", 1.5),         # x_m 5 ms, shape 1.5 (infinite variance)
    ("pareto-a2.5", "pareto", 2.5),
)
JOBS = (("tumbling", "1 hour", None), ("sliding", "1 hour", "30 minutes"))


def latency_data(rows: int, seed: int = 16) -> pd.DataFrame:
    """``(series, ts, value)``: ``rows`` latencies spread evenly over the
    series of DISTRIBUTIONS, at uniform random microsecond times over SPAN
    from START (tz-aware UTC), in random order."""
    rng = np.random.default_rng(seed)
    sid = rng.integers(0, len(DISTRIBUTIONS), rows)
    v = np.empty(rows)
    for i, (_, dist, p) in enumerate(DISTRIBUTIONS):
        m = sid == i
        if dist == "lognormal":
            v[m] = 20.0 * rng.lognormal(0.0, p, m.sum())
        else:  # classical Pareto: x_m * (1 + Lomax)
            v[m] = 5.0 * (1.0 + rng.pareto(p, m.sum()))
    span_us = SPAN // pd.Timedelta("1us")
    ts = START + pd.to_timedelta(rng.integers(0, span_us, rows), unit="us")
    names = np.array([d[0] for d in DISTRIBUTIONS], dtype=object)
    return pd.DataFrame({"series": names[sid], "ts": ts, "value": v})


def exact_windows(pdf: pd.DataFrame, spec: ws.WindowSpec, qs: Sequence[float]) -> pd.DataFrame:
    """Exact quantiles per (series, window_start ns), both rank conventions:
    ``lo_<q>`` = rank floor(q*(n-1)), ``cdf_<q>`` = rank ceil(q*n) - 1."""
    t = pd.DatetimeIndex(pdf["ts"]).tz_convert("UTC").as_unit("ns").asi8
    slide = spec.slide_ns or spec.size_ns
    last = np.floor_divide(t, slide)                # newest window containing t
    copies = spec.size_ns // slide
    starts = np.concatenate([(last - j) * slide for j in range(copies)])
    frame = pd.DataFrame({
        "series": np.tile(pdf["series"].to_numpy(), copies),
        "window_start": starts,
        "value": np.tile(pdf["value"].to_numpy(), copies),
    })
    out: List[Dict] = []
    for (series, start), g in frame.groupby(["series", "window_start"], sort=True):
        x = np.sort(g["value"].to_numpy())
        n = len(x)
        row = {"series": series, "window_start": int(start), "count": n}
        for q in qs:
            row[f"lo_{q}"] = x[int(math.floor(q * (n - 1)))]
            row[f"cdf_{q}"] = x[max(int(math.ceil(q * n)) - 1, 0)]
        out.append(row)
    return pd.DataFrame(out)


def spark_session(cores: int = 2):
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(f"local[{cores}]").appName("windowagg-vs-percentile_approx")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", SESSION_TZ)
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def run(spark, rows: int, alpha: float = 0.01, qs: Sequence[float] = QS, accuracy: int = ACCURACY,
        seed: int = 16, repeat: int = 1) -> Dict:
    """Runs every job (``repeat`` times, keeping the fastest) and returns
    ``{"settings": ..., "results": [per (job, method) dict], "frames": ...}``."""
    from pyspark.sql import functions as F

    pdf = latency_data(rows, seed)
    df = spark.createDataFrame(pdf).repartition(4).cache()
    df.count()
    # Warm-up (not timed): JIT, Python workers, the library loaded in them.
    small = df.sample(fraction=0.002, seed=1)  # every partition, as the timed jobs
    ws.window_quantiles(small, ws.window_spec("1 hour", alpha=alpha), quantiles=qs).collect()
    small.groupBy("series").agg(ws.quantiles_agg(qs, alpha)("value")).collect()
    small.groupBy("series").agg(F.expr("percentile_approx(value, 0.5)")).collect()
    qarr = "array(" + ", ".join(repr(float(q)) for q in qs) + ")"
    results = []
    frames = {}
    window_sizes = {}
    for kind, dur, slide in JOBS:
        spec = ws.window_spec(dur, slide, alpha=alpha)
        exact = exact_windows(pdf, spec, qs).set_index(["series", "window_start"])
        win = F.window("ts", dur, slide) if slide else F.window("ts", dur)
        c = exact["count"]
        window_sizes[kind] = f"{len(exact)} windows of {c.min()}..{c.max()} values"

        def spark_job():
            return (df.groupBy("series", win.alias("w"))
                    .agg(F.count("value").alias("count"),
                         F.expr(f"percentile_approx(value, {qarr}, {accuracy})").alias("q"))
                    .select("series", (F.unix_micros("w.start") * 1000).alias("window_start"),
                            "count", "q").toPandas())

        def windowagg_job():
            out = ws.window_quantiles(df, spec, quantiles=qs)
            return (out.select("series", (F.unix_micros("window_start") * 1000).alias("window_start"),
                               "count", F.array(*[ws.spark_column(q) for q in qs]).alias("q"))
                    .toPandas())

        def agg_job():
            # (a pandas aggregate UDF cannot share its agg() with count())
            return (df.groupBy("series", win.alias("w"))
                    .agg(ws.quantiles_agg(qs, alpha)("value").alias("q"))
                    .select("series", (F.unix_micros("w.start") * 1000).alias("window_start"),
                            "q").toPandas())

        methods = (
            ("spark percentile_approx", "cdf", spark_job),
            ("windowagg window_quantiles", "lo", windowagg_job),
            ("windowagg quantiles_agg", "lo", agg_job),
        )
        for name, conv, job in methods:
            best = math.inf
            for _ in range(repeat):
                res, secs = _timed(job)
                best = min(best, secs)
            res = res.set_index(["series", "window_start"]).sort_index()
            if not res.index.equals(exact.index):
                raise AssertionError(f"{name} ({kind}): windows differ from the exact ones:\n"
                                     f"{res.index.difference(exact.index)[:5]} / "
                                     f"{exact.index.difference(res.index)[:5]}")
            got = np.array(res["q"].tolist(), dtype=np.float64)
            errs = {}
            for j, q in enumerate(qs):
                ref = exact[f"{conv}_{q}"].to_numpy()
                errs[q] = np.abs(got[:, j] - ref) / np.abs(ref)
            counts_equal = (bool((res["count"].to_numpy() == exact["count"].to_numpy()).all())
                            if "count" in res else None)
            results.append({"job": kind, "method": name, "seconds": best, "convention": conv,
                            "counts_equal": counts_equal,
                            "errors": errs, "series": exact.index.get_level_values(0).to_numpy()})
            frames[(kind, name)] = res
    df.unpersist()
    per_series = pdf.groupby("series").size()
    settings = {
        "rows": rows, "series": len(DISTRIBUTIONS), "span": str(SPAN), "start": str(START),
        "session_tz": SESSION_TZ, "alpha": alpha, "percentile_approx_accuracy": accuracy,
        "quantiles": list(qs), "distributions": [f"{s}: {d}({p})" for s, d, p in DISTRIBUTIONS],
        "jobs": [f"{k}: window(ts, {d!r}{', ' + repr(s) if s else ''})" for k, d, s in JOBS],
        "rows_per_series": int(per_series.min()),
        "windows": {k: v for k, v in window_sizes.items()}, "spark": spark.version,
        "master": spark.sparkContext.master, "repeat": repeat,
    }
    return {"settings": settings, "results": results, "frames": frames}


def table(out: Dict) -> str:
    """Markdown: per job and method, the largest relative error per
    distribution family and quantile, and the wall time."""
    qs = out["settings"]["quantiles"]
    fams = ("lognormal", "pareto")
    head = ["window", "method"] + [f"{f} p{q * 100:g}" for f in fams for q in qs] + ["time s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in out["results"]:
        cells = [r["job"], r["method"]]
        for f in fams:
            m = np.char.startswith(r["series"].astype(str), f)
            for q in qs:
                cells.append(f"{r['errors'][q][m].max():.2%}")
        cells.append(f"{r['seconds']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def settings_text(out: Dict) -> str:
    s = out["settings"]
    return "\n".join(f"{k}: {v}" for k, v in s.items())


def main() -> None:  # pragma: no cover - CLI
    import os
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--alpha", type=float, default=0.01)
    ap.add_argument("--accuracy", type=int, default=ACCURACY)
    ap.add_argument("--repeat", type=int, default=3, help="runs per job; the fastest is kept")
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    spark = spark_session(args.cores)
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.addPyFile(os.path.abspath(ws.__file__))
    out = run(spark, args.rows, args.alpha, QS, args.accuracy, repeat=args.repeat)
    print(settings_text(out))
    print("max relative error vs exact (windowagg: rank floor(q(n-1)); Spark: its own rank "
          "ceil(qn)-1), wall time of the job (collect to pandas)")
    print(table(out))
    spark.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
