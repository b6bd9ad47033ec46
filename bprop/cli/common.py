"""What every ``bprop`` sub-command shares: the one-line error, option types that name the
option, the data a command reads, the input scaler saved with a model, and saving that never
loses a trained model.

Every user error is a :class:`CLIError` (or a library ``ValueError`` such as ``DataError`` or
``ModelFileError``): :func:`bprop.cli.main` prints it as one line, ``bprop CMD: error: …``, and
exits with status 2.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import signal
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import bprop as bp
from bprop.data import Dataset, load_csv, load_dataset
from bprop.errors import TrainingInterrupted

#: exit status of a run stopped by SIGINT/SIGTERM (128 + SIGINT, as shells report it)
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


class Stopped(Exception):
    """Training was interrupted and its work saved: ``message`` is the one line to print, the
    exit status is 130."""


def verbosity(args: argparse.Namespace) -> int:
    """1 to show progress, 0 under ``--quiet`` or ``--json``."""
    return 0 if (args.quiet or args.json) else 1


def signal_name(exc: TrainingInterrupted) -> str:
    """``SIGINT``, ``SIGTERM``: the signal that interrupted training."""
    try:
        return signal.Signals(exc.signal).name
    except (TypeError, ValueError):
        return "a signal"


# --- option types (argparse turns their ArgumentTypeError into "argument --NAME: …") ------


def _number(kind: Callable[[str], Any], text: str) -> Any:
    try:
        value = kind(text)
    except ValueError as err:
        what = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from err
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer ≥ ``low``."""

    def parse(text: str) -> int:
        value = _number(int, text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    value = _number(float, text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """An argparse type: a finite number ≥ 0."""
    value = _number(float, text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be zero or positive, got {text}")
    return value


def finite_float(text: str) -> float:
    """An argparse type: any finite number."""
    return _number(float, text)


def fraction(text: str) -> float:
    """An argparse type: a fraction in [0, 1)."""
    value = _number(float, text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def hidden_sizes(text: str) -> list[int]:
    """An argparse type: comma-separated positive layer sizes, e.g. ``32,16``."""
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()] if text else []
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"--hidden takes comma-separated sizes like 32,16; got {text!r}"
        ) from err
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive, got {text!r}")
    return sizes


def name_list(text: str) -> list[str]:
    """An argparse type: comma-separated names."""
    items = [s.strip() for s in text.split(",") if s.strip()]
    if not items:
        raise argparse.ArgumentTypeError("give at least one name")
    return items


# --- data ----------------------------------------------------------------------------------


def is_csv(name: str | None) -> bool:
    """Whether a ``--data`` value names a CSV file (by its extension)."""
    return bool(name) and str(name).lower().endswith(".csv")


def load_data(args: argparse.Namespace, option: str = "--data") -> Dataset:
    """The data set named by ``--data``: a built-in name, or a CSV file with ``--target``."""
    name = args.data
    if is_csv(name):
        if args.target is None:
            raise CLIError(f"{option} {name} is a CSV file: name its target column with --target")
        return load_csv(name, args.target, delimiter=args.delimiter)
    return load_dataset(name)


# --- the input scaler ----------------------------------------------------------------------


def fit_scaler(X: np.ndarray, names: Sequence[str] | None = None) -> dict[str, list[float]]:
    """Per-column mean μ and deviation σ (σ = 1 for a constant column), computed without
    overflow for any finite values: with m = max|x| of the column, μ = m·mean(x/m) and
    σ = m·std(x/m), so no intermediate exceeds m² or m·N. Raises :class:`CLIError` for a
    column whose standardised values would still not be finite."""
    X = np.asarray(X, dtype=np.float64)
    m = np.abs(X).max(axis=0) if len(X) else np.ones(X.shape[1])
    m[(m == 0) | ~np.isfinite(m)] = 1.0
    Z = X / m
    mean, scale = Z.mean(axis=0) * m, Z.std(axis=0) * m
    scale[scale == 0] = 1.0
    scaler = {"mean": mean.tolist(), "scale": scale.tolist()}
    apply_scaler(X, scaler, names)
    return scaler


def apply_scaler(
    X: np.ndarray, scaler: dict[str, list[float]] | None, names: Sequence[str] | None = None
) -> np.ndarray:
    """(x − μ)/σ per column, computed as x/σ − μ/σ so that huge values do not overflow; a
    column whose result is not finite is refused with its name."""
    X = np.asarray(X, dtype=np.float64)
    if not scaler:
        return X
    mean, scale = np.asarray(scaler["mean"]), np.asarray(scaler["scale"])
    with np.errstate(over="ignore", invalid="ignore"):
        Z = X / scale - mean / scale
    bad = np.flatnonzero(~np.isfinite(Z).all(axis=0))
    if len(bad):
        j = int(bad[0])
        col = repr(names[j]) if names is not None else f"{j} (0-based)"
        raise CLIError(
            f"feature column {col} holds values too large to standardise (largest "
            f"{np.abs(X[:, j]).max():.3g}); rescale that column (e.g. divide it by a power of "
            "10) or drop it"
        )
    return Z


# --- the size of a network -----------------------------------------------------------------

#: bytes a parameter costs while training: the value, its gradient and up to three arrays of
#: update-rule state (Adam's moments, Rprop's steps and previous gradient), in float64
BYTES_PER_PARAMETER = 5 * 8


def check_size(n_params: int, what: str, option: str = "--hidden") -> None:
    """Refuse, before building anything, a network whose training would not fit in memory."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        memory = 2**34
    need = n_params * BYTES_PER_PARAMETER
    if need > memory:
        raise CLIError(
            f"{option}: {what} would have {n_params:.3g} weights, about {need / 2**30:.3g} GiB to "
            f"train, more than this machine's {memory / 2**30:.3g} GiB; use smaller layers"
        )


def dense_parameters(sizes: Sequence[int]) -> int:
    """Weights and biases of a stack of dense layers with these sizes."""
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


# --- where models are written --------------------------------------------------------------


def check_out(path: str, option: str = "--out", folder: bool = False) -> None:
    """Before any training: ``path`` can be written (its folder exists and takes files; it
    is not a directory or a device), so a long run never ends in a failed save. With
    ``folder=True`` ``path`` is a folder that may exist or will be created."""
    if not path:
        raise CLIError(f"{option} is empty; give a file name")
    if folder:
        if os.path.exists(path) and not os.path.isdir(path):
            raise CLIError(f"{option} {path} is a file; give a folder for the results")
        parent = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    else:
        try:
            bp.io.check_writable(path)
        except (OSError, ValueError) as err:
            raise CLIError(f"{option}: {err}") from err
        return
    if not os.path.isdir(parent):
        raise CLIError(f"{option} {path}: the folder {parent} does not exist; create it first")
    try:
        fd, probe = tempfile.mkstemp(prefix=".bprop-probe-", dir=parent)
    except OSError as err:
        raise CLIError(
            f"{option} {path}: cannot write in {parent} ({err.strerror or err}); choose a "
            "writable folder"
        ) from err
    os.close(fd)
    os.unlink(probe)


def rescue_path(suffix: str = ".bprop") -> str:
    """A new file name in the working directory for work that could not be saved."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, k = f"bprop-rescue-{stamp}{suffix}", 1
    while os.path.exists(path):
        k += 1
        path = f"bprop-rescue-{stamp}-{k}{suffix}"
    return path


def save_or_rescue(
    save: Callable[[str], None], path: str | None, suffix: str = ".bprop"
) -> tuple[str, str | None]:
    """Write with ``save(path)``; if that fails (or there is no ``path``), write to
    :func:`rescue_path` (with ``suffix``) instead. Returns (where it was written, why
    ``path`` failed or None). Raises :class:`CLIError` if even the rescue file cannot be written."""
    failure = None
    if path:
        try:
            save(path)
            return path, None
        except (OSError, ValueError) as err:  # ValueError: a path bp.save refuses
            failure = f"could not save to {path} ({getattr(err, 'strerror', None) or err})"
    rescue = rescue_path(suffix)
    try:
        save(rescue)
    except OSError as err:
        raise CLIError(
            f"{failure or 'no --out given'}, and not to {os.path.abspath(rescue)} either "
            f"({err.strerror or err}): the model is lost; free some space or fix the folder's "
            "permissions and train again"
        ) from err
    return rescue, failure


def saved_on_interrupt(
    exc: TrainingInterrupted,
    save: Callable[[str], None],
    path: str | None,
    epoch: str,
    what: str = "the model and its trainer",
) -> Stopped:
    """The :class:`Stopped` of a run interrupted by a signal in ``epoch`` (e.g. "3 of 10"),
    after saving with :func:`save_or_rescue`: it says where ``what`` went and how to resume."""
    where, failure = save_or_rescue(save, path)
    return Stopped(
        f"interrupted by {signal_name(exc)} in epoch {epoch}: "
        f"{failure + '; ' if failure else ''}saved {what} to {where}; resume with: "
        f"bprop train --resume {quote(where)}"
    )


def save_trained(args: Any, save: Callable[[str], None], result: dict[str, Any]) -> None:
    """At the end of a run with ``--out``: save with :func:`save_or_rescue`, record where in
    ``result["model"]``, and leave the reason in ``args.late_error`` if it went elsewhere."""
    if not args.out:
        return
    where, failure = save_or_rescue(save, args.out)
    result["model"] = where
    if failure:
        args.late_error = f"{failure}; saved the trained model to {where} instead"


def quote(path: str) -> str:
    """``path`` quoted for a shell command line (in the printed resume command)."""
    return shlex.quote(path)


def last_epoch(hist: Any) -> dict[str, Any]:
    """What ``bprop train`` reports of a training history: the epoch count, the last epoch's
    losses and accuracies (None where not measured) and why training stopped."""
    last = {
        k: getattr(hist, k)[-1] if getattr(hist, k) else None
        for k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
    }
    return {"epochs": hist.n_epochs, **last, "stopped_because": hist.stopped_because}
