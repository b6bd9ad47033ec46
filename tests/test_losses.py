import numpy as np
import pytest

import bprop as bp

rng = np.random.default_rng(0)
Y = rng.normal(size=(6, 4))
T_REAL = rng.normal(size=(6, 4))
T_BIN = (rng.random((6, 4)) > 0.5).astype(float)
P = 1 / (1 + np.exp(-Y))
LABELS = rng.integers(0, 4, size=6)
SOFT = rng.dirichlet(np.ones(4), size=6)

CASES = {
    "squared_sum": (bp.SquaredError(), Y, T_REAL),
    "squared_mean": (bp.SquaredError("mean"), Y, T_REAL),
    "mse": (bp.MeanSquaredError(), Y, T_REAL),
    "mse_sum": (bp.MeanSquaredError("sum"), Y, T_REAL),
    "xent_labels": (bp.SoftmaxCrossEntropy(), Y, LABELS),
    "xent_labels_sum": (bp.SoftmaxCrossEntropy("sum"), Y, LABELS),
    "xent_soft": (bp.SoftmaxCrossEntropy(), Y, SOFT),
    "xent_sequence": (bp.SoftmaxCrossEntropy(), Y.reshape(2, 3, 4), LABELS.reshape(2, 3)),
    "bce_prob": (bp.BinaryCrossEntropy(), P, T_BIN),
    "bce_logits": (bp.BinaryCrossEntropy(from_logits=True), Y, T_BIN),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_gradcheck(name):
    loss, y, t = CASES[name]
    result = bp.gradcheck(loss, y, t)
    assert result.max_rel_error <= 1e-7, str(result)


def test_loss_values_by_hand():
    y = np.array([[0.5, 1.0], [2.0, 0.0]])
    t = np.array([[0.0, 1.0], [1.0, 1.0]])
    # squared: ½(0.25 + 0 + 1 + 1) = 1.125 summed; 0.5625 mean over 2 examples
    assert bp.SquaredError().value(y, t) == pytest.approx(1.125)
    assert bp.SquaredError("mean").value(y, t) == pytest.approx(0.5625)
    # mse: (0.25 + 0 + 1 + 1) / 4
    assert bp.MeanSquaredError().value(y, t) == pytest.approx(0.5625)
    # cross-entropy of logits (0, ln 3) with label 1: −log(3/4)
    assert bp.SoftmaxCrossEntropy().value(
        np.array([[0.0, np.log(3)]]), np.array([1])
    ) == pytest.approx(-np.log(0.75))


def test_fused_cross_entropy_is_stable_and_matches_bce_logits():
    y = np.array([[1000.0, -1000.0]])
    loss, dy = bp.SoftmaxCrossEntropy().value_and_grad(y, np.array([1]))
    assert loss == pytest.approx(2000.0) and np.isfinite(dy).all()
    loss, dy = bp.BinaryCrossEntropy(from_logits=True).value_and_grad(
        np.array([[800.0]]), np.array([[0.0]])
    )
    assert loss == pytest.approx(800.0) and np.isfinite(dy).all()


def test_mean_reduction_is_sum_over_n():
    for cls in (bp.SquaredError, bp.SoftmaxCrossEntropy):
        t = LABELS if cls is bp.SoftmaxCrossEntropy else T_REAL
        ls, gs = cls("sum").value_and_grad(Y.copy(), t)
        lm, gm = cls("mean").value_and_grad(Y.copy(), t)
        assert lm == pytest.approx(ls / 6)
        np.testing.assert_allclose(gm, gs / 6)


def test_targets_are_checked():
    with pytest.raises(ValueError, match="class labels must be integers in"):
        bp.SoftmaxCrossEntropy().prepare_targets(np.array([0, 4]), 4)
    with pytest.raises(ValueError, match="3 outputs"):
        bp.SquaredError().prepare_targets(np.ones((5, 2)), 3)
    with pytest.raises(ValueError, match="does not match"):
        bp.SquaredError().value_and_grad(np.ones((2, 2)), np.ones((2, 3)))
    onehot = bp.SquaredError().prepare_targets(np.array([2, 0]), 3)
    np.testing.assert_array_equal(onehot, [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="reduction"):
        bp.SquaredError("avg")
