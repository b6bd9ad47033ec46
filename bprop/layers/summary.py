"""A model summary: one row per layer with its sizes, parameter shapes and parameter count.

What ``model.summary()`` prints in Keras and ``torchinfo`` in PyTorch: for every leaf layer of a
:class:`~bprop.layers.sequential.Sequential` (dense, activation, dropout, batch norm, recurrent
layers with their cell, time-distributed layers, settling networks) the path that names its arrays
in a model file, the layer with its input and output sizes, the shape of each parameter and their
total; then the total, the trainable part (frozen parameters excluded) and the memory of the
parameters. Parameters shared between layers (a :class:`~bprop.recurrent.TimeDistributed` and the
layer it wraps) are counted once. The table fits 100 columns (``summary.format(width)`` for
another width): a wide layer's parameters wrap onto more lines, between parameters, and if need
be its description too, between words.

Example::

    >>> import bprop as bp
    >>> net = bp.Sequential(bp.Dense(4, 8, rng=0), bp.Tanh(), bp.Dense(8, 3, rng=1))
    >>> s = net.summary()
    >>> s.total, [r["count"] for r in s.rows]
    (67, [40, 0, 27])
    >>> print(s)  # doctest: +NORMALIZE_WHITESPACE
    #  layer         parameters  count
    0  Dense(4 → 8)  W 4×8, b 8     40
    1  Tanh                          0
    2  Dense(8 → 3)  W 8×3, b 3     27
    total 67 parameters (67 trainable), 268 B in float32
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


def _sizes(layer: Any) -> str:
    """``"(n_in → n_out)"`` from what the layer knows of its sizes, else ``""``."""
    inner = getattr(layer, "cell", None) or getattr(layer, "layer", None)
    n_in = getattr(layer, "n_in", None)
    n_out = getattr(layer, "n_out", None) or getattr(layer, "n_hidden", None)
    if n_out is None and hasattr(layer, "n_units"):
        n_out = layer.n_units
    if inner is not None:
        inner_name = type(inner).__name__
        n_in = n_in if n_in is not None else getattr(inner, "n_in", None)
        n_out = n_out or getattr(inner, "n_out", None) or getattr(inner, "n_hidden", None)
        if n_in is not None and n_out is not None:
            return f"({inner_name} {n_in} → {n_out})"
        return f"({inner_name})"
    if n_in is not None and n_out is not None:
        return f"({n_in} → {n_out})"
    return ""


def _shape(a: Any) -> str:
    return "×".join(str(int(d)) for d in a.shape) or "1"


#: the widest a summary prints (``Summary.format(width)`` for another)
WIDTH = 100
_GAP = "  "
#: the narrowest a text column (layer, parameters) is made
_MIN_TEXT = 12


def _wrap(text: str, width: int, breaks: str) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken after the places the regular
    expression ``breaks`` finds (a piece wider than ``width`` is cut)."""
    lines: list[str] = []
    line = ""
    for piece in re.split(f"(?<={breaks})", text):
        if len((line + piece).rstrip()) <= width:
            line += piece
            continue
        if line:
            lines.append(line.rstrip())
        while len(piece.rstrip()) > width:
            lines.append(piece[:width])
            piece = piece[width:]
        line = piece
    return [*lines, line.rstrip()]


def _row(widths: list[int], parts: list[list[str]]) -> str:
    """One table row (several lines when a column wrapped); the count (last) right-aligned
    on its first line."""
    out = []
    for k in range(max(map(len, parts))):
        texts = [p[k] if k < len(p) else "" for p in parts]
        line = _GAP.join(
            f"{t:>{w}}" if i == len(widths) - 1 else f"{t:<{w}}"
            for i, (t, w) in enumerate(zip(texts, widths, strict=True))
        )
        out.append(line.rstrip())
    return "\n".join(out)


@dataclass
class Summary:
    """Rows (``path``, ``layer``, ``parameters``, ``count``, ``trainable``) and totals
    ``total``, ``trainable``, ``bytes``; ``str()`` (and the REPL) shows it as a table."""

    rows: list[dict[str, Any]]
    total: int
    trainable: int
    bytes: int
    dtype: str

    def format(self, width: int = WIDTH) -> str:
        """The table in at most ``width`` columns: a layer's parameters, and if need be its
        description, wrap onto more lines (between parameters, and between words) instead of
        running off the screen; nothing is cut unless one word is wider than its column."""
        heads = ("#", "layer", "parameters", "count")
        cells = [(r["path"], r["layer"], r["parameters"], f"{r['count']:,}") for r in self.rows]
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
        spare = width - widths[0] - widths[3] - 3 * len(_GAP)  # for the two text columns
        if widths[1] + widths[2] > spare:
            # the parameters column gives way first, down to its widest single parameter
            # (with its comma); then the layer column; then both share what there is
            layer, params = widths[1], widths[2]
            widest = max(len(p) + 1 for c in cells for p in c[2].split(", "))
            widths[2] = min(params, max(spare - layer, widest, _MIN_TEXT))
            widths[1] = min(layer, max(spare - widths[2], _MIN_TEXT))
            if widths[1] + widths[2] > spare:
                widths[2] = min(params, max(spare - widths[1], _MIN_TEXT))
        lines = [_row(widths, [[h] for h in heads])]
        for c in cells:
            layer, params = _wrap(c[1], widths[1], r" |\("), _wrap(c[2], widths[2], ", ")
            parts = [[c[0]], layer, params, [c[3]]]
            lines.append(_row(widths, parts))
        size = f"{self.bytes:,} B" if self.bytes < 10_000 else f"{self.bytes / 2**20:.3g} MiB"
        total = f"total {self.total:,} parameters ({self.trainable:,} trainable)"
        lines += _wrap(f"{total}, {size} in {self.dtype}", width, ", ")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()

    __repr__ = __str__


def summarize(net: Any) -> Summary:
    """The :class:`Summary` of ``net`` (a Sequential, or a single layer)."""
    pairs = net.leaf_paths() if hasattr(net, "leaf_paths") else [("0", net)]
    seen: set[int] = set()
    rows, total, trainable, nbytes, dtype = [], 0, 0, 0, "float32"
    for path, layer in pairs:
        shapes, count, free = [], 0, 0
        for name, a in layer.params.items():
            shapes.append(f"{name} {_shape(a)}")
            dtype = str(a.dtype)
            if id(a) in seen:
                continue
            seen.add(id(a))
            count += int(a.size)
            nbytes += int(a.nbytes)
            if name not in layer.frozen:
                free += int(a.size)
        rows.append(
            {
                "path": path,
                "layer": type(layer).__name__ + _sizes(layer),
                "parameters": ", ".join(shapes),
                "count": count,
                "trainable": free,
            }
        )
        total, trainable = total + count, trainable + free
    return Summary(rows, total, trainable, nbytes, dtype)
