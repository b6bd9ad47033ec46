"""Load a numeric table from a CSV file with a header row.

One column is the target, chosen by name or 0-based index; every other column is a feature and
must be numeric. With ``task=None`` the task is inferred from the target column:

- non-numeric strings, or at most 20 distinct values that are all integers
  -> classification, labels encoded 0..K-1 in sorted order of the original values
  (kept as ``target_names``);
- anything else -> regression, ``y`` of shape (N, 1).

The file is parsed by pandas' C reader straight into numeric columns (no per-cell Python
objects), so a file of N rows and d columns needs about ``2 · N · d · 8`` bytes at its peak
(the parsed columns and the feature matrix). Only when something is wrong is the file read
again, with the :mod:`csv` module, up to the bad row, to quote the cell as written and its line.

Every problem raises a `DataError` (a `ValueError`) that names the file, column, row and line.

Example:
    >>> import pathlib, tempfile
    >>> from bprop.data import load_csv
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "toy.csv"
    >>> _ = path.write_text("a,b,label\\n0,1,yes\\n1,0,no\\n")
    >>> ds = load_csv(path, target="label")
    >>> ds.task, ds.y.tolist(), ds.target_names
    ('classification', [1, 0], ('no', 'yes'))
    >>> load_csv(path, target="2").target_names   # a column index given as text
    ('no', 'yes')
"""

from __future__ import annotations

import csv
import difflib
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bprop.data.dataset import TASKS, DataError, DataFileNotFoundError, Dataset

#: cells that count as missing (compared case-insensitively), besides pandas' own NA spellings
MISSING = {"", "na", "n/a", "nan", "null", "?"}
MAX_INFERRED_CLASSES = 20
_INDEX = re.compile(r"[+-]?\d+")


def load_csv(
    path: str | os.PathLike,
    target: str | int,
    task: str | None = None,
    *,
    delimiter: str = ",",
    dtype: Any = np.float64,
) -> Dataset:
    """Read ``path`` (CSV, header row first) into a `Dataset`.

    Args:
        path: the CSV file.
        target: the target column's name, or its 0-based index (negative counts from the end);
            a string that is no column's name but an integer (``"4"``) is an index.
        task: ``"classification"``, ``"regression"``, or None to infer (see the module doc).
        delimiter: the field separator.
        dtype: the features' float type (``np.float64`` or ``np.float32``).
    """
    path = Path(path)
    if task is not None and task not in TASKS:
        raise DataError(f"task must be one of {TASKS} or None (infer), got {task!r}")
    header = _header(path, delimiter)
    t = _target_index(header, target, path)
    frame = _read(path, delimiter, header)
    feature_names = [h for j, h in enumerate(header) if j != t]
    X = _features(frame, feature_names, header, path, delimiter, dtype)
    column = frame[header[t]]
    del frame
    y, names, task = _targets(column, header, t, task, path, delimiter)
    about = f"CSV file {path.name}: {len(X)} rows, {len(feature_names)} features"
    about += f", target {header[t]!r}"
    common = dict(X=X, task=task, name=path.stem, feature_names=feature_names)
    if task == "regression":
        return Dataset(y=y.reshape(-1, 1), description=about + " (regression)", **common)
    return Dataset(
        y=y,
        n_classes=len(names),
        target_names=names,
        description=about + f" ({len(names)} classes)",
        **common,
    )


def load_csv_features(
    path: str | os.PathLike,
    columns: Sequence[str] | None = None,
    *,
    exclude: str | int | None = None,
    delimiter: str = ",",
    dtype: Any = np.float64,
) -> tuple[np.ndarray, list[str]]:
    """The feature matrix of a CSV file without needing a target column (for predictions).

    ``columns`` names the features in the order wanted (other columns are ignored); without
    it every column but ``exclude`` (a name or index, as ``target`` of :func:`load_csv`; a
    name the file lacks is ignored) is a feature. Returns ``(X, feature names)``.
    """
    path = Path(path)
    header = _header(path, delimiter, min_columns=1)
    if columns is not None:
        missing = [c for c in columns if c not in header]
        if missing:
            raise DataError(
                f"{path}: no column(s) {missing}, which the model was trained on; the file has "
                f"{header}"
            )
        names = list(columns)
    else:
        names = list(header)
        if exclude is not None and (exclude in header or is_column_index(exclude)):
            names.pop(_target_index(header, exclude, path))
    if not names:
        raise DataError(f"{path}: no feature columns left (the file has {header})")
    frame = _read(path, delimiter, header)
    return _features(frame, names, header, path, delimiter, dtype), names


