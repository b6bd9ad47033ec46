"""The harness of the backend-seam tests: run the same code under NumPy and under the array-API
standard's strict namespace (``array_api_strict``), float64 both, and compare the results.

Under strict, a NumPy-only call on a model array fails: the namespace has only what the standard
has, and NumPy functions are refused strict arrays (below), so nothing can pass by converting a
model array to NumPy behind the test's back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from bprop import backend

try:
    import array_api_strict as xps
except ImportError:  # the test modules skip (pip install array-api-strict)
    xps = None

RTOL, ATOL = 1e-12, 1e-13  # round-off: the same operations in the same order


@pytest.fixture(autouse=True)
def _no_silent_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A NumPy function given a strict array converts it through ``__array__`` and carries on
    in NumPy (on Python < 3.12): make that fail, as it does on Python ≥ 3.12 and for arrays
    on a device, so a NumPy-only call on a model array cannot pass unseen."""

    def refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a NumPy function was called on an array_api_strict array")

    monkeypatch.setattr(type(xps.asarray(0.0)), "__array__", refuse)


def host(tree: Any) -> Any:
    """Arrays (of any backend) in nested tuples/lists/dicts as NumPy float64 arrays."""
    if isinstance(tree, dict):
        return {k: host(v) for k, v in sorted(tree.items())}
    if isinstance(tree, list | tuple):
        return [host(v) for v in tree]
    if isinstance(tree, float | int | np.floating | np.integer) or tree is None:
        return tree
    return np.asarray(backend.to_numpy(tree))


def assert_same(a: Any, b: Any, where: str = "") -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif a is None:
        assert b is None, where
    else:
        np.testing.assert_allclose(b, a, rtol=RTOL, atol=ATOL, err_msg=where)


def on_both(run: Callable[[], Any]) -> tuple[Any, Any]:
    """``run()`` under NumPy and under array_api_strict (float64 both), results on the host.
    Under strict, every array ``run`` returns must be a strict array (it ran there)."""
    with backend.default_dtype("float64"):
        ref = host(run())
        with backend.using("array_api_strict"):
            out = run()
            _assert_strict(out)
            strict = host(out)
    return ref, strict


def _assert_strict(tree: Any) -> None:
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, list | tuple):
        for v in tree:
            _assert_strict(v)
    elif hasattr(tree, "shape"):
        assert isinstance(tree, type(xps.asarray(0.0))), (
            f"a {type(tree).__name__} escaped the strict run"
        )


@pytest.fixture
def same_on_both() -> Callable[..., None]:
    """``same_on_both(run, where)``: ``run()`` gives the same results (arrays, numbers, in
    nested lists/tuples/dicts) under NumPy and under array_api_strict, to round-off."""

    def check(run: Callable[[], Any], where: str = "") -> None:
        ref, strict = on_both(run)
        assert_same(ref, strict, where)

    return check
