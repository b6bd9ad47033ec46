"""Ctrl-C for real: SIGINT sent to a running ``bprop`` process saves the work, prints one line
saying where and how to resume, and exits 130 without a traceback (issue 12, item 2)."""

import csv
import os
import signal
import subprocess
import sys
import time

import pytest

import bprop as bp
from bprop.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/self/status"), reason="waits on /proc/PID/status (Linux)"
)


def _catches_sigterm(pid: int) -> bool:
    """True once the process handles SIGTERM: Python leaves it at the default, so the handler
    is the one `bprop.interrupt.deferred_interrupts` installs when training starts."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            caught = next(line for line in fh if line.startswith("SigCgt:"))
    except (FileNotFoundError, StopIteration):
        return False
    return bool(int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1)


def interrupt_run(argv, cwd, after=0.5, timeout=120, sig=signal.SIGINT):
    """Start ``python -m bprop.cli ARGV``, send ``sig`` ``after`` seconds into training, and
    return (exit status, stdout, stderr)."""
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bprop.cli", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while not _catches_sigterm(proc.pid):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "training never started"
            time.sleep(0.05)
        time.sleep(after)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, err


def _assert_one_line(out, err, mention):
    assert "Traceback" not in out + err
    lines = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip()]
    assert len([ln for ln in lines if mention in ln]) == 1, err
    assert mention in lines[-1]
    return lines[-1]


def test_ctrl_c_saves_the_trainer_and_the_resume_command_works(tmp_path, capsys, monkeypatch):
    code, out, err = interrupt_run(
        ["train", "--data", "digits", "--hidden", "8", "--epochs", "100000", "--json",
         "--out", "m.bprop"],
        tmp_path,
    )  # fmt: skip
    assert code == 130
    assert out == ""
    line = _assert_one_line(out, err, "m.bprop")
    assert "interrupted by SIGINT" in line
    assert line.endswith("resume with: bprop train --resume m.bprop")
    trainer = bp.load_trainer(tmp_path / "m.bprop")
    assert trainer.net.n_in == 64
    # the printed command continues the run (here for 1 more epoch)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--resume", "m.bprop", "--epochs", "1", "--quiet", "--json"]) == 0
    assert bp.load_trainer(tmp_path / "m.bprop").epoch == trainer.epoch + 1
    capsys.readouterr()


def test_sigterm_without_out_writes_a_rescue_file(tmp_path):
    code, out, err = interrupt_run(
        ["train", "--data", "digits", "--hidden", "8", "--epochs", "100000"],
        tmp_path,
        sig=signal.SIGTERM,
    )
    assert code == 130
    line = _assert_one_line(out, err, "bprop-rescue-")
    assert "interrupted by SIGTERM" in line
    (rescue,) = tmp_path.glob("bprop-rescue-*.bprop")
    assert rescue.name in line
    assert bp.load_trainer(rescue).net.n_in == 64


def test_ctrl_c_saves_a_language_model_that_samples(tmp_path):
    (tmp_path / "t.txt").write_text("to be or not to be, that is the question. " * 200)
    code, out, err = interrupt_run(
        ["train", "--task", "charlm", "--data", "t.txt", "--hidden", "8", "--k1", "10",
         "--batch-size", "4", "--epochs", "100000", "--out", "lm.bprop"],
        tmp_path,
    )  # fmt: skip
    assert code == 130
    line = _assert_one_line(out, err, "lm.bprop")
    assert "bprop sample lm.bprop" in line
    from bprop.tasks import load_lm, sample

    text = sample(load_lm(tmp_path / "lm.bprop"), length=5, prime="to")
    assert len(text) == 7


@pytest.mark.parametrize("jobs", ["1", "2"])  # in this process; in worker processes
def test_ctrl_c_in_compare_writes_the_finished_runs(tmp_path, jobs):
    code, out, err = interrupt_run(
        ["compare", "--data", "digits", "--methods", "sgd", "--schedules", "online",
         "--seeds", "50", "--epochs", "30", "--target-loss", "0", "--jobs", jobs, "--quiet",
         "--out", "rep"],
        tmp_path,
        after=2.0,
    )  # fmt: skip
    assert code == 130
    line = _assert_one_line(out, err, "results.csv")
    with open(tmp_path / "rep" / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert f"wrote the {len(rows)} finished runs" in line
    assert len(rows) < 50


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_in_a_sequence_comparison_writes_the_finished_runs(tmp_path, jobs):
    code, out, err = interrupt_run(
        ["compare", "--algorithm", "tbptt:2", "--algorithm", "rtrl", "--method", "sgd:lr=0.01",
         "--seeds", "40", "--epochs", "20", "--target-loss", "0", "--length", "400",
         "--batch-size", "4", "--hidden", "4", "--jobs", jobs, "--quiet", "--out", "seq"],
        tmp_path,
        after=2.0,
    )  # fmt: skip
    assert code == 130
    line = _assert_one_line(out, err, "results.csv")
    with open(tmp_path / "seq" / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert f"wrote the {len(rows)} finished runs" in line
    assert len(rows) < 80
