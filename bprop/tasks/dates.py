"""Translating dates written in many languages into ISO 8601: "3 mai 1998" → "1998-05-03".

The examples are written by Babel (``pip install babel``, the Unicode CLDR's calendar data) in
the ``full``, ``long`` and ``medium`` formats of :data:`LOCALES` — "Sunday, May 3, 1998",
"3. Mai 1998", "domingo, 3 de maio de 1998", "3.5.1998". (The ``short`` formats are left out:
"05/03/98" is 3 May in one locale and 5 March in another, and "98" names no century.) The
dates are drawn uniformly from 1900-01-01 … 2099-12-31; the held-out dates are ones no training
example shows, in any language.

:func:`train_dates` trains an attention encoder–decoder (:mod:`bprop.tasks.translation`) and
reports the exact-match accuracy on the held-out dates, greedy and by beam search.

Example (needs Babel)::

    >>> from bprop.tasks.dates import date_examples
    >>> date_examples(2, seed=0)  # doctest: +SKIP
    [('6 de septiembre de 2003', '2003-09-06'), ('Mo 29 Mär 1920', '1920-03-29')]
"""

from __future__ import annotations

import datetime
import functools
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from bprop.tasks.translation import (
    SPARE_STEPS,
    Pair,
    Translator,
    encode_pairs,
    exact_match,
    save_translator,
    train_translation,
    vocabularies,
)

#: the languages the dates are written in (Latin script; Babel locale names)
LOCALES = (
    "en",
    "en_GB",
    "fr",
    "de",
    "es",
    "it",
    "pt",
    "nl",
    "sv",
    "da",
    "pl",
    "cs",
    "ro",
    "fi",
    "tr",
    "id",
)
FORMATS = ("full", "long", "medium")
FIRST, LAST = datetime.date(1900, 1, 1), datetime.date(2099, 12, 31)


def _format_date() -> Any:
    try:
        from babel.dates import format_date
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the date-translation task needs Babel: pip install babel (or bprop[dates])"
        ) from exc
    return format_date


def date_examples(
    n: int,
    seed: int = 0,
    locales: Sequence[str] = LOCALES,
    exclude: set[int] | frozenset[int] = frozenset(),
) -> list[Pair]:
    """``n`` (written date, ISO date) pairs for distinct random dates, each in a random locale
    of ``locales`` and format of :data:`FORMATS`; dates whose ordinal is in ``exclude`` are
    never drawn."""
    fmt = _format_date()
    if int(n) < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    lo, hi = FIRST.toordinal(), LAST.toordinal()
    if int(n) > hi - lo + 1 - len(exclude):
        raise ValueError(f"there are not {n} distinct dates to draw")
    rng = np.random.default_rng(seed)
    picked: list[int] = []
    seen = set(exclude)
    while len(picked) < n:
        for d in rng.integers(lo, hi + 1, size=2 * (n - len(picked))).tolist():
            if d not in seen and len(picked) < n:
                seen.add(d)
                picked.append(d)
    locs = rng.integers(len(locales), size=n)
    fmts = rng.integers(len(FORMATS), size=n)
    out = []
    for d, li, fi in zip(picked, locs, fmts, strict=True):
        date = datetime.date.fromordinal(d)
        out.append((fmt(date, FORMATS[fi], locale=locales[li]), date.isoformat()))
    return out


def date_split(n_train: int, n_test: int, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """Training and held-out pairs on disjoint sets of dates."""
    test = date_examples(n_test, seed=seed + 1)
    held = {datetime.date.fromisoformat(iso).toordinal() for _, iso in test}
    return date_examples(n_train, seed=seed, exclude=held), test


def train_dates(
    n_train: int = 20000,
    n_test: int = 1000,
    hidden: int = 64,
    cell: str = "gru",
    embed: int = 32,
    encoder: str = "bidirectional",
    epochs: int = 12,
    batch_size: int = 64,
    lr: float = 5e-3,
    beam: int = 3,
    seed: int = 0,
    verbose: int = 1,
    optimizer: Any = None,
) -> tuple[dict[str, Any], Translator]:
    """Train on ``n_train`` written dates and score ``n_test`` held-out ones; returns the
    result (exact match greedy and with a beam of width ``beam``, a few examples) and the
    translator."""
    train, test = date_split(n_train, n_test, seed)
    start = time.perf_counter()
    tr = train_translation(
        train,
        hidden=hidden,
        cell=cell,
        embed=embed,
        encoder=encoder,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        verbose=verbose,
        optimizer=optimizer,
    )
    seconds = time.perf_counter() - start
    sources = [s for s, _ in test[:5]]
    result = {
        "train_examples": len(train),
        "test_examples": len(test),
        "train_seconds": seconds,
        "exact_match": exact_match(tr, test),
        f"exact_match_beam{beam}": exact_match(tr, test, beam=beam) if beam > 1 else None,
        "examples": dict(zip(sources, tr.translate(sources), strict=True)),
    }
    return result, tr


def run_dates_task(o: dict[str, Any], optimizer: Any) -> tuple[dict[str, Any], Any]:
    """``bprop train --task dates`` (options ``o`` of its entry in :data:`bprop.tasks.TASKS`):
    the result, with the HTML report's path when ``report`` names a folder, and the saver."""
    result, translator = train_dates(
        n_train=o["examples"],
        n_test=o["test_examples"],
        hidden=o["hidden"],
        cell=o["cell"],
        embed=o["embed"],
        encoder=o["encoder"],
        epochs=o["epochs"],
        batch_size=o["batch_size"],
        lr=o["lr"],
        beam=o["beam"],
        seed=o["seed"],
        verbose=o["verbose"],
        optimizer=optimizer,
    )
    if o["report"]:
        from bprop.report.attention import translation_report

        texts = list(result["examples"])[:4]
        title = f"Dates in {len(LOCALES)} languages → ISO 8601"
        result["report"] = translation_report(result, translator, texts, o["report"], title)
    return result, functools.partial(save_translator, translator)


def keep_dates(o: dict[str, Any], net: Any) -> Any:
    """The saver of an interrupted ``--task dates`` run: the network trained so far with the
    vocabularies of its training dates."""
    train, _ = date_split(o["examples"], o["test_examples"], o["seed"])
    src, tgt = vocabularies(train)
    max_len = encode_pairs(train, src, tgt)[1].shape[1] + SPARE_STEPS
    return functools.partial(save_translator, Translator(net, src, tgt, max_len))
