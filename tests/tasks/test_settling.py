"""The Almeida–Pineda demos: pattern completion and settling XOR (seeded, kept short)."""

import json

import numpy as np
import pytest

from bprop.tasks.settling import _nearest_pattern_rate, pattern_completion, settling_xor


@pytest.mark.parametrize("seed", range(5))
def test_pattern_completion_restores_stored_patterns(seed):
    # over seeds 0–9 the restoration rate was 0.88–1.00 with OpenBLAS's Haswell and SkylakeX
    # kernels, 1 or 2 threads (the nearest-stored-pattern decoder: 0.91–1.00); 0.8 leaves a
    # margin for round-off, and each seed must pass on its own
    r = pattern_completion(seed=seed)
    json.dumps(r)
    assert r["input_bit_accuracy"] == 0.8125  # 20 % of 16 bits: 3 flipped in every input
    assert r["restoration_rate"] >= 0.8  # whole patterns restored exactly, in most trials
    assert r["restoration_rate"] >= r["nearest_pattern_rate"] - 0.1
    assert r["bit_accuracy"] > 0.95


def test_nearest_pattern_rate_counts_ties_as_failures():
    patterns = np.array([[0, 0, 0, 0], [1, 1, 0, 0]], float)
    X = np.array([[1, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 0]], float)  # tie, right, right
    assert _nearest_pattern_rate(patterns, X, np.array([0, 0, 1])) == 2 / 3


def test_fully_recurrent_settling_network_solves_xor():
    r = settling_xor(seeds=3, epochs=300)
    json.dumps(r)
    assert r["solved"] >= 2
    assert len(r["outputs"]) == 4
