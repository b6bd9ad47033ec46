"""``bprop compare --scheduler`` and ``bprop train --shards/--scheduler/--checkpoint-every``
(issue 17): the command line gives the same results on a cluster as in one process."""

from __future__ import annotations

import html
import json
import os

import pytest

from bprop.cli import main

pytest.importorskip("distributed")

TIMING = {"seconds", "seconds_to_target"}


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_compare_on_a_local_dask_cluster_equals_local(capsys, tmp_path):
    from bprop.compare import read_csv

    common = [
        "compare",
        "--data",
        "xor",
        "--methods",
        "sgd,irprop-",
        "--seeds",
        "2",
        "--epochs",
        "150",
        "--hidden",
        "4",
        "--json",
    ]
    local = run(capsys, *common, "--jobs", "1", "--out", str(tmp_path / "a"))
    dask = run(capsys, *common, "--scheduler", "local:2", "--out", str(tmp_path / "b"))
    assert _same_but_time(dask["summary"], local["summary"])  # the table but its seconds
    rows_a, rows_b = read_csv(local["csv"]), read_csv(dask["csv"])
    strip = [
        [{k: v for k, v in r.items() if k not in TIMING} for r in rows] for rows in (rows_a, rows_b)
    ]
    assert strip[0] == strip[1] and len(rows_a) == 4


def test_compare_algorithms_on_a_local_dask_cluster_equals_local(capsys, tmp_path):
    from bprop.compare import read_csv

    common = ["compare", "--algorithm", "bptt", "--algorithm", "tbptt:2", "--method",
              "sgd:lr=0.05", "--seeds", "2", "--epochs", "2", "--length", "48", "--batch-size",
              "4", "--hidden", "3", "--delay", "1", "--json"]  # fmt: skip
    local = run(capsys, *common, "--jobs", "1", "--out", str(tmp_path / "a"))
    dask = run(capsys, *common, "--scheduler", "local:2", "--out", str(tmp_path / "b"))
    skip = TIMING | {"peak_memory_mb"}
    strip = [
        [{k: v for k, v in r.items() if k not in skip} for r in read_csv(res["csv"])]
        for res in (local, dask)
    ]
    assert strip[0] == strip[1] and len(strip[0]) == 4
    report = html.unescape((tmp_path / "b" / "index.html").read_text())
    assert '"backend": "dask"' in report  # the configuration says where the runs went


def _same_but_time(a, b):
    def clean(rows):
        return [{k: v for k, v in r.items() if "seconds" not in k} for r in rows]

    return clean(a) == clean(b)


def test_compare_refuses_a_scheduler_for_another_backend(capsys, tmp_path):
    code = main(
        [
            "compare",
            "--data",
            "xor",
            "--backend",
            "threading",
            "--scheduler",
            "local:2",
            "--out",
            str(tmp_path),
        ]
    )
    assert code != 0
    assert "--scheduler is a Dask scheduler" in capsys.readouterr().err


def shards_folder(tmp_path):
    import numpy as np

    from bprop.distributed import write_shards

    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 4))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64)
    write_shards(X, y, str(tmp_path / "shards"), 3)
    return str(tmp_path / "shards" / "part-*.npz")


def test_train_on_shards_here_and_on_a_cluster_and_resume(capsys, tmp_path):
    import bprop as bp

    shards = shards_folder(tmp_path)
    common = ["train", "--shards", shards, "--hidden", "5", "--json", "--quiet"]
    here = run(capsys, *common, "--epochs", "12", "--out", str(tmp_path / "here.bprop"))
    assert here["shards"] == 3 and here["method"] == "irprop-" and here["schedule"] == "batch"
    part = run(
        capsys,
        *common,
        "--epochs",
        "7",
        "--scheduler",
        "local:2",
        "--out",
        str(tmp_path / "ck.bprop"),
        "--checkpoint-every",
        "3",
    )
    assert part["epochs"] == 7
    rest = run(
        capsys,
        "train",
        "--resume",
        str(tmp_path / "ck.bprop"),
        "--epochs",
        "5",
        "--json",
        "--quiet",
    )  # the driver restarted, here, out-of-core: the same sums
    assert rest["epochs"] == 5
    a, b = bp.load(str(tmp_path / "here.bprop")), bp.load(str(tmp_path / "ck.bprop"))
    assert (a.space.params == b.space.params).all()  # iRprop−: the very same steps


def test_train_shards_refusals(capsys, tmp_path):
    shards = shards_folder(tmp_path)
    for argv, message in [
        (["--shards", shards, "--data", "xor"], "--shards trains on the shards alone: drop --data"),
        (["--data", "xor", "--scheduler", "local:2"], "--scheduler trains on --shards"),
        (["--shards", shards, "--checkpoint-every", "2"], "--checkpoint-every saves the trainer"),
        (
            ["--shards", shards, "--method", "sgd", "--scheduler", "local:1"],
            "minibatch schedule does not run on a Dask cluster",
        ),
    ]:
        assert main(["train", *argv, "--epochs", "1", "--quiet"]) == 2
        assert message in capsys.readouterr().err


@pytest.mark.ray
def test_compare_on_ray_equals_local():
    if os.environ.get("BPROP_TEST_RAY") != "1":
        pytest.skip("opt in with BPROP_TEST_RAY=1")
    pytest.importorskip("ray")
    from bprop.compare import run_grid

    args = ("xor", ["sgd", "irprop-"], ["batch"])
    kw = dict(seeds=2, epochs=100, hidden=[4], progress=False)
    local, on_ray = run_grid(*args, n_jobs=1, **kw), run_grid(*args, backend="ray", **kw)
    assert [r["curves"]["train_loss"] for r in on_ray] == [r["curves"]["train_loss"] for r in local]


def test_threading_backend_equals_local():
    from bprop.compare import run_grid

    args = ("xor", ["sgd"], ["batch"])
    kw = dict(seeds=2, epochs=50, hidden=[4], progress=False)
    local, threads = run_grid(*args, n_jobs=1, **kw), run_grid(*args, backend="threading", **kw)
    assert [r["curves"]["train_loss"] for r in threads] == [
        r["curves"]["train_loss"] for r in local
    ]
    with pytest.raises(ValueError, match="unknown backend 'spark'"):
        run_grid(*args, backend="spark", **kw)
