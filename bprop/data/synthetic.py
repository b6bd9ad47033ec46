"""The classic synthetic benchmark tasks of the backpropagation literature.

All are deterministic: the same call always returns the same arrays, in the same order.

- `xor`: exclusive-or, the problem a single-layer perceptron cannot solve
  (Minsky & Papert 1969; solved with hidden units by Rumelhart, Hinton & Williams 1986).
- `parity`: N-bit parity, the generalisation of XOR (Rumelhart, Hinton & Williams 1986).
- `encoder`: the N-H-N encoder/decoder problem: reproduce a one-hot input through a
  narrow hidden layer (Ackley, Hinton & Sejnowski 1985; used by Fahlman 1988 for Quickprop).
- `two_spirals`: two interlocked spirals (Lang & Witbrock 1988).

Example:
    >>> from bprop.data import xor, parity
    >>> xor().y.tolist()
    [0, 1, 1, 0]
    >>> parity(3).X.shape
    (8, 3)
"""

import numpy as np

from bprop.data.dataset import DataError, Dataset


def xor() -> Dataset:
    """The four XOR patterns: X = (0,0), (0,1), (1,0), (1,1); y = 0, 1, 1, 0.

    Example:
        >>> from bprop.data import xor
        >>> xor().X.tolist()
        [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    """
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    return Dataset(
        X=X,
        y=np.array([0, 1, 1, 0], dtype=np.int64),
        task="classification",
        name="xor",
        description="Exclusive-or of two binary inputs, 4 patterns "
        "(Minsky & Papert 1969; Rumelhart, Hinton & Williams 1986).",
        n_classes=2,
        feature_names=["x1", "x2"],
        target_names=["0", "1"],
    )


def parity(n: int) -> Dataset:
    """All 2**n binary vectors of length n, labelled 1 when they hold an odd number of ones.

    Row i is the binary expansion of i, most significant bit first, so rows are in counting
    order. n runs from 2 (which is XOR) to 16 (65,536 patterns). From Rumelhart, Hinton &
    Williams (1986), "Learning internal representations by error propagation".

    Example:
        >>> from bprop.data import parity
        >>> ds = parity(3)
        >>> ds.X[5].tolist(), int(ds.y[5])
        ([1.0, 0.0, 1.0], 0)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= 16:
        raise DataError(f"parity(n) needs an integer n from 2 to 16, got {n!r}")
    n = int(n)
    codes = np.arange(2**n)
    X = (codes[:, None] >> np.arange(n - 1, -1, -1)) & 1
    return Dataset(
        X=X.astype(np.float64),
        y=(X.sum(axis=1) % 2).astype(np.int64),
        task="classification",
        name=f"parity-{n}",
        description=f"{n}-bit parity: all {2**n} binary vectors, label 1 when the number of "
        "ones is odd (Rumelhart, Hinton & Williams 1986).",
        n_classes=2,
        feature_names=[f"bit{i}" for i in range(n)],
        target_names=["even", "odd"],
    )


def encoder(n: int = 8, hidden: int = 3) -> Dataset:
    """The n-hidden-n encoder problem: X = identity(n), target y = X (a regression task).

    The network must squeeze n one-hot patterns through ``hidden`` units and reproduce
    them, so it has to invent a compact (e.g. binary) code: 8-3-8 and 10-5-10 are the
    standard sizes (Ackley, Hinton & Sejnowski 1985; Rumelhart, Hinton & Williams 1986;
    Fahlman 1988). ``hidden`` does not change the data; it is recorded in the name.

    Example:
        >>> from bprop.data import encoder
        >>> ds = encoder(8, 3)
        >>> ds.name, ds.X.shape, ds.n_outputs
        ('encoder-8-3-8', (8, 8), 8)
    """
    if not 2 <= n or not 1 <= hidden:
        raise DataError(
            f"encoder(n, hidden) needs n >= 2 and hidden >= 1, got n={n}, hidden={hidden}"
        )
    X = np.eye(n, dtype=np.float64)
    return Dataset(
        X=X,
        y=X.copy(),
        task="regression",
        name=f"encoder-{n}-{hidden}-{n}",
        description=f"{n}-{hidden}-{n} encoder: reproduce each of {n} one-hot patterns through "
        f"{hidden} hidden units (Ackley, Hinton & Sejnowski 1985).",
        feature_names=[f"in{i}" for i in range(n)],
    )


def two_spirals(points_per_spiral: int = 97) -> Dataset:
    """Two interlocked spirals (Lang & Witbrock 1988), 2 x 97 points by default.

    For i = 0 .. points_per_spiral-1::

        angle  = i * pi / 16
        radius = 6.5 * (104 - i) / 104
        point  = (radius * sin(angle), radius * cos(angle))   -> class 0

    and its negation ``-point`` is class 1 (the second spiral is the first rotated by
    180 degrees). Rows 0..P-1 are class 0 and rows P..2P-1 class 1, with
    ``X[P + i] == -X[i]``. With the default 97 points each spiral makes three full turns.

    From K. J. Lang and M. J. Witbrock, "Learning to tell two spirals apart",
    Proceedings of the 1988 Connectionist Models Summer School, pp. 52-59
    (the CMU neural-network benchmark).

    Example:
        >>> from bprop.data import two_spirals
        >>> ds = two_spirals()
        >>> ds.X.shape, ds.X[0].tolist()
        ((194, 2), [0.0, 6.5])
    """
    if not 1 <= points_per_spiral <= 104:
        raise DataError(
            f"two_spirals needs 1 <= points_per_spiral <= 104 (the radius reaches 0 at i = 104), "
            f"got {points_per_spiral}"
        )
    i = np.arange(points_per_spiral, dtype=np.float64)
    angle = i * np.pi / 16
    radius = 6.5 * (104 - i) / 104
    first = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return Dataset(
        X=np.concatenate([first, -first]),
        y=np.repeat(np.array([0, 1], dtype=np.int64), points_per_spiral),
        task="classification",
        name="two-spirals",
        description=f"Two interlocked spirals, {points_per_spiral} points each "
        "(Lang & Witbrock 1988).",
        n_classes=2,
        feature_names=["x", "y"],
        target_names=["spiral 0", "spiral 1"],
    )
