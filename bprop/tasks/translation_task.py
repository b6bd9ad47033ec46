"""A translation task: train on generated (source, target) pairs, score held-out ones.

The string-translation applications (:mod:`bprop.tasks.dates`: dates written in many languages
→ ISO 8601; :mod:`bprop.tasks.numbers`: numbers written in words → digits) differ only in
their data: a ``split(n_train, n_test, seed)`` giving training and held-out pairs. The rest is
here, once: :func:`train_and_score` trains an attention encoder–decoder on the training pairs
(:func:`bprop.tasks.translation.train_translation`) and reports the exact-match accuracy on the
held-out pairs, greedy and by beam search; :func:`run_translation_task` is the ``bprop train
--task …`` run (with the HTML report of attention maps) and :func:`keep_translation` the saver
of an interrupted one.

Example::

    >>> from bprop.tasks.translation_task import train_and_score
    >>> words = ["ab", "ba", "abb", "bba", "aab", "bab", "aba", "baa"]
    >>> split = lambda n_train, n_test, seed: ([(w, w[::-1]) for w in words] * 8, [("ab", "ba")])
    >>> result, tr = train_and_score(split, 64, 1, hidden=16, epochs=40, batch_size=16, lr=0.02,
    ...                              verbose=0)
    >>> result["exact_match"], result["examples"]
    (1.0, {'ab': 'ba'})
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

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

#: ``split(n_train, n_test, seed) -> (training pairs, held-out pairs)``
Split = Callable[[int, int, int], tuple[list[Pair], list[Pair]]]
#: the options of a ``--task`` entry that go to :func:`train_translation` as they are
TRAIN_OPTIONS = ("hidden", "cell", "embed", "encoder", "epochs", "batch_size", "lr")


def train_and_score(
    split: Split,
    n_train: int,
    n_test: int,
    beam: int = 3,
    seed: int = 0,
    **train_options: Any,
) -> tuple[dict[str, Any], Translator]:
    """Train on ``n_train`` pairs of ``split`` and score its ``n_test`` held-out ones; returns
    the result (exact match greedy and with a beam of width ``beam``, a few examples) and the
    translator. ``train_options`` go to :func:`train_translation`."""
    train, test = split(n_train, n_test, seed)
    start = time.perf_counter()
    tr = train_translation(train, seed=seed, **train_options)
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


def run_translation_task(
    o: dict[str, Any], optimizer: Any, split: Split, title: str
) -> tuple[dict[str, Any], Any]:
    """``bprop train --task …`` of a translation task (options ``o`` of its entry in
    :data:`bprop.tasks.TASKS`): the result, with the HTML report's path when ``report`` names a
    folder, and the saver."""
    result, translator = train_and_score(
        split,
        o["examples"],
        o["test_examples"],
        beam=o["beam"],
        seed=o["seed"],
        verbose=o["verbose"],
        optimizer=optimizer,
        **{name: o[name] for name in TRAIN_OPTIONS},
    )
    if o["report"]:
        from bprop.report.attention import translation_report

        texts = list(result["examples"])[:4]
        result["report"] = translation_report(result, translator, texts, o["report"], title)
    return result, functools.partial(save_translator, translator)


def keep_translation(o: dict[str, Any], net: Any, split: Split) -> Any:
    """The saver of an interrupted translation task: the network trained so far with the
    vocabularies of its training pairs."""
    train, _ = split(o["examples"], o["test_examples"], o["seed"])
    src, tgt = vocabularies(train)
    max_len = encode_pairs(train, src, tgt)[1].shape[1] + SPARE_STEPS
    return functools.partial(save_translator, Translator(net, src, tgt, max_len))
