"""The name-language task (issue 15, text categorisation): Faker's per-locale names, a
character-level bidirectional RNN against a character n-gram logistic regression."""

import numpy as np
import pytest

pytest.importorskip("faker")

from bprop.cli import main  # noqa: E402
from bprop.tasks.names import (  # noqa: E402
    encode,
    name_data,
    name_model,
    predict_names,
    split_names,
    train_name_language,
)

THREE = ("fi_FI", "tr_TR", "it_IT")


def test_the_names_are_distinct_per_language_and_capped():
    names, labels, classes = name_data(THREE, per_class=40, seed=1)
    assert classes == ["Finnish", "Turkish", "Italian"]
    assert np.bincount(labels).tolist() == [40, 40, 40]
    assert len(set(names)) == len(names)  # a name in two locales is dropped from both
    again = name_data(THREE, per_class=40, seed=1)
    assert again[0] == names  # seeded


def test_split_and_encoding():
    (tr, ytr), (te, yte), classes, chars = split_names(THREE, 30, 0.2, seed=0)
    assert len(tr) == 72 and len(te) == 18 and not set(tr) & set(te)
    assert np.bincount(yte).tolist() == [6, 6, 6]  # stratified
    ids = encode(["ab?"], ["a", "b"])[0]
    assert ids.tolist() == [1, 2, 0]  # 0: a character the training names lack


def test_the_rnn_learns_the_languages_and_is_compared_with_the_baseline():
    out = train_name_language(
        hidden=16, embed=8, dropout=0.2, per_class=80, epochs=6, lr=0.02, locales=THREE, seed=0
    )
    assert out["accuracy"] > 0.6  # chance: 1/3
    assert out["baseline_accuracy"] > 0.6
    assert out["margin"] == pytest.approx(out["accuracy"] - out["baseline_accuracy"])
    (_, _), (te, yte), _, _ = split_names(THREE, 80, 0.2, seed=0)
    guess = predict_names(out["net"], out["chars"], [n.title() for n in te])
    assert (guess == yte).mean() == pytest.approx(out["accuracy"])


def test_hidden_sizes_stack_bidirectional_layers():
    net = name_model(5, 3, "gru", [6, 4], embed=3, dropout=0.1)
    kinds = [type(x).__name__ for x in net.layers]
    assert kinds == ["Embedding", "Bidirectional", "Dropout", "Bidirectional", "Dropout", "Dense"]
    assert net.layers[1].return_sequences and not net.layers[3].return_sequences
    assert net.layers[3].n_in == 12 and net.layers[5].n_in == 8
    assert net.predict([[1, 2, 3], [4]]).shape == (2, 3)


def test_the_command_runs_the_task_and_saves_the_model(tmp_path, capsys):
    import json

    import bprop as bp

    path = str(tmp_path / "names.bprop")
    argv = ["train", "--task", "name-language", "--per-class", "20", "--epochs", "1"]
    assert main([*argv, "--hidden", "8,4", "--embed", "4", "--json", "--out", path]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"accuracy", "baseline_accuracy", "margin"} <= set(result)
    assert len(result["classes"]) == 10
    ck = bp.load_checkpoint(path)
    assert ck.metadata["classes"] == result["classes"] and ck.metadata["chars"]
