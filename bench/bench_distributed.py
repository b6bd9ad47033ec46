"""Beyond one process: what Dask and MPI cost and save on this machine (issue 17, item 6).

Workloads (float32, random data with 10 classes, the same weights on every side):

(a) full-batch iRprop− on ``--rows`` rows (default 200,000) of a 784-256-10 tanh net, in ms per
    epoch: one process on the data in memory; the same shards out-of-core in one process (each
    epoch reads them again from disk: memory bounded by a shard); Dask ``local:2`` (two
    single-threaded worker processes, one shard each); MPI with 2 ranks (half the rows each);
(b) mini-batch SGD (momentum 0.9, global batch ``--batch``, default 128) on the 784-256-256-10
    ReLU net, in ms per update: one process, and MPI 2 ranks × batch/2. (Dask does not run
    mini-batches: one scheduler round trip per update; bprop refuses it.)
(c) the per-epoch overhead of the engines: a Dask epoch on two one-row shards of a 4-4-2 net
    (scheduling, transfer and gather, nothing to compute), and one in-place ``Allreduce`` of
    the 784-256-10 and of a 10-float gradient buffer between 2 MPI ranks.

Every row is the median over ``--repeats`` timed runs after one untimed warm-up. The two CPU
cores are shared by the processes of every row, so a row with two workers has no more
hardware than a row with one: the point is the overhead, and when it is paid back.

Run from the repository root (needs ``bprop[dask]`` and ``bprop[mpi]``)::

    python bench/bench_distributed.py                     # the issue's sizes
    python bench/bench_distributed.py --rows 2000 --epochs 2 --steps 5 --repeats 1   # a check
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import import_bprop  # noqa: E402

bp = import_bprop()


def data(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(rows, 784)).astype(np.float32), rng.integers(0, 10, rows)


def full_batch_net() -> Any:
    return bp.mlp([784, 256, 10], activation="tanh", seed=0)


def minibatch_net() -> Any:
    return bp.mlp([784, 256, 256, 10], activation="relu", seed=0)


def median_ms(run: Any, units: int, repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) / units * 1e3)
    return statistics.median(times)


def fit_batch(X: Any, y: Any, epochs: int, **kw: Any) -> None:
    bp.fit(
        full_batch_net(),
        X,
        y,
        loss="softmax_cross_entropy",
        optimizer=bp.optim.Rprop(),
        schedule="batch",
        epochs=epochs,
        verbose=0,
        divergence_factor=None,
        **kw,
    )


def fit_minibatch(X: Any, y: Any, batch: int, steps: int, **kw: Any) -> None:
    bp.fit(
        minibatch_net(),
        X[: batch * steps],
        y[: batch * steps],
        loss="softmax_cross_entropy",
        optimizer=bp.SGD(0.01, momentum=0.9),
        batch_size=batch,
        epochs=1,
        verbose=0,
        divergence_factor=None,
        **kw,
    )


# --- the MPI side (this script again, under mpiexec) ------------------------------------------


def mpi_part(args: argparse.Namespace) -> None:
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    out: dict[str, float] = {}
    if args.mpi_part == "a":
        X, y = data(args.rows)
        out["ms"] = median_ms(
            lambda: fit_batch(X, y, args.epochs, mpi=True), args.epochs, args.repeats
        )
    elif args.mpi_part == "b":
        X, y = data(args.batch * args.steps, seed=1)
        b = args.batch // comm.Get_size()
        out["ms"] = median_ms(
            lambda: fit_minibatch(X, y, b, args.steps, mpi=True), args.steps, args.repeats
        )
    else:
        for name, size in (
            ("allreduce_big", full_batch_net().space.params.size),
            ("allreduce_small", 10),
        ):
            buf = np.ones(size, np.float32)
            reps = 200

            def reduce(buf=buf, reps=reps):
                comm.Barrier()
                for _ in range(reps):
                    comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)

            out[name] = median_ms(reduce, reps, args.repeats)
    if comm.Get_rank() == 0:
        print("RESULT " + json.dumps(out), flush=True)


def run_mpi(args: argparse.Namespace, part: str) -> dict[str, float] | str:
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which(
        "mpiexec"
    )
    if mpiexec is None:
        return "no mpiexec (pip install mpi4py mpich)"
    cmd = [
        mpiexec,
        "-n",
        "2",
        sys.executable,
        "-m",
        "mpi4py",
        os.path.abspath(__file__),
        "--mpi-part",
        part,
        *map(
            str,
            (
                "--rows",
                args.rows,
                "--epochs",
                args.epochs,
                "--steps",
                args.steps,
                "--batch",
                args.batch,
                "--repeats",
                args.repeats,
            ),
        ),
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return f"failed: {done.stderr.strip()[-300:]}"


# --- the report ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows of workload (a)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per timed run of (a)")
    parser.add_argument("--steps", type=int, default=100, help="updates per timed run of (b)")
    parser.add_argument("--batch", type=int, default=128, help="global mini-batch of (b)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--mpi-part", choices=["a", "b", "c"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mpi_part:
        return mpi_part(args)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # for the Dask workers started here
    from threadpoolctl import threadpool_limits

    from bprop.distributed import Shards, write_shards

    rows: dict[str, Any] = {}
    folder = tempfile.mkdtemp(prefix="bprop-bench-")
    try:
        X, y = data(args.rows)
        write_shards(X, y, folder, 2)
        shards = os.path.join(folder, "part-*.npz")
        with threadpool_limits(limits=1, user_api="blas"):  # one core per process, as workers
            rows["a: one process, in memory"] = median_ms(
                lambda: fit_batch(X, y, args.epochs), args.epochs, args.repeats
            )
            rows["a: one process, 2 shards out-of-core"] = median_ms(
                lambda: fit_batch(shards, None, args.epochs), args.epochs, args.repeats
            )
            Xb, yb = data(args.batch * args.steps, seed=1)
            rows["b: one process"] = median_ms(
                lambda: fit_minibatch(Xb, yb, args.batch, args.steps), args.steps, args.repeats
            )
        from distributed import Client

        from bprop.distributed.executors import local_cluster

        with local_cluster(2) as cluster, Client(cluster) as client:
            rows["a: Dask local:2"] = median_ms(
                lambda: fit_batch(shards, None, args.epochs, cluster=client),
                args.epochs,
                args.repeats,
            )
            tiny = Shards.from_arrays(np.zeros((2, 4)), np.array([0, 1]), 2)
            reps = 20

            def empty_epochs() -> None:
                bp.fit(
                    bp.mlp([4, 4, 2], seed=0),
                    tiny,
                    None,
                    optimizer=bp.optim.Rprop(),
                    schedule="batch",
                    epochs=reps,
                    verbose=0,
                    cluster=client,
                    divergence_factor=None,
                )

            rows["c: Dask epoch overhead (two 1-row shards)"] = median_ms(
                empty_epochs, reps, args.repeats
            )
        for part, name in (("a", "a: MPI 2 ranks"), ("b", "b: MPI 2 ranks")):
            got = run_mpi(args, part)
            rows[name] = got["ms"] if isinstance(got, dict) else got
        got = run_mpi(args, "c")
        if isinstance(got, dict):
            rows["c: MPI Allreduce, 784-256-10 gradient"] = got["allreduce_big"]
            rows["c: MPI Allreduce, 10 floats"] = got["allreduce_small"]
        else:
            rows["c: MPI Allreduce"] = got
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps({"config": vars(args), "ms": rows}))
        return
    print(
        f"rows={args.rows} epochs={args.epochs} steps={args.steps} batch={args.batch} "
        f"repeats={args.repeats} (medians; ms per epoch for a, per update for b, per round "
        "trip for c)"
    )
    for name, value in rows.items():
        shown = f"{value:10.2f} ms" if isinstance(value, float) else f"  {value}"
        print(f"{name:45s}{shown}")


if __name__ == "__main__":
    main()
