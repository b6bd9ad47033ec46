"""Decoding a :class:`~bprop.recurrent.seq2seq.Seq2Seq` model: greedy and beam search.

In prediction the decoder reads its *own* previous output instead of the true one (in training
it reads the truth: teacher forcing). A hypothesis y_1 … y_T (ending with ``eos``, or cut at
``max_len``) scores its log-probability log p(y | x) = Σ_t log softmax(z_t)[y_t].

- :func:`greedy_decode` takes the most probable symbol at every step (a batch at once).
- :func:`beam_search` keeps the ``k`` best partial hypotheses by log-probability: every step
  extends each by every symbol and keeps the ``k`` best extensions; an extension ending with
  ``eos`` is set aside as finished and the beam shrinks by one (as in Bahdanau et al.'s decoder).
  The search stops when no hypothesis is left, or when the best finished one scores at least the
  best unfinished (log-probabilities only fall as a hypothesis grows, so none can overtake it);
  at ``max_len`` the unfinished ones count as they are. It returns the best-scoring hypothesis
  (no length normalisation). With k = 1 it is greedy decoding. A wider beam usually finds a
  more probable sequence than greedy decoding, but beam search is a heuristic and this is not
  guaranteed.
- :func:`sequence_log_prob` scores given targets by one teacher-forced pass.

Example::

    >>> import numpy as np
    >>> from bprop.recurrent.seq2seq import Seq2Seq
    >>> from bprop.recurrent.decode import beam_search, greedy_decode
    >>> model = Seq2Seq(src_vocab=5, tgt_vocab=6, hidden=8, rng=0)
    >>> src = np.array([[0, 4, 2, -1]])
    >>> g = greedy_decode(model, src, max_len=4)[0]
    >>> b = beam_search(model, src[0], k=1, max_len=4)
    >>> g.tokens == b.tokens and abs(g.log_prob - b.log_prob) < 1e-9
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bprop import backend
from bprop.recurrent.seq2seq import Seq2Seq, pack


@dataclass
class Hypothesis:
    """A decoded sequence: its ``tokens`` (without ``bos``; with ``eos`` when it ended by one),
    its log-probability, whether it ended with ``eos``, and the attention weights α (len ×
    S) of its steps."""

    tokens: list[int]
    log_prob: float
    finished: bool
    attention: np.ndarray


def _log_softmax(z: Any) -> np.ndarray:
    z = np.asarray(backend.to_numpy(z), dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _source_rows(model: Seq2Seq, src: Any) -> np.ndarray:
    src = np.asarray(src)
    if src.ndim == 1:
        src = src[None]
    X = pack([list(r[r >= 0]) for r in src], [[model.bos]] * len(src))
    return model.unpack(X)[0]


def _check_len(max_len: int) -> int:
    if int(max_len) < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    return int(max_len)


def greedy_decode(model: Seq2Seq, src: Any, max_len: int) -> list[Hypothesis]:
    """Greedy decoding of source id rows ``src`` (N, S; −1 pads) for up to ``max_len`` steps."""
    max_len = _check_len(max_len)
    src = _source_rows(model, src)
    N = len(src)
    enc, _ = model.encode(src)
    state, y = enc.state0, np.full(N, model.bos)
    tokens, alphas = np.zeros((N, max_len), np.int64), np.zeros((N, max_len, src.shape[1]))
    score, done, length = np.zeros(N), np.zeros(N, bool), np.full(N, max_len)
    for t in range(max_len):
        z, state, alpha, _ = model.step(enc, y, state)
        logp = _log_softmax(z)
        y = logp.argmax(axis=1)
        live = ~done
        score[live] += logp[live, y[live]]
        tokens[:, t], alphas[:, t] = y, backend.to_numpy(alpha)
        ended = live & (y == model.eos)
        length[ended] = t + 1
        done |= ended
        if done.all():
            break
    n_src = (src >= 0).sum(axis=1)
    return [
        Hypothesis(
            tokens[i, : length[i]].tolist(),
            float(score[i]),
            bool(done[i]),
            alphas[i, : length[i], : n_src[i]],
        )
        for i in range(N)
    ]


def beam_search(model: Seq2Seq, src: Any, k: int, max_len: int) -> Hypothesis:
    """Beam search of width ``k`` for one source (a 1-D row of ids; −1 pads)."""
    max_len = _check_len(max_len)
    if int(k) < 1:
        raise ValueError(f"beam width k must be at least 1, got {k}")
    src = _source_rows(model, src)
    if len(src) != 1:
        raise ValueError(f"beam_search decodes one source at a time, got {len(src)}")
    enc1, _ = model.encode(src)
    xp = backend.get_xp()
    live_tokens: list[list[int]] = [[]]
    live_alpha: list[list[np.ndarray]] = [[]]
    scores = np.zeros(1)
    state, y = enc1.state0, np.array([model.bos])
    finished: list[Hypothesis] = []
    k = int(k)
    for _ in range(max_len):
        rows = xp.zeros(len(scores), dtype=np.int64)
        enc = type(enc1)(**{n: _take(v, rows) for n, v in vars(enc1).items()})
        z, state, alpha, _ = model.step(enc, y, state)
        alpha = backend.to_numpy(alpha)
        cand = (scores[:, None] + _log_softmax(z)).ravel()
        best = np.argsort(-cand, kind="stable")[:k]
        V = z.shape[1]
        parents, symbols = best // V, best % V
        keep = []
        for b, s, par in zip(best, symbols, parents, strict=True):
            toks, al = live_tokens[par] + [int(s)], live_alpha[par] + [alpha[par]]
            if s == model.eos:
                finished.append(Hypothesis(toks, float(cand[b]), True, np.array(al)))
                k -= 1
            else:
                keep.append((float(cand[b]), toks, al, par, int(s)))
        if not keep:
            break
        scores = np.array([c[0] for c in keep])
        live_tokens, live_alpha = [c[1] for c in keep], [c[2] for c in keep]
        idx = np.array([c[3] for c in keep])
        state, y = tuple(s[idx] for s in state), np.array([c[4] for c in keep])
        if finished and max(h.log_prob for h in finished) >= scores.max():
            break
    else:
        for sc, toks, al in zip(scores, live_tokens, live_alpha, strict=True):
            finished.append(Hypothesis(toks, float(sc), False, np.array(al)))
    return max(finished, key=lambda h: h.log_prob)


def _take(value: Any, rows: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(v[rows] for v in value)
    return value[rows]


def sequence_log_prob(model: Seq2Seq, src: Any, targets: Any) -> np.ndarray:
    """log p(targets | source) of each row, by one teacher-forced pass (targets: lists of ids,
    each ending as the model should end it, e.g. with ``eos``)."""
    src = _source_rows(model, src)
    targets = [list(map(int, t)) for t in targets]
    T = max(len(t) for t in targets)
    if any(len(t) != T for t in targets):
        raise ValueError("sequence_log_prob scores targets of one length at a time")
    X = pack([list(r[r >= 0]) for r in src], [[model.bos, *t[:-1]] for t in targets])
    logits, _ = model.forward(X)
    logp = _log_softmax(logits.reshape(-1, logits.shape[-1])).reshape(logits.shape)
    tgt = np.array(targets)
    return np.take_along_axis(logp, tgt[:, :, None], axis=2)[:, :, 0].sum(axis=1)
