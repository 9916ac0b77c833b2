"""The :class:`Aggregator` class: a Pythonic handle over the windowagg C ABI."""

from __future__ import annotations

import ctypes
import datetime as _dt
import re
import struct
import threading as _threading
import warnings as _warnings
from time import sleep as _sleep
from ctypes import byref, c_size_t, c_uint64, c_void_p
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterable,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
    overload,
)

import numpy as np
import numpy.typing as npt

from . import _errors as E
from ._lib import (
    FAST_POINTER,
    EX_FIELDS,
    KEY_STATS_EX_DTYPE,
    STATS_FIELDS,
    Config,
    Cursor,
    Stats,
    array_address,
    last_error,
    lib,
)
from ._lib import _DATA_OFFSET, _read_ptr
from ._compat import _new_count, _stats_ex

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "Aggregator",
    "WindowStats",
    "version",
    "version_number",
    "hash_key",
    "DEFAULT_KEY",
    "OVERFLOW_KEY",
]

DEFAULT_KEY = 0
"""The series values pushed without keys belong to."""
OVERFLOW_KEY = 0xFFFFFFFFFFFFFFFF
"""The series collecting new keys beyond ``max_keys`` under ``key_policy="overflow"``."""

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1

_F64 = np.dtype(np.float64)
_I64 = np.dtype(np.int64)
_U64 = np.dtype(np.uint64)
_U32 = np.dtype(np.uint32)
_ndarray = np.ndarray

# Prebound entry points (module globals: no attribute lookup on the hot path).
_push = lib.aggregator_push
_push_named = lib.aggregator_push_named
_process_batch = lib.aggregator_process_batch
_free = lib.aggregator_free
_key_hash = lib.aggregator_key_hash
_get_stats = lib.aggregator_get_stats
_get_key_stats = lib.aggregator_get_key_stats

KeyLike = Union[int, str, bytes]
Duration = Union[int, str, _dt.timedelta, np.timedelta64]

_WINDOWS = {"count": 0, "sliding": 1, "tumbling": 2, "hopping": 3}
_NONFINITE = {"reject": 0, "skip": 1}
_KEY_POLICIES = {"reject": 0, "evict_lru": 1, "overflow": 2}
_THREADING = {"shared": 0, "single": 1}
_UNITS = {
    "ns": "ns", "us": "us", "µs": "us", "ms": "ms", "s": "s", "sec": "s",
    "m": "m", "min": "m", "h": "h", "hour": "h", "d": "D", "D": "D", "day": "D",
}
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([a-zA-Zµ]+)\s*$")
# polars' calendar units (not fixed durations) and its index-count unit
_CALENDAR_RE = re.compile(r"^\s*\d+\s*(mo|q|y|i)\s*$|\d(mo|q|y|i)(\d|$)")
_CLOCKS = ("event", "arrival")


def _pandas() -> Any:
    """The pandas module, or None when it is not installed (it is optional)."""
    try:
        import pandas
    except ImportError:  # pragma: no cover - pandas is installed in the tests
        return None
    return pandas


def _raise(status: int) -> None:
    raise E.error_for_status(status, last_error())


class WindowStats(NamedTuple):
    """Stats of one window (``aggregator_stats``).

    ``variance`` is the sample variance (divisor n-1, like pandas' default
    ``ddof=1``; NaN when ``count < 2``); an empty window has ``count == 0``,
    ``sum == 0`` and NaN elsewhere. ``watermark`` is ``None`` while the handle
    has seen no data (``INT64_MIN`` in the C struct); for count windows it is
    the arrival number of the next value.
    """

    count: int  # type: ignore[assignment]  # (shadows tuple.count, like the C field)
    sum: float
    mean: float
    min: float
    max: float
    variance: float
    stddev: float
    window_start: int
    window_end: int
    late: int
    rejected: int
    total: int
    watermark: Optional[int]


_STATS_STRUCT = struct.Struct("=Q6d2q3Qq")  # aggregator_stats, native layout
assert _STATS_STRUCT.size == ctypes.sizeof(Stats)
_new_tuple = tuple.__new__


def _to_window_stats(s: Stats) -> WindowStats:
    t = _STATS_STRUCT.unpack_from(s)
    if t[12] == _INT64_MIN:
        t = t[:12] + (None,)
    return _new_tuple(WindowStats, t)


# ------------------------------------------------------------ conversions ---
#
# Rules (docs/bad-input.md, README "What push accepts"): an input is passed on
# unchanged, converted exactly, or refused with an error naming the argument
# and the index. In particular: masked entries of a numpy.ma array are missing
# values (values: treated like NaN under the nonfinite policy; timestamps and
# keys: refused); strings are never parsed as numbers; datetime64 values that
# do not fit the handle's time unit as int64 are refused; a batch mixes no
# integer ids with str/bytes names.

