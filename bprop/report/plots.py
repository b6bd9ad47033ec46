"""Figures for the report, drawn with matplotlib's object API on the Agg renderer.

No ``pyplot`` is used: figures are plain :class:`matplotlib.figure.Figure` objects (so no GUI
backend is ever selected and nothing is left in a global registry), rendered to PNG bytes by
:func:`to_png` and released. Every plotting function returns a Figure.

- :func:`learning_curves` — per method × schedule, the median training loss across seeds
  with the interquartile range (25th–75th percentile) as a band, against epochs or against
  seconds. A run that stopped early (it reached the target loss) is held at its last value
  afterwards, so the median is over every seed at every point; against seconds each run's
  curve is interpolated onto a common time grid.
- :func:`curve_figure` — any named curves (e.g. full vs truncated BPTT).
- :func:`gradient_norm_figure`, :func:`saturation_figure`, :func:`time_norm_figure` —
  the diagnostics of :class:`bprop.diagnostics.GradientDiagnostics`.

Example::

    >>> from bprop.report.plots import curve_figure, to_png
    >>> png = to_png(curve_figure({"a": [3, 2, 1]}, xlabel="epoch", ylabel="loss"))
    >>> png[:4] == b"\\x89PNG"
    True
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# ten colours that stay apart for colour-blind readers and on a projector (Tol's "muted" and
# "bright" schemes); beyond ten series the line style and a marker tell them apart too
_COLORS = [
    "#0077bb",
    "#cc3311",
    "#009988",
    "#ee7733",
    "#882255",
    "#33bbee",
    "#117733",
    "#aa4499",
    "#555555",
    "#999933",
]
_DASHES = ["-", "--", "-.", ":"]
_MARKERS = ["", "o", "s", "^"]
_STYLES = {"batch": "-", "minibatch": "--", "online": ":"}

#: type sizes for a figure shown at the report's full width or projected
_RC = {
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "lines.linewidth": 2.0,
}


def series_style(i: int) -> dict[str, Any]:
    """Colour, line style and marker of series ``i``: distinct for 40 series (ten colours,
    then each again dashed with a marker, and so on)."""
    k = i // len(_COLORS)
    style = {"color": _COLORS[i % len(_COLORS)], "linestyle": _DASHES[k % len(_DASHES)]}
    if _MARKERS[k % len(_MARKERS)]:
        style.update(marker=_MARKERS[k % len(_MARKERS)], markevery=0.1, markersize=5)
    return style


def readable(fn: Any) -> Any:
    """Draw under the report's type sizes (:data:`_RC`)."""
    import functools

    import matplotlib

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context(_RC):
            return fn(*args, **kwargs)

    return wrapper


def new_figure(width: float = 10.0, height: float = 4.8) -> Figure:
    """A Figure attached to an Agg canvas (sized for the report's full width)."""
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


@readable
def to_png(fig: Figure, dpi: int = 130) -> bytes:
    """Render ``fig`` as PNG bytes and release it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    fig.clf()
    return buf.getvalue()


def legend(ax: Any, n: int) -> None:
    """The legend: inside the axes for a few series, below the plot in columns for many."""
    if n == 0:
        return
    if n <= 6:
        ax.legend(loc="best")
    else:
        ax.figure.legend(*ax.get_legend_handles_labels(), loc="outside lower center",
                         ncol=3 if n > 8 else 2)  # fmt: skip


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,…`` for embedding PNG bytes in HTML."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _padded(curves: list[list[float]]) -> np.ndarray:
    """Stack curves of different lengths, each held at its last value (runs, epochs)."""
    n = max(len(c) for c in curves)
    out = np.empty((len(curves), n))
    for i, c in enumerate(curves):
        c = np.asarray(c, np.float64)
        out[i, : len(c)] = c
        out[i, len(c) :] = c[-1] if len(c) else np.nan
    return out


def _on_time_grid(curves: list[list[float]], times: list[list[float]], points: int = 200):
    """Interpolate each run's curve onto one grid of seconds (held at its last value)."""
    t_end = max(t[-1] for t in times if t)
    grid = np.linspace(0.0, t_end, points)
    out = np.empty((len(curves), points))
    for i, (c, t) in enumerate(zip(curves, times, strict=True)):
        t, c = np.asarray(t, np.float64), np.asarray(c, np.float64)
        out[i] = np.interp(grid, t, c, left=np.nan, right=c[-1])
    return grid, out


