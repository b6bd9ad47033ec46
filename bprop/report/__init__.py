"""Plots and the self-contained HTML report (matplotlib, Agg; figures embedded as data URIs).

Example::

    >>> from bprop.report import Report
    >>> Report("empty").render().startswith("<!DOCTYPE html>")
    True
"""

from bprop.report.html import Report, add_diagnostics, add_grid, compare_report, versions

__all__ = ["Report", "add_diagnostics", "add_grid", "compare_report", "versions"]
