"""Epochs to solve XOR (2-2-1) and the 8-3-8 encoder: Rprop±, iRprop±, Quickprop vs batch GD.

For each task and method, train from 20 seeded initialisations (``bp.mlp`` with Glorot-uniform
weights and zero biases, seeds 0–19; full batch; sum-of-squares error E = ½ΣΣ(y − t)²; sigmoid
hidden and output units) until E ≤ the task's target or the epoch budget runs out. Printed per
method: the median epochs over the runs that reached the target, the success rate, and the
median over all runs with failures counted as "more than the budget". XOR 2-2-1 has plateaus
(E = 1/4 and 1/3 with saturated units) from which no method here escapes.

Batch gradient descent runs at lr 4 and Quickprop at ε = 1: ``--scan`` re-runs both over
learning rates 0.5–8; lr 4 is GD's fastest rate that keeps its success rate on both tasks (8
fails on the encoder), and ε = 1 gives Quickprop its best success rate on XOR.

Run:  python bench/rprop_epochs.py [--seeds 20] [--budget 3000] [--scan]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import bprop as bp
from bprop.data import encoder, xor
from bprop.optim import SGD, Quickprop, Rprop, UpdateRule

# the error E to reach, per task
TASKS: dict[str, dict] = {
    "xor 2-2-1": {"data": xor, "sizes": [2, 2, 1], "target": 0.02},
    "encoder 8-3-8": {"data": lambda: encoder(8, 3), "sizes": [8, 3, 8], "target": 0.1},
}

METHODS: dict[str, Callable[[], UpdateRule]] = {
    "batch GD (lr 4)": lambda: SGD(4.0),
    "Rprop+": lambda: Rprop("rprop+"),
    "Rprop-": lambda: Rprop("rprop-"),
    "iRprop+": lambda: Rprop("irprop+"),
    "iRprop-": lambda: Rprop("irprop-"),
    "Quickprop (lr 1)": lambda: Quickprop(1.0),
}


def epochs_to_target(
    task: dict, make_rule: Callable[[], UpdateRule], seed: int, budget: int
) -> float:
    """Epochs until E ≤ target (inf if the budget runs out first)."""
    data = task["data"]()
    net = bp.mlp(task["sizes"], activation="sigmoid", output="sigmoid", seed=seed)
    trainer = bp.Trainer(net, bp.SquaredError(), make_rule(), schedule="batch", verbose=0)
    h = trainer.fit(data.X, data.y, epochs=budget, target_loss=task["target"])
    return float(h.target_epoch) if h.target_epoch is not None else float("inf")


def summarise(epochs: list[float], budget: int) -> tuple[str, float, str]:
    """(median of the successful runs, success rate, median counting failures as > budget)."""
    solved = [e for e in epochs if np.isfinite(e)]
    med_ok = f"{statistics.median(solved):g}" if solved else "-"
    med_all = statistics.median(epochs)
    return (
        med_ok,
        len(solved) / len(epochs),
        (f">{budget}" if not np.isfinite(med_all) else f"{med_all:g}"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budget", type=int, default=3000)
    parser.add_argument("--scan", action="store_true", help="scan GD's and Quickprop's rates")
    args = parser.parse_args()
    seeds = range(args.seeds)
    print(f"{args.seeds} seeds, budget {args.budget} epochs, full batch, E = ½ΣΣ(y − t)²")
    if args.scan:
        for task_name, task in TASKS.items():
            for label, make, rates in (
                ("batch GD", SGD, (0.5, 1, 2, 4, 8)),
                ("Quickprop", Quickprop, (0.5, 1, 2, 4)),
            ):
                for lr in rates:
                    epochs = [
                        epochs_to_target(task, lambda m=make, r=lr: m(r), s, args.budget)
                        for s in seeds
                    ]
                    med, rate, med_all = summarise(epochs, args.budget)
                    print(
                        f"  {task_name:14s} {label:10s} lr {lr:<4g} median {med:>6s} "
                        f"success {rate:4.0%}  all runs {med_all}"
                    )
    for task_name, task in TASKS.items():
        print(f"\n{task_name}: epochs until E ≤ {task['target']}")
        print(f"  {'method':18s} {'median':>7s} {'success':>8s} {'all runs':>9s}   per-seed epochs")
        for name, make in METHODS.items():
            t0 = time.perf_counter()
            epochs = [epochs_to_target(task, make, s, args.budget) for s in seeds]
            med, rate, med_all = summarise(epochs, args.budget)
            shown = " ".join("-" if not np.isfinite(e) else f"{e:g}" for e in epochs)
            print(
                f"  {name:18s} {med:>7s} {rate:>8.0%} {med_all:>9s}   {shown}"
                f"   ({time.perf_counter() - t0:.1f} s)"
            )


if __name__ == "__main__":
    main()
