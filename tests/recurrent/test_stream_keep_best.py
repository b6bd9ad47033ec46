"""fit_stream(keep_best=True) ends with the weights of its best validation evaluation."""

import numpy as np

import bprop as bp
from bprop.recurrent import Elman, Recurrent, TimeDistributed, stream_loss
from bprop.train import fit_stream


def test_keep_best_restores_the_best_evaluated_weights():
    rng = np.random.default_rng(0)
    stream = rng.integers(0, 4, size=2000)
    held = rng.integers(0, 4, size=400)

    def make():
        return bp.Sequential(Recurrent(Elman(4, 8, rng=1)), TimeDistributed(bp.Dense(8, 4, rng=2)))

    net = make()
    # a large learning rate makes the validation loss wander, so the last is rarely the best
    hist = fit_stream(
        net,
        stream[:-1],
        stream[1:],
        10,
        loss=bp.SoftmaxCrossEntropy(),
        optimizer=bp.SGD(2.0),
        batch_size=4,
        epochs=3,
        validation=(held[:-1], held[1:]),
        eval_every=5,
        verbose=0,
        keep_best=True,
    )
    best = int(np.argmin(hist.val_loss))
    assert hist.best_update == hist.val_updates[best]
    final = stream_loss(net, held[:-1], held[1:], bp.SoftmaxCrossEntropy(), 4, 10)
    np.testing.assert_allclose(final, hist.val_loss[best], rtol=1e-6)
    assert best < len(hist.val_loss) - 1  # the last evaluation was not the best one
