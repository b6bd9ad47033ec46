"""Bidirectional (issue 15): equal to PyTorch's bidirectional RNN/LSTM/GRU on the same weights —
outputs, final states and gradients, with and without lengths (packed sequences) — gradient
checks, the merges, a padded batch equal to each sequence alone, and saving."""

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent import GRU, LSTM, Bidirectional, Elman, TimeDistributed, pad_sequences

N, T, D, H = 3, 6, 4, 5
LENGTHS = np.array([6, 3, 1])
TORCH = {"lstm": ("LSTM", LSTM), "gru": ("GRU", GRU), "elman": ("RNN", Elman)}


def bidirectional(cell, merge="concat", seq=True, fast=True, d=D, h=H):
    cls = TORCH[cell][1]
    with bp.backend.default_dtype("float64"):
        return Bidirectional(cls(d, h, rng=0), cls(d, h, rng=1), merge, seq, fast)


@pytest.mark.parametrize("cell", list(TORCH))
@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "packed"])
@pytest.mark.parametrize("seq", [True, False])
def test_equals_torch_bidirectional(cell, fast, lengths, seq):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = getattr(torch.nn, TORCH[cell][0])(D, H, batch_first=True, bidirectional=True)
    module = module.double()
    bi = bidirectional(cell, seq=seq, fast=fast).load_torch_module(module)
    X = np.random.default_rng(0).normal(size=(N, T, D))
    tX = torch.tensor(X, requires_grad=True)
    if lengths is None:
        out, final = module(tX)
    else:
        pack = torch.nn.utils.rnn.pack_padded_sequence(
            tX, torch.tensor(lengths), batch_first=True, enforce_sorted=False
        )
        packed_out, final = module(pack)
        out = torch.nn.utils.rnn.pad_packed_sequence(packed_out, True, total_length=T)[0]
    h_n = final[0] if isinstance(final, tuple) else final  # (2, N, H): forward, backward
    theirs = out if seq else torch.cat([h_n[0], h_n[1]], dim=1)
    y, cache = bi.forward(X, train=True, lengths=lengths)
    np.testing.assert_allclose(y, theirs.detach().numpy(), rtol=0, atol=1e-12)
    proj = np.random.default_rng(1).normal(size=y.shape)
    (theirs * torch.tensor(proj)).sum().backward()
    dx = bi.backward(proj, cache)
    np.testing.assert_allclose(dx, tX.grad.numpy(), rtol=0, atol=1e-10)
    for prefix, sfx in (("fwd", "_l0"), ("bwd", "_l0_reverse")):
        for mine, name in (("W_ih", "weight_ih"), ("W_hh", "weight_hh")):
            grad = getattr(module, name + sfx).grad.numpy()
            np.testing.assert_allclose(bi.grads[f"{prefix}_{mine}"], grad, rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    ("cell", "merge"), [("lstm", "concat"), ("gru", "concat"), ("elman", "sum")]
)
def test_gradcheck_through_20_steps_with_lengths(cell, merge):
    bi = bidirectional(cell, merge, d=2, h=3)
    with bp.backend.default_dtype("float64"):
        net = bp.Sequential(bi, TimeDistributed(bp.Dense(bi.n_out, 2, rng=3)))
    rng = np.random.default_rng(2)
    X = rng.normal(size=(2, 20, 2))
    y = rng.integers(0, 2, size=(2, 20))
    result = bp.gradcheck(net, X, y, loss=bp.SoftmaxCrossEntropy(), lengths=np.array([20, 7]))
    assert result.max_rel_error <= 1e-6, str(result)


def test_sum_merge_is_the_sum_of_the_concat_halves():
    X = np.random.default_rng(3).normal(size=(N, T, D))
    cat = bidirectional("gru")(X)
    summed = bidirectional("gru", "sum")(X)
    np.testing.assert_allclose(summed, cat[..., :H] + cat[..., H:], rtol=1e-14)


@pytest.mark.parametrize("seq", [True, False])
def test_a_padded_batch_equals_each_sequence_alone(seq):
    rng = np.random.default_rng(4)
    seqs = [rng.normal(size=(n, D)) for n in LENGTHS]
    X, lengths = pad_sequences(seqs)
    bi = bidirectional("lstm", seq=seq)
    bi.zero_grad()
    y, cache = bi.forward(X, train=True, lengths=lengths)
    proj = rng.normal(size=y.shape)
    dx = bi.backward(proj, cache)
    grads = {k: g.copy() for k, g in bi.grads.items()}
    bi.zero_grad()
    for n, s in enumerate(seqs):
        yn, cn = bi.forward(s[None], train=True)
        ref = y[n, : len(s)] if seq else y[n]
        np.testing.assert_allclose(yn[0], ref, rtol=1e-13, atol=1e-15)
        dxn = bi.backward(proj[n : n + 1, : len(s)] if seq else proj[n : n + 1], cn)
        np.testing.assert_allclose(dxn[0], dx[n, : len(s)], rtol=1e-12, atol=1e-15)
        assert not np.any(dx[n, len(s) :])
    for k, g in bi.grads.items():
        np.testing.assert_allclose(g, grads[k], rtol=1e-11, atol=1e-14)


def test_saves_loads_and_trains_in_a_model(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(8, 5, 2))
    y = rng.integers(0, 2, size=8)
    with bp.backend.default_dtype("float64"):
        net = bp.Sequential(
            Bidirectional(LSTM(2, 3, rng=0), GRU(2, 4, rng=1), return_sequences=False),
            bp.Dense(7, 2, rng=2),
        )
    lengths = rng.integers(1, 6, size=8)
    bp.fit(net, X, y, optimizer=bp.Adam(0.01), epochs=2, verbose=0, lengths=lengths)
    path = str(tmp_path / "bi.bprop")
    bp.save(net, path)
    net2 = bp.load(path)
    np.testing.assert_array_equal(net2.predict(X, lengths=lengths), net.predict(X, lengths=lengths))
    assert isinstance(net2.layers[0], Bidirectional) and net2.layers[0].cell_bwd.n_hidden == 4


def test_bad_pairs_are_refused():
    with pytest.raises(ValueError, match="different sizes"):
        Bidirectional(LSTM(2, 3), LSTM(3, 3))
    with pytest.raises(ValueError, match="one hidden size"):
        Bidirectional(LSTM(2, 3), LSTM(2, 4), merge="sum")
    with pytest.raises(ValueError, match="merge"):
        Bidirectional(LSTM(2, 3), LSTM(2, 3), merge="mean")
    with pytest.raises(TypeError, match="two recurrent cells"):
        Bidirectional(LSTM(2, 3), bp.Dense(2, 3))
