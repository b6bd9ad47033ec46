"""Files saved before update rules became chains of transforms still load, and resume.

The ``fixtures/today_*`` files were written by ``fixtures/make_today.py`` on the commit before
the change (see its docstring); the version-1 files are those of ``tests/modelfile``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import bprop as bp
from bprop.data import xor
from bprop.optim import rule_to_config

HERE = Path(__file__).parent / "fixtures"
V1 = Path(__file__).parents[1] / "modelfile" / "fixtures"
NAMES = sorted(p.name[len("today_") : -len(".bprop")] for p in HERE.glob("today_*.bprop"))
NAMES = [n for n in NAMES if not n.endswith(("_resumed", "_stepped"))]
LOSSES = (0.30, 0.35, 0.20, 0.25)  # as make_today.py


def test_there_is_a_fixture_for_every_rule() -> None:
    assert len(NAMES) == 15, NAMES


def assert_same_state(got: dict, want: dict, exact: bool) -> None:
    assert set(got) == set(want)
    for key, value in want.items():
        if isinstance(value, np.ndarray):
            if exact:
                np.testing.assert_array_equal(got[key], value, err_msg=key)
            else:
                np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-6, err_msg=key)
        elif exact or value is None:
            assert got[key] == value, key
        else:
            assert got[key] == pytest.approx(value, rel=1e-5), key


@pytest.mark.parametrize("name", NAMES)
def test_a_rule_saved_before_steps_bit_identically(name: str) -> None:
    # the rule and state as today's code saved them, stepped with stored gradients (no matrix
    # products, so no BLAS in the comparison): every weight and state value bit for bit
    ck = bp.load_checkpoint(HERE / f"today_{name}.bprop")
    want = bp.load_checkpoint(HERE / f"today_{name}_stepped.bprop")
    assert rule_to_config(ck.optimizer) == rule_to_config(want.optimizer)
    params, state = ck.net.space.params, ck.optimizer_state
    assert set(state) == set(ck.optimizer.init(params))
    grads = np.load(HERE / "today_grads.npz")[name]
    for step, g in enumerate(grads):
        state = ck.optimizer.apply(g.copy(), state, params, loss=LOSSES[step])
    np.testing.assert_array_equal(params, want.net.space.params)
    assert_same_state(state, want.optimizer_state, exact=True)


@pytest.mark.parametrize("name", NAMES)
def test_a_trainer_saved_before_resumes_where_it_stopped(name: str) -> None:
    # a whole trainer: loaded, trained 3 more epochs, it lands where today's code landed
    # (to BLAS round-off: the forward and backward passes use matrix products)
    data = xor()
    back = bp.load_trainer(HERE / f"today_{name}.bprop", verbose=0)
    back.fit(data.X, data.y, epochs=3)
    want = bp.load_checkpoint(HERE / f"today_{name}_resumed.bprop")
    assert back.epoch == want.trainer_state["epoch"] == 6
    np.testing.assert_allclose(back.net.space.params, want.net.space.params, rtol=1e-5, atol=1e-6)
    assert_same_state(back.state, want.optimizer_state, exact=False)


@pytest.mark.parametrize("name", ["v1_mlp_adam_trainer.bprop"])
def test_a_version_1_trainer_resumes(name: str) -> None:
    back = bp.load_trainer(V1 / name, verbose=0)
    assert back.optimizer.get_config() == {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    t0, before = back.state["t"], back.net.space.params.copy()
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 4)), rng.integers(0, 3, size=12)
    back.fit(X, y, epochs=1)
    assert back.state["t"] > t0 and set(back.state) == {"m", "v", "t"}
    assert np.isfinite(back.net.space.params).all()
    assert not np.array_equal(back.net.space.params, before)
