"""Full-batch iRprop− epoch: bprop vs ``torch.optim.Rprop`` (DESIGN.md §4, third row).

Workload: MLP 64-32-10 with tanh, scikit-learn's digits scaled by 1/16 (all 1,797 examples),
softmax cross-entropy (mean over the examples), full batch, iRprop− with η⁻ = 0.5, η⁺ = 1.2,
Δmin = 1e-6, Δmax = 50 and Δ0 = ``--delta0`` (PyTorch's ``lr``; default 0.01, PyTorch's
default), float32. Both sides start from the same weights (bprop's Glorot initialisation,
copied into ``torch.nn.Linear``) and run ``--epochs`` epochs (default 100) per repeat.

What is timed, per side:

* bprop: ``bp.Trainer(net, SoftmaxCrossEntropy(), Rprop("irprop-", ...), schedule="batch",
  verbose=0).fit(X, y, epochs=100)`` — what a user runs, with the trainer's per-epoch
  bookkeeping (finiteness check, history, training accuracy);
* bprop step loop: ``trainer.step(X, y)`` 100 times (zero gradients, forward, loss, backward,
  update), the same work as the PyTorch loop, to show the trainer's own share;
* PyTorch: the eager loop ``zero_grad, forward, cross_entropy, backward, step``;
* hand NumPy (``--floor``): the same epochs as a tight hand-written NumPy loop on one flat
  parameter buffer (the pure-NumPy floor of §4; goal: bprop's ``fit`` within 1.1× of it).

Threads: both sides use ``--threads`` (default 1): threadpoolctl limits NumPy's BLAS and
``torch.set_num_threads`` PyTorch's.

Same computation: a separate, untimed lock-step run trains both side by side and compares the
weights after every epoch. They are bit-identical until some gradient component is zero to
float32 round-off, where NumPy's and PyTorch's sums may round to opposite signs; Rprop's steps
depend only on signs, so from there the two runs part, while both losses keep falling. The
script reports the first such epoch, the size of the components concerned (relative to the
largest gradient component: ~1e-12 is round-off), and both losses after the last epoch.

Run from the repository root::

    python bench/bench_rprop.py                 # 7 interleaved repeats in this process
    python bench/bench_rprop.py --processes 10  # the §4 protocol: 10 fresh processes

Target (DESIGN.md §4): bprop (Trainer.fit) / PyTorch ≤ 0.5, and ≤ 1.1 × the hand NumPy loop.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import common
import numpy as np

SIZES = (64, 32, 10)
TARGET_RATIO = 0.5
ETAS, STEP_SIZES = (0.5, 1.2), (1e-6, 50.0)


def make_data() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y.astype(np.int64)


def loss64(flat: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy, in float64, of the net whose parameters (bprop's order) are ``flat``."""
    W1, b1, W2, b2 = unflatten(flat.astype(np.float64))
    return common.cross_entropy64(np.tanh(X.astype(np.float64) @ W1 + b1) @ W2 + b2, y)


def unflatten(flat: np.ndarray) -> list[np.ndarray]:
    """bprop's flat order: W1 (64, 32), b1, W2 (32, 10), b2."""
    (a, h, k), out, i = SIZES, [], 0
    for shape in ((a, h), (h,), (h, k), (k,)):
        n = int(np.prod(shape))
        out.append(flat[i : i + n].reshape(shape))
        i += n
    return out


def torch_flat(model: Any, grad: bool = False) -> np.ndarray:
    """PyTorch's parameters (or their gradients) in bprop's flat order."""
    parts = []
    for lin in (model[0], model[2]):
        W = (lin.weight.grad if grad else lin.weight).detach().numpy()
        b = (lin.bias.grad if grad else lin.bias).detach().numpy()
        parts += [W.T.ravel(), b]
    return np.concatenate(parts)


def setup(torch: Any, bp: Any, delta0: float) -> dict[str, Any]:
    X, y = make_data()
    net = bp.mlp(list(SIZES), activation="tanh", seed=0)  # float32, Glorot
    init = net.space.params.copy()
    W1, b1, W2, b2 = unflatten(init)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 10))
    with torch.no_grad():
        for lin, W, b in ((model[0], W1, b1), (model[2], W2, b2)):
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b.copy()))
    torch_init = {k: v.clone() for k, v in model.state_dict().items()}
    return {"X": X, "y": y, "net": net, "init": init, "model": model, "torch_init": torch_init}


