"""windowagg: windowed aggregates over numeric streams, in native memory.

Python binding (ctypes + NumPy) of the windowagg C library. Quick start::

    import numpy as np
    import windowagg

    with windowagg.Aggregator(window="count", size=1000) as agg:
        agg.push(np.random.standard_normal(10_000))
        print(agg.stats().mean, agg.quantiles([0.5, 0.99]))

The shared library is found through ``WINDOWAGG_LIBRARY``, then next to this
package, then the system library path (see :mod:`windowagg._lib`).
"""

from ._aggregator import (
    DEFAULT_KEY,
    OVERFLOW_KEY,
    Aggregator,
    WindowStats,
    hash_key,
    version,
    version_number,
)
from ._batch import aggregate_windows
from ._rolling import rolling, rolling_arrays
from . import _errors
from ._errors import *  # noqa: F401,F403  (the exception hierarchy)
from ._lib import library_path

__version__ = "1.0.0"

__all__ = [
    "Aggregator",
    "WindowStats",
    "aggregate_windows",
    "DEFAULT_KEY",
    "OVERFLOW_KEY",
    "hash_key",
    "version",
    "version_number",
    "library_path",
    "rolling",
    "rolling_arrays",
] + _errors.__all__
