"""The backend seam, proven for the op table's recurrent steps: the readable reference ops that
the recurrent fast path calls step by step (``lstm_forward`` … ``gru_reset_before_backward``
in :mod:`bprop.ops.recurrent`) run on the array-API standard's strict namespace, writing into
views of their buffers as on NumPy, and give the NumPy results to round-off (float64; see
conftest.py). A newly added step op without a row fails :func:`test_every_step_op_has_a_row`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bprop import backend
from bprop.ops import recurrent

pytest.importorskip("array_api_strict")

H, N = 3, 2
COLS = 3 * N  # buffers of several steps' columns; the ops work on the middle step's

# op: its arguments in order, an array's shape or an int (a column offset)
STEP_OPS: dict[str, list[Any]] = {
    "elman_tanh": [(H, N), (H, N)],
    "elman_relu": [(H, N), (H, N)],
    "lstm_forward": [(4 * H, N), (4 * H, N), (H, N), (H, N), (H, N), (H, COLS), N],
    "lstm_backward": [(4 * H, N), (H, N), (H, N), (H, N), (H, N), (4 * H, COLS), N],
    "gru_forward": [(3 * H, N), (3 * H, N), (3 * H,), (3 * H, COLS), N, (H, COLS), 2 * N],
    "gru_backward": [(3 * H, N), (3 * H, N), (H, COLS), N, (H, N), (3 * H, COLS),
                     (3 * H, COLS), N],
    "peephole_lstm_forward": [(4 * H, N), (4 * H, N), (3 * H,), (H, N), (H, N), (H, N),
                              (H, COLS), N],
    "peephole_lstm_backward": [(4 * H, N), (3 * H,), (H, N), (H, N), (H, N), (H, N),
                               (4 * H, COLS), N],
    "gru_reset_before_forward": [(3 * H, N), (3 * H, N), (H, H), (3 * H,), (3 * H, COLS), N,
                                 (H, COLS), 2 * N, (H, COLS)],
    "gru_reset_before_backward": [(3 * H, N), (H, H), (H, COLS), N, (H, N), (3 * H, COLS), N,
                                  (H, N)],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(STEP_OPS))
def test_step_op(name: str, same_on_both: Any) -> None:
    def run() -> Any:
        rng = np.random.default_rng(len(name))
        # gates and buffers in (0, 1), as the activated gates are; fresh arrays on each run
        args = [
            a if isinstance(a, int) else backend.asarray(rng.uniform(0.05, 0.95, size=a))
            for a in STEP_OPS[name]
        ]
        assert getattr(recurrent, name)(*args) is None
        return [a for a in args if not isinstance(a, int)]  # every buffer, as the op left it

    same_on_both(run, name)


def test_every_step_op_has_a_row() -> None:
    ops = {n for n in dir(recurrent) if n.startswith(("elman", "lstm", "gru", "peephole"))}
    assert ops == set(STEP_OPS)
