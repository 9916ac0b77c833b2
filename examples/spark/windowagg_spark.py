"""Tumbling-window aggregates on Spark with windowagg state that merges.

Each Spark partition folds its rows into one windowagg handle (through the
Python binding, inside ``mapInPandas``) and emits the handle's serialized
state: one row per partition with a binary column. The states are then
merged per series and per tumbling window, the watermark is advanced past the
end of the data, and the closed windows are polled:

* :func:`partition_states` -> Spark DataFrame ``(partition, rows, state)``;
* :func:`merge_states` (driver side) -> pandas DataFrame, one row per
  (series, window): count, sum, mean, min, max, variance, stddev and the
  requested quantiles;
* :func:`windowed_aggregates` does both, merging on the driver;
* :func:`windowed_aggregates_distributed` merges in a Spark reduce instead
  (states split per series in the partitions, ``groupBy(series).applyInPandas``
  merges them), for more series than one driver should hold.

Counts, sums, min, max, mean and variance merge exactly; quantiles come from
the sketch and are within ``alpha`` (relative) of the exact value of rank
``floor(q*(n-1))`` of the window.

Why the lateness: a Spark partition holds rows in no particular time order,
and a window split across partitions combines pane by pane only while it is
still open in every state being merged (a window that closed inside a
partition travels as a finished partial window and is not combined). So the
per-partition handles use an unbounded allowed lateness (``BATCH_LATENESS``):
no row is ever late, no window closes before the merge, and the merge closes
them all by advancing the watermark to the end of time.

The shared library must be loadable on every executor: ``WINDOWAGG_LIBRARY``
(see README.md), and this file shipped with ``--py-files`` (or
``SparkContext.addPyFile``).

Run as a script for a small local demo::

    python3 windowagg_spark.py
"""

from __future__ import annotations

from typing import Iterator, List, Sequence

import numpy as np
import pandas as pd

DEFAULT_QUANTILES = (0.5, 0.9, 0.99)
INT64_MAX = 2**63 - 1
# The allowed lateness of a batch job: no row is ever late and no window
# closes until the merge advances the watermark to the end of time. A
# constant (not derived from the data) also keeps states of different batches
# mergeable with each other.
BATCH_LATENESS = INT64_MAX

STATE_SCHEMA = "partition int, rows long, state binary"
SERIES_STATE_SCHEMA = "series string, partition int, rows long, state binary"


def quantile_column(q: float) -> str:
    """Name of the result column of quantile q (as the binding names it: ``q0.99``)."""
    return f"q{q:g}"


def result_schema(quantiles: Sequence[float] = DEFAULT_QUANTILES) -> str:
    """Spark schema of the per-window result rows."""
    cols = [
        "series string", "window_start long", "window_end long", "count long",
        "sum double", "mean double", "min double", "max double",
        "variance double", "stddev double",
    ]
    cols += [f"`{quantile_column(q)}` double" for q in quantiles]
    return ", ".join(cols)


def _ensure_library() -> None:
    """On an executor where ``WINDOWAGG_LIBRARY`` is not set, use a
    ``libwindowagg.so`` shipped with ``--files`` / ``SparkContext.addFile``
    (it lands in the SparkFiles directory, not always the working directory).
    Must run before the first ``import windowagg`` in the worker."""
    import os

    if os.environ.get("WINDOWAGG_LIBRARY"):
        return
    try:
        from pyspark import SparkFiles

        path = SparkFiles.get("libwindowagg.so")
    except Exception:  # not in a Spark worker, or no file shipped
        return
    if os.path.exists(path):
        os.environ["WINDOWAGG_LIBRARY"] = path


def make_aggregator(window_ns: int, lateness_ns: int, alpha: float):
    """The per-partition / merge handle. Every state must come from the same
    configuration (window, lateness, alpha), or merging raises
    ``ConfigMismatchError``."""
    _ensure_library()
    import windowagg

    return windowagg.Aggregator(
        window="tumbling", size=int(window_ns), lateness=int(lateness_ns), accuracy=alpha,
        time_unit="ns",  # Spark long-nanosecond timestamps
        threading="single", max_pending_windows=2**40,
    )


