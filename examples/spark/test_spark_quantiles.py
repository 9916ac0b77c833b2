"""windowagg on Spark timestamp columns: tumbling, hopping (Spark's sliding)
and trailing sliding windows, compared with NumPy's exact quantiles and with
Spark's own ``percentile_approx``; states that merge with a state written by
another windowagg handle (as a Go service snapshots it).

The session timezone is America/Los_Angeles and the data spans the
2024-11-03 fall-back hour, so a conversion of ``timestamp`` columns through
wall-clock time would put rows in the wrong windows (and the counts below
would differ from Spark's and NumPy's).

Prints the settings and the comparison table (run with ``-s`` to see it).
Needs pyspark (requirements.txt), Java 17+, WINDOWAGG_LIBRARY and the Python
binding importable. Skipped only when no Java runtime can be found.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pandas as pd
import pytest

import compare_quantiles as cq
import windowagg_spark as ws
from conftest import NO_JAVA, find_java

ALPHA = 0.01
ROWS = 200_000  # the comparison; ~30-60 s of Spark jobs on 2 loaded cores
QS = (0.5, 0.99, 0.999)
REL_SLACK = 1e-12  # rounding of the relative comparison itself

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


# ---------------------------------------------------------------- no Spark --

@pytest.mark.parametrize("text, ns", [
    ("10 minutes", 600 * 10**9), ("5 seconds", 5 * 10**9), ("1 hour", 3600 * 10**9),
    ("1 hour 30 minutes", 5400 * 10**9), ("interval 2 days", 2 * 86400 * 10**9),
    ("250 milliseconds", 250 * 10**6), ("90s", 90 * 10**9), ("1.5h", 5400 * 10**9),
    (pd.Timedelta("3min"), 180 * 10**9),
])
def test_duration_ns(text, ns):
    assert ws.duration_ns(text) == ns


@pytest.mark.parametrize("text, msg", [
    ("ten minutes", "not a duration pandas.Timedelta understands"),
    ("0 seconds", "must be positive"),
    ("-5 seconds", "must be positive"),
    ("100 nanoseconds", "whole number of microseconds"),
])
def test_duration_ns_errors(text, msg):
    with pytest.raises(ValueError, match=msg):
        ws.duration_ns(text, "window_duration")


def test_window_spec_kinds():
    assert ws.window_spec("10 minutes").kind == "tumbling"
    assert ws.window_spec("10 minutes", "10 minutes").kind == "tumbling"
    h = ws.window_spec("10 minutes", "5 minutes")
    assert (h.kind, h.size_ns, h.slide_ns) == ("hopping", 600 * 10**9, 300 * 10**9)
    s = ws.window_spec("10 minutes", kind="sliding", pane_duration="1 minute")
    assert (s.kind, s.pane_ns) == ("sliding", 60 * 10**9)
    with pytest.raises(ValueError, match="longer than the window"):
        ws.window_spec("5 minutes", "10 minutes")
    with pytest.raises(ValueError, match="must be positive and divide"):
        ws.window_spec("10 minutes", "3 minutes")
    with pytest.raises(ValueError, match="kind"):
        ws.window_spec("10 minutes", kind="session")
    with pytest.raises(ValueError, match="only sliding windows have panes"):
        ws.window_spec("10 minutes", pane_duration="1 minute")


def test_spark_column_names():
    assert [ws.spark_column(q) for q in (0.5, 0.99, 0.999, 0.05, 1.0)] == [
        "p50", "p99", "p99_9", "p5", "p100"]


# ------------------------------------------------------------------- Spark --

@pytest.fixture(scope="module")
def spark():
    if not find_java():
        pytest.skip(NO_JAVA)
    t = time.time()
    session = cq.spark_session()
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.addPyFile(os.path.abspath(ws.__file__))
    print(f"\nSpark {session.version} up in {time.time() - t:.1f}s, "
          f"session timezone {session.conf.get('spark.sql.session.timeZone')}")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def comparison(spark):
    out = cq.run(spark, ROWS, ALPHA, QS)
    print("\n" + cq.settings_text(out))
    print("max relative error vs exact (windowagg: rank floor(q(n-1)); Spark: rank ceil(qn)-1)")
    print(cq.table(out))
    return out


def test_windowagg_within_alpha_of_exact(comparison):
    """p50/p99/p999 of every series and window (tumbling and sliding, both
    through windowagg's windows and through Spark's window()) within alpha of
    NumPy's exact rank-floor(q(n-1)) value; the same windows and counts as
    NumPy and as Spark."""
    checked = 0
    for r in comparison["results"]:
        if r["method"].startswith("windowagg"):
            for q in QS:
                worst = r["errors"][q].max()
                assert worst <= ALPHA + REL_SLACK, (r["job"], r["method"], q, worst)
                checked += len(r["errors"][q])
        if r["counts_equal"] is not None:
            assert r["counts_equal"], (r["job"], r["method"])
    assert checked > 0


def test_spark_error_reported(comparison):
    """Spark's error is measured and printed, not judged: only that it was
    measured on the same windows, and the times of both are there."""
    spark_rows = [r for r in comparison["results"] if r["method"].startswith("spark")]
    assert {r["job"] for r in spark_rows} == {"tumbling", "sliding"}
    for r in comparison["results"]:
        assert r["seconds"] > 0
        assert all(np.isfinite(r["errors"][q]).all() for q in QS)


@pytest.fixture(scope="module")
def small(spark):
    pdf = cq.latency_data(20_000, seed=3)
    return pdf, spark.createDataFrame(pdf).repartition(3).cache()


def _frame(res):
    return res.sort_values(list(res.columns[:2])).reset_index(drop=True)


def test_timestamp_ntz_windows_match_spark_window(spark, small):
    """A timestamp_ntz column: wall-clock windows, as Spark's window() on it
    (the fall-back hour's two instants share wall-clock windows)."""
    from pyspark.sql import functions as F

    _, df = small
    ntz = df.withColumn("ts", F.col("ts").cast("timestamp_ntz"))
    spec = ws.window_spec("20 minutes", "10 minutes", alpha=ALPHA)
    got = ws.window_quantiles(ntz, spec, quantiles=[0.5]).toPandas()
    ref = (ntz.groupBy("series", F.window("ts", "20 minutes", "10 minutes").alias("w"))
           .agg(F.count("value").alias("count"), F.min("value").alias("min"))
           .select("series", F.col("w.start").alias("window_start"),
                   F.col("w.end").alias("window_end"), "count", "min").toPandas())
    assert dict(ntz.dtypes)["ts"] == "timestamp_ntz"
    assert str(got["window_start"].dtype).startswith("datetime64") and got["window_start"].dt.tz is None
    g = got.sort_values(["series", "window_start"]).reset_index(drop=True)
    r = ref.sort_values(["series", "window_start"]).reset_index(drop=True)
    pd.testing.assert_series_equal(g["window_start"], r["window_start"], check_dtype=False)
    pd.testing.assert_series_equal(g["window_end"], r["window_end"], check_dtype=False)
    assert (g["count"].to_numpy() == r["count"].to_numpy()).all()
    assert (g["min"].to_numpy() == r["min"].to_numpy()).all()


def _ns_bounds(res):
    """Window bounds as int64 ns instants, converted in Spark (toPandas would
    give session-local wall-clock times, ambiguous in the fall-back hour)."""
    from pyspark.sql import functions as F

    return (res.withColumn("window_start", F.unix_micros("window_start") * 1000)
            .withColumn("window_end", F.unix_micros("window_end") * 1000).toPandas())


def test_timestamp_instants_keep_their_window(spark, small):
    """A timestamp column read through unix_micros: window bounds are the
    exact instants (UTC epoch multiples), whatever the session timezone; the
    fall-back hour's rows are in their own windows (counts equal NumPy's)."""
    pdf, df = small
    spec = ws.window_spec("30 minutes", alpha=ALPHA)
    got = _ns_bounds(ws.window_quantiles(df, spec, quantiles=[0.99]))
    got = got.sort_values(["series", "window_start"]).reset_index(drop=True)
    exact = cq.exact_windows(pdf, spec, [0.99])
    assert len(got) == len(exact) == 4 * 8
    assert (got["window_start"].to_numpy() == exact["window_start"].to_numpy()).all()
    assert (got["window_end"] - got["window_start"] == spec.size_ns).all()
    assert (got["count"].to_numpy() == exact["count"].to_numpy()).all()


def test_state_merges_with_another_handles_state(spark, small):
    """Spark's per-series states (window_states) merged with a state another
    windowagg handle wrote (to_bytes = aggregator_serialize, what a Go
    service snapshots) give what one handle fed every row gives; in Spark
    too (windows_from_states over the union)."""
    import windowagg

    pdf, _ = small
    spec = ws.window_spec("1 hour", "30 minutes", alpha=ALPHA)
    rng = np.random.default_rng(5)
    in_spark = rng.random(len(pdf)) < 0.6
    sdf = spark.createDataFrame(pdf[in_spark]).repartition(3)
    states = ws.window_states(sdf, spec).toPandas()
    assert states["rows"].sum() == in_spark.sum()
    assert sorted(states["series"]) == sorted(pdf["series"].unique())

    # The "service": a plain handle of the same configuration, fed the other
    # rows with the series names as keys, snapshotted.
    other = pdf[~in_spark]
    with windowagg.Aggregator(**spec.aggregator_config()) as svc:
        t_ns = pd.DatetimeIndex(other["ts"]).as_unit("ns").asi8
        svc.push(other["value"].to_numpy(), timestamps=t_ns, keys=other["series"].tolist())
        snapshot = svc.to_bytes()

    merged = ws.merge_to_frame(list(states["state"]) + [snapshot], spec, QS)
    with windowagg.Aggregator(**spec.aggregator_config()) as one:
        t_ns = pd.DatetimeIndex(pdf["ts"]).as_unit("ns").asi8
        one.push(pdf["value"].to_numpy(), timestamps=t_ns, keys=pdf["series"].tolist())
        single = ws._window_frame(one, spec, QS, ntz=False)
    pd.testing.assert_frame_equal(merged[["series", "window_start", "count", "min", "max"]],
                                  single[["series", "window_start", "count", "min", "max"]])
    # Quantiles within 2 alpha of the one handle's: each is within alpha of
    # the exact value (a pane is exact while raw; restored state is buckets,
    # so merged and single answers may differ by the path, not the guarantee).
    for q in QS:
        c = ws.spark_column(q)
        m, s = merged[c].to_numpy(), single[c].to_numpy()
        assert (np.abs(m - s) <= 2 * ALPHA * np.abs(s) + 1e-300).all(), c

    # In Spark: the snapshot split per series (a service would send one per
    # series, or the whole handle to each group: a group merges only its own)
    snap_rows = []
    for name in pdf["series"].unique():
        with windowagg.Aggregator(**spec.aggregator_config()) as svc:
            o = other[other["series"] == name]
            svc.push(o["value"].to_numpy(), timestamps=pd.DatetimeIndex(o["ts"]).as_unit("ns").asi8,
                     keys=name)
            snap_rows.append((name, len(o), svc.to_bytes()))
    snaps = spark.createDataFrame(snap_rows, "series string, rows long, state binary")
    both = spark.createDataFrame(states).unionByName(snaps)
    in_spark_merged = _ns_bounds(ws.windows_from_states(both, spec, quantiles=QS))
    got = in_spark_merged.sort_values(["series", "window_start"]).reset_index(drop=True)
    assert (got["window_start"].to_numpy() == single["window_start"].astype("int64").to_numpy()).all()
    assert (got["count"].to_numpy() == single["count"].to_numpy()).all()
    for q in QS:
        c = ws.spark_column(q)
        g, s = got[c].to_numpy(), single[c].to_numpy()
        assert (np.abs(g - s) <= 2 * ALPHA * np.abs(s) + 1e-300).all(), c


def test_trailing_sliding_window(spark, small):
    """kind="sliding": one row per series, the last 30 minutes at 1-minute
    panes ending with the pane of as_of; count exact and quantiles within
    alpha of NumPy on the rows inside the reported bounds."""
    pdf, df = small
    spec = ws.window_spec("30 minutes", kind="sliding", pane_duration="1 minute", alpha=ALPHA)
    as_of = cq.START + pd.Timedelta("2 hours 10 minutes 30 seconds")
    got = _ns_bounds(ws.window_quantiles(df, spec, quantiles=QS, as_of=as_of))
    assert len(got) == pdf["series"].nunique()
    t_ns = pd.DatetimeIndex(pdf["ts"]).as_unit("ns").asi8
    for _, row in got.iterrows():
        start, end = row["window_start"], row["window_end"]
        assert end == (as_of.value // 60_000_000_000 + 1) * 60_000_000_000
        assert end - start == spec.size_ns
        m = ((pdf["series"].to_numpy() == row["series"]) & (t_ns >= start) & (t_ns < end)
             & (t_ns <= as_of.value))  # rows after as_of are left out
        x = np.sort(pdf["value"].to_numpy()[m])
        assert row["count"] == len(x)
        for q in QS:
            ref = x[int(math.floor(q * (len(x) - 1)))]
            assert abs(row[ws.spark_column(q)] - ref) <= ALPHA * abs(ref) * (1 + REL_SLACK)


def test_quantiles_agg_over_spark_window(spark, small):
    """The grouped-aggregate UDF in groupBy(series, window(...)).agg(...)."""
    from pyspark.sql import functions as F

    pdf, df = small
    out = (df.groupBy("series", F.window("ts", "1 hour").alias("w"))
           .agg(ws.quantiles_agg([0.5, 0.999], ALPHA)("value").alias("q"))
           .select("series", (F.unix_micros("w.start") * 1000).alias("window_start"), "q")
           .toPandas().set_index(["series", "window_start"]).sort_index())
    exact = cq.exact_windows(pdf, ws.window_spec("1 hour"), [0.5, 0.999]).set_index(
        ["series", "window_start"])
    assert out.index.equals(exact.index)
    q = np.array(out["q"].tolist())
    for j, qq in enumerate((0.5, 0.999)):
        ref = exact[f"lo_{qq}"].to_numpy()
        assert (np.abs(q[:, j] - ref) <= ALPHA * np.abs(ref) * (1 + REL_SLACK)).all()


def test_bad_columns_are_named(spark, small):
    from pyspark.sql import functions as F

    _, df = small
    spec = ws.window_spec("1 hour")
    with pytest.raises(TypeError, match="ts: event time must be a timestamp"):
        ws.window_quantiles(df.withColumn("ts", F.unix_micros("ts")), spec)
    with pytest.raises(ValueError, match="column 'latency' is not in the DataFrame"):
        ws.window_quantiles(df, spec, value="latency")
