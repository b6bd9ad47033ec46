"""Peak memory of truncated against full BPTT on a character stream (issue 14, item 4).

Truncated BPTT(k1, k2) (``bp.fit_stream``) keeps only the last k2 steps of each of the
``batch_size`` sub-streams, so its memory does not grow with the stream: over 1,000,000
characters at k1 = k2 = 100 it should peak where it peaks over 100,000 (the stream arrays
themselves, 16 bytes a character as int64 inputs and targets, aside). Full BPTT (``bp.fit`` on
the stream as one sequence) stores every step's activations for the backward pass: about
10 KB a character for an LSTM of 256 units on 65 symbols, so 1.1 GB at 100,000 characters.

Each measurement runs in a fresh process (``--child``) that builds the stream (seeded random
symbols), an LSTM(65, H) + Dense(H, 65) net and trains it, and reports its peak resident set
size (``ru_maxrss``) before and after training; the difference is what training added. Not a
timed test: run it by hand from the repository root (the 1,000,000-character run trains
~310 updates of 32 × 100 steps, minutes at 256 units)::

    python bench/bench_memory.py                        # truncated 1e5 and 1e6, full 1e4, 3e4
    python bench/bench_memory.py --truncated 100000 --full 10000 --hidden 64   # quick
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np

V = 65  # symbols


def peak_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def child(mode: str, chars: int, hidden: int, k: int, batch: int) -> dict[str, Any]:
    """Train on a stream of ``chars`` symbols in this process; return the peak memory."""
    import common

    bp = common.import_bprop()
    from bprop.recurrent import LSTM, Recurrent, TimeDistributed

    rng = np.random.default_rng(0)
    stream = rng.integers(0, V, size=chars + 1)
    with bp.backend.default_dtype(np.float32):
        net = bp.Sequential(
            Recurrent(LSTM(V, hidden, rng=0)), TimeDistributed(bp.Dense(hidden, V, rng=1))
        )
    before = peak_mb()
    t0 = time.perf_counter()
    if mode == "truncated":
        bp.fit_stream(net, stream[:-1], stream[1:], k1=k, k2=k, batch_size=batch, verbose=0)
    else:  # the whole stream as one sequence of one example, one-hot: full BPTT, one update
        X = np.eye(V, dtype=np.float32)[stream[:-1]][None]
        bp.fit(net, X, stream[1:][None], loss=bp.SoftmaxCrossEntropy(), epochs=1, verbose=0)
    return {
        "mode": mode,
        "chars": chars,
        "before_mb": before,
        "peak_mb": peak_mb(),
        "seconds": time.perf_counter() - t0,
    }


def measure(mode: str, chars: int, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", mode, str(chars), "--hidden", str(args.hidden)]
    cmd += ["--k", str(args.k), "--batch", str(args.batch)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--truncated", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--full", type=int, nargs="*", default=[10_000, 30_000])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--k", type=int, default=100, help="k1 = k2 of truncated BPTT")
    parser.add_argument("--batch", type=int, default=32, help="parallel sub-streams")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "CHARS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = child(args.child[0], int(args.child[1]), args.hidden, args.k, args.batch)
        print(json.dumps(result))
        return [result]

    rows = [measure("truncated", n, args) for n in args.truncated]
    rows += [measure("full", n, args) for n in args.full]
    print(
        f"LSTM({V}, {args.hidden}) + Dense, float32; truncated BPTT k1 = k2 = {args.k}, "
        f"{args.batch} sub-streams; full BPTT: the stream as one sequence, one update"
    )
    print(f"{'':10} {'characters':>12} {'peak MB':>9} {'training added MB':>18} {'s':>7}")
    for r in rows:
        added = r["peak_mb"] - r["before_mb"]
        print(
            f"{r['mode']:10} {r['chars']:>12,} {r['peak_mb']:>9.1f} {added:>18.1f} "
            f"{r['seconds']:>7.1f}"
        )
    for mode in ("truncated", "full"):
        rs = [r for r in rows if r["mode"] == mode]
        if len(rs) >= 2:
            a, b = rs[0], rs[-1]
            per_char = (b["peak_mb"] - a["peak_mb"]) * 1e6 / (b["chars"] - a["chars"])
            print(f"{mode}: peak grows {per_char:,.0f} bytes per character")
    return rows


if __name__ == "__main__":
    main()
