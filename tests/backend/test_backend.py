"""The backend module: switching namespaces for a block, and :func:`bprop.backend.into`."""

from __future__ import annotations

import numpy as np
import pytest

from bprop import backend

xps = pytest.importorskip("array_api_strict")


def data(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


def test_using_switches_for_a_block_and_back_even_on_error() -> None:
    with pytest.raises(RuntimeError, match="inside"):
        with backend.using("array_api_strict") as xp:
            assert xp is xps and backend.get_xp() is xps and not backend.numpy_like()
            raise RuntimeError("inside")
    assert backend.get_xp() is np and backend.is_numpy()
    with pytest.raises(ValueError, match="unknown backend 'jax'"):
        backend.set_backend("jax")
    assert backend.get_xp() is np


@pytest.mark.parametrize("name", ["numpy", "array_api_strict"])
def test_into_writes_into_out_on_any_namespace(name: str) -> None:
    with backend.using(name) as xp:
        x = xp.asarray([-1.0, 0.5, 2.0])
        out = xp.zeros(3)
        assert backend.into(xp.maximum, x, 0.0, out=out) is out
        assert backend.to_numpy(out).tolist() == [0.0, 0.5, 2.0]
        assert backend.to_numpy(backend.into(xp.negative, x)).tolist() == [1.0, -0.5, -2.0]
        assert backend.np_dtype(x.dtype) == np.float64 and backend.xp_dtype("float64") == x.dtype


def test_the_in_place_fast_path_is_left_to_numpy_like_namespaces() -> None:
    from bprop.recurrent import LSTM, Recurrent

    with backend.default_dtype("float64"):
        x = data(2, 3, 3)
        assert Recurrent(LSTM(3, 4, rng=0)).forward(backend.asarray(x))[1].fast
        with backend.using("array_api_strict"):
            y, cache = Recurrent(LSTM(3, 4, rng=0)).forward(backend.asarray(x))
    assert not cache.fast and y.shape == (2, 3, 4)


def test_calling_a_layer_converts_numpy_data_at_the_boundary() -> None:
    import bprop as bp

    x = data(4, 3)
    with backend.default_dtype("float64"):
        want = bp.Dense(3, 2, rng=0)(x)
        with backend.using("array_api_strict"):
            got = bp.Dense(3, 2, rng=0)(x)  # NumPy in, a strict array out
    assert not isinstance(got, np.ndarray)
    np.testing.assert_allclose(backend.to_numpy(got), want, rtol=1e-12)