def read_header(path: str | os.PathLike, delimiter: str = ",") -> list[str]:
    """The column names of a CSV file (its checked header row)."""
    return _header(Path(path), delimiter, min_columns=1)


def label_names(values: np.ndarray) -> list[str]:
    """How class values read from a file are named: integers without ``.0``, other numbers by
    ``repr``, strings as they are."""
    if np.issubdtype(np.asarray(values).dtype, np.number):
        return [str(int(v)) if v == int(v) else repr(float(v)) for v in values]
    return [str(v) for v in values]


# --- reading -------------------------------------------------------------------------------


def is_column_index(target: Any) -> bool:
    """True for an int, or a string that is an integer (``"4"``, ``"-1"``): a column index."""
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        return True
    return isinstance(target, str) and bool(_INDEX.fullmatch(target.strip()))


def _records(path: Path, delimiter: str):
    """(fields, line number) of each non-blank record, fields stripped (the error path)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter, skipinitialspace=True)
        try:
            for r in reader:
                if r:
                    yield [v.strip() for v in r], reader.line_num
        except csv.Error as err:
            raise DataError(f"{path}: malformed CSV ({err})") from err


def _header(path: Path, delimiter: str, min_columns: int = 2) -> list[str]:
    """The header row, checked: present, unique names, not data, at least ``min_columns``."""
    if not path.exists():
        raise DataFileNotFoundError(
            f"CSV file not found: {path} (check the path and the working directory)"
        )
    if path.is_dir():
        raise DataError(f"{path} is a directory; give the path of a .csv file")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise DataError(f"the delimiter must be one character, got {delimiter!r}")
    try:
        records = _records(path, delimiter)
        first = next(records, None)
        second = next(records, None) if first is not None else None
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not UTF-8 text ({err}); save it as UTF-8 CSV") from err
    if first is None:
        raise DataError(f"{path} is empty; a CSV file needs a header row and at least one data row")
    header = [name or f"column{j}" for j, name in enumerate(first[0])]
    if len(header) < min_columns:
        raise DataError(
            f"{path} has {len(header)} column ({header[0]!r}); need at least {min_columns} "
            f"(features and a target). Is the delimiter {delimiter!r} right?"
        )
    if _all_numbers(header):
        raise DataError(
            f"{path}: the first line {header} looks like data, not a header; add a header row"
        )
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise DataError(
            f"{path}: duplicate column names {duplicates}; give each column a unique name"
        )
    if second is None:
        raise DataError(f"{path} has a header but no data rows")
    return header


def _all_numbers(cells: Sequence[str]) -> bool:
    try:
        [float(c) for c in cells]
    except ValueError:
        return False
    return True


def _read(path: Path, delimiter: str, header: list[str]) -> Any:
    """The data rows as a pandas DataFrame (numeric columns parsed in C; NA cells as NaN)."""
    import pandas as pd

    na = sorted(MISSING | {m.upper() for m in MISSING} | {m.title() for m in MISSING})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                path,
                sep=delimiter,
                header=0,
                names=header,
                index_col=False,
                skipinitialspace=True,
                na_values=na,
                encoding="utf-8-sig",
                engine="c",
            )
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not UTF-8 text ({err}); save it as UTF-8 CSV") from err
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError) as err:
        _raise_ragged(path, delimiter, header)
        raise DataError(f"{path}: malformed CSV ({str(err).strip()})") from err
    return frame


def _raise_ragged(path: Path, delimiter: str, header: list[str]) -> None:
    """Raise for the first row whose field count differs from the header's, if there is one."""
    for i, (fields, line) in enumerate(_records(path, delimiter)):
        if i and len(fields) != len(header):
            raise DataError(
                f"{path}: line {line} has {len(fields)} fields but the header has {len(header)}"
            )


