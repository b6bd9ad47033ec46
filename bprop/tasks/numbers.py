"""Translating numbers written in words in many languages into digits: "soixante et onze" → "71".

The examples are written by num2words (``pip install num2words``) in the languages of
:data:`LANGUAGES` — "seventy-one", "einundsiebzig", "enoghalvfjerds", "siedemdziesiąt jeden",
"yetmişbir": tens before units or after, with "and" or without, written as one word or several,
and French's and Danish's counting by twenties. Each number is drawn by first drawing its
number of digits (1 … :data:`DIGITS`, uniformly), so short and long targets are equally common
and a batch holds targets of different lengths (trained with their lengths: nothing is learnt
from the padding after a short one). The held-out numbers lie in 100 … 10^DIGITS − 1 and no
training example shows them, in any language: they can only be translated by composing the
words for their parts, which the training numbers show in other combinations.

:func:`train_numbers` trains an attention encoder–decoder (:mod:`bprop.tasks.translation`) and
reports the exact-match accuracy on the held-out numbers, greedy and by beam search.

Example (needs num2words)::

    >>> from bprop.tasks.numbers import number_examples
    >>> number_examples(2, seed=0)  # doctest: +SKIP
    [('trenta', '30'), ('šest tisíc osmset devadesát pět', '6895')]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bprop.tasks.translation import Pair, Translator
from bprop.tasks.translation_task import train_and_score

#: the languages the numbers are written in (Latin script; num2words language codes)
LANGUAGES = (
    "en", "fr", "de", "es", "it", "pt", "nl", "sv",
    "da", "no", "pl", "cs", "ro", "fi", "tr", "id",
)  # fmt: skip
#: numbers have 1 … DIGITS digits
DIGITS = 4
#: the held-out numbers are at least this large (every smaller one is common in training)
SMALLEST_HELD_OUT = 100


def _num2words() -> Any:
    try:
        from num2words import num2words
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the number-translation task needs num2words: pip install num2words (or bprop[numbers])"
        ) from exc
    return num2words


def _number(rng: np.random.Generator, smallest: int = 0) -> int:
    """A number of ``smallest`` … 10^DIGITS − 1 with a uniformly random number of digits."""
    digits = int(rng.integers(len(str(smallest)), DIGITS + 1))
    return int(rng.integers(max(smallest, 10 ** (digits - 1) if digits > 1 else 0), 10**digits))


def _written(
    numbers: Sequence[int], rng: np.random.Generator, languages: Sequence[str]
) -> list[Pair]:
    """(words, digits) of each number, in a random language of ``languages``."""
    words = _num2words()
    if not languages:
        raise ValueError("no languages to write the numbers in")
    langs = rng.integers(len(languages), size=len(numbers)).tolist()
    return [(words(n, lang=languages[k]), str(n)) for n, k in zip(numbers, langs, strict=True)]


def number_examples(
    n: int,
    seed: int = 0,
    languages: Sequence[str] = LANGUAGES,
    exclude: set[int] | frozenset[int] = frozenset(),
) -> list[Pair]:
    """``n`` (number in words, digits) pairs, each number of 0 … 10^DIGITS − 1 drawn with a
    uniformly random number of digits and written in a random language of ``languages``;
    numbers in ``exclude`` are never drawn. Numbers may repeat (in other languages)."""
    if int(n) < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    numbers: list[int] = []
    while len(numbers) < n:
        number = _number(rng)
        if number not in exclude:
            numbers.append(number)
    return _written(numbers, rng, languages)


def number_split(n_train: int, n_test: int, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """Training pairs, and held-out pairs of distinct numbers (≥ :data:`SMALLEST_HELD_OUT`)
    that no training pair shows, in any language."""
    if not 1 <= int(n_test) <= (10**DIGITS - SMALLEST_HELD_OUT) // 2:
        raise ValueError(f"cannot hold out {n_test} numbers: give 1 … {10**DIGITS // 2 - 50}")
    rng = np.random.default_rng(seed + 1)
    held: dict[int, None] = {}  # distinct, in the order drawn
    while len(held) < n_test:
        held[_number(rng, SMALLEST_HELD_OUT)] = None
    test = _written(list(held), rng, LANGUAGES)
    return number_examples(n_train, seed=seed, exclude=set(held)), test


def train_numbers(
    n_train: int = 10000,
    n_test: int = 1000,
    beam: int = 3,
    seed: int = 0,
    **train_options: Any,
) -> tuple[dict[str, Any], Translator]:
    """Train on ``n_train`` numbers in words and score ``n_test`` held-out ones; returns the
    result (exact match greedy and with a beam of width ``beam``, a few examples) and the
    translator (``train_options`` go to :func:`bprop.tasks.translation.train_translation`)."""
    return train_and_score(number_split, n_train, n_test, beam, seed, **train_options)


#: ``bprop train --task numbers`` (:mod:`bprop.tasks.translation_task`): its pairs, its title
split = number_split
TITLE = f"Numbers in words in {len(LANGUAGES)} languages → digits"
