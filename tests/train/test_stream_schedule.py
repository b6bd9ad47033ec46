"""Streams through the one loop: Trainer with a StreamSchedule (truncated BPTT as a gradient
source), fit_stream as its short form."""

import numpy as np
import pytest

import bprop as bp
from bprop.optim.base import Chain
from bprop.optim.schedules import ScaleBySchedule, StepDecay
from bprop.recurrent import Elman, Recurrent, TimeDistributed, tbptt_updates
from bprop.train import StreamSchedule, Trainer, fit_stream

STREAM = np.random.default_rng(0).integers(0, 3, 401)


def net():
    return bp.Sequential(Recurrent(Elman(3, 5, rng=0)), TimeDistributed(bp.Dense(5, 3, rng=1)))


def test_fit_stream_is_the_plain_tbptt_loop():
    """The loop adds bookkeeping, not arithmetic: its weights and chunk losses are those of
    applying the rule after every chunk of tbptt_updates by hand."""
    by_loop = net()
    hist = fit_stream(by_loop, STREAM[:-1], STREAM[1:], 7, 11, optimizer=bp.SGD(0.1, momentum=0.9),
                      batch_size=4, epochs=2, verbose=0)  # fmt: skip
    by_hand, rule, losses = net(), bp.SGD(0.1, momentum=0.9), []
    space = by_hand.space
    state = rule.init(space.params)
    Xs, Ys = STREAM[:-1][:400].reshape(4, 100), STREAM[1:][:400].reshape(4, 100)
    for _ in range(2):
        for value, _n in tbptt_updates(by_hand, bp.SoftmaxCrossEntropy(), Xs, Ys, 7, 11):
            state = rule.apply(space.grads, state, space.params, value)
            losses.append(float(value))
    np.testing.assert_array_equal(by_loop.space.params, space.params)
    assert hist.train_loss == losses and hist.updates == 2 * 15 and hist.epochs == 2


def test_a_trainer_with_a_stream_schedule_keeps_an_epoch_history_and_runs_callbacks():
    seen = []
    trainer = Trainer(net(), "cross_entropy", bp.Adam(0.01), StreamSchedule(10, batch_size=4),
                      callbacks=[lambda epoch, logs: seen.append((epoch, logs["val_loss"]))],
                      verbose=0)  # fmt: skip
    h = trainer.fit(STREAM[:-1], STREAM[1:], epochs=3, validation_data=(STREAM[:-1], STREAM[1:]))
    per_update = trainer.stream_history
    assert h.n_epochs == 3 and per_update.epochs == 3 and per_update.updates == 30
    for e in range(3):  # an epoch's loss is the mean of its chunks' losses
        assert h.train_loss[e] == pytest.approx(
            np.mean(per_update.train_loss[10 * e : 10 * e + 10])
        )
    assert seen == [(e + 1, v) for e, v in enumerate(per_update.val_loss)]
    assert per_update.val_updates == [10, 20, 30]


def test_early_stopping_works_on_streams():
    trainer = Trainer(net(), "cross_entropy", bp.SGD(50.0), StreamSchedule(10, batch_size=4),
                      verbose=0, divergence_factor=None)  # fmt: skip
    val = np.random.default_rng(1).integers(0, 3, 201)
    h = trainer.fit(STREAM[:-1], STREAM[1:], epochs=40, validation_data=(val[:-1], val[1:]),
                    early_stopping=2)  # fmt: skip
    assert h.stopped_because == "early_stopping" and h.n_epochs < 40
    assert h.best_epoch is not None and h.val_loss[h.best_epoch - 1] == min(h.val_loss)


def test_a_pass_cut_short_is_not_an_epoch_for_the_rules():
    rule = Chain(bp.Adam(0.01), ScaleBySchedule(StepDecay(1, 0.5)))
    h = fit_stream(net(), STREAM[:-1], STREAM[1:], 10, optimizer=rule, batch_size=4, epochs=3,
                   max_updates=15, verbose=0)  # fmt: skip
    # pass 1 ran whole (one step of the schedule); pass 2 stopped after 5 of its 10 chunks
    assert h.updates == 15 and h.epochs == 2 and h.stopped_because == "max_updates"
    assert h.optimizer_state["1/count"] == 1.0


def test_stream_options_and_schedules_are_checked():
    with pytest.raises(ValueError, match="k2 = 2 < k1 = 5"):
        StreamSchedule(5, 2)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        StreamSchedule(5, batch_size=0)
    examples = Trainer(bp.mlp([2, 3, 2], seed=0), "cross_entropy", verbose=0)
    X, y = np.zeros((8, 2)), np.arange(8) % 2
    with pytest.raises(ValueError, match="max_updates: not an option of the minibatch schedule"):
        examples.fit(X, y, epochs=1, max_updates=3)
    stream = Trainer(net(), "cross_entropy", schedule=StreamSchedule(10, batch_size=4), verbose=0)
    with pytest.raises(ValueError, match="validation_split does not apply to the stream schedule"):
        stream.fit(STREAM[:-1], STREAM[1:], epochs=1, validation_split=0.2)
    with pytest.raises(ValueError, match="eval_every must be at least 1"):
        stream.fit(STREAM[:-1], STREAM[1:], epochs=1, eval_every=0)


def test_an_interrupted_stream_keeps_its_weights_even_with_early_stopping():
    """After an interrupt the weights and the rule's state belong together: early stopping
    does not put its best weights back (a stream's pass has no progress record to resume)."""
    from bprop import interrupt

    def trainer():
        return Trainer(net(), "cross_entropy", bp.Adam(0.05), StreamSchedule(10, batch_size=4),
                       verbose=0)  # fmt: skip

    val = (STREAM[:-1], STREAM[1:])
    straight = trainer()
    straight.fit(STREAM[:-1], STREAM[1:], epochs=3, max_updates=16)
    stopped = trainer()
    with pytest.raises(bp.TrainingInterrupted) as info:
        stopped.fit(STREAM[:-1], STREAM[1:], epochs=3, validation_data=val, early_stopping=5,
                    on_update=lambda u, _: u == 15 and interrupt.request())  # fmt: skip
    assert info.value.trainer is stopped and stopped.stream_history.updates == 16
    assert stopped.history.stopped_because == "interrupted"
    assert not stopped.net.layers[0].stateful  # made stateful for the pass only
    np.testing.assert_array_equal(stopped.net.space.params, straight.net.space.params)
