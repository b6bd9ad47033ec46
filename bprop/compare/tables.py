"""The summary of a comparison as a Markdown table (for a README or a notebook) and a LaTeX
``tabular`` (booktabs rules, for a paper), with the paired tests' p-values as a column.

Example::

    >>> s = [{"method": "adam:lr=0.002", "schedule": "batch", "runs": 5, "successes": 4,
    ...       "epochs_median": 12.0, "epochs_q1": 10.0, "epochs_q3": 15.0,
    ...       "seconds_median": 0.5, "seconds_q1": 0.4, "seconds_q3": 0.6,
    ...       "train_loss": 0.01, "val_loss": None, "flag": ""}]
    >>> print(to_markdown(s).splitlines()[2])
    | adam:lr=0.002 | batch | 4/5 | 12 [10–15] | 0.5 [0.4–0.6] | 0.01 | — |
    >>> "\\\\toprule" in to_latex(s) and "adam:lr=0.002" in to_latex(s)
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

HEADERS = (
    "method",
    "schedule",
    "success",
    "epochs to target",
    "seconds to target",
    "final {metric}",
    "p (Wilcoxon, vs best)",
)


def _headers(metric: str) -> list[str]:
    return [h.format(metric=metric.replace("_", " ")) for h in HEADERS]


def _cells(s: dict[str, Any], tests: dict[tuple[str, str], dict], metric: str) -> list[str]:
    succ = f"{s['successes']}/{s['runs']}" if s["runs"] else "—"
    if s.get("epochs_median") is not None:
        ep = f"{s['epochs_median']:.0f} [{s['epochs_q1']:.0f}–{s['epochs_q3']:.0f}]"
        sec = f"{s['seconds_median']:.3g} [{s['seconds_q1']:.3g}–{s['seconds_q3']:.3g}]"
    else:
        ep = sec = "—"
    loss = "—" if s.get(metric) is None else f"{s[metric]:.4g}"
    t = tests.get((s["method"], s["schedule"]))
    if t is None:
        p = "best" if tests and s["runs"] else "—"
    else:
        p = "—" if t["p_value"] is None else f"{t['p_value']:.3g}"
    return [str(s["method"]), str(s["schedule"]), succ, ep, sec, loss, p]


def _by_group(tests: Sequence[dict[str, Any]] | None) -> dict[tuple[str, str], dict]:
    return {(t["method"], t["schedule"]): t for t in tests or ()}


def to_markdown(
    summary: Sequence[dict[str, Any]],
    tests: Sequence[dict] | None = None,
    metric: str = "train_loss",
) -> str:
    """The summary as a GitHub-flavoured Markdown table (``metric``: the final-loss column
    and the one the tests compared)."""
    by = _by_group(tests)
    lines = ["| " + " | ".join(_headers(metric)) + " |", "|---|---|" + "---:|" * (len(HEADERS) - 2)]
    lines += ["| " + " | ".join(_cells(s, by, metric)) + " |" for s in summary]
    return "\n".join(lines)


_TEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "_": r"\_",
    "#": r"\#",
    "$": r"\$",
    "{": r"\{",
    "}": r"\}",
    "–": "--",
    "—": "---",
    "−": "-",
}


def _tex(text: str) -> str:
    """Text with LaTeX's special characters escaped."""
    return "".join(_TEX.get(c, c) for c in text)


def to_latex(
    summary: Sequence[dict[str, Any]],
    tests: Sequence[dict] | None = None,
    caption: str = "Median [25th–75th percentile] over the successful seeds.",
    metric: str = "train_loss",
) -> str:
    """The summary as a LaTeX ``table`` with a booktabs ``tabular``."""
    by = _by_group(tests)
    body = [" & ".join(_tex(c) for c in _cells(s, by, metric)) + r" \\" for s in summary]
    return "\n".join(
        [
            r"\begin{table}[ht]",
            r"\centering",
            r"\begin{tabular}{ll" + "r" * (len(HEADERS) - 2) + "}",
            r"\toprule",
            " & ".join(_tex(h) for h in _headers(metric)) + r" \\",
            r"\midrule",
            *body,
            r"\bottomrule",
            r"\end{tabular}",
            r"\caption{" + _tex(caption) + "}",
            r"\end{table}",
        ]
    )
