"""One self-contained HTML report: figures embedded as base64 PNG data URIs, inline CSS, and
no external URL of any kind — the file can be mailed, archived or opened offline.

:class:`Report` collects sections (headings, paragraphs, tables, figures, preformatted text)
and writes ``index.html``. :func:`compare_report` builds the report of a
:func:`bprop.compare.run_grid` comparison: learning curves against epochs and seconds, the
summary table, the exact configuration, the versions and the command to reproduce it.

Example::

    >>> import pathlib, tempfile
    >>> from bprop.report import Report
    >>> from bprop.report.plots import curve_figure
    >>> rep = Report("demo")
    >>> rep.heading("Curves")
    >>> rep.figure(curve_figure({"loss": [1.0, 0.5, 0.2]}), "a falling loss")
    >>> path = rep.write(tempfile.mkdtemp())
    >>> "data:image/png;base64," in pathlib.Path(path).read_text()
    True
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import os
import platform
import sys
from collections.abc import Sequence
from typing import Any

from bprop.report import plots

_CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       max-width: 1100px; margin: 2em auto; padding: 0 1.2em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; padding-bottom: .2em; }
h2 { margin-top: 2em; border-bottom: 1px solid #bbb; padding-bottom: .15em; }
h3 { margin-top: 1.4em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .88em; }
th, td { border: 1px solid #ccc; padding: .25em .55em; text-align: right; }
th { background: #f0f0f0; }
td.text, th.text { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
tr.flag td { color: #a33; }
figure { margin: 1em 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .88em; color: #555; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: .7em; overflow-x: auto;
      font-size: .85em; }
.note { color: #555; font-size: .9em; }
nav ul { columns: 2; }
"""


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
    return html.escape(str(v))


class Report:
    """An HTML report built section by section, written as one self-contained file."""

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title, self.subtitle = title, subtitle
        self.parts: list[str] = []
        self.toc: list[tuple[str, str]] = []
        self.n_figures = 0

    def heading(self, text: str, level: int = 2) -> None:
        """Add a section heading; level-2 headings are listed in the contents."""
        anchor = f"s{len(self.toc) + 1}"
        if level == 2:
            self.toc.append((anchor, text))
        self.parts.append(f'<h{level} id="{anchor}">{html.escape(text)}</h{level}>')

    def paragraph(self, text: str, raw: bool = False, cls: str = "") -> None:
        """Add a paragraph of text (HTML-escaped unless ``raw``), with an optional CSS class."""
        body = text if raw else html.escape(text)
        attr = f' class="{cls}"' if cls else ""
        self.parts.append(f"<p{attr}>{body}</p>")

    def pre(self, text: str) -> None:
        """Add preformatted text (e.g. a summary table printed as text)."""
        self.parts.append(f"<pre>{html.escape(text)}</pre>")

    def figure(self, fig: Any, caption: str = "", alt: str | None = None) -> None:
        """Embed a matplotlib Figure (rendered to PNG now and released) or PNG bytes."""
        png = fig if isinstance(fig, bytes) else plots.to_png(fig)
        self.n_figures += 1
        alt_text = html.escape(alt or caption or f"figure {self.n_figures}")
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self.parts.append(
            f'<figure><img alt="{alt_text}" src="{plots.data_uri(png)}">{cap}</figure>'
        )

    def table(
        self,
        rows: Sequence[dict[str, Any]],
        columns: Sequence[str] | dict[str, str] | None = None,
        text_columns: Sequence[str] = (),
        flag_key: str | None = None,
        digits: int = 4,
    ) -> None:
        """A table of ``rows`` (dicts); ``columns`` picks keys (a dict maps key → header)."""
        if not rows:
            self.paragraph("(no rows)", cls="note")
            return
        if columns is None:
            columns = list(rows[0])
        headers = columns if isinstance(columns, dict) else {c: c for c in columns}
        out = ["<table><thead><tr>"]
        for key, head in headers.items():
            cls = ' class="text"' if key in text_columns else ""
            out.append(f"<th{cls}>{html.escape(head)}</th>")
        out.append("</tr></thead><tbody>")
        for r in rows:
            flagged = flag_key is not None and bool(r.get(flag_key))
            out.append('<tr class="flag">' if flagged else "<tr>")
            for key in headers:
                cls = ' class="text"' if key in text_columns else ""
                out.append(f"<td{cls}>{_cell(r.get(key), digits)}</td>")
            out.append("</tr>")
        out.append("</tbody></table>")
        self.parts.append("".join(out))

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

    def render(self) -> str:
        """The whole report as one self-contained HTML page (figures embedded)."""
        stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        toc = ""
        if len(self.toc) > 1:
            items = "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in self.toc)
            toc = f"<nav><ul>{items}</ul></nav>"
        sub = f'<p class="note">{html.escape(self.subtitle)}</p>' if self.subtitle else ""
        body = "\n".join(self.parts)
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1>{sub}"
            f'<p class="note">Written by bprop {html.escape(versions()["bprop"])} on {stamp}. '
            "Self-contained: every figure is embedded in this file.</p>"
            f"{toc}\n{body}\n</body></html>\n"
        )

    def write(self, out_dir: str | os.PathLike, name: str = "index.html") -> str:
        """Write the report as ``out_dir/name`` (directories are created); returns the path."""
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(os.fspath(out_dir), name)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(self.render())
        os.replace(tmp, path)
        return path


