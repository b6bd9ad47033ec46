"""The attention encoder–decoder: gradient checks through the whole model, masked padding,
attention against a loop-by-loop reference, decoding (greedy, beam), bad input, model files."""

from pathlib import Path

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent.attention import attend
from bprop.recurrent.decode import beam_search, greedy_decode, sequence_log_prob
from bprop.recurrent.seq2seq import Seq2Seq, pack
from bprop.train.sources import forward_loss

RECURRENT_TOL = 1e-6


def _batch(rng, n, src_vocab, tgt_vocab, max_src, T):
    sources = [rng.integers(0, src_vocab, rng.integers(1, max_src + 1)).tolist() for _ in range(n)]
    targets = rng.integers(0, tgt_vocab, (n, T))
    dec = np.concatenate([np.full((n, 1), 1), targets[:, :-1]], axis=1)
    return pack(sources, dec.tolist()), targets


@pytest.mark.parametrize(
    ("cell", "max_src", "T", "form"),
    [
        ("gru", 7, 5, {}),  # the default: embeddings, bidirectional encoder
        ("lstm", 4, 3, {}),
        ("elman", 14, 6, {}),
        ("gru", 8, 5, {"encoder": "forward"}),
        ("elman", 5, 4, {"embed": 0}),  # one-hot symbols into a bidirectional encoder
        ("gru", 7, 4, {"embed": 0, "encoder": "forward"}),  # the form saved before embeddings
    ],
)
def test_gradcheck_through_encoder_attention_and_decoder(cell, max_src, T, form):
    rng = np.random.default_rng(3)
    model = Seq2Seq(3, 4, hidden=3, attention=2, cell=cell, rng=1, **{"embed": 2, **form})
    X, Y = _batch(rng, 3, 3, 4, max_src, T)
    assert (X[:, :max_src] == -1).any()  # padded sources are in the check
    r = bp.gradcheck(model, X, Y, loss=bp.SoftmaxCrossEntropy(), check_input=False)
    assert r.max_rel_error <= RECURRENT_TOL, str(r)
    names = {n.split(".", 1)[0] for n in model.params}
    assert ("src_emb" in names) == (form.get("embed", 2) > 0)  # the embeddings were checked


def test_gradcheck_with_masked_targets_through_twenty_steps():
    # targets of lengths 20, 7 and 1 in one padded batch; the loss over real steps only
    rng = np.random.default_rng(8)
    model = bp.Sequential(Seq2Seq(4, 5, hidden=2, attention=2, embed=2, rng=2))
    lengths = np.array([20, 7, 1])
    X, Y = _batch(rng, 3, 4, 5, 4, 20)
    r = bp.gradcheck(model, X, Y, loss=bp.SoftmaxCrossEntropy(), check_input=False, lengths=lengths)
    assert r.max_rel_error <= RECURRENT_TOL, str(r)


@pytest.mark.parametrize("form", [{}, {"encoder": "forward"}, {"embed": 0}])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_padded_batch_gives_the_loss_and_gradients_of_each_sequence_alone(form, reduction):
    # sources and targets of different lengths; the padded targets hold junk the loss must
    # not see (forward_loss: the training loop's own path, through the shared masked loss)
    rng = np.random.default_rng(0)
    net = bp.Sequential(Seq2Seq(7, 7, hidden=5, rng=2, **{"embed": 3, **form}))
    net.astype(np.float64)
    sources = [[1, 2, 3, 4, 5], [3], [5, 0, 2]]
    targets = [rng.integers(3, 7, n).tolist() for n in (4, 2, 1)]
    lengths = np.array([len(t) for t in targets])
    Y = np.array([t + rng.integers(0, 7, 4 - len(t)).tolist() for t in targets])
    dec = np.concatenate([np.full((3, 1), 1), rng.integers(0, 7, (3, 3))], axis=1)
    for i, t in enumerate(targets):
        dec[i, 1 : len(t)] = t[:-1]
    loss = bp.SoftmaxCrossEntropy(reduction=reduction)

    def loss_and_grads(X, Y, lengths=None):
        net.space.zero_grad()
        value, dy, cache, *_ = forward_loss(net, loss, X, Y, lengths)
        net.backward(dy, cache)
        return value, {k: g.copy() for k, g in net.layers[0].grads.items()}

    together, g_together = loss_and_grads(pack(sources, dec.tolist()), Y, lengths)
    alone = [
        loss_and_grads(pack([s], [d[: len(t)]]), np.array([t]))
        for s, d, t in zip(sources, dec, targets, strict=True)
    ]
    weights = [1.0] * 3 if reduction == "sum" else lengths / lengths.sum()
    assert together == pytest.approx(
        sum(w * v for w, (v, _) in zip(weights, alone, strict=True)), rel=1e-12
    )
    for name, g in g_together.items():
        expected = sum(w * gs[name] for w, (_, gs) in zip(weights, alone, strict=True))
        np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-13, err_msg=name)
    # the embeddings' gradients are sparse: rows of symbols no source reads stay zero
    if net.layers[0].embed:
        np.testing.assert_array_equal(g_together["src_emb.W"][6], 0.0)
        assert np.abs(g_together["src_emb.W"][:6]).min(axis=1).all()


