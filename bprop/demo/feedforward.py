"""The tour's feedforward part: schedules, momentum and adaptive rates, Rprop and Quickprop."""

from __future__ import annotations

from typing import Any

from bprop.demo.common import say


def section_digits_schedules(rep: Any, n_jobs: int) -> None:
    """The demo's section 1: online, mini-batch and batch gradient descent on the digits, over
    seeds, into the report ``rep`` (``n_jobs`` worker processes)."""
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
    say(format_summary(summary))


def section_adaptive(rep: Any, n_jobs: int) -> None:
    """The demo's section 2: momentum, Nesterov, AdaGrad, RMSprop, Adam and the bold driver on
    the digits, into the report ``rep`` (``n_jobs`` worker processes)."""
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
    say(format_summary(summary))


def section_rprop(rep: Any, n_jobs: int) -> None:
    """The demo's section 3: the four Rprop variants and Quickprop against gradient descent on
    the 8-3-8 encoder, into the report ``rep`` (``n_jobs`` worker processes)."""
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
    say(format_summary(summary))
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
    say(format_summary(summary))
