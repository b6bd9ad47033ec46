"""The summary of a comparison grid: per method × schedule, the median and interquartile range
of epochs and seconds to target over the successful runs, the success rate and the medians of
the final losses and accuracies (:func:`summarize`); the plain-text table of it
(:func:`format_summary`)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def _median_iqr(values: list[float]) -> tuple[float | None, float | None, float | None]:
    if not values:
        return None, None, None
    q1, med, q3 = np.percentile(np.asarray(values, np.float64), [25, 50, 75])
    return float(med), float(q1), float(q3)


def _median(values: Iterable[Any]) -> float | None:
    vals = [float(v) for v in values if v is not None and not _isnan(v)]
    return float(np.median(vals)) if vals else None


def _isnan(v: Any) -> bool:
    try:
        return math.isnan(float(v))
    except (TypeError, ValueError):
        return False


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method × schedule (in the order first met): ``runs``, ``successes``,
    ``success_rate``; ``epochs_median``/``epochs_q1``/``epochs_q3`` and ``seconds_median``/
    ``seconds_q1``/``seconds_q3`` to target over the successful runs (``None`` if none
    succeeded); the medians over all runs of the final ``train_loss``, ``val_loss``,
    ``train_accuracy``, ``val_accuracy``; ``diverged`` (runs that diverged); ``flag``:
    ``"full-batch rule on <schedule> updates"`` for a mismatch that ran, ``"skipped: …"`` for
    one that was skipped (those have ``runs`` = 0; the reason is the grid's
    ``config["skip_reasons"]["method/schedule"]`` when it gives one).

    Accepts the rows of :func:`run_grid` or of :func:`read_csv` (strings are converted).
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((str(r["method"]), str(r["schedule"])), []).append(r)
    out = []
    for (method, schedule), rs in groups.items():
        ok = [r for r in rs if _truthy(r["success"])]
        e_med, e_q1, e_q3 = _median_iqr([float(r["epochs_to_target"]) for r in ok])
        s_med, s_q1, s_q3 = _median_iqr([float(r["seconds_to_target"]) for r in ok])
        mismatch = any(_truthy(r.get("full_batch_mismatch", False)) for r in rs)
        out.append(
            {
                "method": method,
                "schedule": schedule,
                "runs": len(rs),
                "successes": len(ok),
                "success_rate": len(ok) / len(rs),
                "epochs_median": e_med,
                "epochs_q1": e_q1,
                "epochs_q3": e_q3,
                "seconds_median": s_med,
                "seconds_q1": s_q1,
                "seconds_q3": s_q3,
                "train_loss": _median(_num(r.get("train_loss")) for r in rs),
                "val_loss": _median(_num(r.get("val_loss")) for r in rs),
                "train_accuracy": _median(_num(r.get("train_accuracy")) for r in rs),
                "val_accuracy": _median(_num(r.get("val_accuracy")) for r in rs),
                "diverged": sum(str(r.get("stopped_because")) == "diverged" for r in rs),
                "flag": f"full-batch rule on {schedule} updates" if mismatch else "",
            }
        )
    reasons = getattr(rows, "config", {}).get("skip_reasons", {})
    for method, schedule in getattr(rows, "skipped", []):
        out.append(
            {
                "method": method,
                "schedule": schedule,
                "runs": 0,
                "successes": 0,
                "success_rate": None,
                **dict.fromkeys(
                    (
                        "epochs_median",
                        "epochs_q1",
                        "epochs_q3",
                        "seconds_median",
                        "seconds_q1",
                        "seconds_q3",
                        "train_loss",
                        "val_loss",
                        "train_accuracy",
                        "val_accuracy",
                    )
                ),
                "diverged": 0,
                "flag": reasons.get(f"{method}/{schedule}")
                or f"skipped: full-batch rule on {schedule} updates "
                "(allow_full_batch_mismatch / --allow-mismatch runs it)",
            }
        )
    return out


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes")
    return bool(v)


def _num(v: Any) -> float | None:
    if v is None or v == "":
        return None
    return float(v)


def _fmt(v: Any, spec: str) -> str:
    if v is None:
        width = re.match(r"\d*", spec).group()
        return "—".rjust(int(width) if width else 1)
    return format(v, spec)


def format_summary(summary: Sequence[dict[str, Any]]) -> str:
    """The summary as a plain-text table (what ``bprop compare`` prints)."""
    head = (
        f"{'method':12s} {'schedule':9s} {'success':>8s} {'epochs to target':>18s} "
        f"{'seconds to target':>26s} {'train loss':>10s} {'val loss':>9s} "
        f"{'train acc':>9s} {'val acc':>8s}  note"
    )
    lines = [head, "-" * len(head)]
    for s in summary:
        succ = f"{s['successes']}/{s['runs']}" if s["runs"] else "—"
        if s["epochs_median"] is not None:
            ep = f"{s['epochs_median']:.0f} [{s['epochs_q1']:.0f}–{s['epochs_q3']:.0f}]"
            sec = f"{s['seconds_median']:.3g} [{s['seconds_q1']:.3g}–{s['seconds_q3']:.3g}]"
        else:
            ep = sec = "—"
        note = s["flag"]
        if s["diverged"]:
            note = (note + "; " if note else "") + f"{s['diverged']} diverged"
        lines.append(
            f"{s['method']:12s} {s['schedule']:9s} {succ:>8s} {ep:>18s} {sec:>26s} "
            f"{_fmt(s['train_loss'], '10.4g')} {_fmt(s['val_loss'], '9.4g')} "
            f"{_fmt(s['train_accuracy'], '9.3f')} {_fmt(s['val_accuracy'], '8.3f')}  {note}"
        )
    lines.append("epochs/seconds to target: median [25th–75th percentile] over successful runs")
    return "\n".join(lines)
