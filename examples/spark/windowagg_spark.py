"""windowagg on Spark: quantiles within a relative alpha, per series and
window, with state that merges.

On ``timestamp`` / ``timestamp_ntz`` columns, windows written like Spark's
``window(ts, "10 minutes", "5 minutes")`` (:func:`window_spec`: tumbling,
hopping = Spark's sliding windows, or windowagg's trailing sliding window):

* :func:`window_quantiles` -> per (group, window): bounds, count, mean, min,
  max and quantiles (``groupBy(...).applyInPandas``);
* :func:`window_states` -> per group: windowagg's serialized state, which
  merges with any state of the same configuration (a service's snapshot);
  :func:`windows_from_states` / :func:`merge_to_frame` merge and read them;
* :func:`quantiles_agg` -> a grouped-aggregate pandas UDF for
  ``groupBy(..., window(...)).agg(...)``.

The first API, on long-nanosecond timestamps and tumbling windows:

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


# ---------------------------------------------------------------------------
# Spark timestamp columns, Spark-style window durations, tumbling / hopping
# (Spark's "sliding" windows) / trailing sliding windows, quantiles per series
# per window and the mergeable state.
# ---------------------------------------------------------------------------

SPARK_QUANTILES = (0.5, 0.99, 0.999)
_NS_PER_US = 1000  # Spark timestamps are microseconds
_TS = "__windowagg_ts"  # the prepared event-time column (see event_time)
_V = "__windowagg_value"
WINDOW_KINDS = ("tumbling", "hopping", "sliding")


def duration_ns(text, field: str = "duration") -> int:
    """Nanoseconds of a Spark-style duration ("10 minutes", "5 seconds",
    "1 hour 30 minutes", "interval 2 days"; also "90s", "1.5h", a
    ``datetime.timedelta`` or ``pandas.Timedelta``), parsed by
    ``pandas.Timedelta``. Must be positive and a whole number of microseconds
    (Spark's timestamp precision)."""
    import pandas as pd

    raw = text
    if isinstance(text, str) and text.strip().lower().startswith("interval "):
        text = text.strip()[len("interval "):]  # Spark's SQL interval literal form
    try:
        td = pd.Timedelta(text)
    except (ValueError, TypeError) as e:
        raise ValueError(
            f"{field}: {raw!r} is not a duration pandas.Timedelta understands ({e}); "
            "write e.g. '10 minutes', '30 seconds', '1 hour', '7 days'") from None
    if td is pd.NaT:
        raise ValueError(f"{field}: {raw!r} is not a duration (NaT)")
    ns = int(td.to_timedelta64().astype("timedelta64[ns]").astype(np.int64))
    if ns <= 0:
        raise ValueError(f"{field}: {raw!r} must be positive")
    if ns % _NS_PER_US:
        raise ValueError(f"{field}: {raw!r} is not a whole number of microseconds "
                         "(Spark's timestamp precision)")
    return ns


class WindowSpec:
    """Window geometry + sketch accuracy of a job: every state it produces
    merges with every other state of the same spec (also ones written by a Go
    or C++ service whose handle has the same configuration:
    :meth:`aggregator_config` says which).

    kinds:
      * ``tumbling``: ``[k*D, (k+1)*D)`` — Spark's ``window(ts, D)``;
      * ``hopping``: ``[k*S, k*S + D)`` — Spark's ``window(ts, D, S)`` (what
        Spark calls a sliding window); ``S`` must divide ``D``;
      * ``sliding``: one trailing window per series, the last ``D`` of event
        time at ``pane`` granularity ending with the pane of the series'
        newest event (or ``as_of``) — what a windowagg service reports as
        "the last 10 minutes"; no Spark counterpart.
    """

    __slots__ = ("kind", "size_ns", "slide_ns", "pane_ns", "alpha", "lateness_ns")

    def __init__(self, kind: str, size_ns: int, slide_ns: int = 0, pane_ns: int = 0,
                 alpha: float = 0.01, lateness_ns: int = BATCH_LATENESS) -> None:
        if kind not in WINDOW_KINDS:
            raise ValueError(f"kind: {kind!r} is not one of {', '.join(WINDOW_KINDS)}")
        if kind == "hopping" and (slide_ns <= 0 or slide_ns > size_ns or size_ns % slide_ns):
            raise ValueError(f"slide_duration: a hopping window's slide ({slide_ns} ns) must be "
                             f"positive and divide the window duration ({size_ns} ns)")
        if kind != "hopping" and slide_ns:
            raise ValueError(f"slide_duration: only hopping windows have a slide, not {kind}")
        if pane_ns and (kind != "sliding" or size_ns % pane_ns):
            raise ValueError("pane_duration: only sliding windows have panes, and a pane "
                             "must divide the window duration")
        self.kind, self.size_ns, self.slide_ns, self.pane_ns = kind, int(size_ns), int(slide_ns), int(pane_ns)
        self.alpha, self.lateness_ns = float(alpha), int(lateness_ns)

    def __repr__(self) -> str:
        return (f"WindowSpec({self.kind!r}, size_ns={self.size_ns}, slide_ns={self.slide_ns}, "
                f"pane_ns={self.pane_ns}, alpha={self.alpha}, lateness_ns={self.lateness_ns})")

    def aggregator_config(self) -> dict:
        """The ``windowagg.Aggregator`` arguments (integers in ns) that
        produce states this spec merges with."""
        cfg = dict(window=self.kind, size=self.size_ns, lateness=self.lateness_ns,
                   accuracy=self.alpha, time_unit="ns")
        if self.slide_ns:
            cfg["slide"] = self.slide_ns
        if self.pane_ns:
            cfg["pane"] = self.pane_ns
        return cfg

    def aggregator(self):
        """A fresh single-threaded handle of this spec."""
        _ensure_library()
        import windowagg

        return windowagg.Aggregator(threading="single", max_pending_windows=2**40,
                                    **self.aggregator_config())


def window_spec(window_duration, slide_duration=None, kind: str = None, pane_duration=None,
                alpha: float = 0.01) -> WindowSpec:
    """Windows written the way Spark's ``window(ts, windowDuration,
    slideDuration)`` takes them: ``window_spec("10 minutes")`` tumbling,
    ``window_spec("10 minutes", "5 minutes")`` hopping (Spark's sliding
    windows), ``window_spec("10 minutes", kind="sliding")`` the trailing
    window. Durations are parsed by ``pandas.Timedelta`` (:func:`duration_ns`).
    ``alpha`` is the quantile sketch's relative accuracy."""
    size = duration_ns(window_duration, "window_duration")
    slide = duration_ns(slide_duration, "slide_duration") if slide_duration is not None else 0
    if slide > size:
        raise ValueError(f"slide_duration: {slide_duration!r} is longer than the window "
                         f"duration {window_duration!r}")
    if kind is None:
        kind = "hopping" if slide and slide != size else "tumbling"
    if kind == "tumbling" and slide and slide != size:
        raise ValueError("slide_duration: a tumbling window's slide is its duration")
    if kind != "hopping":
        slide = 0
    pane = duration_ns(pane_duration, "pane_duration") if pane_duration is not None else 0
    return WindowSpec(kind, size, slide, pane, alpha)


def event_time(df, ts_col: str):
    """The Spark column expression windowagg reads event time from, for a
    ``timestamp`` or ``timestamp_ntz`` column of ``df``.

    ``timestamp`` (an instant): ``unix_micros(ts)``, exact whatever the
    session timezone. (Passed as is, a pandas UDF would receive the instant
    as a naive wall-clock time in ``spark.sql.session.timeZone``, in which the
    two instants of a DST fall-back hour are the same time.) Windows are then
    aligned on UTC epoch multiples, like Spark's ``window()``.

    ``timestamp_ntz`` (a wall-clock time): passed as is; it reaches pandas
    unconverted and is read as wall-clock nanoseconds, so windows are aligned
    on wall-clock multiples, like ``window()`` on a ``timestamp_ntz``."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    dt = df.schema[ts_col].dataType
    if isinstance(dt, T.TimestampNTZType):
        return F.col(ts_col)
    if isinstance(dt, T.TimestampType):
        return F.unix_micros(F.col(ts_col))
    raise TypeError(f"{ts_col}: event time must be a timestamp or timestamp_ntz column, not "
                    f"{dt.simpleString()} (for long nanoseconds see windowed_aggregates; for "
                    "long seconds use timestamp_seconds(col))")


def _is_ntz(df, ts_col: str) -> bool:
    from pyspark.sql import types as T

    return isinstance(df.schema[ts_col].dataType, T.TimestampNTZType)


def _event_ns(s: pd.Series) -> np.ndarray:
    """int64 ns of a prepared event-time column: integer microseconds
    (``unix_micros``) or naive datetimes (``timestamp_ntz`` wall clock)."""
    if pd.api.types.is_integer_dtype(s.dtype):
        us = s.to_numpy(dtype=np.int64)
        lim = INT64_MAX // _NS_PER_US
        if len(us) and (us.max() > lim or us.min() < -lim):
            raise OverflowError("event time outside the int64 nanosecond range (years 1678..2261)")
        return us * _NS_PER_US
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dtype, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        return s.to_numpy(dtype="datetime64[ns]").view(np.int64)
    raise TypeError(f"event time: expected unix_micros longs or timestamp_ntz values, got {s.dtype}")


def _times(ns: np.ndarray, ntz: bool) -> pd.Series:
    """Window bounds for Spark: tz-aware UTC (-> ``timestamp``, the exact
    instant whatever the session timezone) or naive (-> ``timestamp_ntz``)."""
    t = pd.to_datetime(np.asarray(ns, dtype=np.int64), unit="ns", utc=not ntz)
    return pd.Series(t)


def _series_name(values: Sequence) -> str:
    """The windowagg series name of a group: its values joined by "/" (a Go
    service that names its series the same way merges into the same series)."""
    return "/".join(str(v) for v in values)


def spark_column(q: float) -> str:
    """Result column of quantile q: 0.5 -> p50, 0.99 -> p99, 0.999 -> p99_9
    (the binding's ``p99.9`` without the dot Spark column names trip on)."""
    return "p" + format(round(float(q) * 100, 10), "g").replace(".", "_")


def _window_frame(agg, spec: WindowSpec, quantiles: Sequence[float], ntz: bool) -> pd.DataFrame:
    """Every window of agg: series, window_start, window_end, count, mean,
    min, max and the quantiles (closing all tumbling/hopping windows; the
    current trailing window of sliding handles)."""
    qs = list(quantiles)
    if spec.kind == "sliding":
        cols = agg.all_stats(quantiles=qs, names=True)
    else:
        agg.advance(INT64_MAX)
        cols = agg.poll_windows(quantiles=qs, names=True)
    keep = cols["count"] > 0
    out = pd.DataFrame({
        "series": cols["name"][keep].astype(object),
        "window_start": _times(cols["window_start"][keep], ntz),
        "window_end": _times(cols["window_end"][keep], ntz),
        "count": cols["count"][keep].astype(np.int64),
        "mean": cols["mean"][keep], "min": cols["min"][keep], "max": cols["max"][keep],
    })
    for q in qs:
        out[spark_column(q)] = cols[quantile_column(q)][keep]
    return out.sort_values(["series", "window_start"], kind="stable").reset_index(drop=True)


def window_result_schema(df_or_schema, by: Sequence[str], quantiles: Sequence[float] = SPARK_QUANTILES,
                         ntz: bool = False):
    """Spark schema of the per-(group, window) rows."""
    from pyspark.sql import types as T

    schema = getattr(df_or_schema, "schema", df_or_schema)
    ts = T.TimestampNTZType() if ntz else T.TimestampType()
    fields = [schema[b] for b in by] + [
        T.StructField("window_start", ts), T.StructField("window_end", ts),
        T.StructField("count", T.LongType()), T.StructField("mean", T.DoubleType()),
        T.StructField("min", T.DoubleType()), T.StructField("max", T.DoubleType()),
    ]
    fields += [T.StructField(spark_column(q), T.DoubleType()) for q in quantiles]
    return T.StructType(fields)


def _with_groups(frame: pd.DataFrame, by: Sequence[str], key_row: pd.Series) -> pd.DataFrame:
    frame = frame.drop(columns=["series"], errors="ignore")
    for i, b in enumerate(by):
        frame.insert(i, b, [key_row[b]] * len(frame))
    return frame


def _prepare(df, ts_col: str, value_col: str, by: Sequence[str]):
    """(group columns, event time as :func:`event_time`, value as double);
    rows without an event time are left out (as by Spark's ``window()``);
    null values are skipped by the handle (counted as rejected), as
    ``percentile_approx`` skips them."""
    from pyspark.sql import functions as F

    for c in list(by) + [ts_col, value_col]:
        if c not in df.columns:
            raise ValueError(f"column {c!r} is not in the DataFrame (columns: {', '.join(df.columns)})")
    return (df.where(F.col(ts_col).isNotNull())
            .select(*by, event_time(df, ts_col).alias(_TS), F.col(value_col).cast("double").alias(_V)))


def _push_group(agg, pdf: pd.DataFrame, name: str, as_of_ns=None) -> int:
    ts = _event_ns(pdf[_TS])
    v = pdf[_V].to_numpy(dtype=np.float64, na_value=np.nan)
    if as_of_ns is not None:
        keep = ts <= as_of_ns
        ts, v = ts[keep], v[keep]
    if len(v):
        agg.push(v, timestamps=ts, keys=name)
    if as_of_ns is not None:
        agg.advance(int(as_of_ns))
    return len(v)


def _as_of_ns(as_of):
    if as_of is None:
        return None
    t = pd.Timestamp(as_of)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return int(t.as_unit("ns").value)


def window_quantiles(df, spec: WindowSpec, ts: str = "ts", value: str = "value",
                     by: Sequence[str] = ("series",), quantiles: Sequence[float] = SPARK_QUANTILES,
                     as_of=None):
    """Quantiles per group per window, computed by windowagg in
    ``df.groupBy(*by).applyInPandas``: a Spark DataFrame ``(by..., window_start,
    window_end, count, mean, min, max, p50, p99, p99_9, ...)`` with one row per
    (group, window) holding at least one value. ``ts`` is a ``timestamp`` or
    ``timestamp_ntz`` column (window bounds come back in the same type); each
    quantile is within ``spec.alpha`` (relative) of the exact value of rank
    floor(q*(n-1)) of the window. Sliding specs give one row per group: the
    trailing window at the group's newest event, or at ``as_of`` (a
    timestamp; later rows left out) for all groups."""
    by = [by] if isinstance(by, str) else list(by)
    qs = [float(q) for q in quantiles]
    ntz = _is_ntz(df, ts)
    as_of_ns = _as_of_ns(as_of)

    def per_group(pdf: pd.DataFrame) -> pd.DataFrame:
        agg = spec.aggregator()
        try:
            key = pdf.iloc[0]
            _push_group(agg, pdf, _series_name([key[b] for b in by]), as_of_ns)
            return _with_groups(_window_frame(agg, spec, qs, ntz), by, key)
        finally:
            agg.close()

    prepared = _prepare(df, ts, value, by)
    return prepared.groupBy(*by).applyInPandas(per_group, window_result_schema(df, by, qs, ntz))


def window_states(df, spec: WindowSpec, ts: str = "ts", value: str = "value",
                  by: Sequence[str] = ("series",), as_of=None):
    """One serialized windowagg state per group, in ``groupBy(*by)
    .applyInPandas``: a Spark DataFrame ``(by..., rows long, state binary)``.
    The state holds the group as one series named :func:`_series_name` of its
    values, with every window still open (unbounded lateness): it merges with
    any other state of the same spec — another Spark job's, or a service's
    ``aggregator_serialize`` snapshot (``Aggregator.to_bytes``, Go
    ``Snapshot``) — and :func:`windows_from_states` or :func:`merge_to_frame`
    turn merged states into windows."""
    from pyspark.sql import types as T

    by = [by] if isinstance(by, str) else list(by)
    as_of_ns = _as_of_ns(as_of)

    def per_group(pdf: pd.DataFrame) -> pd.DataFrame:
        agg = spec.aggregator()
        try:
            key = pdf.iloc[0]
            rows = _push_group(agg, pdf, _series_name([key[b] for b in by]), as_of_ns)
            out = pd.DataFrame({"rows": [rows], "state": [agg.to_bytes()]})
            return _with_groups(out, by, key)
        finally:
            agg.close()

    schema = T.StructType([df.schema[b] for b in by] + [
        T.StructField("rows", T.LongType()), T.StructField("state", T.BinaryType())])
    return _prepare(df, ts, value, by).groupBy(*by).applyInPandas(per_group, schema)


def merge_to_frame(states: Sequence[bytes], spec: WindowSpec,
                   quantiles: Sequence[float] = SPARK_QUANTILES, ntz: bool = False) -> pd.DataFrame:
    """Merges serialized states of ``spec`` (from Spark, services, files:
    anything ``aggregator_serialize`` wrote with the same configuration) and
    returns every (series, window) as a pandas DataFrame."""
    agg = spec.aggregator()
    try:
        for s in states:
            agg.merge(bytes(s))
        return _window_frame(agg, spec, quantiles, ntz)
    finally:
        agg.close()


def windows_from_states(states_df, spec: WindowSpec, by: Sequence[str] = ("series",),
                        quantiles: Sequence[float] = SPARK_QUANTILES, state_col: str = "state",
                        ntz: bool = False):
    """Merges the states of each group (any number of rows per group, e.g.
    ``window_states`` of several jobs unioned with service snapshots) in
    ``groupBy(*by).applyInPandas`` and returns the rows of
    :func:`window_quantiles`. States must hold only that group's series."""
    by = [by] if isinstance(by, str) else list(by)
    qs = [float(q) for q in quantiles]

    def per_group(pdf: pd.DataFrame) -> pd.DataFrame:
        frame = merge_to_frame(list(pdf[state_col]), spec, qs, ntz)
        return _with_groups(frame, by, pdf.iloc[0])

    schema = window_result_schema(states_df, by, qs, ntz)
    return states_df.groupBy(*by).applyInPandas(per_group, schema)


def quantiles_agg(quantiles: Sequence[float] = SPARK_QUANTILES, alpha: float = 0.01):
    """A grouped-aggregate pandas UDF ``value -> array<double>`` of the
    quantiles of a group's values, within ``alpha`` (relative) of the exact
    rank-floor(q*(n-1)) values, for grouping by Spark's own ``window()``::

        df.groupBy("series", F.window("ts", "10 minutes", "5 minutes")) \
          .agg(ws.quantiles_agg([0.5, 0.99, 0.999])("value").alias("q"))

    Nulls/NaN are skipped; a group without values gives nulls."""
    from pyspark.sql.functions import pandas_udf

    qs = [float(q) for q in quantiles]

    @pandas_udf("array<double>")
    def windowagg_quantiles(v: pd.Series) -> list:
        _ensure_library()
        import windowagg

        x = v.to_numpy(dtype=np.float64, na_value=np.nan)
        # One count window holding the whole group (nothing evicted).
        with windowagg.Aggregator(window="count", size=max(len(x), 1), accuracy=alpha,
                                  threading="single") as agg:
            agg.push(x)
            if agg.stats().count == 0:
                return [None] * len(qs)
            return [float(r) for r in agg.quantiles(qs)]

    return windowagg_quantiles


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
