"""Grids of runs on any joblib backend: ``loky`` (local processes, the default),
``threading``, ``dask`` (a Dask cluster: a scheduler address, or ``local:N``) or ``ray``.

The runs of a grid are independent, so where they run changes nothing in their results; only
the wall-clock columns differ. The engines are joblib's own backends (DESIGN.md §3: never a
home-made pool); Dask's comes with ``distributed``, Ray's with ``ray``. :func:`run_jobs` is
the one executor of every comparison grid (:func:`bprop.compare.run_grid`,
:func:`bprop.compare.sequence.run_sequence_grid`).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

BACKENDS = ("loky", "threading", "dask", "ray")


def check_backend(backend: str, scheduler: str | None) -> None:
    """Raise ValueError for an unknown joblib ``backend`` or a scheduler given to a
    backend other than ``dask``."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {list(BACKENDS)}")
    if scheduler is not None and backend != "dask":
        raise ValueError(
            f"a scheduler address is for backend='dask', not {backend!r}: give "
            "backend='dask' (or drop the scheduler)"
        )


@contextlib.contextmanager
def joblib_backend(backend: str = "loky", scheduler: Any = None) -> Iterator[str]:
    """Make ``backend`` joblib's backend inside the block (connecting to the Dask
    ``scheduler`` — a ``distributed.Client``, an address or ``local:N`` — or starting Ray);
    yields the backend's name. What was started here is stopped on the way out."""
    from joblib import parallel_config

    check_backend(backend, scheduler)
    closer = None
    try:
        if backend == "dask":
            from bprop.distributed.executors import connect

            client, closer = connect(scheduler if scheduler is not None else "local:2")
            with parallel_config(backend="dask", wait_for_workers_timeout=60):
                yield backend
        elif backend == "ray":
            try:
                from ray.util.joblib import register_ray
            except ImportError as err:
                raise ImportError('the ray backend needs Ray: pip install "bprop[ray]"') from err
            register_ray()
            with parallel_config(backend="ray"):
                yield backend
        else:
            with parallel_config(backend=backend):
                yield backend
    finally:
        if closer is not None:
            closer.close()


def run_jobs(
    run: Callable[[dict[str, Any]], dict[str, Any]],
    jobs: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    n_jobs: int = -1,
    backend: str = "loky",
    scheduler: Any = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Run ``run(job)`` for every job — in this process (``n_jobs=1`` on the default backend)
    or on joblib's ``backend`` — adding each finished row to ``rows`` (in the order they end)
    and calling ``on_row(row)``. The one executor of every comparison grid.

    A pending Ctrl-C (:mod:`bprop.interrupt`) stops the grid once the runs in progress end (in
    this process: after the current update); the runs not started are cancelled and
    :class:`bprop.errors.TrainingInterrupted` propagates, ``rows`` holding what finished.
    Jobs run in loky's worker processes get ``worker=True`` (they then ignore SIGINT, so a
    Ctrl-C sent to the whole process group stops only the grid)."""
    from joblib import Parallel, delayed

    from bprop import interrupt

    check_backend(backend, scheduler)
    if n_jobs == 1 and backend == "loky":
        for job in jobs:
            rows.append(run(job))
            if on_row is not None:
                on_row(rows[-1])
            interrupt.check()
        return
    with joblib_backend(backend, scheduler):
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        results = parallel(delayed(run)(dict(job, worker=backend == "loky")) for job in jobs)
        try:
            for row in results:
                rows.append(row)
                if on_row is not None:
                    on_row(row)
                interrupt.check()
        finally:
            # on an interrupt: cancel the runs not finished and stop the workers
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "… tasks … have been cancelled"
                results.close()
