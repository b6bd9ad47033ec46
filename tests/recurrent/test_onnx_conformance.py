"""The ONNX recurrent node cases shipped with the ``onnx`` package
(``onnx/backend/test/data/node/test_{lstm,gru,rnn,simple_rnn}_*``): each case's weights and
inputs loaded into bprop's cells, run by :class:`bprop.recurrent.Recurrent`, against the
case's expected outputs. Also the loader's gate orders against a hand permutation, and its
errors."""

from pathlib import Path

import numpy as np
import pytest

from bprop.recurrent import GRU, LSTM, Elman, GRUResetBefore, PeepholeLSTM, Recurrent
from bprop.recurrent.onnx_weights import cell_from_onnx, load_onnx, to_onnx

onnx = pytest.importorskip("onnx")
from onnx import numpy_helper  # noqa: E402

NODE_DATA = Path(onnx.__file__).parent / "backend" / "test" / "data" / "node"
PREFIXES = ("test_lstm_", "test_gru_", "test_rnn_", "test_simple_rnn_")
CASES = sorted(p.name for p in NODE_DATA.glob("test_*") if p.name.startswith(PREFIXES))
WEIGHTS = ("W", "R", "B", "P")


def test_the_cases_are_there():
    """onnx < 1.23 ships the node data; the suite names every case it expects."""
    assert {"test_lstm_with_peepholes", "test_gru_seq_length", "test_rnn_seq_length"} <= set(CASES)
    assert len(CASES) >= 12


def read_case(name):
    case = NODE_DATA / name
    node = onnx.load(case / "model.onnx").graph.node[0]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    files = sorted((case / "test_data_set_0").glob("input_*.pb"))
    given = [n for n in node.input if n]
    inputs = {
        n: numpy_helper.to_array(onnx.load_tensor(f)) for n, f in zip(given, files, strict=True)
    }
    files = sorted((case / "test_data_set_0").glob("output_*.pb"))
    made = [n for n in node.output if n]
    outputs = {
        n: numpy_helper.to_array(onnx.load_tensor(f)) for n, f in zip(made, files, strict=True)
    }
    return node.op_type, attrs, inputs, outputs


@pytest.mark.parametrize("name", CASES)
def test_onnx_node_case(name):
    op, attrs, inputs, expected = read_case(name)
    layout = attrs.pop("layout", 0)
    for k in ("activations", "clip", "input_forget", "linear_before_reset", "hidden_size"):
        attrs.setdefault(k, None if k in ("activations", "clip", "hidden_size") else 0)
    if isinstance(attrs.get("direction"), bytes):
        attrs["direction"] = attrs["direction"].decode()
    weights = {k: inputs[k].astype(np.float64) for k in WEIGHTS if k in inputs}
    cell = cell_from_onnx(op, **weights, **attrs, dtype="float64")
    X = inputs["X"].astype(np.float64)
    X = X if layout else X.transpose(1, 0, 2)  # bprop: (N, T, D)
    N = X.shape[0]
    lengths = inputs.get("sequence_lens")  # ONNX's sequence_lens are bprop's lengths
    state0 = []
    for key in ("initial_h", "initial_c")[: len(cell.state_names)]:
        s = inputs.get(key)
        s = np.zeros((N, cell.n_hidden)) if s is None else s.astype(np.float64)
        state0.append(s[:, 0] if layout and s.ndim == 3 else s[0] if s.ndim == 3 else s)
    y, cache = Recurrent(cell).forward(X, initial_state=tuple(state0), lengths=lengths)
    got = {"Y": y[:, :, None] if layout else y.transpose(1, 0, 2)[:, None]}
    got["Y_h"] = cache.final_state[0][:, None] if layout else cache.final_state[0][None]
    if len(cache.final_state) > 1:
        got["Y_c"] = cache.final_state[1][:, None] if layout else cache.final_state[1][None]
    assert expected
    for k, want in expected.items():
        np.testing.assert_allclose(got[k], want, rtol=1e-5, atol=1e-6, err_msg=f"{name}: {k}")


