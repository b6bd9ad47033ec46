"""Mini-batch SGD epoch: bprop vs PyTorch eager (DESIGN.md §4, first row).

Workload: MLP 784-256-256-10 with ReLU, softmax cross-entropy (mean over the batch), SGD with
lr 0.01 and momentum 0.9 (``--momentum 0`` for plain SGD), mini-batches of 128 in a fixed order
(no shuffling on either side), one epoch over 60,000 seeded random float32 samples with 10
classes. Both sides start from the same weights (bprop's, copied into ``torch.nn.Linear``) and
see the same batches, so they do the same computation; the script checks that they end at the
same loss (to float32 round-off) and prints s/epoch for each and the ratio bprop / PyTorch.

What is timed, per side, is what a user runs for one epoch:

* bprop: ``bp.Trainer(net, ..., schedule=bp.MiniBatch(128, shuffle=False), verbose=0)`` and
  ``trainer.fit(X, y, epochs=1)`` (input checks, the epoch, the per-epoch finiteness check);
* PyTorch: the eager loop ``zero_grad, forward, cross_entropy, backward, step`` over
  ``torch.from_numpy`` views of the same arrays, summing ``loss.item()`` for the epoch loss,
  with ``torch.set_num_threads(2)``.

``--floor`` adds a third row: a tight hand-written NumPy loop (the pure-NumPy floor of §4).

Run from the repository root::

    python bench/bench_minibatch.py                 # 5 interleaved repeats in this process
    python bench/bench_minibatch.py --processes 10  # the §4 protocol: 10 fresh processes

Target (DESIGN.md §4): bprop / PyTorch ≤ 0.75.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

import common

SIZES = (784, 256, 256, 10)
TARGET_RATIO = 0.75


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random "images" in [0, 1) (float32, C order) and labels in 0..9."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], size=n)
    return X, y


def loss64(weights: list[tuple[np.ndarray, np.ndarray]], X: np.ndarray, y: np.ndarray) -> float:
    """Mean softmax cross-entropy of the ReLU MLP with these (W, b), in float64."""
    h = X.astype(np.float64)
    for i, (W, b) in enumerate(weights):
        h = h @ W.astype(np.float64) + b.astype(np.float64)
        if i < len(weights) - 1:
            np.maximum(h, 0, out=h)
    z = h - h.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def bprop_weights(net: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    dense = [leaf for leaf in net.leaves() if "W" in leaf.params]
    return [(d.params["W"].copy(), d.params["b"].copy()) for d in dense]


def torch_weights(model: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    lin = [m for m in model if hasattr(m, "weight")]
    return [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy()) for m in lin]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser, repeats=5)
    parser.add_argument("--n", type=int, default=60_000, help="samples (default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--floor", action="store_true", help="also time a hand NumPy loop")
    args = parser.parse_args(argv)
    if args.processes > 1:
        return pooled_main(args, argv if argv is not None else sys.argv[1:])

    import torch
    import torch.nn.functional as F  # noqa: N812

    bp = common.import_bprop()
    torch.set_num_threads(2)

    X, y = make_data(args.n, args.seed)
    net = bp.mlp(list(SIZES), activation="relu", seed=args.seed)  # float32, He init
    init = net.space.params.copy()

    def run_bprop() -> tuple[float, list]:
        net.space.params[...] = init
        trainer = bp.Trainer(
            net,
            bp.SoftmaxCrossEntropy(),
            bp.SGD(args.lr, momentum=args.momentum),
            schedule=bp.MiniBatch(args.batch_size, shuffle=False),
            verbose=0,
        )
        history = trainer.fit(X, y, epochs=1)
        return history.train_loss[-1], bprop_weights(net)

    layers: list[Any] = []
    for i, (W, b) in enumerate(bprop_weights(net)):
        lin = torch.nn.Linear(*W.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin] if i == len(SIZES) - 2 else [lin, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers)
    torch_init = {k: v.clone() for k, v in model.state_dict().items()}
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def run_torch() -> tuple[float, list]:
        model.load_state_dict(torch_init)
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
        total, bs = 0.0, args.batch_size
        for i in range(0, args.n, bs):
            xb, yb = Xt[i : i + bs], yt[i : i + bs]
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        return total / args.n, torch_weights(model)

    runs = {"bprop": run_bprop, "PyTorch eager": run_torch}
    if args.floor:
        runs["hand NumPy"] = lambda: hand_numpy(X, y, bprop_weights_from(init, net), args)
    times, last = common.interleaved(runs, args.repeats, warmup=1)

    # same computation: same epoch loss and same final loss, to float32 round-off
    final = {k: loss64(v[1], X, y) for k, v in last.items()}
    epoch = {k: float(v[0]) for k, v in last.items()}
    result = {
        "benchmark": "minibatch",
        "config": vars(args),
        "times": times,
        "epoch_loss": epoch,
        "final_loss": final,
        "machine": common.machine_info({"torch": torch.__version__}),
    }
    if not args.json:
        report(result)
    else:
        print(json.dumps(result))
    return result


def bprop_weights_from(flat: np.ndarray, net: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (W, b) pairs stored in a copy ``flat`` of the net's parameter vector."""
    space, out, pending = net.space, [], {}
    for s in space.slots:
        pending[s.name] = flat[s.offset : s.offset + s.size].reshape(s.shape).copy()
        if s.name == "b":
            out.append((pending["W"], pending["b"]))
    return out


