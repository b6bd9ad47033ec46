"""The trainer's own share of a training step: ``Trainer.fit`` against a bare loop, same net.

Workload (issue 14, W4): a character LSTM, ``Recurrent(LSTM(65, H))`` +
``TimeDistributed(Dense(H, 65))``, one-hot inputs, sequence length 100, batch N, softmax
cross-entropy, full BPTT and one Adam update per epoch (``schedule="batch"``). Two rows, on
the same net and data, in one process, interleaved:

* ``Trainer.fit``: ``trainer.fit(X, Y, epochs=E)`` on one trainer, what a user runs — with the
  input checks of each ``fit``, and per epoch the training accuracy, the divergence check and
  its snapshot, the history, the callbacks' hooks;
* ``bare loop``: E times zero the gradients, ``net.forward``, ``loss.value_and_grad``,
  ``net.backward``, ``optimizer.apply`` — the same arithmetic and nothing else.

The overhead is fit ÷ bare − 1 (goal: under 5 %). The script also prints the page faults per
epoch of each row: glibc hands freed heap back to the system and faults it in again (~1 µs a
page, hundreds an epoch), and whether that hits the fit or the bare loop depends on the order
of allocations in the process, not on the work of either; compare rows whose counts are alike.
Before timing, an untimed run checks that both rows compute the same thing: from the same
weights and rule state, E epochs of each give bit-identical weights.

Run from the repository root::

    python bench/bench_trainer.py                          # H 256 and H 64, batch 32
    python bench/bench_trainer.py --sizes 256x32 --repeats 20 --threads 1
    python bench/bench_trainer.py --cpu --threads 1          # on a busy machine

``--threads`` limits NumPy's BLAS (threadpoolctl; default: as the machine has it). On a busy
machine, ``--cpu --threads 1`` times the process's CPU time instead of the wall clock and
starts each call at once instead of waiting for the machine to be quiet. Each row's
time is per epoch; the table shows the median and min over the repeats and the median of the
per-round ratios (see ``common.interleaved`` on the pauses between timed calls).
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import time
from typing import Any

import common
import numpy as np

V, T = 65, 100
TARGET = 1.05


def setup(bp: Any, H: int, N: int) -> dict[str, Any]:
    from bprop.recurrent import LSTM, Recurrent, TimeDistributed

    rng = np.random.default_rng(0)
    ids = rng.integers(0, V, size=(N, T + 1))
    X = np.eye(V, dtype=np.float32)[ids[:, :-1]]
    net = bp.Sequential(Recurrent(LSTM(V, H)), TimeDistributed(bp.Dense(H, V, rng=1)))
    trainer = bp.Trainer(net, bp.SoftmaxCrossEntropy(), bp.Adam(1e-3), "batch", verbose=0)
    return {"X": X, "Y": ids[:, 1:], "net": net, "trainer": trainer}


def bare_loop(s: dict[str, Any], epochs: int) -> None:
    """``epochs`` full-batch steps without the trainer (its rule state carried on)."""
    trainer, net = s["trainer"], s["net"]
    if "Xb" not in s:
        s["Xb"], s["Tb"] = trainer.prepare(s["X"], s["Y"])
    space, loss, rule, state = net.space, trainer.loss, trainer.optimizer, trainer.state
    for _ in range(epochs):
        space.zero_grad()
        out, cache = net.forward(s["Xb"], train=True)
        value, dy = loss.value_and_grad(out, s["Tb"])
        net.backward(dy, cache, need_dx=False)
        state = rule.apply(space.grads, state, space.params, value)
    trainer.state = state


def same_computation(s: dict[str, Any], epochs: int) -> bool:
    """Whether ``epochs`` of fit and of the bare loop, from the same start, give the same
    weights bit for bit."""
    from bprop.divergence import copy_state

    trainer, space = s["trainer"], s["net"].space
    params, state = space.params.copy(), copy_state(trainer.state)
    trainer.fit(s["X"], s["Y"], epochs=epochs)
    after_fit = space.params.copy()
    space.params[...], trainer.state = params, copy_state(state)
    bare_loop(s, epochs)
    return bool(np.array_equal(after_fit, space.params))


def measure(bp: Any, H: int, N: int, args: argparse.Namespace) -> dict[str, Any]:
    s = setup(bp, H, N)
    E = args.epochs
    faults = {"Trainer.fit": 0, "bare loop": 0}

    def counted(name: str, fn: Any) -> Any:
        def run() -> None:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            fn()
            faults[name] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

        return run

    runs = {
        "Trainer.fit": counted("Trainer.fit", lambda: s["trainer"].fit(s["X"], s["Y"], epochs=E)),
        "bare loop": counted("bare loop", lambda: bare_loop(s, E)),
    }
    same = same_computation(s, 2)
    if args.cpu:  # CPU time of this process, no waiting for a quiet machine
        times, busy = {k: [] for k in runs}, 0
        for fn in runs.values():
            fn()
        for r in range(args.repeats):
            for name in list(runs) if r % 2 == 0 else list(runs)[::-1]:
                t0 = time.process_time()
                runs[name]()
                times[name].append(time.process_time() - t0)
    else:
        times, _, busy = common.interleaved(runs, args.repeats, warmup=1)
    per_epoch = {k: [1e3 * t / E for t in v] for k, v in times.items()}
    ratios = common.paired_ratios(per_epoch["Trainer.fit"], per_epoch["bare loop"])
    per = E * (args.repeats + 1)
    return {
        "H": H,
        "N": N,
        "ms": per_epoch,
        "ratios": ratios,
        "same": same,
        "busy": busy,
        "faults": {k: v / per for k, v in faults.items()},
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="256x32,64x32", help="HxN pairs, comma-separated")
    ap.add_argument("--epochs", type=int, default=5, help="epochs per timed call")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--threads", type=int, default=None, help="BLAS threads (default: as is)")
    ap.add_argument(
        "--cpu",
        action="store_true",
        help="time the process's CPU time and start at once (a busy machine; with --threads 1)",
    )
    args = ap.parse_args(argv)
    bp = common.import_bprop()
    limit: Any = contextlib.nullcontext()
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(limits=args.threads)
    rows = []
    with limit:
        for size in args.sizes.split(","):
            H, N = (int(v) for v in size.lower().split("x"))
            r = measure(bp, H, N, args)
            fit, bare = r["ms"]["Trainer.fit"], r["ms"]["bare loop"]
            rows.append(
                [
                    f"LSTM 65→{H}, batch {N}",
                    common.median(fit),
                    min(fit),
                    common.median(bare),
                    min(bare),
                    common.median(r["ratios"]),
                    min(fit) / min(bare),
                    "yes" if r["same"] else "NO",
                    r["faults"]["Trainer.fit"],
                    r["faults"]["bare loop"],
                ]
            )
        machine = common.machine_info()
    print(
        f"Trainer.fit vs a bare forward/loss/backward/Adam loop, seq {T}, full batch, "
        f"{args.epochs} epochs per timed call, {args.repeats} interleaved repeats (ms/epoch)"
    )
    heads = ["", "fit", "min", "bare", "min", "fit ÷ bare", "of mins", "same weights"]
    print(common.table(heads, [row[:8] for row in rows]))
    verdict = "met" if max(row[5] for row in rows) <= TARGET else "NOT met"
    print(f"goal: fit ÷ bare ≤ {TARGET} (overhead under 5 %): {verdict}")
    print(
        "page faults per epoch (fit, bare): "
        + "; ".join(f"{row[0]}: {row[8]:.0f}, {row[9]:.0f}" for row in rows)
        + " — glibc returns freed heap to the system and takes it back, ~1 µs a page; "
        "which loop it hits depends on the order of allocations"
    )
    common.print_machine_info(machine)


if __name__ == "__main__":
    main()
