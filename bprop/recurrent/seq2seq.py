"""An encoder–decoder with additive attention (Bahdanau, Cho & Bengio 2015), trained by BPTT.

Source and target symbols are read through **embeddings** (:class:`bprop.Embedding`: a learnt
vector E x per symbol, its gradient added row by row). The **encoder** is a recurrent layer
over the embedded source x_1 … x_L (each source its own length L in a padded batch, lengths-
aware: :mod:`bprop.recurrent.lengths`) giving one annotation h_j per position. As in the paper
it is bidirectional by default (``encoder="bidirectional"``, :class:`bprop.Bidirectional`),
h_j = [→h_j ; ←h_j], so each annotation summarises the words before *and* after position j;
``encoder="forward"`` keeps one forward pass, h_j = →h_j. The **decoder** is a recurrent cell
whose state s_t reads the previous target symbol and a context c_t chosen afresh every step::

    s_0 = tanh(W_s ←h_1 + b_s)     (bidirectional, as the paper; forward: W_s h_L + b_s)
    c_t = Σ_j α_tj h_j,  α_t = attention(s_{t-1}, h)  (see :mod:`bprop.recurrent.attention`)
    s_t = cell([E_y y_{t-1}; c_t], s_{t-1})
    p(y_t | y_<t, x) = softmax(W_o [s_t; c_t] + b_o)

Bahdanau et al. put a maxout layer before the softmax; this model reads the state and the
context out linearly — the encoder and the attention, the parts the paper is about, are as
published. With ``embed=0`` the symbols enter as one-hot rows instead of embeddings (and the
encoder runs forwards): the form of models saved before embeddings, which still load.

**Teacher forcing.** In training the decoder reads the true previous symbol y_{t-1} (y_0 =
``bos``), so one forward pass scores a whole target and BPTT runs back through the decoder, the
attention at every step, the encoder and the embeddings. A training example is one row of ids
packed by :func:`pack`: the source (padded with −1), a column of −2, then the decoder's inputs
``[bos, y_1, …, y_{T-1}]``; its target row is ``[y_1, …, y_T]`` (ending with ``eos``). The
model's output is the logits (N, T, V_target), so :class:`bprop.SoftmaxCrossEntropy` and the one
training loop (:class:`bprop.Trainer`) train it as they train any network. Targets of different
lengths are padded after their end and trained with the targets' ``lengths``
(``Trainer.fit(X, Y, lengths=…)``): the loss is then over the real target steps only
(:func:`bprop.recurrent.lengths.masked_loss`). The decoder is causal, so its outputs at real
steps never depend on the padded inputs after them.

Backward (the decoder loop run in reverse; g_t = ∂L/∂[s_t; c_t] from the read-out)::

    ∂L/∂x_t, ∂L/∂state_{t-1} = cell.step_backward(g_t^s, ∂L/∂state_t)
    ∂L/∂c_t = g_t^c + (the context part of ∂L/∂x_t);  ∂L/∂E_y += its embedding part
    ∂L/∂s_{t-1} += attention_backward(∂L/∂c_t)         (also into ∂L/∂h and ∂L/∂(U_a h))
    ∂L/∂h += (U_a)ᵀ-product of ∂L/∂(U_a h) and, at ←h_1 (or h_L), W_sᵀ (∂L/∂s_0 ⊙ (1 − s_0²))
    then full BPTT through the encoder (both directions) with ∂L/∂h, and into E_x.

Greedy and beam-search decoding: :mod:`bprop.recurrent.decode`.

Example::

    >>> import numpy as np
    >>> from bprop.recurrent.seq2seq import Seq2Seq, pack
    >>> model = Seq2Seq(src_vocab=5, tgt_vocab=6, hidden=8, embed=4, rng=0)
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
from bprop.layers.embedding import Embedding
from bprop.recurrent.attention import attend, attend_backward, context_backward, project_keys
from bprop.recurrent.bidirectional import Bidirectional
from bprop.recurrent.cells import Cell
from bprop.recurrent.unroll import Recurrent
from bprop.rng import as_generator

PAD_SOURCE, SEPARATOR = -1, -2
ENCODERS = ("bidirectional", "forward")


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


def _check_form(embed: Any, encoder: Any) -> tuple[int, str]:
    if isinstance(embed, bool) or not isinstance(embed, (int, np.integer)) or embed < 0:
        raise ValueError(f"embed must be a size ≥ 1 (or 0: one-hot inputs), got {embed!r}")
    if encoder not in ENCODERS:
        raise ValueError(f"encoder must be one of {ENCODERS}, got {encoder!r}")
    return int(embed), str(encoder)


class Seq2Seq(Layer):
    """Encoder–decoder with additive attention (see the module docstring for the maths).

    Args:
        src_vocab, tgt_vocab: numbers of source and target symbols.
        hidden: units of each encoder direction and of the decoder.
        attention: units A of the attention's hidden layer (default ``hidden``).
        cell: ``"gru"`` (default), ``"lstm"`` or ``"elman"``, for encoder and decoder.
        bos, eos: the target ids that start a decoder input and end a target.
        embed: size of the source and target symbol embeddings (default 32); 0 reads one-hot
            rows instead (the form of models saved before embeddings).
        encoder: ``"bidirectional"`` (default; annotations of 2 × ``hidden``) or
            ``"forward"``.
        rng: Generator or seed of the initial weights.
    """

    #: the input rows are packed ids (:func:`pack`), not time steps: a padded batch's
    #: ``lengths`` are the targets' and its columns are not cut to them
    packed_rows = True

    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        hidden: int = 64,
        attention: int | None = None,
        cell: str = "gru",
        bos: int = 1,
        eos: int = 2,
        embed: int = 32,
        encoder: str = "bidirectional",
        rng: Any = None,
    ) -> None:
        super().__init__()
        Vs, Vt, H = int(src_vocab), int(tgt_vocab), int(hidden)
        A = H if attention is None else int(attention)
        if min(Vs, Vt, H, A) < 1:
            raise ValueError(f"Seq2Seq sizes must be positive, got {(Vs, Vt, H, A)}")
        if not (0 <= bos < Vt and 0 <= eos < Vt):
            raise ValueError(f"bos {bos} and eos {eos} must be target ids in 0 … {Vt - 1}")
        self.embed, self.encoder_kind = _check_form(embed, encoder)
        self.src_vocab, self.tgt_vocab, self.hidden, self.attention = Vs, Vt, H, A
        self.cell_name, self.bos, self.eos = str(cell).lower(), int(bos), int(eos)
        self.annotation = 2 * H if self.encoder_kind == "bidirectional" else H
        gen = as_generator(rng)
        kind = cell_class(self.cell_name)
        Es, Et = (self.embed, self.embed) if self.embed else (Vs, Vt)
        parts: dict[str, Any] = {}
        if self.embed:
            parts["src_emb."] = Embedding(Vs, Es, rng=gen)
            parts["tgt_emb."] = Embedding(Vt, Et, rng=gen)
        if self.encoder_kind == "bidirectional":
            self.encoder: Layer = Bidirectional(kind(Es, H, rng=gen), kind(Es, H, rng=gen))
            parts["enc."] = self.encoder
        else:
            parts["enc."] = self.enc_cell = kind(Es, H, rng=gen)
            self.encoder = Recurrent(self.enc_cell)
        parts["dec."] = self.dec_cell = kind(Et + self.annotation, H, rng=gen)
        self.parts = parts
        for prefix, part in parts.items():
            for name, value in part.params.items():
                self.add_param(prefix + name, value, decay=name in part.decay)
        scale, Ha = 1 / np.sqrt(H), self.annotation
        for name, shape in (("att.W", (A, H)), ("att.U", (A, Ha)), ("init.W", (H, H))):
            self.add_param(name, gen.uniform(-scale, scale, shape), decay=True)
        self.add_param("att.b", np.zeros(A))
        self.add_param("att.v", gen.uniform(-scale, scale, A), decay=True)
        self.add_param("init.b", np.zeros(H))
        self.add_param("out.W", gen.uniform(-scale / 1.5, scale / 1.5, (Vt, H + Ha)), decay=True)
        self.add_param("out.b", np.zeros(Vt))

    @property
    def n_out(self) -> int:
        """Outputs per decoder step: one logit per target symbol."""
        return self.tgt_vocab

    def _bind(self) -> None:
        """Point the parts at this layer's arrays (which the flat buffer may have replaced)."""
        for prefix, part in self.parts.items():
            part.params = {n: self.params[prefix + n] for n in part.params}
            part.grads = {n: self.grads[prefix + n] for n in part.params}
        if isinstance(self.encoder, Recurrent):  # its dicts are its cell's
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

    def _symbols(self, prefix: str, ids: Any, train: bool = False) -> tuple[Any, Any]:
        """The vectors of symbol ``ids`` (any shape; −1, padding, reads symbol 0, whose vector
        then gets exactly zero gradient) through the ``prefix`` embedding, and its cache; or
        one-hot rows (−1 gives a zero row) and None for a model without embeddings."""
        if self.embed:
            real_ids = backend.get_xp().asarray(np.where(ids >= 0, ids, 0))
            return self.parts[prefix].forward(real_ids, train)
        size = self.src_vocab if prefix == "src_emb." else self.tgt_vocab
        out = np.zeros((*ids.shape, size), dtype=self.params["out.W"].dtype)
        real = ids >= 0
        out[real, ids[real]] = 1
        return backend.get_xp().asarray(out), None

    # --- encoder and one decoder step (shared by training and decoding) -----------------------
    def encode(self, src: Any, train: bool = False) -> tuple[SimpleNamespace, Any]:
        """Run the encoder over source ids (N, S); returns the annotations, their projected keys,
        the mask, each source's length and the decoder's first state, and the caches."""
        self._bind()
        p, xp = self.params, backend.get_xp()
        x, emb_cache = self._symbols("src_emb.", src, train)
        lengths = (src >= 0).sum(axis=1)
        h, cache = self.encoder.forward(x, train, lengths=lengths)
        mask = xp.asarray(src >= 0)
        first = self._first(h, lengths)
        s0 = xp.tanh(first @ p["init.W"].T + p["init.b"])
        state0 = (s0, *self.dec_cell.init_state(len(src), s0.dtype)[1:])
        keys = project_keys(h, p["att.U"])
        enc = SimpleNamespace(
            h=h, keys=keys, mask=mask, lengths=lengths, first=first, state0=state0
        )
        return enc, (cache, emb_cache)

    def _first(self, h: Any, lengths: Any) -> Any:
        """What s_0 reads of the annotations h (N, S, H_e): ←h_1, the backward direction at
        each source's first symbol (bidirectional), or h_L, each source's last (forward)."""
        if self.encoder_kind == "bidirectional":
            return h[:, 0, self.hidden :]
        xp = backend.get_xp()
        rows = np.arange(h.shape[0]) * h.shape[1] + np.asarray(lengths) - 1
        return xp.take(xp.reshape(h, (-1, h.shape[2])), xp.asarray(rows), axis=0)

    def _add_first(self, dh: Any, lengths: Any, d: Any) -> None:
        """Add ∂L/∂(what :meth:`_first` read) ``d`` into ∂L/∂h ``dh``, in place."""
        if self.encoder_kind == "bidirectional":
            dh[:, 0, self.hidden :] += d
        elif backend.numpy_like():
            dh[np.arange(dh.shape[0]), np.asarray(lengths) - 1] += d
        else:  # the standard has no assignment through integer arrays: through a mask
            xp = backend.get_xp()
            at = np.arange(dh.shape[1])[None, :] == (np.asarray(lengths) - 1)[:, None]
            dh += xp.where(xp.asarray(at)[:, :, None], d[:, None, :], xp.zeros_like(dh))

    def step(self, enc: SimpleNamespace, y_prev: Any, state: tuple[Any, ...]) -> tuple[Any, ...]:
        """One decoder step from previous symbols ``y_prev`` (N,) and ``state``: returns
        (logits (N, V_target), new state, α_t (N, S), the step's cache)."""
        y_prev = np.asarray(backend.to_numpy(y_prev))
        return self._step(enc, self._symbols("tgt_emb.", y_prev)[0], state)

    def _step(self, enc: SimpleNamespace, e_prev: Any, state: tuple[Any, ...]) -> tuple[Any, ...]:
        """:meth:`step` from the previous symbols' vectors ``e_prev`` (N, E)."""
        p = self.params
        att = attend(state[0], enc.h, enc.keys, enc.mask, p["att.W"], p["att.b"], p["att.v"])
        c = att[0]
        s, new_state, cell_cache = self.dec_cell.step(backend.concat([e_prev, c], axis=1), state)
        o = backend.concat([s, c], axis=1)
        return o @ p["out.W"].T + p["out.b"], new_state, att[1][1], (att[1], cell_cache, o)

    # --- the Layer contract: teacher-forced scores and their BPTT -----------------------------
    def forward(self, x: Any, train: bool = False) -> tuple[Any, Any]:
        src, dec = self.unpack(x)
        enc, enc_cache = self.encode(src, train)
        e, emb_cache = self._symbols("tgt_emb.", dec, train)
        state, logits, steps = enc.state0, [], []
        for t in range(dec.shape[1]):
            z, state, _, cache = self._step(enc, e[:, t, ...], state)
            logits.append(z)
            steps.append(cache)
        return backend.get_xp().stack(logits, axis=1), (enc, enc_cache, emb_cache, steps)

    def backward(self, dy: Any, cache: Any, need_dx: bool = True) -> Any:
        """BPTT through decoder, attention, encoder and embeddings (adds into ``grads``). The
        inputs are symbol ids, so there is no ∂L/∂x: returns None."""
        self._bind()
        enc, (enc_cache, src_cache), tgt_cache, steps = cache
        p, g, xp = self.params, self.grads, backend.get_xp()
        N, T, Vt = dy.shape
        H, Ha, A = self.hidden, self.annotation, self.attention
        E = self.embed or Vt
        O = xp.stack([c[2] for c in steps], axis=1)
        g["out.W"] += xp.reshape(dy, (-1, Vt)).T @ xp.reshape(O, (-1, H + Ha))
        g["out.b"] += xp.sum(dy, axis=(0, 1))
        dO = dy @ p["out.W"]
        dkeys = xp.zeros_like(enc.keys)
        dcs = xp.empty((N, T, Ha), dtype=dy.dtype)
        de = xp.empty((N, T, E), dtype=dy.dtype)
        att_grads = {"W": g["att.W"], "b": g["att.b"], "v": g["att.v"]}
        dstate = None
        for t in range(T - 1, -1, -1):
            att_cache, cell_cache, _ = steps[t]
            dx, dstate = self.dec_cell.step_backward(dO[:, t, :H], dstate, cell_cache)
            de[:, t, :] = dx[:, :E]
            dc = dcs[:, t, :] = dO[:, t, H:] + dx[:, E:]
            ds = attend_backward(dc, enc.h, p["att.W"], p["att.v"], att_cache, att_grads, dkeys)
            dstate = (dstate[0] + ds, *dstate[1:])
        dh = context_backward(xp.stack([c[0][1] for c in steps], axis=1), dcs)
        da0 = dstate[0] * (1 - enc.state0[0] ** 2)
        g["init.W"] += da0.T @ enc.first
        g["init.b"] += xp.sum(da0, axis=0)
        self._add_first(dh, enc.lengths, da0 @ p["init.W"])
        g["att.U"] += xp.reshape(dkeys, (-1, A)).T @ xp.reshape(enc.h, (-1, Ha))
        dh += dkeys @ p["att.U"]
        dx = self.encoder.backward(dh, enc_cache, need_dx=bool(self.embed))
        if self.embed:
            self.parts["src_emb."].backward(dx, src_cache)
            self.parts["tgt_emb."].backward(de, tgt_cache)
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
            "embed": self.embed,
            "encoder": self.encoder_kind,
        }

    @staticmethod
    def _saved_form(config: dict[str, Any]) -> dict[str, Any]:
        """A saved config with the form of files written before embeddings and the
        bidirectional encoder filled in where it names none (one-hot inputs, forward)."""
        return {"embed": 0, "encoder": "forward", **config}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Seq2Seq:
        """The model a saved config describes (an old file's config: one-hot, forward)."""
        return cls(**cls._saved_form(config))

    @classmethod
    def declared_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        config = cls._saved_form(config)
        Vs, Vt = config_size(config, "src_vocab"), config_size(config, "tgt_vocab")
        H = config_size(config, "hidden")
        A = config_size(config, "attention") if "attention" in config else H
        E, encoder = _check_form(config["embed"], config["encoder"])
        kind = cell_class(config.get("cell", "gru"))
        Ha = 2 * H if encoder == "bidirectional" else H
        shapes: Shapes = {}
        if E:
            shapes.update({"src_emb.W": (Vs, E), "tgt_emb.W": (Vt, E)})
        cell_shapes = kind.declared_shapes({"n_in": E or Vs, "n_hidden": H})[0]
        directions = ("fwd_", "bwd_") if encoder == "bidirectional" else ("",)
        for d in directions:
            shapes.update({f"enc.{d}{n}": s for n, s in cell_shapes.items()})
        dec_shapes = kind.declared_shapes({"n_in": (E or Vt) + Ha, "n_hidden": H})[0]
        shapes.update({f"dec.{n}": s for n, s in dec_shapes.items()})
        shapes.update(
            {
                "att.W": (A, H),
                "att.U": (A, Ha),
                "att.b": (A,),
                "att.v": (A,),
                "init.W": (H, H),
                "init.b": (H,),
                "out.W": (Vt, H + Ha),
                "out.b": (Vt,),
            }
        )
        return shapes, {}
