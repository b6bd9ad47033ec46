"""Shards and out-of-core training in one process (issue 17, items 2 and 5): the same shard
tasks as on a cluster, run here; equal to training on the concatenated data."""

from __future__ import annotations

import numpy as np
import pytest

import bprop as bp
from bprop.distributed import CsvShard, NpzShard, Shards, write_shards
from bprop.optim.methods import make_rule

FULL_BATCH = ["sgd", "rprop+", "rprop-", "irprop+", "irprop-", "quickprop", "bold-driver"]
RPROP = {"rprop+", "rprop-", "irprop+", "irprop-"}


def data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64)


def train(method, X, y, dtype=np.float64, epochs=50, **kw):
    net = bp.mlp([4, 6, 2], seed=1).astype(dtype)
    rule = make_rule(method) if isinstance(method, str) else method
    trainer = bp.Trainer(
        net, kw.pop("loss", "softmax_cross_entropy"), rule, "batch", verbose=0, l2=kw.pop("l2", 0.0)
    )
    hist = trainer.fit(X, y, epochs=epochs, **kw)
    return net.space.params.copy(), hist


@pytest.mark.parametrize("method", FULL_BATCH)
def test_full_batch_on_shards_equals_one_process_float64(method):
    X, y = data()
    epochs = 20 if method == "quickprop" else 50  # Quickprop amplifies round-off (it divides
    # by differences of successive gradients), so fewer epochs keep the comparison meaningful
    one, h1 = train(method, X, y, epochs=epochs)
    sharded, h2 = train(method, Shards.from_arrays(X, y, 3), None, epochs=epochs)
    if method in RPROP:  # signs of equal-up-to-round-off gradients: the very same steps
        np.testing.assert_array_equal(sharded, one)
    else:
        np.testing.assert_allclose(sharded, one, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h2.train_loss, h1.train_loss, rtol=1e-9)
    assert h2.train_accuracy == h1.train_accuracy


