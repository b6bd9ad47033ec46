"""Variable-length sequences (issue 15): a padded batch with lengths gives exactly what running
each sequence alone gives — loss, gradients, final states — on every cell, both paths, both
output kinds, stacked and through the losses' reductions; gradient checks with masks; errors."""

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent import GRU, LSTM, Elman, Recurrent, TimeDistributed, pad_sequences
from bprop.recurrent.lengths import mask, masked_loss, reverse_within

CELLS = {"elman": Elman, "lstm": LSTM, "gru": GRU}
LENGTHS = (5, 2, 7, 1)


def sequences(seed=0, D=3):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, D)) for n in LENGTHS]


def net_for(cell, fast, seq, stacked=False):
    with bp.backend.default_dtype("float64"):
        layers = [Recurrent(CELLS[cell](3, 4, rng=1), return_sequences=seq or stacked, fast=fast)]
        if stacked:
            layers.append(Recurrent(CELLS[cell](4, 4, rng=2), return_sequences=seq, fast=fast))
        head = bp.Dense(4, 2, rng=3)
        return bp.Sequential(*layers, TimeDistributed(head) if seq else head)


def grads_of(net, loss, X, y, lengths=None):
    net.zero_grad()
    out, cache = net.forward(X, train=True, lengths=lengths)
    value, dy = masked_loss(loss, out, y, lengths)
    net.backward(dy, cache)
    return value, net.space.grads.copy()


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("seq", [True, False])
@pytest.mark.parametrize("stacked", [False, True])
def test_a_padded_batch_equals_each_sequence_alone(cell, fast, seq, stacked):
    seqs = sequences()
    rng = np.random.default_rng(1)
    labels = [rng.integers(0, 2, size=len(s)) for s in seqs] if seq else rng.integers(0, 2, 4)
    X, lengths = pad_sequences(seqs)
    X[np.arange(X.shape[1])[None, :] >= lengths[:, None]] = 7.0  # padding holds anything
    Y = pad_sequences(labels)[0] if seq else labels
    net = net_for(cell, fast, seq, stacked)
    loss = bp.SoftmaxCrossEntropy(reduction="sum")
    value, grads = grads_of(net, loss, X, Y, lengths)
    alone = [grads_of(net, loss, s[None], labels[i][None]) for i, s in enumerate(seqs)]
    assert value == pytest.approx(sum(v for v, _ in alone), rel=1e-13)
    np.testing.assert_allclose(grads, sum(g for _, g in alone), rtol=1e-11, atol=1e-14)


def test_the_mean_is_over_real_steps():
    seqs = sequences()
    labels = [np.random.default_rng(i).integers(0, 2, size=len(s)) for i, s in enumerate(seqs)]
    X, lengths = pad_sequences(seqs)
    net = net_for("lstm", True, True)
    mean, grads = grads_of(net, bp.SoftmaxCrossEntropy(), X, pad_sequences(labels)[0], lengths)
    total, sum_grads = grads_of(
        net, bp.SoftmaxCrossEntropy("sum"), X, pad_sequences(labels)[0], lengths
    )
    assert mean == pytest.approx(total / sum(LENGTHS), rel=1e-13)
    np.testing.assert_allclose(grads, sum_grads / sum(LENGTHS), rtol=1e-12)


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("fast", [True, False])
def test_state_is_frozen_after_each_end_and_outputs_there_are_zero(cell, fast):
    seqs = sequences(3)
    X, lengths = pad_sequences(seqs)
    with bp.backend.default_dtype("float64"):
        rnn = Recurrent(CELLS[cell](3, 4, rng=0), fast=fast)
    y, cache = rnn.forward(X, lengths=lengths)
    for n, s in enumerate(seqs):
        y1, c1 = rnn.forward(s[None])
        np.testing.assert_allclose(y[n, : len(s)], y1[0], rtol=1e-13, atol=1e-15)
        assert not np.any(y[n, len(s) :])
        for part, part1 in zip(cache.final_state, c1.final_state, strict=True):
            np.testing.assert_allclose(part[n], part1[0], rtol=1e-13, atol=1e-15)
    last = Recurrent(rnn.cell, return_sequences=False, fast=fast)
    h = last.forward(X, lengths=lengths)[0]
    np.testing.assert_allclose(h, y[np.arange(4), lengths - 1], rtol=1e-13)


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("seq", [True, False])
def test_gradcheck_with_masks_through_20_steps(cell, seq):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(2, 20, 2))
    lengths = np.array([20, 6])
    y = rng.integers(0, 2, size=(2, 20) if seq else 2)
    with bp.backend.default_dtype("float64"):
        head = bp.Dense(3, 2, rng=3)
        net = bp.Sequential(
            Recurrent(CELLS[cell](2, 3, rng=1), return_sequences=seq),
            TimeDistributed(head) if seq else head,
        )
    result = bp.gradcheck(net, X, y, loss=bp.SoftmaxCrossEntropy(), lengths=lengths)
    assert result.max_rel_error <= 1e-6, str(result)


