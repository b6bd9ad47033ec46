"""The one place that chooses the array library and the floating-point type.

Every other module asks this one for ``xp`` (the array module: NumPy, or CuPy on a GPU) and for
the default float dtype, instead of importing NumPy or CuPy itself (Chainer's ``xp`` idea): all
maths on model arrays goes through ``xp``. float32 is the default for speed; gradient checks use
float64.

A third namespace, ``"array_api_strict"`` (the array-API standard's strict namespace, PyPI
``array-api-strict``), exists to *prove* that seam: it has only what the standard has, so a
NumPy-only call on a model array fails there (``tests/backend/`` runs every layer,
loss, cell and update rule and a few training steps of each schedule on it). The few things the
standard lacks and the hot paths want (``out=`` on element-wise functions) go through
:func:`into`, which uses ``out=`` on NumPy and CuPy and assigns ``out[...] = f(x)`` elsewhere.

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


BACKENDS = ("numpy", "cupy", "array_api_strict")
"""The names :func:`set_backend` takes."""

_ADVICE = {
    "cupy": "the 'cupy' backend needs CuPy and a CUDA GPU: pip install 'bprop[gpu]'",
    "array_api_strict": "the 'array_api_strict' backend needs pip install array-api-strict",
}


def set_backend(name: str) -> ModuleType:
    """Choose the array module: ``"numpy"`` (default), ``"cupy"`` (needs a CUDA GPU) or
    ``"array_api_strict"`` (the array-API standard's strict namespace, for proving that no
    NumPy-only call touches a model array; slow, for tests only).

    Raises ``ValueError`` for an unknown name and ``ImportError`` with advice when the package
    is missing. Models built before the switch keep their arrays; build new ones after it.
    """
    global _xp
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}: choose one of {BACKENDS}")
    if name == "numpy":
        _xp = numpy
        return _xp
    try:
        _xp = importlib.import_module(name)
    except ImportError as err:  # pragma: no cover - depends on the machine
        raise ImportError(_ADVICE[name]) from err
    return _xp


@contextlib.contextmanager
def using(name: str) -> Iterator[ModuleType]:
    """Switch the array module for a ``with`` block (and back after it, even on error).

    Example (``"array_api_strict"`` instead of ``"numpy"`` runs the block on the standard's
    strict namespace, as ``tests/backend/`` does)::

        >>> import bprop as bp
        >>> with bp.backend.using("numpy") as xp:
        ...     xp.__name__, bp.backend.backend_name()
        ('numpy', 'numpy')
    """
    global _xp
    old = _xp
    try:
        yield set_backend(name)
    finally:
        _xp = old


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


def xp_dtype(dtype: Any = None) -> Any:
    """The current array module's dtype object for a NumPy dtype or name (the default float
    dtype when None): the NumPy dtype itself on NumPy and CuPy, ``xp.float64`` & co. elsewhere."""
    dt = _dtype if dtype is None else np_dtype(dtype)
    return dt if numpy_like() else getattr(_xp, dt.name)


def np_dtype(dtype: Any) -> numpy.dtype:
    """The NumPy dtype matching an array's ``dtype`` under any backend."""
    if numpy_like() or not isinstance(dtype, type(_xp.float64)):  # a NumPy dtype or name
        return numpy.dtype(dtype)
    for name in ("float32", "float64", "int64", "int32", "bool"):
        if dtype == getattr(_xp, name):
            return numpy.dtype(name)
    return numpy.dtype(dtype)


def asarray(a: Any, dtype: Any = None) -> Any:
    """Convert to an array of the current backend, in the default dtype unless one is given."""
    return _xp.asarray(a, dtype=xp_dtype(dtype))


def into(f: Any, *args: Any, out: Any = None) -> Any:
    """``f(*args)`` written into ``out`` when one is given: ``f(*args, out=out)`` on NumPy and
    CuPy (no temporary, exactly as fast as calling it so), ``out[...] = f(*args)`` on a
    namespace without ``out=`` (the array-API standard). Returns the result."""
    if out is None:
        return f(*args)
    if numpy_like():
        return f(*args, out=out)
    out[...] = f(*args)
    return out


def to_numpy(a: Any) -> numpy.ndarray:
    """Bring an array back to host NumPy (a no-op for NumPy arrays)."""
    if isinstance(a, numpy.ndarray):
        return a
    get = getattr(a, "get", None)  # CuPy
    if get is None and hasattr(a, "__array_namespace__"):  # another array-API namespace
        return numpy.from_dlpack(a)
    return numpy.asarray(get() if get is not None else a)


def concat(arrays: Any, axis: int = 0) -> Any:
    """Join arrays along an axis: the standard's ``concat`` (NumPy ≥ 2), else ``concatenate``."""
    f = getattr(_xp, "concat", None) or _xp.concatenate
    return f(arrays, axis=axis)


def permute_dims(a: Any, axes: tuple[int, ...]) -> Any:
    """``a`` with its axes reordered (a view on NumPy): the standard's ``permute_dims``
    (NumPy ≥ 2), else ``transpose``."""
    f = getattr(_xp, "permute_dims", None) or _xp.transpose
    return f(a, axes)


def astype(a: Any, dtype: Any) -> Any:
    """``a`` converted to ``dtype`` (a NumPy dtype or name, or the namespace's own dtype)."""
    return _xp.astype(a, xp_dtype(dtype))


def copy(a: Any) -> Any:
    """A copy of an array of any backend (the standard's arrays have no ``.copy()``)."""
    return a.copy() if hasattr(a, "copy") else _xp.asarray(a, copy=True)


def zero(a: Any) -> None:
    """Set every element of ``a`` to 0, in place (NumPy's and CuPy's ``fill`` where it exists)."""
    fill = getattr(a, "fill", None)
    if fill is not None:
        fill(0)
    else:
        a[...] = 0


def norm64(a: Any) -> float:
    """The Euclidean norm of all of ``a``, summed in float64."""
    xp = _xp
    return float(xp.sqrt(xp.sum(xp.astype(a, xp_dtype("float64")) ** 2)))


def numpy_like() -> bool:
    """Whether the array module has NumPy's whole API (NumPy or CuPy: ``out=``, strides,
    ``flags``), which the in-place fast paths use; elsewhere the reference paths run."""
    return _xp is numpy or _xp.__name__ == "cupy"


def is_numpy() -> bool:
    """Whether the array module is NumPy (the fused and in-place fast paths need it)."""
    return _xp is numpy
