"""Fit time: ``BackpropClassifier(method="sgd")`` vs scikit-learn's ``MLPClassifier(solver="sgd")``.

Both estimators get the same data, the same network and the same training configuration, and
each is timed as a user runs it: one ``fit`` call on a standardised float64 ``X``.

Workloads (``--data``):

* ``digits``: scikit-learn's 1,797 handwritten digits (a stratified 70 % to train), MLP
  64-32-10 tanh, batch 32, learning rate 0.1, 30 epochs;
* ``synthetic``: ``make_classification`` with 20,000 examples, 100 features (20 informative),
  5 classes and ``class_sep=2`` (70 % to train), MLP 100-128-5 tanh, batch 64, learning
  rate 0.05, 10 epochs.

The matched configuration: plain SGD at a constant learning rate (``MLPClassifier``'s
``momentum=0``, ``learning_rate="constant"``), shuffled mini-batches, no early stopping and no
stopping on a stalled loss (``n_iter_no_change`` above ``max_iter``), softmax cross-entropy,
Glorot-uniform initial weights, and the same L2 penalty: ``MLPClassifier`` divides ``alpha`` by
the batch size, so ``alpha = 1e-4`` is bprop's ``l2 = 1e-4 / batch_size``.

Rows:

* ``BackpropClassifier``: bprop computes in float32 (its default);
* ``MLPClassifier``: scikit-learn computes in float64 for float64 input (what a user gets);
* ``MLPClassifier f32``: the same with float32 input, which scikit-learn keeps in float32 (the
  like-for-like arithmetic).

The test accuracy of each side is printed as a check that both trained equally well (the
initial weights and data orders differ, so the numbers are close, not equal). Medians of
``--repeats`` interleaved repeats after one untimed warm-up fit per row; the ratio is the median
of the per-repeat ratios bprop ÷ MLPClassifier (float64), < 1 meaning bprop is faster.

Run from the repository root::

    python bench/bench_sklearn.py                  # both workloads, 5 repeats
    python bench/bench_sklearn.py --data digits    # one workload
    python bench/bench_sklearn.py --threads 1      # BLAS on one thread for both
    python bench/bench_sklearn.py --processes 10   # DESIGN.md's protocol: 10 fresh processes

Target (issue 7): bprop's fit no slower than MLPClassifier's (ratio ≤ 1).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

import common
import numpy as np

ROWS = ("BackpropClassifier", "MLPClassifier", "MLPClassifier f32")
WORKLOADS: dict[str, dict[str, Any]] = {
    "digits": {"hidden": (32,), "batch_size": 32, "lr": 0.1, "epochs": 30},
    "synthetic": {"hidden": (128,), "batch_size": 64, "lr": 0.05, "epochs": 10},
}
ALPHA = 1e-4
TARGET_RATIO = 1.0


def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardised float64 (X_train, X_test, y_train, y_test)."""
    from sklearn.datasets import load_digits, make_classification
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    if name == "digits":
        X, y = load_digits(return_X_y=True)
    else:
        X, y = make_classification(
            n_samples=20_000,
            n_features=100,
            n_informative=20,
            n_classes=5,
            class_sep=2.0,
            random_state=0,
        )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def estimators(cfg: dict[str, Any], seed: int) -> dict[str, Any]:
    from sklearn.neural_network import MLPClassifier

    from bprop.sklearn import BackpropClassifier

    bs, epochs = cfg["batch_size"], cfg["epochs"]
    mlp = {
        "hidden_layer_sizes": cfg["hidden"],
        "activation": "tanh",
        "solver": "sgd",
        "learning_rate": "constant",
        "learning_rate_init": cfg["lr"],
        "momentum": 0.0,
        "batch_size": bs,
        "max_iter": epochs,
        "alpha": ALPHA,
        "n_iter_no_change": epochs + 1,
        "shuffle": True,
        "random_state": seed,
    }
    return {
        "BackpropClassifier": BackpropClassifier(
            hidden_layer_sizes=cfg["hidden"],
            activation="tanh",
            method="sgd",
            learning_rate=cfg["lr"],
            batch_size=bs,
            epochs=epochs,
            l2=ALPHA / bs,
            random_state=seed,
        ),
        "MLPClassifier": MLPClassifier(**mlp),
        "MLPClassifier f32": MLPClassifier(**mlp),
    }


