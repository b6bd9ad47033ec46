"""``make demo``: a tour of every type of backpropagation, ending with one HTML report.

Run: ``python -m bprop.demo`` (``make demo`` does). In a few minutes on a 2-core machine it
trains, and puts in ``report/index.html`` (self-contained; open it in any browser):

1. **Static backpropagation, online / mini-batch / batch** — a 64-32-10 tanh network on the
   handwritten digits, plain gradient descent under each schedule, several seeds.
2. **Momentum and adaptive learning rates** — SGD, heavy-ball momentum, Nesterov, AdaGrad,
   RMSprop and Adam on mini-batches of digits; the bold driver on full batches.
3. **Resilient backpropagation and Quickprop** — Rprop+, Rprop−, iRprop+, iRprop− and Quickprop
   against batch gradient descent and momentum on Fahlman's 8-3-8 encoder, ten seeds each.
4. **LSTM: full vs truncated backpropagation through time** — a stream in which each bit must
   be recalled 6 steps later: full BPTT over 40-step sequences, and truncated BPTT(k1, k2) with
   k2 = 12 (longer than the lag: learns) and k2 = 3 (shorter: cannot learn the dependency).
5. **Almeida–Pineda recurrent backpropagation** — a settling network restores corrupted
   binary patterns (associative memory), and a fully recurrent settling network learns XOR.
6. **Real-time recurrent learning** — Elman's temporal XOR learned online, one bit at a time,
   with no unrolling.
7. **Gradient diagnostics** — per-layer gradient norms of a 10-layer sigmoid net (they vanish)
   and the same net with ReLU and He initialisation (they do not); ‖∂L/∂h_t‖ through time
   for an Elman network and an LSTM.

The comparison grids run in parallel processes through :func:`bprop.compare.run_grid`.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np

import bprop as bp

#: where the report is written (``/report/`` is in .gitignore)
OUT_DIR = "report"


def _say(text: str) -> None:
    print(text, flush=True)


def _digits_schedules(rep: Any, n_jobs: int) -> None:
    from bprop.compare import format_summary, run_grid
    from bprop.report import add_grid

    rows = run_grid(
        "digits",
        ["sgd"],
        ["online", "minibatch", "batch"],
        seeds=5,
        epochs={"online": 15, "minibatch": 40, "batch": 400},
        target_loss=0.1,
        hidden=[32],
        hyper={
            "sgd@online": {"lr": 0.01},
            "sgd@minibatch": {"lr": 0.2},
            "sgd@batch": {"lr": 1.0},
        },
        validation_split=0.2,
        n_jobs=n_jobs,
    )
    summary = add_grid(
        rep,
        rows,
        "1. Static backpropagation: online, mini-batch and batch (digits)",
        "A 64-32-10 tanh network (linear outputs, softmax cross-entropy) on scikit-learn's "
        "1,797 handwritten digits (20 % held out), trained by plain gradient descent with one "
        "update per example (online, η = 0.01), per 32 shuffled examples (mini-batch, "
        "η = 0.2) or per pass over the training set (batch, η = 1.0), five seeds each, until "
        "the training loss reaches 0.1. Online learning needs the fewest epochs; batch "
        "learning makes one update per epoch, so it needs many more epochs.",
    )
    _say(format_summary(summary))


def _adaptive(rep: Any, n_jobs: int) -> None:
    from bprop.compare import format_summary, run_grid
    from bprop.report import add_grid

    rows = run_grid(
        "digits",
        ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "bold-driver"],
        ["minibatch", "batch"],
        seeds=5,
        epochs={"minibatch": 40, "batch": 300},
        target_loss=0.05,
        hidden=[32],
        hyper={
            "sgd": {"lr": 0.2},
            "momentum": {"lr": 0.05},
            "nesterov": {"lr": 0.05},
            "adagrad": {"lr": 0.05},
            "rmsprop": {"lr": 0.002},
            "adam": {"lr": 0.003},
            "bold-driver": {"lr": 0.5},
            "sgd@batch": {"lr": 1.0},
            "momentum@batch": {"lr": 0.5},
            "nesterov@batch": {"lr": 0.5},
            "adagrad@batch": {"lr": 0.1},
            "rmsprop@batch": {"lr": 0.01},
            "adam@batch": {"lr": 0.02},
        },
        validation_split=0.2,
        n_jobs=n_jobs,
    )
    summary = add_grid(
        rep,
        rows,
        "2. Momentum and adaptive learning rates (digits)",
        "The same network and data with heavy-ball momentum (μ = 0.9), Nesterov momentum, "
        "AdaGrad, RMSprop and Adam, on mini-batches of 32 and on full batches, and the bold "
        "driver (a full-batch rule: grow η by 5 % after an improvement, shrink it and undo the "
        "step after a worse epoch), which is skipped on mini-batches and flagged. Target: "
        "training loss 0.05.",
    )
    _say(format_summary(summary))


def _rprop(rep: Any, n_jobs: int) -> None:
    from bprop.compare import format_summary, run_grid
    from bprop.data import load_dataset
    from bprop.report import add_grid

    enc = load_dataset("encoder-8-3-8")
    rows = run_grid(
        (enc.X, enc.y.argmax(axis=1)),
        ["sgd", "momentum", "rprop+", "rprop-", "irprop+", "irprop-", "quickprop"],
        ["batch"],
        seeds=10,
        epochs=1000,
        target_loss=0.05,
        hidden=[3],
        activation="sigmoid",
        hyper={"sgd": {"lr": 2.0}, "momentum": {"lr": 0.5}, "quickprop": {"lr": 0.5}},
        scale=False,
        n_jobs=n_jobs,
        name="encoder-8-3-8",
    )
    summary = add_grid(
        rep,
        rows,
        "3. Resilient backpropagation (four variants) and Quickprop (8-3-8 encoder)",
        "Fahlman's 8-3-8 encoder: eight one-hot patterns squeezed through three sigmoid hidden "
        "units and reproduced at eight outputs (softmax cross-entropy, i.e. the pattern's "
        "index as a class), full-batch training, "
        "ten seeds, until the loss reaches 0.05. Rprop+ (Riedmiller & Braun 1993, with "
        "weight-backtracking), Rprop−, iRprop+ and iRprop− (Igel & Hüsken 2000) adapt one step "
        "size per weight from gradient signs (η⁺ = 1.2, η⁻ = 0.5, Δ0 = 0.1); Quickprop "
        "(Fahlman 1988) jumps to the minimum of a parabola per weight. Batch gradient descent "
        "(η = 2) and momentum (η = 0.5, μ = 0.9) are the baselines.",
    )
    _say(format_summary(summary))
    rows = run_grid(
        "digits",
        ["sgd", "momentum", "rprop+", "rprop-", "irprop+", "irprop-", "quickprop"],
        ["batch"],
        seeds=5,
        epochs=300,
        target_loss=0.05,
        hidden=[32],
        hyper={"sgd": {"lr": 1.0}, "momentum": {"lr": 0.5}, "quickprop": {"lr": 0.5}},
        validation_split=0.2,
        n_jobs=n_jobs,
    )
    summary = add_grid(
        rep,
        rows,
        "3b. The same rules on the digits (full batch)",
        "The 64-32-10 tanh network of sections 1–2, full-batch training, five seeds, until the "
        "training loss reaches 0.05.",
    )
    _say(format_summary(summary))


def _echo_stream(n: int, lag: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random bits x_t; target y_t = x_{t−lag} (0 for the first ``lag`` steps)."""
    x = rng.integers(0, 2, n)
    y = np.zeros(n, np.int64)
    y[lag:] = x[:-lag]
    return x, y


