import json
import os
import zipfile

import numpy as np
import pytest

import bprop as bp
from bprop import io

X = np.random.default_rng(0).normal(size=(20, 4))
Y = np.random.default_rng(1).integers(0, 3, size=20)


def trained_trainer():
    net = bp.Sequential(
        bp.Dense(4, 6, rng=0),
        bp.BatchNorm(6),
        bp.ReLU(),
        bp.Dropout(0.2, rng=1),
        bp.Sequential(bp.Dense(6, 3, rng=2, freeze=("b",))),
    )
    tr = bp.Trainer(
        net, bp.SoftmaxCrossEntropy(), bp.SGD(0.1, momentum=0.9), batch_size=5, seed=3, verbose=0
    )
    tr.fit(X, Y, epochs=3)
    return tr


def test_round_trip_network_buffers_and_optimizer_state(tmp_path):
    tr = trained_trainer()
    path = tmp_path / "m.bprop"
    bp.save(tr, path)
    ck = bp.load_checkpoint(path)
    np.testing.assert_array_equal(ck.net.predict(X), tr.net.predict(X))
    np.testing.assert_array_equal(
        ck.net.layers[1].buffers["running_var"], tr.net.layers[1].buffers["running_var"]
    )
    assert ck.net.layers[4].layers[0].frozen == {"b"}
    np.testing.assert_array_equal(ck.optimizer_state["velocity"], tr.state["velocity"])
    assert ck.optimizer.get_config() == tr.optimizer.get_config()
    assert type(ck.loss) is bp.SoftmaxCrossEntropy


def test_resume_gives_identical_weights(tmp_path):
    straight = trained_trainer()
    straight.fit(X, Y, epochs=3)
    tr = trained_trainer()
    bp.save(tr, tmp_path / "t.bprop")
    resumed = bp.load_trainer(tmp_path / "t.bprop", verbose=0)
    resumed.fit(X, Y, epochs=3)
    np.testing.assert_array_equal(resumed.net.space.params, straight.net.space.params)


def test_file_is_a_plain_zip_with_json_and_no_pickle(tmp_path):
    path = tmp_path / "m.bprop"
    bp.save(bp.mlp([3, 2]), path)
    with zipfile.ZipFile(path) as z:
        meta = json.loads(np.lib.format.read_array(z.open("__bprop__.json.npy")).tobytes())
    assert meta["format"] == "bprop-model" and meta["format_version"] == io.FORMAT_VERSION


def test_corrupt_truncated_and_foreign_files_get_clear_errors(tmp_path):
    good = tmp_path / "good.bprop"
    bp.save(bp.mlp([3, 2]), good)
    data = good.read_bytes()
    (tmp_path / "trunc.bprop").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.bprop").write_bytes(b"this is not a model")
    np.savez(tmp_path / "other.npz", a=np.ones(3))
    for name, match in [
        ("trunc.bprop", "truncated or corrupt"),
        ("junk.bprop", "corrupt"),
        ("other.npz", "not a bprop model"),
    ]:
        with pytest.raises(bp.ModelFileError, match=match):
            bp.load(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="no model file"):
        bp.load(tmp_path / "missing.bprop")


def test_newer_format_version_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "FORMAT_VERSION", 99)
    bp.save(bp.mlp([3, 2]), tmp_path / "future.bprop")
    monkeypatch.setattr(io, "FORMAT_VERSION", 1)
    with pytest.raises(bp.ModelFileError, match="newer than this bprop understands"):
        bp.load(tmp_path / "future.bprop")


def test_a_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.bprop"
    net = bp.mlp([3, 2], seed=0)
    bp.save(net, path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        bp.save(bp.mlp([3, 2], seed=1), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.bprop"]  # no temporary file left behind


def test_a_stream_trainer_is_refused_clearly_and_its_network_saves(tmp_path):
    from bprop.recurrent import Elman, Recurrent, TimeDistributed
    from bprop.train.schedules import StreamSchedule

    net = bp.Sequential(Recurrent(Elman(3, 4, rng=0)), TimeDistributed(bp.Dense(4, 3, rng=1)))
    trainer = bp.Trainer(net, "softmax_cross_entropy", bp.Adam(), StreamSchedule(10, 10, 4))
    with pytest.raises(ValueError, match="cannot be saved as a resumable run yet"):
        bp.save(trainer, tmp_path / "t.bprop")
    assert not (tmp_path / "t.bprop").exists()
    bp.save(trainer.net, tmp_path / "n.bprop", optimizer=trainer.optimizer,
            optimizer_state=trainer.state)  # fmt: skip
    assert bp.load_checkpoint(tmp_path / "n.bprop").optimizer_state is not None
