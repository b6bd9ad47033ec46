"""The figures of the "types of backpropagation" guide and of the guides, drawn at build time.

Each function trains a small, seeded network with bprop and returns a matplotlib figure; the
MkDocs hook (``docs/hooks.py``) renders them to PNG into the built site, so no image is
committed. Run ``python docs/plots.py OUTDIR`` to write them as files instead.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import bprop as bp  # noqa: E402
from bprop.data import load_dataset  # noqa: E402
from bprop.data.sequences import adding_problem  # noqa: E402
from bprop.recurrent import GRU, LSTM, RTRL, Elman, Recurrent, TimeDistributed  # noqa: E402
from bprop.train import train_online  # noqa: E402


def _axes(title: str, xlabel: str, ylabel: str, log: bool = True):
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    return fig, ax


def _xor():
    data = load_dataset("xor")
    return data.X.astype(np.float64), data.y.reshape(-1, 1).astype(np.float64)


def _xor_net(seed: int) -> bp.Sequential:
    return bp.Sequential(
        bp.Dense(2, 2, rng=seed), bp.Sigmoid(), bp.Dense(2, 1, rng=seed + 100), bp.Sigmoid()
    )


def static():
    """XOR by plain gradient descent: the loss of five initialisations."""
    X, y = _xor()
    fig, ax = _axes("Static backprop on XOR (2-2-1 sigmoid, lr 2, full batch)", "epoch", "½Σ(t−o)²")
    for seed in range(5):
        h = bp.fit(
            _xor_net(seed), X, y, bp.SquaredError(), bp.SGD(2.0), schedule="batch",
            epochs=2000, verbose=0,
        )  # fmt: skip
        ax.plot(h.train_loss, label=f"seed {seed}")
    ax.legend(fontsize=8)
    return fig


def _digits():
    data = load_dataset("digits")
    return (data.X / 16.0)[:600], data.y[:600]


def schedules():
    """Online, mini-batch and batch on 600 digits: loss against epochs."""
    X, y = _digits()
    fig, ax = _axes("One update per example, per 32, per epoch (digits)", "epoch", "training loss")
    for name, kw, lr in (
        ("online", {"schedule": "online"}, 0.05),
        ("mini-batch 32", {"schedule": "minibatch", "batch_size": 32}, 0.2),
        ("batch", {"schedule": "batch"}, 0.5),
    ):
        net = bp.mlp([64, 32, 10], activation="tanh", seed=0)
        h = bp.fit(net, X, y, bp.SoftmaxCrossEntropy(), bp.SGD(lr), epochs=20, verbose=0, **kw)
        ax.plot(range(1, 21), h.train_loss, label=f"{name} (lr {lr})")
    ax.legend(fontsize=8)
    return fig


def adaptive():
    """Plain SGD, momentum, Nesterov, AdaGrad, RMSprop and Adam on mini-batches of digits."""
    X, y = _digits()
    fig, ax = _axes("Momentum and adaptive rates (digits, mini-batch 32)", "epoch", "training loss")
    rules = {
        "SGD 0.05": bp.SGD(0.05),
        "momentum 0.9": bp.SGD(0.05, momentum=0.9),
        "Nesterov 0.9": bp.SGD(0.05, momentum=0.9, nesterov=True),
        "AdaGrad 0.05": bp.AdaGrad(0.05),
        "RMSprop 0.01": bp.RMSprop(1e-2),
        "Adam 0.01": bp.Adam(1e-2),
    }
    for name, rule in rules.items():
        net = bp.mlp([64, 32, 10], activation="tanh", seed=0)
        h = bp.fit(net, X, y, bp.SoftmaxCrossEntropy(), rule, batch_size=32, epochs=15, verbose=0)
        ax.plot(range(1, 16), h.train_loss, label=name)
    ax.legend(fontsize=8, ncol=2)
    return fig


def rprop():
    """The four Rprop variants on the 8-3-8 encoder, full batch."""
    data = load_dataset("encoder-8-3-8")
    fig, ax = _axes("Rprop variants on the 8-3-8 encoder (full batch)", "epoch", "½Σ(t−o)²")
    for variant in ("rprop+", "rprop-", "irprop+", "irprop-"):
        net = bp.mlp([8, 3, 8], activation="sigmoid", output="sigmoid", seed=3)
        h = bp.fit(
            net, data.X, data.X, bp.SquaredError(), bp.Rprop(variant), schedule="batch",
            epochs=300, verbose=0,
        )  # fmt: skip
        ax.plot(h.train_loss, label=variant)
    ax.legend(fontsize=8)
    return fig


def quickprop():
    """Quickprop, with and without Fahlman's weight decay, against batch gradient descent and
    iRprop+ on the 8-3-8 encoder."""
    data = load_dataset("encoder-8-3-8")
    fig, ax = _axes("Quickprop on the 8-3-8 encoder (full batch)", "epoch", "½Σ(t−o)²")
    rules = {
        "gradient descent, lr 1": bp.SGD(1.0),
        "Quickprop": bp.Quickprop(),
        "Quickprop, decay 1e-4": bp.Quickprop(decay=1e-4),
        "iRprop+": bp.Rprop("irprop+"),
    }
    for name, rule in rules.items():
        net = bp.mlp([8, 3, 8], activation="sigmoid", output="sigmoid", seed=3)
        h = bp.fit(
            net, data.X, data.X, bp.SquaredError(), rule, schedule="batch", epochs=300,
            verbose=0,
        )  # fmt: skip
        ax.plot(h.train_loss, label=name)
    ax.legend(fontsize=8)
    return fig


def bptt():
    """‖∂L/∂h_t‖ per time step of freshly initialised Elman, LSTM and GRU networks."""
    T = 60
    X, y = adding_problem(64, T, rng=0)
    fig, ax = _axes(
        f"How far back the gradient reaches (adding problem, T = {T}, at initialisation)",
        "time step t",
        "‖∂L/∂h_t‖",
    )
    for name, cell in (("Elman", Elman), ("LSTM", LSTM), ("GRU", GRU)):
        rec = Recurrent(cell(2, 32, rng=0), return_sequences=False, record_grad_norms=True)
        net = bp.Sequential(rec, bp.Dense(32, 1, rng=1))
        out, cache = net.forward(X, train=True)
        _, dy = bp.MeanSquaredError().value_and_grad(out, y)
        net.backward(dy, cache)
        ax.plot(range(1, T + 1), rec.grad_norms, label=name)
    ax.legend(fontsize=8)
    return fig


def _sine_stream(n: int) -> np.ndarray:
    t = np.arange(n + 1)
    return np.sin(2 * np.pi * t / 25) + 0.5 * np.sin(2 * np.pi * t / 60 + 1.0)


def _mean20(x) -> np.ndarray:
    return np.convolve(x, np.ones(20) / 20, "valid")


def truncated():
    """Truncated BPTT(k, k) for several k on a long stream: loss against updates."""
    s = _sine_stream(3000)
    fig, ax = _axes(
        "Truncated BPTT(k1 = k2 = k) on a 3,000-step stream", "update", "chunk loss (mean of 20)"
    )
    for k in (2, 5, 20, 50):
        net = bp.Sequential(Recurrent(Elman(1, 16, rng=0)), TimeDistributed(bp.Dense(16, 1, rng=1)))
        h = bp.fit_stream(
            net, s[:-1, None], s[1:, None], k1=k, loss=bp.MeanSquaredError(),
            optimizer=bp.Adam(1e-2), batch_size=1, epochs=200, max_updates=300, verbose=0,
        )  # fmt: skip
        ax.plot(np.arange(19, 300), _mean20(h.train_loss), label=f"k = {k}")
    ax.legend(fontsize=8)
    return fig


def almeida_pineda():
    """A settling network learning XOR: the training loss and the relaxations' lengths."""
    X, y = _xor()
    layer = bp.recurrent.SettlingNetwork(4, 2, output_units=1, rng=0)
    net = bp.Sequential(layer)
    iterations, adjoint = [], []

    def record(epoch, logs):
        iterations.append(layer.last_iterations)
        adjoint.append(layer.last_adjoint_iterations)

    h = bp.fit(
        net, X, y, bp.SquaredError(), bp.SGD(0.5, momentum=0.9), schedule="batch",
        epochs=300, callbacks=[record], verbose=0,
    )  # fmt: skip
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.4), dpi=100)
    a1.plot(h.train_loss)
    a1.set_yscale("log")
    a1.set(title="XOR, 4 fully connected units", xlabel="epoch", ylabel="½Σ(t−o)²")
    a2.plot(iterations, label="forward relaxation")
    a2.plot(adjoint, label="adjoint relaxation")
    a2.set(title="iterations to the fixed point", xlabel="epoch", ylabel="iterations")
    a2.legend(fontsize=8)
    for a in (a1, a2):
        a.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def rtrl():
    """RTRL learning a sine stream online, one step at a time: the per-step loss."""
    s = _sine_stream(4000)
    net = bp.Sequential(Recurrent(Elman(1, 8, rng=0)), TimeDistributed(bp.Dense(8, 1, rng=1)))
    result = train_online(RTRL(net), s[None, :-1, None], s[None, 1:, None], bp.Adam(3e-3))
    fig, ax = _axes("RTRL: online learning, one update per time step", "time step", "loss")
    ax.plot(result.losses, alpha=0.3, label="per step")
    w = 100
    mean = np.convolve(result.losses, np.ones(w) / w, "valid")
    ax.plot(np.arange(w - 1, len(result.losses)), mean, label=f"mean of {w}")
    ax.legend(fontsize=8)
    return fig