_NAME_TYPES = (str, bytes, bytearray, memoryview, np.str_, np.bytes_)
_BOOL_TYPES = (bool, np.bool_)
# Length of each linear datetime64/timedelta64 unit, in attoseconds.
_ATTOSECONDS = {
    "as": 1, "fs": 10**3, "ps": 10**6, "ns": 10**9, "us": 10**12, "ms": 10**15,
    "s": 10**18, "m": 60 * 10**18, "h": 3600 * 10**18, "D": 86400 * 10**18,
    "W": 7 * 86400 * 10**18,
}
_CALENDAR_LIMIT = 1 << 40  # |years| or |months| converted through days


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _unmask(obj: Any, what: str) -> Tuple[Any, Optional[np.ndarray]]:
    """(the data of a numpy.ma array, its boolean mask or None if nothing is
    masked); any other object with None."""
    if isinstance(obj, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(obj)
        data = np.ma.getdata(obj)
        return data, (mask.ravel() if mask.any() else None)
    return obj, None


def _first(flags: np.ndarray) -> int:
    return int(np.argmax(flags))


def _as_1d(obj: Any, what: str) -> np.ndarray:
    if isinstance(obj, (int, float, np.number)) and not isinstance(obj, bool):
        return np.asarray([obj])
    try:
        arr = np.asarray(obj)
    except Exception as e:  # ragged lists, unconvertible objects
        raise E.InputTypeError(f"{what}: cannot convert {type(obj).__name__} to an array: {e}") from e
    if arr.ndim == 0 and arr.dtype.kind in "OUSV":  # None, a str, a generator, a dict, ...
        raise E.InputTypeError(
            f"{what} must be a 1-D array or sequence, got {type(obj).__name__}"
        )
    if arr.ndim != 1:
        raise E.InvalidArgumentError(
            f"{what} must be one-dimensional, got an array with ndim={arr.ndim} "
            f"and shape {arr.shape}"
        )
    return arr


def _check_number_objects(arr: np.ndarray, what: str) -> None:
    """Refuses an object array holding str/bytes: a string is never parsed as
    a number (numpy's float cast would). Other objects are left to the cast
    (numbers, Decimal, Fraction, None and pandas.NA as missing values)."""
    seq = arr.tolist()
    if any(issubclass(t, _NAME_TYPES) for t in set(map(type, seq))):
        i = next(j for j, x in enumerate(seq) if isinstance(x, _NAME_TYPES))
        raise E.InputTypeError(
            f"{what}[{i}] is a {type(seq[i]).__name__} ({seq[i]!r:.40}); "
            "expected a number (strings are not parsed)"
        )


def _as_values(obj: Any, nonfinite: int = 0) -> np.ndarray:
    """float64, C-contiguous, 1-D; the same object when it already is one.

    Masked entries of a numpy.ma array are missing values: refused under
    nonfinite="reject" (``NonFiniteValueError`` naming the index), NaN under
    "skip" (left out and counted in ``rejected``), like NaN and None."""
    if type(obj) is _ndarray and obj.dtype is _F64 and obj.ndim == 1 and obj.flags.c_contiguous:
        return obj
    obj, mask = _unmask(obj, "values")
    arr = _as_1d(obj, "values")
    kind = arr.dtype.kind
    if kind in "fiub":
        out = np.ascontiguousarray(arr, dtype=_F64)
    elif kind == "O":
        _check_number_objects(arr, "values")
        try:
            out = np.ascontiguousarray(arr.astype(_F64))
        except (TypeError, ValueError) as e:
            raise E.InputTypeError(f"values: cannot convert object array to float64: {e}") from e
    else:
        raise E.InputTypeError(
            f"values must be numbers convertible to float64, got dtype {arr.dtype}"
        )
    if mask is not None:
        if nonfinite == 0:
            raise E.NonFiniteValueError(
                f"values[{_first(mask)}] is masked: a masked entry is a missing value, "
                "refused like NaN under nonfinite=\"reject\"; nothing from this batch was applied",
                E.EVALUE,
            )
        # (a new array: the caller's data stays as it is)
        out = np.where(mask, np.nan, out)  # skipped and counted like NaN under "skip"
    return out


class _Unfit(Exception):
    """_rescale: the value at ``index`` overflows int64 (``whole`` False) or is
    not a whole number of the unit (``whole`` True)."""

    def __init__(self, index: int, whole: bool = False) -> None:
        super().__init__(index, whole)
        self.index = index
        self.whole = whole


def _rescale(ints: np.ndarray, src: Tuple[str, int], unit: str, exact: bool) -> np.ndarray:
    """int64 counts of ``src`` (unit, multiplier; no NaT) as int64 counts of
    ``unit``: exact when ``unit`` is the same or finer, floored when it is
    coarser (or refused if ``exact``). Raises _Unfit where the result would
    overflow int64 (numpy's own datetime/timedelta casts wrap around silently,
    also when flooring near INT64_MIN)."""
    base, count = src
    if base in ("Y", "M"):  # calendar units: through days (numpy's calendar)
        big = np.abs(ints) > _CALENDAR_LIMIT
        if big.any():
            raise _Unfit(_first(big))
        days = ints.astype(f"datetime64[{count}{base}]").astype("datetime64[D]").view(_I64)
        return _rescale(days, ("D", 1), unit, exact)
    if base not in _ATTOSECONDS:
        raise E.InputTypeError(f"datetime64/timedelta64 unit {base!r} is not supported")
    fs, ft = _ATTOSECONDS[base] * count, _ATTOSECONDS[unit]
    if fs % ft == 0:  # same or finer unit: multiply, refusing overflow
        r = fs // ft
        if r == 1:
            return ints
        hi = _INT64_MAX // r  # |x * r| <= INT64_MAX (INT64_MIN is NaT)
        bad = (ints > hi) | (ints < -hi)
        if bad.any():
            raise _Unfit(_first(bad))
        return ints * r
    if ft % fs == 0:  # coarser unit: floor division (never overflows)
        r = ft // fs
        if exact:
            rem = ints % r != 0
            if rem.any():
                raise _Unfit(_first(rem), whole=True)
        return np.floor_divide(ints, r)
    # a multiplier unit such as datetime64[7s] to minutes: exact integers
    big = [int(x) * fs for x in ints.tolist()]
    out = []
    for i, b in enumerate(big):
        if exact and b % ft:
            raise _Unfit(i, whole=True)
        v = b // ft
        if not -_INT64_MAX <= v <= _INT64_MAX:
            raise _Unfit(i)
        out.append(v)
    return np.array(out, dtype=_I64)


def _datetimes(arr: np.ndarray, unit: str, what: str) -> np.ndarray:
    """A datetime64 array as int64 counts of ``unit`` since the epoch (floored
    to the unit): NaT and values out of the int64 range of ``unit`` refused,
    naming the index."""
    ints = arr.view(_I64)
    nat = ints == _INT64_MIN
    if nat.any():
        raise E.InvalidArgumentError(f"{what}: NaT at index {_first(nat)}")
    src = np.datetime_data(arr.dtype)
    if src[0] == "generic":
        if len(arr):
            raise E.InputTypeError(f"{what}: datetime64 without a unit")
        return np.empty(0, dtype=_I64)
    try:
        return np.ascontiguousarray(_rescale(ints, src, unit, False))
    except _Unfit as e:
        lo, hi = np.datetime64(-_INT64_MAX, unit), np.datetime64(_INT64_MAX, unit)
        raise E.InvalidArgumentError(
            f"{what}: {arr[e.index]} at index {e.index} does not fit time_unit {unit!r} "
            f"as int64 (the range is {lo} .. {hi})"
        ) from None


def _ints(seq: List[Any], what: str, lo: int, hi: int, dtype: np.dtype) -> np.ndarray:
    """Python/numpy integers as an array of ``dtype``: anything else, and
    integers outside [lo, hi], refused naming the index."""
    for i, x in enumerate(seq):
        if not _is_int(x):
            raise E.InputTypeError(
                f"{what}[{i}] is a {type(x).__name__} ({x!r:.40}); expected an integer"
            )
        if not lo <= x <= hi:
            raise E.InvalidArgumentError(
                f"{what}[{i}] = {x} is out of range [{lo}, {hi}]"
            )
    return np.array(seq, dtype=dtype)


_NO_UNIT = (
    "integer timestamps need a unit: create the Aggregator with time_unit='s' "
    "(or 'ms', 'us', 'ns', ...) to say what the integers count, or push datetime64 "
    "values / pandas datetimes (which carry their unit)"
)


def _tz_of(obj: Any) -> Any:
    """The timezone of a pandas (or polars) timezone-aware datetime column, else None."""
    dt = getattr(obj, "dtype", None)
    tz = getattr(dt, "tz", None)
    if tz is None:
        tz = getattr(dt, "time_zone", None)  # polars Datetime
    return tz


def _datetime_objects(seq: List[Any]) -> Tuple[np.ndarray, Any]:
    """datetime.datetime objects (pandas Timestamps included; aware ones as
    their UTC instants) as datetime64, and the timezone of the first aware one."""
    tz = next((x.tzinfo for x in seq if x.tzinfo is not None), None)
    pd = _pandas()
    if pd is not None:
        try:
            idx = pd.to_datetime(seq, utc=True)
        except (ValueError, TypeError, OverflowError) as e:
            raise E.InvalidArgumentError(f"timestamps: {e}") from None
        return idx.tz_convert(None).to_numpy(), tz
    naive = [x.astimezone(_dt.timezone.utc).replace(tzinfo=None) if x.tzinfo else x for x in seq]
    return np.array(naive, dtype="datetime64[us]"), tz


def _as_timestamps(obj: Any, unit: str, explicit: bool = True) -> Tuple[np.ndarray, bool, Any]:
    """(int64 C-contiguous 1-D counts of ``unit``, whether the input was
    datetime-like, its timezone or None). Integers are refused unless the
    unit was chosen explicitly (``explicit``)."""
    if type(obj) is _ndarray and obj.dtype is _I64 and obj.ndim == 1 and obj.flags.c_contiguous:
        if not explicit and obj.size:
            raise E.InputTypeError(_NO_UNIT)
        return obj, False, None
    obj, mask = _unmask(obj, "timestamps")
    if mask is not None:
        raise E.InvalidArgumentError(
            f"timestamps: masked entry at index {_first(mask)} (a timestamp cannot be missing)"
        )
    tz = _tz_of(obj)
    if tz is not None:
        if hasattr(obj, "dt") and hasattr(obj.dt, "tz_convert"):  # pandas Series
            obj = obj.dt.tz_convert(None).to_numpy()
        elif hasattr(obj, "tz_convert"):  # pandas DatetimeIndex / DatetimeArray
            obj = obj.tz_convert(None).to_numpy()
        elif hasattr(obj, "dt") and hasattr(obj.dt, "convert_time_zone"):  # polars
            obj = obj.dt.convert_time_zone("UTC").dt.replace_time_zone(None).to_numpy()
    arr = _as_1d(obj, "timestamps")
    kind = arr.dtype.kind
    if arr.size == 0 and kind in "fO":  # an empty list
        return np.empty(0, dtype=_I64), False, None
    if kind == "O":
        seq = arr.tolist()
        if seq and all(isinstance(x, _dt.datetime) for x in seq):
            arr, tz = _datetime_objects(seq)
            kind = "M"
    if kind == "M":
        return _datetimes(arr, unit, "timestamps"), True, tz
    if kind in "iu" and not explicit and arr.size:
        raise E.InputTypeError(_NO_UNIT)
    if kind == "i":
        return np.ascontiguousarray(arr, dtype=_I64), False, None
    if kind == "u":
        if arr.size and arr.max() > _INT64_MAX:
            raise E.InvalidArgumentError(
                f"timestamps: value at index {int(np.argmax(arr > _INT64_MAX))} exceeds int64"
            )
        return np.ascontiguousarray(arr, dtype=_I64), False, None
    if kind == "O" or (kind == "f" and isinstance(obj, (list, tuple))
                       and all(map(_is_int, obj))):  # [-1, 2**63] becomes float64
        seq = arr.tolist() if kind == "O" else list(obj)
        out = _ints(seq, "timestamps", _INT64_MIN, _INT64_MAX, _I64)
        if not explicit:
            raise E.InputTypeError(_NO_UNIT)
        return out, False, None
    raise E.InputTypeError(
        f"timestamps must be datetime64 / pandas datetimes, or integers with time_unit=, "
        f"got dtype {arr.dtype}"
    )


def _encode_name(k: Any, i: int = 0) -> bytes:
    if isinstance(k, str):
        try:
            return k.encode("utf-8")
        except UnicodeEncodeError as e:
            raise E.InvalidArgumentError(f"keys[{i}]: a name that is not valid Unicode: {e}") from None
    if isinstance(k, (bytes, bytearray, memoryview)):
        return bytes(k)
    raise E.InputTypeError(
        f"keys: a sequence of names must hold only str or bytes, got {type(k).__name__} at index {i}"
    )


def _key_kinds(seq: Sequence[Any]) -> Optional[str]:
    """"names" when every element is a str/bytes name, "ids" when every one is
    an integer, None otherwise (numpy then decides, refusing floats etc.).
    Refuses a mix of names and integers (numpy would turn 3 into the name "3")."""
    types = set(map(type, seq))
    names = ids = other = False
    for t in types:
        if issubclass(t, _NAME_TYPES):
            names = True
        elif issubclass(t, (int, np.integer)) and not issubclass(t, _BOOL_TYPES):
            ids = True
        else:
            other = True
    if names and ids:
        i = next(j for j, x in enumerate(seq) if _is_int(x))
        k = next(j for j, x in enumerate(seq) if isinstance(x, _NAME_TYPES))
        raise E.InputTypeError(
            f"keys: a batch mixes integer ids and str/bytes names (keys[{i}] is "
            f"{type(seq[i]).__name__}, keys[{k}] is {type(seq[k]).__name__}); "
            "use one kind of key per batch"
        )
    if other or not types:
        return None
    return "names" if names else "ids"


def _pyarrow() -> Any:
    """The pyarrow module, or None when it is not installed (it is optional)."""
    try:
        import pyarrow
    except ImportError:  # pragma: no cover - pyarrow is installed in the tests
        return None
    return pyarrow


class _Names(NamedTuple):
    """Names of one batch as ``aggregator_push_named`` takes them: the bytes
    (an address, or a bytes object) and the address of ``count + 1`` uint32
    offsets into them; ``keep`` owns that memory until the call returns."""

    data: Union[int, bytes]
    offsets: int
    count: int
    keep: Any


def _packed(buf: bytes, offsets: np.ndarray) -> _Names:
    return _Names(buf, array_address(offsets), len(offsets) - 1, offsets)


def _arrow_names(arr: Any, pa: Any) -> Optional[_Names]:
    """The names of a pyarrow string/binary array (or chunked array; large,
    view and dictionary-encoded forms too) straight from its Arrow buffers:
    the data buffer as is, the offsets as they are (int32) or rebased to
    uint32 (int64). None when it is not such an array or holds nulls (the
    general path then names the offending element)."""
    types = pa.types
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    t = arr.type
    if types.is_dictionary(t):
        t = t.value_type
        arr = arr.cast(t)
    if arr.null_count:
        return None
    if getattr(types, "is_string_view", None) and (types.is_string_view(t) or types.is_binary_view(t)):
        arr = arr.cast(pa.large_binary())
        t = arr.type
    n = len(arr)
    if types.is_string(t) or types.is_binary(t):
        bufs = arr.buffers()
        offsets = np.frombuffer(bufs[1], dtype=_U32, count=n + 1, offset=arr.offset * 4) if n else np.zeros(1, _U32)
        base = 0
    elif types.is_large_string(t) or types.is_large_binary(t):
        bufs = arr.buffers()
        if not n:
            return _packed(b"", np.zeros(1, _U32))
        wide = np.frombuffer(bufs[1], dtype=_I64, count=n + 1, offset=arr.offset * 8)
        base = int(wide[0])
        if int(wide[-1]) - base > 0xFFFFFFFF:
            raise E.InvalidArgumentError("keys: the names of one batch exceed 4 GiB; split the batch")
        offsets = (wide - base).astype(_U32)
    else:
        return None
    data = bufs[2]
    if data is None or data.size == 0:  # every name empty
        return _packed(b"", np.zeros(n + 1, _U32))
    # key_offsets[0] need not be 0: a sliced array's int32 offsets pass as they are
    return _Names(data.address + base, array_address(offsets), n, (arr, data, offsets))


def _names_of_column(obj: Any) -> Optional[_Names]:
    """Names of a column of strings without a Python loop over them: pyarrow
    arrays, pandas string columns (their Arrow buffers) and object/str
    columns, polars String/Categorical/Binary Series, NumPy ``str``/``bytes``
    and object arrays, lists of str (converted by pyarrow in C). None when
    pyarrow is missing or the column is not one of these (then the general,
    per-element path converts it and names any bad element)."""
    pa = _pyarrow()
    if pa is None:
        return None
    try:
        if isinstance(obj, (pa.Array, pa.ChunkedArray)):
            return _arrow_names(obj, pa)
        mod = type(obj).__module__
        if mod.startswith("polars"):
            if obj.dtype.is_numeric() or obj.dtype.is_temporal():
                return None
            return _arrow_names(obj.to_arrow(), pa)
        if mod.startswith("pandas"):
            dt = getattr(obj, "dtype", None)
            if dt is None or (isinstance(dt, np.dtype) and dt.kind != "O"):
                return None
            # string extension arrays hand over their Arrow buffers (no copy
            # when pyarrow-backed); categoricals become dictionary arrays;
            # object columns are converted by pyarrow in C
            ea = getattr(obj, "array", obj)
            if hasattr(ea, "__arrow_array__"):
                return _arrow_names(ea.__arrow_array__(), pa)
            if isinstance(dt, np.dtype):
                return _arrow_names(pa.array(np.asarray(obj), from_pandas=False), pa)
            return _arrow_names(pa.array(obj), pa)
        if isinstance(obj, np.ndarray):
            if obj.ndim != 1 or obj.dtype.kind not in "USO":
                return None
            return _arrow_names(pa.array(obj), pa)
        if isinstance(obj, (list, tuple)):
            return _arrow_names(pa.array(obj), pa)
    except (pa.ArrowException, TypeError, ValueError, UnicodeError, OverflowError):
        return None  # mixed kinds, surrogates, ...: the general path says which element
    return None


def _as_keys(obj: Any, n: int) -> Tuple[Optional[np.ndarray], Optional[_Names]]:
    """(uint64 ids, None) or (None, the names packed for aggregator_push_named)."""
    if type(obj) is _ndarray and obj.dtype is _U64 and obj.ndim == 1 and obj.flags.c_contiguous:
        return obj, None
    # one key for the whole batch
    if isinstance(obj, (str, bytes)):
        name = _encode_name(obj) if isinstance(obj, str) else obj
        if n * len(name) > 0xFFFFFFFF:
            raise E.InvalidArgumentError("keys: the names of one batch exceed 4 GiB; split the batch")
        return None, _packed(name * n, (np.arange(n + 1, dtype=np.int64) * len(name)).astype(_U32))
    if _is_int(obj):
        return np.full(n, _key_id(obj), dtype=_U64), None
    fast = _names_of_column(obj)
    if fast is not None:
        return None, fast
    obj, mask = _unmask(obj, "keys")
    if mask is not None:
        raise E.InvalidArgumentError(
            f"keys: masked entry at index {_first(mask)} (a key cannot be missing)"
        )
    names: Optional[Sequence[Any]] = None
    arr = None
    if isinstance(obj, (list, tuple)):
        kinds = _key_kinds(obj)
        if kinds == "names":
            names = obj
        elif kinds == "ids":
            arr = np.asarray(obj)
            if arr.dtype.kind not in "iu":  # beyond int64/uint64: numpy chose float/object
                return _ints(list(obj), "keys", 0, _UINT64_MAX, _U64), None
    if names is None:
        if arr is None:
            arr = _as_1d(obj, "keys")
        kind = arr.dtype.kind
        if kind == "u":
            return np.ascontiguousarray(arr, dtype=_U64), None
        if kind == "i":
            if arr.size and arr.min() < 0:
                raise E.InvalidArgumentError(
                    f"keys: negative key at index {int(np.argmax(arr < 0))}; keys are uint64"
                )
            return np.ascontiguousarray(arr, dtype=_U64), None
        if kind in "US":
            names = arr.tolist()
        elif kind == "O":
            seq = arr.tolist()
            if _key_kinds(seq) == "ids":
                return _ints(seq, "keys", 0, _UINT64_MAX, _U64), None
            names = seq
        elif arr.size == 0:  # an empty list
            return np.empty(0, dtype=_U64), None
        else:
            raise E.InputTypeError(
                f"keys must be unsigned integers or str/bytes names, got dtype {arr.dtype}"
            )
    encoded = [_encode_name(k, i) for i, k in enumerate(names)]
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] > 0xFFFFFFFF:
        raise E.InvalidArgumentError("keys: the names of one batch exceed 4 GiB; split the batch")
    return None, _packed(b"".join(encoded), offsets.astype(_U32))


