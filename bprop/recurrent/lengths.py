"""Variable-length sequences: padded batches with ``lengths``.

Sequences of different lengths are trained together as one padded batch X (N, T, D), T the
longest, with ``lengths`` (N,) saying how many steps of each row are real (1 … T); the steps
after a sequence's end are padding, whatever they hold. The meaning, in every layer and loss
that takes ``lengths``, is that of running each sequence alone:

- :class:`~bprop.recurrent.Recurrent`: the state is frozen after each sequence's end, so the
  final state of row n is its state after ``lengths[n]`` steps, and a sequence-to-one layer
  outputs h at each sequence's own last step. Outputs at padded steps are zero (as PyTorch's
  ``pad_packed_sequence`` gives them) and the gradient arriving there is ignored.
- :class:`~bprop.recurrent.TimeDistributed`: zero outputs at padded steps, no gradient from them.
- the losses, through :func:`masked_loss`: padded steps contribute nothing, and a ``"mean"`` is
  over the real (example, step) positions only.
- BPTT: the backward pass starts at each sequence's own last step. It runs over the whole
  padded batch at once: past the end of row n nothing reaches the loss, so the gradient
  flowing back there is exactly zero and adds exactly nothing to the weight gradients.

:func:`pad_sequences` makes the padded batch from a list of (T_n, D) arrays (or of id
sequences), :func:`lengths_from_mask` reads the lengths off a padded batch's (N, T) mask,
and :func:`reverse_within` reverses every row within its own length (the backward direction
of :class:`~bprop.recurrent.Bidirectional`). Batching sequences of similar lengths together
saves the padded work: :func:`bprop.train.buckets.bucket_batches`.

Example::

    >>> import numpy as np
    >>> from bprop.recurrent.lengths import mask, pad_sequences, reverse_within
    >>> X, lengths = pad_sequences([np.ones((2, 1)), np.ones((3, 1))])
    >>> X.shape, lengths.tolist(), mask(lengths, 3).tolist()
    ((2, 3, 1), [2, 3], [[True, True, False], [True, True, True]])
    >>> reverse_within(np.arange(6.0).reshape(2, 3), np.array([2, 3])).tolist()
    [[1.0, 0.0, 2.0], [5.0, 4.0, 3.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bprop import backend

__all__ = [
    "check_lengths",
    "lengths_from_mask",
    "masked_loss",
    "mask",
    "pad_sequences",
    "reverse_within",
]


def check_lengths(lengths: Any, N: int, T: int) -> np.ndarray:
    """``lengths`` as an int64 NumPy array of shape (N,) with every entry in 1 … T."""
    a = np.asarray(backend.to_numpy(lengths))
    if a.shape != (N,):
        raise ValueError(f"lengths has shape {a.shape}; expected one length per sequence ({N},)")
    if a.dtype.kind not in "iu" and not (a.dtype.kind == "f" and np.all(a == np.round(a))):
        raise ValueError(f"lengths must be whole numbers of steps, got dtype {a.dtype}")
    a = a.astype(np.int64)
    if N and (a.min() < 1 or a.max() > T):
        raise ValueError(
            f"lengths must lie in 1 … {T} (the padded length); they range from {a.min()} "
            f"to {a.max()}"
        )
    return a


def mask(lengths: Any, T: int) -> Any:
    """The (N, T) boolean array that is True at real steps: ``t < lengths[n]``."""
    L = np.asarray(backend.to_numpy(lengths), dtype=np.int64)
    return backend.get_xp().asarray(np.arange(T)[None, :] < L[:, None])


def lengths_from_mask(m: Any) -> np.ndarray:
    """The lengths of a (N, T) mask that is True at real steps — each row real steps first,
    then padding, as Keras's and PyTorch's padded batches hold them; any other mask (a gap
    inside a sequence) is refused, since a gap is not a shorter sequence."""
    m = np.asarray(backend.to_numpy(m)).astype(bool)
    if m.ndim != 2:
        raise ValueError(f"a mask is (sequences, steps); got shape {m.shape}")
    lengths = m.sum(axis=1)
    if not np.array_equal(m, np.arange(m.shape[1])[None, :] < lengths[:, None]):
        raise ValueError("the mask has gaps: each row must be real steps first, then padding")
    return lengths.astype(np.int64)


def pad_sequences(
    sequences: Sequence[Any], dtype: Any = None, value: float = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(X, lengths) from a list of sequences: arrays (T_n, D) (or (T_n,) of ids or labels)
    padded with ``value`` after their end to (N, max T_n, D) (or (N, max T_n)).

    ``dtype`` defaults to the sequences' common NumPy dtype."""
    seqs = [np.asarray(backend.to_numpy(s)) for s in sequences]
    if not seqs:
        raise ValueError("pad_sequences needs at least one sequence")
    rest = seqs[0].shape[1:]
    for i, s in enumerate(seqs):
        if s.ndim < 1 or s.shape[0] < 1:
            raise ValueError(f"sequence {i} is empty (shape {s.shape}): every one needs a step")
        if s.shape[1:] != rest:
            raise ValueError(
                f"sequence {i} has steps of shape {s.shape[1:]}, sequence 0 of shape {rest}"
            )
    lengths = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    dtype = np.result_type(*seqs) if dtype is None else dtype
    X = np.full((len(seqs), int(lengths.max()), *rest), value, dtype=dtype)
    for i, s in enumerate(seqs):
        X[i, : s.shape[0]] = s
    return X, lengths


