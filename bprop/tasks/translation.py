"""Sequence-to-sequence translation of strings, character by character, with attention.

A :class:`Translator` is a :class:`~bprop.recurrent.seq2seq.Seq2Seq` network and its two
character vocabularies. :func:`train_translation` trains one on (source, target) string pairs
through the one training loop (:class:`bprop.Trainer`: teacher forcing, cross-entropy over the
target symbols, BPTT, Adam after clipping the gradient norm) and :meth:`Translator.translate`
decodes greedily or by beam search (:mod:`bprop.recurrent.decode`). :func:`exact_match` is the
fraction of sources translated exactly. The date and number tasks (:mod:`bprop.tasks.dates`,
:mod:`bprop.tasks.numbers`, run by :mod:`bprop.tasks.translation_task`) use it.

Targets of different lengths are padded with ``<pad>`` after their ``</s>`` and trained with
their lengths, so the loss is over each target's real symbols (``</s>`` included) only and
nothing is learnt from the padding (:func:`bprop.recurrent.lengths.masked_loss`).

Example::

    >>> from bprop.tasks.translation import exact_match, train_translation
    >>> pairs = [(w, w[::-1]) for w in ["ab", "ba", "abb", "bba", "aab", "bab", "aba", "baa"]]
    >>> tr = train_translation(pairs * 8, hidden=16, epochs=40, batch_size=16, lr=0.02,
    ...                        verbose=0)
    >>> exact_match(tr, pairs)
    1.0
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bprop.data.sequences import Vocabulary
from bprop.layers.sequential import Sequential
from bprop.losses import SoftmaxCrossEntropy
from bprop.recurrent.decode import Hypothesis, beam_search, greedy_decode
from bprop.recurrent.seq2seq import Seq2Seq, pack
from bprop.tasks.models import training_rule
from bprop.train.history import History

UNK, PAD, BOS, EOS = "<unk>", "<pad>", "<s>", "</s>"
#: decoding stops after the longest training target (with ``</s>``) plus this many symbols
SPARE_STEPS = 5
Pair = tuple[str, str]


def vocabularies(pairs: Sequence[Pair]) -> tuple[Vocabulary, Vocabulary]:
    """The source characters (after ``<unk>``, id 0) and the target characters (after
    ``<pad>``, ``<s>``, ``</s>``: ids 0, 1, 2) of ``pairs``, each sorted."""
    if not pairs:
        raise ValueError("no (source, target) pairs")
    src = sorted({c for s, _ in pairs for c in s})
    tgt = sorted({c for _, t in pairs for c in t})
    return Vocabulary([UNK, *src], "char", UNK), Vocabulary([PAD, BOS, EOS, *tgt], "char")


@dataclass
class Translator:
    """A trained string-to-string model: ``net`` (a Sequential holding the Seq2Seq), the
    vocabularies, the longest output it writes (``max_len`` symbols, ``</s>`` included) and
    the training history."""

    net: Sequential
    source_vocab: Vocabulary
    target_vocab: Vocabulary
    max_len: int
    history: History | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> Seq2Seq:
        """The :class:`~bprop.recurrent.seq2seq.Seq2Seq` layer inside ``net``."""
        return self.net.layers[0]

    def source_ids(self, texts: Sequence[str]) -> np.ndarray:
        """Source id rows padded with −1 (unknown characters become ``<unk>``)."""
        rows = [self.source_vocab.encode(t) for t in texts]
        if any(len(r) == 0 for r in rows):
            raise ValueError("cannot translate an empty string")
        return pack(rows, [[self.model.bos]] * len(rows))[:, : max(len(r) for r in rows)]

    def text(self, tokens: Sequence[int]) -> str:
        """The target string of decoded ids (up to ``</s>``)."""
        out = []
        for i in tokens:
            if i == self.model.eos:
                break
            if i > self.model.eos:  # not <pad>/<s>
                out.append(self.target_vocab.symbols[i])
        return "".join(out)

    def decode(self, texts: Sequence[str], beam: int = 1) -> list[Hypothesis]:
        """Decoded hypotheses of ``texts``: greedy (``beam=1``) or beam search of that width."""
        src = self.source_ids(texts)
        if beam == 1:
            return greedy_decode(self.model, src, self.max_len)
        return [beam_search(self.model, row, beam, self.max_len) for row in src]

    def translate(self, texts: Sequence[str], beam: int = 1, batch_size: int = 512) -> list[str]:
        """Translations of ``texts`` (see :meth:`decode`)."""
        texts = list(texts)
        out: list[str] = []
        for i in range(0, len(texts), batch_size):
            out += [self.text(h.tokens) for h in self.decode(texts[i : i + batch_size], beam)]
        return out


def encode_pairs(
    pairs: Sequence[Pair], src_vocab: Vocabulary, tgt_vocab: Vocabulary
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Packed training rows X (source, −2, ``<s>`` + target), label rows Y (target +
    ``</s>``, padded with ``<pad>``) and the targets' lengths (``</s>`` included)."""
    pad, bos, eos = tgt_vocab.index[PAD], tgt_vocab.index[BOS], tgt_vocab.index[EOS]
    targets = [[*tgt_vocab.encode(t), eos] for _, t in pairs]
    T = max(len(t) for t in targets)
    Y = np.array([t + [pad] * (T - len(t)) for t in targets], dtype=np.int64)
    dec = np.concatenate([np.full((len(Y), 1), bos), Y[:, :-1]], axis=1)
    lengths = np.array([len(t) for t in targets], dtype=np.int64)
    return pack([src_vocab.encode(s) for s, _ in pairs], dec), Y, lengths


