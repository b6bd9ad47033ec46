"""bprop compare: method specs, the lr column, the learning-rate search, paired Wilcoxon tests,
Markdown/LaTeX tables, and the comparison of recurrent algorithms."""

import csv

import numpy as np
import pytest
from scipy.stats import wilcoxon

from bprop.cli import main
from bprop.compare import run_grid, summarize
from bprop.compare.methods import make, parse_method, rule_lr
from bprop.compare.search import best_specs, search_lr, with_lr
from bprop.compare.sequence import delay_stream, parse_algorithm, run_sequence_grid
from bprop.compare.stats import paired_tests
from bprop.compare.tables import to_latex, to_markdown


def test_method_specs_carry_their_hyper_parameters():
    assert parse_method("Adam:lr=2e-3, beta1=0.8") == ("adam", {"lr": 0.002, "beta1": 0.8})
    assert rule_lr(make("momentum:lr=0.3", {"lr": 0.01})) == 0.3  # the spec wins
    assert rule_lr(make("momentum", {"lr": 0.01})) == 0.01
    assert rule_lr(make("irprop-", {})) is None
    for bad in ("adamw", "adam:lr", "adam:speed=2", "adam:lr=fast"):
        with pytest.raises(ValueError):
            parse_method(bad)


def test_grid_rows_record_the_rate_actually_used():
    rows = run_grid("xor", ["sgd", "sgd:lr=0.5", "irprop-"], ["batch"], seeds=1, epochs=3,
                    hidden=[3], n_jobs=1, progress=False)  # fmt: skip
    assert [r["lr"] for r in rows] == [make("sgd", {}).lr, 0.5, None]
    assert [r["method"] for r in rows] == ["sgd", "sgd:lr=0.5", "irprop-"]


def test_paired_test_pairs_by_seed():
    base = np.array([1.0, 5.0, 2.0, 8.0, 3.0, 6.0])
    rows = [
        {"method": m, "schedule": "batch", "seed": s, "train_loss": v}
        for m, vals in (("a", base), ("b", base + 0.1))
        for s, v in enumerate(vals)
    ]
    (t,) = paired_tests(rows)
    assert (t["method"], t["versus"], t["n"]) == ("b", "a", 6)
    assert t["p_value"] == pytest.approx(2 / 2**6)  # every pair worse: the exact minimum
    assert t["median_difference"] == pytest.approx(0.1)
    # shuffled seeds break the pairing: the test sees the differences, not the two samples
    shuffled = [dict(r, seed=(r["seed"] + 1) % 6) if r["method"] == "b" else r for r in rows]
    (u,) = paired_tests(shuffled)
    d = base[np.arange(6) - 1] + 0.1 - base
    assert u["p_value"] == pytest.approx(wilcoxon(d).pvalue)
    assert u["p_value"] > 0.5


def test_markdown_and_latex_tables():
    rows = [
        {"method": m, "schedule": "batch", "seed": s, "train_loss": v, "success": v < 0.5,
         "epochs_to_target": 10 + s if v < 0.5 else None,
         "seconds_to_target": 0.1 if v < 0.5 else None}
        for m, vals in (("adam:lr=0.01", [0.1, 0.2, 0.3]), ("quick_prop%", [0.6, 0.7, 0.8]))
        for s, v in enumerate(vals)
    ]  # fmt: skip
    summary, tests = summarize(rows), paired_tests(rows)
    md = to_markdown(summary, tests).splitlines()
    assert len(md) == 4 and md[2].startswith("| adam:lr=0.01 | batch | 3/3 | 11 [10")
    assert md[2].endswith("| best |") and md[3].endswith(f"| {tests[0]['p_value']:.3g} |")
    tex = to_latex(summary, tests)
    assert r"quick\_prop\%" in tex and r"\toprule" in tex and tex.count(r"\\") == 3


def test_lr_search_picks_the_rate_that_trains():
    def grid(specs, seeds):
        return run_grid("xor", specs, ["batch"], seeds=seeds, epochs=300, target_loss=0.1,
                        hidden=[4], n_jobs=1, progress=False)  # fmt: skip

    best, rows = search_lr(["sgd", "irprop-"], [1e-4, 1.0], grid, seeds=2)
    assert best == {"sgd": "sgd:lr=1", "irprop-": "irprop-"}  # Rprop has no rate to search
    assert {r["seed"] for r in rows} == {10000, 10001}  # apart from the comparison's seeds
    assert with_lr("adam:lr=0.1", 0.5) == "adam:lr=0.5"
    assert best_specs(["adam:lr=0.1"], [0.5], []) == {"adam:lr=0.1": "adam:lr=0.1"}


