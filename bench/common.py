"""Shared helpers for the benchmarks in ``bench/``: timing, machine facts, tables.

The benchmarks are scripts, not tests. Each one runs bprop and its peer (PyTorch eager) in the
same process, *interleaved* (bprop, peer, peer, bprop, bprop, peer, ...), so that slow spells of
a noisy shared machine hit both sides alike, and reports medians over the repeats together with
the median of the per-repeat ratios. Compare ratios measured in one run, never absolute times
measured in different runs (DESIGN.md §4).

``--processes P`` re-runs the script in P fresh Python processes and pools their per-repeat
numbers, the protocol of DESIGN.md §4 ("medians of fresh processes").
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]

#: environment variables that change BLAS or OpenMP behaviour; printed, never changed here
ENV_VARS = (
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_VERBOSE",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


def import_bprop() -> ModuleType:
    """Import ``bprop``, from this checkout when it is not installed."""
    try:
        import bprop
    except ImportError:
        sys.path.insert(0, str(REPO))
        import bprop
    return bprop


def import_torch(threads: int = 2) -> ModuleType:
    """Import PyTorch (the benchmark peer) with ``threads`` intra-op threads, or exit with
    advice."""
    try:
        import torch
    except ImportError:
        raise SystemExit(
            "these benchmarks compare with PyTorch: pip install torch==2.13.0 (a CPU build)"
        ) from None
    torch.set_num_threads(threads)
    return torch


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call of ``fn``."""
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


#: seconds to idle before each timed call; see :func:`interleaved`
PAUSE = 0.3
#: a timed call starts only once the machine's CPUs were at most this busy over one pause
MAX_BUSY = 0.15
#: ... or after waiting this long (seconds) for that, counted as a "busy start"
MAX_WAIT = 120.0


def _cpu_times() -> tuple[int, int] | None:
    """(total, idle) jiffies of all CPUs from /proc/stat (Linux), or None elsewhere."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(values), values[3] + values[4]  # idle + iowait


def settle(pause: float = PAUSE, max_busy: float = MAX_BUSY, max_wait: float = MAX_WAIT) -> bool:
    """Sleep ``pause`` seconds, and on until the CPUs were at most ``max_busy`` busy during the
    last ``pause`` seconds (others' jobs on a shared machine); give up after ``max_wait``
    seconds. Returns whether the machine was quiet."""
    t_end = time.perf_counter() + max_wait
    while True:
        before = _cpu_times()
        time.sleep(pause)
        after = _cpu_times()
        if before is None or after is None:
            return True
        total = after[0] - before[0]
        busy = 1.0 - (after[1] - before[1]) / total if total > 0 else 0.0
        if busy <= max_busy:
            return True
        if time.perf_counter() > t_end:
            return False


def interleaved(
    runs: dict[str, Callable[[], Any]], repeats: int, warmup: int = 1, pause: float = PAUSE
) -> tuple[dict[str, list[float]], dict[str, Any], int]:
    """Time each callable ``repeats`` times, interleaved, after ``warmup`` untimed rounds.

    The order alternates between rounds (A B, B A, A B, ...) so that neither side always runs
    right after the other. Before each timed call the process idles (:func:`settle`): at least
    ``pause`` seconds, because after a matrix product OpenBLAS's worker threads (NumPy)
    busy-wait for about 2^28 cycles (~0.1 s) before they sleep, and PyTorch's OpenMP threads
    spin too, so on a 2-core machine a run that starts right after the other library's would
    share its cores with that library's spinning threads; and on until no other job keeps the
    CPUs busy. Returns ({name: [seconds, ...]}, {name: result of its last call}, number of
    timed calls that had to start on a busy machine).
    """
    names = list(runs)
    times: dict[str, list[float]] = {n: [] for n in names}
    last: dict[str, Any] = {}
    busy_starts = 0
    for _ in range(warmup):
        for n in names:
            last[n] = runs[n]()
    for r in range(repeats):
        for n in names if r % 2 == 0 else reversed(names):
            if not settle(pause):
                busy_starts += 1
            t, last[n] = timed(runs[n])
            times[n].append(t)
    return times, last, busy_starts


def paired_ratios(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """Per-repeat ratios a[i] / b[i] (each pair measured back to back)."""
    return [x / y for x, y in zip(a, b, strict=True)]


def threadpools() -> list[dict[str, Any]]:
    """What threadpoolctl says the native thread pools are (BLAS library, threads, kernel)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl not installed (pip install threadpoolctl)"}]
    keep = ("internal_api", "version", "num_threads", "threading_layer", "architecture")
    pools = []
    for info in threadpool_info():
        pool = {k: info[k] for k in keep if info.get(k) is not None}
        # the folder says whose library it is: numpy.libs, scipy.libs, torch/lib, ...
        pool["library"] = "/".join(Path(info.get("filepath", "?")).parts[-2:])
        pools.append(pool)
    return pools


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(extra: dict[str, str] | None = None) -> dict[str, Any]:
    """Facts to print with every result: date, CPU, versions, thread pools, BLAS env vars."""
    import numpy

    info: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": f"{cpu_model()} ({os.cpu_count()} logical CPUs)",
        "python": platform.python_version(),
        "numpy": numpy.__version__,
    }
    info.update(extra or {})
    info["env"] = {k: os.environ[k] for k in ENV_VARS if k in os.environ} or "none of " + (
        ", ".join(ENV_VARS)
    )
    info["threadpools"] = threadpools()
    return info