def test_attention_matches_a_loop_over_positions_and_ignores_padding():
    rng = np.random.default_rng(5)
    N, S, H, A = 2, 4, 3, 5
    h = rng.normal(size=(N, S, H))
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    W, U, b, v = (rng.normal(size=s) for s in ((A, H), (A, H), (A,), (A,)))
    s_prev = rng.normal(size=(N, H))
    c, (_, alpha, _) = attend(s_prev, h, h @ U.T, mask, W, b, v)
    for n in range(N):
        real = [j for j in range(S) if mask[n, j]]
        e = np.array([v @ np.tanh(W @ s_prev[n] + U @ h[n, j] + b) for j in real])
        a = np.exp(e - e.max()) / np.exp(e - e.max()).sum()
        np.testing.assert_allclose(alpha[n, real], a, rtol=1e-12)
        np.testing.assert_array_equal(alpha[n, [j for j in range(S) if not mask[n, j]]], 0.0)
        np.testing.assert_allclose(c[n], a @ h[n, real], rtol=1e-12)
    # whatever sits at padded positions changes nothing
    h2 = h.copy()
    h2[0, 2:] = 1e3
    np.testing.assert_array_equal(attend(s_prev, h2, h2 @ U.T, mask, W, b, v)[0][0], c[0])


def _sources(rng, n, vocab, max_len):
    src = np.full((n, max_len), -1)
    for i in range(n):
        k = rng.integers(1, max_len + 1)
        src[i, :k] = rng.integers(0, vocab, k)
    return src


def test_beam_of_width_one_is_greedy_and_wider_beams_score_higher():
    rng = np.random.default_rng(7)
    model = Seq2Seq(7, 6, hidden=8, rng=3, eos=2).astype(np.float64)
    src = _sources(rng, 12, 7, 6)
    greedy = greedy_decode(model, src, max_len=7)
    better = 0
    for row, g in zip(src, greedy, strict=True):
        b1 = beam_search(model, row, k=1, max_len=7)
        assert b1.tokens == g.tokens and b1.log_prob == pytest.approx(g.log_prob, abs=1e-12)
        np.testing.assert_allclose(b1.attention, g.attention, atol=1e-12)
        b4 = beam_search(model, row, k=4, max_len=7)
        assert b4.log_prob >= g.log_prob - 1e-12
        better += b4.log_prob > g.log_prob + 1e-9
        # the score a hypothesis carries is the model's probability of its tokens
        for hyp in (g, b4):
            assert sequence_log_prob(model, row[None], [hyp.tokens])[0] == pytest.approx(
                hyp.log_prob, abs=1e-9
            )
    assert better > 0  # the wider beam found more probable sequences somewhere


def test_greedy_decoding_stops_at_eos_and_attends_only_to_real_positions():
    rng = np.random.default_rng(1)
    model = Seq2Seq(5, 6, hidden=6, rng=0).astype(np.float64)
    src = _sources(rng, 6, 5, 5)
    for row, hyp in zip(src, greedy_decode(model, src, max_len=6), strict=True):
        n_src = int((row >= 0).sum())
        assert hyp.attention.shape == (len(hyp.tokens), n_src)
        np.testing.assert_allclose(hyp.attention.sum(axis=1), 1.0)
        assert hyp.finished == (model.eos in hyp.tokens)
        assert model.eos not in hyp.tokens[:-1]


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.array([[1, 2, 1, 3]]), "one column of -2"),
        (np.array([[1, -1, 2, -2, 1]]), "padding \\(-1\\) must come after"),
        (np.array([[9, -2, 1]]), "source ids must be in 0 … 4"),
        (np.array([[1, -2, 7]]), "decoder inputs must be target ids"),
        (np.array([[-1, -2, 1]]), "needs a source symbol"),
        (np.array([1, -2, 1]), "packed id rows"),
    ],
)
def test_bad_input_is_refused_with_what_to_do(X, message):
    with pytest.raises(ValueError, match=message):
        Seq2Seq(5, 6, hidden=4, rng=0)(X)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown cell"):
        Seq2Seq(5, 6, cell="transformer")
    with pytest.raises(ValueError, match="bos 1 and eos 9"):
        Seq2Seq(5, 6, eos=9)
    model = Seq2Seq(5, 6, hidden=4, rng=0)
    with pytest.raises(ValueError, match="beam width"):
        beam_search(model, [1, 2], k=0, max_len=3)
    with pytest.raises(ValueError, match="max_len"):
        greedy_decode(model, [[1, 2]], max_len=0)


