"""The network drawn for ``bprop explain --format html``: an inline SVG of the traced net.

A :class:`Diagram` lists the layers of units (left to right) and the weighted connections;
``loops`` marks layers whose units feed back into each other (the recurrent state of an Elman,
LSTM or GRU cell; every unit of an Almeida–Pineda network), drawn as arcs above the layer.
Connections are blue for positive and red for negative weights, their width growing with |w|;
hovering shows the weight's name and value. Layers wider than :data:`MAX_DRAWN` units are drawn
with their first units and an ellipsis.

Example::

    >>> d = Diagram([["i1", "i2"], ["o1"]], [(0, 0, 1, 0, "w1", 0.5), (0, 1, 1, 0, "w2", -1.0)])
    >>> svg = to_svg(d)
    >>> svg.startswith("<svg") and svg.count("<line") == 2
    True
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

#: the most units of one layer drawn
MAX_DRAWN = 16


@dataclass
class Diagram:
    """Units per layer, connections (layer, unit, layer, unit, name, weight) and the layers
    with recurrent connections among their own units (``loops``: (layer, unit, unit, name,
    weight))."""

    layers: list[list[str]]
    edges: list[tuple[int, int, int, int, str, float]]
    loops: list[tuple[int, int, int, str, float]] = field(default_factory=list)


def _pos(d: Diagram, width: int, height: int) -> dict[tuple[int, int], tuple[float, float]]:
    pos = {}
    n = len(d.layers)
    for li, units in enumerate(d.layers):
        shown = min(len(units), MAX_DRAWN)
        x = 60 + (width - 120) * (li / max(n - 1, 1))
        for j in range(shown):
            y = 70 + (height - 110) * ((j + 0.5) / shown)
            pos[(li, j)] = (x, y)
    return pos


def _stroke(w: float, scale: float) -> tuple[str, float]:
    colour = "#1f5fbf" if w >= 0 else "#c0392b"
    return colour, 0.8 + 4.0 * min(abs(w) / scale, 1.0) if scale else 1.0


def to_svg(d: Diagram, width: int = 640) -> str:
    """The diagram as an SVG element (a string), ``width`` pixels wide."""
    tallest = max(min(len(u), MAX_DRAWN) for u in d.layers)
    height = max(200, 60 * tallest + 80)
    pos = _pos(d, width, height)
    weights = [abs(e[5]) for e in d.edges] + [abs(e[4]) for e in d.loops]
    scale = max(weights) if weights else 1.0
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="the network">'
    ]
    for la, i, lb, j, name, w in d.edges:
        if (la, i) not in pos or (lb, j) not in pos:
            continue
        (x1, y1), (x2, y2) = pos[(la, i)], pos[(lb, j)]
        colour, sw = _stroke(w, scale)
        out.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
            f'stroke-width="{sw:.2f}" opacity="0.75"><title>{html.escape(name)} = {w:.6g}'
            "</title></line>"
        )
    for li, i, j, name, w in d.loops:
        if (li, i) not in pos or (li, j) not in pos:
            continue
        (x1, y1), (x2, y2) = pos[(li, i)], pos[(li, j)]
        colour, sw = _stroke(w, scale)
        bend = (28 + 10 * abs(i - j)) * (1 if i < j else -1)  # j → i and i → j apart
        if i == j:
            path = f"M {x1 - 8:.1f} {y1 - 16:.1f} C {x1 - 30:.1f} {y1 - 50:.1f} {x1 + 30:.1f} "
            path += f"{y1 - 50:.1f} {x1 + 8:.1f} {y1 - 16:.1f}"
        else:
            path = f"M {x1:.1f} {y1:.1f} Q {x1 + bend:.1f} {(y1 + y2) / 2:.1f} {x2:.1f} {y2:.1f}"
        out.append(
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{sw:.2f}" '
            f'stroke-dasharray="4 3" opacity="0.75"><title>{html.escape(name)} = {w:.6g}'
            "</title></path>"
        )
    for li, units in enumerate(d.layers):
        for j, name in enumerate(units[:MAX_DRAWN]):
            x, y = pos[(li, j)]
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="16" fill="#fff" stroke="#333" '
                f'stroke-width="1.5"/><text x="{x:.1f}" y="{y + 5:.1f}" font-size="13" '
                f'text-anchor="middle" font-family="sans-serif">{html.escape(name)}</text>'
            )
        if len(units) > MAX_DRAWN:
            x, y = pos[(li, MAX_DRAWN - 1)]
            out.append(
                f'<text x="{x:.1f}" y="{y + 36:.1f}" font-size="13" text-anchor="middle" '
                f'font-family="sans-serif">… {len(units) - MAX_DRAWN} more</text>'
            )
    out.append("</svg>")
    return "".join(out)
