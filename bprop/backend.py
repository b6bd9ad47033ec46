"""The one place that chooses the array library and the floating-point type.

Every other module asks this one for ``xp`` (the array module: NumPy, or CuPy on a GPU) and for
the default float dtype, instead of importing NumPy or CuPy for array *creation* itself
(Chainer's ``xp`` idea). float32 is the default for speed; gradient checks use float64.

Example::

    >>> import bprop as bp
    >>> bp.backend.get_dtype()
    dtype('float32')
    >>> with bp.backend.default_dtype("float64"):
    ...     bp.Dense(2, 3).params["W"].dtype
    dtype('float64')
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy

_xp: ModuleType = numpy
_dtype: numpy.dtype = numpy.dtype(numpy.float32)

_ALLOWED_DTYPES = ("float32", "float64")


def get_xp() -> ModuleType:
    """The array module in use (``numpy`` unless :func:`set_backend` chose ``cupy``)."""
    return _xp


def backend_name() -> str:
    """The name of the array module in use: ``"numpy"`` or ``"cupy"``."""
    return _xp.__name__


def set_backend(name: str) -> ModuleType:
    """Choose the array module: ``"numpy"`` (default) or ``"cupy"`` (needs a CUDA GPU).

    Raises ``ValueError`` for an unknown name and ``ImportError`` with advice when CuPy is
    missing. Models built before the switch keep their arrays; build new ones after it.
    """
    global _xp
    if name not in ("numpy", "cupy"):
        raise ValueError(f"unknown backend {name!r}: choose 'numpy' or 'cupy'")
    if name == "cupy":
        try:
            _xp = importlib.import_module("cupy")
        except ImportError as err:  # pragma: no cover - depends on the machine
            raise ImportError(
                "the 'cupy' backend needs CuPy and a CUDA GPU: pip install 'bprop[gpu]'"
            ) from err
    else:
        _xp = numpy
    return _xp


def get_dtype() -> numpy.dtype:
    """The default floating-point dtype for new parameters and data (float32 unless changed)."""
    return _dtype


def set_dtype(dtype: Any) -> None:
    """Set the default float dtype: ``"float32"`` or ``"float64"``."""
    global _dtype
    dt = numpy.dtype(dtype)
    if dt.name not in _ALLOWED_DTYPES:
        raise ValueError(f"unsupported dtype {dt.name!r}: choose one of {_ALLOWED_DTYPES}")
    _dtype = dt


@contextlib.contextmanager
def default_dtype(dtype: Any) -> Iterator[None]:
    """Temporarily change the default dtype (used by gradient checks for float64)."""
    old = _dtype
    set_dtype(dtype)
    try:
        yield
    finally:
        set_dtype(old)


def asarray(a: Any, dtype: Any = None) -> Any:
    """Convert to an array of the current backend, in the default dtype unless one is given."""
    return _xp.asarray(a, dtype=_dtype if dtype is None else dtype)


def to_numpy(a: Any) -> numpy.ndarray:
    """Bring an array back to host NumPy (a no-op for NumPy arrays)."""
    if isinstance(a, numpy.ndarray):
        return a
    get = getattr(a, "get", None)
    return numpy.asarray(get() if get is not None else a)


def is_numpy() -> bool:
    """Whether the array module in use is NumPy."""
    return _xp is numpy