def _first_id_task(n: int = 300, seed: int = 0):
    """Id sequences of 20–60 steps labelled by whether their *first* id is ≥ 5."""
    rng = np.random.default_rng(seed)
    seqs = [rng.integers(0, 10, size=rng.integers(20, 61)) for _ in range(n)]
    return seqs, [int(s[0] >= 5) for s in seqs]


def sequences():
    """A forward GRU against a bidirectional one on variable-length id sequences whose label
    is their first id: the forward cell must carry it through the whole sequence."""
    seqs, labels = _first_id_task()
    nets = {
        "GRU (16 units), forwards": lambda: Recurrent(GRU(8, 16, rng=1), return_sequences=False),
        "Bidirectional(GRU 8, GRU 8)": lambda: bp.Bidirectional(
            GRU(8, 8, rng=1), GRU(8, 8, rng=3), return_sequences=False
        ),
    }
    fig, ax = _axes(
        "First id ≥ 5? Sequences of 20–60 ids, Embedding(10, 8)", "epoch", "cross-entropy"
    )
    for name, make in nets.items():
        net = bp.Sequential(bp.Embedding(10, 8, rng=0), make(), bp.Dense(16, 2, rng=2))
        h = bp.fit(
            net, seqs, labels, bp.SoftmaxCrossEntropy(), bp.Adam(1e-2),
            schedule=bp.MiniBatch(32, bucket=True), epochs=20, seed=0, verbose=0,
        )  # fmt: skip
        ax.plot(np.arange(1, len(h.train_loss) + 1), h.train_loss, label=name)
    ax.legend(fontsize=9)
    return fig


