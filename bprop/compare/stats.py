"""Paired significance tests over seeds for a comparison: is a method's final loss different
from the best method's? Runs of one seed start from the same weights and data order, so the
runs of two methods pair up by seed, and the Wilcoxon signed-rank test
(``scipy.stats.wilcoxon``, two-sided, exact for small samples) tests whether the paired
differences are centred on zero — no normality assumed.

With n paired seeds the smallest two-sided p-value the exact test can give is 2/2ⁿ: 0.0625
for 5 seeds, 0.0039 for 8; a "not significant" result on 3–5 seeds says the sample is too
small, not that the methods are equal.

Example::

    >>> rows = [{"method": m, "schedule": "batch", "seed": s, "train_loss": v}
    ...         for m, vals in (("a", [1, 2, 3, 4, 5, 6]), ("b", [2, 3, 4, 5, 6, 7]))
    ...         for s, v in enumerate(vals)]
    >>> t = paired_tests(rows)[0]
    >>> t["method"], t["versus"], t["n"], round(t["p_value"], 4)
    ('b', 'a', 6, 0.0312)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _final(row: dict[str, Any], metric: str) -> float | None:
    v = row.get(metric)
    if v is None or v == "":
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def paired_tests(rows: Sequence[dict[str, Any]], metric: str = "train_loss") -> list[dict]:
    """For each method × schedule group but the best (lowest median ``metric``), the
    Wilcoxon signed-rank test of its ``metric`` against the best group's, paired by seed:
    ``method``, ``schedule``, ``versus`` (the best group, "method/schedule" when schedules
    differ), ``n`` (paired seeds), ``median_difference`` (group − best), ``statistic`` and
    ``p_value`` (None when fewer than 2 pairs or all differences are zero)."""
    from scipy.stats import wilcoxon

    groups: dict[tuple[str, str], dict[int, float]] = {}
    for r in rows:
        v = _final(r, metric)
        if v is not None:
            groups.setdefault((str(r["method"]), str(r["schedule"])), {})[int(r["seed"])] = v
    if len(groups) < 2:
        return []
    best = min(groups, key=lambda g: float(np.median(list(groups[g].values()))))
    schedules = {s for _, s in groups}
    label = best[0] if len(schedules) == 1 else f"{best[0]}/{best[1]}"
    out = []
    for g, vals in groups.items():
        if g == best:
            continue
        seeds = sorted(set(vals) & set(groups[best]))
        d = np.array([vals[s] - groups[best][s] for s in seeds])
        stat = p = None
        if len(seeds) >= 2 and np.any(d != 0):
            res = wilcoxon(d)
            stat, p = float(res.statistic), float(res.pvalue)
        out.append(
            {
                "method": g[0],
                "schedule": g[1],
                "versus": label,
                "n": len(seeds),
                "median_difference": float(np.median(d)) if len(d) else None,
                "statistic": stat,
                "p_value": p,
            }
        )
    return out


def format_tests(tests: Sequence[dict[str, Any]], metric: str = "train_loss") -> str:
    """The tests as lines for the plain-text summary."""
    if not tests:
        return ""
    lines = [f"Paired Wilcoxon signed-rank tests of the final {metric} against the best group:"]
    for t in tests:
        p = "—" if t["p_value"] is None else f"{t['p_value']:.3g}"
        lines.append(
            f"  {t['method']}/{t['schedule']} vs {t['versus']}: n = {t['n']}, median "
            f"difference {t['median_difference']:+.4g}, p = {p}"
        )
    return "\n".join(lines)
