"""Laying out an :class:`~bprop.explain.trace.Explanation` as plain text, Markdown or a
self-contained HTML page (the network drawn as inline SVG, one table per section, every
heading with its own anchor and a contents list linking to them).

Example::

    >>> from bprop.explain.render import table
    >>> print(table(["unit", "a"], [["h1", "0.59"]], "md"))
    | unit | a |
    |---|---|
    | h1 | 0.59 |
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from bprop.explain.trace import Explanation


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], fmt: str) -> str:
    """A table of strings: Markdown (``fmt="md"``) or aligned plain-text columns."""
    if fmt == "md":
        out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(_align(c, w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out).rstrip()


def _align(cell: str, width: int) -> str:
    """Numbers to the right, words and formulas to the left."""
    try:
        float(cell)
    except ValueError:
        return cell.ljust(width) if len(cell) > 12 else cell.rjust(width)
    return cell.rjust(width)


def heading(text: str, level: int, fmt: str) -> str:
    """A heading of ``level`` in Markdown (``#``…) or plain text (underlined)."""
    if fmt == "md":
        return "#" * level + " " + text
    return text + "\n" + ("=" if level <= 2 else "-") * len(text)


def render(explanation: Explanation, fmt: str = "text", digits: int = 9) -> str:
    """The whole trace as text or Markdown, numbers with ``digits`` decimals."""
    spec = f".{int(digits)}f"

    def cell(v: Any) -> str:
        return v if isinstance(v, str) else format(float(v), spec)

    out = [heading(explanation.title, 1, fmt), "", explanation.summary, ""]
    for k, sections in enumerate(explanation.steps, 1):
        out += [heading(f"{explanation.step_label} {k}", 2, fmt), ""]
        for s in sections:
            rows = [[cell(v) for v in r] for r in s.rows]
            out += [heading(s.title, 3, fmt), "", table(s.headers, rows, fmt), ""]
            for note in s.notes:
                out += [note if isinstance(note, str) else f"{note[0]} = {cell(note[1])}", ""]
    return "\n".join(out).rstrip() + "\n"


_CSS = """
body { font-family: system-ui, sans-serif; font-size: 17px; max-width: 72rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 15px; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.55rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; font-family: monospace; }
th { background: #f1f3f6; }
.scroll { overflow-x: auto; }
p.note { margin: 0.3rem 0; }
figure { margin: 1rem 0; }
figcaption { font-size: 15px; color: #555; }
"""


def render_html(explanation: Explanation, digits: int = 9) -> str:
    """The whole trace as one HTML page (no external files)."""
    from bprop.explain.diagram import to_svg

    spec = f".{int(digits)}f"
    esc = html.escape

    def cell(v: Any) -> str:
        if isinstance(v, str):
            return f"<td>{esc(v)}</td>"
        return f'<td class="num">{format(float(v), spec)}</td>'

    toc, body = [], []
    for k, sections in enumerate(explanation.steps, 1):
        sid = f"{explanation.step_label.lower().replace(' ', '-')}-{k}"
        toc.append(f'<li><a href="#{sid}">{esc(explanation.step_label)} {k}</a><ul>')
        body.append(f'<h2 id="{sid}">{esc(explanation.step_label)} {k}</h2>')
        for m, s in enumerate(sections, 1):
            ssid = f"{sid}-s{m}"
            toc.append(f'<li><a href="#{ssid}">{esc(s.title)}</a></li>')
            head = "".join(f"<th>{esc(h)}</th>" for h in s.headers)
            rows = "".join("<tr>" + "".join(cell(v) for v in r) + "</tr>" for r in s.rows)
            body.append(f'<h3 id="{ssid}">{esc(s.title)}</h3>')
            body.append(f'<div class="scroll"><table><tr>{head}</tr>{rows}</table></div>')
            for note in s.notes:
                text = note if isinstance(note, str) else f"{note[0]} = {format(note[1], spec)}"
                body.append(f'<p class="note">{esc(text)}</p>')
        toc.append("</ul></li>")
    figure = ""
    if explanation.diagram is not None:
        loops = "; dashed arcs are recurrent connections" if explanation.diagram.loops else ""
        figure = (
            f'<figure id="network">{to_svg(explanation.diagram)}<figcaption>The network (weights '
            f"after the last step): blue positive, red negative, width ∝ |w|{loops}. Hover a "
            "connection for its name and value.</figcaption></figure>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(explanation.title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{esc(explanation.title)}</h1><p>{esc(explanation.summary)}</p>{figure}"
        f'<nav><h2 id="contents">Contents</h2><ul>{"".join(toc)}</ul></nav>'
        + "".join(body)
        + "</body></html>\n"
    )