def _lstm_bptt(rep: Any) -> None:
    from bprop.recurrent import LSTM, Recurrent, TimeDistributed, fit_stream, stream_loss
    from bprop.report.plots import curve_figure

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
        _say(f"  {r['training']:42s} held-out loss {r['final held-out loss']:.3f}")


def _almeida_pineda(rep: Any) -> None:
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
            {"task": "settling XOR: runs solved", "result": f"{sx['solved']} / {sx['runs']}"},
            {"task": "settling XOR: seconds", "result": sx["seconds"]},
        ],
        text_columns=("task",),
    )  # fmt: skip
    _say(
        f"  pattern completion: {pc['restoration_rate']:.0%} of corrupted patterns restored "
        f"(bits {pc['input_bit_accuracy']:.0%} → {pc['bit_accuracy']:.1%}); settling XOR solved "
        f"{sx['solved']}/{sx['runs']}"
    )


def _rtrl(rep: Any) -> None:
    from bprop.recurrent import RTRL, rtrl_network
    from bprop.report.plots import curve_figure
    from bprop.tasks import xor_stream

    n_steps = 30000
    rng = np.random.default_rng(0)
    net = rtrl_network(1, 4, 1, rng=rng)
    rtrl = RTRL(net, loss=bp.BinaryCrossEntropy(from_logits=True))
    s = xor_stream(n_steps // 3 + 1, rng)[: n_steps + 1]
    t0 = time.perf_counter()
    result = rtrl.train_online(s[None, :-1, None], s[None, 1:, None], bp.Adam(0.01))
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
    _say(
        f"  RTRL: held-out error on the predictable bit {err[p2 == 1].mean():.3f}, on random "
        f"bits {err[(p2 == 0) | (p2 == 2)].mean():.3f} ({seconds:.1f} s)"
    )


def _diagnostics(rep: Any) -> None:
    from sklearn.datasets import load_digits

    from bprop.diagnostics import GradientDiagnostics, measure
    from bprop.recurrent import LSTM, Elman, Recurrent
    from bprop.report import add_diagnostics
    from bprop.report.plots import time_norm_figure

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rep.heading("7. Gradient diagnostics: vanishing gradients")
    rep.paragraph(
        "Ten Dense layers of 32 units on the digits (mini-batch SGD, η = 0.05, 5 epochs); the "
        "gradient norm of every layer is measured after each epoch on 256 fixed training "
        "examples. With sigmoid units (f′ ≤ ¼) the error signal shrinks at every layer on its "
        "way down; with ReLU units and He initialisation it does not."
    )
    for title, act, init in (
        ("10-layer sigmoid network (Glorot initialisation)", "sigmoid", None),
        ("10-layer ReLU network (He initialisation)", "relu", "he"),
    ):
        net = bp.mlp([64] + [32] * 9 + [10], activation=act, init=init, seed=0)
        diag = GradientDiagnostics(X[:256], y[:256], warn=False)
        bp.fit(net, X, y, optimizer=bp.SGD(0.05), batch_size=32, epochs=5, callbacks=[diag],
               verbose=0)  # fmt: skip
        add_diagnostics(rep, diag, title)
        g = diag.grad_norms
        _say(
            f"  {title}: ‖∂L/∂θ‖ first layer / last layer = "
            f"{g['Dense 1'][-1] / g['Dense 10'][-1]:.2g}"
        )
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(64, 60, 1))
    ys = Xs[:, 0, :]  # the target is the very first input: the longest dependency
    series = {}
    for cell in (Elman(1, 16, rng=0), LSTM(1, 16, rng=0)):
        net = bp.Sequential(Recurrent(cell, return_sequences=False), bp.Dense(16, 1, rng=1))
        m = measure(net, Xs, ys, bp.MeanSquaredError())
        name = f"{type(cell).__name__} (16 units)"
        series[name] = next(iter(m["time_norms"].values()))
        _say(f"  {name}: ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ = {series[name][0] / series[name][-1]:.2g}")
    rep.heading("Through time: ‖∂L/∂h_t‖", level=3)
    rep.paragraph(
        "A sequence-to-one network reads 60 random inputs and is scored at the last step only; "
        "the figure shows how much of the error gradient reaches each earlier hidden state, at "
        "initialisation. The gradient reaching step 1 is what learning a dependency that long "
        "requires; the LSTM's cell state (with its forget gate) carries it further than the "
        "Elman network's repeated multiplication by W_hh and tanh′."
    )
    rep.figure(time_norm_figure(series), "‖∂L/∂h_t‖ against t (log scale).")