def _groups(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r.get("curves") and r["curves"].get("train_loss"):
            groups.setdefault((r["method"], r["schedule"]), []).append(r)
    return groups


@readable
def learning_curves(
    rows: Sequence[dict[str, Any]],
    x: str = "epochs",
    metric: str = "train_loss",
    target_loss: float | None = None,
    title: str | None = None,
    log: bool = True,
) -> Figure:
    """Median ``metric`` across seeds with an IQR band, one line per method × schedule
    (colour: method; line style: schedule), against ``x`` = ``"epochs"`` or ``"seconds"``."""
    fig = new_figure(10.0, 5.6)
    ax = fig.add_subplot()
    groups = _groups(rows)
    methods = list(dict.fromkeys(m for m, _ in groups))
    schedules = list(dict.fromkeys(s for _, s in groups))
    for (method, schedule), rs in groups.items():
        # colour (and past ten, a marker): the method, or the schedule when there is one method
        k = methods.index(method) if len(methods) > 1 else schedules.index(schedule)
        style = series_style(k)
        style["linestyle"] = _STYLES.get(schedule, "-")
        color = style["color"]
        curves = [[np.nan if v is None else v for v in r["curves"][metric]] for r in rs]
        if all(np.all(np.isnan(c)) for c in curves):
            continue
        if x == "seconds":
            xs, Y = _on_time_grid(curves, [r["curves"]["seconds"] for r in rs])
        else:
            Y = _padded(curves)
            xs = np.arange(1, Y.shape[1] + 1)
        with np.errstate(invalid="ignore"), _quiet_nan():
            q1, med, q3 = np.nanpercentile(Y, [25, 50, 75], axis=0)
        label = f"{method} ({schedule}, {len(rs)} seeds)"
        ax.plot(xs, med, label=label, **style)
        if len(rs) > 1:
            ax.fill_between(xs, q1, q3, color=color, alpha=0.18, lw=0)
    if target_loss is not None:
        ax.axhline(target_loss, color="k", lw=0.8, ls="-.", label=f"target {target_loss:g}")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch" if x == "epochs" else "seconds (training wall clock)")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(title or f"{metric.replace('_', ' ')} against {x}: median and IQR over seeds")
    ax.grid(True, alpha=0.3)
    legend(ax, len(groups) + (target_loss is not None))
    return fig


class _quiet_nan:  # noqa: N801 - a context manager used like a function
    """Silence numpy's 'All-NaN slice' RuntimeWarning (columns before a run's first time)."""

    def __enter__(self) -> None:
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)


@readable
def curve_figure(
    curves: dict[str, Sequence[float]],
    xs: dict[str, Sequence[float]] | None = None,
    xlabel: str = "epoch",
    ylabel: str = "loss",
    title: str = "",
    log: bool = False,
    hline: tuple[float, str] | None = None,
) -> Figure:
    """One line per named curve (x: 1, 2, … unless ``xs`` gives it)."""
    fig = new_figure()
    ax = fig.add_subplot()
    for i, (name, ys) in enumerate(curves.items()):
        ys = np.asarray(ys, np.float64)
        x = np.asarray(xs[name]) if xs and name in xs else np.arange(1, len(ys) + 1)
        ax.plot(x, ys, label=name, **series_style(i))
    if hline is not None:
        ax.axhline(hline[0], color="k", lw=0.8, ls="-.", label=hline[1])
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    legend(ax, len(curves) + (hline is not None))
    return fig