def _key_id(key: Any) -> int:
    """The series id of ``key``: an int as is, a str/bytes name hashed."""
    if _is_int(key):
        k = int(key)
        if not 0 <= k <= _UINT64_MAX:
            raise E.InvalidArgumentError(f"key {k} is out of the uint64 range")
        return k
    if isinstance(key, (str, bytes, bytearray, memoryview)):
        return hash_key(key)
    raise E.InputTypeError(f"a key is an int (uint64 id) or a str/bytes name, got {type(key).__name__}")


def _as_qs(qs: Any) -> np.ndarray:
    qs, mask = _unmask(qs, "quantiles")
    if mask is not None:
        raise E.InvalidArgumentError(f"quantiles: masked entry at index {_first(mask)}")
    if isinstance(qs, (int, float, np.number)) and not isinstance(qs, (bool, np.bool_)):
        arr = np.asarray([qs])
    else:
        try:
            arr = np.asarray(qs)
        except Exception as e:
            raise E.InputTypeError(f"quantiles: cannot convert {type(qs).__name__} to an array: {e}") from e
        if arr.ndim == 0:
            raise E.InputTypeError(
                f"quantiles must be a number or a 1-D sequence of numbers, got {type(qs).__name__}"
            )
    if arr.ndim != 1:
        raise E.InvalidArgumentError(f"quantiles must be a 1-D sequence, got shape {arr.shape}")
    if arr.dtype.kind == "O":
        _check_number_objects(arr, "quantiles")
        if any(x is None for x in arr.tolist()):
            raise E.InputTypeError("quantiles: None is not a quantile (expected numbers in [0, 1])")
    elif arr.dtype.kind not in "fiu" and arr.size:
        raise E.InputTypeError(f"quantiles must be numbers in [0, 1], got dtype {arr.dtype}")
    try:
        return np.ascontiguousarray(arr, dtype=_F64)
    except (TypeError, ValueError) as e:
        raise E.InputTypeError(f"quantiles: cannot convert to float64: {e}") from e


def _page(page: Any, what: str = "page") -> int:
    if not _is_int(page) or page < 1:
        raise E.InvalidArgumentError(f"{what} must be an integer >= 1, got {page!r}")
    return int(page)


def _as_blob(data: Any, what: str) -> np.ndarray:
    """Serialized state as a uint8 array without a copy (bytes-like objects only)."""
    if isinstance(data, str):
        raise E.InputTypeError(f"{what}: serialized state is a bytes-like object, got str")
    try:
        return np.frombuffer(data, dtype=np.uint8)
    except (TypeError, ValueError, BufferError) as e:
        raise E.InputTypeError(f"{what}: cannot read serialized state from {type(data).__name__}: {e}") from e


def _merge_into(src: int, dst: int) -> int:
    return lib.aggregator_merge(dst, src)  # type: ignore[no-any-return]


def _q_column(q: float) -> str:
    return "q" + format(float(q), "g")


def _p_column(q: float) -> str:
    """The frame column of quantile q: 0.5 -> "p50", 0.99 -> "p99", 0.999 -> "p99.9"."""
    return "p" + format(round(float(q) * 100, 10), "g")


# frame columns: the pandas names, the NumPy dict's field
_FRAME_FIELDS = {
    "count": "count", "sum": "sum", "mean": "mean", "min": "min", "max": "max",
    "var": "variance", "variance": "variance", "std": "stddev", "stddev": "stddev",
    "window_start": "window_start", "window_end": "window_end", "late": "late",
    "rejected": "rejected", "total": "total", "watermark": "watermark",
}
DEFAULT_AGGS = ("count", "mean", "std", "min", "max")
_ALL_AGGS = ("count", "sum", "mean", "min", "max", "var", "std", "window_start", "window_end",
             "late", "rejected", "total", "watermark")
_P_RE = re.compile(r"^p(\d+(?:\.\d*)?)$")


