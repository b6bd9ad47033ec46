"""``bprop compare --scheduler`` and ``bprop train --shards/--scheduler/--checkpoint-every``
(issue 17): the command line gives the same results on a cluster as in one process."""

from __future__ import annotations

import json

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
