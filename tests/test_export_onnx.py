"""ONNX export (bp.export_onnx, `bprop export`): every exported file, run by onnxruntime,
gives bprop's own predictions (max |onnx − bprop| ≤ 1e-5 · max |bprop|), for feedforward and
recurrent models of every exportable layer and cell; and bad input is refused clearly."""

import json
import os
import sys

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent import (
    GRU,
    LSTM,
    Elman,
    PeepholeLSTM,
    Recurrent,
    SettlingNetwork,
    TimeDistributed,
)

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def run_onnx(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": np.asarray(X, dtype=np.float32)})[0]


def assert_same(onnx_out, bprop_out):
    assert onnx_out.shape == bprop_out.shape
    err = np.abs(onnx_out - bprop_out).max() / max(np.abs(bprop_out).max(), 1e-30)
    assert err <= 1e-5, f"relative error {err:.3g}"


def batchnorm(n, seed):
    bn = bp.BatchNorm(n)
    rng = np.random.default_rng(seed)
    bn.params["gamma"][...] = rng.uniform(0.5, 2, n)
    bn.params["beta"][...] = rng.normal(size=n)
    bn.buffers["running_mean"][...] = rng.normal(size=n)
    bn.buffers["running_var"][...] = rng.uniform(0.5, 2, n)
    return bn


def feedforward(name):
    if name == "mlp_tanh_sigmoid":
        return bp.mlp([5, 8, 3], activation="tanh", output="sigmoid", seed=0)
    if name == "relu_batchnorm_dropout_softmax":
        return bp.Sequential(
            bp.Dense(5, 8, rng=0),
            batchnorm(8, 1),
            bp.ReLU(),
            bp.Dropout(0.5),
            bp.Dense(8, 6, bias=False, rng=2),
            bp.LeakyReLU(0.1),
            bp.Dense(6, 3, rng=3),
            bp.Softmax(),
        )
    return bp.Sequential(bp.Dense(5, 4, rng=0), bp.Identity())  # "linear"


def recurrent(name):
    cells = {
        "elman_tanh": lambda: Elman(3, 6, rng=0),
        "elman_relu": lambda: Elman(3, 6, activation="relu", init="glorot", rng=0),
        "lstm": lambda: LSTM(3, 6, rng=0),
        "peephole_lstm": lambda: PeepholeLSTM(3, 6, rng=0),
        "gru_reset_after": lambda: GRU(3, 6, rng=0),
        "gru_reset_before": lambda: GRU(3, 6, reset_after=False, rng=0),
    }
    cell = cells[name]()
    for k, v in cell.params.items():  # non-zero biases, so every bias block is tested
        if v.ndim == 1:
            v[...] = np.random.default_rng(len(k)).normal(scale=0.5, size=v.shape)
    return cell


FEEDFORWARD = ["mlp_tanh_sigmoid", "relu_batchnorm_dropout_softmax", "linear"]
CELLS = ["elman_tanh", "elman_relu", "lstm", "peephole_lstm", "gru_reset_after", "gru_reset_before"]


@pytest.mark.parametrize("name", FEEDFORWARD)
def test_feedforward_model_runs_the_same_in_onnxruntime(name, tmp_path):
    net = feedforward(name)
    path = tmp_path / "net.onnx"
    assert bp.export_onnx(net, path) == os.path.realpath(path)
    for n in (1, 7):  # a free batch size
        X = np.random.default_rng(n).normal(size=(n, 5)).astype(np.float32)
        assert_same(run_onnx(path, X), net.predict(X))


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("return_sequences", [True, False], ids=["seq2seq", "seq2one"])
def test_recurrent_model_runs_the_same_in_onnxruntime(name, return_sequences, tmp_path):
    head = bp.Dense(6, 2, rng=5)
    net = bp.Sequential(
        Recurrent(recurrent(name), return_sequences=return_sequences),
        TimeDistributed(head) if return_sequences else head,
    )
    path = tmp_path / "rnn.onnx"
    bp.export_onnx(net, path)
    for N, T in ((2, 9), (3, 1)):  # free batch size and sequence length
        X = np.random.default_rng(T).normal(size=(N, T, 3)).astype(np.float32)
        assert_same(run_onnx(path, X), net.predict(X))


def test_stacked_recurrent_float64_model_with_scaler(tmp_path):
    """Stacked cells, a TimeDistributed stack, a float64 net (exported as float32) and the
    input standardisation in the file."""
    with bp.backend.default_dtype("float64"):
        net = bp.Sequential(
            Recurrent(PeepholeLSTM(3, 5, rng=0)),
            Recurrent(GRU(5, 4, reset_after=False, rng=1)),
            TimeDistributed(bp.Dense(4, 4, rng=2)),
            TimeDistributed(bp.Tanh()),
            TimeDistributed(batchnorm(4, 3)),
            Recurrent(LSTM(4, 3, rng=4), return_sequences=False),
            bp.Dense(3, 2, rng=5),
            bp.Softmax(),
        )
    scaler = {"mean": [1.0, -2.0, 0.5], "scale": [2.0, 0.5, 3.0]}
    bp.export_onnx(net, tmp_path / "m.onnx", scaler=scaler)
    raw = np.random.default_rng(0).normal(size=(4, 11, 3)) * 3 + 1
    Z = (raw - np.array(scaler["mean"])) / np.array(scaler["scale"])
    assert_same(run_onnx(tmp_path / "m.onnx", raw), net.predict(Z).astype(np.float32))


def test_the_file_is_a_checked_onnx_model(tmp_path):
    path = tmp_path / "net.onnx"
    bp.export_onnx(bp.Sequential(Recurrent(GRU(2, 3, rng=0))), path)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert [n.op_type for n in model.graph.node if n.op_type == "GRU"] == ["GRU"]
    assert model.producer_name == "bprop"
    assert [p.name for p in tmp_path.iterdir()] == ["net.onnx"]  # no temporary file left


def test_layers_that_cannot_be_exported_are_clear_errors(tmp_path):
    path = tmp_path / "x.onnx"
    with pytest.raises(ValueError, match="cannot export a SettlingNetwork"):
        bp.export_onnx(SettlingNetwork(4, n_in=2, output_units=2, rng=0), path)
    with pytest.raises(ValueError, match="scaler"):
        bp.export_onnx(feedforward("linear"), path, scaler={"mean": [0.0], "scale": [1.0]})
    with pytest.raises(ValueError, match="empty"):
        bp.export_onnx(bp.Sequential(), path)
    assert not path.exists()
    (tmp_path / "d").mkdir()
    with pytest.raises((ValueError, OSError), match="director"):
        bp.export_onnx(feedforward("linear"), tmp_path / "d")


def test_cli_export_takes_raw_features_like_predict(capsys, tmp_path):
    from bprop.cli import main
    from bprop.cli.common import apply_scaler
    from bprop.data import load_dataset

    model, out = str(tmp_path / "iris.bprop"), str(tmp_path / "iris.onnx")
    argv = ["train", "--data", "iris", "--hidden", "6", "--epochs", "3", "--out", model]
    assert main([*argv, "--json"]) == 0
    capsys.readouterr()
    assert main(["export", model, out, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result == {"onnx": os.path.realpath(out), "inputs_standardised": True}
    ck = bp.load_checkpoint(model)
    X = load_dataset("iris").X
    want = ck.net.predict(apply_scaler(X, ck.metadata["scaler"]))
    assert_same(run_onnx(out, X), want)
    assert main(["export", str(tmp_path / "missing.bprop"), out]) == 2
    assert "missing.bprop" in capsys.readouterr().err


@pytest.mark.parametrize("name", CELLS)
def test_exported_recurrent_node_loads_back_into_the_same_cell(name, tmp_path):
    """The exporter's weights and attributes, read by the ONNX loader, give the cell back."""
    from onnx import helper, numpy_helper

    from bprop.recurrent import cell_from_onnx

    cell = recurrent(name)
    bp.export_onnx(bp.Sequential(Recurrent(cell)), tmp_path / "c.onnx")
    graph = onnx.load(tmp_path / "c.onnx").graph
    arrays = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    (node,) = [n for n in graph.node if n.op_type in ("RNN", "LSTM", "GRU")]
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if "activations" in attrs:
        attrs["activations"] = [a.decode() for a in attrs["activations"]]
    names = dict(
        zip(
            ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"],
            node.input,
            strict=False,
        )
    )
    weights = {k: arrays[names[k]] for k in ("W", "R", "B", "P") if names.get(k)}
    back = cell_from_onnx(node.op_type, **weights, **attrs)
    assert type(back) is type(cell)
    config = lambda c: {k: v for k, v in c.get_config().items() if k != "init"}  # noqa: E731
    assert config(back) == config(cell)
    for k, v in cell.params.items():
        np.testing.assert_allclose(back.params[k], v, rtol=1e-6, atol=1e-7, err_msg=k)


def test_without_onnx_the_error_says_what_to_install(monkeypatch, tmp_path, capsys):
    from bprop.cli import main

    model = tmp_path / "m.bprop"
    bp.save(feedforward("linear"), model)
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` fails
    with pytest.raises(ImportError, match=r"pip install 'bprop\[onnx\]'"):
        bp.export_onnx(feedforward("linear"), tmp_path / "x.onnx")
    assert main(["export", str(model), str(tmp_path / "x.onnx")]) == 2
    assert "pip install 'bprop[onnx]'" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()