def bprop_trainer(bp: Any, s: dict[str, Any], delta0: float) -> Any:
    s["net"].space.params[...] = s["init"]
    rule = bp.optim.Rprop(
        "irprop-",
        eta_minus=ETAS[0],
        eta_plus=ETAS[1],
        delta0=delta0,
        delta_min=STEP_SIZES[0],
        delta_max=STEP_SIZES[1],
    )
    return bp.Trainer(s["net"], bp.SoftmaxCrossEntropy(), rule, schedule="batch", verbose=0)


def torch_optimizer(torch: Any, s: dict[str, Any], delta0: float) -> Any:
    s["model"].load_state_dict(s["torch_init"])
    return torch.optim.Rprop(s["model"].parameters(), lr=delta0, etas=ETAS, step_sizes=STEP_SIZES)


def lockstep(torch: Any, bp: Any, s: dict[str, Any], epochs: int, delta0: float) -> dict:
    """Train both side by side (untimed); where, and why, do their weights first differ?"""
    F = torch.nn.functional  # noqa: N806
    trainer = bprop_trainer(bp, s, delta0)
    opt = torch_optimizer(torch, s, delta0)
    Xb, Tb = trainer.prepare(s["X"], s["y"])
    Xt, yt = torch.from_numpy(s["X"]), torch.from_numpy(s["y"])
    space, model = s["net"].space, s["model"]
    out: dict[str, Any] = {"identical_epochs": epochs, "first_difference": None}
    for epoch in range(1, epochs + 1):
        space.grads.fill(0)
        logits, cache = s["net"].forward(Xb, train=True)
        loss, dy = trainer.loss.value_and_grad(logits, Tb)
        s["net"].backward(dy, cache, need_dx=False)
        g_b = space.grads.copy()
        upd, trainer.state = trainer.optimizer.update(
            space.grads, trainer.state, space.params, loss
        )
        space.params += upd
        opt.zero_grad(set_to_none=False)
        F.cross_entropy(model(Xt), yt).backward()
        g_t = torch_flat(model, grad=True)
        opt.step()
        if out["first_difference"] is None and not np.array_equal(space.params, torch_flat(model)):
            out["identical_epochs"] = epoch - 1
            differ = np.sign(g_b) != np.sign(g_t)
            sizes = np.abs(np.concatenate([g_b[differ], g_t[differ]]))
            out["first_difference"] = {
                "epoch": epoch,
                "components_with_opposite_signs": int(differ.sum()),
                "their_largest_abs_gradient": float(sizes.max()) if sizes.size else 0.0,
                "largest_abs_gradient": float(np.abs(g_b).max()),
            }
    out["final_loss"] = {
        "bprop": loss64(space.params, s["X"], s["y"]),
        "PyTorch eager": loss64(torch_flat(model), s["X"], s["y"]),
    }
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser, repeats=7)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--delta0", type=float, default=0.01, help="Δ0 = PyTorch's lr")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads")
    parser.add_argument("--floor", action="store_true", help="also time a hand NumPy loop")
    args = parser.parse_args(argv)
    if args.processes > 1:
        return pooled_main(args, argv if argv is not None else sys.argv[1:])

    import torch
    from threadpoolctl import threadpool_limits

    bp = common.import_bprop()
    torch.set_num_threads(args.threads)
    F = torch.nn.functional  # noqa: N806
    s = setup(torch, bp, args.delta0)
    Xt, yt = torch.from_numpy(s["X"]), torch.from_numpy(s["y"])

    def run_fit() -> np.ndarray:
        bprop_trainer(bp, s, args.delta0).fit(s["X"], s["y"], epochs=args.epochs)
        return s["net"].space.params.copy()

    def run_steps() -> np.ndarray:
        trainer = bprop_trainer(bp, s, args.delta0)
        Xb, Tb = trainer.prepare(s["X"], s["y"])
        for _ in range(args.epochs):
            trainer.step(Xb, Tb)
        return s["net"].space.params.copy()

    def run_torch() -> np.ndarray:
        opt = torch_optimizer(torch, s, args.delta0)
        for _ in range(args.epochs):
            opt.zero_grad()
            F.cross_entropy(s["model"](Xt), yt).backward()
            opt.step()
        return torch_flat(s["model"])

    runs = {"bprop": run_fit, "bprop step loop": run_steps, "PyTorch eager": run_torch}
    if args.floor:
        runs["hand NumPy"] = lambda: hand_numpy(s["X"], s["y"], s["init"], args)
    with threadpool_limits(limits=args.threads):
        times, _, _ = common.interleaved(runs, args.repeats, warmup=1)
        check = lockstep(torch, bp, s, args.epochs, args.delta0)
        machine = common.machine_info({"torch": torch.__version__, "threads": str(args.threads)})
    result = {
        "benchmark": "rprop",
        "config": vars(args),
        "times": times,
        "lockstep": check,
        "machine": machine,
    }
    return common.emit(result, args.json, report)


