"""Truncated backpropagation through time, BPTT(k1, k2), on long streams.

Williams & Peng (1990), "An efficient gradient-based algorithm for on-line training of
recurrent network trajectories" (their BPTT(h; h′), here k2 = h, k1 = h′): the network runs
forward continuously over the stream; every k1 steps, the error of those k1 new steps is
backpropagated k2 ≥ k1 steps into the past, through the *stored* activations of those steps,
and the weights are updated. The state is carried from chunk to chunk *without* its gradient
beyond k2 steps, so memory is bounded by k2 (the activations of the last ⌈k2/k1⌉ chunks),
not by the stream length: a stream of a million steps trains in constant memory.

Per update, with chunk m covering steps s … s + k1 − 1::

    forward chunk m from the carried state (stateful Recurrent layers)
    L_m = loss on the k1 outputs of chunk m (the mean per step for reduction "mean")
    backward through chunk m, then on through the stored chunks m−1, m−2, … with zero output
    error, carrying ∂L_m/∂state across chunk boundaries, until k2 steps have been covered
    update the weights

k1 = k2 is the common case (each step backpropagated exactly once, over its own chunk);
k1 = k2 ≥ T on a sequence of length T is exactly full BPTT. Backpropagation through stored
chunks uses the activations computed when they ran forward (as Williams & Peng describe) and
the current weights.

For training, a stream of length L is split into ``batch_size`` parallel sub-streams of
⌊L / batch_size⌋ steps (the tail is dropped), each carrying its own state — the layout of
character-level language model training (Karpathy's char-rnn).

The training loop that applies the updates is :class:`bprop.Trainer` with a
:class:`bprop.train.StreamSchedule`; :func:`bprop.fit_stream` is its short form. Example::

    >>> import numpy as np, bprop as bp
    >>> from bprop.recurrent import LSTM, Recurrent, TimeDistributed
    >>> from bprop.train import fit_stream
    >>> ids = np.tile(np.arange(4), 250)                    # the stream 0 1 2 3 0 1 2 3 …
    >>> net = bp.Sequential(Recurrent(LSTM(4, 16, rng=0)), TimeDistributed(bp.Dense(16, 4, rng=1)))
    >>> hist = fit_stream(net, ids[:-1], ids[1:], k1=10, batch_size=8, epochs=5,
    ...                   optimizer=bp.optim.Adam(0.02), verbose=0)
    >>> hist.train_loss[-1] < 0.1
    True
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np

from bprop import backend
from bprop.layers.base import Layer
from bprop.layers.sequential import Sequential
from bprop.losses import Loss, MeanSquaredError, SoftmaxCrossEntropy, get_loss
from bprop.recurrent.unroll import Recurrent


def _recurrent_layers(net: Layer) -> list[Recurrent]:
    return [leaf for leaf in net.leaves() if isinstance(leaf, Recurrent)]


def _recurrent_caches(layer: Layer, cache: Any) -> list[Any]:
    """The caches of the Recurrent layers inside ``layer``'s cache, in leaf order."""
    if isinstance(layer, Recurrent):
        return [cache]
    if isinstance(layer, Sequential):
        return [
            c
            for sub, sc in zip(layer.layers, cache, strict=False)
            for c in _recurrent_caches(sub, sc)
        ]
    return []


def split_streams(stream: Any, batch_size: int, name: str = "stream") -> np.ndarray:
    """Reshape a stream (L, ...) into ``batch_size`` parallel sub-streams (B, L // B, ...)."""
    stream = np.asarray(backend.to_numpy(stream))
    if stream.ndim == 0:
        raise ValueError(f"{name} must be a sequence of steps, got a scalar")
    B = int(batch_size)
    if B < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    Lb = stream.shape[0] // B
    if Lb < 1:
        raise ValueError(
            f"{name} has {stream.shape[0]} steps, fewer than batch_size = {B} sub-streams"
        )
    return stream[: B * Lb].reshape(B, Lb, *stream.shape[1:])