@readable
def gradient_norm_figure(diag: Any, title: str = "") -> Figure:
    """Two panels: per-layer gradient norms at the first and last measured epochs against
    layer depth, and every layer's norm against epoch (log scale)."""
    fig = new_figure(10.0, 4.6)
    ax1, ax2 = fig.subplots(1, 2)
    names = list(diag.grad_norms)
    depth = np.arange(1, len(names) + 1)
    first = [diag.grad_norms[n][0] for n in names]
    last = [diag.grad_norms[n][-1] for n in names]
    ax1.semilogy(depth, first, "o-", label=f"epoch {diag.epochs[0]}")
    if len(diag.epochs) > 1:
        ax1.semilogy(depth, last, "s--", label=f"epoch {diag.epochs[-1]}")
    ax1.set_xlabel("layer (1 = nearest the input)")
    ax1.set_ylabel("‖∂L/∂θ‖ of the layer")
    ax1.set_xticks(depth)
    ax1.grid(True, alpha=0.3)
    ax1.legend()
    ax1.set_title("gradient norm by depth")
    for i, n in enumerate(names):
        ax2.semilogy(diag.epochs, diag.grad_norms[n], label=n, **series_style(i))
    ax2.set_xlabel("epoch")
    ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.set_title("gradient norm by epoch")
    ax2.grid(True, alpha=0.3)
    legend(ax2, len(names))
    if title:
        fig.suptitle(title)
    return fig


@readable
def saturation_figure(diag: Any, title: str = "") -> Figure:
    """Fraction of saturated sigmoid/tanh outputs and of dead ReLUs per activation layer
    against epoch."""
    fig = new_figure(10.0, 4.6)
    ax = fig.add_subplot()
    i = 0
    for kind, series in (("saturated", diag.saturation), ("dead", diag.dead_relu)):
        for name, vals in series.items():
            ax.plot(diag.epochs, vals, label=f"{name} {kind}", **series_style(i))
            i += 1
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("fraction of units")
    ax.set_title(
        title
        or f"saturated sigmoid/tanh (|y| within {diag.saturation_threshold:g} of an asymptote)"
        " and dead ReLUs"
    )
    ax.grid(True, alpha=0.3)
    legend(ax, i)
    return fig


@readable
def time_norm_figure(series: dict[str, Sequence[float]], title: str = "") -> Figure:
    """‖∂L/∂h_t‖ against t, one line per named network (log scale)."""
    fig = new_figure()
    ax = fig.add_subplot()
    for i, (name, norms) in enumerate(series.items()):
        norms = np.asarray(norms, np.float64)
        ax.semilogy(np.arange(1, len(norms) + 1), norms, label=name, **series_style(i))
    ax.set_xlabel("time step t")
    ax.set_ylabel("‖∂L/∂h_t‖")
    ax.set_title(title or "gradient reaching each time step (loss at the last step only)")
    ax.grid(True, alpha=0.3)
    legend(ax, len(series))
    return fig


@readable
def settling_figure(
    completion_loss: Sequence[float], xor_curves: Sequence[Sequence[float]], solved: Sequence[bool]
) -> Figure:
    """Almeida–Pineda training: the pattern-completion loss by epoch (left) and every settling
    XOR run's loss by epoch, solid when it solved XOR and dashed when it did not (right)."""
    fig = new_figure(10.0, 4.4)
    ax1, ax2 = fig.subplots(1, 2)
    ax1.semilogy(np.arange(1, len(completion_loss) + 1), completion_loss, **series_style(0))
    ax1.set_title("pattern completion: training loss")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("mean squared error at the fixed point")
    for i, (curve, ok) in enumerate(zip(xor_curves, solved, strict=True)):
        style = series_style(i)
        style["linestyle"] = "-" if ok else "--"
        label = f"seed {i}: {'solved' if ok else 'not solved'}"
        ax2.semilogy(np.arange(1, len(curve) + 1), curve, label=label, **style)
    ax2.set_title("settling XOR: training loss per run")
    ax2.set_xlabel("epoch")
    for ax in (ax1, ax2):
        ax.grid(True, alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    legend(ax2, len(xor_curves))
    return fig
