"""Sequence data: the adding problem, the embedded Reber grammar, text corpora, time series.

- :func:`adding_problem` — the long-time-lag task of Hochreiter & Schmidhuber (1997).
- :func:`embedded_reber` / :func:`reber_arrays` — the embedded Reber grammar (Reber 1967;
  Cleeremans, Servan-Schreiber & McClelland 1989; Hochreiter & Schmidhuber 1997, Exp. 1).
- :class:`Vocabulary`, :func:`encode_text`, :func:`load_text` — character- or word-level
  corpora for language modelling, with a vocabulary limit and an unknown token.
- :func:`windows`, :func:`load_series_csv`, :func:`load_sunspots` — windowed one-step-ahead
  forecasting data from a 1-D series, a CSV column, or the yearly sunspot numbers.

Every random source is a seeded ``numpy.random.Generator``; every problem raises a
:class:`bprop.data.DataError` (a ``ValueError``) that says what to fix.

Example::

    >>> from bprop.data.sequences import adding_problem, windows
    >>> X, y = adding_problem(4, 50, rng=0)
    >>> X.shape, y.shape, float(X[0, :, 1].sum())
    ((4, 50, 2), (4, 1), 2.0)
    >>> Xw, yw = windows([1.0, 2, 3, 4, 5], window=3)
    >>> Xw[:, :, 0].tolist(), yw[:, 0].tolist()
    ([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]], [4.0, 5.0])
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bprop.data.dataset import DataError, DataFileNotFoundError
from bprop.rng import as_generator

# --- the adding problem ------------------------------------------------------------------


def adding_problem(
    n: int, T: int, rng: np.random.Generator | int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem: n sequences of length T; returns X (n, T, 2) and y (n, 1).

    Each step carries a value drawn uniformly from [0, 1] and a marker (0 or 1). Exactly two
    steps are marked, one in the first half and one in the second half of the sequence; the
    target is the sum of the two marked values. A network must remember the first marked value
    across up to T steps. Predicting the constant 1 scores the *constant-predictor* MSE of
    Var(u₁ + u₂) = 1/6 ≈ 0.167.

    This is the form used by Le, Jaitly & Hinton (2015) and Arjovsky, Shah & Bengio (2016) of
    Hochreiter & Schmidhuber's (1997) Experiment 4, whose original values lie in [−1, 1] with
    target 0.5 + (X₁ + X₂)/4 and whose markers sit in the first ten and the first half steps.
    """
    n, T = int(n), int(T)
    if n < 1:
        raise DataError(f"adding problem needs at least one sequence, got n = {n}")
    if T < 2:
        raise DataError(f"adding problem needs sequences of length T >= 2, got T = {T}")
    gen = as_generator(rng)
    X = np.zeros((n, T, 2))
    X[:, :, 0] = gen.uniform(0.0, 1.0, size=(n, T))
    half = T // 2
    first = gen.integers(0, half, size=n)
    second = gen.integers(half, T, size=n)
    rows = np.arange(n)
    X[rows, first, 1] = 1.0
    X[rows, second, 1] = 1.0
    y = (X[rows, first, 0] + X[rows, second, 0]).reshape(n, 1)
    return X, y


ADDING_CONSTANT_MSE = 1.0 / 6.0  #: MSE of always predicting 1 (the mean target)


# --- the embedded Reber grammar ----------------------------------------------------------

REBER_SYMBOLS = "BTSXPVE"
#: the Reber grammar as a graph: node -> [(symbol, next node)]; node 6 is the exit
_REBER = {
    1: [("T", 2), ("P", 3)],
    2: [("S", 2), ("X", 4)],
    3: [("T", 3), ("V", 5)],
    4: [("X", 3), ("S", 6)],
    5: [("P", 4), ("V", 6)],
}


def reber_string(rng: np.random.Generator | int | None = None) -> str:
    """One string of the Reber grammar, e.g. ``"BTSSXXTVVE"`` (each branch taken with
    probability ½)."""
    gen = as_generator(rng)
    out, node = ["B"], 1
    while node != 6:
        sym, node = _REBER[node][int(gen.integers(2))]
        out.append(sym)
    out.append("E")
    return "".join(out)


