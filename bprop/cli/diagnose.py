"""``bprop diagnose``: gradients through time for recurrent nets from the shell — ‖∂L/∂h_t‖ per
time step and per layer for Elman, LSTM and GRU on the same task (the adding problem), before
training and after each of ``--epochs`` epochs; a table, ``norms.csv`` (one row per cell,
layer, measurement and step) and an HTML report with the plots (see
:mod:`bprop.tasks.vanishing` and :mod:`bprop.report.recurrent_plots`)."""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from typing import Any

from bprop.cli.common import CLIError, check_out, int_at_least, name_list, positive_float


def add_diagnose_parser(sub: Any) -> None:
    """Register ``bprop diagnose`` (per-step gradient norms of recurrent cells) on ``sub``."""
    p = sub.add_parser(
        "diagnose",
        help="gradients through time: ‖∂L/∂h_t‖ per step and layer, Elman vs LSTM vs GRU",
    )
    p.add_argument(
        "--cells", type=name_list, default=["elman", "lstm", "gru"], help="cells to compare"
    )
    p.add_argument("--length", type=int_at_least(2), default=50, help="sequence length T")
    p.add_argument("--hidden", type=int_at_least(1), default=16, help="hidden units per layer")
    p.add_argument("--layers", type=int_at_least(1), default=1, help="stacked recurrent layers")
    p.add_argument("--examples", type=int_at_least(1), default=256, help="adding-problem sequences")
    p.add_argument("--epochs", type=int_at_least(0), default=0, help="train this many epochs too")
    p.add_argument("--lr", type=positive_float, default=5e-3, help="Adam's rate when training")
    p.add_argument("--seed", type=int_at_least(0), default=0)
    p.add_argument("--out", help="folder for index.html and norms.csv")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_diagnose)


def format_rows(rows: list[dict[str, Any]]) -> str:
    """The diagnose rows as a text table: ‖∂L/∂h_1‖, ‖∂L/∂h_T‖ and their ratio per cell,
    layer and epoch."""
    head = f"{'cell':6s} {'layer':8s} {'epoch':>5s} {'‖∂L/∂h_1‖':>11s} {'‖∂L/∂h_T‖':>11s} "
    head += f"{'h_1 / h_T':>10s} {'loss':>8s}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['cell']:6s} {r['layer']:8s} {r['epoch']:5d} {r['norm_h1']:11.3e} "
            f"{r['norm_hT']:11.3e} {r['ratio_first_last']:10.2e} {r['loss']:8.4f}"
        )
    lines.append("epoch 0: before training; the loss is on the last step only (adding problem)")
    return "\n".join(lines)


def _norms_csv(history: dict[str, dict[str, list]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["cell", "layer", "measurement", "t", "norm"])
    for cell, layers in history.items():
        for layer, series in layers.items():
            for k, s in enumerate(series):
                for t, v in enumerate(s, 1):
                    w.writerow([cell, layer, k, t, repr(float(v))])
    return buf.getvalue().encode("utf-8")


def cmd_diagnose(args: argparse.Namespace) -> dict[str, Any]:
    """``bprop diagnose``."""
    from bprop.tasks.vanishing import CELLS, compare_cells

    bad = [c for c in args.cells if c not in CELLS]
    if bad:
        raise CLIError(f"--cells: unknown cell(s) {bad}; choose from {list(CELLS)}")
    if args.out:
        check_out(args.out, folder=True)
    res = compare_cells(
        args.cells, args.length, args.hidden, args.layers, args.examples, args.epochs, args.lr,
        seed=args.seed,
    )  # fmt: skip
    result: dict[str, Any] = {"rows": res["rows"], "table": format_rows(res["rows"])}
    if args.out:
        from bprop.modelfile.atomic import write_atomically
        from bprop.report.recurrent_plots import cells_report

        os.makedirs(args.out, exist_ok=True)
        data = _norms_csv(res["history"])
        result["csv"] = write_atomically(
            os.path.join(args.out, "norms.csv"), lambda fh: fh.write(data)
        )
        command = "bprop " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["diagnose"] else None
        result["report"] = cells_report(args.out, res["norms"], res["rows"], command)
    return result
