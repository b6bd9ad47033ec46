"""Online (per-example) SGD epoch: bprop vs PyTorch eager (DESIGN.md §4, second row).

Workload: MLP 64-32-10 with tanh, softmax cross-entropy, plain SGD with lr 0.01, one update per
example (batch size 1) in a fixed order (no shuffling on either side), one epoch over
scikit-learn's 1,797 handwritten digits scaled to [0, 1] (÷16), float32. Both sides start from
the same weights (bprop's, copied into ``torch.nn.Linear``) and see the same examples in the same
order, so they do the same computation; the script checks that they end at the same loss.

Rows, each timed as what a user runs for one epoch:

* ``bprop``: ``bp.Trainer(net, ..., schedule=bp.Online(shuffle=False), verbose=0)`` and
  ``trainer.fit(X, y, epochs=1)`` — whatever path ``bp.fit`` takes (the compiled online path
  when the trainer supports the model, rule and schedule);
* ``bprop fast=False``: the same with ``bp.Trainer(..., fast=False)``, the plain NumPy path;
* ``PyTorch eager``: a per-example loop ``zero_grad, forward, cross_entropy, backward, step``
  over ``torch.from_numpy`` views of the same arrays, summing ``loss.item()`` for the epoch
  loss, with ``torch.set_num_threads(2)``.

* ``hand loop`` (``--floor``): the same epoch as a plain compiled loop written for this one
  network (Numba, fixed shapes, 2-D weight arrays, ``tanh`` from libm): the floor that FANN's
  plain C loop stands for (goal: bprop at or under it).

Numba's one-time compilation is excluded: every row first runs one untimed warm-up epoch.

Run from the repository root::

    python bench/bench_online.py                 # 5 interleaved repeats in this process
    python bench/bench_online.py --processes 10  # the §4 protocol: 10 fresh processes

Target (DESIGN.md §4): bprop at least 15x faster than PyTorch eager.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import common
import numpy as np

SIZES = (64, 32, 10)
TARGET_SPEEDUP = 15.0
ROWS = ("bprop", "bprop fast=False", "PyTorch eager")


def load_data() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return np.ascontiguousarray(X / 16.0, dtype=np.float32), y.astype(np.int64)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser, repeats=5)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--floor", action="store_true", help="also time a plain compiled loop")
    args = parser.parse_args(argv)
    if args.processes > 1:
        return pooled_main(args, argv if argv is not None else sys.argv[1:])

    torch = common.import_torch(threads=2)
    import torch.nn.functional as F  # noqa: N812

    bp = common.import_bprop()

    X, y = load_data()
    n = X.shape[0]
    net = bp.mlp(list(SIZES), activation="tanh", seed=args.seed)  # float32, Glorot init
    init = net.space.params.copy()
    init_weights = common.bprop_weights(net)

    def bprop_run(fast: bool):
        def run() -> tuple[float, list]:
            net.space.params[...] = init
            trainer = bp.Trainer(
                net,
                bp.SoftmaxCrossEntropy(),
                bp.SGD(args.lr),
                schedule=bp.Online(shuffle=False),
                verbose=0,
                fast=fast,
            )
            history = trainer.fit(X, y, epochs=1)
            return history.train_loss[-1], common.bprop_weights(net)

        return run

    layers: list[Any] = []
    for i, (W, b) in enumerate(init_weights):
        lin = torch.nn.Linear(*W.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin] if i == len(SIZES) - 2 else [lin, torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers)
    torch_init = {k: v.clone() for k, v in model.state_dict().items()}
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def run_torch() -> tuple[float, list]:
        model.load_state_dict(torch_init)
        opt = torch.optim.SGD(model.parameters(), lr=args.lr)
        total = 0.0
        for i in range(n):
            opt.zero_grad()
            loss = F.cross_entropy(model(Xt[i : i + 1]), yt[i : i + 1])
            loss.backward()
            opt.step()
            total += loss.item()
        return total / n, common.torch_weights(model)

    runs = {ROWS[0]: bprop_run(True), ROWS[1]: bprop_run(False), ROWS[2]: run_torch}
    if args.floor:
        runs["hand loop"] = lambda: hand_loop(X, y, init_weights, args.lr)
    # warmup=1: one untimed epoch per row first (compiles the Numba kernels)
    timing = common.interleaved(runs, args.repeats, warmup=1)
    result = common.mlp_result(
        "online", args, timing, (X, y), init_weights, np.tanh, torch.__version__
    )
    return common.emit(result, args.json, report)


def _hand_epoch(X, y, W1, b1, W2, b2, lr, h, z):  # noqa: ANN001 - compiled by Numba
    """One online epoch of the 64-32-10 tanh / softmax cross-entropy / SGD net, plain loops."""
    total = 0.0
    n_in, n_h = W1.shape
    n_out = W2.shape[1]
    for ex in range(X.shape[0]):
        x = X[ex]
        for j in range(n_h):
            h[j] = b1[j]
        for i in range(n_in):
            for j in range(n_h):
                h[j] += x[i] * W1[i, j]
        for j in range(n_h):
            h[j] = np.tanh(h[j])
        m = -np.inf
        for k in range(n_out):
            s = b2[k]
            for j in range(n_h):
                s += h[j] * W2[j, k]
            z[k] = s
            m = max(m, s)
        norm = np.float32(0.0)
        for k in range(n_out):
            z[k] = np.exp(z[k] - m)
            norm += z[k]
        t = y[ex]
        total += np.log(norm) - np.log(z[t])
        for k in range(n_out):
            z[k] = z[k] / norm - (np.float32(1.0) if k == t else np.float32(0.0))
        for j in range(n_h):  # δ of the hidden layer, with W2 before its update, into h
            s = np.float32(0.0)
            for k in range(n_out):
                s += W2[j, k] * z[k]
            hj = h[j]
            for k in range(n_out):
                W2[j, k] -= lr * hj * z[k]
            h[j] = s * (np.float32(1.0) - hj * hj)
        for k in range(n_out):
            b2[k] -= lr * z[k]
        for i in range(n_in):
            for j in range(n_h):
                W1[i, j] -= lr * x[i] * h[j]
        for j in range(n_h):
            b1[j] -= lr * h[j]
    return total


_HAND = None


def hand_loop(X: np.ndarray, y: np.ndarray, init: list, lr: float) -> tuple[float, list]:
    """The epoch as a plain compiled loop (the ``--floor`` row); returns (loss, weights)."""
    global _HAND
    if _HAND is None:
        import numba

        _HAND = numba.njit(_hand_epoch)
    (W1, b1), (W2, b2) = [(W.copy(), b.copy()) for W, b in init]
    h, z = np.empty(W1.shape[1], X.dtype), np.empty(W2.shape[1], X.dtype)
    total = _HAND(X, y, W1, b1, W2, b2, X.dtype.type(lr), h, z)
    return total / X.shape[0], [(W1, b1), (W2, b2)]


def report(result: dict[str, Any]) -> None:
    times = result["times"]
    ref = times["PyTorch eager"]
    cfg = result["config"]
    print(
        f"MLP {'-'.join(map(str, SIZES))} tanh, online (batch 1), digits (1,797 examples), SGD lr "
        f"{cfg['lr']}: ms/epoch, median of {len(ref)} interleaved repeats after one untimed "
        "warm-up epoch per row (excludes Numba's compilation)"
    )
    rows = common.timing_rows(result, "PyTorch eager", scale=1e3, speedup=True)
    print(
        common.table(
            ["", "ms/epoch", "min", "max", "PyTorch ÷", "epoch loss", "final loss (f64)"], rows
        )
    )
    final = result["final_loss"]
    worst = max(abs(final[k] - final["PyTorch eager"]) / final["PyTorch eager"] for k in final)
    moved = abs(result["start_loss"] - final["PyTorch eager"])
    print(
        f"same computation: final losses differ by at most {worst:.1e} (relative; the epoch moved "
        f"the loss by {moved:.3f}) -> {'OK' if worst < 1e-5 else 'MISMATCH'}"
    )
    s = common.median(common.paired_ratios(ref, times["bprop"]))
    verdict = "met" if s >= TARGET_SPEEDUP else "NOT met"
    print(f"bprop: {s:.1f}x faster than PyTorch eager; target >= {TARGET_SPEEDUP:g}x: {verdict}")
    s = common.median(common.paired_ratios(ref, times["bprop fast=False"]))
    print(f"bprop fast=False (the NumPy path, for reference): {s:.1f}x faster than PyTorch eager")
    if "hand loop" in times:
        r = common.median(common.paired_ratios(times["bprop"], times["hand loop"]))
        print(f"bprop / hand loop = {r:.2f} (goal: at or under 1, FANN's plain C loop)")
    print(common.busy_note(result))
    common.print_machine_info(result["machine"])


def pooled_main(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    results = common.run_fresh_processes(
        __file__, common.drop_option(argv, "--processes"), args.processes
    )
    pooled = dict(results[-1])
    pooled["times"] = common.pool(results)
    pooled["busy_starts"] = sum(r["busy_starts"] for r in results)
    return common.emit(pooled, args.json, report, pooled_over=args.processes)


if __name__ == "__main__":
    main()
