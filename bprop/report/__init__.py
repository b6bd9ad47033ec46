"""Plots and the self-contained HTML report (matplotlib, Agg; Jinja2 templates; figures
embedded as data URIs).

Example::

    >>> from bprop.report import Report
    >>> Report("empty").render().startswith("<!DOCTYPE html>")
    True
"""

from bprop.report.html import Report, versions
from bprop.report.sections import add_diagnostics, add_grid, compare_report

__all__ = ["Report", "add_diagnostics", "add_grid", "compare_report", "versions"]
