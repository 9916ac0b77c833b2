"""Per-row rolling aggregates: pandas' ``df.groupby(by).rolling(window).agg(...)``
in one native call (``aggregator_rolling``), with no handle and no state.

Two entry points:

- :func:`rolling` takes a pandas DataFrame and returns a DataFrame shaped
  like pandas' groupby-rolling output (a MultiIndex ``(by..., on or index)``
  in group order), or aligned with the input rows (``order="input"``);
- :func:`rolling_arrays` takes NumPy arrays and returns a dict of arrays,
  one value per input row, in input order.

Semantics are pandas' (see ``aggregator_rolling`` in windowagg.h): an integer
window is the last N rows of a key (default ``min_periods`` N), a duration
is the time span ``(t - window, t]`` (closed='right'; default ``min_periods``
1); NaN and +-Inf are left out of every aggregate and ``count`` counts the
non-NaN values; ``std``/``var`` are sample statistics (ddof=1); quantiles are
EXACT with pandas' default 'linear' interpolation (not the sketch).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _errors as E
from ._aggregator import (
    DEFAULT_AGGS,
    _P_RE,
    _as_qs,
    _as_timestamps,
    _as_values,
    _duration,
    _is_int,
    _p_column,
    _pandas,
    _raise,
)
from ._lib import RollingOptions, RollingOutput, array_address, lib

__all__ = ["rolling", "rolling_arrays"]

# AGGREGATOR_ROLLING_* (checked against the header by tests/test_abi.py)
_ROLLING_AGGREGATES = {
    "count": 0, "sum": 1, "mean": 2, "min": 3, "max": 4, "var": 5, "std": 6, "quantile": 7,
}
_ALIASES = {"variance": "var", "stddev": "std"}
_QUANTILE = _ROLLING_AGGREGATES["quantile"]
_WINDOW_COUNT, _WINDOW_SLIDING = 0, 1  # AGGREGATOR_WINDOW_COUNT / _SLIDING

_rolling = lib.aggregator_rolling


def _spec(aggs: Any, quantiles: Any) -> List[Tuple[str, int, float]]:
    """[(column name, AGGREGATOR_ROLLING_*, q)] of a request, first occurrence kept."""
    if aggs is None:
        names: List[Any] = list(DEFAULT_AGGS)
    elif isinstance(aggs, str):
        names = [aggs]
    else:
        names = list(aggs)
    out: List[Tuple[str, int, float]] = []
    for a in names:
        if not isinstance(a, str):
            raise E.InvalidArgumentError(f"aggs: expected aggregate names, got {a!r}")
        m = _P_RE.match(a)
        if m or a == "median":
            q = 0.5 if a == "median" else float(m.group(1)) / 100  # type: ignore[union-attr]
            if not 0 <= q <= 1:
                raise E.InvalidArgumentError(f"aggs: {a!r} is not a percentile in p0..p100")
            out.append((a, _QUANTILE, q))
            continue
        base = _ALIASES.get(a, a)
        if base not in _ROLLING_AGGREGATES or base == "quantile":
            raise E.InvalidArgumentError(
                f"aggs: unknown aggregate {a!r}; choose from count, sum, mean, min, max, var, "
                "std, median or 'p<percent>' (e.g. 'p99', 'p99.9'), or pass quantiles="
            )
        out.append((a, _ROLLING_AGGREGATES[base], 0.0))
    if quantiles is not None:
        for q in _as_qs(quantiles).tolist():
            if not 0 <= q <= 1:
                raise E.InvalidArgumentError(f"quantiles: {q} is not in [0, 1]")
            out.append((_p_column(q), _QUANTILE, q))
    seen = set()
    uniq = [s for s in out if not (s[0] in seen or seen.add(s[0]))]  # type: ignore[func-returns-value]
    if not uniq:
        raise E.InvalidArgumentError("aggs: nothing to compute (empty aggs and no quantiles)")
    return uniq


def _min_periods(min_periods: Any) -> int:
    if min_periods is None:
        return -1
    if not _is_int(min_periods) or min_periods < 0:
        raise E.InvalidArgumentError(f"min_periods must be an integer >= 0 or None, got {min_periods!r}")
    return int(min_periods)


def _window(window: Any, unit: str) -> Tuple[int, int]:
    """(AGGREGATOR_WINDOW_*, size): an int counts rows; anything else is a duration."""
    if _is_int(window):
        if window <= 0:
            raise E.InvalidArgumentError(f"window: {window} rows; a window must be > 0")
        return _WINDOW_COUNT, int(window)
    try:
        w = _duration(window, "window", unit)
    except E.ConfigError as e:  # the same words, as a bad argument of this call
        raise E.InvalidArgumentError(str(e)) from None
    if w <= 0:
        raise E.InvalidArgumentError(f"window: {window!r} is not a positive duration")
    return _WINDOW_SLIDING, w


def _run(kind: int, window: int, min_periods: int, spec: List[Tuple[str, int, float]],
         values: np.ndarray, times: Optional[np.ndarray], keys: Optional[np.ndarray]) -> np.ndarray:
    """One aggregator_rolling call: a (len(spec), n) float64 array."""
    n = len(values)
    opt = RollingOptions()
    lib.aggregator_rolling_options_init(opt)
    opt.window_kind = kind
    opt.window = window
    opt.min_periods = min_periods
    out = np.empty((len(spec), n), dtype=np.float64)
    outs = (RollingOutput * len(spec))()
    base = array_address(out)
    for j, (_, agg, q) in enumerate(spec):
        outs[j].aggregate = agg
        outs[j].q = q
        outs[j].out = base + j * n * 8
    st = _rolling(opt, array_address(values),
                  array_address(times) if times is not None else None,
                  array_address(keys) if keys is not None else None,
                  n, outs, len(spec))
    if st:
        _raise(st)
    return out


def _key_codes(keys: Any, n: int) -> np.ndarray:
    """uint64 ids of a key column: integers as they are, anything else
    (strings, categories, floats) as factorized codes."""
    arr = np.asarray(keys)
    if arr.ndim != 1 or len(arr) != n:
        raise E.InvalidArgumentError(f"keys: expected {n} keys (one per value), got shape {arr.shape}")
    if arr.dtype.kind in "iu":
        return np.ascontiguousarray(arr).view(np.uint64) if arr.dtype.itemsize == 8 else arr.astype(np.uint64)
    pd = _pandas()
    if pd is not None:
        codes, _ = pd.factorize(keys)
    else:  # pragma: no cover - pandas is installed in the tests
        _, codes = np.unique(arr, return_inverse=True)
    return np.ascontiguousarray(codes, dtype=np.int64).view(np.uint64)


def rolling_arrays(values: Any, window: Any, *, timestamps: Any = None, keys: Any = None,
                   aggs: Any = None, quantiles: Any = None, min_periods: Optional[int] = None,
                   time_unit: Optional[str] = None) -> Dict[str, np.ndarray]:
    """Per-row rolling aggregates of ``values`` (one output per input row, in
    input order), as a dict ``{column: float64 array}``.

    window: an int (the last N rows of the row's key) or a duration ("60s",
        pandas Timedelta, datetime.timedelta, numpy.timedelta64) over
        ``timestamps`` (datetime64 / pandas datetimes, tz-aware included, or
        integers with ``time_unit=``). Rows need not be sorted: they are
        processed in time order (stable: ties keep their input order).
    keys: optional group of each row (integers are ids as they are; strings
        and other values are factorized). None: one group.
    aggs: names among count, sum, mean, min, max, var, std, median and
        'p<percent>' ('p99'); default count, mean, std, min, max.
    quantiles: extra quantiles in [0, 1] (columns 'p<percent>').
    min_periods: default as pandas (rows: window; time: 1).
    """
    spec = _spec(aggs, quantiles)
    v = _as_values(values, nonfinite=1)
    n = len(v)
    unit = time_unit or "ns"
    kind, w = _window(window, unit)
    t = None
    if kind == _WINDOW_SLIDING:
        if timestamps is None:
            raise E.InvalidArgumentError(
                f"window {window!r} is a duration: pass timestamps= (or an int window of rows)")
        t, _, _ = _as_timestamps(timestamps, unit, explicit=time_unit is not None)
        if len(t) != n:
            raise E.InvalidArgumentError(f"timestamps: {len(t)} for {n} values")
    k = _key_codes(keys, n) if keys is not None else None
    src = None
    if t is not None and n > 1 and (np.diff(t) < 0).any():
        src = np.argsort(t, kind="stable")  # every key's rows in time order
        v, t = v[src], t[src]
        k = k[src] if k is not None else None
    out = _run(kind, w, _min_periods(min_periods), spec, v, t, k)
    if src is not None:
        back = np.empty_like(out)
        back[:, src] = out
        out = back
    return {name: out[j] for j, (name, _, _) in enumerate(spec)}


def _stable_argsort(codes: np.ndarray) -> np.ndarray:
    """Stable argsort of group codes (>= 0): NumPy radix-sorts 16-bit integers
    in O(n), so codes of fewer than 65536 groups are sorted as uint16."""
    if len(codes) and codes.max() < 2**16:
        return np.argsort(codes.astype(np.uint16), kind="stable")
    return np.argsort(codes, kind="stable")


def _columns(df: Any, names: Any, what: str) -> List[Any]:
    if names is None:
        return []
    cols = list(names) if isinstance(names, (list, tuple)) else [names]
    for c in cols:
        if c not in df.columns:
            raise E.InvalidArgumentError(f"{what}: the frame has no column {c!r}")
    return cols


def rolling(df: Any, window: Any, *, by: Any = None, on: Any = None, values: Any = None,
            aggs: Any = None, quantiles: Any = None, min_periods: Optional[int] = None,
            time_unit: Optional[str] = None, order: str = "group") -> Any:
    """pandas' ``df.groupby(by).rolling(window, on=on)[values].agg(aggs)``,
    computed natively: one output row per input row.

    window: an int (the last N rows of the group; ``min_periods`` defaults to
        N) or a duration ("60s", "1.5s", "1m30s", a pandas Timedelta, ...)
        over the ``on`` column or the DatetimeIndex (window ``(t - w, t]``;
        ``min_periods`` defaults to 1). Datetime columns may be tz-aware;
        integer times need ``time_unit=`` ('s', 'ms', 'us', 'ns').
    by: a column name or a list of them (None: the whole frame is one
        group). Rows whose key is missing (NaN/None) are left out, as
        pandas' groupby does (NaN in ``order="input"``).
    values: a column name (flat result columns) or a list (columns
        ``(value, aggregate)``); default every numeric column not in by/on.
    aggs, quantiles: as :func:`rolling_arrays` (quantiles are exact, pandas'
        'linear' interpolation).
    order: "group" (default) returns pandas' layout: index
        ``(by..., on)`` when ``on`` is given, else ``(by..., frame index)``,
        rows grouped by key (keys sorted), each group's rows in input order
        (in time order if they were not sorted: pandas refuses those);
        "input" returns the rows in input order, with the frame's index.

    NaN and +-Inf values are skipped as pandas does; ``count`` counts
    non-NaN values. All values are float64.
    """
    pd = _pandas()
    if pd is None:  # pragma: no cover
        raise E.InputTypeError("windowagg.rolling needs pandas (or use rolling_arrays)")
    if isinstance(df, pd.Series):  # its values, flat columns (by/on: its index only)
        df = df.to_frame()
        if values is None:
            values = df.columns[0]
    if not isinstance(df, pd.DataFrame):
        raise E.InputTypeError(f"rolling takes a pandas DataFrame, got {type(df).__name__}")
    if order not in ("group", "input"):
        raise E.InvalidArgumentError(f"order: {order!r} is not 'group' or 'input'")
    spec = _spec(aggs, quantiles)
    by_cols = _columns(df, by, "by")
    on_cols = _columns(df, on, "on")
    flat = values is not None and not isinstance(values, (list, tuple))
    if values is None:
        skip = set(by_cols) | set(on_cols)
        value_cols = [c for c in df.columns if c not in skip and df[c].dtype.kind in "fiub"]
        if not value_cols:
            raise E.InvalidArgumentError("values: the frame has no numeric column to roll")
    else:
        value_cols = _columns(df, values, "values")
    n = len(df)
    unit = time_unit or "ns"
    kind, w = _window(window, unit)
    t = None
    second = df.index
    if on_cols:
        second = pd.Index(df[on_cols[0]])
    if kind == _WINDOW_SLIDING:
        if on_cols:
            tcol, tname = df[on_cols[0]], f"on column {on_cols[0]!r}"
        elif isinstance(df.index, pd.DatetimeIndex):
            tcol, tname = df.index, "the DatetimeIndex"
        else:
            raise E.InvalidArgumentError(
                f"window {window!r} is a duration: it needs times, on='column' (datetimes, or "
                "integers with time_unit=) or a DatetimeIndex; an int window counts rows")
        try:
            t, _, _ = _as_timestamps(tcol, unit, explicit=time_unit is not None)
        except E.WindowaggError as e:
            raise type(e)(f"{tname}: {e}") from None

    codes = None
    if by_cols:
        if len(by_cols) == 1:
            # factorize in order of appearance, then renumber by sorted key
            # (cheaper than factorize(sort=True) on 10^6 rows: the sort is of
            # the distinct keys only)
            codes, uniques = pd.factorize(df[by_cols[0]], sort=False)
            if len(uniques) > 1:
                try:
                    by_rank = uniques.argsort(kind="stable")
                except TypeError:  # keys of mixed types: pandas' own order
                    codes, uniques = pd.factorize(df[by_cols[0]], sort=True)
                else:
                    uniques = uniques.take(by_rank)
                    renumber = np.empty(len(by_rank), dtype=np.int64)
                    renumber[by_rank] = np.arange(len(by_rank))
                    codes = np.where(codes >= 0, renumber[codes], -1)
        else:
            ng = df.groupby(by_cols, sort=True, dropna=True).ngroup()
            g = ng.to_numpy(dtype=np.float64, na_value=np.nan)  # dropped keys: NaN or -1
            codes = np.where(np.isnan(g), -1, g).astype(np.int64)
        codes = np.asarray(codes, dtype=np.int64)
    # src: the input rows in the order they are processed (and, for
    # order="group", returned); None = all rows in input order.
    src: Optional[np.ndarray] = None
    if codes is not None:
        valid = codes >= 0
        rows = None if valid.all() else np.flatnonzero(valid)
        c = codes if rows is None else codes[rows]
        perm = _stable_argsort(c)
        if t is not None:
            tv = t if rows is None else t[rows]
            tp, cp = tv[perm], c[perm]
            if ((np.diff(tp) < 0) & (cp[1:] == cp[:-1])).any():
                perm = np.lexsort((tv, c))
        src = perm if rows is None else rows[perm]
    elif t is not None and n > 1 and (np.diff(t) < 0).any():
        src = np.argsort(t, kind="stable")
    keys = codes[src].view(np.uint64) if codes is not None else None
    tt = t[src] if (t is not None and src is not None) else t
    outs = []
    for col in value_cols:
        v = _as_values(df[col].to_numpy(dtype=np.float64, na_value=np.nan), nonfinite=1)
        outs.append(_run(kind, w, _min_periods(min_periods), spec,
                         v[src] if src is not None else v, tt, keys))
    names = [s[0] for s in spec]
    if flat:
        columns: Any = pd.Index(names)
    else:
        columns = pd.MultiIndex.from_tuples([(c, a) for c in value_cols for a in names])
    data = np.concatenate(outs, axis=0) if len(outs) > 1 else outs[0]
    if order == "group" and by_cols:
        assert src is not None
        lv2 = second.take(src)
        if len(by_cols) == 1:
            # Levels and codes directly: the keys are factorized already, and
            # the row level needs no sorted factorization (pandas' from_arrays
            # would sort 10^6 timestamps).
            c2, u2 = pd.factorize(lv2)
            index = pd.MultiIndex(levels=[uniques, u2], codes=[codes[src], c2],
                                  names=by_cols + [second.name], verify_integrity=False)
        else:
            levels = [df[b].to_numpy()[src] for b in by_cols]
            index = pd.MultiIndex.from_arrays(levels + [lv2], names=by_cols + [second.name])
        return pd.DataFrame(data.T, index=index, columns=columns, copy=False)
    if src is not None:
        full = np.full((data.shape[0], n), np.nan)
        full[:, src] = data
        data = full
    return pd.DataFrame(data.T, index=df.index, columns=columns, copy=False)