def hand_numpy(X: np.ndarray, y: np.ndarray, weights: list, args: Any) -> tuple[float, list]:
    """The same epoch as a tight hand-written NumPy loop (the §4 "hand NumPy" floor)."""
    (W1, b1), (W2, b2), (W3, b3) = weights
    params = [W1, b1, W2, b2, W3, b3]
    vel = [np.zeros_like(p) for p in params]
    bs, n, total = args.batch_size, X.shape[0], 0.0
    for i in range(0, n, bs):
        x, t = X[i : i + bs], y[i : i + bs]
        m = x.shape[0]
        h1 = x @ W1
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ W2
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ W3
        z += b3
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        s = z.sum(axis=1, keepdims=True)
        rows = np.arange(m)
        total -= float(np.log(z[rows, t] / s[:, 0]).sum())
        z /= s
        z[rows, t] -= 1
        z *= 1.0 / m
        g3, gb3 = h2.T @ z, z.sum(axis=0)
        d2 = z @ W3.T
        d2 *= h2 > 0
        g2, gb2 = h1.T @ d2, d2.sum(axis=0)
        d1 = d2 @ W2.T
        d1 *= h1 > 0
        g1, gb1 = x.T @ d1, d1.sum(axis=0)
        for p, v, g in zip(params, vel, (g1, gb1, g2, gb2, g3, gb3), strict=True):
            v *= args.momentum
            v -= args.lr * g
            p += v
    return total / n, [(W1, b1), (W2, b2), (W3, b3)]


def report(result: dict[str, Any]) -> None:
    times = result["times"]
    ref = times["PyTorch eager"]
    cfg = result["config"]
    n_rep = len(ref)
    print(
        f"MLP {'-'.join(map(str, SIZES))} ReLU, mini-batch {cfg['batch_size']}, {cfg['n']:,} "
        f"samples, SGD lr {cfg['lr']} momentum {cfg['momentum']}: s/epoch, median of {n_rep} "
        "interleaved repeats"
    )
    rows = []
    for name, ts in times.items():
        ratios = common.paired_ratios(ts, ref)
        rows.append(
            [
                name,
                common.median(ts),
                min(ts),
                max(ts),
                common.median(ratios),
                f"{result['epoch_loss'][name]:.7f}",
                f"{result['final_loss'][name]:.7f}",
            ]
        )
    print(
        common.table(
            ["", "s/epoch", "min", "max", "÷ PyTorch", "epoch loss", "final loss (f64)"], rows
        )
    )
    ratio = common.median(common.paired_ratios(times["bprop"], ref))
    f_b, f_t = result["final_loss"]["bprop"], result["final_loss"]["PyTorch eager"]
    rel = abs(f_b - f_t) / abs(f_t)
    same = rel < 1e-4
    print(
        f"same computation: final losses differ by {rel:.1e} (relative) -> "
        f"{'OK' if same else 'MISMATCH'}"
    )
    print(
        f"bprop / PyTorch = {ratio:.3f} (median of per-repeat ratios); target <= {TARGET_RATIO}: "
        f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}"
    )
    common.print_machine_info(result["machine"])


def pooled_main(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    script = __file__
    argv = _drop_value(argv, "--processes")
    results = common.run_fresh_processes(script, argv, args.processes)
    pooled = dict(results[-1])
    pooled["times"] = common.pool(results)
    if args.json:
        print(json.dumps(pooled))
    else:
        print(f"pooled over {args.processes} fresh processes")
        report(pooled)
    return pooled


def _drop_value(argv: list[str], flag: str) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == flag:
            skip = True
            continue
        if a.startswith(flag + "="):
            continue
        out.append(a)
    return out


if __name__ == "__main__":
    main()
