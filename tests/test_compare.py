"""bprop compare: the grid runs, the CSV has the documented columns, the summary is right."""

import numpy as np
import pytest

from bprop.cli import main
from bprop.compare import CSV_COLUMNS, plan_grid, read_csv, run_grid, summarize, write_csv

METHODS = ["sgd", "momentum", "irprop-", "quickprop"]


def test_cli_compare_xor_csv_and_recomputed_medians(tmp_path, capsys):
    out = tmp_path / "report"
    code = main(
        [
            "compare", "--data", "xor", "--methods", ",".join(METHODS), "--schedules", "batch",
            "--seeds", "5", "--epochs", "400", "--target-loss", "0.05", "--hidden", "4",
            "--jobs", "2", "--quiet", "--out", str(out),
        ]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert (out / "index.html").is_file()
    rows = read_csv(out / "results.csv")
    assert len(rows) == 20
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert sorted({(r["method"], r["seed"]) for r in rows}) == sorted(
        (m, str(s)) for m in METHODS for s in range(5)
    )
    for m in METHODS:
        assert m in printed
    # the summary's medians, recomputed from the CSV alone
    summary = {(s["method"], s["schedule"]): s for s in summarize(rows)}
    for m in METHODS:
        mine = [r for r in rows if r["method"] == m]
        ok = [r for r in mine if r["success"] == "1"]
        s = summary[(m, "batch")]
        assert s["success_rate"] == len(ok) / 5
        if ok:
            e = np.array([float(r["epochs_to_target"]) for r in ok])
            sec = np.array([float(r["seconds_to_target"]) for r in ok])
            assert s["epochs_median"] == pytest.approx(np.median(e))
            assert s["epochs_q1"] == pytest.approx(np.percentile(e, 25))
            assert s["epochs_q3"] == pytest.approx(np.percentile(e, 75))
            assert s["seconds_median"] == pytest.approx(np.median(sec))
        assert s["train_loss"] == pytest.approx(np.median([float(r["train_loss"]) for r in mine]))
    # Rprop and Quickprop solve XOR in far fewer epochs than plain gradient descent
    assert (
        summary[("irprop-", "batch")]["epochs_median"] < summary[("sgd", "batch")]["epochs_median"]
    )


def test_summary_from_rows_equals_summary_from_csv(tmp_path):
    rows = run_grid("xor", ["sgd", "irprop+"], ["batch"], seeds=3, epochs=150, target_loss=0.05,
                    hidden=[4], n_jobs=1, progress=False, validation_split=0.0)  # fmt: skip
    path = write_csv(rows, tmp_path / "r.csv")
    a, b = summarize(rows), summarize(read_csv(path))
    for x, y in zip(a, b, strict=True):
        for key in ("success_rate", "epochs_median", "seconds_median", "train_loss"):
            assert x[key] == (pytest.approx(y[key]) if y[key] is not None else None)
    assert all(len(r["curves"]["train_loss"]) == r["epochs"] for r in rows)


def test_full_batch_mismatch_skipped_and_flagged():
    runs, skipped = plan_grid(["sgd", "rprop+", "quickprop"], ["online", "batch"])
    assert ("rprop+", "online") in skipped and ("quickprop", "online") in skipped
    assert ("sgd", "online", False) in runs and ("rprop+", "batch", False) in runs
    rows = run_grid("xor", ["sgd", "rprop+"], ["minibatch", "batch"], seeds=1, epochs=5,
                    hidden=[2], n_jobs=1, progress=False, batch_size=2)  # fmt: skip
    assert {(r["method"], r["schedule"]) for r in rows} == {
        ("sgd", "minibatch"), ("sgd", "batch"), ("rprop+", "batch")
    }  # fmt: skip
    flags = {(s["method"], s["schedule"]): s["flag"] for s in summarize(rows)}
    assert flags[("rprop+", "minibatch")].startswith("skipped")
    rows = run_grid("xor", ["rprop+"], ["minibatch"], seeds=1, epochs=5, hidden=[2], n_jobs=1,
                    progress=False, batch_size=2, allow_full_batch_mismatch=True)  # fmt: skip
    assert rows[0]["full_batch_mismatch"] is True
    assert summarize(rows)[0]["flag"] == "full-batch rule on minibatch updates"
