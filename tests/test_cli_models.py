"""The ``bprop`` command with saved models: labels mapped through the model's classes, CSV
options, the overflow-safe scaler, ``--resume``, the rescue file, tiny data sets (issue 12)."""

import json

import numpy as np
import pytest

import bprop as bp
from bprop.cli import main
from bprop.cli.common import apply_scaler, fit_scaler

NAMES = ["cat", "dog", "eel"]
CENTRES = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def animals(path, n, labels, seed, columns=("x1", "x2", "animal"), target=True):
    """A CSV of 2-D points around one centre per animal."""
    rng = np.random.default_rng(seed)
    lab = rng.choice(labels, n)
    X = CENTRES[[NAMES.index(a) for a in lab]] + rng.normal(0, 0.3, (n, 2))
    cells = {"x1": X[:, 0], "x2": X[:, 1], "animal": lab}
    cols = [c for c in columns if target or c != "animal"]
    lines = [",".join(cols)] + [",".join(str(cells[c][i]) for c in cols) for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return lab


@pytest.fixture(scope="module")
def animal_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("animals")
    animals(d / "train.csv", 150, NAMES, seed=0)
    model = d / "a.bprop"
    code = main(["train", "--data", str(d / "train.csv"), "--target", "animal", "--hidden", "8",
                 "--epochs", "60", "--quiet", "--out", str(model)])  # fmt: skip
    assert code == 0
    return d, model


def test_evaluate_maps_labels_through_the_models_classes(animal_model, capsys):
    # the reproducer: a file without "cat" (so "dog" would be re-numbered 0) and
    # its columns in another order; evaluate must agree with predict
    d, model = animal_model
    truth = animals(d / "nocat.csv", 60, ["dog", "eel"], seed=1, columns=("animal", "x2", "x1"))
    code, out, err = run(capsys, "evaluate", model, "--data", d / "nocat.csv", "--json")
    assert code == 0, err
    accuracy = json.loads(out)["accuracy"]
    code, out, err = run(capsys, "predict", model, "--data", d / "nocat.csv")
    assert code == 0, err
    predicted = out.split()
    assert set(predicted) <= set(NAMES)
    assert accuracy == pytest.approx(np.mean(np.array(predicted) == truth))
    assert accuracy > 0.9  # separated clusters: the model is right, and evaluate says so


def test_predict_needs_no_target_column(animal_model, capsys, tmp_path):
    d, model = animal_model
    animals(tmp_path / "points.csv", 12, NAMES, seed=2, target=False)
    out_file = tmp_path / "pred.txt"
    code, out, err = run(
        capsys, "predict", model, "--data", tmp_path / "points.csv", "--out", out_file
    )
    assert code == 0, err
    assert len(out.split()) == 12 and out_file.read_text().split() == out.split()


def test_target_by_index_and_delimiter(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] > 0).astype(int)
    lines = ["a;label;b;c"] + [f"{a};{t};{b};{c}" for (a, b, c), t in zip(X, y, strict=True)]
    (tmp_path / "semi.csv").write_text("\n".join(lines) + "\n")
    model = tmp_path / "m.bprop"
    code, out, err = run(capsys, "train", "--data", tmp_path / "semi.csv", "--delimiter", ";",
                         "--target", "1", "--epochs", "5", "--quiet", "--out", model)  # fmt: skip
    assert code == 0, err
    meta = bp.load_checkpoint(model).metadata
    assert meta["target"] == "label" and meta["feature_names"] == ["a", "b", "c"]
    code, out, err = run(capsys, "evaluate", model, "--data", tmp_path / "semi.csv",
                         "--delimiter", ";", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["examples"] == 80


def test_scaler_does_not_zero_a_huge_column():
    # the issue: a 1e308 column overflowed std() and was standardised to all zeros
    X = np.array([[1e308, 1.0], [-1e308, 2.0], [5e307, 3.0], [0.0, 4.0]])
    scaler = fit_scaler(X)
    assert np.isfinite(scaler["scale"]).all() and np.isfinite(scaler["mean"]).all()
    Z = apply_scaler(X, scaler)
    assert np.isfinite(Z).all()
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, rtol=1e-12)
    # the same as the textbook formula where that does not overflow
    small = X.copy()
    small[:, 0] /= 1e300
    np.testing.assert_allclose(
        apply_scaler(small, fit_scaler(small)), (small - small.mean(0)) / small.std(0)
    )


