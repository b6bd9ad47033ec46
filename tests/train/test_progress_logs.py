"""One progress display per fit, labelled in the user's words, clean when not on a terminal;
CSV and TensorBoard logs (--log-dir)."""

import csv
import io
import json
import struct

import numpy as np
import pytest

import bprop as bp
from bprop.cli import main
from bprop.optim.base import Chain
from bprop.optim.transforms import ClipByGlobalNorm
from bprop.train.logs import CSVLogger, log_callbacks, logging_to
from bprop.train.progress import Progress, describe
from bprop.train.schedules import MiniBatch, StreamSchedule

X = np.random.default_rng(0).normal(size=(64, 3))
Y = (X[:, 0] > 0).astype(np.int64)


def test_labels_are_in_the_users_words():
    rule = Chain(ClipByGlobalNorm(1.0), bp.Adam(0.01))
    assert describe(MiniBatch(16), rule) == "mini-batch 16 · clipping → Adam"
    assert describe(StreamSchedule(20, 40), bp.SGD(0.1)) == "truncated BPTT(20, 40) · SGD"
    assert "Chain" not in describe(MiniBatch(16), rule)


def test_non_tty_output_has_no_carriage_returns_and_one_display(capsys):
    bp.fit(bp.mlp([3, 4, 2]), X, Y, epochs=200, batch_size=16, label="my run")
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert "\r" not in err and all(line.startswith("my run: ") for line in lines)
    assert 5 <= len(lines) <= 12  # every tenth of 200 epochs, not one line per epoch
    assert "epoch 200/200" in lines[-1] and "loss" in lines[-1] and "ETA" in lines[-1]


def test_few_long_epochs_count_updates(capsys):
    # a language model's single pass over a stream: progress within the epoch
    stream = np.random.default_rng(1).integers(0, 3, 4001)
    net = bp.Sequential(bp.Recurrent(bp.Elman(3, 4, rng=0)), bp.TimeDistributed(bp.Dense(4, 3)))
    bp.fit_stream(net, stream[:-1], stream[1:], k1=10, batch_size=4, epochs=1, label="LM")
    lines = capsys.readouterr().err.splitlines()
    updates = [ln for ln in lines if "update " in ln]
    assert len(updates) >= 9 and "update 100/100" in lines[-1]
    assert all(ln.startswith("LM: epoch 1/1") for ln in lines)


def test_quiet_prints_nothing(capsys):
    bp.fit(bp.mlp([3, 2]), X, Y, epochs=30, verbose=0)
    assert capsys.readouterr().err == ""


def test_on_a_terminal_one_bar_with_eta_and_loss():
    out = io.StringIO()
    bar = Progress("digits · Adam", 3, 1, updates_per_epoch=5, file=out, tty=True)
    for _epoch in range(3):
        for _ in range(5):
            bar.tick(0.5)
        bar.epoch_end({"train_loss": 0.25, "val_loss": 0.3})
    bar.close()
    text = out.getvalue()
    assert text.count("digits · Adam") >= 1 and "15/15" in text and "update" in text
    assert "loss 0.25" in text and "val_loss 0.3" in text and "<" in text  # tqdm's ETA


def test_progress_over_shares_one_display_across_fits(capsys):
    trainer = bp.Trainer(bp.mlp([3, 2]), "cross_entropy", bp.SGD(0.1), "online", verbose=1,
                         label="pieces")  # fmt: skip
    with trainer.progress_over(updates=4 * 64):
        for _ in range(4):
            trainer.fit(X, Y, epochs=1)
    lines = capsys.readouterr().err.splitlines()
    assert all(ln.startswith("pieces: update ") for ln in lines)
    assert lines[-1].startswith("pieces: update 256/256") and len(lines) <= 11


def test_csv_log_has_a_row_per_epoch_and_continues_on_the_next_fit(tmp_path):
    path = tmp_path / "log.csv"
    trainer = bp.Trainer(bp.mlp([3, 2]), "cross_entropy", callbacks=[CSVLogger(path)], verbose=0)
    trainer.fit(X, Y, epochs=3, validation_split=0.25)
    trainer.fit(X, Y, epochs=2, validation_split=0.25)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5]
    assert [float(r["val_loss"]) for r in rows] == pytest.approx(trainer.history.val_loss)
    assert [float(r["train_loss"]) for r in rows] == pytest.approx(trainer.history.train_loss)


def _scalars(folder):
    """(tag, step, value) of every scalar in the TensorBoard event files under ``folder``,
    read from the TFRecord framing with tensorboardX's Event protobuf."""
    from tensorboardX.proto.event_pb2 import Event

    out = []
    for f in sorted(folder.glob("events.out.tfevents.*")):
        data = f.read_bytes()
        i = 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i : i + 8])
            ev = Event.FromString(data[i + 12 : i + 12 + n])
            i += 12 + n + 4
            out += [(v.tag, ev.step, v.simple_value) for v in ev.summary.value]
    return out


