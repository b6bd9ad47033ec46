"""RTRL through the one loop: Trainer with a StepSchedule and an RTRL gradient source;
train_online as its short form."""

import numpy as np
import pytest

import bprop as bp
from bprop.optim.base import Chain
from bprop.optim.schedules import ScaleBySchedule, StepDecay
from bprop.recurrent.rtrl import RTRL, rtrl_network
from bprop.train import StepSchedule, Trainer, train_online

X = np.sin(np.arange(81) / 4.0)[None, :, None]


def test_train_online_is_the_plain_per_step_loop():
    """The loop adds bookkeeping, not arithmetic: weights, losses and outputs are those of
    stepping RTRL and applying the rule after every step by hand."""
    by_loop = RTRL(rtrl_network(1, 5, 1, rng=0))
    out = train_online(by_loop, X[:, :-1], X[:, 1:], bp.SGD(0.05, momentum=0.5))
    by_hand, rule = RTRL(rtrl_network(1, 5, 1, rng=0)), bp.SGD(0.05, momentum=0.5)
    space = by_hand.net.space
    state, losses, outs = rule.init(space.params), [], []
    Xp, Tp = by_hand.prepare(X[:, :-1], X[:, 1:])
    by_hand.reset(1)
    for t in range(80):
        space.grads.fill(0)
        y, loss = by_hand.step(Xp[:, t], Tp[:, t])
        state = rule.apply(space.grads, state, space.params, loss)
        losses.append(loss)
        outs.append(y)
    np.testing.assert_array_equal(by_loop.net.space.params, space.params)
    np.testing.assert_array_equal(out.losses, losses)
    np.testing.assert_array_equal(out.outputs, np.stack(outs, axis=1))


def test_a_trainer_with_a_step_schedule_runs_passes_as_epochs():
    rtrl = RTRL(rtrl_network(1, 5, 1, rng=0))
    rule = Chain(bp.SGD(0.05), ScaleBySchedule(StepDecay(1, 0.5)))
    trainer = Trainer(rtrl.net, rtrl.loss, rule, StepSchedule(), verbose=0)
    h = trainer.fit(X[:, :-1], X[:, 1:], epochs=3, rtrl=rtrl)
    assert h.n_epochs == 3 and trainer.state["1/count"] == 3.0  # on_epoch_end once per pass
    # each pass starts from h = 0, P = 0 and its epoch loss is the mean of its step losses
    assert h.train_loss[-1] == pytest.approx(trainer.source.result().losses.mean())
    assert h.train_loss[-1] < h.train_loss[0]


def test_step_schedule_arguments_are_checked():
    rtrl = RTRL(rtrl_network(1, 5, 1, rng=0))
    trainer = Trainer(rtrl.net, rtrl.loss, bp.SGD(0.05), StepSchedule(), verbose=0)
    with pytest.raises(TypeError, match="rtrl must be a bprop.recurrent.RTRL"):
        trainer.fit(X[:, :-1], X[:, 1:], epochs=1)
    other = RTRL(rtrl_network(1, 5, 1, rng=1))
    with pytest.raises(ValueError, match="must train the trainer's network"):
        trainer.fit(X[:, :-1], X[:, 1:], epochs=1, rtrl=other)
    with pytest.raises(ValueError, match="takes no validation_data"):
        trainer.fit(X[:, :-1], X[:, 1:], 1, validation_data=(X[:, :-1], X[:, 1:]), rtrl=rtrl)
    with pytest.raises(TypeError, match="rule must be an update rule"):
        train_online(rtrl, X[:, :-1], X[:, 1:], "sgd")


def test_the_moved_names_say_where_they_went():
    import bprop.recurrent

    rtrl = RTRL(rtrl_network(1, 2, 1, rng=0))
    with pytest.raises(AttributeError, match=r"bprop\.train\.train_online\(rtrl"):
        rtrl.train_online  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        rtrl.nope  # noqa: B018
    with pytest.raises(AttributeError, match=r"moved to bprop\.fit_stream"):
        bprop.recurrent.fit_stream  # noqa: B018
    assert not hasattr(bprop.recurrent, "nope")
