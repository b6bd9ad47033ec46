"""Reproduce the textbook 2-2-2 "step by step backpropagation" example with bprop.

Run: python examples/textbook_2_2_2.py
"""

import numpy as np

from bprop.textbook import network, trace


def main() -> None:
    np.set_printoptions(precision=9, suppress=True)
    r = trace()
    print("inputs", r["inputs"][0], "targets", r["targets"][0])
    for i, (z, a) in enumerate(zip(r["net_inputs"], r["activations"], strict=True)):
        name = "hidden" if i == 0 else "output"
        print(f"{name:6s} net input {z[0]}  activation {a[0]}")
    print("errors", r["errors"][0], "total", f"{r['total_error']:.9f}")
    for i, d in enumerate(r["deltas"]):
        print(f"delta layer {i + 1}", d[0])
    for i, (g, w0, w1) in enumerate(
        zip(r["weight_gradients"], r["weights_before"], r["weights_after"], strict=True)
    ):
        print(f"layer {i + 1} dE/dW (rows: from input i, columns: to unit j)\n{g}")
        print(f"layer {i + 1} W before\n{w0}\nW after\n{w1}")
    net = network()
    for _ in range(10_000):
        r = trace(net)
    print(f"after 10,000 steps: total error {r['total_error']:.10f}")


if __name__ == "__main__":
    main()
