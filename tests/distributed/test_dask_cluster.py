"""Full-batch training and grids on a Dask cluster (issue 17, items 1-3): the same results as
one process, and a worker killed mid-epoch survived with the same final weights."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
cloudpickle = pytest.importorskip("cloudpickle")

import bprop as bp  # noqa: E402
from bprop.distributed import write_shards  # noqa: E402
from bprop.distributed.executors import local_cluster  # noqa: E402
from bprop.optim.methods import make_rule  # noqa: E402

# this module's classes travel to the workers by value (the workers cannot import it)
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def client():
    with local_cluster(2) as cluster, distributed.Client(cluster) as c:
        yield c


def data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64)


def net(dtype=np.float64, extra=()):
    return bp.Sequential(bp.Dense(4, 6, rng=1), bp.Tanh(), *extra, bp.Dense(6, 2, rng=2)).astype(
        dtype
    )


def fit(model, X, y, method, epochs, **kw):
    return bp.fit(
        model,
        X,
        y,
        loss="softmax_cross_entropy",
        optimizer=make_rule(method),
        schedule="batch",
        epochs=epochs,
        verbose=0,
        **kw,
    )


@pytest.mark.parametrize("method", ["irprop-", "rprop+", "sgd", "quickprop", "bold-driver"])
def test_cluster_equals_one_process_float64(client, tmp_path, method):
    X, y = data()
    epochs = 10 if method == "quickprop" else 20
    one, cluster = net(), net()
    h1 = fit(one, X, y, method, epochs)
    shards = write_shards(X, y, str(tmp_path), 3)  # the workers read these files
    h2 = fit(cluster, str(tmp_path / "part-*.npz"), None, method, epochs, cluster=client)
    assert len(shards) == 3
    if "rprop" in method:
        np.testing.assert_array_equal(cluster.space.params, one.space.params)
    else:
        np.testing.assert_allclose(cluster.space.params, one.space.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h2.train_loss, h1.train_loss, rtol=1e-9)


def test_cluster_irprop_minus_float32_50_epochs_and_dask_arrays(client):
    X, y = data(120)
    one, cluster = net(np.float32), net(np.float32)
    fit(one, X, y, "irprop-", 50)
    Xd, yd = da.from_array(X, chunks=(40, 4)), da.from_array(y, chunks=40)
    h = fit(cluster, Xd, yd, "irprop-", 50, cluster=client, validation_data=(X[:30], y[:30]))
    np.testing.assert_allclose(cluster.space.params, one.space.params, rtol=1e-5, atol=1e-6)
    assert len(h.val_loss) == 50
    in_memory = net(np.float32)  # in-memory arrays: one shard per worker
    fit(in_memory, X, y, "irprop-", 50, cluster=client)
    np.testing.assert_allclose(in_memory.space.params, one.space.params, rtol=1e-5, atol=1e-6)


class KillOnce(bp.Layer):
    """The identity, except that its first forward pass in training mode in a process other
    than the test's calls ``os._exit``: the worker running that gradient task dies."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker, self.driver = marker, os.getpid()

    def forward(self, x, train=False):
        if train and os.getpid() != self.driver and not os.path.exists(self.marker):
            with open(self.marker, "w") as f:
                f.write(str(os.getpid()))
            os._exit(1)
        return x, None

    def backward(self, dy, cache, need_dx=True):
        return dy


def test_worker_killed_mid_epoch_gives_the_same_weights(client, tmp_path):
    X, y = data()
    write_shards(X, y, str(tmp_path / "d"), 4)
    marker = str(tmp_path / "killed")
    reference = net(extra=[KillOnce(marker)])
    fit(reference, X, y, "irprop-", 10)  # in this process: no kill
    assert not os.path.exists(marker)
    pids = set(client.run(os.getpid).values())
    faulty = net(extra=[KillOnce(marker)])
    fit(faulty, str(tmp_path / "d"), None, "irprop-", 10, cluster=client)
    assert os.path.exists(marker)  # a gradient task did kill its worker …
    with open(marker) as f:
        assert int(f.read()) in pids
    client.wait_for_workers(2, timeout=60)  # … which its nanny restarted
    np.testing.assert_array_equal(faulty.space.params, reference.space.params)


def test_minibatch_is_refused_on_a_cluster(client):
    X, y = data()
    with pytest.raises(ValueError, match="minibatch schedule does not run on a Dask cluster"):
        bp.fit(net(), X, y, batch_size=8, epochs=1, cluster=client, verbose=0)


def test_grid_search_cv_under_the_dask_joblib_backend(client):
    from joblib import parallel_config
    from sklearn.model_selection import GridSearchCV

    from bprop.sklearn import BackpropClassifier

    X, y = data(80)
    grid = {"hidden_layer_sizes": [(4,), (8,)]}
    est = BackpropClassifier(epochs=5, random_state=0)
    with parallel_config(backend="dask"):
        on_dask = GridSearchCV(est, grid, cv=2, n_jobs=2).fit(X, y)
    local = GridSearchCV(est, grid, cv=2, n_jobs=1).fit(X, y)
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )


def test_compare_on_dask_equals_local(client):
    from bprop.compare import run_grid

    args = ("xor", ["sgd", "irprop-"], ["batch"])
    kw = dict(seeds=2, epochs=200, hidden=[4], progress=False)
    local = run_grid(*args, n_jobs=1, **kw)
    on_dask = run_grid(*args, backend="dask", scheduler=client, **kw)
    timing = {"seconds", "seconds_to_target", "curves"}

    def strip(rows):
        return [{k: v for k, v in r.items() if k not in timing} for r in rows]

    assert strip(on_dask) == strip(local)
    assert [r["curves"]["train_loss"] for r in on_dask] == [
        r["curves"]["train_loss"] for r in local
    ]


def test_a_local_cluster_starts_while_another_holds_the_dashboard_port():
    import socket

    from bprop.distributed.executors import connect

    holder = socket.socket()
    try:
        holder.bind(("", 8787))  # distributed's default HTTP port, as a concurrent run would
        holder.listen()
    except OSError:
        pass  # something else holds it already: the same situation
    try:
        client, closer = connect("local:1")  # a warning here fails the test (-W error)
        try:
            assert client.submit(abs, -3).result() == 3
            assert client.scheduler_info()["services"].get("dashboard") != 8787
        finally:
            closer.close()
    finally:
        holder.close()


def test_every_local_cluster_is_made_by_local_cluster():
    import ast
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    found = []
    for folder in ("bprop", "tests", "bench", "examples"):
        for path in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call):
                    f = node.func
                    name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                    # a LocalCluster, or a Client() that starts one with distributed's defaults
                    if name == "LocalCluster" or (name == "Client" and not node.args):
                        found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == ["bprop/distributed/executors.py:" + str(_local_cluster_line(root))]


def _local_cluster_line(root):
    text = (root / "bprop/distributed/executors.py").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(text, 1) if "LocalCluster(" in line)
