"""One-shot windowed group jobs over a whole DataFrame: :func:`aggregate_windows`.

A batch job knows its whole input, so it can hand the library the batch in
the order the library applies fastest, without changing any result:

* keys are factorized once (pyarrow's ``dictionary_encode`` of the names'
  Arrow buffers, ``pandas.factorize`` of integer ids); the code of a key is
  its series id in the job's own aggregators, the frame shows the labels;
* the rows are put in (window, key) order by a stable counting sort (NumPy
  radix passes on 16-bit digits): each series gets its values in their input
  order, window after window, in long runs. The aggregator is created with
  ``lateness`` = one window step, so a row is never late however the input
  was ordered, and ``advance`` to the end of time closes every window: each
  window holds exactly its rows, as ``groupby`` would;
* with ``threads > 1`` the keys are split into that many disjoint sets, each
  pushed into its own aggregator from its own thread (the library releases
  the GIL), and the windows of all of them are put together;
* the result frame is built from arrays (index levels from the factorized
  keys, no Python work per row).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _errors as E
from ._aggregator import (
    _I64,
    _INT64_MAX,
    _U64,
    Aggregator,
    _as_keys,
    _as_timestamps,
    _as_values,
    _frame_spec,
    _pandas,
    _UNITS,
)

__all__ = ["aggregate_windows"]

_MIN_ROWS_PER_THREAD = 1 << 16
# Rows per push: 2^14 took ~35% less CPU time in the library than one push of
# 10^6 rows (bench_frame.py job, 1,000 keys; the library's per-batch work
# arrays then stay in cache).
_PUSH_ROWS = 1 << 14
_pools: Dict[int, ThreadPoolExecutor] = {}


def _pool(n: int) -> ThreadPoolExecutor:
    pool = _pools.get(n)
    if pool is None:
        pool = _pools[n] = ThreadPoolExecutor(n, thread_name_prefix="windowagg")
    return pool


def _column(data: Any, name: Any, what: str) -> Any:
    """Column ``name`` of a pandas/polars DataFrame or a mapping of arrays; a
    column object (Series, array) passes as it is."""
    if not isinstance(name, (str, bytes, int)) or isinstance(name, bool):
        return name
    mod = type(data).__module__
    try:
        if mod.startswith("polars"):
            return data.get_column(name)
        return data[name]
    except (KeyError, LookupError, TypeError) as e:
        if type(e).__name__ == "ColumnNotFoundError" or isinstance(e, KeyError):
            raise E.InvalidArgumentError(f"{what}: no column {name!r} in the data") from None
        raise


def _float_values(col: Any, nonfinite: int) -> np.ndarray:
    mod = type(col).__module__
    if mod.startswith("pandas") and hasattr(col, "to_numpy"):
        dt = getattr(col, "dtype", None)
        if not isinstance(dt, np.dtype) and getattr(dt, "kind", "O") in "fiub":
            col = col.to_numpy(dtype=np.float64, na_value=np.nan)  # nullable/Arrow numbers
    elif mod.startswith("polars") and hasattr(col, "to_numpy"):
        if col.dtype.is_numeric():
            col = col.cast(float).to_numpy()  # nulls as NaN
    return _as_values(col, nonfinite)


def _factorize(col: Any, n: int) -> Tuple[np.ndarray, Any]:
    """(int64 code per row, the key label of each code as a pandas Index)."""
    pd = _pandas()
    ids, named = _as_keys(col, n)  # validates, as push would; names: their Arrow buffers
    if named is None:
        assert ids is not None
        codes, uniq = pd.factorize(ids)
        return codes.astype(_I64, copy=False), pd.Index(np.asarray(uniq, dtype=_U64))
    arr = named.keep[0] if isinstance(named.keep, tuple) else None
    if arr is not None:  # the pyarrow array the names came from
        enc = arr.dictionary_encode()
        return (np.asarray(enc.indices).astype(_I64, copy=False),
                pd.Index(enc.dictionary.to_pandas()))
    # no pyarrow: the names as Python objects
    seq = col.tolist() if hasattr(col, "tolist") else list(col)
    codes, labels = pd.factorize(np.asarray(seq, dtype=object))
    return codes.astype(_I64, copy=False), pd.Index(labels)


def _stable_order(g: np.ndarray, limit: int) -> np.ndarray:
    """The stable sort permutation of non-negative int64 ``g`` < ``limit``:
    NumPy's radix sort on 16-bit digits (one or two passes), else its
    stable merge sort."""
    if limit <= 1 << 16:
        return np.argsort(g.astype(np.uint16), kind="stable")
    if limit <= 1 << 32:
        order = np.argsort((g & 0xFFFF).astype(np.uint16), kind="stable")
        hi = (g[order] >> 16).astype(np.uint16)
        return order[np.argsort(hi, kind="stable")]
    return np.argsort(g, kind="stable")


def aggregate_windows(
    data: Any,
    value: Any,
    *,
    size: Any,
    by: Any = None,
    on: Any = None,
    window: str = "tumbling",
    slide: Any = None,
    aggs: Any = None,
    quantiles: Optional[Sequence[float]] = None,
    accuracy: float = 0.01,
    nonfinite: str = "skip",
    time_unit: Optional[str] = None,
    tz: Any = None,
    threads: Optional[int] = None,
) -> "Any":
    """Windowed aggregates of a whole DataFrame, per group and window, in one
    call: the batch form of pushing it into a tumbling/hopping
    :class:`Aggregator` and reading :meth:`~Aggregator.poll_windows_frame`.

    ``aggregate_windows(df, "v", by="service", size="60s")`` is
    ``df.groupby(["service", pd.Grouper(freq="60s")])["v"].agg([...])``
    (polars: ``group_by(key, col(ts).dt.truncate("60s")).agg(...)``), with
    quantiles within ``accuracy`` (relative) of the exact value.

    Args:
        data: a pandas or polars DataFrame (or a mapping of columns).
        value: the value column's name (or a column).
        size: window width: a duration (``"60s"``, ``"1min"``, timedelta) or
            an integer in ``time_unit``.
        by: the key column's name (or a column): str/bytes names or
            non-negative integers. None: one series.
        on: the timestamp column's name (or a column); None: the frame's
            index (pandas ``DatetimeIndex``). datetime64 / pandas or polars
            datetimes (tz-aware ones as their instants; the result is shown in
            their timezone), or integers with ``time_unit``.
        window: ``"tumbling"`` or ``"hopping"`` (with ``slide``).
        aggs, quantiles: the columns, as in :meth:`Aggregator.poll_windows_frame`
            (default ``count, mean, std, min, max``; ``"p99"`` entries or
            ``quantiles=[0.99]`` add quantile columns).
        accuracy, nonfinite, time_unit, tz: as in :class:`Aggregator`. NaN
            and missing values are skipped (``nonfinite="skip"``) like pandas
            does; a window whose values were all skipped has no row.
        threads: native threads (each a disjoint set of keys in its own
            aggregator); default: the CPUs available, at most one per
            65,536 rows and one per key.

    Returns:
        A pandas DataFrame indexed by ``(by, window_start)`` (``window_start``
        only without ``by``), sorted like ``groupby``: keys ascending, then
        windows. The counter columns ``late``/``rejected``/``total`` and
        ``watermark`` (``aggs="all"``) describe the job's own aggregators (fed
        in batches of 16,384 rows, every window closed at the end of time),
        not a stream; the aggregates are those of the stream.

    Raises:
        ConfigError, InvalidArgumentError, InputTypeError: as :meth:`Aggregator.push`
        would, naming the argument (a missing key or timestamp is refused).
    """
    pd = _pandas()
    if pd is None:  # pragma: no cover - pandas is installed in the tests
        raise ImportError("aggregate_windows returns a pandas DataFrame: install pandas")
    if window not in ("tumbling", "hopping"):
        raise E.ConfigError(f"window: aggregate_windows takes 'tumbling' or 'hopping', got {window!r}")
    fields, q = _frame_spec(aggs, quantiles, windowed=True)
    nonfinite_code = {"reject": 0, "skip": 1}.get(nonfinite)
    if nonfinite_code is None:
        raise E.ConfigError(f"nonfinite: {nonfinite!r} is not one of 'reject', 'skip'")

    v = _float_values(_column(data, value, "value"), nonfinite_code)
    n = len(v)
    tcol = data.index if on is None and hasattr(data, "index") else _column(data, on, "on")
    if tcol is None:
        raise E.InvalidArgumentError("on: name the timestamp column (the data has no index)")
    unit = "ns" if time_unit is None else _UNITS.get(time_unit)
    if unit is None:
        raise E.ConfigError(f"time_unit: {time_unit!r} is not a known unit")
    t, is_dt, in_tz = _as_timestamps(tcol, unit, time_unit is not None)
    if len(t) != n:
        raise E.InvalidArgumentError(f"timestamps ({on!r}) has {len(t)} elements but values has {n}")
    if by is not None:
        codes, labels = _factorize(_column(data, by, "by"), n)
        k = len(labels)
    else:
        codes, labels, k = np.zeros(n, dtype=_I64), None, 1

    def make(lateness: Optional[int] = None) -> Aggregator:
        return Aggregator(window=window, size=size, slide=slide, lateness=lateness,
                          accuracy=accuracy, quantiles=q is not None, nonfinite=nonfinite,
                          threading="single", time_unit=unit, tz=tz or in_tz)

    # The configuration checked, and the window step in time_unit read, by the library.
    with make() as probe:
        cfg = probe.config
    step = int(cfg["slide"] if window == "hopping" else cfg["size"])

    nthreads = threads if threads is not None else (os.cpu_count() or 1)
    if not isinstance(nthreads, int) or nthreads < 1:
        raise E.InvalidArgumentError(f"threads must be an integer >= 1, got {threads!r}")
    if threads is None:
        nthreads = max(1, min(nthreads, k, n // _MIN_ROWS_PER_THREAD))
    nthreads = max(1, min(nthreads, k))

    # (window, key) order, keys split into thread parts: g = ((part * nw) + w) * k + code
    order = None
    if n:
        g = np.floor_divide(t, step)  # the window step of each row, then its sort key (in place)
        w0 = int(g.min())
        nw = int(g.max()) - w0 + 1
        if nthreads * nw * k >= 1 << 62:  # sparse times: rank the windows densely
            _, g = np.unique(g, return_inverse=True)
            g = g.astype(_I64, copy=False).ravel()
            w0, nw = 0, int(g.max()) + 1
        if w0:
            g -= w0
        if k > 1:
            g *= k
            g += codes
        if nthreads > 1:
            g += (codes % nthreads) * (nw * k)
        if not bool(np.all(g[1:] >= g[:-1])):
            order = _stable_order(g, nthreads * nw * k)
        del g
    if order is not None:
        v, t, codes = v.take(order), t.take(order), codes.take(order)
        del order
    # Each key's code is its series id in the job's aggregators (the frame
    # shows the labels): no hashing, no names kept.
    ids = codes.view(_U64)
    per_part = np.bincount(np.arange(k) % nthreads, weights=np.bincount(codes, minlength=k),
                           minlength=nthreads).astype(np.int64)
    bounds = np.concatenate(([0], np.cumsum(per_part)))

    # lateness = one step: a row is never late in (window, key) order
    aggs_: List[Aggregator] = [make(step) for _ in range(nthreads)]

    def run(i: int) -> Dict[str, np.ndarray]:
        a = aggs_[i]
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        # in batches of _PUSH_ROWS: the library's per-batch work stays in cache
        for b in range(lo, hi, _PUSH_ROWS):
            e = min(b + _PUSH_ROWS, hi)
            a.push(v[b:e], timestamps=t[b:e], keys=ids[b:e])
        a.advance(_INT64_MAX)  # the end of time: every window closes
        return a.poll_windows(quantiles=q)

    try:
        if nthreads == 1:
            parts = [run(0)]
        else:
            parts = list(_pool(nthreads).map(run, range(nthreads)))
        head = aggs_[0]
        head._dtclock = bool(is_dt) or tz is not None
        cols = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
        return _result(head, cols, fields, q, step, labels, by, pd)
    finally:
        for a in aggs_:
            a.close()


def _result(agg: Aggregator, cols: Dict[str, np.ndarray], fields: List[Tuple[str, str]],
            q: Optional[List[float]], step: int, labels: Any, by: Any, pd: Any) -> Any:
    """The frame, rows sorted by (key label, window_start), index levels from
    the key labels and the window starts (no Python work per row)."""
    starts = cols["window_start"]
    if len(starts):
        s0 = int(starts.min())
        wrel = (starts - s0) // step  # window starts are multiples of the step
        present = np.bincount(wrel) > 0
        wlev = s0 + step * np.flatnonzero(present).astype(_I64)
        wcode = (np.cumsum(present) - 1)[wrel]
    else:
        wlev = np.empty(0, _I64)
        wcode = np.empty(0, np.intp)
    nlev = max(len(wlev), 1)
    if labels is None:
        order = np.argsort(wcode, kind="stable")
    else:
        label_order = labels.argsort(kind="stable")
        rank = np.empty(len(labels), dtype=_I64)
        rank[label_order] = np.arange(len(labels))
        krank = rank[cols["key"].astype(np.intp)]
        order = np.argsort(krank * nlev + wcode, kind="stable")
    cols = {c: x[order] for c, x in cols.items()}
    wcode = wcode[order]
    wlevel = agg._times(wlev, pd) if agg._dtclock else pd.Index(wlev)
    if labels is None:
        index = wlevel[wcode]
        index.name = "window_start"
    else:
        index = pd.MultiIndex(levels=[labels.take(label_order), wlevel],
                              codes=[krank[order], wcode],
                              names=[by if isinstance(by, (str, int)) else "key", "window_start"],
                              verify_integrity=False)
    return agg._frame(cols, fields, q, windowed=True, sort=False, index=index)