def run_workload(name: str, repeats: int, seed: int) -> dict[str, Any]:
    from sklearn.exceptions import ConvergenceWarning

    X_train, X_test, y_train, y_test = load(name)
    X32 = X_train.astype(np.float32)
    ests = estimators(WORKLOADS[name], seed)

    def fit(row: str):
        X = X32 if row.endswith("f32") else X_train

        def run() -> Any:
            with warnings.catch_warnings():
                # MLPClassifier warns that max_iter was reached: that is the configuration
                warnings.simplefilter("ignore", ConvergenceWarning)
                return ests[row].fit(X, y_train)

        return run

    times, last, _ = common.interleaved({row: fit(row) for row in ROWS}, repeats, warmup=1)
    return {
        "n_train": int(X_train.shape[0]),
        "n_features": int(X_train.shape[1]),
        "times": times,
        "accuracy": {row: float(est.score(X_test, y_test)) for row, est in last.items()},
        "final_loss": {row: float(est.loss_curve_[-1]) for row, est in last.items()},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser, repeats=5)
    parser.add_argument("--data", choices=("digits", "synthetic", "both"), default="both")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="limit BLAS to this many threads (threadpoolctl; default: the library's own)",
    )
    args = parser.parse_args(argv)
    if args.processes > 1:
        return pooled_main(args, list(argv if argv is not None else sys.argv[1:]))

    import sklearn

    common.import_bprop()
    from threadpoolctl import threadpool_limits

    names = list(WORKLOADS) if args.data == "both" else [args.data]
    with threadpool_limits(limits=args.threads, user_api="blas"):
        workloads = {n: run_workload(n, args.repeats, args.seed) for n in names}
        machine = common.machine_info({"scikit-learn": sklearn.__version__})
    result = {
        "benchmark": "sklearn",
        "config": vars(args),
        "workloads": workloads,
        "machine": machine,
    }
    return common.emit(result, args.json, report)


def report(result: dict[str, Any]) -> None:
    for name, res in result["workloads"].items():
        cfg = WORKLOADS[name]
        times = res["times"]
        ref = times["MLPClassifier"]
        print(
            f"\n{name}: {res['n_train']} training examples, MLP "
            f"{res['n_features']}-{'-'.join(map(str, cfg['hidden']))} tanh, SGD lr {cfg['lr']}, "
            f"batch {cfg['batch_size']}, {cfg['epochs']} epochs, alpha {ALPHA:g}: seconds per "
            f"fit, median of {len(ref)} interleaved repeats"
        )
        rows = []
        for row, ts in times.items():
            rows.append(
                [
                    row,
                    common.median(ts),
                    min(ts),
                    max(ts),
                    common.median(common.paired_ratios(ts, ref)),
                    f"{res['accuracy'][row]:.4f}",
                    f"{res['final_loss'][row]:.4f}",
                ]
            )
        print(
            common.table(
                ["", "s/fit", "min", "max", "÷ MLPClassifier", "test accuracy", "final loss"],
                rows,
            )
        )
        ratio = common.median(common.paired_ratios(times["BackpropClassifier"], ref))
        ratio32 = common.median(
            common.paired_ratios(times["BackpropClassifier"], times["MLPClassifier f32"])
        )
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print(
            f"bprop / MLPClassifier fit time: {ratio:.2f} (float32 input to both: {ratio32:.2f}); "
            f"target <= {TARGET_RATIO:g}: {verdict}"
        )
    print()
    common.print_machine_info(result["machine"])


def pooled_main(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    # ``--processes N`` and ``--processes=N`` are dropped; the fresh processes get ``1``
    rest, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--processes":
            skip = True
        elif not a.startswith("--processes="):
            rest.append(a)
    results = common.run_fresh_processes(__file__, rest, args.processes)
    pooled = dict(results[-1])
    pooled["workloads"] = {
        name: {**res, "times": common.pool([r["workloads"][name] for r in results])}
        for name, res in results[-1]["workloads"].items()
    }
    return common.emit(pooled, args.json, report, pooled_over=args.processes)


if __name__ == "__main__":
    main()