def embedded_reber(n: int, rng: np.random.Generator | int | None = None) -> list[str]:
    """n strings of the embedded Reber grammar: ``B T <reber> T E`` or ``B P <reber> P E``.

    The symbol after the inner string must repeat the second symbol, an arbitrarily long
    time lag that plain recurrent networks fail to bridge (Hochreiter & Schmidhuber 1997).
    """
    if int(n) < 1:
        raise DataError(f"need at least one string, got n = {n}")
    gen = as_generator(rng)
    out = []
    for _ in range(int(n)):
        branch = "T" if gen.integers(2) == 0 else "P"
        out.append("B" + branch + reber_string(gen) + branch + "E")
    return out


def _reber_allowed(s: str) -> list[set[str]]:
    """For an embedded Reber string ``B b <B … E> b E``: the set of legal next symbols after
    each of its symbols but the last."""
    branch, inner = s[1], s[2:-2]
    allowed: list[set[str]] = [{"T", "P"}, {"B"}]  # after B, after the branch symbol
    node = 1
    allowed.append({sym for sym, _ in _REBER[node]})  # after the inner B
    for sym in inner[1:-1]:
        node = dict(_REBER[node])[sym]
        allowed.append({"E"} if node == 6 else {x for x, _ in _REBER[node]})
    allowed.append({branch})  # after the inner E
    allowed.append({"E"})  # after the second branch symbol
    return allowed


def reber_arrays(strings: Sequence[str], length: int | None = None) -> dict[str, np.ndarray]:
    """One-hot arrays for next-symbol prediction on embedded Reber strings.

    Returns a dict with ``X`` (n, T, 7) one-hot inputs (symbols 0 … T-2 of each string),
    ``y`` (n, T) the next symbol as labels, ``allowed`` (n, T, 7) the multi-hot set of legal
    next symbols, and ``mask`` (n, T) True on real positions. Strings shorter than ``T``
    (default: the longest) are padded after their end with ``E`` → ``E`` steps, which cannot
    affect earlier outputs of a causal network and are excluded by ``mask``. The symbols are
    ``REBER_SYMBOLS = "BTSXPVE"``.
    """
    if not strings:
        raise DataError("no strings given")
    idx = {c: i for i, c in enumerate(REBER_SYMBOLS)}
    for s in strings:
        bad = set(s) - set(REBER_SYMBOLS)
        if bad or len(s) < 2:
            raise DataError(f"{s!r} is not a Reber string (symbols {REBER_SYMBOLS})")
    T = max(len(s) for s in strings) - 1 if length is None else int(length)
    if T < max(len(s) for s in strings) - 1:
        raise DataError(f"length {T} is shorter than the longest string minus one")
    n, K = len(strings), len(REBER_SYMBOLS)
    X = np.zeros((n, T, K))
    y = np.full((n, T), idx["E"], dtype=np.int64)
    allowed = np.zeros((n, T, K))
    allowed[:, :, idx["E"]] = 1.0
    mask = np.zeros((n, T), dtype=bool)
    X[:, :, idx["E"]] = 1.0
    for k, s in enumerate(strings):
        m = len(s) - 1
        X[k, :m] = 0.0
        X[k, np.arange(m), [idx[c] for c in s[:-1]]] = 1.0
        y[k, :m] = [idx[c] for c in s[1:]]
        allowed[k, :m] = 0.0
        for t, legal in enumerate(_reber_allowed(s)):
            allowed[k, t, [idx[c] for c in legal]] = 1.0
        mask[k, :m] = True
    return {"X": X, "y": y, "allowed": allowed, "mask": mask}


# --- text corpora ------------------------------------------------------------------------

_WORD = re.compile(r"\n|\w+|[^\w\s]")
_PUNCT = re.compile(r"[^\w\s]")


