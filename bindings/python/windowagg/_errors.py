"""Exception hierarchy: one class per library status code.

Every exception raised by :mod:`windowagg` derives from :class:`WindowaggError`.
Subclasses also derive from the built-in exception a Python user would expect
(``ValueError`` for bad input and configuration, ``KeyError`` for an unknown
series, ``MemoryError`` for a failed allocation, ``TypeError`` for an input of
the wrong type), so ordinary ``except ValueError:`` code keeps working.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

__all__ = [
    "WindowaggError",
    "InvalidArgumentError",
    "ConfigError",
    "NonFiniteValueError",
    "KeyNotFoundError",
    "BufferTooSmallError",
    "NoMemoryError",
    "KeyLimitError",
    "MemoryLimitError",
    "CorruptStateError",
    "StateVersionError",
    "ConfigMismatchError",
    "UnsupportedError",
    "InternalError",
    "ClosedError",
    "ConcurrentUseError",
    "InputTypeError",
    "LibraryNotFoundError",
]

# Status codes of include/windowagg/windowagg.h.
OK = 0
EINVAL = 1
ECONFIG = 2
EVALUE = 3
ENOTFOUND = 4
EBUFFER = 5
ENOMEM = 6
EKEYLIMIT = 7
EMEMLIMIT = 8
ECORRUPT = 9
EVERSION = 10
EMISMATCH = 11
EUNSUPPORTED = 12
EINTERNAL = 13

STATUS_NAMES = {
    OK: "AGGREGATOR_OK",
    EINVAL: "AGGREGATOR_EINVAL",
    ECONFIG: "AGGREGATOR_ECONFIG",
    EVALUE: "AGGREGATOR_EVALUE",
    ENOTFOUND: "AGGREGATOR_ENOTFOUND",
    EBUFFER: "AGGREGATOR_EBUFFER",
    ENOMEM: "AGGREGATOR_ENOMEM",
    EKEYLIMIT: "AGGREGATOR_EKEYLIMIT",
    EMEMLIMIT: "AGGREGATOR_EMEMLIMIT",
    ECORRUPT: "AGGREGATOR_ECORRUPT",
    EVERSION: "AGGREGATOR_EVERSION",
    EMISMATCH: "AGGREGATOR_EMISMATCH",
    EUNSUPPORTED: "AGGREGATOR_EUNSUPPORTED",
    EINTERNAL: "AGGREGATOR_EINTERNAL",
}


class WindowaggError(Exception):
    """Base class of every windowagg error.

    Attributes:
        status: the library status code (``AGGREGATOR_E*``), or ``None`` for an
            error detected by the Python binding before calling the library.
        message: the detailed text (``aggregator_last_error()`` for library
            errors).
    """

    status: Optional[int] = None

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    @property
    def status_name(self) -> Optional[str]:
        """Symbolic name of :attr:`status` (``"AGGREGATOR_EINVAL"``, ...)."""
        return None if self.status is None else STATUS_NAMES.get(self.status, "unknown")

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.message


class InvalidArgumentError(WindowaggError, ValueError):
    """A bad argument (``AGGREGATOR_EINVAL``): wrong length, bad quantile,
    mixed timestamped/untimestamped pushes, ... Also raised by the binding for
    wrong ``ndim`` and mismatched lengths."""

    status = EINVAL


class ConfigError(WindowaggError, ValueError):
    """Invalid configuration (``AGGREGATOR_ECONFIG``); the message names the field."""

    status = ECONFIG


class NonFiniteValueError(WindowaggError, ValueError):
    """A NaN/Inf value under ``nonfinite="reject"`` (``AGGREGATOR_EVALUE``).
    The batch was not applied; the message names the element."""

    status = EVALUE


class KeyNotFoundError(WindowaggError, KeyError):
    """The series key has no series (``AGGREGATOR_ENOTFOUND``)."""

    status = ENOTFOUND


class BufferTooSmallError(WindowaggError):
    """An output buffer was too small (``AGGREGATOR_EBUFFER``). The binding
    sizes buffers itself, so seeing this one is a bug in the binding."""

    status = EBUFFER


class NoMemoryError(WindowaggError, MemoryError):
    """The library could not allocate (``AGGREGATOR_ENOMEM``); state unchanged."""

    status = ENOMEM


class KeyLimitError(WindowaggError):
    """``max_keys`` reached under ``key_policy="reject"`` (``AGGREGATOR_EKEYLIMIT``);
    the batch was not applied."""

    status = EKEYLIMIT


class MemoryLimitError(WindowaggError):
    """``memory_limit`` would be exceeded (``AGGREGATOR_EMEMLIMIT``); state unchanged."""

    status = EMEMLIMIT


class CorruptStateError(WindowaggError, ValueError):
    """Serialized state is malformed (``AGGREGATOR_ECORRUPT``)."""

    status = ECORRUPT


class StateVersionError(WindowaggError, ValueError):
    """Serialized state of an unknown format version (``AGGREGATOR_EVERSION``)."""

    status = EVERSION


class ConfigMismatchError(WindowaggError, ValueError):
    """Merge of states with different configurations (``AGGREGATOR_EMISMATCH``)."""

    status = EMISMATCH


class UnsupportedError(WindowaggError):
    """Operation not defined for this handle (``AGGREGATOR_EUNSUPPORTED``), e.g.
    polling closed windows of a count window or quantiles with
    ``quantiles=False``."""

    status = EUNSUPPORTED


class InternalError(WindowaggError, RuntimeError):
    """A bug in the library (``AGGREGATOR_EINTERNAL``); please report the message."""

    status = EINTERNAL


class ClosedError(WindowaggError, ValueError):
    """The aggregator was closed (like I/O on a closed file, a ``ValueError``)."""


class ConcurrentUseError(WindowaggError, RuntimeError):
    """A ``threading="single"`` aggregator was called from a second thread while
    a call was running (the library does no locking on such a handle). The
    refused call did nothing; use ``threading="shared"`` to share a handle."""


class InputTypeError(WindowaggError, TypeError):
    """An input whose type or dtype cannot be converted (e.g. complex, strings
    as values, floats as timestamps)."""


class LibraryNotFoundError(WindowaggError, ImportError):
    """The shared library could not be loaded; the message lists every place tried."""


_BY_STATUS: Dict[int, Type[WindowaggError]] = {
    cls.status: cls  # type: ignore[misc]
    for cls in (
        InvalidArgumentError,
        ConfigError,
        NonFiniteValueError,
        KeyNotFoundError,
        BufferTooSmallError,
        NoMemoryError,
        KeyLimitError,
        MemoryLimitError,
        CorruptStateError,
        StateVersionError,
        ConfigMismatchError,
        UnsupportedError,
        InternalError,
    )
}


def error_for_status(status: int, message: str) -> WindowaggError:
    """The exception instance for library status ``status`` with ``message``."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        return WindowaggError(f"status {status}: {message}", status)
    return cls(message, status)
