"""Load a numeric table from a CSV file with a header row.

One column is the target, chosen by name or index; every other column is a feature and
must be numeric. With ``task=None`` the task is inferred from the target column:

- non-numeric strings, or at most 20 distinct values that are all integers
  -> classification, labels encoded 0..K-1 in sorted order of the original values
  (kept as ``target_names``);
- anything else -> regression, ``y`` of shape (N, 1).

Every problem raises a `DataError` (a `ValueError`) that names the file, column and line.

Example:
    >>> import pathlib, tempfile
    >>> from bprop.data import load_csv
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "toy.csv"
    >>> _ = path.write_text("a,b,label\\n0,1,yes\\n1,0,no\\n")
    >>> ds = load_csv(path, target="label")
    >>> ds.task, ds.y.tolist(), ds.target_names
    ('classification', [1, 0], ('no', 'yes'))
"""

import csv
import difflib
import os
from pathlib import Path

import numpy as np

from bprop.data.dataset import TASKS, DataError, DataFileNotFoundError, Dataset

MISSING = {"", "na", "n/a", "nan", "null", "?"}
MAX_INFERRED_CLASSES = 20


def load_csv(
    path: str | os.PathLike, target: str | int, task: str | None = None, *, delimiter: str = ","
) -> Dataset:
    """Read ``path`` (CSV, header row first) into a `Dataset` with float64 features.

    Args:
        path: the CSV file.
        target: the target column's name, or its 0-based index (negative counts from the end).
        task: ``"classification"``, ``"regression"``, or None to infer (see the module doc).
        delimiter: the field separator.
    """
    path = Path(path)
    if task is not None and task not in TASKS:
        raise DataError(f"task must be one of {TASKS} or None (infer), got {task!r}")
    header, rows, lines = _read(path, delimiter)
    t = _target_index(header, target, path)
    feature_cols = [j for j in range(len(header)) if j != t]
    table = np.array(rows, dtype=str)

    X = _to_float(table[:, feature_cols], [header[j] for j in feature_cols], lines, path)
    raw = [r[t] for r in rows]
    for i, value in enumerate(raw):
        if value.lower() in MISSING:
            raise DataError(
                f"{_where(path, header[t], i, lines)}: missing target value {value!r}; "
                "drop or fill the rows without a target"
            )
    numbers = _try_float(table[:, t])
    if numbers is not None and not np.isfinite(numbers).all():
        i = int(np.flatnonzero(~np.isfinite(numbers))[0])
        raise DataError(f"{_where(path, header[t], i, lines)}: non-finite target value {raw[i]!r}")
    if task is None:
        few_integers = numbers is not None and (
            np.all(numbers == np.round(numbers)) and len(np.unique(numbers)) <= MAX_INFERRED_CLASSES
        )
        task = "classification" if numbers is None or few_integers else "regression"

    common = dict(X=X, task=task, name=path.stem, feature_names=[header[j] for j in feature_cols])
    about = f"CSV file {path.name}: {len(rows)} rows, {len(feature_cols)} features"
    about += f", target {header[t]!r}"
    if task == "regression":
        if numbers is None:
            i = next(i for i, v in enumerate(raw) if _try_float(np.array([v])) is None)
            raise DataError(
                f"{_where(path, header[t], i, lines)}: regression needs a numeric target, "
                f"got {raw[i]!r}; use task='classification' (or task=None to infer)"
            )
        return Dataset(y=numbers.reshape(-1, 1), description=about + " (regression)", **common)
    if numbers is None:
        names = sorted(set(raw))
        index = {name: k for k, name in enumerate(names)}
        y = np.array([index[v] for v in raw])
    else:
        values = np.unique(numbers)
        y = np.searchsorted(values, numbers)
        names = [str(int(v)) if v == int(v) else repr(float(v)) for v in values]
    return Dataset(
        y=y.astype(np.int64),
        n_classes=len(names),
        target_names=names,
        description=about + f" ({len(names)} classes)",
        **common,
    )


def _where(path: Path, column: str, i: int, lines: list[int]) -> str:
    return f"{path}: column {column!r}, row {i + 1} (line {lines[i]})"


def _read(path: Path, delimiter: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, data rows (fields stripped) and the file line number of each data row."""
    if not path.exists():
        raise DataFileNotFoundError(
            f"CSV file not found: {path} (check the path and the working directory)"
        )
    if path.is_dir():
        raise DataError(f"{path} is a directory; give the path of a .csv file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter, skipinitialspace=True)
            records = [([v.strip() for v in r], reader.line_num) for r in reader if r]
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not UTF-8 text ({err}); save it as UTF-8 CSV") from err
    except csv.Error as err:
        raise DataError(f"{path}: malformed CSV ({err})") from err
    if not records:
        raise DataError(f"{path} is empty; a CSV file needs a header row and at least one data row")
    header = [name or f"column{j}" for j, name in enumerate(records[0][0])]
    if len(header) < 2:
        raise DataError(
            f"{path} has {len(header)} column ({header[0]!r}); need at least 2 "
            f"(features and a target). Is the delimiter {delimiter!r} right?"
        )
    if _try_float(np.array(header)) is not None:
        raise DataError(
            f"{path}: the first line {header} looks like data, not a header; add a header row"
        )
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise DataError(
            f"{path}: duplicate column names {duplicates}; give each column a unique name"
        )
    if len(records) == 1:
        raise DataError(f"{path} has a header but no data rows")
    for fields, line in records[1:]:
        if len(fields) != len(header):
            raise DataError(
                f"{path}: line {line} has {len(fields)} fields but the header has {len(header)}"
            )
    return header, [r for r, _ in records[1:]], [line for _, line in records[1:]]


def _target_index(header: list[str], target: str | int, path: Path) -> int:
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not -len(header) <= target < len(header):
            raise DataError(
                f"{path}: target column index {target} is out of range; the file has "
                f"{len(header)} columns: {header}"
            )
        return int(target) % len(header)
    if isinstance(target, str):
        if target in header:
            return header.index(target)
        close = difflib.get_close_matches(target, header, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(f"{path}: no target column {target!r}; available columns: {header}.{hint}")
    raise DataError(f"target must be a column name (str) or index (int), got {target!r}")


def _try_float(values: np.ndarray) -> np.ndarray | None:
    try:
        return values.astype(np.float64)
    except ValueError:
        return None


def _to_float(cells: np.ndarray, names: list[str], lines: list[int], path: Path) -> np.ndarray:
    """Parse the feature cells; on failure name the first bad cell in file order."""
    X = _try_float(cells)
    if X is None:
        for i, row in enumerate(cells):
            for value, name in zip(row, names, strict=True):
                if value.lower() in MISSING:
                    raise DataError(
                        f"{_where(path, name, i, lines)}: missing value {str(value)!r}; "
                        "fill or drop it"
                    )
                if _try_float(np.array([value])) is None:
                    raise DataError(
                        f"{_where(path, name, i, lines)}: non-numeric value {str(value)!r} in "
                        f"feature column {name!r}; all feature columns must be numeric "
                        "(encode or drop it)"
                    )
    bad = np.argwhere(~np.isfinite(X))
    if len(bad):
        i, k = bad[0]
        kind = "missing value (NaN)" if np.isnan(X[i, k]) else "infinite value"
        raise DataError(
            f"{_where(path, names[k], i, lines)}: {kind} {str(cells[i, k])!r}; fill or drop it"
        )
    return X