@dataclass
class Vocabulary:
    """Symbols (characters or words) ↔ integer ids. ``unk`` (if any) is the id of the
    unknown-symbol token that replaces symbols outside the vocabulary."""

    symbols: list[str]
    unit: str = "char"
    unk_token: str | None = None

    def __post_init__(self) -> None:
        if self.unit not in ("char", "word"):
            raise DataError(f"unit must be 'char' or 'word', got {self.unit!r}")
        if len(set(self.symbols)) != len(self.symbols):
            raise DataError("vocabulary symbols must be distinct")
        self.index = {s: i for i, s in enumerate(self.symbols)}

    def __len__(self) -> int:
        return len(self.symbols)

    @property
    def unk(self) -> int | None:
        """The id of the unknown-symbol token, or None when there is none."""
        return None if self.unk_token is None else self.index[self.unk_token]

    def tokens(self, text: str) -> list[str]:
        """Split text into units: characters, or words, punctuation marks and newlines."""
        return list(text) if self.unit == "char" else _WORD.findall(text)

    def encode(self, text: str) -> np.ndarray:
        """Text → int64 ids; unknown symbols map to ``unk`` (or raise without one)."""
        ids = []
        for tok in self.tokens(text):
            i = self.index.get(tok, self.unk)
            if i is None:
                raise DataError(
                    f"symbol {tok!r} is not in the vocabulary and there is no unknown token"
                )
            ids.append(i)
        return np.array(ids, dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids → text: characters joined, or words joined by spaces (none before punctuation or
        after a newline)."""
        toks = [self.symbols[int(i)] for i in ids]
        if self.unit == "char":
            return "".join(toks)
        out = ""
        for tok in toks:
            if out and not out.endswith("\n") and tok != "\n" and not _PUNCT.fullmatch(tok):
                out += " "
            out += tok
        return out

    def to_dict(self) -> dict[str, Any]:
        """The vocabulary as JSON-serialisable data (saved with a language model)."""
        return {"symbols": self.symbols, "unit": self.unit, "unk_token": self.unk_token}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Vocabulary:
        """Rebuild a vocabulary from :meth:`to_dict`'s data."""
        return cls(list(d["symbols"]), d.get("unit", "char"), d.get("unk_token"))


def build_vocabulary(
    text: str, unit: str = "char", limit: int | None = None, unk_token: str = "<unk>"
) -> Vocabulary:
    """The vocabulary of ``text``: every symbol in sorted order, or with ``limit`` the
    ``limit − 1`` most frequent ones (ties broken alphabetically) plus ``unk_token``."""
    if unit not in ("char", "word"):
        raise DataError(f"unit must be 'char' or 'word', got {unit!r}")
    toks = list(text) if unit == "char" else _WORD.findall(text)
    if not toks:
        raise DataError("the text is empty: there is nothing to build a vocabulary from")
    counts = Counter(toks)
    if limit is None or len(counts) <= int(limit):
        return Vocabulary(sorted(counts), unit, None)
    limit = int(limit)
    if limit < 2:
        raise DataError(f"vocabulary limit must be at least 2 (one symbol + unknown), got {limit}")
    if unk_token in counts:
        raise DataError(f"the unknown token {unk_token!r} occurs in the text; choose another")
    keep = sorted(counts, key=lambda s: (-counts[s], s))[: limit - 1]
    return Vocabulary(sorted(keep) + [unk_token], unit, unk_token)


def encode_text(
    text: str, unit: str = "char", limit: int | None = None, unk_token: str = "<unk>"
) -> tuple[np.ndarray, Vocabulary]:
    """Build a vocabulary from ``text`` and encode it: returns (ids, vocabulary)."""
    vocab = build_vocabulary(text, unit, limit, unk_token)
    return vocab.encode(text), vocab


def load_text(
    path: str | os.PathLike,
    unit: str = "char",
    limit: int | None = None,
    unk_token: str = "<unk>",
    encoding: str = "utf-8",
) -> tuple[np.ndarray, Vocabulary]:
    """Read a text file and encode it (see :func:`encode_text`); clear errors for a missing,
    unreadable or empty file."""
    path = Path(path)
    if not path.exists():
        raise DataFileNotFoundError(f"text file not found: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a directory; give the path of a text file")
    try:
        text = path.read_text(encoding=encoding)
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not {encoding} text ({err}); pass encoding=...") from err
    if not text.strip():
        raise DataError(f"{path} is empty: a language model needs some text to learn from")
    return encode_text(text, unit, limit, unk_token)


def stream_windows(ids: Any, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping next-symbol windows of a stream: X (n, window) and Y (n, window), Y
    the stream shifted by one. Raises a clear error when the stream is shorter than one
    window plus one step."""
    ids = np.asarray(ids)
    window = int(window)
    if window < 1:
        raise DataError(f"window must be at least 1, got {window}")
    if ids.ndim != 1:
        raise DataError(f"a stream is 1-D, got shape {ids.shape}")
    n = (len(ids) - 1) // window
    if n < 1:
        raise DataError(
            f"the stream has {len(ids)} symbols, shorter than one window of {window} steps plus "
            "the next-symbol target; use a longer text or a shorter window"
        )
    X = ids[: n * window].reshape(n, window)
    Y = ids[1 : n * window + 1].reshape(n, window)
    return X, Y


# --- time series -------------------------------------------------------------------------


def windows(series: Any, window: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows for forecasting: X (n, window, 1) holds series[i : i + window] and y
    (n, 1) holds series[i + window + horizon − 1], for every i."""
    s = np.asarray(series, dtype=np.float64)
    if s.ndim != 1:
        raise DataError(f"a series is 1-D, got shape {s.shape}")
    window, horizon = int(window), int(horizon)
    if window < 1 or horizon < 1:
        raise DataError(f"window and horizon must be at least 1, got {window}, {horizon}")
    if not np.isfinite(s).all():
        raise DataError("the series contains NaN or infinity; clean or impute it first")
    n = len(s) - window - horizon + 1
    if n < 1:
        raise DataError(
            f"the series has {len(s)} values, shorter than one window of {window} plus a "
            f"horizon of {horizon}"
        )
    idx = np.arange(n)[:, None] + np.arange(window)[None, :]
    X = s[idx][:, :, None]
    y = s[np.arange(n) + window + horizon - 1].reshape(n, 1)
    return X, y


def load_series_csv(path: str | os.PathLike, column: str | int, delimiter: str = ",") -> np.ndarray:
    """One numeric column of a CSV file with a header row, as a float64 array. A missing or
    non-numeric value is an error naming the row and line."""
    path = Path(path)
    if not path.exists():
        raise DataFileNotFoundError(f"CSV file not found: {path}")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [(i + 1, r) for i, r in enumerate(csv.reader(fh, delimiter=delimiter))]
    rows = [(ln, r) for ln, r in rows if r and not r[0].lstrip().startswith("#")]
    if not rows:
        raise DataError(f"{path} is empty")
    (_, header), body = rows[0], rows[1:]
    header = [h.strip() for h in header]
    if isinstance(column, str):
        if column not in header:
            raise DataError(f"{path}: no column {column!r}; the columns are {header}")
        j = header.index(column)
    else:
        j = int(column)
        if not -len(header) <= j < len(header):
            raise DataError(f"{path}: column index {j} out of range ({len(header)} columns)")
        j %= len(header)
    if not body:
        raise DataError(f"{path}: no data rows below the header")
    values = []
    for k, (ln, r) in enumerate(body):
        raw = r[j].strip() if j < len(r) else ""
        try:
            v = float(raw)
        except ValueError:
            raise DataError(
                f"{path}: column {header[j]!r}, row {k + 1} (line {ln}) holds {raw!r}, which "
                "is not a number; a forecasting series must be a numeric column"
            ) from None
        if not np.isfinite(v):
            raise DataError(f"{path}: column {header[j]!r}, row {k + 1} (line {ln}) is {raw!r}")
        values.append(v)
    return np.array(values)


def load_sunspots(with_years: bool = False) -> Any:
    """The yearly mean sunspot numbers 1700–2008 (309 values), shipped with bprop (copied from
    statsmodels' ``sunspots`` dataset; source NOAA NGDC, public domain). Returns the values,
    or ``(years, values)`` with ``with_years``."""
    path = Path(__file__).with_name("sunspots.csv")
    values = load_series_csv(path, "sunactivity")
    if with_years:
        return load_series_csv(path, "year").astype(np.int64), values
    return values