def _reversal_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    """(string, the string reversed) over the letters a–f, 3 to 6 letters long."""
    rng = np.random.default_rng(seed)
    words = ["".join(rng.choice(list("abcdef"), rng.integers(3, 7))) for _ in range(n)]
    return [(w, w[::-1]) for w in words]


def attention():
    """The attention map of an encoder–decoder that learnt to reverse strings."""
    from bprop.report.attention import translation_figure
    from bprop.tasks.translation import train_translation

    tr = train_translation(
        _reversal_pairs(400, 0), hidden=32, epochs=12, batch_size=32, lr=1e-2, verbose=0
    )
    return translation_figure(tr, "abcdef")


#: file name (under ``plots/``) → function drawing it
PLOTS = {
    "static.png": static,
    "schedules.png": schedules,
    "adaptive.png": adaptive,
    "rprop.png": rprop,
    "quickprop.png": quickprop,
    "bptt.png": bptt,
    "truncated.png": truncated,
    "almeida_pineda.png": almeida_pineda,
    "rtrl.png": rtrl,
    "sequences.png": sequences,
    "attention.png": attention,
}


def render(name: str) -> bytes:
    """The PNG bytes of one plot of :data:`PLOTS`."""
    import io

    fig = PLOTS[name]()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "plots")
    out.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[2:] or PLOTS:
        t0 = time.perf_counter()
        (out / name).write_bytes(render(name))
        print(f"{name}: {time.perf_counter() - t0:.1f} s")
