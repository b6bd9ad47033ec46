"""Benchmark: one training step of a character LSTM (or GRU, or Elman RNN), bprop vs PyTorch.

The workload of DESIGN.md §4: a 1-layer LSTM 65 → 256 with a Linear 256 → 65 head and softmax
cross-entropy, sequence length 100, batch 32, one-hot inputs, full BPTT, then one Adam update
(plain SGD if ``bprop.optim`` has no Adam; the same rule on both sides). ``--cell gru`` and
``--cell elman`` run the same with a GRU (``nn.GRU``) or a tanh Elman RNN (``nn.RNN``). Both
sides start from the same weights (drawn once with NumPy and loaded into each) and see the
same data.

Each side runs in its own fresh process (two libraries' spinning thread pools in one process
on two cores distort each other), one of each per round for ``--rounds`` rounds, in alternating
order (bprop torch, torch bprop, …); each process reports the median of ``--steps`` timed steps
after ``--warmup`` steps. Printed: each side's median ms/step over processes, each round's
ratio bprop / torch, and the median of those ratios (the machines are shared and drift: compare
ratios measured side by side, not times from different runs).

Run::

    python bench/bench_lstm.py [--rounds 3] [--steps 10] [--threads 2] [--cell lstm|gru|elman]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

V, H, T, N = 65, 256, 100, 32
GATES = {"lstm": 4, "gru": 3, "elman": 1}
TORCH_MODULE = {"lstm": "LSTM", "gru": "GRU", "elman": "RNN"}


def _problem(cell: str = "lstm"):
    rng = np.random.default_rng(0)
    a = 1 / np.sqrt(H)
    G = GATES[cell]
    w = {
        "W_ih": rng.uniform(-a, a, (G * H, V)),
        "W_hh": rng.uniform(-a, a, (G * H, H)),
        "b_ih": rng.uniform(-a, a, G * H),
        "b_hh": rng.uniform(-a, a, G * H),
        "W_out": rng.uniform(-a, a, (V, H)),
        "b_out": rng.uniform(-a, a, V),
    }
    ids = rng.integers(0, V, size=(N, T + 1))
    X = np.eye(V, dtype=np.float32)[ids[:, :-1]]
    return w, X, ids[:, 1:]


def _time(step, warmup: int, steps: int) -> tuple[float, float]:
    first = step()
    for _ in range(warmup - 1):
        step()
    ts = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(ts)), first


def worker_bprop(warmup: int, steps: int, cell_name: str = "lstm") -> dict:
    import bprop as bp
    import bprop.optim as optim
    from bprop.recurrent import GRU, LSTM, Elman, Recurrent, TimeDistributed

    w, X, Y = _problem(cell_name)
    cell_cls = {"lstm": LSTM, "gru": GRU, "elman": Elman}[cell_name]
    cell = cell_cls(V, H).load_torch(w["W_ih"], w["W_hh"], w["b_ih"], w["b_hh"])
    head = bp.Dense(H, V, W=w["W_out"].T, b=w["b_out"])
    net = bp.Sequential(Recurrent(cell), TimeDistributed(head))
    loss_fn = bp.SoftmaxCrossEntropy()
    rule = optim.Adam(1e-3) if hasattr(optim, "Adam") else bp.SGD(0.1)
    space = net.space
    state = rule.init(space.params)

    def step() -> float:
        nonlocal state
        space.grads.fill(0)
        out, cache = net.forward(X, train=True)
        loss, dy = loss_fn.value_and_grad(out, Y)
        net.backward(dy, cache, need_dx=False)
        updates, state = rule.update(space.grads, state, space.params, loss)
        space.params += updates
        return loss

    ms, first = _time(step, warmup, steps)
    return {"ms": ms, "first_loss": first, "rule": type(rule).__name__}


def worker_torch(warmup: int, steps: int, threads: int, cell_name: str = "lstm") -> dict:
    import torch

    import bprop.optim as optim

    torch.set_num_threads(threads)
    w, X, Y = _problem(cell_name)
    rnn = getattr(torch.nn, TORCH_MODULE[cell_name])(V, H, batch_first=True)
    head = torch.nn.Linear(H, V)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(w["W_ih"]))
        rnn.weight_hh_l0.copy_(torch.from_numpy(w["W_hh"]))
        rnn.bias_ih_l0.copy_(torch.from_numpy(w["b_ih"]))
        rnn.bias_hh_l0.copy_(torch.from_numpy(w["b_hh"]))
        head.weight.copy_(torch.from_numpy(w["W_out"]))
        head.bias.copy_(torch.from_numpy(w["b_out"]))
    params = list(rnn.parameters()) + list(head.parameters())
    if hasattr(optim, "Adam"):
        opt = torch.optim.Adam(params, lr=1e-3)
    else:
        opt = torch.optim.SGD(params, lr=0.1)
    tX, tY = torch.from_numpy(X), torch.from_numpy(Y).reshape(-1)
    ce = torch.nn.CrossEntropyLoss()

    def step() -> float:
        opt.zero_grad()  # PyTorch's default (set_to_none=True): no accumulation pass
        out, _ = rnn(tX)
        loss = ce(head(out).reshape(N * T, V), tY)
        loss.backward()
        opt.step()
        return float(loss.detach())

    ms, first = _time(step, warmup, steps)
    return {"ms": ms, "first_loss": first, "threads": torch.get_num_threads()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cell", choices=list(GATES), default="lstm")
    ap.add_argument("--worker", choices=["bprop", "torch"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker == "bprop":
        print(json.dumps(worker_bprop(args.warmup, args.steps, args.cell)))
        return
    if args.worker == "torch":
        print(json.dumps(worker_torch(args.warmup, args.steps, args.threads, args.cell)))
        return

    env = dict(
        os.environ, OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads)
    )
    runs: dict[str, list[dict]] = {"bprop": [], "torch": []}
    for r in range(args.rounds):
        for side in ("bprop", "torch") if r % 2 == 0 else ("torch", "bprop"):
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                side,
                "--steps",
                str(args.steps),
                "--warmup",
                str(args.warmup),
                "--threads",
                str(args.threads),
                "--cell",
                args.cell,
            ]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            runs[side].append(json.loads(out.stdout.strip().splitlines()[-1]))
    mb = float(np.median([r["ms"] for r in runs["bprop"]]))
    mt = float(np.median([r["ms"] for r in runs["torch"]]))
    paired = [b["ms"] / t["ms"] for b, t in zip(runs["bprop"], runs["torch"], strict=True)]
    print(
        f"char {TORCH_MODULE[args.cell]} {V}->{H}, seq {T}, batch {N}, full BPTT + "
        f"{runs['bprop'][0]['rule']}, "
        f"{args.threads} threads, {args.rounds} processes per side x {args.steps} steps"
    )
    print(
        f"first-step loss: bprop {runs['bprop'][0]['first_loss']:.6f}  "
        f"torch {runs['torch'][0]['first_loss']:.6f}  (same weights and data)"
    )
    print("bprop   ms/step per process: " + " ".join(f"{r['ms']:.1f}" for r in runs["bprop"]))
    print("pytorch ms/step per process: " + " ".join(f"{r['ms']:.1f}" for r in runs["torch"]))
    print(f"bprop   {mb:8.1f} ms/step (median)")
    print(f"pytorch {mt:8.1f} ms/step (median)")
    print("ratio per round:            " + " ".join(f"{q:.2f}" for q in paired))
    med = float(np.median(paired))
    print(f"ratio   {med:8.2f} x  median of the per-round ratios (target <= 1.0)")


if __name__ == "__main__":
    main()
