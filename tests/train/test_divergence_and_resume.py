"""Divergence stops the Trainer with the weights restored; interruption and validation splits
leave a Trainer that resumes bit for bit (issue 12, items 2-4)."""

from __future__ import annotations

import copy
import json
import os
import signal

import numpy as np
import pytest
from sklearn.datasets import load_digits

import bprop as bp
from bprop import divergence, interrupt


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600]


class OnEpochEnd(bp.Callback):
    def __init__(self, fn):
        self.fn = fn

    def on_epoch_end(self, trainer, epoch, logs):
        return self.fn(trainer, epoch, logs)


def digits_net(seed: int = 0) -> bp.Sequential:
    return bp.Sequential(bp.Dense(64, 16, rng=seed), bp.Tanh(), bp.Dense(16, 10, rng=seed + 1))


# --- divergence -------------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", ["online", "minibatch", "batch"])
def test_a_huge_learning_rate_raises_and_restores_the_starting_weights(digits, schedule):
    # SGD(1e6): the loss jumps from ~2.3 to ~1e6 and stays there, finite (it used to train on
    # silently). Restored to where fit() started: no epoch's loss passed the check (for the
    # full batch, epoch 1's loss is that of the starting weights, which passes; the weights
    # are then those of epoch 1's start, the same ones).
    X, y = digits
    net = digits_net()
    start = net.space.params.copy()
    rule = bp.SGD(1e6, momentum=0.9)
    trainer = bp.Trainer(net, "softmax_cross_entropy", rule, schedule=schedule, verbose=0)
    velocity = trainer.state["velocity"].copy()
    with pytest.raises(bp.TrainingDiverged, match=r"Lower the learning rate \(now lr = 1e\+06"):
        trainer.fit(X, y, epochs=10)
    assert np.isfinite(net.space.params).all()
    np.testing.assert_array_equal(net.space.params, start)
    np.testing.assert_array_equal(trainer.state["velocity"], velocity)
    assert trainer.epoch == 0 and trainer.history.n_epochs == 0
    assert trainer.history.stopped_because == "diverged"


def test_divergence_after_good_epochs_restores_the_last_epoch_that_passed(digits):
    # train 3 good epochs (lr 0.1), then the lr jumps to 1e6: epochs 4 and 5 are over the
    # threshold, so the trainer goes back to the start of epoch 3, the last that passed (its
    # weights = the end of epoch 2), with the history and epoch count of that moment.
    X, y = digits
    ends: dict[int, np.ndarray] = {}
    states: dict[int, np.ndarray] = {}

    def spoil(trainer, epoch, logs):
        ends[epoch] = trainer.net.space.params.copy()
        states[epoch] = trainer.state["velocity"].copy()
        if epoch == 3:
            trainer.optimizer.lr = 1e6

    trainer = bp.Trainer(
        digits_net(),
        "softmax_cross_entropy",
        bp.SGD(0.1, momentum=0.9),
        callbacks=[OnEpochEnd(spoil)],
        verbose=0,
    )
    with pytest.raises(bp.TrainingDiverged, match="start of epoch 3"):
        trainer.fit(X, y, epochs=10)
    np.testing.assert_array_equal(trainer.net.space.params, ends[2])
    np.testing.assert_array_equal(trainer.state["velocity"], states[2])
    assert trainer.epoch == 2 and trainer.history.n_epochs == 2
    assert max(ends) == 4  # epoch 4 was over the threshold once and did not stop training yet


def test_the_growth_test_is_a_setting(digits):
    X, y = digits
    with pytest.raises(ValueError, match="divergence_factor must be greater than 1"):
        bp.Trainer(digits_net(), "softmax_cross_entropy", divergence_factor=0.5)
    # None keeps only the NaN/inf test: the same run then ends with a huge, finite loss
    hist = bp.fit(
        digits_net(), X, y, optimizer=bp.SGD(1e6), epochs=3, divergence_factor=None, verbose=0
    )
    assert hist.n_epochs == 3 and hist.train_loss[-1] > 1e4


