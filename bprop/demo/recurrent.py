"""The tour's recurrent part: LSTM with full and truncated BPTT, Almeida–Pineda, RTRL."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

import bprop as bp
from bprop.demo.common import say


def _echo_stream(n: int, lag: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random bits x_t; target y_t = x_{t−lag} (0 for the first ``lag`` steps)."""
    x = rng.integers(0, 2, n)
    y = np.zeros(n, np.int64)
    y[lag:] = x[:-lag]
    return x, y


def section_lstm_bptt(rep: Any) -> None:
    """The demo's section 4: an LSTM trained by full BPTT and by truncated BPTT with k2 longer
    and shorter than the lag it must bridge, into the report ``rep``."""
    from bprop.recurrent import LSTM, Recurrent, TimeDistributed, stream_loss
    from bprop.report.plots import curve_figure
    from bprop.train import fit_stream

    lag, epochs = 6, 10
    rng = np.random.default_rng(0)
    X, Y = _echo_stream(16000, lag, rng)
    Xv, Yv = _echo_stream(4000, lag, rng)
    loss = bp.SoftmaxCrossEntropy()

    def model() -> bp.Sequential:
        return bp.Sequential(Recurrent(LSTM(2, 16, rng=0)), TimeDistributed(bp.Dense(16, 2, rng=1)))

    curves: dict[str, list[float]] = {}
    times: dict[str, float] = {}
    T = 40
    net = model()
    val: list[float] = []
    t0 = time.perf_counter()
    bp.fit(
        net,
        np.eye(2)[X].reshape(-1, T, 2),
        Y.reshape(-1, T),
        loss=loss,
        optimizer=bp.Adam(0.01),
        batch_size=16,
        epochs=epochs,
        verbose=0,
        callbacks=[lambda e, logs: val.append(stream_loss(net, Xv, Yv, loss, 16, 100))],
    )
    times[f"full BPTT over {T}-step sequences"] = time.perf_counter() - t0
    curves[f"full BPTT over {T}-step sequences"] = val
    for k in (12, 3):
        net = model()
        t0 = time.perf_counter()
        h = fit_stream(
            net, X, Y, k, k, loss=loss, optimizer=bp.Adam(0.01), batch_size=16, epochs=epochs,
            validation=(Xv, Yv), verbose=0,
        )  # fmt: skip
        name = f"truncated BPTT(k1={k}, k2={k}), state carried"
        curves[name], times[name] = h.val_loss, time.perf_counter() - t0
    rep.heading("4. LSTM: full vs truncated backpropagation through time")
    rep.paragraph(
        f"A stream of random bits; the target at each step is the bit seen {lag} steps "
        "earlier, so the network must hold each bit for exactly that long. An LSTM (16 units, "
        "forget gate) with a per-step softmax readout is trained with Adam (η = 0.01): by full "
        f"BPTT over {T}-step sequences (state reset per sequence), and by truncated BPTT "
        "(Williams & Peng 1990) over the stream split into 16 sub-streams, the state carried "
        "across chunks, updating every k1 steps and backpropagating k2 steps. With k2 = 12 ≥ "
        f"{lag} the gradient spans the dependency; with k2 = 3 < {lag} it never does, and "
        "the loss stays at chance (ln 2 ≈ 0.693). The held-out loss is measured on a separate "
        "stream with the state carried throughout."
    )
    rep.figure(
        curve_figure(
            curves,
            xlabel="epoch",
            ylabel="held-out loss per step (nats)",
            title="LSTM on the delayed-recall stream",
            hline=(float(np.log(2)), "chance (ln 2)"),
        ),  # fmt: skip
        "Held-out loss per step after each epoch.",
    )
    rows = [
        {"training": n, "final held-out loss": c[-1], "seconds": times[n]}
        for n, c in curves.items()
    ]
    rep.table(rows, text_columns=("training",))
    for r in rows:
        say(f"  {r['training']:42s} held-out loss {r['final held-out loss']:.3f}")