@pytest.mark.parametrize(
    "name, cls",
    [("test_lstm_with_peepholes", PeepholeLSTM), ("test_gru_seq_length", GRUResetBefore)],
)
def test_the_cases_the_plain_cells_could_not_express_build_the_variants(name, cls):
    op, attrs, inputs, _ = read_case(name)
    weights = {k: inputs[k] for k in WEIGHTS if k in inputs}
    assert type(cell_from_onnx(op, **weights, **attrs)) is cls


def test_gate_orders_by_hand():
    """ONNX LSTM iofc → bprop ifgo, GRU zrh → rzn, peepholes iof → ifo; and back."""
    rng = np.random.default_rng(0)
    H, D = 2, 3
    blocks = [rng.normal(size=(H, D)) for _ in range(4)]  # ONNX i, o, f, c
    rblocks = [rng.normal(size=(H, H)) for _ in range(4)]
    bias = rng.normal(size=8 * H)
    P = rng.normal(size=3 * H)  # ONNX p_i, p_o, p_f
    cell = load_onnx(
        PeepholeLSTM(D, H, rng=0),
        np.vstack(blocks)[None],
        np.vstack(rblocks)[None],
        bias[None],
        P[None],
    )
    i, o, f, c = blocks
    np.testing.assert_allclose(cell.params["W_ih"], np.vstack([i, f, c, o]), rtol=1e-6)
    Wb, Rb = np.split(bias[: 4 * H], 4), np.split(bias[4 * H :], 4)
    b = [Wb[k] + Rb[k] for k in (0, 2, 3, 1)]
    np.testing.assert_allclose(cell.params["b"], np.concatenate(b), rtol=1e-6)
    np.testing.assert_allclose(
        cell.params["p"], np.concatenate([P[:H], P[2 * H :], P[H : 2 * H]]), rtol=1e-6
    )
    back = to_onnx(cell)
    np.testing.assert_allclose(back["W"][0], np.vstack(blocks), rtol=1e-6)
    np.testing.assert_allclose(back["P"][0], P, rtol=1e-6)

    z, r, h = (rng.normal(size=(H, D)) for _ in range(3))
    gru = load_onnx(GRU(D, H, rng=0), np.vstack([z, r, h]), np.zeros((3 * H, H)))
    np.testing.assert_array_equal(gru.params["W_ih"], np.vstack([r, z, h]).astype(np.float32))


def test_loader_errors_are_clear():
    W, R = np.zeros((1, 8, 3)), np.zeros((1, 8, 2))
    with pytest.raises(ValueError, match="bidirectional"):
        cell_from_onnx("LSTM", np.zeros((2, 8, 3)), np.zeros((2, 8, 2)))
    with pytest.raises(ValueError, match="direction='reverse'"):
        cell_from_onnx("LSTM", W, R, direction="reverse")
    with pytest.raises(ValueError, match="clip"):
        cell_from_onnx("LSTM", W, R, clip=3.0)
    with pytest.raises(ValueError, match="activations"):
        cell_from_onnx("LSTM", W, R, activations=["Sigmoid", "Tanh", "Relu"])
    with pytest.raises(ValueError, match="'RNN', 'LSTM' or 'GRU'"):
        cell_from_onnx("Conv", W, R)
    with pytest.raises(ValueError, match="expects"):
        load_onnx(LSTM(3, 3, rng=0), W, R)
    with pytest.raises(ValueError, match="has none"):
        load_onnx(LSTM(3, 2, rng=0), W, R, P=np.ones(6))
    assert cell_from_onnx("RNN", W[:, :2], R[:, :2], activations=["Relu"]).activation == "relu"
    assert type(cell_from_onnx("RNN", W[:, :2], R[:, :2])) is Elman
