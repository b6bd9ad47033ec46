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
  network (Numba, fixed shapes, 2-D weight arrays, ``tanh`` from libm, as FANN's C loop calls
  ``exp``): what a plain loop gets; FANN itself is ``--fann``.

``--fann`` times bprop against FANN itself instead (FANN 2.2, C, through ctypes:
``bench/fann_peer.py``; skipped with a message when ``libfloatfann`` is missing), for each hidden
width of ``--hidden``: MLP 64-h-10 with tanh hidden units and an identity output, ½ Σ (a − t)²
on one-hot targets (bprop's ``SquaredError``; FANN's incremental training with its linear error
function), SGD lr 0.01, one epoch in data order, float32, the same starting weights. Rows:

* ``bprop``: ``trainer.fit(X, T, epochs=1)`` on a ``bp.Trainer`` made once (its weights reset
  before each timed epoch, outside the time) — the public path, the trainer's per-fit work in;
* ``bprop kernel``: the compiled epoch alone (``bprop.train.online_fast.run_epoch``);
* ``FANN``: ``fann_train_epoch`` on a ``fann_train_data`` filled in memory (all in C), on a
  fresh ``fann_copy`` of the starting network (made outside the time).

It checks the same computation: FANN's and bprop's weights after the epoch, each against a
float64 replay (FANN's with its derivative clip at |tanh| = 0.98, see ``fann_peer.py``), and
against each other.

Numba's one-time compilation is excluded: every row first runs one untimed warm-up epoch.

Run from the repository root::

    python bench/bench_online.py                 # 5 interleaved repeats in this process
    python bench/bench_online.py --processes 10  # the §4 protocol: 10 fresh processes
    python bench/bench_online.py --fann --hidden 32,64,128,256,512 --repeats 21

Target (DESIGN.md §4): bprop at least 15x faster than PyTorch eager.
"""

from __future__ import annotations

import argparse
import sys
import time
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
    parser.add_argument("--fann", action="store_true", help="time bprop against FANN (C) instead")
    parser.add_argument("--hidden", default="32", help="--fann: hidden widths, e.g. 32,64,128")
    args = parser.parse_args(argv)
    if args.fann:
        if args.processes > 1:
            parser.error("--fann times FANN and bprop interleaved in one process: drop --processes")
        try:
            args.hidden_sizes = [int(h) for h in args.hidden.split(",")]
        except ValueError:
            parser.error(
                f"--hidden takes widths separated by commas, e.g. 32,64; got {args.hidden!r}"
            )
        return fann_main(args)
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
            xi = x[i]  # a scalar, not re-read after each store to h (which could alias it)
            for j in range(n_h):
                h[j] += xi * W1[i, j]
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
            step = lr * x[i]
            for j in range(n_h):
                W1[i, j] -= step * h[j]
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
        print(f"bprop / hand loop = {r:.2f} (a plain compiled loop; FANN itself: --fann)")
    print(common.busy_note(result))
    common.print_machine_info(result["machine"])


def fann_main(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--fann`` comparison (see the module docstring), one row group per hidden width."""
    import fann_peer

    if fann_peer.load() is None:
        print(f"FANN row skipped: libfloatfann not found; {fann_peer.INSTALL}")
        return {"benchmark": "online-fann", "skipped": True}
    bp = common.import_bprop()
    from bprop.train import online_fast

    X, y = load_data()
    T = np.eye(SIZES[-1], dtype=np.float32)[y]
    result: dict[str, Any] = {"benchmark": "online-fann", "config": vars(args), "rows": []}
    for hidden in args.hidden_sizes:
        result["rows"].append(fann_row(bp, online_fast, fann_peer, hidden, X, T, args))
    result["busy_starts"] = sum(row.pop("busy") for row in result["rows"])
    result["times"] = {
        f"{r['hidden']} {k}": v for r in result["rows"] for k, v in r["times"].items()
    }
    result["machine"] = common.machine_info()
    return common.emit(result, args.json, fann_report)


def fann_row(
    bp: Any, online_fast: Any, fann_peer: Any, hidden: int, X: np.ndarray, T: np.ndarray, args: Any
) -> dict[str, Any]:
    """Time and check one hidden width of the ``--fann`` comparison."""
    net = bp.mlp([SIZES[0], hidden, SIZES[-1]], activation="tanh", seed=args.seed)
    init, init_weights = net.space.params.copy(), common.bprop_weights(net)
    trainer = bp.Trainer(
        net, bp.SquaredError(), bp.SGD(args.lr), schedule=bp.Online(shuffle=False), verbose=0
    )
    plan = online_fast.supports(trainer, X, T)
    fann_net, data = fann_peer.FannNet(init_weights, args.lr), fann_peer.FannData(X, T)

    def run_fit() -> tuple[float, Any]:
        net.space.params[...] = init
        t0 = time.perf_counter()
        trainer.fit(X, T, epochs=1)
        return time.perf_counter() - t0, common.bprop_weights(net)

    def run_kernel() -> tuple[float, Any]:
        net.space.params[...] = init
        t0 = time.perf_counter()
        online_fast.run_epoch(trainer, plan, X, T)
        return time.perf_counter() - t0, common.bprop_weights(net)

    def run_fann() -> tuple[float, Any]:
        fresh = fann_net.copy()
        t0 = time.perf_counter()
        fresh.train_epoch(data)
        return time.perf_counter() - t0, fresh.weights()

    runs = {"bprop": run_fit, "bprop kernel": run_kernel, "FANN": run_fann}
    if plan is None:  # no compiled path (no Numba): the public path alone
        del runs["bprop kernel"]
    times, last, busy = self_timed(runs, args.repeats)
    plain, n_sat = fann_peer.replay(init_weights, X, T, args.lr, clip=False)
    clipped, _ = fann_peer.replay(init_weights, X, T, args.lr, clip=True)
    return {
        "hidden": hidden,
        "times": times,
        "busy": busy,
        "saturated": n_sat,
        "bprop_vs_replay": fann_peer.max_rel_diff(last["bprop"], plain),
        "fann_vs_replay": fann_peer.max_rel_diff(last["FANN"], clipped),
        "bprop_vs_fann": fann_peer.max_rel_diff(last["bprop"], last["FANN"]),
    }


def self_timed(
    runs: dict[str, Any], repeats: int
) -> tuple[dict[str, list[float]], dict[str, Any], int]:
    """Like :func:`common.interleaved` (one untimed warm-up round, then alternating order,
    settling before each call), for callables that time themselves and return (seconds,
    result), so that their set-up (resetting the weights) stays out of the time."""
    names = list(runs)
    last = {n: runs[n]()[1] for n in names}
    times: dict[str, list[float]] = {n: [] for n in names}
    busy = 0
    for r in range(repeats):
        for n in names if r % 2 == 0 else reversed(names):
            busy += not common.settle(0.05)
            t, last[n] = runs[n]()
            times[n].append(t)
    return times, last, busy


def verdict(row: dict[str, Any], tol: float = 1e-4) -> str:
    """OK when each side matches its float64 replay to float32 round-off over the epoch, and
    the two match each other wherever FANN's clip of tanh' did not act."""
    ok = row["bprop_vs_replay"] < tol and row["fann_vs_replay"] < tol
    ok = ok and (row["saturated"] > 0 or row["bprop_vs_fann"] < tol)
    return "OK" if ok else "MISMATCH"


def fann_report(result: dict[str, Any]) -> None:
    cfg = result["config"]
    print(
        f"MLP 64-h-10, tanh hidden, identity output, ½Σ(a − t)² on one-hot targets, online SGD lr "
        f"{cfg['lr']}, digits (1,797 examples), float32: ms/epoch, min and median of "
        f"{cfg['repeats']} interleaved repeats after one untimed warm-up round"
    )
    rows = []
    for row in result["rows"]:
        t = row["times"]
        fann = t["FANN"]
        for name, ts in t.items():
            ratio = common.median(common.paired_ratios(ts, fann))
            rows.append(
                [
                    f"h={row['hidden']} {name}",
                    1e3 * min(ts),
                    1e3 * common.median(ts),
                    min(ts) / min(fann),
                    ratio,
                ]
            )
    print(common.table(["", "min ms", "median ms", "÷ FANN (mins)", "÷ FANN (paired)"], rows))
    print(
        "same computation (largest relative weight difference after the epoch; float64 replays, "
        "FANN's with its derivative clip at |tanh| > 0.98):"
    )
    for row in result["rows"]:
        print(
            f"  h={row['hidden']}: bprop vs replay {row['bprop_vs_replay']:.1e}, FANN vs clipped "
            f"replay {row['fann_vs_replay']:.1e}, bprop vs FANN {row['bprop_vs_fann']:.1e} "
            f"({row['saturated']} hidden values passed 0.98: "
            f"{'FANN clips there' if row['saturated'] else 'none, so no clip'}) -> {verdict(row)}"
        )
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
