"""ONNX export and import of bidirectional, variable-length, stacked and Embedding models
(issue 15 item 6): each exported file run in onnxruntime against bprop's predictions on padded
batches of mixed lengths (whatever the padding holds); what ONNX's ``sequence_lens`` means,
checked in onnxruntime itself; bidirectional ONNX nodes built directly in ONNX's layout loaded
into :class:`~bprop.recurrent.Bidirectional`; export → load round trips."""

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent import (
    GRU,
    LSTM,
    Bidirectional,
    Elman,
    PeepholeLSTM,
    Recurrent,
    TimeDistributed,
    bidirectional_from_onnx,
    cell_from_onnx,
    cells_from_onnx,
)
from bprop.recurrent.lengths import reverse_within

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

LENGTHS = np.array([5, 2, 7, 1])  # T = 7


def run_onnx(path, X, lengths=None):
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {"input": X}
    if lengths is not None:
        feeds["lengths"] = np.asarray(lengths, dtype=np.int64)
    return session.run(["output"], feeds)[0]


def assert_same(onnx_out, bprop_out):
    assert onnx_out.shape == bprop_out.shape
    err = np.abs(onnx_out - bprop_out).max() / max(np.abs(bprop_out).max(), 1e-30)
    assert err <= 1e-5, f"relative error {err:.3g}"