def is_ragged(X: Any) -> bool:
    """Whether ``X`` is a list or tuple of sequences of different lengths (to be padded with
    :func:`pad_sequences`) rather than something one array holds."""
    if not isinstance(X, (list, tuple)) or not X or not all(hasattr(s, "__len__") for s in X):
        return False
    return len({len(s) for s in X}) > 1


def reverse_within(x: Any, lengths: Any) -> Any:
    """Each row of ``x`` (N, T, ...) reversed within its own length: step t of row n becomes
    step L_n − 1 − t for t < L_n; padded steps stay where they are. Its own inverse."""
    N, T = x.shape[:2]
    L = np.asarray(backend.to_numpy(lengths), dtype=np.int64)
    t = np.arange(T)[None, :]
    src = np.where(t < L[:, None], L[:, None] - 1 - t, t)  # (N, T) source step
    xp = backend.get_xp()
    flat = xp.asarray((src + T * np.arange(N)[:, None]).reshape(-1))
    rows = xp.reshape(x, (N * T, *x.shape[2:]))
    return xp.reshape(xp.take(rows, flat, axis=0), x.shape)


def masked_loss(loss: Any, y: Any, target: Any, lengths: Any) -> tuple[float, Any]:
    """``loss.value_and_grad`` over the real steps of sequence outputs y (N, T, K) only.

    The loss is taken over the rows ``y[mask]`` (M real positions), so padded steps contribute
    nothing and a ``"mean"`` reduction averages over the M real positions; the gradient is
    zero at padded steps. Outputs of other ranks (a sequence-to-one model's (N, K)) have no
    time axis: ``lengths`` does not apply and the loss is taken as it is."""
    if lengths is None or y.ndim != 3:
        return loss.value_and_grad(y, target)
    m = mask(check_lengths(lengths, y.shape[0], y.shape[1]), y.shape[1])
    value, g = loss.value_and_grad(y[m], target[m])
    dy = backend.get_xp().zeros(y.shape, dtype=g.dtype)
    dy[m] = g
    return value, dy


# --- the hooks of Recurrent.forward / backward ---------------------------------------------
def finish_forward(cache: Any, y: Any, lengths: np.ndarray, return_sequences: bool) -> Any:
    """After a :class:`~bprop.recurrent.Recurrent` forward pass over the whole padded batch:
    freeze each row's state at its own end (``cache.final_state``), record ``cache.lengths``
    and return the outputs — every step's, zero at padded steps (``y`` is h_1 … h_T), or h at
    each row's last step."""
    xp = backend.get_xp()
    cache.lengths = lengths
    final: list[Any] | None = None
    for t in np.unique(lengths).tolist():
        rows = xp.asarray(lengths == t)[:, None]
        state = cache.state_at(int(t))
        final = (
            list(state)
            if final is None
            else [xp.where(rows, s, f) for s, f in zip(state, final, strict=True)]
        )
    cache.final_state = tuple(final or ())
    if not return_sequences:
        return backend.copy(cache.final_state[0])
    m = mask(lengths, cache.T)
    return xp.where(m[:, :, None], y, xp.zeros((), dtype=y.dtype))


def spread_grad(dy: Any, cache: Any, return_sequences: bool, dfinal_state: Any) -> Any:
    """∂L/∂h_t on every step (N, T, H) (held time-major) for the backward pass over the padded
    batch: the given gradient at real steps (at each row's last step for sequence-to-one),
    zero at padded ones."""
    if dfinal_state is not None:
        raise ValueError(
            "a gradient on the final state (truncated BPTT across chunks) is not supported "
            "with lengths: give whole sequences, or equal-length chunks without lengths"
        )
    if dy is None:
        return None
    xp, L, T = backend.get_xp(), cache.lengths, cache.T
    t, zero, swap = np.arange(T)[:, None], xp.zeros((), dtype=dy.dtype), (1, 0, 2)
    if return_sequences:
        keep = xp.asarray(t < L[None, :])[:, :, None]  # (T, N, 1)
        return backend.permute_dims(xp.where(keep, backend.permute_dims(dy, swap), zero), swap)
    last = xp.asarray(t == L[None, :] - 1)[:, :, None]
    return backend.permute_dims(xp.where(last, dy[None, :, :], zero), swap)
