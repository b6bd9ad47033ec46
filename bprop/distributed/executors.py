"""Where the shard tasks run: in this process, one shard in memory at a time
(:class:`LocalExecutor`, out-of-core training on one machine), or on a Dask cluster
(:class:`DaskExecutor`). Both run the same task functions (:mod:`bprop.distributed.worker`)
and return the shards' results in shard order.

On Dask, loading a shard is a task whose result stays on the worker that loaded it and is
reused every epoch; each epoch the weights go to the cluster once, as a task of their own, and
one gradient task per shard runs where its shard lives. Every piece of data on a worker is the
result of a task, so when a worker dies (and its nanny restarts it) the scheduler recomputes
what was lost — the shard is read again from its file — and reruns the gradient task.
"""

from __future__ import annotations

import contextlib
from typing import Any

from bprop.distributed.worker import ModelSpec, load_shard, shard_gradient, shard_loss

#: what the Dask extra installs
DASK_EXTRA = 'pip install "bprop[dask]" (dask[array] and distributed)'
#: where a local cluster's scheduler serves HTTP: this machine only, on a free port. Not
#: ``None``: distributed's scheduler still binds its HTTP server then, on the fixed port 8787,
#: and fails ("Port 8787 is already in use") when another cluster or run holds it.
LOCAL_HTTP_ADDRESS = "127.0.0.1:0"


def import_distributed() -> Any:
    """The ``distributed`` package, or an ImportError saying which extra to install."""
    try:
        import distributed
    except ImportError as err:
        raise ImportError(
            f"training on a Dask cluster needs Dask distributed: {DASK_EXTRA}"
        ) from err
    return distributed


def local_cluster(n_workers: int) -> Any:
    """A Dask ``LocalCluster`` of ``n_workers`` single-threaded worker processes that binds no
    fixed port (its scheduler's HTTP server on :data:`LOCAL_HTTP_ADDRESS`, no dashboard), so
    any number of them run side by side. Every local cluster bprop, its tests and benchmarks
    start is made here."""
    return import_distributed().LocalCluster(
        n_workers=int(n_workers),
        threads_per_worker=1,
        processes=True,
        dashboard_address=LOCAL_HTTP_ADDRESS,
        scheduler_kwargs={"dashboard": False},
    )


def connect(cluster: Any) -> tuple[Any, Any]:
    """(client, what to close afterwards) for a ``distributed.Client``, a scheduler address
    (``"tcp://host:8786"``) or ``"local:N"`` (:func:`local_cluster` of N workers, started
    here and closed with the returned closer)."""
    distributed = import_distributed()
    if isinstance(cluster, distributed.Client):
        return cluster, None
    if not isinstance(cluster, str) or not cluster:
        raise TypeError(
            "cluster must be a distributed.Client, a scheduler address such as "
            f"'tcp://host:8786', or 'local:N'; got {cluster!r}"
        )
    if cluster.startswith("local:"):
        n = cluster.split(":", 1)[1]
        if not n.isdigit() or int(n) < 1:
            raise ValueError(f"{cluster!r}: give local:N with N ≥ 1 worker processes")
        local = local_cluster(int(n))
        client = distributed.Client(local)
        return client, _Closer(client, local)
    try:
        client = distributed.Client(cluster, timeout="20s")
    except OSError as err:
        raise OSError(
            f"could not reach a Dask scheduler at {cluster!r} ({err}); start one with "
            "`dask scheduler` (or dask-jobqueue / dask-kubernetes) and give its address"
        ) from err
    return client, _Closer(client, None)


class _Closer:
    def __init__(self, client: Any, cluster: Any) -> None:
        self.client, self.cluster = client, cluster

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


class LocalExecutor:
    """The shard tasks in this process, loading each shard when its turn comes and dropping
    it after (memory bounded by the largest shard); ``keep=True`` keeps the loaded shards."""

    def __init__(self, shards: Any, spec: ModelSpec, keep: bool = False) -> None:
        self.shards, self.spec, self.keep = shards, spec, keep
        self.cache: dict[int, Any] = {}

    def data(self, i: int) -> Any:
        """Shard ``i`` loaded as model-ready arrays (from the cache when ``keep``)."""
        got = self.cache.get(i)
        if got is None:
            got = load_shard(self.shards[i], self.spec)
            if self.keep:
                self.cache[i] = got
        return got

    def gradients(self, params: Any, epoch: int, seed: int) -> list[Any]:
        """Every shard's (loss sum, gradient sum, rows, correct, decisions) at ``params``, in
        shard order; ``epoch`` and ``seed`` seed the dropout masks per shard."""
        return [
            shard_gradient(self.spec, params, self.data(i), i, epoch, seed)
            for i in range(len(self.shards))
        ]

    def first_loss(self, params: Any) -> tuple[float, int]:
        """(loss sum, rows) of the first shard at ``params``: the divergence test's scale."""
        return shard_loss(self.spec, params, self.data(0))

    def close(self) -> None:
        """Drop the cached shards."""
        self.cache.clear()


class DaskExecutor:
    """The shard tasks on a Dask cluster (``client``, ``closer``: from :func:`connect`)."""

    def __init__(self, shards: Any, spec: ModelSpec, client: Any, closer: Any = None) -> None:
        self.client, self.closer = client, closer
        self.spec = self.client.submit(_same, spec, pure=False)
        self.loaded = [self.client.submit(load_shard, s, self.spec, pure=False) for s in shards]

    def gradients(self, params: Any, epoch: int, seed: int) -> list[Any]:
        """Every shard's (loss sum, gradient sum, rows, correct, decisions) at ``params``,
        computed on the worker holding the shard and gathered in shard order."""
        weights = self.client.submit(_same, params, pure=False)
        tasks = [
            self.client.submit(shard_gradient, self.spec, weights, d, i, epoch, seed, pure=False)
            for i, d in enumerate(self.loaded)
        ]
        return self.client.gather(tasks)  # in shard order

    def first_loss(self, params: Any) -> tuple[float, int]:
        """(loss sum, rows) of the first shard at ``params``, computed on the cluster."""
        weights = self.client.submit(_same, params.copy(), pure=False)
        task = self.client.submit(shard_loss, self.spec, weights, self.loaded[0], pure=False)
        return task.result()

    def close(self) -> None:
        """Release the shards held on the workers and stop the cluster if it was started here."""
        for f in (*self.loaded, self.spec):
            with contextlib.suppress(Exception):
                f.release()
        self.loaded = []
        if self.closer is not None:
            self.closer.close()
            self.closer = None


def _same(x: Any) -> Any:
    return x