def section_almeida_pineda(rep: Any) -> None:
    """The demo's section 5: Almeida–Pineda pattern completion and settling XOR, into the report
    ``rep``."""
    from bprop.report.plots import settling_figure
    from bprop.tasks import pattern_completion, settling_xor

    pc = pattern_completion(epochs=40, seed=0)
    sx = settling_xor(seeds=5, epochs=300)
    rep.heading("5. Almeida–Pineda recurrent backpropagation")
    rep.paragraph(
        "A recurrent network of any topology relaxes to a fixed point; the gradient of the "
        "loss at that fixed point comes from a second, adjoint relaxation (Almeida 1987; "
        "Pineda 1987). Pattern completion: 16 visible and 8 hidden units, all connected, learn "
        "4 random 16-bit patterns; shown fresh copies with 20 % of their bits flipped, the "
        "network settles to the stored pattern. Settling XOR: a fully recurrent 4-unit "
        "network computes XOR at its fixed point."
    )
    rep.table(
        [
            {"task": "pattern completion: patterns restored exactly",
             "result": pc["restoration_rate"]},
            {"task": "pattern completion: nearest-stored-pattern decoder, for comparison",
             "result": pc["nearest_pattern_rate"]},
            {"task": "pattern completion: bits right (settled)", "result": pc["bit_accuracy"]},
            {"task": "pattern completion: bits right in the corrupted input",
             "result": pc["input_bit_accuracy"]},
            {"task": "pattern completion: settling iterations",
             "result": pc["settling_iterations"]},
            {"task": "pattern completion: seconds", "result": pc["seconds"]},
            {"task": "settling XOR: runs solved", "result": f"{sx['solved']}/{sx['runs']}"},
            {"task": "settling XOR: seconds", "result": sx["seconds"]},
        ],
        text_columns=("task",),
    )  # fmt: skip
    rep.figure(
        settling_figure(pc["train_loss_curve"], sx["loss_curves"], sx["run_solved"]),
        "Training at the fixed point. Left: the pattern-completion network's loss by epoch. "
        "Right: each settling-XOR run's loss by epoch (solid: the run solved XOR; dashed: it "
        "did not), one line per initialisation.",
    )
    say(
        f"  pattern completion: {pc['restoration_rate']:.0%} of corrupted patterns restored "
        f"(bits {pc['input_bit_accuracy']:.0%} → {pc['bit_accuracy']:.1%}); settling XOR solved "
        f"{sx['solved']}/{sx['runs']}"
    )


def section_rtrl(rep: Any) -> None:
    """The demo's section 6: an Elman network learning temporal XOR online by RTRL, into the
    report ``rep``."""
    from bprop.recurrent import RTRL, rtrl_network
    from bprop.report.plots import curve_figure
    from bprop.tasks import xor_stream
    from bprop.train import train_online

    n_steps = 30000
    rng = np.random.default_rng(0)
    net = rtrl_network(1, 4, 1, rng=rng)
    rtrl = RTRL(net, loss=bp.BinaryCrossEntropy(from_logits=True))
    s = xor_stream(n_steps // 3 + 1, rng)[: n_steps + 1]
    t0 = time.perf_counter()
    result = train_online(rtrl, s[None, :-1, None], s[None, 1:, None], bp.Adam(0.01))
    seconds = time.perf_counter() - t0
    losses = np.asarray(result.losses, np.float64).reshape(-1)
    pos = np.arange(losses.size) % 3
    window = 300
    curves, xs = {}, {}
    names = {1: "predictable bit (a XOR b)", 0: "random bit", 2: "random bit (next a)"}
    for k in (1, 0):
        sel = losses[pos == k]
        m = sel.size // window
        curves[names[k]] = sel[: m * window].reshape(m, window).mean(axis=1)
        xs[names[k]] = (np.arange(m) + 0.5) * window * 3
    s2 = xor_stream(1001, rng)[:3001]
    logits = net.predict(s2[None, :-1, None])[0, :, 0]
    err = np.abs(1.0 / (1.0 + np.exp(-logits)) - s2[1:])
    p2 = np.arange(err.size) % 3
    rep.heading("6. Real-time recurrent learning (RTRL)")
    rep.paragraph(
        "Williams & Zipser (1989): the exact gradient of the current error with respect to "
        "every weight is carried forward in time (the sensitivities ∂h_t/∂θ), so a recurrent "
        "network learns online, after every input, without unrolling. Elman's temporal XOR: "
        "a stream of triples (a, b, a XOR b); an Elman network (1 input, 4 tanh units) predicts "
        f"the next bit and updates its weights (Adam, η = 0.01) after each of {n_steps:,} bits. "
        "Only every third bit is predictable: its loss falls, the others stay at chance "
        f"(ln 2). Training took {seconds:.1f} s."
    )
    rep.figure(
        curve_figure(
            curves,
            xs,
            xlabel="bits seen",
            ylabel=f"loss (mean over {window} triples)",
            title="RTRL on temporal XOR",
            hline=(float(np.log(2)), "chance (ln 2)"),
        ),  # fmt: skip
        "Per-step training loss (before each update), by position in the triple.",
    )
    rep.table(
        [
            {"position": "predictable (a XOR b)", "held-out mean |σ(y) − bit|":
             float(err[p2 == 1].mean())},
            {"position": "random", "held-out mean |σ(y) − bit|":
             float(err[(p2 == 0) | (p2 == 2)].mean())},
        ],
        text_columns=("position",),
    )  # fmt: skip
    say(
        f"  RTRL: held-out error on the predictable bit {err[p2 == 1].mean():.3f}, on random "
        f"bits {err[(p2 == 0) | (p2 == 2)].mean():.3f} ({seconds:.1f} s)"
    )
