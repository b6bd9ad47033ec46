"""The op table (bprop.ops): lookup by name, the readable ops, and relu's zeros-array shortcut."""

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


# --- the op table ---------------------------------------------------------------------------
def test_every_fused_twin_has_a_reference_of_the_same_name():
    assert set(ops.fused.TWINS) <= set(ops.REFERENCE)
    for name in ops.REFERENCE:
        assert ops.lookup(name, "numpy") is ops.REFERENCE[name]


def test_lookup_checks_its_arguments():
    with pytest.raises(KeyError, match="no op 'lstm_fwd'.*lstm_forward"):
        ops.lookup("lstm_fwd")
    with pytest.raises(ValueError, match="kernel must be 'auto', 'numba' or 'numpy', got 'cuda'"):
        ops.lookup("tanh", "cuda")


def test_lookup_without_numba_serves_the_reference_or_says_what_to_install(monkeypatch):
    monkeypatch.setattr(ops.fused, "_HAVE_NUMBA", False)
    monkeypatch.setitem(
        ops.fused.TWINS, "lstm_backward", (None, ops.fused.TWINS["lstm_backward"][1])
    )
    assert ops.lookup("lstm_backward", "auto", np.float32) is ops.recurrent.lstm_backward
    with pytest.raises(ImportError, match="pip install numba"):
        ops.lookup("lstm_backward", "numba", np.float32)


def test_lookup_serves_a_twin_only_for_its_dtypes():
    pytest.importorskip("numba")
    fused, dtypes = ops.fused.TWINS["lstm_forward"]
    assert dtypes == (np.dtype(np.float32),)
    assert ops.lookup("lstm_forward", "auto", np.float32) is fused
    assert ops.lookup("lstm_forward", "numba", np.float64) is ops.recurrent.lstm_forward
    assert ops.lookup("lstm_forward", "numba", np.float16) is ops.recurrent.lstm_forward


@pytest.mark.parametrize("K", [3, 40])  # both ways of taking the row maxima
def test_softmax_cross_entropy_is_minus_log_softmax_and_p_minus_t(K):
    rng = np.random.default_rng(5)
    y = 30 * rng.normal(size=(6, K))
    labels = rng.integers(0, K, size=6)
    logp = y - y.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
    onehot = np.eye(K)[labels]
    for target in (labels, onehot):
        loss, grad = ops.softmax_cross_entropy(y, target)
        np.testing.assert_allclose(loss, -(onehot * logp).sum(), rtol=1e-12)
        np.testing.assert_allclose(grad, np.exp(logp) - onehot, atol=1e-14)


def test_only_the_op_tables_kernel_module_imports_numba():
    # other modules compile their kernels through bprop.ops.numba.njit; the update rules'
    # two fused kernels still import numba themselves until they move to that one place
    import ast
    from pathlib import Path

    import bprop

    root = Path(bprop.__file__).parent
    importers = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(n == "numba" or n.startswith("numba.") for n in names):
                importers.add(path.relative_to(root).as_posix())
    assert "ops/numba.py" in importers
    assert importers == {"ops/numba.py"}