def test_one_bad_epoch_is_tolerated_but_not_two():
    guard = divergence.DivergenceGuard(10.0, reference=2.0)  # threshold 20
    assert guard.check(25.0) is None and not guard.passed()  # over once: a rule may undo it
    assert guard.check(5.0) is None and guard.passed()  # back under: the count restarts
    assert guard.check(25.0) is None
    assert "stayed above" in guard.check(21.0)
    assert "became nan" in divergence.DivergenceGuard(10.0, 2.0).check(float("nan"))
    bad = np.array([1.0, np.inf])
    assert "weights" in divergence.DivergenceGuard(None, None).check(1.0, bad)


def test_the_reference_is_the_larger_of_the_null_and_the_start_loss():
    # a net of zeros predicts 0 → MSE = mean(t²) = 4 for t = 2; at the start weights (which
    # reference_loss must give back bit for bit) the loss here is 9
    params = np.array([3.0, 1.5])
    start = params.copy()
    seen = []

    def loss():
        seen.append(params.copy())
        return float((params[0] - 2.0) ** 2 if params.any() else 4.0) + 8.0 * bool(params.any())

    assert divergence.reference_loss(loss, params) == 9.0
    np.testing.assert_array_equal(params, start)
    np.testing.assert_array_equal(seen[1], [0.0, 0.0])


# --- interruption and exact resume --------------------------------------------------------


def clone(trainer: bp.Trainer, net: bp.Sequential) -> bp.Trainer:
    """A fresh Trainer over ``net`` with ``trainer``'s state copied as a save file would hold
    it (progress and split through JSON)."""
    net.space.params[...] = trainer.net.space.params
    new = bp.Trainer(
        net,
        trainer.loss,
        trainer.optimizer,
        schedule=trainer.schedule,
        seed=np.random.default_rng(),
        optimizer_state=copy.deepcopy(trainer.state),
        verbose=0,
    )
    new.rng.bit_generator.state = json.loads(json.dumps(trainer.rng.bit_generator.state))
    new.epoch, new.history = trainer.epoch, copy.deepcopy(trainer.history)
    new.progress = json.loads(json.dumps(trainer.progress))
    split = trainer.split
    new.split = None if split is None else {**split, "val_index": list(split["val_index"])}
    new.best_params = None if trainer.best_params is None else trainer.best_params.copy()
    return new


def interrupt_at(trainer: bp.Trainer, update: int) -> None:
    """Request a stop during the trainer's ``update``-th step (as a signal would; run_epoch
    steps through ``_step``, which is ``step`` with the loss's arg-max)."""
    count = [0]
    step = trainer._step

    def counted(xb, tb):
        count[0] += 1
        if count[0] == update:
            interrupt.request()
        return step(xb, tb)

    trainer._step = counted


