"""Attention maps of an encoder–decoder: which source symbols each output symbol looked at.

:func:`attention_figure` draws the weights α_tj of one decoded sequence (rows: the output
symbols t, columns: the source symbols j; each row sums to 1) as a grey-scale matrix, as in
Bahdanau et al. (2015), figure 3. :func:`add_attention` puts the maps of a few sources into a
:class:`bprop.report.Report`; :func:`translation_report` writes a translation task's report
(scores, learning curve, attention maps).

Example::

    >>> import numpy as np
    >>> from bprop.report.attention import attention_figure
    >>> from bprop.report.plots import to_png
    >>> alpha = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1]])
    >>> to_png(attention_figure(list("abc"), ["x", "y"], alpha))[:4] == b"\\x89PNG"
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from bprop.report.plots import curve_figure, new_figure


def attention_figure(
    source: Sequence[str], output: Sequence[str], alpha: Any, title: str = ""
) -> Figure:
    """The attention weights ``alpha`` (len(output) × len(source)) as a labelled matrix."""
    alpha = np.asarray(alpha, dtype=np.float64)
    if alpha.shape != (len(output), len(source)):
        raise ValueError(
            f"alpha has shape {alpha.shape}, expected (outputs, sources) = "
            f"({len(output)}, {len(source)})"
        )
    fig = new_figure(0.9 + 0.28 * len(source), 0.9 + 0.28 * len(output))
    ax = fig.add_subplot()
    ax.imshow(alpha, cmap="gray", vmin=0.0, vmax=1.0, aspect="equal")
    shown = lambda s: "␣" if s == " " else s  # noqa: E731 - a space would be an empty label
    ax.set_xticks(range(len(source)), [shown(s) for s in source])
    ax.set_yticks(range(len(output)), [shown(s) for s in output])
    ax.tick_params(length=0, labeltop=True, labelbottom=False)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title, fontsize="medium")
    return fig


def translation_figure(translator: Any, text: str) -> Figure:
    """The attention map of ``translator`` (a :class:`bprop.tasks.translation.Translator`)
    decoding ``text`` greedily (``</s>`` shown as the last output row when reached)."""
    hyp = translator.decode([text])[0]
    symbols = translator.target_vocab.symbols
    output = [symbols[i] for i in hyp.tokens]
    return attention_figure(
        list(text), output, hyp.attention, f"{text} → {translator.text(hyp.tokens)}"
    )


def add_attention(
    report: Any, translator: Any, texts: Sequence[str], title: str = "Attention maps"
) -> None:
    """Add a section with the attention map of each of ``texts`` to ``report``."""
    report.heading(title)
    report.paragraph(
        "Each row is one output symbol; the grey levels are the attention weights over the "
        "source symbols that produced its context (white = 1)."
    )
    for text in texts:
        report.figure(translation_figure(translator, text), caption=text)


def translation_report(
    result: dict[str, Any], translator: Any, texts: Sequence[str], out_dir: Any, title: str
) -> str:
    """Write an HTML report of a trained translator to ``out_dir``: the ``result`` scores,
    the training loss per epoch and the attention maps of ``texts``; returns its path."""
    from bprop.report.html import Report

    report = Report(title)
    report.heading("Result")
    report.key_values({k: v for k, v in result.items() if not isinstance(v, dict)})
    history = translator.history
    if history is not None and history.train_loss:
        report.heading("Training")
        fig = curve_figure({"train loss": history.train_loss}, xlabel="epoch", ylabel="loss")
        report.figure(fig, caption="cross-entropy per target symbol (teacher forcing)")
    add_attention(report, translator, texts)
    return report.write(out_dir)