def _frame_spec(aggs: Any, quantiles: Any, windowed: bool) -> Tuple[List[Tuple[str, str]], Optional[List[float]]]:
    """([(column, dict field)], the quantiles to read) of a frame request."""
    if aggs is None:
        names: List[str] = list(DEFAULT_AGGS)
    elif isinstance(aggs, str):
        names = list(_ALL_AGGS) if aggs == "all" else [aggs]
    else:
        names = list(aggs)
    if windowed and aggs == "all":
        names.remove("window_start")  # an index level
    fields: List[Tuple[str, str]] = []
    qs: List[float] = []
    for a in names:
        if not isinstance(a, str):
            raise E.InvalidArgumentError(f"aggs: expected column names, got {a!r}")
        m = _P_RE.match(a)
        if m:
            qv = float(m.group(1)) / 100
            if not 0 <= qv <= 1:
                raise E.InvalidArgumentError(f"aggs: {a!r} is not a percentile in p0..p100")
            qs.append(qv)
            continue
        if a not in _FRAME_FIELDS:
            raise E.InvalidArgumentError(
                f"aggs: unknown column {a!r}; choose from {', '.join(_ALL_AGGS)}, "
                "'p<percent>' (e.g. 'p99', 'p99.9') or 'all'"
            )
        fields.append((a, _FRAME_FIELDS[a]))
    if quantiles is not None:
        qs.extend(float(x) for x in _as_qs(quantiles))
    seen = set()
    uq = [x for x in qs if not (x in seen or seen.add(x))]  # type: ignore[func-returns-value]
    for x in uq:
        fields.append((_p_column(x), _q_column(x)))
    return fields, (uq or None)


# ------------------------------------------------------------ module funcs ---


def version() -> str:
    """Version string of the loaded library (``aggregator_version``)."""
    return lib.aggregator_version().decode()


def version_number() -> int:
    """``WINDOWAGG_VERSION_NUMBER`` of the loaded library (major*10000 + minor*100 + patch)."""
    return int(lib.aggregator_version_number())


def hash_key(name: Union[str, bytes, bytearray, memoryview]) -> int:
    """The stable 64-bit series id of a name: XXH3_64bits, seed 0, of its bytes
    (UTF-8 for ``str``). The same id every binding and process computes."""
    if isinstance(name, str):
        b = name.encode("utf-8")
    elif isinstance(name, bytes):
        b = name
    elif isinstance(name, (bytearray, memoryview)):
        b = bytes(name)
    else:
        raise E.InputTypeError(f"hash_key takes str or bytes, got {type(name).__name__}")
    return int(_key_hash(b, len(b)))


# ------------------------------------------------------------------ config ---


def _parse_duration(value: str, field: str) -> np.timedelta64:
    """A duration string, parsed by pandas' ``Timedelta`` ("60s", "1.5s",
    "1m30s", "5min", "1h", "1D", "1w", "250ms", "1 days 02:00:00", ...; polars'
    "1d"/"1w" forms included). Without pandas only "<integer><unit>"."""
    if _CALENDAR_RE.search(value.strip()):
        raise E.ConfigError(
            f"{field}: {value!r} is a calendar duration (months, quarters, years) or an "
            "index count, not a fixed length of time; give a fixed duration such as '30D'"
        )
    pd = _pandas()
    if pd is None:
        m = _DURATION_RE.match(value)
        if not m or m.group(2) not in _UNITS:
            raise E.ConfigError(
                f"{field}: cannot parse duration {value!r} without pandas (only "
                "'<integer><unit>' such as '60s', '5min', '250ms', '1h'); install pandas "
                "for the full grammar ('1.5s', '1m30s', '1w'), or pass a "
                "datetime.timedelta / numpy.timedelta64"
            )
        count = int(m.group(1))
        if count > _INT64_MAX:
            raise E.ConfigError(f"{field}: {value!r} does not fit int64")
        return np.timedelta64(count, _UNITS[m.group(2)])  # type: ignore[call-overload]
    try:
        with _warnings.catch_warnings():  # pandas deprecates the lower-case 'w'/'d' polars uses
            _warnings.simplefilter("ignore")
            td = pd.Timedelta(value)
    except (ValueError, TypeError, OverflowError) as e:
        raise E.ConfigError(
            f"{field}: cannot parse duration {value!r} ({e}); use e.g. '60s', '1.5s', "
            "'1m30s', '5min', '1h', '1D', '1w'"
        ) from None
    return _timedelta_ns(td, field)


def _timedelta_ns(td: Any, field: str) -> np.timedelta64:
    """A pandas Timedelta (ns precision) as numpy.timedelta64[ns]; NaT refused."""
    if td is None or td != td:  # NaT
        raise E.ConfigError(f"{field}: NaT is not a duration")
    return np.timedelta64(int(td.value), "ns")


def _duration(value: Any, field: str, unit: str, ints: Optional[str] = None) -> int:
    """A duration in the handle's time unit. ``ints``: None when plain
    integers are taken as counts of ``unit``, else the reason they are refused."""
    if isinstance(value, bool):
        raise E.ConfigError(f"{field}: expected an integer or a duration, got bool")
    if isinstance(value, str):
        value = _parse_duration(value, field)
    elif type(value).__module__.startswith("pandas"):  # Timedelta, offsets such as Minute(5)
        pd = _pandas()
        try:
            value = _timedelta_ns(pd.Timedelta(value), field)
        except (ValueError, TypeError, OverflowError) as e:
            raise E.ConfigError(f"{field}: {value!r} is not a fixed duration ({e})") from None
    if isinstance(value, _dt.timedelta):  # exact (numpy's conversion wraps past int64 us)
        us = (value.days * 86400 + value.seconds) * 10**6 + value.microseconds
        if not -_INT64_MAX <= us <= _INT64_MAX:
            raise E.ConfigError(f"{field}: {value!r} does not fit time_unit {unit!r} as int64")
        value = np.timedelta64(us, "us")
    if isinstance(value, np.timedelta64):  # (a subclass of np.integer: test it first)
        if np.isnat(value):
            raise E.ConfigError(f"{field}: NaT is not a duration")
        src = np.datetime_data(value.dtype)
        if src[0] in ("Y", "M", "generic"):
            raise E.ConfigError(f"{field}: {value!r} is not a fixed duration")
        try:  # exact, refusing overflow (numpy's cast wraps around silently)
            return int(_rescale(np.array([value]).view(_I64), src, unit, True)[0])
        except _Unfit as e:
            if e.whole:
                raise E.ConfigError(
                    f"{field}: {value} is not a whole number of {unit!r} (choose a finer time_unit=)"
                ) from None
            raise E.ConfigError(f"{field}: {value} does not fit time_unit {unit!r} as int64") from None
    if isinstance(value, (int, np.integer)):
        if ints is not None:
            raise E.ConfigError(f"{field}={int(value)}: {ints}")
        return int(value)
    raise E.ConfigError(f"{field}: expected an integer or a duration, got {type(value).__name__}")


def _choice(value: str, table: Dict[str, int], field: str) -> int:
    try:
        return table[value]
    except (KeyError, TypeError):
        raise E.ConfigError(
            f"{field}: {value!r} is not one of {', '.join(repr(k) for k in table)}"
        ) from None


def _set_int(cfg: Config, cfield: str, value: int, field: str, lo: int, hi: int) -> None:
    if not lo <= value <= hi:
        raise E.ConfigError(f"{field}: {value} is out of range [{lo}, {hi}]")
    setattr(cfg, cfield, value)


_SCRATCH_CONFIG_BYTES = 4096  # room for a larger struct of a newer library


def _default_config() -> Config:
    scratch = ctypes.create_string_buffer(_SCRATCH_CONFIG_BYTES)
    lib.aggregator_config_init(ctypes.addressof(scratch))
    cfg = Config.from_buffer_copy(scratch.raw[: ctypes.sizeof(Config)])
    # Fields past our mirror (a newer library) keep their defaults.
    cfg.struct_size = ctypes.sizeof(Config)
    return cfg


def _reverse(table: Dict[str, int], v: int) -> Any:
    for k, x in table.items():
        if x == v:
            return k
    return v


# -------------------------------------------------------------- Aggregator ---