@pytest.mark.parametrize(
    ("schedule", "batch_size", "update"),
    [("minibatch", 32, 40), ("online", 1, None), ("batch", None, 3), ("minibatch", 50, 12)],
)
def test_an_interrupted_fit_resumes_bit_for_bit(digits, schedule, batch_size, update):
    # minibatch 32 over 480 training rows: 15 updates per epoch, so update 40 is in epoch 3;
    # online uses the compiled path, which does not call step(): the stop is requested by a
    # callback at the end of epoch 2 and taken at the end of epoch 3, the compiled epoch;
    # batch 50 stops after the last batch of epoch 2 (its bookkeeping is done on resuming)
    X, y = digits
    kw = {
        "loss": "softmax_cross_entropy",
        "schedule": schedule,
        "batch_size": batch_size,
        "verbose": 0,
    }
    fit_kw = {"epochs": 5, "validation_split": 0.2, "early_stopping": 3}
    rule = bp.SGD(0.05, momentum=0.9)

    straight = bp.Trainer(digits_net(), optimizer=rule, seed=7, **kw)
    straight.fit(X, y, **fit_kw)

    first = bp.Trainer(digits_net(), optimizer=rule, seed=7, **kw)
    ended = []
    first.callbacks.append(
        type("End", (bp.Callback,), {"on_train_end": lambda self, t: ended.append(t)})()
    )
    if update is None:
        first.callbacks.append(OnEpochEnd(lambda t, e, logs: e == 2 and interrupt.request()))
    else:
        interrupt_at(first, update)
    with pytest.raises(bp.TrainingInterrupted) as info:
        first.fit(X, y, **fit_kw)
    assert info.value.trainer is first and ended == [first]
    assert first.history.stopped_because == "interrupted"
    progress = first.progress
    assert progress is not None and progress["updates"] >= 1
    assert set(progress) >= {"rng_state", "updates", "total", "correct", "count"}
    json.dumps(progress)

    resumed = clone(first, digits_net(seed=5))  # other initial weights, overwritten
    val_rows = {X[i].tobytes() for i in resumed.split["val_index"]}
    seen: list[np.ndarray] = []
    step = resumed._step
    resumed._step = lambda xb, tb: (seen.append(np.asarray(xb)), step(xb, tb))[1]
    resumed.fit(X, y, epochs=5 - first.epoch, **{k: v for k, v in fit_kw.items() if k != "epochs"})
    assert resumed.progress is None
    np.testing.assert_array_equal(resumed.net.space.params, straight.net.space.params)
    for key in ("train_loss", "val_loss", "train_accuracy"):
        assert getattr(resumed.history, key) == pytest.approx(getattr(straight.history, key))
    trained_rows = {row.tobytes() for xb in seen for row in xb}
    assert not trained_rows & val_rows


def test_fit_in_two_calls_equals_one_with_a_validation_split(digits):
    # each fit() used to draw a new split, so the second call trained on rows the first had
    # held out, and the data order drifted; the split is now kept in trainer.split
    X, y = digits
    rule = bp.SGD(0.05, momentum=0.9)
    kw = {"loss": "softmax_cross_entropy", "seed": 3, "verbose": 0}
    straight = bp.Trainer(digits_net(), optimizer=rule, **kw)
    straight.fit(X, y, epochs=6, validation_split=0.25)

    first = bp.Trainer(digits_net(), optimizer=rule, **kw)
    first.fit(X, y, epochs=3, validation_split=0.25)
    split = first.split
    assert split["n"] == 600 and split["fraction"] == 0.25 and split["val_index"].size == 150
    assert split["val_index"].dtype == np.int64
    # stratified: each class's share of the held-out rows is its share of the data, ± 1 row
    counts = np.bincount(y[split["val_index"]], minlength=10)
    assert np.all(np.abs(counts - np.bincount(y, minlength=10) * 0.25) <= 1)
    second = clone(first, digits_net(seed=9))
    second.fit(X, y, epochs=3, validation_split=0.25)
    np.testing.assert_array_equal(second.net.space.params, straight.net.space.params)
    assert second.history.val_loss[-3:] == pytest.approx(straight.history.val_loss[-3:])
    # a different fraction (or data size) is a new split
    second.fit(X, y, epochs=1, validation_split=0.5)
    assert second.split["fraction"] == 0.5 and second.split["val_index"].size == 300


def test_a_real_sigint_stops_training_after_the_current_update(digits):
    X, y = digits

    def send(epoch, logs):
        if epoch == 2:
            os.kill(os.getpid(), signal.SIGINT)

    trainer = bp.Trainer(digits_net(), "softmax_cross_entropy", callbacks=[send], verbose=0)
    with interrupt.deferred_interrupts(), pytest.raises(bp.TrainingInterrupted) as info:
        trainer.fit(X, y, epochs=10)
    assert info.value.signal == signal.SIGINT and info.value.trainer is trainer
    assert trainer.epoch == 2 and trainer.progress["updates"] == 1  # epoch 3's first update
    assert trainer.history.stopped_because == "interrupted"
    assert np.isfinite(trainer.net.space.params).all()