def _push_frame(agg, pdf: pd.DataFrame, series_col: str, ts_col: str, value_col: str) -> int:
    n = len(pdf)
    if n:
        agg.push(
            pdf[value_col].to_numpy(dtype=np.float64),
            timestamps=pdf[ts_col].to_numpy(dtype=np.int64),
            keys=pdf[series_col].astype(str).tolist(),
        )
    return n


def _partition_id() -> int:
    from pyspark import TaskContext

    ctx = TaskContext.get()
    return ctx.partitionId() if ctx is not None else -1


def _check_input(df, series_col: str, ts_col: str, value_col: str):
    return df.select(series_col, ts_col, value_col)


def partition_states(df, window_ns: int, lateness_ns: int = BATCH_LATENESS, alpha: float = 0.01,
                     series_col: str = "series", ts_col: str = "ts", value_col: str = "value"):
    """One row per partition of ``df``: ``(partition, rows, state)``, where
    ``state`` is the serialized windowagg state of that partition's rows
    (``Aggregator.to_bytes``)."""

    def build(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        agg = make_aggregator(window_ns, lateness_ns, alpha)
        try:
            rows = 0
            for pdf in frames:
                rows += _push_frame(agg, pdf, series_col, ts_col, value_col)
            state = agg.to_bytes()
        finally:
            agg.close()
        yield pd.DataFrame({"partition": [_partition_id()], "rows": [rows], "state": [state]})

    return _check_input(df, series_col, ts_col, value_col).mapInPandas(build, STATE_SCHEMA)


def _windows_frame(agg, quantiles: Sequence[float]) -> pd.DataFrame:
    """Advances agg's watermark to the end of time and polls every window."""
    agg.advance(INT64_MAX)
    cols = agg.poll_windows(quantiles=list(quantiles), names=True)
    out = pd.DataFrame({
        "series": cols["name"].astype(object),
        "window_start": cols["window_start"].astype(np.int64),
        "window_end": cols["window_end"].astype(np.int64),
        "count": cols["count"].astype(np.int64),
        "sum": cols["sum"], "mean": cols["mean"], "min": cols["min"], "max": cols["max"],
        "variance": cols["variance"], "stddev": cols["stddev"],
    })
    for q in quantiles:
        out[quantile_column(q)] = cols[quantile_column(q)]
    return out.sort_values(["series", "window_start"], kind="stable").reset_index(drop=True)


def merge_states(states: Sequence[bytes], window_ns: int, lateness_ns: int = BATCH_LATENESS,
                 alpha: float = 0.01,
                 quantiles: Sequence[float] = DEFAULT_QUANTILES) -> pd.DataFrame:
    """Merges serialized states (any number, any split of the data) and
    returns every (series, window) as a pandas DataFrame sorted by series and
    window start."""
    agg = make_aggregator(window_ns, lateness_ns, alpha)
    try:
        for s in states:
            agg.merge(bytes(s))
        return _windows_frame(agg, quantiles)
    finally:
        agg.close()


def single_process(pdf: pd.DataFrame, window_ns: int, lateness_ns: int = BATCH_LATENESS,
                   alpha: float = 0.01,
                   quantiles: Sequence[float] = DEFAULT_QUANTILES, series_col: str = "series",
                   ts_col: str = "ts", value_col: str = "value") -> pd.DataFrame:
    """The same result from one handle fed every row (the reference)."""
    agg = make_aggregator(window_ns, lateness_ns, alpha)
    try:
        _push_frame(agg, pdf, series_col, ts_col, value_col)
        return _windows_frame(agg, quantiles)
    finally:
        agg.close()


def windowed_aggregates(df, window_ns: int, alpha: float = 0.01,
                        quantiles: Sequence[float] = DEFAULT_QUANTILES,
                        lateness_ns: int = BATCH_LATENESS, series_col: str = "series",
                        ts_col: str = "ts", value_col: str = "value") -> pd.DataFrame:
    """Per-partition states, merged on the driver: a pandas DataFrame with one
    row per (series, window)."""
    rows = partition_states(df, window_ns, lateness_ns, alpha, series_col, ts_col, value_col).collect()
    return merge_states([r["state"] for r in rows], window_ns, lateness_ns, alpha, quantiles)


def series_states(df, window_ns: int, lateness_ns: int = BATCH_LATENESS, alpha: float = 0.01,
                  series_col: str = "series", ts_col: str = "ts", value_col: str = "value"):
    """Like :func:`partition_states` but one state per (partition, series), so
    a shuffle by series can route each to the task that merges that series."""

    def build(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        pdf = pd.concat(list(frames), ignore_index=True)
        part = _partition_id()
        names: List[str] = []
        rows: List[int] = []
        states: List[bytes] = []
        for name, g in pdf.groupby(series_col, sort=False):
            agg = make_aggregator(window_ns, lateness_ns, alpha)
            try:
                rows.append(_push_frame(agg, g, series_col, ts_col, value_col))
                states.append(agg.to_bytes())
            finally:
                agg.close()
            names.append(str(name))
        yield pd.DataFrame({"series": names, "partition": [part] * len(names), "rows": rows,
                            "state": states})

    return _check_input(df, series_col, ts_col, value_col).mapInPandas(build, SERIES_STATE_SCHEMA)


def windowed_aggregates_distributed(df, window_ns: int, alpha: float = 0.01,
                                    quantiles: Sequence[float] = DEFAULT_QUANTILES,
                                    lateness_ns: int = BATCH_LATENESS, series_col: str = "series",
                                    ts_col: str = "ts", value_col: str = "value"):
    """Per-series states merged in a Spark reduce (``groupBy(series)
    .applyInPandas``): a Spark DataFrame of :func:`result_schema`. No state
    reaches the driver."""
    qs = list(quantiles)

    def merge_group(pdf: pd.DataFrame) -> pd.DataFrame:
        return merge_states(list(pdf["state"]), window_ns, lateness_ns, alpha, qs)

    states = series_states(df, window_ns, lateness_ns, alpha, series_col, ts_col, value_col)
    return states.groupBy("series").applyInPandas(merge_group, result_schema(qs))


def synthetic_events(n_rows: int = 40_000, n_series: int = 24, span_s: int = 120,
                     seed: int = 7, start_ns: int = 1_700_000_000 * 10**9) -> pd.DataFrame:
    """(series, ts, value) rows in random order: latencies (log-normal), signed
    deltas (normal) and integer depths (many exact zeros)."""
    rng = np.random.default_rng(seed)
    sid = rng.integers(0, n_series, n_rows)
    ts = start_ns + rng.integers(0, span_s * 10**9, n_rows, dtype=np.int64)
    scale = 1.0 + (sid % 7)
    fam = sid % 3
    v = np.where(fam == 0, scale * rng.lognormal(0.0, 0.8, n_rows),
                 np.where(fam == 1, 2 * scale * rng.standard_normal(n_rows),
                          np.floor(rng.exponential(scale / 2, n_rows))))
    kinds = np.array(["latency_ms", "temp_delta", "queue_depth"], dtype=object)
    names = np.array([f"svc-{i:03d}/{kinds[i % 3]}" for i in range(n_series)], dtype=object)
    return pd.DataFrame({"series": names[sid], "ts": ts, "value": v.astype(np.float64)})


def spark_session(app: str = "windowagg-spark", partitions: int = 4):
    """A small local[2] session for the demo and the test."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]").appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.default.parallelism", str(partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )


def main() -> None:  # pragma: no cover - demo
    import os
    import time

    window_ns = 10 * 10**9
    spark = spark_session()
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.addPyFile(os.path.abspath(__file__))
    pdf = synthetic_events()
    df = spark.createDataFrame(pdf).repartition(4)
    t = time.time()
    states = partition_states(df, window_ns).collect()
    for r in states:
        print(f"partition {r['partition']}: {r['rows']} rows, state {len(r['state'])} bytes")
    res = merge_states([r["state"] for r in states], window_ns)
    print(f"{len(res)} windows of {res['series'].nunique()} series in {time.time() - t:.1f}s")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(res.head(12))
    spark.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
