"""Shards: a data set cut into pieces that each worker loads itself.

A full-batch gradient is a sum over examples, so it is also a sum over any partition of the
examples into shards: ∇E = Σₛ Σ_{n ∈ s} ∇Eₙ. :class:`Shards` lists the pieces; each piece
knows how to load itself (a ``.npz`` file with arrays ``X`` and ``y``, a numeric CSV file, or a
pair of in-memory arrays), so that a Dask worker reads its shard from storage — and a worker
that is lost has its shard read again by the scheduler from the same description (its
*lineage*), which data sent with ``scatter`` would not allow.

Example::

    >>> import numpy as np, tempfile
    >>> from bprop.distributed import Shards, write_shards
    >>> X, y = np.arange(20.0).reshape(10, 2), np.arange(10) % 2
    >>> folder = tempfile.mkdtemp()
    >>> shards = write_shards(X, y, folder, 3)
    >>> [s.rows() for s in shards], len(Shards.from_paths(folder))
    ([4, 3, 3], 3)
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from bprop.modelfile.atomic import write_atomically

SUFFIXES = (".npz", ".csv")


class NpzShard:
    """A shard stored as a ``.npz`` file holding arrays ``X`` (examples × features) and ``y``."""

    def __init__(self, path: str) -> None:
        self.path = str(path)

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """(X, y) read from the ``.npz`` file; ValueError naming the file if it is unreadable."""
        try:
            with np.load(self.path, allow_pickle=False) as f:
                return np.asarray(f["X"]), np.asarray(f["y"])
        except KeyError as err:
            raise ValueError(f"shard {self.path}: a .npz shard holds arrays X and y") from err
        except (OSError, ValueError) as err:
            raise ValueError(f"shard {self.path}: not a readable .npz file ({err})") from err

    def rows(self) -> int:
        """Number of examples in the shard (reads only ``y``)."""
        with np.load(self.path, allow_pickle=False) as f:
            return int(f["y"].shape[0])

    def __repr__(self) -> str:
        return f"NpzShard({self.path!r})"


class CsvShard:
    """A shard stored as a numeric CSV file with a header row; ``target`` names the target
    column (default: the last). Class labels must already be integers: text labels would be
    numbered differently in every shard."""

    def __init__(self, path: str, target: str | None = None, delimiter: str = ",") -> None:
        self.path, self.target, self.delimiter = str(path), target, delimiter

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """(X as float64, y) read from the CSV file; ValueError for a missing target column
        or non-numeric columns."""
        import pandas as pd
        from pandas.api.types import is_numeric_dtype

        frame = pd.read_csv(self.path, sep=self.delimiter)
        target = self.target if self.target is not None else frame.columns[-1]
        if target not in frame.columns:
            raise ValueError(f"shard {self.path}: no column {target!r}")
        features = frame.drop(columns=[target])
        bad = [c for c in frame.columns if not is_numeric_dtype(frame[c].dtype)]
        if bad:
            raise ValueError(
                f"shard {self.path}: column(s) {bad} are not numeric; CSV shards need numbers "
                "(integer class labels), since text labels would be numbered per shard"
            )
        return features.to_numpy(np.float64), frame[target].to_numpy()

    def rows(self) -> int:
        """Number of examples in the shard (reads the file)."""
        return int(self.load()[1].shape[0])

    def __repr__(self) -> str:
        return f"CsvShard({self.path!r})"


class ArrayShard:
    """A shard held in memory (sent with the task that loads it, so it too can be reloaded)."""

    def __init__(self, X: Any, y: Any) -> None:
        self.X, self.y = np.asarray(X), np.asarray(y)

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """The (X, y) arrays held."""
        return self.X, self.y

    def rows(self) -> int:
        """Number of examples in the shard."""
        return int(self.y.shape[0])

    def __repr__(self) -> str:
        return f"ArrayShard({self.X.shape[0]} rows)"


class Shards(Sequence):
    """The shards of one data set, in a fixed order (the order gradients are summed in)."""

    def __init__(self, shards: Sequence[Any]) -> None:
        self.shards = list(shards)
        if not self.shards:
            raise ValueError("no shards given")
        for s in self.shards:
            if not callable(getattr(s, "load", None)):
                raise TypeError(f"a shard needs a load() method returning (X, y), got {s!r}")

    @classmethod
    def from_paths(
        cls, where: str | Sequence[str], target: str | None = None, delimiter: str = ","
    ) -> Shards:
        """Shards from a folder (its ``.npz``/``.csv`` files), a glob pattern or a list of
        paths; sorted by name, so the order is the same on every run."""
        if isinstance(where, (str, os.PathLike)):
            where = str(where)
            if os.path.isdir(where):
                paths = [os.path.join(where, f) for f in os.listdir(where)]
                paths = [p for p in paths if p.lower().endswith(SUFFIXES)]
            else:
                paths = glob.glob(where)
            paths = sorted(paths)
            if not paths:
                raise ValueError(
                    f"no shards at {where}: give a folder of .npz/.csv files, a glob pattern "
                    "such as 'data/part-*.npz', or a list of paths"
                )
        else:
            paths = [str(p) for p in where]
        out = []
        for p in paths:
            if not os.path.isfile(p):
                raise ValueError(f"shard {p}: no such file")
            if p.lower().endswith(".npz"):
                out.append(NpzShard(p))
            elif p.lower().endswith(".csv"):
                out.append(CsvShard(p, target, delimiter))
            else:
                raise ValueError(f"shard {p}: not a .npz or .csv file")
        return cls(out)

    @classmethod
    def from_arrays(cls, X: Any, y: Any, n_shards: int) -> Shards:
        """``X``, ``y`` cut into ``n_shards`` consecutive pieces (as ``numpy.array_split``)."""
        X, y = np.asarray(X), np.asarray(y)
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X has {X.shape[0]} examples but y has {y.shape[0]}")
        n_shards = int(n_shards)
        if not 1 <= n_shards <= X.shape[0]:
            raise ValueError(f"n_shards must be between 1 and {X.shape[0]}, got {n_shards}")
        cuts = np.array_split(np.arange(X.shape[0]), n_shards)
        return cls([ArrayShard(X[c], y[c]) for c in cuts])

    @classmethod
    def from_dask(cls, X: Any, y: Any) -> Shards:
        """One shard per row-chunk of the ``dask.array`` ``X`` (``y`` is rechunked to match);
        each shard is the delayed computation of its chunk, recomputed if a worker is lost."""
        if len(X.chunks) > 1 and len(X.chunks[1]) > 1:
            X = X.rechunk({1: -1})
        y = y.rechunk({0: X.chunks[0]})
        xs, ys = X.to_delayed().ravel(), y.to_delayed().ravel()
        return cls([DelayedShard(a, b) for a, b in zip(xs, ys, strict=True)])

    def __len__(self) -> int:
        return len(self.shards)

    def __getitem__(self, i: Any) -> Any:
        return self.shards[i]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.shards)

    def __repr__(self) -> str:
        return f"Shards({len(self)} shards)"


class DelayedShard:
    """A shard that is a chunk of ``dask.array`` data (a pair of ``dask.delayed`` objects)."""

    def __init__(self, X: Any, y: Any) -> None:
        self.X, self.y = X, y

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """(X, y) computed from the Dask chunks, in this process."""
        import dask

        X, y = dask.compute(self.X, self.y, scheduler="sync")
        return np.asarray(X), np.asarray(y)

    def rows(self) -> int:
        """Number of examples in the shard (computes the chunk)."""
        return int(self.load()[1].shape[0])


def as_shards(data: Any, y: Any = None, n_shards: int = 1) -> Shards:
    """``data`` as :class:`Shards`: Shards as they are; a folder, glob or list of paths;
    ``dask.array`` X and y; or in-memory arrays cut into ``n_shards`` pieces."""
    if isinstance(data, Shards):
        return data
    if type(data).__module__.startswith("dask."):
        if y is None:
            raise ValueError("give the targets as a dask.array too")
        return Shards.from_dask(data, y)
    if isinstance(data, (str, os.PathLike)) or (
        isinstance(data, (list, tuple)) and data and isinstance(data[0], (str, os.PathLike))
    ):
        return Shards.from_paths(data)
    if y is None:
        raise ValueError("give the targets y with in-memory X (or give Shards or shard paths)")
    return Shards.from_arrays(data, y, n_shards)


def write_shards(X: Any, y: Any, folder: str, n_shards: int, prefix: str = "part") -> Shards:
    """Write ``X``, ``y`` as ``n_shards`` consecutive ``.npz`` shards in ``folder`` (each
    written atomically) and return them as :class:`Shards`."""
    os.makedirs(folder, exist_ok=True)
    pieces = Shards.from_arrays(X, y, n_shards)
    width = len(str(n_shards - 1))
    paths = []
    for i, piece in enumerate(pieces):
        path = os.path.join(folder, f"{prefix}-{i:0{width}d}.npz")
        write_atomically(path, lambda f, p=piece: np.savez(f, X=p.X, y=p.y))
        paths.append(path)
    return Shards.from_paths(paths)