def test_the_reference_of_a_trained_net_is_chance_level_and_measured_once(digits):
    # a trained net's own loss is near 0, where noise is large in ratio; its reference is the
    # null model's loss instead: zero logits, uniform over 10 classes, ln 10. Measured on the
    # first fit() only: later fits on data of the same shape run no extra forward passes.
    X, y = digits
    net = digits_net()
    bp.fit(net, X, y, optimizer=bp.SGD(0.2, momentum=0.9), epochs=40, verbose=0)
    trainer = bp.Trainer(net, "softmax_cross_entropy", bp.SGD(0.01), verbose=0)
    assert trainer.evaluate(X, y)["loss"] < 0.05
    calls = []
    evaluate = trainer.evaluate_prepared
    trainer.evaluate_prepared = lambda *a, **k: (calls.append(1), evaluate(*a, **k))[1]
    trainer.fit(X, y, epochs=1)
    assert trainer._reference[1] == pytest.approx(np.log(10), rel=1e-6) and len(calls) == 2
    trainer.fit(X, y, epochs=1)
    assert len(calls) == 2


def test_resuming_an_interrupted_epoch_on_other_data_is_a_clear_error(digits):
    X, y = digits
    trainer = bp.Trainer(digits_net(), "softmax_cross_entropy", verbose=0)
    interrupt_at(trainer, 3)
    with pytest.raises(bp.TrainingInterrupted):
        trainer.fit(X, y, epochs=2)
    assert trainer.progress["n"] == 600
    with pytest.raises(ValueError, match="ran over 600 training examples, but fit.. got 500"):
        trainer.fit(X[:500], y[:500], epochs=1)


def test_progress_is_strict_json_even_before_early_stopping_saw_an_epoch(digits):
    # interrupted in the first epoch: early stopping's best is still +inf, which strict JSON
    # cannot hold; it is saved as None and read back as +inf
    X, y = digits
    trainer = bp.Trainer(digits_net(), "softmax_cross_entropy", verbose=0)
    interrupt_at(trainer, 2)
    with pytest.raises(bp.TrainingInterrupted):
        trainer.fit(X, y, epochs=3, validation_split=0.2, early_stopping=2)
    text = json.dumps(trainer.progress, allow_nan=False)
    assert trainer.progress["early_stopping"] == {"best": None, "best_epoch": None, "wait": 0}
    resumed = clone(trainer, digits_net())
    resumed.progress = json.loads(text)
    resumed.fit(X, y, epochs=3, validation_split=0.2, early_stopping=2)
    assert resumed.epoch == 3 and resumed.progress is None


@pytest.mark.parametrize(("schedule", "batch_size", "update"), [("minibatch", 32, 40)])
def test_an_interrupted_fit_saved_to_a_file_resumes_bit_for_bit(
    digits, schedule, batch_size, update, tmp_path
):
    # the same as above, through bp.save / bp.load_trainer: the epoch in progress, the
    # early-stopping counters and best weights, the split and the generator are in the file
    X, y = digits
    kw = {"loss": "softmax_cross_entropy", "schedule": schedule, "batch_size": batch_size}
    fit_kw = {"validation_split": 0.2, "early_stopping": 3}
    rule = bp.SGD(0.05, momentum=0.9)
    straight = bp.Trainer(digits_net(), optimizer=rule, seed=7, verbose=0, **kw)
    straight.fit(X, y, epochs=5, **fit_kw)

    first = bp.Trainer(digits_net(), optimizer=rule, seed=7, verbose=0, **kw)
    interrupt_at(first, update)
    with pytest.raises(bp.TrainingInterrupted):
        first.fit(X, y, epochs=5, **fit_kw)
    assert first.progress is not None and first.best_params is not None
    bp.save(first, tmp_path / "run.bprop")
    resumed = bp.load_trainer(tmp_path / "run.bprop", verbose=0)
    assert resumed.progress == first.progress
    np.testing.assert_array_equal(resumed.best_params, first.best_params)
    resumed.fit(X, y, epochs=5 - first.epoch, **fit_kw)
    np.testing.assert_array_equal(resumed.net.space.params, straight.net.space.params)
