"""Synchronous data-parallel mini-batches over MPI (issue 17, item 4): 2 ranks × batch b equal
one process with batch 2b on the same examples, and a rank that raises ends the job promptly.
Each test runs ``mpiexec -n 2`` in a subprocess with a timeout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import bprop as bp

pytest.importorskip("mpi4py")
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
if MPIEXEC is None:
    pytest.skip("no mpiexec (pip install mpich)", allow_module_level=True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = """
import sys
import numpy as np
import bprop as bp
from mpi4py import MPI

rng = np.random.default_rng(0)
X = rng.normal(size=(100, 4)); y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64)
net = bp.mlp([4, 6, 2], seed=1).astype(np.float64)
method, batch, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if method == "fail" and MPI.COMM_WORLD.Get_rank() == 1:
    net = bp.mlp([5, 6, 2], seed=1)  # rank 1 raises: X has 4 features
rule = bp.SGD(0.1, momentum=0.9) if method in ("sgd", "fail") else bp.Adam(0.01)
hist = bp.fit(net, X, y, optimizer=rule, batch_size=batch, epochs=6, seed=3, mpi=True,
              validation_data=(X[:20], y[:20]), verbose=0)
if MPI.COMM_WORLD.Get_rank() == 0:
    np.save(out, np.concatenate([net.space.params, hist.train_loss, hist.val_loss]))
"""


def mpirun(tmp_path, *args, timeout=120):
    script = tmp_path / "train_mpi.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    cmd = [MPIEXEC, "-n", "2", sys.executable, "-m", "mpi4py", str(script), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("method", ["sgd", "adam"])
def test_two_ranks_of_batch_b_equal_one_process_of_batch_2b(tmp_path, method):
    out = tmp_path / "mpi.npy"
    done = mpirun(tmp_path, method, 8, out)
    assert done.returncode == 0, done.stderr[-3000:]
    got = np.load(out)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64)
    net = bp.mlp([4, 6, 2], seed=1).astype(np.float64)
    rule = bp.SGD(0.1, momentum=0.9) if method == "sgd" else bp.Adam(0.01)
    hist = bp.fit(
        net,
        X,
        y,
        optimizer=rule,
        batch_size=16,
        epochs=6,
        seed=3,
        validation_data=(X[:20], y[:20]),
        verbose=0,
    )
    want = np.concatenate([net.space.params, hist.train_loss, hist.val_loss])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_a_rank_that_raises_ends_the_job_promptly(tmp_path):
    done = mpirun(tmp_path, "fail", 8, tmp_path / "never.npy", timeout=60)
    assert done.returncode != 0
    assert "features but the network expects" in done.stderr
    assert not (tmp_path / "never.npy").exists()


def test_bprop_train_mpi_from_the_command_line(tmp_path):
    from bprop.cli import main

    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    common = [
        "train",
        "--data",
        "iris",
        "--hidden",
        "6",
        "--method",
        "momentum",
        "--lr",
        "0.05",
        "--epochs",
        "4",
        "--seed",
        "2",
        "--json",
        "--quiet",
    ]
    cmd = [
        MPIEXEC,
        "-n",
        "2",
        sys.executable,
        "-m",
        "mpi4py",
        "-m",
        "bprop",
        *common,
        "--batch-size",
        "8",
        "--mpi",
        "--out",
        str(tmp_path / "mpi.bprop"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count('"train_loss"') == 1  # rank 0 alone reports
    assert main([*common, "--batch-size", "16", "--out", str(tmp_path / "one.bprop")]) == 0
    a, b = bp.load(str(tmp_path / "mpi.bprop")), bp.load(str(tmp_path / "one.bprop"))
    np.testing.assert_allclose(a.space.params, b.space.params, rtol=2e-5, atol=2e-6)  # float32


def test_a_rank_that_raises_mid_training_ends_the_job_promptly(tmp_path):
    script = tmp_path / "fail_mid.py"
    script.write_text(
        textwrap.dedent("""
        import numpy as np
        import bprop as bp
        from mpi4py import MPI

        X = np.random.default_rng(0).normal(size=(64, 4)); y = np.arange(64) % 2
        net = bp.mlp([4, 6, 2], seed=1)
        if MPI.COMM_WORLD.Get_rank() == 1:  # rank 1 fails in its 5th forward pass
            dense, calls = net.layers[0], []
            forward = dense.forward
            def failing(x, train=False):
                calls.append(1)
                if len(calls) == 5:
                    raise RuntimeError("rank 1 failed")
                return forward(x, train)
            dense.forward = failing
        bp.fit(net, X, y, batch_size=8, epochs=50, mpi=True, verbose=0)
    """)
    )
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    cmd = [MPIEXEC, "-n", "2", sys.executable, str(script)]  # no -m mpi4py: bprop aborts
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode != 0
    assert "rank 1 failed" in done.stderr