class _Inputs:
    """Chunks of the input streams: integer streams are one-hot encoded chunk by chunk (so
    the stream itself stays small) — or handed on as ids to a network that starts with an
    :class:`bprop.Embedding` (``net``'s first leaf ``takes_ids``); real-valued (B, L, D)
    streams are sliced."""

    def __init__(self, X: np.ndarray, net: Any, dtype: Any) -> None:
        self.X, self.dtype = X, dtype
        n_in = getattr(net, "n_in", None)
        leaves = net.leaves() if hasattr(net, "leaves") else [net]
        if getattr(leaves[0], "takes_ids", False):
            self.one_hot, self.dtype = False, np.int64
            return
        self.one_hot = X.ndim == 2 and np.issubdtype(X.dtype, np.integer)
        if self.one_hot:
            if n_in is None:
                raise ValueError("integer input streams need a network with a known input size")
            if X.size and (X.min() < 0 or X.max() >= n_in):
                raise ValueError(
                    f"input symbols must be in 0 … {n_in - 1} (the network's input size), "
                    f"got {X.min()} … {X.max()}"
                )
            self.eye = np.eye(n_in, dtype=backend.np_dtype(dtype))
        elif X.ndim == 2:
            self.X = X[..., None]
        elif X.ndim != 3:
            raise ValueError(
                f"input streams must be (L,) integer symbols, (L,) reals or (L, D) vectors; "
                f"got sub-streams of shape {X.shape}"
            )

    def chunk(self, s: int, e: int) -> Any:
        x = self.eye[self.X[:, s:e]] if self.one_hot else self.X[:, s:e]
        return backend.asarray(x, dtype=self.dtype)


def check_truncation(k1: int, k2: int | None) -> tuple[int, int]:
    """Validate BPTT(k1, k2): (k1, k2) as ints, k2 defaulting to k1; 1 ≤ k1 ≤ k2."""
    k1 = int(k1)
    k2 = k1 if k2 is None else int(k2)
    if k1 < 1:
        raise ValueError(f"k1 must be at least 1, got {k1}")
    if k2 < k1:
        raise ValueError(
            f"k2 = {k2} < k1 = {k1}: truncated BPTT(k1, k2) backpropagates k2 ≥ k1 steps "
            "(otherwise some steps' errors would never reach the weights)"
        )
    return k1, k2


def _backward_stored(
    layer: Layer, dy: Any, cache: Any, dfinal: dict[int, Any], stop_at: int, need_dx: bool
) -> Any:
    """Backpropagate ``dy`` through a stored chunk's ``cache`` as ``layer.backward`` would,
    handing every Recurrent layer its ∂L/∂state_T (``dfinal``, by the identity of its cache)
    and ``stop_at`` as explicit arguments of :meth:`Recurrent.backward`."""
    if isinstance(layer, Recurrent):
        d = dfinal.get(id(cache))
        return layer.backward(dy, cache, need_dx, dfinal_state=d, stop_at=stop_at)
    if isinstance(layer, Sequential):
        for i in range(len(layer.layers) - 1, -1, -1):
            dy = _backward_stored(layer.layers[i], dy, cache[i], dfinal, stop_at, need_dx or i > 0)
        return dy
    return layer.backward(dy, cache, need_dx)


