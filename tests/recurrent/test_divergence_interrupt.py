"""fit_stream and RTRL online training: divergence restores the weights and raises
TrainingDiverged; an interrupt leaves consistent weights and what is needed to go on."""

from __future__ import annotations

import numpy as np
import pytest

import bprop as bp
from bprop import interrupt
from bprop.optim.base import UpdateRule
from bprop.recurrent import LSTM, RTRL, Recurrent, TimeDistributed
from bprop.recurrent.rtrl import rtrl_network
from bprop.train import fit_stream, train_online

IDS = np.tile(np.arange(4), 200)  # the stream 0 1 2 3 0 1 2 3 …


def stream_net() -> bp.Sequential:
    return bp.Sequential(Recurrent(LSTM(4, 8, rng=0)), TimeDistributed(bp.Dense(8, 4, rng=1)))


def sine() -> np.ndarray:
    return np.sin(np.arange(121) / 4.0)[None, :, None]


@pytest.mark.parametrize("lr", [1e6, 1e30])  # a huge finite loss, and NaN/inf
def test_fit_stream_divergence_restores_the_weights(lr):
    # update 1 (at the start weights) passes; its step blows the weights up, so the next
    # chunks' losses are over the threshold (or NaN): training stops within two more chunks
    # and the weights and rule state go back to before update 1. It used to leave hundreds
    # of NaN weights behind.
    net = stream_net()
    start = net.space.params.copy()
    seen = []
    with pytest.raises(bp.TrainingDiverged, match="Lower the learning rate") as info:
        fit_stream(
            net,
            IDS[:-1],
            IDS[1:],
            k1=10,
            batch_size=4,
            epochs=3,
            optimizer=bp.SGD(lr, momentum=0.9),
            verbose=0,
            callback=lambda update, loss: seen.append(loss),
        )
    assert "at update 3 (epoch 1)" in str(info.value) and len(seen) == 2
    np.testing.assert_array_equal(net.space.params, start)


def test_fit_stream_divergence_factor_is_a_setting():
    net = stream_net()
    with pytest.raises(ValueError, match="divergence_factor"):
        fit_stream(net, IDS[:-1], IDS[1:], k1=10, batch_size=4, divergence_factor=1, verbose=0)


def test_an_interrupted_fit_stream_returns_consistent_weights_and_state():
    def stop_at_3(update, loss):
        if update == 3:
            interrupt.request()

    net = stream_net()
    with pytest.raises(bp.TrainingInterrupted) as info:
        fit_stream(
            net,
            IDS[:-1],
            IDS[1:],
            k1=10,
            batch_size=4,
            epochs=2,
            callback=stop_at_3,
            optimizer=bp.optim.Adam(0.01),
            validation=(IDS[:-1], IDS[1:]),
            keep_best=True,
            verbose=0,
        )
    exc = info.value
    hist = exc.history
    # the request came from update 3's callback; update 4 ran and the check after it stopped
    assert exc.net is net and hist.updates == 4 and hist.stopped_because == "interrupted"
    assert hist.optimizer_state is exc.optimizer_state and exc.optimizer_state["t"] == 4
    assert np.isfinite(net.space.params).all()
    # continuing with the returned rule state picks up Adam's step count where it stopped
    more = fit_stream(
        net,
        IDS[:-1],
        IDS[1:],
        k1=10,
        batch_size=4,
        optimizer=bp.optim.Adam(0.01),
        optimizer_state=exc.optimizer_state,
        max_updates=2,
        verbose=0,
    )
    assert more.optimizer_state["t"] == 6


def test_rtrl_divergence_raises_training_diverged_and_restores():
    net = rtrl_network(1, 6, 1, rng=0)
    start = net.space.params.copy()
    rtrl = RTRL(net, loss=bp.SquaredError())
    x = sine()
    with pytest.raises(bp.TrainingDiverged, match=r"RTRL online training at step \d"):
        train_online(rtrl, x[:, :-1], x[:, 1:], bp.SGD(1e6))
    # step 0's loss (at the start weights) passed; its update made every later loss huge
    np.testing.assert_array_equal(net.space.params, start)
    assert rtrl.h is None and rtrl.P is None


class StopAfter(UpdateRule):
    """SGD(0.05) that requests an interrupt at its n-th update (as a signal would)."""

    def __init__(self, n: int) -> None:
        self.inner, self.n, self.calls = bp.SGD(0.05, momentum=0.5), n, 0

    def init(self, params):
        return self.inner.init(params)

    def update(self, grads, state, params, loss=None):
        self.calls += 1
        if self.calls == self.n:
            interrupt.request()
        return self.inner.update(grads, state, params, loss)


def test_interrupted_rtrl_continues_exactly_on_the_same_object():
    x = sine()
    straight_net = rtrl_network(1, 6, 1, rng=0)
    straight = train_online(RTRL(straight_net), x[:, :-1], x[:, 1:], bp.SGD(0.05, momentum=0.5))

    net = rtrl_network(1, 6, 1, rng=0)
    rtrl = RTRL(net)
    with pytest.raises(bp.TrainingInterrupted) as info:
        train_online(rtrl, x[:, :-1], x[:, 1:], StopAfter(40))
    exc = info.value
    assert exc.net is net and exc.step == 40 and exc.result.losses.shape == (40,)
    rest = train_online(
        rtrl, x[:, 40:-1], x[:, 41:], bp.SGD(0.05, momentum=0.5), exc.optimizer_state, reset=False
    )
    np.testing.assert_array_equal(net.space.params, straight_net.space.params)
    np.testing.assert_array_equal(np.concatenate([exc.result.losses, rest.losses]), straight.losses)


def test_a_settling_net_that_stops_relaxing_is_restored_by_the_trainer():
    # Almeida-Pineda through the Trainer: after epoch 2 a callback gives the unit a strong
    # negative self-connection (as a too-large step could), so x ← tanh(−10x + …) oscillates
    # and epoch 3's relaxation fails with RelaxationError, a TrainingDiverged: the trainer puts
    # back the start of epoch 2, the last epoch that passed, and says "diverged".
    from bprop.recurrent.rbp import RelaxationError, SettlingNetwork

    with bp.backend.default_dtype("float64"):
        layer = SettlingNetwork(1, 1, activation="tanh", rng=0, max_iter=200)
    net = bp.Sequential(layer)
    ends = {}

    class Spoil(bp.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            ends[epoch] = net.space.params.copy()
            if epoch == 2:
                layer.params["W"][...] = -10.0

    X = np.linspace(-1, 1, 8)[:, None]
    trainer = bp.Trainer(
        net, bp.SquaredError(), bp.SGD(0.1), schedule="batch", callbacks=[Spoil()], verbose=0
    )
    with pytest.raises(RelaxationError):
        trainer.fit(X, 0.5 * X, epochs=5)
    np.testing.assert_array_equal(net.space.params, ends[1])
    assert trainer.epoch == 1 and trainer.history.stopped_because == "diverged"
