"""``bprop train --checkpoint-every N`` on data and on the applications: a checkpoint every N
epochs, written atomically (a temporary file beside the target, renamed over it), that loads
and, for feedforward runs, resumes exactly."""

import os
import shutil

import numpy as np
import pytest

import bprop as bp
from bprop.cli import main
from bprop.modelfile import atomic


@pytest.fixture
def renames(monkeypatch, tmp_path):
    """Every rename of a save, as (temporary file, target, copy of the file renamed): the
    copy is taken just before the rename, so each checkpoint can be inspected."""
    seen = []
    real = os.replace

    def spy(src, dst):
        copy = tmp_path / "copies" / f"{len(seen)}.bprop"
        copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(src, copy)
        seen.append((str(src), str(dst), copy))
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", spy)
    return seen


def _atomic_saves_of(renames, target):
    """The copies of the saves renamed over ``target``; each written beside it first, under
    a temporary name."""
    out = []
    for src, dst, copy in renames:
        if os.path.basename(dst) == os.path.basename(target):
            assert os.path.dirname(src) == os.path.dirname(os.path.abspath(target))
            name = os.path.basename(src)
            assert name.startswith(f".{os.path.basename(target)}.")
            assert name.endswith(atomic.TMP_SUFFIX)
            out.append(copy)
    return out


def test_data_run_saves_every_n_epochs_and_resumes_from_a_checkpoint(tmp_path, renames, capsys):
    out = str(tmp_path / "m.bprop")
    argv = ["train", "--data", "xor", "--hidden", "4", "--seed", "1", "--quiet"]
    assert main([*argv, "--epochs", "7", "--checkpoint-every", "3", "--out", out]) == 0
    saves = _atomic_saves_of(renames, out)
    epochs = [bp.load_trainer(p, verbose=0).epoch for p in saves]
    assert epochs[:2] == [3, 6] and set(epochs[2:]) == {7}  # every 3 epochs, then the end
    assert not [n for n in os.listdir(tmp_path) if n.endswith(atomic.TMP_SUFFIX)]
    final = bp.load(out).space.params.copy()
    # the run "died" after epoch 6: resuming its checkpoint trains the same last epoch
    at6 = str(tmp_path / "at6.bprop")
    shutil.copyfile(saves[1], at6)
    assert main(["train", "--resume", at6, "--quiet"]) == 0
    resumed = bp.load_trainer(at6, verbose=0)
    assert resumed.epoch == 7
    np.testing.assert_array_equal(resumed.net.space.params, final)
    capsys.readouterr()


def test_task_saves_the_model_trained_so_far_every_n_epochs(tmp_path, renames, capsys):
    out = str(tmp_path / "r.bprop")
    argv = ["train", "--task", "reber", "--hidden", "4", "--epochs", "4", "--quiet"]
    assert main([*argv, "--checkpoint-every", "2", "--out", out]) == 0
    saves = _atomic_saves_of(renames, out)
    assert len(saves) == 3  # after epochs 2 and 4, and the run's own final save
    nets = [bp.load(p) for p in saves]
    assert not np.array_equal(nets[0].space.params, nets[1].space.params)  # trained on
    np.testing.assert_array_equal(nets[1].space.params, nets[2].space.params)
    assert isinstance(bp.load_checkpoint(saves[0]).loss, bp.SoftmaxCrossEntropy)
    capsys.readouterr()


def test_a_language_model_checkpoint_keeps_its_vocabulary(tmp_path, renames, capsys):
    from bprop.tasks import load_lm, sample

    (tmp_path / "t.txt").write_text("to be or not to be, that is the question. " * 20)
    out = str(tmp_path / "lm.bprop")
    argv = ["train", "--task", "charlm", "--data", str(tmp_path / "t.txt"), "--hidden", "8",
            "--k1", "10", "--batch-size", "4", "--epochs", "2", "--quiet"]  # fmt: skip
    assert main([*argv, "--checkpoint-every", "1", "--out", out]) == 0
    first = _atomic_saves_of(renames, out)[0]
    assert len(sample(load_lm(first), length=5, prime="to")) == 7
    capsys.readouterr()


def test_checkpoint_every_refusals(capsys, tmp_path):
    for argv, message in [
        (["--task", "reber", "--checkpoint-every", "2"], "--checkpoint-every saves the model"),
        (["--data", "xor", "--checkpoint-every", "2"], "--checkpoint-every saves the trainer"),
        (["--task", "rbp-xor", "--checkpoint-every", "2"], "--checkpoint-every does not apply"),
    ]:
        assert main(["train", *argv, "--epochs", "1", "--quiet"]) == 2
        assert message in capsys.readouterr().err


def test_an_out_path_with_braces_is_used_as_it_is(tmp_path, capsys):
    out = tmp_path / "run{1}.bprop"
    argv = ["train", "--data", "xor", "--epochs", "2", "--checkpoint-every", "1", "--quiet"]
    assert main([*argv, "--out", str(out)]) == 0
    assert os.listdir(tmp_path) == [out.name]
    capsys.readouterr()