def tbptt_updates(
    net: Layer,
    loss: Loss,
    X: Any,
    Y: Any,
    k1: int,
    k2: int | None = None,
    reset: bool = True,
) -> Iterator[tuple[float, int]]:
    """Truncated BPTT(k1, k2) over a batch of streams, yielding once per chunk of k1 steps.

    Williams & Peng (1990). With the state s carried forward over the whole stream and chunk
    m covering steps a … b = a + k1 − 1, the update's gradient is the k2-step truncation of

        ∂L_m/∂θ = Σ_{t=b−k2+1}^{b} (∂L_m/∂s_t)(∂⁺s_t/∂θ),   L_m = Σ_{t=a}^{b} ℓ_t,

    where ∂⁺ is the step's immediate dependence on θ and the error on the states flows
    backwards by ∂L_m/∂s_{t−1} = ∂L_m/∂s_t · ∂s_t/∂s_{t−1} (+ ∂ℓ_{t−1}/∂s_{t−1} inside the
    chunk only: the stored steps before a get zero output error). Computed as

        forward chunk m from the carried state; L_m, ∂L_m/∂y = loss.value_and_grad
        backward through chunk m (full BPTT of the chunk) → δ = ∂L_m/∂s_{a−1}
        for the stored chunks m−1, m−2, … while fewer than k2 steps are covered:
            backward(zero output error, dfinal_state=δ, stop_at=first step still inside k2)
            δ ← ∂L_m/∂state at the chunk's start (or at stop_at)

    so memory is the activations of the ⌈(k2 − 1)/k1⌉ + 1 newest chunks, whatever the
    stream's length. k1 = k2 backpropagates each step's error exactly once, over its own
    chunk; k1 = k2 ≥ T is full BPTT, bit for bit. Stored chunks are backpropagated with their
    stored activations and the current weights (as Williams & Peng describe).

    Args:
        net: the model (its Recurrent layers are made stateful while this runs).
        loss: the loss; its targets are prepared with ``loss.prepare_targets``.
        X: inputs (B, L, D) reals, or (B, L) integer symbols (one-hot encoded per chunk).
        Y: targets (B, L) labels or (B, L, K).
        k1, k2: the truncation: k1 new steps per update, k2 ≥ k1 (default k1) steps of
            backpropagation.
        reset: start from the zero state (else from the layers' carried states).

    Yields ``(L_m, number of steps in the chunk)`` with ∂L_m/∂θ in ``net.space.grads`` (zeroed
    first): apply the update, then resume the generator.
    """
    k1, k2 = check_truncation(k1, k2)
    space = net.space
    X = np.asarray(backend.to_numpy(X))
    Y = np.asarray(backend.to_numpy(Y))
    if X.shape[:2] != Y.shape[:2]:
        raise ValueError(f"inputs {X.shape} and targets {Y.shape} differ in (streams, steps)")
    inputs = _Inputs(X, net, space.dtype)
    T_all = _targets(loss, Y, net, space.dtype)
    recs = _recurrent_layers(net)
    if not recs:
        raise ValueError("truncated BPTT needs a network with a Recurrent layer")
    saved = [(r.stateful, r.state) for r in recs]
    xp = backend.get_xp()
    stored: deque[tuple[Any, int, tuple[int, ...]]] = deque()  # (cache, steps, output shape)
    try:
        for r in recs:
            r.stateful = True
            if reset:
                r.state = None
        for a in range(0, X.shape[1], k1):
            b = min(a + k1, X.shape[1])
            space.zero_grad()
            out, cache = net.forward(inputs.chunk(a, b), train=True)
            value, dy = loss.value_and_grad(out, T_all[:, a:b, ...])
            net.backward(dy, cache, need_dx=False)
            covered = b - a
            delta = [c.dinitial_state for c in _recurrent_caches(net, cache)]
            for old_cache, old_n, out_shape in reversed(stored):
                if covered >= k2:
                    break
                rcs = _recurrent_caches(net, old_cache)
                dfinal = {id(rc): d for rc, d in zip(rcs, delta, strict=True)}
                zero = xp.zeros(out_shape, dtype=space.dtype)
                stop_at = max(0, old_n - (k2 - covered))  # the first step within k2
                _backward_stored(net, zero, old_cache, dfinal, stop_at, False)
                delta = [rc.dinitial_state for rc in rcs]
                covered += old_n
            stored.append((cache, b - a, tuple(out.shape)))
            # keep only the chunks a later update can reach (k2 − 1 steps back)
            while len(stored) > 1 and sum(h[1] for h in list(stored)[1:]) >= k2 - 1:
                stored.popleft()
            yield value, b - a
    finally:
        for r, (stateful, state) in zip(recs, saved, strict=False):
            r.stateful = stateful
            if not stateful:
                r.state = state


def _targets(loss: Loss, Y: np.ndarray, net: Layer, dtype: Any) -> Any:
    """The target streams in the loss's form, as backend arrays."""
    n_out = net.n_out if getattr(net, "n_out", None) is not None else 1
    T = loss.prepare_targets(Y, n_out)
    return backend.asarray(T, dtype=np.int64 if T.dtype.kind in "iu" else dtype)


def stream_loss(
    net: Layer,
    stream_X: Any,
    stream_Y: Any,
    loss: Loss | str | None = None,
    batch_size: int = 32,
    chunk: int = 100,
) -> float:
    """The mean loss per step over a whole stream, running the network forward with its state
    carried across chunks (no gradients). The stream is split into ``batch_size`` sub-streams
    like in training (the last L mod batch_size steps are left out); the layers' carried
    training state is left untouched."""
    Xs = split_streams(stream_X, batch_size, "stream_X")
    Ys = split_streams(stream_Y, batch_size, "stream_Y")
    loss = default_loss(stream_Y) if loss is None else get_loss(loss)
    space = net.space
    inputs = _Inputs(Xs, net, space.dtype)
    T_all = _targets(loss, Ys, net, space.dtype)
    recs = _recurrent_layers(net)
    saved = [(r.stateful, r.state) for r in recs]
    total, count = 0.0, 0
    try:
        for r in recs:
            r.stateful, r.state = True, None
        for s in range(0, Xs.shape[1], int(chunk)):
            e = min(s + int(chunk), Xs.shape[1])
            out, _ = net.forward(inputs.chunk(s, e), train=False)
            value = loss.value(out, T_all[:, s:e])
            steps = Xs.shape[0] * (e - s)
            total += value if loss.reduction == "sum" else value * steps
            count += steps
    finally:
        for r, (stateful, state) in zip(recs, saved, strict=False):
            r.stateful, r.state = stateful, state
    return total if loss.reduction == "sum" else total / count


def default_loss(Y: Any) -> Loss:
    """Softmax cross-entropy for integer target streams, mean squared error otherwise."""
    Y = np.asarray(backend.to_numpy(Y))
    return SoftmaxCrossEntropy() if np.issubdtype(Y.dtype, np.integer) else MeanSquaredError()
