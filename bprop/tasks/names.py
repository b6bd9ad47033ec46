"""Text categorisation: which language a name comes from, read character by character.

The classic "classify names with a character-level RNN" task, on the per-locale first and last
names that the ``Faker`` package ships (``pip install faker``; nothing is downloaded): the names
of each language's locale (German, French, Italian, …), names found in more than one locale
dropped, at most ``per_class`` per language, split into stratified training and test sets.

The network reads a name's characters as ids through an :class:`bprop.Embedding`, a
:class:`bprop.Bidirectional` recurrent layer (each direction's final state, sequence-to-one,
each name at its own length in a padded batch: :mod:`bprop.recurrent.lengths`), dropout and
a Dense softmax layer, trained by BPTT on bucketed mini-batches (:mod:`bprop.train.buckets`)
with early stopping on a held-out tenth of the training names. Names are read in lower
case, as the baseline reads them. The
baseline it is reported against is what one would try first: a logistic regression on TF-IDF
bag-of-character-n-grams (1–3 characters within word bounds) from scikit-learn, trained and
tested on the same split.

Example (Faker is in the ``test`` and ``text`` extras)::

    >>> from bprop.tasks.names import name_data
    >>> names, labels, classes = name_data(("de_DE", "it_IT"), per_class=50)
    >>> len(names), classes, labels[[0, 99]].tolist()
    (100, ['German', 'Italian'], [0, 1])
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from bprop.layers.dense import Dense
from bprop.layers.dropout import Dropout
from bprop.layers.embedding import Embedding
from bprop.layers.sequential import Sequential
from bprop.losses import SoftmaxCrossEntropy
from bprop.recurrent import make_cell
from bprop.recurrent.bidirectional import Bidirectional
from bprop.tasks.models import hidden_sizes, training_rule

#: the locales read, with the language each stands for
LOCALES = {
    "de_DE": "German",
    "fr_FR": "French",
    "it_IT": "Italian",
    "es_ES": "Spanish",
    "nl_NL": "Dutch",
    "cs_CZ": "Czech",
    "fi_FI": "Finnish",
    "tr_TR": "Turkish",
    "hu_HU": "Hungarian",
    "pl_PL": "Polish",
}
_NAME_LISTS = (
    "first_names",
    "first_names_male",
    "first_names_female",
    "last_names",
    "last_names_male",
    "last_names_female",
)


def name_data(
    locales: Any = tuple(LOCALES), per_class: int = 600, seed: int = 0
) -> tuple[list[str], np.ndarray, list[str]]:
    """(names, labels, class names): the distinct names (lower case) of each locale's Faker
    person provider, those of several locales dropped, at most ``per_class`` drawn per
    locale."""
    try:
        importlib.import_module("faker")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the name-language task reads Faker's name lists: pip install faker "
            "(or pip install 'bprop[text]')"
        ) from exc
    found: dict[str, set[str]] = {}
    for loc in locales:
        provider = importlib.import_module(f"faker.providers.person.{loc}").Provider
        lists = (getattr(provider, a, None) or () for a in _NAME_LISTS)
        found[loc] = {n.lower() for names in lists for n in names}  # as the baseline reads them
    counts: dict[str, int] = {}
    for names in found.values():
        for n in names:
            counts[n] = counts.get(n, 0) + 1
    rng = np.random.default_rng(seed)
    names_out: list[str] = []
    labels: list[int] = []
    for k, loc in enumerate(locales):
        own = sorted(n for n in found[loc] if counts[n] == 1 and n.strip())
        pick = rng.permutation(len(own))[: int(per_class)]
        names_out += [own[i] for i in pick]
        labels += [k] * len(pick)
    return names_out, np.array(labels, dtype=np.int64), [LOCALES.get(c, c) for c in locales]


def split_names(
    locales: Any = tuple(LOCALES), per_class: int = 600, test_fraction: float = 0.2, seed: int = 0
) -> tuple[tuple[list[str], np.ndarray], tuple[list[str], np.ndarray], list[str], list[str]]:
    """((training names, labels), (test names, labels), class names, characters): the
    stratified split of :func:`name_data` and the characters of the training names."""
    from sklearn.model_selection import train_test_split

    names, y, classes = name_data(locales, per_class, seed)
    tr, te = train_test_split(
        np.arange(len(names)), test_size=test_fraction, random_state=seed, stratify=y
    )
    train_names = [names[i] for i in tr]
    chars = sorted({c for n in train_names for c in n})
    return (train_names, y[tr]), ([names[i] for i in te], y[te]), classes, chars


def encode(names: list[str], chars: list[str]) -> list[np.ndarray]:
    """Each name as character ids (1 … len(chars); 0 stands for a character not in
    ``chars``)."""
    index = {c: i + 1 for i, c in enumerate(chars)}
    return [np.array([index.get(c, 0) for c in n], dtype=np.int64) for n in names]


def name_model(
    n_chars: int,
    n_classes: int,
    cell: str = "gru",
    hidden: int | Sequence[int] = 64,
    embed: int = 32,
    dropout: float = 0.5,
    seed: int = 0,
) -> Sequential:
    """Embedding(n_chars, embed) → Bidirectional(cell, cell) (stacked, one per size of a list
    ``hidden``, the last giving the final states) → Dropout(dropout) → Dense softmax."""
    rng = np.random.default_rng(seed)
    sizes = hidden_sizes(hidden)
    layers: list[Any] = [Embedding(n_chars, embed, rng=rng)]
    size = embed
    for k, h in enumerate(sizes):
        if k and dropout:
            layers.append(Dropout(dropout, rng=rng))
        cells = [make_cell(cell, size, h, rng=rng) for _ in range(2)]
        layers.append(Bidirectional(*cells, return_sequences=k < len(sizes) - 1))
        size = 2 * h
    if dropout:
        layers.append(Dropout(dropout, rng=rng))
    return Sequential(*layers, Dense(size, n_classes, rng=rng))


def ngram_baseline(train: list[str], y_train: Any, test: list[str], y_test: Any) -> float:
    """Test accuracy of a logistic regression on TF-IDF bag-of-character-n-grams (1–3)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    clf = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3)),
        LogisticRegression(max_iter=2000, C=10.0),
    )
    clf.fit(train, y_train)
    return float((clf.predict(test) == np.asarray(y_test)).mean())