def test_scaler_refuses_what_it_cannot_standardise():
    from bprop.cli.common import CLIError

    scaler = {"mean": [0.0], "scale": [1e-10]}
    with pytest.raises(CLIError, match="feature column 'big' holds values too large"):
        apply_scaler(np.array([[1e308]]), scaler, ["big"])


def test_train_on_a_1e308_column_keeps_the_feature(capsys, tmp_path):
    rows = ["huge,x,y"] + [f"{(i % 5 - 2) * 4e307},{i % 3},{i % 2}" for i in range(40)]
    (tmp_path / "huge.csv").write_text("\n".join(rows) + "\n")
    model = tmp_path / "h.bprop"
    code, _, err = run(capsys, "train", "--data", tmp_path / "huge.csv", "--target", "y",
                       "--epochs", "3", "--quiet", "--out", model)  # fmt: skip
    assert code == 0, err
    scaler = bp.load_checkpoint(model).metadata["scaler"]
    assert 0 < scaler["scale"][0] < np.inf


def _weights(path):
    return bp.load(path).space.params.copy()


def test_resume_equals_an_uninterrupted_run_without_validation(capsys, tmp_path):
    common = ["--data", "iris", "--hidden", "6", "--method", "momentum", "--seed", "3",
              "--validation-split", "0", "--quiet"]  # fmt: skip
    assert run(capsys, "train", *common, "--epochs", "4", "--out", tmp_path / "a.bprop")[0] == 0
    assert run(capsys, "train", *common, "--epochs", "2", "--out", tmp_path / "b.bprop")[0] == 0
    code, _, err = run(
        capsys, "train", "--resume", tmp_path / "b.bprop", "--epochs", "2", "--quiet"
    )
    assert code == 0, err
    np.testing.assert_array_equal(_weights(tmp_path / "a.bprop"), _weights(tmp_path / "b.bprop"))
    assert bp.load_trainer(tmp_path / "b.bprop").epoch == 4


def test_resume_equals_an_uninterrupted_run_with_a_validation_split(capsys, tmp_path):
    common = ["--data", "iris", "--hidden", "6", "--method", "momentum", "--seed", "3",
              "--validation-split", "0.2", "--quiet"]  # fmt: skip
    assert run(capsys, "train", *common, "--epochs", "4", "--out", tmp_path / "a.bprop")[0] == 0
    assert run(capsys, "train", *common, "--epochs", "2", "--out", tmp_path / "b.bprop")[0] == 0
    assert (
        run(capsys, "train", "--resume", tmp_path / "b.bprop", "--epochs", "2", "--quiet")[0] == 0
    )
    np.testing.assert_array_equal(_weights(tmp_path / "a.bprop"), _weights(tmp_path / "b.bprop"))


def test_resume_trains_the_remaining_epochs_with_the_saved_options(capsys, tmp_path):
    path = tmp_path / "r.bprop"
    run(
        capsys,
        "train",
        "--data",
        "iris",
        "--hidden",
        "5",
        "--epochs",
        "3",
        "--out",
        path,
        "--quiet",
    )
    trainer = bp.load_trainer(path)
    trainer.epoch = 1  # as if stopped after epoch 1 of 3
    bp.save(trainer, path, metadata=bp.load_checkpoint(path).metadata)
    code, out, err = run(capsys, "train", "--resume", path, "--json")
    assert code == 0, err
    assert json.loads(out)["epochs"] == 2
    assert bp.load_trainer(path).epoch == 3


