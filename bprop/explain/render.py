"""Laying out an :class:`~bprop.explain.trace.Explanation` as plain text or Markdown.

Example::

    >>> from bprop.explain.render import table
    >>> print(table(["unit", "a"], [["h1", "0.59"]], "md"))
    | unit | a |
    |---|---|
    | h1 | 0.59 |
"""

from __future__ import annotations

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
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


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
        out += [heading(f"Step {k}", 2, fmt), ""]
        for s in sections:
            rows = [[cell(v) for v in r] for r in s.rows]
            out += [heading(s.title, 3, fmt), "", table(s.headers, rows, fmt), ""]
            for note in s.notes:
                out += [note if isinstance(note, str) else f"{note[0]} = {cell(note[1])}", ""]
    return "\n".join(out).rstrip() + "\n"
