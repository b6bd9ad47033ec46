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
from collections.abc import Sequence
from typing import Any

import numpy as np

from bprop.tasks.translation import Pair, Translator
from bprop.tasks.translation_task import train_and_score

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
    beam: int = 3,
    seed: int = 0,
    **train_options: Any,
) -> tuple[dict[str, Any], Translator]:
    """Train on ``n_train`` written dates and score ``n_test`` held-out ones; returns the
    result (exact match greedy and with a beam of width ``beam``, a few examples) and the
    translator (:func:`bprop.tasks.translation_task.train_and_score`; ``train_options`` go to
    :func:`bprop.tasks.translation.train_translation`)."""
    return train_and_score(date_split, n_train, n_test, beam, seed, **train_options)


#: ``bprop train --task dates`` (:mod:`bprop.tasks.translation_task`): its pairs, its title
split = date_split
TITLE = f"Dates in {len(LOCALES)} languages → ISO 8601"
