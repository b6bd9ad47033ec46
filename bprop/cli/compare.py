"""``bprop compare``: every method × schedule × seed; the report, the CSV and a summary table.

On Ctrl-C (SIGINT) or SIGTERM the grid stops once the runs in progress end; the runs finished
so far are written (``results.csv`` and, if there is at least one, the report) and the command
exits with 130.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from bprop import interrupt
from bprop.cli.common import CLIError, Stopped, check_out, is_csv, quote
from bprop.data import load_csv
from bprop.errors import TrainingInterrupted
from bprop.optim.methods import METHODS


def cmd_compare(args: argparse.Namespace) -> dict[str, Any]:
    """``bprop compare``."""
    from bprop.compare import SCHEDULES, format_summary, run_grid, summarize

    unknown = [m for m in args.methods if m.lower() not in METHODS]
    if unknown:
        raise CLIError(f"--methods: unknown method(s) {unknown}; choose from {sorted(METHODS)}")
    bad = [s for s in args.schedules if s not in SCHEDULES]
    if bad:
        raise CLIError(f"--schedules: unknown schedule(s) {bad}; choose from {list(SCHEDULES)}")
    check_out(args.out, folder=True)
    backend = args.backend or ("dask" if args.scheduler else "loky")
    if args.scheduler and backend != "dask":
        raise CLIError(f"--scheduler is a Dask scheduler: drop --backend {backend} or it")
    data: Any = args.data
    if is_csv(args.data):
        if args.target is None:
            raise CLIError(
                f"--data {args.data} is a CSV file: name its target column with --target"
            )
        data = load_csv(args.data, args.target, delimiter=args.delimiter)
    with interrupt.deferred_interrupts(), _quiet_resource_tracker():  # until results are written
        try:
            rows = run_grid(
                data,
                [m.lower() for m in args.methods],
                args.schedules,
                seeds=args.seeds,
                epochs=args.epochs,
                target_loss=args.target_loss,
                hidden=args.hidden if args.hidden is not None else [8],
                lr=args.lr,
                activation=args.activation,
                batch_size=args.batch_size,
                validation_split=args.validation_split,
                allow_full_batch_mismatch=args.allow_mismatch,
                n_jobs=args.jobs,
                progress=not (args.quiet or args.json),
                backend=backend,
                scheduler=args.scheduler,
            )
        except TrainingInterrupted as exc:
            rows = exc.rows
            csv_path, report = _write(args, rows)
            written = f"{csv_path} and {report}" if report else csv_path
            raise Stopped(
                f"interrupted: wrote the {len(rows)} finished runs to {written}; run the same "
                f"command again to redo the whole grid (the finished runs are in {quote(csv_path)})"
            ) from exc
        csv_path, report = _write(args, rows)
    summary = summarize(rows)
    return {
        "runs": len(rows),
        "skipped": [f"{m}/{s}" for m, s in rows.skipped],
        "summary": summary,
        "table": format_summary(summary),
        "csv": csv_path,
        "report": report,
    }


@contextlib.contextmanager
def _quiet_resource_tracker() -> Iterator[None]:
    """An interrupted grid stops its worker processes at once; loky's resource tracker (a
    process of its own, started with the grid) would then warn on stderr about the semaphores
    it frees. Its warnings filter comes from the environment it starts with."""
    previous = os.environ.get("PYTHONWARNINGS")
    rule = "ignore:resource_tracker:UserWarning"
    os.environ["PYTHONWARNINGS"] = f"{previous},{rule}" if previous else rule
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("PYTHONWARNINGS", None)
        else:
            os.environ["PYTHONWARNINGS"] = previous


def _write(args: argparse.Namespace, rows: Any) -> tuple[str, str | None]:
    """results.csv and (when there are runs) index.html in ``--out``."""
    from bprop.compare import write_csv
    from bprop.report import compare_report

    os.makedirs(args.out, exist_ok=True)
    csv_path = write_csv(rows, os.path.join(args.out, "results.csv"))
    command = "bprop " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["compare"] else None
    if command is None:
        command = _compare_command(args)
    report = compare_report(args.out, rows, command=command) if len(rows) else None
    return csv_path, report


def _compare_command(args: argparse.Namespace) -> str:
    parts = [
        "bprop compare",
        f"--data {args.data}",
        f"--methods {','.join(args.methods)}",
        f"--schedules {','.join(args.schedules)}",
        f"--seeds {args.seeds}",
        f"--epochs {args.epochs}",
        f"--target-loss {args.target_loss}",
        f"--hidden {','.join(map(str, args.hidden or [8]))}",
        f"--activation {args.activation}",
        f"--batch-size {args.batch_size}",
        f"--validation-split {args.validation_split}",
        f"--out {args.out}",
    ]
    if args.lr is not None:
        parts.append(f"--lr {args.lr}")
    if args.allow_mismatch:
        parts.append("--allow-mismatch")
    if args.backend:
        parts.append(f"--backend {args.backend}")
    if args.scheduler:
        parts.append(f"--scheduler {args.scheduler}")
    return " ".join(parts)