def test_a_failed_save_after_training_writes_a_rescue_file(capsys, tmp_path, monkeypatch):
    import bprop.cli.train as train_module

    monkeypatch.chdir(tmp_path)
    # the folder vanishes during training: the check before training passed
    monkeypatch.setattr(train_module, "check_out", lambda *a, **k: None)
    code, out, err = run(capsys, "train", "--data", "xor", "--epochs", "2", "--quiet",
                         "--out", tmp_path / "gone" / "m.bprop")  # fmt: skip
    assert code == 2
    (rescue,) = tmp_path.glob("bprop-rescue-*.bprop")
    assert len(err.splitlines()) == 1
    assert "could not save to" in err and rescue.name in err
    assert bp.load_trainer(rescue).epoch == 2
    assert "model" in out  # the results are still printed


def test_tiny_sets_get_no_default_validation_split(capsys):
    code, out, _ = run(capsys, "train", "--data", "xor", "--epochs", "3", "--json")
    result = json.loads(out)
    assert code == 0 and result["val_accuracy"] is None
    assert "4 examples are too few" in result["note"]
    code, out, _ = run(capsys, "train", "--data", "xor", "--epochs", "3", "--json",
                       "--validation-split", "0.5")  # fmt: skip
    assert code == 0 and json.loads(out)["val_accuracy"] is not None
    code, out, _ = run(capsys, "train", "--data", "iris", "--epochs", "3", "--json")
    assert json.loads(out)["val_accuracy"] is not None and "note" not in json.loads(out)


def test_dataset_with_classes():
    from bprop.data import DataError, Dataset

    ds = Dataset(np.zeros((3, 1)), np.array([0, 1, 0]), "classification", "d", "d",
                 target_names=["dog", "eel"])  # fmt: skip
    mapped = ds.with_classes(["cat", "dog", "eel"])
    assert mapped.y.tolist() == [1, 2, 1] and mapped.n_classes == 3
    assert mapped.target_names == ("cat", "dog", "eel")
    with pytest.raises(DataError, match=r"label\(s\) \['eel'\] of 'd' are not among"):
        ds.with_classes(["cat", "dog"])


def test_forecast_column_by_index(capsys, tmp_path):
    values = np.sin(np.arange(120) / 5.0)
    lines = ["t,value"] + [f"{i},{v}" for i, v in enumerate(values)]
    (tmp_path / "series.csv").write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "train", "--task", "forecast", "--data", tmp_path / "series.csv",
                         "--target", "1", "--window", "6", "--hidden", "4", "--epochs", "2",
                         "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["rmse"] > 0


def test_lr_schedule_is_saved_with_the_run_and_stepped_per_epoch(capsys, tmp_path):
    from bprop.optim import ScaleBySchedule
    from bprop.optim.schedules import Cosine

    path = tmp_path / "m.bprop"
    code, _, err = run(capsys, "train", "--data", "iris", "--hidden", "6", "--method", "momentum",
                  "--lr-schedule", "cosine", "--warmup", "2", "--epochs", "4", "--quiet",
                  "--out", path)  # fmt: skip
    assert code == 0
    trainer = bp.load_trainer(path)
    sched = trainer.optimizer.rules[-1]
    assert isinstance(sched, ScaleBySchedule) and isinstance(sched.schedule, Cosine)
    assert (sched.schedule.total, sched.schedule.warmup) == (4, 2)
    assert trainer.state["1/count"] == 4.0  # stepped once per epoch


def test_evaluate_shows_the_confusion_matrix_named_by_class(animal_model, capsys):
    d, model = animal_model
    animals(d / "eval.csv", 60, NAMES, seed=2)
    code, out, err = run(capsys, "evaluate", model, "--data", d / "eval.csv", "--json")
    assert code == 0, err
    res = json.loads(out)
    cm = np.array(res["confusion_matrix"])
    assert cm.sum() == 60 and np.trace(cm) / 60 == pytest.approx(res["accuracy"])
    code, out, err = run(capsys, "evaluate", model, "--data", d / "eval.csv")
    assert code == 0, err
    table = out.split("confusion matrix")[1].splitlines()[2:]
    assert [row.split()[0] for row in table] == res["class_names"]
    assert [[int(v) for v in row.split()[1:]] for row in table] == cm.tolist()
