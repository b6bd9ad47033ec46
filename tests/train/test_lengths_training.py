"""Variable-length sequences through the one training loop (issue 15): lengths travel with the
data through the schedules, the validation split and evaluation; a full-batch update on a
padded batch is the update from each sequence alone; bucketing; saving a bucketing trainer."""

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent import LSTM, Recurrent, TimeDistributed, pad_sequences
from bprop.train.buckets import bucket_batches, bucket_order


def data(n=24, seed=0, seq=False):
    rng = np.random.default_rng(seed)
    seqs = [rng.normal(size=(int(rng.integers(1, 12)), 2)) for _ in range(n)]
    if seq:
        return seqs, [(s[:, 0] > 0).astype(np.int64) for s in seqs]
    return seqs, np.array([int(s[:, 0].sum() > 0) for s in seqs])


def model(seq=False):
    with bp.backend.default_dtype("float64"):
        head = bp.Dense(5, 2, rng=1)
        return bp.Sequential(
            Recurrent(LSTM(2, 5, rng=0), return_sequences=seq),
            TimeDistributed(head) if seq else head,
        )


@pytest.mark.parametrize("seq", [False, True])
def test_a_full_batch_update_equals_the_update_from_each_sequence_alone(seq):
    seqs, y = data(8, seq=seq)
    net, ref = model(seq), model(seq)
    loss = bp.SoftmaxCrossEntropy(reduction="sum")
    bp.fit(net, seqs, y, loss=loss, optimizer=bp.SGD(0.1), schedule="batch", epochs=1, verbose=0)
    grads = 0
    for s, t in zip(seqs, y, strict=True):
        ref.zero_grad()
        out, cache = ref.forward(s[None], train=True)
        _, dy = loss.value_and_grad(out, np.asarray(t)[None])
        ref.backward(dy, cache)
        grads = grads + ref.space.grads
    np.testing.assert_allclose(net.space.params, ref.space.params - 0.1 * grads, rtol=1e-12)


def test_lists_of_sequences_equal_a_padded_batch_with_lengths():
    seqs, y = data(12, seq=True)
    X, lengths = pad_sequences(seqs)
    Y = pad_sequences(y)[0]
    histories = []
    for args, kw in (((seqs, y), {}), ((X, Y), {"lengths": lengths})):
        net = model(seq=True)
        h = bp.fit(
            net, *args, loss=bp.SoftmaxCrossEntropy(), optimizer=bp.Adam(0.01), batch_size=4,
            epochs=2, validation_split=0.25, verbose=0, **kw,
        )  # fmt: skip
        histories.append((h.train_loss, h.val_loss, h.train_accuracy, net.space.params.copy()))
    for a, b in zip(*histories, strict=True):
        np.testing.assert_array_equal(a, b)


def test_validation_and_accuracy_count_real_steps_only():
    seqs, y = data(10, seq=True)
    net = model(seq=True)
    trainer = bp.Trainer(net, bp.SoftmaxCrossEntropy("sum"), bp.SGD(0.1), verbose=0)
    h = trainer.fit(seqs[:6], y[:6], epochs=1, validation_data=(seqs[6:], y[6:]))
    loss = sum(trainer.evaluate([s], [t])["loss"] for s, t in zip(seqs[6:], y[6:], strict=True))
    assert h.val_loss[-1] == pytest.approx(loss, rel=1e-12)
    out = [net.predict(s[None])[0].argmax(-1) for s in seqs[6:]]
    hits = sum(int((o == t).sum()) for o, t in zip(out, y[6:], strict=True))
    assert h.val_accuracy[-1] == pytest.approx(hits / sum(len(t) for t in y[6:]))


def test_bucket_order_is_a_permutation_of_length_sorted_batches():
    lengths = np.random.default_rng(0).integers(1, 50, size=103)
    order = bucket_order(lengths, 10, np.random.default_rng(1), pool=100)
    assert sorted(order.tolist()) == list(range(103))
    batches = [lengths[order[i : i + 10]] for i in range(0, 100, 10)]
    spans = sorted((b.min(), b.max()) for b in batches)  # one pool: disjoint sorted runs
    assert all(hi <= lo for (_, hi), (lo, _) in zip(spans, spans[1:], strict=False))
    again = bucket_order(lengths, 10, np.random.default_rng(1), pool=100)
    np.testing.assert_array_equal(order, again)
    padded = sum(b.max() * len(b) for b in batches)
    plain = np.random.default_rng(1).permutation(103)[:100].reshape(10, 10)
    assert padded < 0.8 * sum(lengths[r].max() * 10 for r in plain)


def test_bucket_batches_are_trimmed_to_their_longest():
    seqs, y = data(seq=True)
    X, lengths = pad_sequences(seqs)
    Y = pad_sequences(y)[0]
    seen = []
    for xb, yb, lb, idx in bucket_batches(X, lengths, 4, Y, rng=0):
        assert xb.shape[1] == yb.shape[1] == lb.max()
        np.testing.assert_array_equal(xb, X[idx, : lb.max()])
        seen += idx.tolist()
    assert sorted(seen) == list(range(len(seqs)))


def test_a_bucketing_schedule_trains_on_trimmed_batches_and_resumes(tmp_path):
    seqs, y = data(40, seq=False)
    net = model()
    trainer = bp.Trainer(net, bp.SoftmaxCrossEntropy(), bp.Adam(0.01),
                         bp.MiniBatch(8, bucket=True), verbose=0)  # fmt: skip
    widths, forward = [], net.forward

    def recorded(x, train=False, lengths=None):
        if train:
            widths.append((x.shape[1], np.sort(lengths)))
        return forward(x, train, lengths)

    net.forward = recorded
    trainer.fit(seqs, y, epochs=2)
    assert len(widths) == 10 and all(w == lb.max() for w, lb in widths)
    assert min(w for w, _ in widths) < max(len(s) for s in seqs)
    runs = sorted((lb.min(), lb.max()) for _, lb in widths[:5])  # one pool: sorted runs
    assert all(hi <= lo for (_, hi), (lo, _) in zip(runs, runs[1:], strict=False))
    path = str(tmp_path / "t.bprop")
    bp.save(trainer, path)
    assert bp.load_trainer(path).schedule == bp.MiniBatch(8, bucket=True)


def test_lengths_that_do_not_fit_the_data_are_refused():
    X = np.zeros((3, 4, 2))
    with pytest.raises(ValueError, match="1 … 4"):
        bp.fit(model(), X, np.zeros(3, np.int64), epochs=1, verbose=0, lengths=[4, 5, 1])
    with pytest.raises(ValueError, match="disagree"):
        bp.fit(model(), [X[0], X[1, :2]], [0, 1], epochs=1, verbose=0, lengths=[4, 4])
