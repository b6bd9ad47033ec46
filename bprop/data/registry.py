"""Load any built-in data set by name: ``load_dataset("iris")``, ``load_dataset("parity-4")``.

Names: "digits", "iris", "wine", "breast_cancer", "xor", "parity-N" (N = 2..16),
"encoder-8-3-8", "encoder-10-5-10" (any "encoder-N-H-N"), "two-spirals", and
"mnist:PATH" (MNIST from the IDX files in directory PATH). Case, "-" and "_" are
interchangeable in the fixed names. CSV files are loaded with `load_csv` instead.

Example:
    >>> from bprop.data import load_dataset, list_datasets
    >>> load_dataset("parity-3").X.shape
    (8, 3)
    >>> "xor" in dict(list_datasets())
    True
"""

import difflib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bprop.data import synthetic, tabular
from bprop.data.dataset import DataError, Dataset
from bprop.data.mnist import load_mnist

_FIXED: dict[str, tuple[Callable[..., Dataset], str]] = {
    "digits": (tabular.load_digits, tabular.DESCRIPTIONS["digits"]),
    "iris": (tabular.load_iris, tabular.DESCRIPTIONS["iris"]),
    "wine": (tabular.load_wine, tabular.DESCRIPTIONS["wine"]),
    "breast_cancer": (tabular.load_breast_cancer, tabular.DESCRIPTIONS["breast_cancer"]),
    "xor": (
        synthetic.xor,
        "Exclusive-or: 4 patterns of 2 bits (Rumelhart, Hinton & Williams 1986).",
    ),
    "encoder-8-3-8": (
        lambda **kw: synthetic.encoder(8, 3, **kw),
        "8-3-8 encoder: reproduce 8 one-hot patterns through 3 hidden units (Ackley et al. 1985).",
    ),
    "encoder-10-5-10": (
        lambda **kw: synthetic.encoder(10, 5, **kw),
        "10-5-10 encoder: reproduce 10 one-hot patterns through 5 hidden units.",
    ),
    "two-spirals": (
        synthetic.two_spirals,
        "Two interlocked spirals, 2 x 97 points (Lang & Witbrock 1988).",
    ),
}
_PATTERNS = {
    "parity-N": "N-bit parity, N = 2..16, all 2^N patterns (e.g. parity-4).",
    "mnist:PATH": "MNIST handwritten digits from the IDX files in directory PATH "
    "(the train split if its files are there, else t10k).",
}


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def list_datasets() -> list[tuple[str, str]]:
    """Built-in data set names and one-line descriptions ("parity-N", "mnist:PATH" are patterns)."""
    return [(name, description) for name, (_, description) in _FIXED.items()] + list(
        _PATTERNS.items()
    )


def load_dataset(name: str, **kwargs: Any) -> Dataset:
    """Load the built-in data set ``name``; ``kwargs`` go to its loader (e.g. ``kind="train"``).

    Raises a `DataError` (a `ValueError`) listing the known names, and the closest one,
    for an unknown name.
    """
    if name.startswith("mnist:"):
        if not name[len("mnist:") :].strip():
            raise DataError("mnist needs the directory of its IDX files: 'mnist:PATH'")
        folder = Path(name[len("mnist:") :])
        if "kind" not in kwargs:
            has_train = folder.is_dir() and any(folder.glob("train-*"))
            kwargs["kind"] = "train" if has_train else "t10k"
        return load_mnist(folder, **kwargs)
    key = _key(name)
    fixed = {_key(k): loader for k, (loader, _) in _FIXED.items()}
    if key in fixed:
        return fixed[key](**kwargs)
    if m := re.fullmatch(r"parity-(\d+)", key):
        return synthetic.parity(int(m.group(1)), **kwargs)
    if m := re.fullmatch(r"encoder-(\d+)-(\d+)-(\d+)", key):
        n, hidden, n_out = map(int, m.groups())
        if n != n_out:
            raise DataError(
                f"{name!r}: an encoder's input and output sizes must be equal (e.g. encoder-8-3-8)"
            )
        return synthetic.encoder(n, hidden, **kwargs)
    if key.endswith(".csv"):
        raise DataError(
            f"{name!r} is a CSV file: load it with bprop.data.load_csv(path, target=...)"
        )
    if key == "mnist":
        raise DataError("mnist needs the directory of its IDX files: load_dataset('mnist:PATH')")
    known = [n for n, _ in list_datasets()]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise DataError(f"unknown data set {name!r}.{hint} Known names: {', '.join(known)}")