def main(out_dir: str = OUT_DIR, n_jobs: int = -1) -> str:
    """Run the tour and write ``out_dir/index.html``; returns its path."""
    from bprop.report import Report

    np.set_printoptions(precision=4)
    start = time.perf_counter()
    rep = Report(
        "bprop: a tour of every type of backpropagation",
        "Static backprop (online, mini-batch, batch), momentum and adaptive rates, Rprop and "
        "Quickprop, LSTM with full and truncated BPTT, Almeida–Pineda, RTRL, and gradient "
        "diagnostics — each trained here, on this machine.",
    )
    steps = [
        ("1/7 static backprop: online, mini-batch, batch on digits", _digits_schedules, True),
        ("2/7 momentum and adaptive learning rates on digits", _adaptive, True),
        ("3/7 Rprop (four variants) and Quickprop on the 8-3-8 encoder", _rprop, True),
        ("4/7 LSTM: full vs truncated BPTT", _lstm_bptt, False),
        ("5/7 Almeida-Pineda recurrent backpropagation", _almeida_pineda, False),
        ("6/7 real-time recurrent learning (temporal XOR)", _rtrl, False),
        ("7/7 gradient diagnostics", _diagnostics, False),
    ]
    for title, fn, parallel in steps:
        t0 = time.perf_counter()
        _say(f"\n== {title}")
        fn(rep, n_jobs) if parallel else fn(rep)
        _say(f"   ({time.perf_counter() - t0:.1f} s)")
    total = time.perf_counter() - start
    rep.paragraph(f"The whole tour took {total:.0f} s.", cls="note")
    rep.reproduce({"out_dir": out_dir, "n_jobs": n_jobs}, "python -m bprop.demo  # or: make demo")
    path = rep.write(out_dir)
    _say(f"\nDone in {total:.0f} s. Open the report:\n  {os.path.abspath(path)}")
    return path


if __name__ == "__main__":
    main(*(sys.argv[1:2] or [OUT_DIR]))
