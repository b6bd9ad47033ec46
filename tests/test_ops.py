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


@pytest.mark.parametrize("K", [3, 40])
def test_softmax_cross_entropy_is_minus_log_softmax_and_p_minus_t(K):
    rng = np.random.default_rng(5)
    y = 30 * rng.normal(size=(6, K))
    labels = rng.integers(0, K, size=6)
    logp = y - y.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
    onehot = np.eye(K)[labels]
    for target in (labels, onehot):
        for scale in (1.0, 1 / 6):
            loss, grad, pred = ops.softmax_cross_entropy(y, target, scale)
            np.testing.assert_allclose(loss, -scale * (onehot * logp).sum(), rtol=1e-12)
            np.testing.assert_allclose(grad, scale * (np.exp(logp) - onehot), atol=1e-14)
            np.testing.assert_array_equal(pred, y.argmax(axis=1))


def _logits(rng, n, K, dtype, ties):
    """Logits with many exactly equal maxima (small integers) or without."""
    if ties:
        return rng.integers(-2, 3, size=(n, K)).astype(dtype)
    return (8 * rng.normal(size=(n, K))).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("K", [1, 3, 10, 65])
@pytest.mark.parametrize("ties", [False, True])
def test_fused_softmax_cross_entropy_equals_the_reference(dtype, K, ties):
    pytest.importorskip("numba")
    twin = ops.lookup("softmax_cross_entropy", "numba", dtype)
    assert twin is not ops.reference.softmax_cross_entropy
    rng = np.random.default_rng(K)
    y = _logits(rng, 257, K, dtype, ties)
    t = rng.integers(0, K, size=257)
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    for yy, tt in ((y, t), (y[::2], t[::2]), (np.asfortranarray(y), t)):  # any memory layout
        for scale in (1.0, 1 / yy.shape[0]):
            want = ops.reference.softmax_cross_entropy(yy, tt, scale)
            got = twin(yy, tt, scale)
            assert got[1].dtype == dtype and got[1].shape == yy.shape
            np.testing.assert_allclose(got[0], want[0], rtol=rtol)
            np.testing.assert_allclose(got[1], want[1], rtol=rtol, atol=rtol * scale)
            np.testing.assert_array_equal(got[2], want[2])  # the first of equal maxima
            np.testing.assert_array_equal(got[2], yy.argmax(axis=1))
    rows = np.eye(K)[t] * 0.5 + 0.5 / K  # probability rows: the reference's work
    want, got = ops.reference.softmax_cross_entropy(y, rows), twin(y, rows)
    np.testing.assert_allclose(got[0], want[0], rtol=rtol)
    np.testing.assert_array_equal(got[1], want[1])


def test_fused_softmax_cross_entropy_refuses_labels_out_of_range_and_keeps_nan():
    pytest.importorskip("numba")
    twin = ops.lookup("softmax_cross_entropy", "numba", np.float32)
    y = np.zeros((4, 3), np.float32)
    for bad in ([0, 1, 3, 0], [0, -1, 2, 1]):  # (the reference's indexing wraps -1 around)
        with pytest.raises(IndexError, match=r"\[0, 2\]"):
            twin(y, np.array(bad))
    with pytest.raises(IndexError):
        ops.reference.softmax_cross_entropy(y, np.array([0, 1, 3, 0]))
    for where in ((0, 0), (2, 1)):  # first or later in its row
        y[where] = np.nan
        loss, grad, _ = twin(y, np.array([0, 1, 2, 0]))
        assert np.isnan(loss) and np.isnan(grad[where[0]]).all()
        y[where] = 0


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
