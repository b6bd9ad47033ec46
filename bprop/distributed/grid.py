"""Grids of runs on any joblib backend: ``loky`` (local processes, the default),
``threading``, ``dask`` (a Dask cluster: a scheduler address, or ``local:N``) or ``ray``.

The runs of a grid are independent, so where they run changes nothing in their results; only
the wall-clock columns differ. The engines are joblib's own backends (DESIGN.md §3: never a
home-made pool); Dask's comes with ``distributed``, Ray's with ``ray``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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
