"""The report's sections bprop ships: a comparison grid (:func:`add_grid`: learning curves
against epochs and seconds, the summary table), its paired tests (:func:`add_tests`), gradient
diagnostics (:func:`add_diagnostics`) and the whole report of a comparison
(:func:`compare_report`). Each is a function of a
:class:`~bprop.report.html.Report`: a new section is one more such function.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from bprop.report import plots
from bprop.report.html import Report

SUMMARY_COLUMNS = {
    "method": "method",
    "schedule": "schedule",
    "success": "reached target",
    "epochs_median": "epochs to target (median)",
    "epochs_q1": "25th pct",
    "epochs_q3": "75th pct",
    "seconds_median": "seconds to target (median)",
    "seconds_q1": "25th pct",
    "seconds_q3": "75th pct",
    "train_loss": "final train loss",
    "val_loss": "final val loss",
    "train_accuracy": "final train acc",
    "val_accuracy": "final val acc",
    "flag": "note",
}


def add_grid(
    report: Report,
    rows: Sequence[dict[str, Any]],
    title: str,
    intro: str = "",
    target_loss: float | None = None,
) -> list[dict[str, Any]]:
    """Add a comparison grid to ``report``: curves against epochs and seconds, and the summary
    table (medians and IQRs over successful runs). Returns the summary."""
    from bprop.compare import summarize

    summary = summarize(rows)
    report.heading(title)
    if intro:
        report.paragraph(intro)
    if target_loss is None:
        target_loss = getattr(rows, "config", {}).get("target_loss")
    report.figure(
        plots.learning_curves(rows, "epochs", target_loss=target_loss),
        "Training loss against epochs: the line is the median over seeds, the band the "
        "interquartile range. Runs stop at the target loss and are held at their last value.",
    )
    report.figure(
        plots.learning_curves(rows, "seconds", target_loss=target_loss),
        "The same runs against training wall-clock seconds (each run interpolated onto a "
        "common time grid).",
    )
    if any(
        r.get("curves", {}).get("val_loss") and r["curves"]["val_loss"][0] is not None for r in rows
    ):
        report.figure(
            plots.learning_curves(rows, "epochs", metric="val_loss"),
            "Validation loss against epochs (median and IQR over seeds).",
        )
    report.heading("Summary: " + title, level=3)
    report.table(
        [
            {
                **s,
                "success": f"{s['successes']}/{s['runs']}" if s["runs"] else None,
                "flag": "; ".join(
                    filter(None, [s["flag"], f"{s['diverged']} diverged" if s["diverged"] else ""])
                ),
            }
            for s in summary
        ],
        SUMMARY_COLUMNS,
        text_columns=("method", "schedule", "success", "flag"),
        flag_key="flag",
    )
    report.paragraph(
        "Reached target: runs whose training loss reached the target, of all runs (seeds). "
        "Epochs and seconds to target: median and 25th/75th percentiles over the runs that "
        "reached it; final losses and accuracies: medians over all runs.",
        cls="note",
    )
    return summary


TEST_COLUMNS = {
    "method": "method",
    "schedule": "schedule",
    "versus": "versus (best)",
    "n": "paired seeds",
    "median_difference": "median difference",
    "statistic": "W",
    "p_value": "p-value",
}


def add_tests(report: Report, tests: Sequence[dict[str, Any]], metric: str = "train_loss") -> None:
    """Add the paired Wilcoxon signed-rank tests of :func:`bprop.compare.stats.paired_tests`
    (each group's final ``metric`` against the best group's, paired by seed) as a table."""
    report.heading(f"Paired tests of the final {metric}", level=3)
    report.table(tests, TEST_COLUMNS, text_columns=("method", "schedule", "versus"))
    report.paragraph(
        "Wilcoxon signed-rank test (two-sided, exact for small samples) of each group's final "
        f"{metric} against the best group's (lowest median), paired by seed: runs of one seed "
        "start from the same weights and data order. Median difference: group − best. With n "
        "paired seeds the smallest p-value possible is 2/2ⁿ (0.0625 for 5 seeds), so a large "
        "p on few seeds says the sample is small, not that the methods are equal. A p-value "
        "is empty when fewer than 2 seeds pair up or every difference is zero.",
        cls="note",
    )


def add_diagnostics(report: Report, diag: Any, title: str = "Gradient diagnostics") -> None:
    """Add a :class:`bprop.diagnostics.GradientDiagnostics`'s figures and table."""
    report.heading(title, level=3)
    if diag.grad_norms:
        report.figure(
            plots.gradient_norm_figure(diag),
            "Per-layer gradient norm ‖∂L/∂θ‖ measured on a fixed sample after each epoch.",
        )
    series = [*diag.saturation.values(), *diag.dead_relu.values()]
    if any(max(v) - min(v) > 0 or max(v) > 0 for v in series if len(v)):
        report.figure(
            plots.saturation_figure(diag),
            "Fraction of saturated sigmoid/tanh units and of dead ReLUs per layer, by epoch.",
        )
    elif series:
        report.paragraph(
            "No sigmoid/tanh unit saturated (output within "
            f"{diag.saturation_threshold:g} of an asymptote) and no ReLU died at any measured "
            "epoch, so there is no saturation plot.",
            cls="note",
        )
    if diag.time_norms:
        report.figure(
            plots.time_norm_figure({n: v[-1] for n, v in diag.time_norms.items()}),
            "‖∂L/∂h_t‖ against t at the last measured epoch.",
        )
    report.table(diag.summary_rows(), text_columns=("layer",))
    if diag.messages:
        report.paragraph("Warnings raised: " + " | ".join(diag.messages), cls="note")


def compare_report(
    out_dir: str | os.PathLike,
    rows: Sequence[dict[str, Any]],
    command: str | None = None,
    diagnostics: Sequence[tuple[str, Any]] = (),
    title: str | None = None,
) -> str:
    """Write ``out_dir/index.html`` for a :func:`bprop.compare.run_grid` result (the curves,
    the summary and the paired tests of the final training loss); returns the path.
    ``diagnostics``: (title, GradientDiagnostics) pairs to add."""
    from bprop.compare.stats import paired_tests

    config = dict(getattr(rows, "config", {}))
    name = config.get("data", "")
    rep = Report(title or f"bprop compare: {name}", f"{len(rows)} runs")
    add_grid(rep, rows, f"Learning curves on {name}")
    tests = paired_tests(rows, "train_loss")
    if tests:
        add_tests(rep, tests, "train_loss")
    for t, d in diagnostics:
        add_diagnostics(rep, d, t)
    rep.reproduce(config, command)
    return rep.write(out_dir)
