"""bprop explain for the recurrent types: the traced numbers against the library's own
gradients (Recurrent's BPTT, tbptt_updates, finite differences), and the HTML page."""

from html.parser import HTMLParser

import numpy as np
import pytest

import bprop as bp
from bprop.cli import main
from bprop.explain import ExplainError, explain, gather_bptt, gather_rtrl, gather_settling
from bprop.explain.recurrent import echo_task, tiny_network
from bprop.explain.settling import tiny_settling


def _table(ex, step, title):
    for s in ex.steps[step]:
        if s.title.startswith(title):
            return s
    raise AssertionError(f"no section {title!r} in {[s.title for s in ex.steps[step]]}")


def _grads(ex, step=0):
    return np.array([r[2] for r in _table(ex, step, "Gradients").rows], float)


def _library_bptt(cell, T=4, seed=0):
    """∂L/∂θ and ‖∂L/∂h_t‖ by the library's fast BPTT path on the same net and sequence."""
    net = tiny_network(cell, seed=seed)
    net.layers[0].record_grad_norms = True
    X, Y = echo_task(T, seed=seed)
    net.space.zero_grad()
    y, cache = net.forward(X, train=True)
    _, dy = bp.SquaredError().value_and_grad(y, Y)
    net.backward(dy, cache)
    return net.space.grads.copy(), np.asarray(net.layers[0].grad_norms)


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
def test_bptt_trace_matches_the_library_gradient(cell):
    ex = gather_bptt(cell, T=4)
    grads, norms = _library_bptt(cell)
    np.testing.assert_allclose(_grads(ex), grads, rtol=1e-10, atol=1e-13)
    back = _table(ex, 0, "Backward through time")
    col = back.headers.index("‖∂L/∂h_t‖")
    traced = np.array([r[col] for r in back.rows][::-1], float)  # rows run t = T … 1
    np.testing.assert_allclose(traced, norms, rtol=1e-10)
    assert sum(h.startswith("δ") for h in back.headers) == {"elman": 2, "lstm": 8, "gru": 6}[cell]


def test_lstm_gate_deltas_are_the_bias_gradients_per_step():
    ex = gather_bptt("lstm", T=3)
    back = _table(ex, 0, "Backward through time")
    first = back.headers.index("δi1")
    total = np.sum([r[first:] for r in back.rows], axis=0)
    rows = _table(ex, 0, "Gradients").rows
    bias = [r[2] for r in rows if r[0].startswith("b[")]
    np.testing.assert_allclose(total, bias, rtol=1e-10, atol=1e-14)


def test_truncated_chunks_match_tbptt_updates():
    from bprop.recurrent import tbptt_updates

    T, k1, k2, lr = 7, 2, 3, 0.1
    ex = gather_bptt("elman", T=T, k1=k1, k2=k2, lr=lr)
    net = tiny_network("elman")
    X, Y = echo_task(T)
    chunks = 0
    for m, _ in enumerate(tbptt_updates(net, bp.SquaredError(), X, Y, k1, k2)):
        np.testing.assert_allclose(_grads(ex, m), net.space.grads, rtol=1e-9, atol=1e-13)
        net.space.params -= lr * net.space.grads
        chunks += 1
    assert chunks == len(ex.steps) == 4
    # chunk 2 (steps 3, 4) reaches back to step 2 only: k2 = 3
    assert [r[0] for r in _table(ex, 1, "Backward").rows] == ["4", "3", "2"]