SUMMARY_COLUMNS = {
    "method": "method",
    "schedule": "schedule",
    "success_rate": "success rate",
    "epochs_median": "epochs to target (median)",
    "epochs_q1": "25th pct",
    "epochs_q3": "75th pct",
    "seconds_median": "seconds to target (median)",
    "seconds_q1": "25th pct",
    "seconds_q3": "75th pct",
    "train_loss": "final train loss",
    "val_loss": "final val loss",
    "train_accuracy": "final train acc",
    "val_accuracy": "final val acc",
    "flag": "note",
}


def add_grid(
    report: Report,
    rows: Sequence[dict[str, Any]],
    title: str,
    intro: str = "",
    target_loss: float | None = None,
) -> list[dict[str, Any]]:
    """Add a comparison grid to ``report``: curves against epochs and seconds, and the summary
    table (medians and IQRs over successful runs). Returns the summary."""
    from bprop.compare import summarize

    summary = summarize(rows)
    report.heading(title)
    if intro:
        report.paragraph(intro)
    if target_loss is None:
        target_loss = getattr(rows, "config", {}).get("target_loss")
    report.figure(
        plots.learning_curves(rows, "epochs", target_loss=target_loss),
        "Training loss against epochs: the line is the median over seeds, the band the "
        "interquartile range. Runs stop at the target loss and are held at their last value.",
    )
    report.figure(
        plots.learning_curves(rows, "seconds", target_loss=target_loss),
        "The same runs against training wall-clock seconds (each run interpolated onto a "
        "common time grid).",
    )
    if any(
        r.get("curves", {}).get("val_loss") and r["curves"]["val_loss"][0] is not None for r in rows
    ):
        report.figure(
            plots.learning_curves(rows, "epochs", metric="val_loss"),
            "Validation loss against epochs (median and IQR over seeds).",
        )
    report.heading("Summary: " + title, level=3)
    report.table(
        [
            {
                **s,
                "flag": "; ".join(
                    filter(None, [s["flag"], f"{s['diverged']} diverged" if s["diverged"] else ""])
                ),
            }
            for s in summary
        ],
        SUMMARY_COLUMNS,
        text_columns=("method", "schedule", "flag"),
        flag_key="flag",
    )
    report.paragraph(
        "Epochs and seconds to target: median and 25th/75th percentiles over the runs that "
        "reached the target training loss; final losses and accuracies: medians over all runs.",
        cls="note",
    )
    return summary


def add_diagnostics(report: Report, diag: Any, title: str = "Gradient diagnostics") -> None:
    """Add a :class:`bprop.diagnostics.GradientDiagnostics`'s figures and table."""
    report.heading(title, level=3)
    if diag.grad_norms:
        report.figure(
            plots.gradient_norm_figure(diag),
            "Per-layer gradient norm ‖∂L/∂θ‖ measured on a fixed sample after each epoch.",
        )
    if diag.saturation or diag.dead_relu:
        report.figure(plots.saturation_figure(diag))
    if diag.time_norms:
        report.figure(
            plots.time_norm_figure({n: v[-1] for n, v in diag.time_norms.items()}),
            "‖∂L/∂h_t‖ against t at the last measured epoch.",
        )
    report.table(diag.summary_rows(), text_columns=("layer",))
    if diag.messages:
        report.paragraph("Warnings raised: " + " | ".join(diag.messages), cls="note")


def compare_report(
    out_dir: str | os.PathLike,
    rows: Sequence[dict[str, Any]],
    command: str | None = None,
    diagnostics: Sequence[tuple[str, Any]] = (),
    title: str | None = None,
) -> str:
    """Write ``out_dir/index.html`` for a :func:`bprop.compare.run_grid` result; returns the
    path. ``diagnostics``: (title, GradientDiagnostics) pairs to add."""
    config = dict(getattr(rows, "config", {}))
    name = config.get("data", "")
    rep = Report(title or f"bprop compare: {name}", f"{len(rows)} runs")
    add_grid(rep, rows, f"Learning curves on {name}")
    for t, d in diagnostics:
        add_diagnostics(rep, d, t)
    rep.reproduce(config, command)
    return rep.write(out_dir)
