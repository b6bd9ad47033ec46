"""ops.relu's zeros-array shortcut equals maximum(x, 0)."""

import numpy as np
import pytest

from bprop import ops


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 7), (1, 3), (4,), (2, 3, 4), (0, 3), (300, 301)])
def test_relu_equals_maximum(dtype, shape):
    x = np.random.default_rng(0).normal(size=shape).astype(dtype)
    y = ops.relu(x)
    assert y.dtype == dtype and y.shape == x.shape
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    out = np.empty_like(x)
    assert ops.relu(x, out=out) is out
    np.testing.assert_array_equal(out, y)
    ops.relu(x, out=x)  # in place, as recurrent cells call it
    np.testing.assert_array_equal(x, y)


def test_relu_keeps_nan_and_leaves_input_alone():
    x = np.array([[-1.0, np.nan, 2.0]], dtype=np.float32)
    before = x.copy()
    y = ops.relu(x)
    assert np.isnan(y[0, 1]) and y[0, 0] == 0 and y[0, 2] == 2
    np.testing.assert_array_equal(x, before)
    ops.relu(np.ones((1, 3), np.float32))  # the cached zeros stay zeros
    np.testing.assert_array_equal(ops.relu(-np.ones((1, 3), np.float32)), 0)


def test_relu_non_contiguous_and_integer():
    x = np.random.default_rng(1).normal(size=(6, 8))[::2, ::3]
    np.testing.assert_array_equal(ops.relu(x), np.maximum(x, 0))
    np.testing.assert_array_equal(ops.relu(np.array([-2, 3])), [0, 3])
