"""The task entry points on tiny inputs: language model (train, evaluate, sample, save/load),
forecasting against persistence, and their input errors."""

import numpy as np
import pytest

from bprop.data import DataError
from bprop.tasks import (
    evaluate_lm,
    load_lm,
    sample,
    save_lm,
    train_forecast,
    train_lm,
)


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    path = tmp_path_factory.mktemp("lm") / "tiny.txt"
    path.write_text("to be or not to be. " * 60)
    return train_lm(path, hidden=24, k1=10, batch_size=4, epochs=4, lr=0.02, verbose=0)


def test_char_lm_learns_tiny_corpus_and_samples(lm):
    assert lm.val_loss < 0.3 and lm.perplexity == pytest.approx(np.exp(lm.val_loss))
    text = sample(lm, length=40, temperature=0.05, prime="to be")
    assert text.startswith("to be") and len(text) == 45
    assert "not to be" in text
    assert sample(lm, length=10, rng=1) == sample(lm, length=10, rng=1)  # seeded
    loss, ppl = evaluate_lm(lm, "to be or not to be. to be or not to be.")
    assert loss < 0.5 and ppl == pytest.approx(np.exp(loss))
    with pytest.raises(ValueError, match="temperature"):
        sample(lm, length=5, temperature=0)


def test_language_model_save_and_load(lm, tmp_path):
    save_lm(lm, tmp_path / "lm.bprop")
    back = load_lm(tmp_path / "lm.bprop")
    assert back.vocab.symbols == lm.vocab.symbols
    assert sample(back, length=20, prime="not") == sample(lm, length=20, prime="not")


def test_a_stacked_word_lm_with_an_embedding_learns_samples_and_saves(tmp_path):
    """Issue 15: the language model reads ids through an Embedding, on two stacked layers."""
    import bprop as bp

    path = tmp_path / "words.txt"
    path.write_text("the cat sat on the mat . the dog sat on the log .\n" * 40)
    model = train_lm(
        path, unit="word", hidden=[16, 16], dropout=0.1, embed=8, k1=8, batch_size=4,
        epochs=6, lr=0.02, verbose=0,
    )  # fmt: skip
    kinds = [type(x).__name__ for x in model.net.layers]
    assert kinds == ["Embedding", "Recurrent", "Dropout", "Recurrent", "TimeDistributed"]
    assert isinstance(model.net.layers[0], bp.Embedding) and model.config["embed"] == 8
    assert model.val_loss < np.log(len(model.vocab)) / 2  # far better than guessing
    text = sample(model, length=6, temperature=0.05, prime="the cat")
    assert text.split()[:3] == ["the", "cat", "sat"]
    save_lm(model, tmp_path / "w.bprop")
    back = load_lm(tmp_path / "w.bprop")
    assert sample(back, length=8, prime="the") == sample(model, length=8, prime="the")


def test_word_lm_and_bad_text_inputs(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("the cat sat on the mat . the dog sat on the log .\n" * 40)
    model = train_lm(
        path, unit="word", vocab_limit=6, hidden=16, k1=8, batch_size=4, epochs=2, verbose=0
    )
    assert len(model.vocab) == 6 and model.vocab.unk_token == "<unk>"
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        train_lm(empty, verbose=0)
    short = tmp_path / "short.txt"
    short.write_text("abc" * 20)
    with pytest.raises(DataError, match="fewer than one window"):
        train_lm(short, k1=100, batch_size=32, verbose=0)


def test_forecast_beats_persistence_on_a_sine(tmp_path):
    t = np.arange(300)
    series = np.sin(2 * np.pi * t / 25) + 0.05 * np.random.default_rng(0).normal(size=300)
    r = train_forecast(series, window=10, hidden=8, epochs=30, lr=0.02)
    assert r["rmse"] < 0.6 * r["persistence_rmse"]
    assert r["predictions"].shape == r["targets"].shape
    path = tmp_path / "s.csv"
    path.write_text("t,v\n" + "".join(f"{i},{'x' if i == 7 else i}\n" for i in range(50)))
    with pytest.raises(DataError, match="not a number"):
        train_forecast(path, column="v")


def test_sequence_tasks_train_with_the_given_rule():
    import bprop as bp
    from bprop.tasks import train_reber

    calls = []

    class Spy(bp.SGD):
        def update(self, grads, state, params, loss=None):
            calls.append(loss)
            return super().update(grads, state, params, loss)

    train_reber(hidden=4, n_train=40, n_test=10, epochs=1, optimizer=Spy(0.1))
    assert len(calls) == 2  # 40 strings in batches of 20
