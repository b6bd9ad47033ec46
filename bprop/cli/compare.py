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
from bprop.cli.common import CLIError, Stopped, check_out, int_at_least, is_csv, quote
from bprop.data import load_csv
from bprop.errors import TrainingInterrupted


def _rates(text: str) -> list[float]:
    try:
        rates = [float(v) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"comma-separated learning rates, got {text!r}") from err
    if not rates or any(not (r > 0 and r < float("inf")) for r in rates):
        raise argparse.ArgumentTypeError(f"learning rates must be positive, got {text!r}")
    return rates


def add_compare_options(p: argparse.ArgumentParser) -> None:
    """The options for per-method hyper-parameters, the learning-rate search and the
    comparison of recurrent algorithms."""
    p.add_argument(
        "--method",
        action="append",
        dest="method_specs",
        metavar="SPEC",
        help="an update rule with its own hyper-parameters, e.g. adam:lr=2e-3 or "
        "momentum:lr=0.1,momentum=0.95; repeat for several (instead of --methods)",
    )
    p.add_argument(
        "--lr-search",
        type=_rates,
        metavar="RATES",
        help="try these learning rates (e.g. 1e-3,1e-2,0.1) per method first, on separate "
        "seeds, and compare each method at its best (every rate's runs: lr_search.csv)",
    )
    p.add_argument(
        "--search-seeds", type=int_at_least(1), default=2, help="seeds per rate in --lr-search"
    )
    p.add_argument(
        "--algorithm",
        action="append",
        dest="algorithms",
        metavar="ALG",
        help="compare recurrent gradient algorithms on a sequence task instead: bptt, rtrl, "
        "tbptt:K1 or tbptt:K1,K2; repeat for several (with --method(s), --lr, --lr-search, "
        "--seeds, --epochs, --target-loss on the held-out loss, --hidden N, --batch-size "
        "sub-streams, --cell, --length, --delay, --jobs, --backend, --scheduler)",
    )
    p.add_argument(
        "--cell", choices=["elman", "lstm", "gru"], help="recurrent cell (default elman)"
    )
    p.add_argument("--length", type=int_at_least(2), help="stream length (default 2000)")
    p.add_argument("--delay", type=int_at_least(0), help="delay task's lag d (default 8)")


#: options of one kind of comparison only: destination → (default, flag)
FEEDFORWARD_ONLY = {
    "schedules": (["batch"], "--schedules"),
    "activation": ("tanh", "--activation"),
    "validation_split": (0.0, "--validation-split"),
    "target": (None, "--target"),
    "delimiter": (",", "--delimiter"),
}
SEQUENCE_ONLY = {
    "cell": ("elman", "--cell"),
    "length": (2000, "--length"),
    "delay": (8, "--delay"),
}


def _check_applies(args: argparse.Namespace) -> None:
    """Refuse, in one line, the options that the chosen kind of comparison would ignore
    (options left out get their defaults here)."""
    wrong = FEEDFORWARD_ONLY if args.algorithms else SEQUENCE_ONLY
    given = [flag for dest, (_, flag) in wrong.items() if getattr(args, dest) is not None]
    if given and args.algorithms:
        raise CLIError(
            f"{', '.join(given)}: not used when comparing recurrent algorithms (--algorithm); "
            "drop it (the sequence comparison has --cell, --length, --delay, --batch-size)"
        )
    if given:
        raise CLIError(
            f"{', '.join(given)}: only for comparing recurrent algorithms; add --algorithm "
            "(e.g. --algorithm bptt --algorithm rtrl) or drop it"
        )
    for dest, (default, _) in (FEEDFORWARD_ONLY | SEQUENCE_ONLY).items():
        if getattr(args, dest) is None:
            setattr(args, dest, default)


def _methods(args: argparse.Namespace) -> list[str]:
    from bprop.compare.methods import parse_method

    methods = args.method_specs or args.methods
    for m in methods:
        try:
            parse_method(m)
        except ValueError as err:
            raise CLIError(f"--method{'s' if not args.method_specs else ''}: {err}") from err
    return list(methods)