def print_machine_info(info: dict[str, Any]) -> None:
    for k, v in info.items():
        if k == "threadpools":
            for pool in v:
                print(f"  threadpool: {', '.join(f'{a}={b}' for a, b in pool.items())}")
        else:
            print(f"  {k}: {v}")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with right-aligned columns (Markdown-compatible)."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for j, row in enumerate(cells):
        lines.append("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if j == 0:
            lines.append("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    return "\n".join(lines)


def _fmt(c: Any) -> str:
    if isinstance(c, float):
        return f"{c:.4g}" if abs(c) < 1e4 else f"{c:.0f}"
    return str(c)


def add_common_args(parser: argparse.ArgumentParser, repeats: int) -> None:
    parser.add_argument(
        "--repeats",
        type=int,
        default=repeats,
        help="timed rounds per process (default %(default)s)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="run in this many fresh processes and pool the repeats (default %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object only")


def run_fresh_processes(script: str, argv: Sequence[str], processes: int) -> list[dict[str, Any]]:
    """Run ``script`` ``processes`` times in fresh interpreters with ``--json``; their results."""
    out = []
    for i in range(processes):
        cmd = [sys.executable, script, *argv, "--processes", "1", "--json"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"process {i + 1} of {processes} failed")
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"  process {i + 1}/{processes} done", file=sys.stderr)
    return out


def drop_option(argv: Sequence[str], flag: str) -> list[str]:
    """``argv`` without ``flag`` and its value (``--flag V`` or ``--flag=V``)."""
    out: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a == flag:
            skip = True
        elif not a.startswith(flag + "="):
            out.append(a)
    return out


def busy_note(result: dict[str, Any]) -> str:
    """A line on how many timed runs started while other jobs kept the CPUs busy."""
    n = sum(len(v) for v in result["times"].values())
    busy = result.get("busy_starts", 0)
    return (
        f"{busy} of {n} timed runs started while other jobs kept the CPUs busy "
        f"(> {MAX_BUSY:.0%} for {MAX_WAIT:g} s)"
    )


def timing_rows(
    result: dict[str, Any], ref: str, scale: float = 1.0, speedup: bool = False
) -> list[list[Any]]:
    """Per timed row of ``result``: [name, median, min, max (times × ``scale``), median of the
    per-repeat ratios to row ``ref`` (row ÷ ref, or ref ÷ row for ``speedup``), epoch loss,
    final loss]."""
    times, base = result["times"], result["times"][ref]
    rows = []
    for name, ts in times.items():
        ratios = paired_ratios(base, ts) if speedup else paired_ratios(ts, base)
        rows.append(
            [
                name,
                scale * median(ts),
                scale * min(ts),
                scale * max(ts),
                median(ratios),
                f"{result['epoch_loss'][name]:.7f}",
                f"{result['final_loss'][name]:.7f}",
            ]
        )
    return rows


def pool(results: Sequence[dict[str, Any]], key: str = "times") -> dict[str, list[float]]:
    """Concatenate the per-repeat lists under ``key`` of several process results."""
    pooled: dict[str, list[float]] = {}
    for res in results:
        for name, values in res[key].items():
            pooled.setdefault(name, []).extend(values)
    return pooled


# --- what the MLP benchmarks share -------------------------------------------------------
Weights = list  # [(W (n_in, n_out), b (n_out,)), ...], float arrays


def mlp_result(
    benchmark: str,
    args: argparse.Namespace,
    timing: tuple[dict[str, list[float]], dict[str, Any], int],
    data: tuple[np.ndarray, np.ndarray],
    init: Weights,
    hidden: Callable,
    torch_version: str,
) -> dict[str, Any]:
    """The result record of an MLP benchmark: ``timing`` is what :func:`interleaved` returned
    (each row's last run giving (epoch loss, weights)); the final and starting losses are
    recomputed in float64 from the weights, so every row is judged by the same arithmetic."""
    times, last, busy = timing
    X, y = data
    return {
        "benchmark": benchmark,
        "config": vars(args),
        "times": times,
        "busy_starts": busy,
        "epoch_loss": {k: float(v[0]) for k, v in last.items()},
        "final_loss": {k: mlp_loss64(v[1], X, y, hidden) for k, v in last.items()},
        "start_loss": mlp_loss64(init, X, y, hidden),
        "machine": machine_info({"torch": torch_version}),
    }


def cross_entropy64(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean softmax cross-entropy of ``logits`` against labels ``y``, in float64."""
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def mlp_loss64(weights: Weights, X: np.ndarray, y: np.ndarray, hidden: Callable) -> float:
    """Mean cross-entropy, in float64, of the MLP with these (W, b) and hidden activation
    ``hidden`` (applied in place, e.g. ``np.tanh``), independent of either library."""
    h = X.astype(np.float64)
    for i, (W, b) in enumerate(weights):
        h = h @ W.astype(np.float64) + b.astype(np.float64)
        if i < len(weights) - 1:
            hidden(h, out=h)
    return cross_entropy64(h, y)


def relu64(h: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.maximum(h, 0, out=out)


def bprop_weights(net: Any) -> Weights:
    """(W, b) of every Dense layer of a bprop net, copied."""
    dense = [leaf for leaf in net.leaves() if "W" in leaf.params]
    return [(d.params["W"].copy(), d.params["b"].copy()) for d in dense]


def torch_weights(model: Any) -> Weights:
    """(W, b) of every Linear layer of a torch ``nn.Sequential``, in bprop's (n_in, n_out)."""
    lin = [m for m in model if hasattr(m, "weight")]
    return [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy()) for m in lin]


def emit(
    result: dict[str, Any],
    as_json: bool,
    report: Callable[[dict[str, Any]], None],
    pooled_over: int | None = None,
) -> dict[str, Any]:
    """Print ``result`` as one JSON line, or as the script's human report."""
    if as_json:
        print(json.dumps(result))
    else:
        if pooled_over:
            print(f"pooled over {pooled_over} fresh processes")
        report(result)
    return result