class Aggregator:
    """A windowed aggregator: a handle on native state outside Python's heap.

    Args:
        window: ``"count"`` (the last ``size`` values of each series),
            ``"sliding"`` (the last ``size`` of event time, at ``pane``
            granularity), ``"tumbling"`` (windows ``[k*size, (k+1)*size)``)
            or ``"hopping"`` (windows of width ``size`` every ``slide``).
        size: values (count windows, 1..2**32) or event-time width. Default: the
            library's (1024).
        slide: hopping windows: the hop ``S`` (``0 < S <= size``, divides ``size``,
            ``size / S <= 2**20``).
        pane: sliding windows: pane width (default ``size/60``; must divide ``size``).
        lateness: allowed lateness in event time (default 0).
        accuracy: the quantile sketch's relative accuracy α (1e-4..0.5).
        quantiles: keep the quantile sketch (``False`` saves memory and time;
            quantile reads then raise :class:`UnsupportedError`).
        nonfinite: ``"reject"`` (a batch holding NaN/Inf raises
            :class:`NonFiniteValueError` and is not applied) or ``"skip"``
            (such values are left out and counted in ``rejected``).
        max_keys: live series budget (``None``/0 = unlimited).
        key_policy: beyond ``max_keys``: ``"reject"`` the batch
            (:class:`KeyLimitError`), ``"evict_lru"`` the least recently
            updated series, or ``"overflow"`` into :data:`OVERFLOW_KEY`.
        key_ttl: drop a series idle this long in event time (0/None = never).
        memory_limit: bytes (``None``/0 = unlimited); a push that would exceed
            it raises :class:`MemoryLimitError` and is not applied.
        threading: ``"shared"`` (any number of concurrent calls, from any
            thread) or ``"single"`` (no locking in the library: one call at a
            time, from any thread; a call made while another thread is inside
            one raises :class:`ConcurrentUseError` and does nothing).
        max_pending_windows: how many closed windows pushes, reads and polls
            queue (default 65536). None is ever dropped: past it, closed
            windows wait in their series (counted in memory use, so
            ``memory_limit`` bounds them with :class:`MemoryLimitError`) and
            :meth:`poll_windows` closes more as it makes room.
        time_unit: the unit of integer timestamps and of durations given as
            ``timedelta``/``numpy.timedelta64``/strings (``"60s"``): one of
            ``"ns"`` (default), ``"us"``, ``"ms"``, ``"s"``, ``"m"``, ``"h"``,
            ``"D"``. ``datetime64`` timestamps are converted to it. Integers are
            taken as already in this unit.

    Durations (``size`` of time windows, ``slide``, ``pane``, ``lateness``,
    ``key_ttl``) are integers in ``time_unit``, or ``datetime.timedelta``,
    ``numpy.timedelta64`` or strings such as ``"60s"``, ``"5min"``, ``"1h"``.

    Use it as a context manager, or call :meth:`close` (safe to call twice,
    and from any thread: it waits for calls running in other threads); the
    state is also freed when the object is garbage collected.

    Raises:
        ConfigError: a bad configuration; the message names the field.
    """

    # Lifetime guard (the contract of the Go binding's RWMutex, at a cost of
    # about one list append and pop per call):
    #   _users   one entry per call running in the library on this handle. A
    #            call appends, then reads _h; close() sets _h to None, then
    #            waits until _users is empty, then frees. Under the GIL, list
    #            append/pop/len and attribute loads/stores are atomic and
    #            ordered, so either close() sees the call's entry (and waits
    #            for it) or the call sees _h is None (ClosedError), never both
    #            missed.
    #   _single  threading="single": a second concurrent call sees
    #            two entries and raises ConcurrentUseError without entering
    #            the library (which does no locking on such a handle).
    __slots__ = ("_h", "_unit", "_threading", "_nonfinite", "_close_lock", "_users",
                 "_single", "_unit_explicit", "_needs_ts", "_clock", "_tz", "_dtclock",
                 "_time_window", "__weakref__")

    def __init__(
        self,
        window: str = "count",
        size: Optional[Duration] = None,
        slide: Optional[Duration] = None,
        pane: Optional[Duration] = None,
        lateness: Optional[Duration] = None,
        accuracy: Optional[float] = 0.01,
        quantiles: bool = True,
        nonfinite: str = "skip",
        max_keys: Optional[int] = None,
        key_policy: str = "reject",
        key_ttl: Optional[Duration] = None,
        memory_limit: Optional[int] = None,
        threading: str = "shared",
        max_pending_windows: Optional[int] = None,
        time_unit: Optional[str] = None,
        clock: str = "event",
        tz: Any = None,
    ) -> None:
        self._h: Optional[int] = None
        self._close_lock = _threading.Lock()
        self._users: List[None] = []
        self._single = threading == "single"
        unit = "ns" if time_unit is None else (_UNITS.get(time_unit) if isinstance(time_unit, str) else None)
        if unit is None:
            raise E.ConfigError(f"time_unit: {time_unit!r} is not one of 'ns', 'us', 'ms', 's', 'm', 'h', 'D'")
        if clock not in _CLOCKS:
            raise E.ConfigError(f"clock: {clock!r} is not one of 'event', 'arrival'")
        self._unit = unit
        self._init_clock(window, time_unit is not None, clock, tz)
        # integer durations of a time window on the event clock need a unit
        ints = None
        if self._needs_ts and time_unit is None:
            ints = ("an integer duration needs time_unit= (e.g. time_unit='s'), or pass a "
                    "duration such as '60s', '1.5s', datetime.timedelta or numpy.timedelta64")
        cfg = _default_config()
        cfg.window_kind = _choice(window, _WINDOWS, "window")
        if size is not None:
            if window == "count":
                if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
                    raise E.ConfigError(f"size: a count window's size is a number of values, got {size!r}")
                n = int(size)
            else:
                n = _duration(size, "size", unit, ints)
            _set_int(cfg, "window_size", n, "size", _INT64_MIN, _INT64_MAX)
        for value, cfield, field in (
            (slide, "slide", "slide"),
            (pane, "pane_width", "pane"),
            (lateness, "allowed_lateness", "lateness"),
            (key_ttl, "key_ttl", "key_ttl"),
        ):
            if value is not None:
                _set_int(cfg, cfield, _duration(value, field, unit, ints), field, _INT64_MIN, _INT64_MAX)
        if accuracy is not None:
            if isinstance(accuracy, (str, bytes, bool)):
                raise E.ConfigError(f"accuracy: expected a float, got {accuracy!r}")
            try:
                cfg.relative_accuracy = float(accuracy)
            except (TypeError, ValueError):
                raise E.ConfigError(f"accuracy: expected a float, got {accuracy!r}") from None
        cfg.quantiles = 1 if quantiles else 0
        cfg.nonfinite_policy = _choice(nonfinite, _NONFINITE, "nonfinite")
        cfg.key_policy = _choice(key_policy, _KEY_POLICIES, "key_policy")
        cfg.threading = _choice(threading, _THREADING, "threading")
        for value, cfield, field in (
            (max_keys, "max_keys", "max_keys"),
            (memory_limit, "memory_limit", "memory_limit"),
            (max_pending_windows, "max_pending_windows", "max_pending_windows"),
        ):
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                    raise E.ConfigError(f"{field}: expected an integer, got {value!r}")
                _set_int(cfg, cfield, int(value), field, 0, _UINT64_MAX)
        out = c_void_p()
        st = lib.aggregator_create(byref(cfg), byref(out))
        if st:
            _raise(st)
        self._h = out.value
        self._threading = threading
        self._nonfinite = cfg.nonfinite_policy

    # ---------------------------------------------------------- lifecycle --

    def _init_clock(self, window: Any, explicit: bool, clock: str, tz: Any) -> None:
        self._unit_explicit = explicit
        self._clock = clock
        self._time_window = window in ("sliding", "tumbling", "hopping")
        self._needs_ts = self._time_window and clock == "event"
        if isinstance(tz, str):
            pd = _pandas()
            if pd is not None:
                try:
                    pd.Timestamp(0, tz=tz)
                except Exception as e:
                    raise E.ConfigError(f"tz: {tz!r} is not a known timezone ({e})") from None
        self._tz = tz
        # True: times are datetimes (datetime64/pandas timestamps pushed, or
        # tz= given); False: integers in time_unit; None: not known yet.
        self._dtclock: Optional[bool] = True if tz is not None else None

    @classmethod
    def new_count(cls, capacity: int) -> "Aggregator":
        """A count window over the last ``capacity`` values through the original
        ``aggregator_new(capacity)`` call: thread-safe, quantiles OFF (quantile
        reads raise :class:`UnsupportedError`). Go ``NewCount`` and C++
        ``Aggregator::new_count`` are the same call.

        Raises:
            ConfigError: ``capacity`` outside 1..2**32 (the library's status,
                ``aggregator_last_status()``, as in every binding).
        """
        return _new_count(cls, capacity)

    @classmethod
    def legacy(cls, capacity: int) -> "Aggregator":
        """Deprecated name of :meth:`new_count`."""
        import warnings

        warnings.warn("Aggregator.legacy is deprecated: use Aggregator.new_count",
                      DeprecationWarning, stacklevel=2)
        return _new_count(cls, capacity)

    @classmethod
    def _adopt(cls, handle: int, threading: str, unit: str, explicit: bool = True,
               clock: str = "event", tz: Any = None) -> "Aggregator":
        self = cls.__new__(cls)
        self._close_lock = _threading.Lock()
        self._users = []
        self._single = threading == "single"
        self._h = handle
        self._threading = threading
        self._unit = unit
        cfg = Config()
        cfg.struct_size = ctypes.sizeof(Config)
        st = lib.aggregator_get_config(handle, byref(cfg))
        self._nonfinite = cfg.nonfinite_policy if st == 0 else 0
        self._init_clock(_reverse(_WINDOWS, cfg.window_kind) if st == 0 else "count",
                         explicit, clock, tz)
        return self

    def close(self) -> None:
        """Frees the native state. Safe to call more than once and from any
        thread, also while other threads are inside calls on this aggregator:
        it waits until those calls have returned, and every call that starts
        afterwards raises :class:`ClosedError` (the Go binding's contract)."""
        with self._close_lock:  # a second close() waits until the first has freed
            h, self._h = self._h, None
            if not h:
                return
            users = self._users
            pause = 0.0
            while users:  # calls that entered before _h became None
                _sleep(pause)
                pause = min(pause * 2 or 1e-5, 1e-3)
            _free(h)

    def __del__(self, _free: Any = _free) -> None:
        # Runs only once no thread holds a reference, so no call can be running
        # (every method holds ``self`` for the duration of its library call).
        try:
            h = self._h
            users = self._users
        except AttributeError:  # __init__ failed before setting _h
            return
        if h:
            self._h = None
            if not users:  # (never false; leak rather than free under a call)
                _free(h)

    def __enter__(self) -> "Aggregator":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._h is None

    def _enter(self) -> int:
        """Registers a call that is about to use the handle and returns the
        handle; pair every successful ``_enter`` with ``self._users.pop()`` in
        a ``finally``. Raises ClosedError / ConcurrentUseError (registering
        nothing)."""
        users = self._users
        users.append(None)
        h = self._h
        if h is None or (self._single and len(users) > 1):
            users.pop()
            self._refuse(h)
        return h  # type: ignore[return-value]

    def _refuse(self, h: Optional[int]) -> None:
        if h is None:
            raise E.ClosedError("operation on a closed Aggregator")
        raise E.ConcurrentUseError(
            "this Aggregator was created with threading=\"single\" and another thread "
            "is inside a call on it; nothing was done (serialize the calls, or "
            "create it with threading=\"shared\")"
        )

    def _call(self, fn: Any, *args: Any) -> int:
        """``fn(handle, *args)`` under the lifetime guard; returns its status."""
        users = self._users
        users.append(None)
        h = self._h
        if h is None or (self._single and len(users) > 1):
            users.pop()
            self._refuse(h)
        try:
            return fn(h, *args)  # type: ignore[no-any-return]
        finally:
            users.pop()

    def __repr__(self) -> str:
        if self._h is None:
            return "<windowagg.Aggregator closed>"
        c = self.config
        return (
            f"<windowagg.Aggregator window={c['window']!r} size={c['size']} "
            f"keys={self.key_count()}>"
        )

    @property
    def config(self) -> Dict[str, Any]:
        """The configuration with defaults resolved (``aggregator_get_config``)."""
        cfg = Config()
        cfg.struct_size = ctypes.sizeof(Config)
        st = self._call(lib.aggregator_get_config, byref(cfg))
        if st:
            _raise(st)
        return {
            "window": _reverse(_WINDOWS, cfg.window_kind),
            "size": cfg.window_size,
            "slide": cfg.slide,
            "pane": cfg.pane_width,
            "lateness": cfg.allowed_lateness,
            "accuracy": cfg.relative_accuracy,
            "quantiles": bool(cfg.quantiles),
            "nonfinite": _reverse(_NONFINITE, cfg.nonfinite_policy),
            "max_keys": cfg.max_keys,
            "key_policy": _reverse(_KEY_POLICIES, cfg.key_policy),
            "threading": _reverse(_THREADING, cfg.threading),
            "key_ttl": cfg.key_ttl,
            "memory_limit": cfg.memory_limit,
            "max_pending_windows": cfg.max_pending_windows,
            "time_unit": self._unit if self._unit_explicit else None,
            "clock": self._clock,
            "tz": self._tz,
        }

    # ------------------------------------------------------------- pushing --

    def push(self, values: npt.ArrayLike, timestamps: Optional[npt.ArrayLike] = None,
             keys: Any = None) -> None:
        """Pushes a batch, applied whole or not at all.

        Args:
            values: 1-D numbers. A C-contiguous ``float64`` ndarray is passed
                to the library without a copy; anything else (other dtypes,
                lists, buffer-protocol objects such as ``array.array``,
                pandas Series, strided views) is converted once to a
                contiguous ``float64`` array. A Python scalar is a batch of one.
                Strings are not parsed. Missing values (None, pandas.NA,
                masked entries of a ``numpy.ma`` array) count as NaN: refused
                under ``nonfinite="reject"``, skipped under ``"skip"``.
            timestamps: optional event times, parallel to ``values``.
                C-contiguous ``int64`` is zero-copy; other integer arrays are
                converted once; ``datetime64`` arrays are converted exactly to
                the handle's ``time_unit`` (floored to a coarser unit); a value
                outside its int64 range raises, naming the index. Without timestamps the clock is
                arrival order. A handle's first non-empty push fixes whether it
                uses timestamps.
            keys: optional series keys, parallel to ``values``: unsigned
                integer ids (C-contiguous ``uint64`` is zero-copy), or a
                sequence of ``str``/``bytes`` names (packed into one buffer and
                pushed with ``aggregator_push_named``; the id of a name is
                :func:`hash_key`). A single int or str applies to the whole
                batch. One batch does not mix ids and names.

        Raises:
            NonFiniteValueError: a NaN/Inf under ``nonfinite="reject"``.
            InvalidArgumentError: ndim != 1, lengths differ, negative keys,
                mixing timestamped and untimestamped pushes, ...
            InputTypeError: an input that cannot be converted (strings as
                values, floats as timestamps, ids mixed with names, ...).
            ConcurrentUseError: another thread is inside a call on this
                ``threading="single"`` handle.
            KeyLimitError, MemoryLimitError, NoMemoryError: see the config.
            ClosedError: after :meth:`close`.
        """
        # Hot path: one float64 array, nothing else (about one ctypes call;
        # the lifetime guard of _enter inlined).
        if (timestamps is None and keys is None and type(values) is _ndarray
                and values.dtype is _F64 and values.ndim == 1 and values.flags.c_contiguous):
            if self._needs_ts and len(values):
                self._no_timestamps()
            users = self._users
            users.append(None)
            h = self._h
            if h is None or (self._single and len(users) > 1):
                users.pop()
                self._refuse(h)
            try:
                st = _push(h, _read_ptr(id(values) + _DATA_OFFSET), None, None, len(values))
            finally:
                users.pop()
            if st:
                _raise(st)
            return
        self._push_general(values, timestamps, keys)

    def _push_general(self, values: Any, timestamps: Any, keys: Any) -> None:
        if self._h is None:  # before converting (the guard below decides)
            self._refuse(None)
        v = _as_values(values, self._nonfinite)
        n = len(v)
        t = None
        dt = tz = None
        if timestamps is not None:
            t, dt, tz = _as_timestamps(timestamps, self._unit, self._unit_explicit)
            if self._clock == "arrival" and len(t):
                raise E.InvalidArgumentError(
                    "timestamps given to an Aggregator created with clock=\"arrival\" "
                    "(its clock counts arrivals); create it with clock=\"event\" to use them"
                )
            if len(t) != n:
                raise E.InvalidArgumentError(
                    f"timestamps has {len(t)} elements but values has {n}"
                )
        elif self._needs_ts and n:
            self._no_timestamps()
        ids = named = None
        if keys is not None:
            ids, named = _as_keys(keys, n)
            m = len(ids) if ids is not None else named.count  # type: ignore[union-attr]
            if m != n:
                raise E.InvalidArgumentError(f"keys has {m} elements but values has {n}")
        vp = array_address(v)
        tp = array_address(t) if t is not None else None
        if named is None:
            st = self._call(_push, vp, tp, array_address(ids) if ids is not None else None, n)
        else:
            st = self._call(_push_named, vp, tp, named.data, named.offsets, n)
        if st:
            _raise(st)
        if t is not None and len(t):
            self._saw_times(dt, tz)

    def _saw_times(self, datetimes: Any, tz: Any) -> None:
        """Remembers the kind of times pushed (the first kind wins): datetimes
        (and the first timezone seen, unless tz= was given) or integers."""
        if self._dtclock is None:
            self._dtclock = bool(datetimes)
        if datetimes and tz is not None and self._tz is None:
            self._tz = tz

    def _no_timestamps(self) -> None:
        raise E.InvalidArgumentError(
            f"push without timestamps into a {self.config['window']} window: a time window "
            "needs event times (timestamps=datetime64 values / pandas datetimes, or integers "
            "with time_unit=). To count arrivals as time instead, create the Aggregator with "
            "clock=\"arrival\""
        )

    def process_batch(self, values: npt.ArrayLike) -> float:
        """The original call: pushes ``values`` to series 0 and returns the
        mean of its window afterwards (NaN while empty).

        Unlike the C call, which signals a refused batch only by returning NaN,
        this raises the library's error when the batch was refused.
        """
        if (type(values) is _ndarray and values.dtype is _F64
                and values.ndim == 1 and values.flags.c_contiguous):
            v = values
        else:
            if self._h is None:
                self._refuse(None)
            v = _as_values(values, self._nonfinite)
        n = len(v)
        if self._needs_ts and n:
            self._no_timestamps()
        users = self._users
        users.append(None)
        h = self._h
        if h is None or (self._single and len(users) > 1):
            users.pop()
            self._refuse(h)
        try:
            r = _process_batch(h, _read_ptr(id(v) + _DATA_OFFSET) if FAST_POINTER else v.ctypes.data, n)
        finally:
            users.pop()
        if r != r and n:  # NaN: either an empty window or a refused batch
            self._check_process_batch(v)
        return r

    def _check_process_batch(self, v: np.ndarray) -> None:
        msg = last_error()
        finite = np.isfinite(v)
        if self._nonfinite == 0 and not bool(finite.all()):
            # under "reject" a batch holding NaN/Inf is always refused
            raise E.NonFiniteValueError(msg, E.EVALUE)
        s = Stats()
        st = self._call(lib.aggregator_get_key_stats, DEFAULT_KEY, byref(s))
        refused = (
            (st == 0 and s.mean == s.mean)  # the window's mean exists: NaN meant failure
            or (st == E.ENOTFOUND and bool(finite.any()))  # accepted values create series 0
        )
        if refused:
            raise E.WindowaggError(msg or "aggregator_process_batch refused the batch")

    def advance(self, watermark: Union[int, np.datetime64, _dt.datetime]) -> None:
        """Advances the watermark (no effect if not larger): closes
        tumbling/hopping windows, slides time windows, expires idle keys."""
        tz = None
        if isinstance(watermark, _dt.datetime) and watermark.tzinfo is not None:
            tz = watermark.tzinfo
            if hasattr(watermark, "tz_convert"):  # pandas Timestamp (ns precision)
                watermark = watermark.tz_convert(None)
            else:
                watermark = watermark.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        if hasattr(watermark, "to_datetime64"):  # pandas Timestamp
            watermark = watermark.to_datetime64()
        dt = isinstance(watermark, (np.datetime64, _dt.date))
        if dt:  # (datetime is a date)
            wm = int(_datetimes(np.array([np.datetime64(watermark)]), self._unit, "watermark")[0])
        elif _is_int(watermark):
            if not self._unit_explicit:
                raise E.InputTypeError(
                    f"watermark {int(watermark)}: an integer watermark needs a unit: create the "
                    "Aggregator with time_unit= (e.g. 's'), or pass a numpy.datetime64, "
                    "datetime or pandas Timestamp"
                )
            wm = int(watermark)
        else:
            raise E.InputTypeError(
                f"watermark: expected a numpy.datetime64, datetime, pandas Timestamp or an "
                f"integer in time_unit, got {type(watermark).__name__}"
            )
        if not _INT64_MIN <= wm <= _INT64_MAX:
            raise E.InvalidArgumentError(f"watermark {wm} is out of the int64 range")
        st = self._call(lib.aggregator_advance, wm)
        if st:
            _raise(st)
        self._saw_times(dt, tz)

    # ------------------------------------------------------------- reading --

    def stats(self) -> WindowStats:
        """Stats of all series' current windows merged (counters summed)."""
        s = Stats()
        st = self._call(_get_stats, s)
        if st:
            _raise(st)
        return _to_window_stats(s)

    def key_stats(self, key: KeyLike) -> WindowStats:
        """Stats of the current window of one series (an id, or a str/bytes name).

        Raises:
            KeyNotFoundError: the key has no series.
        """
        s = Stats()
        st = self._call(_get_key_stats, _key_id(key), s)
        if st:
            _raise(st)
        return _to_window_stats(s)

    def stats_ex(self) -> WindowStats:
        """:meth:`stats` through the extensible read (``aggregator_get_stats_ex``)."""
        return _stats_ex(self._call, None)

    def key_stats_ex(self, key: KeyLike) -> WindowStats:
        """:meth:`key_stats` through the extensible read
        (``aggregator_get_key_stats_ex``)."""
        return _stats_ex(self._call, _key_id(key))

    @overload
    def quantiles(self, qs: float) -> float: ...
    @overload
    def quantiles(self, qs: Iterable[float]) -> np.ndarray: ...

    def quantiles(self, qs: Any) -> Any:
        """Quantiles ``qs`` (each in [0, 1]) over all series' windows merged.

        For 0 < q < 1 the answer is within ``accuracy`` (relative) of the exact
        value of rank floor(q*(n-1)) (``numpy.quantile(..., method="lower")``);
        q = 0 and q = 1 are the exact min and max. NaN for an empty window.
        A scalar ``qs`` gives a float, a sequence a float64 array.
        """
        q = _as_qs(qs)
        out = np.empty(len(q), dtype=_F64)
        st = self._call(lib.aggregator_get_quantiles, array_address(q), len(q), array_address(out))
        if st:
            _raise(st)
        return float(out[0]) if np.ndim(qs) == 0 else out

    @overload
    def key_quantiles(self, key: KeyLike, qs: float) -> float: ...
    @overload
    def key_quantiles(self, key: KeyLike, qs: Iterable[float]) -> np.ndarray: ...

    def key_quantiles(self, key: KeyLike, qs: Any) -> Any:
        """Quantiles of one series' window (see :meth:`quantiles`)."""
        q = _as_qs(qs)
        out = np.empty(len(q), dtype=_F64)
        st = self._call(
            lib.aggregator_get_key_quantiles, _key_id(key), array_address(q), len(q), array_address(out)
        )
        if st:
            _raise(st)
        return float(out[0]) if np.ndim(qs) == 0 else out

    def _columns(self, rec: np.ndarray, q: Optional[np.ndarray], qv: Optional[np.ndarray],
                 names: bool) -> Dict[str, np.ndarray]:
        cols: Dict[str, np.ndarray] = {"key": np.ascontiguousarray(rec["key"])}
        for f in STATS_FIELDS + EX_FIELDS:
            cols[f] = np.ascontiguousarray(rec[f])
        if q is not None and qv is not None:
            for j, qq in enumerate(q):
                cols[_q_column(qq)] = np.ascontiguousarray(qv[:, j])
        if names:
            table = self.key_names()
            cols["name"] = np.array([table.get(int(k), "") for k in cols["key"]], dtype=object)
        return cols

    def all_stats(self, quantiles: Optional[Sequence[float]] = None,
                  names: bool = False, page: int = 4096) -> Dict[str, np.ndarray]:
        """Stats of every series, as a dict of equal-length NumPy arrays.

        Columns: ``key`` (uint64), the :class:`WindowStats` fields
        (``watermark`` raw: ``INT64_MIN`` while empty), one ``"q<q>"`` column
        per requested quantile (e.g. ``"q0.99"``), and ``name`` (str, empty for
        numeric keys) when ``names=True``. Rows come in the library's order.
        Pages are read through the extensible listing
        (``aggregator_list_stats_ex``), so aggregates appended to
        ``aggregator_stats_ex`` (``_lib.EX_FIELDS``) appear as columns too.
        """
        page = _page(page)
        q = _as_qs(quantiles) if quantiles is not None and len(quantiles) else None
        nq = 0 if q is None else len(q)
        cur = Cursor()
        n_out = c_size_t()
        recs: List[np.ndarray] = []
        qvs: List[np.ndarray] = []
        while not cur.done:
            rec = np.empty(page, dtype=KEY_STATS_EX_DTYPE)
            qv = np.empty((page, max(nq, 1)), dtype=_F64)
            st = self._call(
                lib.aggregator_list_stats_ex, byref(cur), array_address(rec),
                KEY_STATS_EX_DTYPE.itemsize, page,
                array_address(q) if q is not None else None, nq,
                array_address(qv) if nq else None, byref(n_out),
            )
            if st:
                _raise(st)
            k = n_out.value
            recs.append(rec[:k])
            qvs.append(qv[:k, :nq])
            if k == 0 and not cur.done:  # pragma: no cover - defensive
                raise E.InternalError("aggregator_list_stats_ex returned no entry without finishing")
        rec_all = np.concatenate(recs) if recs else np.empty(0, KEY_STATS_EX_DTYPE)
        qv_all = np.concatenate(qvs) if qvs else np.empty((0, nq))
        return self._columns(rec_all, q, qv_all, names)

    def all_stats_frame(self, quantiles: Optional[Sequence[float]] = None,
                        aggs: Any = None, sort: bool = True) -> "pd.DataFrame":
        """Stats of every series' current window as a pandas DataFrame, one row
        per series, like ``df.groupby(key).agg(...)`` (needs pandas).

        The index (named ``key``) holds each series' name, or its integer id
        for series pushed with integer keys. Columns: ``aggs`` (default
        ``count, mean, std, min, max``), then one ``p<percent>`` column per
        quantile asked for in ``quantiles`` or as ``"p99"``-style entries of
        ``aggs`` (``p50``, ``p99``, ``p99.9``). ``aggs="all"`` gives every
        field: ``count, sum, mean, min, max, var, std, window_start,
        window_end, late, rejected, total, watermark``. On a datetime clock
        (datetime64 / pandas timestamps pushed, or ``tz=`` given),
        ``window_start``/``window_end`` (time windows) and ``watermark`` are
        datetime64 in the timezone of the timestamps pushed (or ``tz=``);
        ``watermark`` is NaT/<NA> while the handle has seen no data. Rows
        are sorted by key when ``sort`` (and the keys are comparable).
        """
        fields, q = _frame_spec(aggs, quantiles, windowed=False)
        cols = self.all_stats(quantiles=q, names=False)
        return self._frame(cols, fields, q, windowed=False, sort=sort)

    def poll_windows_frame(self, max_windows: Optional[int] = None,
                           quantiles: Optional[Sequence[float]] = None,
                           aggs: Any = None, sort: bool = True) -> "pd.DataFrame":
        """:meth:`poll_windows` as a pandas DataFrame (needs pandas), like
        ``df.groupby([key, pd.Grouper(freq=size)]).agg(...)`` or polars'
        ``group_by_dynamic``: a MultiIndex ``(key, window_start)`` (key: the
        series name, or its integer id), columns as in :meth:`all_stats_frame`
        (``window_end`` on request, e.g. ``aggs=["count", "mean", "window_end"]``).
        ``window_start``/``window_end`` are datetime64 (in the input's
        timezone) when datetime timestamps were pushed. Sorted by (key,
        window_start) when ``sort``; the polled windows leave the queue."""
        fields, q = _frame_spec(aggs, quantiles, windowed=True)
        cols = self.poll_windows(max_windows, quantiles=q, names=False)
        return self._frame(cols, fields, q, windowed=True, sort=sort)

    def _times(self, ints: np.ndarray, pd: Any) -> Any:
        """int64 counts of the time unit as datetime64 (NaT for INT64_MIN),
        in the handle's timezone (UTC instants shown in it)."""
        unit = self._unit
        missing = ints == _INT64_MIN
        if unit in ("m", "h", "D"):  # pandas holds s/ms/us/ns only
            r = _ATTOSECONDS[unit] // _ATTOSECONDS["s"]
            big = np.abs(ints) > _INT64_MAX // r
            ints = np.where(missing | big, _INT64_MIN, ints * np.where(missing | big, 1, r))
            unit = "s"
        arr = ints.astype(_I64).view(f"datetime64[{unit}]")
        idx = pd.DatetimeIndex(arr)
        if self._tz is not None:
            idx = idx.tz_localize("UTC").tz_convert(self._tz)
        return idx

    def _frame(self, cols: Dict[str, np.ndarray], fields: List[Tuple[str, str]],
               q: Optional[List[float]], windowed: bool, sort: bool,
               index: Any = None) -> "pd.DataFrame":
        """The result frame of ``cols`` (rows as read). ``index``: the rows'
        index when the caller built it (then neither names nor sorting here)."""
        import pandas as pd

        dt = bool(self._dtclock)
        if index is not None:
            out = {name: self._frame_column(cols, src, dt, pd) for name, src in fields}
            return pd.DataFrame(out, index=index)
        # Labels per distinct key (a name, or the id of a numeric key), then
        # taken per row: Python work per series, not per row.
        uniq, inv = np.unique(cols["key"], return_inverse=True)
        table = self.key_names() if len(uniq) else {}
        labels = [table.get(k) or k for k in uniq.tolist()]
        named = any(isinstance(x, str) for x in labels)
        ulabels = pd.Index(np.array(labels, dtype=object) if named else uniq, name="key")
        inv = inv.ravel()
        order = None
        if sort and len(inv):
            try:  # rows by (label, window start), as sort_index would order them
                rank = np.empty(len(labels), dtype=_I64)
                rank[np.array(sorted(range(len(labels)), key=labels.__getitem__))] = np.arange(len(labels))
                order = (np.lexsort((cols["window_start"], rank[inv])) if windowed
                         else np.argsort(rank[inv], kind="stable"))
            except TypeError:  # names mixed with integer ids: library order
                pass
        if order is not None:
            cols = {c: x[order] for c, x in cols.items()}
            inv = inv[order]
        key_index = ulabels.take(inv)
        out = {name: self._frame_column(cols, src, dt, pd) for name, src in fields}
        if windowed:
            starts = cols["window_start"]
            level = self._times(starts, pd) if dt and self._time_window else starts
            index = pd.MultiIndex.from_arrays([key_index, level], names=["key", "window_start"])
        else:
            index = key_index
        return pd.DataFrame(out, index=index)

    def _frame_column(self, cols: Dict[str, np.ndarray], src: str, dt: bool, pd: Any) -> Any:
        v = cols[src]
        if src in ("window_start", "window_end") and dt and self._time_window:
            return self._times(v, pd)
        if src == "watermark":
            if dt:
                return self._times(v, pd)
            w = pd.array(np.where(v == _INT64_MIN, 0, v), dtype="Int64")
            w[v == _INT64_MIN] = pd.NA
            return w
        return v

    def poll_windows(self, max_windows: Optional[int] = None,
                     quantiles: Optional[Sequence[float]] = None,
                     names: bool = False, page: int = 4096) -> Dict[str, np.ndarray]:
        """Moves closed windows (tumbling/hopping), oldest first, out of the
        queue; returns them as a dict of arrays like :meth:`all_stats`, where
        ``window_start``/``window_end`` are each window's bounds. At most
        ``max_windows`` (default: all queued). Read through
        ``aggregator_poll_windows_ex`` (the same windows as
        ``aggregator_poll_windows``, with the extensible stats' columns).

        Raises:
            UnsupportedError: on count and sliding windows.
        """
        q = _as_qs(quantiles) if quantiles is not None and len(quantiles) else None
        nq = 0 if q is None else len(q)
        page = _page(page)
        if max_windows is not None and (not _is_int(max_windows) or max_windows < 0):
            raise E.InvalidArgumentError(f"max_windows must be an integer >= 0, got {max_windows!r}")
        left = int(max_windows) if max_windows is not None else None
        n_out = c_size_t()
        recs: List[np.ndarray] = []
        qvs: List[np.ndarray] = []
        while left is None or left > 0:
            cap = page if left is None else min(page, left)
            rec = np.empty(cap, dtype=KEY_STATS_EX_DTYPE)
            qv = np.empty((cap, max(nq, 1)), dtype=_F64)
            st = self._call(
                lib.aggregator_poll_windows_ex, array_address(rec),
                KEY_STATS_EX_DTYPE.itemsize, cap,
                array_address(q) if q is not None else None, nq,
                array_address(qv) if nq else None, byref(n_out),
            )
            if st:
                _raise(st)
            k = n_out.value
            recs.append(rec[:k])
            qvs.append(qv[:k, :nq])
            if left is not None:
                left -= k
            if k < cap:
                break
        rec_all = np.concatenate(recs) if recs else np.empty(0, KEY_STATS_EX_DTYPE)
        qv_all = np.concatenate(qvs) if qvs else np.empty((0, nq))
        return self._columns(rec_all, q, qv_all, names)

    def pending_windows(self) -> Tuple[int, int]:
        """(closed windows waiting to be polled, 0).

        The first counts windows queued and those waiting in their series
        while the queue is full (``max_pending_windows``); the second is
        always 0, as no closed window is dropped (kept for compatibility).
        """
        p, d = c_uint64(), c_uint64()
        st = self._call(lib.aggregator_pending_windows, byref(p), byref(d))
        if st:
            _raise(st)
        return p.value, d.value

    # ---------------------------------------------------------------- keys --

    def key_count(self) -> int:
        """Number of live series."""
        n = c_uint64()
        st = self._call(lib.aggregator_key_count, byref(n))
        if st:
            _raise(st)
        return n.value

    def __len__(self) -> int:
        return self.key_count()

    def keys(self, page: int = 4096) -> np.ndarray:
        """Ids (uint64) of every live series."""
        page = _page(page)
        cur = Cursor()
        n_out = c_size_t()
        parts: List[np.ndarray] = []
        while not cur.done:
            buf = np.empty(page, dtype=_U64)
            st = self._call(lib.aggregator_list_keys, byref(cur), array_address(buf), page,
                            None, 0, None, byref(n_out))
            if st:
                _raise(st)
            parts.append(buf[: n_out.value])
        return np.concatenate(parts) if parts else np.empty(0, _U64)

    def key_names(self, raw: bool = False, page: int = 4096) -> Dict[int, Union[str, bytes]]:
        """``{id: name}`` for every live series (numeric keys have an empty
        name). Names are decoded as UTF-8 (``surrogateescape``) unless ``raw``."""
        page = _page(page)
        cur = Cursor()
        n_out = c_size_t()
        names_cap = 1 << 16
        out: Dict[int, Union[str, bytes]] = {}
        while not cur.done:
            ids = np.empty(page, dtype=_U64)
            offs = np.empty(page + 1, dtype=_U32)
            names = np.empty(names_cap, dtype=np.uint8)
            saved = (cur.position, cur.started, cur.done)
            st = self._call(lib.aggregator_list_keys, byref(cur), array_address(ids), page,
                            array_address(names), names_cap,
                            array_address(offs), byref(n_out))
            if st == E.EBUFFER and names_cap < (1 << 32):
                cur.position, cur.started, cur.done = saved
                names_cap *= 4
                continue
            if st:
                _raise(st)
            blob = names.tobytes()
            for i in range(n_out.value):
                b = blob[offs[i]:offs[i + 1]]
                out[int(ids[i])] = b if raw else b.decode("utf-8", "surrogateescape")
        return out

    def key_name(self, key: KeyLike, raw: bool = False) -> Union[str, bytes]:
        """The byte name of a series (``""`` for numeric keys), decoded as
        UTF-8 unless ``raw``.

        Raises:
            KeyNotFoundError: the key has no series.
        """
        k = _key_id(key)
        cap = 256
        while True:
            buf = ctypes.create_string_buffer(cap)
            ln = c_size_t()
            st = self._call(lib.aggregator_key_name, k, ctypes.addressof(buf), cap, byref(ln))
            if st == E.EBUFFER and ln.value > cap:
                cap = ln.value
                continue
            if st:
                _raise(st)
            b = buf.raw[: ln.value]
            return b if raw else b.decode("utf-8", "surrogateescape")

    def remove_key(self, key: KeyLike) -> None:
        """Drops a series (its queued closed windows stay queued).

        Raises:
            KeyNotFoundError: the key has no series.
        """
        st = self._call(lib.aggregator_remove_key, _key_id(key))
        if st:
            _raise(st)

    def __contains__(self, key: Any) -> bool:
        s = Stats()
        st = self._call(lib.aggregator_get_key_stats, _key_id(key), byref(s))
        if st == E.ENOTFOUND:
            return False
        if st:
            _raise(st)
        return True

    # -------------------------------------------------------------- memory --

    def memory_usage(self) -> int:
        """Bytes the library holds for this handle."""
        n = c_uint64()
        st = self._call(lib.aggregator_memory_usage, byref(n))
        if st:
            _raise(st)
        return n.value

    def key_memory_usage(self, key: KeyLike) -> int:
        """Bytes held for one series."""
        n = c_uint64()
        st = self._call(lib.aggregator_key_memory_usage, _key_id(key), byref(n))
        if st:
            _raise(st)
        return n.value

    # --------------------------------------------------------------- state --

    def to_bytes(self) -> bytes:
        """The whole state, serialized (versioned, little-endian, checksummed)."""
        size = c_size_t()
        st = self._call(lib.aggregator_serialized_size, byref(size))
        if st:
            _raise(st)
        cap = size.value
        while True:
            buf = ctypes.create_string_buffer(max(cap, 1))
            written = c_size_t()
            st = self._call(lib.aggregator_serialize, ctypes.addressof(buf), cap, byref(written))
            if st == E.EBUFFER and written.value > cap:  # grew meanwhile
                cap = written.value
                continue
            if st:
                _raise(st)
            return buf.raw[: written.value]

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview], threading: str = "shared",
                   time_unit: Optional[str] = None, clock: str = "event",
                   tz: Any = None) -> "Aggregator":
        """A new aggregator restored from :meth:`to_bytes` output (``time_unit``,
        ``clock`` and ``tz`` as in the constructor: they are not part of the
        serialized state).

        Raises:
            CorruptStateError, StateVersionError: bad input.
        """
        th = _choice(threading, _THREADING, "threading")
        unit = "ns" if time_unit is None else _UNITS.get(time_unit)
        if unit is None:
            raise E.ConfigError(f"time_unit: {time_unit!r} is not a known unit")
        if clock not in _CLOCKS:
            raise E.ConfigError(f"clock: {clock!r} is not one of 'event', 'arrival'")
        buf = _as_blob(data, "from_bytes")
        out = c_void_p()
        st = lib.aggregator_restore(array_address(buf) if len(buf) else None, len(buf), th, byref(out))
        if st:
            _raise(st)
        return cls._adopt(out.value, threading, unit, time_unit is not None,  # type: ignore[arg-type]
                          clock, tz)

    def merge(self, other: Union["Aggregator", bytes, bytearray, memoryview]) -> None:
        """Merges another aggregator (or its serialized bytes) of the same
        configuration into this one.

        Raises:
            ConfigMismatchError: different configurations.
        """
        if isinstance(other, Aggregator):
            if other is self:
                raise E.InvalidArgumentError("cannot merge an aggregator into itself")
            h = self._enter()
            try:
                # other is read by the library: it must stay open (and, if
                # single-threaded, unused by other threads) for the call too.
                st = other._call(_merge_into, h)
            finally:
                self._users.pop()
        else:
            buf = _as_blob(other, "merge")
            st = self._call(lib.aggregator_merge_serialized,
                            array_address(buf) if len(buf) else None, len(buf))
        if st:
            _raise(st)

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        return (_restore, (self.to_bytes(), self._threading,
                           self._unit if self._unit_explicit else None, self._clock, self._tz,
                           self._dtclock))


def _restore(data: bytes, threading: str, time_unit: Optional[str] = "ns", clock: str = "event",
             tz: Any = None, dtclock: Optional[bool] = None) -> Aggregator:
    agg = Aggregator.from_bytes(data, threading=threading, time_unit=time_unit, clock=clock, tz=tz)
    if dtclock is not None:
        agg._dtclock = dtclock
    return agg


if not FAST_POINTER:  # pragma: no cover - exotic runtimes
    def _push_portable(self: Aggregator, values: Any, timestamps: Any = None, keys: Any = None) -> None:
        self._push_general(values, timestamps, keys)

    _push_portable.__doc__ = Aggregator.push.__doc__
    Aggregator.push = _push_portable  # type: ignore[method-assign]