def test_delay_task_and_algorithm_names():
    x, y = delay_stream(10, 3, 0)
    np.testing.assert_array_equal(y[3:], x[:-3])
    assert not y[:3].any()
    assert parse_algorithm("tbptt:4,8", 100) == ("tbptt(4,8)", 4, 8)
    assert parse_algorithm("tbptt:4", 100) == ("tbptt(4,4)", 4, 4)
    for bad in ("tbptt:8,4", "tbptt", "bptt:3", "rtrl2"):
        with pytest.raises(ValueError):
            parse_algorithm(bad, 100)


def test_sequence_grid_counts_updates_and_memory():
    kw = dict(seeds=1, epochs=2, target_loss=None, hidden=4, batch_size=4, delay=2)
    rows = {
        (r["schedule"], L): r
        for L in (160, 1280)
        for r in run_sequence_grid(["bptt", "tbptt:4", "rtrl"], ["sgd:lr=0.05"], length=L, **kw)
    }
    for L in (160, 1280):
        n = L // 4
        assert rows[("bptt", L)]["updates"] == 2
        assert rows[("tbptt(4,4)", L)]["updates"] == 2 * n // 4
        assert rows[("rtrl", L)]["updates"] == 2 * n
    # full BPTT stores the whole stream; truncated BPTT and RTRL do not grow with it
    grow = {a: rows[(a, 1280)]["peak_memory_mb"] / rows[(a, 160)]["peak_memory_mb"]
            for a in ("bptt", "tbptt(4,4)", "rtrl")}  # fmt: skip
    assert grow["bptt"] > 3 and grow["tbptt(4,4)"] < 1.5 and grow["rtrl"] < 1.5


def test_sequence_grid_skips_what_does_not_apply():
    rows = run_sequence_grid(["bptt", "tbptt:4", "rtrl"], ["irprop-"], seeds=1, epochs=1,
                             cell="lstm", hidden=3, length=64, batch_size=4)  # fmt: skip
    assert [r["schedule"] for r in rows] == ["bptt"]
    assert ("irprop-", "tbptt(4,4)") in rows.skipped
    assert ("irprop-", "rtrl") in rows.skipped
    flags = {(s["method"], s["schedule"]): s["flag"] for s in summarize(rows)}
    assert "Elman cell only" in flags[("irprop-", "rtrl")]
    assert "full-batch rule on tbptt(4,4)" in flags[("irprop-", "tbptt(4,4)")]


def test_cli_compare_recurrent_algorithms(tmp_path, capsys):
    out = tmp_path / "seq"
    args = ["compare", "--algorithm", "bptt", "--algorithm", "tbptt:4,8", "--method",
            "adam:lr=0.01", "--method", "momentum", "--seeds", "2", "--epochs", "2",
            "--length", "128", "--batch-size", "4", "--hidden", "4", "--delay", "3",
            "--jobs", "1", "--quiet", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "tbptt(4,8)" in text and "Wilcoxon" in text
    for name in ("results.csv", "results.md", "results.tex", "index.html"):
        assert (out / name).stat().st_size > 0
    assert "| adam:lr=0.01 | bptt |" in (out / "results.md").read_text()
    ff = tmp_path / "ff"
    args = ["compare", "--data", "xor", "--method", "sgd", "--method", "irprop-", "--seeds", "2",
            "--epochs", "30", "--hidden", "3", "--jobs", "1", "--quiet", "--lr-search", "0.1,1",
            "--search-seeds", "1", "--out", str(ff)]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    with open(ff / "lr_search.csv", newline="") as fh:
        searched = {r["method"] for r in csv.DictReader(fh)}
    assert searched == {"sgd:lr=0.1", "sgd:lr=1"}  # Rprop has no rate to search
    with open(ff / "results.csv", newline="") as fh:
        methods = {r["method"] for r in csv.DictReader(fh)}
    assert methods & searched and "irprop-" in methods
    assert main(["compare", "--data", "xor", "--method", "adam:eta=1", "--out", str(out)]) == 2
    assert "adam:eta=1" in capsys.readouterr().err
