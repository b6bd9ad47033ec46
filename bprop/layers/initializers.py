"""Weight initialisers for Dense layers.

=================  ==============================================  ===========================
name               distribution                                     source
=================  ==============================================  ===========================
``glorot``         U(−a, a), a = √(6 / (fan_in + fan_out))          Glorot & Bengio (2010)
``glorot_normal``  N(0, 2 / (fan_in + fan_out))                     Glorot & Bengio (2010)
``he``             N(0, 2 / fan_in)                                 He et al. (2015), for ReLU
``he_uniform``     U(−a, a), a = √(6 / fan_in)                      He et al. (2015)
``uniform``        U(−a, a), a = ``scale`` (default 0.5)            the classic small-random
                                                                    start of Rumelhart et al.
``zeros``          all zero (biases; never for hidden weights)
=================  ==============================================  ===========================

Example::

    >>> import numpy as np
    >>> from bprop.layers.initializers import initialize
    >>> initialize("uniform", (3, 2), np.random.default_rng(0), scale=0.3).shape
    (3, 2)
"""

from __future__ import annotations

import numpy as np

INITIALIZERS = ("glorot", "glorot_normal", "he", "he_uniform", "uniform", "zeros")


def initialize(
    name: str, shape: tuple[int, int], rng: np.random.Generator, scale: float | None = None
) -> np.ndarray:
    """Draw a float64 array of ``shape`` = (fan_in, fan_out) from the named initialiser."""
    fan_in, fan_out = shape[0], shape[-1]
    if name == "glorot":
        a = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-a, a, size=shape)
    if name == "glorot_normal":
        return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)
    if name == "he":
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
    if name == "he_uniform":
        a = np.sqrt(6.0 / fan_in)
        return rng.uniform(-a, a, size=shape)
    if name == "uniform":
        a = 0.5 if scale is None else float(scale)
        return rng.uniform(-a, a, size=shape)
    if name == "zeros":
        return np.zeros(shape)
    raise ValueError(f"unknown initialiser {name!r}; choose one of {INITIALIZERS}")
