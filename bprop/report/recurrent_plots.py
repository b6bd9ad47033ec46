"""Figures for the recurrent types: the sequence comparison (held-out loss against updates and
against wall time, peak memory per algorithm) and the vanishing-gradient story across cells
(‖∂L/∂h_t‖ against t for Elman, LSTM and GRU on the same task), plus the report pages that
hold them (built with :class:`bprop.report.Report`'s public methods only).

Series are told apart by colour *and* line style (and markers), so up to 10 × 4 series stay
distinct in print and for colour-blind readers; legends use a readable 9-point font.

Example::

    >>> from bprop.report.recurrent_plots import cell_norm_figure
    >>> fig = cell_norm_figure({"elman": {"Recurrent 1": [1e-6, 1e-3, 1.0]},
    ...                         "lstm": {"Recurrent 1": [0.1, 0.5, 1.0]}})
    >>> len(fig.axes)
    2
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from bprop.report.plots import _COLORS, new_figure

_LINES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "D", "v", "P")


def _style(i: int) -> dict[str, Any]:
    return {
        "color": _COLORS[i % len(_COLORS)],
        "linestyle": _LINES[(i // len(_COLORS)) % len(_LINES)],
        "marker": _MARKERS[i % len(_MARKERS)],
        "markersize": 4,
        "markevery": 0.2,
    }


def _groups(rows: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(f"{r['schedule']} · {r['method']}", []).append(r)
    return out


def _median_curve(runs: list[dict[str, Any]], x: str) -> tuple[np.ndarray, np.ndarray]:
    """The median held-out loss over seeds on the x values of the longest run (a run that
    stopped early is held at its last value)."""
    curves = [r["curves"] for r in runs if r["curves"]["val_loss"]]
    if not curves:
        return np.array([]), np.array([])
    longest = max(curves, key=lambda c: len(c[x]))
    xs = np.asarray(longest[x], float)
    ys = []
    for c in curves:
        cx, cy = np.asarray(c[x], float), np.asarray(c["val_loss"], float)
        ys.append(np.interp(xs, cx, cy, right=cy[-1]) if len(cx) > 1 else np.full(xs.size, cy[0]))
    return xs, np.median(np.vstack(ys), axis=0)


def sequence_curves(rows: Sequence[dict[str, Any]], x: str = "updates", target=None) -> Any:
    """Median held-out loss against ``x`` (``"updates"`` or ``"seconds"``), one line per
    algorithm × rule, log-log axes."""
    fig = new_figure(8.0, 4.6)
    ax = fig.add_subplot()
    for i, (label, runs) in enumerate(_groups(rows).items()):
        xs, ys = _median_curve(runs, x)
        if xs.size:
            ax.plot(xs, ys, label=label, **_style(i))
    if target is not None:
        ax.axhline(target, color="#555", linewidth=0.8, linestyle=":", label="target")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("weight updates" if x == "updates" else "training wall time (s)")
    ax.set_ylabel("held-out loss (MSE per step)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=9, loc="best")
    return fig


def memory_figure(rows: Sequence[dict[str, Any]]) -> Any:
    """Median peak memory of training per algorithm × rule (horizontal bars, log scale)."""
    groups = _groups(rows)
    labels = list(groups)
    values = [float(np.median([r["peak_memory_mb"] for r in groups[k]])) for k in labels]
    fig = new_figure(8.0, 0.9 + 0.45 * len(labels))
    ax = fig.add_subplot()
    ax.barh(
        range(len(labels)), values, color=[_COLORS[i % len(_COLORS)] for i in range(len(labels))]
    )
    ax.set_yticks(range(len(labels)), labels, fontsize=9)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("peak memory while training (MB, tracemalloc)")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    return fig


def cell_norm_figure(norms: dict[str, dict[str, Sequence[float]]], title: str = "") -> Any:
    """Small multiples, one panel per cell: ‖∂L/∂h_t‖ against t for each recurrent layer, on a
    shared log scale, so the cells' decay through time is compared at a glance."""
    cells = list(norms)
    fig = new_figure(3.4 * max(len(cells), 1) + 0.6, 3.6)
    axes = fig.subplots(1, len(cells), sharey=True, squeeze=False)[0]
    for ax, cell in zip(axes, cells, strict=True):
        for i, (layer, series) in enumerate(norms[cell].items()):
            s = np.asarray(series, float)
            ax.semilogy(np.arange(1, s.size + 1), s, label=layer, **_style(i))
        ax.set_title(cell, fontsize=11)
        ax.set_xlabel("time step t")
        ax.grid(True, which="both", alpha=0.3)
        if len(norms[cell]) > 1:
            ax.legend(fontsize=9)
    axes[0].set_ylabel("‖∂L/∂h_t‖")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def cost_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per algorithm × rule: the medians over seeds of the updates made, the training seconds
    and the peak memory."""
    out = []
    for runs in _groups(rows).values():
        out.append(
            {
                "algorithm": runs[0]["schedule"],
                "method": runs[0]["method"],
                "updates": float(np.median([r["updates"] for r in runs])),
                "seconds": float(np.median([r["seconds"] for r in runs])),
                "peak memory (MB)": float(np.median([r["peak_memory_mb"] for r in runs])),
            }
        )
    return out


def sequence_report(
    out_dir: str | os.PathLike,
    rows: Sequence[dict[str, Any]],
    tests: Sequence[dict[str, Any]] = (),
    command: str | None = None,
) -> str:
    """Write ``out_dir/index.html`` for :func:`bprop.compare.sequence.run_sequence_grid`."""
    from bprop.compare import summarize
    from bprop.compare.tables import to_markdown
    from bprop.report import Report

    config = dict(getattr(rows, "config", {}))
    rep = Report(
        f"bprop compare: recurrent algorithms on {config.get('data', '')}", f"{len(rows)} runs"
    )
    rep.heading("Held-out loss against updates and wall time")
    target = config.get("target_loss")
    rep.figure(
        sequence_curves(rows, "updates", target),
        "Median over seeds of the held-out loss after each pass over the stream, against the "
        "weight updates made so far: full BPTT makes one update per pass, truncated BPTT one "
        "per k1 steps, RTRL one per step.",
    )
    rep.figure(
        sequence_curves(rows, "seconds", target),
        "The same runs against training wall time (evaluation excluded).",
    )
    rep.heading("Memory")
    rep.figure(
        memory_figure(rows),
        "Peak memory allocated while training: full BPTT stores every step of the stream, "
        "truncated BPTT only k2 steps, RTRL its sensitivity tensor (independent of length).",
    )
    rep.table(cost_rows(rows), text_columns=("algorithm", "method"))
    summary = summarize(rows)
    rep.heading("Summary")
    rep.pre(to_markdown(summary, tests, "val_loss"))
    rep.reproduce(config, command)
    return rep.write(out_dir)


def cells_report(
    out_dir: str | os.PathLike,
    norms: dict[str, dict[str, Sequence[float]]],
    rows: Sequence[dict[str, Any]],
    command: str | None = None,
) -> str:
    """Write ``out_dir/index.html`` for :func:`bprop.diagnostics_cells.compare_cells`."""
    from bprop.report import Report

    rep = Report("bprop diagnose: gradients through time, Elman vs LSTM vs GRU", "")
    rep.heading("‖∂L/∂h_t‖ through time")
    rep.figure(
        cell_norm_figure(norms),
        "The norm of the gradient reaching each time step's state, with the loss on the last "
        "step only, on the same task and the same sequences (after training, if trained).",
    )
    rep.heading("Per cell")
    rep.table(list(rows), text_columns=("cell", "layer"))
    rep.reproduce(None, command)
    return rep.write(out_dir)
