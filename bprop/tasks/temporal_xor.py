"""Elman's (1990) temporal XOR learned online by real-time recurrent learning, one bit at a time.

A stream in which every third bit is the XOR of the two before it; the network predicts the
next bit. Only the third bit of each triple is predictable: after learning, the error there is
near 0 (≤ 0.015 over 15 seeds) while at the other positions it stays at chance, 0.5. See
:func:`temporal_xor` for the setup and its measurements.

Example::

    >>> import numpy as np
    >>> from bprop.tasks.temporal_xor import xor_stream
    >>> s = xor_stream(2, np.random.default_rng(0)).astype(int).reshape(-1, 3)
    >>> s.tolist(), bool((s[:, 2] == s[:, 0] ^ s[:, 1]).all())
    ([[1, 1, 0], [1, 0, 1]], True)
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bprop import backend
from bprop.losses import BinaryCrossEntropy
from bprop.optim.adaptive import Adam
from bprop.recurrent.rtrl import RTRL, rtrl_network
from bprop.train.schedules import StepSchedule
from bprop.train.trainer import Trainer

__all__ = ["temporal_xor", "xor_stream"]


def xor_stream(n_triples: int, rng: np.random.Generator) -> np.ndarray:
    """Elman's temporal-XOR stream: triples (a, b, a XOR b) of random bits, concatenated."""
    a = rng.integers(0, 2, n_triples)
    b = rng.integers(0, 2, n_triples)
    return np.stack([a, b, a ^ b], axis=1).reshape(-1).astype(np.float64)


def temporal_xor(
    n_steps: int = 300000,
    n_hidden: int = 16,
    lr: float = 0.005,
    lr_final: float = 1e-4,
    init_scale: float = 2.0,
    n_test: int = 3000,
    seed: int = 0,
    verbose: int = 0,
) -> dict[str, Any]:
    """Elman's temporal XOR, learned online by RTRL one bit at a time.

    An Elman network (1 input, ``n_hidden`` tanh units, a linear readout to one logit) reads a
    stream of ``n_steps`` bits and predicts the next bit (binary cross-entropy on the logit),
    updating its weights with Adam after *every* bit (Williams & Zipser's real-time mode: one
    stream, no unrolling, the state never reset, no phase input, so the network must find
    where the triples begin from the bits). It is then run, frozen, from a zero state on a
    fresh stream of ``n_test`` bits that starts at a triple, as training did, and the mean
    absolute error |σ(y_t) − bit_{t+1}| is reported by position in the triple:
    ``error_predictable`` where the input is the second bit, so the next is the XOR of the
    last two; ``error_unpredictable`` (the mean of the two other positions) where the next bit
    is random, so 0.5 whatever the prediction. ``error_predictable_mid_triple`` is the
    predictable error on the same test stream entered one bit into a triple (the first 100
    triples not scored): it is low only if the network takes the phase from the data rather
    than counting from its first bit.

    The setup, and why. The task is a long plateau (nothing is predicted until the network
    couples the last two bits *and* finds the phase) and then a slow sharpening, so: ``n_steps``
    = 300 000 bits (with 100 000–200 000 some seeds never leave the plateau); the step size
    falls geometrically from ``lr`` to ``lr_final`` over 20 equal stages of the stream (Adam's
    moments, h and the sensitivities carried through; a constant step leaves the answer noisy);
    every weight starts at ``init_scale`` times the default U(±1/√H), which shortens the
    plateau; and 16 units, because with 4 or 8 some seeds stall on the plateau or in a
    half-learnt XOR. RTRL's O(n⁴) is no obstacle at this size: a step costs about the same
    (~65 µs, interpreter-bound) for 4 to 24 units. Measured on 2 cores, ~20 s a run: the predictable
    error is 0.001–0.015 for each of seeds 0–14 (unpredictable 0.50), and the training loss ends
    at 0.462–0.466, the optimum being (2/3)·ln 2 ≈ 0.462. For 3 of those 15 seeds
    ``error_predictable_mid_triple`` stays ≈ 0.5: those networks keep the phase by counting (a
    period-3 cycle started by the zero state) rather than reading it from the bits. The earlier
    setup (30 000 bits, 4 units, constant Adam(0.01)) reached 0.17–0.34.
    """
    rng = np.random.default_rng(seed)
    net = rtrl_network(1, n_hidden, 1, rng=rng)
    net.space.params *= init_scale
    rtrl = RTRL(net, loss=BinaryCrossEntropy(from_logits=True))
    s = xor_stream(n_steps // 3 + 1, rng)[: n_steps + 1]
    stages = 20
    edges = np.linspace(0, n_steps, stages + 1).astype(int)
    # one trainer throughout: h, P and Adam's state carry across the stages, each a fit on its
    # piece of the stream with a smaller step size, all shown on one progress display
    trainer = Trainer(
        net, rtrl.loss, Adam(lr), StepSchedule(), verbose=verbose, label="temporal XOR · RTRL"
    )
    losses = []
    t0 = time.perf_counter()
    with trainer.progress_over(updates=int(n_steps)):
        for k in range(stages):
            a, b = edges[k], edges[k + 1]
            if b > a:
                trainer.optimizer = Adam(lr * (lr_final / lr) ** (k / (stages - 1)))
                trainer.fit(s[None, a:b, None], s[None, a + 1 : b + 1, None], 1, rtrl=rtrl,
                            reset=k == 0)  # fmt: skip
                losses.append(trainer.source.result().losses)
    seconds = time.perf_counter() - t0
    loss = np.concatenate(losses)

    s2 = xor_stream(n_test // 3 + 2, rng)

    def errors(offset: int) -> tuple[np.ndarray, np.ndarray]:
        """|σ(y_t) − bit_{t+1}| on the test stream entered at ``offset``, and the position in
        the triple of each input bit (0: a, 1: b, 2: a XOR b; at 1 the next bit is a XOR b)."""
        x = s2[offset : offset + n_test + 1]
        logits = net.predict(x[None, :-1, None])[0, :, 0]
        return np.abs(1.0 / (1.0 + np.exp(-logits)) - x[1:]), (np.arange(n_test) + offset) % 3

    err, pos = errors(0)
    by_pos = [float(err[pos == k].mean()) for k in range(3)]
    err1, pos1 = errors(1)
    skip = min(300, n_test // 2)  # let it find the phase first
    return {
        "task": "temporal-xor",
        "error_predictable": by_pos[1],
        "error_unpredictable": float(np.mean([by_pos[0], by_pos[2]])),
        "error_by_position": by_pos,
        "error_predictable_mid_triple": float(err1[skip:][pos1[skip:] == 1].mean()),
        "train_loss_first_1000": float(loss[:1000].mean()),
        "train_loss_last_1000": float(loss[-1000:].mean()),
        "n_steps": int(n_steps),
        "seconds": seconds,
        "dtype": str(backend.get_dtype()),
    }