def test_trained_with_the_trainer_saved_and_loaded(tmp_path):
    # copy a 3-symbol source in reverse: learnt through bp.Trainer by teacher forcing
    rng = np.random.default_rng(0)
    src = rng.integers(0, 4, (96, 3))
    Y = np.concatenate([src[:, ::-1] + 3, np.full((96, 1), 2)], axis=1)
    dec = np.concatenate([np.full((96, 1), 1), Y[:, :-1]], axis=1)
    X = pack(src.tolist(), dec.tolist())
    net = bp.Sequential(Seq2Seq(4, 7, hidden=16, rng=0))
    trainer = bp.Trainer(net, bp.SoftmaxCrossEntropy(), bp.Adam(0.02), batch_size=16, verbose=0)
    hist = trainer.fit(X, Y, epochs=25)
    assert hist.train_loss[-1] < 0.1 * hist.train_loss[0]
    decoded = greedy_decode(net.layers[0], src, max_len=5)
    assert np.mean([h.tokens == y.tolist() for h, y in zip(decoded, Y, strict=True)]) > 0.9
    path = tmp_path / "s2s.bprop"
    bp.save(net, path)
    again = bp.load(path)
    np.testing.assert_array_equal(again.predict(X[:8]), net.predict(X[:8]))
    assert again.layers[0].get_config() == net.layers[0].get_config()


FIXTURES = Path(__file__).parent / "fixtures"


def test_a_translator_saved_before_embeddings_loads_and_translates_as_it_did():
    # written by the one-hot, forward-encoder Seq2Seq, with its outputs and translations then
    from bprop.tasks.translation import load_translator

    tr = load_translator(FIXTURES / "seq2seq_v1_onehot.bprop")
    old = np.load(FIXTURES / "seq2seq_v1_onehot_outputs.npz")
    model = tr.model
    assert (model.embed, model.encoder_kind) == (0, "forward")
    assert model.get_config()["embed"] == 0 and not any("emb" in n for n in model.params)
    np.testing.assert_allclose(tr.net.predict(old["X"]), old["logits"], rtol=1e-5, atol=1e-6)
    assert tr.translate(["ab", "ba", "abb", "bba", "aab", "bab", "aba", "baa", "abab"]) == list(
        old["translations"]
    )


@pytest.mark.parametrize(
    "form",
    [{}, {"encoder": "forward"}, {"embed": 0}, {"embed": 0, "encoder": "forward", "cell": "lstm"}],
)
def test_every_form_declares_its_shapes_and_saves_and_loads(form, tmp_path):
    model = Seq2Seq(5, 6, hidden=4, attention=3, rng=0, **form)
    declared, _ = Seq2Seq.declared_shapes(model.get_config())
    assert declared == {n: tuple(v.shape) for n, v in model.params.items()}
    net = bp.Sequential(model)
    bp.save(net, tmp_path / "m.bprop")
    back = bp.load(tmp_path / "m.bprop")
    X = pack([[0, 4, 2], [3]], [[1, 3, 5], [1, 4, 4]])
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    assert back.layers[0].get_config() == model.get_config()


def test_bad_forms_are_refused():
    with pytest.raises(ValueError, match="encoder must be one of"):
        Seq2Seq(5, 6, encoder="backward")
    with pytest.raises(ValueError, match="embed must be a size"):
        Seq2Seq(5, 6, embed=-1)
    with pytest.raises(ValueError, match="embed must be a size"):
        Seq2Seq.declared_shapes({"src_vocab": 5, "tgt_vocab": 6, "hidden": 4, "embed": 2.5})