def test_tensorboard_event_files_hold_every_epochs_values(tmp_path):
    pytest.importorskip("tensorboardX")
    cbs = log_callbacks(tmp_path, tensorboard=True)
    hist = bp.fit(bp.mlp([3, 2]), X, Y, epochs=4, validation_split=0.25, callbacks=cbs,
                  verbose=0)  # fmt: skip
    got = _scalars(tmp_path)
    train = [v for t, s, v in sorted(got) if t == "loss/train"]
    assert train == pytest.approx(hist.train_loss, rel=1e-6)
    assert sorted(s for t, s, _ in got if t == "loss/val") == [1, 2, 3, 4]
    assert (tmp_path / "log.csv").exists()


def test_logging_to_reaches_trainers_built_inside(tmp_path):
    with logging_to(tmp_path, tensorboard=False):
        bp.fit(bp.mlp([3, 2]), X, Y, epochs=3, verbose=0)
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 4
    bp.fit(bp.mlp([3, 2]), X, Y, epochs=5, verbose=0)  # outside: nothing more written
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 4


def test_cli_log_dir_for_a_feedforward_run_and_a_task(tmp_path, capsys):
    pytest.importorskip("tensorboardX")
    code = main(["train", "--data", "xor", "--epochs", "20", "--quiet", "--log-dir",
                 str(tmp_path / "ff")])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert len((tmp_path / "ff" / "log.csv").read_text().splitlines()) == 21
    assert any(t == "loss/train" for t, _, _ in _scalars(tmp_path / "ff"))
    code = main(["train", "--task", "reber", "--epochs", "2", "--hidden", "4", "--quiet",
                 "--log-dir", str(tmp_path / "task")])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert len((tmp_path / "task" / "log.csv").read_text().splitlines()) == 3


def test_off_a_terminal_a_slow_run_still_reports_every_heartbeat(monkeypatch):
    from bprop.train import progress

    out = io.StringIO()
    bar = Progress("slow", 1, 1, updates_per_epoch=1000, file=out)
    for _ in range(5):
        bar.tick(1.0)  # far below a tenth of the updates: silent
    assert out.getvalue() == ""
    monkeypatch.setattr(progress, "HEARTBEAT", 0.0)
    bar.tick(1.0)
    assert out.getvalue().startswith("slow: epoch 1/1  update 6/1000  loss 1")


def test_a_trainer_pickles_after_showing_progress(capsys):
    import pickle

    trainer = bp.Trainer(bp.mlp([3, 2]), "cross_entropy", verbose=1)
    trainer.fit(X, Y, epochs=2)
    copy = pickle.loads(pickle.dumps(trainer))
    assert not copy.bar.on
    np.testing.assert_array_equal(copy.net.space.params, trainer.net.space.params)


def test_cli_rbp_xor_shows_one_display_over_its_runs(capsys):
    from bprop.tasks.settling import XOR_LABEL

    assert main(["train", "--task", "rbp-xor", "--epochs", "20"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert [ln.split("  ")[0] for ln in lines] == [f"{XOR_LABEL}: run {k}/10" for k in range(1, 11)]
    assert "loss" in lines[-1] and "solved" in lines[-1] and "ETA" in lines[-1]
    for quiet in ("--quiet", "--json"):
        assert main(["train", "--task", "rbp-xor", "--epochs", "20", quiet]) == 0
        assert capsys.readouterr().err == ""


def test_cli_rbp_xor_log_dir_keeps_every_run(tmp_path, capsys):
    pytest.importorskip("tensorboardX")
    code = main(["train", "--task", "rbp-xor", "--epochs", "5", "--quiet", "--json",
                 "--log-dir", str(tmp_path)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    result = json.loads(capsys.readouterr().out)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "log.csv").read_text())))
    assert [(int(r["run"]), int(r["epoch"])) for r in rows] == [
        (run, epoch) for run in range(1, 11) for epoch in range(1, 6)
    ]
    logged = [[float(r["train_loss"]) for r in rows if r["run"] == str(k)] for k in range(1, 11)]
    np.testing.assert_allclose(logged, result["loss_curves"], rtol=1e-12)
    for run in range(2, 11):  # TensorBoard: every network a run of its own
        steps = [s for t, s, _ in _scalars(tmp_path / f"run-{run}") if t == "loss/train"]
        assert sorted(steps) == [1, 2, 3, 4, 5]
    assert sorted(s for t, s, _ in _scalars(tmp_path) if t == "loss/train") == [1, 2, 3, 4, 5]


def test_csv_logger_numbers_the_networks_it_logs(tmp_path):
    path = tmp_path / "log.csv"
    log = CSVLogger(path)
    first = bp.Trainer(bp.mlp([3, 2], seed=0), "cross_entropy", callbacks=[log], verbose=0)
    first.fit(X, Y, epochs=2)
    assert path.read_text().splitlines()[0].startswith("epoch,")  # one network: no run column
    first.fit(X, Y, epochs=1)
    bp.Trainer(bp.mlp([3, 2], seed=1), "cross_entropy", callbacks=[log], verbose=0).fit(
        X, Y, epochs=2
    )
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [(r["run"], r["epoch"]) for r in rows] == [
        ("1", "1"), ("1", "2"), ("1", "3"), ("2", "1"), ("2", "2")
    ]  # fmt: skip
