"""``make demo``: static backpropagation on handwritten digits, online vs mini-batch vs batch.

Trains the same 64-32-10 tanh network (same starting weights) with plain gradient descent and
with momentum under each schedule, then prints a table of epochs, seconds, training loss and
held-out accuracy. Run: ``python -m bprop.demo``.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import bprop as bp

#: (schedule, method, learning rate, momentum, epochs)
RUNS = [
    ("online", "sgd", 0.01, 0.0, 20),
    ("online", "momentum", 0.002, 0.9, 20),
    ("minibatch", "sgd", 0.2, 0.0, 40),
    ("minibatch", "momentum", 0.05, 0.9, 40),
    ("batch", "sgd", 0.5, 0.0, 500),
    ("batch", "momentum", 0.2, 0.9, 500),
]


def main() -> list[dict]:
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.2, stratify=y, random_state=0)
    print(f"digits: {len(Xtr)} training and {len(Xte)} held-out images, 64-32-10 tanh network\n")
    rows = []
    for schedule, method, lr, mu, epochs in RUNS:
        net = bp.Sequential(bp.Dense(64, 32, rng=0), bp.Tanh(), bp.Dense(32, 10, rng=1))
        rule = bp.SGD(lr, momentum=mu)
        trainer = bp.Trainer(net, bp.SoftmaxCrossEntropy(), rule, schedule, batch_size=32, seed=0)
        start = time.perf_counter()
        hist = trainer.fit(Xtr, ytr, epochs=epochs)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "schedule": schedule,
                "method": method,
                "lr": lr,
                "epochs": hist.epochs,
                "seconds": seconds,
                "train_loss": hist.train_loss[-1],
                "test_accuracy": float((net.predict_classes(Xte) == yte).mean()),
            }
        )
    print(
        f"\n{'schedule':10s} {'method':9s} {'lr':>6s} {'epochs':>6s} {'seconds':>8s} "
        f"{'train loss':>10s} {'held-out acc':>12s}"
    )
    for r in rows:
        print(
            f"{r['schedule']:10s} {r['method']:9s} {r['lr']:6.3g} {r['epochs']:6d} "
            f"{r['seconds']:8.2f} {r['train_loss']:10.4f} {r['test_accuracy']:12.3f}"
        )
    return rows


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