def test_irprop_minus_float32_to_round_off_after_50_epochs():
    X, y = data()
    one, _ = train("irprop-", X, y, np.float32)
    sharded, _ = train("irprop-", Shards.from_arrays(X, y, 4), None, np.float32)
    np.testing.assert_allclose(sharded, one, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("loss", ["mse", "squared_error"])
def test_sum_and_mean_losses_and_l2_on_shards(loss):
    X, y = data()
    T = np.eye(2)[y]
    rule = bp.SGD(0.1 if loss == "mse" else 0.002)
    one, h1 = train(rule, X, T, loss=loss, l2=0.01, epochs=10)
    sharded, h2 = train(rule, Shards.from_arrays(X, T, 2), None, loss=loss, l2=0.01, epochs=10)
    np.testing.assert_allclose(sharded, one, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(h2.train_loss, h1.train_loss, rtol=1e-10)


def test_shard_files_folder_glob_and_list(tmp_path):
    X, y = data(20)
    shards = write_shards(X, y, str(tmp_path / "d"), 3)
    assert [type(s) for s in shards] == [NpzShard] * 3
    assert [s.rows() for s in shards] == [7, 7, 6]
    by_glob = Shards.from_paths(str(tmp_path / "d" / "part-*.npz"))
    assert [s.path for s in by_glob] == [s.path for s in shards]
    Xs = np.concatenate([s.load()[0] for s in Shards.from_paths([s.path for s in shards])])
    np.testing.assert_array_equal(Xs, X)
    one, _ = train("irprop-", X, y, epochs=10)
    from_folder, _ = train("irprop-", str(tmp_path / "d"), None, epochs=10)
    np.testing.assert_array_equal(from_folder, one)


def test_csv_shards(tmp_path):
    X, y = data(12)
    for i, rows in enumerate((slice(0, 5), slice(5, 12))):
        lines = ["a,b,c,d,label"] + [
            ",".join([*map(repr, x.tolist()), str(int(t))])
            for x, t in zip(X[rows], y[rows], strict=True)
        ]
        (tmp_path / f"s{i}.csv").write_text("\n".join(lines) + "\n")
    shards = Shards.from_paths(str(tmp_path))
    assert [type(s) for s in shards] == [CsvShard, CsvShard]
    one, _ = train("rprop+", X, y, epochs=10)
    sharded, _ = train("rprop+", shards, None, epochs=10)
    np.testing.assert_array_equal(sharded, one)
    (tmp_path / "s1.csv").write_text("a,b,c,d,label\n1,2,3,4,yes\n")
    with pytest.raises(ValueError, match=r"s1.csv: column\(s\) \['label'\] are not numeric"):
        Shards.from_paths(str(tmp_path))[1].load()


def test_bad_shards_are_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match="no shards at"):
        Shards.from_paths(str(tmp_path))
    (tmp_path / "x.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="x.npz: not a readable .npz file"):
        Shards.from_paths(str(tmp_path))[0].load()
    np.savez(tmp_path / "x.npz", X=np.zeros((3, 5)), y=np.zeros(3, int))
    with pytest.raises(ValueError, match="NpzShard.*x.npz.*X has 5 features but the network"):
        train("irprop-", str(tmp_path), None, epochs=1)
    with pytest.raises(ValueError, match="validation_split does not apply to shards"):
        train("irprop-", Shards.from_arrays(*data(), 2), None, validation_split=0.2)
    with pytest.raises(ValueError, match="bogus: not an option of the batch schedule"):
        train("irprop-", Shards.from_arrays(*data(), 2), None, bogus=1)


def test_batch_norm_is_refused_and_dropout_seeded_by_shard():
    X, y = data()
    net = bp.Sequential(bp.Dense(4, 6, rng=0), bp.BatchNorm(6), bp.Tanh(), bp.Dense(6, 2, rng=1))
    with pytest.raises(ValueError, match="BatchNorm cannot be trained on shards exactly"):
        bp.fit(net, Shards.from_arrays(X, y, 2), None, schedule="batch", epochs=1, verbose=0)

    def run(seed):
        net = bp.Sequential(
            bp.Dense(4, 6, rng=0), bp.Tanh(), bp.Dropout(0.3, rng=123), bp.Dense(6, 2, rng=1)
        ).astype(np.float64)
        bp.fit(
            net,
            Shards.from_arrays(X, y, 3),
            None,
            optimizer=make_rule("irprop-"),
            schedule="batch",
            epochs=5,
            seed=seed,
            verbose=0,
        )
        return net.space.params.copy()

    np.testing.assert_array_equal(run(0), run(0))  # masks by (seed, epoch, shard)
    assert not np.array_equal(run(0), run(1))


def test_minibatch_streams_one_shard_at_a_time():
    X, y = data(120)
    loaded: list[int] = []

    class Counted:  # a shard that records when it is loaded
        def __init__(self, i, X, y):
            self.i, self.X, self.y = i, X, y

        def load(self):
            loaded.append(self.i)
            return self.X, self.y

        def rows(self):
            return len(self.y)

    cuts = np.array_split(np.arange(120), 4)
    shards = Shards([Counted(i, X[c], y[c]) for i, c in enumerate(cuts)])
    net = bp.mlp([4, 6, 2], seed=1)
    hist = bp.fit(
        net, shards, None, optimizer=bp.SGD(0.2, momentum=0.9), batch_size=10, epochs=20, verbose=0
    )
    # shard 0 read for the default loss and twice for the divergence test's scale; then
    # every shard reloaded every epoch: memory holds one shard
    assert loaded[:3] == [0, 0, 0] and len(loaded) == 3 + 20 * 4
    epochs = [loaded[3 + 4 * e : 7 + 4 * e] for e in range(20)]
    assert all(sorted(e) == [0, 1, 2, 3] for e in epochs)
    assert len({tuple(e) for e in epochs}) > 1  # the shard order is shuffled
    assert hist.train_accuracy[-1] > 0.85
    # the same run again draws the same orders
    net2 = bp.mlp([4, 6, 2], seed=1)
    bp.fit(
        net2, shards, None, optimizer=bp.SGD(0.2, momentum=0.9), batch_size=10, epochs=20, verbose=0
    )
    np.testing.assert_array_equal(net2.space.params, net.space.params)


def test_checkpoint_resumes_exactly(tmp_path):
    X, y = data()
    shards = Shards.from_arrays(X, y, 3)
    path = str(tmp_path / "run.bprop")
    full = bp.mlp([4, 6, 2], seed=1).astype(np.float64)
    bp.fit(
        full, shards, None, optimizer=make_rule("irprop+"), schedule="batch", epochs=12, verbose=0
    )
    net = bp.mlp([4, 6, 2], seed=1).astype(np.float64)
    bp.fit(
        net,
        shards,
        None,
        optimizer=make_rule("irprop+"),
        schedule="batch",
        epochs=7,
        checkpoint=path,
        checkpoint_every=3,
        verbose=0,
    )
    trainer = bp.load_trainer(path, verbose=0)  # the driver "restarts" from epoch 7
    assert trainer.epoch == 7
    trainer.fit(shards, None, epochs=5)
    np.testing.assert_array_equal(trainer.net.space.params, full.space.params)


def test_divergence_on_shards_restores_the_weights():
    X, y = data()
    net = bp.mlp([4, 6, 2], seed=1).astype(np.float64)
    start = net.space.params.copy()
    with pytest.raises(bp.TrainingDiverged):
        bp.fit(
            net,
            Shards.from_arrays(X * 1e3, y, 2),
            None,
            optimizer=bp.SGD(1e6),
            schedule="batch",
            epochs=20,
            verbose=0,
        )
    np.testing.assert_array_equal(net.space.params, start)  # no epoch passed the check


@pytest.mark.parametrize("schedule", ["batch", "minibatch"])
def test_an_interrupt_stops_after_the_epoch_and_resumes_exactly(schedule):
    from bprop import interrupt

    X, y = data()
    shards = Shards.from_arrays(X, y, 3)
    rule = make_rule("irprop-") if schedule == "batch" else bp.SGD(0.1, momentum=0.9)

    def trainer():
        net = bp.mlp([4, 6, 2], seed=1).astype(np.float64)
        return bp.Trainer(
            net, "softmax_cross_entropy", rule, schedule, batch_size=16, seed=4, verbose=0
        )

    straight = trainer()
    straight.fit(shards, None, epochs=6)
    first = trainer()
    first.callbacks.append(
        type(
            "Stop",
            (bp.Callback,),
            {"on_epoch_end": lambda s, t, e, logs: e == 2 and interrupt.request()},
        )()
    )
    with interrupt.deferred_interrupts(), pytest.raises(bp.TrainingInterrupted):
        first.fit(shards, None, epochs=6)
    assert first.epoch == 2 and first.progress is not None  # epoch 3's update is done
    first.callbacks.clear()
    first.fit(shards, None, epochs=4)
    np.testing.assert_array_equal(first.net.space.params, straight.net.space.params)
    np.testing.assert_array_equal(first.history.train_loss, straight.history.train_loss)