def test_rtrl_sensitivities_are_finite_differences_of_the_state():
    T = 3
    ex = gather_rtrl(T=T, realtime=False)
    net = tiny_network("elman")
    X, _ = echo_task(T)
    cell, h = net.layers[0].cell, 1e-6

    def states(theta):
        keep = net.space.params.copy()
        net.space.params[: theta.size] = theta
        out = net.layers[0].forward(X)[0][0]  # (T, H)
        net.space.params[:] = keep
        return out

    n = sum(cell.params[k].size for k in ("W_ih", "W_hh", "b"))
    theta0 = net.space.params[:n].copy()
    numeric = np.zeros((T, cell.n_hidden, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = h
        numeric[:, :, i] = (states(theta0 + e) - states(theta0 - e)) / (2 * h)
    for t in range(T):
        P = np.array([r[1:] for r in _table(ex, t, "Sensitivities").rows], float)
        np.testing.assert_allclose(P, numeric[t], rtol=1e-6, atol=1e-9)
    # the summed e_t P_t is full BPTT's gradient of the cell's weights
    total = _table(ex, T - 1, "This step's gradient").rows[-1][1:]
    grads, _ = _library_bptt("elman", T=T)
    np.testing.assert_allclose(total, grads[:n], rtol=1e-9, atol=1e-13)


def test_almeida_pineda_gradient_is_the_finite_difference_of_the_loss():
    ex = gather_settling(lr=0.5)
    net = tiny_settling()
    u, t = np.array([[0.5, -1.0]]), np.array([[0.8]])

    def loss():
        return bp.SquaredError().value_and_grad(net.forward(u)[0], t)[0]

    p, h = net.space.params, 1e-6
    numeric = []
    for i in range(p.size):
        p[i] += h
        up = loss()
        p[i] -= 2 * h
        down = loss()
        p[i] += h
        numeric.append((up - down) / (2 * h))
    np.testing.assert_allclose(_grads(ex), numeric, rtol=1e-6, atol=1e-10)
    fwd = _table(ex, 0, "Forward relaxation")
    adj = _table(ex, 0, "Adjoint relaxation")
    assert len(fwd.rows) > 3 and len(adj.rows) > 3
    assert fwd.rows[-1][-1] < 1e-10 and fwd.rows[0][-1] > 1e-3  # the residual falls
    x_star = net.layers[0].forward(u)[1].x[0]
    np.testing.assert_allclose(fwd.rows[-1][1:-1], x_star, rtol=1e-12)


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links, self.svg = [], [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "a" and a.get("href", "").startswith("#"):
            self.links.append(a["href"][1:])
        self.svg += tag == "svg"


@pytest.mark.parametrize("algorithm", ["backprop", "bptt", "tbptt", "rtrl", "almeida-pineda"])
def test_html_page_draws_the_network_and_links_every_section(algorithm):
    page = explain(algorithm=algorithm, fmt="html", arithmetic=True, T=3, steps=2)
    p = _Anchors()
    p.feed(page)
    assert p.svg == 1
    assert len(p.ids) == len(set(p.ids))
    assert p.links and set(p.links) <= set(p.ids)
    assert "<line" in page and "<title>" in page


def test_cli_explain_recurrent(tmp_path, capsys):
    assert main(["explain", "--algorithm", "bptt", "--cell", "lstm", "--length", "3"]) == 0
    out = capsys.readouterr().out
    assert "Backward through time" in out and "δf1" in out
    page = tmp_path / "t.html"
    assert (
        main(
            ["explain", "--algorithm", "tbptt", "--k1", "2", "--format", "html", "--out", str(page)]
        )
        == 0
    )
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["explain", "--algorithm", "tbptt", "--k1", "3", "--k2", "2"]) == 2
    assert "k2" in capsys.readouterr().err
    assert main(["explain", "--algorithm", "rtrl", "--frozen", "--length", "2"]) == 0
    assert "Σ e P" in capsys.readouterr().out
    assert main(["explain", "--frozen"]) == 2
    assert "rtrl only" in capsys.readouterr().err


def test_user_recurrent_network_and_sequence(tmp_path):
    from bprop.recurrent import GRU, Recurrent, TimeDistributed

    net = tiny_network("gru", n_in=2, hidden=3, n_out=1, seed=4)
    path = tmp_path / "gru.bprop"
    bp.save(net, path)
    x, y = "0.1,0.2;0.3,-0.4;0.5,0.6", "0;0.25;-0.5"
    text = explain(network=path, algorithm="bptt", inputs=x, targets=y, fmt="md")
    assert "| 3 |" in text and "δn3" in text
    with pytest.raises(ExplainError, match="maps 2 inputs to 1 outputs"):
        explain(network=path, algorithm="bptt")  # the echo task needs n_in == n_out
    stacked = bp.Sequential(
        Recurrent(GRU(1, 2, rng=0)), Recurrent(GRU(2, 2, rng=1)), TimeDistributed(bp.Dense(2, 1))
    )
    with pytest.raises(ExplainError, match="NaN"):
        explain(network=path, algorithm="bptt", inputs="0.1,nan;0,0", targets="1;2")
    with pytest.raises(ExplainError, match="both"):
        explain(algorithm="almeida-pineda", inputs="0.5,1")
    with pytest.raises(ExplainError, match="NaN"):
        explain(algorithm="almeida-pineda", inputs="0.5,inf", targets="1")
    with pytest.raises(ExplainError, match="Elman cell, not GRU"):
        explain(network=path, algorithm="rtrl", inputs=x, targets=y)
    with pytest.raises(ExplainError, match="one recurrent layer"):
        explain(network=stacked, algorithm="bptt")
    last_only = bp.Sequential(Recurrent(GRU(1, 2, rng=0), return_sequences=False), bp.Dense(2, 1))
    with pytest.raises(ExplainError, match="every step"):
        explain(network=last_only, algorithm="tbptt")