def train_name_language(
    cell: str = "gru",
    hidden: int | Sequence[int] = 128,
    embed: int = 64,
    dropout: float = 0.5,
    per_class: int = 600,
    test_fraction: float = 0.2,
    epochs: int = 30,
    patience: int = 4,
    batch_size: int = 32,
    lr: float = 5e-3,
    clip_norm: float | None = 5.0,
    optimizer: Any = None,
    locales: Any = tuple(LOCALES),
    seed: int = 0,
    verbose: int = 0,
) -> dict[str, Any]:
    """Train and test the name-language classifier and its n-gram baseline on one split.

    Training holds out a tenth of the training names and stops after ``patience`` epochs
    without a better loss on them, keeping the best weights (the test names are used once).

    Returns ``accuracy`` and ``baseline_accuracy`` (held-out names), ``margin`` (their
    difference: negative when the baseline wins), ``classes``, the example counts, ``seconds``
    of training, and ``net``, ``chars`` (id i + 1 is ``chars[i]``) for :func:`predict_names`."""
    from bprop.train.schedules import MiniBatch
    from bprop.train.trainer import Trainer

    (train_names, y_tr), (test_names, y_te), classes, chars = split_names(
        locales, per_class, test_fraction, seed
    )
    net = name_model(len(chars) + 1, len(classes), cell, hidden, embed, dropout, seed)
    trainer = Trainer(
        net,
        SoftmaxCrossEntropy(),
        training_rule(optimizer, lr, clip_norm),
        MiniBatch(batch_size, bucket=True),
        seed=seed,
        verbose=verbose,
    )
    start = time.perf_counter()
    trainer.fit(
        encode(train_names, chars), y_tr, epochs, validation_split=0.1, early_stopping=patience
    )
    seconds = time.perf_counter() - start
    accuracy = trainer.evaluate(encode(test_names, chars), y_te)["accuracy"]
    baseline = ngram_baseline(train_names, y_tr, test_names, y_te)
    return {
        "accuracy": accuracy,
        "baseline_accuracy": baseline,
        "margin": accuracy - baseline,
        "classes": classes,
        "n_train": len(train_names),
        "n_test": len(test_names),
        "seconds": seconds,
        "net": net,
        "chars": chars,
    }


def save_names(model: dict[str, Any], path: str) -> None:
    """Write ``model["net"]`` as a model file whose metadata holds its ``chars`` and
    ``classes`` (``bp.load_checkpoint(path).metadata``: what :func:`predict_names` needs)."""
    from bprop.io import save

    meta = {"task": "name_language", "chars": model["chars"], "classes": model["classes"]}
    save(model["net"], path, loss=SoftmaxCrossEntropy(), metadata=meta)


def predict_names(net: Sequential, chars: list[str], names: list[str]) -> np.ndarray:
    """The class index the network gives each name."""
    return net.predict(encode([n.lower() for n in names], chars)).argmax(axis=-1)
