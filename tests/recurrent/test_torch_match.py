"""Forward values (and gradients) against PyTorch's nn.LSTM / nn.GRU / nn.RNN with the same
weights, over several steps from a non-zero initial state."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bprop.recurrent import GRU, LSTM, Elman, Recurrent  # noqa: E402

N, T, D, H = 3, 7, 4, 5


def _data(seed, n_states):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, T, D))
    states = [rng.normal(size=(N, H)) for _ in range(n_states)]
    return X, states


def _compare(module, cell, X, states, torch_state):
    module = module.double()
    cell.load_torch_module(module)
    tX = torch.tensor(X, requires_grad=True)
    out, final = module(tX, torch_state)
    rnn = Recurrent(cell)
    y, cache = rnn.forward(X, initial_state=tuple(states))
    np.testing.assert_allclose(y, out.detach().numpy(), rtol=0, atol=1e-12)
    finals = final if isinstance(final, tuple) else (final,)
    for mine, theirs in zip(cache.final_state, finals, strict=False):
        np.testing.assert_allclose(mine, theirs[0].detach().numpy(), rtol=0, atol=1e-12)
    # gradients of a random projection of the outputs, both ways
    proj = np.random.default_rng(0).normal(size=y.shape)
    (out * torch.tensor(proj)).sum().backward()
    cell.zero_grad()
    dx = rnn.backward(proj, cache)
    np.testing.assert_allclose(dx, tX.grad.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        cell.grads["W_hh"], module.weight_hh_l0.grad.numpy(), rtol=0, atol=1e-10
    )
    np.testing.assert_allclose(
        cell.grads["W_ih"], module.weight_ih_l0.grad.numpy(), rtol=0, atol=1e-10
    )


def test_lstm_matches_torch():
    torch.manual_seed(0)
    module = torch.nn.LSTM(D, H, batch_first=True)
    X, (h0, c0) = _data(1, 2)
    cell = LSTM(D, H).astype(np.float64)
    _compare(module, cell, X, (h0, c0), (torch.tensor(h0)[None], torch.tensor(c0)[None]))
    b = (module.bias_ih_l0 + module.bias_hh_l0).detach().numpy()
    np.testing.assert_allclose(cell.params["b"], b, atol=1e-15)


def test_gru_matches_torch():
    torch.manual_seed(1)
    module = torch.nn.GRU(D, H, batch_first=True)
    X, (h0,) = _data(2, 1)
    _compare(module, GRU(D, H).astype(np.float64), X, (h0,), torch.tensor(h0)[None])


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_elman_matches_torch_rnn(activation):
    torch.manual_seed(2)
    module = torch.nn.RNN(D, H, nonlinearity=activation, batch_first=True)
    X, (h0,) = _data(3, 1)
    cell = Elman(D, H, activation=activation).astype(np.float64)
    _compare(module, cell, X, (h0,), torch.tensor(h0)[None])


def test_float32_lstm_forward_matches_torch():
    torch.manual_seed(3)
    module = torch.nn.LSTM(D, H, batch_first=True)
    X, (h0, c0) = _data(4, 2)
    cell = LSTM(D, H).load_torch_module(module)
    y, _ = Recurrent(cell).forward(X.astype(np.float32), initial_state=(h0, c0))
    out, _ = module(
        torch.tensor(X, dtype=torch.float32),
        (torch.tensor(h0, dtype=torch.float32)[None], torch.tensor(c0, dtype=torch.float32)[None]),
    )
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, out.detach().numpy(), rtol=0, atol=2e-6)