def padded_batch(D, lengths=LENGTHS, seed=0):
    """A (N, T, D) float32 batch whose padded steps hold large garbage, not zeros."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(len(lengths), int(max(lengths)), D)).astype(np.float32)
    pad = np.arange(X.shape[1])[None, :] >= np.asarray(lengths)[:, None]
    X[pad] = 50.0
    return X


def with_biases(cell, seed):
    for k, v in cell.params.items():  # non-zero biases, so every bias block is tested
        if v.ndim == 1:
            v[...] = np.random.default_rng(seed + len(k)).normal(scale=0.5, size=v.shape)
    return cell


CELLS = {
    "elman": lambda s: Elman(3, 4, rng=s),
    "elman_relu": lambda s: Elman(3, 4, activation="relu", init="glorot", rng=s),
    "lstm": lambda s: LSTM(3, 4, rng=s),
    "peephole": lambda s: PeepholeLSTM(3, 4, rng=s),
    "gru": lambda s: GRU(3, 4, rng=s),
    "gru_reset_before": lambda s: GRU(3, 4, reset_after=False, rng=s),
}


def export(net, tmp_path, lengths):
    path = str(tmp_path / "m.onnx")
    bp.export_onnx(net, path, lengths=lengths)
    return path


def onnx_node_model(op, direction, weights, attrs):
    """One ONNX recurrent node with the given weights, returning Y and Y_h."""
    D, H = weights["W"].shape[2], weights["R"].shape[2]
    inputs = ["X", "W", "R", "B", "L"] + (["", "", "P"] if "P" in weights else [])
    node = helper.make_node(op, inputs, ["Y", "Y_h"], hidden_size=H, direction=direction, **attrs)
    inits = [numpy_helper.from_array(a.astype(np.float32), k) for k, a in weights.items()]
    graph = helper.make_graph(
        [node],
        "case",
        [
            helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "N", D]),
            helper.make_tensor_value_info("L", TensorProto.INT32, ["N"]),
        ],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("Y", "Y_h")],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


# --- what ONNX's sequence_lens means, in onnxruntime -------------------------------------
@pytest.mark.parametrize("op", ["RNN", "LSTM", "GRU"])
def test_sequence_lens_is_each_sequence_run_alone(op):
    """A bidirectional node over a padded batch with sequence_lens gives, for every row, what
    the node gives on that row's real steps alone: Y zero at padded steps, forward Y_h at the
    row's own last step, the reverse direction starting at its own last real step (so its
    Y_h is the state after reading step 1)."""
    G = {"RNN": 1, "LSTM": 4, "GRU": 3}[op]
    H, D = 3, 2
    rng = np.random.default_rng(1)
    W, R = rng.normal(size=(2, G * H, D)), rng.normal(size=(2, G * H, H))
    B = rng.normal(size=(2, 2 * G * H))
    session = onnx_node_model(op, "bidirectional", {"W": W, "R": R, "B": B}, {})
    X = padded_batch(D).transpose(1, 0, 2)  # (T, N, D)
    Y, Y_h = session.run(None, {"X": X, "L": LENGTHS.astype(np.int32)})
    for n, L in enumerate(LENGTHS):
        alone = X[:L, n : n + 1]
        y, y_h = session.run(None, {"X": alone, "L": np.array([L], dtype=np.int32)})
        np.testing.assert_allclose(Y[:L, :, n], y[:, :, 0], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(Y[L:, :, n], 0)
        np.testing.assert_allclose(Y_h[:, n], y_h[:, 0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(Y_h[0, n], Y[L - 1, 0, n], rtol=1e-6)  # forward: h_L
        np.testing.assert_allclose(Y_h[1, n], Y[0, 1, n], rtol=1e-6)  # reverse: ←h_1


# --- export, against bprop's predictions -------------------------------------------------
@pytest.mark.parametrize("name", list(CELLS))
@pytest.mark.parametrize("merge", ["concat", "sum"])
@pytest.mark.parametrize("return_sequences", [True, False], ids=["seq2seq", "seq2one"])
def test_bidirectional_variable_length_model(name, merge, return_sequences, tmp_path):
    bi = Bidirectional(
        with_biases(CELLS[name](0), 0),
        with_biases(CELLS[name](1), 7),
        merge=merge,
        return_sequences=return_sequences,
    )
    head = with_biases(bp.Dense(bi.n_out, 2, rng=5), 3)  # non-zero at padded steps unmasked
    net = bp.Sequential(bi, TimeDistributed(head) if return_sequences else head)
    path = export(net, tmp_path, lengths=True)
    X = padded_batch(3)
    assert_same(run_onnx(path, X, LENGTHS), net.predict(X, lengths=LENGTHS))
    full = np.full(len(LENGTHS), X.shape[1])  # all full length: the plain model
    assert_same(run_onnx(path, X, full), net.predict(X))
    path = export(net, tmp_path, lengths=False)
    assert_same(run_onnx(path, X[:2, :3]), net.predict(X[:2, :3]))


@pytest.mark.parametrize("merge", ["concat", "sum"])
def test_bidirectional_of_two_kinds_of_cell_is_a_forward_and_a_reverse_node(merge, tmp_path):
    H = 5 if merge == "concat" else 4
    bi = Bidirectional(with_biases(LSTM(3, 4, rng=0), 1), GRU(3, H, rng=1), merge=merge)
    net = bp.Sequential(bi, TimeDistributed(with_biases(bp.Dense(bi.n_out, 2, rng=2), 4)))
    path = export(net, tmp_path, lengths=True)
    nodes = onnx.load(path).graph.node
    directions = {
        n.op_type: helper.get_attribute_value(a).decode()
        for n in nodes
        for a in n.attribute
        if a.name == "direction"
    }
    assert directions == {"LSTM": "forward", "GRU": "reverse"}
    X = padded_batch(3)
    assert_same(run_onnx(path, X, LENGTHS), net.predict(X, lengths=LENGTHS))


def test_stacked_embedding_bidirectional_variable_length_model(tmp_path):
    """Embedding (Gather) → bidirectional LSTM → GRU → per-step Dense (masked) → GRU to one
    → Softmax, on padded id sequences whose padding ids are arbitrary."""
    with bp.backend.default_dtype("float64"):
        net = bp.Sequential(
            bp.Embedding(11, 3, rng=0),
            Bidirectional(PeepholeLSTM(3, 4, rng=1), LSTM(3, 4, rng=2)),
            Recurrent(GRU(8, 5, reset_after=False, rng=3)),
            TimeDistributed(with_biases(bp.Dense(5, 5, rng=4), 5)),
            TimeDistributed(bp.Tanh()),
            Recurrent(Elman(5, 4, rng=5), return_sequences=False),
            bp.Dense(4, 3, rng=6),
            bp.Softmax(),
        )
    ids = np.random.default_rng(0).integers(0, 11, size=(len(LENGTHS), 7))
    path = export(net, tmp_path, lengths=True)
    want = net.predict(ids, lengths=LENGTHS).astype(np.float32)
    assert_same(run_onnx(path, ids.astype(np.int64), LENGTHS), want)
    assert_same(run_onnx(export(net, tmp_path, False), ids), net.predict(ids).astype(np.float32))


def test_per_step_outputs_are_zero_at_padded_steps(tmp_path):
    head = with_biases(bp.Dense(4, 2, rng=1), 6)  # its output at a zero input is its bias
    net = bp.Sequential(Recurrent(GRU(3, 4, rng=0)), TimeDistributed(head))
    out = run_onnx(export(net, tmp_path, True), padded_batch(3), LENGTHS)
    for n, L in enumerate(LENGTHS):
        assert np.all(out[n, L:] == 0) and np.all(out[n, :L] != 0)


def test_export_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="lengths=True is for models of sequences"):
        bp.export_onnx(bp.mlp([2, 3, 1], seed=0), tmp_path / "x.onnx", lengths=True)
    net = bp.Sequential(bp.Embedding(5, 2, rng=0), Recurrent(LSTM(2, 2, rng=0)))
    with pytest.raises(ValueError, match="Embedding ids"):
        bp.export_onnx(net, tmp_path / "x.onnx", scaler={"mean": [0.0], "scale": [1.0]})
    net = bp.Sequential(bp.Embedding(5, 2, rng=0), bp.Embedding(2, 2, rng=0))
    with pytest.raises(ValueError, match="first layer only"):
        bp.export_onnx(net, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


# --- loading bidirectional ONNX nodes ----------------------------------------------------
NODE_CASES = {
    "rnn_tanh_relu": ("RNN", 1, {"activations": ["Tanh", "Relu"]}),
    "lstm": ("LSTM", 4, {}),
    "lstm_peepholes": ("LSTM", 4, {}),
    "gru_linear_before_reset": ("GRU", 3, {"linear_before_reset": 1}),
    "gru": ("GRU", 3, {}),
}


@pytest.mark.parametrize("case", list(NODE_CASES))
def test_bidirectional_onnx_node_loads_into_a_bidirectional_layer(case):
    """Random ONNX-layout weights (not made by bprop), the node run by onnxruntime on a padded
    batch; the loaded layer gives its Y (concatenated) and Y_h on the same batch; the reverse
    direction alone, as cells_from_onnx gives it, is the backward cell read backwards."""
    op, G, attrs = NODE_CASES[case]
    H, D = 3, 2
    rng = np.random.default_rng(3)
    weights = {
        "W": rng.normal(size=(2, G * H, D)),
        "R": rng.normal(size=(2, G * H, H)) * 0.5,
        "B": rng.normal(size=(2, 2 * G * H)),
    }
    if case == "lstm_peepholes":
        weights["P"] = rng.normal(size=(2, 3 * H))
    session = onnx_node_model(op, "bidirectional", weights, attrs)
    X = padded_batch(D)
    Y, Y_h = session.run(None, {"X": X.transpose(1, 0, 2), "L": LENGTHS.astype(np.int32)})
    ww = {k: v.astype(np.float32).astype(np.float64) for k, v in weights.items()}
    kw = dict(attrs, dtype="float64")
    bi = bidirectional_from_onnx(op, **ww, **kw)
    want = Y.transpose(2, 0, 1, 3).reshape(len(LENGTHS), X.shape[1], 2 * H)  # (N, T, 2H)
    y = bi.forward(X.astype(np.float64), lengths=LENGTHS)[0]
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    bi = bidirectional_from_onnx(op, **ww, **kw, return_sequences=False)
    y = bi.forward(X.astype(np.float64), lengths=LENGTHS)[0]
    np.testing.assert_allclose(y, np.concatenate(list(Y_h), axis=-1), rtol=1e-5, atol=1e-5)

    rev_attrs = {k: v[1:] if k == "activations" else v for k, v in attrs.items()}
    session = onnx_node_model(op, "reverse", {k: v[1:] for k, v in weights.items()}, rev_attrs)
    rev = {k: v[1:] for k, v in ww.items()}
    (cell,) = cells_from_onnx(op, **rev, direction="reverse", **rev_attrs, dtype="float64")
    Yr, _ = session.run(None, {"X": X.transpose(1, 0, 2), "L": LENGTHS.astype(np.int32)})
    back = Recurrent(cell).forward(reverse_within(X.astype(np.float64), LENGTHS), lengths=LENGTHS)
    np.testing.assert_allclose(
        reverse_within(back[0], LENGTHS), Yr[:, 0].transpose(1, 0, 2), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("name", list(CELLS))
def test_exported_bidirectional_node_loads_back_into_the_same_cells(name, tmp_path):
    bi = Bidirectional(with_biases(CELLS[name](0), 0), with_biases(CELLS[name](1), 9))
    path = export(bp.Sequential(bi), tmp_path, lengths=False)
    graph = onnx.load(path).graph
    arrays = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    (node,) = [n for n in graph.node if n.op_type in ("RNN", "LSTM", "GRU")]
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    slots = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]
    names = dict(zip(slots, node.input, strict=False))
    weights = {k: arrays[names[k]] for k in ("W", "R", "B", "P") if names.get(k)}
    back = bidirectional_from_onnx(node.op_type, **weights, **attrs)
    for prefix in ("cell_fwd", "cell_bwd"):
        cell, loaded = getattr(bi, prefix), getattr(back, prefix)
        assert type(loaded) is type(cell)
        for k, v in cell.params.items():
            np.testing.assert_allclose(loaded.params[k], v, rtol=1e-6, atol=1e-7, err_msg=k)


def test_loader_direction_errors_are_clear():
    W, R = np.zeros((2, 8, 3)), np.zeros((2, 8, 2))
    with pytest.raises(ValueError, match="bidirectional_from_onnx"):
        cell_from_onnx("LSTM", W, R, direction="bidirectional")
    with pytest.raises(ValueError, match="needs direction='bidirectional'"):
        bidirectional_from_onnx("LSTM", W[:1], R[:1], direction="forward")
    with pytest.raises(ValueError, match="2 directions, 1 expected"):
        cells_from_onnx("LSTM", W, R, direction="reverse")
    with pytest.raises(ValueError, match="per direction"):
        cells_from_onnx("RNN", W[:, :2], R[:, :2], activations=["Tanh"], direction="bidirectional")
    with pytest.raises(ValueError, match="direction must be one of"):
        cells_from_onnx("RNN", W[:1, :2], R[:1, :2], direction="sideways")
    fwd, bwd = cells_from_onnx(
        "RNN", W[:, :2], R[:, :2], activations=[b"Relu", b"Tanh"], direction=b"bidirectional"
    )
    assert (fwd.activation, bwd.activation) == ("relu", "tanh")


def test_cli_export_lengths(capsys, tmp_path):
    import json

    from bprop.cli import main

    net = bp.Sequential(Bidirectional(GRU(3, 4, rng=0), GRU(3, 4, rng=1), merge="sum"))
    model, out = str(tmp_path / "m.bprop"), str(tmp_path / "m.onnx")
    bp.save(net, model)
    assert main(["export", model, out, "--lengths", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lengths_input"] is True
    assert [i.name for i in onnx.load(out).graph.input] == ["input", "lengths"]
    X = padded_batch(3)
    assert_same(run_onnx(out, X, LENGTHS), net.predict(X, lengths=LENGTHS))