def _raw_cell(path: Path, delimiter: str, header: list[str], row: int, col: int) -> tuple[str, int]:
    """The text of data row ``row`` (0-based), column ``col``, and its line (the error path)."""
    for i, (fields, line) in enumerate(_records(path, delimiter)):
        if i == row + 1:
            if len(fields) != len(header):
                raise DataError(
                    f"{path}: line {line} has {len(fields)} fields but the header has {len(header)}"
                )
            return fields[col], line
    return "", 0  # pragma: no cover - the row was parsed, so the file has it


def _where(path: Path, column: str, row: int, line: int) -> str:
    return f"{path}: column {column!r}, row {row + 1} (line {line})"


def _features(
    frame: Any,
    names: list[str],
    header: list[str],
    path: Path,
    delimiter: str,
    dtype: Any,
) -> np.ndarray:
    """The ``names`` columns as one float matrix; name the first bad cell in file order."""
    import pandas as pd

    bad: list[tuple[int, int]] = []  # (row, header index) of the first bad cell of each column
    for name in names:
        col = frame[name]
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            wrong = np.flatnonzero(pd.to_numeric(col, errors="coerce").isna().to_numpy())
        else:
            wrong = np.flatnonzero(~np.isfinite(col.to_numpy(np.float64)))
        if len(wrong):
            bad.append((int(wrong[0]), header.index(name)))
    if bad:
        row, j = min(bad)
        text, line = _raw_cell(path, delimiter, header, row, j)
        where = _where(path, header[j], row, line)
        if text.lower() in MISSING - {"nan"}:
            raise DataError(f"{where}: missing value {text!r}; fill or drop it")
        if _all_numbers([text]):
            kind = "missing value (NaN)" if np.isnan(float(text)) else "infinite value"
            raise DataError(f"{where}: {kind} {text!r}; fill or drop it")
        raise DataError(
            f"{where}: non-numeric value {text!r} in feature column {header[j]!r}; all feature "
            "columns must be numeric (encode or drop it)"
        )
    return frame[names].to_numpy(dtype=dtype)


def _targets(
    column: Any, header: list[str], t: int, task: str | None, path: Path, delimiter: str
) -> tuple[np.ndarray, list[str], str]:
    """(y, class names, task) from the target column."""
    import pandas as pd

    missing = np.flatnonzero(column.isna().to_numpy())
    if len(missing):
        row = int(missing[0])
        text, line = _raw_cell(path, delimiter, header, row, t)
        raise DataError(
            f"{_where(path, header[t], row, line)}: missing target value {text!r}; "
            "drop or fill the rows without a target"
        )
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if numeric:
        numbers = column.to_numpy(np.float64)
        if not np.isfinite(numbers).all():
            row = int(np.flatnonzero(~np.isfinite(numbers))[0])
            text, line = _raw_cell(path, delimiter, header, row, t)
            raise DataError(
                f"{_where(path, header[t], row, line)}: non-finite target value {text!r}"
            )
    if task is None:
        few_integers = numeric and (
            np.all(numbers == np.round(numbers)) and len(np.unique(numbers)) <= MAX_INFERRED_CLASSES
        )
        task = "classification" if not numeric or few_integers else "regression"
    if task == "regression":
        if not numeric:
            wrong = np.flatnonzero(pd.to_numeric(column, errors="coerce").isna().to_numpy())
            row = int(wrong[0])
            text, line = _raw_cell(path, delimiter, header, row, t)
            raise DataError(
                f"{_where(path, header[t], row, line)}: regression needs a numeric target, "
                f"got {text!r}; use task='classification' (or task=None to infer)"
            )
        return numbers, [], task
    values = numbers if numeric else column.astype(str).str.strip().to_numpy(dtype=object)
    classes, y = np.unique(values, return_inverse=True)
    return y.astype(np.int64).reshape(-1), label_names(classes), task


def _target_index(header: list[str], target: str | int, path: Path) -> int:
    if isinstance(target, str) and target in header:
        return header.index(target)
    if is_column_index(target):
        k = int(target)
        if not -len(header) <= k < len(header):
            raise DataError(
                f"{path}: target column index {k} is out of range; the file has "
                f"{len(header)} columns: {header}"
            )
        return k % len(header)
    if isinstance(target, str):
        close = difflib.get_close_matches(target, header, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(f"{path}: no target column {target!r}; available columns: {header}.{hint}")
    raise DataError(f"target must be a column name (str) or index (int), got {target!r}")