def train_translation(
    train: Sequence[Pair],
    validation: Sequence[Pair] | None = None,
    hidden: int = 64,
    cell: str = "gru",
    embed: int = 32,
    encoder: str = "bidirectional",
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 5e-3,
    clip_norm: float | None = 5.0,
    seed: int = 0,
    verbose: int = 1,
    optimizer: Any = None,
    callbacks: Sequence[Any] = (),
) -> Translator:
    """Train an attention encoder–decoder on ``train`` pairs by teacher forcing with
    :class:`bprop.Trainer` (mini-batches of ``batch_size``, shuffled with ``seed``);
    ``validation`` pairs give the per-epoch ``val_loss``. Characters of the validation
    targets must occur in the training targets. ``embed`` and ``encoder``: see
    :class:`~bprop.recurrent.seq2seq.Seq2Seq`."""
    from bprop.train.trainer import Trainer

    train = list(train)
    src_vocab, tgt_vocab = vocabularies(train)
    X, Y, lengths = encode_pairs(train, src_vocab, tgt_vocab)
    model = Seq2Seq(
        len(src_vocab), len(tgt_vocab), hidden, cell=cell, embed=embed, encoder=encoder, rng=seed
    )
    net = Sequential(model)
    trainer = Trainer(
        net,
        SoftmaxCrossEntropy(),
        optimizer=training_rule(optimizer, lr, clip_norm),
        batch_size=batch_size,
        seed=seed,
        verbose=verbose,
        callbacks=callbacks,
    )
    val = None
    if validation:
        missing = {c for _, t in validation for c in t} - set(tgt_vocab.symbols)
        if missing:
            raise ValueError(f"validation targets use characters never seen in training: {missing}")
        val = encode_pairs(validation, src_vocab, tgt_vocab)
    history = trainer.fit(X, Y, epochs=epochs, validation_data=val, lengths=lengths)
    config = {"hidden": hidden, "cell": cell, "embed": embed, "encoder": encoder}
    config.update(batch_size=batch_size, lr=lr, seed=seed)
    return Translator(net, src_vocab, tgt_vocab, Y.shape[1] + SPARE_STEPS, history, config)


def exact_match(translator: Translator, pairs: Sequence[Pair], beam: int = 1) -> float:
    """The fraction of ``pairs`` whose source translates exactly to its target."""
    if not pairs:
        raise ValueError("no pairs to score")
    out = translator.translate([s for s, _ in pairs], beam)
    return float(np.mean([o == t for o, (_, t) in zip(out, pairs, strict=True)]))


def save_translator(translator: Translator, path: str | os.PathLike) -> None:
    """Save a translator (network + vocabularies) as a bprop model file."""
    from bprop.io import save

    meta = {
        "task": "translation",
        "source_vocab": translator.source_vocab.to_dict(),
        "target_vocab": translator.target_vocab.to_dict(),
        "max_len": translator.max_len,
        "config": translator.config,
    }
    save(translator.net, path, loss=SoftmaxCrossEntropy(), metadata=meta)


def load_translator(path: str | os.PathLike) -> Translator:
    """Load a translator saved by :func:`save_translator`."""
    from bprop.io import ModelFileError, load_checkpoint

    ck = load_checkpoint(path)
    meta = ck.metadata
    if meta.get("task") != "translation" or not isinstance(ck.net.layers[0], Seq2Seq):
        raise ModelFileError(f"{path} is a bprop model but not a translator")
    return Translator(
        ck.net,
        Vocabulary.from_dict(meta["source_vocab"]),
        Vocabulary.from_dict(meta["target_vocab"]),
        int(meta["max_len"]),
        None,
        meta.get("config", {}),
    )