def cmd_compare(args: argparse.Namespace) -> dict[str, Any]:
    """``bprop compare``."""
    from bprop.compare import SCHEDULES, run_grid

    _check_applies(args)
    methods = _methods(args)
    check_out(args.out, folder=True)
    backend = args.backend or ("dask" if args.scheduler else "loky")
    if args.scheduler and backend != "dask":
        raise CLIError(f"--scheduler is a Dask scheduler: drop --backend {backend} or it")
    if args.algorithms:
        return _compare_sequences(args, methods, backend)
    if args.data is None:
        raise CLIError("--data is required (a dataset or CSV file; or --algorithm for sequences)")
    bad = [s for s in args.schedules if s not in SCHEDULES]
    if bad:
        raise CLIError(f"--schedules: unknown schedule(s) {bad}; choose from {list(SCHEDULES)}")
    data: Any = args.data
    if is_csv(args.data):
        if args.target is None:
            raise CLIError(
                f"--data {args.data} is a CSV file: name its target column with --target"
            )
        data = load_csv(args.data, args.target, delimiter=args.delimiter)

    def grid(specs: list[str], seeds: Any) -> Any:
        return run_grid(
            data,
            specs,
            args.schedules,
            seeds=seeds,
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

    with interrupt.deferred_interrupts(), _quiet_resource_tracker():  # until results are written
        try:
            methods, searched = _search(args, methods, grid)
            rows = grid(methods, args.seeds)
        except TrainingInterrupted as exc:
            rows = exc.rows
            csv_path, report = _write(args, rows)
            written = f"{csv_path} and {report}" if report else csv_path
            raise Stopped(
                f"interrupted: wrote the {len(rows)} finished runs to {written}; run the same "
                f"command again to redo the whole grid (the finished runs are in {quote(csv_path)})"
            ) from exc
        csv_path, report = _write(args, rows)
    return _result(args, rows, searched, csv_path, report, "train_loss")


def _result(
    args: argparse.Namespace, rows: Any, searched: dict, csv_path: str, report: Any, metric: str
) -> dict[str, Any]:
    """The summary with the paired tests (on the final ``metric``), its tables written to
    results.md and results.tex, and what the command prints or returns as JSON."""
    from bprop.compare import format_summary, summarize
    from bprop.compare.stats import format_tests, paired_tests

    summary, tests = summarize(rows), paired_tests(rows, metric)
    table = format_summary(summary)
    if tests:
        table += "\n\n" + format_tests(tests, metric)
    return {
        "runs": len(rows),
        "skipped": [f"{m}/{s}" for m, s in rows.skipped],
        "summary": summary,
        "tests": tests,
        "lr_search": searched,
        "table": table,
        "csv": csv_path,
        "tables": _write_tables(args.out, summary, tests, metric),
        "report": report,
    }


def _search(args: argparse.Namespace, methods: list[str], grid: Any) -> tuple[list[str], dict]:
    """The methods at their best learning rates (``--lr-search``), and what was chosen."""
    if not args.lr_search:
        return methods, {}
    from bprop.compare import write_csv
    from bprop.compare.search import search_lr

    best, rows = search_lr(methods, args.lr_search, grid, seeds=args.search_seeds)
    if rows:  # every rate's runs, so the choice can be checked
        os.makedirs(args.out, exist_ok=True)
        write_csv(rows, os.path.join(args.out, "lr_search.csv"))
    return [best[m] for m in methods], {m: best[m] for m in methods if best[m] != m}


def _write_tables(out: str, summary: Any, tests: Any, metric: str = "train_loss") -> list[str]:
    """results.md and results.tex (the summary with the paired tests), written atomically."""
    from bprop.compare.tables import to_latex, to_markdown
    from bprop.modelfile.atomic import write_atomically

    paths = []
    for name, text in (
        ("results.md", to_markdown(summary, tests, metric)),
        ("results.tex", to_latex(summary, tests, metric=metric)),
    ):
        data = (text + "\n").encode("utf-8")
        paths.append(write_atomically(os.path.join(out, name), lambda fh, d=data: fh.write(d)))
    return paths


def _compare_sequences(
    args: argparse.Namespace, methods: list[str], backend: str
) -> dict[str, Any]:
    """``bprop compare --algorithm …``: recurrent gradient algorithms on a sequence task."""
    from bprop.compare import write_csv
    from bprop.compare.sequence import TASKS, run_sequence_grid
    from bprop.compare.stats import paired_tests
    from bprop.report.recurrent_plots import sequence_report

    task = args.data or "delay"
    if task not in TASKS:
        raise CLIError(f"--data {task}: with --algorithm, the sequence task is one of {TASKS}")
    hidden = args.hidden[0] if args.hidden else 16
    if args.hidden and len(args.hidden) > 1:
        raise CLIError(
            "--hidden: the sequence comparison trains one recurrent layer; give one size"
        )

    def grid(specs: list[str], seeds: Any) -> Any:
        return run_sequence_grid(
            args.algorithms,
            specs,
            seeds=seeds,
            epochs=args.epochs,
            target_loss=args.target_loss,
            task=task,
            cell=args.cell,
            hidden=hidden,
            length=args.length,
            batch_size=args.batch_size,
            delay=args.delay,
            lr=args.lr,
            allow_full_batch_mismatch=args.allow_mismatch,
            n_jobs=args.jobs,
            progress=not (args.quiet or args.json),
            backend=backend,
            scheduler=args.scheduler,
        )

    def write(rows: Any) -> tuple[str, str | None, list[dict[str, Any]]]:
        os.makedirs(args.out, exist_ok=True)
        csv_path = write_csv(rows, os.path.join(args.out, "results.csv"))
        command = "bprop " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["compare"] else None
        tests = paired_tests(rows, "val_loss")
        report = sequence_report(args.out, rows, tests, command) if len(rows) else None
        return csv_path, report, tests

    with interrupt.deferred_interrupts(), _quiet_resource_tracker():  # until results are written
        try:
            methods, searched = _search(args, methods, grid)
            rows = grid(methods, args.seeds)
        except TrainingInterrupted as exc:
            rows = getattr(exc, "rows", None) or []
            csv_path, report, _ = write(rows)
            written = f"{csv_path} and {report}" if report else csv_path
            raise Stopped(
                f"interrupted: wrote the {len(rows)} finished runs to {written}; run the same "
                "command again to redo the whole comparison"
            ) from exc
        csv_path, report, _ = write(rows)
    return _result(args, rows, searched, csv_path, report, "val_loss")


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
