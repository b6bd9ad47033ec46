"""Random generators. Every random source in bprop is a ``numpy.random.Generator``.

Pass one explicitly (``rng=np.random.default_rng(7)``) wherever a layer or trainer takes
``rng``/``seed``. When none is given, layers draw from bprop's default generator, which is
seeded with 0 at import and can be re-seeded with :func:`seed`, so scripts are reproducible
by default.
"""

from __future__ import annotations

import numpy as np

_default = np.random.default_rng(0)


def seed(n: int) -> None:
    """Re-seed bprop's default generator."""
    global _default
    _default = np.random.default_rng(n)


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A Generator from a Generator, an integer seed, or None (the default generator)."""
    if rng is None:
        return _default
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy Generator, an int seed or None, not {type(rng).__name__}")
