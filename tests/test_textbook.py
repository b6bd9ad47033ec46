"""The textbook 2-2-2 example (Mazur 2015), reproduced digit for digit by bprop's layers."""

import numpy as np

from bprop.textbook import PUBLISHED as TEXT
from bprop.textbook import network, trace

PUBLISHED = {k: float(v) for k, v in TEXT.items()}


def test_forward_pass_matches_published_values():
    r = trace()
    np.testing.assert_allclose(r["net_inputs"][0][0, 0], PUBLISHED["net_h1"], atol=5e-10)
    np.testing.assert_allclose(
        r["activations"][0][0], [PUBLISHED["out_h1"], PUBLISHED["out_h2"]], atol=5e-10
    )
    np.testing.assert_allclose(r["net_inputs"][1][0, 0], PUBLISHED["net_o1"], atol=5e-10)
    np.testing.assert_allclose(
        r["outputs"][0], [PUBLISHED["out_o1"], PUBLISHED["out_o2"]], atol=5e-9
    )
    np.testing.assert_allclose(r["errors"][0], [PUBLISHED["E_o1"], PUBLISHED["E_o2"]], atol=5e-10)
    np.testing.assert_allclose(r["total_error"], PUBLISHED["E_total"], atol=5e-10)


def test_backward_pass_and_updated_weights_match_published_values():
    r = trace()
    # W2 = [[w5, w7], [w6, w8]]; W1 = [[w1, w3], [w2, w4]]
    np.testing.assert_allclose(r["weight_gradients"][1][0, 0], PUBLISHED["dE_dw5"], atol=5e-10)
    w2 = r["weights_after"][1]
    np.testing.assert_allclose(
        [w2[0, 0], w2[1, 0], w2[0, 1], w2[1, 1]],
        [PUBLISHED[k] for k in ("w5", "w6", "w7", "w8")],
        atol=5e-9,
    )
    w1 = r["weights_after"][0]
    np.testing.assert_allclose(
        [w1[0, 0], w1[1, 0], w1[0, 1], w1[1, 1]],
        [PUBLISHED[k] for k in ("w1", "w2", "w3", "w4")],
        atol=5e-9,
    )


def test_hidden_update_uses_weights_before_the_output_update():
    # δ_h1 = (δ_o1 w5 + δ_o2 w7) · out_h1 (1 − out_h1) with the *original* w5, w7
    r = trace()
    d_o = r["deltas"][1][0]
    h1 = r["activations"][0][0, 0]
    expected = (d_o[0] * 0.40 + d_o[1] * 0.50) * h1 * (1 - h1)
    np.testing.assert_allclose(r["deltas"][0][0, 0], expected, rtol=1e-12)


def test_biases_stay_fixed_and_error_falls_as_published():
    net = network()
    for _ in range(10_000):
        r = trace(net)
    # the example reports the error after 10,000 rounds as 0.0000351085
    np.testing.assert_allclose(r["total_error"], PUBLISHED["E_after_10000"], atol=5e-11)
    np.testing.assert_array_equal(net.layers[0].params["b"], [0.35, 0.35])
    np.testing.assert_array_equal(net.layers[2].params["b"], [0.60, 0.60])