def test_masked_loss_ignores_padded_positions_whatever_they_hold():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(2, 4, 3))
    t = rng.normal(size=(2, 4, 3))
    lengths = np.array([4, 1])
    value, dy = masked_loss(bp.MeanSquaredError(), y, t, lengths)
    y2, t2 = y.copy(), t.copy()
    y2[1, 1:], t2[1, 1:] = 1e3, -1e3
    value2, dy2 = masked_loss(bp.MeanSquaredError(), y2, t2, lengths)
    real = np.concatenate([y[0], y[1, :1]]) - np.concatenate([t[0], t[1, :1]])
    assert value == value2 == pytest.approx((real**2).mean(), rel=1e-14)
    assert not np.any(dy[1, 1:]) and np.array_equal(dy, dy2)


def test_time_distributed_masks_outputs_and_gradients():
    with bp.backend.default_dtype("float64"):
        td = TimeDistributed(bp.Dense(2, 2, rng=0))
    X = np.ones((2, 3, 2))
    y, cache = td.forward(X, train=True, lengths=[3, 1])
    assert not np.any(y[1, 1:]) and np.all(y[0] == y[0, 0])
    td.backward(np.ones_like(y), cache)
    np.testing.assert_allclose(td.grads["b"], [4.0, 4.0])  # 3 + 1 real positions


def test_time_distributed_batchnorm_takes_its_statistics_over_real_steps_only():
    x = np.random.default_rng(0).normal(size=(2, 4, 3))
    x[1, 2:] = 100.0  # padding that would dominate the batch statistics
    with bp.backend.default_dtype("float64"):
        td = TimeDistributed(bp.BatchNorm(3))
        bn = bp.BatchNorm(3)
    y, cache = td.forward(x, train=True, lengths=[4, 2])
    real = np.concatenate([x[0], x[1, :2]])
    np.testing.assert_allclose(y[0], bn.forward(real, train=True)[0][:4], rtol=1e-12)
    assert not np.any(y[1, 2:])
    dx = td.backward(np.ones_like(y), cache)
    assert dx.shape == x.shape and not np.any(dx[1, 2:])


def test_helpers():
    X, lengths = pad_sequences([[1, 2, 3], [4]])
    assert X.tolist() == [[1, 2, 3], [4, 0, 0]] and lengths.tolist() == [3, 1]
    assert mask([1, 3], 3).tolist() == [[True, False, False], [True, True, True]]
    x = np.arange(8).reshape(2, 4)
    r = reverse_within(x, [3, 4])
    assert r.tolist() == [[2, 1, 0, 3], [7, 6, 5, 4]]
    np.testing.assert_array_equal(reverse_within(r, [3, 4]), x)


@pytest.mark.parametrize(
    ("lengths", "message"),
    [
        ([3, 0], r"1 … 3"),
        ([3, 4], r"1 … 3"),
        ([3], r"one length per sequence"),
        ([1.5, 2], "whole"),
    ],
)
def test_bad_lengths_are_refused_clearly(lengths, message):
    rnn = Recurrent(LSTM(2, 3, rng=0))
    with pytest.raises(ValueError, match=message):
        rnn.forward(np.zeros((2, 3, 2)), lengths=np.array(lengths))


def test_a_final_state_gradient_is_refused_with_lengths():
    rnn = Recurrent(GRU(2, 3, rng=0))
    y, cache = rnn.forward(np.zeros((2, 3, 2)), train=True, lengths=[3, 1])
    with pytest.raises(ValueError, match="not supported with lengths"):
        rnn.backward(np.ones_like(y), cache, dfinal_state=(np.ones((2, 3)),))


def test_a_prefix_mask_gives_lengths_and_a_mask_with_gaps_is_refused():
    from bprop.recurrent.lengths import lengths_from_mask

    assert lengths_from_mask(mask([2, 3, 1], 3)).tolist() == [2, 3, 1]
    with pytest.raises(ValueError, match="gaps"):
        lengths_from_mask([[True, False, True]])


def test_pad_sequences_refuses_empty_and_mismatched_sequences():
    with pytest.raises(ValueError, match="empty"):
        pad_sequences([np.ones((2, 1)), np.ones((0, 1))])
    with pytest.raises(ValueError, match="steps of shape"):
        pad_sequences([np.ones((2, 1)), np.ones((2, 2))])