def hand_numpy(X: np.ndarray, y: np.ndarray, init: np.ndarray, args: Any) -> np.ndarray:
    """The same epochs as a tight hand-written NumPy loop (the §4 "hand NumPy" floor): tanh
    MLP, mean softmax cross-entropy, iRprop− on one flat buffer; returns the final weights."""
    params = init.copy()
    grads = np.empty_like(params)
    W1, b1, W2, b2 = unflatten(params)
    gW1, gb1, gW2, gb2 = unflatten(grads)
    step = np.full_like(params, args.delta0)
    prev = np.zeros_like(params)
    n, rows = X.shape[0], np.arange(X.shape[0])
    for _ in range(args.epochs):
        h = X @ W1
        h += b1
        np.tanh(h, out=h)
        z = h @ W2
        z += b2
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        z[rows, y] -= 1
        z *= 1.0 / n
        np.matmul(h.T, z, out=gW2)
        z.sum(axis=0, out=gb2)
        d = z @ W2.T
        h *= h
        np.subtract(1, h, out=h)
        d *= h
        np.matmul(X.T, d, out=gW1)
        d.sum(axis=0, out=gb1)
        # iRprop−: grow Δ where the sign held, shrink it and forget g where it flipped
        np.sign(grads, out=grads)
        p = grads * prev
        step[p > 0] *= ETAS[1]
        flipped = p < 0
        step[flipped] *= ETAS[0]
        np.clip(step, STEP_SIZES[0], STEP_SIZES[1], out=step)
        grads[flipped] = 0
        prev[...] = grads
        grads *= step
        params -= grads
    return params


def report(result: dict[str, Any]) -> None:
    times, cfg, check = result["times"], result["config"], result["lockstep"]
    ref = times["PyTorch eager"]
    epochs = cfg["epochs"]
    print(
        f"MLP {'-'.join(map(str, SIZES))} tanh, digits (1,797), full-batch iRprop- "
        f"(Δ0 {cfg['delta0']}), float32, {cfg['threads']} thread(s): ms/epoch over {epochs} "
        f"epochs, median of {len(ref)} interleaved repeats"
    )
    rows = []
    for name, ts in times.items():
        ms = [1e3 * t / epochs for t in ts]
        ratio = common.median(common.paired_ratios(ts, ref))
        rows.append([name, common.median(ms), min(ms), max(ms), ratio])
    print(common.table(["", "ms/epoch", "min", "max", "÷ PyTorch"], rows))

    final = check["final_loss"]
    print(
        f"loss after {epochs} epochs (float64 evaluation): bprop {final['bprop']:.6g}, "
        f"PyTorch {final['PyTorch eager']:.6g}"
    )
    first = check["first_difference"]
    if first is None:
        print(f"same computation: weights bit-identical for all {epochs} epochs -> OK")
    else:
        rel = first["their_largest_abs_gradient"] / first["largest_abs_gradient"]
        roundoff = first["components_with_opposite_signs"] > 0 and rel < 1e-6
        print(
            f"same computation: weights bit-identical for {check['identical_epochs']} epochs; "
            f"at epoch {first['epoch']}, {first['components_with_opposite_signs']} gradient "
            f"component(s) have opposite signs in NumPy and PyTorch, |g| <= "
            f"{first['their_largest_abs_gradient']:.2g} = {rel:.1e} x max |g| -> "
            f"{'round-off, OK' if roundoff else 'MISMATCH'}"
        )
    ratio = common.median(common.paired_ratios(times["bprop"], ref))
    print(
        f"bprop / PyTorch = {ratio:.3f} (median of per-repeat ratios); target <= {TARGET_RATIO}: "
        f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}"
    )
    common.print_machine_info(result["machine"])


def pooled_main(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    argv = common.drop_option(argv, "--processes")
    results = common.run_fresh_processes(__file__, argv, args.processes)
    pooled = dict(results[-1])
    pooled["times"] = common.pool(results)
    return common.emit(pooled, args.json, report, pooled_over=args.processes)


if __name__ == "__main__":
    main()
