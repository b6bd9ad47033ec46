"""One self-contained HTML report: figures embedded as base64 PNG data URIs, inline CSS, and
no external URL of any kind — the file can be mailed, archived or opened offline.

:class:`Report` collects blocks (headings, paragraphs, tables, figures, preformatted text) and
renders them with the Jinja2 templates in ``bprop/report/templates`` (``report.html.j2``, one
template per kind of block in ``blocks/``, the style sheet ``report.css``), autoescaped, into
``index.html``. Every heading gets an anchor made from its text, unique in the page (a repeated
title gets ``-2``, ``-3``…), and the contents list links the sections (level 2) and their
subsections (level 3).

**Adding a section** is a function that takes a Report and calls its methods, e.g. ::

    def add_my_section(rep, data):
        rep.heading("My section")
        rep.paragraph("What it shows and how to read it.")
        rep.figure(my_figure(data), "caption")
        rep.table(rows)

(:mod:`bprop.report.sections` holds the ones bprop ships: a comparison grid, gradient
diagnostics, the compare report.)

Example::

    >>> import pathlib, tempfile
    >>> from bprop.report import Report
    >>> from bprop.report.plots import curve_figure
    >>> rep = Report("demo")
    >>> rep.heading("Curves")  # returns the section's anchor
    'curves'
    >>> rep.figure(curve_figure({"loss": [1.0, 0.5, 0.2]}), "a falling loss")
    >>> path = rep.write(tempfile.mkdtemp())
    >>> "data:image/png;base64," in pathlib.Path(path).read_text()
    True
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import platform
import re
import sys
from collections.abc import Sequence
from typing import Any

from bprop.report import plots


@functools.cache
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("bprop.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def versions() -> dict[str, str]:
    """Python, NumPy, bprop, matplotlib and platform versions (for reproducing a report)."""
    import matplotlib
    import numpy

    import bprop

    return {
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "bprop": bprop.__version__,
        "matplotlib": matplotlib.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": str(os.cpu_count()),
    }


def _cell(v: Any, digits: int = 4) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def slug(text: str) -> str:
    """An anchor from a heading: ``"Summary: XOR (batch)"`` → ``"summary-xor-batch"``."""
    return re.sub(r"[^0-9a-z]+", "-", text.lower()).strip("-") or "section"


class Report:
    """An HTML report built block by block, written as one self-contained file."""

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title, self.subtitle = title, subtitle
        self.blocks: list[dict[str, Any]] = []
        self.anchors: set[str] = {"top"}
        self.n_figures = 0

    def _anchor(self, text: str) -> str:
        base = slug(text)
        anchor, k = base, 1
        while anchor in self.anchors:
            k += 1
            anchor = f"{base}-{k}"
        self.anchors.add(anchor)
        return anchor

    def heading(self, text: str, level: int = 2) -> str:
        """A section (level 2) or subsection (3, 4); returns its anchor."""
        if level not in (2, 3, 4):
            raise ValueError(f"heading level must be 2, 3 or 4 (1 is the title), got {level}")
        anchor = self._anchor(text)
        self.blocks.append({"kind": "heading", "text": text, "level": level, "anchor": anchor})
        return anchor

    def paragraph(self, text: str, raw: bool = False, cls: str = "") -> None:
        """A paragraph; ``raw=True`` takes ``text`` as HTML (for links and emphasis)."""
        self.blocks.append({"kind": "paragraph", "text": text, "raw": raw, "cls": cls})

    def pre(self, text: str) -> None:
        """Preformatted text (e.g. a summary table printed as text)."""
        self.blocks.append({"kind": "pre", "text": text})

    def figure(self, fig: Any, caption: str = "", alt: str | None = None) -> None:
        """Embed a matplotlib Figure (rendered to PNG now and released) or PNG bytes."""
        png = fig if isinstance(fig, bytes) else plots.to_png(fig)
        self.n_figures += 1
        self.blocks.append(
            {
                "kind": "figure",
                "src": plots.data_uri(png),
                "caption": caption,
                "alt": alt or caption or f"figure {self.n_figures}",
            }
        )

    def table(
        self,
        rows: Sequence[dict[str, Any]],
        columns: Sequence[str] | dict[str, str] | None = None,
        text_columns: Sequence[str] = (),
        flag_key: str | None = None,
        digits: int = 4,
    ) -> None:
        """A table of ``rows`` (dicts); ``columns`` picks keys (a dict maps key → header);
        ``text_columns`` are left-aligned; rows whose ``flag_key`` is true are marked."""
        if not rows:
            self.paragraph("(no rows)", cls="note")
            return
        if columns is None:
            columns = list(rows[0])
        headers = columns if isinstance(columns, dict) else {c: c for c in columns}
        self.blocks.append(
            {
                "kind": "table",
                "columns": [{"head": h, "text": k in text_columns} for k, h in headers.items()],
                "rows": [
                    {
                        "flag": flag_key is not None and bool(r.get(flag_key)),
                        "cells": [_cell(r.get(k), digits) for k in headers],
                    }
                    for r in rows
                ],
            }
        )

    def key_values(self, mapping: dict[str, Any]) -> None:
        """Add a two-column table of settings and their values."""
        self.table(
            [
                {"key": k, "value": v if not isinstance(v, (dict, list)) else json.dumps(v)}
                for k, v in mapping.items()
            ],
            {"key": "setting", "value": "value"},
            text_columns=("key", "value"),
            digits=8,
        )

    def reproduce(self, config: dict[str, Any] | None = None, command: str | None = None) -> None:
        """The 'reproduce this' section: command, configuration and versions."""
        self.heading("Configuration and versions")
        if command:
            self.paragraph("Command to reproduce this report:")
            self.pre(command)
        if config:
            self.paragraph("Exact configuration:")
            self.pre(json.dumps(config, indent=2, default=str))
        self.paragraph("Versions:")
        self.key_values(versions())

    def contents(self) -> list[dict[str, Any]]:
        """The contents list: each section's text and anchor, with its subsections."""
        toc: list[dict[str, Any]] = []
        for b in self.blocks:
            if b["kind"] != "heading":
                continue
            entry = {"text": b["text"], "anchor": b["anchor"], "children": []}
            if b["level"] == 2 or not toc:
                toc.append(entry)
            elif b["level"] == 3:
                toc[-1]["children"].append(entry)
        return toc

    def render(self) -> str:
        """The whole report as one self-contained HTML page (figures embedded)."""
        return (
            _environment()
            .get_template("report.html.j2")
            .render(
                title=self.title,
                subtitle=self.subtitle,
                version=versions()["bprop"],
                stamp=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
                toc=self.contents(),
                blocks=self.blocks,
            )
        )

    def write(self, out_dir: str | os.PathLike, name: str = "index.html") -> str:
        """Write the report as ``out_dir/name`` (directories are created), atomically;
        returns the path."""
        from bprop.modelfile.atomic import write_atomically

        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(os.fspath(out_dir), name)
        data = self.render().encode("utf-8")
        write_atomically(path, lambda fh: fh.write(data))
        return path
