"""An encoder–decoder with additive attention (Bahdanau, Cho & Bengio 2015), trained by BPTT.

The **encoder** is a recurrent layer over the source symbols x_1 … x_S (one-hot, padded with
−1 past each sequence's end), giving one annotation h_j per position. Padding sits *after* the
real positions and the encoder runs forwards, so the annotations of the real positions do not
depend on it; the attention masks the padded ones out. The **decoder** is a recurrent cell whose
state s_t reads the previous target symbol and a context c_t chosen afresh at every step::

    s_0 = tanh(W_s h_{L} + b_s)                      h_L: each source's own last annotation
    c_t = Σ_j α_tj h_j,  α_t = attention(s_{t-1}, h)  (see :mod:`bprop.recurrent.attention`)
    s_t = cell([onehot(y_{t-1}); c_t], s_{t-1})
    p(y_t | y_<t, x) = softmax(W_o [s_t; c_t] + b_o)

Bahdanau et al. use a bidirectional encoder and a maxout layer before the softmax; this model
keeps a forward encoder (padding then needs no masking inside it) and a linear read-out of the
state and the context — the attention, the part the paper is about, is as published.

**Teacher forcing.** In training the decoder reads the true previous symbol y_{t-1} (y_0 =
``bos``), so one forward pass scores a whole target and BPTT runs back through the decoder, the
attention at every step and the encoder. A training example is one row of ids packed by
:func:`pack`: the source (padded with −1), a column of −2, then the decoder's inputs
``[bos, y_1, …, y_{T-1}]``; its target row is ``[y_1, …, y_T]`` (ending with ``eos``). The
model's output is the logits (N, T, V_target), so :class:`bprop.SoftmaxCrossEntropy` and the one
training loop (:class:`bprop.Trainer`) train it as they train any network.

Backward (the decoder loop run in reverse; g_t = ∂L/∂[s_t; c_t] from the read-out)::

    ∂L/∂x_t, ∂L/∂state_{t-1} = cell.step_backward(g_t^s, ∂L/∂state_t)
    ∂L/∂c_t = g_t^c + (the context part of ∂L/∂x_t)
    ∂L/∂s_{t-1} += attention_backward(∂L/∂c_t)         (also into ∂L/∂h and ∂L/∂(U_a h))
    ∂L/∂h += (U_a)ᵀ-product of ∂L/∂(U_a h) and, at h_L, W_sᵀ (∂L/∂s_0 ⊙ (1 − s_0²))
    then full BPTT through the encoder with ∂L/∂h.

Greedy and beam-search decoding: :mod:`bprop.recurrent.decode`.

Example::

    >>> import numpy as np
    >>> from bprop.recurrent.seq2seq import Seq2Seq, pack
    >>> model = Seq2Seq(src_vocab=5, tgt_vocab=6, hidden=8, rng=0)
    >>> X = pack([[0, 4, 2], [3]], [[1, 3, 5], [1, 4, 4]])
    >>> X.tolist()
    [[0, 4, 2, -2, 1, 3, 5], [3, -1, -1, -2, 1, 4, 4]]
    >>> model(X).shape
    (2, 3, 6)
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from bprop import backend, registry
from bprop.layers.base import Layer, Shapes, config_size
from bprop.recurrent.attention import attend, attend_backward, context_backward, project_keys
from bprop.recurrent.cells import Cell
from bprop.recurrent.unroll import Recurrent
from bprop.rng import as_generator

PAD_SOURCE, SEPARATOR = -1, -2


def pack(sources: Sequence[Sequence[int]], decoder_inputs: Sequence[Sequence[int]]) -> Any:
    """One int64 row per example: the source ids padded with −1 to the longest source, a −2
    column, then the decoder inputs (all of one length T)."""
    if len(sources) != len(decoder_inputs):
        raise ValueError(f"{len(sources)} sources but {len(decoder_inputs)} decoder inputs")
    if not sources:
        raise ValueError("no examples to pack")
    S = max(len(s) for s in sources)
    lengths = {len(d) for d in decoder_inputs}
    if S < 1 or min(len(s) for s in sources) < 1:
        raise ValueError("every source needs at least one symbol")
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"decoder inputs must all have one length ≥ 1, got {sorted(lengths)}")
    X = np.full((len(sources), S + 1 + lengths.pop()), PAD_SOURCE, dtype=np.int64)
    for i, (s, d) in enumerate(zip(sources, decoder_inputs, strict=True)):
        X[i, : len(s)] = s
        X[i, S] = SEPARATOR
        X[i, S + 1 :] = d
    return X


def cell_class(kind: str) -> type[Cell]:
    """The recurrent cell class named ``kind`` (``"gru"``, ``"lstm"``, ``"elman"``)."""
    by_name = {name.lower(): cls for name, cls in registry.table("cell").items()}
    cls = by_name.get(str(kind).lower())
    if cls is None:
        raise ValueError(f"unknown cell {kind!r}; choose one of {sorted(by_name)}")
    return cls


class Seq2Seq(Layer):
    """Encoder–decoder with additive attention (see the module docstring for the maths).

    Args:
        src_vocab, tgt_vocab: numbers of source and target symbols.
        hidden: units of the encoder and of the decoder.
        attention: units A of the attention's hidden layer (default ``hidden``).
        cell: ``"gru"`` (default), ``"lstm"`` or ``"elman"``, for both.
        bos, eos: the target ids that start a decoder input and end a target.
        rng: Generator or seed of the initial weights.
    """

    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        hidden: int = 64,
        attention: int | None = None,
        cell: str = "gru",
        bos: int = 1,
        eos: int = 2,
        rng: Any = None,
    ) -> None:
        super().__init__()
        Vs, Vt, H = int(src_vocab), int(tgt_vocab), int(hidden)
        A = H if attention is None else int(attention)
        if min(Vs, Vt, H, A) < 1:
            raise ValueError(f"Seq2Seq sizes must be positive, got {(Vs, Vt, H, A)}")
        if not (0 <= bos < Vt and 0 <= eos < Vt):
            raise ValueError(f"bos {bos} and eos {eos} must be target ids in 0 … {Vt - 1}")
        self.src_vocab, self.tgt_vocab, self.hidden, self.attention = Vs, Vt, H, A
        self.cell_name, self.bos, self.eos = str(cell).lower(), int(bos), int(eos)
        gen = as_generator(rng)
        kind = cell_class(self.cell_name)
        self.enc_cell = kind(Vs, H, rng=gen)
        self.dec_cell = kind(Vt + H, H, rng=gen)
        self.encoder = Recurrent(self.enc_cell)
        for prefix, c in (("enc.", self.enc_cell), ("dec.", self.dec_cell)):
            for name, value in c.params.items():
                self.add_param(prefix + name, value, decay=name in c.decay)
        scale = 1 / np.sqrt(H)
        for name, shape in (("att.W", (A, H)), ("att.U", (A, H)), ("init.W", (H, H))):
            self.add_param(name, gen.uniform(-scale, scale, shape), decay=True)
        self.add_param("att.b", np.zeros(A))
        self.add_param("att.v", gen.uniform(-scale, scale, A), decay=True)
        self.add_param("init.b", np.zeros(H))
        self.add_param("out.W", gen.uniform(-scale / 1.5, scale / 1.5, (Vt, 2 * H)), decay=True)
        self.add_param("out.b", np.zeros(Vt))

    @property
    def n_out(self) -> int:
        """Output width: the target vocabulary size (one score per symbol)."""
        return self.tgt_vocab

    def _bind(self) -> None:
        """Point the cells at this layer's arrays (which the flat buffer may have replaced)."""
        for prefix, c in (("enc.", self.enc_cell), ("dec.", self.dec_cell)):
            c.params = {n: self.params[prefix + n] for n in c.params}
            c.grads = {n: self.grads[prefix + n] for n in c.params}
        self.encoder.params, self.encoder.grads = self.enc_cell.params, self.enc_cell.grads

    # --- inputs ---------------------------------------------------------------------------
    def unpack(self, x: Any) -> tuple[Any, Any]:
        """Split packed rows (see :func:`pack`) into source ids (N, S) and decoder inputs (N, T),
        checking them."""
        ids = np.asarray(backend.to_numpy(x))
        if ids.ndim != 2:
            raise ValueError(f"Seq2Seq takes packed id rows (N, S + 1 + T), got {ids.shape}")
        cols = np.flatnonzero(ids[0] == SEPARATOR)
        if len(cols) != 1 or not np.all(ids[:, cols[0]] == SEPARATOR):
            raise ValueError(
                "Seq2Seq input rows need one column of -2 between the source and the decoder "
                "inputs, at the same place in every row: build them with bprop.recurrent."
                "seq2seq.pack"
            )
        S = int(cols[0])
        src, dec = ids[:, :S].astype(np.int64), ids[:, S + 1 :].astype(np.int64)
        if S < 1 or dec.shape[1] < 1 or np.any(src[:, 0] < 0):
            raise ValueError("every example needs a source symbol and a decoder input")
        if np.any(src >= self.src_vocab) or np.any(src < PAD_SOURCE):
            raise ValueError(f"source ids must be in 0 … {self.src_vocab - 1} (or -1: padding)")
        if np.any(np.diff((src >= 0).astype(np.int8), axis=1) > 0):
            raise ValueError("source padding (-1) must come after a sequence's symbols")
        if np.any(dec < 0) or np.any(dec >= self.tgt_vocab):
            raise ValueError(f"decoder inputs must be target ids in 0 … {self.tgt_vocab - 1}")
        return src, dec

    def _one_hot(self, ids: Any, size: int) -> Any:
        """One-hot rows of ``ids`` (−1 gives a zero row); the place an Embedding would go."""
        xp, dtype = backend.get_xp(), backend.np_dtype(self.params["out.W"].dtype)
        out = np.zeros((*ids.shape, size), dtype=dtype)
        real = ids >= 0
        out[real, ids[real]] = 1
        return xp.asarray(out)

    # --- encoder and one decoder step (shared by training and decoding) -----------------------
    def encode(self, src: Any, train: bool = False) -> tuple[SimpleNamespace, Any]:
        """Run the encoder over source ids (N, S); returns the annotations, their projected keys,
        the mask, each source's length and the decoder's first state, and the encoder's cache."""
        self._bind()
        p, xp = self.params, backend.get_xp()
        h, cache = self.encoder.forward(self._one_hot(src, self.src_vocab), train)
        mask = xp.asarray(src >= 0)
        lengths = (src >= 0).sum(axis=1)
        rows = np.arange(len(src)) * src.shape[1] + lengths - 1  # each source's last position
        last = xp.take(xp.reshape(h, (-1, h.shape[2])), xp.asarray(rows), axis=0)
        s0 = xp.tanh(last @ p["init.W"].T + p["init.b"])
        state0 = (s0, *self.dec_cell.init_state(len(src), s0.dtype)[1:])
        keys = project_keys(h, p["att.U"])
        enc = SimpleNamespace(h=h, keys=keys, mask=mask, lengths=lengths, last=last, state0=state0)
        return enc, cache

    def step(self, enc: SimpleNamespace, y_prev: Any, state: tuple[Any, ...]) -> tuple[Any, ...]:
        """One decoder step from previous symbols ``y_prev`` (N,) and ``state``: returns
        (logits (N, V_target), new state, α_t (N, S), the step's cache)."""
        p = self.params
        att = attend(state[0], enc.h, enc.keys, enc.mask, p["att.W"], p["att.b"], p["att.v"])
        c = att[0]
        x = backend.concat([self._one_hot(y_prev, self.tgt_vocab), c], axis=1)
        s, new_state, cell_cache = self.dec_cell.step(x, state)
        o = backend.concat([s, c], axis=1)
        return o @ p["out.W"].T + p["out.b"], new_state, att[1][1], (att[1], cell_cache, o)

    # --- the Layer contract: teacher-forced scores and their BPTT -----------------------------
    def forward(self, x: Any, train: bool = False) -> tuple[Any, Any]:
        src, dec = self.unpack(x)
        enc, enc_cache = self.encode(src, train)
        state, logits, steps = enc.state0, [], []
        for t in range(dec.shape[1]):
            z, state, _, cache = self.step(enc, dec[:, t], state)
            logits.append(z)
            steps.append(cache)
        return backend.get_xp().stack(logits, axis=1), (enc, enc_cache, steps)

    def backward(self, dy: Any, cache: Any, need_dx: bool = True) -> Any:
        """BPTT through decoder, attention and encoder (adds into ``grads``). The inputs are
        symbol ids, so there is no ∂L/∂x: returns None."""
        self._bind()
        enc, enc_cache, steps = cache
        p, g, xp = self.params, self.grads, backend.get_xp()
        N, T, Vt = dy.shape
        H = self.hidden
        O = xp.stack([c[2] for c in steps], axis=1)
        g["out.W"] += xp.reshape(dy, (-1, Vt)).T @ xp.reshape(O, (-1, 2 * H))
        g["out.b"] += xp.sum(dy, axis=(0, 1))
        dO = dy @ p["out.W"]
        dkeys = xp.zeros_like(enc.keys)
        dcs = xp.empty((N, T, enc.h.shape[2]), dtype=dy.dtype)
        att_grads = {"W": g["att.W"], "b": g["att.b"], "v": g["att.v"]}
        dstate = None
        for t in range(T - 1, -1, -1):
            att_cache, cell_cache, _ = steps[t]
            dx, dstate = self.dec_cell.step_backward(dO[:, t, :H], dstate, cell_cache)
            dc = dcs[:, t, :] = dO[:, t, H:] + dx[:, Vt:]
            ds = attend_backward(dc, enc.h, p["att.W"], p["att.v"], att_cache, att_grads, dkeys)
            dstate = (dstate[0] + ds, *dstate[1:])
        dh = context_backward(xp.stack([c[0][1] for c in steps], axis=1), dcs)
        da0 = dstate[0] * (1 - enc.state0[0] ** 2)
        g["init.W"] += da0.T @ enc.last
        g["init.b"] += xp.sum(da0, axis=0)
        dlast = da0 @ p["init.W"]
        if backend.numpy_like():
            dh[np.arange(N), enc.lengths - 1] += dlast
        else:  # the standard has no assignment through integer arrays: through a mask
            at = np.arange(dh.shape[1])[None, :] == (enc.lengths - 1)[:, None]
            dh += xp.where(xp.asarray(at)[:, :, None], dlast[:, None, :], xp.zeros_like(dh))
        A = self.attention
        g["att.U"] += xp.reshape(dkeys, (-1, A)).T @ xp.reshape(enc.h, (-1, H))
        dh += dkeys @ p["att.U"]
        self.encoder.backward(dh, enc_cache, need_dx=False)
        return None

    # --- persistence ----------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {
            "src_vocab": self.src_vocab,
            "tgt_vocab": self.tgt_vocab,
            "hidden": self.hidden,
            "attention": self.attention,
            "cell": self.cell_name,
            "bos": self.bos,
            "eos": self.eos,
        }

    @classmethod
    def declared_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        Vs, Vt = config_size(config, "src_vocab"), config_size(config, "tgt_vocab")
        H = config_size(config, "hidden")
        A = config_size(config, "attention") if "attention" in config else H
        kind = cell_class(config.get("cell", "gru"))
        shapes: Shapes = {}
        for prefix, n_in in (("enc.", Vs), ("dec.", Vt + H)):
            cell_shapes, _ = kind.declared_shapes({"n_in": n_in, "n_hidden": H})
            shapes.update({prefix + n: s for n, s in cell_shapes.items()})
        shapes.update(
            {
                "att.W": (A, H),
                "att.U": (A, H),
                "att.b": (A,),
                "att.v": (A,),
                "init.W": (H, H),
                "init.b": (H,),
                "out.W": (Vt, 2 * H),
                "out.b": (Vt,),
            }
        )
        return shapes, {}
