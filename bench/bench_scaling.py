"""How bprop's time compares with PyTorch's as the networks grow: the scaling tables.

Every row is a workload a user runs, through the public path on both sides, and is timed as
bprop's time ÷ PyTorch eager's time for the same work on the same weights and data:

* ``recurrent`` — a character model: ``Recurrent(cell)`` + ``TimeDistributed(Dense(H, 65))``,
  one-hot inputs (65 symbols), sequence length 100, softmax cross-entropy, full BPTT and one Adam
  update per step, trained by ``bp.Trainer(..., schedule="batch")`` (so the trainer's per-epoch
  bookkeeping is in the time); PyTorch: ``nn.LSTM``/``nn.GRU``/``nn.RNN`` + ``nn.Linear`` and the
  eager loop. Two sweeps per cell: hidden 64–1024 at batch 32, and batch 1–128 at hidden 256.
* ``mlp`` — MLP 784-W-W-10 ReLU, mini-batch SGD (momentum 0.9), one epoch of 8,192 random
  examples, ``bp.Trainer(..., schedule=MiniBatch(b))``; widths 64–2048 at batch 32 and 256.
* ``online`` — MLP 64-h-10 tanh trained online (batch 1, plain SGD) on the 1,797 digits, one
  epoch; hidden 32–512.

Protocol (DESIGN.md §4): for each row and round, one fresh process per side, the two sides in
alternating order (bprop first in even rounds, PyTorch first in odd ones); each process reports
the median time of its timed steps or epochs after untimed warm-up ones (Numba compiles there).
The row's ratio is the median of the per-round ratios. Both sides use the machine's BLAS threads
(2 here; PyTorch with ``torch.set_num_threads(2)`` unless ``--threads``).

Same computation, checked: bprop's LSTM and Elman cells have one bias where PyTorch has two
(``b_ih``, ``b_hh``); moved by Adam, two biases drift away from one by design, so the PyTorch side
freezes ``b_hh`` at zero (the GRU has both biases on both sides). Each process also reports its
loss after every step of its first ``--check-steps`` steps; the table prints the largest relative
difference of those loss trajectories (≲ 1e-4 in float32 means the same arithmetic).

Run::

    python bench/bench_scaling.py                      # every table, 3 rounds (tens of minutes)
    python bench/bench_scaling.py --table lstm --rounds 5
    python bench/bench_scaling.py --table online,mlp --quick
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

import numpy as np

V, T = 65, 100  # character model: symbols, sequence length
GATES = {"lstm": 4, "gru": 3, "elman": 1}
TORCH_RNN = {"lstm": "LSTM", "gru": "GRU", "elman": "RNN"}
HIDDEN_SWEEP = (64, 128, 256, 512, 1024)
BATCH_SWEEP = (1, 8, 32, 128)
MLP_WIDTHS = (64, 256, 1024, 2048)
MLP_BATCHES = (32, 256)
MLP_EXAMPLES = 8192
ONLINE_HIDDEN = (32, 64, 128, 256, 512)
BLAS_VARS = ("OPENBLAS", "OMP_", "MKL_")  # environment variables printed, never set


# --- the rows ----------------------------------------------------------------------------
def rows(tables: list[str], quick: bool) -> list[dict[str, Any]]:
    """The configurations to measure, one dict per row."""
    out: list[dict[str, Any]] = []
    for cell in ("lstm", "gru", "elman"):
        if cell not in tables:
            continue
        seen = set()
        hidden = (64, 256) if quick else HIDDEN_SWEEP
        batches = (1, 32) if quick else BATCH_SWEEP
        for H, N in [(h, 32) for h in hidden] + [(256, n) for n in batches]:
            if (H, N) not in seen:
                seen.add((H, N))
                out.append({"kind": "recurrent", "cell": cell, "hidden": H, "batch": N})
    if "mlp" in tables:
        for b in MLP_BATCHES:
            for w in (64, 256) if quick else MLP_WIDTHS:
                out.append({"kind": "mlp", "width": w, "batch": b})
    if "online" in tables:
        for h in (32, 128) if quick else ONLINE_HIDDEN:
            out.append({"kind": "online", "hidden": h})
    return out


def label(row: dict[str, Any]) -> str:
    if row["kind"] == "recurrent":
        return f"{row['cell']:5s} hidden {row['hidden']:4d} batch {row['batch']:3d}"
    if row["kind"] == "mlp":
        return f"mlp   width  {row['width']:4d} batch {row['batch']:3d}"
    return f"online hidden {row['hidden']:4d}"


# --- shared problem data -----------------------------------------------------------------
def recurrent_problem(cell: str, H: int, N: int) -> tuple[dict[str, np.ndarray], Any, Any]:
    rng = np.random.default_rng(0)
    a = 1 / np.sqrt(H)
    G = GATES[cell]
    w = {
        "W_ih": rng.uniform(-a, a, (G * H, V)),
        "W_hh": rng.uniform(-a, a, (G * H, H)),
        "b_ih": rng.uniform(-a, a, G * H),
        # bprop's LSTM and Elman have one bias: PyTorch's second one is zero and frozen
        "b_hh": rng.uniform(-a, a, G * H) if cell == "gru" else np.zeros(G * H),
        "W_out": rng.uniform(-a, a, (V, H)),
        "b_out": rng.uniform(-a, a, V),
    }
    ids = rng.integers(0, V, size=(N, T + 1))
    X = np.eye(V, dtype=np.float32)[ids[:, :-1]]
    return w, X, ids[:, 1:]


def mlp_problem(width: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    sizes = (784, width, width, 10)
    Ws = [rng.normal(0, np.sqrt(2 / m), (m, n)) for m, n in zip(sizes, sizes[1:], strict=False)]
    X = rng.random((MLP_EXAMPLES, 784), dtype=np.float32)
    y = rng.integers(0, 10, MLP_EXAMPLES)
    return Ws, X, y


def online_problem(hidden: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    sizes = (64, hidden, 10)
    Ws = [
        rng.uniform(-1, 1, (m, n)) * np.sqrt(6 / (m + n))
        for m, n in zip(sizes, sizes[1:], strict=False)
    ]
    return Ws, (X / 16).astype(np.float32), y


# --- timing inside a worker --------------------------------------------------------------
def _median_ms(stamps: list[float], warmup: int) -> float:
    return 1e3 * float(np.median(np.diff(stamps)[warmup:]))


def worker_bprop(row: dict[str, Any], warmup: int, steps: int) -> dict[str, Any]:
    import bprop as bp

    if row["kind"] == "recurrent":
        from bprop.recurrent import GRU, LSTM, Elman, Recurrent, TimeDistributed

        H, N = row["hidden"], row["batch"]
        w, X, Y = recurrent_problem(row["cell"], H, N)
        cls = {"lstm": LSTM, "gru": GRU, "elman": Elman}[row["cell"]]
        cell = cls(V, H).load_torch(w["W_ih"], w["W_hh"], w["b_ih"], w["b_hh"])
        head = bp.Dense(H, V, W=w["W_out"].T, b=w["b_out"])
        net = bp.Sequential(Recurrent(cell), TimeDistributed(head))
        rule, schedule, data = bp.Adam(1e-3), "batch", (X, Y)
    elif row["kind"] == "mlp":
        Ws, X, y = mlp_problem(row["width"])
        net = bp.mlp([784, row["width"], row["width"], 10], activation="relu")
        _load(net, Ws)
        rule = bp.SGD(0.01, momentum=0.9)
        schedule, data = bp.MiniBatch(row["batch"], shuffle=False), (X, y)
    else:
        Ws, X, y = online_problem(row["hidden"])
        net = bp.mlp([64, row["hidden"], 10], activation="tanh")
        _load(net, Ws)
        rule, schedule, data = bp.SGD(0.01), bp.Online(shuffle=False), (X, y)
    stamps, losses = [], []

    def clock(epoch: int, logs: dict[str, Any]) -> None:
        # the end of every epoch: its time includes the trainer's own per-epoch work
        stamps.append(time.perf_counter())
        losses.append(float(logs["train_loss"]))

    trainer = bp.Trainer(
        net, bp.SoftmaxCrossEntropy(), rule, schedule=schedule, verbose=0, callbacks=[clock]
    )
    stamps.append(time.perf_counter())
    trainer.fit(*data, epochs=warmup + steps)
    return {"ms": _median_ms(stamps, warmup), "losses": losses}


def _load(net: Any, Ws: list[np.ndarray]) -> None:
    dense = [layer for layer in net.layers if "W" in getattr(layer, "params", {})]
    for layer, W in zip(dense, Ws, strict=True):
        layer.params["W"][...] = W
        layer.params["b"][...] = 0


def worker_torch(row: dict[str, Any], warmup: int, steps: int, threads: int) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F  # noqa: N812

    torch.set_num_threads(threads)
    t = torch.from_numpy
    if row["kind"] == "recurrent":
        H, N = row["hidden"], row["batch"]
        w, X, Y = recurrent_problem(row["cell"], H, N)
        rnn = getattr(torch.nn, TORCH_RNN[row["cell"]])(V, H, batch_first=True)
        head = torch.nn.Linear(H, V)
        with torch.no_grad():
            for name, value in (
                ("weight_ih_l0", w["W_ih"]),
                ("weight_hh_l0", w["W_hh"]),
                ("bias_ih_l0", w["b_ih"]),
                ("bias_hh_l0", w["b_hh"]),
            ):
                getattr(rnn, name).copy_(t(value))
            head.weight.copy_(t(w["W_out"]))
            head.bias.copy_(t(w["b_out"]))
        if row["cell"] != "gru":
            rnn.bias_hh_l0.requires_grad_(False)
        params = [p for p in list(rnn.parameters()) + list(head.parameters()) if p.requires_grad]
        opt = torch.optim.Adam(params, lr=1e-3)
        tX, tY = t(X), t(Y).reshape(-1)

        def epoch() -> float:
            opt.zero_grad()
            out, _ = rnn(tX)
            loss = F.cross_entropy(head(out).reshape(N * T, V), tY)
            loss.backward()
            opt.step()
            return float(loss.detach())

    else:
        if row["kind"] == "mlp":
            Ws, X, y = mlp_problem(row["width"])
            act, batch, momentum = torch.nn.ReLU, row["batch"], 0.9
        else:
            Ws, X, y = online_problem(row["hidden"])
            act, batch, momentum = torch.nn.Tanh, 1, 0.0
        layers: list[Any] = []
        for i, W in enumerate(Ws):
            lin = torch.nn.Linear(*W.shape)
            with torch.no_grad():
                lin.weight.copy_(t(W.T))
                lin.bias.zero_()
            layers += [lin] if i == len(Ws) - 1 else [lin, act()]
        model = torch.nn.Sequential(*layers)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=momentum)
        tX, ty = t(X), t(y)
        n = X.shape[0]

        def epoch() -> float:
            total = 0.0
            for i in range(0, n, batch):
                opt.zero_grad()
                loss = F.cross_entropy(model(tX[i : i + batch]), ty[i : i + batch])
                loss.backward()
                opt.step()
                total += loss.item() * min(batch, n - i)
            return total / n

    stamps, losses = [time.perf_counter()], []
    for _ in range(warmup + steps):
        losses.append(epoch())
        stamps.append(time.perf_counter())
    return {"ms": _median_ms(stamps, warmup), "losses": losses}


# --- the driver --------------------------------------------------------------------------
def measure(row: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    steps = args.steps if row["kind"] == "recurrent" else max(2, args.steps // 2)
    ms: dict[str, list[float]] = {"bprop": [], "torch": []}
    losses: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for side in ("bprop", "torch") if r % 2 == 0 else ("torch", "bprop"):
            cmd = [sys.executable, __file__, "--worker", side, "--row", json.dumps(row)]
            cmd += ["--steps", str(steps), "--warmup", str(args.warmup)]
            cmd += ["--threads", str(args.threads)]
            out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
            if out.returncode:
                raise SystemExit(f"{side} worker failed on {label(row)}:\n{out.stderr}")
            res = json.loads(out.stdout.strip().splitlines()[-1])
            ms[side].append(res["ms"])
            losses[side] = res["losses"]
    ratios = [b / p for b, p in zip(ms["bprop"], ms["torch"], strict=True)]
    k = min(args.check_steps, len(losses["bprop"]))
    lb, lt = np.array(losses["bprop"][:k]), np.array(losses["torch"][:k])
    return {
        "row": row,
        "bprop_ms": float(np.median(ms["bprop"])),
        "torch_ms": float(np.median(ms["torch"])),
        "ratios": ratios,
        "ratio": float(np.median(ratios)),
        "loss_rel_diff": float(np.max(np.abs(lb - lt) / np.abs(lt))),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", default="lstm,gru,elman,mlp,online")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=6, help="timed steps (epochs: half) per process")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="PyTorch's intra-op threads")
    ap.add_argument("--check-steps", type=int, default=4)
    ap.add_argument("--quick", action="store_true", help="two sizes per sweep")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--worker", choices=["bprop", "torch"], help=argparse.SUPPRESS)
    ap.add_argument("--row", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        row = json.loads(args.row)
        if args.worker == "bprop":
            res = worker_bprop(row, args.warmup, args.steps)
        else:
            res = worker_torch(row, args.warmup, args.steps, args.threads)
        print(json.dumps(res))
        return
    tables = [t.strip() for t in args.table.split(",")]
    unknown = set(tables) - {*GATES, "mlp", "online"}
    if unknown:
        ap.error(f"unknown table(s) {sorted(unknown)}: choose from lstm, gru, elman, mlp, online")
    blas_env = [f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith(BLAS_VARS)]
    print(
        f"bprop ÷ PyTorch eager, {args.rounds} rounds of fresh processes per side, "
        f"PyTorch threads {args.threads}, BLAS env: {', '.join(blas_env) or 'default'}"
    )
    print(f"{'workload':32s} {'bprop ms':>9s} {'torch ms':>9s} {'ratio':>6s}  rounds  loss Δ")
    results = []
    for row in rows(tables, args.quick):
        res = measure(row, args)
        results.append(res)
        print(
            f"{label(row):32s} {res['bprop_ms']:9.2f} {res['torch_ms']:9.2f} {res['ratio']:6.2f}  "
            + " ".join(f"{q:.2f}" for q in res["ratios"])
            + f"  {res['loss_rel_diff']:.1e}",
            flush=True,
        )
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
